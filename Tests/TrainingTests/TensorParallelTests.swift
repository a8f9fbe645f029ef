import CostModel
import Foundation
import Hardware
import Schedules
import Testing
@testable import Model
@testable import Training

func megatronStep() throws -> StepConfiguration { try shippedStep("megatron-1t-a100.yaml") }

@Suite struct TensorParallelTests {
    @Test("a TP shard holds 1/tp of the heads, FFN and vocabulary; layer parameters divide by tp")
    func shardShapes() throws {
        let models = try ModelCatalog.load(directory: repoRoot.appendingPathComponent("Experiments/models").path)
        let llama = try models.resolve("llama-3.1-70b").0
        let shard = try llama.tensorParallelShard(8)
        guard case .gqa(let g) = shard.attention else { Issue.record("not GQA"); return }
        #expect(g.heads == 8 && g.kvHeads == 1 && g.headDim == 128)          // 64 heads, 8 K/V heads
        #expect(shard.denseIntermediateSize == 28_672 / 8)
        #expect(shard.vocabularySize == 128_256 / 8)
        // Every linear of a Llama layer is split; only the two norm vectors are replicated.
        let full = llama.layerParameters(0).total, part = shard.layerParameters(0).total
        #expect(part * 8 - full == 7 * 2 * 8192)
        // More K/V heads than... a TP that neither divides nor is a multiple of them is refused.
        #expect(throws: ModelArchitecture.TensorParallelError.self) { _ = try llama.tensorParallelShard(3) }
        #expect(try llama.tensorParallelShard(1) == llama)
    }

    @Test("plans: DP = GPUs / (PP × TP); TP must stay inside the node's NVLink domain")
    func planRules() throws {
        var c = try megatronStep()
        #expect(c.tp == 8 && c.dp == 6 && !c.sequenceParallel)
        c.tp = 16
        #expect(throws: ScheduleError.self) { try c.validate() }
        c.tp = 4
        #expect(c.dp == 12)
        try c.validate()
    }

    @Test("a TP reduce-scatter is a ring on NVLink: (p−1)/p of the bytes plus p−1 hops; a block's forward is two")
    func collectiveTime() throws {
        let c = try megatronStep()
        let s = try StepSimulation(config: c, calibration: try KernelCalibration.hopper())
        let bytes = 2048.0 * 25_600 * 2
        let expected = 7.0 / 8 * bytes / (300e9 * 0.8) + 7 * 3.33e-6
        #expect(abs(s.tensorParallelHalfCollective / expected - 1) < 1e-9)
        #expect(abs(s.tensorParallelCollectives.blockForward(window: .init(.init())).total / (2 * expected) - 1) < 1e-9)
        var one = c; one.tp = 1
        #expect(try StepSimulation(config: one, calibration: try KernelCalibration.hopper()).tensorParallelHalfCollective == 0)
    }

    /// Narayanan et al., SC 2021: a 1T GPT on 3,072 A100 at 502 PFLOP/s (abstract), TP 8, PP 64,
    /// batch 3,072 × 2,048 (Table 1); their FLOP count with recomputation gives 102.4 s per step.
    /// Measured 2026-11-24 with the 2021 unfused attention and data parallelism (FP16 gradient
    /// all-reduce, unsharded FP32 Adam): 107.9 s with 1F1B (+5.4%), 102.2 s interleaved (−0.1%).
    @Test("Narayanan et al. SC'21: Megatron 1T on 3,072 A100 within 10% of 102.4 s")
    func megatronOneTrillion() throws {
        let c = try megatronStep()
        let r = try StepSimulation(config: c, calibration: try KernelCalibration.hopper()).run()
        let published = 96.0 * 3072 * 2048 * 128 * 25_600 * 25_600 * (1 + 2048.0 / (6 * 25_600) + 51_200.0 / (16 * 128 * 25_600)) / 502e15
        #expect(abs(published - 102.4) < 0.1)
        #expect(abs(r.stepTimeS / published - 1) < 0.10)
        // 1F1B bubble (p − 1)/(m + p − 1) of the pipeline, 63 / 575 ≈ 11%, plus TP and sends.
        #expect(r.bubbleS / r.pipelineS > 0.10 && r.bubbleS / r.pipelineS < 0.20)
        let memory = try TrainingMemory.compute(config: c, stageLayers: r.stageLayers, deepSeekSavings: false, schedule: c.schedule)
        #expect(memory.fits)
        // Without TP the same model does not fit: 8× the parameters per GPU.
        var noTP = c; noTP.tp = 1
        let plain = try TrainingMemory.compute(config: noTP, stageLayers: r.stageLayers, deepSeekSavings: false, schedule: c.schedule)
        #expect(!plain.fits)
    }

