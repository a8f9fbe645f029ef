import Fabric
import Hardware
import Kernels

extension ValidateCommand {
    /// Hybrid-EP's GB200 table (`HybridEPTable`), at the SMs Megatron-Bridge's recipes give it:
    /// BF16 dispatch, combine and FP8 dispatch at each EP, on its benchmark's routing (8 experts
    /// per GPU, a uniform random top-8 of them all) inside one NVLink domain. EP 36's BF16
    /// dispatch sets Hybrid-EP's NVLink rate (`MoEAllToAll.hybridepNVLinkFraction`): a
    /// calibration, shown so that it stays true; the other rows check it.
    static func hybridEPCases(hardware: HardwareCatalog) throws -> [Case] {
        let tray = try hardware.node(HybridEPTable.node)
        let calibrating = HybridEPTable.gb200.map(\.ep).max()!
        var out: [Case] = []
        for row in HybridEPTable.gb200 where row.sms == HybridEPTable.recipeSMs {
            let router = RouterConfig(experts: HybridEPTable.expertsPerGPU * row.ep, topK: HybridEPTable.topK, groups: 1, topKGroups: 1)
            var routing = RoutingExperiment(router: router, hidden: HybridEPTable.hidden, tokensPerGPU: HybridEPTable.tokensPerGPU, ep: row.ep, gpusPerNode: row.ep)
            routing.gate = .hybridepBenchmark
            let plan = try routing.run().plan
            let source = "Hybrid-EP README (GB200, \(row.sms) SMs)"
            for (format, kind, published) in [(DispatchFormat.bf16, MoEAllToAll.Kind.dispatch, row.dispatchBF16), (.bf16, .combine, row.combine), (.fp8, .dispatch, row.dispatchFP8)] {
                let a2a = MoEAllToAll(node: tray, communicationSMs: row.sms, hopLatency: Topology.defaultLatency, dispatchFormat: format, dispatcher: .hybridep)
                let r = try a2a.run(plan, kind: kind, hidden: HybridEPTable.hidden)
                let name = "Hybrid-EP \(kind == .combine ? "combine" : "dispatch \(format.rawValue.uppercased())") EP\(row.ep), NVL72"
                    + (row.ep == calibrating && kind == .dispatch && format == .bf16 ? " (calibrates NVLink)" : "")
                out.append(check(name, source, published: published, simulated: r.logicalBandwidthGbps, unit: "GB/s", tolerance: 0.10))
            }
        }
        return out
    }
}
