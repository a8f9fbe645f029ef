/// An overlapped forward-and-backward chunk pair on every GPU of an EP group at once, each GPU
/// with its own expert rows.
///
/// `LayerTimes.overlappedForwardBackward` times a pair on one GPU, the busiest, as if it were
/// busiest in every block of every layer. Under uneven routing that overstates the pair: the
/// busiest GPU changes from layer to layer and from micro-batch to micro-batch (the forward and
/// the backward chunk carry different micro-batches), and DeepSeek's pair leaves the
/// communication stream idle half the time, so a GPU that finishes its expert GEMMs early just
/// waits longer in the next all-to-all's notify step while the late one catches up. DeepSeek's
/// training trace shows exactly that: the traced GPU's routed rows vary by 8 % from layer to
/// layer (`docs/checks/trace_expert_rows.py`), its two compute streams stay 96 % busy, and its
/// communication stream spends 32.6 ms of the 129 ms pair in notify kernels waiting for peers.
///
/// Model (max-plus, per GPU g, per layer pair in DeepSeek's order; the trace's streams):
/// - compute stream: attn(F) after the previous combine(F) lands; mlp(B) after combine(B);
///   mlp(W), then mlp(F) after dispatch(F); attn(B) after dispatch(B), then attn(W);
/// - communication stream, one all-to-all at a time: combine(B) (its gradients come from the
///   previous layer pair's attn(B)), dispatch(F) (after attn(F)), dispatch(B) (after mlp(B)),
///   combine(F) (after mlp(F)). An all-to-all moves its data once every GPU has reached it (the
///   notify step exchanges counts with every peer) and then takes its transfer time, the same
///   for the whole group, so it lands everywhere at once.
/// The chunk pair starts with every GPU ready and ends when every GPU has finished its compute
/// and the last combine has landed. With equal rows on every GPU, and compute outlasting the
/// all-to-all beside it in every slot (V3's case), it is `LayerTimes.overlapSlotSum` per layer
/// (tested); where an all-to-all outlasts its slot, the streams
/// run ahead of the slots' lockstep and the span is shorter.
public enum EPGroupOverlap {
    /// One layer pair: the blocks every GPU runs alike and the expert blocks per GPU, seconds.
    public struct LayerPair: Sendable, Equatable {
        public var attentionForward: Double
        public var attentionBackwardInput: Double
        public var attentionBackwardWeight: Double
        /// Per GPU of the group: the forward chunk's micro-batch (mlp(F)) and the backward
        /// chunk's (mlp(B), mlp(W)).
        public var mlpForward: [Double], mlpBackwardInput: [Double], mlpBackwardWeight: [Double]
        /// Transfer times of the four all-to-alls (the forward's from the forward micro-batch's
        /// routing, the backward's from the backward one's).
        public var combineBackward: Double, dispatchForward: Double, dispatchBackward: Double, combineForward: Double

        public init(attentionForward: Double, attentionBackwardInput: Double, attentionBackwardWeight: Double,
                    mlpForward: [Double], mlpBackwardInput: [Double], mlpBackwardWeight: [Double],
                    combineBackward: Double, dispatchForward: Double, dispatchBackward: Double, combineForward: Double) {
            precondition(mlpForward.count == mlpBackwardInput.count && mlpForward.count == mlpBackwardWeight.count && !mlpForward.isEmpty,
                         "one expert-block time per GPU of the group")
            self.attentionForward = attentionForward; self.attentionBackwardInput = attentionBackwardInput
            self.attentionBackwardWeight = attentionBackwardWeight
            self.mlpForward = mlpForward; self.mlpBackwardInput = mlpBackwardInput; self.mlpBackwardWeight = mlpBackwardWeight
            self.combineBackward = combineBackward; self.dispatchForward = dispatchForward
            self.dispatchBackward = dispatchBackward; self.combineForward = combineForward
        }
    }

    /// Seconds from the chunk pair's start, every GPU ready, until every GPU has finished its
    /// compute and the last combine has landed.
    public static func span(_ layers: [LayerPair]) -> Double {
        guard let gpus = layers.first?.mlpForward.count else { return 0 }
        var compute = [Double](repeating: 0, count: gpus)
        var attentionBackwardDone = [Double](repeating: 0, count: gpus)
        var combineForwardLanded = 0.0   // also when the communication stream is next free
        for l in layers {
            precondition(l.mlpForward.count == gpus, "every layer pair on the same GPUs")
            // combine(B): each GPU sends the gradients its previous attn(B) produced.
            let combineBackwardLanded = max(combineForwardLanded, attentionBackwardDone.max()!) + l.combineBackward
            // attn(F) once the previous layer's combine(F) has landed; then dispatch(F).
            var latest = combineBackwardLanded
            for g in 0..<gpus {
                compute[g] = max(compute[g], combineForwardLanded) + l.attentionForward
                latest = max(latest, compute[g])
            }
            let dispatchForwardLanded = latest + l.dispatchForward
            // mlp(B) once combine(B) has landed; then dispatch(B).
            latest = dispatchForwardLanded
            for g in 0..<gpus {
                compute[g] = max(compute[g], combineBackwardLanded) + l.mlpBackwardInput[g]
                latest = max(latest, compute[g])
            }
            let dispatchBackwardLanded = latest + l.dispatchBackward
            // mlp(W), then mlp(F) once dispatch(F) has landed; then combine(F).
            latest = dispatchBackwardLanded
            for g in 0..<gpus {
                compute[g] = max(compute[g] + l.mlpBackwardWeight[g], dispatchForwardLanded) + l.mlpForward[g]
                latest = max(latest, compute[g])
            }
            combineForwardLanded = latest + l.combineForward
            // attn(B) once dispatch(B) has landed, then attn(W).
            for g in 0..<gpus {
                attentionBackwardDone[g] = max(compute[g], dispatchBackwardLanded) + l.attentionBackwardInput
                compute[g] = attentionBackwardDone[g] + l.attentionBackwardWeight
            }
        }
        return max(compute.max()!, combineForwardLanded)
    }

    /// Each GPU's time in an expert block whose time is `balanced` at the group's mean rows and
    /// `busiest` on its busiest GPU: linear in the GPU's rows (`loads`, one per GPU). The
    /// trace's grouped GEMMs run in proportion to their rows (0.056–0.059 µs per row for the
    /// forward's up-projection over 31K–37K rows).
    public static func perGPU(balanced: Double, busiest: Double, loads: [Int]) -> [Double] {
        let mean = Double(loads.reduce(0, +)) / Double(max(loads.count, 1)), most = Double(loads.max() ?? 0)
        guard most > mean else { return loads.map { _ in busiest } }
        return loads.map { balanced + (busiest - balanced) * (Double($0) - mean) / (most - mean) }
    }
}
