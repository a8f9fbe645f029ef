import Stochastic

/// The synthetic gate for exchangeable affinities (uniform popularity, zero bias) when only the
/// choices are needed, as in a simulated step's dispatch plan. It draws the three layers of
/// `GateCompositionLaw` directly, per token:
/// 1. how the K picks split over groups: a partition of K, from the integrated law;
/// 2. which groups hold the parts: distinct groups, uniformly (the kept set is a uniform subset
///    and the composition is exchangeable over it, so the groups holding picks are too);
/// 3. which experts of each group: distinct experts of the group, uniformly.
/// Without a node limit (`topKGroups == groups`) the picks are K distinct experts of all, the
/// top K of exchangeable values. The choices have the law of `SampledGate`'s full draw and of
/// `OrderStatisticGate` (a test compares their statistics) with no affinity drawn: about a dozen
/// 32-bit integers per token instead of the order statistics' forty exponentials and the merge.
/// Gate weights need the values, so a caller that wants them uses `OrderStatisticGate`.
public struct CompositionGate: Sendable {
    public let config: RouterConfig
    let groupSize: Int
    /// The alias table that draws a partition of K by its probability (`GateCompositionLaw`'s
    /// order); nil without a node limit.
    let partitionTable: AliasTable?
    /// Per partition (row of K): the part each pick belongs to, and its rank within the part.
    let pickPart: [Int32], pickRank: [Int32]

    /// nil when the shortcut does not apply: a non-uniform popularity, a non-zero bias, or a
    /// node-limited layout `GateCompositionLaw` does not integrate. `law` is the router's law
    /// when the caller already has it (integrating it takes a few milliseconds).
    public init?(router: Router, logPrior: [Double], law known: GateCompositionLaw? = nil) {
        let c = router.config
        guard router.seesExchangeableAffinities(logPrior: logPrior) else { return nil }
        config = c
        groupSize = c.experts / c.groups
        guard c.limitsGroups else {
            partitionTable = nil; pickPart = []; pickRank = []
            return
        }
        // A law whose probabilities do not sum to 1 within 10⁻⁹ (V3's: 10⁻¹⁴) means the
        // quadrature did not resolve this layout; the sampled gates then route it.
        guard let law = known?.config == c ? known : GateCompositionLaw(config: c), law.normalisationError < 1e-9,
              let table = try? AliasTable(weights: law.probabilities) else { return nil }
        partitionTable = table
        var part = [Int32](), rank = [Int32]()
        for parts in law.partitions {
            for (j, count) in parts.enumerated() {
                for r in 0..<count { part.append(Int32(j)); rank.append(Int32(r)) }
            }
        }
        pickPart = part
        pickRank = rank
    }

    /// Routes `tokens` tokens with `random`'s words; the routing carries no gate weights.
    ///
    /// Distinct groups and distinct experts are drawn by partial Fisher–Yates shuffles of
    /// orders kept across tokens (uniform whatever order a shuffle starts from), with a fixed
    /// number of steps per token: no rejection loop and no branch on the partition drawn, which
    /// the processor could not predict (the rejection version took 90 ns per token, measured).
    public func route(tokens: Int, random: inout LaneRandom) -> Routing {
        let c = config, n = groupSize, k = c.topK, slots = c.topKGroups
        var words = LaneWords(random: random)
        let expertOrder = UnsafeMutablePointer<Int32>.allocate(capacity: c.experts)
        let groupOrder = UnsafeMutablePointer<Int>.allocate(capacity: c.groups)
        for e in 0..<c.experts { expertOrder[e] = Int32(e) }
        for g in 0..<c.groups { groupOrder[g] = g }
        defer { expertOrder.deallocate(); groupOrder.deallocate() }
        // Every entry is written below, so the array is not zeroed first.
        let chosen = [Int32](unsafeUninitializedCapacity: tokens * k) { buffer, initialized in
        pickPart.withUnsafeBufferPointer { pickPart in
        pickRank.withUnsafeBufferPointer { pickRank in
            let out = buffer.baseAddress!
            for token in 0..<tokens {
                let row = out + token * k
                guard let table = partitionTable else {
                    for j in 0..<k { row[j] = Self.shuffleStep(expertOrder, at: j, size: c.experts, words: &words) }
                    continue
                }
                let i = table.draw(&words)
                for j in 0..<slots { _ = Self.shuffleStep(groupOrder, at: j, size: c.groups, words: &words) }
                for pick in 0..<k {
                    let g = groupOrder[Int(pickPart[i * k + pick])]
                    row[pick] = Self.shuffleStep(expertOrder + g * n, at: Int(pickRank[i * k + pick]), size: n, words: &words)
                }
            }
        }
        }
            initialized = tokens * k
        }
        random = words.random
        return Routing(tokens: tokens, topK: k, experts: chosen, weights: [])
    }

    /// Step j of a partial Fisher–Yates shuffle of `order[0..<size]`: swaps position j with a
    /// uniform position in j..<size and returns the element now at j.
    @inline(__always)
    static func shuffleStep<T>(_ order: UnsafeMutablePointer<T>, at j: Int, size: Int, words: inout LaneWords) -> T {
        let r = j + words.integer(below: size - j)
        let picked = order[r]
        order[r] = order[j]
        order[j] = picked
        return picked
    }
}
