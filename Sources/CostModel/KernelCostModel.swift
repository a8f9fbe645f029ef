import Foundation
import Hardware
import Kernels

/// Operation record + device → duration: a roofline (FLOP/s and bytes/s) times a measured
/// efficiency that depends on the kernel, its shape, its precision and the SMs it gets.
///
/// - FP8 dense GEMM: efficiency of the nearest DeepGEMM row in (log M, log N, log K), rows
///   beyond M = 4096 treated as M = 4096 (throughput saturates); weight-gradient GEMMs with
///   DeepSeek's tile scaling use the trace's wgrad throughput, those with one scale per tensor
///   (Transformer Engine) are plain FP8 GEMMs and use the dense rows like the others. Grouped
///   GEMMs use the nearest DeepGEMM grouped row by (N, K), or the dense table with M per group
///   when groups are small. On GPUs with Blackwell's SM every FP8 GEMM (dense, grouped, weight
///   gradient) takes the nearest measured Blackwell FP8 row's rate per busy SM instead
///   (`fp8_gemm_tflops_blackwell`, OpenXLA's sm_100 FP8 table), as BF16 GEMMs do below.
///   MXFP8 and NVFP4 GEMMs run at their measured rates over the FP8 row of their shape.
/// - BF16/FP32 GEMMs: the nearest measured BF16 row's (or its transpose's) rate per SM its tiles
///   kept busy (`bf16_gemm_tflops`, OpenXLA's sm_90 table in the shipped file, its batched rows
///   standing for M = 8,192 and 16,384 past its 4,096 edge; on GPUs with Blackwell's SM
///   `bf16_gemm_tflops_blackwell`, its sm_100 table), or a flat efficiency
///   per busy SM in a calibration without rows; either on the SMs the GEMM's output tiles keep busy wave by wave
///   (`tileOccupancy`), but never faster than streaming their operands and output at the
///   element-wise HBM efficiency (the batched GEMMs of a materialized attention, small-M GEMMs).
/// - With `gemm_ceiling: measured`, every GEMM keeps on another device its fraction of the
///   calibration GPU's measured best matmul rate (`matmulCeilingScale`) instead of its
///   fraction of peak (the default).
/// - Attention: the trace's FlashAttention throughput, scaled by the device's BF16 peak and,
///   with `attention_ceiling: units` (the default), by how far the scarcest of the SM's tensor
///   cores, exponential units and shared memory holds a tile below its tensor rate on this
///   device compared with the H800 (`attentionUnitsScale`, `AttentionRoofline`).
/// - Memory-bound kernels: bytes / (peak HBM bandwidth × measured efficiency).
/// Compute throughput scales linearly with the SMs the kernel runs on (`computeSMs`).
/// Communication records are not priced here (the fabric does that).
public struct KernelCostModel: Sendable {
    public var device: Device
    public var calibration: KernelCalibration
    /// SMs left for compute (device SMs minus those reserved for communication).
    public var computeSMs: Int
    /// What a GEMM calibrated on the H800 keeps on another device (`matmulCeilingScale`).
    public var gemmCeiling: GEMMCeiling
    /// What attention calibrated on the H800 keeps on another device (`attentionUnitsScale`).
    public var attentionCeiling: AttentionCeiling

    public init(device: Device, calibration: KernelCalibration, communicationSMs: Int, gemmCeiling: GEMMCeiling = .peak,
                attentionCeiling: AttentionCeiling = .units) throws {
        guard communicationSMs >= 0, communicationSMs < device.smCount else {
            throw KernelError("communication SMs", "\(communicationSMs) of \(device.smCount) SMs", fix: "reserve between 0 and \(device.smCount - 1) SMs")
        }
        self.device = device
        self.calibration = calibration
        computeSMs = device.smCount - communicationSMs
        self.gemmCeiling = gemmCeiling
        self.attentionCeiling = attentionCeiling
    }

    /// Fraction of the device's SMs compute kernels get; calibration rows are at fraction 1
    /// (132 of 132) or 112/132 (the trace), and throughput scales with the fraction.
    var smFraction: Double { Double(computeSMs) / Double(device.smCount) }

