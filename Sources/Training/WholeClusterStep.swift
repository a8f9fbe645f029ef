import CostModel
import Model
import SimCore

/// The whole-cluster fidelity of a step: every GPU is accounted for, not one representative
/// pipeline. Each pipeline stage of each EP group routes its own tokens (its own random
/// stream), so the MoE layers of stage s in group g take the time their own slowest GPU and
/// their own all-to-all give; the pipelines of a group share those durations (their all-to-alls
/// synchronise them), and the step waits for the slowest group before the optimizer.
///
/// The DP × PP ranks of a group run identical instruction lists with identical durations, so
/// the engine simulates each group's pipeline once (exact, not an approximation); routings are
/// the cost: PP × groups of them instead of one.
public struct WholeClusterStep: Sendable {
    public let simulation: StepSimulation

    public init(simulation: StepSimulation) { self.simulation = simulation }

    public struct Result: Sendable {
        /// The step of the slowest EP group (its pipeline, plus the optimizer).
        public var step: StepResult
        /// Step time of each EP group's pipelines, seconds.
        public var groupStepS: [Double]
        /// EP groups per stage (DP / EP), and the routings simulated (stages × groups).
        public var groups: Int
        public var routings: Int
    }

    /// The routing seed of stage `s` in EP group `g`: distinct for every pair, and from the
    /// experiment's seed (same input, same output).
    static func seed(_ base: UInt64, stage s: Int, group g: Int) -> UInt64 {
        SplitMix64.output(seed: base, index: UInt64(s * 65_536 + g + 1))
    }

    /// The whole-cluster step; `plan` is the representative plan when the caller has it.
    public func run(plan representative: StepSimulation.StagePlan? = nil) throws -> Result {
        let c = simulation.config
        let plan = try representative ?? simulation.plan()
        // With micro-batch routings every MoE layer of every micro-batch already takes its own
        // draw (`MicrobatchRouting`), which supersedes one routing per stage and group.
        guard c.model.moe != nil, c.expertGroupSize > 1, !c.routesEachMicrobatch else {
            let (step, groupSteps) = try simulation.runGroups(microbatches: c.microbatches, groupPlans: [plan])
            return Result(step: step, groupStepS: groupSteps, groups: groupSteps.count, routings: c.routesEachMicrobatch ? c.microbatchRoutings : 0)
        }
        let groups = c.synchronisationGroups
        // MoE layers per stage (contiguous partition; the MTP module keeps the representative routing).
        let moeCounts = plan.moeLayersPerStage(c.model)
        let pairs = plan.stageLayers.indices.filter { moeCounts[$0] > 0 }.flatMap { s in (0..<groups).map { (s, $0) } }
        // Route and price the MoE layer of every (stage, group), pairs in parallel.
        let simulation = self.simulation
        let moeLayers = try Parallel.map(pairs.count) { i in
            try simulation.moeDraw(routedWith: Self.seed(c.seed, stage: pairs[i].0, group: pairs[i].1)).layer
        }
        let groupPlans = (0..<groups).map { g in
            var times = plan.stageTimes
            for (i, pair) in pairs.enumerated() where pair.1 == g {
                let n = Double(moeCounts[pair.0])
                times[pair.0] = times[pair.0] + (moeLayers[i] - plan.moeLayer) * n
            }
            return plan.replacingStageTimes(times)
        }
        let (slowest, groupSteps) = try simulation.runGroups(microbatches: c.microbatches, groupPlans: groupPlans)
        return Result(step: slowest, groupStepS: groupSteps, groups: groups, routings: pairs.count)
    }
}
