/// Where the experts of an expert-parallel group live and how tokens reach them.
public struct ExpertPlacement: Sendable, Codable, Equatable {
    public var experts: Int
    /// GPUs in the EP group.
    public var ep: Int
    public var gpusPerNode: Int

    public init(experts: Int, ep: Int, gpusPerNode: Int) throws {
        guard ep > 0, gpusPerNode > 0, experts > 0 else {
            throw KernelError("--ep", "EP, GPUs per node and experts must be > 0", fix: "e.g. --ep 64 --gpus-per-node 8")
        }
        guard ep <= experts else {
            throw KernelError("--ep", "\(ep) GPUs but only \(experts) experts", fix: "use at most \(experts) GPUs per EP group (or replicate experts with EPLB)")
        }
        guard experts % ep == 0 else {
            throw KernelError("--ep", "\(experts) experts do not spread evenly over \(ep) GPUs", fix: "use an EP degree that divides \(experts)")
        }
        guard ep <= gpusPerNode || ep % gpusPerNode == 0 else {
            throw KernelError("--ep", "EP \(ep) is not a whole number of \(gpusPerNode)-GPU nodes", fix: "use a multiple of \(gpusPerNode)")
        }
        self.experts = experts; self.ep = ep; self.gpusPerNode = gpusPerNode
    }

    public var expertsPerGPU: Int { experts / ep }
    public var nodes: Int { max(1, ep / gpusPerNode) }
    public var gpusPerNodeInGroup: Int { min(ep, gpusPerNode) }
    @inlinable public func gpu(ofExpert e: Int) -> Int { e / (experts / ep) }
    @inlinable public func node(ofGPU g: Int) -> Int { g / min(ep, gpusPerNode) }
    @inlinable public func localIndex(ofGPU g: Int) -> Int { g % min(ep, gpusPerNode) }
}

/// Bytes of one token copy on the wire (V3 report §3.3.3; DeepEP).
public enum TokenCopyBytes {
    /// FP8 dispatch: `hidden` bytes plus one 4-byte scale per 128 channels
    /// (7,168 + 56·4 = 7,392 B for DeepSeek-V3).
    public static func dispatch(hidden: Int) -> Int { hidden + (hidden + 127) / 128 * 4 }
    /// BF16 combine: 2 bytes per channel (14,336 B).
    public static func combine(hidden: Int) -> Int { 2 * hidden }
}

/// The all-to-all dispatch of one micro-batch over an EP group, DeepEP-style (V3 report §3.2.2):
/// a token bound for experts on another node crosses IB once per destination node, to the GPU
/// with the same local index, which forwards it over NVLink to each GPU holding one of its
/// experts; destinations on the source's own node are reached over NVLink directly. Combine
/// retraces the same paths in reverse with BF16 copies.
public struct DispatchPlan: Sendable {
    public let placement: ExpertPlacement
    public let tokensPerGPU: Int
    /// Token copies crossing IB, `[source GPU][relay GPU]` (relay = same local index on the
    /// destination node).
    public var ibCopies: [[Int]]
    /// Token copies crossing NVLink, `[from GPU][to GPU]` (direct sends and relay forwards).
    public var nvlinkCopies: [[Int]]
    /// Token copies delivered, `[source GPU][destination GPU]`, including those staying on the
    /// source GPU: the "logical" traffic DeepEP's bandwidth figures count.
    public var logicalCopies: [[Int]]
    /// Routed token-rows per expert (grouped-GEMM M per expert).
    public var expertLoads: [Int]
    /// Distinct nodes each token reaches: max and mean.
    public var maxNodesPerToken: Int
    public var meanNodesPerToken: Double
    /// IB copies per token (destination nodes other than the source's), mean.
    public var meanIBCopiesPerToken: Double
    /// Distinct GPUs each token reaches, mean.
    public var meanGPUsPerToken: Double

