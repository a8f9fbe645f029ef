import Foundation

/// Which release of DeepEP's normal (training and prefill) kernels moves the tokens, named by
/// the month of the README table that measured it.
///
/// DeepEP's README has published the H800 figures of its normal kernels twice over (4,096 tokens,
/// hidden 7,168, top-8 of 4 groups, FP8 dispatch, BF16 combine, logical bandwidth, 24 SMs):
/// the first public release's table (2025-02-24) and the table after the 2025-04-22 update
/// (credited to Tencent; multiple queue pairs per peer, DeepEP PR #130), which raised the
/// internode rates 5–35 % and left the intranode ones as they were. llmsim's fluid model of
/// the all-to-all reproduces the current table (`llmsim validate`); an older release moves its
/// RDMA bytes at the share of that rate its own table shows at the same EP
/// (`rdmaShare(nodes:kind:)`).
///
/// DeepSeek-V3 trained in late 2024, before either table; the kernels of its training trace
/// (published on 2025-02-27 beside DualPipe) are the first release's. The reference notes
/// (`reference/deepseek-v3.md` §3.3) take the first release for V3 as trained and the later
/// figures as an upper bound.
public enum DeepEPKernels: String, Sendable, Codable, CaseIterable {
    /// The first public release (README of 2025-02-24): one queue pair per peer.
    case release2025_02 = "2025-02"
    /// After the 2025-04-22 update: the current README's table.
    case release2025_04 = "2025-04"

    /// The release DeepEP ships today, whose table llmsim's all-to-all reproduces: the default
    /// of every experiment and command.
    public static let current = release2025_04

    /// The date of the README table that measured it.
    public var tableDate: String {
        switch self {
        case .release2025_02: "2025-02-24"
        case .release2025_04: "2025-04-22"
        }
    }

    /// GPUs per node of the README's H800 nodes: its EP 8 is one node, EP 16 two, and so on.
    public static let tableGPUsPerNode = 8

    /// The README's H800 figures, logical GB/s: EP (GPUs, `tableGPUsPerNode` per node),
    /// dispatch, combine. EP 8 is intranode (NVLink), the rest internode (RDMA).
    public var publishedRates: [(ep: Int, dispatch: Double, combine: Double)] {
        switch self {
        case .release2025_02: return [(8, 153, 158), (16, 43, 43), (32, 44, 47), (64, 46, 45)]
        case .release2025_04: return [(8, 153, 158), (16, 43, 43), (32, 58, 57), (64, 51, 50)]
        }
    }

    /// The published rate of one kind at `ep`, GB/s (nil where the table has no row).
    public func publishedRate(ep: Int, kind: MoEAllToAll.Kind) -> Double? {
        publishedRates.first { $0.ep == ep }.map { kind == .dispatch ? $0.dispatch : $0.combine }
    }

    /// The share of the current kernels' RDMA rate this release reaches on an EP group of
    /// `nodes` nodes: its published rate over the current one at the internode EP nearest in
    /// log nodes (EP 64's beyond it; 1 inside one node, where the tables agree). For the first
    /// release: EP 16 1 (both bound by NVLink forwarding, DeepEP issue #285), EP 32 0.76 / 0.82,
    /// EP 64 0.90 / 0.90 (dispatch / combine).
    public func rdmaShare(nodes: Int, kind: MoEAllToAll.Kind) -> Double {
        guard nodes > 1 else { return 1 }
        let distance = { (ep: Int) in abs(log(Double(ep / Self.tableGPUsPerNode) / Double(nodes))) }
        let ep = publishedRates.map(\.ep).filter { $0 > Self.tableGPUsPerNode }.min { distance($0) < distance($1) }!
        return publishedRate(ep: ep, kind: kind)! / Self.current.publishedRate(ep: ep, kind: kind)!
    }
}
