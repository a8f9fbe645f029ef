import ConfigIO
import CostModel

extension StepExperiment {
    /// `calibration:` — the kernel calibration of the experiment, as `topology:` names its
    /// cluster:
    /// - a path to a calibration file with every key of the shipped one (your own measurements);
    /// - a mapping of keys of the calibration file, replacing those figures of the shipped file
    ///   (`{bf16_gemm_efficiency: 0.6}`; `memory_bound_efficiency` merges key by key, the GEMM
    ///   tables are replaced whole), with an optional `file:` to start from another file.
    /// Sweeps set its keys like any other (`calibration.bf16_gemm_efficiency: [0.6, 0.7, 0.8]`).
    /// The shipped file and its sources: Sources/CostModel/Resources/hopper-kernels.yaml.
    static func parseCalibration(_ c: ConfigValue) throws -> KernelCalibration {
        func existing(_ value: ConfigValue) throws -> String {
            try value.existingPath(of: "calibration", fix: "give a path relative to the experiment file, with the keys of llmsim's Sources/CostModel/Resources/hopper-kernels.yaml")
        }
        if case .scalar = c.node { return try KernelCalibration.parse(try ConfigValue.load(path: try existing(c))) }
        try c.requireKnownKeys(KernelCalibration.keys + ["file"])
        let file = try c.optional("file").map(existing) ?? KernelCalibration.shippedPath()
        return try KernelCalibration.parse(try ConfigDocument.overlay(c.removing("file"), onFile: file, keyPath: c.path))
    }
}
