import CostModel
import Foundation
import Hardware
import Kernels
import Testing
@testable import Model
@testable import Training

/// Transformer Engine's NVFP4 recipe (`precision: nvfp4`; TE docs
/// `features/low_precision_training/nvfp4/nvfp4.rst` at 52e4c02): E2M1 values with an E4M3
/// scale per 16 and an FP32 scale per tensor, on Blackwell's FP4 tensor cores; checked on
/// Llama 3 70B on 64 GB200 (TP 2, PP 4 × 5) against the FP8-MX file of the same plan.
@Suite struct NVFP4Tests {
    static func plans() throws -> (mx: StepConfiguration, fp4: StepConfiguration) {
        (try shippedStep("nemo-llama3-70b-gb200-mxfp8.yaml"), try shippedStep("nemo-llama3-70b-gb200-nvfp4.yaml"))
    }

    /// FP4 is half a byte, narrower than FP8, falls back to FP8 where a GPU lacks it; the recipe
    /// writes an E4M3 byte per 16 values and keeps 9/16 B per value.
    @Test func theFormat() {
        #expect(Precision.fp4.bits == 4 && Precision.fp4.bytes == 0.5 && Precision.fp4.isQuantized && Precision.fp4 < .fp8)
        #expect(Precision.fp4.fallback == .fp8 && !Precision.bf16.isQuantized && Precision.fp32.wholeBytes == 4)
        #expect(QuantizationRecipe.nvfp4.format == .fp4 && QuantizationRecipe.nvfp4.scaleBytes(values: 4096) == 256)
        #expect(QuantizationRecipe.nvfp4.bytesPerValue == 0.5625 && QuantizationRecipe.mx.bytesPerValue == 1.03125)
        #expect(PrecisionPolicy.nvfp4.dispatchFormat == .bf16 && PrecisionPolicy.nvfp4.gatheredActivationBytes == 0.5625)
        #expect(PrecisionPolicy.tensorScaledFP8.gatheredActivationBytes == 1 && PrecisionPolicy.bf16.gatheredActivationBytes == 2
                && PrecisionPolicy.deepSeekFP8.gatheredActivationBytes == 2)
    }

    /// Only on Blackwell: refused on the H100 (no block-scaled tensor cores) with the recipes
    /// that run there named; the catalog's Blackwell GPUs carry FP4 peaks (B200 9, GB200 10,
    /// GB300 15 PFLOPS dense).
    @Test func onlyOnBlackwell() throws {
        let error = #expect(throws: (any Error).self) { try shippedStep("nemo-llama3-70b-h100.yaml", adding: "precision: nvfp4") }
        #expect("\(error!)".contains("NVFP4 (precision: nvfp4) needs tensor cores that apply block scales") && "\(error!)".contains("precision: fp8-tensor"))
        let catalog = try HardwareCatalog.builtIn()
        #expect(try catalog.device("B200-SXM-180GB").peakFLOPS[.fp4] == 9e15 && catalog.device("GB200-186GB").peakFLOPS[.fp4] == 10e15
                && catalog.device("GB300-279GB").peakFLOPS[.fp4] == 15e15 && catalog.device("H100-SXM5-80GB").peakFLOPS[.fp4] == nil)
        #expect(try Self.plans().fp4.precision == .nvfp4)
    }

    /// Every Linear's three GEMMs run in FP4 at the FP8 row of their shape times 1.819
    /// (Transformer Engine's B300 benchmark: block-scaled FP8 6.830 ms against NVFP4 3.754 ms
    /// per layer), so 1.819 / 0.9326 times the MXFP8 GEMM; `llmsim kernels` names the factor.
    /// On a GPU whose FP4 peak is less than 1.819 times its FP8 peak, that ratio caps it.
    @Test func gemmsAtTheBenchmarksRate() throws {
        let (mx, fp4) = try Self.plans()
        let calibration = try KernelCalibration.hopper()
        #expect(calibration.nvfp4GEMMRateOverFP8Rows == 1.819 && calibration.nvfp4CastBandwidthOverMXFP8 == 0.737)
        let (ms, fs) = (try StepSimulation(config: mx, calibration: calibration), try StepSimulation(config: fp4, calibration: calibration))
        let gemms = { (s: StepSimulation, p: Precision) in try s.layerRecords(0, traffic: .local(expertRows: [])).filter { $0.kind == .gemm && $0.precision == p } }
        let (m, f) = (try gemms(ms, .fp8), try gemms(fs, .fp4))
        #expect(f.count == 18 && f.count == m.count, "\(f.count)")
        for (a, b) in zip(m, f) {
            #expect(a.name == b.name && b.gemm?.quantization == .nvfp4)
            #expect(abs(fs.kernels.duration(b) * 1.819 / 0.9326 / ms.kernels.duration(a) - 1) < 1e-9, "\(b.name)")
            #expect(ms.kernels.priced(a).deviceScale?.factor == 0.9326)
            #expect(fs.kernels.priced(b).deviceScale?.factor == 1.819 && fs.kernels.priced(b).deviceScale?.reason == "NVFP4 kernels")
        }
        var slower = fs.kernels
        slower.device.peakFLOPS[.fp4] = 1.5 * slower.device.peakFLOPS[.fp8]!
        #expect(abs(slower.priced(f[0]).deviceScale!.factor - 1.5) < 1e-12)
    }

    /// An NVFP4 row-wise cast reads its BF16 input twice (the tensor's maximum first, for the
    /// FP32 scale) and writes half a byte and an E4M3 scale per 16 values; a column-wise cast
    /// reads it once; both reach 0.737 of the bandwidth of an MXFP8 cast (Transformer Engine's
    /// B300 benchmark, autocast less pre-quantized), itself 0.958 of the HBM peak.
    @Test func castsReadTwiceAndWriteNineSixteenths() throws {
        let (mx, fp4) = try Self.plans()
        let calibration = try KernelCalibration.hopper()
        let (ms, fs) = (try StepSimulation(config: mx, calibration: calibration), try StepSimulation(config: fp4, calibration: calibration))
        let casts = { (s: StepSimulation) in try s.layerRecords(0, traffic: .local(expertRows: [])).filter { $0.kind == .cast } }
        let (m, f) = (try casts(ms), try casts(fs))
        // MXFP8 casts both ways at once where NVFP4 casts each way apart.
        let named = { (r: [OperationRecord], kind: String) in r.filter { $0.name.hasSuffix("." + kind) }.count }
        #expect(named(f, "cast") == named(m, "cast_rc") && named(m, "cast_rc") > 0)
        #expect(named(f, "cast_t") > named(m, "cast_t") && named(f, "cast") + named(f, "cast_t") == f.count)
        for b in f {
            let values = b.bytesWritten / 0.5625
            #expect(b.precision == .fp4 && b.quantization == .nvfp4)
            #expect(b.bytesRead == (b.name.hasSuffix("cast_t") ? 2 : 4) * values, "\(b.name)")
            let price = fs.kernels.priced(b)
            // (The smallest casts take the shortest kernel's time.)
            if price.figure != .figure(.minimumKernel) {
                #expect(price.figure == .figure(.mxfp8Cast) && price.deviceScale?.reason == "NVFP4 quantization")
                #expect(abs(price.seconds * 0.737 * calibration.mxfp8CastEfficiency * fp4.topology.node.device.hbmBandwidth / (b.bytesRead + b.bytesWritten) - 1) < 1e-9)
            }
        }
    }

    /// A Linear keeps its input for the weight gradient as the column-wise NVFP4 copy: 9/16 B
    /// per value against MXFP8's 33/32. One 70B layer at 8,192 tokens keeps 8,192 (attention
    /// norm) + 8,192 (W_O input) + 8,192 (FFN norm) + 28,672 (SwiGLU output) quantized values per
    /// token.
    @Test func keptInputsInFP4() throws {
        let c = try Self.plans().fp4
        #expect(ActivationCaching.of(c.precision, deepSeekSavings: false) == .transformerEngine(.nvfp4))
        let kept = { (caching: ActivationCaching) in
            ActivationInventory.layer(c.model, index: 0, tokens: 8192, routedRowsOnGPU: 0, recompute: false, caching: caching).totalBytes
        }
        let values: Double = 8192 * Double(3 * 8192 + 28672)
        #expect(abs(kept(.transformerEngine(.mx)) - kept(.transformerEngine(.nvfp4)) - values * (1.03125 - 0.5625)) < 1)
        #expect(ActivationInventory.layer(c.model, index: 0, tokens: 8192, routedRowsOnGPU: 0, recompute: false, caching: .transformerEngine(.nvfp4))
            .contains { $0.name == "W_O input (NVFP4 copy of the attention output)" })
    }

    /// With sequence parallelism the all-gathers into the Linears move Transformer Engine's
    /// quantized copy, the reduce-scatters BF16: at TP 2 the NVFP4 gather moves 9/32 of the
    /// reduce-scatter's bytes, MXFP8's 33/64 (the ring's hop latencies aside).
    @Test func gathersMoveTheQuantizedCopy() throws {
        let (mx, fp4) = try Self.plans()
        let calibration = try KernelCalibration.hopper()
        for (c, bytes) in [(mx, 1.03125), (fp4, 0.5625)] {
            let s = try StepSimulation(config: c, calibration: calibration)
            let latency = Double(c.tp - 1) * c.topology.latency.scaleUp
            #expect(abs((s.tensorParallelGather - latency) / (s.tensorParallelHalfCollective - latency) - bytes / 2) < 1e-9)
            #expect(s.tensorParallelCollectives.gather == s.tensorParallelGather)
        }
    }
}

