import ArgumentParser
import Hardware

/// `llmsim topology FILE`: the cluster a topology file describes, its switch and link counts and
/// network cost.
struct TopologyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "topology",
        abstract: "Switch and link counts, and network cost, of a topology file (Topologies/*.yaml).")

    @Argument(help: "Path to a topology YAML file.")
    var file: String

    @Flag(help: "Print JSON with stable keys.")
    var json = false

    struct Report: Encodable {
        var name: String
        var kind: String
        var node: String
        var device: String
        var gpus: Int
        var nodes: Int
        var gpusPerNode: Int
        var planes: Int
        var endpoints: Int
        var switches: Int
        var switchesPerLayer: [Int]
        var switchLayers: Int
        var links: Int
        var endpointLinks: Int
        var switchPorts: Int
        var nicGbpsPerGpu: Double
        var scaleUpGbpsPerGpu: Double
        var networkCostUsd: Double
        var networkCostPerEndpointUsd: Double
    }

    func run() throws {
        try Output.reportingErrors { print(try output()) }
    }

    /// What the command prints.
    func output() throws -> String {
        let t = try Topology.load(path: file, catalog: try HardwareCatalog.builtIn())
        let c = t.counts
        let report = Report(
            name: t.name, kind: t.kind.rawValue, node: t.node.id, device: t.node.device.id,
            gpus: t.gpus, nodes: t.nodes, gpusPerNode: t.node.gpus, planes: t.planes, endpoints: t.endpoints,
            switches: c.switches, switchesPerLayer: c.perLayer, switchLayers: c.layers, links: c.links,
            endpointLinks: c.endpointLinks, switchPorts: t.switchRadix,
            nicGbpsPerGpu: t.node.nicBandwidthPerGPU / 1e9, scaleUpGbpsPerGpu: t.node.device.scaleUpBandwidth / 1e9,
            networkCostUsd: t.networkCostUSD, networkCostPerEndpointUsd: t.networkCostUSD / Double(max(t.endpoints, 1)))
        return json ? try Output.json(report) : Self.text(report, description: t.description)
    }

    static func text(_ r: Report, description: String) -> String {
        let rows: [[String]] = [
            ["cluster", "\(Output.grouped(r.gpus)) × \(r.device) in \(Output.grouped(r.nodes)) × \(r.node)"],
            ["network", "\(r.kind), \(r.planes) plane(s), \(r.switchPorts)-port switches"],
            ["endpoints (compute NICs)", Output.grouped(r.endpoints)],
            ["switches", "\(Output.grouped(r.switches)) (per layer: \(r.switchesPerLayer.map(Output.grouped).joined(separator: " + ")))"],
            ["switch-to-switch links", Output.grouped(r.links)],
            ["NIC-to-leaf links", Output.grouped(r.endpointLinks)],
            ["NIC bandwidth per GPU", Output.fixed(r.nicGbpsPerGpu, 1) + " GB/s per direction"],
            ["scale-up bandwidth per GPU", Output.fixed(r.scaleUpGbpsPerGpu, 1) + " GB/s per direction"],
            ["network cost", "$" + Output.fixed(r.networkCostUsd / 1e6, 2) + "M ($" + Output.fixed(r.networkCostPerEndpointUsd / 1e3, 2) + "K per endpoint)"],
        ]
        return (description.isEmpty ? r.name : "\(r.name): \(description)") + "\n" + Output.table(rows, rightAlignedFrom: Output.allLeftAligned)
    }
}
