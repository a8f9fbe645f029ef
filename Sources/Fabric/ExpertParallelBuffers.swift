import Kernels

/// The communication buffers an MoE dispatcher allocates on every GPU once and keeps for the
/// whole run, sized as the libraries size them from the EP group, the hidden size and the
/// tokens a GPU routes.
public struct ExpertParallelBuffers: Sendable, Equatable {
    /// Buffers the GPU's NVLink peers write into, and buffers written over the NICs (RDMA),
    /// bytes.
    public var nvlinkBytes: Double, networkBytes: Double
    /// The library, as the memory breakdown names it.
    public var label: String

    public var totalBytes: Double { nvlinkBytes + networkBytes }

    /// The buffers of `dispatcher` on one GPU of an EP group of `ep` GPUs.
    /// - `nvlinkPeers`: the GPUs of the group its all-to-all reaches over NVLink
    ///   (`MoEDispatcher.allToAllNodeGPUs`, at most `ep`).
    /// - `tokensPerGPU`: the tokens each GPU routes per micro-batch (Hybrid-EP sizes for them).
    /// - `sms`: the SMs DeepEP runs on (its channels are half of them).
    public static func of(_ dispatcher: MoEDispatcher, ep: Int, nvlinkPeers: Int, hidden: Int, tokensPerGPU: Int,
                          localExperts: Int, format: DispatchFormat, sms: Int) -> ExpertParallelBuffers {
        // One GPU holds every expert: no all-to-all, no buffers.
        guard ep > 1 else { return ExpertParallelBuffers(nvlinkBytes: 0, networkBytes: 0, label: "none: EP 1") }
        switch dispatcher {
        case .deepep:
            let b = DeepEPBufferHint(ep: ep, nvlinkPeers: nvlinkPeers, hiddenBytes: hidden * 2, sms: sms)
            return ExpertParallelBuffers(nvlinkBytes: Double(b.nvlinkBytes), networkBytes: Double(b.rdmaAllocatedBytes), label: "DeepEP")
        case .hybridep:
            let b = HybridEPBufferSize(tokensPerGPU: tokensPerGPU, ep: ep, domainGPUs: min(nvlinkPeers, ep), hidden: hidden,
                                       localExperts: localExperts, format: format)
            return ExpertParallelBuffers(nvlinkBytes: Double(b.nvlinkBytes), networkBytes: 0, label: "Hybrid-EP")
        case .alltoall:
            // NCCL's all-to-all works from the permuted tokens themselves; its own channel
            // buffers are part of the workspace reserve.
            return ExpertParallelBuffers(nvlinkBytes: 0, networkBytes: 0, label: "NCCL all-to-all")
        }
    }
}

/// DeepEP's normal-mode buffers as Megatron-Core (`megatron/core/transformer/moe/fused_a2a.py`,
/// `get_buffer`) and DeepEP's README size them: the larger of the dispatch and the combine
/// configs' size hints for the group (`Buffer.get_dispatch_config` / `get_combine_config`,
/// `deep_ep/buffer.py` at deepseek-ai/DeepEP 04b06f7), each computed as `Config
/// .get_nvl_buffer_size_hint` / `get_rdma_buffer_size_hint` compute it (`csrc/config.hpp` at
/// 030cdf0), with `hidden_bytes` = hidden × 2 (BF16, also for FP8 dispatch: `get_hidden_bytes`
/// takes at least 2 bytes per element).
public struct DeepEPBufferHint: Sendable, Equatable {
    /// The NVLink buffer (`num_nvl_bytes`) and the RDMA buffer (`num_rdma_bytes`, 0 inside one
    /// node), bytes.
    public var nvlinkBytes: Int, rdmaBytes: Int

    /// The RDMA buffer comes from NVSHMEM's symmetric heap, which DeepEP maps in chunks of
    /// `NVSHMEM_CUMEM_GRANULARITY` = 2^29 B (`deep_ep/buffer.py` sets it: "NVSHMEM initialization
    /// requires at least 256 MiB"): the memory it takes, rounded up to that (assumption: the heap
    /// holds nothing else).
    public var rdmaAllocatedBytes: Int { rdmaBytes == 0 ? 0 : (rdmaBytes + Self.nvshmemGranularity - 1) / Self.nvshmemGranularity * Self.nvshmemGranularity }
    static let nvshmemGranularity = 1 << 29

