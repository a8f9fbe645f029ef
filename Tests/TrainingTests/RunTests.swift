import Foundation
import Testing
import Hardware
import CostModel
@testable import Model
@testable import Training

@Suite(.serialized) struct RunTests {
    /// V3 report Table 1: pre-training 2,664K H800 GPU-hours for 14.8T tokens (180K per
    /// trillion). Issue tolerance 10% now, 5% the goal. Measured 2026-11-23: 2,524K (−5.3%;
    /// 2,583K, −3.1%, before the data-parallel rings used NVLink inside a node — the step's
    /// optimizer phase fell from 0.61 to 0.18 s; see the note on issue 4).
    @Test("V3 Table 1: pre-training 2,664K GPU-hours within 10%")
    func preTraining() throws {
        let run = TrainingRun(base: try deepSeekStep(), calibration: try KernelCalibration.hopper())
        let phase = RunPhase(name: "pre-training", length: .tokens(14.8e12, rampFrom: 3072, rampTokens: 469e9), sequenceLength: 4096, batch: 15360)
        let r = try run.price(phase)
        #expect(abs(r.gpuHours / 2_664_000 - 1) < 0.10)
        #expect(abs(r.gpuHours / (r.tokens / 1e12) / 180_000 - 1) < 0.10)
        #expect(r.tokens >= 14.8e12 && r.tokens < 14.8e12 + 15360 * 4096)
        // Batch ramp: 469B tokens at an average of ~9K sequences ≈ 12K steps, then 62.9M tokens a step.
        #expect(r.steps > 240_000 && r.steps < 246_000)
    }

    @Test func givenPhasesPassThroughAndStepPhasesMultiply() throws {
        let run = TrainingRun(base: try deepSeekStep(), calibration: try KernelCalibration.hopper())
        #expect(try run.price(RunPhase(name: "post", length: .givenGPUHours(5000), sequenceLength: 1, batch: 1)).gpuHours == 5000)
        let two = try run.price(RunPhase(name: "x", length: .steps(2), sequenceLength: 4096, batch: 15360))
        let one = try run.price(RunPhase(name: "x", length: .steps(1), sequenceLength: 4096, batch: 15360))
        #expect(abs(two.gpuHours - 2 * one.gpuHours) < 1e-6)
        // One full-batch step on 2,048 GPUs: GPU-hours = step seconds × 2048 / 3600.
        let step = try StepSimulation(config: try deepSeekStep(), calibration: try KernelCalibration.hopper()).run().stepTimeS
        #expect(abs(one.gpuHours / 2048 * 3600 / step - 1) < 1e-9)
    }

    /// The run report compares with Table 1 only for the published run: until 2026-11-24 any
    /// run on the published plan (a 1B-token test, no phases at all) printed 2,788K and $5.576M
    /// beside it.
    @Test func publishedRunIsTheReportsRun() throws {
        let c = try deepSeekStep()
        func phase(_ name: String, tokens: Double) -> PhaseResult {
            PhaseResult(name: name, tokens: tokens, steps: 1, gpuHours: 1, wallDays: 0, distinctSteps: 1, memoryPeakBytes: 0, memoryFits: true, note: "")
        }
        let published = [phase("pre-training", tokens: 14.8e12 + 1e6), phase("context-extension-32k", tokens: 62.9e9),
                         phase("context-extension-128k", tokens: 62.9e9), phase("post-training", tokens: 0)]
        #expect(PublishedDeepSeekV3.describesRun(c, phases: published))
        #expect(!PublishedDeepSeekV3.describesRun(c, phases: [phase("pre-training", tokens: 1e9)] + published.dropFirst()))
        #expect(!PublishedDeepSeekV3.describesRun(c, phases: Array(published.dropLast())))
        var other = c
        other.microbatches = 32
        #expect(!PublishedDeepSeekV3.describesRun(other, phases: published))
    }

