import Testing
import Hardware
@testable import Kernels
@testable import Model
@testable import CostModel

/// The attention core before FlashAttention (Megatron-LM 2021): scores in HBM.
@Suite struct UnfusedAttentionTests {
    /// A GPT layer of Megatron's 1.7B row (Narayanan et al. SC'21 Table 1: hidden 2,304, 24
    /// heads of 96), one 2,048-token sequence, attention dropout 0.1 (Megatron's default).
    static let gpt = ModelArchitecture(
        name: "gpt-1.7b", modelType: "llama", hiddenSize: 2304, layers: 1, vocabularySize: 51_200, tiedEmbeddings: true,
        attention: .gqa(GQAShape(heads: 24, kvHeads: 24, headDim: 96, qkvBias: false)),
        denseIntermediateSize: 6144, moe: nil, mtpDepth: 0, maxPositionEmbeddings: 2048, attentionDropout: 0.1)

    /// One layer's forward and backward on a micro-batch of `sequences` 2,048-token sequences.
    func layerRecords(_ kernel: AttentionKernel, dropout: Bool = true, sequences: Int = 1) throws -> [OperationRecord] {
        let pass = try StagePass(arch: Self.gpt, layers: 0..<1, embedding: false, head: false, policy: .bf16, recompute: RecomputePolicy.none)
        var cost = CostExecutor(traffic: .local(expertRows: []))
        cost.attentionKernel = kernel
        cost.attentionDropout = dropout
        cost.attentionSequences = sequences
        let rows = 2048 * sequences
        _ = pass.run(&cost, tokens: rows, input: ShapeTensor(rows: rows, cols: 2304), outputGradient: ShapeTensor(rows: rows, cols: 2304))
        return cost.records
    }