    /// This model with `n` more SMs taken from the compute (by a collective's kernel beside it).
    public func leavingSMs(_ n: Int) -> KernelCostModel {
        var m = self
        m.computeSMs -= n
        return m
    }
    /// SMs the compute kernels of DeepSeek's trace ran on: its persistent GEMMs' grids, the
    /// H800's 132 less the 20 DeepEP takes (V3 report §3.2.2).
    static let traceComputeSMs = 112
    /// The SM fraction the trace's kernels ran at.
    var traceFraction: Double { Double(Self.traceComputeSMs) / Double(calibration.calibrationSMs) }

    /// Seconds the record's kernel takes on the compute SMs.
    public func duration(_ r: OperationRecord) -> Double { priced(r).seconds }

    /// Seconds the record's kernel takes on the compute SMs, the calibration figure that set
    /// them, and the factor that carried the figure to this device, if any (`KernelPrice`;
    /// `duration` is its seconds).
    public func priced(_ r: OperationRecord) -> KernelPrice {
        guard !r.kind.isCommunication else { return KernelPrice(seconds: 0, figure: .communication) }
        if let b = r.bookkeeping {
            // A figure of 0 says the implementation runs no such kernels: no shortest kernel then.
            let p = bookkeeping(b)
            return p.seconds == 0 ? p : atLeastShortestKernel(p)
        }
        var t: Double, figure: PricingFigure, scale: DeviceScale? = nil
        switch r.kind {
        case .gemm, .groupedGemm:
            // The shape-blind BF16/FP32 efficiency needs at least the time to stream the
            // operands; the FP8 rows are measured kernels, memory effects included.
            let (rate, gemmFigure) = calibratedGEMMPricing(r)
            let ceiling = matmulCeilingScale(r.precision)
            (t, figure) = (r.flops / (rate * ceiling), gemmFigure)
            let kernels = blockScaledKernelScale(r)
            scale = .product([.unlessOne(ceiling, "gemm_ceiling: measured"), .unlessOne(kernels.scale, kernels.reason)])
            if !device.peak(r.precision).runsAs.isQuantized, streaming(r) > t { (t, figure, scale) = (streaming(r), .figure(.elementwise), nil) }
        case .attention, .attentionBackward:
            let forward = r.kind == .attention
            let measured = forward ? calibration.attentionForwardTFLOPSAt112 : calibration.attentionBackwardTFLOPSAt112
            scale = attentionScale(r)
            (t, figure) = (r.flops / (attentionRate(measured) * (scale?.factor ?? 1)), .figure(forward ? .attentionForward : .attentionBackward))
        case .cast:
            let cast = castBandwidth(r.quantization)
            scale = .unlessOne(cast.nvfp4, "NVFP4 quantization")
            (t, figure) = (bytes(r) / (device.hbmBandwidth * cast.fraction * cast.nvfp4), .figure(cast.figure))
        case .dispatchCast: (t, figure) = (bytes(r) / (device.hbmBandwidth * calibration.dispatchCastEfficiency), .figure(.dispatchCast))
        case .norm: (t, figure) = (bytes(r) / (device.hbmBandwidth * calibration.normEfficiency), .figure(.norm))
        case .permute: (t, figure) = (bytes(r) / (device.hbmBandwidth * calibration.permuteEfficiency), .figure(.permute))
        default:
            if r.kind == .router, let s = r.selection { (t, figure) = (streaming(r) + topK(s), .figure(.routerTopK)) }
            else { (t, figure) = (streaming(r), .figure(.elementwise)) }
        }
        return atLeastShortestKernel(KernelPrice(seconds: t, figure: figure, deviceScale: scale))
    }

    /// A cast's HBM bandwidth as a fraction of the peak, the figure that sets it, and NVFP4's
    /// factor on it: Transformer Engine's block-scaled casts (MXFP8, NVFP4) at their measured
    /// `mxfp8_cast_efficiency`, NVFP4's at `nvfp4_cast_bandwidth_over_mxfp8` of it; DeepSeek's and
    /// per-tensor scaling's at the trace's cast figure.
    func castBandwidth(_ recipe: QuantizationRecipe?) -> (fraction: Double, figure: KernelCalibration.Figure, nvfp4: Double) {
        let nvfp4 = recipe == .nvfp4 ? calibration.nvfp4CastBandwidthOverMXFP8 : 1
        return recipe?.needsMicroscalingTensorCores == true ? (calibration.mxfp8CastEfficiency, .mxfp8Cast, nvfp4) : (calibration.castEfficiency, .cast, nvfp4)
    }

