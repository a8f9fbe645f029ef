import Hardware
import Kernels

/// What the last pipeline stage keeps per micro-batch for the backward of the output head, the
/// loss and the MTP modules, beside its layers' own inventories (`ActivationInventory.layer`),
/// and the loss's transient peak. The model's outputs are BF16 (2 B), the head included (V3
/// keeps its head in BF16, report §3.3.1; Transformer Engine's FP8 recipes leave the output
/// layer in BF16).
///
/// Per head pass (the main model's, and each MTP module's own pass through the shared head: V3
/// report §2.2, the MTP losses are computed in the forward and backpropagated with the rest, so
/// their logits are held in between):
/// - the final RMSNorm's input, and its output, the head's input (recomputed under DeepSeek's
///   savings, as every norm output is), both split over the sequence-parallel group
///   (Megatron's output layer saves its input before the sequence all-gather);
/// - what the loss keeps per logit (`CrossEntropyKernels.keptBytesPerLogit`) over the micro-
///   batch's tokens × the GPU's vocabulary shard (the head is vocabulary-parallel under TP).
///
/// Per MTP module also: the next tokens' embedding (its norm's input), the concatenation of the
/// two norm outputs (the 2d input of the projection's weight gradient; recomputed under
/// DeepSeek's savings), and one block of the last layer's shape (`mtpBlockBytes`, the shape
/// `StagePass` runs). The main model's last hidden state, which the module's first norm reads,
/// is the final norm's input, already counted.
///
/// Full recomputation reruns the Transformer blocks only: the head, the loss and the MTP
/// inputs are kept as they are.
///
/// `eagerHeadBackward` (sequences split into chunks, which are backpropagated last chunk
/// first, so every chunk of a sequence is in flight at once): a chunk's loss needs nothing from
/// the later chunks, so its head and loss are backpropagated as soon as its forward ends and
/// what it keeps per head pass is the gradient into that pass's last hidden state (BF16, split
/// like the hidden state) instead of the norm's tensors and the logits. Holding every chunk's
/// logits would need, for V3 at 128K tokens, 128 chunks × 2 passes × 1,024 × 129,280 logits ×
/// 2 B = 68 GB. (The step's timeline still runs the head's backward kernels in the chunk's
/// backward: the same work, placed later.) The MTP block cannot be backpropagated early (its
/// attention's keys receive gradients from the later chunks) and keeps its inventory.
public struct HeadActivations: Sendable, Equatable {
    /// What one micro-batch keeps, bytes, item by item (zero items left out).
    public var items: [ActivationInventory.Item]
    /// Bytes the loss holds above what it keeps while it runs (its backward's start: eager's
    /// gradient buffers), once per rank that runs the last stage (one loss runs at a time).
    public var lossTransientBytes: Double

    /// What one MTP module keeps per micro-batch, bytes (0 without MTP): all of it freed by
    /// the time the module's backward reaches its embedding lookup.
    public var mtpModuleBytes: Double
    /// The sum of `items`, bytes per micro-batch in flight on the last stage.
    public var keptBytes: Double { items.totalBytes }
    /// The term's name: "head, loss" and, with MTP modules, "and MTP".
    public var title: String

    /// `arch` is the GPU's TP shard (its `vocabularySize` the vocabulary shard); `tokens` the
    /// micro-batch's tokens on the GPU (after context parallelism); `sequenceSplit` the
    /// sequence-parallel group (1 without); `recomputedNorms` DeepSeek's savings.
    public init(_ arch: ModelArchitecture, tokens: Int, sequenceSplit: Int, recomputedNorms: Bool,
                crossEntropy: CrossEntropyKernels, mtpBlockBytes: Double, eagerHeadBackward: Bool = false) {
        let format = Precision.bf16.wholeBytes
        let T = Double(tokens), hidden = Double(tokens * arch.hiddenSize * format) / Double(sequenceSplit)
        let logits = T * Double(arch.vocabularySize)
        let kept = logits * Double(crossEntropy.keptBytesPerLogit(format: format))
        let normed = recomputedNorms ? 0 : hidden
        func head(_ name: String) -> [ActivationInventory.Item] {
            if eagerHeadBackward { return [ActivationInventory.Item(name: "\(name) gradient of the last hidden state (BF16, head and loss backpropagated early)", bytes: hidden)] }
            return [ActivationInventory.Item(name: "\(name) final norm input (BF16)", bytes: hidden),
             ActivationInventory.Item(name: "\(name) head input, the final norm output (BF16)", bytes: normed),
             ActivationInventory.Item(name: "\(name) logits kept by the loss (cross_entropy: \(crossEntropy.rawValue))", bytes: kept)]
        }
        func module(_ name: String) -> [ActivationInventory.Item] {
            [ActivationInventory.Item(name: "\(name) next tokens' embedding (BF16)", bytes: hidden),
             ActivationInventory.Item(name: "\(name) concatenated norm outputs (BF16)", bytes: 2 * normed),
             ActivationInventory.Item(name: "\(name) block (the last layer's inventory)", bytes: mtpBlockBytes)] + head(name)
        }
        let items = head("main:") + (0..<arch.mtpDepth).flatMap { module("MTP \($0 + 1):") }
        mtpModuleBytes = arch.mtpDepth > 0 ? module("MTP").totalBytes : 0
        self.items = items.filter { $0.bytes > 0 }
        title = arch.mtpDepth > 0 ? "head, loss and MTP" : "head, loss"
        lossTransientBytes = logits * Double(crossEntropy.peakBytesPerLogit(format: format) - crossEntropy.keptBytesPerLogit(format: format))
    }
}
