/// DeepSeek's expert-parallel load balancer (deepseek-ai/EPLB; ../shared/reference/deepseek-v3.md
/// §3.6), re-implemented from its published description.
///
/// Given the estimated load of each logical expert (per layer), it chooses how many replicas
/// each expert gets and which GPU hosts each replica:
/// - balanced packing: items sorted by load, heaviest first, each into the lightest bin that
///   still has room; every bin takes the same number of items;
/// - replication: one extra copy at a time to the expert with the highest load per copy;
/// - hierarchical policy (node count divides group count): pack groups onto nodes, replicate
///   within each node, pack replicas onto the node's GPUs; global policy otherwise (one node,
///   one group).
/// Ties are broken towards the lower index, as a stable sort and first-minimum search do.
public enum EPLB {
    public struct Result: Sendable, Equatable, Codable {
        /// Logical expert hosted in each physical slot, `[layer][slot]`; slots are GPU-major.
        public var phy2log: [[Int]]
        /// Physical slots of each logical expert, `[layer][expert][replica]`, padded with -1.
        public var log2phy: [[[Int]]]
        /// Replicas of each logical expert, `[layer][expert]`.
        public var logcnt: [[Int]]
    }

    public static func rebalance(loads: [[Double]], replicas: Int, groups: Int, nodes: Int, gpus: Int) throws -> Result {
        guard let experts = loads.first?.count, experts > 0, loads.allSatisfy({ $0.count == experts }) else {
            throw KernelError("loads", "every layer needs the same non-zero number of expert loads", fix: "give a rectangular [layers][experts] array")
        }
        guard loads.allSatisfy({ $0.allSatisfy { $0 >= 0 && $0.isFinite } }) else {
            throw KernelError("loads", "loads must be finite and non-negative", fix: "give token counts or moving averages")
        }
        guard replicas >= experts else { throw KernelError("--replicas", "\(replicas) slots for \(experts) experts", fix: "at least one slot per expert") }
        guard groups > 0, experts % groups == 0 else { throw KernelError("--groups", "\(experts) experts do not split into \(groups) groups", fix: "use a divisor of \(experts)") }
        guard nodes > 0, gpus > 0, gpus % nodes == 0 else { throw KernelError("--gpus", "\(gpus) GPUs do not split over \(nodes) nodes", fix: "GPUs must be a multiple of nodes") }
        guard replicas % gpus == 0 else { throw KernelError("--replicas", "\(replicas) slots do not split over \(gpus) GPUs", fix: "use a multiple of \(gpus)") }
        guard gpus <= replicas else { throw KernelError("--gpus", "more GPUs (\(gpus)) than slots (\(replicas))", fix: "at least one slot per GPU") }
        let hierarchical = groups % nodes == 0
        let (g, n) = hierarchical ? (groups, nodes) : (1, 1)
        var phy2log: [[Int]] = [], logcnt: [[Int]] = [], ranks: [[Int]] = []
        for layer in loads {
            let r = try layout(layer, replicas: replicas, groups: g, nodes: n, gpus: gpus)
            phy2log.append(r.phy2log); ranks.append(r.rank); logcnt.append(r.logcnt)
        }
        let maxCopies = replicas - experts + 1
        let log2phy = phy2log.indices.map { l -> [[Int]] in
            var table = [[Int]](repeating: [Int](repeating: -1, count: maxCopies), count: experts)
            for (slot, e) in phy2log[l].enumerated() { table[e][ranks[l][slot]] = slot }
            return table
        }
        return Result(phy2log: phy2log, log2phy: log2phy, logcnt: logcnt)
    }

    /// Balanced packing of `weights` into `packs` bins of equal item count. Returns each item's
    /// bin and its position in the bin.
    static func balancedPacking(_ weights: [Double], packs: Int) -> (pack: [Int], rank: [Int]) {
        let perPack = weights.count / packs
        if perPack == 1 { return (Array(weights.indices), [Int](repeating: 0, count: weights.count)) }
        let order = weights.indices.sorted { weights[$0] > weights[$1] || (weights[$0] == weights[$1] && $0 < $1) }
        var packWeight = [Double](repeating: 0, count: packs), packItems = [Int](repeating: 0, count: packs)
        var pack = [Int](repeating: 0, count: weights.count), rank = pack
        for item in order {
            var best = -1
            for p in 0..<packs where packItems[p] < perPack && (best < 0 || packWeight[p] < packWeight[best]) { best = p }
            pack[item] = best
            rank[item] = packItems[best]
            packWeight[best] += weights[item]
            packItems[best] += 1
        }
        return (pack, rank)
    }

    /// Adds copies one at a time to the expert with the highest load per copy.
    static func replicate(_ weights: [Double], slots: Int) -> (phy2log: [Int], rank: [Int], count: [Int]) {
        var phy2log = Array(weights.indices), rank = [Int](repeating: 0, count: weights.count)
        var count = [Int](repeating: 1, count: weights.count)
        for _ in weights.count..<slots {
            var best = 0
            for e in weights.indices where weights[e] / Double(count[e]) > weights[best] / Double(count[best]) { best = e }
            phy2log.append(best)
            rank.append(count[best])
            count[best] += 1
        }
        return (phy2log, rank, count)
    }

    /// One layer, hierarchical policy (the global policy is the case groups = nodes = 1).
    static func layout(_ weights: [Double], replicas: Int, groups: Int, nodes: Int, gpus: Int)
        throws -> (phy2log: [Int], rank: [Int], logcnt: [Int]) {
        let experts = weights.count
        let groupSize = experts / groups, groupsPerNode = groups / nodes
        let expertsPerNode = experts / nodes, slotsPerNode = replicas / nodes
        let slotsPerGPU = replicas / gpus, gpusPerNode = gpus / nodes
        // 1. Groups onto nodes.
        let groupLoads = (0..<groups).map { g in weights[(g * groupSize)..<((g + 1) * groupSize)].reduce(0, +) }
        let (groupPack, groupRank) = balancedPacking(groupLoads, packs: nodes)
        // log2mlog: logical expert → "node-major" index (node, position within node).
        var log2mlog = [Int](repeating: 0, count: experts)
        for e in 0..<experts {
            let g = e / groupSize
            log2mlog[e] = (groupPack[g] * groupsPerNode + groupRank[g]) * groupSize + e % groupSize
        }
        var mlog2log = [Int](repeating: 0, count: experts)
        for e in 0..<experts { mlog2log[log2mlog[e]] = e }
        // 2. Replicate within each node; 3. pack the node's replicas onto its GPUs.
        var phy2log = [Int](repeating: 0, count: replicas), rank = phy2log
        var mlogcnt = [Int](repeating: 0, count: experts)
        for node in 0..<nodes {
            let nodeLoads = (0..<expertsPerNode).map { weights[mlog2log[node * expertsPerNode + $0]] }
            let (p2m, r, cnt) = replicate(nodeLoads, slots: slotsPerNode)
            for i in 0..<expertsPerNode { mlogcnt[node * expertsPerNode + i] = cnt[i] }
            let perReplica = p2m.map { nodeLoads[$0] / Double(cnt[$0]) }
            let (pack, packRank) = balancedPacking(perReplica, packs: gpusPerNode)
            for slot in 0..<slotsPerNode {
                let placed = node * slotsPerNode + pack[slot] * slotsPerGPU + packRank[slot]
                phy2log[placed] = mlog2log[node * expertsPerNode + p2m[slot]]
                rank[placed] = r[slot]
            }
        }
        let logcnt = (0..<experts).map { mlogcnt[log2mlog[$0]] }
        return (phy2log, rank, logcnt)
    }
}
