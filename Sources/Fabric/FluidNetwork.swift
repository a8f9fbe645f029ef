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
        var solver = MaxMinSolver(capacities: links.map(\.capacity), paths: paths)
        var rate = [Double](repeating: 0, count: paths.count)
        solver.solve(active: Array(paths.indices), rates: &rate)
        return rate
    }

    /// Simulates the flows to completion; returns each flow's finish time, seconds.
    ///
    /// Flows that share no link, directly or through other flows, never change each other's
    /// rates, so each connected group of flows is simulated on its own, with only its links
    /// (a DeepEP all-to-all splits into its NVLink and its IB flows): the same allocations,
    /// with each re-solve touching fewer links and flows, and each group's events only its own.
    public func run(_ flows: [Flow]) -> [Double] {
        var finish = [Double](repeating: 0, count: flows.count)
        for group in Self.connectedGroups(flows, links: links.count) {
            // The group's links, renumbered 0..<n in ascending order.
            let used = Array(Set(group.flatMap { flows[$0].links })).sorted()
            var local = [Int: Int](minimumCapacity: used.count)
            for (i, l) in used.enumerated() { local[l] = i }
            let paths = group.map { flows[$0].links.map { local[$0]! } }
            let times = runConnected(group.map { flows[$0] }, capacities: used.map { links[$0].capacity }, paths: paths)
            for (i, f) in group.enumerated() { finish[f] = times[i] }
        }
        return finish
    }

    /// Flow indices grouped by the links they share (union–find over links), each group
    /// ascending, groups by their first flow; flows crossing no link form one group.
    static func connectedGroups(_ flows: [Flow], links: Int) -> [[Int]] {
        var parent = Array(0...links)   // index `links` stands for "no link"
        func root(_ x: Int) -> Int {
            var x = x
            while parent[x] != x { parent[x] = parent[parent[x]]; x = parent[x] }
            return x
        }
        for flow in flows {
            guard let first = flow.links.first else { continue }
            for l in flow.links.dropFirst() { let a = root(first), b = root(l); if a != b { parent[b] = a } }
        }
        var groupOfRoot: [Int: Int] = [:], groups: [[Int]] = []
        for (f, flow) in flows.enumerated() {
            let r = root(flow.links.first ?? links)
            if let g = groupOfRoot[r] { groups[g].append(f) } else { groupOfRoot[r] = groups.count; groups.append([f]) }
        }
        return groups
    }

    /// Simulates one connected group of flows over `capacities`, its paths renumbered onto them
    /// (`flows` keep the network's link numbers, for their latencies).
    func runConnected(_ flows: [Flow], capacities: [Double], paths: [[Int]]) -> [Double] {
        var remaining = flows.map(\.bytes)
        var finish = [Double](repeating: 0, count: flows.count)
        var rate = [Double](repeating: 0, count: flows.count)
        var solver = MaxMinSolver(capacities: capacities, paths: paths)
        // Active flows in ascending index order (the order rates are filled and times summed in).
        var active: [Int] = []
        let pending = flows.indices.sorted { flows[$0].start < flows[$1].start }
        var nextPending = 0
        var now = SimTime.zero
        func latency(_ f: Int) -> Double { self.latency(of: flows[f].links) }
        while !active.isEmpty || nextPending < pending.count {
            var started = false
            while nextPending < pending.count, SimTime.seconds(flows[pending[nextPending]].start) <= now {
                let f = pending[nextPending]
                nextPending += 1
                if remaining[f] <= 0 { finish[f] = now.seconds + latency(f) } else { active.append(f); started = true }
            }
            if started { active.sort() }
            solver.solve(active: active, rates: &rate)
            // Next event: a flow finishing, or a flow starting.
            var step = Double.infinity
            for f in active where rate[f] > 0 { step = min(step, remaining[f] / rate[f]) }
            if nextPending < pending.count { step = min(step, flows[pending[nextPending]].start - now.seconds) }
            guard step.isFinite else { break }
            let dt = SimTime(picoseconds: max(1, Int64((step * 1e12).rounded(.up))))
            now += dt
            active.removeAll { f in
                remaining[f] -= rate[f] * dt.seconds
                // Done when less than a picosecond of transfer is left (integer time: it would
                // finish within the same tick), so tied flows finish in one event.
                guard remaining[f] <= max(1e-6, rate[f] * 1e-12) else { return false }
                finish[f] = now.seconds + latency(f)
                return true
            }
        }
        return finish
    }

    /// Seconds a path adds to a flow's completion: the sum of its links' latencies.
    public func latency(of path: [Int]) -> Double { path.reduce(0) { $0 + links[$1].latency } }

    /// The alpha-beta time of one uncontended flow: path latency + bytes / slowest link. The
    /// oracle the fluid model must match when flows do not share links.
    public func alphaBeta(path: [Int], bytes: Double) -> Double {
        latency(of: path) + bytes / (path.map { links[$0].capacity }.min() ?? .infinity)
    }
}