    @Test func runSectionErrors() throws {
        func load(_ run: String) throws {
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("run-\(UUID().uuidString).yaml").path
            try ("model: deepseek-v3\n" + run).write(toFile: path, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(atPath: path) }
            _ = try RunExperiment.load(path: path)
        }
        #expect(throws: (any Error).self) { try load("") }                                                             // no run section
        #expect(throws: (any Error).self) { try load("run: {phases: [{name: a, tokens: 1e12, steps: 3, seq_len: 4096, batch: 8}]}") } // two lengths
        #expect(throws: (any Error).self) { try load("run: {phases: [{name: a, tokens: 1e12, seq_len: 4096}]}") }     // no batch
        #expect(throws: (any Error).self) { try load("run: {phases: [{name: a, gpu_hours: 5}], pue: 0.9}") }           // PUE < 1
        #expect(throws: (any Error).self) { try load("run: {phases: [{name: a, gpu_hour: 5}]}") }                      // typo
        #expect(throws: (any Error).self) { try load("run: {phases: [{name: a, steps: 9, seq_len: 32768, batch: 8, chunk_tokens: 3000}]}") } // not a divisor
        #expect(throws: (any Error).self) { try load("run: {phases: [{name: a, tokens: 1e9, seq_len: 32768, batch: 8, chunk_tokens: 4096}]}") } // token budget
        // Budgets beyond RunPhase.maxSteps (a 1e30 budget overflowed an integer until 2026-11-24).
        #expect(throws: (any Error).self) { try load("run: {phases: [{name: a, tokens: 1e30, seq_len: 4096, batch: 15360}]}") }
        #expect(throws: (any Error).self) { try load("run: {phases: [{name: a, steps: 9000000000000000000, seq_len: 4096, batch: 8}]}") }
        #expect(throws: (any Error).self) { try load("run: {phases: [{name: a, tokens: 1e15, seq_len: 4096, batch: 15360, ramp_from: 1, ramp_tokens: 1e15}]}") }
        try load("run: {phases: [{name: a, tokens: 14.8e12, seq_len: 4096, batch: 15360, ramp_from: 3072, ramp_tokens: 469e9}]}")
        try load("run: {phases: [{name: a, steps: 9, seq_len: 32768, batch: 8, chunk_tokens: 4096}]}")
        try load("run: {phases: [{name: a, gpu_hours: 5}]}")
    }
}

@Suite struct ContextExtensionTests {
    /// Context extension with long sequences split into micro-batches (chunks) attending to the
    /// cached prefix. A chunk's backward needs the key and value gradients of every later chunk,
    /// so a sequence is backpropagated last chunk first (Seq1F1B order), which DualPipe cannot
    /// do: the phases run ZB1P, and a sequence is held whole on every stage until its last
    /// backward. Of the power-of-two splits that fit, the fastest: 1,024 tokens at both 32K
    /// (DeepSeek's selective recomputation, 48.8 GB) and 128K, where no split fits with it (a
    /// whole 128K-token sequence of activations), so every layer is recomputed. V3 report
    /// Table 1 publishes 119K GPU-hours; this plan costs 111.3K (−6.5%; 109.9K on DeepEP's current
    /// kernels, 110.7K before the MoE's bookkeeping kernels were priced). Pinned to 4,096-token
    /// chunks (`chunk_tokens`) the two phases cost 117.5K.
    /// Regression figures, not golden ones.
    @Test("context extension: Seq1F1B chunks, full recomputation at 128K, 111.3K GPU-hours (regression; published 119K)")
    func contextExtension() throws {
        let run = TrainingRun(base: try deepSeekStep(), calibration: try KernelCalibration.hopper())
        func phase(_ length: Int, batch: Int, chunk: Int? = nil) throws -> PhaseResult {
            try run.price(RunPhase(name: "\(length)", length: .steps(1000), sequenceLength: length, batch: batch, chunkTokens: chunk))
        }
        let a = try phase(32_768, batch: 1920), b = try phase(131_072, batch: 480)
        #expect(abs((a.gpuHours + b.gpuHours) / 111_275 - 1) < 0.02)
        #expect(a.memoryFits && b.memoryFits)
        #expect(b.gpuHours > a.gpuHours)                 // attention grows with the context
        #expect(a.note.contains("32 micro-batches of 1024") && b.note.contains("128 micro-batches of 1024"))
        #expect(a.note.contains("ZB1P") && !a.note.contains("full recomputation") && b.note.contains("full recomputation"))
        #expect(abs(a.tokens - 1000 * 1920 * 32_768) < 1)
        // The choice is the fastest: the splits on either side cost more.
        #expect(try phase(32_768, batch: 1920, chunk: 512).gpuHours > a.gpuHours)
        #expect(try phase(32_768, batch: 1920, chunk: 2048).gpuHours > a.gpuHours)
        #expect(try phase(131_072, batch: 480, chunk: 2048).gpuHours > b.gpuHours)
        let pinned = try phase(131_072, batch: 480, chunk: 4096)
        #expect(pinned.memoryFits && pinned.note.contains("as chunk_tokens asks"))
        #expect(abs((try phase(32_768, batch: 1920, chunk: 4096).gpuHours + pinned.gpuHours) / 117_500 - 1) < 0.02)
    }

    /// A chunk of m queries at the end of k keys: the pairs of the whole causal sequence are
    /// the sum over its chunks.
    @Test func chunkedAttentionConservesPairs() {
        let l = 4096, m = 512, c = l / m
        let sum = (0..<c).reduce(0.0) { $0 + FLOPCount.causalPairs(m, keys: ($1 + 1) * m) }
        #expect(sum == FLOPCount.causalPairs(l))
        #expect(Double(c) * FLOPCount.causalPairs(m, keys: (l + m) / 2) == sum)
    }
}
import Kernels
import ConfigIO

