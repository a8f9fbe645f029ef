import ConfigIO
import CostModel
import Kernels

/// SMs the kernels of each tensor-parallel collective hold beside the GEMM it hides under, by
/// Transformer Engine's name for each overlap. A GEMM beside such a kernel runs on the SMs it
/// leaves, as the compute beside FSDP's NCCL collectives does (`collective_sms`). Two sources:
/// - under `tp_overlap: pipelined`, Transformer Engine's userbuffers kernels (the experiment's
///   `parallel.tp_overlap_sms`, `StepConfiguration.userbufferSMs`);
/// - under `tp_overlap: backward`, the NCCL reduce-scatter (or all-reduce) of a column-parallel
///   linear's input gradient beside its weight-gradient GEMM, and with sequence parallelism the
///   all-gather of its saved input beside its input-gradient GEMM (Megatron-LM's asynchronous
///   TP communication, `ncclBackward`): NCCL's CTAs never share an SM with compute
///   (NVIDIA/nccl#689), and on the TP group, inside the NVLink domain, NCCL runs the node's
///   scale-up channel count (`CollectiveSMs.scaleUp`: 24 CTAs on a DGX A100 or HGX H100).
///
/// How Transformer Engine runs its kernels (transformer_engine/common/comm_gemm_overlap/
/// comm_gemm_overlap.cpp: `_math_sms = set_sm_margin ? sm_count - num_comm_sm : sm_count`, and
/// each communication kernel launched on `num_sm` SMs):
/// - the forward's reduce-scatters out of the row-parallel linears (`proj_fprop`, `fc2_fprop`;
///   method `pipeline`, or `ring_exchange` under FP8 in Megatron-Bridge's recipes): every
///   published configuration sets `set_sm_margin`, so the GEMM runs on `sm_count − num_sm`
///   SMs from start to end;
/// - the column-parallel linears' backward (`qkv_dgrad`, `fc1_dgrad`: the saved input
///   re-gathered beside the input-gradient GEMM; `qkv_wgrad`, `fc1_wgrad`: the input gradient
///   reduce-scattered beside the weight-gradient GEMM; method `bulk`): every published
///   configuration leaves `set_sm_margin` off, so the GEMM takes every SM and loses `num_sm`
///   of them while the collective's kernel runs;
/// - the all-gathers pipelined into a GEMM (`qkv_fprop`, `fc1_fprop`, `proj_dgrad`,
///   `fc2_dgrad`; `ring_exchange`) move on the copy engines (`use_ce`) and hold no SM.
///
/// The defaults are Transformer Engine's own when no configuration is given
/// (transformer_engine/pytorch/module/base.py, `get_default_config`: `num_sm` 16 for `bulk` and
/// `pipeline`). Those defaults also set `set_sm_margin` on the bulk overlaps, which would hold
/// the SMs for the GEMM's whole length; llmsim prices every bulk overlap as the published
/// configurations run it. Published configurations, e.g. Megatron-Bridge's
/// `userbuffers_fp8_b200_h16384_tp4_cp2_mbs1_seqlen8192` (Llama 3.1 405B on B200, FP8): 8, 32,
/// 2 and 8 SMs for `qkv_dgrad`, `qkv_wgrad`, `fc1_dgrad`, `fc1_wgrad`; 1 for each fprop.
public struct TensorParallelOverlapSMs: Sendable, Equatable {
    /// The saved input of Q/K/V (or MLA's down-projections) re-gathered beside their
    /// input-gradient GEMM.
    public var qkvDgrad = defaultSMs
    /// Their input gradient reduce-scattered beside their weight-gradient GEMM.
    public var qkvWgrad = defaultSMs
    /// The dense FFN's gate-and-up input re-gathered beside its input-gradient GEMM.
    public var fc1Dgrad = defaultSMs
    /// Its input gradient reduce-scattered beside its weight-gradient GEMM.
    public var fc1Wgrad = defaultSMs
    /// The attention output projection's forward reduce-scatter (its GEMM on the SMs left).
    public var projFprop = defaultSMs
    /// The FFN's down projection's forward reduce-scatter (its GEMM on the SMs left).
    public var fc2Fprop = defaultSMs
    /// The vocabulary-parallel head's input gradient reduced beside its weight-gradient GEMM.
    /// Megatron's output layer is not one of Transformer Engine's linears, so this is NCCL's
    /// under either overlap (`StepSimulation.tensorParallelOverlapSMs` sets it); no experiment
    /// key, 0 by default.
    public var head = 0