/// Progressive filling over a fixed set of flows, of which any subset may be active: the flows
/// crossing each link are indexed once (ascending flow index), so each allocation costs
/// O(links · levels + flows + active path lengths) without rebuilding anything.
struct MaxMinSolver {
    let capacities: [Double]
    /// Links of flow f: `pathLinks[pathStart[f]..<pathStart[f + 1]]` (flat: reading a nested
    /// array in the filling loop retains and releases it, a tenth of a step's time).
    let pathStart: [Int]
    let pathLinks: [Int]
    /// Flows crossing link l: `crossing[crossingStart[l]..<crossingStart[l + 1]]`, ascending.
    let crossingStart: [Int]
    let crossing: [Int]
    var remaining: [Double]
    var unfrozenCount: [Int]
    var frozen: [Bool]
    var isActive: [Bool]
    var level: [Int] = []

    init(capacities: [Double], paths: [[Int]]) {
        self.capacities = capacities
        pathStart = paths.reduce(into: [0]) { $0.append($0.last! + $1.count) }
        pathLinks = paths.flatMap { $0 }
        var start = [Int](repeating: 0, count: capacities.count + 1)
        for path in paths { for l in path { start[l + 1] += 1 } }
        for l in 0..<capacities.count { start[l + 1] += start[l] }
        var fill = start
        var crossing = [Int](repeating: 0, count: start[capacities.count])
        for (f, path) in paths.enumerated() { for l in path { crossing[fill[l]] = f; fill[l] += 1 } }
        crossingStart = start
        self.crossing = crossing
        remaining = capacities
        unfrozenCount = [Int](repeating: 0, count: capacities.count)
        frozen = [Bool](repeating: false, count: paths.count)
        isActive = frozen
    }

    /// Max-min fair rates (bytes/s) of the `active` flows (ascending indices) into `rates`.
    mutating func solve(active: [Int], rates rate: inout [Double]) {
        for l in capacities.indices { remaining[l] = capacities[l]; unfrozenCount[l] = 0 }
        for f in isActive.indices { isActive[f] = false }
        var left = active.count
        for f in active {
            isActive[f] = true
            frozen[f] = false
            for k in pathStart[f]..<pathStart[f + 1] { unfrozenCount[pathLinks[k]] += 1 }
            if pathStart[f] == pathStart[f + 1] { rate[f] = .infinity; frozen[f] = true; left -= 1 }
        }
        // Progressive filling. Every link whose fair share ties the minimum (to 1e-12, relative)
        // is a bottleneck of the same level and is frozen in the same round: exact, because
        // freezing flows at the level's share never lowers another link's share below it, and
        // it turns the symmetric all-to-alls (hundreds of tied links) into a few rounds.
        while left > 0 {
            var share = Double.infinity
            level.removeAll(keepingCapacity: true)
            for l in capacities.indices where unfrozenCount[l] > 0 {
                let s = remaining[l] / Double(unfrozenCount[l])
                if s < share * (1 - 1e-12) { share = s; level.removeAll(keepingCapacity: true); level.append(l) }
                else if s <= share * (1 + 1e-12) { level.append(l) }
            }
            guard !level.isEmpty else { break }
            for bottleneck in level {
                for k in crossingStart[bottleneck]..<crossingStart[bottleneck + 1] {
                    let f = crossing[k]
                    guard isActive[f], !frozen[f] else { continue }
                    frozen[f] = true
                    rate[f] = share
                    left -= 1
                    for k in pathStart[f]..<pathStart[f + 1] { remaining[pathLinks[k]] -= share; unfrozenCount[pathLinks[k]] -= 1 }
                }
            }
        }
    }
}
