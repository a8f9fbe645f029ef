import SimCore

/// Concurrent transfers sharing links as fluid flows with max-min fairness (the SimGrid model;
/// Casanova et al., "Versatile, scalable and accurate simulation of distributed applications
/// and platforms", JPDC 2014).
///
/// Derivation. Each flow f crosses a set of links; each link l has capacity C_l (bytes/s, one
/// direction). A rate allocation r is max-min fair when no flow's rate can grow without
/// shrinking a flow of smaller or equal rate. Progressive filling finds it: raise all unfrozen
/// rates together; the first link to saturate is the one with the smallest fair share
/// C_l' / n_l (remaining capacity over unfrozen flows crossing it); its flows freeze at that
/// share; subtract their rates from every link they cross; repeat until all flows are frozen.
/// Cost O(L·F) per allocation. Between flow arrivals and departures rates are constant, so the
/// simulation jumps from one completion to the next and recomputes (once per batch of flows
/// that start together, as a collective's flows do).
///
/// Time is integer picoseconds (SimTime); a flow's completion also adds its path latency once
/// (store-and-forward of the first byte, the alpha of the alpha-beta model).
public struct FluidNetwork {
    public struct Link: Sendable {
        public var name: String
        /// Bytes per second.
        public var capacity: Double
        /// Seconds.
        public var latency: Double
    }

    public struct Flow: Sendable {
        public var links: [Int]
        public var bytes: Double
        /// When the flow starts, seconds.
        public var start: Double
    }

    public private(set) var links: [Link] = []
    public init() {}

    /// Adds a link; returns its index.
    @discardableResult
    public mutating func addLink(_ name: String, capacity: Double, latency: Double = 0) -> Int {
        precondition(capacity > 0, "link \(name) needs a positive capacity")
        links.append(Link(name: name, capacity: capacity, latency: latency))
        return links.count - 1
    }

    /// Max-min fair rates of the given flows (bytes/s), each crossing `paths[i]`.
    public func maxMinRates(_ paths: [[Int]]) -> [Double] {
        var remaining = links.map(\.capacity)
        var rate = [Double](repeating: 0, count: paths.count)
        var frozen = [Bool](repeating: false, count: paths.count)
        var crossing = [[Int]](repeating: [], count: links.count)
        for (f, path) in paths.enumerated() { for l in path { crossing[l].append(f) } }
        var unfrozenCount = crossing.map(\.count)
        var left = paths.count
        for (f, path) in paths.enumerated() where path.isEmpty { rate[f] = .infinity; frozen[f] = true; left -= 1 }
        // Progressive filling. Every link whose fair share ties the minimum (to 1e-12, relative)
        // is a bottleneck of the same level and is frozen in the same round: exact, because
        // freezing flows at the level's share never lowers another link's share below it, and
        // it turns the symmetric all-to-alls (hundreds of tied links) into a few rounds.
        var level: [Int] = []
        while left > 0 {
            var share = Double.infinity
            level.removeAll(keepingCapacity: true)
            for l in links.indices where unfrozenCount[l] > 0 {
                let s = remaining[l] / Double(unfrozenCount[l])
                if s < share * (1 - 1e-12) { share = s; level.removeAll(keepingCapacity: true); level.append(l) }
                else if s <= share * (1 + 1e-12) { level.append(l) }
            }
            guard !level.isEmpty else { break }
            for bottleneck in level {
                for f in crossing[bottleneck] where !frozen[f] {
                    frozen[f] = true
                    rate[f] = share
                    left -= 1
                    for l in paths[f] { remaining[l] -= share; unfrozenCount[l] -= 1 }
                }
            }
        }
        return rate
    }

    /// Simulates the flows to completion; returns each flow's finish time, seconds.
    public func run(_ flows: [Flow]) -> [Double] {
        var remaining = flows.map(\.bytes)
        var finish = [Double](repeating: 0, count: flows.count)
        var active = Set<Int>()
        var pending = flows.indices.sorted { flows[$0].start < flows[$1].start }
        var now = SimTime.zero
        func latency(_ f: Int) -> Double { flows[f].links.reduce(0) { $0 + links[$1].latency } }
        while !active.isEmpty || !pending.isEmpty {
            while let f = pending.first, SimTime.seconds(flows[f].start) <= now {
                pending.removeFirst()
                if remaining[f] <= 0 { finish[f] = now.seconds + latency(f) } else { active.insert(f) }
            }
            let order = active.sorted()
            let rates = maxMinRates(order.map { flows[$0].links })
            // Next event: a flow finishing, or a flow starting.
            var step = Double.infinity
            for (i, f) in order.enumerated() where rates[i] > 0 { step = min(step, remaining[f] / rates[i]) }
            if let f = pending.first { step = min(step, flows[f].start - now.seconds) }
            guard step.isFinite else { break }
            let dt = SimTime(picoseconds: max(1, Int64((step * 1e12).rounded(.up))))
            now += dt
            for (i, f) in order.enumerated() {
                remaining[f] -= rates[i] * dt.seconds
                // Done when less than a picosecond of transfer is left (integer time: it would
                // finish within the same tick), so tied flows finish in one event.
                if remaining[f] <= max(1e-6, rates[i] * 1e-12) {
                    active.remove(f)
                    finish[f] = now.seconds + latency(f)
                }
            }
        }
        return finish
    }

    /// The alpha-beta time of one uncontended flow: path latency + bytes / slowest link. The
    /// oracle the fluid model must match when flows do not share links.
    public func alphaBeta(path: [Int], bytes: Double) -> Double {
        path.reduce(0) { $0 + links[$1].latency } + bytes / (path.map { links[$0].capacity }.min() ?? .infinity)
    }
}
