import Kernels

/// Forward and backward of one pipeline stage for one micro-batch: optionally the embedding
/// (first stage; its table's gradient last), a range of layers, optionally the final norm,
/// output head and loss (last stage), and optionally the MTP modules after the head (each with
/// its lookup's gradient into the shared embedding table). With all layers and both ends it is
/// the whole model.
public struct StagePass {
    public let arch: ModelArchitecture
    public let layers: [TransformerLayer]
    public let embedding: Bool
    public let head: Bool
    /// Run the multi-token-prediction modules after the head (they share embedding and head).
    public let mtp: Bool
    let headWeight: Weight
    let mtpProjection: Weight
    let mtpBlocks: [TransformerLayer]

    public init(arch: ModelArchitecture, layers range: Range<Int>, embedding: Bool, head: Bool, mtp: Bool = false,
                policy: PrecisionPolicy, recompute: RecomputePolicy? = nil, recomputeModules: Set<RecomputeModule> = []) throws {
        guard range.lowerBound >= 0, range.upperBound <= arch.layers else {
            throw KernelError("layers", "range \(range) outside 0..<\(arch.layers)", fix: "give layers of the model")
        }
        self.arch = arch
        layers = try range.map {
            try TransformerLayer(arch: arch, index: $0, policy: policy.layer($0, of: arch.layers), recompute: recompute, recomputeModules: recomputeModules)
        }
        self.embedding = embedding
        self.head = head
        headWeight = Weight("head", arch.hiddenSize, arch.vocabularySize, precision: policy.head)
        self.mtp = mtp && head && arch.mtpDepth > 0
        mtpProjection = Weight("mtp.eh_proj", 2 * arch.hiddenSize, arch.hiddenSize, precision: policy.linear)
        // The MTP block has the shape of the last layer; it is labelled with layer index L + k.
        mtpBlocks = try (0..<(self.mtp ? arch.mtpDepth : 0)).map {
            try TransformerLayer(arch: arch, index: arch.layers - 1, labelIndex: arch.layers + 1 + $0, policy: policy, recompute: recompute,
                                 recomputeModules: recomputeModules)
        }
    }

    /// Runs forward then backward for `tokens` tokens; `input` is the activation arriving from
    /// the previous stage (ignored on the first stage).
    public func run<E: Executor>(_ e: inout E, tokens: Int, input: E.Tensor? = nil, outputGradient: E.Tensor? = nil) -> E.Tensor? {
        e.pass = .forward
        e.recomputing = false
        var x: E.Tensor
        let embeds = embedding || input == nil
        if embeds {
            e.layer = -1
            e.block = .embedding
            x = e.embed(tokens, hidden: arch.hiddenSize, vocabulary: arch.vocabularySize)
        } else {
            x = input!
        }
        var tapes: [TransformerLayer.Tape<E>] = []
        for layer in layers {
            let r = layer.forward(&e, x)
            tapes.append(r.tape)
            x = r.out
        }
        var grad: E.Tensor
        var normed: E.Tensor?
        if head {
            e.layer = arch.layers
            e.block = .head
            e.pass = .forward
            normed = e.rmsNorm("final_norm", x)
            let logits = e.linear(headWeight, normed!)
            e.block = .loss
            let dLogits = e.crossEntropy(logits)
            e.block = .head
            e.pass = .backwardInput
            grad = e.rmsNormBackward("final_norm", x, e.linearDgrad(headWeight, dLogits))
            e.pass = .backwardWeight
            e.linearWgrad(headWeight, normed!, dLogits)
            for (k, block) in mtpBlocks.enumerated() {
                grad = e.add(grad, runMTP(&e, block, depth: k, mainHidden: x, tokens: tokens))
            }
        } else {
            grad = outputGradient ?? x
        }
        for (layer, tape) in zip(layers, tapes).reversed() {
            grad = layer.backward(&e, grad, tape: tape)
        }
        if embeds {
            // Autograd makes the table's gradient as the backward reaches it: it is no linear
            // layer's, whose weight gradients a split backward defers to its W pass.
            e.layer = -1
            e.block = .embedding
            e.pass = .backwardInput
            e.embedBackward(grad, vocabulary: arch.vocabularySize)
        }
        return grad
    }

    /// One MTP module (V3 report §2.2): RMSNorm of the main model's last hidden state and of the
    /// next token's embedding, concatenated and projected by M (2d → d), one Transformer block,
    /// the shared head and the loss; forward then backward. Returns the gradient it sends into
    /// the main model's last hidden state.
    func runMTP<E: Executor>(_ e: inout E, _ block: TransformerLayer, depth k: Int, mainHidden: E.Tensor, tokens: Int) -> E.Tensor {
        e.layer = block.labelIndex
        e.block = .embedding
        e.pass = .forward
        e.recomputing = false
        let embedded = e.embed(tokens, hidden: arch.hiddenSize, vocabulary: arch.vocabularySize)
        e.block = .attention
        let hNorm = e.rmsNorm("mtp.hnorm", mainHidden), eNorm = e.rmsNorm("mtp.enorm", embedded)
        let joined = e.concat(hNorm, eNorm)
        let projected = e.linear(mtpProjection, joined)
        let r = block.forward(&e, projected)
        e.layer = block.labelIndex
        e.block = .head
        e.pass = .forward
        let normed = e.rmsNorm("final_norm", r.out)
        let logits = e.linear(headWeight, normed)
        e.block = .loss
        let dLogits = e.crossEntropy(logits)
        e.block = .head
        e.pass = .backwardInput
        let dOut = e.rmsNormBackward("final_norm", r.out, e.linearDgrad(headWeight, dLogits))
        e.pass = .backwardWeight
        e.linearWgrad(headWeight, normed, dLogits)
        let dProjected = block.backward(&e, dOut, tape: r.tape)
        e.layer = block.labelIndex
        e.block = .attention
        e.pass = .backwardInput
        let dJoined = e.linearDgrad(mtpProjection, dProjected)
        let dH = e.rmsNormBackward("mtp.hnorm", mainHidden, e.columns(dJoined, 0..<arch.hiddenSize))
        let dEmbedded = e.rmsNormBackward("mtp.enorm", embedded, e.columns(dJoined, arch.hiddenSize..<(2 * arch.hiddenSize)))
        // The shared embedding table's gradient from this module's lookup (input backward, as
        // the first stage's).
        e.block = .embedding
        e.embedBackward(dEmbedded, vocabulary: arch.vocabularySize)
        e.block = .attention
        e.pass = .backwardWeight
        e.linearWgrad(mtpProjection, joined, dProjected)
        return dH
    }
}
