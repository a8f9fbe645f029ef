import ArgumentParser
import Kernels

/// `llmsim fp8 gemm`: the accuracy of an FP8 GEMM with Hopper's limited accumulation, with and
/// without DeepSeek-V3's promotion to FP32.
struct FP8Command: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fp8", abstract: "FP8 numerics as DeepSeek-V3 trains with them.",
        subcommands: [GEMM.self])

    struct GEMM: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Emulate an FP8 GEMM (E4M3, 1×128 / 128×128 scaling) and report its error against FP64.")

        @Option(help: "Rows of A (tokens).") var m = 256
        @Option(help: "Columns of B (output features); a multiple of 128.") var n = 128
        @Option(help: "Inner dimension; a multiple of 128.") var k = 4096
        @Option(help: "limited (Hopper FP22 accumulator only) or promoted (to FP32 every --interval elements).")
        var accumulator: String = "limited"
        @Option(help: "Promotion interval N_C in elements of K (multiple of 32).") var interval = 128
        @Option(help: "Scale one channel of every 8th activation row by this factor (0 = no outliers).") var outliers = 0.0
        @Option(help: "Seed of the random inputs.") var seed: UInt64 = 1
        @Flag(help: "Print JSON with stable keys.") var json = false

        func run() throws {
            try Output.reportingErrors { print(try output()) }
        }

        func output() throws -> String {
            let accumulation: Accumulation
            switch accumulator {
            case "limited": accumulation = .limited
            case "promoted": accumulation = .promoted(interval: interval)
            default: throw KernelError("--accumulator", "'\(accumulator)' is not known", fix: "use limited or promoted")
            }
            let r = try FP8GEMMExperiment(m: m, n: n, k: k, accumulation: accumulation, seed: seed, outlierMagnitude: outliers).run()
            if json { return try Output.json(r) }
            let pct = { (x: Double) in Output.fixed(x * 100, 4) + " %" }
            return Output.table([
                ["GEMM", "\(r.m) × \(r.n) × \(r.k) (M × N × K), E4M3"],
                ["accumulator", r.promotionInterval.map { "FP22, promoted to FP32 every \($0) elements" } ?? "limited (FP22, 13 fraction bits, never promoted)"],
                ["max relative error", pct(r.maxRelativeError)],
                ["mean relative error", pct(r.meanRelativeError)],
                ["quantisation error, 1×128 / 128×128", pct(r.quantizationRelativeError)],
                ["quantisation error, per tensor", pct(r.perTensorQuantizationRelativeError)],
                ["quantisation error, MXFP8 1×32 (E8M0)", pct(r.microscalingQuantizationRelativeError)],
            ], rightAlignedFrom: Output.allLeftAligned) + "\nerror: \(r.errorDefinition)\npublished (V3 report §3.3.2): K = 4096, limited accumulation → max relative error nearly 2%"
        }
    }
}
