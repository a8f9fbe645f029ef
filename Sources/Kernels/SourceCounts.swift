/// What one source GPU's tokens need from the dispatch plan, counted token by token: each
/// expert's rows and, once per distinct destination GPU and node of a token, the copies
/// delivered to that GPU and the hits on that node. `DispatchPlan` derives the NVLink and IB
/// copies from these sums. A token's destinations are sets without branches: a register for
/// up to 64 GPUs, scratch words beyond.
public struct SourceCounts: Sendable {
    public let tokens: Int
    /// Tokens delivered to each GPU of the group (each token once per GPU it reaches).
    public var logical: [Int]
    /// Tokens reaching each node of the group (each token once per node).
    public var nodeHits: [Int]
    /// Rows routed to each expert.
    public var loads: [Int]
    var totals = Totals()

    /// Sums over tokens for the plan's per-token means.
    struct Totals {
        var tokens = 0, gpus = 0, nodes = 0, maxNodes = 0, ibCopies = 0
        mutating func add(_ o: Totals) {
            tokens += o.tokens; gpus += o.gpus; nodes += o.nodes; ibCopies += o.ibCopies
            maxNodes = max(maxNodes, o.maxNodes)
        }
    }

    /// The placement's expert → GPU and GPU → node tables (no divisions per copy).
    public struct Lookup: Sendable {
        let placement: ExpertPlacement
        let gpuOfExpert: [Int], nodeOfGPU: [Int]
        public init(_ p: ExpertPlacement) {
            placement = p
            gpuOfExpert = (0..<p.experts).map { $0 / p.expertsPerGPU }
            nodeOfGPU = (0..<p.ep).map { p.node(ofGPU: $0) }
        }
    }

    /// Counts the tokens of GPU `source`.
    public init(source: Int, routing: Routing, lookup: Lookup) {
        let p = lookup.placement
        tokens = routing.tokens
        // Counters in raw storage while counting (as arrays, their checks made `llmsim route`
        // 0.123 s instead of 0.115 s on one core).
        let size = p.ep + p.nodes + p.experts
        let counters = UnsafeMutablePointer<Int>.allocate(capacity: size)
        counters.initialize(repeating: 0, count: size)
        defer { counters.deallocate() }
        let rows = Rows(logical: counters, nodeHits: counters + p.ep, loads: counters + p.ep + p.nodes, sourceNode: p.node(ofGPU: source))
        var totals = Totals()
        lookup.gpuOfExpert.withUnsafeBufferPointer { gpuOfExpert in
            lookup.nodeOfGPU.withUnsafeBufferPointer { nodeOfGPU in
                if p.ep <= 64 {
                    Self.count(routing, rows, gpuOfExpert, nodeOfGPU, &totals, gpus: SingleWordSet(), nodes: SingleWordSet())
                } else {
                    let words = (p.ep + 63) / 64
                    let scratch = UnsafeMutablePointer<UInt64>.allocate(capacity: 2 * words)
                    defer { scratch.deallocate() }
                    Self.count(routing, rows, gpuOfExpert, nodeOfGPU, &totals,
                               gpus: MultiWordSet(words: scratch, count: words), nodes: MultiWordSet(words: scratch + words, count: words))
                }
            }
        }
        logical = Array(UnsafeBufferPointer(start: rows.logical, count: p.ep))
        nodeHits = Array(UnsafeBufferPointer(start: rows.nodeHits, count: p.nodes))
        loads = Array(UnsafeBufferPointer(start: rows.loads, count: p.experts))
        self.totals = totals
    }

    struct Rows {
        let logical: UnsafeMutablePointer<Int>, nodeHits: UnsafeMutablePointer<Int>, loads: UnsafeMutablePointer<Int>
        let sourceNode: Int
    }

    /// `gpus` and `nodes` hold one token's distinct destinations (`insert` returns 1 for a new
    /// member, 0 for a repeat: no branch).
    @inline(__always)
    static func count<S: TokenSet>(_ routing: Routing, _ rows: Rows, _ gpuOfExpert: UnsafeBufferPointer<Int>,
                                   _ nodeOfGPU: UnsafeBufferPointer<Int>, _ totals: inout Totals, gpus: S, nodes: S) {
        var gpus = gpus, nodes = nodes
        let k = routing.topK
        routing.experts.withUnsafeBufferPointer { experts in
            for t in 0..<routing.tokens {
                gpus.clear(); nodes.clear()
                for i in 0..<k {
                    let e = Int(experts[t * k + i])
                    rows.loads[e] &+= 1
                    let g = gpuOfExpert[e], n = nodeOfGPU[g]
                    rows.logical[g] &+= gpus.insert(g)
                    rows.nodeHits[n] &+= nodes.insert(n)
                }
                let reached = nodes.count
                totals.gpus &+= gpus.count
                totals.nodes &+= reached
                totals.ibCopies &+= reached &- nodes.contains(rows.sourceNode)
                totals.maxNodes = max(totals.maxNodes, reached)
            }
            totals.tokens &+= routing.tokens
        }
    }
}

/// A token's set of distinct GPUs or nodes.
protocol TokenSet {
    mutating func clear()
    /// Adds `i`; 1 if it was not there, else 0.
    mutating func insert(_ i: Int) -> Int
    /// 1 if `i` is there, else 0.
    func contains(_ i: Int) -> Int
    var count: Int { get }
}

/// Members 0…63 in a register.
struct SingleWordSet: TokenSet {
    var bits: UInt64 = 0
    @inline(__always) mutating func clear() { bits = 0 }
    @inline(__always) mutating func insert(_ i: Int) -> Int {
        let bit = UInt64(1) << UInt64(i)
        defer { bits |= bit }
        return bits & bit == 0 ? 1 : 0
    }
    @inline(__always) func contains(_ i: Int) -> Int { Int(truncatingIfNeeded: (bits >> UInt64(i)) & 1) }
    @inline(__always) var count: Int { bits.nonzeroBitCount }
}

/// Members 0…64·words−1 in scratch words.
struct MultiWordSet: TokenSet {
    let words: UnsafeMutablePointer<UInt64>, wordCount: Int
    init(words: UnsafeMutablePointer<UInt64>, count: Int) { self.words = words; wordCount = count }
    @inline(__always) mutating func clear() { words.update(repeating: 0, count: wordCount) }
    @inline(__always) mutating func insert(_ i: Int) -> Int {
        let bit = UInt64(1) << UInt64(i & 63)
        defer { words[i >> 6] |= bit }
        return words[i >> 6] & bit == 0 ? 1 : 0
    }
    @inline(__always) func contains(_ i: Int) -> Int { Int(truncatingIfNeeded: (words[i >> 6] >> UInt64(i & 63)) & 1) }
    @inline(__always) var count: Int { (0..<wordCount).reduce(0) { $0 + words[$1].nonzeroBitCount } }
}
