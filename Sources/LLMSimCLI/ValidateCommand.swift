import ArgumentParser
import CostModel
import Experiments
import Fabric
import Foundation
import Hardware
import Kernels
import Model
import Schedules
import Training

/// `llmsim validate`: runs every published check llmsim knows and prints the evidence.
struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate", abstract: "Run every published check and print case, source, published, simulated, error, tolerance, pass/fail.")

    @Flag(help: "Print JSON with stable keys.") var json = false

    struct Case: Encodable {
        var name: String
        var source: String
        var published: Double
        var simulated: Double
        var unit: String
        /// Relative error (simulated / published − 1).
        var error: Double
        var tolerance: Double
        /// The published figure is a ceiling (only exceeding it fails).
        var atMost: Bool
        /// The published figure is a floor (only falling short of it fails).
        var atLeast: Bool
        var pass: Bool
    }

    func run() throws {
        var failed = false
        try Output.reportingErrors {
            let cases = try Self.cases()
            failed = cases.contains { !$0.pass }
            if json {
                print(try Output.json(["cases": cases]))
            } else {
                var rows = [["case", "source", "published", "simulated", "error", "tolerance", ""]]
                for c in cases {
                    rows.append([c.name, c.source, Self.show(c.published, c.unit), Self.show(c.simulated, c.unit),
                                 String(format: "%+.1f%%", c.error * 100), (c.atMost ? "≤ published" : c.atLeast ? "≥ published" : c.tolerance == 0 ? "exact" : String(format: "±%g%%", c.tolerance * 100)), c.pass ? "pass" : "FAIL"])
                }
                print(Output.table(rows, rightAlignedFrom: 2))
                print("\(cases.filter(\.pass).count) passed, \(cases.filter { !$0.pass }.count) failed")
            }
        }
        if failed { throw ExitCode(1) }
    }

    static func show(_ x: Double, _ unit: String) -> String {
        let v = abs(x) >= 1000 ? Output.grouped(Int(x.rounded()))
            : x == x.rounded() ? String(Int(x)) : (abs(x) >= 100 ? Output.fixed(x, 1) : Output.fixed(x, 3))
        return unit.isEmpty ? v : "\(v) \(unit)"
    }

    /// `atMost`: the published figure is a ceiling (a capacity), so only exceeding it fails;
    /// `atLeast`: a floor, so only falling short of it fails.
    static func check(_ name: String, _ source: String, published: Double, simulated: Double, unit: String, tolerance: Double,
                      atMost: Bool = false, atLeast: Bool = false) -> Case {
        let error = simulated / published - 1
        let pass = atMost ? error <= tolerance + 1e-12 : atLeast ? error >= -tolerance - 1e-12 : abs(error) <= tolerance + 1e-12
        return Case(name: name, source: source, published: published, simulated: simulated, unit: unit, error: error,
                    tolerance: tolerance, atMost: atMost, atLeast: atLeast, pass: pass)
    }

    static func cases() throws -> [Case] {
        typealias P = PublishedDeepSeekV3
        var out: [Case] = []
        let models = try ResourceLocator.models()
        let hardware = try HardwareCatalog.builtIn()
        let v3 = try models.resolve("deepseek-v3").0
        let p = v3.parameters, f = v3.trainingFLOPs(sequenceLength: 4096)
        out.append(check("V3 total parameters", "V3 config count (reference §1.1)", published: 671.03e9, simulated: Double(p.total), unit: "", tolerance: 0.002))
        out.append(check("V3 activated parameters", "V3 config count (reference §1.1)", published: 37.55e9, simulated: Double(p.activated), unit: "", tolerance: 0.002))
        out.append(check("V3 training FLOPs per token", "ISCA 2025 Table 2", published: 250e9, simulated: f.causal, unit: "FLOP", tolerance: 0.03))
        for (name, bytes) in [("deepseek-v3", 70_272.0), ("qwen2.5-72b", 327_680), ("llama-3.1-405b", 516_096)] {
            out.append(check("KV cache \(name)", "ISCA 2025 Table 1", published: bytes, simulated: Double(try models.resolve(name).0.kvCacheBytesPerToken), unit: "B", tolerance: 0))
        }
        let topologies = try ResourceLocator.directory("Topologies")
        for (file, switches) in [("fat-tree-2layer-2048.yaml", 96.0), ("multi-plane-16384.yaml", 768), ("fat-tree-3layer-65536.yaml", 5120)] {
            let t = try Topology.load(path: (topologies as NSString).appendingPathComponent(file), catalog: hardware)
            out.append(check("switches, \(t.name)", "ISCA 2025 Table 3", published: switches, simulated: Double(t.counts.switches), unit: "", tolerance: 0))
        }
        let units = OpDurations(forward: 1, backward: 2, weight: 1, forwardBackward: 2.5)
        for (kind, bubble) in [(ScheduleKind.dualpipe, 4.5), (.oneFOneB, 21), (.zb1p, 7)] {
            let r = try ScheduleSimulator().run(try ScheduleGenerator.make(kind, pp: 8, microbatches: 20), durations: units)
            out.append(check("\(kind.rawValue) bubble, PP8 N20", "V3 Table 2 / DualPipe README", published: bubble, simulated: r.maxBubble, unit: "units", tolerance: 0))
        }
        let node = try hardware.node("HGX-H800-8GPU")
        // DeepEP V1's README table (H800, 4,096 tokens, top-8, FP8 dispatch, BF16 combine), on
        // the routing its benchmarks draw (`GateKind.deepepBenchmark`), with the SMs they run (`MoEAllToAll.benchmarkSMs`). EP8's dispatch figure
        // sets DeepEP's NVLink rate (`MoEAllToAll.deepepNVLinkFraction`): a calibration, shown
        // so that it stays true; the other seven rows check it. The first release's internode
        // rows (2025-02-24) set its RDMA share against the current table
        // (`DeepEPKernels.rdmaShare`), so they check only that the share is applied.
        // Each EP is routed once and timed on every release whose table differs there.
        for ep in DeepEPKernels.current.publishedRates.map(\.ep) {
            var routing = RoutingExperiment(router: v3.routerConfig!, hidden: v3.hiddenSize, tokensPerGPU: 4096, ep: ep, gpusPerNode: DeepEPKernels.tableGPUsPerNode)
            routing.gate = .deepepBenchmark
            let plan = try routing.run().plan
            let kinds = MoEAllToAll.Kind.allCases
            for release in DeepEPKernels.allCases.reversed() {
                let isCurrent = release == .current
                guard isCurrent || kinds.contains(where: { release.publishedRate(ep: ep, kind: $0) != DeepEPKernels.current.publishedRate(ep: ep, kind: $0) }) else { continue }
                let a2a = MoEAllToAll(node: node, communicationSMs: MoEAllToAll.benchmarkSMs, hopLatency: Topology.defaultLatency, deepepKernels: release)
                for kind in kinds {
                    let r = try a2a.run(plan, kind: kind, hidden: v3.hiddenSize)
                    let name = "DeepEP \(kind.rawValue) EP\(ep)" + (isCurrent ? "" : ", \(release.rawValue) release")
                        + (ep == 8 && kind == .dispatch ? " (calibrates NVLink)" : "")
                    out.append(check(name, "DeepEP V1 README (H800)" + (isCurrent ? "" : ", \(release.tableDate)"), published: release.publishedRate(ep: ep, kind: kind)!,
                                     simulated: r.logicalBandwidthGbps, unit: "GB/s", tolerance: 0.10))
                }
            }
        }
        // DeepEP V2 (README, SM90 with CX7 NICs, 8,192 tokens, logical bandwidth with local-rank
        // traffic): EP 8 × 4 at 61 GB/s both ways. NIC-bound, so the GPU model does not matter;
        // V2 reaches its rates with fewer SMs than V1, so it runs here at V1's saturation. V2's
        // README does not say how its benchmark routes; V3's router is used (V1's benchmark
        // routing, `--gate deepep-benchmark`, gives 61.1 against 60.8 GB/s: NIC-bound either way).
        let v2 = try RoutingExperiment(router: v3.routerConfig!, hidden: v3.hiddenSize, tokensPerGPU: 8192, ep: 32, gpusPerNode: 8).run().plan
        for kind in MoEAllToAll.Kind.allCases {
            let r = try MoEAllToAll(node: node, communicationSMs: MoEAllToAll.benchmarkSMs, hopLatency: Topology.defaultLatency).run(v2, kind: kind, hidden: v3.hiddenSize)
            out.append(check("DeepEP V2 \(kind.rawValue) EP32, 8,192 tokens", "DeepEP V2 README (SM90, CX7)", published: 61, simulated: r.logicalBandwidthGbps, unit: "GB/s", tolerance: 0.10))
        }
        out += try hybridEPCases(hardware: hardware)
        out += try nvlinkCollectiveCases(hardware: hardware)
        out += try kernelCases(hardware: hardware)
        let fp8 = try FP8GEMMExperiment(m: 256, n: 128, k: 4096, accumulation: .limited).run()
        out.append(check("FP8 limited accumulation, K=4096, max error", "V3 report §3.3.2", published: 0.02, simulated: fp8.maxRelativeError, unit: "", tolerance: 0.5))
        let r1 = InferenceMemory.compute(v3, fp8: true, batch: 1, context: 4096)
        out.append(check("R1 FP8 serving weights", "reference §4 (685B checkpoint, FP8)", published: 685e9, simulated: r1.weightBytes, unit: "B", tolerance: 0.01))
        out.append(check("R1 FP8 serving fits 8 × H200", "AWS blog, 30 Jan 2025", published: 8 * (try hardware.device("H200-SXM-141GB")).hbmBytes,
                         simulated: InferenceMemory.compute(v3, fp8: true, batch: 32, context: 32_768).totalBytes, unit: "B", tolerance: 0, atMost: true))
        let experiment = try ResourceLocator.shippedExperiment("deepseek-v3.yaml")
        let config = try StepExperiment.load(path: experiment, models: models, hardware: hardware)
        let (phases, economics) = try RunExperiment.load(path: experiment)
        // One evaluation (step, memory, run) with one routing cache, as `llmsim run` does.
        let routing = RoutingCache()
        let evaluation = try Evaluation.evaluate(config: config, phases: phases, economics: economics, calibration: try KernelCalibration.hopper(),
                                                 routingCache: routing)
        let step = evaluation.step, memory = evaluation.memory, priced = evaluation.run!.phases
        // A dense Megatron run on A100s: tensor parallelism, full recomputation, no FP8.
        let megatronPath = try ResourceLocator.shippedExperiment("megatron-1t-a100.yaml")
        var megatron = try StepExperiment.load(path: megatronPath, models: models, hardware: hardware)
        for kind in [ScheduleKind.oneFOneB, .interleaved] {
            megatron.schedule = kind
            let m = try StepSimulation(config: megatron, calibration: try KernelCalibration.hopper()).run()
            out.append(check("Megatron 1T step, 3,072 A100, TP8 PP64 \(kind.rawValue)", "Narayanan et al. SC'21 (502 PFLOP/s)", published: PublishedMegatron1T.stepSeconds,
                             simulated: m.stepTimeS, unit: "s", tolerance: 0.10))
        }
        /// A shipped sweep's step configurations, each checked to be the published plan it
        /// stands for (`isPublished(point, configuration)`).
        func publishedSweep(_ name: String, points count: Int, _ isPublished: (Int, StepConfiguration) -> Bool) throws -> [StepConfiguration] {
            let points = try ExperimentFile.load(path: try ResourceLocator.shippedExperiment(name)).points(hardware: hardware)
            guard points.count == count else { throw ValidationError("\(name) has \(points.count) points, not the published \(count)") }
            return try points.map { point in
                guard let document = point.document else { throw ValidationError("\(name) point \(point.index) is infeasible: \(point.infeasible?.problem ?? "")") }
                let c = try StepExperiment.parse(document, models: models, hardware: hardware)
                guard isPublished(point.index, c) else { throw ValidationError("\(name) point \(point.index) is not the published plan") }
                return c
            }
        }
        // Megatron-LM's weak-scaling series (SC'21 Table 1) as the shipped sweep; the 1T row is above.
        let rows = PublishedMegatronScaling.rows
        let scaling = try publishedSweep("megatron-weak-scaling.yaml", points: rows.count) { PublishedMegatronScaling.matches(rows[$0], $1) }
        for (c, row) in zip(scaling, rows) where row != PublishedMegatron1T.row {
            let m = try StepSimulation(config: c, calibration: try KernelCalibration.hopper()).run()
            out.append(check("Megatron \(ResultRow.format(row.billions))B step, \(row.gpus) A100, TP\(row.tp) PP\(row.pp)", "Narayanan et al. SC'21 Table 1 (\(Int(row.tflopsPerGPU)) TFLOP/s)",
                             published: row.stepSeconds, simulated: m.stepTimeS, unit: "s", tolerance: 0.10))
        }
        // Sequence parallelism and selective recomputation (Korthikanti et al. 2022, Table 5) as
        // the shipped sweep: the four full-recomputation runs, then the four others.
        let runs = PublishedMegatronSelective.rows.map { ($0, true) } + PublishedMegatronSelective.rows.map { ($0, false) }
        let selective = try publishedSweep("megatron-selective-recompute.yaml", points: runs.count) { PublishedMegatronSelective.matches(runs[$0].0, full: runs[$0].1, $1) }
        for (c, (row, full)) in zip(selective, runs) {
            let m = try StepSimulation(config: c, calibration: try KernelCalibration.hopper()).run()
            out.append(check("Megatron \(ResultRow.format(row.billions))B, \(row.gpus) A100, \(full ? "full recompute" : "SP + selective")", "Korthikanti et al. 2022 Table 5",
                             published: full ? row.fullRecomputeSeconds : row.presentWorkSeconds, simulated: m.stepTimeS, unit: "s", tolerance: 0.10))
        }
        // One published run planned by its shipped experiment: the plan checked to be the
        // published one, then its simulated step against the published one.
        func publishedRun(_ experiment: String, isPublished: (StepConfiguration) -> Bool, name: String, source: String, published: Double) throws {
            let c = try StepExperiment.load(path: try ResourceLocator.shippedExperiment(experiment), models: models, hardware: hardware)
            guard isPublished(c) else { throw ValidationError("\(experiment) is not the published plan") }
            out.append(check(name, source, published: published,
                             simulated: try StepSimulation(config: c, calibration: try KernelCalibration.hopper()).run().stepTimeS, unit: "s", tolerance: 0.10))
        }
        // NVIDIA's published DGX H100, B200 and GB200 runs (Megatron-Bridge, NeMo AutoModel).
        for run in PublishedNeMoRun.all {
            try publishedRun(run.experiment, isPublished: run.matches, name: "\(run.model) step, \(Output.grouped(run.gpus)) \(run.gpu), \(run.precisionLabel), \(run.plan)",
                             source: "\(run.source) (\(Output.grouped(Int(run.tokensPerSecondPerGPU))) tokens/s/GPU)", published: run.stepSeconds)
        }
        // Megatron-LM MoE runs of NVIDIA's Megatron MoE Model Zoo.
        for run in PublishedModelZooRun.all {
            try publishedRun(run.experiment, isPublished: run.matches, name: run.name, source: "Megatron MoE Model Zoo (Qwen3 best practice)", published: run.stepSeconds)
        }
        out.append(check("V3 step time", "ISCA 2025 Table 4", published: P.stepSeconds, simulated: step.stepTimeS, unit: "s", tolerance: 0.10))
        for (name, published, simulated) in [("1F", P.forwardOnlySeconds, step.forwardOnlyS), ("1F1B", P.steadySeconds, step.steadyS), ("1B", P.backwardInputSeconds, step.backwardInputS),
                                             ("1W", P.backwardWeightSeconds, step.backwardWeightS), ("bubble", P.bubbleSeconds, step.bubbleS), ("optimizer", P.optimizerSeconds, step.optimizerS)] {
            out.append(check("V3 step phase \(name)", "ISCA 2025 Table 4", published: published, simulated: simulated, unit: "s", tolerance: 0.25))
        }
        out.append(check("V3 TFLOPS per GPU (causal)", "ISCA 2025 Table 4", published: P.tflopsCausal, simulated: step.tflopsPerGpuCausal, unit: "TFLOPS", tolerance: 0.10))
        // Validation case 11 as the trace was taken: perfectly balanced routing (the step itself
        // prices the busiest GPU of the routed group).
        if let layer = try StepSimulation(config: config, calibration: try KernelCalibration.hopper(), routingCache: routing).balancedMoELayer() {
            let chunk = 4 * layer.overlappedForwardBackward
            let forward = layer.attentionForward + layer.mlpForward
            let backward = layer.mlpBackwardInput + layer.mlpBackwardWeight + layer.attentionBackwardInput + layer.attentionBackwardWeight
            out.append(check("4-layer F&B chunk pair, balanced routing", "DeepSeek profile trace", published: P.chunkPairSeconds, simulated: chunk, unit: "s", tolerance: 0.15))
            out.append(check("4-layer F&B chunk pair, compute streams busy", "DeepSeek profile trace", published: 100 * P.chunkComputeBusy,
                             simulated: 100 * 4 * layer.compute / chunk, unit: "%", tolerance: 0, atLeast: true))
            out.append(check("MoE layer forward compute", "DeepSeek profile trace", published: P.layerForwardComputeSeconds, simulated: forward, unit: "s", tolerance: 0.20))
            out.append(check("MoE layer backward compute (input + weight)", "DeepSeek profile trace", published: P.layerBackwardComputeSeconds, simulated: backward, unit: "s", tolerance: 0.20))
        }
        out.append(check("V3 peak memory per GPU fits 80 GB H800 (79.1 GiB usable, no TP)", "V3 report §3.2.3", published: memory.capacityBytes, simulated: memory.peakBytesPerGpu,
                         unit: "B", tolerance: 0, atMost: true))
        let pre = priced[0], total = priced.reduce(0) { $0 + $1.gpuHours }
        out.append(check("V3 pre-training GPU-hours", "V3 report Table 1", published: P.preTrainingGPUHours, simulated: pre.gpuHours, unit: "GPU-h", tolerance: 0.10))
        out.append(check("V3 GPU-hours per trillion tokens", "V3 report §1", published: P.gpuHoursPerTrillionTokens, simulated: pre.gpuHours / (pre.tokens / 1e12), unit: "GPU-h", tolerance: 0.10))
        let context = priced.filter { $0.name.hasPrefix("context") }.reduce(0) { $0 + $1.gpuHours }
        out.append(check("V3 context-extension GPU-hours", "V3 report Table 1", published: P.contextExtensionGPUHours, simulated: context, unit: "GPU-h", tolerance: 0.25))
        out.append(check("V3 total GPU-hours", "V3 report Table 1", published: P.totalGPUHours, simulated: total, unit: "GPU-h", tolerance: 0.10))
        out.append(check("V3 total cost", "V3 report Table 1", published: P.costUSD, simulated: total * economics.pricePerGPUHour, unit: "USD", tolerance: 0.10))
        return out
    }
}
