/// What one streaming multiprocessor completes per clock on the three resources a fused
/// attention kernel shares (catalog `sm_throughput_per_clock`).
///
/// FlashAttention-4's authors (Zadouri, Hoehnerbach, Shah, Liu, Thakkar, Dao, arXiv 2603.05451,
/// "feeds and speeds") count them for the B200: tensor cores 8,192 BF16 FLOPs, exponential
/// units 16 `exp2`, shared memory 128 bytes per clock per SM, and note that from the H100 only
/// the first doubled. Attention therefore stops scaling with the tensor cores where a tile's
/// exponentials or shared-memory traffic take longer than its MMAs (`AttentionRoofline` in the
/// cost model).
public struct SMThroughput: Codable, Sendable, Equatable {
    /// Dense BF16 tensor-core FLOPs per clock per SM: the BF16 peak over the SMs and the
    /// clock the peak is quoted at.
    public var bf16TensorFLOPs: Double
    /// Base-2 exponentials per clock per SM on the special-function units (`MUFU.EX2`).
    public var exp2: Double
    /// Shared-memory bytes per clock per SM (32 banks of 4 bytes).
    public var sharedMemoryBytes: Double

    public init(bf16TensorFLOPs: Double, exp2: Double, sharedMemoryBytes: Double) {
        self.bf16TensorFLOPs = bf16TensorFLOPs
        self.exp2 = exp2
        self.sharedMemoryBytes = sharedMemoryBytes
    }

    /// The SM clock, Hz, at which `bf16TensorFLOPs` on `smCount` SMs gives `bf16Peak` FLOP/s:
    /// 1.830 GHz on the H100 SXM (989.4 TFLOPS on 132 SMs at 4,096 FLOPs per clock).
    public func impliedClock(bf16Peak: Double, smCount: Int) -> Double {
        bf16Peak / (Double(smCount) * bf16TensorFLOPs)
    }
}
