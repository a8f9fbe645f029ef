import Foundation
import Testing
@testable import Kernels
import Stochastic
import SimCore

@Suite struct RouterTests {
    func experiment(ep: Int = 64, tokens: Int = 256, skew: ExpertSkew = .uniform, steps: Int = 1, gamma: Double = 0.001) -> RoutingExperiment {
        RoutingExperiment(router: .deepSeekV3, hidden: 7168, tokensPerGPU: tokens, ep: ep, gpusPerNode: 8, skew: skew, steps: steps, gamma: gamma, seed: 7)
    }

    let uniformPrior = [Double](repeating: 0, count: 256)

    /// A unit slip (10⁸ tokens per GPU) would route for hours: refused beyond 2²² tokens.
    @Test func tokenCountIsBounded() {
        #expect(throws: KernelError.self) { try experiment(tokens: 100_000_000).run() }
        #expect(throws: KernelError.self) { try experiment(tokens: RoutingExperiment.maxTokensPerGPU + 1).run() }
    }

    /// V3 report §2.1.2 / §3.2.2: node-limited routing sends each token to at most M = 4 nodes,
    /// so at most 4 IB copies (3 when the source node is among them).
    @Test("V3 §2.1.2: at most 4 nodes per token")
    func nodeLimit() throws {
        let plan = try experiment().run().plan
        #expect(plan.maxNodesPerToken <= 4)
        #expect(plan.meanNodesPerToken > 3.5)        // with 8 nodes and uniform affinities, nearly always 4
        #expect(plan.meanIBCopiesPerToken <= 4)
        for s in 0..<64 { for r in 0..<64 where plan.ibCopies[s][r] > 0 {
            #expect(r % 8 == s % 8, "IB copies go to the GPU with the same local index")
            #expect(r / 8 != s / 8, "IB never carries intra-node traffic")
        } }
    }

    /// Conservation: every (token, expert) pair lands on exactly one expert; every distinct
    /// destination GPU of a token gets exactly one logical copy.
    @Test func copiesAndLoadsAreConserved() throws {
        let plan = try experiment(tokens: 128).run().plan
        #expect(plan.expertLoads.reduce(0, +) == 64 * 128 * 8)
        let logical = plan.logicalCopies.map { $0.reduce(0, +) }.reduce(0, +)
        #expect(Double(logical) == plan.meanGPUsPerToken * Double(64 * 128))
        // Every logical copy to another GPU arrives over NVLink exactly once (directly or forwarded),
        // except a relay's own experts, which arrive over IB only.
        var offGPU = 0
        for s in 0..<64 { for d in 0..<64 where d != s { offGPU += plan.logicalCopies[s][d] } }
        let nvlink = plan.nvlinkCopies.map { $0.reduce(0, +) }.reduce(0, +)
        var ibDelivered = 0
        for s in 0..<64 { for r in 0..<64 { ibDelivered += min(plan.ibCopies[s][r], plan.logicalCopies[s][r]) } }
        #expect(nvlink + ibDelivered == offGPU)
    }

    @Test func gateWeightsAreNormalisedAndScaled() throws {
        let router = try Router(config: .deepSeekV3)
        var random = LaneRandom(seed: 1)
        let tokens = try SampledGate(router: router, logPrior: uniformPrior).affinities(tokens: 16, random: &random)
        let r = router.route(scores: tokens, tokens: 16)
        for t in 0..<16 {
            let w = r.weights[(t * 8)..<((t + 1) * 8)].reduce(0, +)
            #expect(abs(w - 2.5) < 1e-6)
            #expect(Set(r.experts[(t * 8)..<((t + 1) * 8)]).count == 8)
        }
    }

    /// The bias only changes selection: a large bias on one expert makes every token choose it.
    @Test func biasSteersSelection() throws {
        var router = try Router(config: .deepSeekV3)
        router.bias[42] = 10
        var random = LaneRandom(seed: 2)
        let tokens = try SampledGate(router: router, logPrior: uniformPrior).affinities(tokens: 32, random: &random)
        let r = router.route(scores: tokens, tokens: 32)
        #expect(r.expertLoads(experts: 256)[42] == 32)
    }

