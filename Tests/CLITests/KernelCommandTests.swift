import Foundation
import Testing
@testable import LLMSimCLI

/// The kernel commands as a user types them; their JSON keys are the stable interface.
@Suite struct KernelCommandTests {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func json(_ args: [String]) throws -> [String: Any] {
        setenv("LLMSIM_HOME", Self.repo.path, 1)
        let command = try LLMSim.parseAsRoot(args)
        let text: String
        switch command {
        case let c as FP8Command.GEMM: text = try c.output()
        case let c as MLACommand.Check: text = try c.output()
        case let c as RouteCommand: text = try c.output()
        case let c as EPLBCommand: text = try c.output()
        default: throw CocoaError(.featureUnsupported)
        }
        return try JSONSerialization.jsonObject(with: Data(text.utf8)) as! [String: Any]
    }

    @Test func fp8GemmKeys() throws {
        let out = try json(["fp8", "gemm", "--m", "8", "--n", "128", "--k", "512", "--accumulator", "promoted", "--json"])
        for key in ["max_relative_error", "mean_relative_error", "quantization_relative_error"] { #expect(out[key] is Double, "\(key)") }
        #expect(throws: (any Error).self) { try json(["fp8", "gemm", "--k", "100", "--json"]) }
        #expect(throws: (any Error).self) { try json(["fp8", "gemm", "--accumulator", "exact", "--json"]) }
    }

    @Test func routeKeys() throws {
        let out = try json(["route", "--tokens-per-gpu", "64", "--ep", "64", "--steps", "2", "--json"])
        for key in ["max_nodes_per_token", "mean_nodes_per_token", "mean_ib_copies_per_token", "dispatch_bytes_per_copy",
                    "combine_bytes_per_copy", "max_over_mean_expert_load", "load_ratio_per_step"] { #expect(out[key] != nil, "\(key)") }
        #expect((out["max_nodes_per_token"] as! Int) <= 4)
        #expect(out["dispatch_bytes_per_copy"] as? Int == 7392)
        #expect((out["load_ratio_per_step"] as! [Double]).count == 2)
        #expect(throws: (any Error).self) { try json(["route", "--skew", "lognormal:1", "--json"]) }
        #expect(throws: (any Error).self) { try json(["route", "--ep", "512", "--json"]) }
        #expect(throws: (any Error).self) { try json(["route", "--model", "llama-3.1-8b", "--json"]) }
    }

    /// `--full-draw` routes through every affinity: another stream with the same law, so the
    /// token statistics agree (mean nodes per token over 64 × 512 tokens: σ ≈ 0.002) but the
    /// loads differ.
    @Test func routeFullDraw() throws {
        let fast = try json(["route", "--tokens-per-gpu", "512", "--json"])
        let full = try json(["route", "--tokens-per-gpu", "512", "--full-draw", "--json"])
        #expect(abs((fast["mean_nodes_per_token"] as! Double) - (full["mean_nodes_per_token"] as! Double)) < 0.02)
        #expect(fast["tokens_per_gpu_received"] as! [Int] != full["tokens_per_gpu_received"] as! [Int])
    }

    /// `--sequence-concentration`: each GPU's sequences share their own expert popularity, so
    /// the GPUs of one node load far less evenly than under independent tokens (EP 8, 2,048
    /// tokens per GPU, β = 0.5); the JSON names β and the per-step GPU load ratio.
    @Test func routeSequenceConcentration() throws {
        let base = ["route", "--ep", "8", "--tokens-per-gpu", "2048", "--seed", "5", "--json"]
        let independent = try json(base), skewed = try json(base + ["--sequence-concentration", "0.5", "--sequences-per-gpu", "2"])
        #expect(independent["sequence_concentration"] == nil && skewed["sequence_concentration"] as? Double == 0.5)
        #expect(skewed["sequences_per_gpu"] as? Int == 2)
        let ratio = { (o: [String: Any]) in (o["gpu_load_ratio_per_step"] as! [Double])[0] }
        #expect(ratio(skewed) > ratio(independent) + 0.03)
        #expect(throws: (any Error).self) { try json(base + ["--sequence-concentration", "0"]) }
        #expect(throws: (any Error).self) { try json(base + ["--sequence-concentration", "1", "--sequences-per-gpu", "3"]) }
        #expect(throws: (any Error).self) { try json(base + ["--sequence-concentration", "1", "--gate", "round-robin"]) }
    }

    @Test func eplbReadmeExample() throws {
        let loads = Self.repo.appendingPathComponent("Experiments/data/eplb-readme-loads.json").path
        let out = try json(["eplb", "--loads", loads, "--replicas", "16", "--groups", "4", "--nodes", "2", "--gpus", "8", "--json"])
        #expect(out["phy2log"] as? [[Int]] == [[5, 6, 5, 7, 8, 4, 3, 4, 10, 9, 10, 2, 0, 1, 11, 1], [7, 10, 6, 8, 6, 11, 8, 9, 2, 4, 5, 1, 5, 0, 3, 1]])
        #expect(out["log2phy"] != nil && out["logcnt"] != nil)
    }
}

@Suite struct ScheduleCommandTests {
    @Test func scheduleJsonAndSvg() throws {
        let svg = FileManager.default.temporaryDirectory.appendingPathComponent("llmsim-\(UUID().uuidString).svg").path
        defer { try? FileManager.default.removeItem(atPath: svg) }
        let c = try LLMSim.parseAsRoot(["schedule", "--kind", "dualpipe", "--pp", "8", "--microbatches", "20", "--f", "1", "--b", "2",
                                         "--w", "1", "--fb", "2.5", "--svg", svg, "--json"]) as! ScheduleCommand
        let out = try JSONSerialization.jsonObject(with: Data(try c.output().utf8)) as! [String: Any]
        #expect(out["makespan"] as? Double == 59)
        #expect(out["max_bubble"] as? Double == 4.5)
        #expect((out["bubble_per_rank"] as! [Double]).count == 8)
        #expect(out["peak_inflight_microbatches_per_rank"] != nil && out["parameter_copies"] as? Double == 2)
        let text = try String(contentsOfFile: svg, encoding: .utf8)
        #expect(text.hasPrefix("<svg") && text.contains("rank 7") && !text.contains("F&B<"))
        let bad = try LLMSim.parseAsRoot(["schedule", "--kind", "dualpipe", "--pp", "7", "--microbatches", "20"]) as! ScheduleCommand
        #expect(throws: (any Error).self) { try bad.output() }
        let unknown = try LLMSim.parseAsRoot(["schedule", "--kind", "chimera", "--pp", "8", "--microbatches", "20"]) as! ScheduleCommand
        #expect(throws: (any Error).self) { try unknown.output() }
    }

    /// `--jitter`: seeded, so the same seed gives the same makespan; variation among coupled
    /// ranks lengthens DualPipe's 59-unit makespan; out of range is an error.
    @Test func scheduleJitter() throws {
        func run(_ extra: [String]) throws -> [String: Any] {
            let c = try LLMSim.parseAsRoot(["schedule", "--kind", "dualpipe", "--pp", "8", "--microbatches", "20", "--f", "1", "--b", "2",
                                             "--w", "1", "--fb", "2.5", "--json"] + extra) as! ScheduleCommand
            return try JSONSerialization.jsonObject(with: Data(try c.output().utf8)) as! [String: Any]
        }
        let a = try run(["--jitter", "5"]), b = try run(["--jitter", "5"]), other = try run(["--jitter", "5", "--seed", "2"])
        let calm = try run([])
        #expect(a["jitter_percent"] as? Double == 5 && calm["jitter_percent"] as? Double == 0)
        #expect(a["makespan"] as! Double == b["makespan"] as! Double)
        #expect(a["makespan"] as! Double != other["makespan"] as! Double)
        #expect(a["makespan"] as! Double > 59 && a["max_bubble"] as! Double > 4.5)
        #expect(throws: (any Error).self) { try run(["--jitter", "50"]) }
        #expect(throws: (any Error).self) { try run(["--jitter", "-1"]) }
    }
}

@Suite struct ValidateCheckTests {
    @Test func checksCompareRelativeErrorWithTolerance() {
        let ok = ValidateCommand.check("x", "s", published: 100, simulated: 104, unit: "", tolerance: 0.05)
        #expect(ok.pass && abs(ok.error - 0.04) < 1e-12)
        #expect(!ValidateCommand.check("x", "s", published: 100, simulated: 106, unit: "", tolerance: 0.05).pass)
        #expect(ValidateCommand.check("x", "s", published: 96, simulated: 96, unit: "", tolerance: 0).pass)
        #expect(ValidateCommand.show(70_272, "B") == "70,272 B" && ValidateCommand.show(96, "") == "96")
    }
}
