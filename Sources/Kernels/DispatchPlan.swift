/// Where the experts of an expert-parallel group live and how tokens reach them.
///
/// With expert tensor parallelism (Megatron-Core's `--expert-tensor-parallel-size`), each
/// expert's FFN width is split over `tensorParallel` consecutive GPUs, which hold the same
/// experts: the group is then the TP × EP group of `ep` GPUs, and its `experts` are the
/// router's experts times `tensorParallel` — one per (expert, slice), numbered GPU by GPU — so
/// that a token choosing an expert is delivered to every GPU holding a slice of it
/// (`Routing.splittingExperts`).
public struct ExpertPlacement: Sendable, Codable, Equatable {
    /// Experts of the group: the router's, times `tensorParallel` (one per slice).
    public var experts: Int
    /// GPUs in the EP group (the TP × EP group under expert tensor parallelism).
    public var ep: Int
    public var gpusPerNode: Int
    /// Consecutive GPUs holding slices of the same experts (expert-TP; 1: experts whole).
    public var tensorParallel = 1

    public init(experts: Int, ep: Int, gpusPerNode: Int, tensorParallel: Int = 1) throws {
        guard tensorParallel >= 1, ep % tensorParallel == 0, experts % tensorParallel == 0, gpusPerNode % tensorParallel == 0 else {
            throw KernelError("--etp", "expert-TP \(tensorParallel) must divide the \(gpusPerNode) GPUs of a node (an expert's slices stay on one node's NVLink)",
                              fix: "use an expert-TP that divides \(gpusPerNode), e.g. 1, 2, 4 or 8")
        }
        self.tensorParallel = tensorParallel
        guard ep > 0, gpusPerNode > 0, experts > 0 else {
            throw KernelError("--ep", "EP, GPUs per node and experts must be > 0", fix: "e.g. --ep 64 --gpus-per-node 8")
        }
        guard ep <= experts else {
            throw KernelError("--ep", "\(ep) GPUs but only \(experts) experts", fix: "use at most \(experts) GPUs per EP group (or replicate experts with EPLB)")
        }
        guard experts % ep == 0 else {
            throw KernelError("--ep", "\(experts) experts do not spread evenly over \(ep) GPUs", fix: "use an EP degree that divides \(experts)")
        }
        guard Self.tiles(ep, gpusPerNode) else {
            throw KernelError("--ep", ep < gpusPerNode ? "EP \(ep) does not divide the \(gpusPerNode) GPUs of a node: consecutive EP groups would straddle nodes"
                                                       : "EP \(ep) is not a whole number of \(gpusPerNode)-GPU nodes",
                              fix: "use a divisor of \(gpusPerNode) or a multiple of it")
        }
        self.experts = experts; self.ep = ep; self.gpusPerNode = gpusPerNode
    }

    /// Whether consecutive groups of `group` GPUs tile units of `unit` GPUs (nodes, NVLink
    /// domains) without straddling one: `group` divides `unit` or is a multiple of it.
    public static func tiles(_ group: Int, _ unit: Int) -> Bool { group < unit ? unit % group == 0 : group % unit == 0 }

    public var expertsPerGPU: Int { experts / ep }
    /// A GPU's index in its expert-TP group (0 at expert-TP 1).
    @inlinable public func sliceIndex(ofGPU g: Int) -> Int { g % tensorParallel }
    /// The group's expert number of slice `j` of router expert `e`: on the `j`-th GPU of the
    /// expert-TP group holding `e` (`e` itself at expert-TP 1).
    @inlinable public func slice(_ j: Int, ofRouterExpert e: Int) -> Int {
        let per = expertsPerGPU
        return ((e / per) * tensorParallel + j) * per + e % per
    }
    public var nodes: Int { max(1, ep / gpusPerNode) }
    public var gpusPerNodeInGroup: Int { min(ep, gpusPerNode) }
    @inlinable public func gpu(ofExpert e: Int) -> Int { e / (experts / ep) }
    @inlinable public func node(ofGPU g: Int) -> Int { g / min(ep, gpusPerNode) }
    @inlinable public func localIndex(ofGPU g: Int) -> Int { g % min(ep, gpusPerNode) }
}

/// How the dispatch all-to-all carries a token's hidden state.
public enum DispatchFormat: String, Sendable, Codable, CaseIterable {
    /// FP8 with one 4-byte power-of-two scale per 128 channels: DeepSeek's FP8 recipe quantizes
    /// the activation before the dispatch, in the 1×128 tiles its expert GEMMs read (V3 report
    /// §3.3.3), and DeepEP's published benchmarks dispatch so.
    case fp8
    /// BF16, 2 bytes per channel: BF16 training, and FP8 recipes that quantize inside the
    /// expert GEMMs (Transformer Engine's per-tensor scaling under Megatron-LM and NeMo, whose
    /// dispatchers send the hidden states as the layer holds them).
    case bf16
}

