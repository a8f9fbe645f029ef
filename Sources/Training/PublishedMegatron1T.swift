/// The published Megatron-LM 1T-parameter GPT run (Narayanan et al., "Efficient Large-Scale
/// Language Model Training on GPU Clusters Using Megatron-LM", SC 2021): 502 PFLOP/s on 3,072
/// A100s, 52% of peak (abstract); Table 1's row: 128 layers, hidden 25,600, 160 heads,
/// vocabulary 51,200, sequence 2,048, TP 8, PP 64, batch 3,072. Used by `llmsim validate` and
/// beside `Experiments/megatron-1t-a100.yaml`; tests keep their own literals.
public enum PublishedMegatron1T {
    public static let aggregateFLOPS = 502e15
    public static let gpus = 3072
    public static let batch = 3072.0, sequence = 2048.0, layers = 128.0, hidden = 25_600.0, vocabulary = 51_200.0

    /// FLOPs per iteration as the paper counts them (its Eq. 3, with activation recomputation:
    /// 96·B·s·l·h²·(1 + s/6h + V/16lh)).
    public static var iterationFLOPs: Double {
        96 * batch * sequence * layers * hidden * hidden * (1 + sequence / (6 * hidden) + vocabulary / (16 * layers * hidden))
    }

    /// The step time the published throughput implies, seconds (≈102.4 s).
    public static var stepSeconds: Double { iterationFLOPs / aggregateFLOPS }
}
