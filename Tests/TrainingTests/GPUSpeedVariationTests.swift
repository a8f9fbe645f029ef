import CostModel
import Foundation
import Hardware
import Testing
@testable import Model
@testable import Training

/// GPU-to-GPU speed spread (`GPUSpeedVariation`; Sinha et al. SC'22 measured 8% average
/// variation across GPUs of one SKU): each synchronisation group's ranks run at their slowest
/// GPU's speed, and the step waits for the slowest group.
@Suite struct GPUSpeedVariationTests {
    /// Llama 3.1 8B on two DGX A100 nodes, one stage, no TP: four independent pipelines of one
    /// GPU each, nothing but compute inside a pipeline.
    func fourSingleGPUPipelines() throws -> StepConfiguration {
        let models = try ModelCatalog.load(directory: repoRoot.appendingPathComponent("Experiments/models").path)
        var c = try StepExperiment.load(path: repoRoot.appendingPathComponent("Experiments/llama-3.1-8b-a100.yaml").path, models: models,
                                        hardware: try HardwareCatalog.builtIn())
        c.topology.nodes = 2; c.pp = 1; c.microbatches = 4; c.model.layers = 4
        #expect(c.gpus == 16 && c.dp == 16)
        return c
    }

    @Test("speeds: seeded, mean 1 and standard deviation the spread over 2,048 GPUs")
    func speedsFollowTheSpread() {
        let v = GPUSpeedVariation(spread: 0.02, gpus: 2048, seed: 1)
        #expect(v.speeds == GPUSpeedVariation(spread: 0.02, gpus: 2048, seed: 1).speeds)
        #expect(v.speeds != GPUSpeedVariation(spread: 0.02, gpus: 2048, seed: 2).speeds)
        let mean = v.speeds.reduce(0, +) / 2048
        let sd = (v.speeds.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 2047).squareRoot()
        // Standard errors: 0.02 / √2048 = 0.00044 for the mean, 1.6% of the spread for the sd.
        #expect(abs(mean - 1) < 0.0015)
        #expect(abs(sd / 0.02 - 1) < 0.06)
    }

    @Test("a group waits for its slowest GPU: V3's EP group of 64 pipelines at rank r")
    func slowdownIsTheGroupsSlowestGPU() throws {
        var c = try megatronStep()
        // DeepSeek-V3's plan: 2,048 GPUs, PP16, DP128, EP64: two groups of 64 pipelines.
        c.pp = 16; c.tp = 1; c.topology.nodes = 256; c.ep = 64
        let v = GPUSpeedVariation(spread: 0.02, gpus: c.gpus, seed: 3)
        let dp = c.dp
        #expect(dp == 128 && c.synchronisationGroups == 2)
        for (rank, group) in [(0, 0), (7, 1), (15, 1)] {
            let members = (0..<64).map { v.speeds[rank * dp + group * 64 + $0] }
            #expect(v.slowdown(rank: rank, group: group, config: c) == 1 / members.min()!)
        }
    }

    /// A dense model's lockstep groups are its data-parallel replicas, each its TP group's
    /// GPUs (a first version counted TP × DP groups, past the GPUs there are, and trapped).
    @Test("a dense model with TP: one group per replica, waiting for its TP group's slowest GPU")
    func denseGroupsAreReplicas() throws {
        var c = try fourSingleGPUPipelines()
        c.tp = 4
        #expect(c.dp == 4 && c.synchronisationGroups == 4 && c.pipelinesPerSynchronisationGroup == 1)
        let v = GPUSpeedVariation(spread: 0.05, gpus: c.gpus, seed: 5)
        for g in 0..<4 {
            #expect(v.slowdown(rank: 0, group: g, config: c) == 1 / v.speeds[(4 * g)..<(4 * g + 4)].min()!)
        }
        c.gpuSpeedSpread = 0.05; c.hostSecondsPerOperation = 0
        let varied = try StepSimulation(config: c, calibration: try KernelCalibration.hopper())
        let (_, groups) = try varied.runGroups(microbatches: c.microbatches, groupPlans: [try varied.plan()])
        #expect(groups.count == 4)
    }

