import Hardware
import Kernels

/// The MoE all-to-all on a fluid network of per-GPU ports: NVLink out/in at the achievable
/// scale-up rate, NIC out/in at the achievable NIC rate, a full-bisection network core (each
/// multi-plane fat-tree plane is non-blocking). All flows run concurrently (the dispatchers
/// chunk the data, so relayed hops are pipelined).
///
/// `MoEDispatcher.deepep`, as DeepEP runs it (V3 report §3.2.2; DeepEP README): IB copies go
/// source → relay (same local index on the destination node), deduplicated per node; NVLink
/// carries direct intra-node sends and relay forwards. Communication SMs: DeepEP's published
/// rates are measured with 24 SMs (`saturationSMs`); with fewer, the rates scale down in
/// proportion (an assumption, which DeepSeek's training trace supports at 20 SMs).
///
/// `MoEDispatcher.alltoall`, as Megatron-LM's all-to-all dispatcher runs over NCCL: one row per
/// (token, chosen expert) straight to the expert's GPU, over NVLink inside a node and, across
/// nodes, over NVLink to the source node's GPU on the destination's rail and then its NIC
/// (PXN). NCCL's channels are its own: the communication SMs do not scale it.
///
/// `MoEDispatcher.hybridep`, NVIDIA's Hybrid-EP, moves DeepEP's copies (deduplicated per GPU,
/// one NIC copy per destination domain, NVLink forwarding) over the whole NVLink domain: its
/// NVLink rate is its own (`hybridepNVLinkFraction`, from its GB200 table); across domains its
/// NICs run at the current DeepEP kernels' rate (an assumption: its RDMA figures are H100's and
/// counted otherwise). Its rates hold from `hybridepSaturationSMs` up and fall in proportion below.
///
/// Under expert tensor parallelism (`ExpertPlacement.tensorParallel`) DeepEP runs over the
/// whole TP × EP group as above, each expert slice a destination; the all-to-all dispatcher runs
/// over the GPUs of one slice index, then an all-gather over the expert-TP group on NVLink: a
/// second phase, timed after the first (`DispatchPlan.portCopyPhases`).
public struct MoEAllToAll: Sendable {
    public enum Kind: String, Sendable, Codable, CaseIterable { case dispatch, combine }

