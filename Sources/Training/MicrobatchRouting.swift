import Foundation
import Model
import Schedules
import SimCore
import Stochastic

/// Under real routing no two micro-batches load an EP group alike: each brings other tokens,
/// and with them another slowest GPU for the expert GEMMs and another busiest receiver for the
/// all-to-all. A pipeline cannot absorb that variation (its ranks wait for each other's
/// activations), so it costs bubble, and since every MoE layer waits for its group's slowest
/// GPU the mean layer is slower than the balanced one. DeepSeek's profile trace used "perfectly
/// balanced simulated MoE routing", so it shows none of this; ISCA 2025's step breakdown is of
/// real training.
///
/// Model: the step draws `StepConfiguration.microbatchRoutings` routings of one EP group's
/// micro-batch (draw 0 is the representative routing every other output uses; draw d ≥ 1
/// routes with the seed derive(seed, "microbatch-routing", d)) and prices the MoE layer under
/// each. Every MoE layer of every micro-batch (per direction, stage and synchronisation group)
/// takes one draw, chosen by a hash of the experiment's seed and those indices, so the forward
/// and the backward of a micro-batch on a stage see the same routing. A stage's time for that
/// micro-batch is its representative time plus, per MoE layer, the draw's layer time less the
/// representative layer's (as the whole-cluster step adjusts stages for their own routing);
/// each instruction then runs for its duration under those times (`instructionScale`).
///
/// What a draw looks like is the router's business: independent tokens vary little from draw
/// to draw (V3 at EP 64: GPU-load max/mean about 1.01), tokens that share their sequence's
/// preferences (`SequencePopularity`, `routing.sequence_concentration`) far more.
public struct MicrobatchRouting: Sendable {
    /// Draws when a sequence concentration is set and the experiment names no count. For V3 at
    /// β = 1 (seed 3) 16 draws give a 19.06 s step and 48 draws 19.12 s: the spread of a layer's
    /// time is sampled well enough that the count moves the step by less than the seed does
    /// (19.06 to 19.22 s over seeds 1–3), at 0.2 s of routing a draw on one core.
    public static let defaultDraws = 16
    /// The most draws a step takes: each is a full routing of the EP group (about 0.2 s for
    /// V3's 64 × 4,096 tokens under a sequence concentration, one core), so 64 keep a step
    /// under about 15 s.
    public static let maxDraws = 64
    /// The MoE layer's times under each draw, seconds; draw 0 is the plan's `moeLayer`.
    public let layers: [LayerTimes]
    /// The seed the draws are chosen with.
    public let seed: UInt64

    public init(layers: [LayerTimes], seed: UInt64) {
        self.layers = layers; self.seed = seed
    }

    /// The draws of `simulation`'s configuration around its `plan` (routed in parallel, through
    /// the shared routing cache).
    public init(simulation: StepSimulation, plan: StepSimulation.StagePlan) throws {
        let c = simulation.config
        let others = try Parallel.map(max(c.microbatchRoutings - 1, 0)) { d in
            try simulation.moeLayer(routedWith: RandomStream.derive(seed: c.seed, label: "microbatch-routing", index: d + 1))
        }
        self.init(layers: [plan.moeLayer] + others, seed: c.seed)
    }

    /// The draw that MoE layer `layer` (counted within its stage) of `op`'s micro-batch takes in
    /// the synchronisation group whose choices `groupSeed` seeds.
    func draw(_ op: PipelineOp, layer: Int, groupSeed: UInt64, stages: Int, microbatches: Int, layersPerStage: Int) -> Int {
        let key = ((op.pipeline * microbatches + op.microbatch) * stages + op.stage) * layersPerStage + layer
        return Int(SplitMix64.output(seed: groupSeed, index: UInt64(key)) % UInt64(layers.count))
    }

    /// Per rank and instruction of `schedule`, the factor that turns its duration on `plan`
    /// into its duration under its micro-batches' draws; `moeLayers` counts each stage's MoE
    /// layers.
    public func scales(for schedule: PipelineSchedule, plan: StepSimulation.StagePlan, moeLayers: [Int], group: Int) -> [[Double]] {
        let stages = schedule.stagesPerPipeline, microbatches = schedule.microbatchesPerPipeline, perStage = max(moeLayers.max() ?? 1, 1)
        let groupSeed = RandomStream.derive(seed: seed, label: "microbatch-routing-choice", index: group)
        func varied(_ op: PipelineOp) -> OpDurations {
            var t = plan.stageTimes[op.stage]
            for l in 0..<moeLayers[op.stage] {
                let d = draw(op, layer: l, groupSeed: groupSeed, stages: stages, microbatches: microbatches, layersPerStage: perStage)
                if d != 0 { t = t + (layers[d] - layers[0]) }
            }
            return plan.durations(t)
        }
        return schedule.program.map { list in
            list.map { instruction in
                let base = ScheduleSimulator.duration(of: instruction, stageSize: schedule.stageSize) { plan.stageDurations[$0.stage] }
                guard base > 0 else { return 1 }
                return ScheduleSimulator.duration(of: instruction, stageSize: schedule.stageSize, durations: varied) / base
            }
        }
    }

    /// The MoE layer's time under each draw: the overlapped F&B pair when the schedule pairs
    /// them, else forward + backward, seconds.
    public func layerTimes(overlapped: Bool) -> [Double] {
        layers.map { overlapped ? $0.overlappedForwardBackward : $0.forward + $0.backward }
    }
}

extension StepSimulation.StagePlan {
    /// The MoE layers of each stage of `model` (stages hold contiguous layers).
    public func moeLayersPerStage(_ model: ModelArchitecture) -> [Int] {
        var next = 0
        return stageLayers.map { n in
            defer { next += n }
            return model.moe.map { moe in (next..<(next + n)).filter { moe.isMoE(layer: $0) }.count } ?? 0
        }
    }
}
