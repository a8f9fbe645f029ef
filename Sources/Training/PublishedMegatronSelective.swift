/// Korthikanti et al., "Reducing Activation Recomputation in Large Transformer Models" (MLSys
/// 2023, arXiv:2205.05198): one iteration of four GPT models on Selene's A100s, without data
/// parallelism, with full recomputation and no sequence parallelism, and with sequence
/// parallelism and selective recomputation ("present work"), Table 5; the plans are Table 3
/// (TP 8, sequence 2,048, vocabulary 51,200) and §6 (the interleaved schedule with three model
/// chunks per rank for 175B and 530B). `Experiments/megatron-selective-recompute.yaml` is the
/// same eight runs as a sweep (the four full-recomputation runs, then the four others);
/// `llmsim validate` checks each.
public enum PublishedMegatronSelective {
    public struct Row: Sendable, Equatable {
        /// Parameters, billions (as the table labels the row).
        public var billions: Double
        public var heads: Int, hidden: Int, layers: Int
        public var pp: Int, gpus: Int
        /// Global batch and micro-batch, sequences.
        public var batch: Int, microbatchSequences: Int
        /// Model chunks per rank of the interleaved schedule (nil: 1F1B).
        public var virtualStages: Int?
        /// Iteration seconds, Table 5: full recomputation; sequence parallelism with selective
        /// recomputation.
        public var fullRecomputeSeconds: Double, presentWorkSeconds: Double
    }

    public static let tp = 8
    public static let rows: [Row] = [
        Row(billions: 22, heads: 64, hidden: 6144, layers: 48, pp: 1, gpus: 8, batch: 4, microbatchSequences: 4, virtualStages: nil,
            fullRecomputeSeconds: 1.42, presentWorkSeconds: 1.10),
        Row(billions: 175, heads: 96, hidden: 12288, layers: 96, pp: 8, gpus: 64, batch: 64, microbatchSequences: 1, virtualStages: 3,
            fullRecomputeSeconds: 18.13, presentWorkSeconds: 13.75),
        Row(billions: 530, heads: 128, hidden: 20480, layers: 105, pp: 35, gpus: 280, batch: 280, microbatchSequences: 1, virtualStages: 3,
            fullRecomputeSeconds: 49.05, presentWorkSeconds: 37.83),
        Row(billions: 1000, heads: 160, hidden: 25600, layers: 128, pp: 64, gpus: 512, batch: 512, microbatchSequences: 1, virtualStages: nil,
            fullRecomputeSeconds: 94.42, presentWorkSeconds: 71.49),
    ]

    /// Whether a step configuration is this row's plan, with full recomputation (`full`) or
    /// sequence parallelism and selective recomputation.
    public static func matches(_ row: Row, full: Bool, _ c: StepConfiguration) -> Bool {
        let technique = full ? c.effectiveRecompute == .full && !c.sequenceParallel : c.effectiveRecompute == .selective && c.sequenceParallel
        return PublishedMegatronScaling.runsPlan(c, hidden: row.hidden, layers: row.layers, heads: row.heads, tp: tp, pp: row.pp, gpus: row.gpus,
                                                 batch: row.batch, microbatchSequences: row.microbatchSequences, virtualStages: row.virtualStages)
            && c.dp == 1 && technique && c.tensorParallelOverlap == .backward && c.attentionKernel == .unfused
    }
}
