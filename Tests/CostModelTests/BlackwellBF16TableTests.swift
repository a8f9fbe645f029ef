import Testing
import ConfigIO
import Foundation
import Hardware
@testable import Kernels
@testable import CostModel

/// The calibration's second BF16 table (`bf16_gemm_tflops_blackwell`, OpenXLA's sm_100 table
/// taken as the B200): it prices the BF16 GEMMs of GPUs with Blackwell's SM, the sm_90 rows
/// everyone else's.
@Suite struct BlackwellBF16TableTests {
    let calibration: KernelCalibration
    init() throws { calibration = try KernelCalibration.hopper() }

    /// The shipped rows: all 125 batch-1 shapes of the sm_100 table and its 50 batch-2 and
    /// batch-4 rows at M = 4,096 as M = 8,192 and 16,384, 6.8 to 1,670.5 TFLOPS
    /// (tensorflow/tensorflow a305421c, matmul_interpolator_data.h), on the B200.
    @Test func shippedRowsAreOpenXLAsSM100Table() throws {
        let rows = calibration.blackwellBF16Dense
        #expect(rows.count == 175 && Set(rows.map { "\($0.m),\($0.n),\($0.k)" }).count == 175)
        #expect(rows.map(\.tflops).min() == 6.8 && rows.map(\.tflops).max() == 1670.5)
        #expect(rows.contains(.init(m: 2048, n: 4096, k: 4096, tflops: 1342.5)))
        // Batch 2 and 4 of 4,096 × 4,096 × 4,096: 1,466.6 and 1,670.5 TFLOPS.
        #expect(rows.contains(.init(m: 8192, n: 4096, k: 4096, tflops: 1466.6)))
        #expect(rows.contains(.init(m: 16384, n: 4096, k: 4096, tflops: 1670.5)))
        #expect(calibration.blackwellDevice?.id == "B200-SXM-180GB")
    }

    /// On the B200 with every SM computing, a GEMM at a row's shape runs at the row's TFLOPS;
    /// on a GB200 at the same fraction of its own peak (2,500 over 2,250); the B300 and GB300
    /// (Blackwell Ultra, the same tensor rate per SM) take the same rows; Hopper and Ampere keep
    /// the sm_90 rows.
    @Test func pricesEveryBlackwellSMAndNoOther() throws {
        let edge = gemmRecord(4096, 4096, 4096, precision: .bf16)
        let b200 = try costModel(on: "B200-SXM-180GB")
        #expect(abs(edge.flops / b200.duration(edge) / 1e12 - 1416.9) < 1e-6)
        #expect(b200.priced(edge).figure.key(in: calibration) == "bf16_gemm_tflops_blackwell [4096, 4096, 4096]")
        let gb200 = try costModel(on: "GB200-186GB")
        #expect(abs(edge.flops / gb200.duration(edge) / 1e12 - 1416.9 * 2500 / 2250) < 0.5)
        for id in ["B300-SXM-268GB", "GB300-279GB"] {
            #expect(try costModel(on: id).priced(edge).figure == .denseRow(.blackwellBF16GEMMTable, 124), "\(id)")
        }
        for id in ["H100-SXM5-80GB", "H800-SXM5-80GB", "A100-SXM4-80GB"] {
            #expect(try costModel(on: id).priced(edge).figure == .denseRow(.bf16GEMMTable, 124), "\(id)")
        }
        // At 4,096^3 Blackwell keeps 0.63 of its peak where the H100's row keeps 0.79.
        let h100 = try costModel(on: "H100-SXM5-80GB")
        #expect(abs(edge.flops / h100.duration(edge) / 1e12 - 783.3) < 1e-6)
    }

    /// Past the 4,096 edge a GEMM finds the batched rows of its own size, in M or, transposed,
    /// in N: Transformer Engine's 15,872 × 4,096 × 4,096 (M, N, K) and its transpose both take
    /// the 16,384 row's 1,670.5 TFLOPS on the B200 (TE measures 1,799 on a B300); in K alone
    /// past the edge, the edge's rate.
    @Test func pastTheEdgeTheBatchedRows() throws {
        let b200 = try costModel(on: "B200-SXM-180GB")
        for (g, key) in [(gemmRecord(15872, 4096, 4096, precision: .bf16), "[16384, 4096, 4096]"), (gemmRecord(4096, 15872, 4096, precision: .bf16), "[16384, 4096, 4096] transposed")] {
            #expect(b200.priced(g).figure.key(in: calibration) == "bf16_gemm_tflops_blackwell " + key)
            #expect(abs(g.flops / b200.duration(g) / 1e12 - 1670.5) < 1e-6)
        }
        #expect(b200.priced(gemmRecord(8192, 2048, 4096, precision: .bf16)).figure.key(in: calibration) == "bf16_gemm_tflops_blackwell [8192, 2048, 4096]")
        #expect(b200.priced(gemmRecord(4096, 4096, 15872, precision: .bf16)).figure.key(in: calibration) == "bf16_gemm_tflops_blackwell [4096, 4096, 4096]")
    }

    /// A Blackwell row of fewer 128×128 tiles than SMs keeps its rate per busy SM, as the sm_90
    /// rows do: 4,096 × 256 has 64 tiles, so it takes the same time on 128 compute SMs as on 148.
    @Test func smallGEMMsKeepTheirRatePerBusySM() throws {
        let router = gemmRecord(4096, 256, 4096, precision: .bf16)
        let all = try costModel(on: "B200-SXM-180GB"), some = try costModel(on: "B200-SXM-180GB", communicationSMs: 20)
        #expect(abs(router.flops / all.duration(router) / 1e12 - 645.1) < 1e-6)
        #expect(abs(some.duration(router) - all.duration(router)) < 1e-15)
    }

    /// Without `bf16_gemm_tflops` rows (an experiment's `bf16_gemm_tflops: []`) the flat
    /// efficiency prices every GPU's BF16 GEMMs, the Blackwell rows set aside with the rest.
    @Test func flatEfficiencyPricesEveryGPUWithoutRows() throws {
        let b200 = try costModel(on: "B200-SXM-180GB", calibration: calibration.withoutBF16Rows)
        #expect(b200.priced(gemmRecord(4096, 4096, 4096, precision: .bf16)).figure == .figure(.bf16GEMM))
    }

    /// The rows need the GPU they ran on, and a GPU with per-SM figures (its SM is what the
    /// priced devices are matched by).
    @Test func rowsNeedTheirDevice() throws {
        let text = try String(contentsOfFile: try KernelCalibration.shippedPath(), encoding: .utf8)
        let without = text.replacingOccurrences(of: "blackwell_gemm_device: B200-SXM-180GB\n", with: "")
        let missing = #expect(throws: (any Error).self) { try KernelCalibration.parse(try ConfigValue.parse(without, file: "a.yaml")) }
        #expect("\(missing!)".contains("blackwell_gemm_device: B200-SXM-180GB"))
        let noSM = text.replacingOccurrences(of: "blackwell_gemm_device: B200-SXM-180GB", with: "blackwell_gemm_device: MI300X-192GB")
        let error = #expect(throws: (any Error).self) { try KernelCalibration.parse(try ConfigValue.parse(noSM, file: "b.yaml")) }
        #expect("\(error!)".contains("no per-SM figures"))
        let unknown = text.replacingOccurrences(of: "blackwell_gemm_device: B200-SXM-180GB", with: "blackwell_gemm_device: B201")
        #expect(throws: (any Error).self) { try KernelCalibration.parse(try ConfigValue.parse(unknown, file: "c.yaml")) }
    }
}
