import Hardware
import Kernels

/// The precisions DeepSeek-V3 trains in (report §3.3.1, §1.7 of the reference): FP8 for the
/// Linears of attention and FFN in all three GEMMs; BF16 for embedding, output head and core
/// attention; FP32 for the MoE gate.
public struct PrecisionPolicy: Sendable, Codable, Equatable {
    public var linear: Precision
    public var head: Precision
    public var gate: Precision

    public init(linear: Precision, head: Precision = .bf16, gate: Precision = .fp32) {
        self.linear = linear; self.head = head; self.gate = gate
    }

    public static let deepSeekFP8 = PrecisionPolicy(linear: .fp8)
    public static let bf16 = PrecisionPolicy(linear: .bf16)
}

/// The weights of one layer, as shapes and precisions (values live in the numeric executor).
struct LayerWeights {
    var wqA: Weight, wqB: Weight, wkvA: Weight, wkvB: Weight, wo: Weight
    var denseUp: Weight?, denseDown: Weight?
    var gate: Weight?, expertUp: Weight?, expertDown: Weight?, sharedUp: Weight?, sharedDown: Weight?

    init(_ arch: ModelArchitecture, mla m: MLAShape, layer: Int, policy p: PrecisionPolicy) {
        let d = arch.hiddenSize, h = m.heads, qk = m.qkNopeHeadDim + m.qkRopeHeadDim
        let r = m.qLoraRank ?? d
        wqA = Weight("wq_a", d, r, precision: p.linear)
        wqB = Weight("wq_b", r, h * qk, precision: p.linear)
        wkvA = Weight("wkv_a", d, m.kvLoraRank + m.qkRopeHeadDim, precision: p.linear)
        wkvB = Weight("wkv_b", m.kvLoraRank, h * (m.qkNopeHeadDim + m.vHeadDim), precision: p.linear)
        wo = Weight("wo", h * m.vHeadDim, d, precision: p.linear)
        if let moe = arch.moe, moe.isMoE(layer: layer) {
            gate = Weight("gate", d, moe.routedExperts, precision: p.gate)
            expertUp = Weight("experts.up", d, 2 * moe.expertIntermediateSize, precision: p.linear)
            expertDown = Weight("experts.down", moe.expertIntermediateSize, d, precision: p.linear)
            if moe.sharedExperts > 0 {
                let i = moe.sharedExperts * moe.expertIntermediateSize
                sharedUp = Weight("shared.up", d, 2 * i, precision: p.linear)
                sharedDown = Weight("shared.down", i, d, precision: p.linear)
            }
        } else {
            denseUp = Weight("ffn.up", d, 2 * arch.denseIntermediateSize, precision: p.linear)
            denseDown = Weight("ffn.down", arch.denseIntermediateSize, d, precision: p.linear)
        }
    }
}