    public var node: NodeTemplate
    /// SMs given to DeepEP's kernels; 20 by default, V3's training setting (V3 report §3.2.2:
    /// 20 of the H800's 132 SMs, confirmed by the training trace's 20-CTA dispatch kernels);
    /// DeepEP's benchmarks use 24 (`saturationSMs`).
    /// The NCCL dispatcher's rates do not depend on it.
    public var communicationSMs: Int
    /// The SMs DeepEP's benchmarks run with (`num_sms = 24` in tests/test_intranode.py and
    /// test_internode.py; its README's example calls `Buffer.set_num_sms(24)`): its published
    /// rates hold there, and `llmsim validate` and `llmsim alltoall` time its table so.
    public static let benchmarkSMs = 24
    /// SMs at which DeepEP reaches its published rates: its benchmarks' (`benchmarkSMs`), which
    /// this model reproduces (`llmsim validate`).
    ///
    /// The V3 report (§3.2.2) says about 20 SMs "suffice to fully utilize" IB and NVLink, and
    /// V3 trained with 20 (the trace's kernels run on 20 CTAs). The trace disagrees with
    /// saturation at 20: its transfers ran at 0.68 (FP8 dispatch, cached: 3.11–3.61 ms, mean
    /// 3.40) and 0.72 (BF16 combine: 5.85–6.55 ms, mean 6.18) of this model's rates at 24 SMs
    /// (2.31 and 4.48 ms for V3's layer). 20 / 24 = 0.83 explains most of it; the kernels V3
    /// trained with were the first release's (`DeepEPKernels.release2025_02`: EP64 46 and 45 GB/s
    /// against 51 and 50 now, 0.90), which explains most of the rest. Scaling in proportion below
    /// 24 SMs is the model's assumption.
    public var saturationSMs = MoEAllToAll.benchmarkSMs
    /// The share of a GPU's achievable NVLink rate (per direction) that DeepEP's kernels move
    /// token copies at: 0.84, from DeepEP's intranode benchmark. Its README reports 153 GB/s
    /// dispatching at EP8 on H800, counted as the bytes each GPU receives, its own tokens
    /// included (`recv_x` in tests/test_intranode.py, 24 SMs); the same routing
    /// (`GateKind.deepepBenchmark`) on this fluid network at the full 160 GB/s gives 181.3 GB/s,
    /// so 153 / 181.3 = 0.844: ≈ 135 GB/s of NVLink per direction, against the 160 the V3 report
    /// (§3.2.2) quotes for NVLink. Checked, not fitted, on EP16, where NVLink forwarding binds
    /// (DeepEP's authors, deepseek-ai/DeepEP issue #285: "when the RDMA bandwidth reaches
    /// 43 GB/s, the NVLink bandwidth will exceed 140 GB/s"): `llmsim validate`'s EP16 row.
    /// Taken for every GPU (DeepEP publishes no intranode figure for others). The NCCL
    /// dispatcher's all-to-all keeps the full rate (its own benchmarks, not this one).
    public var deepepNVLinkFraction = 0.84
    /// The share of a GPU's achievable NVLink rate (per direction) that Hybrid-EP's TMA copies
    /// move tokens at: 1.006, from its GB200 table (`HybridEPTable`) at its largest NVLink
    /// domain, EP 36 (nearest the EP 32–64 of the training recipes), BF16 dispatch on 32 SMs,
    /// kernel only: 632.31 GB/s received per GPU, where the same routing
    /// (`GateKind.hybridepBenchmark`) on this fluid network at the GB200's achievable 623.7 GB/s
    /// (0.693 of 900, the rate OpenXLA's sm_100 table measures NCCL's collectives at: the
    /// catalog's GB200 entry) gives 628.3: ≈ 627 GB/s per direction. So Hybrid-EP's copies
    /// reach what NCCL's ring collectives reach on NVLink 5, to 0.6 %: two independent
    /// measurements of the same link. Checked, not fitted, on the table's other rows
    /// (`llmsim validate`): BF16 dispatch and combine at EP 8 to 32 within −7 % to +6 % (the
    /// rates fall a little as the domain grows, which one share does not follow); FP8 dispatch
    /// misses from EP 24 up (+11 % to +29 %): its rates fall with EP and nearly halve on half the
    /// SMs there, a per-token cost on the SMs this model does not have. The training recipes
    /// dispatch BF16 (Megatron-Core does not yet send MXFP8 through the dispatcher: NVIDIA's
    /// DeepSeek-V3 GB200 guide §2.1.3).
    public var hybridepNVLinkFraction = 1.006
    /// SMs from which Hybrid-EP's published rates hold: the smaller count of its GB200 table
    /// (Hybrid-EP_Implementation.md in deepseek-ai/DeepEP, 16 and 32 SMs), where its BF16
    /// dispatch at 16 SMs reaches 94–98 % of 32's at EP 8 to 36 and its combine 88–93 % (so at
    /// 16 SMs llmsim's combine runs up to 12 % fast); FP8 dispatch does not hold (53 % at EP 36).
    /// Megatron-Bridge's recipes give it 32 (`moe_hybridep_num_sms = 32`), where the table's
    /// rates are checked. Below 16, in proportion (an assumption, as for DeepEP).
    public static let hybridepSaturationSMs = 16
    /// End-to-end small-message latency of one hop, seconds.
    public var hopLatency: HopLatency
    /// How dispatch carries a token (combine is always BF16).
    public var dispatchFormat: DispatchFormat
    /// Which release of DeepEP's kernels moves the tokens: its RDMA rate is the current one's
    /// times the share its own README table shows (`DeepEPKernels.rdmaShare`). The current
    /// release by default; the NCCL dispatcher ignores it.
    public var deepepKernels: DeepEPKernels
    /// Which dispatcher moves the tokens.
    public var dispatcher: MoEDispatcher

    /// - Parameter dispatchFormat: FP8 by default, the setting of DeepEP's published benchmarks
    ///   and of V3's training; a step passes its precision's (`PrecisionPolicy.dispatchFormat`).
    /// - Parameter dispatcher: DeepEP by default.
    public init(node: NodeTemplate, communicationSMs: Int = 20, hopLatency: HopLatency, dispatchFormat: DispatchFormat = .fp8,
                dispatcher: MoEDispatcher = .deepep, deepepKernels: DeepEPKernels = .current) {
        self.node = node; self.communicationSMs = communicationSMs; self.hopLatency = hopLatency; self.dispatchFormat = dispatchFormat
        self.dispatcher = dispatcher; self.deepepKernels = deepepKernels
    }

