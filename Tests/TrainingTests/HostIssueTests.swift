import CostModel
import Foundation
import Hardware
import Testing
@testable import Model
@testable import Training

/// The host that launches each rank's operations (`HostIssue`): its closed forms, the
/// calibration's derivation, and where it binds.
@Suite struct HostIssueTests {
    typealias Op = HostIssue.Operation

    /// Kernels longer than a launch: the GPU waits only for the first launch. Kernels shorter
    /// than a launch: the host paces the GPU, n launches then the last kernel.
    @Test func closedForms() {
        let host = HostIssue(secondsPerOperation: 1)
        #expect(host.idle(Array(repeating: Op(seconds: 10), count: 5)) == 1)
        // 8 kernels of 0.25 s: the last starts at 8 s and ends at 8.25 s; busy 2 s.
        #expect(host.idle(Array(repeating: Op(seconds: 0.25), count: 8)) == 6.25)
        #expect(HostIssue(secondsPerOperation: 0).idle(Array(repeating: Op(seconds: 0.25), count: 8)) == 0)
        #expect(host.idle([]) == 0)
    }

    /// A host wait (the forward dispatch's token counts) lets the GPU drain its queue, so the
    /// next operation waits one more launch: a 10 s kernel then a 2 s and a 1 s one idle 1 s
    /// without the wait (the first launch) and 2 s with it.
    @Test func aWaitCostsALaunch() {
        let host = HostIssue(secondsPerOperation: 1)
        #expect(host.idle([Op(seconds: 10), Op(seconds: 2), Op(seconds: 1)]) == 1)
        #expect(host.idle([Op(seconds: 10), Op(seconds: 2, hostWaitsForGPU: true), Op(seconds: 1)]) == 2)
    }

    /// `host_us_per_operation` (74 µs) is DeepSeek's host time per overlapped layer pair
    /// (10.62 ms, docs/checks/trace_host_time.py) over the cost executor's operations of one V3
    /// MoE layer, 45 forward and 99 backward: if the executor issues other operations, the
    /// calibration must be derived again.
    @Test func calibrationCountsTheExecutorsOperations() throws {
        let sim = try StepSimulation(config: try deepSeekStep(), calibration: try KernelCalibration.hopper())
        let (traffic, dispatch, combine) = try sim.allToAll()
        let passes = HostIssue.passes(try sim.layerRecords(10, traffic: traffic), kernels: sim.kernels, dispatch: dispatch, combine: combine)
        #expect(passes.forward.count == 45)
        #expect(passes.backward.count == 99)
        #expect(passes.forward.filter(\.hostWaitsForGPU).count == 1)
        #expect(passes.backward.filter(\.hostWaitsForGPU).isEmpty)
        #expect(abs(sim.kernels.calibration.hostSecondsPerOperation - 10.62e-3 / 144) < 0.5e-6)
    }

    /// Where launches bind: DeepSeek-V3's layers run tens of milliseconds against 10 ms of
    /// launches per layer pair, so rank 0 waits under 0.1% of the step; Qwen3-30B-A3B's layer
    /// of 128 narrow experts (width 768) runs about 10 ms of kernels against 16 ms of launches,
    /// so its GPU waits for a third of the step or more. Without launch costs (CUDA graphs)
    /// neither waits, and the steps are shorter by what they waited, or more.
    @Test func launchesBindFineGrainedExpertsOnly() throws {
        for (config, atLeast, atMost) in [(try deepSeekStep(), 0.0, 0.001), (try shippedStep("nemo-qwen3-30b-a3b-h100.yaml"), 0.3, 1.0)] {
            let calibration = try KernelCalibration.hopper()
            let step = try StepSimulation(config: config, calibration: calibration).run()
            let share = step.hostWaitS / step.stepTimeS
            #expect(share >= atLeast && share <= atMost, "\(config.model.name): waits \(step.hostWaitS) s of \(step.stepTimeS) s")
            var graphs = config
            graphs.hostSecondsPerOperation = 0
            let free = try StepSimulation(config: graphs, calibration: calibration).run()
            #expect(free.hostWaitS == 0)
            #expect(free.stepTimeS < step.stepTimeS)
            #expect(step.stepTimeS - free.stepTimeS >= 0.9 * step.hostWaitS)
        }
    }
}

extension HostIssueTests {
    /// `host_us_per_operation`: microseconds, 0 (CUDA graphs) to 10,000; a value past that (a
    /// unit slip) or below 0 is an error at the key that says what to give.
    @Test func experimentKey() throws {
        let models = try ModelCatalog.load(directory: repoRoot.appendingPathComponent("Experiments/models").path)
        func load(_ extra: String) throws -> StepConfiguration {
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("host-\(UUID().uuidString).yaml").path
            try "base: \(repoRoot.appendingPathComponent("Experiments/llama-3.1-8b-a100.yaml").path)\n\(extra)\n".write(toFile: path, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(atPath: path) }
            return try StepExperiment.load(path: path, models: models, hardware: try HardwareCatalog.builtIn())
        }
        #expect(abs((try load("host_us_per_operation: 20").hostSecondsPerOperation ?? 0) - 20e-6) < 1e-12)
        #expect(try load("host_us_per_operation: 0").hostSecondsPerOperation == 0)
        #expect(try load("").hostSecondsPerOperation == nil)
        for bad in ["host_us_per_operation: 0.074e6", "host_us_per_operation: -5"] {
            do {
                _ = try load(bad)
                Issue.record("\(bad) was accepted")
            } catch {
                let text = "\(error)"
                #expect(text.contains("host_us_per_operation"), "\(text)")
            }
        }
    }
}
