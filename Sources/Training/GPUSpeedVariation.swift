import Stochastic

/// Identical GPUs do not run equally fast. Sinha et al. ("Not All GPUs Are Created Equal",
/// SC'22, arXiv:2208.11035) measured over 90% of the GPUs of five clusters (V100 and MI60,
/// several cooling methods): the same kernel ran with 8% average (22% at most) performance
/// variation across GPUs of one SKU, with outliers 1.5× slower than the median, from
/// manufacturing spread and power management. No such figure is published for the H800, so
/// llmsim's default is no spread; `gpu_speed_spread_percent` asks what a given spread costs.
///
/// Model: GPU i keeps one sustained speed for the step, 1 + spread·zᵢ relative to the
/// calibrated GPU, zᵢ standard normal from the experiment's seed, floored at 0.1 (1 − 3σ at the
/// largest spread accepted: a tail draw stays a slow GPU, never a stopped or negative one). GPUs that
/// exchange data every layer wait for each other: a stage's compute on a synchronisation group
/// (the EP group's pipelines — DP indices g·EP/(TP·CP) … (g+1)·EP/(TP·CP) − 1 — and each one's
/// TP × CP group)
/// stretches by the slowest GPU's 1/speed. Communication keeps its speed. Groups meet only at
/// the gradient reduction, so the step is the slowest group's (`StepSimulation.runGroups`).
/// The optimizer's update keeps the calibrated speed (a few milliseconds).
public struct GPUSpeedVariation: Sendable, Equatable {
    /// The largest spread accepted: 30% (a coefficient of variation beyond the worst cluster
    /// Sinha et al. measured, 22% variation).
    public static let maxSpread = 0.3
    /// Coefficient of variation of a GPU's sustained speed (fraction).
    public let spread: Double
    /// Speed of each GPU relative to the calibrated one, in Megatron-LM's rank order (TP
    /// innermost, then CP, then DP, then the pipeline rank).
    public let speeds: [Double]

    public init(spread: Double, gpus: Int, seed: UInt64) {
        self.spread = spread
        let stream = RandomStream(seed: RandomStream.derive(seed: seed, label: "gpu-speed"))
        speeds = (0..<gpus).map { _ in max(0.1, 1 + spread * stream.standardNormal()) }
    }

    /// Given speeds (tests).
    init(spread: Double, speeds: [Double]) { self.spread = spread; self.speeds = speeds }

    /// How much the compute of pipeline rank `rank` in synchronisation group `group` stretches
    /// (≥ 1 unless every GPU of the group is faster than the calibration).
    public func slowdown(rank: Int, group: Int, config c: StepConfiguration) -> Double {
        // The group's DP indices (`pipelinesPerSynchronisationGroup`), each with its TP × CP GPUs,
        // in Megatron-LM's order (TP innermost, then CP).
        let members = c.pipelinesPerSynchronisationGroup, fold = c.tp * c.cp
        precondition(group >= 0 && group < c.synchronisationGroups, "synchronisation group \(group) of \(c.synchronisationGroups)")
        var slowest = Double.infinity
        for d in (group * members)..<min((group + 1) * members, c.dp) {
            // The TP × CP GPUs of a replica wait on each other (collectives, the ring).
            for t in 0..<fold { slowest = min(slowest, speeds[(rank * c.dp + d) * fold + t]) }
        }
        return 1 / slowest
    }
}
