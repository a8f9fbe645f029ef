/// HBM needed to serve a model: weights in the checkpoint's formats, the KV cache, and a
/// workspace reserve.
///
/// Formats as DeepSeek ships V3/R1 (README_WEIGHTS): Linear weights in FP8 E4M3 with one FP32
/// scale per 128×128 block (4 B per 16,384 weights); embedding, output head, norms and the MoE
/// gate in BF16. The MTP module is part of the released checkpoint (685B = 671B + 14B, its own
/// embedding and head copies included) and is served with it (`includeMTP`). KV cache in BF16
/// (`kvCacheBytesPerToken`; a sliding-window layer keeps only its window, `kvCacheBytes(context:)`).
/// BF16 serving keeps every weight in BF16.
public struct InferenceMemory: Sendable, Codable, Equatable {
    public var weightBytes: Double
    public var kvCacheBytes: Double
    public var workspaceBytes: Double
    public var totalBytes: Double

    /// Activations and runtime workspace, as a share of the weights: 5% (assumption; vLLM-style
    /// servers reserve a few percent beyond weights and KV for activations and CUDA graphs).
    public static let workspaceShare = 0.05

    public static func compute(_ arch: ModelArchitecture, fp8: Bool, batch: Int, context: Int, includeMTP: Bool = true) -> InferenceMemory {
        let p = arch.parameters
        let norms = Double(arch.hiddenSize) * Double(2 * arch.layers + 1)
        let gates = Double(arch.moeLayerCount * arch.gateParameters)
        var bf16 = Double(p.embedding + p.head) + norms + gates
        var linear = Double(p.total) - bf16
        if includeMTP && arch.mtpDepth > 0 {
            // MTP: its block and projection are Linear weights; the checkpoint carries its own
            // copies of embedding and head, and two norms plus a final norm per module.
            let mtpNorms = Double(arch.mtpDepth * 5 * arch.hiddenSize)
            linear += Double(p.mtp) - mtpNorms - Double(arch.mtpDepth * arch.gateParameters)
            bf16 += Double(arch.mtpDepth) * Double(p.embedding + p.head) + mtpNorms + Double(arch.mtpDepth * arch.gateParameters)
        }
        let weights = fp8 ? linear * (1 + 4.0 / 16_384) + bf16 * 2 : (linear + bf16) * 2
        let kv = Double(batch) * arch.kvCacheBytes(context: context)
        let workspace = weights * workspaceShare
        return InferenceMemory(weightBytes: weights, kvCacheBytes: kv, workspaceBytes: workspace, totalBytes: weights + kv + workspace)
    }
}