/// How the MoE all-to-all moves tokens to their experts.
public enum MoEDispatcher: String, Sendable, Codable, CaseIterable {
    /// DeepEP (V3 report §3.2.2): a token crosses IB once per destination node, to the GPU of
    /// its own local index there, which forwards it over NVLink to each GPU holding one of its
    /// experts; each GPU receives a token once, whatever the number of its experts it chose.
    case deepep
    /// A collective all-to-all of permuted token-rows (Megatron-LM's `alltoall` token
    /// dispatcher over NCCL): one row per (token, chosen expert), sent straight to the expert's
    /// GPU — over NVLink inside a node; across nodes over NVLink to the GPU on the destination's
    /// rail, then its NIC (NCCL's PXN, on by default for all-to-alls) — with no deduplication.
    case alltoall
    /// NVIDIA's Hybrid-EP (DeepEP's `hybrid-ep` branch; Megatron-Core's flex dispatcher with
    /// `--moe-flex-dispatcher-backend hybridep`): DeepEP's paths — a token crosses the NICs once
    /// per destination NVLink domain, to the GPU of its own local index there, and reaches each
    /// GPU holding one of its experts once, over NVLink — but over the whole NVLink domain,
    /// multi-node NVLink (GB200/GB300 NVL72) included, its copies issued by TMA from few SMs
    /// (Hybrid-EP_Implementation.md in deepseek-ai/DeepEP).
    case hybridep

    /// Whether a GPU receives each token once, whatever the number of its experts the token
    /// chose (DeepEP, Hybrid-EP), rather than once per chosen expert (the NCCL all-to-all).
    public var deduplicatesPerGPU: Bool { self != .alltoall }

    /// Whether the dispatcher reaches every GPU of a multi-node NVLink domain over NVLink (NCCL
    /// on multi-node NVLink; Hybrid-EP), or only the GPUs of its own node (DeepEP's released
    /// kernels: "DeepEP still does not officially support scenarios where the NVLink domain is
    /// larger than 8", NVIDIA's DeepSeek-V3 GB200 guide, Megatron-LM `docs/discussions/
    /// deepseek-v3-gb200-optimization`; llmsim takes a GB200 tray's four GPUs as its node). The
    /// same on a node that is its own NVLink domain (HGX).
    public var spansMultiNodeNVLink: Bool { self != .deepep }

    /// GPUs its all-to-all treats as one node, reached over NVLink: the NVLink domain's
    /// `domainGPUs` where it spans multi-node NVLink, else a node's `nodeGPUs`.
    public func allToAllNodeGPUs(node nodeGPUs: Int, domain domainGPUs: Int) -> Int { spansMultiNodeNVLink ? domainGPUs : nodeGPUs }
}

/// Bytes of one token copy on the wire (V3 report §3.3.3; DeepEP).
public enum TokenCopyBytes {
    /// Dispatch: FP8 is `hidden` bytes plus one 4-byte scale per 128 channels (7,168 + 56·4 =
    /// 7,392 B for DeepSeek-V3); BF16 is the combine's size.
    public static func dispatch(hidden: Int, format: DispatchFormat) -> Int {
        switch format {
        case .fp8: hidden + (hidden + 127) / 128 * 4
        case .bf16: combine(hidden: hidden)
        }
    }
    /// BF16 combine: 2 bytes per channel (14,336 B).
    public static func combine(hidden: Int) -> Int { 2 * hidden }
}

/// The all-to-all dispatch of one micro-batch over an EP group, DeepEP-style (V3 report §3.2.2):
/// a token bound for experts on another node crosses IB once per destination node, to the GPU
/// with the same local index, which forwards it over NVLink to each GPU holding one of its
/// experts; destinations on the source's own node are reached over NVLink directly. Combine
/// retraces the same paths in reverse with BF16 copies.
public struct DispatchPlan: Sendable {
    public let placement: ExpertPlacement
    public let tokensPerGPU: Int
    /// Token copies crossing IB, `[source GPU][relay GPU]` (relay = same local index on the
    /// destination node).
    public var ibCopies: [[Int]]
    /// Token copies crossing NVLink, `[from GPU][to GPU]` (direct sends and relay forwards).
    public var nvlinkCopies: [[Int]]
    /// Token copies delivered, `[source GPU][destination GPU]`, including those staying on the
    /// source GPU: the "logical" traffic DeepEP's bandwidth figures count.
    public var logicalCopies: [[Int]]
    /// Routed token-rows per expert (grouped-GEMM M per expert).
    public var expertLoads: [Int]
    /// Token-rows routed `[source GPU][destination GPU]`, one per (token, chosen expert on the
    /// destination): what a dispatcher without per-GPU deduplication sends (`MoEDispatcher.alltoall`).
    public var expertRows: [[Int]]
    /// Distinct nodes each token reaches: max and mean.
    public var maxNodesPerToken: Int
    public var meanNodesPerToken: Double
    /// IB copies per token (destination nodes other than the source's), mean.
    public var meanIBCopiesPerToken: Double
    /// Distinct GPUs each token reaches, mean.
    public var meanGPUsPerToken: Double

