import ConfigIO
import Foundation

/// The devices and node templates llmsim knows, loaded from `Resources/catalog.yaml`.
public struct HardwareCatalog: Sendable {
    public var devices: [String: Device]
    public var nodes: [String: NodeTemplate]

    /// The catalog shipped with llmsim, parsed once per process: every kernel calibration
    /// resolves its `calibration_device` here, and parsing the file each time cost 2.7 ms of a
    /// 30-ms step.
    public static func builtIn() throws -> HardwareCatalog { try shipped.get() }

    /// The shipped file, parsed on first use (an immutable value; its error kept as a
    /// `ConfigError`).
    private static let shipped: Result<HardwareCatalog, ConfigError> = {
        guard let url = Bundle.module.url(forResource: "catalog", withExtension: "yaml") else {
            return .failure(ConfigError(file: "catalog.yaml", problem: "the built-in hardware catalog is missing from the bundle",
                                        fix: "rebuild llmsim (swift build)"))
        }
        do { return .success(try load(path: url.path)) }
        catch let e as ConfigError { return .failure(e) }
        catch { return .failure(ConfigError(file: "catalog.yaml", problem: "the built-in hardware catalog does not load: \(error)", fix: "rebuild llmsim (swift build)")) }
    }()

    /// Loads a catalog file (same schema as the built-in one).
    public static func load(path: String) throws -> HardwareCatalog {
        try parse(try ConfigValue.load(path: path))
    }

    public static func parse(_ root: ConfigValue) throws -> HardwareCatalog {
        try root.requireKnownKeys(["devices", "nodes"])
        var devices: [String: Device] = [:]
        let deviceMap = try root.required("devices")
        for id in try deviceMap.keys() { devices[id] = try parseDevice(id: id, try deviceMap.required(id)) }
        var nodes: [String: NodeTemplate] = [:]
        let nodeMap = try root.required("nodes")
        for id in try nodeMap.keys() { nodes[id] = try parseNode(id: id, try nodeMap.required(id), devices: devices) }
        return HardwareCatalog(devices: devices, nodes: nodes)
    }

    /// The device with this id; the error lists the known ones.
    public func device(_ id: String) throws -> Device {
        guard let d = devices[id] else {
            throw ConfigError(key: "device", problem: "unknown device '\(id)'", fix: Suggestion.fix(for: id, allowed: Array(devices.keys)))
        }
        return d
    }

    /// The node template with this id; the error lists the known ones.
    public func node(_ id: String) throws -> NodeTemplate {
        guard let n = nodes[id] else {
            throw ConfigError(key: "node", problem: "unknown node template '\(id)'", fix: Suggestion.fix(for: id, allowed: Array(nodes.keys)))
        }
        return n
    }

    static let deviceKeys = ["name", "vendor", "peak_tflops", "achievable_matmul_tflops", "sm_throughput_per_clock", "hbm_gb", "hbm_usable_bytes", "hbm_tbps", "hbm_achievable_fraction", "sm_count",
                             "l2_mb", "scale_up_gbps", "scale_up_achievable_fraction", "scale_up_pairs_only", "pcie_gbps",
                             "host_copy_gbps", "microscaling_tensor_cores", "tdp_w", "sources"]

    static func parseDevice(id: String, _ v: ConfigValue) throws -> Device {
        try v.requireKnownKeys(deviceKeys)
        let peaks = try v.required("peak_tflops")
        try peaks.requireKnownKeys(Precision.allCases.map(\.rawValue))
        var peakFLOPS: [Precision: Double] = [:]
        for key in try peaks.keys() { peakFLOPS[Precision(rawValue: key)!] = try peaks.positiveDouble(key) * 1e12 }
        guard peakFLOPS[.bf16] != nil || peakFLOPS[.fp16] != nil else {
            throw peaks.error("a device needs a bf16 or fp16 peak", fix: "add 'bf16: <dense TFLOPS>'")
        }
        var achievable: [Precision: Double] = [:]
        if let best = try v.optional("achievable_matmul_tflops") {
            try best.requireKnownKeys(Precision.allCases.map(\.rawValue))
            for key in try best.keys() {
                let p = Precision(rawValue: key)!, rate = try best.positiveDouble(key) * 1e12
                guard let peak = peakFLOPS[p], rate <= peak else {
                    throw try best.required(key).error(peakFLOPS[p] == nil ? "no \(key) peak to measure against" : "a measured matmul rate above the \(key) peak",
                                                       fix: "give the measured TFLOPS of a format the device has, at most its peak_tflops")
                }
                achievable[p] = rate
            }
        }
        let smCount = try v.positiveInt("sm_count")
        return Device(
            id: id, name: try v.required("name").string(), vendor: try v.required("vendor").string(),
            peakFLOPS: peakFLOPS, achievableMatmulFLOPS: achievable,
            smThroughput: try v.optional("sm_throughput_per_clock").map { try parseSMThroughput($0, bf16Peak: peakFLOPS[.bf16] ?? peakFLOPS[.fp16]!, smCount: smCount) },
            hbmBytes: try v.positiveDouble("hbm_gb") * 1e9,
            hbmUsableBytes: try v.optional("hbm_usable_bytes") == nil ? try v.positiveDouble("hbm_gb") * 1e9 : try v.positiveDouble("hbm_usable_bytes"),
            hbmBandwidth: try v.positiveDouble("hbm_tbps") * 1e12,
            hbmAchievableFraction: try fraction(v, "hbm_achievable_fraction"),
            smCount: smCount,
            l2Bytes: try v.positiveDouble("l2_mb") * 1e6,
            scaleUpBandwidth: try v.positiveDouble("scale_up_gbps") * 1e9,
            scaleUpAchievableFraction: try fraction(v, "scale_up_achievable_fraction"),
            scaleUpPairsOnly: try v.optional("scale_up_pairs_only")?.bool() ?? false,
            pcieBandwidth: try v.positiveDouble("pcie_gbps") * 1e9,
            measuredHostCopy: try v.optional("host_copy_gbps").map { c in
                try c.requireKnownKeys(["to_device", "to_host"])
                return HostCopyBandwidth(toDevice: try c.positiveDouble("to_device") * 1e9, toHost: try c.positiveDouble("to_host") * 1e9)
            },
            microscalingTensorCores: try v.optional("microscaling_tensor_cores")?.bool() ?? false,
            tdpWatts: try v.positiveDouble("tdp_w"),
            sources: try stringMap(v.required("sources")))
    }

