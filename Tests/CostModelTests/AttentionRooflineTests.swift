import ConfigIO
import Foundation
import Testing
import Hardware
@testable import Kernels
@testable import CostModel

/// FlashAttention's tile roofline over tensor cores, exponential units and shared memory
/// (FlashAttention-4, Zadouri et al., arXiv 2603.05451, "feeds and speeds" on the B200: per SM
/// per clock 8,192 BF16 FLOPs, 16 exponentials, 128 shared-memory bytes).
@Suite struct AttentionRooflineTests {
    let b200 = SMThroughput(bf16TensorFLOPs: 8192, exp2: 16, sharedMemoryBytes: 128)
    let h100 = SMThroughput(bf16TensorFLOPs: 4096, exp2: 16, sharedMemoryBytes: 128)

    func clocks(_ t: AttentionRoofline.TileDemand, _ sm: SMThroughput) -> [Double] {
        [t.tensorFLOPs / sm.bf16TensorFLOPs, t.exponentials / sm.exp2, t.sharedMemoryBytes / sm.sharedMemoryBytes]
    }

    /// The paper's table at M = N = D = 128: forward 1,024 / 1,024 / 768 clocks, backward (one
    /// CTA) 2,560 / 1,024 / 3,328; so the forward is tensor-bound (tied with the exponentials)
    /// and the backward shared-memory-bound at 2,560 / 3,328 of its tensor rate.
    @Test("FlashAttention-4's B200 tile: forward 1024/1024/768 clocks, backward 2560/1024/3328")
    func paperTileCounts() {
        let forward = AttentionRoofline.tile(qkDim: 128, vDim: 128, backward: false)
        let backward = AttentionRoofline.tile(qkDim: 128, vDim: 128, backward: true)
        #expect(clocks(forward, b200) == [1024, 1024, 768])
        #expect(clocks(backward, b200) == [2560, 1024, 3328])
        #expect(AttentionRoofline.bound(forward, on: b200) == (1, .tensorCores))
        let bwd = AttentionRoofline.bound(backward, on: b200)
        #expect(bwd.resource == .sharedMemory && abs(bwd.fraction - 2560.0 / 3328) < 1e-15)
        // The H100 takes twice the tensor clocks and the same others: tensor-bound both ways.
        #expect(clocks(backward, h100) == [5120, 1024, 3328])
        #expect(AttentionRoofline.bound(forward, on: h100).fraction == 1 && AttentionRoofline.bound(backward, on: h100).fraction == 1)
    }

    /// Head dimension 64 halves the MMAs but not the exponentials: on the B200 the forward
    /// waits on the exponential units (512 tensor clocks against 1,024), on the H100 they tie.
    /// The backward's shared memory scales with the MMA work (the assumption the paper's single
    /// count at d = 128 leaves), so its bound is the same at every head dimension; MLA's
    /// 192/128 forward is tensor-bound on both.
    @Test func headDimensionsMoveTheBound() {
        let small = AttentionRoofline.tile(qkDim: 64, vDim: 64, backward: false)
        #expect(AttentionRoofline.bound(small, on: b200) == (0.5, .exponentials))
        #expect(AttentionRoofline.bound(small, on: h100).fraction == 1)
        let mlaBackward = AttentionRoofline.tile(qkDim: 192, vDim: 128, backward: true)
        #expect(abs(AttentionRoofline.bound(mlaBackward, on: b200).fraction - 2560.0 / 3328) < 1e-12)
        #expect(AttentionRoofline.bound(AttentionRoofline.tile(qkDim: 192, vDim: 128, backward: false), on: b200).fraction == 1)
    }

    /// Blackwell Ultra (the catalog's GB300) doubles the exponential units (32 per clock): the
    /// head-dimension-64 forward, which waits on them on the B200 (1,024 clocks against 512),
    /// is tensor-bound again (512 against 512); at head dimension 128 nothing moves: the
    /// forward was tensor-bound already and the backward stays bound by shared memory.
    @Test func blackwellUltraExponentials() throws {
        let gb300 = try #require(try HardwareCatalog.builtIn().device("GB300-279GB").smThroughput)
        #expect(gb300 == SMThroughput(bf16TensorFLOPs: 8192, exp2: 32, sharedMemoryBytes: 128))
        let small = AttentionRoofline.tile(qkDim: 64, vDim: 64, backward: false)
        #expect(clocks(small, gb300) == [512, 512, 384])
        #expect(AttentionRoofline.bound(small, on: gb300) == (1, .tensorCores))
        #expect(AttentionRoofline.bound(AttentionRoofline.tile(qkDim: 128, vDim: 128, backward: false), on: gb300) == (1, .tensorCores))
        let backward = AttentionRoofline.bound(AttentionRoofline.tile(qkDim: 128, vDim: 128, backward: true), on: gb300)
        #expect(backward.resource == .sharedMemory && abs(backward.fraction - 2560.0 / 3328) < 1e-15)
    }