    /// A kernel's price, or the shortest measured launch (`minimum_kernel_us`) when it would be
    /// shorter.
    func atLeastShortestKernel(_ p: KernelPrice) -> KernelPrice {
        p.seconds < calibration.minimumKernelTime ? KernelPrice(seconds: calibration.minimumKernelTime, figure: .figure(.minimumKernel)) : p
    }

    func bytes(_ r: OperationRecord) -> Double { r.bytesRead + r.bytesWritten }

    /// Seconds to stream the record's bytes at the element-wise HBM efficiency.
    func streaming(_ r: OperationRecord) -> Double { bytes(r) / (device.hbmBandwidth * calibration.elementwiseEfficiency) }

    /// Dense BF16 and FP8 peaks of the GPU the calibration was measured on (its
    /// `calibration_device`; the shipped file's H800: 989.4 and 1,978.9 TFLOPS), FLOP/s.
    var calibrationPeak: (bf16: Double, fp8: Double) {
        let d = calibration.device
        return (d.peak(.bf16).flops, d.peak(.fp8).flops)
    }

    /// A GEMM's rate on this device relative to what the calibration's fraction of peak gives.
    /// With `gemmCeiling` `.measured`, the kernel reaches the same fraction of the device's
    /// measured best matmul rate (`Device.achievableMatmulFraction`, Bekman's MAMF) as it
    /// reached of the calibration GPU's: the best rate over the peak falls as GPUs get faster
    /// (BF16: A100 0.87, H100 0.80, B200 0.78, GB200 0.73, MI300X 0.51). With `.peak` (the
    /// default), on a device without a measured rate (H100 PCIe, H20) or a calibration device
    /// without one, and on the calibration device itself (for the shipped file the H800, and
    /// the H100 of the same die), 1: the calibration's fraction of the device's peak. The
    /// default stays `.peak` because the published checks do not bear the measured ceiling out: it moves the A100
    /// rows of `llmsim validate` from a mean of +1.4 % to −4.1 % (the 1T interleaved step to
    /// −11.8 %) and NVIDIA's Blackwell rows further below their published step times.
    public func matmulCeilingScale(_ precision: Precision) -> Double {
        // An FP4 GEMM is priced from the FP8 rows at the FP8 peak: it keeps the FP8 ceiling.
        let precision: Precision = device.peak(precision).runsAs == .fp4 ? .fp8 : precision
        guard gemmCeiling == .measured, let fraction = device.achievableMatmulFraction(precision) else { return 1 }
        let format: Precision = device.peak(precision).runsAs == .fp8 ? .fp8 : .bf16
        let measuredOn = (format == .bf16 ? bf16Table : fp8Table)?.device ?? calibration.device
        guard let reference = measuredOn.achievableMatmulFraction(format) else { return 1 }
        return fraction / reference
    }

    /// FLOP/s of FlashAttention measured at `tflopsAt112` on the calibration GPU's 112 SMs,
    /// scaled to this device's BF16 peak and compute SMs.
    func attentionRate(_ tflopsAt112: Double) -> Double {
        tflopsAt112 * 1e12 / calibrationPeak.bf16 * device.peak(.bf16).flops * smFraction / traceFraction
    }

    /// An attention record's rate on this device relative to what its share of the BF16 peak
    /// gives, and the SM resource that holds it there. Under `attention_ceiling: units` (the
    /// default) a FlashAttention tile of the record's head dimensions keeps the efficiency it
    /// had on the calibration device (the H800) against its roofline over tensor cores,
    /// exponential units and shared memory (`AttentionRoofline`): the scale is the device's bound
    /// over the calibration device's at the same shape. Exactly 1 wherever the tensor cores set
    /// the pace on both (every Hopper and Ampere GPU at the head dimensions llmsim's models use),
    /// on devices without per-SM figures (H20, MI300X) or a calibration device without them, for
    /// records without a shape, and under `peak`. On the B200 and GB200 the backward at head
    /// dimension 128 is bound by shared memory: 2,560 tensor clocks against 3,328, a scale of
    /// 0.769.
    public func attentionUnitsScale(_ r: OperationRecord) -> (scale: Double, resource: AttentionRoofline.Resource) {
        guard attentionCeiling == .units, let shape = r.attention, let sm = device.smThroughput,
              let calibrationSM = calibration.device.smThroughput else { return (1, .tensorCores) }
        let tile = AttentionRoofline.tile(qkDim: shape.qkDim, vDim: shape.vDim, backward: r.kind == .attentionBackward)
        let here = AttentionRoofline.bound(tile, on: sm)
        let there = AttentionRoofline.bound(tile, on: calibrationSM)
        return (here.fraction / there.fraction, here.resource)
    }