/// `bf16_layers`: Megatron-Core's `first_last_layers_bf16` (`fp8_utils.is_first_last_bf16_layer`):
/// the first `start` and last `end` decoder layers keep their Linears in BF16 under a quantized
/// Transformer Engine recipe, as NVIDIA's NVFP4 recipes for stability often do (Megatron-Bridge's
/// Llama 3 8B NVFP4 example: the last 4; its Nemotron 3 Super recipe: the last 14).
@Suite struct BF16LayersTests {
    @Test func theRule() {
        var p = PrecisionPolicy.nvfp4
        (p.bf16LayersAtStart, p.bf16LayersAtEnd) = (1, 4)
        #expect(p.layer(0, of: 80).linear == .bf16 && p.layer(1, of: 80).linear == .fp4 && p.layer(75, of: 80).linear == .fp4)
        #expect(p.layer(76, of: 80).linear == .bf16 && p.layer(79, of: 80).linear == .bf16 && p.layer(79, of: 80).bf16LayersAtEnd == 0)
        #expect(p.layer(76, of: 80).gatheredActivationBytes == 2 && p.layer(75, of: 80).gatheredActivationBytes == 0.5625)
        #expect(PrecisionPolicy.nvfp4.layer(79, of: 80) == .nvfp4)
    }

