import ConfigIO
import Foundation
import Hardware
import Testing
import Training
@testable import Experiments

/// Every bad-input case of issue 6: the error names the file, the line, the key and what is
/// allowed; impossible plans are marked infeasible (a sweep records them), malformed input not.
@Suite struct ExperimentFileTests {
    /// Loads `body` (over the Llama base) and parses its single point.
    func parse(_ body: String, base: String = llamaBase) throws -> PointOutcome {
        let dir = try scratchDirectory("schema")
        let file = try ExperimentFile.load(path: try write("base: \(base)\n" + body, "bad.yaml", in: dir))
        let point = try #require(try file.points(hardware: try HardwareCatalog.builtIn()).first)
        return try evaluator().evaluate(point)
    }

    func expectError(_ body: String, _ fragments: [String], line: Int?, infeasible: Bool = false, base: String = llamaBase) {
        do {
            let outcome = try parse(body, base: base)
            if infeasible {
                #expect(outcome.status == .infeasible, "\(body)")
                for f in fragments { #expect(outcome.reason.contains(f), "\(outcome.reason)") }
            } else {
                Issue.record("no error for:\n\(body)")
            }
        } catch let e as ConfigError {
            #expect(!infeasible, "malformed-input error for an infeasible case: \(e)")
            for f in fragments { #expect(e.description.contains(f), "\(e)") }
            if let line { #expect(e.line == line, "\(e)") }
            #expect(e.file != nil)
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test func unknownKeyWithSuggestion() {
        expectError("microbatch: 16\n", ["bad.yaml:2", "key 'microbatch'", "unknown key", "did you mean 'microbatches'"], line: 2)
        expectError("parallel: {pp: 4, ep: 1, tpp: 1}\n", ["key 'parallel.tpp'", "Allowed: account_for_embedding_in_pipeline_split, account_for_loss_in_pipeline_split, cp, ep, etp, num_layers_in_first_pipeline_stage, num_layers_in_last_pipeline_stage, overlap_forward_backward, overlap_grad_reduce, overlap_param_gather, pipeline_layout, pipeline_sends, pp, sp, tp"], line: 2)
        expectError("hardware: {nic_gbps: 400}\n", ["hardware.nic_gbps", "nic_gbit_s"], line: 2)
        expectError("topology: {file: ../../x.yaml, nodez: 4}\n", ["does not exist"], line: 2)
        expectError("optimizer: {distributed: false, moment: fp32}\n", ["key 'optimizer.moment'", "did you mean 'moments'"], line: 2)
        expectError("optimizer: {moments: fp8}\n", ["'fp8' is not allowed", "bf16, fp16, fp32"], line: 2)
        expectError("optimizer: {distributed: false, fsdp: true}\n", ["key 'optimizer.fsdp'", "distributed: false turns off", "remove distributed: false, or fsdp"], line: 2)
        expectError("parallel: {pp: 4, overlap_param_gather: true}\noptimizer: {distributed: false}\n",
                    ["key 'parallel.overlap_param_gather'", "needs the distributed optimizer", "optimizer: {distributed: true}"], line: 2)
    }

    /// `gemm_ceiling: measured` carries the GEMMs to the A100 at its measured best matmul
    /// fraction (0.869 of peak against the H100's 0.803), so the Llama 3.1 8B step is faster.
    @Test func gemmCeilingIsParsedAndPricesTheGEMMs() throws {
        let peak = try #require(try parse("").value("step_time_s"))
        let measured = try #require(try parse("gemm_ceiling: measured\n").value("step_time_s"))
        #expect(measured < peak * 0.97 && measured > peak * 0.85, "\(measured) against \(peak)")
    }

    @Test func wrongTypeAndOutOfRange() {
        expectError("microbatches: many\n", ["key 'microbatches'", "expected an integer, found 'many'"], line: 2)
        expectError("microbatches: -4\n", ["must be > 0, found -4"], line: 2)
        expectError("microbatch_sequences: 3\n", ["key 'microbatch_sequences'", "do not split into 3 sequences", "microbatch_tokens to sequences × sequence length"], line: 2)
        expectError("schedule: dualpip\n", ["'dualpip' is not allowed", "did you mean 'dualpipe'"], line: 2)
        expectError("precision: fp4\n", ["'fp4' is not allowed"], line: 2)
        expectError("gemm_ceiling: best\n", ["key 'gemm_ceiling'", "'best' is not allowed", "measured, peak"], line: 2)
        expectError("attention_ceiling: tensor\n", ["key 'attention_ceiling'", "'tensor' is not allowed", "peak, units"], line: 2)
        expectError("hardware: {node: HGX-H900-8GPU}\n", ["unknown node template 'HGX-H900-8GPU'", "HGX-H800-8GPU"], line: 2)
        expectError("model: llama-9\n", ["unknown model 'llama-9'"], line: 2)
        expectError("run: {phases: [{name: x, tokens: 1e12, steps: 3, seq_len: 8192, batch: 1024}]}\n", ["exactly one of tokens, steps or gpu_hours"], line: 2)
        expectError("run: {phases: []}\n", ["key 'run.phases'", "the run has no phases", "at least one phase"], line: 2)
        expectError("run: {phases: [{name: x, gpu_hours: 1}, {name: x, gpu_hours: 2}]}\n", ["key 'run.phases[1].name'", "two phases are named 'x'"], line: 2)
    }

    @Test("impossible plans are infeasible, with the rule and the fix")
    func impossiblePlans() {
        // More pipeline stages than layers (Llama 3.1 8B has 32 layers).
        expectError("parallel: {pp: 64, ep: 1, tp: 1}\nmicrobatches: 128\n", ["64 pipeline stages for 32 layers", "at most 32"], line: nil, infeasible: true)
        // DualPipe needs an even PP.
        expectError("parallel: {pp: 3, ep: 1, tp: 1}\nschedule: dualpipe\nmicrobatches: 12\n", ["even"], line: nil, infeasible: true)
        // PP must divide the GPUs (3,072 on Selene): 7 does not.
        expectError("parallel: {pp: 7, ep: 1, tp: 1}\n", ["not a multiple of the 7 GPUs"], line: nil, infeasible: true)
        // A device without FP8.
        expectError("precision: fp8\n", ["no FP8 tensor cores", "bf16"], line: nil, infeasible: true)
        // Context parallelism: 2·CP chunks must divide the 8,192-token sequence; not with MoE.
        expectError("parallel: {pp: 4, ep: 1, tp: 1, cp: 3}\n", ["does not split into 2 × CP = 6 equal chunks", "cp 2"], line: nil, infeasible: true)
        expectError("parallel: {pp: 4, ep: 1, tp: 1, cp: 2}\nattention_kernel: unfused\n", ["needs FlashAttention"], line: nil, infeasible: true)
        // A phase's own plan that the cluster cannot run is reported at the phase's plan (until
        // 2026-11-24 as '<input>', with no line).
        expectError("run: {phases: [{name: x, tokens: 1e9, seq_len: 8192, batch: 1024, parallel: {pp: 7}}]}\n",
                    ["bad.yaml:2", "key 'run.phases[0].parallel'", "phase 'x'", "not a multiple of the 7 GPUs"], line: nil, infeasible: true)
        // Communication SMs beyond the device's (an A100 has 108).
        expectError("communication_sms: 108\n", ["key 'communication_sms'", "108 communication SMs", "A100", "108 SMs in all", "between 1 and 107"],
                    line: nil, infeasible: true)
    }

    @Test("EP larger than the experts, and a plan that does not fit in memory, are infeasible")
    func moePlans() {
        let v3 = repoRoot.appendingPathComponent("Experiments/deepseek-v3.yaml").path
        expectError("parallel: {pp: 16, ep: 512, tp: 1}\nrun: ~\n", ["EP 512 must divide the 256 experts"], line: nil, infeasible: true, base: v3)
        expectError("parallel: {pp: 16, ep: 2, tp: 1, cp: 4}\nrun: ~\n", ["EP 2 is not a whole number of TP × CP = 4 groups", "multiple of 4"], line: nil, infeasible: true, base: v3)
        // BF16 without DeepSeek's FP8 caches: 103 GB on rank 0 against 84.9 GB usable.
        expectError("precision: bf16\nrun: ~\n", ["does not fit in memory", "84.9 GB"], line: nil, infeasible: true, base: v3)
    }

    @Test("an error in an inherited key names the base file; bases cannot form a cycle")
    func inheritance() throws {
        let dir = try scratchDirectory("base")
        let base = try write("base: \(llamaBase)\nmicrobatches: lots\n", "base.yaml", in: dir)
        let child = try write("base: base.yaml\nschedule: zb1p\n", "child.yaml", in: dir)
        #expect { _ = try evaluator().evaluate(try #require(try ExperimentFile.load(path: child).points(hardware: try HardwareCatalog.builtIn()).first)) } throws: { e in
            guard let e = e as? ConfigError else { return false }
            return e.file == base && e.line == 2 && e.key == "microbatches"
        }
        try write("base: b.yaml\n", "a.yaml", in: dir)
        try write("base: a.yaml\n", "b.yaml", in: dir)
        #expect { _ = try ExperimentFile.load(path: (dir as NSString).appendingPathComponent("a.yaml")) } throws: { e in
            "\(e)".contains("cycle")
        }
    }

    @Test("overrides: a child replaces only what it names; topology and hardware overrides apply")
    func overrides() throws {
        let dir = try scratchDirectory("override")
        let path = try write("""
            base: \(repoRoot.appendingPathComponent("Experiments/deepseek-v3.yaml").path)
            topology: {file: \(repoRoot.appendingPathComponent("Topologies/deepseek-v3-mpft.yaml").path), nodes: 128}
            hardware: {node: HGX-H200-8GPU, nic_gbit_s: 800}
            model_overrides: {topk_group: 8}
            microbatches: 240
            """, "o.yaml", in: dir)
        let doc = try #require(try ExperimentFile.load(path: path).points(hardware: try HardwareCatalog.builtIn()).first?.document)
        let config = try evaluator().configuration(doc)
        #expect(config.gpus == 1024)
        #expect(config.dp == 64)
        #expect(config.topology.node.device.id == "H200-SXM-141GB")
        #expect(config.topology.node.nicBandwidth == 100e9)
        #expect(config.model.moe?.topKGroups == 8)
        #expect(config.ep == 64 && config.pp == 16 && config.schedule == .dualpipe)   // inherited
    }
}

/// The reference page lists every key the reader accepts and every output a point stores.
@Suite struct SchemaDocumentTests {
    @Test func everyKeyAndOutputIsDocumented() throws {
        let doc = try String(contentsOf: repoRoot.appendingPathComponent("docs/experiment-schema.md"), encoding: .utf8)
        for key in StepExperiment.keys { #expect(doc.contains("| `\(key)` |"), "top-level key \(key)") }
        for key in ["node", "device", "nic_gbit_s", "scale_up_gb_s", "phases", "price_per_gpu_hour_usd", "pue", "grid_kg_co2_per_kwh",
                    "overheads", "grid", "zip", "derive", "nodes", "planes", "latency_us", "prices"] {
            #expect(doc.contains("| `\(key)` |"), "key \(key)")
        }
        for output in OutputCatalog.all { #expect(doc.contains("| `\(output.name)` | \(output.unit) |"), "output \(output.name)") }
    }

    /// A point stores rank 0's compute and exposed communication (`StepTimeBreakdown`): for the
    /// dense Llama 3.1 8B plan on A100 (PP 4, no TP), compute is most of the step, no all-to-all,
    /// nothing exposed inside the instructions; with TP 2 the tensor-parallel collectives show.
    @Test func pointStoresComputeAndExposedCommunication() throws {
        func parse(_ body: String) throws -> PointOutcome {
            let dir = try scratchDirectory("breakdown")
            let file = try ExperimentFile.load(path: try write("base: \(llamaBase)\n" + body, "point.yaml", in: dir))
            return try evaluator().evaluate(try #require(try file.points(hardware: try HardwareCatalog.builtIn()).first))
        }
        let plain = try parse("run: ~\n")
        let step = try #require(plain.value("step_time_s")), compute = try #require(plain.value("compute_s"))
        #expect(compute > 0.7 * step && compute < step)
        #expect(plain.value("exposed_all_to_all_s") == 0 && plain.value("exposed_communication_s") == 0)
        let tp = try parse("parallel: {pp: 4, tp: 2}\nrun: ~\n")
        #expect(try #require(tp.value("exposed_communication_s")) > 0)
        #expect(tp.value("exposed_all_to_all_s") == 0)
    }

    /// A calibration figure sweeps like any key (`calibration.bf16_gemm_efficiency`, over a
    /// calibration without the shipped BF16 rows, which would otherwise price those GEMMs):
    /// each point prices its BF16 GEMMs with its own value, so the lower efficiency is the
    /// slower step.
    @Test func calibrationFiguresSweep() throws {
        let dir = try scratchDirectory("calibration")
        let file = try ExperimentFile.load(path: try write("base: \(llamaBase)\nrun: ~\ncalibration: {bf16_gemm_tflops: []}\nsweep:\n  grid:\n    calibration.bf16_gemm_efficiency: [0.6, 0.7]\n", "sweep.yaml", in: dir))
        let points = try file.points(hardware: try HardwareCatalog.builtIn())
        #expect(points.count == 2)
        let steps = try points.map { try #require(try evaluator().evaluate($0).value("step_time_s")) }
        #expect(steps[0] > steps[1] * 1.1)
    }
}
