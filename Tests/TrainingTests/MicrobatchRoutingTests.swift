import CostModel
import Foundation
import Schedules
import Testing
@testable import Training

/// Routing that varies by micro-batch (`MicrobatchRouting`): which draw each MoE layer of each
/// micro-batch takes, what that does to its instructions, and to DeepSeek-V3's step.
@Suite struct MicrobatchRoutingTests {
    /// Stages made of MoE layers only (V3's partition 4×15 1: one MoE layer on the first stage,
    /// after its three dense ones, and on the last, four on the others; each stage n × the MoE
    /// layer, the dense layers, embedding and head left out) and two draws, the second twice the first: an
    /// instruction of micro-batch m on a stage of n MoE layers, k of which take draw 1, runs
    /// 1 + k/n times as long, and the forward, backward and weight parts of (m, stage) share
    /// that k, because a micro-batch's passes see the same routing.
    @Test("a micro-batch's forward, backward and weight take the same draws; factors 1 + k/n")
    func factors() throws {
        let c = try deepSeekStep()
        let simulation = try StepSimulation(config: c, calibration: try KernelCalibration.hopper())
        let real = try simulation.plan()
        let counts = real.moeLayersPerStage(c.layerModel)
        #expect(counts == [1] + Array(repeating: 4, count: 14) + [1])
        let plan = real.replacingStageTimes(counts.map { real.moeLayer * Double($0) })
        let schedule = try ScheduleGenerator.make(.zb1p, pp: 16, microbatches: 32)
        let routing = MicrobatchRouting(layers: [real.moeLayer, real.moeLayer * 2], seed: 1)
        let scales = routing.scales(for: schedule, plan: plan, moeLayers: counts, group: 0)
        var byMicrobatch: [String: Set<Double>] = [:]
        for (r, list) in schedule.program.enumerated() {
            for (i, instruction) in list.enumerated() {
                let op = instruction.ops[0], n = Double(counts[op.stage])
                let k: Double = (scales[r][i] - 1) * n
                let whole = abs(k - k.rounded()) < 1e-9, inRange = k > -1e-9 && k < n + 1e-9
                #expect(whole && inRange)
                byMicrobatch["\(op.stage)/\(op.microbatch)", default: []].insert((scales[r][i] * 1e9).rounded())
            }
        }
        #expect(byMicrobatch.values.allSatisfy { $0.count == 1 })
        // Draw 1 is as likely as draw 0: on 4-layer stages k averages 2 (σ of the mean ≈ 0.06).
        var fours: [Double] = []
        for (r, list) in schedule.program.enumerated() {
            for (i, instruction) in list.enumerated() where counts[instruction.ops[0].stage] == 4 { fours.append(scales[r][i]) }
        }
        let meanK: Double = (fours.reduce(0, +) / Double(fours.count) - 1) * 4
        #expect(abs(meanK - 2) < 0.25)
        #expect(scales != routing.scales(for: schedule, plan: plan, moeLayers: counts, group: 1))
        // Identical draws change nothing.
        let same = MicrobatchRouting(layers: [real.moeLayer, real.moeLayer], seed: 1).scales(for: schedule, plan: plan, moeLayers: counts, group: 0)
        #expect(same.allSatisfy { $0.allSatisfy { $0 == 1 } })
    }

    /// V3 with sequences that favour their own experts (β = 1) and four draws: the mean MoE
    /// layer is slower than the representative one and the pipeline cannot absorb the
    /// variation, so the 1F1B phase and the bubble both grow; the two EP groups draw apart.
    /// Without draws the step is the one routing's, to the byte.
    @Test("V3, β = 1, 4 draws: 1F1B and bubble grow; one draw is the plain step")
    func deepSeek() throws {
        var c = try deepSeekStep()
        let calibration = try KernelCalibration.hopper()
        let plain = try StepSimulation(config: c, calibration: calibration).run()
        c.sequenceConcentration = 1
        let one = try StepSimulation(config: c, calibration: calibration)
        let onePlan = try one.plan()
        let single = try one.run(microbatches: c.microbatches, plan: onePlan)
        #expect(single.moeLayerDrawsS == nil)
        #expect(single.stepTimeS > plain.stepTimeS)
        c.microbatchRoutings = 4
        let varied = try StepSimulation(config: c, calibration: calibration)
        let (slowest, groups) = try varied.runGroups(microbatches: c.microbatches, groupPlans: [onePlan])
        let draws = try #require(slowest.moeLayerDrawsS)
        #expect(draws.count == 4 && draws[0] == onePlan.moeLayer.overlappedForwardBackward && Set(draws).count == 4)
        #expect(groups.count == 2 && groups[0] != groups[1] && slowest.stepTimeS == groups.max()!)
        #expect(slowest.bubbleS > plain.bubbleS + 0.2)
        #expect(slowest.steadyS > plain.steadyS + 0.1)
        // The whole-cluster fidelity lets the draws stand for its per-stage routings.
        let whole = try WholeClusterStep(simulation: varied).run(plan: onePlan)
        #expect(whole.routings == 4 && whole.step == slowest)
    }

    @Test("experiment keys: sequence_concentration (16 draws unless given), microbatch_routings; errors name the key")
    func keys() throws {
        func load(_ routing: String) throws -> StepConfiguration { try shippedStep("deepseek-v3.yaml", adding: "routing: {\(routing)}") }
        let beta = try load("sequence_concentration: 4")
        #expect(beta.sequenceConcentration == 4 && beta.microbatchRoutings == 16)
        let draws = try load("microbatch_routings: 8")
        #expect(draws.sequenceConcentration == nil && draws.microbatchRoutings == 8)
        #expect(try load("sequence_concentration: 2, microbatch_routings: 1").microbatchRoutings == 1)
        #expect(try deepSeekStep().microbatchRoutings == 1)
        for bad in ["sequence_concentration: 0", "sequence_concentration: 5000000", "sequence_concentration: many",
                    "microbatch_routings: 0", "microbatch_routings: 65", "gate: round-robin, sequence_concentration: 1"] {
            #expect(throws: (any Error).self) { _ = try load(bad) }
        }
    }
}