    @Test("compute stretches, communication does not")
    func computeScaledKeepsCommunication() {
        var t = LayerTimes()
        t.attentionForward = 1; t.mlpBackwardWeight = 2; t.otherForward = 3; t.dispatchForward = 4; t.tensorParallelBackward = 5
        let s = t.computeScaled(by: 1.5)
        #expect(s.attentionForward == 1.5 && s.mlpBackwardWeight == 3 && s.otherForward == 4.5)
        #expect(s.dispatchForward == 4 && s.tensorParallelBackward == 5)
    }

    /// One stage and no TP: a pipeline is one GPU, so each group's pipeline time is the
    /// calibrated one stretched by that GPU's 1/speed, and the step waits for the slowest GPU.
    /// Launches cost nothing here: the host's waits are the CPU's and do not stretch.
    @Test("independent one-GPU pipelines: the step's pipeline is the slowest GPU's")
    func stepWaitsForTheSlowestPipeline() throws {
        var c = try fourSingleGPUPipelines()
        c.hostSecondsPerOperation = 0
        let calibrated = try StepSimulation(config: c, calibration: try KernelCalibration.hopper())
        let plan = try calibrated.plan()
        let base = try calibrated.run(microbatches: c.microbatches, plan: plan)
        c.gpuSpeedSpread = 0.03
        let varied = try StepSimulation(config: c, calibration: try KernelCalibration.hopper())
        let speeds = try #require(varied.speeds).speeds
        let (slowest, groups) = try varied.runGroups(microbatches: c.microbatches, groupPlans: [plan])
        #expect(groups.count == 16)
        #expect(abs(slowest.pipelineS / (base.pipelineS / speeds.min()!) - 1) < 1e-9)
        #expect(abs(groups.min()! - (base.pipelineS / speeds.max()! + base.optimizerS)) < 1e-9)
        #expect(slowest.optimizerS == base.optimizerS)
        #expect(try varied.run(microbatches: c.microbatches, plan: plan) == slowest)
    }

    /// DualPipe runs stage s on rank s in one direction and on rank PP−1−s in the other: each
    /// (direction, stage) must stretch once, by its own rank's GPUs (a first version stretched
    /// the shared stage time by both ranks). With every GPU at half speed the step must equal
    /// the calibrated step on stage times with doubled compute.
    @Test("DualPipe: every (direction, stage) stretches once, by the GPU that runs it")
    func dualPipeStretchesEachStageOnce() throws {
        var c = try fourSingleGPUPipelines()
        c.pp = 4; c.schedule = .dualpipe; c.microbatches = 8
        let calibrated = try StepSimulation(config: c, calibration: try KernelCalibration.hopper())
        let plan = try calibrated.plan()
        let doubled = try calibrated.run(microbatches: c.microbatches, plan: plan.replacingStageTimes(plan.stageTimes.map { $0.computeScaled(by: 2) }))
        var halfSpeed = calibrated
        halfSpeed.speeds = GPUSpeedVariation(spread: 0.01, speeds: Array(repeating: 0.5, count: c.gpus))
        let (slowest, groups) = try halfSpeed.runGroups(microbatches: c.microbatches, groupPlans: [plan])
        #expect(groups.count == c.dp)
        #expect(abs(slowest.pipelineS - doubled.pipelineS) < 1e-9)
        #expect(abs(slowest.stepTimeS - doubled.stepTimeS) < 1e-9)
    }

    @Test("the experiment key: percent, 0 to 30")
    func experimentKey() throws {
        func load(_ extra: String) throws -> StepConfiguration { try shippedStep("llama-3.1-8b-a100.yaml", adding: extra) }
        #expect(try load("gpu_speed_spread_percent: 1.5").gpuSpeedSpread == 0.015)
        #expect(try load("").gpuSpeedSpread == 0)
        #expect(throws: (any Error).self) { _ = try load("gpu_speed_spread_percent: 45") }
        #expect(throws: (any Error).self) { _ = try load("gpu_speed_spread_percent: -1") }
    }
}