    /// What moves an attention record's figure beyond its share of this device's peak: its head
    /// dimensions (`attentionHeadDimScale`) and the SM unit that bounds it here
    /// (`attentionUnitsScale`), their product and both reasons; nil when neither does.
    func attentionScale(_ r: OperationRecord) -> DeviceScale? {
        let units = attentionUnitsScale(r), shape = r.attention
        return .product([.unlessOne(attentionHeadDimScale(r), "head dims \(shape?.qkDim ?? 0)/\(shape?.vDim ?? 0)"),
                         .unlessOne(units.scale, "attention bound by \(units.resource.rawValue)")])
    }

    /// An attention record's rate over the calibrated rate for its head dimensions
    /// (`AttentionHeadDimLaw`), on a GPU with the calibration GPU's SM (the same per-clock
    /// throughputs: the Hopper SM of the H100, H800 and H200); 1 elsewhere, for a record without
    /// a shape, and without the calibration's law.
    public func attentionHeadDimScale(_ r: OperationRecord) -> Double {
        guard let law = calibration.attentionHeadDimLaw, let shape = r.attention, let sm = device.smThroughput,
              sm == calibration.device.smThroughput else { return 1 }
        return law.scale(qkDim: shape.qkDim, vDim: shape.vDim, backward: r.kind == .attentionBackward)
    }

    /// Seconds of the router's top-k selections. DeepSeek's trace runs each as PyTorch's
    /// single-block radix select (`sbtopk::gatherTopK`, grid = the 4,096 token rows, 256
    /// threads): 70.5 µs per launch on 112 SMs, two launches per layer (the 8 groups' scores,
    /// then the 256 experts'), so a launch's time follows the rows, not the scores (8 or 256
    /// took the same). Rows spread over the compute SMs, one block each; a block's 256 threads
    /// hold up to 256 scores, so longer rows take proportionally longer (an assumption: no
    /// row in the trace is longer). The SM clock of other GPUs is not accounted for.
    func topK(_ s: OperationRecord.Selection) -> Double {
        Double(s.passes * s.rows) * calibration.routerTopKSecondsPerRowAt112 * Double(Self.traceComputeSMs) / Double(computeSMs)
            * max(1, Double(s.scores) / Double(Self.topKBlockThreads))
    }

    /// Seconds of the MoE's bookkeeping kernels, as DeepSeek's trace runs them: the router's
    /// small kernels a fixed time per layer (launch-bound: a few µs each whatever the rows);
    /// the expert row map per routed row (one block per local expert scans the received rows,
    /// so neither the compute SMs nor the local experts change its pace while there are fewer
    /// experts than SMs). The SM clock of other GPUs is not accounted for.
    func bookkeeping(_ b: OperationRecord.Bookkeeping) -> KernelPrice {
        switch b {
        case .router: KernelPrice(seconds: calibration.routerBookkeepingSeconds, figure: .figure(.routerBookkeeping))
        case .expertLayout(let rows): KernelPrice(seconds: Double(rows) * calibration.expertLayoutSecondsPerRow, figure: .figure(.expertLayout))
        }
    }

    /// Threads of one `sbtopk::gatherTopK` block, one score each (the trace's launches: block
    /// [256, 1, 1]).
    static let topKBlockThreads = 256

    /// FLOP/s of a GEMM record, times `matmulCeilingScale` (1 unless `gemm_ceiling` is
    /// `measured`).
    public func gemmRate(_ r: OperationRecord) -> Double { calibratedGEMMPricing(r).rate * matmulCeilingScale(r.precision) }

