import Foundation
import Testing
@testable import Kernels
@testable import Model

/// The same layer code runs the dense GQA family (Llama, Qwen) and Mixtral's MoE.
@Suite struct GQALayerTests {
    static let tinyLlama = ModelArchitecture(
        name: "tiny-gqa", modelType: "llama", hiddenSize: 48, layers: 2, vocabularySize: 40, tiedEmbeddings: false,
        attention: .gqa(GQAShape(heads: 4, kvHeads: 2, headDim: 12, qkvBias: false)),
        denseIntermediateSize: 64, moe: nil, mtpDepth: 0, maxPositionEmbeddings: 64)

    /// Qwen3's layer: no q/k/v bias, RMSNorm over each query and key head before RoPE.
    static let tinyQwen3 = ModelArchitecture(
        name: "tiny-qwen3", modelType: "qwen3", hiddenSize: 48, layers: 2, vocabularySize: 40, tiedEmbeddings: false,
        attention: .gqa(GQAShape(heads: 4, kvHeads: 2, headDim: 16, qkvBias: false, qkNorm: true)),
        denseIntermediateSize: 64, moe: nil, mtpDepth: 0, maxPositionEmbeddings: 64)

    /// The cost executor's GEMM and attention FLOPs by operation name, as the numeric executor
    /// counts its executed work.
    static func costFLOPs(_ records: [OperationRecord]) -> [String: Double] {
        var out: [String: Double] = [:]
        for r in records where [.gemm, .groupedGemm, .attention, .attentionBackward].contains(r.kind) { out[r.name, default: 0] += r.flops }
        return out
    }

    /// Both executors after one BF16 pass of `arch`'s two layers (embedding and head included)
    /// over 10 tokens, the numeric one seeded 2.
    static func runBothExecutors(_ arch: ModelArchitecture, recompute: RecomputePolicy = .none) throws -> (numeric: NumericExecutor, cost: CostExecutor) {
        let pass = try StagePass(arch: arch, layers: 0..<2, embedding: true, head: true, policy: .bf16, recompute: recompute)
        var numeric = try NumericExecutor(router: .deepSeekV3, seed: 2)
        _ = pass.run(&numeric, tokens: 10)
        var cost = CostExecutor(traffic: .local(expertRows: []))
        _ = pass.run(&cost, tokens: 10)
        return (numeric, cost)
    }

    @Test(arguments: RecomputePolicy.allCases)
    func numericAndCostAgreeForGQA(recompute: RecomputePolicy) throws {
        let (numeric, cost) = try Self.runBothExecutors(Self.tinyLlama, recompute: recompute)
        #expect(Self.costFLOPs(cost.records) == numeric.executedFLOPs)
    }

    /// A Qwen3 layer runs in both executors with the same GEMM and attention work; the cost
    /// executor prices the query and key norms (forward and backward, per layer); the norms add
    /// 2 × head_dim weights per layer; and their backward is the forward's derivative (central
    /// differences on Σ dy ⊙ norm(x), per head).
    @Test func qwen3HeadNorms() throws {
        let (numeric, cost) = try Self.runBothExecutors(Self.tinyQwen3)
        #expect(Self.costFLOPs(cost.records) == numeric.executedFLOPs)
        #expect(cost.records.filter { $0.name.contains(".q_norm.") || $0.name.contains(".k_norm.") }.count == 2 * 2 * 2)   // fwd + bwd, q + k, 2 layers
        #expect(Self.tinyQwen3.layerParameters(0).total - GQALayerTests.tinyLlamaWithHeadDim16.layerParameters(0).total == 2 * 16)

        var e = try NumericExecutor(router: .deepSeekV3, seed: 3)
        var x = DenseTensor(zeros: 3, 8), dy = DenseTensor(zeros: 3, 8)
        for r in 0..<3 { for c in 0..<8 { x[r, c] = sin(Double(7 * r + c) + 0.3); dy[r, c] = cos(Double(5 * r + 3 * c)) } }
        let analytic = e.headRMSNormBackward("n", x, dy, heads: 2)
        func loss(_ x: DenseTensor) -> Double {
            let y = e.headRMSNorm("n", x, heads: 2)
            var s = 0.0
            for r in 0..<3 { for c in 0..<8 { s += y[r, c] * dy[r, c] } }
            return s
        }
        for r in 0..<3 { for c in 0..<8 {
            var up = x, down = x
            up[r, c] += 1e-6; down[r, c] -= 1e-6
            #expect(abs((loss(up) - loss(down)) / 2e-6 - analytic[r, c]) < 1e-6)
        } }
    }

    static let tinyLlamaWithHeadDim16 = ModelArchitecture(
        name: "tiny-gqa-16", modelType: "llama", hiddenSize: 48, layers: 2, vocabularySize: 40, tiedEmbeddings: false,
        attention: .gqa(GQAShape(heads: 4, kvHeads: 2, headDim: 16, qkvBias: false)),
        denseIntermediateSize: 64, moe: nil, mtpDepth: 0, maxPositionEmbeddings: 64)

    /// Recomputation adds executed FLOPs but never model FLOPs: selective reruns the attention
    /// core, full reruns the whole forward.
    @Test func recomputationCostsComputeNotModelFLOPs() throws {
        func totals(_ r: RecomputePolicy) throws -> (executed: Double, model: Double) {
            let pass = try StagePass(arch: Self.tinyLlama, layers: 0..<2, embedding: false, head: false, policy: .bf16, recompute: r)
            var cost = CostExecutor(traffic: .local(expertRows: []))
            _ = pass.run(&cost, tokens: 64, input: ShapeTensor(rows: 64, cols: 48), outputGradient: ShapeTensor(rows: 64, cols: 48))
            return (cost.records.reduce(0) { $0 + $1.flops }, cost.records.reduce(0) { $0 + $1.modelFLOPs })
        }
        let none = try totals(.none), selective = try totals(.selective), full = try totals(.full)
        #expect(none.model == selective.model && none.model == full.model)
        #expect(selective.executed > none.executed && full.executed > selective.executed)
    }

    /// Full-scale passes equal the closed-form accounting of `llmsim model` (ISCA Table 2
    /// convention) for a dense GQA model and for Mixtral's MoE.
    @Test(arguments: [("llama-3.1-8b", 8192), ("qwen2.5-72b", 4096), ("mixtral-8x7b", 4096), ("qwen3-30b-a3b", 4096)])
    func fullPassMatchesAccounting(name: String, tokens: Int) throws {
        let arch = try model(name)
        let pass = try StagePass(arch: arch, layers: 0..<arch.layers, embedding: true, head: true, policy: .bf16)
        let rows: [Int]
        if let moe = arch.moe { rows = (0..<moe.routedExperts).map { _ in tokens * moe.topK / moe.routedExperts } } else { rows = [] }
        var cost = CostExecutor(traffic: .local(expertRows: rows))
        _ = pass.run(&cost, tokens: tokens)
        let perToken = cost.records.reduce(0) { $0 + $1.modelFLOPs } / Double(tokens)
        #expect(abs(perToken / arch.trainingFLOPs(sequenceLength: tokens).causal - 1) < 1e-3, "\(name): \(perToken)")
    }
}
