import Testing
import Hardware
@testable import Kernels
@testable import CostModel

@Suite struct KernelCostModelTests {
    let h800: Device
    let calibration: KernelCalibration
    init() throws {
        h800 = try HardwareCatalog.builtIn().device("H800-SXM5-80GB")
        calibration = try KernelCalibration.hopper()
    }

    func gemm(_ m: Int, _ n: Int, _ k: Int, name: String = "x.fprop", precision: Precision = .fp8) -> OperationRecord {
        OperationRecord(name: name, kind: .gemm, pass: .forward, block: .attention, layer: 0, flops: 2 * Double(m * n * k),
                        modelFLOPs: 0, bytesRead: 0, bytesWritten: 0, precision: precision,
                        gemm: GEMMShape(m: m, n: n, k: k, groups: 1, totalRows: m), attention: nil, traffic: nil, recompute: false)
    }

    /// On all 132 SMs a DeepGEMM table shape runs at the table's TFLOPS (DeepGEMM README).
    @Test("DeepGEMM table: M=4096 N=7168 K=16384 at 1,358 TFLOPS on 132 SMs")
    func reproducesTableRowsOnAllSMs() throws {
        let m = try KernelCostModel(device: h800, calibration: calibration, communicationSMs: 0)
        let r = gemm(4096, 7168, 16384)
        #expect(abs(r.flops / m.duration(r) / 1e12 - 1358) < 1)
        let small = gemm(64, 2112, 7168)
        #expect(abs(small.flops / m.duration(small) / 1e12 - 206) < 1)
    }

    /// With 20 SMs communicating, compute throughput falls to 112/132.
    @Test func communicationSMsSlowCompute() throws {
        let all = try KernelCostModel(device: h800, calibration: calibration, communicationSMs: 0)
        let some = try KernelCostModel(device: h800, calibration: calibration, communicationSMs: 20)
        let r = gemm(4096, 4096, 7168)
        #expect(abs(some.duration(r) / all.duration(r) - 132.0 / 112) < 1e-9)
        #expect(throws: KernelError.self) { try KernelCostModel(device: h800, calibration: calibration, communicationSMs: 132) }
    }

    /// A100 has no FP8: FP8 GEMMs run in BF16 at the flat BF16 efficiency of 312 TFLOPS.
    @Test func fp8FallsBackToBF16OnAmpere() throws {
        let a100 = try HardwareCatalog.builtIn().device("A100-SXM4-80GB")
        let m = try KernelCostModel(device: a100, calibration: calibration, communicationSMs: 0)
        let r = gemm(4096, 4096, 4096)
        #expect(abs(r.flops / m.duration(r) - 312e12 * 0.70) < 1e6)
    }

    @Test func tinyKernelsTakeAtLeastTheMinimum() throws {
        let m = try KernelCostModel(device: h800, calibration: calibration, communicationSMs: 20)
        #expect(m.duration(gemm(1, 1, 1)) == 3e-6)
    }

    /// `priced` names the calibration figure behind each duration (what `llmsim kernels`
    /// prints): the nearest DeepGEMM row, the trace's weight-gradient rate, the BF16
    /// efficiency, the streaming floor of a BF16 GEMM too thin for its compute rate, the
    /// shortest kernel; and its seconds are `duration`'s.
    @Test func pricedNamesTheFigure() throws {
        let m = try KernelCostModel(device: h800, calibration: calibration, communicationSMs: 20)
        func key(_ r: OperationRecord) -> String { m.priced(r).figure.key(in: calibration) }
        // The row's 1,358 TFLOPS on 112 of its 132 SMs.
        let row = gemm(4096, 7168, 16384)
        #expect(abs(m.priced(row).seconds / (row.flops / (1358e12 * 112 / 132)) - 1) < 1e-9)
        #expect(key(row) == "fp8_dense_gemm_tflops [4096, 7168, 16384]")
        #expect(key(gemm(8192, 7000, 2100)) == "fp8_dense_gemm_tflops [4096, 7168, 2048]")
        #expect(key(gemm(7168, 2048, 4096, name: "x.wgrad")) == "fp8_wgrad_tflops_at_112_sms")
        #expect(key(gemm(4096, 4096, 4096, precision: .bf16)) == "bf16_gemm_efficiency")
        var thin = gemm(4096, 8, 7168, precision: .bf16)
        thin.bytesRead = 4096 * 7168 * 2
        #expect(key(thin) == "memory_bound_efficiency.elementwise")
        #expect(key(gemm(1, 1, 1)) == "minimum_kernel_us")
        var grouped = gemm(8192, 4096, 7168)
        grouped.kind = .groupedGemm
        grouped.gemm = GEMMShape(m: 8192, n: 4096, k: 7168, groups: 4, totalRows: 4 * 8192)
        #expect(key(grouped) == "fp8_grouped_gemm_tflops [4, 8192, 4096, 7168]")
    }

    /// `KernelCalibration.Figure` lists every figure the file's reader takes (so a figure added
    /// to the file must be added there, or `llmsim kernels` and `--sensitivity` would miss it),
    /// reads each in the file's unit, and scales the field it reads.
    @Test func figuresAreTheFilesFigures() throws {
        let memory = ["cast", "norm", "elementwise", "permute"].map { "memory_bound_efficiency." + $0 }
        let read = KernelCalibration.keys.filter { $0 != "calibration_sms" && $0 != "memory_bound_efficiency" } + memory
        #expect(Set(KernelCalibration.Figure.allCases.map(\.rawValue)) == Set(read))
        #expect(calibration.value(.bf16GEMM) == 0.70 && abs(calibration.value(.minimumKernel) - 3) < 1e-9 && abs(calibration.value(.hostOperation) - 100) < 1e-9)
        #expect(calibration.value(.fp8Wgrad) == 580 && calibration.value(.norm) == 0.30)
        for figure in KernelCalibration.Figure.allCases {
            let doubled = calibration.scaling(figure, by: 2)
            #expect(abs(doubled.value(figure) / calibration.value(figure) - 2) < 1e-12, "\(figure)")
            let others = KernelCalibration.Figure.allCases.filter { $0 != figure }
            #expect(others.allSatisfy { doubled.value($0) == calibration.value($0) }, "\(figure) moved another figure")
        }
    }
}
