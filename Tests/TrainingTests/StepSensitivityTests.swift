import ConfigIO
import CostModel
import Foundation
import Testing
@testable import Training

/// The experiment's own kernel calibration (`calibration:`) and the step's sensitivity to each
/// figure it rests on (`StepSensitivity`, `llmsim step --sensitivity`).
@Suite struct StepSensitivityTests {
    /// `calibration:` replaces figures of the shipped file (the memory-bound fractions merge
    /// key by key), or names a file of its own, optionally with figures replaced; bad keys and
    /// impossible fractions are errors that name `calibration.<key>`.
    @Test func experimentCalibration() throws {
        let shipped = try KernelCalibration.hopper()
        #expect(try shippedStep("llama-3.1-8b-a100.yaml").calibration == nil)
        let partial = try #require(try shippedStep("llama-3.1-8b-a100.yaml", adding: "calibration: {bf16_gemm_efficiency: 0.6, bf16_gemm_tflops: [], memory_bound_efficiency: {norm: 0.5}}").calibration)
        #expect(partial.bf16GEMMEfficiency == 0.6 && partial.bf16Dense.isEmpty)
        #expect(partial.normEfficiency == 0.5)
        #expect(partial.castEfficiency == shipped.castEfficiency)
        #expect(partial.fp8Dense == shipped.fp8Dense)
        let rows = try #require(try shippedStep("llama-3.1-8b-a100.yaml", adding: "calibration: {bf16_gemm_tflops: [[8192, 4096, 4096, 250]]}").calibration)
        #expect(rows.bf16Dense == [.init(m: 8192, n: 4096, k: 4096, tflops: 250)])
        #expect(rows.bf16GEMMEfficiency == shipped.bf16GEMMEfficiency)

        // A file of one's own: the shipped file with one figure changed, named alone or under `file:`.
        let own = FileManager.default.temporaryDirectory.appendingPathComponent("calibration-\(UUID().uuidString).yaml").path
        defer { try? FileManager.default.removeItem(atPath: own) }
        let text = try String(contentsOfFile: try KernelCalibration.shippedPath(), encoding: .utf8)
        try text.replacingOccurrences(of: "host_us_per_operation: 100", with: "host_us_per_operation: 40").write(toFile: own, atomically: true, encoding: .utf8)
        #expect(try shippedStep("llama-3.1-8b-a100.yaml", adding: "calibration: \(own)").calibration?.hostSecondsPerOperation == 40 * 1e-6)
        let overlaid = try #require(try shippedStep("llama-3.1-8b-a100.yaml", adding: "calibration: {file: \(own), minimum_kernel_us: 5}").calibration)
        #expect(overlaid.hostSecondsPerOperation == 40 * 1e-6)
        #expect(overlaid.minimumKernelTime == 5 * 1e-6)

        // The flat efficiency prices nothing while measured rows do (the shipped file has them).
        for (bad, names) in [("calibration: {bf16_gemm_efficiency: 0.6}", "add bf16_gemm_tflops: []"),
                             ("calibration: {bf16_gemm_eficiency: 0.6}", "bf16_gemm_efficiency"),
                             ("calibration: {bf16_gemm_efficiency: 1.2}", "calibration.bf16_gemm_efficiency"),
                             ("calibration: {memory_bound_efficiency: {nrom: 0.5}}", "calibration.memory_bound_efficiency.nrom"),
                             ("calibration: {file: no-such-calibration.yaml}", "does not exist")] {
            do {
                _ = try shippedStep("llama-3.1-8b-a100.yaml", adding: bad)
                Issue.record("\(bad) was accepted")
            } catch let e as ConfigError {
                #expect(e.description.contains(names), "\(e)")
            }
        }
    }

