/// Switch and link counts of fat-tree style networks built from switches of radix `k`.
///
/// Formulas (Al-Fares et al., SIGCOMM 2008; ISCA 2025 Table 3 uses the same ones):
/// - two layers, full bisection: each leaf uses k/2 ports down and k/2 up, so at most k²/2
///   endpoints; leaves = ⌈E / (k/2)⌉, spines = ⌈leaves·(k/2) / k⌉. Inter-switch links =
///   leaves·k/2. With k = 64 and 2,048 endpoints: 64 leaves + 32 spines = 96 switches,
///   2,048 links.
/// - three layers: edge = ⌈E/(k/2)⌉, pods of k/2 edge and k/2 aggregation switches,
///   core = aggregation/2; at most k³/4 endpoints. k = 64, 65,536 endpoints: 2,048 + 2,048 +
///   1,024 = 5,120 switches, 131,072 links.
/// `links` counts switch-to-switch cables only, as ISCA Table 3 does; NIC-to-leaf cables are
/// `endpointLinks`.
public struct SwitchCounts: Codable, Sendable, Equatable {
    public var endpoints: Int
    public var switches: Int
    public var links: Int
    public var endpointLinks: Int
    /// Switch layers a packet may cross (1, 2 or 3).
    public var layers: Int
    /// Switches per layer, bottom up.
    public var perLayer: [Int]

    public static let zero = SwitchCounts(endpoints: 0, switches: 0, links: 0, endpointLinks: 0, layers: 0, perLayer: [])

    /// Largest full-bisection two-layer network of radix `k`.
    public static func twoLayerCapacity(radix k: Int) -> Int { k * k / 2 }
    /// Largest full-bisection three-layer network of radix `k`.
    public static func threeLayerCapacity(radix k: Int) -> Int { k * k * k / 4 }

    /// A two-layer fat tree (one switch if the endpoints fit on one).
    public static func twoLayer(endpoints e: Int, radix k: Int) -> SwitchCounts {
        if e <= k { return SwitchCounts(endpoints: e, switches: 1, links: 0, endpointLinks: e, layers: 1, perLayer: [1]) }
        let half = k / 2
        let leaves = ceilDiv(e, half)
        let spines = ceilDiv(leaves * half, k)
        return SwitchCounts(endpoints: e, switches: leaves + spines, links: leaves * half, endpointLinks: e,
                            layers: 2, perLayer: [leaves, spines])
    }

    /// A three-layer fat tree.
    public static func threeLayer(endpoints e: Int, radix k: Int) -> SwitchCounts {
        let half = k / 2
        let edge = ceilDiv(e, half)
        let pods = ceilDiv(edge, half)
        let aggregation = pods * half
        let core = ceilDiv(aggregation * half, k)
        return SwitchCounts(endpoints: e, switches: edge + aggregation + core,
                            links: edge * half + aggregation * half, endpointLinks: e,
                            layers: 3, perLayer: [edge, aggregation, core])
    }

    /// Rail-optimised two-layer network: each NIC index (rail) of every node goes to its own
    /// leaves; one spine layer joins all leaves (the "multi-rail fat tree" of ISCA §5.1.2).
    public static func railOptimized(nodes: Int, rails: Int, radix k: Int) -> SwitchCounts {
        let half = k / 2
        let leavesPerRail = ceilDiv(nodes, half)
        let leaves = leavesPerRail * rails
        let spines = ceilDiv(leaves * half, k)
        return SwitchCounts(endpoints: nodes * rails, switches: leaves + spines, links: leaves * half,
                            endpointLinks: nodes * rails, layers: 2, perLayer: [leaves, spines])
    }

    /// `planes` identical copies of a network (multi-plane fat tree).
    public func times(_ planes: Int) -> SwitchCounts {
        SwitchCounts(endpoints: endpoints * planes, switches: switches * planes, links: links * planes,
                     endpointLinks: endpointLinks * planes, layers: layers, perLayer: perLayer.map { $0 * planes })
    }
}

@inlinable func ceilDiv(_ a: Int, _ b: Int) -> Int { (a + b - 1) / b }
