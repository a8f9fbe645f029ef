import Kernels

/// Forward and backward of one pipeline stage for one micro-batch: optionally the embedding
/// (first stage), a range of layers, optionally the final norm, output head and loss (last
/// stage). With all layers and both ends it is the whole model (MTP excluded; reported apart).
public struct StagePass {
    public let arch: ModelArchitecture
    public let layers: [DeepSeekLayer]
    public let embedding: Bool
    public let head: Bool
    let headWeight: Weight

    public init(arch: ModelArchitecture, layers range: Range<Int>, embedding: Bool, head: Bool, policy: PrecisionPolicy) throws {
        guard range.lowerBound >= 0, range.upperBound <= arch.layers else {
            throw KernelError("layers", "range \(range) outside 0..<\(arch.layers)", fix: "give layers of the model")
        }
        self.arch = arch
        layers = try range.map { try DeepSeekLayer(arch: arch, index: $0, policy: policy) }
        self.embedding = embedding
        self.head = head
        headWeight = Weight("head", arch.hiddenSize, arch.vocabularySize, precision: policy.head)
    }

    /// Runs forward then backward for `tokens` tokens; `input` is the activation arriving from
    /// the previous stage (ignored on the first stage).
    public func run<E: Executor>(_ e: inout E, tokens: Int, input: E.Tensor? = nil, outputGradient: E.Tensor? = nil) -> E.Tensor? {
        e.pass = .forward
        e.recomputing = false
        var x: E.Tensor
        if embedding || input == nil {
            e.layer = -1
            e.block = .embedding
            x = e.embed(tokens, hidden: arch.hiddenSize, vocabulary: arch.vocabularySize)
        } else {
            x = input!
        }
        var tapes: [DeepSeekLayer.Tape<E>] = []
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
        } else {
            grad = outputGradient ?? x
        }
        for (layer, tape) in zip(layers, tapes).reversed() {
            grad = layer.backward(&e, grad, tape: tape)
        }
        return grad
    }
}
