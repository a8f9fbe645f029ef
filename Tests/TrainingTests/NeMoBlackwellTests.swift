import CostModel
import Foundation
import Hardware
import Testing
@testable import Training

/// Megatron-Bridge's published Blackwell runs (NVIDIA-NeMo/Megatron-Bridge
/// docs/performance-summary.md at commit 00b7660, "25.11 NeMo Container", DGX-B200, DGX-GB200 and
/// DGX-GB300 tables, FP8-CS), as the shipped experiments plan them: llmsim's what-if from the H800 it is
/// calibrated on to another GPU, checked against a measurement.
@Suite struct NeMoBlackwellTests {
    /// The published step times: 128 × 8,192 tokens at 30,624, 31,508 and 37,556 tokens/s per
    /// GPU on 8 GPUs; 64 × 8,192 at 661 on 128; 256 × 8,192 at 4,312 and 4,520 on 64.
    @Test("Megatron-Bridge 25.11 Blackwell rows: 4.280, 4.160, 6.197, 3.490, 7.599, 7.250, 20.878, 17.031, 26.662 and 21.379 s per step")
    func publishedStepTimes() {
        #expect(abs(PublishedNeMoRun.llama3_8B_B200.stepSeconds - 4.2797) < 1e-3)
        #expect(abs(PublishedNeMoRun.llama3_8B_GB200.stepSeconds - 4.1599) < 1e-3)
        #expect(abs(PublishedNeMoRun.llama31_405B_B200.stepSeconds - 6.1967) < 1e-3)
        #expect(abs(PublishedNeMoRun.llama3_8B_GB300.stepSeconds - 3.4901) < 1e-3)
        #expect(abs(PublishedNeMoRun.llama3_70B_GB200.stepSeconds - 7.5993) < 1e-3)
        #expect(abs(PublishedNeMoRun.llama3_70B_GB300.stepSeconds - 7.2496) < 1e-3)
        #expect(abs(PublishedNeMoRun.deepSeekV3_GB200.stepSeconds - 20.878) < 1e-3)
        #expect(abs(PublishedNeMoRun.deepSeekV3_GB300.stepSeconds - 17.031) < 1e-3 && PublishedNeMoRun.deepSeekV3_GB300.plan == "PP2 VP4 EP32")
        #expect(abs(PublishedNeMoRun.qwen3_235B_GB200.stepSeconds - 26.662) < 1e-3 && PublishedNeMoRun.qwen3_235B_GB200.plan == "PP8 VP3 EP32")
        #expect(abs(PublishedNeMoRun.qwen3_235B_GB300.stepSeconds - 21.379) < 1e-3 && PublishedNeMoRun.qwen3_235B_GB300.plan == "PP4 VP12 EP16")
        #expect(PublishedNeMoRun.qwen3_235B_GB300.microbatchSequences == 2 && PublishedNeMoRun.qwen3_235B_GB300.dispatcher == .hybridep)
        #expect(PublishedNeMoRun.llama3_70B_GB300.offloadedLayers == 20 && PublishedNeMoRun.llama3_70B_GB300.plan == "FSDP, 20 layers offloaded")
        #expect(PublishedNeMoRun.blackwell.allSatisfy { run in PublishedNeMoRun.all.contains { $0.experiment == run.experiment } && run.gpu != "H100" })
        #expect(PublishedNeMoRun.llama3_8B_B200.plan == "DDP" && PublishedNeMoRun.llama31_405B_B200.plan == "TP4 PP8 CP2 VP8")
    }

