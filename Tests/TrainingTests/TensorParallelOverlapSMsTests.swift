import CostModel
import Foundation
import Schedules
import Testing
@testable import Training

/// Transformer Engine's userbuffers kernels hold SMs beside the GEMMs they overlap
/// (`TensorParallelOverlapSMs`; transformer_engine/common/comm_gemm_overlap/comm_gemm_overlap.cpp).
@Suite struct TensorParallelOverlapSMsTests {
    /// The fluid walk by hand. A bulk overlap: a GEMM of 1 s on every SM, 2 s on the SMs the
    /// collective's kernel leaves (half pace while it runs).
    /// - a 1-s collective: half the GEMM done when it ends, the other half at full pace: 1.5 s,
    ///   0.5 s lost, nothing exposed;
    /// - a 3-s collective: the GEMM done at 2 s, the collective shows 1 s past it; the pair
    ///   takes the collective's 3 s, of which 1 s is the GEMM's loss;
    /// - a kernel that holds no SM (slowed = window): the old `max(0, c − g)`.
    @Test func bulkOverlapSlowsTheGEMMWhileTheCollectiveRuns() {
        let o = TensorParallelOverlap.pipelined
        #expect(o.exposed(1, window: 1, slowed: 2) == TensorParallelTime(exposed: 0, contention: 0.5))
        #expect(o.exposed(3, window: 1, slowed: 2) == TensorParallelTime(exposed: 1, contention: 1))
        #expect(o.exposed(3, window: 1, slowed: 1) == TensorParallelTime(exposed: 2, contention: 0))
        #expect(TensorParallelOverlap.backward.exposed(0.5, window: 1, slowed: 1) == TensorParallelTime())
        #expect(TensorParallelOverlap.none.exposed(0.5, window: 1, slowed: 2) == TensorParallelTime(exposed: 0.5))
    }

    /// A forward reduce-scatter with the GEMM's margin set: the GEMM runs on the SMs left from
    /// start to end (loses slowed − gemm), and the collective hides under the slower GEMM.
    @Test func marginSlowsTheWholeGEMM() {
        let o = TensorParallelOverlap.pipelined
        let t = o.pipelinedExposed(1, gemm: 0.8, slowed: 1, group: 4)
        #expect(abs(t.contention - 0.2) < 1e-15)
        #expect(t.exposed == o.pipelinedExposed(1, gemm: 1, group: 4))
        #expect(TensorParallelOverlap.backward.pipelinedExposed(1, gemm: 0.8, slowed: 1, group: 4) == TensorParallelTime(exposed: 1))
    }

    /// Korthikanti et al.'s 22B layers under userbuffers: with Transformer Engine's default 16
    /// SMs per kernel the GEMMs beside the row-parallel reduce-scatters and the column-parallel
    /// backward lose time; with none held they keep it. The compute itself is unchanged (the
    /// loss is counted with the TP collectives), and the loss is the step's whole difference
    /// less what the collectives expose past the slower GEMMs.
    @Test func defaultKernelsSlowTheLayers() throws {
        var c = try korthikanti22BLayers()
        c.sequenceParallel = true; c.tensorParallelOverlap = .pipelined
        let calibration = try KernelCalibration.hopper()
        let held = try StepSimulation(config: c, calibration: calibration).plan().stageTimes[0]
        c.userbufferSMs = .none
        let free = try StepSimulation(config: c, calibration: calibration).plan().stageTimes[0]
        #expect(free.tensorParallelContentionForward == 0 && free.tensorParallelContentionBackward == 0)
        #expect(held.tensorParallelContentionForward > 0 && held.tensorParallelContentionBackward > 0)
        #expect(held.compute == free.compute)
        // The forward: only the row-parallel GEMMs slow (margin), and their reduce-scatters
        // hide better under them.
        #expect(held.tensorParallelForward > free.tensorParallelForward)
        #expect(held.tensorParallelForward - held.tensorParallelContentionForward <= free.tensorParallelForward + 1e-15)
        // 16 of the A100's compute SMs (108 less the file's 2 for NCCL) on the row-parallel
        // GEMMs: at most S/(S − 16) − 1 of them is lost (all of it on GEMMs that fill every SM).
        let sim = try StepSimulation(config: c, calibration: calibration)
        let w = TensorParallelOverlap.windows(try sim.layerRecords(0, traffic: .local(expertRows: [])), kernels: sim.kernels)
        let rowGEMMs = 2 * (w.attention.rowForward + w.mlp.rowForward)        // two layers
        let sms = Double(sim.kernels.computeSMs)
        #expect(sms == 106)
        #expect(abs(held.tensorParallelContentionForward / (rowGEMMs * (sms / (sms - 16) - 1)) - 1) < 1e-9)
    }

