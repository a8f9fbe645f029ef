import Fabric
import Hardware
import Model

/// ZeRO-1 data parallelism after the last micro-batch (V3 report §3.2, §3.3.3): gradients
/// (FP32) reduce-scattered over each parameter's data-parallel replicas, the AdamW step on the
/// local shard (FP32 master, BF16 moments), the updated BF16 parameters all-gathered.
/// Collectives are ring algorithms on the NICs (`Collective`). Each rank's optimizer starts when
/// its own pipeline work ends (its DP peers run the same program and finish with it); the step
/// ends with the last rank's.
struct ZeROOptimizer {
    let config: StepConfiguration
    /// Effective fraction of peak HBM bandwidth of a memory-bound kernel (the calibration's
    /// element-wise figure).
    let memoryEfficiency: Double

    /// Seconds of one rank's optimizer step, given the parameters it holds.
    func time(_ params: RankParameters) -> Double {
        let c = config, node = c.topology.node
        let denseReplicas = c.dp, expertReplicas = max(c.dp / max(c.ep, 1), 1)
        let nic = node.nicAchievableBandwidth * Double(node.computeNICs) / Double(node.gpus)
        let latency = c.topology.interNodeLatency
        func rs(_ bytes: Double, _ p: Int) -> Double { Collective.reduceScatter(bytes: bytes, participants: p, bandwidth: nic, latency: latency) }
        func ag(_ bytes: Double, _ p: Int) -> Double { Collective.allGather(bytes: bytes, participants: p, bandwidth: nic, latency: latency) }
        let reduceScatter = rs(params.dense * 4, denseReplicas) + rs(params.expert * 4, expertReplicas)
        let allGather = ag(params.dense * 2, denseReplicas) + ag(params.expert * 2, expertReplicas)
        // AdamW on the shard: read grad 4 + master 4 + moments 2+2, write master 4 + moments 4 + BF16 weight 2 = 22 B.
        let shard = params.dense / Double(denseReplicas) + params.expert / Double(expertReplicas)
        let update = shard * 22 / (node.device.hbmBandwidth * memoryEfficiency)
        return reduceScatter + update + allGather
    }
}
