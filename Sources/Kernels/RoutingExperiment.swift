import SimCore
import Stochastic

/// The `llmsim route` experiment: route every GPU's tokens of an EP group through V3's gate for
/// a number of steps, updating the balancing bias after each, and build the dispatch plan of
/// the last step (or route them as a benchmark does: round-robin, `GateKind.roundRobin`, or as
/// DeepEP's benchmarks draw them, `GateKind.deepepBenchmark`).
public struct RoutingExperiment: Sendable {
    public var router: RouterConfig
    public var hidden: Int
    public var tokensPerGPU: Int
    public var ep: Int
    public var gpusPerNode: Int
    /// GPUs each expert's FFN width is split over (Megatron-Core's expert-TP): the group routes
    /// the tokens of `ep` × this many GPUs, every chosen expert delivered to each of its slices
    /// (`ExpertPlacement`). 1: experts whole.
    public var expertTensorParallel = 1
    public var skew: ExpertSkew
    /// Which gate picks each token's experts (the model's router by default).
    public var gate = GateKind.router
    public var steps: Int
    public var gamma: Double
    /// How strongly a sequence's tokens share a preference for some experts
    /// (`SequencePopularity`); nil: every token draws independently from the group's popularity.
    public var sequenceConcentration: Double?
    /// Sequences among the tokens each GPU routes (they split `tokensPerGPU` evenly); each draws
    /// its own popularity when `sequenceConcentration` is set.
    public var sequencesPerGPU = 1
    public var seed: UInt64
    /// Draw every affinity even where a shortcut gate applies (`CompositionGate`: same law,
    /// another stream, a tenth of the gate's time): to check the shortcut.
    public var fullDraw: Bool

    public init(router: RouterConfig, hidden: Int, tokensPerGPU: Int, ep: Int, gpusPerNode: Int,
                skew: ExpertSkew = .uniform, steps: Int = 1, gamma: Double = 0.001, seed: UInt64 = 1, fullDraw: Bool = false) {
        self.router = router; self.hidden = hidden; self.tokensPerGPU = tokensPerGPU; self.ep = ep
        self.gpusPerNode = gpusPerNode; self.skew = skew; self.steps = steps; self.gamma = gamma; self.seed = seed
        self.fullDraw = fullDraw
    }

    public struct Result: Sendable {
        public var plan: DispatchPlan
        /// max/mean expert load after each step, before that step's bias update.
        public var loadRatioPerStep: [Double]
        /// max/mean token-rows per GPU of each step (the straggler the group's expert GEMMs
        /// wait for).
        public var gpuLoadRatioPerStep: [Double] = []
        public var finalBias: [Double]
    }

    /// Routes and plans; `compositionLaw` is the router's `GateCompositionLaw` when the caller
    /// keeps one across experiments (it only depends on the router's layout).
    /// The most tokens one GPU routes in one draw: 4,194,304 (2²²), a thousand times V3's
    /// micro-batch and 32 times a 128K-token sequence; routing time grows linearly (≈ 3.5 µs a
    /// token on one core), so a bound keeps a unit slip (1e9 tokens) from running for hours.
    public static let maxTokensPerGPU = 1 << 22

