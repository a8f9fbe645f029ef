import ConfigIO
import CostModel
import Foundation
import Schedules
import Testing
@testable import Training

/// `parallel.pipeline_layout`: Megatron-Core's `--pipeline-model-parallel-layout` notation
/// (`megatron/core/transformer/pipeline_parallel_layer_layout.py`, `parse_str_to_list` and
/// `PipelineParallelLayerLayout`), with the layouts Megatron-Bridge gives DeepSeek-V3
/// (`src/megatron/bridge/recipes/deepseek/deepseek_v3.py`, `_get_deepseek_v3_pipeline_layout`;
/// `scripts/performance/configs/deepseek/deepseek_llm_pretrain.py`).
@Suite struct PipelineLayoutTests {
    /// The notation unrolled as Megatron unrolls it: `(…)*n` and `x*n` repeat, commas are
    /// cosmetic, stages split at '|' and may be empty of transformer layers.
    @Test func parsesMegatronsNotation() throws {
        let h100 = try PipelineLayout(parsing: "Et|(tt|)*30mL")
        #expect(h100.stages.count == 32 && h100.stageLayers == [1] + Array(repeating: 2, count: 30) + [0])
        #expect(h100.stages[0] == [.embedding, .transformer] && h100.stages[31] == [.mtp, .loss])
        // Megatron-Bridge's (16, 1) entry, [E + 4t] + [4t] × 14 + [t + mtp + loss].
        let b200 = try PipelineLayout(parsing: "Et*4|(t*4|)*14tmL")
        #expect(b200.stageLayers == Array(repeating: 4, count: 15) + [1] && b200.stages[15] == [.transformer, .mtp, .loss])
        // The guide's example, commas included; nested groups unroll too.
        #expect(try PipelineLayout(parsing: "Et*3|(tt|)*29,m|L").stages.count == 32 && (try PipelineLayout(parsing: "E t*2 , (t|) *2 L")).stageLayers == [3, 1, 0])
        #expect(try PipelineLayout(parsing: "E((t|)*2)*2tL").stageLayers == [1, 1, 1, 1, 1])
        #expect(try PipelineLayout(parsing: "E|t|L").stageLayers == [0, 1, 0])
    }

    /// Malformed text names the character (at its place in the text as written) or the repetition
    /// at fault, and the notation.
    @Test func malformedTextIsNamed() {
        for (text, problem) in [("Etx|L", "unknown character 'x' at 3"), ("E(t|L", "unmatched '('"), ("Et)|L", "unmatched ')' at character 3"),
                                ("Et*|L", "'*' must be followed by a count"), ("Et, |x", "unknown character 'x' at 6"), ("E(t*1000)*1000L", "unrolls to more than 100000 pieces"),
                                ("E(tt)*9223372036854775807L", "unrolls to more than 100000 pieces"), ("E()*99999999999tL", "empty group '()' at character 3")] {
            let error = #expect(throws: ScheduleError.self) { try PipelineLayout(parsing: text) }
            #expect(error?.problem.contains(problem) == true && error?.fix.contains("E (embedding), t (transformer layer)") == true, "\(text): \(String(describing: error))")
        }
    }

    /// The layout against the plan and the model: the stage count, the transformer layers, one
    /// embedding first, one loss last, the model's MTP modules just before the loss.
    @Test func checkedAgainstThePlanAndTheModel() throws {
        func problem(_ text: String, stages: Int = 32, layers: Int = 61, mtp: Int = 1) -> String? {
            do { try PipelineLayout(parsing: text).check(stageCount: stages, stagesDescription: "PP 8 × 4 virtual stages", layers: layers, mtpDepth: mtp); return nil }
            catch let e as ScheduleError { return e.problem } catch { return "\(error)" }
        }
        #expect(problem("Et|(tt|)*30mL") == nil)
        #expect(problem("Et|(tt|)*30mL", stages: 16)?.contains("32 stages, but PP 8 × 4 virtual stages runs 16") == true)
        #expect(problem("Et|(tt|)*30mL", layers: 62)?.contains("61 transformer layers ('t'), but the model has 62") == true)
        #expect(problem("tE|(tt|)*30mL")?.contains("the embedding ('E') must appear once, first on the first stage") == true)
        #expect(problem("Et|(tt|)*30Lm")?.contains("the loss ('L') must appear once, last on the last stage") == true)
        #expect(problem("Et|(tt|)*30mL", mtp: 0)?.contains("the model has no multi-token-prediction modules") == true)
        #expect(problem("Et|(tt|)*30L", mtp: 1)?.contains("0 MTP modules ('m'), but the model has 1") == true)
        // The guide's PP 16 × 2 example puts MTP on a chunk of its own; llmsim runs it with the head.
        #expect(problem("Et*3|(tt|)*29,m|L")?.contains("llmsim runs the MTP modules on the last stage") == true)
        #expect(problem("Et|(tt|)*29t|mtL")?.contains("llmsim runs the MTP modules on the last stage") == true)
    }

    /// Megatron lists stages as `layout[vpp_rank × PP + pp_rank]`: stage k on rank k mod PP as
    /// its chunk k / PP, which is how llmsim's interleaved generator numbers them.
    @Test func stagesRunOnMegatronsRanks() throws {
        let c = try shippedStep("nemo-deepseek-v3-gb200-mxfp8.yaml")
        let ranks = try c.generateSchedule(microbatches: 8).rankStages
        #expect(ranks.count == 8 && ranks[0] == [0, 8, 16, 24] && ranks[7] == [7, 15, 23, 31])
    }

