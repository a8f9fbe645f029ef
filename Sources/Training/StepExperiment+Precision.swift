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

    /// `bf16_layers: {start: N, end: M}`: the first N and last M decoder layers keep their
    /// Linears in BF16 (Megatron-Core's `first_last_layers_bf16`, `num_layers_at_start_in_bf16`,
    /// `num_layers_at_end_in_bf16`), under Transformer Engine's recipes only: DeepSeek's
    /// recipe (`fp8`) dispatches every MoE layer's tokens in FP8, a choice llmsim makes per step.
    static func parseBF16Layers(_ v: ConfigValue, into precision: inout PrecisionPolicy, name: String, layers: Int) throws {
        guard let key = try v.optional("bf16_layers") else { return }
        try key.requireKnownKeys(["start", "end"])
        let start = try key.positiveInt("start", default: 0, allowZero: true), end = try key.positiveInt("end", default: 0, allowZero: true)
        // No layer asked for: nothing to check (a sweep may zip it with every precision).
        guard start + end > 0 else { return }
        guard precision.linear.isQuantized, precision.quantization != .deepSeek else {
            throw key.error("bf16_layers keeps layers in BF16 under a Transformer Engine recipe; precision: \(name) has none to keep",
                            fix: "use precision: fp8-tensor, fp8-mx or nvfp4, or remove bf16_layers")
        }
        guard start + end <= layers else {
            throw key.error("\(start) + \(end) BF16 layers, but the model has \(layers)", fix: "keep at most \(layers) layers in BF16, or use precision: bf16")
        }
        (precision.bf16LayersAtStart, precision.bf16LayersAtEnd) = (start, end)
    }
}