    public func run(compositionLaw: GateCompositionLaw? = nil) throws -> Result {
        guard tokensPerGPU > 0 else { throw KernelError("--tokens-per-gpu", "must be > 0", fix: "e.g. 4096") }
        guard tokensPerGPU <= Self.maxTokensPerGPU else {
            throw KernelError("--tokens-per-gpu", "\(tokensPerGPU) tokens per GPU is beyond the \(Self.maxTokensPerGPU) llmsim routes at once (about 15 s of routing)",
                              fix: "a GPU routes thousands of tokens per micro-batch (V3: 4,096); check the units")
        }
        guard steps > 0 else { throw KernelError("--steps", "must be > 0", fix: "e.g. 10") }
        guard gamma >= 0, gamma.isFinite else { throw KernelError("--gamma", "must be >= 0", fix: "V3 used 0.001") }
        let sequences = try sequencePopularity()
        let placement = try placement()
        let lookup = SourceCounts.Lookup(placement)
        if let plan = try benchmarkPlan(placement, lookup) {
            return Result(plan: plan, loadRatioPerStep: Array(repeating: plan.maxOverMeanExpertLoad, count: steps),
                          gpuLoadRatioPerStep: Array(repeating: plan.maxOverMeanGPULoad, count: steps),
                          finalBias: Array(repeating: 0, count: router.experts))
        }
        var gate = try Router(config: router)
        let law = try tokenLaw()
        var generators = tokenGenerators()
        var ratios: [Double] = [], gpuRatios: [Double] = []
        var plan: DispatchPlan?
        for step in 0..<steps {
            // GPUs route independently (each from its own generator), so they run on all cores;
            // results land by GPU index, so the plan does not depend on the thread count. Each
            // GPU's routing is counted as soon as it is drawn and dropped: the group's routings
            // kept together (8 MB for V3) cost more in fresh pages than the counting itself.
            let sampled = sequences == nil ? try SampledGate(router: gate, logPrior: law.logPrior, shortcuts: !fullDraw, compositionLaw: compositionLaw) : nil
            let results = try Parallel.map(placement.ep) { [generators, gate] g in
                var random = generators[g]
                // One gate for the whole group, or (with per-sequence popularities) one per sequence.
                let routing = try sampled?.route(tokens: tokensPerGPU, random: &random, gateWeights: false)
                    ?? sequences!.route(gpu: g, step: step, router: gate, law: law, random: &random)
                return (SourceCounts(source: g, routing: routing.splittingExperts(over: placement), lookup: lookup), random)
            }
            generators = results.map(\.1)
            let stepPlan = try DispatchPlan(placement: placement, sources: results.map(\.0))
            ratios.append(stepPlan.maxOverMeanExpertLoad)
            gpuRatios.append(stepPlan.maxOverMeanGPULoad)
            gate.updateBias(loads: stepPlan.routerExpertLoads, gamma: gamma)
            plan = stepPlan
        }
        return Result(plan: plan!, loadRatioPerStep: ratios, gpuLoadRatioPerStep: gpuRatios, finalBias: gate.bias)
    }

    /// The plan of a benchmark gate, nil for the router. The benchmark gates draw no popularity
    /// and see no sequences (a skew or a sequence concentration is an error); their plan is the
    /// same each step, and there is no bias to correct. DeepEP's groups its experts by the EP
    /// group's nodes, Hybrid-EP's in one group.
    func benchmarkPlan(_ placement: ExpertPlacement, _ lookup: SourceCounts.Lookup) throws -> DispatchPlan? {
        guard gate != .router else { return nil }
        try gate.check(skew: skew)
        try gate.check(sequenceConcentration: sequenceConcentration)
        return gate == .roundRobin ? try roundRobin(placement, lookup)
            : try benchmark(placement, lookup, groups: gate == .deepepBenchmark ? placement.nodes : 1)
    }

    /// The round-robin gate's plan: every GPU's tokens pick the same experts (token t: tK …
    /// tK + K − 1 modulo E), so one routing serves the group; the loads are even.
    func roundRobin(_ placement: ExpertPlacement, _ lookup: SourceCounts.Lookup) throws -> DispatchPlan {
        let k = router.topK, e = router.experts
        let routing = Routing(tokens: tokensPerGPU, topK: k, experts: (0..<(tokensPerGPU * k)).map { Int32($0 % e) }, weights: [])
            .splittingExperts(over: placement)
        return try DispatchPlan(placement: placement, sources: (0..<placement.ep).map { SourceCounts(source: $0, routing: routing, lookup: lookup) })
    }

    /// A benchmark's random routing (`DeepEPBenchmarkGate`) with the experts in `groups` groups:
    /// DeepEP's (the EP group's nodes) or Hybrid-EP's (one group: a uniform random K of all
    /// experts); each GPU's tokens drawn from its own generator.
    func benchmark(_ placement: ExpertPlacement, _ lookup: SourceCounts.Lookup, groups: Int) throws -> DispatchPlan {
        let benchmark = try DeepEPBenchmarkGate(experts: router.experts, topK: router.topK, nodes: groups)
        let generators = tokenGenerators()
        let sources = try Parallel.map(placement.ep) { g in
            var words = LaneWords(random: generators[g])
            let routing = benchmark.route(tokens: tokensPerGPU, words: &words).splittingExperts(over: placement)
            return SourceCounts(source: g, routing: routing, lookup: lookup)
        }
        return try DispatchPlan(placement: placement, sources: sources)
    }