@Suite struct OverheadTests {
    /// Hand-checked: 4.7e-4 × 2,048 GPUs × 10 days = 9.6 interruptions, each 5 + 2.5 minutes of
    /// the whole cluster; 2,880 checkpoints of 3 s.
    @Test func failureAndCheckpointArithmetic() {
        let r = RunOverheads().price(wallDays: 10, gpus: 2048)
        #expect(abs(r.interruptions - 9.6256) < 1e-9)
        #expect(abs(r.failureGPUHours - 9.6256 * 7.5 / 60 * 2048) < 1e-6)
        #expect(abs(r.checkpointGPUHours - 2880 * 3.0 / 3600 * 2048) < 1e-6)
        // Planned maintenance, Llama 3's 47 in 54 days on 16,384 GPUs: 47/54 × 2048/16384 × 10 days
        // = 1.088 restarts of 5 minutes of the whole cluster. Evaluation off by default.
        #expect(abs(r.maintenanceGPUHours - 47.0 / 54 * 2048 / 16_384 * 10 * 5 / 60 * 2048) < 1e-6)
        #expect(r.evaluationGPUHours == 0)
        #expect(abs(r.totalGPUHours - (r.failureGPUHours + r.checkpointGPUHours + r.maintenanceGPUHours)) < 1e-6)
        var withEvaluation = RunOverheads()
        withEvaluation.evaluationFraction = 0.01
        #expect(abs(withEvaluation.price(wallDays: 10, gpus: 2048).evaluationGPUHours - 0.01 * 240 * 2048) < 1e-6)
    }

    @Test func overheadsAreOffUnlessAsked() throws {
        #expect(try RunExperiment.overheads(path: repoRoot.appendingPathComponent("Experiments/deepseek-v3.yaml").path) == nil)
        let o = try RunExperiment.overheads(path: repoRoot.appendingPathComponent("Experiments/deepseek-v3-with-failures.yaml").path)
        #expect(o?.restartMinutes == 5)
    }
}

@Suite struct PackedMicrobatchTests {
    /// Micro-batches per pipeline when each holds several sequences (Megatron's micro-batch
    /// size): SC'21's 18B row, 1,024 sequences over DP 32 in micro-batches of 8, runs 4; an
    /// uneven count rounds up, then up to even (DualPipe's rule).
    @Test func microbatchesPerPipeline() {
        #expect(TrainingRun.microbatches(sequences: 1024, chunks: 1, dp: 32, perMicrobatch: 8) == 4)
        #expect(TrainingRun.microbatches(sequences: 512, chunks: 1, dp: 32, perMicrobatch: 16) == 1)
        #expect(TrainingRun.microbatches(sequences: 100, chunks: 1, dp: 8, perMicrobatch: 4) == 4)     // 13 sequences → 4 micro-batches
        #expect(TrainingRun.microbatches(sequences: 100, chunks: 1, dp: 8, perMicrobatch: 2) == 8)     // 13 → 7 → 8
    }

    /// A run's phase keeps the plan's micro-batch of several sequences: the 1T plan with
    /// micro-batches of 4 sequences (8,192 tokens) prices a 3,072-sequence phase step as the
    /// step simulation's 128 micro-batches; a phase of half-length sequences packs 8 to a
    /// micro-batch, so its step has the same micro-batches and twice the sequences.
    @Test func phasesKeepThePackedMicrobatch() throws {
        var base = try megatronStep()
        base.microbatchSequences = 4
        base.microbatchTokens = 8192
        base.microbatches = 128
        let calibration = try KernelCalibration.hopper()
        let run = TrainingRun(base: base, calibration: calibration)
        let phase = try run.price(RunPhase(name: "x", length: .steps(1), sequenceLength: 2048, batch: 3072))
        let step = try StepSimulation(config: base, calibration: calibration).run()
        #expect(abs(phase.gpuHours - step.stepTimeS * Double(base.gpus) / 3600) < 1e-9)
        let half = try run.price(RunPhase(name: "y", length: .steps(1), sequenceLength: 1024, batch: 6144))
        #expect(half.tokens == phase.tokens)
        #expect(half.gpuHours < phase.gpuHours, "shorter sequences: fewer attention pairs per token")
    }
}

@Suite struct PhasePlanTests {
    /// A phase may run its own plan (issue 5: "each with its own … parallel plan"): the 128K
    /// phase on PP 8 with ZB1P gets DP 256, and a plan that cannot be built is infeasible.
    @Test func phasesCanChangeThePlan() throws {
        let run = TrainingRun(base: try deepSeekStep(), calibration: try KernelCalibration.hopper())
        let own = try run.price(RunPhase(name: "128k", length: .steps(10), sequenceLength: 131_072, batch: 480,
                                         plan: RunPhase.PlanOverride(pp: 8, schedule: .zb1p)))
        #expect(own.note.contains("own plan: PP 8, EP 64, TP 1, zb1p, DP 256"))
        #expect(own.memoryFits)
        #expect { _ = try run.price(RunPhase(name: "bad", length: .steps(10), sequenceLength: 4096, batch: 15_360,
                                              plan: RunPhase.PlanOverride(pp: 7))) } throws: { e in
            (e as? ConfigError)?.infeasible == true && "\(e)".contains("phase 'bad'")
        }
    }
}
