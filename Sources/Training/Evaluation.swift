import CostModel
import Hardware

/// Everything llmsim predicts for one experiment point: the step, the memory of the plan and,
/// when the experiment has a run, every phase and the run's totals. One place for `llmsim run`
/// and the sweep runner, so both report the same figures.
public struct Evaluation: Sendable {
    public var config: StepConfiguration
    public var step: StepResult
    public var memory: TrainingMemory
    public var run: RunTotals?

    public struct RunTotals: Sendable, Codable {
        public var phases: [PhaseResult]
        public var gpuHoursTotal: Double
        public var wallDays: Double
        public var costUsd: Double
        public var energyMwh: Double
        public var co2Tonnes: Double
        /// The first phase with a token budget (pre-training), GPU-hours per 10¹² tokens.
        public var gpuHoursPerTrillionTokens: Double
        public var economics: RunEconomics
        /// Mean power per GPU including its share of the host, W.
        public var wattsPerGPU: Double
        public var overheads: RunOverheads.Result?
    }

    /// Simulates `config`'s step and memory, then prices `phases` (nil: no run).
    public static func evaluate(config: StepConfiguration, phases: [RunPhase]?, economics: RunEconomics = RunEconomics(),
                                overheads: RunOverheads? = nil, calibration: KernelCalibration,
                                routingCache: RoutingCache = RoutingCache(), keepSegments: Bool = false) throws -> Evaluation {
        let simulation = try StepSimulation(config: config, calibration: calibration, routingCache: routingCache)
        let plan = try simulation.plan()
        var step = config.fidelity == .wholeCluster ? try WholeClusterStep(simulation: simulation).run(plan: plan).step
            : try simulation.run(microbatches: config.microbatches, plan: plan)
        if !keepSegments { step.segments = []; step.optimizerSegments = [] }
        let memory = plan.memory
        guard let phases else { return Evaluation(config: config, step: step, memory: memory, run: nil) }
        let run = TrainingRun(base: config, calibration: calibration, routingCache: routingCache)
        let results = try phases.map { try run.price($0) }
        let total = results.reduce(0) { $0 + $1.gpuHours }
        let days = results.reduce(0) { $0 + $1.wallDays }
        let node = config.topology.node
        let watts = node.meanPowerWatts / Double(node.gpus)
        let energy = total * watts * economics.pue / 1e6
        // The first phase with a token budget (pre-training); none when every phase is fixed-step.
        let pre = zip(phases, results).first { if case .tokens = $0.0.length { return true } else { return false } }?.1
        return Evaluation(config: config, step: step, memory: memory, run: RunTotals(
            phases: results, gpuHoursTotal: total, wallDays: days, costUsd: total * economics.pricePerGPUHour,
            energyMwh: energy, co2Tonnes: energy * economics.gridKgPerKWh,
            gpuHoursPerTrillionTokens: pre.map { $0.gpuHours / ($0.tokens / 1e12) } ?? 0,
            economics: economics, wattsPerGPU: watts, overheads: overheads?.price(wallDays: days, gpus: config.gpus)))
    }
}
