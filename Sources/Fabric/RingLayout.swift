/// Where the members of a ring collective sit: `perDomain` of the `participants` share each
/// scale-up (NVLink) domain, and the domains are joined by the NICs.
///
/// NCCL builds its rings through the scale-up fabric: per channel, an intra-node order of the
/// local GPUs whose first receives from the previous node and whose last sends to the next
/// (NCCL `src/graph/connect.cc`, `ncclTopoPreset`: `ringRecv = ringIntra[0]`,
/// `ringSend = ringIntra[localRanks-1]`), the channels' orders chosen by the topology search so
/// they leave through different NICs (Hu et al., "Demystifying NCCL", arXiv 2507.04786, 2025).
/// In each of the p − 1 steps of a ring reduce-scatter or all-gather a member passes one chunk
/// (1/p of the buffer) on: with g = `perDomain` members in a domain, (g−1)/g of the chunks a
/// member passes cross NVLink and the domain's cross traffic, one chunk per channel, is spread
/// over the g members' NICs, 1/g of a chunk each. A step lasts as long as its slowest hop. With
/// one member per domain every hop leaves the node (the plain NIC ring); with the whole ring in
/// one domain it is the plain NVLink ring. The `FabricTests` check this against the fluid
/// network stepped channel by channel.
public struct RingLayout: Sendable, Equatable {
    public var participants: Int
    /// Members in each scale-up domain (divides `participants`).
    public var perDomain: Int
    /// Per member and direction, bytes/s: its rate to another member of its domain, and its
    /// share of the NICs.
    public var scaleUpBandwidth: Double, scaleOutBandwidth: Double
    /// Latency of a hop inside a domain and between domains, s.
    public var scaleUpLatency: Double, scaleOutLatency: Double

    public init(participants: Int, perDomain: Int, scaleUpBandwidth: Double, scaleOutBandwidth: Double,
                scaleUpLatency: Double, scaleOutLatency: Double) {
        self.participants = participants; self.perDomain = max(1, min(perDomain, participants))
        self.scaleUpBandwidth = scaleUpBandwidth; self.scaleOutBandwidth = scaleOutBandwidth
        self.scaleUpLatency = scaleUpLatency; self.scaleOutLatency = scaleOutLatency
    }

    /// Scale-up domains the ring spans.
    public var domains: Int { (participants + perDomain - 1) / perDomain }

    /// Seconds of one ring step in which every member passes on `chunk` bytes: the slower of
    /// its NVLink hops and its share of the domain's NIC hops, each with its latency.
    public func stepSeconds(chunk: Double) -> Double {
        let g = Double(perDomain)
        if domains == 1 { return chunk / scaleUpBandwidth + scaleUpLatency }
        let nic = chunk / g / scaleOutBandwidth + scaleOutLatency
        return perDomain == 1 ? nic : max(chunk * (g - 1) / g / scaleUpBandwidth + scaleUpLatency, nic)
    }
}