    /// The last four of the 70B's 80 layers in BF16: their GEMMs are BF16 with no casts, the
    /// others FP4; those layers keep BF16 inputs; the step lengthens (measured 2026-11-26:
    /// 5.716 → 6.556 s on Megatron's uniform split, the last chunk's four BF16 layers and head
    /// pacing the interleaved pipeline; 5.798 s on llmsim's own balance, `pipeline_layout: null`;
    /// 2026-11-27, with Blackwell's own BF16 table: 5.824 → 7.023 s, and 5.941 s; with its
    /// batched rows past the 4,096 edge: 5.765 → 6.791 s, and 5.884 s; with Blackwell's own FP8
    /// rows pricing the FP4 GEMMs' FP8 rate, 2026-11-28: 5.644 → 6.694 s, and 5.773 s; with
    /// NVLink 5 at 0.693 of its line rate, OpenXLA's sm_100 collective table: 5.674 → 6.730 s,
    /// and 5.801 s).
    @Test func theLastLayersInBF16() throws {
        let all = try shippedStep("nemo-llama3-70b-gb200-nvfp4.yaml")
        let pinned = try shippedStep("nemo-llama3-70b-gb200-nvfp4.yaml", adding: "bf16_layers: {end: 4}")
        #expect(pinned.precision.bf16LayersAtEnd == 4 && pinned.precision.bf16LayersAtStart == 0)
        let sim = try StepSimulation(config: pinned, calibration: try KernelCalibration.hopper())
        let last = try sim.layerRecords(79, traffic: .local(expertRows: [])), first = try sim.layerRecords(0, traffic: .local(expertRows: []))
        #expect(last.filter { $0.kind == .cast }.isEmpty && last.filter { $0.kind == .gemm }.allSatisfy { $0.precision == .bf16 })
        #expect(first.filter { $0.kind == .gemm && $0.precision == .fp4 }.count == 18)
        let items = StageMemoryModel.layerItems(pinned, deepSeekSavings: false)
        #expect(items[79].totalBytes > items[0].totalBytes && items[75].totalBytes == items[0].totalBytes)
        let step = { (c: StepConfiguration) in try StepSimulation(config: c, calibration: try KernelCalibration.hopper()).run().stepTimeS }
        let balanced = try shippedStep("nemo-llama3-70b-gb200-nvfp4.yaml", adding: "bf16_layers: {end: 4}\nparallel: {pipeline_layout: null}")
        let (a, b, c) = (try step(all), try step(pinned), try step(balanced))
        #expect(abs(a - 5.674) < 0.01 && abs(b - 6.730) < 0.01 && abs(c - 5.801) < 0.01, "\(a) \(b) \(c)")
    }

