import ConfigIO

/// Optional overheads of a real run, reported apart from the simulated GPU-hours (all off for
/// the DeepSeek-V3 reproduction, whose published cost assumes none: "no rollbacks").
///
/// Failures (Young/Daly first-order model): interruptions arrive at `ratePerGPUDay` per GPU;
/// each costs the detection and restart time plus, on average, half a checkpoint interval of
/// lost work; every checkpoint blocks training for `checkpointBlockingSeconds`.
public struct RunOverheads: Sendable, Codable, Equatable {
    /// Unexpected interruptions per GPU per day: 4.7e-4 (Llama 3 §3.3.4, 419 in 54 days on
    /// 16,384 GPUs; hardware.md §6.3).
    public var ratePerGPUDay = 4.7e-4
    /// Detection and restart, minutes: 5 (Meta RSC's assumption; hardware.md §6.3).
    public var restartMinutes = 5.0
    /// Checkpoint interval, minutes: 5 (Fire-Flyer §VII-A).
    public var checkpointIntervalMinutes = 5.0
    /// Blocking time of one asynchronous checkpoint, seconds: 3 (3FS at >10 GiB/s per node,
    /// ≈3.3 GB per GPU; hardware.md §6.3).
    public var checkpointBlockingSeconds = 3.0
    /// Planned maintenance interruptions per GPU per day: 47 planned in 54 days on 16,384 GPUs
    /// (Llama 3 §3.3.4; hardware.md §5) = 5.3e-5. Each costs a restart, no lost work (a
    /// checkpoint is taken first).
    public var maintenanceRatePerGPUDay = 47.0 / (54 * 16_384)
    /// Share of the training wall time spent on evaluation: no published figure, so 0 unless
    /// the experiment gives one.
    public var evaluationFraction = 0.0

    public init() {}

    public struct Result: Sendable, Codable, Equatable {
        public var interruptions: Double
        public var failureGPUHours: Double
        public var checkpointGPUHours: Double
        public var maintenanceGPUHours: Double
        public var evaluationGPUHours: Double
        public var totalGPUHours: Double
    }

    /// Overheads of a run of `wallDays` days on `gpus` GPUs.
    public func price(wallDays: Double, gpus: Int) -> Result {
        let interruptions = ratePerGPUDay * Double(gpus) * wallDays
        let lostHoursEach = (restartMinutes + checkpointIntervalMinutes / 2) / 60
        let failures = interruptions * lostHoursEach * Double(gpus)
        let checkpoints = wallDays * 24 * 60 / checkpointIntervalMinutes
        let blocking = checkpoints * checkpointBlockingSeconds / 3600 * Double(gpus)
        let maintenance = maintenanceRatePerGPUDay * Double(gpus) * wallDays * restartMinutes / 60 * Double(gpus)
        let evaluation = evaluationFraction * wallDays * 24 * Double(gpus)
        return Result(interruptions: interruptions, failureGPUHours: failures, checkpointGPUHours: blocking,
                      maintenanceGPUHours: maintenance, evaluationGPUHours: evaluation,
                      totalGPUHours: failures + blocking + maintenance + evaluation)
    }

    static let keys = ["failure_rate_per_gpu_day", "restart_minutes", "checkpoint_interval_minutes", "checkpoint_blocking_seconds",
                       "maintenance_rate_per_gpu_day", "evaluation_percent"]

    /// Reads `run.overheads` (any key omitted keeps its sourced default).
    public static func parse(_ v: ConfigValue) throws -> RunOverheads {
        try v.requireKnownKeys(keys)
        var o = RunOverheads()
        o.ratePerGPUDay = try v.positiveDouble("failure_rate_per_gpu_day", default: o.ratePerGPUDay, allowZero: true)
        o.restartMinutes = try v.positiveDouble("restart_minutes", default: o.restartMinutes, allowZero: true)
        o.checkpointIntervalMinutes = try v.positiveDouble("checkpoint_interval_minutes", default: o.checkpointIntervalMinutes)
        o.checkpointBlockingSeconds = try v.positiveDouble("checkpoint_blocking_seconds", default: o.checkpointBlockingSeconds, allowZero: true)
        o.maintenanceRatePerGPUDay = try v.positiveDouble("maintenance_rate_per_gpu_day", default: o.maintenanceRatePerGPUDay, allowZero: true)
        let evaluation = try v.positiveDouble("evaluation_percent", default: 0, allowZero: true)
        if evaluation >= 100 { throw try v.required("evaluation_percent").error("must be below 100, found \(evaluation)") }
        o.evaluationFraction = evaluation / 100
        return o
    }
}
