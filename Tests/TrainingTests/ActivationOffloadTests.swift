import CostModel
import Foundation
import Hardware
import Testing
@testable import Training

/// CPU activation offloading (Megatron-Core's `cpu_offloading`, Transformer Engine's handlers):
/// the copies' schedule worked by hand, the memory it leaves on the GPU, the plans Megatron-Core
/// refuses, and NVIDIA's GB200 and GB300 Llama 3 70B recipes that need it.
@Suite struct ActivationOffloadTests {
    /// Four layers, the first two offloaded, forwards of 1 s and backwards of 2 s, copies of 3 s
    /// out and 1 s back. The current handler (one stream): layer 0's copy is issued as layer 1
    /// starts (t = 1, done at 4), layer 1's as layer 2 starts (stream free at 4, done at 7);
    /// layer 2's forward waits for layer 0 (t 2 → 4), layer 3's for layer 1 (t 5 → 7): 4 s of
    /// waits. Backward: layer 1's copy back is issued at layer 2's backward (t = 2, done at 3),
    /// layer 0's at layer 1's (t = 4, done at 5), both done when needed: no wait.
    @Test func synchronizerByHand() {
        let offload = ActivationOffload(layers: 2)
        let copy = HostCopyBandwidth(toDevice: 3, toHost: 1)
        let waits = offload.exposed(forward: [1, 1, 1, 1], backward: [2, 2, 2, 2], bytes: [3, 3, 3, 3], copy: copy)
        #expect(waits.forward == 4 && waits.backward == 0, "\(waits)")
    }

    /// The older handler on the same layers: windows at layers 1 and 3. Layer 0's copy starts
    /// at its end (t = 1, done at 4); at layer 1's end (t = 2) the compute waits for it (→ 4)
    /// and starts layer 1's (done at 7); at layer 3's end (t = 6) it waits for that (→ 7): 3 s.
    /// Backward with 0.5 s layers and 3 s copies back: layer 1's starts at layer 3's backward
    /// (t = 0, done at 3); at layer 1's (t = 1) the compute waits for it (→ 3) and starts layer
    /// 0's (done at 6), waited for at layer 0 (t 3.5 → 6): 4.5 s.
    @Test func windowedByHand() {
        let offload = ActivationOffload(layers: 2, handler: .transformerEngineV1)
        let forward = offload.exposed(forward: [1, 1, 1, 1], backward: [2, 2, 2, 2], bytes: [3, 3, 3, 3], copy: HostCopyBandwidth(toDevice: 3, toHost: 1))
        #expect(forward.forward == 3 && forward.backward == 0, "\(forward)")
        let backward = offload.exposed(forward: [1, 1, 1, 1], backward: [0.5, 0.5, 0.5, 0.5], bytes: [3, 3, 3, 3], copy: HostCopyBandwidth(toDevice: 1, toHost: 100))
        #expect(abs(backward.backward - 4.5) < 1e-12, "\(backward)")
    }

    /// `AsyncDoubleBufferGroupOffloadHandler`'s windows: spread evenly, the last at layer L − 1,
    /// each at or after the offloaded layer it frees.
    @Test func windows() {
        #expect(ActivationOffload.windows(layers: 4, offloaded: 2) == [1, 3])
        #expect(ActivationOffload.windows(layers: 80, offloaded: 40) == (0..<40).map { 2 * $0 + 1 })
        let thirty = ActivationOffload.windows(layers: 80, offloaded: 30)
        #expect(thirty.first == 2 && thirty[19] == 59 && thirty[20] == 61 && thirty.last == 79)
        for (l, k) in [(80, 79), (80, 20), (32, 5), (126, 100)] {
            let w = ActivationOffload.windows(layers: l, offloaded: k)
            #expect(w.last == l - 1 && zip(w, w.dropFirst()).allSatisfy { $0 < $1 } && w.enumerated().allSatisfy { $1 >= $0 }, "\(l) \(k)")
        }
    }

    /// The GPU keeps the layers not offloaded (the older handler one more in transit); the host
    /// keeps the rest.
    @Test func residentAndHostBytes() {
        let perLayer: [Double] = [5, 1, 2, 3, 4]
        #expect(ActivationOffload(layers: 2).residentBytes(perLayer: perLayer) == 9)
        #expect(ActivationOffload(layers: 2, handler: .transformerEngineV1).residentBytes(perLayer: perLayer) == 14)
        #expect(ActivationOffload(layers: 2).hostBytes(perLayer: perLayer) == 6)
    }

