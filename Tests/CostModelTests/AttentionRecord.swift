@testable import Kernels

/// A fused attention record of 1 TFLOP over 4,096 × 4,096 causal scores and 32 heads at the
/// given head dimensions: what the attention pricing tests feed the cost model.
func attentionRecord(backward: Bool, qk: Int = 128, v: Int = 128) -> OperationRecord {
    let shape = OperationRecord.AttentionShape(queries: 4096, keys: 4096, heads: 32, qkDim: qk, vDim: v, causal: true)
    return OperationRecord(name: "attn", kind: backward ? .attentionBackward : .attention, pass: backward ? .backwardInput : .forward,
                           block: .attention, layer: 0, flops: 1e12, modelFLOPs: 1e12, bytesRead: 0, bytesWritten: 0,
                           precision: .bf16, gemm: nil, attention: shape, traffic: nil, recompute: false)
}
