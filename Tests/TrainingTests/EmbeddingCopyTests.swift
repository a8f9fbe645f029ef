import CostModel
import Foundation
import Hardware
import Schedules
import Testing
@testable import Training

/// The last stage's copy of the embedding table (`StepConfiguration.lastStageCopiesEmbedding`):
/// Megatron-Core builds one where the MTP modules or a tied head need the table on another rank
/// than the first stage's, and all-reduces the two copies' gradients every step.
@Suite struct EmbeddingCopyTests {
    /// When there is a copy: V3 (MTP) under 1F1B, ZB1P and interleaved 1F1B, not under DualPipe
    /// or DualPipeV (rank 0 runs both ends) nor on one stage; Megatron's 1T GPT (tied head,
    /// PP 64); not Llama 3 70B (untied, no MTP). The copy is the table, 129,280 × 7,168
    /// parameters for V3, on the last stage only.
    @Test func whereTheLastStageCopiesTheTable() throws {
        var v3 = try deepSeekStep()
        #expect(!v3.lastStageCopiesEmbedding)
        let shared = RankParameters.lastStageExtra(v3)
        for kind in [ScheduleKind.oneFOneB, .zb1p, .interleaved] {
            v3.schedule = kind
            #expect(v3.lastStageCopiesEmbedding, "\(kind)")
            #expect(RankParameters.lastStageExtra(v3).dense - shared.dense == 129_280 * 7_168)
            #expect(RankParameters.firstStageExtra(v3).dense == 129_280 * 7_168)
        }
        v3.schedule = .dualpipev
        #expect(!v3.lastStageCopiesEmbedding)
        v3.schedule = .oneFOneB
        v3.pp = 1
        #expect(!v3.lastStageCopiesEmbedding)
        let gpt = try megatronStep()
        #expect(gpt.model.tiedEmbeddings && gpt.lastStageCopiesEmbedding)
        #expect(RankParameters.lastStageExtra(gpt).dense == Double(gpt.layerModel.parameters.embedding + gpt.layerModel.hiddenSize))
        #expect(!(try shippedStep("nemo-llama3-70b-h100.yaml")).lastStageCopiesEmbedding)
    }

    /// The two copies' FP32 gradients all-reduced between the ranks of the first and last
    /// stage, on other nodes: a ring of two sends half the bytes each way, 3.71 GB / 2 × 2 at
    /// the NIC's achievable rate, plus two hop latencies; on the ends' ranks only, after the
    /// reduction and before the update. V3 under 1F1B: about 80 ms at 46 GB/s.
    @Test func theCopiesAllReduceTheirGradients() throws {
        var c = try deepSeekStep()
        let o = { (c: StepConfiguration) in DataParallelOptimizer(config: c, memoryEfficiency: 0.6) }
        #expect(o(c).embeddingGroupAllReduce == 0)
        c.schedule = .oneFOneB
        let bytes: Double = 129_280 * 7_168 * 4
        let seconds = bytes / c.topology.node.nicAchievableBandwidthPerGPU + 2 * c.topology.interNodeLatency
        #expect(abs(o(c).embeddingGroupAllReduce / seconds - 1) < 1e-9, "\(o(c).embeddingGroupAllReduce) against \(seconds)")
        #expect(seconds > 0.07 && seconds < 0.09)
        // On a middle rank nothing is added; on the ends the update starts that much later.
        c.optimizer.clipsGradients = false
        let params = RankParameters(dense: 1e9, expert: 0)
        let segments = (0..<3).map { ScheduleSegment(rank: $0, start: 0, end: 1, label: "B", microbatch: 0, stages: [$0]) }
        let finish = o(c).finishTimes(segments: segments, pipelineEnds: [1, 1, 1], rankStages: [[0], [1], [2]],
                                      stageBuckets: [[params], [params], [params]], nicShare: [0, 0, 0])
        #expect(abs(finish[0].updateStart - finish[1].updateStart - seconds) < 1e-12)
        #expect(abs(finish[2].updateStart - finish[1].updateStart - seconds) < 1e-12)
    }

    /// Memory: under 1F1B the last rank of V3's pipeline keeps the copy's BF16 weights and FP32
    /// gradients whole, 6 B per parameter, 5.6 GB (against the same plan without the MTP
    /// module, which also takes away the module's own parameters, its routed experts split
    /// over EP).
    @Test func theCopyIsInTheLastRanksMemory() throws {
        var c = try deepSeekStep()
        c.schedule = .oneFOneB
        let plan = try StepSimulation(config: c, calibration: try KernelCalibration.hopper()).plan()
        let last = c.pp - 1
        var without = c
        without.model.mtpDepth = 0
        #expect(!without.lastStageCopiesEmbedding)
        let weightsAndGradients = { (m: StageMemoryModel) in
            m.terms(rank: last, stageLayers: plan.stageLayers).prefix(2).reduce(0) { $0 + $1.bytes }
        }
        let grown = weightsAndGradients(try StageMemoryModel(config: c, deepSeekSavings: true, schedule: .oneFOneB))
            - weightsAndGradients(try StageMemoryModel(config: without, deepSeekSavings: true, schedule: .oneFOneB))
        let routed = RankParameters.routedPerMoELayer(c)
        let mtp = Double(c.layerModel.parameters.mtp) - routed + routed / Double(c.expertGroupSize)
        let copy: Double = 129_280 * 7_168
        #expect(abs(grown - 6 * (copy + mtp)) < 1e3, "\(grown) against \(6 * (copy + mtp))")
        #expect(6 * copy > 5.5e9 && 6 * copy < 5.6e9)
    }
}
