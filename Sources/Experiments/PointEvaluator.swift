import ConfigIO
import CostModel
import Hardware
import Model
import Training

/// What one point of an experiment came to.
public struct PointOutcome: Sendable, Equatable {
    public enum Status: String, Sendable, Codable { case ok, infeasible }
    public var status: Status
    /// Why the point is infeasible (the plan error, or by how much memory overflows).
    public var reason: String
    /// Output name → value, in `OutputCatalog` order then phases.
    public var outputs: [(name: String, value: Double)]

    public static func == (a: PointOutcome, b: PointOutcome) -> Bool {
        a.status == b.status && a.reason == b.reason && a.outputs.map(\.name) == b.outputs.map(\.name) && a.outputs.map(\.value) == b.outputs.map(\.value)
    }

    public func value(_ name: String) -> Double? { outputs.first { $0.name == name }?.value }

    public init(status: Status, reason: String, outputs: [(name: String, value: Double)]) {
        self.status = status; self.reason = reason; self.outputs = outputs
    }

    /// The outcome of a simulated point: its outputs, infeasible when the memory does not fit
    /// (the outputs are kept so the time of such a plan can still be read).
    public init(_ e: Evaluation) {
        self.init(status: .ok, reason: "", outputs: PointEvaluator.outputs(e))
        if !e.memory.fits {
            status = .infeasible
            reason = "does not fit in memory: \(PointEvaluator.gb(e.memory.peakBytesPerGpu)) GB peak on rank \(e.memory.peakRank) > \(PointEvaluator.gb(e.memory.capacityBytes)) GB (largest term: \(e.memory.largestTerm))"
        } else if let phase = e.run?.phases.first(where: { !$0.memoryFits }) {
            status = .infeasible
            reason = "phase \(phase.name) does not fit in memory: \(PointEvaluator.gb(phase.memoryPeakBytes)) GB > \(PointEvaluator.gb(e.memory.capacityBytes)) GB"
        }
    }
}

/// Evaluates points: parses the point's document, simulates its step, memory and run. Shared
/// catalogs and the routing cache make it cheap to call from many threads.
public struct PointEvaluator: Sendable {
    public let models: ModelCatalog
    public let hardware: HardwareCatalog
    public let calibration: KernelCalibration
    public let routingCache: RoutingCache

    public init(models: ModelCatalog, hardware: HardwareCatalog, calibration: KernelCalibration, routingCache: RoutingCache = RoutingCache()) {
        self.models = models; self.hardware = hardware; self.calibration = calibration; self.routingCache = routingCache
    }

    /// The step configuration of a point; malformed input throws, impossible plans throw
    /// `ConfigError` marked infeasible.
    public func configuration(_ document: ConfigValue) throws -> StepConfiguration {
        try StepExperiment.parse(document, models: models, hardware: hardware)
    }

    /// Simulates the point. A plan that cannot be built, or whose memory does not fit, is
    /// infeasible; the outputs that could be computed are kept either way.
    public func evaluate(_ point: Sweep.Point) throws -> PointOutcome {
        if let e = point.infeasible { return PointOutcome(status: .infeasible, reason: e.description, outputs: []) }
        guard let document = point.document else { return PointOutcome(status: .infeasible, reason: "no document", outputs: []) }
        return try evaluate(document)
    }

    public func evaluate(_ document: ConfigValue) throws -> PointOutcome {
        let config: StepConfiguration
        do { config = try configuration(document) } catch let e as ConfigError where e.infeasible {
            return PointOutcome(status: .infeasible, reason: e.description, outputs: [])
        }
        var phases: [RunPhase]?, economics = RunEconomics()
        if try RunExperiment.hasRun(document) {
            let run = try RunExperiment.parse(document)
            phases = run.phases; economics = run.economics
        }
        // A run phase's own plan can be impossible on this point's cluster: infeasible too.
        do {
            return PointOutcome(try Evaluation.evaluate(config: config, phases: phases, economics: economics, calibration: calibration, routingCache: routingCache))
        } catch let e as ConfigError where e.infeasible {
            return PointOutcome(status: .infeasible, reason: e.description, outputs: [])
        }
    }

    static func gb(_ bytes: Double) -> String { String(format: "%.1f", bytes / 1e9) }

    /// The outputs of an evaluation, in `OutputCatalog` order (phases last).
    public static func outputs(_ e: Evaluation) -> [(name: String, value: Double)] {
        let s = e.step, c = e.config, rank0 = s.timeBreakdownPerRank.first ?? StepTimeBreakdown()
        var o: [(String, Double)] = [
            ("gpus", Double(c.gpus)), ("dp", Double(c.dp)), ("step_time_s", s.stepTimeS), ("pipeline_s", s.pipelineS),
            ("steady_s", s.steadyS), ("bubble_s", s.bubbleS), ("bubble_percent", s.pipelineS > 0 ? 100 * s.bubbleS / s.pipelineS : 0), ("optimizer_s", s.optimizerS),
            ("optimizer_median_rank_s", s.optimizerMedianRankS),
            ("compute_s", rank0.computeS), ("exposed_communication_s", rank0.exposedCommunicationS), ("exposed_all_to_all_s", rank0.allToAllS),
            ("host_wait_s", s.hostWaitS),
            ("tokens_per_step", Double(s.tokensPerStep)), ("tokens_per_day_b", s.tokensPerDay / 1e9), ("tflops_per_gpu", s.tflopsPerGpuCausal),
            ("mfu_percent", 100 * s.mfuCausal), ("memory_peak_gb", e.memory.peakBytesPerGpu / 1e9), ("memory_capacity_gb", e.memory.capacityBytes / 1e9),
            ("memory_fits", e.memory.fits ? 1 : 0), ("network_cost_musd", c.topology.networkCostUSD / 1e6),
        ]
        if let r = e.run {
            o += [("gpu_hours_total", r.gpuHoursTotal), ("gpu_hours_per_trillion_tokens", r.gpuHoursPerTrillionTokens), ("run_days", r.wallDays),
                  ("cost_musd", r.costUsd / 1e6), ("energy_mwh", r.energyMwh), ("co2_tonnes", r.co2Tonnes)]
            o += r.phases.map { (OutputCatalog.phasePrefix + $0.name, $0.gpuHours) }
        }
        return o
    }
}