    /// Transformer Engine's `num_sm` for `bulk` and `pipeline` overlaps without a configuration.
    public static let defaultSMs = 16

    public init() {}

    /// No kernel holds an SM: every GEMM beside a userbuffers collective keeps its speed.
    public static var none: TensorParallelOverlapSMs {
        var sms = TensorParallelOverlapSMs()
        for key in keys { sms[keyPath: key.field] = 0 }
        return sms
    }

    /// These counts with the head's NCCL collective holding `sms`.
    func withHead(_ sms: Int) -> TensorParallelOverlapSMs {
        var held = self
        held.head = sms
        return held
    }

    /// Megatron-LM's asynchronous TP communication: an NCCL collective holding `sms` SMs beside
    /// each column-parallel backward GEMM, the head's included; the forward's collectives run
    /// alone (exposed).
    public static func ncclBackward(sms: Int) -> TensorParallelOverlapSMs {
        var held = none.withHead(sms)
        (held.qkvDgrad, held.qkvWgrad, held.fc1Dgrad, held.fc1Wgrad) = (sms, sms, sms, sms)
        return held
    }

    /// The experiment's keys (Transformer Engine's names) and the fields they set.
    static var keys: [(name: String, field: WritableKeyPath<TensorParallelOverlapSMs, Int>)] { [
        ("qkv_dgrad", \.qkvDgrad), ("qkv_wgrad", \.qkvWgrad), ("fc1_dgrad", \.fc1Dgrad),
        ("fc1_wgrad", \.fc1Wgrad), ("proj_fprop", \.projFprop), ("fc2_fprop", \.fc2Fprop),
    ] }

    /// Every count, for checks.
    var all: [(name: String, sms: Int)] { Self.keys.map { ($0.name, self[keyPath: $0.field]) } }

    /// Parses `tp_overlap_sms`: a map of Transformer Engine overlap names to SM counts; names
    /// left out keep Transformer Engine's default.
    static func parse(_ v: ConfigValue) throws -> TensorParallelOverlapSMs {
        try v.requireKnownKeys(keys.map(\.name))
        var sms = TensorParallelOverlapSMs()
        for key in keys where try v.optional(key.name) != nil {
            sms[keyPath: key.field] = try v.positiveInt(key.name, allowZero: true)
        }
        return sms
    }
}

extension TensorParallelOverlapSMs {
    /// The blocks' TP windows of `records` (attention, MLP, and the rest: the head) on every
    /// SM, and with each GEMM that a collective's kernel runs beside priced on the SMs that
    /// kernel leaves: the row-parallel forward beside `proj_fprop` / `fc2_fprop`, the
    /// column-parallel weight and input gradients beside `qkv_wgrad` / `fc1_wgrad`,
    /// `qkv_dgrad` / `fc1_dgrad` and the head's collective. The all-gathers into the other GEMMs
    /// hold no SM. `none` gives `slowed` equal to `full`.
    func windows(_ records: [OperationRecord], kernels: KernelCostModel)
        -> (attention: TensorParallelOverlap.Windows, mlp: TensorParallelOverlap.Windows, other: TensorParallelOverlap.Windows) {
        let full = TensorParallelOverlap.windows(records, kernels: kernels)
        var priced = [0: full]
        func at(_ n: Int) -> (attention: TensorParallelOverlap.Window, mlp: TensorParallelOverlap.Window, other: TensorParallelOverlap.Window) {
            if let w = priced[n] { return w }
            let w = TensorParallelOverlap.windows(records, kernels: kernels.leavingSMs(n))
            priced[n] = w
            return w
        }
        var slowed = full
        slowed.attention.rowForward = at(projFprop).attention.rowForward
        slowed.attention.weightGradient = at(qkvWgrad).attention.weightGradient
        slowed.attention.inputGradient = at(qkvDgrad).attention.inputGradient
        slowed.mlp.rowForward = at(fc2Fprop).mlp.rowForward
        slowed.mlp.weightGradient = at(fc1Wgrad).mlp.weightGradient
        slowed.mlp.inputGradient = at(fc1Dgrad).mlp.inputGradient
        (slowed.other.weightGradient, slowed.other.inputGradient) = (at(head).other.weightGradient, at(head).other.inputGradient)
        return (.init(full.attention, slowed: slowed.attention), .init(full.mlp, slowed: slowed.mlp), .init(full.other, slowed: slowed.other))
    }
}
