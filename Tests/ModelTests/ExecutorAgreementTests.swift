import Foundation
import Testing
@testable import Kernels
@testable import Model

/// "One model, two executors": the cost executor's records must describe exactly the work the
/// numeric executor performs on the same shapes, and at full scale its model FLOPs must equal
/// the closed-form accounting of `llmsim model`.
@Suite struct ExecutorAgreementTests {
    /// A DeepSeek-shaped model small enough to compute: one dense and one MoE layer.
    static let tiny = ModelArchitecture(
        name: "tiny-mla", modelType: "deepseek_v3", hiddenSize: 64, layers: 2, vocabularySize: 50, tiedEmbeddings: false,
        attention: .mla(MLAShape(heads: 2, qLoraRank: 32, kvLoraRank: 16, qkNopeHeadDim: 8, qkRopeHeadDim: 4, vHeadDim: 8)),
        denseIntermediateSize: 48,
        moe: MoEShape(routedExperts: 8, sharedExperts: 1, expertIntermediateSize: 16, topK: 2, groups: 4, topKGroups: 2,
                      firstDenseLayers: 1, layerFrequency: 1, scoring: .sigmoid, hasRoutingBias: true, routedScalingFactor: 2.5),
        mtpDepth: 0, maxPositionEmbeddings: 64)

    static func evenTraffic(_ arch: ModelArchitecture, tokens: Int) -> MoETraffic {
        let moe = arch.moe!
        let total = tokens * moe.topK
        return .local(expertRows: (0..<moe.routedExperts).map { total / moe.routedExperts + ($0 < total % moe.routedExperts ? 1 : 0) })
    }

    @Test func costRecordsMatchNumericWorkOperationByOperation() throws {
        let tokens = 12
        let pass = try StagePass(arch: Self.tiny, layers: 0..<2, embedding: true, head: true, policy: .deepSeekFP8)
        var numeric = try NumericExecutor(router: Self.tiny.routerConfig!, seed: 3)
        _ = pass.run(&numeric, tokens: tokens)
        var cost = CostExecutor(traffic: Self.evenTraffic(Self.tiny, tokens: tokens))
        _ = pass.run(&cost, tokens: tokens)
        var recorded: [String: Double] = [:]
        for r in cost.records where [.gemm, .groupedGemm, .attention, .attentionBackward].contains(r.kind) {
            recorded[r.name, default: 0] += r.flops
        }
        #expect(Set(recorded.keys) == Set(numeric.executedFLOPs.keys))
        for (name, flops) in numeric.executedFLOPs {
            #expect(recorded[name] == flops, "\(name): numeric \(flops), cost \(recorded[name] ?? -1)")
        }
        #expect(numeric.executedFLOPs.values.reduce(0, +) > 0)
        // Every weight got a gradient (router: experts chosen by at least one token).
        #expect(numeric.weightGradients.keys.contains("L0.ffn.up") && numeric.weightGradients.keys.contains("L2.head"))
    }

    @Test func recordsCarryDeepSeekBlocksAndPasses() throws {
        let pass = try StagePass(arch: Self.tiny, layers: 1..<2, embedding: false, head: false, policy: .deepSeekFP8)
        var cost = CostExecutor(traffic: Self.evenTraffic(Self.tiny, tokens: 8))
        _ = pass.run(&cost, tokens: 8)
        let kinds = Set(cost.records.map { "\($0.block.rawValue)/\($0.pass.rawValue)" })
        for phase in ["attn/F", "dispatch/F", "mlp/F", "combine/F", "combine/B", "mlp/B", "dispatch/B", "mlp/W", "attn/B", "attn/W"] {
            #expect(kinds.contains(phase), "missing \(phase)")
        }
        // Recomputation: the MLA up-projections run again in attn(B) and are not model FLOPs.
        let recomputed = cost.records.filter { $0.recompute && $0.kind == .gemm }.map(\.name)
        #expect(recomputed.contains("L1.attn.wq_b.fprop") && recomputed.contains("L1.attn.wkv_b.fprop"))
        #expect(cost.records.filter(\.recompute).allSatisfy { $0.modelFLOPs == 0 })
        // FP8 casts: forward input, transposed for wgrad.
        #expect(cost.records.contains { $0.kind == .cast && $0.name.hasSuffix("cast_t") })
        #expect(cost.records.filter { $0.kind == .dispatch }.count == 2)   // dispatch(F) and combine(B)
    }

