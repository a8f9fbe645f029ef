import ConfigIO
import Kernels
import CostModel
import Foundation
import Testing
@testable import Model
@testable import Training

/// MoE with tensor parallelism as Megatron-Core runs it with an expert-TP size of 1 ("parallel
/// folding"): attention is TP-split, the experts are not, and each GPU of a TP group routes its
/// own sequence-parallel share of the tokens through an EP group made of whole TP groups.
@Suite struct MoETensorParallelTests {
    static func qwen(_ parallel: String) throws -> StepSimulation {
        try StepSimulation(config: try shippedStep("automodel-qwen3-30b-a3b-h100.yaml", adding: "parallel: \(parallel)"),
                           calibration: try KernelCalibration.hopper())
    }

    /// TP 2 on the 8 GPUs: DP 4, the EP 8 group folds the 4 TP pairs; each GPU routes half the
    /// micro-batch's 16,384 tokens, so its experts see about half the rows and the all-to-all
    /// carries about half the bytes; every expert still has one replica.
    @Test func eachGPUOfATPGroupRoutesItsShare() throws {
        let one = try Self.qwen("{pp: 1, ep: 8, tp: 1}"), two = try Self.qwen("{pp: 1, ep: 8, tp: 2}")
        #expect(one.config.moeTokens == 16384 && two.config.moeTokens == 8192)
        #expect(one.config.expertReplicas == 1 && two.config.expertReplicas == 1 && two.config.dp == 4)
        let (a, b) = (try one.allToAll(), try two.allToAll())
        let rows = { (t: MoETraffic) in Double(t.localExpertRows.reduce(0, +)) }
        #expect(abs(rows(b.traffic) / rows(a.traffic) - 0.5) < 0.03)
        #expect(abs(b.traffic.dispatch.logicalBytes / a.traffic.dispatch.logicalBytes - 0.5) < 0.03)
        // The routed experts' GEMMs of one MoE layer shrink with the rows; attention's split
        // heads shrink it too.
        let layer = { (s: StepSimulation) in try s.balancedMoELayer()! }
        #expect(try layer(two).mlpForward < 0.6 * layer(one).mlpForward)
    }

    /// On 16 GPUs with TP 2 and EP 8: DP 8, TP × DP = 16 GPUs per stage hold two EP groups, so
    /// each expert has 2 replicas (ZeRO shards, gradient reduction, synchronisation groups).
    @Test func expertReplicasCountTPGroups() throws {
        let c = try shippedStep("automodel-qwen3-30b-a3b-h100.yaml", adding: """
            topology: {name: dgx-h100-2, description: two DGX H100, kind: fat-tree, node: HGX-H100-8GPU, nodes: 2, switch_ports: 64}
            parallel: {pp: 1, ep: 8, tp: 2}
            microbatches: 8
            """)
        #expect(c.dp == 8 && c.expertReplicas == 2 && c.synchronisationGroups == 2)
    }

    /// Context parallelism with MoE: DeepSeek-V3 with CP 2 on 8,192-token sequences. Each GPU
    /// routes its own 4,096 tokens (its two chunks of the sequence), so its all-to-all is the
    /// published plan's, on EP 64 groups folding 32 CP pairs; each expert keeps its 2 replicas.
    @Test func contextParallelGPUsRouteTheirChunks() throws {
        let v3 = try StepSimulation(config: try deepSeekStep(), calibration: try KernelCalibration.hopper())
        let cp = try StepSimulation(config: try shippedStep("deepseek-v3.yaml", adding: "parallel: {cp: 2}\nmicrobatch_tokens: 8192"),
                                    calibration: try KernelCalibration.hopper())
        #expect(cp.config.cp == 2 && cp.config.dp == 64 && cp.config.moeTokens == 4096)
        #expect(cp.config.expertReplicas == v3.config.expertReplicas && cp.config.expertReplicas == 2)
        #expect(try cp.allToAll().dispatch == v3.allToAll().dispatch)
    }