    /// Megatron-LM's asynchronous TP communication (`tp_overlap: backward`): the NCCL
    /// reduce-scatter of each column-parallel input gradient beside its weight-gradient GEMM
    /// and the all-gather of its saved input beside its input-gradient GEMM hold the node's
    /// scale-up channels (a DGX A100: 24 CTAs) less the file's 2 reserved SMs, 22 SMs; the
    /// forward's collectives run alone and slow nothing. `collective_sms: 0` keeps every SM.
    @Test func ncclCollectivesSlowTheBackwardGEMMs() throws {
        var c = try korthikanti22BLayers()
        c.sequenceParallel = true; c.tensorParallelOverlap = .backward; c.collectiveSMs = nil
        let calibration = try KernelCalibration.hopper()
        let sim = try StepSimulation(config: c, calibration: calibration)
        #expect(sim.tensorParallelNCCLSMs == 22 && sim.tensorParallelOverlapSMs == .ncclBackward(sms: 22))
        let held = try sim.plan().stageTimes[0]
        // By hand: each block's two backward collectives (`half` each) beside its GEMMs.
        let records = try sim.layerRecords(0, traffic: .local(expertRows: []))
        let w = TensorParallelOverlap.windows(records, kernels: sim.kernels)
        let slow = TensorParallelOverlap.windows(records, kernels: sim.kernels.leavingSMs(22))
        let half = sim.tensorParallelHalfCollective
        let lost = [(w.attention, slow.attention), (w.mlp, slow.mlp)].reduce(0.0) { sum, block in
            sum + [(block.0.weightGradient, block.1.weightGradient), (block.0.inputGradient, block.1.inputGradient)].reduce(0.0) {
                $0 + min(half, $1.1) * (1 - $1.0 / $1.1)
            }
        }
        #expect(lost > 0)
        #expect(held.tensorParallelContentionForward == 0)
        // Two layers, and the head's backward beside its own GEMM.
        #expect(held.tensorParallelContentionBackward > 2 * lost)
        c.collectiveSMs = 0
        let free = try StepSimulation(config: c, calibration: calibration).plan().stageTimes[0]
        #expect(free.tensorParallelContentionBackward == 0 && free.compute == held.compute)
        // On these layers the collectives hide under the slower GEMMs too: the loss is the
        // whole difference.
        #expect(abs((held.tensorParallelBackward - free.tensorParallelBackward) - held.tensorParallelContentionBackward) < 1e-12)
    }

    /// The experiment key: Transformer Engine's names, counts below the device's SMs; errors
    /// name the key and the fix. Only `tp_overlap: pipelined` runs the kernels.
    @Test func experimentKey() throws {
        let file = "nemo-llama3-70b-h100.yaml"
        let c = try shippedStep(file)
        #expect(c.userbufferSMs.qkvWgrad == 24 && c.userbufferSMs.fc1Wgrad == 4 && c.userbufferSMs.projFprop == 1)
        #expect(try shippedStep(file, adding: "parallel: {tp_overlap_sms: {qkv_dgrad: 3}}").userbufferSMs.qkvDgrad == 3)
        #expect(try shippedStep("nemo-llama31-405b-b200.yaml").userbufferSMs.qkvWgrad == 32)
        func refused(_ extra: String, _ file: String = file) -> String {
            do { _ = try shippedStep(file, adding: extra); return "accepted" } catch { return "\(error)" }
        }
        #expect(refused("parallel: {tp_overlap_sms: {qkv_wgrd: 3}}").contains("qkv_wgrad"))
        // The file leaves 1 of the H100's 132 SMs to NCCL: a kernel may hold at most 130.
        let tooMany = refused("parallel: {tp_overlap_sms: {fc2_fprop: 131}}")
        #expect(tooMany.contains("fc2_fprop") && tooMany.contains("131 SMs") && tooMany.contains("between 0 and 130"))
        #expect(try shippedStep(file, adding: "parallel: {tp_overlap_sms: {fc2_fprop: 130}}").userbufferSMs.fc2Fprop == 130)
        var wide = c
        wide.communicationSMs = 120
        #expect { try wide.validate() } throws: { ($0 as? ScheduleError)?.problem.contains("qkv_wgrad kernel, but the compute has 12") == true }
        // Under another overlap the counts are kept but hold nothing (a sweep over tp_overlap).
        var bulk = try shippedStep(file, adding: "parallel: {tp_overlap: backward}")
        let calibration = try KernelCalibration.hopper()
        let kept = try StepSimulation(config: bulk, calibration: calibration).plan().stageTimes[0]
        bulk.userbufferSMs = .none
        #expect(try StepSimulation(config: bulk, calibration: calibration).plan().stageTimes[0] == kept)
        #expect(refused("parallel: {tp_overlap_sms: {qkv_dgrad: -1}}") != "accepted")
    }
}