    /// The step runs the layout as written, not rebalanced. V3 with its MTP module on 256 GB200
    /// (PP 8 × 4, FP8-MX) with Megatron-Bridge's `Et|(tt|)*30mL` against llmsim's own split
    /// (1, 2 × 29, 1, 1), which leaves the MTP module and the head beside a layer on rank 7:
    /// 16.361 s against 18.153 s; the shipped file, the published run without MTP
    /// (`Et|(tt|)*30L`), 14.317 s (with the FP8 GEMMs priced from Blackwell's own FP8 rows;
    /// 16.804, 18.651 and 14.798 s at DeepGEMM's H800 fractions, with the BF16 head and MTP priced from Blackwell's own
    /// table and its batched rows past the 4,096 edge; 17.229, 19.078 and 14.806 s at the
    /// edge's rate, 16.453, 18.300 and 14.791 s on the H100's fractions, and 17.163, 19.108 and
    /// 15.589 s while MXFP8 cast each way apart at the trace's cast bandwidth).
    @Test func theStepRunsTheLayout() throws {
        let calibration = try KernelCalibration.hopper()
        func step(_ c: StepConfiguration) throws -> (plan: StepSimulation.StagePlan, seconds: Double) {
            let sim = try StepSimulation(config: c, calibration: calibration), plan = try sim.plan()
            return (plan, try sim.run(microbatches: c.microbatches, plan: plan).stepTimeS)
        }
        let laid = try shippedStep("nemo-deepseek-v3-gb200-mxfp8.yaml", adding: "model_overrides: {num_nextn_predict_layers: 1}\nparallel: {pipeline_layout: \"Et|(tt|)*30mL\"}")
        #expect(laid.pipelineLayout?.text == "Et|(tt|)*30mL" && laid.model.mtpDepth == 1)
        let withLayout = try step(laid)
        #expect(withLayout.plan.stageLayers == [1] + Array(repeating: 2, count: 30) + [0] && withLayout.plan.layersDescription == "1 2×30 0 (pipeline_layout)")
        var own = laid
        own.pipelineLayout = nil
        let without = try step(own)
        #expect(without.plan.stageLayers == [1] + Array(repeating: 2, count: 29) + [1, 1] && !without.plan.placedByLayout)
        #expect(abs(withLayout.seconds - 16.361) < 0.01 && abs(without.seconds - 18.153) < 0.01, "\(withLayout.seconds) \(without.seconds)")
        let shipped = try shippedStep("nemo-deepseek-v3-gb200-mxfp8.yaml")
        #expect(shipped.model.mtpDepth == 0 && shipped.pipelineLayout?.text == "Et|(tt|)*30L")
        let shippedSeconds = try step(shipped).seconds
        #expect(abs(shippedSeconds - 14.317) < 0.01, "\(shippedSeconds)")
    }

    /// Where Megatron-Bridge's table of DeepSeek-V3 layouts has an entry, llmsim's own balance
    /// finds it for the model with MTP on 8 chunks (`[E + 8t] + [8t] × 6 + [5t + mtp + loss]`,
    /// the GB300 plan PP 2 × 4). On the B200 plan (PP 16, Megatron's `[E + 4t] + [4t] × 14 +
    /// [t + mtp + loss]`) the BF16 head and MTP weigh more than Megatron's split allows for:
    /// the heavier last rank takes 1 layer beside them, the one before it 3, the first 5
    /// (`[E + 5t] + [4t] × 13 + [3t] + [t + mtp + loss]`). So it did while the head priced at
    /// Blackwell's BF16 table's 4,096 edge; its batched rows (the head's 129,280 columns at
    /// 1,670.5 TFLOPS, not 1,416.9) gave Megatron's split back, and since the FP8 layers price
    /// from Blackwell's own FP8 rows (faster at these shapes than DeepGEMM's H800 fractions) the
    /// BF16 tail outweighs them again.
    @Test func theBalanceFindsMegatronsOwnLayouts() throws {
        let calibration = try KernelCalibration.hopper()
        for (file, layout) in [("nemo-deepseek-v3-b200-mxfp8.yaml", "Et*5|(t*4|)*13t*3|tmL"), ("nemo-deepseek-v3-gb300.yaml", "Et*8|(t*8|)*6t*5mL")] {
            var c = try shippedStep(file, adding: "model_overrides: {num_nextn_predict_layers: 1}")
            c.pipelineLayout = nil
            let plan = try StepSimulation(config: c, calibration: calibration).plan()
            #expect(plan.stageLayers == (try PipelineLayout(parsing: layout)).stageLayers, "\(file) \(plan.stageLayers) \(plan.layersDescription)")
        }
    }

    /// In an experiment file the errors name the key, and a layout for another pipeline is
    /// infeasible (a sweep over pp skips it) while malformed text is an error.
    @Test func experimentFileErrors() throws {
        let wrongStages = #expect(throws: ConfigError.self) { try shippedStep("nemo-deepseek-v3-gb200-mxfp8.yaml", adding: "virtual_stages: 2") }
        #expect(wrongStages?.key == "parallel.pipeline_layout" && wrongStages?.infeasible == true && wrongStages?.problem.contains("32 stages, but PP 8 × 2 virtual stages runs 16") == true)
        let malformed = #expect(throws: ConfigError.self) { try shippedStep("nemo-deepseek-v3-gb200-mxfp8.yaml", adding: "parallel: {pipeline_layout: \"Et|(tt|)*30mX\"}") }
        #expect(malformed?.key == "parallel.pipeline_layout" && malformed?.infeasible == false && malformed?.problem.contains("unknown character 'X'") == true)
        let notAString = #expect(throws: ConfigError.self) { try shippedStep("nemo-deepseek-v3-gb200-mxfp8.yaml", adding: "parallel: {pipeline_layout: [1, 2]}") }
        #expect(notAString?.key == "parallel.pipeline_layout")
    }
}