    /// The per-sequence popularity law, when tokens of a sequence share one (nil otherwise).
    func sequencePopularity() throws -> SequencePopularity? {
        guard let beta = sequenceConcentration else { return nil }
        return try SequencePopularity(concentration: beta, sequencesPerGPU: sequencesPerGPU, tokensPerGPU: tokensPerGPU,
                                      seed: seed, gpus: groupGPUs)
    }

    /// The group's placement: `ep` GPUs (× expert-TP) over nodes of `gpusPerNode`.
    public func placement() throws -> ExpertPlacement {
        let t = expertTensorParallel
        guard t >= 1 else { throw KernelError("--etp", "expert-TP \(t) must be at least 1", fix: "use 1 (experts whole) or a divisor of the GPUs per node") }
        return try ExpertPlacement(experts: router.experts * t, ep: ep * t, gpusPerNode: gpusPerNode, tensorParallel: t)
    }

    /// The popularity law every GPU of the group shares (from the root stream's "popularity"
    /// child).
    public func tokenLaw() throws -> TokenAffinities {
        try TokenAffinities(experts: router.experts, skew: skew, stream: RandomStream(seed: seed))
    }

    /// GPUs that route: the EP group's, times expert-TP.
    var groupGPUs: Int { ep * max(expertTensorParallel, 1) }

    /// Each GPU's own token generator, as the first step starts.
    public func tokenGenerators() -> [LaneRandom] {
        (0..<groupGPUs).map { LaneRandom(seed: RandomStream.derive(seed: seed, label: "tokens", index: $0)) }
    }
}

/// Which gate picks each token's experts in a routing experiment.
public enum GateKind: String, Sendable, Codable, CaseIterable {
    /// The model's router (V3's node-limited gate with its balancing bias) on affinities drawn
    /// from the expert popularity (`ExpertSkew`).
    case router
    /// NeMo AutoModel's `FakeBalancedGate`, which its published benchmarks run
    /// (`fake_balanced_gate: true`): token t of a GPU's micro-batch picks experts tK, tK + 1, …,
    /// tK + K − 1 modulo E with equal weights. Every expert gets the same rows, and a token's
    /// experts are neighbours: on one GPU, or two adjacent ones of one node, so it crosses the
    /// network at most once — far less all-to-all traffic than a real router's.
    case roundRobin = "round-robin"
    /// The routing DeepEP's published bandwidth benchmarks run (`DeepEPBenchmarkGate`):
    /// independent random scores, the groups the EP group's nodes, a token's top-K experts
    /// among its best `min(nodes, 4)` nodes'. To reproduce DeepEP's README table.
    case deepepBenchmark = "deepep-benchmark"
    /// The routing Hybrid-EP's published bandwidth benchmark runs (`tests/test_hybrid_ep.py` in
    /// deepseek-ai/DeepEP: `torch.randperm(num_experts)[:topk]` per token): a uniform random
    /// K of all the experts, no group limit. To reproduce its README's tables.
    case hybridepBenchmark = "hybridep-benchmark"

    /// What reports call it.
    public var label: String {
        switch self {
        case .router: "router"
        case .roundRobin: "round-robin gate"
        case .deepepBenchmark: "DeepEP benchmark gate"
        case .hybridepBenchmark: "Hybrid-EP benchmark gate"
        }
    }

    /// Only the router draws from an expert popularity: another gate with a skew other than
    /// uniform is an error.
    public func check(skew: ExpertSkew) throws {
        guard self == .router || skew == .uniform else {
            throw KernelError("--gate", "the \(label) has no expert popularity, so skew \(skew) does not apply",
                              fix: "drop the skew (uniform), or use the router gate")
        }
    }

    /// Only the router sees per-sequence popularities: another gate with a sequence
    /// concentration is an error.
    public func check(sequenceConcentration: Double?) throws {
        guard self == .router || sequenceConcentration == nil else {
            throw KernelError("--gate", "the \(label) draws no per-sequence popularity, so a sequence concentration does not apply",
                              fix: "drop the sequence concentration, or use the router gate")
        }
    }
}
