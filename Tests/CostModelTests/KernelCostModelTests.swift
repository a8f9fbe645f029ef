import Testing
import ConfigIO
import Foundation
import Hardware
@testable import Kernels
@testable import CostModel

@Suite struct KernelCostModelTests {
    let h800: Device
    let calibration: KernelCalibration
    /// The shipped file without its BF16 rows: BF16 GEMMs at the flat `bf16_gemm_efficiency`.
    let flat: KernelCalibration
    init() throws {
        h800 = try HardwareCatalog.builtIn().device("H800-SXM5-80GB")
        calibration = try KernelCalibration.hopper()
        flat = calibration.withoutBF16Rows
    }

    /// On all 132 SMs a DeepGEMM table shape runs at the table's TFLOPS (DeepGEMM README).
    @Test("DeepGEMM table: M=4096 N=7168 K=16384 at 1,358 TFLOPS on 132 SMs")
    func reproducesTableRowsOnAllSMs() throws {
        let m = try KernelCostModel(device: h800, calibration: calibration, communicationSMs: 0)
        let r = gemmRecord(4096, 7168, 16384)
        #expect(abs(r.flops / m.duration(r) / 1e12 - 1358) < 1)
        let small = gemmRecord(64, 2112, 7168)
        #expect(abs(small.flops / m.duration(small) / 1e12 - 206) < 1)
    }

    /// With 20 SMs communicating, compute throughput falls to 112/132.
    @Test func communicationSMsSlowCompute() throws {
        let all = try KernelCostModel(device: h800, calibration: calibration, communicationSMs: 0)
        let some = try KernelCostModel(device: h800, calibration: calibration, communicationSMs: 20)
        let r = gemmRecord(4096, 4096, 7168)
        #expect(abs(some.duration(r) / all.duration(r) - 132.0 / 112) < 1e-9)
        #expect(throws: KernelError.self) { try KernelCostModel(device: h800, calibration: calibration, communicationSMs: 132) }
    }

    /// A100 has no FP8: FP8 GEMMs run in BF16, at the fraction of its 312 TFLOPS peak that the
    /// shipped sm_90 row of the shape reaches on its own peak (OpenXLA: 4,096³ at 783.3 of
    /// 989.4), or at the flat BF16 efficiency without rows.
    @Test func fp8FallsBackToBF16OnAmpere() throws {
        let a100 = try HardwareCatalog.builtIn().device("A100-SXM4-80GB")
        let m = try KernelCostModel(device: a100, calibration: calibration, communicationSMs: 0)
        let r = gemmRecord(4096, 4096, 4096)
        #expect(abs(r.flops / m.duration(r) - 312e12 * 783.3 / 989.4) < 1e6)
        let withoutRows = try KernelCostModel(device: a100, calibration: flat, communicationSMs: 0)
        #expect(abs(r.flops / withoutRows.duration(r) - 312e12 * 0.70) < 1e6)
    }

    /// `gemm_ceiling: measured`: a GEMM keeps its fraction of the device's measured best matmul
    /// rate (Bekman's MAMF: A100 SXM 271.2 of 312, H100 SXM 794.5 of 989 TFLOPS), so the A100
    /// runs the 4,096³ row at 783.3/989.4 × 312 × (271.2/312)/(794.5/989.4); on the H800 and
    /// H100 the scale is exactly 1, and with the default `peak` it is 1 everywhere.
    @Test("gemm_ceiling measured: the A100 at its MAMF fraction (271.2 of 312 against the H100's 794.5 of 989.4)")
    func measuredCeilingCarriesTheFraction() throws {
        let catalog = try HardwareCatalog.builtIn()
        let a100 = try catalog.device("A100-SXM4-80GB")
        let r = gemmRecord(4096, 4096, 4096, precision: .bf16)
        let peak = try KernelCostModel(device: a100, calibration: calibration, communicationSMs: 0)
        let measured = try KernelCostModel(device: a100, calibration: calibration, communicationSMs: 0, gemmCeiling: .measured)
        let scale = (271.2 / 312) / (794.5 / 989.4)
        #expect(abs(measured.matmulCeilingScale(.bf16) - scale) < 1e-12)
        #expect(abs(r.flops / measured.duration(r) - 312e12 * 783.3 / 989.4 * scale) < 1e6)
        #expect(peak.matmulCeilingScale(.bf16) == 1 && peak.duration(r) > measured.duration(r))
        for id in ["H800-SXM5-80GB", "H100-SXM5-80GB"] {
            let m = try KernelCostModel(device: catalog.device(id), calibration: calibration, communicationSMs: 20, gemmCeiling: .measured)
            #expect(m.matmulCeilingScale(.fp8) == 1 && m.matmulCeilingScale(.bf16) == 1 && m.matmulCeilingScale(.fp32) == 1)
        }
        // The calibration GPU is the catalog's H800 entry.
        #expect(calibration.device == h800)
        // MI300X: no FP8 row, so its FP8 GEMMs keep the BF16 fraction (668.4 of 1,307.4)
        // against the H100's FP8 one (1,402.6 of 1,978.9); attention is not a matmul here.
        let mi300x = try KernelCostModel(device: catalog.device("MI300X-192GB"), calibration: calibration, communicationSMs: 0, gemmCeiling: .measured)
        #expect(abs(mi300x.matmulCeilingScale(.fp8) - (668.4 / 1307.4) / (1402.6 / 1978.9)) < 1e-12)
    }

