import ConfigIO
import Foundation
import Testing
@testable import Hardware

@Suite struct TopologyTests {
    let catalog: HardwareCatalog
    init() throws { catalog = try HardwareCatalog.builtIn() }

    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func load(_ name: String) throws -> Topology {
        try Topology.load(path: Self.repo.appendingPathComponent("Topologies/\(name)").path, catalog: catalog)
    }

    /// ISCA 2025 Table 3 (64-port switches): endpoints, switches, links and cost in M$.
    @Test("ISCA 2025 Table 3 switch and link counts", arguments: [
        ("fat-tree-2layer-2048.yaml", 2_048, 96, 2_048, 9.0),
        ("multi-plane-16384.yaml", 16_384, 768, 16_384, 72.0),
        ("fat-tree-3layer-65536.yaml", 65_536, 5_120, 131_072, 491.0),
    ])
    func iscaTable3(file: String, endpoints: Int, switches: Int, links: Int, costMillions: Double) throws {
        let t = try load(file)
        #expect(t.endpoints == endpoints)
        #expect(t.counts.switches == switches)
        #expect(t.counts.links == links)
        // Unit prices are a third-party fit to the FT2 and FT3 rows; the table prints whole M$.
        #expect(abs(t.networkCostUSD / 1e6 - costMillions) / costMillions < 0.01)
    }

    /// DeepSeek's deployed cluster is FT2-sized: 8 planes × (8 leaves + 4 spines) = 96 switches
    /// (hardware.md §2.3 check).
    @Test func deepSeekClusterPlanes() throws {
        let t = try load("deepseek-v3-mpft.yaml")
        #expect(t.gpus == 2_048 && t.nodes == 256 && t.planes == 8)
        #expect(t.counts.switches == 96)
        #expect(t.counts.perLayer == [64, 32])
        #expect(t.latency.sameLeaf == 2.8e-6 && t.latency.crossLeaf == 3.7e-6)
    }

    @Test func railOptimizedMatchesFatTreeCountsAtDeepSeekScale() throws {
        let t = try load("rail-optimized-2048.yaml")
        #expect(t.counts.switches == 96 && t.counts.links == 2_048)
    }

    @Test func smallNetworksUseOneSwitch() {
        let c = SwitchCounts.twoLayer(endpoints: 40, radix: 64)
        #expect(c.switches == 1 && c.links == 0 && c.layers == 1)
    }

    func parse(_ yaml: String) throws -> Topology {
        try Topology.parse(try ConfigValue.parse(yaml, file: "t.yaml"), catalog: catalog)
    }

    @Test func rejectsImpossibleNetworks() throws {
        // 4,096 endpoints on one two-layer plane of 64-port switches (max 2,048).
        #expect(throws: ConfigError.self) { try parse("name: x\nkind: fat-tree\nnode: HGX-H800-8GPU\nnodes: 512\nswitch_ports: 64") }
        // 3 planes cannot take 8 NICs per node.
        #expect(throws: ConfigError.self) { try parse("name: x\nkind: multi-plane-fat-tree\nnode: HGX-H800-8GPU\nnodes: 256\nplanes: 3\nswitch_ports: 64") }
        // planes on a single fat tree.
        #expect(throws: ConfigError.self) { try parse("name: x\nkind: fat-tree\nnode: HGX-H800-8GPU\nnodes: 16\nplanes: 2\nswitch_ports: 64") }
        // odd radix, zero and negative sizes.
        #expect(throws: ConfigError.self) { try parse("name: x\nkind: fat-tree\nnode: HGX-H800-8GPU\nnodes: 16\nswitch_ports: 63") }
        #expect(throws: ConfigError.self) { try parse("name: x\nkind: fat-tree\nnode: HGX-H800-8GPU\nnodes: 0\nswitch_ports: 64") }
        #expect(throws: ConfigError.self) { try parse("name: x\nkind: fat-tree\nnode: HGX-H800-8GPU\nnodes: -4\nswitch_ports: 64") }
    }

    @Test func errorsNameFileLineKeyAndFix() throws {
        do {
            _ = try parse("name: x\nkind: fat-tree\nnode: HGX-H800-8GPU\nnodes: 16\nswitch_port: 64")
            Issue.record("expected an error")
        } catch let e as ConfigError {
            #expect(e.description == "t.yaml:5: key 'switch_port': unknown key — did you mean 'switch_ports'? Allowed: description, kind, latency_us, name, node, nodes, planes, prices, switch_ports")
        }
        do {
            _ = try parse("name: x\nkind: torus\nnode: HGX-H800-8GPU\nnodes: 16\nswitch_ports: 64")
            Issue.record("expected an error")
        } catch let e as ConfigError {
            #expect(e.line == 2 && e.key == "kind")
            #expect(e.description.contains("allowed: fat-tree, fat-tree-3, multi-plane-fat-tree, rail-optimized"))
        }
        do {
            _ = try parse("name: x\nkind: fat-tree\nnode: HGX-H900\nnodes: 16\nswitch_ports: 64")
            Issue.record("expected an error")
        } catch let e as ConfigError {
            #expect(e.description.contains("unknown node template 'HGX-H900'"))
        }
        do {
            _ = try parse("name: x\nkind: [fat-tree\nnodes: 3")
            Issue.record("expected an error")
        } catch let e as ConfigError {
            #expect(e.problem.hasPrefix("malformed file"))
            #expect(e.line != nil)
        }
        #expect(throws: ConfigError.self) { try parse("") }
    }

    /// The NVLink domain a job's consecutive ranks fill (`Topology.scaleUpDomainGPUs`): on
    /// GB200 NVL72 trays, the Slurm segment NVIDIA's launcher asks for (Megatron-Bridge
    /// scripts/performance/utils/executors.py): every tray up to 18, else the largest count up
    /// to 18 dividing the trays; an HGX node is its own domain.
    @Test("job NVLink domains: 64 GB200 trays as 4 × 16, 36 as 2 × 18, 19 (prime) as single trays")
    func jobNVLinkDomain() throws {
        func domain(_ node: String, _ nodes: Int) throws -> Int {
            try parse("{name: t, description: t, kind: fat-tree, node: \(node), nodes: \(nodes), switch_ports: 64}").scaleUpDomainGPUs
        }
        #expect(try domain("GB200-NVL72-TRAY", 2) == 8)
        #expect(try domain("GB200-NVL72-TRAY", 16) == 64)
        #expect(try domain("GB200-NVL72-TRAY", 18) == 72)
        #expect(try domain("GB200-NVL72-TRAY", 36) == 72)
        #expect(try domain("GB200-NVL72-TRAY", 64) == 64)
        #expect(try domain("GB200-NVL72-TRAY", 20) == 40)
        #expect(try domain("GB200-NVL72-TRAY", 19) == 4)
        #expect(try domain("GB300-NVL72-TRAY", 64) == 64)
        #expect(try domain("HGX-H800-8GPU", 256) == 8)
    }
}
