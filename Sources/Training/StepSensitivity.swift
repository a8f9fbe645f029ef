import CostModel
import Hardware
import Schedules
import SimCore

/// How the step time answers to each measured figure it rests on: every kernel-calibration
/// figure (Sources/CostModel/Resources/hopper-kernels.yaml) and the fabric's bandwidths and
/// latencies, each moved by ± a fraction while everything else stays, the whole step re-run
/// each time (the stage split, the overlap and the optimizer recomputed, not extrapolated).
/// It says which figures a prediction leans on, so a user knows what to measure first and how
/// far a placeholder's error can move the answer.
public struct StepSensitivity: Sendable, Encodable {
    /// One figure the step rests on, as the experiment file would set it.
    public struct Knob: Sendable {
        /// The experiment key that sets it (`calibration.bf16_gemm_efficiency`).
        public var key: String
        public var label: String
        /// Unit of `value`; "" for a dimensionless fraction.
        public var unit: String
        /// Where the figure comes from (the shipped file's source, for calibration figures).
        public var evidence: String
        /// The figure in `unit` (a table's rows move together; its mean stands for it).
        let value: @Sendable (StepConfiguration, KernelCalibration) -> Double
        /// Multiplies the figure by the factor.
        let scale: @Sendable (inout StepConfiguration, inout KernelCalibration, Double) -> Void
    }

    /// One knob's effect.
    public struct Row: Sendable, Encodable, Equatable {
        public var key: String
        public var label: String
        public var unit: String
        public var value: Double
        public var evidence: String
        /// Step time with the figure × (1 − perturbation) and × (1 + perturbation), seconds.
        public var stepLowerS: Double
        public var stepHigherS: Double
        /// (step at + − step at −) / (2 · perturbation · step): per cent of step time per per
        /// cent of the figure (−1 for a throughput that alone sets the step, 0 for one unused).
        public var elasticity: Double
    }

    /// The step as configured, seconds.
    public var stepS: Double
    /// The fraction each figure moves by (0.1: ±10 %).
    public var perturbation: Double
    /// Every knob, largest |elasticity| first (ties in knob order).
    public var rows: [Row]

    /// Runs `config`'s step once as configured and twice per knob, in parallel on all cores,
    /// with `calibration` where the configuration has none of its own.
    public static func run(config: StepConfiguration, calibration shipped: KernelCalibration, perturbation: Double,
                           routingCache: RoutingCache = RoutingCache()) throws -> StepSensitivity {
        guard perturbation > 0, perturbation < 1 else {
            throw ScheduleError(problem: "a sensitivity perturbation of \(perturbation * 100) %", fix: "move each figure by more than 0 and less than 100 %, e.g. 10")
        }
        let base = config.calibration ?? shipped
        let knobs = Self.knobs(config)
        // Run 0 is the step as configured; run 2k + 1 knob k lowered, 2k + 2 raised.
        let steps = try Parallel.map(1 + 2 * knobs.count) { i -> Double in
            var c = config, cal = base
            if i > 0 { knobs[(i - 1) / 2].scale(&c, &cal, i % 2 == 1 ? 1 - perturbation : 1 + perturbation) }
            c.calibration = cal
            return try Evaluation.evaluate(config: c, phases: nil, calibration: cal, routingCache: routingCache).step.stepTimeS
        }
        let step = steps[0]
        let rows = knobs.enumerated().map { k, knob in
            let lower = steps[2 * k + 1], higher = steps[2 * k + 2]
            let value = knob.value(config, base)
            return Row(key: knob.key, label: knob.label, unit: knob.unit, value: value,
                       evidence: knob.key.hasPrefix("calibration.") && knob.value(config, shipped) != value ? "set by the experiment" : knob.evidence,
                       stepLowerS: lower, stepHigherS: higher, elasticity: (higher - lower) / (2 * perturbation * step))
        }
        let order = rows.indices.sorted { abs(rows[$0].elasticity) != abs(rows[$1].elasticity) ? abs(rows[$0].elasticity) > abs(rows[$1].elasticity) : $0 < $1 }
        return StepSensitivity(stepS: step, perturbation: perturbation, rows: order.map { rows[$0] })
    }

    /// Whether `row`'s figure changes the step at all, either way.
    public func moves(_ row: Row) -> Bool { row.stepLowerS != stepS || row.stepHigherS != stepS }

    enum CodingKeys: String, CodingKey { case stepS = "step_time_s", perturbation, rows }

    /// The figures of `config`'s step: every figure of the kernel calibration
    /// (`KernelCalibration.Figure`), then the fabric's.
    public static func knobs(_ config: StepConfiguration) -> [Knob] {
        let node = config.topology.node
        return KernelCalibration.Figure.allCases.map { figure in
            // The top-level `host_us_per_operation`, when the experiment gives it, wins over
            // the calibration's; the knob moves the figure in force.
            guard figure == .hostOperation else {
                return Knob(key: "calibration." + figure.rawValue, label: figure.label, unit: figure.unit, evidence: figure.shippedSource,
                            value: { _, cal in cal.value(figure) }, scale: { _, cal, f in cal = cal.scaling(figure, by: f) })
            }
            return Knob(key: figure.rawValue, label: figure.label, unit: figure.unit,
                        evidence: config.hostSecondsPerOperation == nil ? figure.shippedSource : "set by the experiment",
                        value: { c, cal in (c.hostSecondsPerOperation ?? cal.hostSecondsPerOperation) * 1e6 },
                        scale: { c, cal, f in c.hostSecondsPerOperation = (c.hostSecondsPerOperation ?? cal.hostSecondsPerOperation) * f })
        } + [
            Knob(key: "hardware.nic_gbit_s", label: "NIC bandwidth", unit: "Gb/s", evidence: "node \(node.id)",
                 value: { c, _ in c.topology.node.nicBandwidth * 8 / 1e9 },
                 scale: { c, _, f in c.topology.node.nicBandwidth *= f; c.topology.node.nicAchievableBandwidth *= f }),
            Knob(key: "hardware.scale_up_gb_s", label: "NVLink per direction", unit: "GB/s", evidence: "GPU \(node.device.id)",
                 value: { c, _ in c.topology.node.device.scaleUpBandwidth / 1e9 }, scale: { c, _, f in c.topology.node.device.scaleUpBandwidth *= f }),
            Knob(key: "topology.latency_us", label: "latency, every hop", unit: "µs", evidence: "topology (default: ISCA Table 5)",
                 value: { c, _ in c.topology.interNodeLatency * 1e6 },
                 scale: { c, _, f in
                     c.topology.latency.scaleUp *= f; c.topology.latency.sameLeaf *= f
                     c.topology.latency.crossLeaf *= f; c.topology.latency.crossCore *= f
                 }),
        ] + (config.activationOffload == nil ? [] : [
            // Only where activations are offloaded: nothing else copies to the host. Both
            // directions move together; the value shown is the copy to the host.
            Knob(key: "hardware.host_copy_gb_s", label: "host copy, to the host", unit: "GB/s", evidence: "GPU \(node.device.id)",
                 value: { c, _ in c.topology.node.device.hostCopy.toHost / 1e9 },
                 scale: { c, _, f in c.topology.node.device.measuredHostCopy = c.topology.node.device.hostCopy.scaled(by: f) }),
        ])
    }
}
