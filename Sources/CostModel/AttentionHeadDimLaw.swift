import ConfigIO
import Kernels

/// How a fused attention kernel's rate changes with its head dimensions on the GPU it was
/// calibrated on: per score (one query–key pair), the tile spends its MMAs' time plus a fixed
/// time for the softmax around them (the exponential, the running maximum and sum, the
/// rescaling and the conversion back to BF16), which small head dimensions cannot hide. As a
/// fraction of the tensor-core rate the kernel runs at F / (F + F₀), where F is the MMA FLOPs per
/// score (`FLOPCount.attentionFLOPsPerScore`: forward 2·(d_qk + d_v); backward, five MMAs,
/// 2·(3·d_qk + 2·d_v)) and F₀ the fixed time in tensor FLOPs (`score_overhead_flops`).
///
/// F₀ is fitted to FlashAttention-3's own measurements on the H100 SXM5 (Shah et al., arXiv
/// 2407.08608, Figures 5 and 6, BF16, 4,096 tokens): the causal forward runs at 420 TFLOPS at
/// head dimension 64 and 579 at 128 (F₀ = 312 FLOPs), the backward at 453 and 542 (F₀ = 313).
/// The two passes agree, which is what a fixed per-score time predicts; at 16K tokens the
/// forward's ratio gives 222 and the backward's 144 (longer sequences hide more of it).
///
/// The calibration's figures are measured at one shape (DeepSeek's trace: d_qk 192, d_v 128), so
/// a record is priced at the calibrated rate times g(F) / g(F_cal), g(F) = F / (F + F₀), at most
/// 1: FlashAttention-3 gains nothing past the calibration's shape (its causal forward at head
/// dimension 256 runs 612 TFLOPS at 4,096 tokens, below the trace's 654 carried to all 132
/// SMs), its tiles shrinking to fit the registers. From the trace's forward the law prices head
/// dimension 128 at 605 TFLOPS (FlashAttention-3: 579) and 64 at 439 (420), both 4.4 % above:
/// the trace's kernel is that much faster than FlashAttention-3's figures at either shape.
///
/// It holds on the calibration GPU's SM design (the Hopper SM: H100, H800, H200), where it was
/// measured; elsewhere the kernels differ (FlashAttention-2 on Ampere, FlashAttention-4 and
/// cuDNN on Blackwell, which overlap the softmax with the MMAs differently) and no measurement
/// across head dimensions is catalogued, so they keep the calibrated rate at every shape (and
/// the tile roofline's device scale, `AttentionRoofline`).
public struct AttentionHeadDimLaw: Sendable, Equatable {
    /// Head dimensions of the query–key and value at which the calibration's attention figures
    /// were measured.
    public var calibrationQKDim: Int
    public var calibrationVDim: Int
    /// F₀: the per-score time outside the MMAs, in tensor-core FLOPs. 0 turns the law off.
    public var scoreOverheadFLOPs: Double

    public init(calibrationQKDim: Int, calibrationVDim: Int, scoreOverheadFLOPs: Double) {
        self.calibrationQKDim = calibrationQKDim
        self.calibrationVDim = calibrationVDim
        self.scoreOverheadFLOPs = scoreOverheadFLOPs
    }

    /// The fraction of the tensor-core rate the kernel reaches at F MMA FLOPs per score.
    func share(_ f: Double) -> Double { f / (f + scoreOverheadFLOPs) }

    /// The record's rate over the calibrated rate: g(F) / g(F_cal), at most 1.
    public func scale(qkDim: Int, vDim: Int, backward: Bool) -> Double {
        let f = FLOPCount.attentionFLOPsPerScore(qk: qkDim, v: vDim, backward: backward)
        let calibrated = FLOPCount.attentionFLOPsPerScore(qk: calibrationQKDim, v: calibrationVDim, backward: backward)
        return min(1, share(f) / share(calibrated))
    }

    static let keys = ["calibration_head_dims", "score_overhead_flops"]

    /// `{calibration_head_dims: [d_qk, d_v], score_overhead_flops: F₀}`.
    static func parse(_ v: ConfigValue) throws -> AttentionHeadDimLaw {
        try v.requireKnownKeys(keys)
        let dims = try v.required("calibration_head_dims")
        let sides = try dims.elements().map { try $0.int() }
        guard sides.count == 2, sides.allSatisfy({ $0 > 0 }) else {
            throw dims.error("expected the query–key and value head dimensions, two positive integers", fix: "write e.g. calibration_head_dims: [192, 128]")
        }
        return AttentionHeadDimLaw(calibrationQKDim: sides[0], calibrationVDim: sides[1],
                                   scoreOverheadFLOPs: try v.positiveDouble("score_overhead_flops", allowZero: true))
    }
}