    /// An SM's per-clock figures; the tensor rate must give the BF16 peak at a plausible clock
    /// (0.5–3 GHz), which catches a figure per GPU or per SM partition given by mistake.
    static func parseSMThroughput(_ v: ConfigValue, bf16Peak: Double, smCount: Int) throws -> SMThroughput {
        try v.requireKnownKeys(["bf16_tensor_flops", "exp2", "shared_memory_bytes"])
        let sm = SMThroughput(bf16TensorFLOPs: try v.positiveDouble("bf16_tensor_flops"), exp2: try v.positiveDouble("exp2"),
                              sharedMemoryBytes: try v.positiveDouble("shared_memory_bytes"))
        let clock = sm.impliedClock(bf16Peak: bf16Peak, smCount: smCount)
        guard (0.5e9...3e9).contains(clock) else {
            throw try v.required("bf16_tensor_flops").error(
                String(format: "%g BF16 FLOPs per clock per SM on %d SMs implies a %.2f GHz clock for the BF16 peak", sm.bf16TensorFLOPs, smCount, clock / 1e9),
                fix: "give the dense BF16 tensor FLOPs of one SM in one clock (BF16 peak / (sm_count × clock); 4096 on Hopper)")
        }
        return sm
    }

    static let nodeKeys = ["device", "gpus", "scale_up", "scale_up_domain_gpus", "compute_nics_per_node", "nic_gbps",
                           "nic_achievable_gbps", "storage_nics_per_node", "max_power_w", "mean_power_w", "collective_sms", "sources"]

    static func parseNode(id: String, _ v: ConfigValue, devices: [String: Device]) throws -> NodeTemplate {
        try v.requireKnownKeys(nodeKeys)
        let device = try v.required("device").entry(of: devices, what: "device")
        let gpus = try v.positiveInt("gpus")
        let scaleUp = try v.choice("scale_up", ScaleUpKind.self)
        return NodeTemplate(
            id: id, device: device, gpus: gpus, scaleUp: scaleUp,
            scaleUpDomainGPUs: try v.positiveInt("scale_up_domain_gpus", default: gpus),
            computeNICs: try v.positiveInt("compute_nics_per_node"),
            nicBandwidth: try v.positiveDouble("nic_gbps") * 1e9,
            nicAchievableBandwidth: try v.positiveDouble("nic_achievable_gbps") * 1e9,
            storageNICs: try v.positiveInt("storage_nics_per_node", default: 0, allowZero: true),
            maxPowerWatts: try v.positiveDouble("max_power_w"),
            meanPowerWatts: try v.positiveDouble("mean_power_w"),
            collectiveSMs: try v.optional("collective_sms").map { try parseCollectiveSMs($0, smCount: device.smCount) },
            sources: try stringMap(v.required("sources")))
    }

    /// `collective_sms: {scale_up: N, scale_out: M}`: each fewer than the device's SMs.
    static func parseCollectiveSMs(_ v: ConfigValue, smCount: Int) throws -> CollectiveSMs {
        try v.requireKnownKeys(["scale_up", "scale_out"])
        let sms = CollectiveSMs(scaleUp: try v.positiveInt("scale_up"), scaleOut: try v.positiveInt("scale_out"))
        for (key, n) in [("scale_up", sms.scaleUp), ("scale_out", sms.scaleOut)] where n >= smCount {
            throw try v.required(key).error("\(n) SMs for a collective, but the device has \(smCount)",
                                            fix: "give the SMs (one per NCCL channel) a collective's kernel holds, fewer than \(smCount)")
        }
        return sms
    }

    static func fraction(_ v: ConfigValue, _ key: String) throws -> Double {
        let f = try v.positiveDouble(key)
        if f > 1 { throw try v.required(key).error("a fraction must be in (0, 1], found \(f)") }
        return f
    }

    static func stringMap(_ v: ConfigValue) throws -> [String: String] {
        var out: [String: String] = [:]
        for key in try v.keys() { out[key] = try v.required(key).string() }
        return out
    }
}