    @Test("sequence parallelism splits the full-width activations over the TP group")
    func sequenceParallelMemory() throws {
        let models = try ModelCatalog.load(directory: repoRoot.appendingPathComponent("Experiments/models").path)
        let shard = try models.resolve("llama-3.1-70b").0.tensorParallelShard(8)
        let with = ActivationInventory.layer(shard, index: 0, tokens: 4096, routedRowsOnGPU: 0, recompute: false, caching: .bf16, sequenceSplit: 8)
        let without = ActivationInventory.layer(shard, index: 0, tokens: 4096, routedRowsOnGPU: 0, recompute: false, caching: .bf16)
        let input = { (items: [ActivationInventory.Item]) in items.first { $0.name.hasPrefix("layer input") }!.bytes }
        #expect(input(without) == 4096 * 8192 * 2)
        #expect(input(with) == input(without) / 8)
    }

    /// Megatron-LM since 2022 reduces a column-parallel linear's input gradient while its
    /// weight gradient is computed (Korthikanti et al. 2022 §6.2). On the 22B layer of their
    /// Table 4 (TP 8, 4 sequences of 2,048) the Q/K/V and gate/up weight gradients outlast the
    /// two all-reduces, so the backward's collectives vanish; 2021's Megatron (`none`) keeps
    /// both on the critical path, and a full recomputation's forward collectives stay either way.
    @Test func backwardCollectivesHideUnderWeightGradients() throws {
        let c = try korthikanti22BLayers()
        func layer(_ overlap: TensorParallelOverlap, _ recompute: RecomputePolicy) throws -> LayerTimes {
            var k = c
            k.tensorParallelOverlap = overlap; k.recompute = recompute
            return try StepSimulation(config: k, calibration: try KernelCalibration.hopper()).plan().stageTimes[0]
        }
        let half = try StepSimulation(config: c, calibration: try KernelCalibration.hopper()).tensorParallelHalfCollective
        #expect(half > 0)
        // Two layers: two all-reduces (four halves) each in the forward and the backward, plus
        // the embedding's forward one (two halves) and the head's backward one (two halves).
        #expect(abs(try layer(.none, .none).tensorParallelBackward - 10 * half) < 1e-12)
        #expect(abs(try layer(.none, .none).tensorParallelForward - 10 * half) < 1e-12)
        #expect(try layer(.backward, .none).tensorParallelBackward == 0)
        #expect(abs(try layer(.backward, .full).tensorParallelBackward - 8 * half) < 1e-12)
        #expect(abs(try layer(.none, .full).tensorParallelBackward - 18 * half) < 1e-12)
        #expect(try layer(.backward, .none).tensorParallelForward == layer(.none, .none).tensorParallelForward)
    }

