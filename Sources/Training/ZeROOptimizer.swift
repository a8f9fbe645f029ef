import Fabric
import Hardware
import Model

/// ZeRO-1 data parallelism after the last micro-batch (V3 report §3.2, §3.3.3): gradients
/// (FP32) reduce-scattered over each parameter's data-parallel replicas, the AdamW step on the
/// local shard (FP32 master, BF16 moments), the updated BF16 parameters all-gathered.
/// Collectives are ring algorithms on the NICs: each GPU sends (p−1)/p of the buffer, at the
/// achievable NIC rate, plus (p−1) hop latencies. Nothing overlaps the pipeline (ISCA Table 4
/// lists the optimizer as its own phase).
struct ZeROOptimizer {
    let config: StepConfiguration
    /// Effective fraction of peak HBM bandwidth of a memory-bound kernel (the calibration's
    /// element-wise figure).
    let memoryEfficiency: Double

    func time(stageLayerCounts counts: [Int], parameterCopies: Double) -> Double {
        let c = config, arch = c.layerModel, node = c.topology.node
        // Parameters on one GPU: its stages' layers (the largest stage), experts sharded by EP.
        let maxLayers = Double(counts.max() ?? 0)
        // Average parameters per layer, split into routed experts and the rest.
        let p = arch.parameters
        let perLayer = Double(p.total - p.embedding - p.head) / Double(arch.layers)
        let routedPerLayer = Double(p.routedExperts) / Double(arch.layers)
        let dense = (perLayer - routedPerLayer) * maxLayers * parameterCopies + Double(p.embedding + p.head) / Double(c.pp)
        let experts = routedPerLayer * maxLayers * parameterCopies / Double(max(c.ep, 1))
        let denseReplicas = Double(c.dp), expertReplicas = Double(max(c.dp / max(c.ep, 1), 1))
        let nic = node.nicAchievableBandwidth * Double(node.computeNICs) / Double(node.gpus)
        let latency = c.topology.interNodeLatency
        func rs(_ bytes: Double, _ p: Double) -> Double { Collective.reduceScatter(bytes: bytes, participants: Int(p), bandwidth: nic, latency: latency) }
        func ag(_ bytes: Double, _ p: Double) -> Double { Collective.allGather(bytes: bytes, participants: Int(p), bandwidth: nic, latency: latency) }
        let reduceScatter = rs(dense * 4, denseReplicas) + rs(experts * 4, expertReplicas)
        let allGather = ag(dense * 2, denseReplicas) + ag(experts * 2, expertReplicas)
        // AdamW on the shard: read grad 4 + master 4 + moments 2+2, write master 4 + moments 4 + BF16 weight 2 = 22 B.
        let shard = dense / denseReplicas + experts / expertReplicas
        let update = shard * 22 / (node.device.hbmBandwidth * memoryEfficiency)
        return reduceScatter + update + allGather
    }
}