    /// Builds the plan from one routing per source GPU (`routings[g]` holds GPU g's tokens).
    ///
    /// Per token only what needs the token's own set of destinations is counted: each
    /// expert's rows, and, once per distinct destination GPU and node, `logicalCopies[source][g]`
    /// and the source's node hits. The NVLink and IB matrices follow from those sums afterwards:
    /// a token reaching GPU g on the source's node is sent there directly, one on node n through
    /// the relay of the source's local index on n, and each node other than the source's is
    /// crossed once. Counting them per token instead took 78 ns per token against 29 here
    /// (V3, EP 64, one core), most of it in branches on the destinations that the predictor
    /// cannot learn.
    public init(placement: ExpertPlacement, routings: [Routing]) throws {
        guard routings.count == placement.ep else {
            throw KernelError("routings", "\(routings.count) routings for EP \(placement.ep)", fix: "route the tokens of every GPU of the group")
        }
        self.placement = placement
        let ep = placement.ep, nodes = placement.nodes
        tokensPerGPU = routings.first?.tokens ?? 0
        // Flat row-major counters in raw storage while counting (as arrays, their checks made
        // `llmsim route` 0.123 s instead of 0.115 s on one core).
        let size = ep * ep + ep * nodes + placement.experts
        let counters = UnsafeMutablePointer<Int>.allocate(capacity: size)
        counters.initialize(repeating: 0, count: size)
        defer { counters.deallocate() }
        let logical = counters, nodeHits = counters + ep * ep, loads = counters + ep * ep + ep * nodes
        // Lookup tables instead of integer divisions in the per-copy loop.
        let gpuOfExpert = UnsafeMutablePointer<Int>.allocate(capacity: placement.experts)
        let nodeOfGPU = UnsafeMutablePointer<Int>.allocate(capacity: ep)
        for e in 0..<placement.experts { gpuOfExpert[e] = e / placement.expertsPerGPU }
        for g in 0..<ep { nodeOfGPU[g] = placement.node(ofGPU: g) }
        defer { gpuOfExpert.deallocate(); nodeOfGPU.deallocate() }
        var totals = Totals()
        for (source, routing) in routings.enumerated() {
            let rows = Rows(logical: logical + source * ep, nodeHits: nodeHits + source * nodes, loads: loads,
                            gpuOfExpert: gpuOfExpert, nodeOfGPU: nodeOfGPU, sourceNode: placement.node(ofGPU: source))
            // One machine word holds a token's GPUs and nodes up to 64 of each.
            if ep <= 64 {
                Self.count(routing, rows, &totals, gpus: SingleWordSet(), nodes: SingleWordSet())
            } else {
                let words = (ep + 63) / 64
                let scratch = UnsafeMutablePointer<UInt64>.allocate(capacity: 2 * words)
                defer { scratch.deallocate() }
                Self.count(routing, rows, &totals, gpus: MultiWordSet(words: scratch, count: words),
                           nodes: MultiWordSet(words: scratch + words, count: words))
            }
        }
        // The wire copies from the delivered ones.
        var ib = [[Int]](repeating: [Int](repeating: 0, count: ep), count: ep)
        var nv = ib
        let inGroup = placement.gpusPerNodeInGroup
        for source in 0..<ep {
            let sourceNode = placement.node(ofGPU: source), local = placement.localIndex(ofGPU: source)
            for n in 0..<nodes where n != sourceNode { ib[source][n * inGroup + local] = nodeHits[source * nodes + n] }
            for g in 0..<ep {
                let copies = logical[source * ep + g], n = nodeOfGPU[g]
                let from = n == sourceNode ? source : n * inGroup + local
                if from != g { nv[from][g] += copies }
            }
        }
        ibCopies = ib
        nvlinkCopies = nv
        logicalCopies = (0..<ep).map { Array(UnsafeBufferPointer(start: logical + $0 * ep, count: ep)) }
        expertLoads = Array(UnsafeBufferPointer(start: loads, count: placement.experts))
        let tokens = Double(max(totals.tokens, 1))
        maxNodesPerToken = totals.maxNodes
        meanNodesPerToken = Double(totals.nodes) / tokens
        meanIBCopiesPerToken = Double(totals.ibCopies) / tokens
        meanGPUsPerToken = Double(totals.gpus) / tokens
    }

