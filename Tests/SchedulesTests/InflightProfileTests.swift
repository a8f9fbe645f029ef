import Testing
@testable import Schedules

@Suite struct InflightProfileTests {
    /// The profile is read from program order; the simulator tracks the same holding in time.
    /// Both must give every rank the same peak for any per-stage activation size (here uneven
    /// sizes, so that ranks holding two stages peak at a particular mix).
    @Test(arguments: ScheduleKind.allCases)
    func programOrderGivesTheSimulatedPeaks(kind: ScheduleKind) throws {
        let schedule = try ScheduleGenerator.make(kind, pp: 8, microbatches: 24, virtualStages: 2)
        let weights = (0..<schedule.stagesPerPipeline).map { (s: Int) -> Double in 1 + 0.37 * Double(s) + (s % 3 == 0 ? 2.5 : 0) }
        let durations = OpDurations(forward: 1, backward: 2, weight: 1, forwardBackward: 2.5)
        let simulated = try ScheduleSimulator().run(schedule, stageDurations: Array(repeating: Array(repeating: durations, count: schedule.stagesPerPipeline),
                                                                                   count: schedule.pipelines), activationWeight: weights)
        let profile = InflightProfile(schedule)
        for r in 0..<schedule.ranks {
            let peak = profile.peak(rank: r) { weights[$0] }.value
            #expect(abs(peak - simulated.peakInflightMicrobatchesPerRank[r]) < 1e-9, "rank \(r)")
        }
    }

    /// 1F1B on PP 4 holds PP − r micro-batches on rank r (Narayanan et al. 2021): one vector each.
    @Test func oneFOneBHoldsPPMinusRank() throws {
        let profile = InflightProfile(try ScheduleGenerator.make(.oneFOneB, pp: 4, microbatches: 8))
        #expect(profile.peakCounts == [[[4]], [[3]], [[2]], [[1]]])
        #expect(InflightProfile.undominated([[1, 2], [2, 1], [2, 2], [0, 3], [2, 2]]) == [[2, 2], [0, 3]])
    }
}
