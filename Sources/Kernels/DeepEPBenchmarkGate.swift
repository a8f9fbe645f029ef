import Stochastic

/// The routing DeepEP's own benchmarks time (`tests/test_intranode.py`, `tests/test_internode.py`
/// in deepseek-ai/DeepEP), which its README's bandwidth table reports: every (token, expert)
/// score is an independent |N(0, 1)| + 1; across nodes the groups are the EP group's nodes
/// (the experts of one node), each scored by its best expert, and a token keeps its
/// `min(nodes, 4)` best groups (`--num-topk-groups`, default `min(num_nodes, 4)`: V3's top-4
/// groups); then it takes its top-K experts among those groups' (inside one node, among all).
///
/// With independent, identically distributed scores, the order of the group maxima is a uniform
/// random permutation, and the top-K of the kept groups' experts a uniform random K-subset of
/// them: this gate draws exactly that, groups and experts without replacement. Unlike a trained
/// router's groups (V3's 8 groups of 32 experts, two GPUs each at EP16), the groups are whole
/// nodes, so at EP16 a token reaches 6.5 GPUs on average rather than V3's ≈ 5.5: the NVLink
/// forwarding DeepEP's EP16 figure is bound by (its authors: deepseek-ai/DeepEP issue #285).
struct DeepEPBenchmarkGate {
    let experts: Int
    let topK: Int
    /// Groups: the EP group's nodes (1 inside a node).
    let groups: Int
    /// Groups a token keeps.
    let keptGroups: Int

    /// The most groups a token keeps: the benchmark's `min(num_nodes, 4)`.
    static let maxKeptGroups = 4

    init(experts: Int, topK: Int, nodes: Int) throws {
        guard experts % nodes == 0 else {
            throw KernelError("--gate", "DeepEP's benchmark gate groups experts by node, but \(experts) experts do not split over \(nodes) nodes",
                              fix: "use an EP group whose nodes hold the same number of experts")
        }
        let kept = min(nodes, Self.maxKeptGroups)
        guard topK <= kept * (experts / nodes) else {
            throw KernelError("--gate", "top-\(topK) does not fit in \(kept) group(s) of \(experts / nodes) experts", fix: "use the router gate")
        }
        self.experts = experts; self.topK = topK; groups = nodes; keptGroups = kept
    }

    /// The choices of `tokens` tokens, from `words`.
    func route(tokens: Int, words: inout LaneWords) -> Routing {
        let perGroup = experts / groups
        var groupOrder = Array(0..<groups)
        var candidates = [Int32](repeating: 0, count: keptGroups * perGroup)
        var chosen = [Int32]()
        chosen.reserveCapacity(tokens * topK)
        for _ in 0..<tokens {
            // Partial Fisher–Yates: the first `keptGroups` entries are a uniform random subset.
            for i in 0..<keptGroups {
                groupOrder.swapAt(i, i + words.integer(below: groups - i))
            }
            for i in 0..<keptGroups {
                let base = groupOrder[i] * perGroup
                for j in 0..<perGroup { candidates[i * perGroup + j] = Int32(base + j) }
            }
            for i in 0..<topK {
                candidates.swapAt(i, i + words.integer(below: candidates.count - i))
                chosen.append(candidates[i])
            }
        }
        return Routing(tokens: tokens, topK: topK, experts: chosen, weights: [])
    }
}
