import ConfigIO
import CostModel

extension StepExperiment {
    /// `calibration:` — the kernel calibration of the experiment, as `topology:` names its
    /// cluster:
    /// - a path to a calibration file with every key of the shipped one (your own measurements);
    /// - a mapping of keys of the calibration file, replacing those figures of the shipped file
    ///   (`{attention_forward_tflops_at_112_sms: 500}`; `memory_bound_efficiency` merges key by key, the GEMM
    ///   tables are replaced whole), with an optional `file:` to start from another file.
    ///   `bf16_gemm_efficiency` prices only when there are no measured BF16 rows, so setting it
    ///   over a file that has them (the shipped one does) is refused unless the mapping also
    ///   sets `bf16_gemm_tflops` (`[]` to price every BF16 GEMM at the flat figure, on every GPU:
    ///   the Blackwell rows, `bf16_gemm_tflops_blackwell`, price only beside measured rows).
    /// Sweeps set its keys like any other (`calibration.attention_forward_tflops_at_112_sms: [500, 555]`).
    /// The shipped file and its sources: Sources/CostModel/Resources/hopper-kernels.yaml.
    static func parseCalibration(_ c: ConfigValue) throws -> KernelCalibration {
        func existing(_ value: ConfigValue) throws -> String {
            try value.existingPath(of: "calibration", fix: "give a path relative to the experiment file, with the keys of llmsim's Sources/CostModel/Resources/hopper-kernels.yaml")
        }
        if case .scalar = c.node { return try KernelCalibration.parse(try ConfigValue.load(path: try existing(c))) }
        try c.requireKnownKeys(KernelCalibration.keys + ["file"])
        let file = try c.optional("file").map(existing) ?? KernelCalibration.shippedPath()
        let calibration = try KernelCalibration.parse(try ConfigDocument.overlay(c.removing("file"), onFile: file, keyPath: c.path))
        let flatKey = KernelCalibration.Figure.bf16GEMM.rawValue, tableKey = KernelCalibration.Figure.bf16GEMMTable.rawValue
        if let flat = try c.optional(flatKey), try c.optional(tableKey) == nil, calibration.pricesBF16FromRows {
            throw flat.error("\(flatKey) prices no GEMM here: the calibration file has \(calibration.bf16Dense.count) measured \(tableKey) rows, which price every BF16/FP32 GEMM",
                             fix: "add \(tableKey): [] beside it to price BF16 GEMMs at the flat efficiency, or give your own rows")
        }
        return calibration
    }
}
