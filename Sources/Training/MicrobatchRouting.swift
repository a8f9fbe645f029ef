import Foundation
import Model
import Schedules
import SimCore
import Stochastic

/// Under real routing no two micro-batches load an EP group alike: each brings other tokens,
/// and with them another slowest GPU for the expert GEMMs and another busiest receiver for the
/// all-to-all. A pipeline cannot absorb that variation (its ranks wait for each other's
/// activations), so it costs bubble, and since a MoE layer alone waits for its group's slowest
/// GPU the mean layer is slower than the balanced one. In an overlapped pair the GPUs wait for
/// each other only at the all-to-alls, whose stream idles half the pair, so there each GPU runs
/// its own rows (`EPGroupOverlap`) and the variation costs far less. DeepSeek's profile trace,
/// for all its "perfectly balanced simulated MoE routing", shows the traced GPU's rows varying
/// by 8 % from layer to layer (`docs/checks/trace_expert_rows.py`); llmsim's gate with
/// independent tokens varies by 0.6 %, with a sequence concentration β = 0.5 by 8 %.
///
/// Model: the step draws `StepConfiguration.microbatchRoutings` routings of one EP group's
/// micro-batch (draw 0 is the representative routing every other output uses; draw d ≥ 1
/// routes with the seed derive(seed, "microbatch-routing", d)) and prices the MoE layer under
/// each. Every MoE layer of every micro-batch (per direction, stage and synchronisation group)
/// takes one draw, chosen by a hash of the experiment's seed and those indices, so the forward
/// and the backward of a micro-batch on a stage see the same routing. A stage's time for that
/// micro-batch is its representative time plus, per MoE layer, the draw's layer time less the
/// representative layer's (as the whole-cluster step adjusts stages for their own routing);
/// each instruction then runs for its duration under those times (`instructionScale`). An
/// overlapped pair instead adds the span of its MoE layer pairs over the group's GPUs under
/// its forward and backward micro-batches' draws, less that span under draw 0.
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
    /// The MoE layer's times under each draw on its busiest GPU, seconds; draw 0 is the plan's
    /// `moeLayer`.
    public let layers: [LayerTimes]
    /// The seed the draws are chosen with.
    public let seed: UInt64
    /// Per draw, each GPU's expert blocks, seconds (`EPGroupOverlap.perGPU`). Empty: an
    /// overlapped pair takes its busiest GPU's times in every layer (the slot rule).
    let expertBlocks: [(forward: [Double], backwardInput: [Double], backwardWeight: [Double])]

    /// `gpuLoads`: each draw's routed rows per GPU of the EP group (draw 0 the plan's routing),
    /// with `balanced`, the MoE layer with every GPU at the group's mean rows; without them
    /// overlapped pairs keep the slot rule.
    public init(layers: [LayerTimes], gpuLoads: [[Int]] = [], balanced: LayerTimes? = nil, seed: UInt64) {
        precondition(gpuLoads.isEmpty || (gpuLoads.count == layers.count && balanced != nil), "loads for every draw, and the balanced layer")
        self.layers = layers; self.seed = seed
        expertBlocks = balanced.map { b in
            zip(layers, gpuLoads).map { layer, loads in
                (EPGroupOverlap.perGPU(balanced: b.mlpForward, busiest: layer.mlpForward, loads: loads),
                 EPGroupOverlap.perGPU(balanced: b.mlpBackwardInput, busiest: layer.mlpBackwardInput, loads: loads),
                 EPGroupOverlap.perGPU(balanced: b.mlpBackwardWeight, busiest: layer.mlpBackwardWeight, loads: loads))
            }
        } ?? []
    }

    /// The draws of `simulation`'s configuration around its `plan` (routed in parallel, through
    /// the shared routing cache), with each draw's GPU loads.
    public init(simulation: StepSimulation, plan: StepSimulation.StagePlan) throws {
        let c = simulation.config
        let others = try Parallel.map(max(c.microbatchRoutings - 1, 0)) { d in
            try simulation.moeDraw(routedWith: RandomStream.derive(seed: c.seed, label: "microbatch-routing", index: d + 1))
        }
        let balanced = try simulation.balancedMoELayer()
        let loads = balanced == nil ? [] : [try simulation.groupLoads()] + others.map(\.loads)
        self.init(layers: [plan.moeLayer] + others.map(\.layer), gpuLoads: loads, balanced: balanced, seed: c.seed)
    }

    /// One layer pair of an overlapped chunk pair on every GPU of the group: its forward chunk's
    /// micro-batch routed as draw `forward`, its backward chunk's as draw `backward`.
    func layerPair(forward f: Int, backward b: Int) -> EPGroupOverlap.LayerPair {
        let shared = layers[0]
        return EPGroupOverlap.LayerPair(
            attentionForward: shared.attentionForward, attentionBackwardInput: shared.attentionBackwardInput,
            attentionBackwardWeight: shared.attentionBackwardWeight,
            mlpForward: expertBlocks[f].forward, mlpBackwardInput: expertBlocks[b].backwardInput, mlpBackwardWeight: expertBlocks[b].backwardWeight,
            combineBackward: layers[b].combineBackward, dispatchForward: layers[f].dispatchForward,
            dispatchBackward: layers[b].dispatchBackward, combineForward: layers[f].combineForward)
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
        // An overlapped pair with the group's loads known: the span of its aligned MoE layer
        // pairs on every GPU (`EPGroupOverlap`) under its two micro-batches' draws, less the
        // span under draw 0; a stage's MoE layers beyond the other's count as the slot rule
        // counts them (half, as the pair is the mean of its two stages' F&B).
        var representativeSpans: [Int: Double] = [:]
        func pairDuration(_ instruction: PipelineInstruction, base: Double) -> Double {
            let (f, b) = instruction.ops[0].kind == .forward ? (instruction.ops[0], instruction.ops[1]) : (instruction.ops[1], instruction.ops[0])
            let aligned = min(moeLayers[f.stage], moeLayers[b.stage])
            func choice(_ op: PipelineOp, _ l: Int) -> Int {
                draw(op, layer: l, groupSeed: groupSeed, stages: stages, microbatches: microbatches, layersPerStage: perStage)
            }
            let varied = EPGroupOverlap.span((0..<aligned).map { layerPair(forward: choice(f, $0), backward: choice(b, $0)) })
            let representative = representativeSpans[aligned] ?? EPGroupOverlap.span(Array(repeating: layerPair(forward: 0, backward: 0), count: aligned))
            representativeSpans[aligned] = representative
            var extra = 0.0
            for op in [f, b] {
                for l in aligned..<moeLayers[op.stage] {
                    extra += (layers[choice(op, l)].overlappedForwardBackward - layers[0].overlappedForwardBackward) / 2
                }
            }
            return base + varied - representative + extra
        }
        return schedule.program.map { list in
            list.map { instruction in
                let base = ScheduleSimulator.duration(of: instruction, stageSize: schedule.stageSize) { plan.stageDurations[$0.stage] }
                guard base > 0 else { return 1 }
                if instruction.isOverlapped, !expertBlocks.isEmpty { return pairDuration(instruction, base: base) / base }
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
