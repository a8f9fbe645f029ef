/// One accelerator, as data. Loaded from the catalog (`Resources/catalog.yaml`), where every
/// figure carries its source.
public struct Device: Codable, Sendable, Equatable {
    /// Catalog id, e.g. `H800-SXM5-80GB`.
    public var id: String
    public var name: String
    public var vendor: String
    /// Dense tensor-core peak per format, in FLOP/s (never the 2:4-sparse figure).
    public var peakFLOPS: [Precision: Double]
    /// The best dense matmul rate measured per format, FLOP/s (catalog `achievable_matmul_tflops`:
    /// Bekman's maximum achievable matmul FLOPS), where one is published; empty elsewhere.
    public var achievableMatmulFLOPS: [Precision: Double] = [:]
    /// What one SM completes per clock on the tensor cores, exponential units and shared memory
    /// (catalog `sm_throughput_per_clock`), where the architecture's figures are known; nil
    /// elsewhere (attention then keeps its fraction of the BF16 peak).
    public var smThroughput: SMThroughput? = nil
    /// HBM capacity as marketed, bytes (decimal GB × 10⁹).
    public var hbmBytes: Double
    /// HBM the CUDA driver offers a process (`totalGlobalMem`), bytes: what training memory must
    /// fit in. "80 GB" Hopper parts carry 80 GiB of HBM3, of which 79.1 GiB are reported.
    /// Equal to `hbmBytes` where no measurement is catalogued (conservative).
    public var hbmUsableBytes: Double
    /// HBM peak bandwidth, bytes/s.
    public var hbmBandwidth: Double
    /// Fraction of `hbmBandwidth` that memory-bound kernels reach.
    public var hbmAchievableFraction: Double
    /// Streaming multiprocessors (compute units on AMD).
    public var smCount: Int
    /// Last-level cache, bytes.
    public var l2Bytes: Double
    /// Scale-up (NVLink / Infinity Fabric) bandwidth per GPU per direction, bytes/s.
    public var scaleUpBandwidth: Double
    /// Fraction of `scaleUpBandwidth` that large transfers reach.
    public var scaleUpAchievableFraction: Double
    /// True when the scale-up links join only pairs of GPUs (PCIe cards with bridges).
    public var scaleUpPairsOnly: Bool
    /// PCIe bandwidth per direction, bytes/s.
    public var pcieBandwidth: Double
    /// What a copy-engine copy between pinned host memory and HBM reaches, bytes/s per
    /// direction (catalog `host_copy_gbps`: nvbandwidth's `host_to_device_memcpy_ce` and
    /// `device_to_host_memcpy_ce`), over PCIe or, on Grace superchips, NVLink-C2C; nil where none
    /// is measured (`hostCopy` then derives it from the PCIe link).
    public var measuredHostCopy: HostCopyBandwidth? = nil
    /// Tensor cores that apply block scales themselves (OCP microscaling: MXFP8's E8M0 scale
    /// per 32 values), as Blackwell's do (catalog `microscaling_tensor_cores`); Transformer
    /// Engine's MXFP8 recipe runs only there (SM 10.0 and 10.3).
    public var microscalingTensorCores = false
    /// Thermal design power, W.
    public var tdpWatts: Double
    /// Source of each group of figures.
    public var sources: [String: String]

    /// Dense peak FLOP/s for `precision`, falling back to a wider format the device has.
    /// Returns the rate and the format that actually runs.
    public func peak(_ precision: Precision) -> (flops: Double, runsAs: Precision) {
        var p: Precision? = precision
        while let q = p {
            if let rate = peakFLOPS[q] { return (rate, q) }
            p = q.fallback
        }
        return (0, precision)
    }

    /// The measured best matmul rate over the dense peak for `precision` (the format it runs
    /// as), or nil where none is measured. A format without a measurement of its own takes the
    /// device's BF16 fraction when that one is measured (an assumption: MI300X has no FP8 row).
    public func achievableMatmulFraction(_ precision: Precision) -> Double? {
        let (peakRate, runsAs) = peak(precision)
        if let best = achievableMatmulFLOPS[runsAs], peakRate > 0 { return best / peakRate }
        guard runsAs != .bf16, let best = achievableMatmulFLOPS[.bf16], let bf16 = peakFLOPS[.bf16] else { return nil }
        return best / bf16
    }

    /// Host↔device copy rates, bytes/s: the measured ones, else the PCIe link's per-direction
    /// rate at the fraction a measured PCIe Gen5 x16 host reaches (`HostCopyBandwidth.pcieFraction`).
    public var hostCopy: HostCopyBandwidth {
        measuredHostCopy ?? HostCopyBandwidth(both: pcieBandwidth * HostCopyBandwidth.pcieFraction)
    }

    /// Scale-up bandwidth that large transfers reach, bytes/s per direction.
    public var scaleUpAchievableBandwidth: Double { scaleUpBandwidth * scaleUpAchievableFraction }
    /// HBM bandwidth that memory-bound kernels reach, bytes/s.
    public var hbmAchievableBandwidth: Double { hbmBandwidth * hbmAchievableFraction }
}

