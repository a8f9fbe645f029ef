import ConfigIO
import Foundation
import Hardware

/// Measured kernel throughputs (Resources/hopper-kernels.yaml; every number has its source
/// there). Loaded strictly: an unknown key is an error.
public struct KernelCalibration: Sendable, Equatable {
    /// A measured GEMM: its shape and TFLOPS on the calibration GPU.
    public struct DenseRow: Sendable, Equatable {
        public var m, n, k: Int
        public var tflops: Double
        public init(m: Int, n: Int, k: Int, tflops: Double) { self.m = m; self.n = n; self.k = k; self.tflops = tflops }
    }
    public struct GroupedRow: Sendable, Equatable { public var groups, mPerGroup, n, k: Int; public var tflops: Double }
    /// The GPU the figures were measured on (`calibration_device`, a device of the built-in
    /// hardware catalog): the cost model carries a figure to another device as a fraction of
    /// this one's peaks, measured matmul rates and per-SM throughputs.
    public var device: Device

    public var calibrationSMs: Int
    public var fp8Dense: [DenseRow]
    public var fp8Grouped: [GroupedRow]
    /// TFLOPS at 112 SMs.
    public var fp8WgradTFLOPSAt112: Double
    public var attentionForwardTFLOPSAt112: Double
    public var attentionBackwardTFLOPSAt112: Double
    /// How the attention figures carry to other head dimensions on the calibration GPU's SM
    /// (`attention_head_dim_law`; absent: the same rate at every shape).
    public var attentionHeadDimLaw: AttentionHeadDimLaw? = nil
    /// Seconds per token row of one top-k selection of the router, at 112 SMs
    /// (`router_topk_ns_per_row_at_112_sms`).
    public var routerTopKSecondsPerRowAt112: Double
    /// Seconds of the router's small bookkeeping kernels per MoE layer forward
    /// (`router_bookkeeping_us`).
    public var routerBookkeepingSeconds: Double
    /// Seconds per routed row of building the map from a GPU's received tokens to its experts'
    /// rows (`expert_layout_ns_per_row`).
    public var expertLayoutSecondsPerRow: Double
    public var bf16GEMMEfficiency: Double
    /// Measured BF16 GEMMs on the calibration GPU (`bf16_gemm_tflops`, rows [M, N, K, TFLOPS] at
    /// `calibrationSMs` SMs); when there are any, BF16/FP32 GEMMs are priced from the nearest
    /// row instead of the flat `bf16GEMMEfficiency`. The shipped file holds OpenXLA's measured
    /// sm_90 table (`docs/checks/xla_matmul_table.py`); `docs/checks/measure_bf16_gemms.py`
    /// measures rows at a step's own shapes on a GPU.
    public var bf16Dense: [DenseRow] = []
    /// Whether measured rows price the BF16/FP32 GEMMs (`bf16Dense`); the flat
    /// `bf16GEMMEfficiency` prices them only without.
    public var pricesBF16FromRows: Bool { !bf16Dense.isEmpty }
    /// Measured BF16 GEMMs on a GPU with Blackwell's SM (`bf16_gemm_tflops_blackwell`, rows
    /// [M, N, K, TFLOPS] on all the SMs of `blackwellDevice`): they price the BF16/FP32 GEMMs
    /// of every device whose SM has that device's tensor rate per clock (B200, GB200, B300,
    /// GB300), unless the calibration GPU's SM is that one already, and only beside
    /// `bf16Dense` rows (without them the flat efficiency prices every GPU's BF16 GEMMs). The
    /// shipped file holds OpenXLA's sm_100 table.
    public var blackwellBF16Dense: [DenseRow] = []
    /// Measured FP8 GEMMs (E4M3 operands, one scale per tensor) on the same GPU
    /// (`fp8_gemm_tflops_blackwell`, rows [M, N, K, TFLOPS] on all its SMs): they price the FP8
    /// GEMMs, and through their rates the MXFP8 and NVFP4 ones, of the same devices in place of
    /// the `fp8Dense`, `fp8Grouped` and wgrad figures carried from the calibration GPU. The
    /// shipped file holds OpenXLA's sm_100 FP8 table.
    public var blackwellFP8Dense: [DenseRow] = []
    /// The GPU the Blackwell rows were measured on (`blackwell_gemm_device`, a catalog device
    /// with per-SM figures); nil when the file has no such rows.
    public var blackwellDevice: Device? = nil
    /// Output tile (rows, columns) of the BF16/FP32 GEMM kernels: a GEMM keeps only as many SMs
    /// busy as it has tiles, wave by wave (`bf16_gemm_tile`).
    public var bf16GEMMTile: Tile
    public struct Tile: Sendable, Equatable { public var rows, columns: Int }
    public var castEfficiency: Double
    /// The forward's cast of the tokens before an FP8 dispatch (`memory_bound_efficiency.dispatch_cast`).
    public var dispatchCastEfficiency: Double
    public var normEfficiency: Double
    public var elementwiseEfficiency: Double
    public var permuteEfficiency: Double
    /// Seconds.
    public var minimumKernelTime: Double
    /// Host seconds to issue one cost-executor operation (`host_us_per_operation`).
    public var hostSecondsPerOperation: Double
    /// An MXFP8 GEMM's rate over the FP8 row that prices its shape (`mxfp8_gemm_rate_over_fp8_rows`):
    /// Transformer Engine's MXFP8 kernels against the block-scaled FP8 kernels of DeepSeek's
    /// recipe (1×128 and 128×128 scales, which the Blackwell FP8 rows price alike), measured
    /// together on a Blackwell GPU; 1 where the file has none.
    public var mxfp8GEMMRateOverFP8Rows = 1.0
    /// An NVFP4 GEMM's rate over the FP8 row that prices its shape (`nvfp4_gemm_rate_over_fp8_rows`),
    /// on the device's FP8 peak: Transformer Engine's NVFP4 kernels against the block-scaled FP8
    /// kernels, measured together on a Blackwell GPU; never above the device's FP4 peak over
    /// its FP8 peak. 1 where the file has none.
    public var nvfp4GEMMRateOverFP8Rows = 1.0
    /// The HBM bandwidth an NVFP4 cast reaches over the one an FP8 cast reaches
    /// (`nvfp4_cast_bandwidth_over_mxfp8`), each on the bytes llmsim counts for it (NVFP4's
    /// row-wise cast reads its input twice): Transformer Engine's NVFP4 and MXFP8 quantization
    /// measured together; 1 where the file has none.
    public var nvfp4CastBandwidthOverMXFP8 = 1.0
    /// The HBM bandwidth, as a fraction of the peak, of Transformer Engine's block-scaled casts
    /// on Blackwell (`mxfp8_cast_efficiency`; NVFP4's at `nvfp4CastBandwidthOverMXFP8` of it),
    /// on the bytes llmsim counts; the cast figure (`memory_bound_efficiency.cast`) where the
    /// file has none.
    public var mxfp8CastEfficiency = 1.0