    @Test func tinyKernelsTakeAtLeastTheMinimum() throws {
        let m = try KernelCostModel(device: h800, calibration: calibration, communicationSMs: 20)
        #expect(m.duration(gemmRecord(1, 1, 1)) == 3e-6)
    }

    /// `priced` names the calibration figure behind each duration (what `llmsim kernels`
    /// prints): the nearest DeepGEMM row, the trace's weight-gradient rate, the BF16
    /// efficiency, the streaming floor of a BF16 GEMM too thin for its compute rate, the
    /// shortest kernel; and its seconds are `duration`'s.
    @Test func pricedNamesTheFigure() throws {
        let m = try KernelCostModel(device: h800, calibration: calibration, communicationSMs: 20)
        func key(_ r: OperationRecord) -> String { m.priced(r).figure.key(in: calibration) }
        // The row's 1,358 TFLOPS on 112 of its 132 SMs.
        let row = gemmRecord(4096, 7168, 16384)
        #expect(abs(m.priced(row).seconds / (row.flops / (1358e12 * 112 / 132)) - 1) < 1e-9)
        #expect(key(row) == "fp8_dense_gemm_tflops [4096, 7168, 16384]")
        #expect(key(gemmRecord(8192, 7000, 2100)) == "fp8_dense_gemm_tflops [4096, 7168, 2048]")
        #expect(key(gemmRecord(7168, 2048, 4096, name: "x.wgrad")) == "fp8_wgrad_tflops_at_112_sms")
        #expect(key(gemmRecord(4096, 4096, 4096, precision: .bf16)) == "bf16_gemm_tflops [4096, 4096, 4096]")
        // Past the edge: a GEMM finds the batched rows' M of its own size, in M or (transposed) N.
        #expect(key(gemmRecord(8192, 4096, 4096, precision: .bf16)) == "bf16_gemm_tflops [8192, 4096, 4096]")
        #expect(key(gemmRecord(8192, 28672, 8192, precision: .bf16)) == "bf16_gemm_tflops [16384, 4096, 4096] transposed")
        #expect(key(gemmRecord(4096, 256, 4096, precision: .bf16)) == "bf16_gemm_tflops [4096, 256, 4096]")
        #expect(key(gemmRecord(256, 4096, 4096, precision: .bf16)) == "bf16_gemm_tflops [256, 4096, 4096]")
        let withoutRows = try KernelCostModel(device: h800, calibration: flat, communicationSMs: 20)
        #expect(withoutRows.priced(gemmRecord(4096, 4096, 4096, precision: .bf16)).figure == .figure(.bf16GEMM))
        var thin = gemmRecord(4096, 8, 7168, precision: .bf16)
        thin.bytesRead = 4096 * 7168 * 2
        #expect(key(thin) == "memory_bound_efficiency.elementwise")
        #expect(key(gemmRecord(1, 1, 1)) == "minimum_kernel_us")
        var grouped = gemmRecord(8192, 4096, 7168)
        grouped.kind = .groupedGemm
        grouped.gemm = GEMMShape(m: 8192, n: 4096, k: 7168, groups: 4, totalRows: 4 * 8192)
        #expect(key(grouped) == "fp8_grouped_gemm_tflops [4, 8192, 4096, 7168]")
    }

