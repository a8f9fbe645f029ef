import CostModel
import Hardware
import Kernels

extension ValidateCommand {
    /// Kernel benchmarks published on GPUs other than the H800 the kernel model is calibrated
    /// on, priced at their shapes on every SM: Bekman's best matmul rates
    /// (`MaximumAchievableMatmul`) and Transformer Engine's per-layer GEMM times on a B300
    /// (`TransformerEngineGEMMBenchmark`; its NVFP4 row sets calibration figures, named so).
    static func kernelCases(hardware: HardwareCatalog) throws -> [Case] {
        let calibration = try KernelCalibration.hopper()
        var out: [Case] = []
        for s in MaximumAchievableMatmul.shapes {
            let device = try hardware.device(s.deviceID)
            guard let best = device.achievableMatmulFLOPS[s.precision] else {
                preconditionFailure("the catalog's \(s.deviceID) has no achievable_matmul_tflops.\(s.precision.rawValue) for MaximumAchievableMatmul's shape")
            }
            let model = try KernelCostModel(device: device, calibration: calibration, communicationSMs: 0)
            out.append(check("best \(s.precision.rawValue.uppercased()) matmul, \(device.name), \(s.m)x\(s.n)x\(s.k)", "Bekman MAMF table v2",
                             published: best / 1e12, simulated: MaximumAchievableMatmul.tflops(s, on: model), unit: "TFLOPS", tolerance: 0.10))
        }
        let b300 = try KernelCostModel(device: hardware.device(TransformerEngineGEMMBenchmark.deviceID), calibration: calibration, communicationSMs: 0)
        for row in TransformerEngineGEMMBenchmark.rows {
            let name = "TE GEMM benchmark, \(row.name) \(row.mode.rawValue), 12 GEMMs" + (row.calibrates ? " (calibrates \(row.name))" : "")
            out.append(check(name, "TE gemm_profiling.rst (B300, one layer)", published: row.seconds * 1e3,
                             simulated: TransformerEngineGEMMBenchmark.seconds(row, on: b300) * 1e3, unit: "ms", tolerance: 0.10))
        }
        return out
    }
}