    public struct Result: Sendable, Codable, Equatable {
        public var kind: String
        public var timeS: Double
        /// DeepEP's reported bandwidth: inside a node, NVLink bytes per GPU over the time; across
        /// nodes the "logical" figure, token copies per destination node (the source's own node
        /// included) times the bytes per copy, over the time. For the all-to-all dispatcher, the
        /// rows a GPU sends to the others over the time.
        public var logicalBandwidthGbps: Double
        public var ibBytesPerGpuMax: Double
        public var nvlinkBytesPerGpuMax: Double
        public var bottleneck: String
    }

    public func run(_ plan: DispatchPlan, kind: Kind, hidden: Int) throws -> Result {
        let copyBytes = Double(kind == .dispatch ? TokenCopyBytes.dispatch(hidden: hidden, format: dispatchFormat) : TokenCopyBytes.combine(hidden: hidden))
        let ep = plan.placement.ep
        var time = 0.0
        // Bytes each GPU sends on its NIC and on NVLink (the ports are numbered as `network`
        // adds them: NVLink out, NVLink in, NIC out, NIC in, `ep` of each).
        var sent = [Double](repeating: 0, count: 4 * ep)
        for phase in plan.portCopyPhases(dispatcher) {
            let (net, flows) = try network(phase, ep: ep, nodes: plan.placement.nodes, kind: kind, copyBytes: copyBytes)
            time += net.run(flows).max() ?? 0
            for f in flows { for l in f.links { sent[l] += f.bytes } }
        }
        let nvMax = sent[0..<ep].max() ?? 0, ibMax = sent[(2 * ep)..<(3 * ep)].max() ?? 0
        let logical: Double
        switch dispatcher {
        case .deepep, .hybridep:
            // Inside one node DeepEP reports the bytes each GPU receives, its own tokens included
            // (`recv_x`, test_intranode.py), and so does Hybrid-EP inside one NVLink domain
            // (`dispatched_hidden`, test_hybrid_ep.py); across nodes, the copies per destination
            // node (own node included), the "logical" RDMA bandwidth (test_internode.py).
            logical = plan.placement.nodes == 1
                ? Double(plan.logicalCopies.map { $0.reduce(0, +) }.reduce(0, +)) / Double(ep) * copyBytes
                : plan.meanNodesPerToken * Double(plan.tokensPerGPU) * copyBytes
        case .alltoall:
            // The rows each GPU sends to the others (the all-to-all's "bus" bytes).
            logical = Double(plan.expertRows.enumerated().map { s, row in row.reduce(0, +) - row[s] }.reduce(0, +)) / Double(ep) * copyBytes
        }
        return Result(kind: kind.rawValue, timeS: time, logicalBandwidthGbps: time > 0 ? logical / time / 1e9 : 0,
                      ibBytesPerGpuMax: ibMax, nvlinkBytesPerGpuMax: nvMax,
                      bottleneck: ibMax / nicRate(nodes: plan.placement.nodes, kind: kind) >= nvMax / nvRate ? "NIC (IB)" : "NVLink")
    }

    /// Dispatch and combine times of one plan, seconds, from one fluid run. Combine retraces
    /// dispatch's flows in reverse, and every port has the same rate in both directions, so
    /// its max-min allocation is dispatch's mirrored (each flow's link set maps onto the other
    /// direction's ports of equal capacity). With every flow's bytes scaled by the same factor
    /// (BF16 over FP8 copies, or 1 when dispatch is BF16 too), each flow's transfer time scales
    /// by it, and its path latency is the same: combine finish = latency + factor × (dispatch
    /// finish − latency). Exact up to the fluid network's picosecond event grid; a test checks
    /// it against a combine run. When the kernels' release moves combine's RDMA bytes at another
    /// share of the NIC than dispatch's (`DeepEPKernels.rdmaShare`), combine is run on its own.
    /// Phases run one after the other (the expert-TP all-gather after the all-to-all), each
    /// timed so.
    public func times(_ plan: DispatchPlan, hidden: Int) throws -> (dispatch: Double, combine: Double) {
        let nodes = plan.placement.nodes
        guard nicRate(nodes: nodes, kind: .dispatch) == nicRate(nodes: nodes, kind: .combine) else {
            return (try run(plan, kind: .dispatch, hidden: hidden).timeS, try run(plan, kind: .combine, hidden: hidden).timeS)
        }
        let dispatchBytes = Double(TokenCopyBytes.dispatch(hidden: hidden, format: dispatchFormat))
        let factor = Double(TokenCopyBytes.combine(hidden: hidden)) / dispatchBytes
        var total = (dispatch: 0.0, combine: 0.0)
        for phase in plan.portCopyPhases(dispatcher) {
            let (net, flows) = try network(phase, ep: plan.placement.ep, nodes: nodes, kind: .dispatch, copyBytes: dispatchBytes)
            var dispatch = 0.0, combine = 0.0
            for (f, end) in net.run(flows).enumerated() {
                let latency = net.latency(of: flows[f].links)
                dispatch = max(dispatch, end)
                combine = max(combine, latency + factor * (end - latency))
            }
            total.dispatch += dispatch
            total.combine += combine
        }
        return total
    }