    public static let keys = ["calibration_device", "calibration_sms", "fp8_dense_gemm_tflops", "fp8_grouped_gemm_tflops", "fp8_wgrad_tflops_at_112_sms",
                       "attention_forward_tflops_at_112_sms", "attention_backward_tflops_at_112_sms", "attention_head_dim_law", "router_topk_ns_per_row_at_112_sms",
                       "router_bookkeeping_us", "expert_layout_ns_per_row", "bf16_gemm_efficiency",
                       "bf16_gemm_tflops", "bf16_gemm_tflops_blackwell", "fp8_gemm_tflops_blackwell", "blackwell_gemm_device", "bf16_gemm_tile", "memory_bound_efficiency", "minimum_kernel_us", "host_us_per_operation", "mxfp8_gemm_rate_over_fp8_rows",
                       "nvfp4_gemm_rate_over_fp8_rows", "nvfp4_cast_bandwidth_over_mxfp8", "mxfp8_cast_efficiency"]

    /// The calibration shipped with llmsim.
    public static func hopper() throws -> KernelCalibration {
        try parse(try ConfigValue.load(path: try shippedPath()))
    }

    /// The path of the shipped calibration file (Resources/hopper-kernels.yaml in the bundle).
    public static func shippedPath() throws -> String {
        guard let url = Bundle.module.url(forResource: "hopper-kernels", withExtension: "yaml") else {
            throw ConfigError(file: "hopper-kernels.yaml", problem: "the kernel calibration is missing from the bundle", fix: "rebuild llmsim")
        }
        return url.path
    }

