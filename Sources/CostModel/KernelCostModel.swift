import Foundation
import Hardware
import Kernels

/// Operation record + device → duration: a roofline (FLOP/s and bytes/s) times a measured
/// efficiency that depends on the kernel, its shape, its precision and the SMs it gets.
///
/// - FP8 dense GEMM: efficiency of the nearest DeepGEMM row in (log M, log N, log K), rows
///   beyond M = 4096 treated as M = 4096 (throughput saturates); weight-gradient GEMMs with
///   DeepSeek's tile scaling use the trace's wgrad throughput, those with one scale per tensor
///   (Transformer Engine) are plain FP8 GEMMs and use the dense rows like the others. Grouped GEMMs use the nearest DeepGEMM grouped row by (N, K),
///   or the dense table with M per group when groups are small.
/// - BF16/FP32 GEMMs: a flat efficiency (no first-party table), but never faster than
///   streaming their operands and output at the element-wise HBM efficiency (the batched
///   GEMMs of a materialized attention, small-M GEMMs).
/// - Attention: the trace's FlashAttention throughput, scaled by the device's BF16 peak.
/// - Memory-bound kernels: bytes / (peak HBM bandwidth × measured efficiency).
/// Compute throughput scales linearly with the SMs the kernel runs on (`computeSMs`).
/// Communication records are not priced here (the fabric does that).
public struct KernelCostModel: Sendable {
    public var device: Device
    public var calibration: KernelCalibration
    /// SMs left for compute (device SMs minus those reserved for communication).
    public var computeSMs: Int

    public init(device: Device, calibration: KernelCalibration, communicationSMs: Int) throws {
        guard communicationSMs >= 0, communicationSMs < device.smCount else {
            throw KernelError("communication SMs", "\(communicationSMs) of \(device.smCount) SMs", fix: "reserve between 0 and \(device.smCount - 1) SMs")
        }
        self.device = device
        self.calibration = calibration
        computeSMs = device.smCount - communicationSMs
    }

    /// Fraction of the device's SMs compute kernels get; calibration rows are at fraction 1
    /// (132 of 132) or 112/132 (the trace), and throughput scales with the fraction.
    var smFraction: Double { Double(computeSMs) / Double(device.smCount) }
    /// The SM fraction the trace's kernels ran at.
    var traceFraction: Double { 112 / Double(calibration.calibrationSMs) }

    /// Seconds the record's kernel takes on the compute SMs.
    public func duration(_ r: OperationRecord) -> Double {
        guard !r.kind.isCommunication else { return 0 }
        let t: Double
        switch r.kind {
        case .gemm, .groupedGemm:
            // The shape-blind BF16/FP32 efficiency needs at least the time to stream the
            // operands; the FP8 rows are measured kernels, memory effects included.
            let compute = r.flops / gemmRate(r)
            t = device.peak(r.precision).runsAs == .fp8 ? compute : max(compute, streaming(r))
        case .attention:
            t = r.flops / (calibration.attentionForwardTFLOPSAt112 * 1e12 / 989.4e12 * device.peak(.bf16).flops * smFraction / traceFraction)
        case .attentionBackward:
            t = r.flops / (calibration.attentionBackwardTFLOPSAt112 * 1e12 / 989.4e12 * device.peak(.bf16).flops * smFraction / traceFraction)
        case .cast: t = bytes(r) / (device.hbmBandwidth * calibration.castEfficiency)
        case .norm: t = bytes(r) / (device.hbmBandwidth * calibration.normEfficiency)
        case .permute: t = bytes(r) / (device.hbmBandwidth * calibration.permuteEfficiency)
        default: t = streaming(r)
        }
        return max(t, calibration.minimumKernelTime)
    }

    func bytes(_ r: OperationRecord) -> Double { r.bytesRead + r.bytesWritten }

    /// Seconds to stream the record's bytes at the element-wise HBM efficiency.
    func streaming(_ r: OperationRecord) -> Double { bytes(r) / (device.hbmBandwidth * calibration.elementwiseEfficiency) }

    /// FLOP/s of a GEMM record.
    public func gemmRate(_ r: OperationRecord) -> Double {
        let peak = device.peak(r.precision)
        guard peak.runsAs == .fp8, let g = r.gemm else {
            return peak.flops * calibration.bf16GEMMEfficiency * smFraction
        }
        let fp8Peak = 1978.9e12        // the calibration GPU's dense FP8 peak (H800/H100 SXM)
        let efficiency: Double
        if r.name.hasSuffix(".wgrad"), !g.tensorScaled {
            efficiency = calibration.fp8WgradTFLOPSAt112 * 1e12 / fp8Peak / traceFraction
        } else if r.kind == .groupedGemm, g.groups > 1 {
            let perGroup = max(1, g.totalRows / g.groups)
            if perGroup >= 1024, let row = nearestGrouped(n: g.n, k: g.k) {
                efficiency = row.tflops * 1e12 / fp8Peak
            } else {
                efficiency = nearestDense(m: perGroup, n: g.n, k: g.k).tflops * 1e12 / fp8Peak
            }
        } else {
            efficiency = nearestDense(m: g.m, n: g.n, k: g.k).tflops * 1e12 / fp8Peak
        }
        return peak.flops * efficiency * smFraction
    }

    func nearestDense(m: Int, n: Int, k: Int) -> KernelCalibration.DenseRow {
        func d(_ a: Int, _ b: Int) -> Double { let x = log2(Double(max(a, 1))) - log2(Double(b)); return x * x }
        let mm = min(m, 4096)
        return calibration.fp8Dense.min { d(mm, $0.m) + d(n, $0.n) + d(k, $0.k) < d(mm, $1.m) + d(n, $1.n) + d(k, $1.k) }!
    }

    func nearestGrouped(n: Int, k: Int) -> KernelCalibration.GroupedRow? {
        func d(_ a: Int, _ b: Int) -> Double { let x = log2(Double(max(a, 1))) - log2(Double(b)); return x * x }
        return calibration.fp8Grouped.min { d(n, $0.n) + d(k, $0.k) < d(n, $1.n) + d(k, $1.k) }
    }
}