    /// The auxiliary-loss-free update lowers the imbalance that a skewed popularity causes. The
    /// bias moves selection scores (sigmoid affinities near 1 for the chosen experts), so a γ of a
    /// few thousandths works and 0.05 only oscillates; the last steps are compared as a mean.
    @Test func biasUpdateReducesImbalance() throws {
        let ratios = try experiment(ep: 8, tokens: 256, skew: .dirichlet(alpha: 2), steps: 20, gamma: 0.003).run().loadRatioPerStep
        let late = ratios.suffix(5).reduce(0, +) / 5
        #expect(late < 0.7 * ratios[0], "max/mean load \(ratios[0]) at the start, \(late) over the last 5 steps")
    }

    @Test func uniformRoutingIsNearlyBalancedPerGPU() throws {
        let plan = try experiment(tokens: 512).run().plan
        #expect(plan.maxOverMeanGPULoad < 1.15)
        #expect(plan.gpuLoads.reduce(0, +) == 64 * 512 * 8)
    }

    @Test func badArgumentsAreRejected() throws {
        #expect(throws: KernelError.self) { try experiment(ep: 512).run() }          // more GPUs than experts
        #expect(throws: KernelError.self) { try experiment(ep: 48).run() }           // 256 experts over 48 GPUs
        #expect(throws: KernelError.self) { try experiment(tokens: 0).run() }
        #expect(throws: KernelError.self) { try ExpertSkew(parsing: "pareto:2") }
        #expect(throws: KernelError.self) { try ExpertSkew(parsing: "zipf") }
        #expect(throws: KernelError.self) { try ExpertSkew(parsing: "dirichlet:-1") }
        #expect(throws: KernelError.self) { try TokenAffinities(experts: 4, skew: .histogram([1, 2]), stream: RandomStream(seed: 1)) }
        #expect(throws: KernelError.self) { try Router(config: RouterConfig(experts: 256, topK: 8, groups: 7, topKGroups: 4)) }
        #expect(try ExpertSkew(parsing: "zipf:1.2") == .zipf(exponent: 1.2))
    }

    @Test("V3 §3.3.3: 7,392 B FP8 dispatch and 14,336 B BF16 combine per copy")
    func bytesPerCopy() {
        #expect(TokenCopyBytes.dispatch(hidden: 7168, format: .fp8) == 7392)
        #expect(TokenCopyBytes.dispatch(hidden: 7168, format: .bf16) == 14336)
        #expect(TokenCopyBytes.combine(hidden: 7168) == 14336)
    }

    /// The synthetic router's lane-wise fast path must choose exactly what the reference gate
    /// chooses from the same affinities: V3's layout (8 groups, 4 kept), groups spanning two
    /// lanes, no group limit, one group, group score from the top-1; with a random bias and a
    /// skewed popularity (so the division and the bias both matter).
    @Test(arguments: [
        RouterConfig.deepSeekV3,
        RouterConfig(experts: 256, topK: 8, groups: 4, topKGroups: 2, expertsPerGroupScore: 2, routedScalingFactor: 2.5),
        RouterConfig(experts: 256, topK: 8, groups: 8, topKGroups: 8),
        RouterConfig(experts: 64, topK: 6, groups: 1, topKGroups: 1),
        RouterConfig(experts: 160, topK: 6, groups: 8, topKGroups: 3, expertsPerGroupScore: 1),
        RouterConfig(experts: 60, topK: 4, groups: 1, topKGroups: 1),      // not lane-shaped: the fallback must consume the same draws
    ])
    func sampledGateMatchesReference(config: RouterConfig) throws {
        var router = try Router(config: config)
        var biasDraws = SplitMix64(seed: 11)
        for e in router.bias.indices { router.bias[e] = Double(biasDraws.next() % 1000) * 1e-5 - 0.005 }
        let law = try TokenAffinities(experts: config.experts, skew: .dirichlet(alpha: 2), stream: RandomStream(seed: 5))
        let gate = try SampledGate(router: router, logPrior: law.logPrior)
        var a = LaneRandom(seed: 9), b = LaneRandom(seed: 9)
        let fast = gate.route(tokens: 2048, random: &a)
        let reference = router.route(scores: gate.affinities(tokens: 2048, random: &b), tokens: 2048)
        #expect(fast.experts == reference.experts)
        #expect(fast.weights == reference.weights)
        // Both consumed the same draws.
        #expect(a.next() == b.next())
    }