/// Copy-engine rates between pinned host memory and one GPU's HBM, bytes/s per direction.
public struct HostCopyBandwidth: Codable, Sendable, Equatable {
    public var toDevice: Double, toHost: Double
    public init(toDevice: Double, toHost: Double) { self.toDevice = toDevice; self.toHost = toHost }
    /// The same rate both ways.
    public init(both rate: Double) { self.init(toDevice: rate, toHost: rate) }

    /// Both directions `factor` times as fast.
    public func scaled(by factor: Double) -> Self { Self(toDevice: toDevice * factor, toHost: toHost * factor) }

    /// What a copy reaches of a PCIe link's per-direction rate: 52 of Gen5 x16's 64 GB/s, both
    /// ways, measured with nvbandwidth on an x86 H200 host (Azure/AI-benchmarking-guide,
    /// `Azure_Results/ND_H200_v5_results.md`, "NV Bandwidth": host to device 52, device to host
    /// 52 GB/s).
    public static let pcieFraction = 52.0 / 64.0
}

/// How the GPUs of a node are joined.
public enum ScaleUpKind: String, Codable, Sendable, CaseIterable {
    /// Every GPU reaches every other at its full scale-up rate through switches (NVSwitch).
    case nvswitch
    /// Point-to-point links between every pair (AMD Infinity Fabric); rate split over peers.
    case fullMesh = "full-mesh"
    /// Bridges between pairs of cards only; other traffic crosses PCIe.
    case pairs
}

/// SMs an NCCL collective's kernel takes from the compute while it runs: one CTA per channel,
/// each holding a whole SM (NCCL's maintainer, NVIDIA/nccl#689: "NCCL CTAs won't share an SM
/// with compute kernels"), as many channels as NCCL's topology search gives the ring.
public struct CollectiveSMs: Codable, Sendable, Equatable {
    /// A ring inside one scale-up domain (NVLink).
    public var scaleUp: Int
    /// A ring that crosses nodes (through the NICs).
    public var scaleOut: Int

    public init(scaleUp: Int, scaleOut: Int) { self.scaleUp = scaleUp; self.scaleOut = scaleOut }

    /// The figure for a ring that stays in one scale-up domain or leaves it.
    public func ring(crossesNodes: Bool) -> Int { crossesNodes ? scaleOut : scaleUp }
}

/// A server: GPUs, their scale-up fabric and the NICs that leave it.
public struct NodeTemplate: Codable, Sendable, Equatable {
    public var id: String
    public var device: Device
    public var gpus: Int
    public var scaleUp: ScaleUpKind
    /// GPUs in one scale-up domain (8 on HGX; 72 on GB200 NVL72).
    public var scaleUpDomainGPUs: Int
    /// Compute-fabric NICs per node.
    public var computeNICs: Int
    /// NIC line rate per direction, bytes/s.
    public var nicBandwidth: Double
    /// NIC rate reached by large messages, bytes/s.
    public var nicAchievableBandwidth: Double
    /// Storage-fabric NICs per node (a separate plane; not part of the compute topology).
    public var storageNICs: Int
    /// Maximum node power, W.
    public var maxPowerWatts: Double
    /// Mean IT power under training load, W.
    public var meanPowerWatts: Double
    /// SMs one NCCL ring collective's kernel holds while it runs on this node's GPUs, with
    /// NCCL's default (unregistered) buffers; nil where no figure is published (the compute
    /// beside a collective then keeps every SM).
    public var collectiveSMs: CollectiveSMs?
    public var sources: [String: String]

    /// Compute NIC bandwidth per GPU, bytes/s per direction.
    public var nicBandwidthPerGPU: Double { nicBandwidth * Double(computeNICs) / Double(gpus) }
    /// Achievable compute NIC bandwidth per GPU, bytes/s per direction.
    public var nicAchievableBandwidthPerGPU: Double { nicAchievableBandwidth * Double(computeNICs) / Double(gpus) }

    /// Achievable per-GPU rate of a ring over `members` GPUs of one scale-up domain, bytes/s
    /// per direction. Through NVSwitch every GPU reaches any other at its full rate; on a full
    /// mesh the rate is split over point-to-point links and only the links to the other
    /// members carry the ring (RCCL runs rings over every such link); with bridges between card
    /// pairs a ring of more than two crosses PCIe.
    public func ringScaleUpBandwidth(members: Int) -> Double {
        let d = device
        switch scaleUp {
        case .nvswitch: return d.scaleUpAchievableBandwidth
        case .fullMesh: return d.scaleUpAchievableBandwidth * min(1, Double(max(members - 1, 1)) / Double(max(scaleUpDomainGPUs - 1, 1)))
        case .pairs: return members <= 2 ? d.scaleUpAchievableBandwidth : d.pcieBandwidth
        }
    }
}
