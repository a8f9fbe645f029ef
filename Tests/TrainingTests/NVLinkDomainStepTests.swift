import CostModel
import Foundation
import Hardware
import Kernels
import Testing
@testable import Training

/// MoE steps on multi-node NVLink (GB200 NVL72): the all-to-all of a dispatcher that spans the
/// job's NVLink domain (Hybrid-EP, NCCL) stays on NVLink; DeepEP's leaves each tray over the
/// NICs. NVIDIA's DeepSeek-V3 BF16 row on 256 GB200 (Megatron-Bridge 25.11) is the published
/// check.
@Suite struct NVLinkDomainStepTests {
    static let file = PublishedNeMoRun.deepSeekV3_GB200.experiment

    /// 4,096 × 4,096 tokens at 3,139 tokens/s per GPU on 256 GPUs: 20.878 s per step.
    @Test("Megatron-Bridge 25.11 DeepSeek-V3 BF16 on 256 GB200: 20.878 s per step, PP4 VP4 EP64")
    func publishedRow() throws {
        let run = PublishedNeMoRun.deepSeekV3_GB200
        #expect(abs(run.stepSeconds - 20.878) < 1e-3)
        #expect(run.plan == "PP4 VP4 EP64" && run.precisionLabel == "BF16")
        var c = try shippedStep(Self.file)
        #expect(run.matches(c))
        #expect(c.topology.scaleUpDomainGPUs == 64 && c.allToAllNodeGPUs == 64)
        c.moeDispatcher = .alltoall
        #expect(!run.matches(c))
    }

    /// Each stage's EP group of 64 is one NVLink domain: Hybrid-EP's all-to-all sends nothing
    /// over the NICs and takes 0.70 ms per dispatch; DeepEP, whose node is a tray of 4, sends
    /// over the NICs and takes 3.5 ms.
    @Test func allToAllStaysOnNVLink() throws {
        let c = try shippedStep(Self.file)
        let sim = try StepSimulation(config: c, calibration: try KernelCalibration.hopper())
        let hybrid = try sim.allToAll()
        #expect(hybrid.traffic.dispatch.scaleOutBytes == 0 && hybrid.traffic.dispatch.scaleUpBytes > 0)
        #expect(abs(hybrid.dispatch * 1e3 - 0.70) < 0.02, "\(hybrid.dispatch)")
        var deep = c
        deep.moeDispatcher = .deepep
        #expect(deep.allToAllNodeGPUs == 4)
        let viaNICs = try StepSimulation(config: deep, calibration: try KernelCalibration.hopper()).allToAll()
        #expect(viaNICs.traffic.dispatch.scaleOutBytes > 0)
        #expect(viaNICs.dispatch / hybrid.dispatch > 4, "\(viaNICs.dispatch / hybrid.dispatch)")
    }

    /// EP groups must tile the job's NVLink domains: 20 trays make domains of 40 GPUs (Slurm
    /// segment 10), which EP 16 does not divide; DeepEP, whose all-to-all leaves each tray over
    /// the NICs, takes it.
    @Test func epGroupsMustTileTheDomains() throws {
        let extra = """
        topology: {name: gb200-80, description: 20 GB200 trays, kind: fat-tree, node: GB200-NVL72-TRAY, nodes: 20, switch_ports: 64}
        parallel: {pp: 1, ep: 16}
        microbatches: 1
        """
        do {
            _ = try shippedStep("nemo-qwen3-30b-a3b-h100.yaml", adding: extra + "\nmoe_dispatcher: hybridep")
            Issue.record("EP 16 on 40-GPU domains accepted under hybridep")
        } catch {
            #expect("\(error)".contains("40-GPU NVLink domains"), "\(error)")
        }
        let deep = try shippedStep("nemo-qwen3-30b-a3b-h100.yaml", adding: extra + "\nmoe_dispatcher: deepep")
        #expect(deep.allToAllNodeGPUs == 4)
    }
}