    /// DeepEP's `NUM_MAX_NVL_PEERS`: a node's GPUs in its internode layout.
    static let maxNVLinkPeers = 8
    /// `kNumMaxTopK` and `kNumMaxScales` of the size hints: each token slot reserves room for 128
    /// expert indices (int64), 128 weights (float) and 128 scales (float).
    static let slotBytesBeyondHidden = 128 * 8 + 128 * 4 + 128 * 4
    /// `internode::get_source_meta_bytes()`: `SourceMeta`, two ints.
    static let sourceMetaBytes = 8

    /// One of the recommended configs: SMs aside, the tokens a channel's NVLink receive buffer
    /// holds and the RDMA chunk sizes (send, receive).
    struct Config {
        var nvlinkReceiveTokens: Int, rdmaSendTokens: Int, rdmaReceiveTokens: Int
        /// DeepEP's constructor rounds the RDMA receive chunk up to a multiple of the send chunk.
        var rdmaReceiveAligned: Int { (rdmaReceiveTokens + rdmaSendTokens - 1) / rdmaSendTokens * rdmaSendTokens }
    }

    /// `get_dispatch_config` and `get_combine_config` by group size (nvl send chunk left out).
    static let configs: [Int: (dispatch: Config, combine: Config)] = [
        2: (Config(nvlinkReceiveTokens: 256, rdmaSendTokens: 6, rdmaReceiveTokens: 128), Config(nvlinkReceiveTokens: 256, rdmaSendTokens: 6, rdmaReceiveTokens: 128)),
        4: (Config(nvlinkReceiveTokens: 256, rdmaSendTokens: 6, rdmaReceiveTokens: 128), Config(nvlinkReceiveTokens: 256, rdmaSendTokens: 6, rdmaReceiveTokens: 128)),
        8: (Config(nvlinkReceiveTokens: 256, rdmaSendTokens: 6, rdmaReceiveTokens: 128), Config(nvlinkReceiveTokens: 256, rdmaSendTokens: 6, rdmaReceiveTokens: 128)),
        16: (Config(nvlinkReceiveTokens: 288, rdmaSendTokens: 20, rdmaReceiveTokens: 128), Config(nvlinkReceiveTokens: 288, rdmaSendTokens: 28, rdmaReceiveTokens: 128)),
        24: (Config(nvlinkReceiveTokens: 288, rdmaSendTokens: 32, rdmaReceiveTokens: 128), Config(nvlinkReceiveTokens: 288, rdmaSendTokens: 20, rdmaReceiveTokens: 128)),
        32: (Config(nvlinkReceiveTokens: 288, rdmaSendTokens: 32, rdmaReceiveTokens: 128), Config(nvlinkReceiveTokens: 288, rdmaSendTokens: 20, rdmaReceiveTokens: 128)),
        64: (Config(nvlinkReceiveTokens: 288, rdmaSendTokens: 28, rdmaReceiveTokens: 128), Config(nvlinkReceiveTokens: 288, rdmaSendTokens: 20, rdmaReceiveTokens: 128)),
        128: (Config(nvlinkReceiveTokens: 560, rdmaSendTokens: 32, rdmaReceiveTokens: 128), Config(nvlinkReceiveTokens: 560, rdmaSendTokens: 12, rdmaReceiveTokens: 128)),
        144: (Config(nvlinkReceiveTokens: 720, rdmaSendTokens: 12, rdmaReceiveTokens: 128), Config(nvlinkReceiveTokens: 720, rdmaSendTokens: 8, rdmaReceiveTokens: 128)),
        160: (Config(nvlinkReceiveTokens: 720, rdmaSendTokens: 12, rdmaReceiveTokens: 128), Config(nvlinkReceiveTokens: 720, rdmaSendTokens: 8, rdmaReceiveTokens: 128)),
    ]

    /// The configs for a group of `ep` GPUs: DeepEP's own where it has them; for another size
    /// (DeepEP refuses it) those of the next larger size it has, or of its largest (assumption).
    static func configs(ep: Int) -> (dispatch: Config, combine: Config) {
        let sizes = configs.keys.sorted()
        return configs[sizes.first { $0 >= ep } ?? sizes[sizes.count - 1]]!
    }