    /// Megatron's micro-batch of several sequences (SC'21's 1.7B row runs 16): every record does
    /// 16 times the one-sequence record's work — the linears' rows, the attention's (query,
    /// key) pairs — and the attention core moves 16 times its bytes (the scores of each
    /// sequence), because each sequence attends only to itself. One 32,768-token sequence would
    /// have 16 times the pairs per token. (A GEMM reads its weights once either way.)
    @Test("a micro-batch of 16 sequences: attention per sequence, 16 × one sequence's work", arguments: [AttentionKernel.flash, .unfused])
    func packedSequencesAttendToThemselves(kernel: AttentionKernel) throws {
        let one = try layerRecords(kernel), packed = try layerRecords(kernel, sequences: 16)
        #expect(one.map(\.name) == packed.map(\.name))
        func sixteenfold(_ a: Double, _ b: Double) -> Bool { abs(b - 16 * a) <= 1e-12 * 16 * a }
        for (a, b) in zip(one, packed) {
            #expect(sixteenfold(a.flops, b.flops) && sixteenfold(a.modelFLOPs, b.modelFLOPs), "\(a.name)")
            if a.name.contains("attention.") { #expect(sixteenfold(a.bytesRead + a.bytesWritten, b.bytesRead + b.bytesWritten), "\(a.name)") }
        }
        #expect(one.contains { $0.name.contains("attention.") })
    }

    @Test("unfused: the kernels stream the 24 × 2,048² scores; model FLOPs unchanged, executed FLOPs cover every pair")
    func scoresGoThroughMemory() throws {
        let unfused = try layerRecords(.unfused), flash = try layerRecords(.flash)
        let scores = 24.0 * 2048 * 2048
        func named(_ suffix: String) -> OperationRecord? { unfused.first { $0.name.hasSuffix(suffix) } }
        // Q·Kᵀ writes the scores; softmax reads and writes them; dropout adds a 1-byte mask.
        #expect(named("attention.scores")?.bytesWritten == scores * 2)
        #expect(named("attention.softmax")?.bytesRead == scores * 2 && named("attention.softmax")?.bytesWritten == scores * 2)
        #expect(named("attention.dropout")?.bytesWritten == scores * 3)
        #expect(named("attention.softmax.bwd")?.bytesRead == scores * 4)
        #expect(named("attention.dropout.bwd") != nil && named("attention.fwd") == nil)
        // The model's work is the kernel-independent causal count; the unfused GEMMs compute
        // all s² pairs: forward 2·s²·heads·(qk + v) against the causal ≈ half of it.
        let model = { (r: [OperationRecord]) in r.reduce(0) { $0 + $1.modelFLOPs } }
        #expect(abs(model(unfused) / model(flash) - 1) < 1e-12)
        let forwardCore = unfused.filter { $0.name.hasSuffix("attention.scores") || $0.name.hasSuffix("attention.context") }.reduce(0) { $0 + $1.flops }
        #expect(forwardCore == 2 * scores * (96 + 96))
        // Without attention dropout there is no dropout kernel.
        #expect(try layerRecords(.unfused, dropout: false).allSatisfy { !$0.name.contains("dropout") })
    }

    @Test("on an A100 the unfused core is HBM-bound: softmax at the element-wise bandwidth, the core several times FlashAttention's")
    func unfusedCoreIsMemoryBound() throws {
        let a100 = try HardwareCatalog.builtIn().device("A100-SXM4-80GB"), calibration = try KernelCalibration.hopper()
        let model = try KernelCostModel(device: a100, calibration: calibration, communicationSMs: 0)
        let unfused = try layerRecords(.unfused), flash = try layerRecords(.flash)
        let softmax = try #require(unfused.first { $0.name.hasSuffix("attention.softmax") })
        #expect(abs(model.duration(softmax) - 4 * 24.0 * 2048 * 2048 / (a100.hbmBandwidth * calibration.elementwiseEfficiency)) < 1e-12)
        // The Q·Kᵀ batched GEMM (K = 96) never runs faster than streaming its bytes: at the flat
        // BF16 efficiency its bytes price it; the shipped table's nearest row, [2048, 2048, 256]
        // at 213.0 of 989.4 TFLOPS (a thin single launch), prices it slower still.
        let scores = try #require(unfused.first { $0.name.hasSuffix("attention.scores") })
        let streaming = (scores.bytesRead + scores.bytesWritten) / (a100.hbmBandwidth * calibration.elementwiseEfficiency)
        let withoutRows = try KernelCostModel(device: a100, calibration: calibration.withoutBF16Rows, communicationSMs: 0)
        #expect(abs(withoutRows.duration(scores) - streaming) < 1e-12 && streaming > scores.flops / withoutRows.gemmRate(scores))
        #expect(abs(model.duration(scores) - scores.flops / (312e12 * 213.0 / 989.4)) < 1e-12 && model.duration(scores) > streaming)
        let core = { (r: [OperationRecord]) in r.filter { $0.name.contains("attention.") }.reduce(0) { $0 + model.duration($1) } }
        #expect(core(unfused) > 4 * core(flash))
    }

    /// Korthikanti et al. 2022 (§4.1): the attention core keeps 5·a·s²·b bytes per layer (softmax
    /// output 2, dropout mask 1, dropout output 2) unless it is recomputed.
    @Test("memory: materialized scores keep 5·a·s²·b bytes per layer (Korthikanti et al. 2022)")
    func materializedScoresMemory() {
        let plain = ActivationInventory.layer(Self.gpt, index: 0, tokens: 2048, routedRowsOnGPU: 0, recompute: false, caching: .bf16)
        let kept = ActivationInventory.layer(Self.gpt, index: 0, tokens: 2048, routedRowsOnGPU: 0, recompute: false, caching: .bf16,
                                             materializedScores: (keys: 2048, dropout: true))
        let sum = { (items: [ActivationInventory.Item]) in items.reduce(0) { $0 + $1.bytes } }
        // FlashAttention's softmax statistics (4 B per query and head) are replaced.
        let scores: Double = 24 * 2048 * 2048, statistics: Double = 2048 * 24 * 4
        #expect(sum(kept) - sum(plain) == 5 * scores - statistics)
    }
}

/// Sequence parallelism's compute (Korthikanti et al. 2022 §4.2.2, Table 4: the forward of a
/// 22B layer 7.7 → 7.2 ms "from the layer-norm and dropout layers being performed on 1/t of
/// the data"): norms of the residual stream run on 1/TP of the rows; norms of narrower tensors
/// (MLA's latent q/kv norms) do not.
@Suite struct SequenceParallelNormTests {
    @Test func residualNormsRunOnAShareOfTheRows() {
        var e = CostExecutor(traffic: .local(expertRows: []))
        e.sequenceParallel = (split: 8, width: 6144)
        _ = e.rmsNorm("attn_norm", ShapeTensor(rows: 8192, cols: 6144))
        _ = e.rmsNormBackward("attn_norm", ShapeTensor(rows: 8192, cols: 6144), ShapeTensor(rows: 8192, cols: 6144))
        _ = e.rmsNorm("q_norm", ShapeTensor(rows: 8192, cols: 1536))
        #expect(e.records[0].bytesRead == 1024 * 6144 * 2 && e.records[0].bytesWritten == 1024 * 6144 * 2)
        #expect(e.records[1].bytesRead == 2 * 1024 * 6144 * 2)
        #expect(e.records[2].bytesRead == 8192 * 1536 * 2)
    }
}
