import Testing
import ConfigIO
import Foundation
import Hardware
@testable import Kernels
@testable import CostModel

/// The calibration's Blackwell FP8 table (`fp8_gemm_tflops_blackwell`, OpenXLA's sm_100
/// "f8e4m3fnxf8e4m3fn->bf16" rows on the B200): it prices every FP8 GEMM of GPUs with
/// Blackwell's SM, and through their rates over it the MXFP8 and NVFP4 ones; DeepGEMM's rows and
/// the trace's wgrad figure price everyone else's.
@Suite struct BlackwellFP8TableTests {
    let calibration: KernelCalibration
    init() throws { calibration = try KernelCalibration.hopper() }

    /// TFLOPS the model prices a record at.
    func tflops(_ r: OperationRecord, on m: KernelCostModel) -> Double { r.flops / m.duration(r) / 1e12 }

    /// The shipped rows: the 125 batch-1 shapes and the 50 batch-2 and batch-4 rows at
    /// M = 4,096 as M = 8,192 and 16,384, 6.9 to 3,279.7 TFLOPS (tensorflow/tensorflow a305421c,
    /// matmul_interpolator_data.h, key sm_100), on the BF16 table's B200.
    @Test func shippedRowsAreOpenXLAsSM100FP8Rows() throws {
        let rows = calibration.blackwellFP8Dense
        #expect(rows.count == 175 && Set(rows.map { "\($0.m),\($0.n),\($0.k)" }).count == 175)
        #expect(rows.map(\.tflops).max() == 3279.7)
        #expect(Set(rows.map { "\($0.m),\($0.n),\($0.k)" }) == Set(calibration.blackwellBF16Dense.map { "\($0.m),\($0.n),\($0.k)" }))
        #expect(rows.contains(.init(m: 4096, n: 4096, k: 4096, tflops: 2765.0)))
        #expect(rows.contains(.init(m: 2048, n: 2048, k: 2048, tflops: 1427.7)))
        #expect(rows.contains(.init(m: 8192, n: 4096, k: 4096, tflops: 3123.5)))
        #expect(rows.contains(.init(m: 16384, n: 4096, k: 4096, tflops: 3279.7)))
        #expect(calibration.value(.blackwellFP8GEMMTable) > calibration.value(.blackwellBF16GEMMTable))
        // Physical: no row past 0.73 of the B200's 4,500 FP8 peak, none more than 2.16 times
        // its BF16 row (the peaks' ratio is 2; the same file's sm_90 FP8 rows reach 3.1 and pass
        // the H100's peak, so they are not shipped).
        let bf16 = Dictionary(uniqueKeysWithValues: calibration.blackwellBF16Dense.map { ("\($0.m),\($0.n),\($0.k)", $0.tflops) })
        let ratios = rows.compactMap { r in bf16["\(r.m),\(r.n),\(r.k)"].map { r.tflops / $0 } }
        #expect(rows.allSatisfy { $0.tflops <= 0.73 * 4500 } && ratios.count == 175)
        #expect(abs((ratios.max() ?? 0) - 2.158) < 0.001)
    }

    /// On the B200 a per-tensor FP8 GEMM at a row's shape runs at the row's TFLOPS (4,096³ at
    /// 2,765.0, 0.61 of 4,500; 2,048³ at 1,427.7 where DeepGEMM's M = 4,096 rows carried by the
    /// peak gave 2,331); the GB200 at the same fraction of its 5,000; the B300 and GB300 take the
    /// same rows; Hopper keeps DeepGEMM's rows.
    @Test func pricesEveryBlackwellSMAndNoOther() throws {
        let b200 = try costModel(on: "B200-SXM-180GB")
        let edge = gemmRecord(4096, 4096, 4096, quantization: .tensor)
        #expect(abs(tflops(edge, on: b200) - 2765.0) < 1e-6)
        #expect(b200.priced(edge).figure.key(in: calibration) == "fp8_gemm_tflops_blackwell [4096, 4096, 4096]")
        #expect(abs(tflops(gemmRecord(2048, 2048, 2048), on: b200) - 1427.7) < 1e-6)
        #expect(abs(tflops(edge, on: try costModel(on: "GB200-186GB")) - 2765.0 * 5000 / 4500) < 0.5)
        for id in ["B300-SXM-268GB", "GB300-279GB"] {
            #expect(try costModel(on: id).priced(edge).figure == .denseRow(.blackwellFP8GEMMTable, 124), "\(id)")
        }
        for id in ["H100-SXM5-80GB", "H800-SXM5-80GB"] {
            guard case .denseRow(.fp8DenseGEMM, _, transposed: false) = try costModel(on: id).priced(edge).figure else { Issue.record("\(id)"); continue }
        }
        // Past the edge, the batched rows, a GEMM's transpose included: Bekman's best B200 shape.
        let bekman = gemmRecord(15360, 4096, 3072), transposed = gemmRecord(4096, 15360, 3072)
        #expect(abs(tflops(bekman, on: b200) - 3279.7) < 1e-6)
        #expect(b200.priced(transposed).figure.key(in: calibration) == "fp8_gemm_tflops_blackwell [16384, 4096, 4096] transposed")
    }