    /// Sequence parallelism (Korthikanti et al. 2022 §4.2.2, Fig. 5): the forward moves the same
    /// bytes (all-gather + reduce-scatter per block), but the backward moves three halves per
    /// block: the row-parallel output gradient's all-gather (exposed), the column-parallel input
    /// gradient's reduce-scatter (under the weight gradient) and the re-gather of the saved
    /// input slice (under the input gradient). On the 22B layers the last two hide, so each
    /// block leaves one all-gather exposed; the embedding's backward all-gathers its output
    /// gradient and the head's forward its input.
    @Test func sequenceParallelBackwardKeepsTheRowParallelGathers() throws {
        var c = try korthikanti22BLayers()
        c.sequenceParallel = true; c.tensorParallelOverlap = .backward
        let sim = try StepSimulation(config: c, calibration: try KernelCalibration.hopper())
        let half = sim.tensorParallelHalfCollective, t = try sim.plan().stageTimes[0]
        // Forward: 2 layers × 2 blocks × 2 halves, embedding 1, head 1.
        #expect(abs(t.tensorParallelForward - 10 * half) < 1e-12)
        // Backward: 2 layers × 2 blocks × 1 exposed all-gather, embedding 1, head 0 (hidden).
        #expect(abs(t.tensorParallelBackward - 5 * half) < 1e-12)
        var none = c; none.tensorParallelOverlap = .none
        // Nothing hidden: 2 × 2 × 3 halves, embedding 1, head 2.
        #expect(abs(try StepSimulation(config: none, calibration: try KernelCalibration.hopper()).plan().stageTimes[0].tensorParallelBackward
                    - 15 * half) < 1e-12)
    }

    /// Oracle: a collective of `c` seconds split into n chunks and pipelined with a GEMM of
    /// `g` seconds, simulated chunk by chunk (an all-gather's n − 1 transfers run one after
    /// another on the ring; GEMM chunk 0 needs only the local chunk, chunk k the k-th
    /// transfer), against the closed form `max(0, c − g·(n − 1)/n)`.
    @Test(arguments: [2, 4, 8])
    func pipelinedCollectiveMatchesChunkSimulation(group n: Int) {
        for (c, g) in [(1.0, 0.2), (1.0, 1.0), (1.0, 1.5), (0.3, 2.0), (2.0, 0.0), (0.0, 1.0)] {
            var gemmEnd = g / Double(n), linkEnd = 0.0
            for _ in 1..<n {
                linkEnd += c / Double(n - 1)
                gemmEnd = max(gemmEnd, linkEnd) + g / Double(n)
            }
            let exposed = TensorParallelOverlap.pipelined.pipelinedExposed(c, gemm: g, group: n)
            #expect(abs(exposed - (gemmEnd - g)) < 1e-12, "n \(n), c \(c), g \(g)")
            #expect(TensorParallelOverlap.backward.pipelinedExposed(c, gemm: g, group: n) == c)
        }
    }

    /// Pipelined TP collectives (Transformer Engine's userbuffers) on the 22B layers with
    /// sequence parallelism: each block's forward all-gather is pipelined with its
    /// column-parallel GEMMs and its reduce-scatter with its row-parallel one; the backward's
    /// row-parallel all-gather with that linear's input gradient. What stays exposed follows
    /// from the layer's own GEMM windows (on these A100 layers the attention output GEMM,
    /// 0.35 ms, is shorter than a reduce-scatter, 0.39 ms, so part of it shows); the
    /// embedding's reduce-scatter feeds no GEMM and stays whole; compute does not change.
    @Test func pipelinedCollectivesHideUnderTheirGEMMs() throws {
        var c = try korthikanti22BLayers()
        c.sequenceParallel = true; c.tensorParallelOverlap = .pipelined; c.userbufferSMs = .none
        let sim = try StepSimulation(config: c, calibration: try KernelCalibration.hopper())
        let half = sim.tensorParallelHalfCollective, t = try sim.plan().stageTimes[0]
        let w = TensorParallelOverlap.windows(try sim.layerRecords(0, traffic: .local(expertRows: [])), kernels: sim.kernels)
        let exposed = { (gemm: Double) in TensorParallelOverlap.pipelined.pipelinedExposed(half, gemm: gemm, group: 8) }
        let blocks = [w.attention, w.mlp]
        let layerForward = blocks.reduce(0) { $0 + exposed($1.columnForward) + exposed($1.rowForward) }
        #expect(layerForward > 0 && layerForward < 2 * half)
        // Two layers, the embedding's whole reduce-scatter, and at most the head's all-gather.
        #expect(t.tensorParallelForward >= 2 * layerForward + half - 1e-12)
        #expect(t.tensorParallelForward <= 2 * layerForward + 2 * half + 1e-12)
        var bulk = c; bulk.tensorParallelOverlap = .backward
        let before = try StepSimulation(config: bulk, calibration: try KernelCalibration.hopper()).plan().stageTimes[0]
        #expect(abs(before.tensorParallelForward - 10 * half) < 1e-12)
        // Backward: only the row-parallel all-gathers change (one per block, exposed before).
        let gathers = blocks.reduce(0) { $0 + half - exposed($1.rowInputGradient) }
        #expect(gathers > 0)
        #expect(abs((before.tensorParallelBackward - t.tensorParallelBackward) - 2 * gathers) < 1e-12)
        #expect(t.compute == before.compute)
    }

    @Test("pipelined TP collectives need sequence parallelism; the error names tp_overlap")
    func pipelinedNeedsSequenceParallelism() throws {
        var c = try megatronStep()
        c.sequenceParallel = false; c.tensorParallelOverlap = .pipelined
        #expect(throws: ScheduleError.self) { try c.validate() }
        c.sequenceParallel = true
        try c.validate()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("llmsim-tp-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("e.yaml")
        try """
        base: \(repoRoot.appendingPathComponent("Experiments/megatron-1t-a100.yaml").path)
        parallel: {sp: false, tp_overlap: pipelined}
        """.write(to: file, atomically: true, encoding: .utf8)
        let models = try ModelCatalog.load(directory: repoRoot.appendingPathComponent("Experiments/models").path)
        do {
            _ = try StepExperiment.load(path: file.path, models: models, hardware: try HardwareCatalog.builtIn())
            Issue.record("accepted tp_overlap: pipelined without sequence parallelism")
        } catch {
            #expect("\(error)".contains("tp_overlap") && "\(error)".contains("sequence parallelism"))
        }
    }
}

/// Two layers of Korthikanti et al.'s 22B model (Table 3: h 6,144, 64 heads, TP 8, micro-batch
/// 4 sequences of 2,048) on one DGX A100, no recomputation, no sequence parallelism; the
/// collectives' kernels hold no SM (`collective_sms: 0`, so that these tests check where the
/// collectives hide; `TensorParallelOverlapSMsTests` checks what their SMs cost).
func korthikanti22BLayers() throws -> StepConfiguration {
    var c = try megatronStep()
    c.collectiveSMs = 0
    c.model.hiddenSize = 6144; c.model.layers = 2; c.model.denseIntermediateSize = 16384
    c.model.attention = .gqa(GQAShape(heads: 64, kvHeads: 64, headDim: 96, qkvBias: false))
    c.pp = 1; c.microbatches = 1; c.microbatchSequences = 4; c.microbatchTokens = 8192
    c.topology.nodes = 1; c.recompute = RecomputePolicy.none
    return c
}
