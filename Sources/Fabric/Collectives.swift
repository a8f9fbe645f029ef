import Foundation

/// Collective operations over `p` participants that each send and receive at `bandwidth`
/// (bytes/s per direction) with a per-hop latency `latency` (s): the alpha-beta model of each
/// algorithm, the costs the step charges for tensor-parallel all-reduces, ZeRO-1 reduce-scatter
/// and all-gather, and pipeline sends. `Collectives` tests check the ring forms against the
/// fluid network run step by step.
///
/// Sources: ring reduce-scatter / all-gather / all-reduce (Patarasuk & Yuan 2009): each GPU
/// moves (p−1)/p of the buffer per phase in p−1 steps; the pipelined double binary tree of
/// NCCL ≥ 2.4 (Sanders, Speck & Träff 2009): full bandwidth, 2·log₂p latency hops.
public enum Collective {
    public enum Algorithm: String, Sendable, CaseIterable { case ring, tree }

    /// Point to point: one hop of latency, then the bytes at the link rate.
    public static func pointToPoint(bytes: Double, bandwidth: Double, latency: Double) -> Double {
        bytes <= 0 ? 0 : latency + bytes / bandwidth
    }

    /// Ring reduce-scatter of a `bytes` buffer (each GPU ends with bytes/p reduced).
    public static func reduceScatter(bytes: Double, participants p: Int, bandwidth: Double, latency: Double) -> Double {
        guard p > 1, bytes > 0 else { return 0 }
        let n = Double(p)
        return (n - 1) / n * bytes / bandwidth + (n - 1) * latency
    }

    /// Ring reduce-scatter over participants placed on the cluster (`RingLayout`): p − 1 steps
    /// of one chunk (bytes/p) each.
    public static func reduceScatter(bytes: Double, over ring: RingLayout) -> Double {
        let p = ring.participants
        guard p > 1, bytes > 0 else { return 0 }
        return Double(p - 1) * ring.stepSeconds(chunk: bytes / Double(p))
    }

    /// Ring all-gather over participants placed on the cluster: the same cost.
    public static func allGather(bytes: Double, over ring: RingLayout) -> Double {
        reduceScatter(bytes: bytes, over: ring)
    }

    /// Ring all-gather of a `bytes` buffer (each GPU starts with bytes/p): the same cost.
    public static func allGather(bytes: Double, participants p: Int, bandwidth: Double, latency: Double) -> Double {
        reduceScatter(bytes: bytes, participants: p, bandwidth: bandwidth, latency: latency)
    }

    /// All-reduce of a `bytes` buffer: ring = reduce-scatter + all-gather; tree = a pipelined
    /// reduction up and broadcast down two complementary binary trees.
    public static func allReduce(bytes: Double, participants p: Int, bandwidth: Double, latency: Double, algorithm: Algorithm = .ring) -> Double {
        guard p > 1, bytes > 0 else { return 0 }
        switch algorithm {
        case .ring:
            return 2 * reduceScatter(bytes: bytes, participants: p, bandwidth: bandwidth, latency: latency)
        case .tree:
            return 2 * bytes / bandwidth + 2 * (log2(Double(p))).rounded(.up) * latency
        }
    }

    /// The faster of ring and tree for an all-reduce (what NCCL's tuner picks, to first order:
    /// trees win small buffers on many GPUs, rings large buffers).
    public static func bestAllReduce(bytes: Double, participants p: Int, bandwidth: Double, latency: Double) -> (seconds: Double, algorithm: Algorithm) {
        let ring = allReduce(bytes: bytes, participants: p, bandwidth: bandwidth, latency: latency, algorithm: .ring)
        let tree = allReduce(bytes: bytes, participants: p, bandwidth: bandwidth, latency: latency, algorithm: .tree)
        return tree < ring ? (tree, .tree) : (ring, .ring)
    }
}
