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

    /// `host_us_per_operation` (100 µs) is DeepSeek's host time per overlapped layer pair
    /// (10.62 ms, docs/checks/trace_host_time.py) over the operations of one V3 MoE layer, 36
    /// forward and 70 backward (the executor's records, each run of per-expert records
    /// one launch): if the executor issues other operations, the calibration must be derived
    /// again.
    @Test func calibrationCountsTheExecutorsOperations() throws {
        let sim = try StepSimulation(config: try deepSeekStep(), calibration: try KernelCalibration.hopper())
        let (traffic, dispatch, combine) = try sim.allToAll()
        let passes = HostIssue.passes(try sim.layerRecords(10, traffic: traffic), kernels: sim.kernels, dispatch: dispatch, combine: combine)
        #expect(passes.forward.count == 36)
        #expect(passes.backward.count == 70)
        #expect(passes.forward.filter(\.hostWaitsForGPU).count == 1)
        #expect(passes.backward.filter(\.hostWaitsForGPU).isEmpty)
        #expect(abs(sim.kernels.calibration.hostSecondsPerOperation - 10.62e-3 / 106) < 0.5e-6)
    }

    /// Where launches bind: short kernels. DeepSeek-V3's 4,096-token micro-batches run about
    /// 32 ms of kernels per layer pair against 10.6 ms of launches, so rank 0 waits under 0.2%
    /// of the step (measured 2026-11-25: 16 ms of 18.63 s); at 1,024 tokens the kernels are a
    /// quarter as long and the waits 8% (0.46 of 5.83 s, the embedding's gradient sparse);
    /// Llama 3 8B's layers at 1,024 tokens
    /// on H100 wait 45% (1.63 of 3.62 s). Without launch costs (CUDA graphs) nothing waits, and
    /// each step is shorter by at least most of what it waited.
    @Test func launchesBindShortKernels() throws {
        var v3Short = try deepSeekStep()
        v3Short.microbatchTokens = 1024
        // Four times the micro-batches would each make the dense embedding table's gradient
        // (11 GB moved on ranks 0 and 15, whatever the tokens), which then binds the step.
        v3Short.optimizer.embeddingGradient = .sparse
        var llamaShort = try shippedStep("nemo-llama3-8b-h100.yaml")
        llamaShort.microbatchTokens = 1024
        for (config, atLeast, atMost) in [(try deepSeekStep(), 0.0, 0.002), (v3Short, 0.04, 0.2), (llamaShort, 0.25, 0.7)] {
            let calibration = try KernelCalibration.hopper()
            let step = try StepSimulation(config: config, calibration: calibration).run()
            let share = step.hostWaitS / step.stepTimeS
            #expect(share >= atLeast && share <= atMost, "\(config.model.name), \(config.microbatchTokens) tokens: waits \(step.hostWaitS) s of \(step.stepTimeS) s")
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
        func load(_ extra: String) throws -> StepConfiguration { try shippedStep("llama-3.1-8b-a100.yaml", adding: extra) }
        #expect(abs((try load("host_us_per_operation: 20").hostSecondsPerOperation ?? 0) - 20e-6) < 1e-12)
        #expect(try load("host_us_per_operation: 0").hostSecondsPerOperation == 0)
        #expect(try load("").hostSecondsPerOperation == nil)
        for bad in ["host_us_per_operation: 0.1e6", "host_us_per_operation: -5"] {
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
