import Testing
import Hardware
import Schedules
import CostModel
@testable import Model
@testable import Training

@Suite struct MemoryAwarePartitionTests {
    /// Every split of `layers` layers into `stages` contiguous non-empty stages.
    static func compositions(_ layers: Int, _ stages: Int) -> [[Int]] {
        if stages == 1 { return [[layers]] }
        return (1...(layers - stages + 1)).flatMap { first in compositions(layers - first, stages - 1).map { [first] + $0 } }
    }

    /// A 12-layer V3 (3 dense layers, then MoE) on PP 4 under 1F1B, with the usable memory set
    /// between the leanest split's peak and the load balance's, so that the balance does not
    /// fit: the dynamic programme must find the least busiest-rank load of all 165 splits that
    /// fit, and a split that fits.
    @Test func singleStageRanksGetTheFastestSplitThatFits() throws {
        var c = try deepSeekStep()
        c.model.layers = 12
        c.pp = 4
        c.schedule = .oneFOneB
        c.microbatches = 8
        let weights = (0..<12).map { $0 < 3 ? 0.6 : 1.0 }, first = 0.3, last = 0.8
        let ranks = (0..<4).map { [$0] }
        let loads = RankLoads(weights: weights, stages: 4, firstExtra: first, lastExtra: last, rankStages: ranks)
        let balance = StagePartition.balance(weights: weights, stages: 4, firstExtra: first, lastExtra: last, rankStages: ranks)
        let splits = Self.compositions(12, 4)
        #expect(splits.count == 165)
        let probe = try StageMemoryModel(config: c, deepSeekSavings: true, schedule: .oneFOneB)
        let peaks = splits.map { probe.rankBytes(stageLayers: $0).max()! }
        let balancePeak = probe.rankBytes(stageLayers: balance).max()!
        c.topology.node.device.hbmUsableBytes = (peaks.min()! + balancePeak) / 2
        let memory = try StageMemoryModel(config: c, deepSeekSavings: true, schedule: .oneFOneB)
        #expect(memory.overflow(stageLayers: balance) > 0)
        let fitting = splits.filter { memory.overflow(stageLayers: $0) == 0 }
        #expect(!fitting.isEmpty && fitting.count < splits.count)
        let best = fitting.map(loads.busiest).min()!
        let found = try #require(StagePartition.fitting(weights: weights, stages: 4, firstExtra: first, lastExtra: last,
                                                        rankStages: ranks, memory: memory, start: balance))
        #expect(memory.overflow(stageLayers: found) == 0)
        #expect(abs(loads.busiest(found) - best) < 1e-12)
        #expect(loads.busiest(found) > loads.busiest(balance))
        // With room for the balance, the balance stands; with room for nothing, there is no answer.
        c.topology.node.device.hbmUsableBytes = balancePeak
        #expect(StagePartition.fitting(weights: weights, stages: 4, firstExtra: first, lastExtra: last, rankStages: ranks,
                                       memory: try StageMemoryModel(config: c, deepSeekSavings: true, schedule: .oneFOneB), start: balance) == balance)
        c.topology.node.device.hbmUsableBytes = peaks.min()! * 0.99
        #expect(StagePartition.fitting(weights: weights, stages: 4, firstExtra: first, lastExtra: last, rankStages: ranks,
                                       memory: try StageMemoryModel(config: c, deepSeekSavings: true, schedule: .oneFOneB), start: balance) == nil)
    }

    /// The plan that used to flip (PP 8, EP 32, ZB1P in `Experiments/parallelism.yaml`): its
    /// load balance puts six MoE layers on rank 0, which holds 8 micro-batches in flight, and
    /// does not fit in 84.9 GB; the plan moves a layer off and fits.
    @Test func aSweepPlanFitsByMovingLayersOffTheFirstRanks() throws {
        var c = try deepSeekStep()
        c.pp = 8; c.ep = 32; c.schedule = .zb1p; c.microbatches = 15_360 / c.dp
        let plan = try StepSimulation(config: c, calibration: try KernelCalibration.hopper()).plan()
        #expect(plan.memory.fits)
        #expect(plan.stageLayers.reduce(0, +) == 61)
        let memory = try StageMemoryModel(config: c, deepSeekSavings: true, schedule: .zb1p)
        #expect(TrainingMemory.compute(model: memory, stageLayers: plan.stageLayers) == plan.memory)
        let blind = try TrainingMemory.compute(model: memory, stageLayers: [9, 8, 8, 8, 8, 8, 8, 4])
        #expect(!blind.fits && blind.peakRank == 0)
        #expect(plan.stageLayers[0] < 9)
    }
}