    @Test func laneRandomIsUniformInTheOpenInterval() {
        var random = LaneRandom(seed: 3)
        var sum = 0.0, low = Float(1), high = Float(0)
        for _ in 0..<100_000 {
            let u = random.nextUniformPositive()
            for j in 0..<8 { sum += Double(u[j]); low = min(low, u[j]); high = max(high, u[j]) }
        }
        #expect(low > 0 && high < 1)
        #expect(abs(sum / 800_000 - 0.5) < 0.002)            // σ of the mean ≈ 0.0003
        var again = LaneRandom(seed: 3), other = LaneRandom(seed: 4)
        let first = again.next()
        #expect(first != other.next())
        #expect(Set((0..<8).map { first[$0] }).count == 8)  // lanes are independent streams
    }

    /// LaneMath's log and exp against libm over the ranges the order-statistic gate uses
    /// (uniforms in (0, 1) and beyond; exponents down to −20).
    @Test func laneMathMatchesLibm() {
        var random = LaneRandom(seed: 12)
        var worstLog = 0.0, worstExp = 0.0
        for i in 0..<20_000 {
            let u = random.nextUniformPositive() * (i % 2 == 0 ? 1 : 1000)
            let l = LaneMath.log(u), x = u * -20 / (i % 2 == 0 ? 1 : 1000) + 2
            let e = LaneMath.exp(x)
            for j in 0..<8 {
                let exactLog = Foundation.log(Double(u[j]))
                worstLog = max(worstLog, abs(Double(l[j]) - exactLog) / max(1, abs(exactLog)))
                let exactExp = Foundation.exp(Double(x[j]))
                worstExp = max(worstExp, abs(Double(e[j]) - exactExp) / exactExp)
            }
        }
        // Measured 2026-11-23: log 1.3e-7, exp 1.9e-7 (Float's half-ulp is 6e-8).
        #expect(worstLog < 3e-7, "log: \(worstLog)")
        #expect(worstExp < 3e-7, "exp: \(worstExp)")
        var again = LaneRandom(seed: 3)
        #expect(again.nextExponential().min() > 0)
    }

    /// With uniform popularity and no bias, `OrderStatisticGate` draws only the order statistics
    /// the gate looks at; its choices must have the law of the full draw (all `experts`
    /// affinities through the gate). Compared on V3's layout, a top-1 group score (V2-like) and
    /// no group limit: how a token's K picks spread over groups (the merge's work), which groups
    /// are kept (the node limit's), the largest gate weight (the values'), and the experts
    /// (distinct, every expert equally loaded).
    @Test(arguments: [
        RouterConfig.deepSeekV3,
        RouterConfig(experts: 160, topK: 6, groups: 8, topKGroups: 3, expertsPerGroupScore: 1),
        RouterConfig(experts: 256, topK: 8, groups: 8, topKGroups: 8),
    ])
    func orderStatisticGateHasTheFullDrawsLaw(config: RouterConfig) throws {
        let router = try Router(config: config)
        let prior = [Double](repeating: 0, count: config.experts)
        let tokens = 16_384
        func statistics(_ shortcuts: Bool) throws -> (choices: ChoiceStatistics, topWeight: [Double]) {
            let gate = try SampledGate(router: router, logPrior: prior, shortcuts: shortcuts)
            #expect((gate.orderStatistics != nil) == shortcuts)
            var random = LaneRandom(seed: shortcuts ? 21 : 22)
            let r = gate.route(tokens: tokens, random: &random)
            let top = (0..<tokens).map { t in r.weights[(t * config.topK)..<((t + 1) * config.topK)].max()! }
            return (ChoiceStatistics(r, config: config), top)
        }
        let fast = try statistics(true), full = try statistics(false)
        fast.choices.expectSameLaw(as: full.choices, topK: config.topK)
        let a = try Summary(fast.topWeight), b = try Summary(full.topWeight)
        let spread = (a.standardDeviation * a.standardDeviation + b.standardDeviation * b.standardDeviation) / Double(tokens)
        #expect(abs(a.mean - b.mean) <= 5 * spread.squareRoot(), "top weight \(a.mean) vs \(b.mean)")
    }

