import ConfigIO

/// The shape of a cluster's compute network.
public enum TopologyKind: String, Codable, Sendable, CaseIterable {
    /// One two-layer fat tree joining every compute NIC.
    case fatTree = "fat-tree"
    /// One three-layer fat tree.
    case fatTree3 = "fat-tree-3"
    /// DeepSeek's multi-plane fat tree: NIC i of every node on plane i; each plane a two-layer
    /// fat tree; cross-plane traffic forwarded over NVLink inside the node (ISCA §5.1).
    case multiPlaneFatTree = "multi-plane-fat-tree"
    /// Rail-optimised: NIC i of every node on rail i's leaves, one shared spine layer.
    case railOptimized = "rail-optimized"
}

/// End-to-end small-message latencies, seconds (ISCA 2025 Table 5, 64 B messages).
public struct HopLatency: Codable, Sendable, Equatable {
    /// GPU to GPU inside a node.
    public var scaleUp: Double
    /// Between nodes on the same leaf switch.
    public var sameLeaf: Double
    /// Between nodes across a spine.
    public var crossLeaf: Double
    /// Between nodes across the core of a three-layer tree.
    public var crossCore: Double
}

/// A cluster: node template × node count, joined by a compute network.
public struct Topology: Codable, Sendable, Equatable {
    public var name: String
    public var description: String
    public var kind: TopologyKind
    public var node: NodeTemplate
    public var nodes: Int
    /// Ports per switch.
    public var switchRadix: Int
    /// Independent network planes (1 except for multi-plane).
    public var planes: Int
    public var latency: HopLatency
    /// Price of one switch, USD.
    public var switchPriceUSD: Double
    /// Price of one switch-to-switch link (cable and optics), USD.
    public var linkPriceUSD: Double
    /// Price of one NIC-to-leaf link, USD (ISCA Table 3's method leaves these out: default 0).
    public var endpointLinkPriceUSD: Double

    public var gpus: Int { nodes * node.gpus }
    /// Compute NICs in the cluster: the endpoints of the network.
    public var endpoints: Int { nodes * node.computeNICs }

    /// GPUs of one scale-up (NVLink) domain as the job's ranks fill it, consecutive ranks
    /// sharing a domain. Where a node is its own domain (HGX: 8 GPUs), the node's. Where the
    /// domain spans nodes (GB200 and GB300 NVL72: 18 trays of 4 GPUs), the trays of one domain
    /// the job is given: all of its trays up to a domain's 18; beyond that, the largest count
    /// up to 18 that divides the job's trays. That is the segment NVIDIA's performance launcher
    /// asks Slurm for on 4-GPU nodes (`--segment`, NVIDIA-NeMo/Megatron-Bridge
    /// `scripts/performance/utils/executors.py`), so that each NVLink domain holds a whole
    /// number of the job's blocks: 256 GB200 (64 trays) run as 4 domains of 16 trays, 64 GPUs.
    public var scaleUpDomainGPUs: Int {
        let perNode = node.gpus, nodesPerDomain = node.scaleUpDomainGPUs / max(perNode, 1)
        guard nodesPerDomain > 1 else { return node.scaleUpDomainGPUs }
        guard nodes > nodesPerDomain else { return nodes * perNode }
        let segment = stride(from: nodesPerDomain, through: 1, by: -1).first { nodes % $0 == 0 } ?? 1
        return segment * perNode
    }

    /// Small-message latency between GPUs on different nodes that a collective spanning many
    /// nodes waits on: across the spines of a two-layer tree (ISCA Table 5), across the core of
    /// a three-layer one (the endpoints of a large group sit in different pods).
    public var interNodeLatency: Double { kind == .fatTree3 ? latency.crossCore : latency.crossLeaf }

    /// Switch and link counts of the whole network.
    public var counts: SwitchCounts {
        switch kind {
        case .fatTree: return .twoLayer(endpoints: endpoints, radix: switchRadix)
        case .fatTree3: return .threeLayer(endpoints: endpoints, radix: switchRadix)
        case .multiPlaneFatTree: return SwitchCounts.twoLayer(endpoints: endpoints / planes, radix: switchRadix).times(planes)
        case .railOptimized: return .railOptimized(nodes: nodes, rails: node.computeNICs, radix: switchRadix)
        }
    }

    /// Network capital cost, USD: switches and links at their unit prices.
    public var networkCostUSD: Double {
        let c = counts
        return Double(c.switches) * switchPriceUSD + Double(c.links) * linkPriceUSD
            + Double(c.endpointLinks) * endpointLinkPriceUSD
    }

    /// Checks that the network can be built; throws a `ConfigError` naming the fix otherwise.
    public func validate(file: String? = nil) throws {
        let per = endpoints / planes
        switch kind {
        case .fatTree, .railOptimized:
            let cap = SwitchCounts.twoLayerCapacity(radix: switchRadix)
            if per > cap {
                throw ConfigError(file: file, key: "nodes", problem: "\(per) endpoints exceed a two-layer fat tree of \(switchRadix)-port switches (at most \(cap))",
                                  fix: "use kind: fat-tree-3 or multi-plane-fat-tree, or fewer nodes", infeasible: true)
            }
        case .multiPlaneFatTree:
            if node.computeNICs % planes != 0 {
                throw ConfigError(file: file, key: "planes", problem: "\(node.computeNICs) NICs per node cannot be spread evenly over \(planes) planes",
                                  fix: "use a number of planes that divides \(node.computeNICs)", infeasible: true)
            }
            let cap = SwitchCounts.twoLayerCapacity(radix: switchRadix)
            if per > cap {
                throw ConfigError(file: file, key: "nodes", problem: "\(per) endpoints per plane exceed a two-layer fat tree of \(switchRadix)-port switches (at most \(cap))",
                                  fix: "use more planes, larger switches or kind: fat-tree-3", infeasible: true)
            }
        case .fatTree3:
            let cap = SwitchCounts.threeLayerCapacity(radix: switchRadix)
            if per > cap {
                throw ConfigError(file: file, key: "nodes", problem: "\(per) endpoints exceed a three-layer fat tree of \(switchRadix)-port switches (at most \(cap))",
                                  fix: "use larger switches or fewer nodes", infeasible: true)
            }
        }
    }
}
