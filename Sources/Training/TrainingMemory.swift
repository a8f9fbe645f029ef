import Hardware
import Model
import Schedules

/// Memory per GPU during training, by rank, and whether the plan fits.
///
/// Static: every parameter the rank holds (both stages under DualPipe) as BF16 weights (2 B) and
/// gradients (FP32, 4 B, in V3), plus FP32 master weights and the AdamW moments (BF16, 8 B in
/// all, in V3) sharded by ZeRO-1 over the parameter's replicas (non-expert: DP; routed experts:
/// DP/EP) — V3 report §3.3.3 — or whole on every replica without the distributed optimizer
/// (`OptimizerStates`).
/// Activations: each layer's inventory (`ActivationInventory`) for every micro-batch the rank
/// holds in flight, stage by stage, at its peak (`InflightProfile`, from the schedule's program
/// order), plus the cached prefix K/V of chunked long sequences; on the last stage, what the
/// head, the loss and the MTP modules keep per micro-batch in flight and the loss's transient
/// peak (`HeadActivations`).
/// The terms are priced by `StageMemoryModel`, which the stage partitioner also uses.
/// Reserved: the MoE dispatcher's buffers (`ExpertParallelBuffers`, sized as DeepEP and
/// Hybrid-EP size them) and workspace (an assumption), listed in the breakdown.
public struct TrainingMemory: Sendable, Codable, Equatable {
    public struct Term: Sendable, Codable, Equatable { public var kind: String; public var bytes: Double }
    public var peakBytesPerGpu: Double
    public var peakRank: Int
    public var breakdown: [Term]
    public var capacityBytes: Double
    public var fits: Bool
    /// What the biggest term is, for the error message when the plan does not fit.
    public var largestTerm: String
    /// Pinned host memory per GPU holding offloaded activations (`activation_offload`), bytes;
    /// nil without offloading. Not in the GPU's peak.
    public var offloadedHostBytes: Double? = nil

    /// The memory of a plan: the rank with the most bytes under `stageLayers`.
    public static func compute(config c: StepConfiguration, stageLayers: [Int], deepSeekSavings: Bool, schedule: ScheduleKind) throws -> TrainingMemory {
        try compute(model: StageMemoryModel(config: c, deepSeekSavings: deepSeekSavings, schedule: schedule), stageLayers: stageLayers)
    }

    public static func compute(model: StageMemoryModel, stageLayers: [Int]) -> TrainingMemory {
        var best: TrainingMemory?
        for r in 0..<model.schedule.ranks {
            let terms = model.terms(rank: r, stageLayers: stageLayers)
            let total = terms.reduce(0) { $0 + $1.bytes }
            if best == nil || total > best!.peakBytesPerGpu {
                best = TrainingMemory(peakBytesPerGpu: total, peakRank: r, breakdown: terms, capacityBytes: model.capacityBytes,
                                      fits: total <= model.capacityBytes, largestTerm: terms.max { $0.bytes < $1.bytes }!.kind)
            }
        }
        if model.config.activationOffload != nil { best!.offloadedHostBytes = model.offloadedHostBytes }
        return best!
    }
}