    /// ISCA 2025 Table 2 / `llmsim model`: the full DeepSeek-V3 pass in the cost executor gives
    /// the model's training FLOPs per token (causal), up to the t(t+1)/2 vs t²/2 causal-pair
    /// convention (≈1/t of the attention term).
    @Test("Full DeepSeek-V3 cost pass equals training_flops_per_token (250 GF)")
    func fullModelMatchesAccounting() throws {
        let arch = try model("deepseek-v3")
        let tokens = 4096
        let pass = try StagePass(arch: arch, layers: 0..<arch.layers, embedding: true, head: true, policy: .deepSeekFP8)
        var cost = CostExecutor(traffic: Self.evenTraffic(arch, tokens: tokens))
        _ = pass.run(&cost, tokens: tokens)
        let perToken = cost.records.reduce(0) { $0 + $1.modelFLOPs } / Double(tokens)
        let expected = arch.trainingFLOPs(sequenceLength: tokens).causal
        #expect(abs(perToken / expected - 1) < 1e-4, "cost pass \(perToken), accounting \(expected)")
        #expect(abs(perToken / 250e9 - 1) < 0.03)
    }
}

@Suite struct MTPPassTests {
    /// The MTP module's records equal `llmsim model`'s separate MTP FLOPs (V3 report §2.2: one
    /// extra block, the d×2d projection and a second use of the shared head).
    @Test func mtpRecordsMatchAccounting() throws {
        let arch = try model("deepseek-v3")
        let tokens = 4096
        let last = try StagePass(arch: arch, layers: (arch.layers - 1)..<arch.layers, embedding: false, head: true, mtp: true, policy: .deepSeekFP8)
        var cost = CostExecutor(traffic: ExecutorAgreementTests.evenTraffic(arch, tokens: tokens))
        _ = last.run(&cost, tokens: tokens)
        let mtp = cost.records.filter { $0.layer > arch.layers }.reduce(0) { $0 + $1.modelFLOPs } / Double(tokens)
        #expect(abs(mtp / arch.trainingFLOPs(sequenceLength: tokens).mtpCausal - 1) < 1e-4)
    }

    @Test func numericMTPRuns() throws {
        var tiny = ExecutorAgreementTests.tiny
        tiny.mtpDepth = 1
        let pass = try StagePass(arch: tiny, layers: 0..<2, embedding: true, head: true, mtp: true, policy: .bf16)
        var numeric = try NumericExecutor(router: tiny.routerConfig!, seed: 5)
        _ = pass.run(&numeric, tokens: 6)
        #expect(numeric.weightGradients.keys.contains("L3.mtp.eh_proj"))
    }
}

/// The gate weight applied inside the SwiGLU (DeepSeek's kernels): the numeric backward must be
/// the derivative of the numeric forward, checked by central differences.
@Suite struct WeightedSwiGLUTests {
    @Test func backwardIsTheForwardsDerivative() throws {
        var e = try NumericExecutor(router: RouterConfig(experts: 4, topK: 2, groups: 2, topKGroups: 2, routedScalingFactor: 1.5), seed: 5)
        let tokens = 3
        var scores = DenseTensor(zeros: tokens, 4)
        for i in scores.values.indices { scores.values[i] = 0.2 + 0.15 * Double((i * 7) % 5) }
        let route = e.route(scores)
        func tensor(_ rows: Int, _ cols: Int, _ seed: Int) -> DenseTensor {
            DenseTensor(rows: rows, cols: cols, values: (0..<(rows * cols)).map { sin(Double($0 * 13 + seed)) })
        }
        let ups = route.members.enumerated().map { tensor($1.count, 6, $0) }           // I = 3
        let dHs = route.members.enumerated().map { tensor($1.count, 3, 40 + $0) }
        /// L = Σ ⟨dH, weightedSwiglu(u)⟩, whose gradients the backward gives.
        func loss(_ ups: [DenseTensor], _ route: NumericExecutor.Route) -> Double {
            var e2 = e
            var total = 0.0
            for (out, dh) in zip(e2.weightedSwiglu(ups, route), dHs) { for (a, b) in zip(out.values, dh.values) { total += a * b } }
            return total
        }
        let (hs, dUps, dScores) = e.weightedSwigluBackward(ups, dHs, route)
        #expect(zip(hs, e.weightedSwiglu(ups, route)).allSatisfy { $0.values == $1.values })
        let step = 1e-6
        for (x, u) in ups.enumerated() {
            for i in u.values.indices {
                var plus = ups, minus = ups
                plus[x].values[i] += step; minus[x].values[i] -= step
                let numeric = (loss(plus, route) - loss(minus, route)) / (2 * step)
                #expect(abs(numeric - dUps[x].values[i]) < 1e-7, "du[\(x)][\(i)]")
            }
        }
        // dScores[t, e] = (∂L/∂w of that row) × w.
        for (x, members) in route.members.enumerated() {
            for member in members {
                let k = member.token * route.routing.topK + member.slot
                let w = route.routing.weights[k]
                var plus = route, minus = route
                plus.routing.weights[k] += step; minus.routing.weights[k] -= step
                let dw = (loss(ups, plus) - loss(ups, minus)) / (2 * step)
                #expect(abs(dw * w - dScores[member.token, x]) < 1e-7, "expert \(x), token \(member.token)")
            }
        }
    }
}
