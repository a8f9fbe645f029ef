/// Narayanan et al., SC 2021, Table 1: Megatron-LM's weak-scaling series of GPT models on
/// Selene's A100s, from 1.7B on 32 GPUs to 1T on 3,072, all with vocabulary 51,200 and
/// sequence 2,048, TP up to 8 (the node), then PP; the achieved TFLOP/s per GPU is counted
/// with the paper's Eq. 3 (recomputation included). Each row's micro-batch size, schedule and
/// data-parallel implementation are those of the paper's own launch script
/// (NVIDIA/Megatron-LM `examples/sc21/run_table_1.sh`). `Experiments/megatron-weak-scaling.yaml`
/// is the same series as a sweep; `llmsim validate` checks each row.
public enum PublishedMegatronScaling {
    /// Sequence length (tokens) and vocabulary of every row.
    public static let sequence = 2048.0, vocabulary = 51_200.0

    public struct Row: Sendable, Equatable {
        /// Parameters, billions (as the table labels the row).
        public var billions: Double
        public var heads: Int, hidden: Int, layers: Int
        public var tp: Int, pp: Int, gpus: Int
        /// Global batch, sequences.
        public var batch: Int
        /// Achieved TFLOP/s per GPU.
        public var tflopsPerGPU: Double
        /// Sequences per micro-batch (`MBS` of run_table_1.sh).
        public var microbatchSequences: Int
        /// Layers per virtual pipeline stage for the interleaved schedule
        /// (`--num-layers-per-virtual-pipeline-stage`); nil: 1F1B.
        public var layersPerVirtualStage: Int? = nil
        /// PyTorch DDP (`DDP=torch`: the gradient all-reduce overlaps the last backward) rather
        /// than Megatron's local DDP (all-reduce after the backward).
        public var torchDDP = false
        /// Model chunks per rank of the interleaved schedule.
        public var virtualStages: Int? { layersPerVirtualStage.map { layers / pp / $0 } }

        /// The paper's Eq. 3 FLOPs of one iteration: 96·B·s·l·h²·(1 + s/6h + V/16lh).
        public var iterationFLOPs: Double {
            let s = PublishedMegatronScaling.sequence, v = PublishedMegatronScaling.vocabulary
            let h = Double(hidden), l = Double(layers)
            return 96 * Double(batch) * s * l * h * h * (1 + s / (6 * h) + v / (16 * l * h))
        }

        /// The step time the published throughput implies, seconds.
        public var stepSeconds: Double { iterationFLOPs / (tflopsPerGPU * 1e12 * Double(gpus)) }
    }

    public static let rows: [Row] = [
        Row(billions: 1.7, heads: 24, hidden: 2304, layers: 24, tp: 1, pp: 1, gpus: 32, batch: 512, tflopsPerGPU: 137, microbatchSequences: 16, torchDDP: true),
        Row(billions: 3.6, heads: 32, hidden: 3072, layers: 30, tp: 2, pp: 1, gpus: 64, batch: 512, tflopsPerGPU: 138, microbatchSequences: 16, torchDDP: true),
        Row(billions: 7.5, heads: 32, hidden: 4096, layers: 36, tp: 4, pp: 1, gpus: 128, batch: 512, tflopsPerGPU: 142, microbatchSequences: 16, torchDDP: true),
        Row(billions: 18.4, heads: 48, hidden: 6144, layers: 40, tp: 8, pp: 1, gpus: 256, batch: 1024, tflopsPerGPU: 135, microbatchSequences: 8, torchDDP: true),
        Row(billions: 39.1, heads: 64, hidden: 8192, layers: 48, tp: 8, pp: 2, gpus: 512, batch: 1536, tflopsPerGPU: 138, microbatchSequences: 4),
        Row(billions: 76.1, heads: 80, hidden: 10240, layers: 60, tp: 8, pp: 4, gpus: 1024, batch: 1792, tflopsPerGPU: 140, microbatchSequences: 2, layersPerVirtualStage: 5),
        Row(billions: 145.6, heads: 96, hidden: 12288, layers: 80, tp: 8, pp: 8, gpus: 1536, batch: 2304, tflopsPerGPU: 148, microbatchSequences: 2, layersPerVirtualStage: 5),
        Row(billions: 310.1, heads: 128, hidden: 16384, layers: 96, tp: 8, pp: 16, gpus: 1920, batch: 2160, tflopsPerGPU: 155, microbatchSequences: 1, layersPerVirtualStage: 3),
        Row(billions: 529.6, heads: 128, hidden: 20480, layers: 105, tp: 8, pp: 35, gpus: 2520, batch: 2520, tflopsPerGPU: 163, microbatchSequences: 1, layersPerVirtualStage: 1),
        Row(billions: 1008.0, heads: 160, hidden: 25600, layers: 128, tp: 8, pp: 64, gpus: 3072, batch: 3072, tflopsPerGPU: 163, microbatchSequences: 1),
    ]

    /// Whether a step configuration is this row's plan (model shape, TP, PP, GPUs, batch,
    /// micro-batch size, schedule, gradient overlap).
    public static func matches(_ row: Row, _ c: StepConfiguration) -> Bool {
        runsPlan(c, hidden: row.hidden, layers: row.layers, heads: row.heads, tp: row.tp, pp: row.pp, gpus: row.gpus, batch: row.batch,
                 microbatchSequences: row.microbatchSequences, virtualStages: row.virtualStages)
            && c.overlapGradReduce == row.torchDDP
    }

    /// Whether `c` runs a published Megatron GPT plan: the model's shape, TP, PP, GPUs, a
    /// global batch of `batch` sequences of 2,048 tokens in micro-batches of
    /// `microbatchSequences`, and the schedule (interleaved with `virtualStages` model chunks
    /// per rank, 1F1B without).
    static func runsPlan(_ c: StepConfiguration, hidden: Int, layers: Int, heads: Int, tp: Int, pp: Int, gpus: Int, batch: Int,
                         microbatchSequences: Int, virtualStages: Int?) -> Bool {
        let schedule = virtualStages.map { c.schedule == .interleaved && c.virtualStages == $0 } ?? (c.schedule == .oneFOneB)
        return c.model.hiddenSize == hidden && c.model.layers == layers && c.model.attention.heads == heads
            && c.tp == tp && c.pp == pp && c.gpus == gpus && Double(c.globalBatchTokens) == Double(batch) * sequence
            && c.microbatchSequences == microbatchSequences && c.sequenceTokens == Int(sequence) && schedule
    }
}

/// The published Megatron-LM 1T-parameter GPT run (Narayanan et al., "Efficient Large-Scale
/// Language Model Training on GPU Clusters Using Megatron-LM", SC 2021): 502 PFLOP/s on 3,072
/// A100s, 52% of peak (abstract); its shape and plan are Table 1's last row. Used by
/// `llmsim validate` and beside `Experiments/megatron-1t-a100.yaml`; tests keep their own literals.
public enum PublishedMegatron1T {
    public static let row = PublishedMegatronScaling.rows.last!
    public static let aggregateFLOPS = 502e15

    /// The step time the abstract's aggregate throughput implies, seconds (≈102.4 s; the
    /// table's rounded 163 TFLOP/s per GPU implies 102.6 s).
    public static var stepSeconds: Double { row.iterationFLOPs / aggregateFLOPS }
}