    /// One source GPU's counters: its row of delivered copies and of node hits, and the shared
    /// expert loads, with the lookup tables.
    struct Rows {
        let logical: UnsafeMutablePointer<Int>, nodeHits: UnsafeMutablePointer<Int>, loads: UnsafeMutablePointer<Int>
        let gpuOfExpert: UnsafeMutablePointer<Int>, nodeOfGPU: UnsafeMutablePointer<Int>
        let sourceNode: Int
    }

    /// Sums over all tokens for the per-token means.
    struct Totals { var tokens = 0, gpus = 0, nodes = 0, maxNodes = 0, ibCopies = 0 }

    /// Counts one source GPU's tokens; `gpus` and `nodes` hold one token's distinct
    /// destinations (`insert` returns 1 for a new member, 0 for a repeat: no branch).
    @inline(__always)
    static func count<S: TokenSet>(_ routing: Routing, _ rows: Rows, _ totals: inout Totals, gpus: S, nodes: S) {
        var gpus = gpus, nodes = nodes
        let k = routing.topK
        routing.experts.withUnsafeBufferPointer { experts in
            for t in 0..<routing.tokens {
                gpus.clear(); nodes.clear()
                for i in 0..<k {
                    let e = Int(experts[t * k + i])
                    rows.loads[e] &+= 1
                    let g = rows.gpuOfExpert[e], n = rows.nodeOfGPU[g]
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

    /// Members 0…64·count−1 in scratch words.
    struct MultiWordSet: TokenSet {
        let words: UnsafeMutablePointer<UInt64>, count_: Int
        init(words: UnsafeMutablePointer<UInt64>, count: Int) { self.words = words; count_ = count }
        @inline(__always) mutating func clear() { words.update(repeating: 0, count: count_) }
        @inline(__always) mutating func insert(_ i: Int) -> Int {
            let bit = UInt64(1) << UInt64(i & 63)
            defer { words[i >> 6] |= bit }
            return words[i >> 6] & bit == 0 ? 1 : 0
        }
        @inline(__always) func contains(_ i: Int) -> Int { Int(truncatingIfNeeded: (words[i >> 6] >> UInt64(i & 63)) & 1) }
        @inline(__always) var count: Int { (0..<count_).reduce(0) { $0 + words[$1].nonzeroBitCount } }
    }

    /// Routed token-rows landing on each GPU (sum over its local experts).
    public var gpuLoads: [Int] {
        (0..<placement.ep).map { g in
            (g * placement.expertsPerGPU..<(g + 1) * placement.expertsPerGPU).reduce(0) { $0 + expertLoads[$1] }
        }
    }

    /// Copies per node pair crossing IB, `[source node][destination node]`.
    public var nodeIBCopies: [[Int]] {
        var m = [[Int]](repeating: [Int](repeating: 0, count: placement.nodes), count: placement.nodes)
        for s in 0..<placement.ep { for r in 0..<placement.ep where ibCopies[s][r] > 0 {
            m[placement.node(ofGPU: s)][placement.node(ofGPU: r)] += ibCopies[s][r]
        } }
        return m
    }

    /// max / mean over the experts (1 = perfectly balanced).
    public var maxOverMeanExpertLoad: Double { Self.maxOverMean(expertLoads) }
    /// max / mean over the GPUs of the group.
    public var maxOverMeanGPULoad: Double { Self.maxOverMean(gpuLoads) }

    static func maxOverMean(_ xs: [Int]) -> Double {
        let mean = Double(xs.reduce(0, +)) / Double(max(xs.count, 1))
        return mean == 0 ? 0 : Double(xs.max() ?? 0) / mean
    }
}