    /// Megatron-Core's rules: fewer layers than the model's, one pipeline stage, no
    /// recomputation; each refusal names the key and the way out.
    @Test func refusedPlans() throws {
        for (extra, fragment) in [("activation_offload: {layers: 80}", "at most 79"),
                                  ("recompute: full", "recompute: none"),
                                  ("activation_offload: {layers: 4, handler: te}", "transformer-engine"),
                                  ("activation_offload: {layer: 4}", "layer")] {
            do { _ = try shippedStep("nemo-llama3-70b-gb200.yaml", adding: extra); Issue.record("accepted \(extra)") }
            catch { #expect("\(error)".contains(fragment), "\(error)") }
        }
        do { _ = try shippedStep("nemo-llama3-70b-h100.yaml", adding: "activation_offload: {layers: 4}"); Issue.record("accepted offloading with PP 8") }
        catch { #expect("\(error)".contains("pipeline parallelism") && "\(error)".contains("activation_offload"), "\(error)") }
    }

    /// NVIDIA's GB200 recipe fits only with its 40 layers offloaded: one micro-batch keeps
    /// 3.90 GB per layer (80 layers, 312 GB); offloading 40 leaves 155.9 GB of activations and a
    /// 188.5 GB peak under the GB200's 197.9 GB, with 155.9 GB in pinned host memory; 38 layers
    /// are the fewest that fit.
    @Test func gb200RecipeFitsByOffloading() throws {
        let c = try shippedStep("nemo-llama3-70b-gb200.yaml")
        let memory = try StepSimulation(config: c, calibration: try KernelCalibration.hopper()).plan().memory
        #expect(memory.fits && abs(memory.peakBytesPerGpu / 1e9 - 188.54) < 0.05, "\(memory.peakBytesPerGpu)")
        #expect(abs((memory.offloadedHostBytes ?? 0) / 1e9 - 155.86) < 0.05)
        var kept = c
        kept.activationOffload = nil
        let whole = try StepSimulation(config: kept, calibration: try KernelCalibration.hopper()).plan().memory
        #expect(!whole.fits && abs(whole.peakBytesPerGpu / 1e9 - 344.40) < 0.05 && whole.offloadedHostBytes == nil)
        // Zero layers (a sweep's start) offload nothing; 38 is the fewest that fit, the recipe's 40 leave 9.4 GB.
        let zero = try StepSimulation(config: try shippedStep("nemo-llama3-70b-gb200.yaml", adding: "activation_offload: {layers: 0}"),
                                      calibration: try KernelCalibration.hopper()).plan().memory
        #expect(zero.peakBytesPerGpu == whole.peakBytesPerGpu && zero.offloadedHostBytes == 0)
        for (layers, fits) in [(37, false), (38, true)] {
            let m = try StepSimulation(config: try shippedStep("nemo-llama3-70b-gb200.yaml", adding: "activation_offload: {layers: \(layers)}"),
                                       calibration: try KernelCalibration.hopper()).plan().memory
            #expect(m.fits == fits, "\(layers): \(m.peakBytesPerGpu)")
        }
    }

    /// `llmsim step --sensitivity` moves the host copy rate only where something copies to the host.
    @Test func sensitivityKnobOnlyWithOffloading() throws {
        let key = "hardware.host_copy_gb_s"
        #expect(StepSensitivity.knobs(try shippedStep("nemo-llama3-70b-gb200.yaml")).contains { $0.key == key })
        #expect(!StepSensitivity.knobs(try shippedStep("nemo-llama3-8b-gb200.yaml")).contains { $0.key == key })
    }

    /// Measured 2026-11-25: over NVLink-C2C (193 GB/s out, 201 back) a layer's 3.90 GB copy
    /// (20 ms) outlasts its 14 ms forward, but the current handler gives each copy 39 layers to
    /// finish, so nothing shows: the step is the step without offloading (6.718 s). A PCIe Gen5
    /// host (52 GB/s, 75 ms a layer; `hardware: {host_copy_gb_s: 52}`) cannot hide 40 copies in
    /// 39 forwards: each micro-batch's forward waits 1.95 s and its backward 0.82 s, a 12.28-s step
    /// (12.30 s since the BF16 head prices from Blackwell's own table, 2026-11-27; since its FP8
    /// GEMMs price from Blackwell's own FP8 rows, 2026-11-28, the faster layers hide less: 2.12
    /// and 0.90 s, a 12.27-s step with 6.04 s of waits).
    @Test func hiddenOverC2CExposedOverPCIe() throws {
        let c = try shippedStep("nemo-llama3-70b-gb200.yaml")
        let sim = try StepSimulation(config: c, calibration: try KernelCalibration.hopper())
        let plan = try sim.plan()
        let layer = plan.stageTimes[0]
        #expect(layer.offloadForward == 0 && layer.offloadBackward == 0)
        var none = c
        none.activationOffload = nil
        let base = try StepSimulation(config: none, calibration: try KernelCalibration.hopper()).run().stepTimeS
        #expect(abs(try sim.run(microbatches: c.microbatches, plan: plan).stepTimeS - base) < 1e-9)
        let pcie = try shippedStep("nemo-llama3-70b-gb200.yaml", adding: "hardware: {host_copy_gb_s: 52}")
        #expect(pcie.topology.node.device.hostCopy == HostCopyBandwidth(toDevice: 52e9, toHost: 52e9))
        let slowSim = try StepSimulation(config: pcie, calibration: try KernelCalibration.hopper())
        let slowPlan = try slowSim.plan()
        let slow = slowPlan.stageTimes[0]
        #expect(abs(slow.offloadForward - 2.123) < 0.01 && abs(slow.offloadBackward - 0.896) < 0.01, "\(slow.offloadForward) \(slow.offloadBackward)")
        // Two micro-batches: 6.04 s of waits, a 12.27-s step, the breakdown's part.
        let step = try slowSim.run(microbatches: pcie.microbatches, plan: slowPlan)
        #expect(abs(step.stepTimeS - 12.270) < 0.01 && abs(step.timeBreakdownPerRank[0].activationOffloadS - 6.038) < 0.01, "\(step.stepTimeS) \(step.timeBreakdownPerRank[0].activationOffloadS)")
    }
}
