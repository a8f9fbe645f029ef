import Testing
@testable import Kernels
import Stochastic

@Suite struct MLATests {
    static let small = MLADimensions(hidden: 96, heads: 4, qLoraRank: 48, kvLoraRank: 32, qkNopeHeadDim: 16, qkRopeHeadDim: 8, vHeadDim: 16)

    /// The absorbed (decode) form is an exact re-association of the naive form.
    @Test(arguments: [1, 5])
    func absorbedEqualsNaive(tokens: Int) throws {
        let r = try MLACheck(dims: Self.small, tokens: tokens, seed: 3, context: 128, layers: 2).run()
        #expect(r.absorbedVsNaiveMaxRelativeError < 1e-9)
    }

    @Test("ISCA 2025 Table 1: DeepSeek-V3 MLA KV cache 70,272 B/token")
    func kvCacheBytes() {
        #expect(MLADimensions.deepSeekV3.kvCacheBytesPerLayer * 61 == 70_272)
    }

    /// Naive-form FLOPs equal the model accounting's forward FLOPs for one MLA block: W_DQ, W_UQ,
    /// W_DKV, W_UKV, W_O and the score/value products.
    @Test func naiveFLOPsAtFullWidth() {
        let d = MLADimensions.deepSeekV3
        let weights: [Double] = [7168 * 1536, 1536 * 128 * 192, 7168 * 576, 512 * 128 * 256, 128 * 128 * 7168]
        let projections = weights.reduce(0, +)
        let attention: Double = 2 * 128 * 320 * 2048
        #expect(d.naiveFLOPsPerToken(keys: 2048) == 2 * projections + attention)
        // With no keys, both forms cost the same: W_UK and W_UV move from per-key to per-query.
        #expect(d.absorbedFLOPsPerToken(keys: 0) == d.naiveFLOPsPerToken(keys: 0))
    }

    @Test func badArgumentsAreRejected() {
        #expect(throws: KernelError.self) { try MLACheck(dims: Self.small, tokens: 0).run() }
        #expect(throws: KernelError.self) { try MLACheck(dims: Self.small, tokens: 2, context: -1).run() }
    }
}
