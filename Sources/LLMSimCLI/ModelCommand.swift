import ArgumentParser
import Model

/// `llmsim model NAME-or-PATH`: parameter counts, training FLOPs per token and KV-cache size,
/// all computed from the architecture.
struct ModelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model",
        abstract: "Parameters, training FLOPs per token and KV cache of a model.",
        discussion: "NAME is one of Experiments/models/catalog.yaml (e.g. deepseek-v3) or a path to a Hugging Face config.json.")

    @Argument(help: "Model name from the catalog, or path to a config.json.")
    var model: String

    @Option(name: .customLong("seq-len"), help: "Sequence length for the FLOP count, tokens (default: the model's training length).")
    var seqLen: Int?

    @Flag(help: "Print JSON with stable keys.")
    var json = false

    struct Report: Encodable {
        struct FLOPs: Encodable {
            var causal: Double
            var noncausal: Double
            var linear: Double
            var attentionCausal: Double
        }
        struct MTPFLOPs: Encodable {
            var causal: Double
            var noncausal: Double
        }
        var name: String
        var modelType: String
        var layers: Int
        var denseLayers: Int
        var moeLayers: Int
        var hiddenSize: Int
        var totalParams: Int
        var activatedParams: Int
        var mtpParams: Int
        var mtpActivatedParams: Int
        var embeddingParams: Int
        var headParams: Int
        var routedExpertParams: Int
        var seqLen: Int
        var trainingFlopsPerToken: FLOPs
        var mtpTrainingFlopsPerToken: MTPFLOPs
        var kvCacheBytesPerToken: Int
        var source: String
    }

    func validate() throws {
        if let seqLen, seqLen <= 0 { throw ValidationError("--seq-len must be > 0, got \(seqLen)") }
    }

    func run() throws {
        try Output.reportingErrors { print(try output()) }
    }

    /// What the command prints.
    func output() throws -> String {
        let catalog = try ResourceLocator.models()
        let (arch, entry) = try catalog.resolve(model)
        let report = Self.report(arch, entry: entry, seqLen: seqLen ?? entry.trainingSequenceLength)
        return json ? try Output.json(report) : Self.text(report)
    }

    static func report(_ arch: ModelArchitecture, entry: ModelCatalog.Entry, seqLen: Int) -> Report {
        let p = arch.parameters
        let f = arch.trainingFLOPs(sequenceLength: seqLen)
        return Report(
            name: arch.name, modelType: arch.modelType, layers: arch.layers, denseLayers: arch.denseLayerCount,
            moeLayers: arch.moeLayerCount, hiddenSize: arch.hiddenSize,
            totalParams: p.total, activatedParams: p.activated, mtpParams: p.mtp, mtpActivatedParams: p.mtpActivated,
            embeddingParams: p.embedding, headParams: p.head, routedExpertParams: p.routedExperts, seqLen: seqLen,
            trainingFlopsPerToken: .init(causal: f.causal, noncausal: f.noncausal, linear: f.linear, attentionCausal: f.attentionCausal),
            mtpTrainingFlopsPerToken: .init(causal: f.mtpCausal, noncausal: f.mtpNoncausal),
            kvCacheBytesPerToken: arch.kvCacheBytesPerToken, source: entry.source)
    }

    static func text(_ r: Report) -> String {
        func billions(_ n: Int) -> String { Output.fixed(Double(n) / 1e9, 2) + " B params" }
        func gflop(_ x: Double) -> String { Output.fixed(x / 1e9, 1) + " GFLOP/token" }
        let rows: [[String]] = [
            ["model", "\(r.name) (\(r.modelType))"],
            ["layers", "\(r.layers) (\(r.denseLayers) dense, \(r.moeLayers) MoE)"],
            ["total parameters (main model)", billions(r.totalParams)],
            ["activated per token", billions(r.activatedParams)],
            ["MTP module (unique)", billions(r.mtpParams)],
            ["routed experts", billions(r.routedExpertParams)],
            ["training FLOPs, causal @ \(r.seqLen) tokens", gflop(r.trainingFlopsPerToken.causal)],
            ["training FLOPs, non-causal", gflop(r.trainingFlopsPerToken.noncausal)],
            ["  of which matrix products", gflop(r.trainingFlopsPerToken.linear)],
            ["MTP training FLOPs, causal", gflop(r.mtpTrainingFlopsPerToken.causal)],
            ["KV cache (BF16)", Output.grouped(r.kvCacheBytesPerToken) + " B/token"],
        ]
        return Output.table(rows, rightAlignedFrom: Output.allLeftAligned) + "\nsource: \(r.source)"
    }
}
