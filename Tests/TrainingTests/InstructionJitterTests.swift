import CostModel
import Foundation
import Schedules
import Testing
@testable import Training

/// Run-to-run variation of pipeline instructions (`InstructionJitter`): lognormal factors of
/// mean 1; coupled ranks turn variation into bubble, a rank alone does not.
@Suite struct InstructionJitterTests {
    @Test("factors: seeded per group, mean 1 and the given coefficient of variation")
    func factorsFollowTheLaw() throws {
        let s = try ScheduleGenerator.make(.dualpipe, pp: 16, microbatches: 120)
        let jitter = InstructionJitter(cv: 0.05, seed: 1)
        let a = try jitter.scales(for: s, group: 0)
        #expect(a == (try jitter.scales(for: s, group: 0)))
        #expect(a != (try jitter.scales(for: s, group: 1)))
        #expect(a != (try InstructionJitter(cv: 0.05, seed: 2).scales(for: s, group: 0)))
        #expect(a.map(\.count) == s.program.map(\.count))
        let x = a.flatMap { $0 }, n = Double(x.count)
        let mean = x.reduce(0, +) / n
        let sd = (x.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / (n - 1)).squareRoot()
        // Thousands of draws (every instruction of 16 ranks): standard error below 0.001 for the
        // mean and about 1% of the CV for the sd.
        #expect(abs(mean - 1) < 0.003)
        #expect(abs(sd / 0.05 - 1) < 0.05)
        #expect(x.allSatisfy { $0 > 0 })
    }

    /// One stage and no TP (Llama 3.1 8B on two DGX A100 nodes, four micro-batches): each of the
    /// 16 pipelines is one GPU that waits for nobody, so jitter adds no idle time; the step
    /// waits for the slowest of the 16 pipelines' sums.
    @Test("a rank alone never idles under jitter; the step waits for the slowest pipeline")
    func aloneNoBubble() throws {
        var c = try shippedStep("llama-3.1-8b-a100.yaml")
        c.topology.nodes = 2; c.pp = 1; c.microbatches = 4; c.model.layers = 4; c.hostSecondsPerOperation = 0
        let base = try StepSimulation(config: c, calibration: try KernelCalibration.hopper())
        let plan = try base.plan()
        let calibrated = try base.run(microbatches: c.microbatches, plan: plan)
        c.instructionJitter = 0.05
        let jittered = try StepSimulation(config: c, calibration: try KernelCalibration.hopper())
        let (slowest, groups) = try jittered.runGroups(microbatches: c.microbatches, groupPlans: [plan])
        #expect(groups.count == 16)
        #expect(slowest.bubbleS < 1e-9)
        #expect(slowest.pipelineS > calibrated.pipelineS)
        #expect(Set(groups).count == 16)
    }

    /// DeepSeek-V3's plan: the 16 ranks wait for each other's activations and gradients at
    /// every instruction boundary (DualPipe's batched sends), so per-instruction variation
    /// lengthens the step and its bubble; the two EP groups draw apart and the step waits for
    /// the slower. No jitter is the calibrated step, to the byte.
    @Test("V3: 3% jitter lengthens the bubble and the step; 0% is the calibrated step")
    func deepSeekBubbleGrows() throws {
        var c = try deepSeekStep()
        let calibration = try KernelCalibration.hopper()
        let base = try StepSimulation(config: c, calibration: calibration)
        let plan = try base.plan()
        let calibrated = try base.run(microbatches: c.microbatches, plan: plan)
        c.instructionJitter = 0.03
        let jittered = try StepSimulation(config: c, calibration: calibration)
        let (slowest, groups) = try jittered.runGroups(microbatches: c.microbatches, groupPlans: [plan])
        #expect(groups.count == 2 && groups[0] != groups[1])
        #expect(slowest.stepTimeS == groups.max()!)
        #expect(slowest.bubbleS > calibrated.bubbleS + 0.1)
        #expect(slowest.stepTimeS > calibrated.stepTimeS + 0.1)
        #expect(try jittered.run(microbatches: c.microbatches, plan: plan) == slowest)
        c.instructionJitter = 0
        #expect(try StepSimulation(config: c, calibration: calibration).run(microbatches: c.microbatches, plan: plan) == calibrated)
    }

    @Test("the experiment key: percent, 0 to below 50")
    func experimentKey() throws {
        func load(_ extra: String) throws -> StepConfiguration { try shippedStep("deepseek-v3.yaml", adding: extra) }
        #expect(try load("instruction_jitter_percent: 1.5").instructionJitter == 0.015)
        #expect(try load("").instructionJitter == 0)
        for bad in ["instruction_jitter_percent: 50", "instruction_jitter_percent: -1", "instruction_jitter_percent: lots"] {
            #expect(throws: (any Error).self) { _ = try load(bad) }
        }
    }
}