    @Test func badInput() throws {
        func error(_ file: String, _ extra: String) -> String {
            let e = #expect(throws: (any Error).self) { try shippedStep(file, adding: extra) }
            return "\(e!)"
        }
        #expect(error("deepseek-v3.yaml", "bf16_layers: {end: 2}").contains("precision: fp8 has none to keep"))
        #expect(error("nemo-llama3-8b-b200.yaml", "precision: bf16\nbf16_layers: {end: 2}").contains("precision: bf16 has none to keep"))
        #expect(error("nemo-llama3-70b-gb200-nvfp4.yaml", "bf16_layers: {start: 50, end: 40}").contains("50 + 40 BF16 layers, but the model has 80"))
        #expect(error("nemo-llama3-70b-gb200-nvfp4.yaml", "bf16_layers: {last: 4}").contains("last"))
        #expect(error("nemo-llama3-70b-gb200-nvfp4.yaml", "bf16_layers: {end: -1}").contains("end"))
        // No layer asked for is no pinning, under any precision (a sweep zips it with each).
        #expect(try shippedStep("nemo-llama3-8b-b200.yaml", adding: "precision: bf16\nbf16_layers: {end: 0}").precision == .bf16)
    }
}

/// Megatron-Bridge's NVFP4 rows and the FP8-MX rows of the same plans (docs/performance-summary.md
/// at df0289c, "26.02 NeMo Container"), as the shipped `-nvfp4` and `-mxfp8` experiments plan
/// them.
@Suite struct NeMoNVFP4Tests {
    @Test("NVFP4 rows: 4.820, 6.500, 42.928 and 36.490 s per step; FP8-MX on their plans 7.130, 8.430 and 62.534 s")
    func publishedStepTimes() {
        #expect(PublishedNeMoRun.fp4.count == 4)
        for (run, seconds) in zip(PublishedNeMoRun.fp4, [4.8204, 6.5004, 42.928, 36.490]) {
            #expect(abs(run.stepSeconds - seconds) < 1e-3, "\(run.experiment)")
            #expect(run.precision == .nvfp4 && run.precisionLabel == "NVFP4" && run.source == "Megatron-Bridge 26.02")
        }
        for (mx, fp4) in PublishedNeMoRun.fp4Pairs {
            #expect(mx.plan == fp4.plan && mx.gpus == fp4.gpus && mx.batch == fp4.batch && mx.precisionLabel == "FP8-MX")
        }
        #expect(PublishedNeMoRun.llama31_405B_GB200_NVFP4.plan == "TP4 PP16 VP8" && PublishedNeMoRun.llama31_405B_GB300_NVFP4.plan == "TP4 PP8 VP4")
        #expect(PublishedNeMoRun.llama31_405B_GB300_MX.plan == "TP2 PP8 CP2 VP4" && abs(PublishedNeMoRun.llama31_405B_GB300_MX.stepSeconds - 52.795) < 1e-3)
        #expect(PublishedNeMoRun.fp4.allSatisfy { run in PublishedNeMoRun.all.contains { $0.experiment == run.experiment } })
    }

