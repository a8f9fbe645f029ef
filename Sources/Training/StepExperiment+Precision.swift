import ConfigIO
import Hardware
import Model

extension StepExperiment {
    /// Refuses, as infeasible, a `precision` the GPU cannot train in: FP8 without FP8 tensor
    /// cores (Ampere); MXFP8 or NVFP4 without tensor cores that apply block scales (before
    /// Blackwell); NVFP4 without FP4 tensor cores.
    static func checkPrecision(_ precision: PrecisionPolicy, name: String, on device: Device, at key: ConfigValue) throws {
        let format = precision.linear
        if format == .fp8, device.peakFLOPS[.fp8] == nil {
            throw key.error("\(device.name) has no FP8 tensor cores", fix: "use precision: bf16 on this device").markedInfeasible
        }
        let recipe = precision.quantization == .nvfp4 ? "NVFP4" : "MXFP8"
        if format.isQuantized, precision.quantization.needsMicroscalingTensorCores, !device.microscalingTensorCores {
            throw key.error("\(recipe) (precision: \(name)) needs tensor cores that apply block scales (Blackwell, SM 10.x); the \(device.name) has none",
                            fix: "use precision: fp8-tensor (per-tensor FP8) or fp8 (DeepSeek's tiles) on this device, or a Blackwell GPU").markedInfeasible
        }
        if format == .fp4, device.peakFLOPS[.fp4] == nil {
            throw key.error("NVFP4 (precision: \(name)) needs FP4 tensor cores; the catalog gives the \(device.name) no FP4 peak",
                            fix: "use precision: fp8-mx or fp8-tensor on this device, or give its catalog entry a peak_tflops.fp4").markedInfeasible
        }
    }
}
