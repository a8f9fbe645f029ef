import ConfigIO
import Foundation
import Testing
import Hardware
@testable import Kernels
@testable import CostModel

/// Fused attention's rate across head dimensions on the Hopper SM (`AttentionHeadDimLaw`),
/// fitted to FlashAttention-3's measurements (Shah et al., arXiv 2407.08608, Fig. 5 and 6: H100
/// SXM5, BF16, 4,096 tokens; causal forward 420 TFLOPS at head dim 64 and 579 at 128, backward
/// 453 and 542).
@Suite struct AttentionHeadDimLawTests {
    let law = AttentionHeadDimLaw(calibrationQKDim: 192, calibrationVDim: 128, scoreOverheadFLOPs: 312)

    /// A fixed per-score time F0 makes the rate F / (F + F0); two head dimensions' rates give
    /// F0 = F128 (r − 1) / (2 − r) with r their ratio (F128 = 2 F64). The forward's and the
    /// backward's measurements give 312 and 313: the file's 312.
    @Test("F0 from FlashAttention-3's head dims 64 and 128: forward 312, backward 313")
    func fitFromFlashAttention3() {
        func fit(_ d64: Double, _ d128: Double, flopsAt128: Double) -> Double {
            let r = d128 / d64
            return flopsAt128 * (r - 1) / (2 - r)
        }
        let forward = fit(420, 579, flopsAt128: FLOPCount.attentionFLOPsPerScore(qk: 128, v: 128, backward: false))
        let backward = fit(453, 542, flopsAt128: FLOPCount.attentionFLOPsPerScore(qk: 128, v: 128, backward: true))
        #expect(abs(forward - 311.9) < 0.1 && abs(backward - 313.0) < 0.1, "\(forward) \(backward)")
        // The law then reproduces the measured ratios from the shipped F0.
        let f = AttentionHeadDimLaw(calibrationQKDim: 128, calibrationVDim: 128, scoreOverheadFLOPs: 312)
        #expect(abs(f.scale(qkDim: 64, vDim: 64, backward: false) - 420.0 / 579) < 0.001)
        #expect(abs(f.scale(qkDim: 64, vDim: 64, backward: true) - 453.0 / 542) < 0.001)
    }

    /// From the calibration's d 192/128: head dim 128 at (512/824)/(640/952) forward and
    /// (1280/1592)/(1664/1976) backward, 64 at (256/568)/(640/952) and (640/952)/(1664/1976);
    /// the calibration's own shape at 1, larger shapes capped at 1, and F0 = 0 turns it off.
    @Test("scales: d128 0.924 / 0.955, d64 0.670 / 0.798, calibration shape and d256 at 1")
    func scalesByHand() {
        func near(_ a: Double, _ b: Double) -> Bool { abs(a - b) < 1e-12 }
        #expect(near(law.scale(qkDim: 128, vDim: 128, backward: false), (512.0 / 824) / (640.0 / 952)))
        #expect(near(law.scale(qkDim: 128, vDim: 128, backward: true), (1280.0 / 1592) / (1664.0 / 1976)))
        #expect(near(law.scale(qkDim: 64, vDim: 64, backward: false), (256.0 / 568) / (640.0 / 952)))
        #expect(near(law.scale(qkDim: 64, vDim: 64, backward: true), (640.0 / 952) / (1664.0 / 1976)))
        #expect(law.scale(qkDim: 192, vDim: 128, backward: false) == 1 && law.scale(qkDim: 192, vDim: 128, backward: true) == 1)
        #expect(law.scale(qkDim: 256, vDim: 256, backward: false) == 1 && law.scale(qkDim: 256, vDim: 256, backward: true) == 1)
        let off = AttentionHeadDimLaw(calibrationQKDim: 192, calibrationVDim: 128, scoreOverheadFLOPs: 0)
        #expect(off.scale(qkDim: 64, vDim: 64, backward: false) == 1)
    }

    /// In the cost model: on the H100 and H200 (the H800's SM) the same FLOPs at head dim 64
    /// take 1 / 0.670 as long forward as at 192/128; on the A100 and the B200 (other SMs, other
    /// kernels) the law is not applied; `llmsim kernels` names the factor.
    @Test("H100/H200 head dim 64 priced 1/0.670 slower; A100, B200 unchanged")
    func costModel() throws {
        let catalog = try HardwareCatalog.builtIn(), calibration = try KernelCalibration.hopper()
        #expect(calibration.attentionHeadDimLaw == law)
        for id in ["H100-SXM5-80GB", "H200-SXM-141GB"] {
            let m = try KernelCostModel(device: catalog.device(id), calibration: calibration, communicationSMs: 0)
            let small = m.priced(attentionRecord(backward: false, qk: 64, v: 64)), reference = m.priced(attentionRecord(backward: false, qk: 192, v: 128))
            #expect(abs(small.seconds / reference.seconds - 1 / law.scale(qkDim: 64, vDim: 64, backward: false)) < 1e-12, "\(id)")
            #expect(small.deviceScale?.reason == "head dims 64/64" && reference.deviceScale == nil, "\(id)")
        }
        for id in ["A100-SXM4-80GB", "B200-SXM-180GB"] {
            let m = try KernelCostModel(device: catalog.device(id), calibration: calibration, communicationSMs: 0)
            #expect(m.attentionHeadDimScale(attentionRecord(backward: true, qk: 64, v: 64)) == 1, "\(id)")
        }
    }

    /// Bad input names the key: head dims that are not two positive integers, an unknown key.
    @Test func badLawIsAnError() throws {
        let text = try String(contentsOfFile: try KernelCalibration.shippedPath(), encoding: .utf8)
        let shipped = "attention_head_dim_law: {calibration_head_dims: [192, 128], score_overhead_flops: 312}"
        #expect(text.contains(shipped))
        for (replacement, message) in [("attention_head_dim_law: {calibration_head_dims: [192], score_overhead_flops: 312}", "two positive integers"),
                                       ("attention_head_dim_law: {calibration_head_dims: [192, 128], overhead: 312}", "overhead")] {
            do {
                _ = try KernelCalibration.parse(try ConfigValue.parse(text.replacingOccurrences(of: shipped, with: replacement), file: "cal.yaml"))
                Issue.record("accepted \(replacement)")
            } catch let e as ConfigError { #expect(e.description.contains(message), "\(e.description)") }
        }
    }
}
