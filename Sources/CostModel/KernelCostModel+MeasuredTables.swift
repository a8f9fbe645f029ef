import Foundation
import Hardware
import Kernels

/// The cost model's measured GEMM tables: which one prices a GEMM on this device, the nearest
/// row of a GEMM's shape, and the SMs a GEMM's output tiles keep busy.
extension KernelCostModel {
    /// A table of measured GEMM rows of one format (`bf16_gemm_tflops`,
    /// `bf16_gemm_tflops_blackwell` or `fp8_gemm_tflops_blackwell`) and the GPU and SMs they
    /// ran on.
    struct MeasuredTable {
        var figure: KernelCalibration.Figure
        var device: Device
        var sms: Int
    }

    /// A Blackwell table of the calibration (`blackwell_gemm_device`'s rows) where it prices this
    /// device: its SM has that device's tensor rate per clock and the calibration GPU's SM has
    /// not; nil elsewhere and without rows. A GEMM keeps its fraction of the peak per busy SM
    /// from the GPU of its own SM generation: OpenXLA's tables have the B200 reaching 0.63 of
    /// its BF16 peak at 4,096³ where the H100 reaches 0.79.
    func blackwellTable(_ figure: KernelCalibration.Figure) -> MeasuredTable? {
        let c = calibration
        guard let measuredOn = c.blackwellDevice, !c.denseRows(figure).isEmpty, let rate = measuredOn.smThroughput?.bf16TensorFLOPs,
              device.smThroughput?.bf16TensorFLOPs == rate, c.device.smThroughput?.bf16TensorFLOPs != rate else { return nil }
        return MeasuredTable(figure: figure, device: measuredOn, sms: measuredOn.smCount)
    }

    /// The measured rows that price this device's BF16/FP32 GEMMs: the Blackwell BF16 table
    /// where it applies (`blackwellTable`), the calibration GPU's rows otherwise; nil without
    /// `bf16_gemm_tflops` rows (an experiment's `bf16_gemm_tflops: []`): the flat
    /// `bf16_gemm_efficiency` prices every GPU's then, the Blackwell table set aside with the rest.
    var bf16Table: MeasuredTable? {
        let c = calibration
        guard c.pricesBF16FromRows else { return nil }
        return blackwellTable(.blackwellBF16GEMMTable) ?? MeasuredTable(figure: .bf16GEMMTable, device: c.device, sms: c.calibrationSMs)
    }

    /// The measured rows that price this device's FP8 GEMMs (and through their rates its MXFP8
    /// and NVFP4 ones) per busy SM: the Blackwell FP8 table where it applies; nil elsewhere,
    /// where DeepGEMM's rows and the trace's wgrad figure price them at their shapes.
    var fp8Table: MeasuredTable? { blackwellTable(.blackwellFP8GEMMTable) }

    /// A BF16/FP32 GEMM's efficiency per busy SM, as a fraction of the device's peak, and the
    /// figure that set it: the flat `bf16_gemm_efficiency`, or with measured rows (`bf16Table`)
    /// the nearest one's (`measuredEfficiency`).
    func bf16Efficiency(_ g: GEMMShape?) -> (efficiency: Double, figure: PricingFigure) {
        guard let g, let table = bf16Table else { return (calibration.bf16GEMMEfficiency, .figure(.bf16GEMM)) }
        return measuredEfficiency(g, in: table, format: .bf16)
    }

    /// A GEMM's efficiency per busy SM from a measured table, as a fraction of the peak of its
    /// `format`, and the row that set it: the nearest row, in log M, log N, log K, its TFLOPS
    /// over the peak of the SMs its own tiles kept busy on the GPU it was measured on.
    /// - A row also stands for its transpose: a GEMM and its transpose run alike.
    /// - A grouped GEMM is priced by its M per group: Transformer Engine's `GroupedLinear` runs
    ///   one cuBLAS GEMM per expert over a few streams (NVIDIA/TransformerEngine#853), their
    ///   tiles sharing the SMs.
    /// - A row measured at the shape priced gives back its own time on that GPU's SMs; a GEMM
    ///   of fewer tiles than a busy SM count runs at the row's rate per SM on its own tiles' SMs.
    /// - Rows past M = 4,096 are OpenXLA's batched rows (their only measurements past the
    ///   edge), so a GEMM past 4,096 in M or N finds rows of its own size up to 16,384; past
    ///   that, and in K past 4,096, the edge's rate.
    func measuredEfficiency(_ g: GEMMShape, in table: MeasuredTable, format: Precision) -> (efficiency: Double, figure: PricingFigure) {
        let rows = calibration.denseRows(table.figure)
        let (i, transposed) = Self.nearest(rows, m: max(1, g.totalRows / max(g.groups, 1)), n: g.n, k: g.k, transposable: true)
        let row = rows[i]
        let busy = min(table.sms, outputTiles(GEMMShape(m: row.m, n: row.n, k: row.k)))
        let perBusySM = row.tflops * 1e12 / table.device.peak(format).flops * Double(table.sms) / Double(busy)
        return (perBusySM, .denseRow(table.figure, i, transposed: transposed))
    }

