import ConfigIO
import Testing
@testable import Hardware

@Suite struct CatalogTests {
    let catalog: HardwareCatalog
    init() throws { catalog = try HardwareCatalog.builtIn() }

    @Test func shipsEveryDeviceTheIssueNames() throws {
        for id in ["H800-SXM5-80GB", "H100-SXM5-80GB", "H100-PCIe-80GB", "H200-SXM-141GB", "H20-96GB",
                   "A100-SXM4-80GB", "A800-SXM4-80GB", "B200-SXM-180GB", "GB200-186GB", "GB300-279GB", "MI300X-192GB"] {
            let d = try catalog.device(id)
            #expect(!d.sources.isEmpty, "\(id) has no sources")
            #expect(d.peak(.bf16).flops > 0)
        }
    }

    /// Dense peaks, never the 2:4-sparse datasheet figures (hardware.md §0).
    @Test func h800FiguresAreDensePeaks() throws {
        let h800 = try catalog.device("H800-SXM5-80GB")
        #expect(h800.peakFLOPS[.fp8] == 1978.9e12)
        #expect(h800.peakFLOPS[.bf16] == 989.4e12)
        #expect(h800.smCount == 132)
        #expect(h800.scaleUpBandwidth == 200e9)
        #expect(abs(h800.scaleUpAchievableBandwidth - 160e9) < 1)   // DSV3 §3.2.2
        #expect(h800.hbmBytes == 80e9)
    }

