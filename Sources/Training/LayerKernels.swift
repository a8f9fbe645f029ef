import CostModel
import Kernels
import Schedules

/// One transformer layer's kernels as the step prices them (`llmsim kernels`): every operation
/// the cost executor records for one micro-batch's forward and backward of the layer, in issue
/// order, with its duration on the step's compute SMs and the calibration figure that set it;
/// and the layer's all-to-alls as the fabric times them. What to hold against a profile of
/// one's own (Nsight Systems, the PyTorch profiler) before changing `calibration:`.
public struct LayerKernels: Sendable, Encodable {
    /// One operation and its price.
    public struct Kernel: Sendable, Encodable {
        public var record: OperationRecord
        public var seconds: Double
        /// The calibration key that priced it (`PricingFigure.key(in:)`).
        public var figure: String

        enum CodingKeys: String, CodingKey { case name, kind, pass, block, recompute, precision, gemm, attention, flops, bytes, seconds, figure }

        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(record.name, forKey: .name)
            try c.encode(record.kind, forKey: .kind)
            try c.encode(record.pass, forKey: .pass)
            try c.encode(record.block, forKey: .block)
            try c.encode(record.recompute, forKey: .recompute)
            try c.encode(record.precision, forKey: .precision)
            try c.encodeIfPresent(record.gemm, forKey: .gemm)
            try c.encodeIfPresent(record.attention, forKey: .attention)
            try c.encode(record.flops, forKey: .flops)
            try c.encode(record.bytesRead + record.bytesWritten, forKey: .bytes)
            try c.encode(seconds, forKey: .seconds)
            try c.encode(figure, forKey: .figure)
        }
    }

    public var layer: Int
    public var isMoE: Bool
    /// SMs the compute kernels run on (the device's less `communication_sms`).
    public var computeSMs: Int
    public var kernels: [Kernel]
    /// The layer's MoE dispatch and combine on the fabric, seconds (0 for a dense layer).
    public var dispatchS: Double
    public var combineS: Double

    /// Seconds of compute in `pass`.
    public func computeSeconds(_ pass: Pass) -> Double {
        kernels.filter { $0.record.pass == pass && !$0.record.kind.isCommunication }.reduce(0) { $0 + $1.seconds }
    }

    enum CodingKeys: String, CodingKey { case layer, isMoE = "moe", computeSMs = "compute_sms", kernels, dispatchS = "dispatch_s", combineS = "combine_s" }
}

extension StepSimulation {
    /// Layer `index` (default: the model's representative layer, an MoE layer when there is
    /// one) as the step prices it, under the step's routing of one EP group.
    public func layerKernels(_ index: Int? = nil) throws -> LayerKernels {
        let arch = config.layerModel
        let layer = index ?? arch.representativeLayer
        guard (0..<arch.layers).contains(layer) else {
            throw ScheduleError(problem: "\(config.model.name) has no layer \(layer)", fix: "give a layer from 0 to \(arch.layers - 1)")
        }
        let (traffic, dispatch, combine) = try allToAll()
        let moe = arch.moe?.isMoE(layer: layer) ?? false
        let model = self.kernels
        let kernels = try layerRecords(layer, traffic: traffic).map { r in
            let price = model.priced(r)
            var key = price.figure.key(in: model.calibration)
            // A BF16 GEMM of fewer output tiles than SMs: say how many SMs it keeps busy.
            if price.figure.runsOnItsTiles, let g = r.gemm, model.tileOccupancy(g) < 1 {
                key += " on \(model.outputTiles(g)) of \(model.computeSMs) SMs"
            }
            // A figure carried to this GPU by more than its share of the peak: by how much, and why.
            if let s = price.deviceScale { key += String(format: " ×%.3f", s.factor) + " (\(s.reason))" }
            return LayerKernels.Kernel(record: r, seconds: price.seconds, figure: key)
        }
        return LayerKernels(layer: layer, isMoE: moe, computeSMs: self.kernels.computeSMs, kernels: kernels,
                            dispatchS: moe ? dispatch : 0, combineS: moe ? combine : 0)
    }
}
