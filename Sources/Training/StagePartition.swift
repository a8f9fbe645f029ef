/// Contiguous partition of layers into stages minimising the slowest stage (linear partition
/// by binary search over the bottleneck, greedy fill), with extra work on the first and last
/// stages (embedding; head, loss and MTP).
public enum StagePartition {
    /// A list with its runs of equal values shortened: [4, 4, 4, 1] → "4×3 1", so a 64-stage
    /// partition stays one short line.
    public static func runLengths(_ values: [Int]) -> String {
        var parts: [String] = [], i = 0
        while i < values.count {
            var j = i
            while j + 1 < values.count, values[j + 1] == values[i] { j += 1 }
            parts.append(j == i ? "\(values[i])" : "\(values[i])×\(j - i + 1)")
            i = j + 1
        }
        return parts.joined(separator: " ")
    }

    /// The split whose slowest stage (summed `weights`, plus `firstExtra` on the first stage and
    /// `lastExtra` on the last) is as fast as possible.
    public static func balance(weights: [Double], stages: Int, firstExtra: Double, lastExtra: Double) -> [Int] {
        precondition(stages >= 1 && weights.count >= stages, "need at least one layer per stage")
        /// Greedy fill under a bottleneck `limit`: every stage but the last takes layers while
        /// they fit and enough remain for the stages after it; the last takes the rest.
        func fits(_ limit: Double) -> [Int]? {
            var counts: [Int] = [], i = 0
            for s in 0..<(stages - 1) {
                var load = s == 0 ? firstExtra : 0, n = 0
                while i < weights.count - (stages - 1 - s), n == 0 || load + weights[i] <= limit {
                    load += weights[i]; i += 1; n += 1
                }
                if load > limit { return nil }
                counts.append(n)
            }
            let lastLoad = weights[i...].reduce(0, +) + lastExtra + (stages == 1 ? firstExtra : 0)
            if lastLoad > limit { return nil }
            counts.append(weights.count - i)
            return counts
        }
        // Any split fits an infinite bottleneck; the search keeps the last split that fitted (the
        // total as a first bound could miss by a rounding of its summation order).
        guard var best = fits(.infinity) else { preconditionFailure("stage weights must be finite numbers") }
        var low = 0.0, high = weights.reduce(0, +) + firstExtra + lastExtra
        for _ in 0..<100 {
            let mid = (low + high) / 2
            if let split = fits(mid) { high = mid; best = split } else { low = mid }
        }
        return best
    }

    /// The stage partition that minimises the busiest rank's load when ranks hold several
    /// stages (`rankStages[r]`): starts from the per-stage balance and moves one layer across
    /// a stage boundary at a time while that lowers (busiest rank, then sum of squared rank
    /// loads). Deterministic; equal to `balance` when every rank holds one stage.
    public static func balance(weights: [Double], stages: Int, firstExtra: Double, lastExtra: Double, rankStages: [[Int]]) -> [Int] {
        let counts = balance(weights: weights, stages: stages, firstExtra: firstExtra, lastExtra: lastExtra)
        guard rankStages.contains(where: { $0.count > 1 }) else { return counts }
        let cost = RankLoads(weights: weights, stages: stages, firstExtra: firstExtra, lastExtra: lastExtra, rankStages: rankStages)
        return descend(from: counts, stages: stages) { cost.busiestAndSquares($0) }
    }
}

extension StagePartition {
    /// Layers split as evenly as possible, the remainder one each to the stages after the first
    /// (the first and last stages carry the embedding and the head): 80 over 40 → 2×40.
    public static func uniform(layers: Int, stages: Int) -> [Int] {
        let base = layers / stages, extra = layers % stages
        return (0..<stages).map { base + ($0 >= 1 && $0 <= extra ? 1 : 0) }
    }

    /// The partition with the least busiest-rank load among those on which every rank fits in
    /// memory: `start` (the load balance) when it fits, else the best fitting one found, else
    /// nil (no partition fits; the caller keeps the balance and reports the overflow).
    ///
    /// Why: the balance is blind to memory. Under 1F1B or ZB1P rank r holds PP − r micro-batches
    /// in flight, so the first ranks run out of memory first, and moving a layer off them is
    /// what a user does by hand (Megatron-LM's `--decoder-first-pipeline-num-layers`). Without
    /// this, a sub-percent change in layer times could flip a plan between fitting and not
    /// (PP 8, EP 32, ZB1P on 2026-11-24: "8×7 5" fit, "9 8×6 4" did not).
    ///
    /// Ranks that run one stage: exact, by dynamic programming over (stage, layers used) with
    /// each stage's bytes a sum over its layers (`StageMemoryModel.separableBytes`); ties on
    /// the busiest load go to the lower sum of squared loads. Ranks that run several stages
    /// (DualPipe, interleaved): a local search from `start` moving one layer across a stage
    /// boundary at a time while that lowers (bytes over capacity, busiest rank, sum of squares);
    /// a heuristic, kept only if it ends fitting.
    public static func fitting(weights: [Double], stages: Int, firstExtra: Double, lastExtra: Double,
                               rankStages: [[Int]], memory: StageMemoryModel, start: [Int]) -> [Int]? {
        guard memory.profile.rankStages == rankStages else { return nil }
        if memory.overflow(stageLayers: start) == 0 { return start }
        let found: [Int]?
        if rankStages.allSatisfy({ $0.count == 1 }) {
            found = separable(weights: weights, stages: stages, firstExtra: firstExtra, lastExtra: lastExtra, rankStages: rankStages, memory: memory)
        } else {
            let cost = RankLoads(weights: weights, stages: stages, firstExtra: firstExtra, lastExtra: lastExtra, rankStages: rankStages)
            found = descend(from: start, stages: stages) { [memory.overflow(stageLayers: $0)] + cost.busiestAndSquares($0) }
        }
        guard let found, memory.overflow(stageLayers: found) == 0 else { return nil }
        return found
    }

