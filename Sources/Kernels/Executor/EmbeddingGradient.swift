/// How the embedding table's weight gradient is made from the gradients of the rows a micro-
/// batch looked up (`llmsim` key `optimizer.embedding_gradient`; `CostExecutor.embedBackward`).
///
/// - `dense`: as PyTorch's `F.embedding` (and Megatron-Core's `VocabParallelEmbedding`, whose
///   index lookup under its deterministic mode backpropagates the same way) makes it: a
///   gradient of the whole table (the GPU's vocabulary shard), zero-filled in the gradient's
///   BF16, into which the looked-up rows' gradients are summed (`embedding_backward_cuda_kernel`
///   in `aten/src/ATen/native/cuda/EmbeddingBackwardKernel.cu`: `at::zeros({num_weights, d})`,
///   per-segment partial sums in FP32, then their scatter into the rows), and then that table
///   added into the step's accumulated gradient. Every micro-batch moves the whole table, so
///   the cost scales with the vocabulary, not the tokens: for V3's 926.7M-parameter table,
///   12 B per parameter per micro-batch with FP32 gradients. Assumed for DeepSeek's training
///   (its framework is not public; Megatron-LM, TorchTitan and Hugging Face models all run this).
/// - `sparse`: as `F.embedding(sparse=True)` makes it: the rows' gradients and their indices
///   (a sparse tensor, its values a copy of the rows' gradients), added row by row into the
///   accumulated gradient (`index_add`), so only the looked-up rows move.
public enum EmbeddingGradient: String, Sendable, Equatable, CaseIterable {
    case dense
    case sparse
}
