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
        let best = fitting.map { loads.busiestAndSquares($0)[0] }.min()!
        let found = try #require(StagePartition.fitting(weights: weights, stages: 4, firstExtra: first, lastExtra: last,
                                                        rankStages: ranks, memory: memory, start: balance))
        #expect(memory.overflow(stageLayers: found) == 0)
        #expect(abs(loads.busiestAndSquares(found)[0] - best) < 1e-12)
        #expect(loads.busiestAndSquares(found)[0] > loads.busiestAndSquares(balance)[0])
        // With room for the balance, the balance stands; with room for nothing, there is no answer.
        c.topology.node.device.hbmUsableBytes = balancePeak
        #expect(StagePartition.fitting(weights: weights, stages: 4, firstExtra: first, lastExtra: last, rankStages: ranks,
                                       memory: try StageMemoryModel(config: c, deepSeekSavings: true, schedule: .oneFOneB), start: balance) == balance)
        c.topology.node.device.hbmUsableBytes = peaks.min()! * 0.99
        #expect(StagePartition.fitting(weights: weights, stages: 4, firstExtra: first, lastExtra: last, rankStages: ranks,
                                       memory: try StageMemoryModel(config: c, deepSeekSavings: true, schedule: .oneFOneB), start: balance) == nil)
    }

    /// A sweep plan whose load balance does not fit (PP 4, EP 64, 1F1B in
    /// `Experiments/sweep-benchmark.yaml`): rank 0 holds 4 micro-batches in flight, and the
    /// balance "17 16×2 12" puts 98.2 GB on it. The plan moves layers off the first rank and
    /// fits ("14 16 17 14", 82.7 GB with DeepEP's buffers as DeepEP sizes them, measured 2026-11-25), and says what it moved. (PP 8 / EP 32
    /// / ZB1P, the plan that flipped between fitting and not, now balances to a split that fits.)
    @Test func aSweepPlanFitsByMovingLayersOffTheFirstRanks() throws {
        var c = try deepSeekStep()
        c.pp = 4; c.ep = 64; c.schedule = .oneFOneB; c.microbatches = 15_360 / c.dp
        let plan = try StepSimulation(config: c, calibration: try KernelCalibration.hopper()).plan()
        #expect(plan.memory.fits)
        #expect(plan.stageLayers.reduce(0, +) == 61)
        let memory = try StageMemoryModel(config: c, deepSeekSavings: true, schedule: .oneFOneB)
        #expect(TrainingMemory.compute(model: memory, stageLayers: plan.stageLayers) == plan.memory)
        let moved = try #require(plan.movedForMemory)
        let blind = TrainingMemory.compute(model: memory, stageLayers: moved.fastest)
        #expect(!blind.fits && blind.peakRank == 0 && blind.peakBytesPerGpu == moved.peakBytes)
        #expect(plan.stageLayers[0] < moved.fastest[0])
    }
}
