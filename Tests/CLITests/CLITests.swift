import Foundation
import Testing
@testable import LLMSimCLI
import Training

/// End-to-end: the commands as a user types them, parsed by ArgumentParser and run in-process;
/// JSON keys are the stable interface scripts depend on.
@Suite struct CLITests {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func json(_ text: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(text.utf8)) as! [String: Any]
    }

    /// A 64-stage partition prints as one short token, not 64 numbers.
    @Test func stagePartitionIsRunLengthEncoded() {
        #expect(StagePartition.runLengths([4, 4, 4, 1]) == "4×3 1")
        #expect(StagePartition.runLengths(Array(repeating: 2, count: 64)) == "2×64")
        #expect(StagePartition.runLengths([1, 2, 2, 3]) == "1 2×2 3")
        #expect(StagePartition.runLengths([]) == "")
    }

    @Test func modelDeepSeekV3Json() throws {
        setenv("LLMSIM_HOME", Self.repo.path, 1)
        let command = try LLMSim.parseAsRoot(["model", "deepseek-v3", "--json"]) as! ModelCommand
        let out = try json(try command.output())
        for key in ["total_params", "mtp_params", "activated_params", "training_flops_per_token", "kv_cache_bytes_per_token"] {
            #expect(out[key] != nil, "missing \(key)")
        }
        #expect(out["kv_cache_bytes_per_token"] as? Int == 70_272)
        let flops = out["training_flops_per_token"] as! [String: Any]
        #expect(abs((flops["causal"] as! Double) / 250e9 - 1) < 0.03)
        #expect(flops["noncausal"] != nil)
    }

    @Test func modelSeqLenChangesAttentionOnly() throws {
        setenv("LLMSIM_HOME", Self.repo.path, 1)
        let a = try json(try (LLMSim.parseAsRoot(["model", "deepseek-v3", "--json", "--seq-len", "8192"]) as! ModelCommand).output())
        let b = try json(try (LLMSim.parseAsRoot(["model", "deepseek-v3", "--json"]) as! ModelCommand).output())
        let fa = a["training_flops_per_token"] as! [String: Any], fb = b["training_flops_per_token"] as! [String: Any]
        #expect(fa["linear"] as! Double == fb["linear"] as! Double)
        #expect(abs((fa["attention_causal"] as! Double) - 2 * (fb["attention_causal"] as! Double)) < 1)
        #expect(throws: (any Error).self) { try LLMSim.parseAsRoot(["model", "deepseek-v3", "--seq-len", "0"]) }
    }

    @Test func topologyJsonHasPublishedCounts() throws {
        let path = Self.repo.appendingPathComponent("Topologies/deepseek-v3-mpft.yaml").path
        let out = try json(try (LLMSim.parseAsRoot(["topology", path, "--json"]) as! TopologyCommand).output())
        #expect(out["gpus"] as? Int == 2048)
        #expect(out["nodes"] as? Int == 256)
        #expect(out["planes"] as? Int == 8)
        #expect(out["switches"] as? Int == 96)
        #expect(out["links"] as? Int == 2048)
    }

    /// Megatron 2021's data parallelism in the memory table: half-precision gradients, FP32
    /// master and moments on every replica (16 B per parameter with the weights); terms that do
    /// not apply to a dense plan (DeepEP buffers, chunked prefix keys) are left out.
    @Test func memoryTableOfADensePlan() throws {
        setenv("LLMSIM_HOME", Self.repo.path, 1)
        let path = Self.repo.appendingPathComponent("Experiments/megatron-1t-a100.yaml").path
        let text = try (LLMSim.parseAsRoot(["memory", path]) as! MemoryCommand).output()
        #expect(text.contains("gradients (FP16)"))
        #expect(text.contains("optimizer: FP32 master + FP32 moments, not sharded"))
        #expect(!text.contains("DeepEP") && !text.contains("prefix keys"))
        #expect(text.contains("fits, with"))
    }

    /// `memory --items` lists what one micro-batch keeps: V3's 3 dense and 58 MoE layers apart,
    /// and its head, loss and MTP module (2 × 4,096 × 129,280 logits at 2 B, fused); the JSON
    /// carries the same inventories beside the memory, whose layer items times the in-flight
    /// counts are the activations term.
    @Test func memoryItems() throws {
        setenv("LLMSIM_HOME", Self.repo.path, 1)
        let path = Self.repo.appendingPathComponent("Experiments/deepseek-v3.yaml").path
        let text = try (LLMSim.parseAsRoot(["memory", path, "--items"]) as! MemoryCommand).output()
        #expect(text.contains("layers 0–2 (3), each") && text.contains("layers 3–60 (58), each"))
        #expect(text.contains("head, loss and MTP, on the last stage") && text.contains("MTP 1: logits kept by the loss (cross_entropy: fused)  1.059 GB"))
        let json = try (LLMSim.parseAsRoot(["memory", path, "--items", "--json"]) as! MemoryCommand).output()
        let out = try JSONSerialization.jsonObject(with: Data(json.utf8)) as! [String: Any]
        let inventories = try #require(out["layer_inventories"] as? [[String: Any]])
        #expect(inventories.map { ($0["layers"] as! [Int]).count } == [3, 58])
        let head = try #require(out["head"] as? [[String: Any]])
        let logits = head.filter { ($0["name"] as! String).contains("logits") }.map { $0["bytes"] as! Double }
        let perHead: Double = 4096 * 129_280 * 2
        #expect(logits == [perHead, perHead])
        let transient = out["loss_transient_bytes"] as? Double
        #expect(transient == 0)
        #expect(out["memory"] is [String: Any])
        #expect(MemoryCommand.ranges([0, 1, 2, 5, 7, 8]) == "0–2, 5, 7–8")
    }

    @Test func humanOutputHasUnits() throws {
        setenv("LLMSIM_HOME", Self.repo.path, 1)
        let text = try (LLMSim.parseAsRoot(["model", "deepseek-v3"]) as! ModelCommand).output()
        #expect(text.contains("671.03 B params"))
        #expect(text.contains("GFLOP/token"))
        #expect(text.contains("70,272 B/token"))
    }

    /// The built binary, as the README's commands run it: bad input exits non-zero with one
    /// clear line on stderr.
    @Test func binaryReportsBadInputWithExitStatus2() throws {
        let binary = Self.repo.appendingPathComponent(".build/debug/llmsim")
        guard FileManager.default.isExecutableFile(atPath: binary.path) else {
            Issue.record("build llmsim first (swift build): \(binary.path) not found")
            return
        }
        func run(_ args: [String]) throws -> (Int32, String) {
            let p = Process()
            p.executableURL = binary
            p.arguments = args
            p.currentDirectoryURL = Self.repo
            let err = Pipe()
            p.standardError = err
            p.standardOutput = Pipe()
            try p.run()
            p.waitUntilExit()
            return (p.terminationStatus, String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
        }
        let (status, message) = try run(["model", "deepseek-v4"])
        #expect(status == 2)
        #expect(message.hasPrefix("error: "))
        #expect(message.contains("did you mean"))
        let (status2, _) = try run(["topology", "/no/such/file.yaml"])
        #expect(status2 == 2)
        let (status3, _) = try run(["model", "deepseek-v3"])
        #expect(status3 == 0)
    }

    /// Token counts carry the unit that keeps digits: a 1,000-step 32K phase is 62.9B tokens,
    /// not "0.063T".
    @Test func tokenCountsKeepTheirDigits() {
        #expect(Output.tokens(14.8e12) == "14.800T")
        #expect(Output.tokens(1000 * 1920 * 32768) == "62.9B")
        #expect(Output.tokens(5.2e6) == "5.2M")
    }
}