    public static func parse(_ v: ConfigValue) throws -> KernelCalibration {
        try v.requireKnownKeys(keys)
        func rows(_ key: String, width: Int, optional: Bool = false) throws -> [[Double]] {
            guard let table = optional ? try v.optional(key) : try v.required(key) else { return [] }
            return try table.elements().map { row in
                let values = try row.elements().map { try $0.double() }
                if values.count != width || values.contains(where: { $0 <= 0 }) {
                    throw row.error("expected \(width) positive numbers", fix: "see the comment above '\(key)'")
                }
                return values
            }
        }
        /// A GEMM table of rows [M, N, K, TFLOPS].
        func denseRows(_ key: String, optional: Bool = false) throws -> [DenseRow] {
            try rows(key, width: 4, optional: optional).map { DenseRow(m: Int($0[0]), n: Int($0[1]), k: Int($0[2]), tflops: $0[3]) }
        }
        let memory = try v.required("memory_bound_efficiency")
        try memory.requireKnownKeys(["cast", "dispatch_cast", "norm", "elementwise", "permute"])
        /// A fraction of a peak: above 1 the kernel would outrun the roofline.
        func fraction(_ m: ConfigValue, _ key: String) throws -> Double {
            let f = try m.positiveDouble(key)
            if f > 1 { throw try m.required(key).error("a fraction of the device's peak must be at most 1, found \(f)", fix: "give the measured throughput over the peak, e.g. 0.7") }
            return f
        }
        let tile = try v.required("bf16_gemm_tile")
        let tileSides = try tile.elements().map { try $0.int() }
        guard tileSides.count == 2, tileSides.allSatisfy({ $0 > 0 }) else {
            throw tile.error("expected the output tile's rows and columns, two positive integers", fix: "write e.g. bf16_gemm_tile: [128, 128]")
        }
        let device = try v.required("calibration_device").entry(of: try HardwareCatalog.builtIn().devices, what: "calibration device")
        let sms = try v.positiveInt("calibration_sms")
        guard sms <= device.smCount else {
            throw try v.required("calibration_sms").error("\(sms) SMs, but the \(device.name) has \(device.smCount)",
                                                          fix: "give the SMs the measurements ran on, at most \(device.smCount)")
        }
        let castEfficiency = try fraction(memory, "cast")
        let blackwellBF16 = try denseRows("bf16_gemm_tflops_blackwell", optional: true)
        let blackwellFP8 = try denseRows("fp8_gemm_tflops_blackwell", optional: true)
        let blackwellDevice = try blackwellDevice(v, tables: [("bf16_gemm_tflops_blackwell", blackwellBF16), ("fp8_gemm_tflops_blackwell", blackwellFP8)])
        return KernelCalibration(
            device: device,
            calibrationSMs: sms,
            fp8Dense: try denseRows("fp8_dense_gemm_tflops"),
            fp8Grouped: try rows("fp8_grouped_gemm_tflops", width: 5).map { GroupedRow(groups: Int($0[0]), mPerGroup: Int($0[1]), n: Int($0[2]), k: Int($0[3]), tflops: $0[4]) },
            fp8WgradTFLOPSAt112: try v.positiveDouble("fp8_wgrad_tflops_at_112_sms"),
            attentionForwardTFLOPSAt112: try v.positiveDouble("attention_forward_tflops_at_112_sms"),
            attentionBackwardTFLOPSAt112: try v.positiveDouble("attention_backward_tflops_at_112_sms"),
            attentionHeadDimLaw: try v.optional("attention_head_dim_law").map(AttentionHeadDimLaw.parse),
            routerTopKSecondsPerRowAt112: try v.positiveDouble("router_topk_ns_per_row_at_112_sms") * 1e-9,
            routerBookkeepingSeconds: try v.positiveDouble("router_bookkeeping_us", allowZero: true) * 1e-6,
            expertLayoutSecondsPerRow: try v.positiveDouble("expert_layout_ns_per_row", allowZero: true) * 1e-9,
            bf16GEMMEfficiency: try fraction(v, "bf16_gemm_efficiency"),
            bf16Dense: try denseRows("bf16_gemm_tflops", optional: true),
            blackwellBF16Dense: blackwellBF16, blackwellFP8Dense: blackwellFP8, blackwellDevice: blackwellDevice,
            bf16GEMMTile: Tile(rows: tileSides[0], columns: tileSides[1]),
            castEfficiency: castEfficiency, dispatchCastEfficiency: try fraction(memory, "dispatch_cast"), normEfficiency: try fraction(memory, "norm"),
            elementwiseEfficiency: try fraction(memory, "elementwise"), permuteEfficiency: try fraction(memory, "permute"),
            minimumKernelTime: try v.positiveDouble("minimum_kernel_us") * 1e-6,
            hostSecondsPerOperation: try v.positiveDouble("host_us_per_operation") * 1e-6,
            mxfp8GEMMRateOverFP8Rows: try v.positiveDouble("mxfp8_gemm_rate_over_fp8_rows", default: 1),
            nvfp4GEMMRateOverFP8Rows: try v.positiveDouble("nvfp4_gemm_rate_over_fp8_rows", default: 1),
            nvfp4CastBandwidthOverMXFP8: try v.positiveDouble("nvfp4_cast_bandwidth_over_mxfp8", default: 1),
            mxfp8CastEfficiency: try v.optional("mxfp8_cast_efficiency") == nil ? castEfficiency : try fraction(v, "mxfp8_cast_efficiency"))
    }

    /// The device the Blackwell tables (`bf16_gemm_tflops_blackwell`, `fp8_gemm_tflops_blackwell`)
    /// were measured on: required with rows, and it must have per-SM figures (the SM
    /// generation the rows price is matched by them).
    static func blackwellDevice(_ v: ConfigValue, tables: [(key: String, rows: [DenseRow])]) throws -> Device? {
        guard let key = try v.optional("blackwell_gemm_device") else {
            guard let measured = tables.first(where: { !$0.rows.isEmpty }) else { return nil }
            throw try v.required(measured.key).error("measured rows without the GPU they ran on",
                                                     fix: "name it beside them, e.g. blackwell_gemm_device: B200-SXM-180GB")
        }
        let device = try key.entry(of: try HardwareCatalog.builtIn().devices, what: "device of the Blackwell GEMM rows")
        guard device.smThroughput != nil else {
            throw key.error("the \(device.name) has no per-SM figures (sm_throughput_per_clock), so no device can be matched to its SM",
                            fix: "name a catalog GPU with Blackwell's SM, e.g. B200-SXM-180GB")
        }
        return device
    }
}