    /// What the dispatcher's own kernels set: the share of the achievable NVLink rate its copies
    /// reach, and the SMs from which its rates hold (nil: NCCL's channels are its own, the
    /// communication SMs do not scale it).
    var kernelRates: (nvlinkShare: Double, saturationSMs: Int?) {
        switch dispatcher {
        case .deepep: (deepepNVLinkFraction, saturationSMs)
        case .hybridep: (hybridepNVLinkFraction, Self.hybridepSaturationSMs)
        case .alltoall: (1, nil)
        }
    }
    /// Per-direction NVLink rate (bytes/s) with the communication SMs given.
    var nvRate: Double { node.device.scaleUpAchievableBandwidth * smScale * kernelRates.nvlinkShare }
    /// Per-direction NIC rate (bytes/s) of one kind of all-to-all over `nodes` nodes, with the
    /// communication SMs given and, for DeepEP, its kernels' release.
    func nicRate(nodes: Int, kind: Kind) -> Double {
        node.nicAchievableBandwidthPerGPU * smScale * (dispatcher == .deepep ? deepepKernels.rdmaShare(nodes: nodes, kind: kind) : 1)
    }
    /// The rates' share at the communication SMs given: in proportion below the saturation.
    var smScale: Double { kernelRates.saturationSMs.map { min(1, Double(communicationSMs) / Double($0)) } ?? 1 }

    /// The fluid network of the group's `ep` ports (on `nodes` nodes) and the flows of one phase
    /// of an all-to-all.
    func network(_ copies: (nic: [[Int]], nvlink: [[Int]]), ep: Int, nodes: Int, kind: Kind, copyBytes: Double) throws -> (FluidNetwork, [FluidNetwork.Flow]) {
        guard communicationSMs > 0 else {
            throw KernelError("communication SMs", "DeepEP needs SMs to move data, got \(communicationSMs)", fix: "reserve some SMs, V3 used 20")
        }
        var net = FluidNetwork()
        let nvOut = (0..<ep).map { net.addLink("gpu\($0).nvlink.out", capacity: nvRate, latency: hopLatency.scaleUp) }
        let nvIn = (0..<ep).map { net.addLink("gpu\($0).nvlink.in", capacity: nvRate) }
        let nicRate = nicRate(nodes: nodes, kind: kind)
        let nicOut = (0..<ep).map { net.addLink("gpu\($0).nic.out", capacity: nicRate, latency: hopLatency.crossLeaf) }
        let nicIn = (0..<ep).map { net.addLink("gpu\($0).nic.in", capacity: nicRate) }
        let (nic, nvlink) = copies
        var flows: [FluidNetwork.Flow] = []
        // Combine retraces dispatch in reverse: swap each flow's direction.
        let reverse = kind == .combine
        for a in 0..<ep {
            for b in 0..<ep {
                if nic[a][b] > 0 {
                    flows.append(.init(links: reverse ? [nicOut[b], nicIn[a]] : [nicOut[a], nicIn[b]], bytes: Double(nic[a][b]) * copyBytes, start: 0))
                }
                if nvlink[a][b] > 0 {
                    flows.append(.init(links: reverse ? [nvOut[b], nvIn[a]] : [nvOut[a], nvIn[b]], bytes: Double(nvlink[a][b]) * copyBytes, start: 0))
                }
            }
        }
        return (net, flows)
    }
}
