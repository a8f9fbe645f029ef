import Testing
import Hardware
import Kernels
@testable import CostModel

/// Kernel benchmarks published on GPUs other than the H800 the kernel model is calibrated on
/// (`llmsim validate`'s kernel rows), priced at their shapes on every SM; values measured
/// 2026-11-26.
@Suite struct PublishedKernelBenchmarkTests {
    let catalog: HardwareCatalog
    let calibration: KernelCalibration
    init() throws {
        catalog = try HardwareCatalog.builtIn()
        calibration = try KernelCalibration.hopper()
    }

    /// Transformer Engine's twelve GEMMs of one hidden-4,096 layer at 15,872 tokens: 19.17 TFLOP
    /// (the document's "~19.17 TFLOPS" per layer); BF16 runs them without casts, MXFP8 in
    /// autocast casts each input both ways at once and each weight row-wise, NVFP4 each way
    /// apart.
    @Test("TE GEMM benchmark: 12 shapes, 19.17 TFLOP per layer; MXFP8 autocast 12 two-way input casts, NVFP4 24 input casts")
    func theBenchmarksOperations() {
        typealias B = TransformerEngineGEMMBenchmark
        #expect(B.shapes.count == 12 && B.shapes[0] == (15_872, 4096, 12_288) && B.shapes[11] == (16_384, 15_872, 4096))
        let bf16 = B.records(recipe: nil, mode: .preQuantized)
        #expect(bf16.count == 12 && bf16.allSatisfy { $0.kind == .gemm && $0.precision == .bf16 })
        #expect(abs(bf16.reduce(0) { $0 + $1.flops } / 1e12 - 19.17) < 0.01)
        let mx = B.records(recipe: .mx, mode: .autocast).filter { $0.kind == .cast }
        #expect(mx.filter { $0.name.hasSuffix("cast_rc") }.count == 12 && mx.filter { $0.name.hasSuffix(".cast") }.count == 12 && mx.count == 24)
        let fp4 = B.records(recipe: .nvfp4, mode: .autocast).filter { $0.kind == .cast }
        #expect(fp4.filter { $0.name.hasSuffix("cast_t") }.count == 12 && fp4.count == 36)
        #expect(B.records(recipe: .mx, mode: .preQuantized).allSatisfy { $0.kind == .gemm })
    }

    /// On the B300 (the catalog's HGX part): BF16 11.534 ms against 12.835 (−10.1 %, a FAIL;
    /// against the document's other BF16 run of the same kernels, its autocast table's 12.227,
    /// −5.7 %): the shapes (M = 15,872) take OpenXLA's sm_100 batch-4 row at M = 16,384, 1,670.5
    /// TFLOPS, where TE's four forwards run at 1,546–1,799 (13.531 ms, +5.4 %, while they took the
    /// 4,096 edge's 1,416.9; −16.1 % at 10.763 ms while the H100's rows carried to Blackwell).
    /// The FP8 GEMMs take the same file's FP8 rows, their batch-4 row at M = 16,384 3,279.7
    /// TFLOPS: FP8 Block 5.876 against 6.830 (−14.0 %, a FAIL: TE's B300 loop runs 10–14 %
    /// below OpenXLA's B200 rows in both formats; +1.4 % at 6.925 while DeepGEMM's H800 rows
    /// carried by the FP8 peak priced them); FP8 CurrentScaling autocast 8.322 against
    /// 12.227 / 1.39 = 8.796 (−5.4 %; +6.5 % before); MXFP8 autocast 7.484 against 8.507
    /// (−12.0 %, a FAIL though its rate over the FP8 kernels comes from this benchmark: it is
    /// measured over FP8 Block, which the rows price 14 % fast) and NVFP4 5.914 against 6.439
    /// (−8.1 %).
    @Test("TE GEMM benchmark on the B300: BF16 −10.1%, FP8 Block −14.0%, CurrentScaling −5.4%, MXFP8 −12.0%, NVFP4 −8.1%")
    func perLayerTimes() throws {
        let b300 = try KernelCostModel(device: catalog.device(TransformerEngineGEMMBenchmark.deviceID), calibration: calibration, communicationSMs: 0)
        let expected = [("BF16", 12.835, 11.534), ("FP8 Block", 6.830, 5.876), ("FP8 CurrentScaling", 8.796, 8.322), ("MXFP8", 8.507, 7.484), ("NVFP4", 6.439, 5.914)]
        #expect(TransformerEngineGEMMBenchmark.rows.count == expected.count)
        for (row, (name, published, llmsim)) in zip(TransformerEngineGEMMBenchmark.rows, expected) {
            #expect(row.name == name && abs(row.seconds * 1e3 - published) < 1e-3)
            #expect(abs(TransformerEngineGEMMBenchmark.seconds(row, on: b300) * 1e3 - llmsim) < 2e-3, "\(name)")
        }
        #expect(TransformerEngineGEMMBenchmark.rows.filter(\.calibrates).map(\.name) == ["MXFP8", "NVFP4"])
    }

    /// Bekman's best matmul shapes under the default `gemm_ceiling: peak`: the H100's BF16 row
    /// (OpenXLA's sm_90 table) −7.1 %, its FP8 row (DeepGEMM's) −3.2 %; B200 and GB200 BF16
    /// −16.0 % and −18.0 % (OpenXLA's sm_100 batched rows past its 4,096 edge, 1,465.7 and
    /// 1,344.4 TFLOPS at 275 GFLOP, where Bekman measures 1,745 and 1,822 at 89 and 326 GFLOP:
    /// the two sources disagree; −23.1 / −22.1 % at the edge's rate, −1.8 / +2.4 % while the
    /// H100's fractions carried); B200 and GB200 FP8 −4.5 % and −4.0 % (the same file's FP8
    /// batch-4 rows at M = 16,384: the B200's shape takes [16384, 4096, 4096], 3,279.7 TFLOPS,
    /// the GB200's [16384, 4096, 2048], 3,122.5 on the B200 times the GB200's 5,000 over 4,500
    /// FP8 peak: the two sources agree in FP8; −32.1 / −28.4 % while DeepGEMM's H800 rows at
    /// K = 2,048, 0.52 of peak, carried); the other
    /// misses: A100 −12.7 % (its N 10,240 takes the sm_90 batch-2 row; −14.1 % at the edge),
    /// H200 FP8 −10.3 %, MI300X +56.8 % (its measured best is 0.51 of peak).
    @Test("Best matmul shapes: H100 −7.1 / −3.2%, B200 and GB200 BF16 −16 / −18%, FP8 −4.5 / −4.0%, MI300X +57%")
    func bestMatmulShapes() throws {
        let expected = [236.696, 738, 1358, 1304, 1465.7, 3279.7, 1493.778, 3469.444, 1048.008]
        #expect(MaximumAchievableMatmul.shapes.count == expected.count)
        for (s, tflops) in zip(MaximumAchievableMatmul.shapes, expected) {
            let device = try catalog.device(s.deviceID)
            #expect(device.achievableMatmulFLOPS[s.precision] != nil, "\(s.deviceID)")
            let model = try KernelCostModel(device: device, calibration: calibration, communicationSMs: 0)
            #expect(abs(MaximumAchievableMatmul.tflops(s, on: model) - tflops) < 0.01, "\(s.deviceID) \(s.precision)")
        }
        let h100 = MaximumAchievableMatmul.record(MaximumAchievableMatmul.shapes[1])
        #expect(h100.gemm?.m == 2048 && h100.gemm?.n == 2048 && h100.gemm?.k == 13_312 && h100.precision == .bf16)
    }
}