    /// Host↔device copy rates: measured where nvbandwidth was run (Azure's ND H200 v5 over PCIe
    /// Gen5, 52 GB/s both ways; ND GB200 v6 over NVLink-C2C, 201 to the GPU, 193 back), else
    /// the PCIe link at the H200's 52/64; a misspelt direction is refused.
    @Test func hostCopyRates() throws {
        #expect(try catalog.device("H200-SXM-141GB").hostCopy == HostCopyBandwidth(toDevice: 52e9, toHost: 52e9))
        #expect(try catalog.device("GB200-186GB").hostCopy == HostCopyBandwidth(toDevice: 201e9, toHost: 193e9))
        let h100 = try catalog.device("H100-SXM5-80GB")
        #expect(h100.measuredHostCopy == nil && abs(h100.hostCopy.toHost - 52e9) < 1)
        #expect(abs(try catalog.device("A100-SXM4-80GB").hostCopy.toDevice - 26e9) < 1)
        let good = Self.oneDevice(extra: "    host_copy_gbps: {to_device: 25, to_host: 24}\n")
        #expect(try HardwareCatalog.parse(try ConfigValue.parse(good, file: "cat.yaml")).device("X").hostCopy == HostCopyBandwidth(toDevice: 25e9, toHost: 24e9))
        do {
            _ = try HardwareCatalog.parse(try ConfigValue.parse(Self.oneDevice(extra: "    host_copy_gbps: {to_gpu: 25, to_host: 24}\n"), file: "cat.yaml"))
            Issue.record("accepted to_gpu")
        } catch let e as ConfigError { #expect(e.description.contains("to_device"), "\(e.description)") }
    }

    /// The HBM a process can use on Blackwell, from the driver's totals: B200 182,642 MiB
    /// (CUDA's device query), GB200 189,471 and GB300 284,208 MiB in nvidia-smi less the 717 MiB
    /// the B200's driver keeps below nvidia-smi's figure.
    @Test func blackwellUsableMemory() throws {
        #expect(try catalog.device("B200-SXM-180GB").hbmUsableBytes == 182_642 * 1_048_576)
        #expect(try catalog.device("GB200-186GB").hbmUsableBytes == (189_471 - 717) * 1_048_576)
        #expect(try catalog.device("GB300-279GB").hbmUsableBytes == (284_208 - 717) * 1_048_576)
    }

    @Test func a100RunsFP8AsBF16() throws {
        let a100 = try catalog.device("A100-SXM4-80GB")
        #expect(a100.peak(.fp8).runsAs == .bf16)
        #expect(a100.peak(.fp8).flops == 312e12)
    }

    @Test func deepSeekNodeHasOneNICPerGPU() throws {
        let node = try catalog.node("HGX-H800-8GPU")
        #expect(node.gpus == 8 && node.computeNICs == 8 && node.storageNICs == 1)
        #expect(node.nicBandwidthPerGPU == 50e9)
        #expect(node.device.id == "H800-SXM5-80GB")
    }

    @Test func unknownIdsSuggestTheNearestName() {
        do {
            _ = try catalog.device("H800-SXM5-80G")
            Issue.record("expected an error")
        } catch let e as ConfigError {
            #expect(e.description.contains("did you mean 'H800-SXM5-80GB'"))
        } catch { Issue.record("wrong error \(error)") }
    }

    /// A one-device catalog whose device has `extra` lines after its peaks and the scale-up
    /// fraction written as `scaleUpFraction`.
    static func oneDevice(extra: String = "", scaleUpFraction: String = "scale_up_achievable_fraction: 0.8") -> String {
        """
        devices:
          X:
            name: X
            vendor: V
            peak_tflops: {bf16: 100}
        \(extra)    hbm_gb: 80
            hbm_tbps: 3
            hbm_achievable_fraction: 0.9
            sm_count: 100
            l2_mb: 50
            scale_up_gbps: 100
            \(scaleUpFraction)
            pcie_gbps: 64
            tdp_w: 700
            sources: {a: b}
        nodes: {}
        """
    }

    @Test func catalogRejectsUnknownAndBadKeys() throws {
        let bad = Self.oneDevice(scaleUpFraction: "scale_up_achievable_fractoin: 0.8")
        do {
            _ = try HardwareCatalog.parse(try ConfigValue.parse(bad, file: "cat.yaml"))
            Issue.record("expected an error")
        } catch let e as ConfigError {
            #expect(e.line == 12)
            #expect(e.key == "devices.X.scale_up_achievable_fractoin")
            #expect(e.description.contains("did you mean 'scale_up_achievable_fraction'"))
        }
        let negative = bad.replacingOccurrences(of: "scale_up_achievable_fractoin: 0.8", with: "scale_up_achievable_fraction: 1.5")
        #expect(throws: ConfigError.self) { try HardwareCatalog.parse(try ConfigValue.parse(negative, file: "cat.yaml")) }
    }

    /// Bekman's measured best matmul rates (MAMF table, ml-engineering compute/accelerator):
    /// H100 SXM BF16 794.5 of 989 TFLOPS, B200 1,745.0 of 2,250, MI300X 668.4 of 1,300 and no
    /// FP8 row, so MI300X's FP8 takes its BF16 fraction.
    @Test("Measured best matmul rates (Bekman's MAMF table): H100 0.80 of peak, B200 0.78, MI300X 0.51")
    func measuredBestMatmulRates() throws {
        let catalog = try HardwareCatalog.builtIn()
        let h100 = try catalog.device("H100-SXM5-80GB"), h800 = try catalog.device("H800-SXM5-80GB")
        #expect(h100.achievableMatmulFLOPS == [.bf16: 794.5 * 1e12, .fp8: 1402.6 * 1e12])
        #expect(h800.achievableMatmulFLOPS == h100.achievableMatmulFLOPS)
        #expect(abs(try #require(h100.achievableMatmulFraction(.bf16)) - 0.8030) < 1e-4)
        #expect(abs(try #require(catalog.device("B200-SXM-180GB").achievableMatmulFraction(.fp8)) - 3432.5 / 4500) < 1e-12)
        let mi300x = try catalog.device("MI300X-192GB")
        #expect(mi300x.achievableMatmulFraction(.fp8) == mi300x.achievableMatmulFraction(.bf16))
        #expect(abs(try #require(mi300x.achievableMatmulFraction(.bf16)) - 668.4 / 1307.4) < 1e-12)
        // FP32 GEMMs run at no measured rate of their own: the BF16 fraction stands for them.
        #expect(h100.achievableMatmulFraction(.fp32) == h100.achievableMatmulFraction(.bf16))
        #expect(try catalog.device("H100-PCIe-80GB").achievableMatmulFraction(.bf16) == nil)
    }

    @Test func measuredMatmulRateAbovePeakIsRefused() throws {
        func catalog(_ best: String) -> String { Self.oneDevice(extra: "    achievable_matmul_tflops: \(best)\n") }
        #expect(try HardwareCatalog.parse(try ConfigValue.parse(catalog("{bf16: 80}"), file: "cat.yaml")).device("X").achievableMatmulFLOPS == [.bf16: 80e12])
        for (bad, message) in [("{bf16: 120}", "above the bf16 peak"), ("{fp8: 50}", "no fp8 peak"), ("{bf61: 50}", "did you mean 'bf16'")] {
            do {
                _ = try HardwareCatalog.parse(try ConfigValue.parse(catalog(bad), file: "cat.yaml"))
                Issue.record("expected an error for \(bad)")
            } catch let e as ConfigError {
                #expect(e.description.contains(message), "\(e.description)")
            }
        }
    }

    /// Per-SM figures for attention's roofline: the tensor rate must give the BF16 peak at a
    /// plausible clock (100 TFLOPS on 100 SMs at 1,000 FLOPs per clock is 1 GHz; at 10 it
    /// would be 100 GHz), and a misspelt key is named. The shipped ones imply the clocks the
    /// peaks are quoted at: H100 SXM 1.830 GHz, A100 1.41, B200 1.856.
    @Test func smThroughputPerClock() throws {
        func catalog(_ figures: String) -> String { Self.oneDevice(extra: "    sm_throughput_per_clock: \(figures)\n") }
        let good = try HardwareCatalog.parse(try ConfigValue.parse(catalog("{bf16_tensor_flops: 1000, exp2: 16, shared_memory_bytes: 128}"), file: "cat.yaml"))
        #expect(try good.device("X").smThroughput == SMThroughput(bf16TensorFLOPs: 1000, exp2: 16, sharedMemoryBytes: 128))
        Self.expectRefused(catalog, [("{bf16_tensor_flops: 10, exp2: 16, shared_memory_bytes: 128}", "implies a 100.00 GHz clock"),
                                     ("{bf16_tensor_flops: 1000, exp: 16, shared_memory_bytes: 128}", "did you mean 'exp2'")])
        let shipped = try HardwareCatalog.builtIn()
        func clock(_ id: String) throws -> Double {
            let d = try shipped.device(id)
            return try #require(d.smThroughput).impliedClock(bf16Peak: d.peakFLOPS[.bf16]!, smCount: d.smCount) / 1e9
        }
        let (h100, a100, b200) = (try clock("H100-SXM5-80GB"), try clock("A100-SXM4-80GB"), try clock("B200-SXM-180GB"))
        #expect(abs(h100 - 1.830) < 0.001 && abs(a100 - 1.411) < 0.001 && abs(b200 - 1.856) < 0.001)
        let (mi300x, h20) = (try shipped.device("MI300X-192GB"), try shipped.device("H20-96GB"))
        #expect(mi300x.smThroughput == nil && h20.smThroughput == nil)
    }

    /// A node's `collective_sms`: parsed per ring, refused at or past the device's SMs and with
    /// a misspelt key; the shipped H100 and A100 nodes give 24 inside the NVLink domain and 16
    /// across nodes (NVIDIA/nccl#1453, nccl-tests#319, nccl#689, nccl#1225); nodes without a
    /// published figure (GB200 tray, MI300X, H100 PCIe) have none.
    @Test func collectiveSMs() throws {
        func catalog(_ figures: String) -> String {
            Self.oneDevice().replacingOccurrences(of: "nodes: {}", with: """
            nodes:
              N:
                device: X
                gpus: 8
                scale_up: nvswitch
                compute_nics_per_node: 8
                nic_gbps: 50
                nic_achievable_gbps: 46
                max_power_w: 10000
                mean_power_w: 8000
                collective_sms: \(figures)
                sources: {a: b}
            """)
        }
        let good = try HardwareCatalog.parse(try ConfigValue.parse(catalog("{scale_up: 24, scale_out: 16}"), file: "cat.yaml"))
        let sms = try #require(good.nodes["N"]?.collectiveSMs)
        #expect(sms == CollectiveSMs(scaleUp: 24, scaleOut: 16) && sms.ring(crossesNodes: true) == 16 && sms.ring(crossesNodes: false) == 24)
        Self.expectRefused(catalog, [("{scale_up: 100, scale_out: 16}", "100 SMs for a collective, but the device has 100"),
                                     ("{scale_up: 24, scale_ot: 16}", "did you mean 'scale_out'")])
        let shipped = try HardwareCatalog.builtIn()
        for id in ["HGX-H100-8GPU", "HGX-H800-8GPU", "DGX-A100-8GPU"] {
            #expect(shipped.nodes[id]?.collectiveSMs == CollectiveSMs(scaleUp: 24, scaleOut: 16), "\(id)")
        }
        for id in ["GB200-NVL72-TRAY", "GB300-NVL72-TRAY", "MI300X-8GPU", "H100-PCIe-8GPU"] { #expect(shipped.nodes[id]?.collectiveSMs == nil, "\(id)") }
    }

    /// Each figure, put into the catalog by `catalog`, is refused with an error that says `message`.
    static func expectRefused(_ catalog: (String) -> String, _ cases: [(figures: String, message: String)]) {
        for (bad, message) in cases {
            do {
                _ = try HardwareCatalog.parse(try ConfigValue.parse(catalog(bad), file: "cat.yaml"))
                Issue.record("expected an error for \(bad)")
            } catch let e as ConfigError {
                #expect(e.description.contains(message), "\(e.description)")
            } catch {
                Issue.record("unexpected error \(error)")
            }
        }
    }

    /// The B300 (Blackwell Ultra, HGX): the B200's BF16 and FP8 peaks, a dense FP4 peak three
    /// times its FP8 one, the GB300's doubled exponential units, 268 GB; its node 8 GPUs with an
    /// 800 Gb/s NIC each.
    @Test("B300: 2,250 / 4,500 / 13,500 TFLOPS, 32 exponentials per SM per clock, 268 GB; HGX node of 8 with 800 Gb/s NICs")
    func blackwellUltraHGX() throws {
        let catalog = try HardwareCatalog.builtIn()
        let b300 = try catalog.device("B300-SXM-268GB")
        #expect(b300.peakFLOPS[.bf16] == 2250e12 && b300.peakFLOPS[.fp8] == 4500e12 && b300.peakFLOPS[.fp4] == 13_500e12)
        #expect(b300.smThroughput?.exp2 == 32 && b300.microscalingTensorCores && b300.smCount == 160)
        #expect(b300.hbmBandwidth == 8e12 && b300.tdpWatts == 1100)
        let node = try catalog.node("HGX-B300-8GPU")
        #expect(node.gpus == 8 && node.device == b300 && node.nicBandwidth == 100e9 && node.computeNICs == 8)
    }
}
