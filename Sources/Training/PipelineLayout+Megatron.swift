import Schedules

/// How Megatron-Core places the layers on the pipeline when no layout is written
/// (`get_num_layers_to_build` in `megatron/core/transformer/transformer_block.py`), shaped by its
/// four settings:
/// - `account_for_embedding_in_pipeline_split` / `account_for_loss_in_pipeline_split`: the
///   embedding (the loss) counts as a layer, so the model's layers plus one or two are split
///   evenly over the PP × VP chunks and the first (last) chunk builds one transformer layer
///   fewer — Megatron-Bridge's Llama 3.1 405B and Qwen3 MoE recipes set both;
/// - `num_layers_in_first_pipeline_stage` / `num_layers_in_last_pipeline_stage`: the first
///   (last) rank takes that many layers, the other ranks the rest evenly; with virtual stages
///   each rank's layers are split evenly over its chunks. Megatron refuses the two kinds
///   together.
/// Without any, every chunk takes layers / (PP × VP), as llmsim's uniform split does.
public struct MegatronPipelineSplit: Sendable, Equatable {
    public var accountForEmbedding = false, accountForLoss = false
    public var firstStageLayers: Int?, lastStageLayers: Int?

    public init(accountForEmbedding: Bool = false, accountForLoss: Bool = false, firstStageLayers: Int? = nil, lastStageLayers: Int? = nil) {
        self.accountForEmbedding = accountForEmbedding; self.accountForLoss = accountForLoss
        self.firstStageLayers = firstStageLayers; self.lastStageLayers = lastStageLayers
    }

    /// Whether any of the four settings is given.
    public var isSet: Bool { accountForEmbedding || accountForLoss || firstStageLayers != nil || lastStageLayers != nil }

    /// Transformer layers on each of the PP × `vp` chunks, in model order (chunk k on rank k mod
    /// PP), with Megatron's checks as errors.
    public func chunkLayers(layers: Int, pp: Int, vp: Int) throws -> [Int] {
        func fail(_ problem: String, _ fix: String) -> ScheduleError { ScheduleError(problem: problem, fix: fix) }
        let uneven = firstStageLayers != nil || lastStageLayers != nil
        var perRank: [Int]
        if uneven {
            guard !accountForEmbedding, !accountForLoss else {
                throw fail("Megatron places the embedding and loss in the split only with even stages, not with num_layers_in_first/last_pipeline_stage",
                           "give either the account_for_* settings or the first/last stage's layers")
            }
            guard pp > 1 else { throw fail("num_layers_in_first/last_pipeline_stage need a pipeline", "set pp above 1, or remove them") }
            var rest = layers, left = pp
            for n in [firstStageLayers, lastStageLayers].compactMap({ $0 }) { rest -= n; left -= 1 }
            guard rest >= 0, left > 0 ? rest % left == 0 : rest == 0 else {
                throw fail(left > 0 ? "\(rest) layers left for \(left) middle ranks do not divide evenly (Megatron's check)"
                                    : "the first and last stages hold \(layers - rest) of the \(layers) layers",
                           "choose first and last stages' layers that leave a multiple of \(max(left, 1)) layers")
            }
            perRank = Array(repeating: left > 0 ? rest / left : 0, count: pp)
            if let n = firstStageLayers { perRank[0] = n }
            if let n = lastStageLayers { perRank[pp - 1] = n }
        } else {
            let counted = layers + (accountForEmbedding ? 1 : 0) + (accountForLoss ? 1 : 0)
            guard counted % pp == 0 else {
                throw fail("\(counted) layers (the embedding and loss counted as the settings ask) do not divide over PP \(pp) (Megatron's check)",
                           "choose a PP dividing \(counted), or write parallel.pipeline_layout")
            }
            perRank = Array(repeating: counted / pp, count: pp)
        }
        if vp > 1, let bad = perRank.first(where: { $0 % vp != 0 }) {
            throw fail("\(bad) layers on a rank do not divide over its \(vp) virtual stages (Megatron's check)",
                       "choose virtual_stages dividing each rank's layers, or write parallel.pipeline_layout")
        }
        var chunks = (0..<(pp * vp)).map { perRank[$0 % pp] / vp }
        if accountForEmbedding { chunks[0] -= 1 }
        if accountForLoss { chunks[chunks.count - 1] -= 1 }
        guard chunks.allSatisfy({ $0 >= 0 }) else {
            throw fail("not enough layers for the first or last chunk once the embedding or loss counts as one (Megatron's check)",
                       "use fewer pipeline chunks")
        }
        return chunks
    }

    /// The layout Megatron builds, in its notation (consecutive equal chunks grouped), with the
    /// embedding first and the MTP modules and loss last.
    public func layout(layers: Int, pp: Int, vp: Int, mtpDepth: Int) throws -> PipelineLayout {
        let counts = try chunkLayers(layers: layers, pp: pp, vp: vp)
        let chunks = counts.enumerated().map { k, n in
            (k == 0 ? "E" : "") + (n > 1 ? "t*\(n)" : n == 1 ? "t" : "") + (k == counts.count - 1 ? String(repeating: "m", count: mtpDepth) + "L" : "")
        }
        var runs: [(chunk: String, count: Int)] = []
        for c in chunks { if runs.last?.chunk == c { runs[runs.count - 1].count += 1 } else { runs.append((c, 1)) } }
        let text = runs.enumerated().map { i, run in
            let last = i == runs.count - 1
            if run.count == 1 { return run.chunk + (last ? "" : "|") }
            return last ? "(\(run.chunk)|)*\(run.count - 1)\(run.chunk)" : "(\(run.chunk)|)*\(run.count)"
        }.joined()
        return try PipelineLayout(parsing: text)
    }
}
