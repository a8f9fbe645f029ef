import Foundation
import Testing
import Hardware
import Schedules
import CostModel
@testable import Model
@testable import Training

let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// The step of a shipped experiment (`Experiments/<file>`).
func shippedStep(_ file: String) throws -> StepConfiguration {
    let models = try ModelCatalog.load(directory: repoRoot.appendingPathComponent("Experiments/models").path)
    return try StepExperiment.load(path: repoRoot.appendingPathComponent("Experiments/" + file).path, models: models,
                                   hardware: try HardwareCatalog.builtIn())
}

func deepSeekStep() throws -> StepConfiguration { try shippedStep("deepseek-v3.yaml") }

/// A shipped experiment with `extra` lines added on top (a temporary file whose base is it).
func shippedStep(_ file: String, adding extra: String) throws -> StepConfiguration {
    let models = try ModelCatalog.load(directory: repoRoot.appendingPathComponent("Experiments/models").path)
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("step-\(UUID().uuidString).yaml").path
    try "base: \(repoRoot.appendingPathComponent("Experiments/" + file).path)\n\(extra)\n".write(toFile: path, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try StepExperiment.load(path: path, models: models, hardware: try HardwareCatalog.builtIn())
}

/// A published Megatron-Bridge run's shipped experiment, checked to be the published plan and
/// to fit, its stage plan, and its simulated step.
func publishedNeMoStep(_ run: PublishedNeMoRun) throws -> (config: StepConfiguration, plan: StepSimulation.StagePlan, step: StepResult) {
    let c = try shippedStep(run.experiment)
    #expect(run.matches(c))
    let sim = try StepSimulation(config: c, calibration: try KernelCalibration.hopper())
    let plan = try sim.plan()
    #expect(plan.memory.fits)
    return (c, plan, try sim.run(microbatches: c.microbatches, plan: plan))
}

/// Each run's simulated step over its published step, the runs' GPUs checked.
func publishedNeMoRatios(_ runs: [PublishedNeMoRun]) throws -> [Double] {
    try runs.map { run in
        let (c, _, step) = try publishedNeMoStep(run)
        #expect(c.topology.node.device.id == run.deviceID)
        return step.stepTimeS / run.stepSeconds
    }
}

@Suite(.serialized) struct DeepSeekStepTests {
    static let result: Result<StepResult, Error> = Result { try StepSimulation(config: try deepSeekStep(), calibration: try KernelCalibration.hopper()).run() }

    /// ISCA 2025 Table 4 (MPFT): 19.926 s per step. Issue tolerance: 10% for the step. Measured
    /// 2026-11-25: 18.63 s (−6.5%; 18.47 s on DeepEP's current kernels): the layer's kernels
    /// match DeepSeek's trace (the 4-layer chunk pair at 128.8 ms against 129), so the pipeline is
    /// the ideal DualPipe step (the reference, §3.1, puts it at 17.6–17.9 s for trace-like
    /// times) plus the embedding table's dense gradients on ranks 0 and 15 (0.45 s), 0.16 s of
    /// pipeline sends waited for as `dualpipe.py` batches them and 16 ms of waiting for the host
    /// to launch kernels (`HostIssue`); it misses ISCA's ≈ 1.2 s of
    /// further exposed time (see the issue-4 note). Table 4's 385 / 432 TFLOPS are its FLOPs
    /// per step over its step time: the FLOPs counted per step must agree (within 2%), whatever
    /// the step time.
    @Test("ISCA 2025 Table 4: DeepSeek-V3 step 19.926 s within 10%; FLOPs per step as counted by Table 4")
    func stepTime() throws {
        let r = try Self.result.get()
        #expect(abs(r.stepTimeS / 19.926 - 1) < 0.10)
        #expect(abs(r.tflopsPerGpuCausal * r.stepTimeS / (385 * 19.926) - 1) < 0.02)
        #expect(abs(r.tflopsPerGpuNoncausal * r.stepTimeS / (432 * 19.926) - 1) < 0.02)
        #expect(r.tokensPerStep == 15_360 * 4096)
    }

    /// Phases on rank 0 against ISCA Table 4 (1F 1.13, 1F1B 13.95, 1B 1.99, 1W 0.48 s): within
    /// 25%. Measured 2026-11-25: 1.113, 13.105, 2.054, 0.568 (+18%). The optimizer (0.29 s)
    /// misses (`optimizerPerRank`); the simulated bubble, 1.59 s (−23%), is what the schedule
    /// leaves with these stage times and the pipeline sends — at least DualPipe's closed form
    /// (PP/2 − 1)(F&B + B − 3W) of a middle stage, and below Table 4's, whose extra ≈ 0.47 s of
    /// idle the model does not produce (issue-4 note).
    @Test("ISCA 2025 Table 4 phases: 1F, 1F1B, 1B, 1W within 25%; the bubble between DualPipe's formula and Table 4")
    func phases() throws {
        let r = try Self.result.get()
        #expect(abs(r.forwardOnlyS / 1.13 - 1) < 0.25)
        #expect(abs(r.steadyS / 13.95 - 1) < 0.25)
        #expect(abs(r.backwardInputS / 1.99 - 1) < 0.25)
        #expect(abs(r.backwardWeightS / 0.48 - 1) < 0.25)
        let s = 1        // a middle stage: four MoE layers
        let formula = Double(16 / 2 - 1) * (r.stageForwardBackwardS[s] + r.stageBackwardS[s] - 3 * r.stageWeightS[s])
        #expect(r.bubbleS >= formula && r.bubbleS < 2.06, "bubble \(r.bubbleS) s, formula \(formula) s")
        // Phases and idle add up to the pipeline time on rank 0.
        #expect(abs(r.forwardOnlyS + r.steadyS + r.backwardInputS + r.backwardWeightS + r.bubbleS - r.pipelineS) < 1e-6)
    }

    /// Table 4 does not name its rank, so every rank's phases are kept: on each they add up to
    /// the pipeline time; rank 0 is the step's own; DualPipe mirrors ranks r and 15 − r. The
    /// middle ranks run the most overlapped pairs (103 against rank 0's 97: 13.12 against
    /// 12.93 s, measured 2026-11-24; rank 0's pairs hold the head and are longer) and the
    /// fewest weight-gradient chunks. Even there 1F1B stays under Table 4's 13.95 s, which at
    /// the middle ranks' 127 ms pair would take 110 pairs: the real pairs run longer than the
    /// traced one (issue-4 note).
    @Test func phasesOfEveryRank() throws {
        let r = try Self.result.get()
        #expect(r.phasesPerRank.count == 16)
        let p0 = r.phasesPerRank[0]
        // Rank 0's phases from its own instructions, and its idle time as what they leave of
        // the pipeline (the schedule counts the bubble on its own).
        var own: [String: Double] = [:]
        for s in r.segments where s.rank == 0 { own[s.label, default: 0] += s.end - s.start }
        #expect(abs(p0.forwardOnlyS - (own["F"] ?? 0)) < 1e-9 && abs(p0.steadyS - (own["F&B"] ?? 0)) < 1e-9)
        #expect(abs(p0.backwardInputS - (own["B"] ?? 0) - (own["Bi"] ?? 0)) < 1e-9 && abs(p0.backwardWeightS - (own["W"] ?? 0)) < 1e-9)
        #expect(abs(p0.bubbleS - (r.pipelineS - own.values.reduce(0, +))) < 1e-6)
        #expect(p0.steadyS == r.steadyS && p0.bubbleS == r.bubbleS)
        for (rank, p) in r.phasesPerRank.enumerated() {
            #expect(abs(p.forwardOnlyS + p.steadyS + p.backwardInputS + p.backwardWeightS + p.bubbleS - r.pipelineS) < 1e-6, "rank \(rank)")
            let mirror = r.phasesPerRank[15 - rank]
            #expect(abs(p.steadyS - mirror.steadyS) < 1e-9 && abs(p.backwardWeightS - mirror.backwardWeightS) < 1e-9, "rank \(rank)")
        }
        let middle = r.phasesPerRank[7]
        #expect(middle.steadyS > p0.steadyS + 0.1 && middle.steadyS < 13.95)
        #expect(middle.backwardWeightS < 0.6 * p0.backwardWeightS)
    }

    /// DeepSeek's trace: one overlapped F&B chunk pair of 4 MoE layers at EP64 spans 129.0 ms.
    @Test("DeepSeek trace: 4-layer F&B chunk pair ≈ 129 ms")
    func chunkPairAgainstTrace() throws {
        let r = try Self.result.get()
        let chunk = 4 * r.moeLayer.overlappedForwardBackward
        #expect(abs(chunk / 0.129 - 1) < 0.15, "chunk \(chunk) s")
        // Compute dominates: the all-to-alls are hidden (compute ≥ 90% of the chunk).
        #expect(4 * r.moeLayer.compute / chunk > 0.9)
    }

    /// `deepep_kernels`: V3's file runs DeepEP's first release, the trace's kernels (EP64 at
    /// 46/45 GB/s against today's 51/50: its transfers 51/46 and 50/45 as long); `2025-04` asks
    /// for today's; an unknown release names the choices; the NCCL dispatcher ignores it.
    @Test func deepepKernelsKey() throws {
        let asTrained = try StepSimulation(config: try deepSeekStep(), calibration: try KernelCalibration.hopper())
        let today = try StepSimulation(config: try shippedStep("deepseek-v3.yaml", adding: "deepep_kernels: 2025-04"), calibration: try KernelCalibration.hopper())
        #expect(asTrained.config.deepepKernels == .release2025_02 && today.config.deepepKernels == .release2025_04)
        let (old, new) = (try asTrained.allToAll(), try today.allToAll())
        #expect(abs(old.dispatch / new.dispatch - 51.0 / 46) < 0.01 && abs(old.combine / new.combine - 50.0 / 45) < 0.01, "\(old) \(new)")
        do { _ = try shippedStep("deepseek-v3.yaml", adding: "deepep_kernels: 2024-12"); Issue.record("accepted") }
        catch let e as ConfigError { #expect(e.description.contains("2025-02") && e.description.contains("2025-04")) }
        let nccl = { (release: String) in
            try StepSimulation(config: try shippedStep("deepseek-v3.yaml", adding: "moe_dispatcher: alltoall\ndeepep_kernels: \(release)"),
                               calibration: try KernelCalibration.hopper()).allToAll().dispatch
        }
        #expect(try nccl("2025-02") == nccl("2025-04"))
    }

    @Test func deterministic() throws {
        let again = try StepSimulation(config: try deepSeekStep(), calibration: try KernelCalibration.hopper()).run()
        #expect(again == (try Self.result.get()))
    }

    /// Each rank's ZeRO-1 step past its own pipeline work. A middle rank holds 1.86B non-expert
    /// parameters, reduce-scattered over their 256 replicas — DualPipe's two copies of each
    /// stage (ranks s and 15 − s) on 128 pipelines — the 8 GPUs of each of 32 nodes, so the ring
    /// passes 7 of 8 chunks over NVLink (160 GB/s) and 1 over a NIC (46 GB/s), NVLink-bound:
    /// 0.041 s in FP32, 0.020 s for the BF16 all-gather — and 1.41B expert parameters over 4
    /// replicas on four nodes (over the NIC: 0.092 + 0.046 s); the update of its 0.36B-parameter
    /// shard at 22 B each takes 4 ms. Rank 0 (and 15, its DualPipe twin) adds the embedding,
    /// the 3 dense layers, the head and MTP, and has fewer experts. Each adds under 1 ms for
    /// the gradient norm of V3's clipping. Measured 2026-11-24: rank 0 0.199 s, median
    /// 0.205 s (0.182 and 0.161 s before the two copies' gradients were summed; 0.609 and
    /// 0.342 s when every chunk crossed the NIC).
    @Test func optimizerPerRank() throws {
        let r = try Self.result.get()
        #expect(r.optimizerPerRankS.count == 16)
        #expect(r.optimizerPerRankS.allSatisfy { $0 > 0 })
        // Rank 0 ends its pipeline work last and reaches the clipping barrier last; after it
        // rank 1's larger update and all-gather (more experts) end the step 3 ms later.
        #expect(r.optimizerS >= r.optimizerPerRankS[0] && r.optimizerS - r.optimizerPerRankS[0] < 0.005, "\(r.optimizerS) \(r.optimizerPerRankS[0])")
        #expect(abs(r.optimizerMedianRankS / 0.204 - 1) < 0.05, "\(r.optimizerMedianRankS)")
    }

    /// Overlapping the ZeRO-1 reduce-scatter with the drain changes only what sticks out past the
    /// pipeline: the pipeline and its phases are the same; the optimizer phase shrinks, but not
    /// below the update and all-gather of rank 0 (whose stage-0 gradients are final only at its
    /// very end), and never below zero. Measured 2026-11-24 (layer buckets): 0.112 s against
    /// 0.182 s (0.134 s when a stage chunk's gradients went as one).
    @Test func gradientReduceOverlapsTheDrain() throws {
        var config = try deepSeekStep()
        config.overlapGradReduce = true
        let overlapped = try StepSimulation(config: config, calibration: try KernelCalibration.hopper()).run()
        let plain = try Self.result.get()
        #expect(overlapped.pipelineS == plain.pipelineS)
        #expect(overlapped.backwardWeightS == plain.backwardWeightS)
        #expect(overlapped.optimizerS < 0.8 * plain.optimizerS, "\(overlapped.optimizerS) vs \(plain.optimizerS)")
        #expect(overlapped.optimizerS > 0.2 * plain.optimizerS)
    }
}

@Suite struct StagePartitionTests {
    @Test func balancesWithExtras() {
        #expect(StagePartition.balance(weights: [1, 1, 1, 1, 1, 1], stages: 3, firstExtra: 0, lastExtra: 0) == [2, 2, 2])
        #expect(StagePartition.balance(weights: [1, 1, 1, 1, 1, 1], stages: 3, firstExtra: 0, lastExtra: 2) == [3, 2, 1])
        #expect(StagePartition.balance(weights: [1, 1, 1, 1], stages: 4, firstExtra: 5, lastExtra: 5) == [1, 1, 1, 1])
    }

    /// One stage whose loads, summed in a different order, round above the search's first
    /// bound (0.6 + 0.11 + 0.3 = 1.01 but 0.6 + 0.3 + 0.11 = 1.0100000000000002): it crashed
    /// until 2026-11-24.
    @Test func oneStageSurvivesRounding() {
        #expect(StagePartition.balance(weights: [0.1, 0.2, 0.3], stages: 1, firstExtra: 0.11, lastExtra: 0.3) == [3])
    }
}

@Suite struct StepExperimentErrorTests {
    func load(_ yaml: String) throws -> StepConfiguration {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("exp-\(UUID().uuidString).yaml").path
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let models = try ModelCatalog.load(directory: repoRoot.appendingPathComponent("Experiments/models").path)
        return try StepExperiment.load(path: path, models: models, hardware: try HardwareCatalog.builtIn())
    }
    let topology = repoRoot.appendingPathComponent("Topologies/deepseek-v3-mpft.yaml").path

    @Test func badPlansNameTheProblem() throws {
        let base = "model: deepseek-v3\ntopology: \(topology)\nschedule: dualpipe\nmicrobatches: 120\nmicrobatch_tokens: 4096\nprecision: fp8\n"
        #expect(throws: ConfigErrorLike.self) { _ = try load(base + "parallel: {pp: 15, ep: 64, tp: 1}") }      // odd PP / not dividing
        #expect(throws: ConfigErrorLike.self) { _ = try load(base + "parallel: {pp: 16, ep: 48, tp: 1}") }      // EP not dividing experts
        #expect(throws: ConfigErrorLike.self) { _ = try load(base + "parallel: {pp: 16, ep: 64, tp: 16}") }     // TP beyond the 8-GPU NVLink domain
        #expect(try load(base + "parallel: {pp: 16, ep: 64, tp: 2}").dp == 64)
        #expect(throws: ConfigErrorLike.self) { _ = try load(base + "parallel: {pp: 16, ep: 64}\nbatch: 3") }   // unknown key
        #expect(throws: ConfigErrorLike.self) { _ = try load(base.replacingOccurrences(of: "microbatches: 120", with: "microbatches: 20") + "parallel: {pp: 16, ep: 64}") }
        #expect(try load(base + "parallel: {pp: 16, ep: 64}").dp == 128)
    }

    /// Reports print ISCA's figures beside a step only for the published plan (a network or
    /// kernel what-if on it still compares); until 2026-11-24 any V3 plan on 2,048 GPUs with
    /// PP16 got the column, TP2 or 32 micro-batches included.
    @Test func publishedColumnOnlyForThePublishedPlan() throws {
        let base = "model: deepseek-v3\ntopology: \(topology)\nschedule: dualpipe\nmicrobatch_tokens: 4096\nprecision: fp8\n"
        #expect(PublishedDeepSeekV3.describes(try deepSeekStep()))
        #expect(PublishedDeepSeekV3.describes(try load(base + "microbatches: 120\nparallel: {pp: 16, ep: 64}\ncommunication_sms: 24")))
        #expect(!PublishedDeepSeekV3.describes(try load(base + "microbatches: 120\nparallel: {pp: 16, ep: 64, tp: 2}")))
        #expect(!PublishedDeepSeekV3.describes(try load(base + "microbatches: 32\nparallel: {pp: 16, ep: 64}")))
        #expect(!PublishedDeepSeekV3.describes(try load(base.replacingOccurrences(of: "fp8", with: "bf16") + "microbatches: 120\nparallel: {pp: 16, ep: 64}")))
        #expect(!PublishedDeepSeekV3.describes(try load(base.replacingOccurrences(of: "dualpipe", with: "zb1p") + "microbatches: 120\nparallel: {pp: 16, ep: 64}")))
        // Another GPU on the published plan still compares, the column naming the H800.
        let b200 = try load(base + "microbatches: 120\nparallel: {pp: 16, ep: 64}\nhardware: {device: B200-SXM-180GB}")
        #expect(PublishedDeepSeekV3.describes(b200) && PublishedDeepSeekV3.deviceQualifier(b200) == " on H800")
        #expect(PublishedDeepSeekV3.deviceQualifier(try deepSeekStep()) == "")
    }

    /// DualPipeV on one stage has no rank to fold onto (PP/2 = 0): the plan's GPUs per pipeline
    /// divided by zero until 2026-11-24; the schedule's rules are now checked first.
    @Test func scheduleRulesComeBeforeTheGPUArithmetic() throws {
        let base = "model: llama-3.1-8b\ntopology: \(topology)\nmicrobatches: 8\nmicrobatch_tokens: 4096\nprecision: bf16\n"
        do {
            _ = try load(base + "schedule: dualpipev\nparallel: {pp: 1, ep: 1, tp: 1}")
            Issue.record("a one-stage DualPipeV plan loaded")
        } catch let error as ConfigError {
            #expect("\(error)".contains("even number of pipeline stages"), "\(error)")
        }
        #expect(throws: ConfigErrorLike.self) { _ = try load(base + "schedule: interleaved\nparallel: {pp: 3, ep: 1, tp: 1}") }
        #expect(try load(base + "schedule: dualpipev\nparallel: {pp: 2, ep: 1, tp: 1}").devicesPerPipeline == 1)
    }
}

import ConfigIO
typealias ConfigErrorLike = ConfigError

/// Issue 4: "Two fidelity levels: the whole cluster and a representative pipeline; a test keeps
/// them within 3% on the DeepSeek-V3 step." Measured 2026-11-23: 20.313 s whole-cluster
/// (32 routings: 16 stages × 2 EP groups) against 20.309 s representative; after the rank-balanced
/// partition 18.887 s against 18.895 s; with the per-rank optimizer 19.126 s against 19.134 s.
@Suite struct FidelityTests {
    @Test("whole-cluster and representative DeepSeek-V3 steps agree within 3%")
    func wholeClusterAgrees() throws {
        let simulation = try StepSimulation(config: try deepSeekStep(), calibration: try KernelCalibration.hopper())
        let representative = try simulation.run()
        let whole = try WholeClusterStep(simulation: simulation).run()
        #expect(whole.groups == 2 && whole.routings == 32)
        #expect(abs(whole.step.stepTimeS / representative.stepTimeS - 1) < 0.03)
        // The slowest group sets the step; groups differ because they route different tokens.
        #expect(whole.step.stepTimeS == whole.groupStepS.max())
        #expect(Set(whole.groupStepS).count == 2)
        #expect(WholeClusterStep.seed(1, stage: 0, group: 0) != WholeClusterStep.seed(1, stage: 0, group: 1))
    }
}

/// Issue 4: the Chrome trace has one process per rank and a thread per stream; an overlapped
/// F&B instruction is laid out in DeepSeek's four slots per layer.
@Suite struct StepTraceTests {
    @Test func streamsAndSlots() throws {
        var t = LayerTimes()
        t.attentionForward = 1; t.mlpForward = 2; t.dispatchForward = 0.5; t.combineForward = 0.5
        t.mlpBackwardInput = 2; t.mlpBackwardWeight = 1; t.attentionBackwardInput = 1; t.attentionBackwardWeight = 1
        t.combineBackward = 0.5; t.dispatchBackward = 0.5
        // Slots per layer: max(1, .5) + max(2, .5) + max(1 + 2, .5) + max(1 + 1, .5) = 8.
        let segment = ScheduleSegment(rank: 3, start: 10, end: 26, label: "F&B", microbatch: 7, stages: [0, 1])
        let json = StepTrace.render(segments: [segment], stageTimes: [t, t], stageLayers: [2, 2], name: "test")
        let parsed = try JSONSerialization.jsonObject(with: Data(json.utf8)) as! [String: Any]
        let events = (parsed["traceEvents"] as! [[String: Any]]).filter { $0["ph"] as? String == "X" }
        let compute = events.filter { $0["tid"] as? Int == 0 }, comm = events.filter { $0["tid"] as? Int == 1 }
        #expect(compute.count == 2 * 6 && comm.count == 2 * 4)           // two layers
        #expect(compute.map { $0["name"] as! String }.prefix(6) == ["attn F", "mlp B", "mlp W", "mlp F", "attn B", "attn W"])
        // The blocks fill the instruction's 16 s span exactly (2 layers × 8 s of slots).
        let starts = compute.map { ($0["ts"] as! Double) / 1e6 }, ends = compute.map { (($0["ts"] as! Double) + ($0["dur"] as! Double)) / 1e6 }
        #expect(abs(starts.min()! - 10) < 1e-6 && abs(ends.max()! - 26) < 1e-6)
        #expect((parsed["traceEvents"] as! [[String: Any]]).contains { ($0["args"] as? [String: Any])?["name"] as? String == "communication stream" })
    }
}

@Suite struct OptimizerTimelineTests {
    /// Each rank's ZeRO-1 parts follow its pipeline work in order (reduce-scatter, the gradient
    /// norm of V3's clipping, AdamW, all-gather) and the last one ends the step. The norm is a
    /// barrier: every rank's update starts at once, and a rank's own optimizer time leaves out
    /// its wait there (rank 0, ending its pipeline last, does not wait). In the trace the
    /// collectives run on the communication stream, the norm and the update on the compute
    /// stream.
    @Test func optimizerPartsFollowEachRanksPipeline() throws {
        let r = try DeepSeekStepTests.result.get()
        #expect(r.optimizerSegments.count == 4 * 16)
        for rank in 0..<16 {
            let parts = r.optimizerSegments.filter { $0.rank == rank }
            let pipelineEnd = r.segments.filter { $0.rank == rank }.map(\.end).max()!
            #expect(parts.map(\.label) == ["RS", "norm", "AdamW", "AG"])
            #expect(abs(parts[0].start - pipelineEnd) < 1e-9, "without overlap the reduce-scatter waits for the rank's last instruction")
            #expect(parts[0].end == parts[1].start && parts[1].end == parts[2].start && parts[2].end == parts[3].start)
            #expect(parts[3].end - parts[0].start >= r.optimizerPerRankS[rank] - 1e-9)
            if rank == 0 { #expect(abs(parts[3].end - parts[0].start - r.optimizerPerRankS[rank]) < 1e-9) }
        }
        #expect(Set(r.optimizerSegments.filter { $0.label == "AdamW" }.map(\.start)).count == 1)
        #expect(abs(r.optimizerSegments.map(\.end).max()! - r.stepTimeS) < 1e-9)
        let json = StepTrace.render(segments: r.optimizerSegments.filter { $0.rank == 0 }, stageTimes: [], stageLayers: [], name: "test")
        let events = ((try JSONSerialization.jsonObject(with: Data(json.utf8)) as! [String: Any])["traceEvents"] as! [[String: Any]])
            .filter { $0["ph"] as? String == "X" }
        #expect(events.map { "\($0["name"]!)@\($0["tid"]!)" } == ["RS@1", "norm@0", "AdamW@0", "AG@1"])
    }
}
