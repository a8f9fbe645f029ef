import ConfigIO

extension Topology {
    static let keys = ["name", "description", "kind", "node", "nodes", "switch_ports", "planes", "latency_us", "prices"]
    static let latencyKeys = ["scale_up", "same_leaf", "cross_leaf", "cross_core"]
    static let priceKeys = ["switch_usd", "link_usd", "endpoint_link_usd"]

    /// ISCA 2025 Table 5 (InfiniBand; NVLink 3.33 µs). The cross-core figure is not published:
    /// one more spine-to-core round trip, estimated as cross-leaf + (cross-leaf − same-leaf).
    public static let defaultLatency = HopLatency(scaleUp: 3.33e-6, sameLeaf: 2.8e-6, crossLeaf: 3.7e-6, crossCore: 4.6e-6)
    /// ≈$83K per 64-port switch and ≈$500 per link: the unit prices that reproduce ISCA Table 3's
    /// FT2 ($9M) and FT3 ($491M) rows (third-party fit; the paper gives no unit prices).
    public static let defaultSwitchPriceUSD = 83_000.0
    public static let defaultLinkPriceUSD = 500.0

    /// Loads a topology file (`Topologies/*.yaml`), resolving the node template in `catalog`.
    public static func load(path: String, catalog: HardwareCatalog) throws -> Topology {
        try parse(try ConfigValue.load(path: path), catalog: catalog)
    }

    public static func parse(_ v: ConfigValue, catalog: HardwareCatalog) throws -> Topology {
        try v.requireKnownKeys(keys)
        let kind = try v.choice("kind", TopologyKind.self)
        let node = try v.required("node").entry(of: catalog.nodes, what: "node template")
        let planes = try v.positiveInt("planes", default: 1)
        if kind != .multiPlaneFatTree, planes != 1 {
            throw try v.required("planes").error("planes apply to kind: multi-plane-fat-tree only", fix: "remove 'planes' or change 'kind'")
        }
        let radix = try v.positiveInt("switch_ports")
        if radix < 4 || radix % 2 != 0 {
            throw try v.required("switch_ports").error("a switch needs an even number of ports, at least 4, found \(radix)")
        }
        var latency = defaultLatency
        if let l = try v.optional("latency_us") {
            try l.requireKnownKeys(latencyKeys)
            latency = HopLatency(
                scaleUp: try l.positiveDouble("scale_up", default: defaultLatency.scaleUp * 1e6) * 1e-6,
                sameLeaf: try l.positiveDouble("same_leaf", default: defaultLatency.sameLeaf * 1e6) * 1e-6,
                crossLeaf: try l.positiveDouble("cross_leaf", default: defaultLatency.crossLeaf * 1e6) * 1e-6,
                crossCore: try l.positiveDouble("cross_core", default: defaultLatency.crossCore * 1e6) * 1e-6)
        }
        var switchPrice = defaultSwitchPriceUSD, linkPrice = defaultLinkPriceUSD, endpointPrice = 0.0
        if let p = try v.optional("prices") {
            try p.requireKnownKeys(priceKeys)
            switchPrice = try p.positiveDouble("switch_usd", default: switchPrice, allowZero: true)
            linkPrice = try p.positiveDouble("link_usd", default: linkPrice, allowZero: true)
            endpointPrice = try p.positiveDouble("endpoint_link_usd", default: 0, allowZero: true)
        }
        let topology = Topology(
            name: try v.required("name").string(),
            description: try v.optional("description")?.string() ?? "",
            kind: kind, node: node, nodes: try v.positiveInt("nodes"), switchRadix: radix, planes: planes,
            latency: latency, switchPriceUSD: switchPrice, linkPriceUSD: linkPrice, endpointLinkPriceUSD: endpointPrice)
        try topology.validate(file: v.file)
        return topology
    }
}