    /// The experiment's calibration prices the step: Llama 3.1 8B trains in BF16, so its GEMMs
    /// run at the shipped BF16 rows (`bf16_gemm_tflops`); with every row at 0.9 of its TFLOPS
    /// the step is the sensitivity's lower run of that table to the last bit (one path for
    /// both). Without rows the flat `bf16_gemm_efficiency` prices them, and a step there answers
    /// to it instead.
    @Test func experimentCalibrationPricesTheStep() throws {
        let shipped = try KernelCalibration.hopper()
        let base = try shippedStep("llama-3.1-8b-a100.yaml")
        let slowerRows = shipped.bf16Dense.map { "[\($0.m), \($0.n), \($0.k), \($0.tflops * 0.9)]" }.joined(separator: ", ")
        let slower = try shippedStep("llama-3.1-8b-a100.yaml", adding: "calibration: {bf16_gemm_tflops: [\(slowerRows)]}")
        let step = try StepSimulation(config: base, calibration: shipped).run().stepTimeS
        let slowerStep = try StepSimulation(config: slower, calibration: shipped).run().stepTimeS
        #expect(slowerStep > step * 1.05)
        let s = try StepSensitivity.run(config: base, calibration: shipped, perturbation: 0.1)
        #expect(s.stepS == step)
        let table = try #require(s.rows.first { $0.key == "calibration.bf16_gemm_tflops" })
        #expect(table.stepLowerS == slowerStep)
        #expect(abs(table.value - shipped.value(.bf16GEMMTable)) < 1e-9 && table.evidence.contains("OpenXLA"))
        // The same figure set by the experiment is reported as the experiment's.
        let own = try StepSensitivity.run(config: slower, calibration: shipped, perturbation: 0.1)
        #expect(own.rows.first { $0.key == "calibration.bf16_gemm_tflops" }?.evidence == "set by the experiment")
        // Without rows: the flat efficiency, 0.63 against 0.70, is its lower run likewise.
        let flat = try shippedStep("llama-3.1-8b-a100.yaml", adding: "calibration: {bf16_gemm_tflops: []}")
        let flatSlower = try shippedStep("llama-3.1-8b-a100.yaml", adding: "calibration: {bf16_gemm_tflops: [], bf16_gemm_efficiency: 0.63}")
        let flatRows = try StepSensitivity.run(config: flat, calibration: shipped, perturbation: 0.1)
        let efficiency = try #require(flatRows.rows.first { $0.key == "calibration.bf16_gemm_efficiency" })
        #expect(efficiency.value == 0.7 && efficiency.evidence.contains("placeholder"))
        #expect(efficiency.stepLowerS == (try StepSimulation(config: flatSlower, calibration: shipped).run().stepTimeS))
        #expect(own.rows.first { $0.key == "calibration.fp8_wgrad_tflops_at_112_sms" }?.evidence.contains("trace") == true)
    }

    /// Llama 3.1 8B on A100 in BF16: no FP8 kernel, no MoE permute, so those figures leave the
    /// step unchanged to the bit, as does the flat BF16 efficiency the shipped rows replace;
    /// its GEMMs at the BF16 rows set most of the step (elasticity −0.70 measured 2026-11-25),
    /// attention next.
    @Test func denseBF16StepAnswersToTheBF16Table() throws {
        let s = try StepSensitivity.run(config: try shippedStep("llama-3.1-8b-a100.yaml"), calibration: try KernelCalibration.hopper(), perturbation: 0.1)
        // Every figure of the calibration file has its row (host's under the top-level key that
        // wins over it), and the fabric's three.
        let figures = KernelCalibration.Figure.allCases.map { $0 == .hostOperation ? $0.rawValue : "calibration." + $0.rawValue }
        #expect(Set(s.rows.map(\.key)) == Set(figures + ["hardware.nic_gbit_s", "hardware.scale_up_gb_s", "topology.latency_us"]))
        for key in ["calibration.fp8_dense_gemm_tflops", "calibration.fp8_grouped_gemm_tflops", "calibration.fp8_wgrad_tflops_at_112_sms",
                    "calibration.memory_bound_efficiency.permute", "calibration.bf16_gemm_efficiency"] {
            let row = try #require(s.rows.first { $0.key == key })
            #expect(!s.moves(row) && row.stepLowerS == s.stepS && row.elasticity == 0, "\(key)")
        }
        #expect(s.rows[0].key == "calibration.bf16_gemm_tflops")
        #expect(s.rows[0].elasticity > -0.9 && s.rows[0].elasticity < -0.55)
        // Largest |elasticity| first.
        #expect(zip(s.rows, s.rows.dropFirst()).allSatisfy { abs($0.elasticity) >= abs($1.elasticity) })
    }

