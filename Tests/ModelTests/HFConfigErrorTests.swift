import ConfigIO
import Foundation
import Testing
@testable import Model

@Suite struct HFConfigErrorTests {
    func parse(_ json: String) throws -> ModelArchitecture {
        try HFConfig.parse(try ConfigValue.parse(json, file: "config.json"), name: "test")
    }

    let llama = """
    {
      "model_type": "llama",
      "hidden_size": 4096,
      "intermediate_size": 14336,
      "num_hidden_layers": 32,
      "num_attention_heads": 32,
      "num_key_value_heads": 8,
      "vocab_size": 128256,
      "max_position_embeddings": 131072
    }
    """

    @Test func validConfigParses() throws {
        #expect(try parse(llama).layers == 32)
        #expect(try parse(llama).attentionDropout == 0)
    }

    /// `attention_dropout` is read (Megatron's GPT trains with 0.1) and must be a probability.
    @Test func attentionDropoutIsAProbability() throws {
        let with = { (p: String) in self.llama.replacingOccurrences(of: "\"vocab_size\"", with: "\"attention_dropout\": \(p),\n  \"vocab_size\"") }
        #expect(try parse(with("0.1")).attentionDropout == 0.1)
        do {
            _ = try parse(with("1.5"))
            Issue.record("expected an error")
        } catch let e as ConfigError {
            #expect(e.key == "attention_dropout" && e.description.contains("probability"))
        }
    }

    @Test func misspeltKeyIsNamedWithLineAndSuggestion() {
        do {
            _ = try parse(llama.replacingOccurrences(of: "\"num_hidden_layers\"", with: "\"num_hidden_layer\""))
            Issue.record("expected an error")
        } catch let e as ConfigError {
            #expect(e.line == 5)
            #expect(e.key == "num_hidden_layer")
            #expect(e.description.contains("did you mean 'num_hidden_layers'"))
        } catch { Issue.record("wrong error \(error)") }
    }

    @Test func zeroNegativeAndWrongTypes() {
        for (from, to) in [("\"hidden_size\": 4096", "\"hidden_size\": 0"),
                           ("\"hidden_size\": 4096", "\"hidden_size\": -4096"),
                           ("\"hidden_size\": 4096", "\"hidden_size\": \"big\""),
                           ("\"num_key_value_heads\": 8", "\"num_key_value_heads\": 7"),
                           ("\"model_type\": \"llama\"", "\"model_type\": \"gpt5\""),
                           ("\"vocab_size\": 128256,", "")] {
            #expect(throws: ConfigError.self, "\(to)") { try parse(llama.replacingOccurrences(of: from, with: to)) }
        }
    }

    @Test func malformedJSONReportsALine() {
        do {
            _ = try parse("{\n  \"model_type\": \"llama\",\n  \"hidden_size\": [4096\n}")
            Issue.record("expected an error")
        } catch let e as ConfigError {
            #expect(e.problem.hasPrefix("malformed file"))
            #expect(e.line != nil)
        } catch { Issue.record("wrong error \(error)") }
    }

    @Test func impossibleMoEIsRejected() throws {
        let path = repoRoot.appendingPathComponent("Experiments/models/deepseek-v3.config.json").path
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(throws: ConfigError.self) { try parse(text.replacingOccurrences(of: "\"num_experts_per_tok\": 8", with: "\"num_experts_per_tok\": 300")) }
        #expect(throws: ConfigError.self) { try parse(text.replacingOccurrences(of: "\"n_group\": 8", with: "\"n_group\": 7")) }
        #expect(throws: ConfigError.self) { try parse(text.replacingOccurrences(of: "\"topk_group\": 4", with: "\"topk_group\": 9")) }
    }

    /// Qwen MoE configs: every layer MoE is read; MoE on every k-th layer, dense layers among
    /// them and a shared expert that is not a whole number of experts are refused at their keys.
    /// Qwen2-MoE's shared expert (Qwen1.5-MoE-A2.7B: 5,632 = 4 × 1,408) counts as 4 experts.
    @Test func qwenMoEConfigs() throws {
        let path = repoRoot.appendingPathComponent("Experiments/models/qwen3-30b-a3b.config.json").path
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let q3 = try parse(text)
        #expect(q3.moe?.routedExperts == 128 && q3.moe?.sharedExperts == 0 && q3.moe?.topK == 8)
        guard case .gqa(let g) = q3.attention else { Issue.record("not GQA"); return }
        #expect(g.qkNorm && !g.qkvBias && g.headDim == 128)
        func expectError(_ json: String, _ fragment: String) {
            do { _ = try parse(json); Issue.record("no error for \(fragment)") } catch let e as ConfigError {
                #expect(e.description.contains(fragment), "\(e)")
            } catch { Issue.record("wrong error \(error)") }
        }
        expectError(text.replacingOccurrences(of: "\"decoder_sparse_step\": 1", with: "\"decoder_sparse_step\": 2"), "key 'decoder_sparse_step'")
        expectError(text.replacingOccurrences(of: "\"mlp_only_layers\": []", with: "\"mlp_only_layers\": [3]"), "key 'mlp_only_layers'")
        let qwen2 = text.replacingOccurrences(of: "\"qwen3_moe\"", with: "\"qwen2_moe\"")
        let shared = try parse(qwen2.replacingOccurrences(of: "\"moe_intermediate_size\": 768", with: "\"moe_intermediate_size\": 768, \"shared_expert_intermediate_size\": 3072"))
        #expect(shared.moe?.sharedExperts == 4)
        guard case .gqa(let g2) = shared.attention else { return }
        #expect(g2.qkvBias && !g2.qkNorm)
        expectError(qwen2.replacingOccurrences(of: "\"moe_intermediate_size\": 768", with: "\"moe_intermediate_size\": 768, \"shared_expert_intermediate_size\": 1000"),
                    "key 'shared_expert_intermediate_size'")
    }

    @Test func unknownModelNameSuggests() {
        do {
            _ = try modelCatalog.resolve("deepseek-v4")
            Issue.record("expected an error")
        } catch let e as ConfigError {
            #expect(e.description.contains("unknown model 'deepseek-v4'"))
            #expect(e.description.contains("did you mean"))
        } catch { Issue.record("wrong error \(error)") }
        #expect(throws: ConfigError.self) { try modelCatalog.resolve("/no/such/config.json") }
    }
}
