import Hardware
import Kernels
import Model
import Schedules

/// Everything one simulated training step depends on.
public struct StepConfiguration: Sendable {
    public var model: ModelArchitecture
    public var topology: Topology
    /// Pipeline stages.
    public var pp: Int
    /// Expert-parallel group size (GPUs).
    public var ep: Int
    public var schedule: ScheduleKind
    /// Virtual stages per rank for interleaved 1F1B.
    public var virtualStages: Int
    /// Micro-batches per pipeline per step.
    public var microbatches: Int
    /// Tokens per micro-batch on one GPU (one 4,096-token sequence for DeepSeek-V3).
    public var microbatchTokens: Int
    public var precision: PrecisionPolicy
    /// Recomputation; nil = the model family's default (DeepSeek's for MLA, none otherwise).
    public var recompute: RecomputePolicy?
    /// SMs DeepEP and the pipeline sends use (V3: 20 of 132).
    public var communicationSMs: Int
    public var routingSkew: ExpertSkew
    /// Keys each micro-batch attends to when sequences are chunked across micro-batches
    /// (nil: one whole sequence per micro-batch).
    public var attentionKeys: Int?
    public var seed: UInt64

    public init(model: ModelArchitecture, topology: Topology, pp: Int, ep: Int, schedule: ScheduleKind, virtualStages: Int = 2,
                microbatches: Int, microbatchTokens: Int, precision: PrecisionPolicy, recompute: RecomputePolicy? = nil, communicationSMs: Int,
                routingSkew: ExpertSkew = .uniform, seed: UInt64 = 1) {
        self.model = model; self.topology = topology; self.pp = pp; self.ep = ep; self.schedule = schedule
        self.virtualStages = virtualStages; self.microbatches = microbatches; self.microbatchTokens = microbatchTokens
        self.precision = precision; self.recompute = recompute; self.communicationSMs = communicationSMs; self.routingSkew = routingSkew; self.seed = seed
    }

    public var gpus: Int { topology.gpus }
    /// The recomputation in force (the model's default when the experiment names none).
    public var effectiveRecompute: RecomputePolicy { recompute ?? model.defaultRecompute }
    /// Data-parallel degree (no tensor parallelism): GPUs / PP.
    public var dp: Int { gpus / devicesPerPipeline }
    /// GPUs one pipeline spans (PP, or PP/2 for DualPipeV).
    public var devicesPerPipeline: Int { schedule == .dualpipev ? pp / 2 : pp }
    /// Sequences per step across the cluster.
    public var globalBatchTokens: Int { dp * microbatches * microbatchTokens }

    /// Checks the plan; throws with the rule broken and the fix.
    public func validate() throws {
        func fail(_ problem: String, _ fix: String) -> ScheduleError { ScheduleError(problem: problem, fix: fix) }
        guard pp >= 1, microbatches >= 1, microbatchTokens >= 1 else { throw fail("pp, micro-batches and tokens must be >= 1", "check the plan") }
        guard gpus % devicesPerPipeline == 0 else {
            throw fail("\(gpus) GPUs are not a multiple of the \(devicesPerPipeline) GPUs of one pipeline", "choose PP dividing the GPU count")
        }
        let stages = schedule == .interleaved ? pp * virtualStages : pp
        guard stages <= model.layers else {
            throw fail("\(stages) pipeline stages for \(model.layers) layers", "use at most \(model.layers) stages")
        }
        if let moe = model.moe {
            guard ep >= 1, ep <= moe.routedExperts, moe.routedExperts % ep == 0 else {
                throw fail("EP \(ep) must divide the \(moe.routedExperts) experts", "use a divisor of \(moe.routedExperts) (V3: 64)")
            }
            guard dp % ep == 0 else { throw fail("EP \(ep) does not divide the data-parallel degree \(dp)", "EP groups are formed inside DP; use a divisor of \(dp)") }
        }
        guard communicationSMs > 0, communicationSMs < topology.node.device.smCount else {
            throw fail("\(communicationSMs) communication SMs of \(topology.node.device.smCount)", "V3 used 20")
        }
    }
}
