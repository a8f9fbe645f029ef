import ConfigIO
import CostModel
import Foundation
import Testing
@testable import Model
@testable import Training

/// Megatron-LM's selective recomputation by module (`recompute_modules`).
@Suite struct RecomputeModulesTests {
    static func step(_ extra: String, file: String = "automodel-qwen3-30b-a3b-h100.yaml") throws -> (time: Double, activations: Double) {
        let sim = try StepSimulation(config: try shippedStep(file, adding: extra), calibration: try KernelCalibration.hopper())
        let plan = try sim.plan()
        let activations = plan.memory.breakdown.first { $0.kind.hasPrefix("activations") }!.bytes
        return (try sim.run(microbatches: sim.config.microbatches, plan: plan).stepTimeS, activations)
    }

    /// `core_attn` is Megatron's selective recomputation of 2022: the same records and the same
    /// memory as `recompute: selective`.
    @Test func coreAttentionIsSelective() throws {
        let modules = try Self.step("recompute: none\nrecompute_modules: [core_attn]"), selective = try Self.step("recompute: selective")
        #expect(modules.time == selective.time && modules.activations == selective.activations)
    }

    /// Each module keeps less: the norms' outputs, then the experts' SwiGLU outputs; rerunning
    /// the norms costs a little time, never less than none.
    @Test func modulesDropWhatTheyRerun() throws {
        let none = try Self.step("recompute: none"), norms = try Self.step("recompute: none\nrecompute_modules: [layernorm]")
        let both = try Self.step("recompute: none\nrecompute_modules: [layernorm, moe_act]")
        #expect(none.activations > norms.activations && norms.activations > both.activations)
        #expect(norms.time >= none.time && norms.time < 1.02 * none.time)
    }

    /// On MLA, `mla_up_proj` drops the normalised latents and Q, K, V and reruns the
    /// projections; with `layernorm` and `moe_act` too it keeps about what DeepSeek's recipe
    /// keeps in BF16 (which also drops the shared experts' and dense layers' SwiGLU outputs).
    @Test func mlaUpProjections() throws {
        let file = "automodel-deepseek-v3-h100.yaml"
        let none = try Self.step("recompute: none", file: file), up = try Self.step("recompute: none\nrecompute_modules: [mla_up_proj]", file: file)
        let all = try Self.step("recompute: none\nrecompute_modules: [layernorm, mla_up_proj, moe_act]", file: file)
        let deepseek = try Self.step("recompute: deepseek", file: file)
        #expect(none.activations > up.activations && up.activations > all.activations)
        #expect(up.time > none.time)
        #expect(all.activations >= deepseek.activations && all.activations < 1.15 * deepseek.activations)
    }

    /// `moe` reruns the whole MoE block, all-to-alls included: nothing inside it is kept, so
    /// the activations drop below `moe_act`'s, and the backward pays the block's forward again
    /// (its dispatch and combine among it).
    @Test func moeBlockRerun() throws {
        let act = try Self.step("recompute: none\nrecompute_modules: [layernorm, moe_act]")
        let block = try Self.step("recompute: none\nrecompute_modules: [layernorm, moe]")
        #expect(block.activations < 0.8 * act.activations)
        #expect(block.time > 1.05 * act.time)
        let sim = try StepSimulation(config: try shippedStep("automodel-qwen3-30b-a3b-h100.yaml", adding: "recompute: none\nrecompute_modules: [moe]"),
                                     calibration: try KernelCalibration.hopper())
        let records = try sim.layerRecords(0, traffic: try sim.allToAll().traffic)
        #expect(records.filter { $0.kind == .dispatch && $0.recompute }.count == 1)
        #expect(records.filter { $0.kind == .combine && $0.recompute }.count == 1)
    }

    /// `shared_experts` on DeepSeek-V3 (one shared expert per MoE layer): its SwiGLU input and
    /// output no longer kept, its up-projection rerun (one more recomputed GEMM per MoE layer).
    @Test func sharedExperts() throws {
        let file = "automodel-deepseek-v3-h100.yaml"
        let none = try Self.step("recompute: none", file: file), shared = try Self.step("recompute: none\nrecompute_modules: [shared_experts]", file: file)
        #expect(shared.activations < none.activations && shared.time > none.time)
        let sim = try StepSimulation(config: try shippedStep(file, adding: "recompute: none\nrecompute_modules: [shared_experts]"), calibration: try KernelCalibration.hopper())
        let records = try sim.layerRecords(3, traffic: try sim.allToAll().traffic)
        #expect(records.filter { $0.kind == .gemm && $0.recompute && $0.name.contains("shared.up") }.count == 1)
    }

    /// Unknown modules and a second recomputation are errors naming the fix.
    @Test func badModules() throws {
        for (extra, fragment) in [("recompute_modules: [mlp_act]", "layernorm, mla_up_proj, moe_act, core_attn, mlp, moe, shared_experts"),
                                  ("recompute: full\nrecompute_modules: [layernorm]", "recompute: none")] {
            do { _ = try shippedStep("automodel-qwen3-30b-a3b-h100.yaml", adding: extra); Issue.record("accepted \(extra)") }
            catch let e as ConfigError { #expect(e.description.contains(fragment), "\(e)") }
        }
    }
}

/// The Megatron MoE Model Zoo's Qwen3-235B-A22B runs on 256 H100 (yanring/Megatron-MoE-ModelZoo,
/// best_practice/Qwen3/readme.md): 19.7 s, and 17.6 s with the 1F1B all-to-all overlap, as the
/// shipped experiments plan them (TP 2 folded into EP 32, PP 8 × 4, `recompute_modules:
/// [layernorm, moe_act]`). Measured 2026-11-24: 17.03 s (−13.5%) and 12.28 s (−30%): misses,
/// llmsim faster, as on every Megatron-LM MoE run on H100 compared so far (issue-4 note); the
/// overlap's gain is right in sign, 28% against the published 11%.
@Suite struct ModelZooQwen3Tests {
    @Test func plansAreThePublishedOnesAndPairsHelp() throws {
        var steps: [Double] = []
        for run in PublishedModelZooRun.all {
            let c = try shippedStep(run.experiment)
            #expect(run.matches(c))
            #expect(c.expertReplicas == 1 && c.moeTokens == 2048)
            let sim = try StepSimulation(config: c, calibration: try KernelCalibration.hopper())
            let plan = try sim.plan()
            #expect(plan.memory.fits)
            steps.append(try sim.run(microbatches: c.microbatches, plan: plan).stepTimeS)
        }
        #expect(steps[1] < 0.9 * steps[0])
    }
}
