import Hardware
import Kernels

/// How fast a FlashAttention tile can run on an SM against its tensor-core rate: the tile's
/// MMAs, exponentials and shared-memory traffic each take so many clocks, and the longest sets
/// the pace (a roofline over three resources, after FlashAttention-4's "feeds and speeds",
/// Zadouri et al., arXiv 2603.05451).
///
/// The paper counts one tile of M = N = D = 128 (clocks per SM on the B200: forward 1,024
/// tensor / 1,024 exponential / 768 shared memory, backward 2,560 / 1,024 / 3,328 in one CTA),
/// and so the forward is bound by the MMAs and the exponentials together, the backward by
/// shared memory. On the H100 the same tile takes twice the tensor clocks (4,096 BF16 FLOPs
/// per clock instead of 8,192) and nothing else, so both passes are tensor-bound there.
///
/// The cost model uses the bound as a ratio (`KernelCostModel.attentionUnitsScale`): a kernel
/// calibrated on the H800 keeps its efficiency against the bound, so on a device where the
/// bound sits below the tensor rate it runs that much slower than its share of the BF16 peak.
public enum AttentionRoofline {
    /// The SM resource that sets a tile's pace.
    public enum Resource: String, Sendable {
        case tensorCores = "tensor cores"
        case exponentials = "exponential units"
        case sharedMemory = "shared memory"
    }

    /// The work of one tile on one SM.
    public struct TileDemand: Sendable, Equatable {
        /// BF16 tensor-core FLOPs of the tile's MMAs.
        public var tensorFLOPs: Double
        /// Exponentials of its softmax (one per score).
        public var exponentials: Double
        /// Bytes it moves through shared memory.
        public var sharedMemoryBytes: Double
    }

    /// Query and key rows of a tile (the paper's M = N = 128).
    static let tileRows = 128.0
    /// Shared-memory clocks of a backward tile at head dimension 128 in one CTA (the paper's
    /// count; 13 reads or writes of a 128 × 128 BF16 matrix at 128 bytes per clock).
    static let backwardSharedMemoryClocksAt128 = 3328.0
    /// Shared-memory bytes per clock the paper counts the backward's clocks at.
    static let paperSharedMemoryBytesPerClock = 128.0

    /// One tile's work.
    /// - Forward: two MMAs (S = QKᵀ, O = PV), 2·M·N·(d_qk + d_v) FLOPs; M·N exponentials; Q, K
    ///   and V read from shared memory as MMA operands, 2 bytes × (M·d_qk + N·d_qk + N·d_v)
    ///   (768 clocks at d = 128, the paper's count; P stays in tensor memory).
    /// - Backward: five MMAs (S and dP recomputed, dV, dK, dQ), 2·M·N·(3·d_qk + 2·d_v) FLOPs;
    ///   M·N exponentials (P recomputed). The paper gives its shared-memory count only at
    ///   d = 128; llmsim scales it with the MMA work, so the backward's shared-memory-to-tensor
    ///   ratio is the same at every head dimension (an assumption).
    public static func tile(qkDim: Int, vDim: Int, backward: Bool) -> TileDemand {
        let m = tileRows, n = tileRows, dqk = Double(qkDim), dv = Double(vDim)
        let flops = m * n * FLOPCount.attentionFLOPsPerScore(qk: qkDim, v: vDim, backward: backward)
        if backward {
            let flopsAt128 = m * n * FLOPCount.attentionFLOPsPerScore(qk: 128, v: 128, backward: true)
            return TileDemand(tensorFLOPs: flops, exponentials: m * n,
                              sharedMemoryBytes: backwardSharedMemoryClocksAt128 * paperSharedMemoryBytesPerClock * flops / flopsAt128)
        }
        return TileDemand(tensorFLOPs: flops, exponentials: m * n, sharedMemoryBytes: 2 * (m * dqk + n * dqk + n * dv))
    }

    /// The tile's tensor clocks over its longest resource's clocks on `sm` (1 when the tensor
    /// cores set the pace, ties included), and that resource.
    public static func bound(_ tile: TileDemand, on sm: SMThroughput) -> (fraction: Double, resource: Resource) {
        let tensor = tile.tensorFLOPs / sm.bf16TensorFLOPs
        let clocks: [(Double, Resource)] = [(tile.exponentials / sm.exp2, .exponentials),
                                            (tile.sharedMemoryBytes / sm.sharedMemoryBytes, .sharedMemory)]
        let slowest = clocks.max { $0.0 < $1.0 }!
        return slowest.0 > tensor ? (tensor / slowest.0, slowest.1) : (1, .tensorCores)
    }
}
