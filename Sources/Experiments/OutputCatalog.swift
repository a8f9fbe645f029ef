/// Every output a point of an experiment produces, with its unit: the columns of the results
/// database, the keys `llmsim report --y` accepts, and the reference in
/// `docs/experiment-schema.md`.
public struct OutputSpec: Sendable, Equatable {
    public var name: String
    public var unit: String
    public var meaning: String
    /// Digits after the point in tables.
    public var digits: Int
}

public enum OutputCatalog {
    public static let all: [OutputSpec] = [
        OutputSpec(name: "gpus", unit: "GPUs", meaning: "GPUs in the cluster", digits: 0),
        OutputSpec(name: "dp", unit: "pipelines", meaning: "data-parallel degree (pipelines)", digits: 0),
        OutputSpec(name: "step_time_s", unit: "s", meaning: "one full-batch training step, pipeline and optimizer", digits: 3),
        OutputSpec(name: "pipeline_s", unit: "s", meaning: "the pipeline part of the step (makespan of the schedule)", digits: 3),
        OutputSpec(name: "steady_s", unit: "s", meaning: "rank 0's overlapped forward-and-backward time (ISCA 2025 Table 4's 1F1B phase)", digits: 3),
        OutputSpec(name: "bubble_s", unit: "s", meaning: "idle time of rank 0 during the pipeline", digits: 3),
        OutputSpec(name: "bubble_percent", unit: "%", meaning: "bubble as a share of the pipeline time", digits: 1),
        OutputSpec(name: "optimizer_s", unit: "s", meaning: "ZeRO-1 gradient sync, AdamW update and parameter all-gather", digits: 3),
        OutputSpec(name: "optimizer_median_rank_s", unit: "s", meaning: "the median rank's optimizer step (gradient reduction, AdamW, all-gather) past its own pipeline work", digits: 3),
        OutputSpec(name: "compute_s", unit: "s", meaning: "rank 0's compute (attention, MLP and experts, embedding, head, loss, MTP; recomputation included)", digits: 3),
        OutputSpec(name: "exposed_communication_s", unit: "s", meaning: "rank 0's communication inside its pipeline instructions that compute does not hide (all-to-all, TP, CP, FSDP)", digits: 3),
        OutputSpec(name: "exposed_all_to_all_s", unit: "s", meaning: "of it, the MoE dispatch and combine", digits: 3),
        OutputSpec(name: "host_wait_s", unit: "s", meaning: "rank 0's GPU idle in its pipeline work, waiting for the host to launch operations", digits: 3),
        OutputSpec(name: "tokens_per_step", unit: "tokens", meaning: "tokens of one global batch", digits: 0),
        OutputSpec(name: "tokens_per_day_b", unit: "billion tokens/day", meaning: "training throughput", digits: 2),
        OutputSpec(name: "tflops_per_gpu", unit: "TFLOPS", meaning: "model FLOPs per GPU per second (causal attention)", digits: 1),
        OutputSpec(name: "mfu_percent", unit: "%", meaning: "model FLOPs utilisation against the dense BF16 peak (causal)", digits: 2),
        OutputSpec(name: "memory_peak_gb", unit: "GB", meaning: "peak memory of the fullest GPU", digits: 2),
        OutputSpec(name: "memory_capacity_gb", unit: "GB", meaning: "HBM per GPU", digits: 0),
        OutputSpec(name: "memory_fits", unit: "1 = yes", meaning: "whether the peak fits in HBM", digits: 0),
        OutputSpec(name: "network_cost_musd", unit: "M$", meaning: "switches and links of the compute network", digits: 2),
        OutputSpec(name: "gpu_hours_total", unit: "GPU-h", meaning: "the whole run (all phases)", digits: 0),
        OutputSpec(name: "gpu_hours_per_trillion_tokens", unit: "GPU-h/T tokens", meaning: "first token-budget phase (pre-training)", digits: 0),
        OutputSpec(name: "run_days", unit: "days", meaning: "wall-clock days of the whole run", digits: 1),
        OutputSpec(name: "cost_musd", unit: "M$", meaning: "GPU-hours × price per GPU-hour", digits: 3),
        OutputSpec(name: "energy_mwh", unit: "MWh", meaning: "GPU-hours × node power per GPU × PUE", digits: 0),
        OutputSpec(name: "co2_tonnes", unit: "t", meaning: "energy × grid carbon intensity", digits: 0),
    ]

    /// Per-phase outputs, `gpu_hours.<phase name>`, in GPU-hours.
    public static let phasePrefix = "gpu_hours."

    public static func spec(_ name: String) -> OutputSpec? {
        if let s = all.first(where: { $0.name == name }) { return s }
        if name.hasPrefix(phasePrefix) { return OutputSpec(name: name, unit: "GPU-h", meaning: "GPU-hours of one phase", digits: 0) }
        return nil
    }

    public static func isKnown(_ name: String) -> Bool { spec(name) != nil }

    /// Columns a summary table shows when the experiment names none.
    public static let defaultSummary = ["step_time_s", "bubble_percent", "mfu_percent", "memory_peak_gb", "gpu_hours_total", "run_days", "cost_musd"]

    /// The default summary columns that some of `rows` have.
    public static func defaultSummary(for rows: [ResultRow]) -> [String] {
        defaultSummary.filter { name in rows.contains { $0.outputs.contains { $0.name == name } } }
    }
}