    /// Uniform popularity gives every expert a log-prior of exactly 0, whatever the expert count
    /// (E · (1/E) rounds below 1 for E = 49), so the exchangeable shortcut applies.
    @Test func uniformPriorIsExactlyZero() throws {
        let law = try TokenAffinities(experts: 49, skew: .uniform, stream: RandomStream(seed: 1))
        #expect(law.logPrior.allSatisfy { $0 == 0 })
        let router = try Router(config: RouterConfig(experts: 49, topK: 6, groups: 7, topKGroups: 3, expertsPerGroupScore: 2))
        #expect(OrderStatisticGate(router: router, logPrior: law.logPrior) != nil)
    }
}

@Suite struct DispatchPlanTests {
    /// An EP group smaller than a node must divide it, as a larger one must be whole nodes:
    /// otherwise consecutive groups straddle nodes and the plan's one-node layout is wrong.
    @Test func groupsDoNotStraddleNodes() throws {
        #expect(try ExpertPlacement(experts: 96, ep: 4, gpusPerNode: 8).nodes == 1)
        #expect(try ExpertPlacement(experts: 96, ep: 16, gpusPerNode: 8).nodes == 2)
        for (ep, fragment) in [(3, "does not divide the 8 GPUs"), (12, "not a whole number of 8-GPU nodes")] {
            #expect { try ExpertPlacement(experts: 96, ep: ep, gpusPerNode: 8) } throws: { "\($0)".contains(fragment) }
        }
    }

    /// The plan derives its NVLink and IB copies from the per-token destinations after the
    /// fact; here a token-by-token reading of the DeepEP rules (direct NVLink on the source's
    /// node; one IB copy per other node to the relay of the source's local index, which forwards
    /// over NVLink) must give the same matrices, on a group of 16 GPUs (one word per token's
    /// set) and of 128 (two words).
    @Test(arguments: [16, 128])
    func derivedCopiesMatchTokenByTokenRules(ep: Int) throws {
        let placement = try ExpertPlacement(experts: 256, ep: ep, gpusPerNode: 8)
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next(_ bound: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(bound))
        }
        let tokens = 64, k = 8
        let routings = (0..<ep).map { _ in
            Routing(tokens: tokens, topK: k, experts: (0..<tokens).flatMap { _ -> [Int32] in
                var chosen: [Int32] = []
                while chosen.count < k { let e = Int32(next(256)); if !chosen.contains(e) { chosen.append(e) } }
                return chosen
            }, weights: [])
        }
        let plan = try DispatchPlan(placement: placement, routings: routings)
        var ib = [[Int]](repeating: [Int](repeating: 0, count: ep), count: ep), nv = ib, logical = ib
        var loads = [Int](repeating: 0, count: 256), maxNodes = 0
        for (s, routing) in routings.enumerated() {
            let sourceNode = placement.node(ofGPU: s), local = placement.localIndex(ofGPU: s)
            for t in 0..<tokens {
                let experts = routing.experts[(t * k)..<((t + 1) * k)].map(Int.init)
                for e in experts { loads[e] += 1 }
                let gpus = Set(experts.map(placement.gpu(ofExpert:))), nodes = Set(gpus.map(placement.node(ofGPU:)))
                maxNodes = max(maxNodes, nodes.count)
                for n in nodes where n != sourceNode { ib[s][n * placement.gpusPerNodeInGroup + local] += 1 }
                for g in gpus {
                    logical[s][g] += 1
                    let n = placement.node(ofGPU: g)
                    let from = n == sourceNode ? s : n * placement.gpusPerNodeInGroup + local
                    if from != g { nv[from][g] += 1 }
                }
            }
        }
        #expect(plan.ibCopies == ib)
        #expect(plan.nvlinkCopies == nv)
        #expect(plan.logicalCopies == logical)
        #expect(plan.expertLoads == loads)
        #expect(plan.maxNodesPerToken == maxNodes)
        #expect(abs(plan.meanIBCopiesPerToken * Double(ep * tokens) - Double(ib.joined().reduce(0, +))) < 1e-6)
    }
}
