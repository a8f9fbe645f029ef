import ArgumentParser
import ConfigIO
import Kernels
import Model

/// `llmsim route`: V3's node-limited router on synthetic tokens, its load balance and the
/// DeepEP dispatch plan of an EP group.
struct RouteCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "route",
        abstract: "Route tokens through an MoE gate; report nodes per token, IB copies, loads and bytes.")

    @Option(help: "Model name or config.json (an MoE model).") var model = "deepseek-v3"
    @Option(name: .customLong("tokens-per-gpu"), help: "Tokens each GPU routes per step.") var tokensPerGPU = 4096
    @Option(help: "GPUs in the expert-parallel group.") var ep = 64
    @Option(help: "Expert tensor parallelism: GPUs each expert's width is split over (the group is then EP × ETP GPUs, each token sent to every slice of its experts).") var etp = 1
    @Option(name: .customLong("gpus-per-node"), help: "GPUs per node.") var gpusPerNode = 8
    @Option(help: "Expert popularity: uniform, dirichlet:ALPHA, zipf:S, or histogram:FILE (a JSON/YAML list of loads, one per expert).") var skew = "uniform"
    @Option(help: GateKind.optionHelp) var gate = "router"
    @Option(name: .customLong("dispatch-format"), help: DispatchFormat.optionHelp) var dispatchFormat = "fp8"
    @Option(name: .customLong("sequence-concentration"), help: "β: each sequence draws its own expert popularity, Dirichlet(β·E·p) around the group's p (an expert's per-sequence popularity varies by about 1/√β); omit for independent tokens.") var sequenceConcentration: Double?
    @Option(name: .customLong("sequences-per-gpu"), help: "Sequences among each GPU's tokens (each draws its own popularity under --sequence-concentration).") var sequencesPerGPU = 1
    @Option(help: "Steps of routing, each followed by the bias update.") var steps = 1
    @Option(help: "Bias update speed γ (V3: 0.001).") var gamma = 0.001
    @Option(help: "Seed.") var seed: UInt64 = 1
    @Flag(help: "Draw every token's affinity for every expert even when popularity is uniform and the bias zero (by default those draw no affinity: the gate's choices come from its integrated law, GateCompositionLaw, with distinct groups and experts drawn uniformly: same law, another random stream, a tenth of the gate's time).") var fullDraw = false
    @Flag(help: "Include the GPU-pair and node-pair copy matrices in the JSON.") var matrices = false
    @Flag(help: "Print JSON with stable keys.") var json = false

    struct Report: Encodable {
        var model: String
        var ep: Int
        var etp: Int
        var gate: String
        var gpusPerNode: Int
        var tokensPerGpu: Int
        var skew: String
        var sequenceConcentration: Double?
        var sequencesPerGpu: Int
        var steps: Int
        var maxNodesPerToken: Int
        var meanNodesPerToken: Double
        var meanIbCopiesPerToken: Double
        var meanGpusPerToken: Double
        var dispatchBytesPerCopy: Int
        var combineBytesPerCopy: Int
        var maxOverMeanExpertLoad: Double
        var maxOverMeanGpuLoad: Double
        var loadRatioPerStep: [Double]
        var gpuLoadRatioPerStep: [Double]
        var tokensPerGpuReceived: [Int]
        var ibSendBytesPerGpuMax: Int
        var nvlinkSendBytesPerGpuMax: Int
        var logicalDispatchBytesPerGpuMean: Double
        var nodeIbCopies: [[Int]]?
        var gpuNvlinkCopies: [[Int]]?
        var gpuIbCopies: [[Int]]?
    }

    func run() throws { try Output.reportingErrors { print(try output()) } }

    func output() throws -> String {
        let catalog = try ResourceLocator.models()
        let (arch, _) = try catalog.resolve(model)
        guard let router = arch.routerConfig else {
            throw KernelError("--model", "\(arch.name) has no MoE layers", fix: "choose an MoE model, e.g. deepseek-v3 or mixtral-8x7b")
        }
        var experiment = RoutingExperiment(router: router, hidden: arch.hiddenSize, tokensPerGPU: tokensPerGPU, ep: ep,
                                           gpusPerNode: gpusPerNode, skew: try ExpertSkew.parsing(skew), steps: steps,
                                           gamma: gamma, seed: seed, fullDraw: fullDraw)
        let gateKind = try GateKind(option: gate)
        experiment.gate = gateKind
        experiment.expertTensorParallel = etp
        experiment.sequenceConcentration = sequenceConcentration
        experiment.sequencesPerGPU = sequencesPerGPU
        let result = try experiment.run()
        let p = result.plan
        let format = try DispatchFormat(option: dispatchFormat)
        let dispatch = TokenCopyBytes.dispatch(hidden: arch.hiddenSize, format: format), combine = TokenCopyBytes.combine(hidden: arch.hiddenSize)
        let gpus = p.placement.ep
        let logicalMean = Double(p.logicalCopies.map { $0.reduce(0, +) }.reduce(0, +)) / Double(gpus) * Double(dispatch)
        let report = Report(
            model: arch.name, ep: ep, etp: etp, gate: gate, gpusPerNode: gpusPerNode, tokensPerGpu: tokensPerGPU, skew: skew,
            sequenceConcentration: sequenceConcentration, sequencesPerGpu: sequencesPerGPU, steps: steps,
            maxNodesPerToken: p.maxNodesPerToken, meanNodesPerToken: p.meanNodesPerToken,
            meanIbCopiesPerToken: p.meanIBCopiesPerToken, meanGpusPerToken: p.meanGPUsPerToken,
            dispatchBytesPerCopy: dispatch, combineBytesPerCopy: combine,
            maxOverMeanExpertLoad: p.maxOverMeanExpertLoad, maxOverMeanGpuLoad: p.maxOverMeanGPULoad,
            loadRatioPerStep: result.loadRatioPerStep, gpuLoadRatioPerStep: result.gpuLoadRatioPerStep, tokensPerGpuReceived: p.gpuLoads,
            ibSendBytesPerGpuMax: (p.ibCopies.map { $0.reduce(0, +) }.max() ?? 0) * dispatch,
            nvlinkSendBytesPerGpuMax: (p.nvlinkCopies.map { $0.reduce(0, +) }.max() ?? 0) * dispatch,
            logicalDispatchBytesPerGpuMean: logicalMean,
            nodeIbCopies: matrices ? p.nodeIBCopies : nil,
            gpuNvlinkCopies: matrices ? p.nvlinkCopies : nil, gpuIbCopies: matrices ? p.ibCopies : nil)
        if json { return try Output.json(report) }
        let loads = p.gpuLoads
        return Output.table([
            ["routing", "\(arch.name), EP\(ep)\(etp > 1 ? " × ETP\(etp)" : "") over \(p.placement.nodes) node(s), \(tokensPerGPU) tokens/GPU, "
                + (gateKind == .router ? "skew \(skew)" : gateKind.label) + (fullDraw ? ", every affinity drawn" : "")
                + (sequenceConcentration.map { ", sequence concentration β = \(Output.general($0)) over \(sequencesPerGPU) sequence(s)/GPU" } ?? "")],
            ["nodes per token (max / mean)", "\(p.maxNodesPerToken) / \(Output.fixed(p.meanNodesPerToken, 3))"],
            ["IB copies per token (mean)", Output.fixed(p.meanIBCopiesPerToken, 3)],
            ["GPUs per token (mean)", Output.fixed(p.meanGPUsPerToken, 3)],
            ["bytes per copy (dispatch \(format.rawValue.uppercased()) / combine BF16)", "\(Output.grouped(dispatch)) B / \(Output.grouped(combine)) B"],
            ["max/mean expert load, per step", result.loadRatioPerStep.map { Output.fixed($0, 3) }.joined(separator: " ")],
            ["max/mean GPU load, per step", result.gpuLoadRatioPerStep.map { Output.fixed($0, 3) }.joined(separator: " ")],
            ["token-rows per GPU (min / mean / max)", "\(Output.grouped(loads.min() ?? 0)) / \(Output.fixed(Double(loads.reduce(0, +)) / Double(gpus), 0)) / \(Output.grouped(loads.max() ?? 0))"],
            ["IB send per GPU (max)", Output.fixed(Double(report.ibSendBytesPerGpuMax) / 1e6, 2) + " MB"],
            ["NVLink send per GPU (max)", Output.fixed(Double(report.nvlinkSendBytesPerGpuMax) / 1e6, 2) + " MB"],
        ], rightAlignedFrom: Output.allLeftAligned)
    }
}
