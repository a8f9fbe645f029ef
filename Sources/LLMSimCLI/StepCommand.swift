import ArgumentParser
import CostModel
import Foundation
import Hardware
import Model
import Schedules
import Training

/// `llmsim step EXPERIMENT.yaml`: one simulated training step.
struct StepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "step", abstract: "Simulate one training step of an experiment (representative pipeline).")

    @Argument(help: "Experiment file, e.g. Experiments/deepseek-v3.yaml.") var experiment: String
    @Option(help: "Write an SVG timeline of the pipeline to this file.") var svg: String?
    @Option(help: "Write a Chrome trace-event JSON (Perfetto) of the step to this file: a process per rank, a thread per stream (compute, communication).") var trace: String?
    @Option(help: "representative (one pipeline; default: the experiment's) or whole-cluster (every stage of every EP group routed).") var fidelity: String?
    @Flag(help: "Also print where each rank's step time goes: compute by block, exposed communication, host waits, bubble, optimizer parts, waits (rank 0 and min / mean / max over the pipeline's ranks).") var breakdown = false
    @Flag(help: "Also re-run the step with each kernel-calibration and fabric figure moved by ± --perturbation, and print how much each moves the step time, largest first.") var sensitivity = false
    @Option(help: "With --sensitivity: how far each figure moves, per cent (default 10).") var perturbation: Double = 10
    @Flag(help: "Print JSON with stable keys.") var json = false

    func run() throws { try Output.reportingErrors { print(try output()) } }

    func output() throws -> String {
        var config = try ResourceLocator.experiment(experiment)
        if let fidelity {
            guard let f = StepFidelity(rawValue: fidelity) else { throw ValidationError("--fidelity must be representative or whole-cluster, not '\(fidelity)'") }
            config.fidelity = f
        }
        let simulation = try StepSimulation(config: config, calibration: try KernelCalibration.hopper())
        let plan = try simulation.plan()
        var whole: WholeClusterStep.Result?
        if config.fidelity == .wholeCluster { whole = try WholeClusterStep(simulation: simulation).run(plan: plan) }
        var r: StepResult, groupSteps: [Double]
        if let whole { (r, groupSteps) = (whole.step, whole.groupStepS) }
        else { (r, groupSteps) = try simulation.runGroups(microbatches: config.microbatches, groupPlans: [plan]) }
        try StepTimeline.write(r, plan: plan, title: StepTimeline.title("\(config.model.name) step", r, passes: config.pipelinePasses), svg: svg, trace: trace)
        r.segments = []
        r.optimizerSegments = []
        let sensitivity = sensitivity ? try StepSensitivity.run(config: config, calibration: try KernelCalibration.hopper(), perturbation: perturbation / 100,
                                                                routingCache: simulation.routingCache) : nil
        if json { return try Output.json(Report(step: r, memory: plan.memory, sensitivity: sensitivity)) }
        let fidelityNote = whole.map { w in
            "\nwhole cluster: \(w.groups) EP group(s) per stage, \(w.routings) routings; group steps " + w.groupStepS.map { Output.fixed($0, 3) + " s" }.joined(separator: ", ")
        } ?? ""
        // The whole-cluster line already lists every group's step.
        var variation: [String] = []
        if let v = simulation.speeds {
            variation.append("GPU speed spread " + Output.fixed(v.spread * 100, 2) + " %: each rank's compute paced by its synchronisation group's slowest GPU")
        }
        if config.instructionJitter > 0 {
            variation.append("instruction jitter " + Output.fixed(config.instructionJitter * 100, 2) + " %: each instruction's duration times a lognormal factor of mean 1 (seed \(config.seed))")
        }
        if let draws = r.moeLayerDrawsS, let low = draws.min(), let high = draws.max() {
            let ms = { (x: Double) in Output.fixed(x * 1e3, 2) }
            variation.append("micro-batch routing: \(draws.count) draws" + (config.sequenceConcentration.map { " with sequence concentration β = \(Output.general($0))" } ?? " of independent tokens")
                + ", MoE layer \(config.overlapsForwardAndBackward ? "F&B pair" : "forward + backward") on each draw's busiest GPU min / mean / max "
                + [low, draws.reduce(0, +) / Double(draws.count), high].map(ms).joined(separator: " / ") + " ms (seed \(config.seed))")
        }
        let sorted = groupSteps.sorted()
        let speedNote = variation.isEmpty ? "" : "\n" + variation.joined(separator: "; ")
            + (whole != nil ? "" : "; \(sorted.count) group(s) of pipelines (DP / EP), group steps min / median / max "
                + [sorted.first ?? 0, sorted[sorted.count / 2], sorted.last ?? 0].map { Output.fixed($0, 3) }.joined(separator: " / ") + " s")
        typealias P = PublishedDeepSeekV3
        func s(_ x: Double) -> String { Output.fixed(x, 3) + " s" }
        // A phase over the pipeline's ranks, min – max ("" on one rank).
        func spread(_ key: KeyPath<RankPhases, Double>) -> String {
            let values = r.phasesPerRank.map { $0[keyPath: key] }
            guard values.count > 1, let low = values.min(), let high = values.max() else { return "" }
            return Output.fixed(low, 3) + " – " + Output.fixed(high, 3) + " s"
        }
        let phaseRows: [[String]] = [
            ["", "simulated (rank 0)", r.phasesPerRank.count > 1 ? "ranks min – max" : "", "published\(P.deviceQualifier(config)) (ISCA 2025 Table 4)"],
            ["step time", s(r.stepTimeS), "", s(P.stepSeconds)],
            ["1F (forward only)", s(r.forwardOnlyS), spread(\.forwardOnlyS), s(P.forwardOnlySeconds)],
            ["1F1B (overlapped)", s(r.steadyS), spread(\.steadyS), s(P.steadySeconds)],
            ["1B (input backward)", s(r.backwardInputS), spread(\.backwardInputS), s(P.backwardInputSeconds)],
            ["1W (weight backward)", s(r.backwardWeightS), spread(\.backwardWeightS), s(P.backwardWeightSeconds)],
            ["bubble", s(r.bubbleS), spread(\.bubbleS), s(P.bubbleSeconds)],
            ["optimizer", s(r.optimizerS), "", s(P.optimizerSeconds)],
        ]
        let otherRows: [[String]] = [
            ["GPU waiting for host launches (rank 0)", s(r.hostWaitS), ""],
        ] + (r.timeBreakdownPerRank.first.map { b in [
            ["compute / exposed communication (rank 0)", Output.fixed(b.computeS, 3) + " / " + Output.fixed(b.exposedCommunicationS, 3) + " s", ""],
        ] } ?? []) + [
            ["optimizer step per rank, min / median / max",
             [r.optimizerPerRankS.min() ?? 0, r.optimizerMedianRankS, r.optimizerPerRankS.max() ?? 0].map { Output.fixed($0, 3) }.joined(separator: " / ") + " s", ""],
            ["tokens per day", Output.fixed(r.tokensPerDay / 1e9, 2) + " B", Output.fixed(P.tokensPerDay / 1e9, 2) + " B"],
            ["TFLOPS per GPU, causal / non-causal", Output.fixed(r.tflopsPerGpuCausal, 0) + " / " + Output.fixed(r.tflopsPerGpuNoncausal, 0),
             Output.fixed(P.tflopsCausal, 0) + " / " + Output.fixed(P.tflopsNoncausal, 0)],
            ["MFU (BF16 peak), causal", Output.fixed(r.mfuCausal * 100, 2) + " %", Output.fixed(P.mfuCausal * 100, 2) + " %"],
            ["layers per stage", plan.layersDescription, ""],
        ] + (config.pipelinePasses == 1 ? [] : [
            ["pipeline passes per step", "\(config.pipelinePasses) × \(config.microbatches) micro-batches, each filling and draining the pipeline", ""],
        ]) + [
            ["memory per GPU, peak (rank \(plan.memory.peakRank))",
             Output.fixed(plan.memory.peakBytesPerGpu / 1e9, 2) + " GB of " + Output.fixed(plan.memory.capacityBytes / 1e9, 1) + (plan.memory.fits ? " GB" : " GB: does NOT fit"), ""],
        ] + (config.activationOffload.map { offload in
            let copy = config.topology.node.device.hostCopy
            return [["activations offloaded to host (\(offload.handler.rawValue))",
                     "\(offload.layers) of \(config.model.layers) layers, " + Output.fixed((plan.memory.offloadedHostBytes ?? 0) / 1e9, 1) + " GB per GPU at "
                        + Output.fixed(copy.toHost / 1e9, 0) + " / " + Output.fixed(copy.toDevice / 1e9, 0) + " GB/s out / back", ""]]
        } ?? []) + (config.pp == 1 ? [] : [
            ["pipeline send between stages", Output.fixed(plan.transferS * 1e3, 2) + " ms, " + config.effectivePipelineSends.rawValue, ""],
        ]) + (config.model.moe == nil ? [] : [
            ["all-to-all dispatch / combine" + Self.dispatcherLabel(config)
                + (config.etp > 1 ? (config.moeDispatcher.deduplicatesPerGPU ? ", TP × EP group of \(config.expertGroupSize)" : ", + expert-TP all-gather") : "")
                + (config.routingGate == .router ? "" : ", " + config.routingGate.label),
             Output.fixed(r.dispatchS * 1e3, 2) + " / " + Output.fixed(r.combineS * 1e3, 2) + " ms", ""],
        ])
        // The other rows have no spread over ranks; the published column belongs to the
        // DeepSeek-V3 reproduction only, the spread to pipelines of several ranks.
        let rows = phaseRows + otherRows.map { [$0[0], $0[1], "", $0[2]] }
        let published = PublishedDeepSeekV3.describes(config), spreads = r.phasesPerRank.count > 1
        let columns = [true, true, spreads, published]
        return Output.table(rows.map { row in row.indices.filter { columns[$0] }.map { row[$0] } }, rightAlignedFrom: 1) + fidelityNote + speedNote + Self.memoryWarning(plan.memory)
            + (breakdown ? "\n\n" + Self.breakdownTable(r) : "") + (sensitivity.map { "\n\n" + StepSensitivityTable.render($0) } ?? "")
    }

    /// `--breakdown`: each part of the step time on rank 0, with its share, and its min / mean
    /// / max over the ranks of the pipeline; parts zero on every rank are left out.
    static func breakdownTable(_ r: StepResult) -> String {
        let ranks = r.timeBreakdownPerRank
        guard let first = ranks.first else { return "" }
        func s(_ x: Double) -> String { Output.fixed(x, 3) }
        // A row: rank 0's seconds and share, and the spread over the ranks (nil: zero on every rank).
        func row(_ label: String, _ key: KeyPath<StepTimeBreakdown, Double>) -> [String]? {
            let values = ranks.map { $0[keyPath: key] }
            guard values.contains(where: { $0 != 0 }) else { return nil }
            let mean = values.reduce(0, +) / Double(values.count)
            return [label, s(first[keyPath: key]) + " s", Output.fixed(100 * first[keyPath: key] / r.stepTimeS, 1) + " %",
                    [values.min()!, mean, values.max()!].map(s).joined(separator: " / ") + " s"]
        }
        let rows: [[String]] = [["where the step time goes", "rank 0", "share", "ranks min / mean / max"]]
            + StepTimeBreakdown.parts.compactMap { row($0.label, $0.key) }
            + [["total: the step time", s(first.total) + " s", "100.0 %", ""]]
            + [row("of the compute, recomputation", \.recomputationS),
               row("of FSDP's, compute slowed beside its collectives", \.collectiveContentionS),
               row("of FSDP's, copies around its collectives (FSDP2)", \.fullyShardedCopiesS),
               row("of TP's, GEMMs slowed beside its collectives' kernels", \.tensorParallelContentionS)].compactMap { $0 }
        return Output.table(rows, rightAlignedFrom: 1)
    }

    /// The JSON of `llmsim step --json`: the step and the memory of its plan.
    struct Report: Encodable {
        var step: StepResult
        var memory: TrainingMemory
        /// With `--sensitivity`.
        var sensitivity: StepSensitivity?
    }

    /// A plan that does not fit is still timed (what-if), but said loudly, with what to change.
    static func memoryWarning(_ m: TrainingMemory) -> String {
        guard !m.fits else { return "" }
        return "\nwarning: the plan does NOT fit in memory: " + Output.fixed(m.peakBytesPerGpu / 1e9, 1) + " GB on rank \(m.peakRank) > "
            + Output.fixed(m.capacityBytes / 1e9, 1) + " GB usable (largest term: \(m.largestTerm)), even with layers moved off the load balance"
            + " — use a deeper pipeline (parallel.pp), more GPUs per EP group (parallel.ep), recomputation (recompute) or FP8;"
            + " `llmsim memory` lists the terms"
    }

    /// The dispatcher, as the step's all-to-all row names it (DeepEP unnamed, the default), and
    /// the NVLink domain it spans where that is more than a node.
    static func dispatcherLabel(_ c: StepConfiguration) -> String {
        let domain = c.allToAllNodeGPUs > c.topology.node.gpus ? ", \(c.allToAllNodeGPUs)-GPU NVLink domain" : ""
        switch c.moeDispatcher {
        case .deepep: return ""
        case .alltoall: return " (alltoall, NCCL\(domain))"
        case .hybridep: return " (Hybrid-EP\(domain))"
        }
    }
}
