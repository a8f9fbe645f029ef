extension KernelCalibration {
    /// Each figure of the calibration file a kernel's price can rest on, named by its key in
    /// the file (Resources/hopper-kernels.yaml): the one list the cost model's `PricingFigure`,
    /// `llmsim kernels` and the step's sensitivity (`StepSensitivity`) read. `calibration_sms`
    /// is not one: it says where the figures were measured.
    public enum Figure: String, CaseIterable, Sendable {
        case fp8DenseGEMM = "fp8_dense_gemm_tflops"
        case fp8GroupedGEMM = "fp8_grouped_gemm_tflops"
        case fp8Wgrad = "fp8_wgrad_tflops_at_112_sms"
        case attentionForward = "attention_forward_tflops_at_112_sms"
        case attentionBackward = "attention_backward_tflops_at_112_sms"
        case routerTopK = "router_topk_ns_per_row_at_112_sms"
        case routerBookkeeping = "router_bookkeeping_us"
        case expertLayout = "expert_layout_ns_per_row"
        case bf16GEMM = "bf16_gemm_efficiency"
        case bf16GEMMTable = "bf16_gemm_tflops"
        case blackwellBF16GEMMTable = "bf16_gemm_tflops_blackwell"
        case blackwellFP8GEMMTable = "fp8_gemm_tflops_blackwell"
        case cast = "memory_bound_efficiency.cast"
        case dispatchCast = "memory_bound_efficiency.dispatch_cast"
        case norm = "memory_bound_efficiency.norm"
        case elementwise = "memory_bound_efficiency.elementwise"
        case permute = "memory_bound_efficiency.permute"
        case minimumKernel = "minimum_kernel_us"
        case hostOperation = "host_us_per_operation"
        case mxfp8GEMM = "mxfp8_gemm_rate_over_fp8_rows"
        case nvfp4GEMM = "nvfp4_gemm_rate_over_fp8_rows"
        case nvfp4Cast = "nvfp4_cast_bandwidth_over_mxfp8"
        case mxfp8Cast = "mxfp8_cast_efficiency"

        /// What the figure prices, in a few words.
        public var label: String {
            switch self {
            case .fp8DenseGEMM: "FP8 dense GEMMs (table mean)"
            case .fp8GroupedGEMM: "FP8 grouped GEMMs (table mean)"
            case .fp8Wgrad: "FP8 weight-gradient GEMMs"
            case .attentionForward: "attention forward"
            case .attentionBackward: "attention backward"
            case .routerTopK: "router top-k, per token row"
            case .routerBookkeeping: "router's small kernels, per MoE layer"
            case .expertLayout: "expert row map, per routed row"
            case .bf16GEMM: "BF16 / FP32 GEMMs, of peak"
            case .bf16GEMMTable: "BF16 / FP32 GEMMs (table mean)"
            case .blackwellBF16GEMMTable: "BF16 / FP32 GEMMs on Blackwell SMs (table mean)"
            case .blackwellFP8GEMMTable: "FP8 GEMMs on Blackwell SMs (table mean)"
            case .cast: "casts, of HBM peak"
            case .dispatchCast: "cast before FP8 dispatch, of HBM peak"
            case .norm: "norms, of HBM peak"
            case .elementwise: "element-wise, of HBM peak"
            case .permute: "MoE permutes, of HBM peak"
            case .minimumKernel: "shortest kernel"
            case .hostOperation: "host time per operation"
            case .mxfp8GEMM: "MXFP8 GEMMs, rate over the FP8 rows"
            case .nvfp4GEMM: "NVFP4 GEMMs, rate over the FP8 rows"
            case .nvfp4Cast: "NVFP4 casts, bandwidth over an MXFP8 cast's"
            case .mxfp8Cast: "MXFP8 casts, of HBM peak"
            }
        }

        /// The unit the file gives it in ("" for a fraction of a peak).
        public var unit: String {
            switch self {
            case .fp8DenseGEMM, .fp8GroupedGEMM, .bf16GEMMTable, .blackwellBF16GEMMTable, .blackwellFP8GEMMTable, .fp8Wgrad, .attentionForward, .attentionBackward: "TFLOPS"
            case .bf16GEMM, .cast, .dispatchCast, .norm, .elementwise, .permute, .mxfp8GEMM, .nvfp4GEMM, .nvfp4Cast, .mxfp8Cast: ""
            case .minimumKernel, .hostOperation, .routerBookkeeping: "µs"
            case .routerTopK, .expertLayout: "ns"
            }
        }

        /// Where the shipped file's figure comes from (its comment there gives the details).
        public var shippedSource: String {
            switch self {
            case .fp8DenseGEMM, .fp8GroupedGEMM: "DeepGEMM's tables (H800)"
            case .bf16GEMM: "placeholder (prices without rows)"
            case .bf16GEMMTable: "OpenXLA's sm_90 table (H100)"
            case .blackwellBF16GEMMTable, .blackwellFP8GEMMTable: "OpenXLA's sm_100 table (B200)"
            case .elementwise: "assumption (the casts')"
            case .mxfp8GEMM, .nvfp4GEMM, .nvfp4Cast, .mxfp8Cast: "Transformer Engine's GEMM benchmark (B300)"
            case .fp8Wgrad, .attentionForward, .attentionBackward, .routerTopK, .routerBookkeeping, .expertLayout, .cast, .dispatchCast, .norm, .permute, .minimumKernel, .hostOperation: "DeepSeek's trace (H800)"
            }
        }

        /// The scalar field that holds the figure and the factor from it to the file's unit
        /// (nil for the GEMM tables).
        var field: (path: any WritableKeyPath<KernelCalibration, Double> & Sendable, toUnit: Double)? {
            switch self {
            case .fp8DenseGEMM, .fp8GroupedGEMM, .bf16GEMMTable, .blackwellBF16GEMMTable, .blackwellFP8GEMMTable: nil
            case .fp8Wgrad: (\.fp8WgradTFLOPSAt112, 1)
            case .attentionForward: (\.attentionForwardTFLOPSAt112, 1)
            case .attentionBackward: (\.attentionBackwardTFLOPSAt112, 1)
            case .routerTopK: (\.routerTopKSecondsPerRowAt112, 1e9)
            case .routerBookkeeping: (\.routerBookkeepingSeconds, 1e6)
            case .expertLayout: (\.expertLayoutSecondsPerRow, 1e9)
            case .bf16GEMM: (\.bf16GEMMEfficiency, 1)
            case .cast: (\.castEfficiency, 1)
            case .dispatchCast: (\.dispatchCastEfficiency, 1)
            case .norm: (\.normEfficiency, 1)
            case .elementwise: (\.elementwiseEfficiency, 1)
            case .permute: (\.permuteEfficiency, 1)
            case .minimumKernel: (\.minimumKernelTime, 1e6)
            case .hostOperation: (\.hostSecondsPerOperation, 1e6)
            case .mxfp8GEMM: (\.mxfp8GEMMRateOverFP8Rows, 1)
            case .nvfp4GEMM: (\.nvfp4GEMMRateOverFP8Rows, 1)
            case .nvfp4Cast: (\.nvfp4CastBandwidthOverMXFP8, 1)
            case .mxfp8Cast: (\.mxfp8CastEfficiency, 1)
            }
        }
    }

    /// The rows of an [M, N, K, TFLOPS] table figure (`fp8DenseGEMM`, `bf16GEMMTable`,
    /// `blackwellBF16GEMMTable`, `blackwellFP8GEMMTable`); empty for any other figure.
    public func denseRows(_ table: Figure) -> [DenseRow] { table.denseRowsPath.map { self[keyPath: $0] } ?? [] }

    /// The figure in its file unit; a table, the mean of its rows.
    public func value(_ figure: Figure) -> Double {
        func mean(_ x: [Double]) -> Double { x.isEmpty ? 0 : x.reduce(0, +) / Double(x.count) }
        if let rows = figure.denseRowsPath { return mean(self[keyPath: rows].map(\.tflops)) }
        if figure == .fp8GroupedGEMM { return mean(fp8Grouped.map(\.tflops)) }
        let (path, toUnit) = figure.field!
        return self[keyPath: path] * toUnit
    }

    /// A copy with the figure multiplied by `factor` (a table: every row).
    public func scaling(_ figure: Figure, by factor: Double) -> KernelCalibration {
        var c = self
        if let rows = figure.denseRowsPath {
            for i in c[keyPath: rows].indices { c[keyPath: rows][i].tflops *= factor }
        } else if figure == .fp8GroupedGEMM {
            for i in c.fp8Grouped.indices { c.fp8Grouped[i].tflops *= factor }
        } else {
            c[keyPath: figure.field!.path] *= factor
        }
        return c
    }
}

extension KernelCalibration.Figure {
    /// The field holding an [M, N, K, TFLOPS] table figure's rows; nil for any other figure
    /// (the grouped table's rows have another shape).
    var denseRowsPath: WritableKeyPath<KernelCalibration, [KernelCalibration.DenseRow]>? {
        switch self {
        case .fp8DenseGEMM: \.fp8Dense
        case .bf16GEMMTable: \.bf16Dense
        case .blackwellBF16GEMMTable: \.blackwellBF16Dense
        case .blackwellFP8GEMMTable: \.blackwellFP8Dense
        default: nil
        }
    }
}
