import ConfigIO
import Testing
@testable import Hardware

@Suite struct CatalogTests {
    let catalog: HardwareCatalog
    init() throws { catalog = try HardwareCatalog.builtIn() }

    @Test func shipsEveryDeviceTheIssueNames() throws {
        for id in ["H800-SXM5-80GB", "H100-SXM5-80GB", "H100-PCIe-80GB", "H200-SXM-141GB", "H20-96GB",
                   "A100-SXM4-80GB", "A800-SXM4-80GB", "B200-SXM-180GB", "GB200-186GB", "MI300X-192GB"] {
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

    @Test func catalogRejectsUnknownAndBadKeys() throws {
        let bad = """
        devices:
          X:
            name: X
            vendor: V
            peak_tflops: {bf16: 100}
            hbm_gb: 80
            hbm_tbps: 3
            hbm_achievable_fraction: 0.9
            sm_count: 100
            l2_mb: 50
            scale_up_gbps: 100
            scale_up_achievable_fractoin: 0.8
            pcie_gbps: 64
            tdp_w: 700
            sources: {a: b}
        nodes: {}
        """
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
}
