import ArgumentParser
import ConfigIO
import Kernels

/// `llmsim eplb`: DeepSeek's expert-parallel load balancer on per-layer expert loads.
struct EPLBCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eplb", abstract: "Replicate and place experts on GPUs (DeepSeek EPLB).",
        discussion: "LOADS is a JSON or YAML file holding [[load per expert] per layer].")

    @Option(help: "File with the expert loads, [[…], …] (one list per layer).") var loads: String
    @Option(help: "Physical expert slots (experts + redundant copies).") var replicas: Int
    @Option(help: "Expert groups.") var groups: Int
    @Option(help: "Nodes.") var nodes: Int
    @Option(help: "GPUs.") var gpus: Int
    @Flag(help: "Print JSON with stable keys.") var json = false

    func run() throws { try Output.reportingErrors { print(try output()) } }

    func output() throws -> String {
        let root = try ConfigValue.load(path: loads)
        let layers = try root.elements().map { try $0.elements().map { try $0.double() } }
        let r = try EPLB.rebalance(loads: layers, replicas: replicas, groups: groups, nodes: nodes, gpus: gpus)
        if json { return try Output.json(r) }
        var rows = [["layer", "GPU", "logical experts in its slots"]]
        let perGPU = replicas / gpus
        for (l, map) in r.phy2log.enumerated() {
            for g in 0..<gpus {
                rows.append(["\(l)", "\(g)", map[(g * perGPU)..<((g + 1) * perGPU)].map(String.init).joined(separator: " ")])
            }
        }
        return Output.table(rows, rightAlignedFrom: Output.allLeftAligned) + "\nreplicas per expert: " + r.logcnt.map { $0.map(String.init).joined(separator: " ") }.joined(separator: " | ")
    }
}
