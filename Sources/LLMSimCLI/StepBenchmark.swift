import CostModel
import Dispatch
import Fabric
import Kernels
import Stochastic
import Training

/// The parts of one simulated training step timed one by one (`llmsim bench --step`): routing
/// one EP group through the gate (the integrated composition law, the order-statistic
/// shortcut and the full draw), building
/// the dispatch plan, timing the all-to-all on the fluid network, loading the kernel
/// calibration, pricing the layers and partitioning the stages on cached routing, running the
/// schedule and the optimizer on a prepared plan, and the whole step from a cold routing cache. Every part runs
/// on the calling thread except the whole step (which routes the group's GPUs on all cores;
/// pin the process with `taskset -c 0` for one core). Each is the best of `rounds`.
struct StepBenchmark {
    let config: StepConfiguration
    let rounds: Int

    struct Part: Encodable {
        var name: String
        var seconds: Double
        /// Nanoseconds per routed token where the part routes tokens, else nil.
        var nanosecondsPerToken: Double?
    }

    func run() throws -> [Part] {
        let simulation = try StepSimulation(config: config, calibration: try KernelCalibration.hopper())
        guard let (experiment, _) = simulation.routingExperiment() else {
            throw KernelError("experiment", "\(config.model.name) has no MoE layers", fix: "benchmark an MoE model's step, e.g. Experiments/deepseek-v3.yaml")
        }
        let tokens = experiment.ep * experiment.tokensPerGPU
        let router = try Router(config: experiment.router)
        let law = try experiment.tokenLaw()
        // The experiment's first step, GPU after GPU on this thread.
        func route(_ gate: (inout LaneRandom) -> Routing) -> [Routing] {
            experiment.tokenGenerators().map { generator in
                var random = generator
                return gate(&random)
            }
        }
        var parts: [Part] = []
        var routings: [Routing] = []
        func perToken(_ seconds: Double) -> Double { seconds / Double(tokens) * 1e9 }
        parts.append(Part(name: "gate composition law, integrated", seconds: try time { _ = GateCompositionLaw(config: experiment.router) }))
        if let composition = CompositionGate(router: router, logPrior: law.logPrior) {
            let seconds = try time { routings = route { composition.route(tokens: experiment.tokensPerGPU, random: &$0) } }
            parts.append(Part(name: "gate, composition law (one EP group)", seconds: seconds, nanosecondsPerToken: perToken(seconds)))
        }
        if let orderStatistics = OrderStatisticGate(router: router, logPrior: law.logPrior) {
            let seconds = try time { _ = route { orderStatistics.route(tokens: experiment.tokensPerGPU, random: &$0, gateWeights: false) } }
            parts.append(Part(name: "gate, order statistics", seconds: seconds, nanosecondsPerToken: perToken(seconds)))
        }
        let full = try SampledGate(router: router, logPrior: law.logPrior, shortcuts: false)
        let fullSeconds = try time {
            let drawn = route { full.route(tokens: experiment.tokensPerGPU, random: &$0, gateWeights: false) }
            if routings.isEmpty { routings = drawn }
        }
        parts.append(Part(name: "gate, every affinity drawn", seconds: fullSeconds, nanosecondsPerToken: perToken(fullSeconds)))
        let placement = try experiment.placement()
        var plan: DispatchPlan?
        let planning = try time { plan = try DispatchPlan(placement: placement, routings: routings) }
        parts.append(Part(name: "dispatch plan", seconds: planning, nanosecondsPerToken: perToken(planning)))
        parts.append(Part(name: "all-to-all on the fluid network (dispatch and combine)",
                          seconds: try time { _ = try simulation.moeAllToAll.times(plan!, hidden: config.model.hiddenSize) }))
        parts.append(Part(name: "kernel calibration loaded", seconds: try time { _ = try KernelCalibration.hopper() }))
        parts.append(Part(name: "layers priced, stages partitioned (routing cached)", seconds: try time { _ = try simulation.plan() }))
        let stagePlan = try simulation.plan()
        parts.append(Part(name: "schedule and optimizer on a prepared plan",
                          seconds: try time { _ = try simulation.run(microbatches: config.microbatches, plan: stagePlan) }))
        parts.append(Part(name: "whole step, cold routing cache",
                          seconds: try time { _ = try StepSimulation(config: config, calibration: try KernelCalibration.hopper()).run() }))
        return parts
    }

    /// Best of `rounds` wall-clock seconds of `body`.
    func time(_ body: () throws -> Void) throws -> Double {
        var best = Double.infinity
        for _ in 0..<max(rounds, 1) {
            let start = DispatchTime.now().uptimeNanoseconds
            try body()
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9)
        }
        return best
    }
}
