@testable import CostModel

extension KernelCalibration {
    /// This calibration without its measured BF16 rows: BF16/FP32 GEMMs at the flat
    /// `bf16_gemm_efficiency`, as an experiment's `calibration: {bf16_gemm_tflops: []}` asks.
    var withoutBF16Rows: KernelCalibration {
        var c = self
        c.bf16Dense = []
        return c
    }
}
