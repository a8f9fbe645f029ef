import Hardware
import Testing
@testable import Fabric

/// OpenXLA's NVLink collective table (`OpenXLACollectiveTable`) and the NVLink shares the
/// catalog takes from it.
@Suite struct OpenXLACollectiveTableTests {
    /// nccl-tests' bus factors: 2(n−1)/n for an all-reduce, (n−1)/n for the others.
    @Test func busFactors() {
        #expect(OpenXLACollectiveTable.Operation.allReduce.busFactor(gpus: 8) == 1.75)
        #expect(OpenXLACollectiveTable.Operation.allGather.busFactor(gpus: 8) == 0.875)
        #expect(OpenXLACollectiveTable.Operation.reduceScatter.busFactor(gpus: 4) == 0.75)
    }

    /// The 15 transcribed 2 GiB rows: 8- and 4-GPU all-reduce, all-gather and reduce-scatter on
    /// each 8-GPU node, the three on 64 GPUs of a GB200 rack; the Blackwell 8-GPU bus rates
    /// 613.8, 616.4 and 641.8 GB/s, the rack's 821.4, 668.8 and 687.1 GB/s.
    @Test func rows() {
        let t = OpenXLACollectiveTable.self
        #expect(t.generations.flatMap(\.rows).count == 15 && t.generations.map(\.arch) == ["sm_90", "sm_100", "sm_100_GB200"])
        let blackwell = t.blackwell.rows.filter { $0.gpus == 8 }.map { $0.busBandwidth / 1e9 }
        for (bus, expected) in zip(blackwell, [613.8, 616.4, 641.8]) { #expect(abs(bus - expected) < 0.1, "\(bus)") }
        let rack = t.blackwellRack.rows.map { $0.busBandwidth / 1e9 }
        for (bus, expected) in zip(rack, [821.4, 668.8, 687.1]) { #expect(abs(bus - expected) < 0.1, "\(bus)") }
    }

    /// The rows NCCL reduced in the switch are the H100 node's 8-GPU all-reduce (bus 0.894 of
    /// 450 against its all-gather's 0.781) and the GB200 rack's (0.913 of 900 against its
    /// reduce-scatter's 0.763); the B200 node's and every 4-GPU all-reduce ran as rings.
    @Test func inSwitchRowsAreTheFastAllReduces() {
        let flagged = OpenXLACollectiveTable.generations.flatMap { g in g.rows.filter(g.ranInSwitch).map { "\(g.arch) \($0.operation.rawValue) \($0.gpus)" } }
        #expect(flagged == ["sm_90 all-reduce 8", "sm_100_GB200 all-reduce 64"])
    }

    /// Blackwell's 8-GPU rows give 0.693 of NVLink 5's 900 GB/s, the share the catalog's
    /// NVLink 5 GPUs carry; the Hopper rows give 0.802 of 450, within 0.5 % of the 0.8 the
    /// H100 and H800 entries carry from nccl-tests and DeepSeek's H800 figure.
    @Test func catalogSharesAreTheTables() throws {
        let t = OpenXLACollectiveTable.self
        let blackwell = t.blackwell.achievableFraction(lineRate: 900e9), hopper = t.hopper.achievableFraction(lineRate: 450e9)
        #expect(abs(blackwell - 0.6933) < 0.0005 && abs(hopper - 0.8020) < 0.0005, "\(blackwell) \(hopper)")
        let catalog = try HardwareCatalog.builtIn()
        for id in ["B200-SXM-180GB", "B300-SXM-268GB", "GB200-186GB", "GB300-279GB"] {
            #expect(try catalog.device(id).scaleUpAchievableFraction == (blackwell * 1000).rounded() / 1000, "\(id)")
        }
        for id in ["H100-SXM5-80GB", "H800-SXM5-80GB"] { #expect(abs(try catalog.device(id).scaleUpAchievableFraction / hopper - 1) < 0.005) }
    }
}