    /// A BF16 GEMM of fewer 128×128 output tiles than compute SMs runs on as many SMs as it
    /// has tiles. DeepSeek's trace: the router's 4,096 × 256 × 7,168 fprop (cuBLAS grid
    /// [32, 2, 1]) takes 44, 45, 45 and 52 µs in its 4 layers, on 112 SMs. OpenXLA's row
    /// [4096, 256, 4096] (376.2 TFLOPS, its 64 tiles on 64 SMs) prices it at 40.0 µs on the
    /// same 64 SMs; the flat 0.70 per busy SM at 44.8 µs.
    @Test("BF16 router GEMM on 64 of 112 SMs: 40.0 µs (OpenXLA's row), 44.8 µs (flat 0.70), against the trace's 44-52 µs")
    func bf16GEMMRunsOnItsTiles() throws {
        let m = try KernelCostModel(device: h800, calibration: calibration, communicationSMs: 20)
        let router = gemmRecord(4096, 256, 7168, precision: .bf16)
        #expect(m.tileOccupancy(router.gemm!) == 64.0 / 112)
        let t = m.duration(router) * 1e6
        #expect(abs(t - 15.032385536e9 / 376.2e12 * 1e6) < 1e-6 && t > 39.9 && t < 40.1, "\(t) µs")
        let withoutRows = try KernelCostModel(device: h800, calibration: flat, communicationSMs: 20)
        let flatTime = withoutRows.duration(router) * 1e6
        #expect(flatTime > 44 && flatTime < 46, "\(flatTime) µs")
        // As many tiles as SMs or more: the whole flat efficiency on every SM.
        let wide = gemmRecord(4096, 512, 7168, precision: .bf16)
        #expect(m.tileOccupancy(wide.gemm!) == 1)
        #expect(abs(wide.flops / withoutRows.duration(wide) - 989.4e12 * 0.70 * 112 / 132) < 1e6)
        // With the row [4096, 512, 4096] (650.0 TFLOPS on its 128 tiles' SMs of 132): per busy
        // SM 650/128, on all 112 compute SMs.
        #expect(abs(wide.flops / m.duration(wide) - 650.0e12 / 128 * 112) < 1e6)
        // Grouped: each group's rows round up to whole tiles (1 + 3 row tiles × 2 columns).
        var grouped = GEMMShape(m: 300, n: 256, k: 7168, groups: 2, totalRows: 400)
        grouped.rowsPerGroup = [100, 300]
        #expect(grouped.outputTiles(tileRows: 128, tileColumns: 128) == 8)
        #expect(m.tileOccupancy(grouped) == 8.0 / 112)
        // FP8 GEMMs keep their measured rows.
        let fp8 = gemmRecord(4096, 256, 7168)
        #expect(m.priced(fp8).figure == .denseRow(.fp8DenseGEMM, 12))
    }

    /// A tile that is not two positive integers is refused, naming the key.
    @Test func badTileIsRefused() throws {
        let path = try KernelCalibration.shippedPath()
        let text = try String(contentsOfFile: path, encoding: .utf8).replacingOccurrences(of: "bf16_gemm_tile: [128, 128]", with: "bf16_gemm_tile: [128]")
        let error = #expect(throws: (any Error).self) { try KernelCalibration.parse(try ConfigValue.parse(text, file: "bad.yaml")) }
        #expect("\(error!)".contains("bf16_gemm_tile") && "\(error!)".contains("[128, 128]"))
    }

    /// `KernelCalibration.Figure` lists every figure the file's reader takes (so a figure added
    /// to the file must be added there, or `llmsim kernels` and `--sensitivity` would miss it),
    /// reads each in the file's unit, and scales the field it reads.
    @Test func figuresAreTheFilesFigures() throws {
        let memory = ["cast", "dispatch_cast", "norm", "elementwise", "permute"].map { "memory_bound_efficiency." + $0 }
        // Not figures: the GPU and SMs the figures were measured on, the BF16 kernels' tile
        // shape and the law carrying attention's figures to other head dimensions.
        let read = KernelCalibration.keys.filter { !["calibration_device", "calibration_sms", "memory_bound_efficiency", "bf16_gemm_tile", "attention_head_dim_law", "blackwell_gemm_device"].contains($0) } + memory
        #expect(Set(KernelCalibration.Figure.allCases.map(\.rawValue)) == Set(read))
        #expect(calibration.value(.bf16GEMM) == 0.70 && abs(calibration.value(.minimumKernel) - 3) < 1e-9 && abs(calibration.value(.hostOperation) - 100) < 1e-9)
        #expect(abs(calibration.value(.routerBookkeeping) - 105) < 1e-9 && abs(calibration.value(.expertLayout) - 7.41) < 1e-9)
        #expect(calibration.value(.fp8Wgrad) == 580 && calibration.value(.norm) == 0.30)
        // The shipped BF16 rows: OpenXLA's 125 batch-1 sm_90 shapes, 256 to 4,096 each way, and
        // its 50 batch-2 and batch-4 rows at M = 4,096 as M = 8,192 and 16,384, 6.5 to 808.7
        // TFLOPS; without rows the table's mean is 0.
        let tflops = calibration.bf16Dense.map(\.tflops)
        #expect(calibration.bf16Dense.count == 175 && tflops.min() == 6.5 && tflops.max() == 808.7)
        #expect(Set(calibration.bf16Dense.map { "\($0.m),\($0.n),\($0.k)" }).count == 175)
        #expect(calibration.bf16Dense.filter { $0.m > 4096 }.count == 50)
        #expect(abs(calibration.value(.bf16GEMMTable) - tflops.reduce(0, +) / 175) < 1e-9 && flat.value(.bf16GEMMTable) == 0)
        let measured = calibration
        for figure in KernelCalibration.Figure.allCases {
            let doubled = measured.scaling(figure, by: 2)
            #expect(abs(doubled.value(figure) / measured.value(figure) - 2) < 1e-12, "\(figure)")
            let others = KernelCalibration.Figure.allCases.filter { $0 != figure }
            #expect(others.allSatisfy { doubled.value($0) == measured.value($0) }, "\(figure) moved another figure")
        }
    }

