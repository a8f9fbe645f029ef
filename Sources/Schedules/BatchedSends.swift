import SimCore

/// How a pipeline framework issues the sends and receives between stages on different ranks.
public enum PipelineSends: String, Sendable, Codable, CaseIterable {
    /// Batched and waited for at instruction boundaries, as the published implementations do:
    /// before each instruction a rank issues, in one batch, the sends of what it computed since
    /// the last boundary and the receives of what it is about to compute, and starts computing
    /// only when all of them have completed (DualPipe's `_commit_and_wait_comm`, deepseek-ai/
    /// DualPipe `dualpipe.py`; Megatron-LM's `send_forward_recv_backward` and
    /// `send_backward_recv_forward` in its 1F1B schedule). A transfer starts when both its
    /// sender and its receiver have issued it, so a rank waits for its neighbours to reach
    /// their boundaries as well as for the bytes to cross.
    case batched
    /// Sends on their own stream the moment the producer finishes; the sender never waits and
    /// the receiver waits only for the bytes (Megatron-LM's `--overlap-p2p-communication`; the
    /// setting of the published bubble formulas when transfers are free).
    case overlapped
}

/// The messages of a schedule under `PipelineSends.batched`: which boundary of which rank
/// issues each side of each message, and when each transfer completes.
///
/// A message is an activation going to stage s+1 or an input gradient going to stage s−1,
/// named by its consumer (pipeline, stage, micro-batch). Boundary c of a rank comes before its
/// instruction c; boundary `count` is the flush after its last instruction. An instruction's
/// outputs are sent at boundary `index + sendDelay`; its inputs are received at its own
/// boundary, a forward input `forwardReceiveLead` boundaries earlier. Transfers through one
/// rank's NIC run one after another in each direction (two messages issued together finish
/// when both have crossed, as under fair sharing).
struct BatchedSends {
    /// Message indices issued at each boundary: `boundaries[rank][c]`, c in 0...count.
    let boundaries: [[[Int]]]
    /// Per message: sending and receiving rank, and its transfer time.
    let sender: [Int], receiver: [Int]
    let transfer: [SimTime]
    /// Per message: when each side issued it, and when it completed (`never` until known).
    var sendIssued: [SimTime], receiveIssued: [SimTime], done: [SimTime]
    /// Per rank: when its NIC is next free to send and to receive.
    var egressFree: [SimTime], ingressFree: [SimTime]

    /// The message index of an activation (`gradient` false) or input gradient consumed by
    /// slot `slot` (`PipelineSchedule.slot`).
    @inline(__always) static func message(slot: Int, gradient: Bool) -> Int { 2 * slot + (gradient ? 1 : 0) }

    init(_ s: PipelineSchedule, rankOf: [Int], durations: [[OpDurations]]) {
        let stages = s.stagesPerPipeline
        let count = 2 * s.pipelines * stages * s.microbatchesPerPipeline
        var sender = [Int](repeating: -1, count: count), receiver = sender
        var transfer = [SimTime](repeating: .zero, count: count)
        boundaries = s.program.enumerated().map { r, list in
            var at = [[Int]](repeating: [], count: list.count + 1)
            for (i, instruction) in list.enumerated() {
                for op in instruction.ops where op.kind != .backwardWeight {
                    // A forward takes its activation from the stage before and passes it on; a
                    // backward takes its input gradient from the stage after and passes it back.
                    let gradient = op.kind != .forward
                    let (from, to) = gradient ? (op.stage + 1, op.stage - 1) : (op.stage - 1, op.stage + 1)
                    func remote(_ stage: Int) -> Int? {
                        guard stage >= 0, stage < stages else { return nil }
                        let other = rankOf[op.pipeline * stages + stage]
                        return other == r ? nil : other
                    }
                    if remote(from) != nil {
                        let k = Self.message(slot: s.slot(pipeline: op.pipeline, stage: op.stage, microbatch: op.microbatch), gradient: gradient)
                        at[gradient ? i : max(i - instruction.forwardReceiveLead, 0)].append(k)
                    }
                    if let peer = remote(to) {
                        let k = Self.message(slot: s.slot(pipeline: op.pipeline, stage: to, microbatch: op.microbatch), gradient: gradient)
                        at[min(i + max(instruction.sendDelay, 1), list.count)].append(k)
                        (sender[k], receiver[k], transfer[k]) = (r, peer, .seconds(durations[op.pipeline][op.stage].transfer))
                    }
                }
            }
            return at
        }
        self.sender = sender; self.receiver = receiver; self.transfer = transfer
        sendIssued = Array(repeating: .never, count: count)
        receiveIssued = sendIssued; done = sendIssued
        egressFree = Array(repeating: .zero, count: s.ranks)
        ingressFree = egressFree
    }

    /// Rank `r` reaches boundary `c` at `now`: it issues that boundary's sends and receives;
    /// every message whose other side was already issued starts its transfer.
    mutating func issue(rank r: Int, boundary c: Int, at now: SimTime) {
        for k in boundaries[r][c] {
            if sender[k] == r { sendIssued[k] = now } else { receiveIssued[k] = now }
            guard sendIssued[k] != .never, receiveIssued[k] != .never else { continue }
            let (from, to) = (sender[k], receiver[k])
            let start = max(max(sendIssued[k], receiveIssued[k]), max(egressFree[from], ingressFree[to]))
            done[k] = start + transfer[k]
            egressFree[from] = done[k]
            ingressFree[to] = done[k]
        }
    }

    /// When every message of boundary `c` of rank `r` has completed; nil while one side of one
    /// of them has not been issued.
    func completed(rank r: Int, boundary c: Int) -> SimTime? {
        var last = SimTime.zero
        for k in boundaries[r][c] {
            guard done[k] != .never else { return nil }
            last = max(last, done[k])
        }
        return last
    }
}