    /// In the cost model: the B200's backward at 0.769 of its share of the BF16 peak (its
    /// forward, and every pass on the H800 and the A100, unchanged), nothing under
    /// `attention_ceiling: peak`, nothing on a device without per-SM figures (MI300X); and the
    /// calibration GPU's figures are the catalog's H800 entry.
    @Test("B200 attention backward at 2560/3328 of its peak share; H800, A100, MI300X and peak unchanged")
    func costModelScale() throws {
        let catalog = try HardwareCatalog.builtIn()
        let calibration = try KernelCalibration.hopper()
        let units = try KernelCostModel(device: catalog.device("B200-SXM-180GB"), calibration: calibration, communicationSMs: 0)
        let peak = try KernelCostModel(device: catalog.device("B200-SXM-180GB"), calibration: calibration, communicationSMs: 0, attentionCeiling: .peak)
        let backward = attentionRecord(backward: true)
        #expect(abs(units.attentionUnitsScale(backward).scale - 2560.0 / 3328) < 1e-12)
        #expect(abs(units.duration(backward) / peak.duration(backward) - 3328.0 / 2560) < 1e-12)
        #expect(units.duration(attentionRecord(backward: false)) == peak.duration(attentionRecord(backward: false)))
        for id in ["H800-SXM5-80GB", "A100-SXM4-80GB", "MI300X-192GB"] {
            let m = try KernelCostModel(device: catalog.device(id), calibration: calibration, communicationSMs: 0)
            #expect(m.attentionUnitsScale(backward).scale == 1 && m.attentionUnitsScale(attentionRecord(backward: false, qk: 64, v: 64)).scale == 1, "\(id)")
        }
        #expect(try catalog.device("H800-SXM5-80GB") == calibration.device)
    }

    /// The calibration file names the GPU it was measured on (`calibration_device`), and the
    /// cost model carries its figures as fractions of that GPU's peaks: the same attention
    /// figure measured on an A100 (on its 108 SMs) prices the A100's attention 989.4 / 312 ×
    /// 108 / 132 times as fast as when the H800 measured it. An unknown device, or more SMs than
    /// it has, is an error naming the key.
    @Test func calibrationDeviceSetsTheReference() throws {
        let text = try String(contentsOfFile: try KernelCalibration.shippedPath(), encoding: .utf8)
        func parsed(_ device: String, sms: Int) throws -> KernelCalibration {
            let edited = text.replacingOccurrences(of: "calibration_device: H800-SXM5-80GB", with: "calibration_device: \(device)")
                .replacingOccurrences(of: "calibration_sms: 132", with: "calibration_sms: \(sms)")
            return try KernelCalibration.parse(try ConfigValue.parse(edited, file: "cal.yaml"))
        }
        let catalog = try HardwareCatalog.builtIn(), calibration = try KernelCalibration.hopper()
        let a100 = try catalog.device("A100-SXM4-80GB")
        let onA100 = try KernelCostModel(device: a100, calibration: try parsed("A100-SXM4-80GB", sms: 108), communicationSMs: 0)
        let onH800 = try KernelCostModel(device: a100, calibration: calibration, communicationSMs: 0)
        // At the calibration's head dimensions: the head-dimension law, which follows the
        // calibration GPU's SM, leaves it alone on either.
        let r = attentionRecord(backward: false, qk: 192, v: 128)
        #expect(abs(onH800.duration(r) / onA100.duration(r) - 989.4 / 312 * 108 / 132) < 1e-9)
        for (device, sms, message) in [("H800-SXM5-80G", 132, "unknown calibration device 'H800-SXM5-80G'"), ("A100-SXM4-80GB", 132, "132 SMs, but the NVIDIA A100")] {
            do { _ = try parsed(device, sms: sms); Issue.record("accepted \(device) with \(sms) SMs") }
            catch let e as ConfigError { #expect(e.description.contains(message), "\(e.description)") }
        }
    }
}
