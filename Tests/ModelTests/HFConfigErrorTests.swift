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