    /// DeepSeek-V3: faster kernels never lengthen the step, and the compute figures' elasticities
    /// add up to about −1 (the step is compute-bound at the margin: measured −0.88, 2026-11-25,
    /// with the embedding table's dense gradients). Ranks 0 and 15, which run the two BF16 heads
    /// and the table's gradients beside their layers, pace the pipeline: the BF16 rows (−0.169:
    /// +0.35 s at −10 %, −0.28 s at +10 %) and the trace's FP8 weight-gradient rate (−0.167)
    /// lead. The NIC is the largest fabric figure (−0.11).
    @Test func deepSeekV3() throws {
        let config = try deepSeekStep()
        let s = try StepSensitivity.run(config: config, calibration: try KernelCalibration.hopper(), perturbation: 0.1)
        // The calibration's figures given as times (the shortest kernel, the router's top-k per
        // row, its bookkeeping per layer, the expert row map per row) lengthen the step as they
        // grow; the throughputs shorten it. The host's time per operation is a top-level key.
        let times = KernelCalibration.Figure.allCases.filter { ["µs", "ns"].contains($0.unit) && $0 != .hostOperation }.map { "calibration." + $0.rawValue }
        #expect(times.count == 4)
        // The shipped file has measured BF16 rows: the flat efficiency moves nothing.
        let flat = try #require(s.rows.first { $0.key == "calibration.bf16_gemm_efficiency" })
        #expect(flat.stepLowerS == s.stepS && flat.stepHigherS == s.stepS && flat.value == 0.7)
        // DeepSeek's recipe runs no MXFP8 or NVFP4 kernel: their figures move nothing.
        // Nor do the Blackwell tables on the H800.
        let shipped = try KernelCalibration.hopper()
        let blockScaled = ["calibration.mxfp8_gemm_rate_over_fp8_rows": 0.9326, "calibration.nvfp4_gemm_rate_over_fp8_rows": 1.819,
                           "calibration.nvfp4_cast_bandwidth_over_mxfp8": 0.737, "calibration.mxfp8_cast_efficiency": 0.958,
                           "calibration.bf16_gemm_tflops_blackwell": shipped.value(.blackwellBF16GEMMTable),
                           "calibration.fp8_gemm_tflops_blackwell": shipped.value(.blackwellFP8GEMMTable)]
        for (key, value) in blockScaled {
            let r = try #require(s.rows.first { $0.key == key })
            #expect(r.stepLowerS == s.stepS && r.stepHigherS == s.stepS && r.value == value)
        }
        let throughputs = s.rows.filter { $0.key.hasPrefix("calibration.") && !times.contains($0.key) && $0.key != flat.key && blockScaled[$0.key] == nil }
        #expect(throughputs.count == 11)
        for key in times where key != "calibration.minimum_kernel_us" {      // the shortest kernel may move nothing
            let r = try #require(s.rows.first { $0.key == key })
            #expect(r.stepLowerS < s.stepS && r.stepHigherS > s.stepS && r.elasticity > 0 && r.elasticity < 0.02, "\(key): \(r.elasticity)")
        }
        for r in throughputs { #expect(r.stepLowerS > s.stepS && r.stepHigherS < s.stepS, "\(r.key)") }
        let sum = throughputs.reduce(0) { $0 + $1.elasticity }
        #expect(sum > -1.05 && sum < -0.85, "\(sum)")
        // Ranks 0 and 15 bind the step: beside their layers they run the BF16 head and the
        // embedding table's gradients, so the BF16 table and the FP8 weight gradients lead.
        #expect(Set(s.rows.prefix(2).map(\.key)) == ["calibration.bf16_gemm_tflops", "calibration.fp8_wgrad_tflops_at_112_sms"])
        #expect(s.rows.prefix(2).allSatisfy { $0.elasticity > -0.2 && $0.elasticity < -0.15 })
        let table = try #require(s.rows.first { $0.key == "calibration.bf16_gemm_tflops" })
        #expect(table.stepLowerS - s.stepS > 0.2 && s.stepS - table.stepHigherS > 0.2)
        let nic = try #require(s.rows.first { $0.key == "hardware.nic_gbit_s" })
        #expect(nic.value == 400)
        #expect(nic.elasticity > -0.15 && nic.elasticity < -0.05)
        // A perturbation lies strictly between 0 and 100 %.
        #expect(throws: (any Error).self) { try StepSensitivity.run(config: config, calibration: try KernelCalibration.hopper(), perturbation: 1) }
        #expect(throws: (any Error).self) { try StepSensitivity.run(config: config, calibration: try KernelCalibration.hopper(), perturbation: 0) }
    }
}