    /// Expert tensor parallelism (Megatron-Core's `--expert-tensor-parallel-size 2`): on the
    /// same 8 GPUs with TP 2, EP 4 × expert-TP 2 holds the same expert parameters per GPU as EP
    /// 8 (halves of 32 of the 128 experts instead of 16 whole ones), and
    /// each GPU computes twice the rows on half the width: the same FLOPs in narrower, less
    /// efficient GEMMs. The NCCL dispatcher's all-gather over the expert-TP pair moves each
    /// GPU's rows again, so its dispatch takes longer than EP 8's.
    @Test func expertTensorParallelSplitsTheExpertsWidth() throws {
        let whole = try Self.qwen("{pp: 1, ep: 8, tp: 2}"), split = try Self.qwen("{pp: 1, ep: 4, tp: 2, etp: 2}")
        let expert = { (s: StepSimulation) in RankParameters.perLayer(s.config).map(\.expert).reduce(0, +) }
        #expect(abs(expert(split) / expert(whole) - 1) < 1e-12)
        #expect(split.config.expertReplicas == 1 && split.config.synchronisationGroups == 1)
        #expect(split.config.balancedRoutedRows == 2 * whole.config.balancedRoutedRows)
        #expect(split.config.layerModel.moe?.routedSliceIntermediateSize == 384)
        let rows = { (s: StepSimulation) in Double(try s.allToAll().traffic.localExpertRows.reduce(0, +)) }
        #expect(abs(try rows(split) / rows(whole) - 2) < 0.1)
        let layer = { (s: StepSimulation) in try s.balancedMoELayer()! }
        #expect(try layer(split).mlpForward > layer(whole).mlpForward && layer(split).mlpForward < 2 * layer(whole).mlpForward)
        let nccl = { (p: String) in try StepSimulation(config: try shippedStep("automodel-qwen3-30b-a3b-h100.yaml", adding: "parallel: \(p)\nmoe_dispatcher: alltoall"),
                                                        calibration: try KernelCalibration.hopper()).allToAll().dispatch }
        #expect(try nccl("{pp: 1, ep: 4, tp: 2, etp: 2}") > 1.5 * nccl("{pp: 1, ep: 8, tp: 2}"))
    }

