import Kernels
import Testing
@testable import Fabric

/// The dispatchers' buffers, sized as their libraries size them: DeepEP's size hints
/// (deepseek-ai/DeepEP `csrc/config.hpp`, the configs of `deep_ep/buffer.py`) and Hybrid-EP's
/// NVLink coordinator (`csrc/hybrid_ep/buffer/intranode.cu`); the expected bytes are the
/// sources' formulas evaluated by hand.
@Suite struct ExpertParallelBuffersTests {
    /// DeepSeek-V3's group, EP 64 over 8 nodes of 8, hidden 7,168 (14,336 B in BF16), 20 SMs (10
    /// channels). NVLink, dispatch config (288 slots): 10 × 8 × (2·8 + 3) × 4 counters + 10 × 8 ×
    /// 288 × (14,336 + 8 + 2,048) B = 377,677,824 B. RDMA, the receive chunk 128 rounded up to
    /// the send chunk 28 (140) in the dispatch config, 20 (140) in the combine's: 10 × 8 × 18 ×
    /// 2 × 4 + 10 × 8 × 140 × (14,336 + 8 + 2,048 + 16) × 2 + 1 MiB = 368,599,296 B, one 512 MiB
    /// NVSHMEM chunk.
    @Test("DeepEP at EP 64 (V3): 377.7 MB of NVLink buffer, 368.6 MB of RDMA buffer in one 512 MiB NVSHMEM chunk")
    func deepSeekV3() {
        let hint = DeepEPBufferHint(ep: 64, nvlinkPeers: 8, hiddenBytes: 14_336, sms: 20)
        #expect(hint.nvlinkBytes == 377_677_824)
        #expect(hint.rdmaBytes == 368_599_296)
        #expect(hint.rdmaAllocatedBytes == 1 << 29)
        let buffers = ExpertParallelBuffers.of(.deepep, ep: 64, nvlinkPeers: 8, hidden: 7168, tokensPerGPU: 4096, localExperts: 4,
                                               format: .fp8, sms: 20)
        #expect(buffers.totalBytes == 377_677_824 + 536_870_912 && buffers.label == "DeepEP")
    }

    /// Inside one node DeepEP has no RDMA buffer; more SMs, more channels, more NVLink slots.
    @Test func intranodeHasNoRDMABuffer() {
        let hint = DeepEPBufferHint(ep: 8, nvlinkPeers: 8, hiddenBytes: 14_336, sms: 24)
        #expect(hint.rdmaBytes == 0 && hint.rdmaAllocatedBytes == 0)
        #expect(hint.nvlinkBytes == 402_851_712)
    }

    /// A group size DeepEP has no config for takes the next larger one's (EP 12 → 16's); beyond
    /// its largest, the largest's.
    @Test func groupSizesWithoutAConfig() {
        #expect(DeepEPBufferHint(ep: 12, nvlinkPeers: 8, hiddenBytes: 14_336, sms: 20).nvlinkBytes
                > DeepEPBufferHint(ep: 8, nvlinkPeers: 8, hiddenBytes: 14_336, sms: 20).nvlinkBytes)
        #expect(DeepEPBufferHint(ep: 16, nvlinkPeers: 8, hiddenBytes: 14_336, sms: 20).rdmaBytes == 92_936_320)
        #expect(DeepEPBufferHint(ep: 256, nvlinkPeers: 8, hiddenBytes: 14_336, sms: 20).rdmaBytes
                > DeepEPBufferHint(ep: 160, nvlinkPeers: 8, hiddenBytes: 14_336, sms: 20).rdmaBytes)
    }

    /// Hybrid-EP, V3 on 256 GB200 (EP 64 in one NVLink domain, 4,096 tokens per GPU, 4 experts
    /// per GPU, BF16): the worst case 262,144 tokens; dispatch 262,144 × 7,168 × 2 + 262,144 × 256
    /// × 4 + 262,144 × 56 × 4, combine 262,144 × 7,168 × 2 + 262,144 × 256 × 4: 8,111,783,936 B.
    /// Qwen3-235B at EP 32 (hidden 4,096): 2,298,478,592 B. FP8 dispatch halves the dispatch's
    /// tokens.
    @Test("Hybrid-EP sizes for every token of the group on one GPU: 8.11 GB for V3 at EP 64, 2.30 GB for Qwen3-235B at EP 32")
    func hybridEP() {
        #expect(HybridEPBufferSize(tokensPerGPU: 4096, ep: 64, domainGPUs: 64, hidden: 7168, localExperts: 4, format: .bf16).nvlinkBytes == 8_111_783_936)
        #expect(HybridEPBufferSize(tokensPerGPU: 4096, ep: 32, domainGPUs: 32, hidden: 4096, localExperts: 4, format: .bf16).nvlinkBytes == 2_298_478_592)
        let fp8 = HybridEPBufferSize(tokensPerGPU: 4096, ep: 64, domainGPUs: 64, hidden: 7168, localExperts: 4, format: .fp8).nvlinkBytes
        #expect(fp8 == 8_111_783_936 - 262_144 * 7168)
        let buffers = ExpertParallelBuffers.of(.hybridep, ep: 64, nvlinkPeers: 64, hidden: 7168, tokensPerGPU: 4096, localExperts: 4,
                                               format: .bf16, sms: 32)
        #expect(buffers.networkBytes == 0 && buffers.nvlinkBytes == 8_111_783_936 && buffers.label == "Hybrid-EP")
    }

    /// NCCL's all-to-all keeps no buffers of its own beyond the workspace reserve; at EP 1 no
    /// dispatcher has any.
    @Test func ncclAllToAllHasNone() {
        #expect(ExpertParallelBuffers.of(.deepep, ep: 1, nvlinkPeers: 8, hidden: 2048, tokensPerGPU: 4096, localExperts: 128,
                                         format: .bf16, sms: 20).totalBytes == 0)
        #expect(ExpertParallelBuffers.of(.alltoall, ep: 32, nvlinkPeers: 8, hidden: 4096, tokensPerGPU: 4096, localExperts: 4,
                                         format: .bf16, sms: 20).totalBytes == 0)
    }
}
