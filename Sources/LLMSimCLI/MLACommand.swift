import ArgumentParser
import Kernels

/// `llmsim mla check`: MLA's naive and absorbed forms agree; KV-cache size and FLOPs per token.
struct MLACommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "mla", abstract: "Multi-head Latent Attention checks.",
                                                    subcommands: [Check.self])

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run DeepSeek-V3's MLA at full width in naive and absorbed form and compare.")

        @Option(help: "Tokens to run (full width: 7,168 hidden, 128 heads).") var tokens = 4
        @Option(help: "Context length for the FLOP figures, tokens.") var context = 4096
        @Option(help: "Seed of weights and inputs.") var seed: UInt64 = 1
        @Flag(help: "Print JSON with stable keys.") var json = false

        func run() throws { try Output.reportingErrors { print(try output()) } }

        func output() throws -> String {
            let r = try MLACheck(tokens: tokens, seed: seed, context: context).run()
            if json { return try Output.json(r) }
            return Output.table([
                ["tokens (full DeepSeek-V3 width)", "\(r.tokens)"],
                ["absorbed vs naive, max relative error", String(format: "%.3e", r.absorbedVsNaiveMaxRelativeError)],
                ["KV cache (BF16, 61 layers)", Output.grouped(r.kvCacheBytesPerToken) + " B/token"],
                ["prefill FLOPs per token per layer (naive, causal, \(r.context) context)", Output.fixed(r.prefillFlopsPerTokenPerLayer / 1e6, 1) + " MFLOP"],
                ["decode FLOPs per token per layer (absorbed, \(r.context) context)", Output.fixed(r.decodeFlopsPerTokenPerLayer / 1e6, 1) + " MFLOP"],
            ], rightAlignedFrom: Output.allLeftAligned) + "\npublished: KV cache 70,272 B/token (ISCA 2025 Table 1)"
        }
    }
}
