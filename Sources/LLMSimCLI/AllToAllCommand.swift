import ArgumentParser
import Fabric
import Hardware
import Kernels
import Model

/// `llmsim alltoall`: DeepEP's MoE dispatch or combine on a fluid network of NVLink and NIC ports.
struct AllToAllCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alltoall",
        abstract: "Time an MoE all-to-all (DeepEP dispatch or combine) for an EP group.")

    @Option(help: "GPUs in the expert-parallel group.") var ep = 64
    @Option(help: "Expert tensor parallelism: GPUs each expert's width is split over (the group is then EP × ETP GPUs; DeepEP sends each token to every slice of its experts, the all-to-all dispatcher adds an all-gather over the ETP group).") var etp = 1
    @Option(name: .customLong("gpus-per-node"), help: "GPUs per node (default: the node template's).") var gpusPerNode: Int?
    @Option(name: .customLong("nvlink-domain"), help: "GPUs of one NVLink domain, for the dispatchers that reach a multi-node NVLink domain over NVLink (alltoall, hybridep): default the node template's scale-up domain (72 on a GB200 NVL72 tray); deepep, whose all-to-all leaves each node over the NICs, refuses it.") var nvlinkDomain: Int?
    @Option(name: .customLong("tokens-per-gpu"), help: "Tokens each GPU sends.") var tokensPerGPU = 4096
    @Option(help: "dispatch or combine (BF16).") var kind = "dispatch"
    @Option(name: .customLong("dispatch-format"), help: DispatchFormat.optionHelp) var dispatchFormat = "fp8"
    @Option(help: "deepep (tokens deduplicated per node and GPU, NVLink forwarding), hybridep (NVIDIA's Hybrid-EP: DeepEP's paths over a whole NVLink domain, multi-node NVLink included) or alltoall (one row per chosen expert, NCCL with PXN, as Megatron-LM's all-to-all dispatcher).") var dispatcher = "deepep"
    @Option(name: .customLong("deepep-kernels"), help: "Release of DeepEP's kernels, by the month of the README table that measured it: 2025-04 (current) or 2025-02 (the first public release, the kernels of DeepSeek-V3's training trace; slower across nodes).") var deepepKernels = DeepEPKernels.current.rawValue
    @Option(help: "Model (routing and hidden size).") var model = "deepseek-v3"
    @Option(help: "Routed experts in the group, in place of the model's (its top-K kept, no expert groups), as a benchmark draws them: Hybrid-EP's table has 8 per GPU, e.g. --ep 36 --experts 288.") var experts: Int?
    @Option(help: "Node template from the hardware catalog.") var node = "HGX-H800-8GPU"
    @Option(name: .customLong("comm-sms"), help: "SMs given to DeepEP or Hybrid-EP (default \(MoEAllToAll.benchmarkSMs), DeepEP's benchmarks', at which its published rates hold: V3 trained with 20, each fewer SM slowing it in proportion; Hybrid-EP's rates hold from \(MoEAllToAll.hybridepSaturationSMs) SMs up).") var commSMs = MoEAllToAll.benchmarkSMs
    @Option(help: "Expert popularity: uniform, dirichlet:ALPHA, zipf:S, or histogram:FILE (a JSON/YAML list of loads, one per expert).") var skew = "uniform"
    @Option(help: GateKind.optionHelp) var gate = "router"
    @Option(help: "Seed.") var seed: UInt64 = 1
    @Flag(help: "Print JSON with stable keys.") var json = false

    func run() throws { try Output.reportingErrors { print(try output()) } }

    func output() throws -> String {
        guard let k = MoEAllToAll.Kind(rawValue: kind) else {
            throw KernelError("--kind", "unknown kind '\(kind)'", fix: "use dispatch or combine")
        }
        let catalog = try ResourceLocator.models()
        let arch = try catalog.resolve(model).0
        guard var router = arch.routerConfig else { throw KernelError("--model", "\(arch.name) has no MoE layers", fix: "choose an MoE model") }
        if let experts {
            router = RouterConfig(experts: experts, topK: router.topK, groups: 1, topKGroups: 1)
            try router.validate()
        }
        let template = try HardwareCatalog.builtIn().node(node)
        guard let moeDispatcher = MoEDispatcher(rawValue: dispatcher) else {
            throw KernelError("--dispatcher", "unknown dispatcher '\(dispatcher)'", fix: "use " + MoEDispatcher.allCases.map(\.rawValue).joined(separator: ", "))
        }
        if let nvlinkDomain, !moeDispatcher.spansMultiNodeNVLink {
            throw KernelError("--nvlink-domain", "\(nvlinkDomain) GPUs given, but \(moeDispatcher.rawValue)'s NVLink peers are a node's GPUs only",
                              fix: "set the node's GPUs with --gpus-per-node, or choose --dispatcher alltoall or hybridep to reach a multi-node NVLink domain")
        }
        let perNode = gpusPerNode ?? template.gpus
        let nodeGPUs = moeDispatcher.allToAllNodeGPUs(node: perNode, domain: nvlinkDomain ?? max(perNode, template.scaleUpDomainGPUs))
        var experiment = RoutingExperiment(router: router, hidden: arch.hiddenSize, tokensPerGPU: tokensPerGPU, ep: ep,
                                           gpusPerNode: nodeGPUs, skew: try ExpertSkew.parsing(skew), seed: seed)
        experiment.expertTensorParallel = etp
        experiment.gate = try GateKind(option: gate)
        let routing = try experiment.run()
        guard let release = DeepEPKernels(rawValue: deepepKernels) else {
            throw KernelError("--deepep-kernels", "unknown release '\(deepepKernels)'", fix: "use " + DeepEPKernels.allCases.map(\.rawValue).joined(separator: " or "))
        }
        let a2a = MoEAllToAll(node: template, communicationSMs: commSMs, hopLatency: Topology.defaultLatency,
                              dispatchFormat: try DispatchFormat(option: dispatchFormat), dispatcher: moeDispatcher, deepepKernels: release)
        let r = try a2a.run(routing.plan, kind: k, hidden: arch.hiddenSize)
        if json { return try Output.json(r) }
        return Output.table([
            ["all-to-all", "\(moeDispatcher.rawValue)\(moeDispatcher == .deepep ? " (\(release.rawValue) kernels)" : "") \(k.rawValue)\(k == .dispatch ? " (\(dispatchFormat.uppercased()))" : " (BF16)"), EP\(ep)\(etp > 1 ? " × ETP\(etp)" : "") (\(nodeGPUs) GPUs/\(nodeGPUs > perNode ? "NVLink domain" : "node")), \(tokensPerGPU) tokens/GPU, \(commSMs) SMs, \(template.id)"],
            ["time", Output.fixed(r.timeS * 1e3, 3) + " ms"],
            [moeDispatcher.deduplicatesPerGPU ? "logical bandwidth (DeepEP convention)" : "rows sent to other GPUs, per second", Output.fixed(r.logicalBandwidthGbps, 1) + " GB/s per GPU"],
            ["IB bytes sent by the busiest GPU", Output.fixed(r.ibBytesPerGpuMax / 1e6, 1) + " MB"],
            ["NVLink bytes sent by the busiest GPU", Output.fixed(r.nvlinkBytesPerGpuMax / 1e6, 1) + " MB"],
            ["bottleneck", r.bottleneck],
        ], rightAlignedFrom: Output.allLeftAligned) + "\n" + published(moeDispatcher, release)
    }

    /// The published figures the dispatcher's model is checked on.
    func published(_ dispatcher: MoEDispatcher, _ release: DeepEPKernels) -> String {
        switch dispatcher {
        case .hybridep:
            return "published (Hybrid-EP README, GB200 NVL72, 4096 tokens, 8 experts per GPU, \(HybridEPTable.recipeSMs) SMs, kernel only, its benchmark's routing: --gate hybridep-benchmark --experts <8 × EP> --dispatch-format bf16 --node GB200-NVL72-TRAY --comm-sms 32): "
                + HybridEPTable.gb200.filter { $0.sms == HybridEPTable.recipeSMs }.map { "EP\($0.ep) \(Int($0.dispatchBF16))/\(Int($0.combine))" }.joined(separator: ", ")
                + " GB/s BF16 dispatch/combine"
        case .deepep, .alltoall:
            return "published (DeepEP V1 README of \(release.rawValue), H800, 4096 tokens, 24 SMs, its benchmarks' routing: --gate deepep-benchmark): "
                + release.publishedRates.map { "EP\($0.ep) \(Int($0.dispatch))/\(Int($0.combine))" }.joined(separator: ", ") + " GB/s dispatch/combine"
        }
    }
}
