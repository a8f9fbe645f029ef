import ConfigIO
import Foundation
import Schedules
import Testing
@testable import Training

/// Megatron-Core's own split (`get_num_layers_to_build`, megatron/core/transformer/transformer_block.py):
/// the embedding and loss counted as layers, or uneven first and last stages, written as the
/// layout Megatron builds.
@Suite struct MegatronPipelineSplitTests {
    /// Megatron-Bridge's recipes: Llama 3.1 405B on PP 16 × 8 ((126 + 2) / 128 = 1 a chunk:
    /// the embedding alone first, the loss alone last), on PP 8 × 4 (4 a chunk), Qwen3-235B on
    /// PP 8 × 3 ((94 + 2) / 24 = 4) and PP 4 × 12 (2); DeepSeek-V3 with its MTP module.
    @Test func theEmbeddingAndLossCountedAsLayers() throws {
        let both = MegatronPipelineSplit(accountForEmbedding: true, accountForLoss: true)
        #expect(try both.layout(layers: 126, pp: 16, vp: 8, mtpDepth: 0).text == "E|(t|)*126L")
        #expect(try both.layout(layers: 126, pp: 8, vp: 4, mtpDepth: 0).text == "Et*3|(t*4|)*30t*3L")
        #expect(try both.layout(layers: 94, pp: 8, vp: 3, mtpDepth: 0).text == "Et*3|(t*4|)*22t*3L")
        #expect(try both.layout(layers: 94, pp: 4, vp: 12, mtpDepth: 0).stageLayers == [1] + Array(repeating: 2, count: 46) + [1])
        #expect(try MegatronPipelineSplit(accountForLoss: true).layout(layers: 63, pp: 4, vp: 1, mtpDepth: 1).text == "Et*16|(t*16|)*2t*15mL")
        #expect(try MegatronPipelineSplit(accountForEmbedding: true).chunkLayers(layers: 7, pp: 2, vp: 2) == [1, 2, 2, 2])
    }

    /// Uneven first and last stages: the rest split evenly over the middle ranks, each rank's
    /// layers over its virtual stages.
    @Test func unevenFirstAndLastStages() throws {
        let split = MegatronPipelineSplit(firstStageLayers: 6, lastStageLayers: 2)
        #expect(try split.chunkLayers(layers: 32, pp: 4, vp: 1) == [6, 12, 12, 2])
        #expect(try split.chunkLayers(layers: 32, pp: 4, vp: 2) == [3, 6, 6, 1, 3, 6, 6, 1])
        #expect(try MegatronPipelineSplit(lastStageLayers: 5).chunkLayers(layers: 32, pp: 4, vp: 1) == [9, 9, 9, 5])
        #expect(try split.layout(layers: 32, pp: 4, vp: 1, mtpDepth: 0).text == "Et*6|(t*12|)*2t*2L")
    }

    /// Megatron's asserts, as errors that say what to change.
    @Test func megatronsChecks() {
        func problem(_ body: () throws -> Any) -> String {
            do { _ = try body(); return "" } catch { return "\(error)" }
        }
        #expect(problem { try MegatronPipelineSplit(accountForLoss: true, lastStageLayers: 4).chunkLayers(layers: 32, pp: 4, vp: 1) }
            .contains("only with even stages"))
        #expect(problem { try MegatronPipelineSplit(firstStageLayers: 3).chunkLayers(layers: 32, pp: 4, vp: 1) }
            .contains("29 layers left for 3 middle ranks do not divide evenly"))
        #expect(problem { try MegatronPipelineSplit(firstStageLayers: 6, lastStageLayers: 2).chunkLayers(layers: 32, pp: 4, vp: 4) }
            .contains("6 layers on a rank do not divide over its 4 virtual stages"))
        #expect(problem { try MegatronPipelineSplit(accountForEmbedding: true).chunkLayers(layers: 32, pp: 4, vp: 1) }
            .contains("33 layers (the embedding and loss counted as the settings ask) do not divide over PP 4"))
        #expect(problem { try MegatronPipelineSplit(firstStageLayers: 20, lastStageLayers: 20).chunkLayers(layers: 32, pp: 2, vp: 1) }
            .contains("hold 40 of the 32 layers"))
        #expect(problem { try MegatronPipelineSplit(firstStageLayers: 4).chunkLayers(layers: 4, pp: 1, vp: 1) }.contains("need a pipeline"))
    }

    /// In an experiment: the settings write the layout the step runs (the shipped 405B GB200 file
    /// runs the recipe's `E|(t|)*126L` from them); beside a `pipeline_layout` they are refused;
    /// a split Megatron refuses makes the plan infeasible, for sweeps to skip.
    @Test func inAnExperiment() throws {
        let c = try shippedStep("nemo-llama31-405b-gb200-mxfp8.yaml")
        #expect(c.pipelineLayout?.text == "E|(t|)*126L")
        #expect(try shippedStep("nemo-qwen3-235b-gb300.yaml").pipelineLayout?.text == "Et|(t*2|)*46tL")
        let both = #expect(throws: (any Error).self) {
            try shippedStep("nemo-llama31-405b-gb200-mxfp8.yaml", adding: "parallel: {pipeline_layout: \"E|(t|)*126L\"}")
        }
        #expect("\(both!)".contains("parallel.pipeline_layout places the layers by hand"))
        let bad = #expect(throws: ConfigError.self) {
            try shippedStep("nemo-llama3-70b-gb300-mxfp8.yaml", adding: "parallel: {pipeline_layout: null, account_for_embedding_in_pipeline_split: true}")
        }
        #expect(bad?.key == "parallel.account_for_embedding_in_pipeline_split" && bad?.infeasible == true && bad?.problem.contains("81 layers") == true)
    }
}