    /// Expert-TP plans llmsim cannot run are errors naming the fix: beyond the NVLink domain, on
    /// a dense model, a TP × EP group larger than a stage's GPUs, a width it does not divide.
    @Test func impossibleExpertTensorParallelIsAnError() throws {
        for (file, parallel, fragment) in [("automodel-qwen3-30b-a3b-h100.yaml", "{pp: 1, ep: 4, etp: 3}", "NVLink domain"),
                                           ("nemo-llama3-8b-h100.yaml", "{etp: 2}", "dense model"),
                                           ("automodel-qwen3-30b-a3b-h100.yaml", "{pp: 1, ep: 8, etp: 2}", "EP × expert-TP = 16 does not divide")] {
            do { _ = try shippedStep(file, adding: "parallel: \(parallel)"); Issue.record("accepted \(parallel)") }
            catch let e as ConfigError { #expect(e.description.contains(fragment), "\(e)") }
        }
        let qwen = try shippedStep("automodel-qwen3-30b-a3b-h100.yaml").model
        #expect(throws: ModelArchitecture.TensorParallelError.self) { try qwen.expertTensorParallelShard(5) }
    }

    /// Shared experts under TP are a tensor-parallel MLP, as Megatron-Core's SharedExpertMLP:
    /// DeepSeek-V3 with TP 2 keeps half of each shared expert's 44M weights per GPU, and its
    /// MoE layers pay the shared block's TP collectives as a dense FFN does (at TP 1, none).
    @Test func sharedExpertsAreTensorParallel() throws {
        let one = try StepSimulation(config: try deepSeekStep(), calibration: try KernelCalibration.hopper())
        let two = try StepSimulation(config: try shippedStep("deepseek-v3.yaml", adding: "parallel: {tp: 2}"), calibration: try KernelCalibration.hopper())
        let shared = 3 * 7168 * 2048
        #expect(one.config.layerModel.layerParameters(5).total - two.config.layerModel.layerParameters(5).total
                == (one.config.layerModel.attentionParameters - two.config.layerModel.attentionParameters) + shared / 2)
        let (a, b) = (try one.plan().moeLayer, try two.plan().moeLayer)
        #expect(a.tensorParallelForward == 0 && a.tensorParallelBackward == 0)
        // Two blocks' forward collectives (attention's and the shared experts'), each an
        // all-gather and a reduce-scatter of the micro-batch: four halves.
        #expect(abs(b.tensorParallelForward / (4 * two.tensorParallelHalfCollective) - 1) < 1e-9)
        do { _ = try shippedStep("deepseek-v3.yaml", adding: "parallel: {tp: 8}\nmodel_overrides: {moe_intermediate_size: 2052}"); Issue.record("accepted") }
        catch let e as ConfigError { #expect(e.description.contains("shared experts")) }
    }

    /// Megatron's `--moe-shared-expert-overlap` with its all-to-all dispatcher: DeepSeek-V3's
    /// shared expert (and, at TP 2, its TP collectives) runs beside the NCCL all-to-alls, which
    /// are far longer, so it leaves the MoE layer's critical path: the MLP time drops by the
    /// shared GEMMs' seconds and the TP collectives by the shared block's; the all-to-alls stay.
    /// With DeepEP, with overlapped pairs, or without shared experts it is an error.
    @Test func sharedExpertOverlapHidesTheSharedBlock() throws {
        let base = "routing: {gate: router}\nmoe_dispatcher: alltoall\nparallel: {tp: 2, ep: 64}"
        func layer(_ extra: String) throws -> LayerTimes {
            try StepSimulation(config: try shippedStep("automodel-deepseek-v3-h100.yaml", adding: base + extra), calibration: try KernelCalibration.hopper()).plan().moeLayer
        }
        let off = try layer(""), on = try layer("\nmoe_shared_expert_overlap: true")
        #expect(on.dispatchForward == off.dispatchForward && on.combineBackward == off.combineBackward)
        #expect(on.mlpForward < off.mlpForward && on.mlpBackwardWeight < off.mlpBackwardWeight)
        // The shared block's forward collectives (an all-gather and a reduce-scatter) are gone:
        // half of the two blocks'.
        #expect(abs(on.tensorParallelForward / off.tensorParallelForward - 0.5) < 1e-9)
        for (file, extra, fragment) in [("automodel-deepseek-v3-h100.yaml", "moe_shared_expert_overlap: true", "DeepEP"),
                                        ("automodel-qwen3-30b-a3b-h100.yaml", "moe_shared_expert_overlap: true\nmoe_dispatcher: alltoall", "shared experts"),
                                        ("automodel-deepseek-v3-h100.yaml", "moe_shared_expert_overlap: true\nmoe_dispatcher: alltoall\nparallel: {overlap_forward_backward: true}\ncommunication_sms: 20", "pairs")] {
            do { _ = try shippedStep(file, adding: extra); Issue.record("accepted \(extra)") }
            catch let e as ConfigError { #expect(e.description.contains(fragment), "\(e)") }
        }
    }

    /// Plans Megatron-LM refuses or llmsim does not model are errors naming the fix: MoE with TP
    /// but no sequence parallelism; an EP group that is not whole TP groups.
    @Test func impossibleFoldsAreErrors() throws {
        for (parallel, fragment) in [("{pp: 1, ep: 8, tp: 2, sp: false}", "sequence parallelism"), ("{pp: 1, ep: 2, tp: 4}", "whole number of TP")] {
            do { _ = try shippedStep("automodel-qwen3-30b-a3b-h100.yaml", adding: "parallel: \(parallel)"); Issue.record("accepted \(parallel)") }
            catch let e as ConfigError { #expect(e.description.contains(fragment), "\(e)") }
        }
    }
}