    /// Share of the compute SMs a GEMM priced per busy SM (BF16/FP32, or from the Blackwell FP8
    /// rows) keeps busy: one output tile (`bf16_gemm_tile`) runs on one SM, so a GEMM of fewer
    /// tiles than SMs leaves the rest idle. DeepSeek's trace shows it on the router's 4,096 ×
    /// 256 × 7,168 fprop: cuBLAS's 128×128 kernel launches 32 × 2 = 64 CTAs and takes 44-52 µs,
    /// a rate of 64 SMs, not 112 (OpenXLA's row prices it at 40.0 µs on 64 SMs; on 112 it would
    /// take 22.9). A GEMM of more tiles than SMs counts as filling them: its last partial wave is
    /// part of what a measured rate (or the flat efficiency) averages, and libraries choose tile
    /// shapes (and on Hopper stream-K) to fill it — charging every tail wave at one fixed tile
    /// put the A100 Megatron steps of `llmsim validate` 1–7 % slower, past published figures
    /// they met. DeepGEMM's FP8 tables are measured at their shapes and are not corrected.
    public func tileOccupancy(_ g: GEMMShape) -> Double {
        let tiles = outputTiles(g)
        return tiles > 0 ? min(1, Double(tiles) / Double(computeSMs)) : 1
    }

    /// Output tiles of a GEMM priced per busy SM in the calibration's `bf16_gemm_tile`.
    public func outputTiles(_ g: GEMMShape) -> Int {
        g.outputTiles(tileRows: calibration.bf16GEMMTile.rows, tileColumns: calibration.bf16GEMMTile.columns)
    }

    /// Index of the DeepGEMM dense row nearest in (log M, log N, log K), M capped at 4,096.
    func nearestDense(m: Int, n: Int, k: Int) -> Int {
        Self.nearest(calibration.fp8Dense, m: min(m, 4096), n: n, k: k).index
    }

    /// Index of the row of a non-empty GEMM table nearest in (log M, log N, log K), the first
    /// of equally near ones; `transposable`, a row also stands for its transpose (M and N
    /// swapped; `transposed`: the GEMM's transpose matched it), a row as measured winning a tie
    /// with one transposed.
    static func nearest(_ rows: [KernelCalibration.DenseRow], m: Int, n: Int, k: Int, transposable: Bool = false) -> (index: Int, transposed: Bool) {
        let (lm, ln, lk) = (logSize(m), logSize(n), logSize(k))
        // (squared distance, 1 if the transpose matched): a row as measured sorts first on a tie.
        var best = 0, bestKey = (Double.infinity, 1)
        for (i, r) in rows.enumerated() {
            let (rm, rn, rk) = (logSize(r.m), logSize(r.n), logSize(r.k))
            let dk = (lk - rk) * (lk - rk)
            let direct = (lm - rm) * (lm - rm) + (ln - rn) * (ln - rn) + dk
            let transposed = (ln - rm) * (ln - rm) + (lm - rn) * (lm - rn) + dk
            let key = transposable && transposed < direct ? (transposed, 1) : (direct, 0)
            if key < bestKey { (best, bestKey) = (i, key) }
        }
        return (best, bestKey.1 == 1)
    }

    /// Index of the DeepGEMM grouped row nearest in (log N, log K).
    func nearestGrouped(n: Int, k: Int) -> Int? {
        let (ln, lk) = (Self.logSize(n), Self.logSize(k))
        func distance(_ r: KernelCalibration.GroupedRow) -> Double {
            let (dn, dk) = (ln - Self.logSize(r.n), lk - Self.logSize(r.k))
            return dn * dn + dk * dk
        }
        let rows = calibration.fp8Grouped
        return rows.indices.min { distance(rows[$0]) < distance(rows[$1]) }
    }

    /// log₂ of a GEMM dimension (at least 1): the axis the tables' nearest rows are found on.
    static func logSize(_ x: Int) -> Double { log2(Double(max(x, 1))) }
}