    /// Measured 2026-11-25 with attention carried by its tile roofline (`attention_ceiling:
    /// units`, the default: the backward at head dimension 128 is bound by shared memory on
    /// Blackwell, FlashAttention-4's 2,560 tensor against 3,328 clocks) and GEMMs at their
    /// fractions of peak: B200 Llama 3 8B 4.262 s (−0.4 %), GB200 3.901 s (−6.2 %), both within
    /// 10 %; B200 Llama 3.1 405B 5.506 s (−11.1 %), then 5.536 s (−10.7 %) with its recipe's
    /// userbuffers SMs, and 5.589 s (−9.8 %) with Transformer Engine's context-parallel merge
    /// kernels (`CostExecutor+ContextParallel`). With attention at its share of the BF16 peak
    /// (`attention_ceiling: peak`, llmsim before 2026-11-25) they were 4.065 s (−5.0 %), 3.724 s
    /// (−10.5 %) and 5.406 s (−12.8 %). GB300 Llama 3 8B (measured 2026-11-25, the day its
    /// catalog entry was added): 3.907 s (+11.9 %), a miss: llmsim's GB300 runs this step as its
    /// GB200 does (the same BF16 and FP8 peaks and HBM bandwidth; the doubled exponential units
    /// do not move a roofline the forward's MMAs bind as much), where NVIDIA measured 1.19 times
    /// the GB200's throughput. Llama 3 70B with FSDP and activations offloaded to the Grace CPUs
    /// (measured 2026-11-25, the day offloading was modelled): GB200 6.718 s (−11.6 %), a miss,
    /// GB300 6.715 s (−7.4 %): the copies hide under the compute (`ActivationOffloadTests`), and
    /// NVIDIA's GB300/GB200 ratio here is 1.05 where the 8B's is 1.19. DeepSeek-V3 in BF16 on
    /// 256 GB200 with Hybrid-EP (measured 2026-11-25, the day multi-node NVLink was modelled):
    /// 16.319 s (−21.8 %), a miss of the size of NeMo AutoModel's V3 rows on H100; on 256 GB300
    /// (PP 2 × 4, EP 32) 15.80 s (−7.2 %): NVIDIA's GB300 runs V3 1.23 times as fast as its
    /// GB200, llmsim's 1.03 times. Both ran with the MTP module; the same day, without it as
    /// published (the summary's revision at df0289c labels the rows "w/o MTP") and on GB200 with
    /// the recipe's layout `Et*4|(t*4|)*14tL`: 16.285 s (−22.0 %) and 15.268 s (−10.4 %, a miss). Qwen3-235B-A22B in BF16 with Hybrid-EP (measured 2026-11-25,
    /// the day the rows were added): GB200 PP 8 × 3, EP 32 22.253 s (−16.5 %), a miss in the same
    /// direction; GB300 PP 4 × 12, EP 16, MBS 2 20.786 s (−2.8 %). NVIDIA's GB300/GB200 ratio on
    /// this model 1.25, llmsim's 1.07. Since 2026-11-25 with the recipe's layers per chunk
    /// (the embedding and the loss counted as layers: `pipeline_layout`): 22.419 s (−15.9 %) and
    /// 20.851 s (−2.5 %). Since 2026-11-27 the BF16 GEMMs of Blackwell GPUs price from OpenXLA's
    /// sm_100 table (0.63 of the peak at 4,096^3, where the H100's rows reach 0.79): 8B B200
    /// 4.333 s (+1.2 %), GB200 3.966 s (−4.7 %), 405B B200 5.589 s (−9.8 %), GB300 8B 3.961 s
    /// (+13.5 %), 70B offloaded GB200 6.745 s (−11.2 %) and GB300 6.743 s (−7.0 %); the BF16 MoE
    /// rows move most: V3 GB200 18.508 s (−11.4 %), GB300 17.455 s (+2.5 %), Qwen3-235B GB200
    /// 25.038 s (−6.1 %), GB300 23.286 s (+8.9 %). With the table's batched rows past its 4,096
    /// edge (M or N of 8,192 and 16,384 at OpenXLA's batch-2 and batch-4 rates, not the edge's):
    /// 8B B200 4.288 s (+0.2 %), GB200 3.925 s (−5.6 %), 405B B200 5.587 s (−9.8 %), GB300 8B
    /// 3.921 s (+12.4 %), 70B offloaded GB200 6.725 s (−11.5 %), GB300 6.722 s (−7.3 %); V3 GB200
    /// 17.846 s (−14.5 %), GB300 16.894 s (−0.8 %), Qwen3-235B GB200 24.458 s (−8.3 %), GB300
    /// 22.762 s (+6.5 %). Since the FP8 GEMMs of Blackwell GPUs price from the same OpenXLA
    /// file's sm_100 FP8 rows (2026-11-28; they ran at DeepGEMM's H800 fractions of the FP8 peak
    /// before), every FP8 row runs faster: 8B B200 4.025 s (−6.0 %), GB200 3.689 s (−11.3 %),
    /// 405B B200 5.031 s (−18.8 %), GB300 8B 3.684 s (+5.6 %), 70B offloaded GB200 6.232 s
    /// (−18.0 %), GB300 6.230 s (−14.1 %); the BF16 MoE rows are unchanged.
    @Test("Blackwell what-ifs: B200 8B 6% fast, GB200 11% fast; B200 405B 19% fast; GB300 8B 6% slow; 70B GB200 18% fast, GB300 14% fast; V3 GB200 15% fast, GB300 1% fast; Qwen3-235B GB200 8% fast, GB300 7% slow")
    func blackwellSteps() throws {
        let ratios = try publishedNeMoRatios(PublishedNeMoRun.blackwell)
        #expect(abs(ratios[0] - 0.940) < 0.01, "\(ratios)")
        #expect(abs(ratios[1] - 0.887) < 0.01, "\(ratios)")
        #expect(abs(ratios[2] - 0.812) < 0.01, "\(ratios)")
        #expect(abs(ratios[3] - 1.056) < 0.01, "\(ratios)")
        #expect(abs(ratios[4] - 0.820) < 0.01, "\(ratios)")
        #expect(abs(ratios[5] - 0.859) < 0.01, "\(ratios)")
        #expect(abs(ratios[6] - 0.855) < 0.01, "\(ratios)")
        #expect(abs(ratios[7] - 0.992) < 0.01, "\(ratios)")
        #expect(abs(ratios[8] - 0.917) < 0.01, "\(ratios)")
        #expect(abs(ratios[9] - 1.065) < 0.01, "\(ratios)")
        // The tile roofline is what moved the 8B B200 step from 0.950 of the published time
        // (0.966 with Blackwell's own BF16 rows, 0.956 with their batched rows past the edge,
        // 0.895 with Blackwell's own FP8 rows).
        var peak = try shippedStep(PublishedNeMoRun.llama3_8B_B200.experiment)
        peak.attentionCeiling = .peak
        let atPeak = try StepSimulation(config: peak, calibration: try KernelCalibration.hopper()).run()
        #expect(abs(atPeak.stepTimeS / PublishedNeMoRun.llama3_8B_B200.stepSeconds - 0.895) < 0.01, "\(atPeak.stepTimeS / PublishedNeMoRun.llama3_8B_B200.stepSeconds)")
    }

    /// The plans are checked against the GPU too: the B200 file on H100 nodes is not the
    /// published run.
    @Test func planNamesItsGPU() throws {
        var c = try shippedStep(PublishedNeMoRun.llama3_8B_B200.experiment)
        #expect(PublishedNeMoRun.llama3_8B_B200.matches(c))
        c.topology.node = try HardwareCatalog.builtIn().node("HGX-H100-8GPU")
        #expect(!PublishedNeMoRun.llama3_8B_B200.matches(c))
    }
}
