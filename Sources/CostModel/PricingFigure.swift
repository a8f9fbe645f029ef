import Foundation

/// What the cost model says of one kernel (`KernelCostModel.priced(_:)`): its seconds, the
/// calibration figure that set them, and the factor that moved that figure beyond its share of
/// this device's peak, where one did.
public struct KernelPrice: Sendable, Equatable {
    public var seconds: Double
    public var figure: PricingFigure
    /// `gemm_ceiling: measured` on a GEMM priced at its rate; on attention, the calibration's
    /// head-dimension law and the tile roofline where another SM unit than on the calibration
    /// GPU bounds it (`KernelCostModel.attentionScale`); nil when none moved the figure (or the
    /// streaming floor or the shortest kernel set the seconds instead).
    public var deviceScale: DeviceScale? = nil

    public init(seconds: Double, figure: PricingFigure, deviceScale: DeviceScale? = nil) {
        self.seconds = seconds; self.figure = figure; self.deviceScale = deviceScale
    }
}

/// A factor the cost model applied to a calibration figure on this device, and why, as
/// `llmsim kernels` prints it (`gemm_ceiling: measured`, `head dims 64/64`, `attention bound by
/// shared memory`).
public struct DeviceScale: Sendable, Equatable {
    public var factor: Double
    public var reason: String

    /// `factor` with its reason where it moves the figure, nil where it is 1.
    static func unlessOne(_ factor: Double, _ reason: @autoclosure () -> String) -> DeviceScale? {
        factor == 1 ? nil : DeviceScale(factor: factor, reason: reason())
    }

    /// The scales applied together: their factors' product and their reasons in order; nil when
    /// there are none.
    static func product(_ scales: [DeviceScale?]) -> DeviceScale? {
        let present = scales.compactMap { $0 }
        guard !present.isEmpty else { return nil }
        return DeviceScale(factor: present.reduce(1) { $0 * $1.factor }, reason: present.map(\.reason).joined(separator: ", "))
    }
}

/// The calibration figure that priced a kernel (`KernelCostModel.priced(_:)`).
public enum PricingFigure: Sendable, Equatable, Hashable {
    /// A row (index into the table) of one of the [M, N, K, TFLOPS] tables
    /// (`fp8_dense_gemm_tflops`, `bf16_gemm_tflops`, `bf16_gemm_tflops_blackwell`,
    /// `fp8_gemm_tflops_blackwell`), `transposed` when it priced the GEMM as its transpose (M and
    /// N swapped; never for DeepGEMM's `fp8_dense_gemm_tflops`).
    case denseRow(KernelCalibration.Figure, Int, transposed: Bool = false)
    /// A row of `fp8_grouped_gemm_tflops` (index into the table).
    case fp8GroupedRow(Int)
    /// A scalar figure of the file. `.elementwise` also prices BF16 GEMMs too thin to reach
    /// their compute rate before streaming their operands; `.minimumKernel` any kernel that
    /// would be shorter than the shortest measured launch.
    case figure(KernelCalibration.Figure)
    /// Not priced here: the fabric times it.
    case communication

    /// A GEMM priced per busy SM (the flat BF16 efficiency, a measured BF16 row, a Blackwell
    /// FP8 row): it runs on as many SMs as it has output tiles (`KernelCostModel.tileOccupancy`).
    public var runsOnItsTiles: Bool {
        switch self {
        case .figure(.bf16GEMM): true
        case .denseRow(let table, _, _): table != .fp8DenseGEMM
        default: false
        }
    }

    /// The figure as a key of the calibration file, with the row for a table row
    /// (`fp8_dense_gemm_tflops [4096, 7168, 2048]`; a row that priced the GEMM's transpose says
    /// so: `bf16_gemm_tflops [8192, 4096, 256] transposed`).
    public func key(in calibration: KernelCalibration) -> String {
        switch self {
        case .denseRow(let table, let i, let transposed):
            let r = calibration.denseRows(table)[i]
            return table.rawValue + " [\(r.m), \(r.n), \(r.k)]" + (transposed ? " transposed" : "")
        case .fp8GroupedRow(let i):
            let r = calibration.fp8Grouped[i]
            return KernelCalibration.Figure.fp8GroupedGEMM.rawValue + " [\(r.groups), \(r.mPerGroup), \(r.n), \(r.k)]"
        case .figure(let f): return f.rawValue
        case .communication: return "(the fabric)"
        }
    }
}