    /// - `nvlinkPeers`: the group's GPUs in one node (at most DeepEP's 8);
    /// - `hiddenBytes`: bytes of one token's hidden state as DeepEP counts them;
    /// - `sms`: DeepEP's SMs (`Buffer.num_sms`, even; channels are half of them).
    public init(ep: Int, nvlinkPeers: Int, hiddenBytes: Int, sms: Int) {
        let nvl = max(1, min(ep, nvlinkPeers, Self.maxNVLinkPeers))
        let rdmaRanks = max(ep / nvl, 1)
        let channels = max(sms, 2) / 2
        let (dispatch, combine) = Self.configs(ep: ep)
        nvlinkBytes = [dispatch, combine].map { Self.nvlinkHint($0, channels: channels, nvl: nvl, rdmaRanks: rdmaRanks, hiddenBytes: hiddenBytes) }.max()!
        rdmaBytes = ep <= nvl ? 0 : [dispatch, combine].map { Self.rdmaHint($0, channels: channels, rdmaRanks: rdmaRanks, hiddenBytes: hiddenBytes) }.max()!
    }

    /// `get_nvl_buffer_size_hint`: per channel and NVLink peer, the head/tail counters and a
    /// receive queue of token slots (hidden state, source meta, top-K indices and weights,
    /// scales); rounded up to 128 B.
    static func nvlinkHint(_ c: Config, channels: Int, nvl: Int, rdmaRanks: Int, hiddenBytes: Int) -> Int {
        let counters = channels * nvl * (2 * rdmaRanks + 3) * 4
        let slots = channels * nvl * c.nvlinkReceiveTokens * (hiddenBytes + sourceMetaBytes + slotBytesBeyondHidden)
        return roundUp(counters + slots, 128)
    }

    /// `get_rdma_buffer_size_hint`: per channel and RDMA peer, send and receive halves of the
    /// counters and of a token-slot queue (plus a 16-byte `int4` per slot), 1 MiB "to be safe";
    /// rounded up to 128 B.
    static func rdmaHint(_ c: Config, channels: Int, rdmaRanks: Int, hiddenBytes: Int) -> Int {
        let counters = channels * rdmaRanks * (maxNVLinkPeers * 2 + 2) * 2 * 4
        let slots = channels * rdmaRanks * c.rdmaReceiveAligned * (hiddenBytes + sourceMetaBytes + slotBytesBeyondHidden + 16) * 2
        return roundUp(counters + slots + 1_048_576, 128)
    }

    static func roundUp(_ n: Int, _ to: Int) -> Int { (n + to - 1) / to * to }
}

/// Hybrid-EP's buffers inside one NVLink domain, as its `NVLCoordinator` allocates them
/// (`csrc/hybrid_ep/buffer/intranode.cu` at deepseek-ai/DeepEP 2540b8a): for the worst case of
/// every token of the group routed to this GPU — `max_num_of_tokens_per_rank` (Megatron-Core
/// passes the tokens a GPU routes) × the domain's GPUs × the domains — the dispatch's output
/// tokens (in the dispatch format), its routing probabilities (4 B per expert of the domain) and
/// its FP8 scales (4 B per 128 channels, allocated in BF16 too), and the combine's input tokens
/// (BF16) and probabilities; dispatch and combine do not share them (`use_shared_buffer`,
/// false by default). Across domains its RDMA coordinator adds buffers not counted here.
public struct HybridEPBufferSize: Sendable, Equatable {
    public var nvlinkBytes: Int

    public init(tokensPerGPU: Int, ep: Int, domainGPUs: Int, hidden: Int, localExperts: Int, format: DispatchFormat) {
        let worstCaseTokens = tokensPerGPU * ep
        let tokenBytes = format == .fp8 ? 1 : 2
        let probabilities = worstCaseTokens * localExperts * max(domainGPUs, 1) * 4
        let dispatch = worstCaseTokens * hidden * tokenBytes + probabilities + worstCaseTokens * (hidden / 128) * 4
        let combine = worstCaseTokens * hidden * 2 + probabilities
        nvlinkBytes = dispatch + combine
    }
}
