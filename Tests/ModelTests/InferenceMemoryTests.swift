import Testing
@testable import Model

@Suite struct InferenceMemoryTests {
    /// Reference §4 / validation case 25 (AWS, 30 Jan 2025): R1 in FP8 needs at least 800 GB of
    /// HBM: the ≈685B-parameter checkpoint is ≈685–690 GB of weights; it fits on 8 × H200
    /// (1,128 GB) and not on 8 × H800 (640 GB).
    @Test("R1 FP8 serving: ≈685–690 GB weights; fits 8×H200, not 8×H800")
    func r1ServingMemory() throws {
        let v3 = try model("deepseek-v3")
        let idle = InferenceMemory.compute(v3, fp8: true, batch: 1, context: 4096)
        #expect(idle.weightBytes > 685e9 && idle.weightBytes < 690e9)
        #expect(idle.totalBytes > 8 * 80e9)                                    // not on 8 × H800, even idle
        let serving = InferenceMemory.compute(v3, fp8: true, batch: 32, context: 32_768)
        #expect(serving.totalBytes > 780e9 && serving.totalBytes < 8 * 141e9)  // ≈800 GB, on 8 × H200
        #expect(serving.kvCacheBytes == 32 * 32_768 * 70_272)
    }

    @Test func bf16DoublesTheWeights() throws {
        let v3 = try model("deepseek-v3")
        let fp8 = InferenceMemory.compute(v3, fp8: true, batch: 1, context: 1), bf16 = InferenceMemory.compute(v3, fp8: false, batch: 1, context: 1)
        #expect(bf16.weightBytes / fp8.weightBytes > 1.98 && bf16.weightBytes / fp8.weightBytes < 2.0)
    }
}
