import Testing
@testable import Kernels

/// Transformer Engine's kernels around the context-parallel ring (`CostExecutor+ContextParallel`):
/// the K/V send buffer, the partial outputs merged by their log-sum-exp, the gradients
/// accumulated step by step.
@Suite struct ContextParallelMergeTests {
    /// One attention core of t = 4,096 local rows, 16 query heads and 1 K/V head of 128 (the
    /// 405B layer at TP 8), forward and backward, on a CP group of `cp`.
    func records(cp: Int) -> [OperationRecord] {
        var e = CostExecutor(traffic: .local(expertRows: []))
        e.contextParallel = cp
        let t = 4096, q = ShapeTensor(rows: t, cols: 16 * 128, id: -1), k = ShapeTensor(rows: t, cols: 128, id: -2), v = ShapeTensor(rows: t, cols: 128, id: -3)
        let o = e.attention(q, k, v, heads: 16, kvHeads: 1, window: nil)
        e.pass = .backwardInput
        _ = e.attentionBackward(q, k, v, o, heads: 16, kvHeads: 1, window: nil)
        return e.records.filter { $0.name.contains("cp_merge") }
    }

    /// By hand, BF16, O = 4,096 × 16 × 128 output (and query-gradient) elements, KV = 4,096 ×
    /// 256: a GPU merges on average (CP + 1)/2 whole and (CP − 1)/2 half outputs, W = 1.75 whole
    /// ones at CP 2 and 3.25 at CP 4. Forward: K and V concatenated (2 + 2 B each), the first
    /// merge read and written (2 + 2 B), each later one two reads and a write (6 B): 2·(2 KV +
    /// 2 O + 3 O (W − 1)) B. Backward: K and V copied, the first gradients copied, the later
    /// ones added: 2·(2 KV + 2 (O + KV) + 3 (O + KV)(W − 1)) B. Without CP, nothing.
    @Test(arguments: [(2, 1.75), (4, 3.25)])
    func bytesByHand(cp: Int, whole: Double) throws {
        let o = 4096.0 * 16 * 128, kv = 4096.0 * 256
        let r = records(cp: cp)
        #expect(r.count == 2)
        let forward = try #require(r.first { $0.pass == .forward }), backward = try #require(r.first { $0.pass != .forward })
        #expect(forward.bytesRead + forward.bytesWritten == 2 * (2 * kv + 2 * o + 3 * o * (whole - 1)))
        #expect(backward.bytesRead + backward.bytesWritten == 2 * (2 * kv + 2 * (o + kv) + 3 * (o + kv) * (whole - 1)))
        #expect(records(cp: 1).isEmpty)
    }
}