    /// Builds the plan from one routing per source GPU (`routings[g]` holds GPU g's tokens).
    public init(placement: ExpertPlacement, routings: [Routing]) throws {
        guard routings.count == placement.ep else {
            throw KernelError("routings", "\(routings.count) routings for EP \(placement.ep)", fix: "route the tokens of every GPU of the group")
        }
        let lookup = SourceCounts.Lookup(placement)
        try self.init(placement: placement, sources: routings.enumerated().map { SourceCounts(source: $0, routing: $1, lookup: lookup) })
    }

    /// Builds the plan from each source GPU's counts (`sources[g]` counted GPU g's tokens), so
    /// that a GPU's routing can be counted as soon as it is drawn and then dropped.
    ///
    /// Per token only what needs the token's own set of destinations is counted
    /// (`SourceCounts`); the NVLink and IB matrices follow from those sums here: a token
    /// reaching GPU g on the source's node is sent there directly, one on node n through the
    /// relay of the source's local index on n, and each node other than the source's is
    /// crossed once. Counting them per token instead took 78 ns per token against 29 (V3, EP
    /// 64, one core), most of it in branches on the destinations that the predictor cannot learn.
    public init(placement: ExpertPlacement, sources: [SourceCounts]) throws {
        guard sources.count == placement.ep, sources.allSatisfy({ $0.logical.count == placement.ep }) else {
            throw KernelError("routings", "\(sources.count) routings for EP \(placement.ep)", fix: "route the tokens of every GPU of the group")
        }
        self.placement = placement
        let ep = placement.ep, nodes = placement.nodes, inGroup = placement.gpusPerNodeInGroup
        tokensPerGPU = sources.first?.tokens ?? 0
        var ib = [[Int]](repeating: [Int](repeating: 0, count: ep), count: ep)
        var nv = ib
        var loads = [Int](repeating: 0, count: placement.experts)
        var totals = SourceCounts.Totals()
        for (source, counts) in sources.enumerated() {
            let sourceNode = placement.node(ofGPU: source), local = placement.localIndex(ofGPU: source)
            for n in 0..<nodes where n != sourceNode { ib[source][n * inGroup + local] = counts.nodeHits[n] }
            for g in 0..<ep {
                let n = placement.node(ofGPU: g)
                let from = n == sourceNode ? source : n * inGroup + local
                if from != g { nv[from][g] += counts.logical[g] }
            }
            for e in loads.indices { loads[e] += counts.loads[e] }
            totals.add(counts.totals)
        }
        ibCopies = ib
        nvlinkCopies = nv
        logicalCopies = sources.map(\.logical)
        expertLoads = loads
        let per = placement.expertsPerGPU
        expertRows = sources.map { counts in (0..<ep).map { g in counts.loads[(g * per)..<((g + 1) * per)].reduce(0, +) } }
        let tokens = Double(max(totals.tokens, 1))
        maxNodesPerToken = totals.maxNodes
        meanNodesPerToken = Double(totals.nodes) / tokens
        meanIBCopiesPerToken = Double(totals.ibCopies) / tokens
        meanGPUsPerToken = Double(totals.gpus) / tokens
    }

