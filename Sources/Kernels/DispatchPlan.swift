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
    public init(placement: ExpertPlacement, routings: [Routing]) throws {
        guard routings.count == placement.ep else {
            throw KernelError("routings", "\(routings.count) routings for EP \(placement.ep)", fix: "route the tokens of every GPU of the group")
        }
        self.placement = placement
        let ep = placement.ep
        tokensPerGPU = routings.first?.tokens ?? 0
        // Flat row-major counters in raw storage while counting (as arrays, their checks made
        // `llmsim route` 0.123 s instead of 0.115 s on one core), squared into arrays at the end.
        let counters = UnsafeMutablePointer<Int>.allocate(capacity: 3 * ep * ep + placement.experts)
        counters.initialize(repeating: 0, count: 3 * ep * ep + placement.experts)
        defer { counters.deallocate() }
        let ib = counters, nv = counters + ep * ep, logical = counters + 2 * ep * ep, loads = counters + 3 * ep * ep
        var maxNodes = 0, nodeSum = 0, ibSum = 0, gpuSum = 0, tokenCount = 0
        let perGPU = placement.expertsPerGPU, inGroup = placement.gpusPerNodeInGroup
        // Lookup tables instead of integer divisions in the per-copy loop.
        let gpuOfExpert = UnsafeMutablePointer<Int>.allocate(capacity: placement.experts)
        let nodeOfGPU = UnsafeMutablePointer<Int>.allocate(capacity: ep)
        for e in 0..<placement.experts { gpuOfExpert[e] = e / perGPU }
        for g in 0..<ep { nodeOfGPU[g] = g / inGroup }
        defer { gpuOfExpert.deallocate(); nodeOfGPU.deallocate() }
        // A token's distinct destination GPUs and nodes as bit sets (one bit per GPU, per node):
        // no data-dependent branch per choice. With stamps instead, whose "already seen?" branch
        // mispredicts often, `llmsim route` took 0.115 s instead of 0.110 s on one core.
        let gpuWords = (ep + 63) / 64, nodeWords = (placement.nodes + 63) / 64
        let gpuBits = UnsafeMutablePointer<UInt64>.allocate(capacity: gpuWords)
        let nodeBits = UnsafeMutablePointer<UInt64>.allocate(capacity: nodeWords)
        defer { gpuBits.deallocate(); nodeBits.deallocate() }
        for (source, routing) in routings.enumerated() {
            let sourceNode = placement.node(ofGPU: source), local = placement.localIndex(ofGPU: source)
            routing.experts.withUnsafeBufferPointer { experts in
            for t in 0..<routing.tokens {
                gpuBits.update(repeating: 0, count: gpuWords)
                nodeBits.update(repeating: 0, count: nodeWords)
                for i in 0..<routing.topK {
                    let e = Int(experts[t * routing.topK + i])
                    loads[e] += 1
                    let g = gpuOfExpert[e], n = nodeOfGPU[g]
                    gpuBits[g >> 6] |= 1 << UInt64(g & 63)
                    nodeBits[n >> 6] |= 1 << UInt64(n & 63)
                }
                let nodeCount = Self.forEachMember(of: nodeBits, words: nodeWords) { n in
                    if n != sourceNode { ib[source * ep + n * inGroup + local] += 1; ibSum += 1 }
                }
                let gpuCount = Self.forEachMember(of: gpuBits, words: gpuWords) { g in
                    logical[source * ep + g] += 1
                    let n = nodeOfGPU[g]
                    let from = n == sourceNode ? source : n * inGroup + local
                    if from != g { nv[from * ep + g] += 1 }
                }
                gpuSum += gpuCount
                maxNodes = max(maxNodes, nodeCount)
                nodeSum += nodeCount
                tokenCount += 1
            }
            }
        }
        func square(_ flat: UnsafeMutablePointer<Int>) -> [[Int]] { (0..<ep).map { Array(UnsafeBufferPointer(start: flat + $0 * ep, count: ep)) } }
        ibCopies = square(ib)
        nvlinkCopies = square(nv)
        logicalCopies = square(logical)
        expertLoads = Array(UnsafeBufferPointer(start: loads, count: placement.experts))
        maxNodesPerToken = maxNodes
        meanNodesPerToken = Double(nodeSum) / Double(max(tokenCount, 1))
        meanIBCopiesPerToken = Double(ibSum) / Double(max(tokenCount, 1))
        meanGPUsPerToken = Double(gpuSum) / Double(max(tokenCount, 1))
    }

    /// Calls `body` with each member of a bit set (ascending); returns how many there are.
    @inline(__always)
    static func forEachMember(of set: UnsafeMutablePointer<UInt64>, words: Int, _ body: (Int) -> Void) -> Int {
        var count = 0
        for w in 0..<words {
            var bits = set[w]
            count += bits.nonzeroBitCount
            while bits != 0 {
                body(w << 6 | bits.trailingZeroBitCount)
                bits &= bits - 1
            }
        }
        return count
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