    /// Measured BF16 rows (`bf16_gemm_tflops`) replace the flat efficiency: a GEMM at a row's
    /// shape runs at the row's TFLOPS on the calibration GPU's 132 SMs, at 112/132 of it when
    /// 20 SMs communicate; a row of fewer tiles than SMs (the router's 64) keeps its rate per
    /// busy SM, so it takes the same time on 112 SMs as on 132; another shape takes the nearest
    /// row in (log M, log N, log K); the figure names the row.
    @Test func measuredBF16RowsPriceTheirShapes() throws {
        // Hypothetical rows: a head-shaped GEMM and the router's.
        var measured = calibration
        measured.bf16Dense = [.init(m: 4096, n: 129280, k: 7168, tflops: 780), .init(m: 4096, n: 256, k: 7168, tflops: 380)]
        let all = try KernelCostModel(device: h800, calibration: measured, communicationSMs: 0)
        let some = try KernelCostModel(device: h800, calibration: measured, communicationSMs: 20)
        let head = gemmRecord(4096, 129280, 7168, precision: .bf16)
        #expect(abs(head.flops / all.duration(head) / 1e12 - 780) < 1e-9)
        #expect(abs(head.flops / some.duration(head) / 1e12 - 780 * 112 / 132) < 1e-9)
        #expect(some.priced(head).figure.key(in: measured) == "bf16_gemm_tflops [4096, 129280, 7168]")
        let router = gemmRecord(4096, 256, 7168, precision: .bf16)
        #expect(abs(router.flops / all.duration(router) / 1e12 - 380) < 1e-9)
        #expect(abs(some.duration(router) - all.duration(router)) < 1e-15)
        // Nearest in log space: a 100,000-wide head takes the head's row, a 512-wide GEMM the router's.
        #expect(some.priced(gemmRecord(4096, 100_000, 7168, precision: .bf16)).figure == .denseRow(.bf16GEMMTable, 0))
        #expect(some.priced(gemmRecord(4096, 512, 7168, precision: .bf16)).figure == .denseRow(.bf16GEMMTable, 1))
        // FP8 GEMMs keep DeepGEMM's rows; without BF16 rows the flat efficiency prices BF16.
        #expect(some.priced(gemmRecord(4096, 256, 7168)).figure == .denseRow(.fp8DenseGEMM, 12))
        let withoutRows = try KernelCostModel(device: h800, calibration: flat, communicationSMs: 20)
        #expect(withoutRows.priced(head).figure == .figure(.bf16GEMM))
    }

    /// `bf16_gemm_tflops` is optional (a calibration file written before it still loads) and
    /// its rows are checked like the FP8 tables'.
    @Test func bf16TableIsOptionalAndChecked() throws {
        let text = try String(contentsOfFile: try KernelCalibration.shippedPath(), encoding: .utf8)
        // The shipped table: its key line and its rows ("  - [M, N, K, TFLOPS]").
        let lines = text.components(separatedBy: "\n")
        let start = try #require(lines.firstIndex(of: "bf16_gemm_tflops:"))
        let end = lines[(start + 1)...].firstIndex { !$0.hasPrefix("  - [") } ?? lines.count
        #expect(end - start - 1 == 175)
        func replacingTable(with replacement: String) -> String {
            (lines[..<start] + [replacement] + lines[end...]).joined(separator: "\n")
        }
        #expect(try KernelCalibration.parse(try ConfigValue.parse(replacingTable(with: ""), file: "old.yaml")).bf16Dense.isEmpty)
        let rows = replacingTable(with: "bf16_gemm_tflops: [[4096, 129280, 7168, 780]]")
        #expect(try KernelCalibration.parse(try ConfigValue.parse(rows, file: "rows.yaml")).bf16Dense == [.init(m: 4096, n: 129280, k: 7168, tflops: 780)])
        let bad = replacingTable(with: "bf16_gemm_tflops: [[4096, 129280, 780]]")
        let error = #expect(throws: (any Error).self) { try KernelCalibration.parse(try ConfigValue.parse(bad, file: "bad.yaml")) }
        #expect("\(error!)".contains("bf16_gemm_tflops") && "\(error!)".contains("4 positive numbers"))
    }
}