    /// The exact search for ranks of one stage each.
    static func separable(weights: [Double], stages: Int, firstExtra: Double, lastExtra: Double,
                          rankStages: [[Int]], memory: StageMemoryModel) -> [Int]? {
        let layers = weights.count
        guard layers >= stages else { return nil }
        var work = [0.0]
        for w in weights { work.append(work.last! + w) }
        // best[s][i]: (busiest load, sum of squares, layers before stage s) with stages 0…s
        // holding layers 0..<i, each at least one layer and within its memory.
        typealias Entry = (busiest: Double, squares: Double, from: Int)
        var best = [[Entry?]](repeating: [Entry?](repeating: nil, count: layers + 1), count: stages)
        for s in 0..<stages {
            guard let rank = rankStages.firstIndex(of: [s]), let bytes = memory.separableBytes(rank: rank) else { return nil }
            var held = [0.0]
            for b in bytes.perLayer { held.append(held.last! + b) }
            let ends = (s == 0 ? bytes.first : 0) + (s == stages - 1 ? bytes.last : 0)
            let extra = (s == 0 ? firstExtra : 0) + (s == stages - 1 ? lastExtra : 0)
            // Stage s ends at layer i, leaving one layer for each later stage.
            for i in (s + 1)...(layers - (stages - 1 - s)) {
                for j in (s == 0 ? 0 : s)..<i where s == 0 ? j == 0 : best[s - 1][j] != nil {
                    guard bytes.fixed + ends + held[i] - held[j] <= memory.capacityBytes else { continue }
                    let load = work[i] - work[j] + extra
                    let before = s == 0 ? (busiest: 0.0, squares: 0.0, from: 0) : best[s - 1][j]!
                    let entry = (busiest: max(before.busiest, load), squares: before.squares + load * load, from: j)
                    if let current = best[s][i], !isBetter([entry.busiest, entry.squares], than: [current.busiest, current.squares]) { continue }
                    best[s][i] = entry
                }
            }
        }
        guard best[stages - 1][layers] != nil else { return nil }
        var counts = [Int](repeating: 0, count: stages), end = layers
        for s in stride(from: stages - 1, through: 0, by: -1) {
            let from = best[s][end]!.from
            counts[s] = end - from
            end = from
        }
        return counts
    }

    /// Lexicographic order with a relative tolerance of 10⁻¹² on each key (so that rounding does
    /// not decide between equal loads).
    static func isBetter(_ a: [Double], than b: [Double]) -> Bool {
        for (x, y) in zip(a, b) {
            if x < y - abs(y) * 1e-12 { return true }
            if x > y + abs(y) * 1e-12 { return false }
        }
        return false
    }

    /// Local search: moves one layer across one stage boundary at a time while `cost` improves
    /// (lexicographically); deterministic.
    static func descend(from start: [Int], stages: Int, cost: ([Int]) -> [Double]) -> [Int] {
        var counts = start, best = cost(start)
        for _ in 0..<(10 * start.reduce(0, +)) {
            var improved = false
            for i in 0..<(stages - 1) {
                for delta in [-1, 1] {
                    var trial = counts
                    trial[i] += delta; trial[i + 1] -= delta
                    guard trial[i] >= 1, trial[i + 1] >= 1 else { continue }
                    let c = cost(trial)
                    if isBetter(c, than: best) { counts = trial; best = c; improved = true }
                }
            }
            if !improved { break }
        }
        return counts
    }
}

/// The load of each rank under a partition: the summed weights of its stages' layers, with the
/// first stage's and the last stage's extra work.
struct RankLoads {
    let weights: [Double], stages: Int, firstExtra: Double, lastExtra: Double, rankStages: [[Int]]

    func ranks(_ counts: [Int]) -> [Double] {
        var loads = [Double](repeating: 0, count: stages), next = 0
        for (s, n) in counts.enumerated() {
            loads[s] = weights[next..<(next + n)].reduce(0, +) + (s == 0 ? firstExtra : 0) + (s == stages - 1 ? lastExtra : 0)
            next += n
        }
        return rankStages.map { $0.reduce(0) { $0 + loads[$1] } }
    }
    /// The busiest rank's load, then the sum of squared rank loads (the local search's order).
    func busiestAndSquares(_ counts: [Int]) -> [Double] {
        let loads = ranks(counts)
        return [loads.max() ?? 0, loads.reduce(0) { $0 + $1 * $1 }]
    }
}