    /// Measured 2026-11-25, the day NVFP4 was modelled: 70B on GB300 5.804 s (+20.4 %; FP8-MX
    /// 8.011 s, +12.4 %: llmsim's GB300 runs as its GB200, as on the 8B rows), on GB200 6.036 s
    /// (−7.1 %; FP8-MX 7.694 s, −8.7 %), 405B on GB200 41.677 s (−2.9 %; FP8-MX 55.314 s,
    /// −11.5 %), 405B on GB300 (TP 4, no CP) 40.803 s (+11.8 %; FP8-MX on its TP 2, CP 2 plan
    /// 56.329 s, +6.7 %). NVFP4 over FP8-MX on the same plan: llmsim 1.380, 1.275 and 1.327
    /// times the throughput, NVIDIA 1.479, 1.297 and 1.457. Since the block-scaled casts run at
    /// Transformer Engine's measured bandwidth (MXFP8's 0.958 of the HBM peak, NVFP4's 0.737 of
    /// it; 2026-11-26): 5.538 s (+14.9 %), 5.716 s (−12.1 %), 40.034 s (−6.7 %), 38.903 s
    /// (+6.6 %); over FP8-MX 1.404, 1.295 and 1.334 times. Since the BF16 head prices from
    /// Blackwell's own table (2026-11-27): 5.646 s (+17.1 %), 5.824 s (−10.4 %), 41.331 s
    /// (−3.7 %), 39.551 s (+8.4 %); over FP8-MX 1.397, 1.290 and 1.293 times. With that table's
    /// batched rows past its 4,096 edge: 5.587 s (+15.9 %), 5.765 s (−11.3 %), 40.368 s
    /// (−6.0 %), 39.070 s (+7.1 %); over FP8-MX 1.401, 1.292 and 1.323 times. With Blackwell's
    /// own FP8 rows (OpenXLA's sm_100 FP8 table, 2026-11-28), the FP4 GEMMs at 1.819 times their
    /// rate: 5.196 s (+7.8 %), 5.644 s (−13.2 %), 39.149 s (−8.8 %), 37.804 s (+3.6 %); over
    /// FP8-MX 1.359, 1.280 and 1.300 times. With NVLink 5 at 0.693 of its line rate (OpenXLA's
    /// sm_100 collective table; 0.8 before): 5.197 s (+7.8 %), 5.674 s (−12.7 %), 39.647 s
    /// (−7.6 %), 38.330 s (+5.0 %): the TP 4 plans' exposed collectives grow; over FP8-MX 1.361,
    /// 1.276 and 1.288 times.
    @Test("NVFP4 what-ifs: 70B GB300 8% slow, 405B 5%; 70B GB200 13% fast, 405B 8%; 1.28-1.36 times FP8-MX, NVIDIA 1.30-1.48")
    func steps() throws {
        let ratios = try publishedNeMoRatios(PublishedNeMoRun.fp4)
        for (ratio, expected) in zip(ratios, [1.078, 0.873, 0.924, 1.050]) { #expect(abs(ratio - expected) < 0.01, "\(ratios)") }
        let mx = try publishedNeMoRatios(PublishedNeMoRun.fp4Pairs.map(\.0))
        for (i, (m, f)) in PublishedNeMoRun.fp4Pairs.enumerated() {
            let llmsim = mx[i] * m.stepSeconds / (ratios[i] * f.stepSeconds), published = m.stepSeconds / f.stepSeconds
            #expect(abs(llmsim - [1.361, 1.276, 1.288][i]) < 0.01 && abs(published - [1.479, 1.297, 1.457][i]) < 0.001, "\(llmsim) \(published)")
        }
    }
}
