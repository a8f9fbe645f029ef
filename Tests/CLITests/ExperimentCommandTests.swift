import Foundation
import Testing
@testable import LLMSimCLI

/// The experiment commands as a user types them: a sweep run into a database, then listed,
/// filtered, plotted; bad input gets a clear error.
@Suite(.serialized) struct ExperimentCommandTests {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Writes `name` in `dir`: `base:` one of the shipped experiments, then `body`. Points the
    /// CLI at this checkout. Returns the file's path.
    func write(_ dir: String, _ name: String, base: String, _ body: String) throws -> String {
        setenv("LLMSIM_HOME", Self.repo.path, 1)
        let path = (dir as NSString).appendingPathComponent(name)
        try ("base: " + Self.repo.appendingPathComponent("Experiments/" + base).path + "\n" + body).write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func scratch() throws -> String {
        let dir = (NSTemporaryDirectory() as NSString).appendingPathComponent("llmsim-cli-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    /// `llmsim step --json` prints the issue's keys and the plan's memory; a plan that does not
    /// fit is still timed, and says so with what to change.
    @Test func stepReportsItsKeysAndMemory() throws {
        let dir = try scratch()
        let fits = try write(dir, "fits.yaml", base: "deepseek-v3.yaml", "microbatches: 32\nmicrobatch_tokens: 256\nrun: ~\n")
        let command = try LLMSim.parseAsRoot(["step", fits, "--json"]) as! StepCommand
        let report = try JSONSerialization.jsonObject(with: Data(try command.output().utf8)) as! [String: Any]
        let step = report["step"] as! [String: Any], memory = report["memory"] as! [String: Any]
        #expect((step["step_time_s"] as! Double) > 0)
        for key in ["forward_only_s", "steady_s", "backward_input_s", "backward_weight_s", "bubble_s", "optimizer_s",
                    "tokens_per_day", "tflops_per_gpu_causal", "tflops_per_gpu_noncausal", "mfu_causal", "per_rank_utilisation"] {
            #expect(step[key] != nil, "\(key)")
        }
        #expect(memory["fits"] as? Bool == true)
        #expect((memory["peak_bytes_per_gpu"] as! Double) < (memory["capacity_bytes"] as! Double))
        // Where the time goes: one breakdown per rank of the pipeline, its parts summing to the step.
        let breakdown = step["time_breakdown_per_rank"] as! [[String: Double]]
        #expect(breakdown.count == 16)
        // (Recomputation and the collectives' contention are shares of other parts.)
        let parts = breakdown[0].filter { !["recomputation_s", "collective_contention_s", "tensor_parallel_contention_s", "fully_sharded_copies_s"].contains($0.key) }
        #expect(parts.count == 15 && abs(parts.values.reduce(0, +) - (step["step_time_s"] as! Double)) < 1e-9)
        // Every rank's ISCA phases; the table gives their spread beside rank 0's.
        let phases = step["phases_per_rank"] as! [[String: Double]]
        #expect(phases.count == 16 && phases[0]["steady_s"] == step["steady_s"] as? Double)
        let table = try (LLMSim.parseAsRoot(["step", fits, "--breakdown"]) as! StepCommand).output()
        #expect(table.contains("simulated (rank 0)") && table.contains("ranks min – max"))
        #expect(table.contains("compute / exposed communication (rank 0)"))
        #expect(table.contains("where the step time goes") && table.contains("exposed MoE all-to-all") && table.contains("total: the step time"))
        #expect(!(try (LLMSim.parseAsRoot(["step", fits]) as! StepCommand).output()).contains("where the step time goes"))
        let over = try write(dir, "over.yaml", base: "deepseek-v3.yaml", "parallel: {pp: 8, ep: 64}\nmicrobatches: 60\nrun: ~\n")
        let text = try (LLMSim.parseAsRoot(["step", over]) as! StepCommand).output()
        #expect(text.contains("GB: does NOT fit"))
        #expect(text.contains("warning: the plan does NOT fit in memory") && text.contains("parallel.pp"))
        #expect(text.contains("pipeline send between stages") && text.contains("ms, batched"))
        // Overlapped sends (the sender never waits) leave no more bubble than batched ones.
        let overlapped = try write(dir, "overlapped.yaml", base: "deepseek-v3.yaml",
                                   "parallel: {pp: 16, ep: 64, pipeline_sends: overlapped}\nmicrobatches: 32\nmicrobatch_tokens: 256\nrun: ~\n")
        let o = try LLMSim.parseAsRoot(["step", overlapped, "--json"]) as! StepCommand
        let oStep = (try JSONSerialization.jsonObject(with: Data(try o.output().utf8)) as! [String: Any])["step"] as! [String: Any]
        #expect((oStep["bubble_s"] as! Double) < (step["bubble_s"] as! Double))
        #expect(try (LLMSim.parseAsRoot(["step", overlapped]) as! StepCommand).output().contains("ms, overlapped"))
        let interleaved = try write(dir, "interleaved.yaml", base: "deepseek-v3.yaml",
                                    "parallel: {pp: 16, ep: 64, pipeline_sends: batched}\nschedule: interleaved\nmicrobatches: 128\nrun: ~\n")
        do { _ = try (LLMSim.parseAsRoot(["step", interleaved]) as! StepCommand).output(); Issue.record("batched sends with interleaving must be refused") }
        catch { #expect("\(error)".contains("batched pipeline sends are not modelled for the interleaved schedule")) }
    }

    /// `llmsim step --sensitivity`: a row per figure with its key, source, value and the step's
    /// change at ± the perturbation, the figures that do not move the step named on one line;
    /// `--json` carries the same rows; a perturbation of 100 % is refused.
    @Test func stepSensitivity() throws {
        let dir = try scratch()
        let small = try write(dir, "small.yaml", base: "llama-3.1-8b-a100.yaml", "run: ~\n")
        let table = try (LLMSim.parseAsRoot(["step", small, "--sensitivity", "--perturbation", "5"]) as! StepCommand).output()
        #expect(table.contains("each moved by ±5 %") && table.contains("step at −5 %"))
        #expect(table.contains("BF16 / FP32 GEMMs (table mean) (calibration.bf16_gemm_tflops)") && table.contains("OpenXLA's sm_90 table (H100)"))
        #expect(table.contains("no effect on this step: calibration.fp8_dense_gemm_tflops"))
        let json = try (LLMSim.parseAsRoot(["step", small, "--sensitivity", "--json"]) as! StepCommand).output()
        let sensitivity = (try JSONSerialization.jsonObject(with: Data(json.utf8)) as! [String: Any])["sensitivity"] as! [String: Any]
        #expect(sensitivity["perturbation"] as? Double == 0.1)
        let rows = sensitivity["rows"] as! [[String: Any]]
        #expect(rows.count == 26 && rows[0]["key"] as? String == "calibration.bf16_gemm_tflops")
        for key in ["label", "unit", "value", "evidence", "step_lower_s", "step_higher_s", "elasticity"] { #expect(rows[0][key] != nil, "\(key)") }
        #expect(!(try (LLMSim.parseAsRoot(["step", small, "--json"]) as! StepCommand).output()).contains("sensitivity"))
        do { _ = try (LLMSim.parseAsRoot(["step", small, "--sensitivity", "--perturbation", "100"]) as! StepCommand).output(); Issue.record("100 % accepted") }
        catch { #expect("\(error)".contains("less than 100 %")) }
    }

    /// `llmsim kernels`: V3's representative MoE layer (3) as the step prices it: each kernel
    /// with the calibration key behind it (DeepGEMM's grouped rows for the experts, the trace's
    /// weight-gradient rate, the BF16 router GEMM on the 64 SMs its tiles fill and its dgrad,
    /// each from its nearest OpenXLA row), per-pass compute
    /// adding up to the step's layer (32.6 ms, the trace's ≈ 32 ms of kernels per layer
    /// pair); a dense layer has no all-to-all; a layer past the model is an error.
    @Test func kernelsOfALayer() throws {
        let v3 = Self.repo.appendingPathComponent("Experiments/deepseek-v3.yaml").path
        let text = try (LLMSim.parseAsRoot(["kernels", v3]) as! KernelsCommand).output()
        #expect(text.hasPrefix("layer 3 (MoE) of deepseek-v3"))
        #expect(text.contains("mlp.experts.up.fprop") && text.contains("fp8_grouped_gemm_tflops [4, 8192, 4096, 7168]"))
        #expect(text.contains("fp8_wgrad_tflops_at_112_sms") && text.contains("attention_backward_tflops_at_112_sms"))
        #expect(text.contains("compute per pass: forward") && text.contains("all-to-all on the fabric: dispatch 3.077 ms, combine 5.976 ms"))
        #expect(text.contains("compute per block: attn(F) ") && text.contains("mlp(W) "))
        let json = try JSONSerialization.jsonObject(with: Data(try (LLMSim.parseAsRoot(["kernels", v3, "--json"]) as! KernelsCommand).output().utf8)) as! [String: Any]
        let kernels = json["kernels"] as! [[String: Any]]
        let gate = try #require(kernels.first { ($0["name"] as? String) == "L3.attn.gate.fprop" })
        #expect(gate["figure"] as? String == "bf16_gemm_tflops [4096, 256, 4096] on 64 of 112 SMs" && gate["precision"] as? String == "bf16")
        let gateDgrad = try #require(kernels.first { ($0["name"] as? String) == "L3.mlp.gate.dgrad" })
        #expect(gateDgrad["figure"] as? String == "bf16_gemm_tflops [8192, 4096, 256] transposed")
        // A measured BF16 row at the router's shape prices it and is named, with the SMs it fills.
        let measured = try write(try scratch(), "measured.yaml", base: "deepseek-v3.yaml", "calibration: {bf16_gemm_tflops: [[4096, 256, 7168, 380]]}\n")
        let withRow = try (LLMSim.parseAsRoot(["kernels", measured]) as! KernelsCommand).output()
        #expect(withRow.contains("bf16_gemm_tflops [4096, 256, 7168] on 64 of 112 SMs"))
        let compute = kernels.reduce(0.0) { $0 + ($1["seconds"] as! Double) }
        #expect(compute > 0.030 && compute < 0.035)
        // `gemm_ceiling: measured` names the scale on each GEMM it moves: on the A100, BF16 rows
        // at (271.2 / 312) / (794.5 / 989.4) = 1.082; on the H800 (V3) nothing moves.
        let a100 = try write(try scratch(), "a100.yaml", base: "llama-3.1-8b-a100.yaml", "gemm_ceiling: measured\n")
        let carried = try (LLMSim.parseAsRoot(["kernels", a100]) as! KernelsCommand).output()
        #expect(carried.contains("bf16_gemm_tflops [4096, 4096, 4096] ×1.082 (gemm_ceiling: measured)"))
        #expect(!carried.contains("memory_bound_efficiency.norm ×"))
        // Attention held below its tensor rate by another SM unit than on the H800 is named: the
        // B200's backward by shared memory (FlashAttention-4's 2,560 tensor against 3,328 clocks).
        let b200 = try (LLMSim.parseAsRoot(["kernels", Self.repo.appendingPathComponent("Experiments/nemo-llama3-8b-b200.yaml").path]) as! KernelsCommand).output()
        #expect(b200.contains("attention_backward_tflops_at_112_sms ×0.769 (attention bound by shared memory)"))
        #expect(b200.contains("attention_forward_tflops_at_112_sms") && !b200.contains("attention_forward_tflops_at_112_sms ×"))
        let h800 = try write(try scratch(), "h800.yaml", base: "deepseek-v3.yaml", "gemm_ceiling: measured\n")
        #expect(try (LLMSim.parseAsRoot(["kernels", h800]) as! KernelsCommand).output() == text)
        let dense = try (LLMSim.parseAsRoot(["kernels", v3, "--layer", "0"]) as! KernelsCommand).output()
        #expect(dense.hasPrefix("layer 0 (dense)") && !dense.contains("all-to-all") && dense.contains("mlp.ffn.up.fprop"))
        // A layer that `bf16_layers` keeps in BF16 says so, and prices BF16 GEMMs with no casts.
        let pinned = try write(try scratch(), "pinned.yaml", base: "nemo-llama3-70b-gb200-nvfp4.yaml", "bf16_layers: {end: 1}\n")
        let last = try (LLMSim.parseAsRoot(["kernels", pinned, "--layer", "79"]) as! KernelsCommand).output()
        #expect(last.hasPrefix("layer 79 (dense, its Linears in BF16: bf16_layers)") && !last.contains(" cast ") && !last.contains("NVFP4 kernels"))
        let fp4 = try (LLMSim.parseAsRoot(["kernels", pinned, "--layer", "78"]) as! KernelsCommand).output()
        #expect(fp4.hasPrefix("layer 78 (dense) of") && fp4.contains("×1.819 (NVFP4 kernels)") && fp4.contains("×0.737 (NVFP4 quantization)"))
        do { _ = try (LLMSim.parseAsRoot(["kernels", v3, "--layer", "61"]) as! KernelsCommand).output(); Issue.record("layer 61 accepted") }
        catch { #expect("\(error)".contains("no layer 61") && "\(error)".contains("from 0 to 60")) }
    }

    /// `llmsim bench --step` times the parts of an MoE step (no timing is asserted: only that
    /// each part ran and reports seconds, and the routing parts nanoseconds per token).
    @Test func benchStepParts() throws {
        let dir = try scratch()
        let experiment = try write(dir, "small.yaml", base: "deepseek-v3.yaml", "microbatches: 32\nmicrobatch_tokens: 256\nrun: ~\n")
        let command = try LLMSim.parseAsRoot(["bench", "--step", experiment, "--rounds", "1", "--json"]) as! BenchCommand
        let report = try JSONSerialization.jsonObject(with: Data(try command.stepReport(experiment, build: "test").utf8)) as! [String: Any]
        let parts = report["parts"] as! [[String: Any]]
        #expect(parts.map { $0["name"] as! String } == [
            "gate composition law, integrated", "gate, composition law (one EP group)", "gate, order statistics",
            "gate, every affinity drawn", "dispatch plan", "all-to-all on the fluid network (dispatch and combine)",
            "kernel calibration loaded", "layers priced, stages partitioned (routing cached)",
            "schedule and optimizer on a prepared plan", "whole step, cold routing cache"])
        #expect(parts.allSatisfy { ($0["seconds"] as! Double) > 0 })
        #expect(parts.filter { $0["nanoseconds_per_token"] != nil }.count == 4)
        let dense = try write(dir, "dense.yaml", base: "llama-3.1-8b-a100.yaml", "")
        #expect(throws: (any Error).self) { try command.stepReport(dense, build: "test") }
    }

    @Test func runResultsReport() throws {
        let dir = try scratch()
        let experiment = try write(dir, "pp.yaml", base: "llama-3.1-8b-a100.yaml", """
            sweep:
              grid:
                parallel.pp: [2, 4, 8]
              derive:
                microbatches: "4 * parallel.pp"
            """)
        let db = (dir as NSString).appendingPathComponent("r.sqlite")
        let table = try (LLMSim.parseAsRoot(["run", experiment, "--db", db, "--workers", "2"]) as! RunCommand).output()
        #expect(table.contains("step_time_s [s]") && table.contains("parallel.pp"))
        let rows = try JSONSerialization.jsonObject(with: Data(try (LLMSim.parseAsRoot(["results", db, "--json"]) as! ResultsCommand).output().utf8)) as! [[String: Any]]
        #expect(rows.count == 3)
        #expect((rows[2]["parameters"] as! [String: Any])["microbatches"] as? Int == 32)
        let filtered = try (LLMSim.parseAsRoot(["results", db, "--where", "parallel.pp>=4", "--csv"]) as! ResultsCommand).output()
        #expect(filtered.split(separator: "\n").count == 3)          // header + 2 points
        let svg = (dir as NSString).appendingPathComponent("p.svg")
        let plot = try (LLMSim.parseAsRoot(["report", db, "--x", "parallel.pp", "--y", "step_time_s,pipeline_s", "--svg", svg]) as! ReportCommand).output()
        #expect(plot.contains("2 series, 6 points"))
        #expect(try String(contentsOfFile: svg, encoding: .utf8).contains("parallel.pp"))
        // Rank 0's parts stacked per point; a series, or an x that several points share, is refused.
        let stacked = try (LLMSim.parseAsRoot(["report", db, "--x", "parallel.pp", "--y", "compute_s,bubble_s,optimizer_s", "--kind", "stacked", "--svg", svg]) as! ReportCommand).output()
        #expect(stacked.contains("3 series, 9 points"))
        #expect(try String(contentsOfFile: svg, encoding: .utf8).contains(">3 outputs [s]<"))   // one unit: the axis says it once
        #expect(throws: (any Error).self) {
            try (LLMSim.parseAsRoot(["report", db, "--x", "parallel.pp", "--y", "compute_s", "--series", "microbatches", "--kind", "stacked", "--svg", svg]) as! ReportCommand).output()
        }
        do {
            _ = try (LLMSim.parseAsRoot(["report", db, "--x", "gpus", "--y", "compute_s", "--kind", "stacked", "--svg", svg]) as! ReportCommand).output()
            Issue.record("points sharing an x must be refused when stacked")
        } catch { #expect("\(error)".contains("one point per x")) }
    }

    @Test func badInputIsNamed() throws {
        setenv("LLMSIM_HOME", Self.repo.path, 1)
        let missing = "/nonexistent/r.sqlite"
        #expect { _ = try (LLMSim.parseAsRoot(["results", missing]) as! ResultsCommand).output() } throws: { "\($0)".contains("no results database") }
        #expect { _ = try (LLMSim.parseAsRoot(["results", missing, "--columns", "bogus"]) as! ResultsCommand).output() } throws: { "\($0)".contains("no results database") }
        let dir = try scratch(), db = (dir as NSString).appendingPathComponent("e.sqlite")
        _ = try (LLMSim.parseAsRoot(["run", Self.repo.appendingPathComponent("Experiments/llama-3.1-8b-a100.yaml").path, "--db", db]) as! RunCommand).output()
        #expect { _ = try (LLMSim.parseAsRoot(["results", db, "--columns", "step_tme_s"]) as! ResultsCommand).output() } throws: { "\($0)".contains("unknown output 'step_tme_s'") }
        #expect { _ = try (LLMSim.parseAsRoot(["report", db, "--x", "gpus", "--y", "speed"]) as! ReportCommand).output() } throws: { "\($0)".contains("--svg") }
        #expect { _ = try (LLMSim.parseAsRoot(["report", db, "--x", "gpus", "--y", "speed", "--markdown"]) as! ReportCommand).output() } throws: { "\($0)".contains("'speed'") }
        #expect { _ = try (LLMSim.parseAsRoot(["run", Self.repo.appendingPathComponent("Experiments/llama-3.1-8b-a100.yaml").path, "--trace", "3", "--svg", "x.svg"]) as! RunCommand).output() } throws: { "\($0)".contains("points 0 to 0") }
    }
}