    /// Token copies each port pair carries, `[from GPU][to GPU]`, over the NICs and over NVLink:
    /// DeepEP's and Hybrid-EP's as routed (`ibCopies`, `nvlinkCopies`; under expert-TP over the TP × EP group,
    /// as Megatron-Core's DeepEP dispatcher runs it); for the all-to-all dispatcher each
    /// (source, destination)'s rows (`expertRows`) sent directly inside a node and, across
    /// nodes, to the source node's GPU on the destination's rail and from its NIC (NCCL's PXN;
    /// the hops pipelined as DeepEP's are: one flow per port pair).
    public func portCopies(_ dispatcher: MoEDispatcher) -> (nic: [[Int]], nvlink: [[Int]]) {
        switch dispatcher {
        case .deepep, .hybridep: return (ibCopies, nvlinkCopies)
        case .alltoall:
            // Under expert-TP the all-to-all runs over the GPUs of one slice index; the rows
            // reach the other slices by `tensorParallelGather` afterwards.
            let p = placement, ep = p.ep
            var nv = [[Int]](repeating: [Int](repeating: 0, count: ep), count: ep), ib = nv
            for s in 0..<ep {
                for d in 0..<ep where d != s && expertRows[s][d] > 0 && p.sliceIndex(ofGPU: s) == p.sliceIndex(ofGPU: d) {
                    let rows = expertRows[s][d]
                    guard p.node(ofGPU: s) != p.node(ofGPU: d) else { nv[s][d] += rows; continue }
                    let relay = p.node(ofGPU: s) * p.gpusPerNodeInGroup + p.localIndex(ofGPU: d)
                    if relay != s { nv[s][relay] += rows }
                    ib[relay][d] += rows
                }
            }
            return (ib, nv)
        }
    }

    /// The copies of each phase of one all-to-all, run one after the other, `(nic, nvlink)` per
    /// port pair: `portCopies` alone, except for the all-to-all dispatcher under expert-TP,
    /// whose all-gather over the expert-TP group (NVLink, `tensorParallelGather`) follows the
    /// all-to-all (and, in the combine, its reduce-scatter precedes it: the same two phases
    /// mirrored). The fluid network times them (`MoEAllToAll`), and a step's records carry
    /// their bytes (`MoETraffic`).
    public func portCopyPhases(_ dispatcher: MoEDispatcher) -> [(nic: [[Int]], nvlink: [[Int]])] {
        let copies = portCopies(dispatcher)
        guard dispatcher == .alltoall, placement.tensorParallel > 1 else { return [copies] }
        let gather = tensorParallelGather
        return [copies, (nic: gather.map { $0.map { _ in 0 } }, nvlink: gather)]
    }

    /// Rows of each of the router's experts (the first slice's, every slice of an expert
    /// receiving the same rows): what the gate's balancing bias is updated on.
    public var routerExpertLoads: [Int] {
        let p = placement
        guard p.tensorParallel > 1 else { return expertLoads }
        return (0..<(p.experts / p.tensorParallel)).map { expertLoads[p.slice(0, ofRouterExpert: $0)] }
    }

    /// The all-to-all dispatcher's expert-TP all-gather, `[from GPU][to GPU]`: after the
    /// all-to-all over the EP group (GPUs of one slice index), each GPU passes the rows it
    /// received to the other GPUs of its expert-TP group (Megatron-Core's
    /// `gather_from_sequence_parallel_region` over the expert-TP group); the combine's
    /// reduce-scatter retraces it. Empty at expert-TP 1.
    public var tensorParallelGather: [[Int]] {
        let p = placement, t = p.tensorParallel, ep = p.ep
        guard t > 1 else { return [] }
        var m = [[Int]](repeating: [Int](repeating: 0, count: ep), count: ep)
        for s in 0..<ep {
            for d in 0..<ep where p.sliceIndex(ofGPU: s) != p.sliceIndex(ofGPU: d) {
                // s's rows for d's experts reach d's expert-TP peer of s's slice index first.
                m[d - p.sliceIndex(ofGPU: d) + p.sliceIndex(ofGPU: s)][d] += expertRows[s][d]
            }
        }
        return m
    }

    /// Routed token-rows landing on each GPU (sum over its local experts).
    public var gpuLoads: [Int] {
        (0..<placement.ep).map { g in
            (g * placement.expertsPerGPU..<(g + 1) * placement.expertsPerGPU).reduce(0) { $0 + expertLoads[$1] }
        }
    }

    /// Copies per node pair crossing IB, `[source node][destination node]`.
    public var nodeIBCopies: [[Int]] {
        var m = [[Int]](repeating: [Int](repeating: 0, count: placement.nodes), count: placement.nodes)
        for s in 0..<placement.ep { for r in 0..<placement.ep where ibCopies[s][r] > 0 {
            m[placement.node(ofGPU: s)][placement.node(ofGPU: r)] += ibCopies[s][r]
        } }
        return m
    }

    /// max / mean over the experts (1 = perfectly balanced).
    public var maxOverMeanExpertLoad: Double { Self.maxOverMean(expertLoads) }
    /// max / mean over the GPUs of the group.
    public var maxOverMeanGPULoad: Double { Self.maxOverMean(gpuLoads) }

    static func maxOverMean(_ xs: [Int]) -> Double {
        let mean = Double(xs.reduce(0, +)) / Double(max(xs.count, 1))
        return mean == 0 ? 0 : Double(xs.max() ?? 0) / mean
    }
}
