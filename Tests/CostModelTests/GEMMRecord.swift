import Hardware
@testable import Kernels
@testable import CostModel

/// A GEMM record of `groups` × (m × n × k) in `precision`, its inputs quantized by
/// `quantization`: what the GEMM pricing tests feed the cost model (a grouped GEMM when
/// `groups` > 1; `name` ending in `.wgrad` for a weight gradient).
func gemmRecord(_ m: Int, _ n: Int, _ k: Int, name: String = "x.fprop", groups: Int = 1, precision: Precision = .fp8,
                quantization: QuantizationRecipe = .deepSeek) -> OperationRecord {
    OperationRecord(name: name, kind: groups > 1 ? .groupedGemm : .gemm, pass: .forward, block: .mlp, layer: 0,
                    flops: 2 * Double(m * groups) * Double(n) * Double(k), modelFLOPs: 0, bytesRead: 0, bytesWritten: 0, precision: precision,
                    gemm: GEMMShape(m: m, n: n, k: k, groups: groups, quantization: quantization), attention: nil, traffic: nil, recompute: false)
}

/// The cost model of the catalog GPU `id` under the shipped calibration (or `calibration`), with
/// `communicationSMs` of its SMs left to communication.
func costModel(on id: String, calibration: KernelCalibration? = nil, communicationSMs: Int = 0) throws -> KernelCostModel {
    try KernelCostModel(device: try HardwareCatalog.builtIn().device(id), calibration: try calibration ?? KernelCalibration.hopper(),
                        communicationSMs: communicationSMs)
}