    /// FLOP/s of a GEMM record at the calibration's fraction of this device's peak, and the
    /// figure that sets it.
    func calibratedGEMMPricing(_ r: OperationRecord) -> (rate: Double, figure: PricingFigure) {
        let peak = device.peak(r.precision)
        guard peak.runsAs.isQuantized, let g = r.gemm else {
            let (efficiency, figure) = bf16Efficiency(r.gemm)
            return (peak.flops * efficiency * smFraction * (r.gemm.map(tileOccupancy) ?? 1), figure)
        }
        // FP8 and FP4 GEMMs alike: the FP8 row's fraction of the FP8 peak (a Blackwell FP8 row
        // per busy SM, else DeepGEMM's rows and the trace's wgrad figure), then their kernels'
        // rate over it (`blockScaledKernelScale`).
        let fp8DevicePeak = device.peak(.fp8).flops
        if let table = fp8Table {
            let (efficiency, figure) = measuredEfficiency(g, in: table, format: .fp8)
            return (fp8DevicePeak * efficiency * smFraction * tileOccupancy(g) * blockScaledKernelScale(r).scale, figure)
        }
        let fp8Peak = calibrationPeak.fp8
        // A grouped GEMM by its rows per group: DeepGEMM's grouped rows (measured at 4,096 and
        // 8,192 per group) from 1,024 up, its dense rows below. 1,024 is a round threshold, not a
        // measurement: from there a group is nearer, in log M, to the grouped rows than to the
        // dense table's M = 128 rows (they are equally near at 724).
        let grouped = r.kind == .groupedGemm && g.groups > 1
        let m = grouped ? max(1, g.totalRows / g.groups) : g.m
        let efficiency: Double, figure: PricingFigure
        if r.name.hasSuffix(".wgrad"), g.quantization == .deepSeek {
            (efficiency, figure) = (calibration.fp8WgradTFLOPSAt112 * 1e12 / fp8Peak / traceFraction, .figure(.fp8Wgrad))
        } else if grouped, m >= 1024, let row = nearestGrouped(n: g.n, k: g.k) {
            (efficiency, figure) = (calibration.fp8Grouped[row].tflops * 1e12 / fp8Peak, .fp8GroupedRow(row))
        } else {
            let row = nearestDense(m: m, n: g.n, k: g.k)
            (efficiency, figure) = (calibration.fp8Dense[row].tflops * 1e12 / fp8Peak, .denseRow(.fp8DenseGEMM, row))
        }
        return (fp8DevicePeak * efficiency * smFraction * blockScaledKernelScale(r).scale, figure)
    }

    /// A block-scaled GEMM's rate over the FP8 row of its shape, and why: an MXFP8 GEMM's
    /// (`mxfp8_gemm_rate_over_fp8_rows`) where it runs as FP8; an NVFP4 GEMM's
    /// (`nvfp4_gemm_rate_over_fp8_rows`) where it runs as FP4, at most the device's FP4 peak
    /// over its FP8 peak (the measured ratio, 1.82 on a B300, stays below the B200's and
    /// GB200's 2 and the B300's 3); 1 for every other record.
    func blockScaledKernelScale(_ r: OperationRecord) -> (scale: Double, reason: String) {
        switch device.peak(r.precision).runsAs {
        case .fp8 where r.gemm?.quantization == .mx: (calibration.mxfp8GEMMRateOverFP8Rows, "MXFP8 kernels")
        case .fp4 where r.gemm != nil:
            (min(calibration.nvfp4GEMMRateOverFP8Rows, device.peak(.fp4).flops / device.peak(.fp8).flops), "NVFP4 kernels")
        default: (1, "")
        }
    }
}

/// What a GEMM calibrated on the H800 keeps on another device (`gemm_ceiling`): its fraction of
/// the dense peak, or its fraction of the device's measured best matmul rate.
public enum GEMMCeiling: String, CaseIterable, Sendable {
    case peak, measured
}

/// What attention calibrated on the H800 keeps on another device (`attention_ceiling`): its
/// efficiency against the scarcest of the SM's tensor cores, exponential units and shared
/// memory (`units`, the default), or its fraction of the BF16 peak as if the tensor cores
/// alone set its pace (`peak`).
public enum AttentionCeiling: String, CaseIterable, Sendable {
    case units, peak
}
