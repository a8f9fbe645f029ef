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
/// Activations: the layer inventory (`ActivationInventory`) times the peak number of in-flight
/// micro-batches the simulated schedule reaches on the rank, in units of one stage.
/// Reserved: DeepEP buffers and workspace (assumptions, listed in the breakdown).
public struct TrainingMemory: Sendable, Codable, Equatable {
    public struct Term: Sendable, Codable, Equatable { public var kind: String; public var bytes: Double }
    public var peakBytesPerGpu: Double
    public var peakRank: Int
    public var breakdown: [Term]
    public var capacityBytes: Double
    public var fits: Bool
    /// What the biggest term is, for the error message when the plan does not fit.
    public var largestTerm: String

    /// DeepEP's normal-mode NVLink and RDMA buffers: 1 GB each in DeepEP's test scripts (assumption).
    public static let communicationBuffers = 2e9
    /// CUDA context, allocator fragmentation and GEMM workspaces (assumption; hardware.md plans
    /// with ~76 of 80 GB usable).
    public static let workspace = 4e9

    public static func compute(config c: StepConfiguration, stageLayers: [Int], deepSeekSavings: Bool, schedule: ScheduleKind) throws -> TrainingMemory {
        let arch = c.layerModel
        let generated = try ScheduleGenerator.make(schedule, pp: c.pp, microbatches: c.microbatches, virtualStages: c.virtualStages)
        let units = OpDurations(forward: 1, backward: 2, weight: 1, forwardBackward: 2.5)
        let durations = Array(repeating: Array(repeating: units, count: generated.stagesPerPipeline), count: generated.pipelines)
        let counted = try ScheduleSimulator().run(generated, stageDurations: durations)
        let o = c.optimizer
        let rows = arch.moe.map { c.microbatchTokens * $0.topK } ?? 0       // balanced EP: T·K rows land on each GPU
        // Layer index ranges of each stage.
        var starts: [Int] = [], next = 0
        for n in stageLayers { starts.append(next); next += n }
        let split = c.tp > 1 && c.sequenceParallel ? c.tp : 1
        // Materialized attention scores are kept for the backward unless the core is recomputed.
        let scores = c.attentionKernel == .unfused && c.effectiveRecompute != .selective
            ? (keys: c.attentionKeys ?? c.microbatchTokens, dropout: c.model.attentionDropout > 0) : nil
        func stageActivations(_ s: Int) -> Double {
            // Full recomputation keeps only each layer's input (the layer is re-run in backward).
            if c.effectiveRecompute == .full {
                return Double(stageLayers[s] * c.microbatchTokens * arch.hiddenSize * 2 / split)
            }
            return (starts[s]..<(starts[s] + stageLayers[s])).reduce(0) { total, l in
                total + ActivationInventory.layer(arch, index: l, tokens: c.microbatchTokens, routedRowsOnGPU: rows,
                                                    recompute: deepSeekSavings, lowPrecisionCache: deepSeekSavings && c.precision.linear == .fp8,
                                                    sequenceSplit: split, materializedScores: scores).reduce(0) { $0 + $1.bytes }
            }
        }
        // Chunked long sequences: each in-flight chunk's layers keep the K/V (MLA: latent) of the
        // keys it attends to, on average `attentionKeys` per chunk, for its backward.
        let kvPerTokenPerLayer = Double(c.layerModel.kvCacheBytesPerToken) / Double(arch.layers)
        let maxStageLayers = Double(stageLayers.max() ?? 0)
        let prefixKeysPerMicrobatch = Double(c.attentionKeys ?? 0) * kvPerTokenPerLayer * maxStageLayers
        // Peak activation bytes per rank: each in-flight micro-batch weighted by its stage's inventory.
        let weights = (0..<generated.stagesPerPipeline).map { stageActivations($0 % stageLayers.count) }
        let weighted = try ScheduleSimulator().run(generated, stageDurations: durations, activationWeight: weights)
        var best: TrainingMemory?
        let rankParameters = RankParameters.perRank(c, stageLayers: stageLayers, schedule: generated)
        for r in 0..<generated.ranks {
            let params = rankParameters[r].total
            let prefixKeys = prefixKeysPerMicrobatch * counted.peakInflightMicrobatchesPerRank[r]
            let terms = [
                Term(kind: "weights (\(OptimizerStates.weights.rawValue.uppercased()))", bytes: params * Double(OptimizerStates.weights.bytes)),
                Term(kind: "gradients (\(o.gradients.rawValue.uppercased()))", bytes: params * Double(o.gradients.bytes)),
                Term(kind: "optimizer: FP32 master + \(o.moments.rawValue.uppercased()) moments, \(o.distributed ? "ZeRO-1 sharded" : "not sharded")",
                     bytes: c.optimizerShard(rankParameters[r]) * Double(o.stateBytes)),
                Term(kind: "activations (up to \(Int(counted.peakInflightMicrobatchesPerRank[r])) micro-batches in flight)", bytes: weighted.peakInflightMicrobatchesPerRank[r]),
                Term(kind: "cached prefix keys of chunked sequences (BF16 KV cache)", bytes: prefixKeys),
                Term(kind: "communication buffers (DeepEP, assumed)", bytes: arch.moe == nil ? 0 : communicationBuffers),
                Term(kind: "workspace and fragmentation (assumed)", bytes: workspace),
            ]
            let total = terms.reduce(0) { $0 + $1.bytes }
            if best == nil || total > best!.peakBytesPerGpu {
                let capacity = c.topology.node.device.hbmUsableBytes
                best = TrainingMemory(peakBytesPerGpu: total, peakRank: r, breakdown: terms, capacityBytes: capacity,
                                      fits: total <= capacity, largestTerm: terms.max { $0.bytes < $1.bytes }!.kind)
            }
        }
        return best!
    }
}