    /// Every FP8 GEMM of a Blackwell GPU takes the rows: DeepSeek's weight gradient (the trace's
    /// figure on Hopper) and a grouped GEMM by its rows per group (DeepGEMM's grouped rows on
    /// Hopper); a GEMM of fewer tiles than SMs keeps its row's rate per busy SM.
    @Test func everyFP8GEMMTakesTheRows() throws {
        let b200 = try costModel(on: "B200-SXM-180GB"), h800 = try costModel(on: "H800-SXM5-80GB")
        let wgrad = gemmRecord(7168, 2048, 4096, name: "x.wgrad", quantization: .deepSeek)
        #expect(h800.priced(wgrad).figure == .figure(.fp8Wgrad))
        #expect(b200.priced(wgrad).figure.key(in: calibration) == "fp8_gemm_tflops_blackwell [8192, 2048, 4096]")
        let experts = gemmRecord(8192, 4096, 7168, groups: 4, quantization: .deepSeek)
        guard case .fp8GroupedRow = h800.priced(experts).figure else { Issue.record("H800 grouped"); return }
        #expect(b200.priced(experts).figure.key(in: calibration) == "fp8_gemm_tflops_blackwell [8192, 4096, 4096]")
        #expect(abs(tflops(experts, on: b200) - 3123.5) < 1e-6)
        // 4,096 × 256 × 4,096: 64 tiles, the same time on 128 compute SMs as on 148.
        let small = gemmRecord(4096, 256, 4096)
        #expect(abs(tflops(small, on: b200) - 861.8) < 1e-6)
        #expect(abs(try costModel(on: "B200-SXM-180GB", communicationSMs: 20).duration(small) - b200.duration(small)) < 1e-15)
        #expect(b200.priced(small).figure.runsOnItsTiles && !h800.priced(small).figure.runsOnItsTiles)
    }

    /// MXFP8 GEMMs run at `mxfp8_gemm_rate_over_fp8_rows` of the row, NVFP4 GEMMs at
    /// `nvfp4_gemm_rate_over_fp8_rows` of it on the FP8 peak (below the B200's FP4 / FP8 of 2).
    @Test func blockScaledGEMMsRunAtTheirRatesOverTheRow() throws {
        let b200 = try costModel(on: "B200-SXM-180GB")
        #expect(abs(tflops(gemmRecord(4096, 4096, 4096, quantization: .mx), on: b200) - 2765.0 * 0.9326) < 1e-6)
        #expect(abs(tflops(gemmRecord(4096, 4096, 4096, precision: .fp4, quantization: .nvfp4), on: b200) - 2765.0 * 1.819) < 1e-6)
    }

    /// Without the rows (an experiment's `calibration: {fp8_gemm_tflops_blackwell: []}`) the
    /// B200's FP8 GEMMs take DeepGEMM's H800 rows by the fraction of the FP8 peak again.
    @Test func withoutRowsDeepGEMMsFractions() throws {
        var without = calibration
        without.blackwellFP8Dense = []
        let b200 = try costModel(on: "B200-SXM-180GB", calibration: without)
        #expect(b200.priced(gemmRecord(4096, 4096, 7168)).figure == .denseRow(.fp8DenseGEMM, 16))
        #expect(abs(tflops(gemmRecord(4096, 4096, 7168), on: b200) - 1304 * 4500 / 1978.9) < 0.5)
    }

    /// The FP8 rows alone need the GPU they ran on too, and the error names them.
    @Test func rowsNeedTheirDevice() throws {
        let text = try String(contentsOfFile: try KernelCalibration.shippedPath(), encoding: .utf8)
        let fp8Only = text.replacingOccurrences(of: "blackwell_gemm_device: B200-SXM-180GB\n", with: "")
            .replacing(/bf16_gemm_tflops_blackwell:\n(  - \[[^\]]*\]\n)+/, with: "bf16_gemm_tflops_blackwell: []\n")
        let error = #expect(throws: (any Error).self) { try KernelCalibration.parse(try ConfigValue.parse(fp8Only, file: "a.yaml")) }
        #expect("\(error!)".contains("fp8_gemm_tflops_blackwell") && "\(error!)".contains("blackwell_gemm_device: B200-SXM-180GB"))
        let neither = fp8Only.replacing(/fp8_gemm_tflops_blackwell:\n(  - \[[^\]]*\]\n)+/, with: "fp8_gemm_tflops_blackwell: []\n")
        #expect(try KernelCalibration.parse(try ConfigValue.parse(neither, file: "b.yaml")).blackwellDevice == nil)
    }
}
