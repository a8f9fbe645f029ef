import ConfigIO
import Schedules

/// Reads the `run:` section of an experiment file (strict).
///
/// ```yaml
/// run:
///   phases:
///     - {name: pre-training, tokens: 14.8e12, seq_len: 4096, batch: 15360, ramp_from: 3072, ramp_tokens: 469e9}
///     - {name: context-32k, steps: 1000, seq_len: 32768, batch: 1920}   # chunk_tokens: 4096 pins the split
///     - {name: post-training, gpu_hours: 5000}
///   price_per_gpu_hour_usd: 2.0
///   pue: 1.3
///   grid_kg_co2_per_kwh: 0.537
/// ```
public enum RunExperiment {
    static let runKeys = ["phases", "price_per_gpu_hour_usd", "pue", "grid_kg_co2_per_kwh", "overheads"]
    static let phaseKeys = ["name", "tokens", "steps", "gpu_hours", "seq_len", "batch", "ramp_from", "ramp_tokens", "parallel", "schedule", "chunk_tokens"]

    /// The optional `run.overheads` section (nil when absent: no overheads, as published).
    public static func overheads(path: String) throws -> RunOverheads? {
        try overheads(try ConfigDocument.load(path: path))
    }

    public static func overheads(_ root: ConfigValue) throws -> RunOverheads? {
        return try root.optional("run")?.optional("overheads").map { try RunOverheads.parse($0) }
    }

    public static func load(path: String) throws -> (phases: [RunPhase], economics: RunEconomics) {
        try parse(try ConfigDocument.load(path: path))
    }

    /// Whether the document has a `run:` section.
    public static func hasRun(_ root: ConfigValue) throws -> Bool { try root.optional("run") != nil }

    public static func parse(_ root: ConfigValue) throws -> (phases: [RunPhase], economics: RunEconomics) {
        guard let run = try root.optional("run") else {
            throw root.error("the experiment has no 'run:' section", fix: "add run: {phases: [...]} (see Experiments/deepseek-v3.yaml)")
        }
        try run.requireKnownKeys(runKeys)
        var economics = RunEconomics()
        economics.pricePerGPUHour = try run.positiveDouble("price_per_gpu_hour_usd", default: economics.pricePerGPUHour, allowZero: true)
        economics.pue = try run.positiveDouble("pue", default: economics.pue)
        economics.gridKgPerKWh = try run.positiveDouble("grid_kg_co2_per_kwh", default: economics.gridKgPerKWh, allowZero: true)
        if economics.pue < 1 { throw try run.required("pue").error("PUE must be at least 1, got \(economics.pue)") }
        let phaseList = try run.required("phases"), phaseValues = try phaseList.elements()
        guard !phaseValues.isEmpty else {
            throw phaseList.error("the run has no phases", fix: "give at least one phase, e.g. - {name: pre-training, tokens: 1e12, seq_len: 4096, batch: 1024}")
        }
        var names: Set<String> = []
        let phases = try phaseValues.map { p -> RunPhase in
            try p.requireKnownKeys(phaseKeys)
            let name = try p.required("name").string()
            // Reports, the results database and the published comparison know a phase by its name.
            guard names.insert(name).inserted else {
                throw try p.required("name").error("two phases are named '\(name)'", fix: "give each phase its own name")
            }
            let lengths = try ["tokens", "steps", "gpu_hours"].filter { try p.optional($0) != nil }
            guard lengths.count == 1 else {
                throw p.error("phase '\(name)' needs exactly one of tokens, steps or gpu_hours, found \(lengths.isEmpty ? "none" : lengths.joined(separator: ", "))",
                              fix: "give tokens (with seq_len and batch), steps (with seq_len and batch), or gpu_hours")
            }
            if lengths[0] == "gpu_hours" {
                return RunPhase(name: name, length: .givenGPUHours(try p.positiveDouble("gpu_hours", allowZero: true)), sequenceLength: 1, batch: 1)
            }
            let seq = try p.positiveInt("seq_len"), batch = try p.positiveInt("batch")
            var plan: RunPhase.PlanOverride?
            if let parallel = try p.optional("parallel") {
                try parallel.requireKnownKeys(["pp", "ep", "etp", "tp", "cp"])
                plan = RunPhase.PlanOverride(pp: try parallel.positiveIntIfPresent("pp"), ep: try parallel.positiveIntIfPresent("ep"),
                                             tp: try parallel.positiveIntIfPresent("tp"), cp: try parallel.positiveIntIfPresent("cp"),
                                             etp: try parallel.positiveIntIfPresent("etp"))
                plan?.origin = parallel.error("")
            }
            if let schedule = try p.choiceIfPresent("schedule", ScheduleKind.self) {
                if plan == nil { plan = RunPhase.PlanOverride(); plan?.origin = try p.required("schedule").error("") }
                plan?.schedule = schedule
            }
            let chunkTokens = try p.positiveIntIfPresent("chunk_tokens")
            if let chunkTokens {
                guard lengths[0] == "steps" else {
                    throw try p.required("chunk_tokens").error("chunk_tokens applies to fixed-step phases, where long sequences are split into micro-batches",
                                                             fix: "give the phase steps: instead of tokens:, or drop chunk_tokens")
                }
                guard chunkTokens <= seq, seq % chunkTokens == 0 else {
                    throw try p.required("chunk_tokens").error("chunk_tokens \(chunkTokens) does not divide seq_len \(seq) into whole micro-batches",
                                                             fix: "use a divisor of \(seq), e.g. \(seq >= 4096 && seq % 4096 == 0 ? 4096 : seq)")
                }
            }
            let maxSteps = RunPhase.maxSteps
            if lengths[0] == "steps" {
                let steps = try p.positiveInt("steps")
                guard steps <= maxSteps else {
                    throw try p.required("steps").error("phase '\(name)' has \(steps) steps, more than the \(maxSteps) llmsim simulates",
                                                      fix: "give at most \(maxSteps) steps")
                }
                return RunPhase(name: name, length: .steps(steps), sequenceLength: seq, batch: batch, plan: plan, chunkTokens: chunkTokens)
            }
            let rampFrom = try p.positiveIntIfPresent("ramp_from")
            if let rampFrom, rampFrom > batch { throw try p.required("ramp_from").error("the ramp starts above the final batch (\(rampFrom) > \(batch))") }
            let budget = try p.positiveDouble("tokens"), rampTokens = try p.positiveDouble("ramp_tokens", default: 0, allowZero: true)
            // Steps at the full batch, plus at most the ramp's tokens at its smallest batch.
            let steps = budget / (Double(batch) * Double(seq)) + (rampFrom.map { min(rampTokens, budget) / (Double($0) * Double(seq)) } ?? 0)
            guard steps <= Double(maxSteps) else {
                throw try p.required("tokens").error(String(format: "phase '%@' would take about %.3g steps (tokens ÷ (batch × seq_len)), more than the %d llmsim simulates", name, steps, maxSteps),
                                                   fix: "check the budget's units (14.8T tokens is 14.8e12) and the batch")
            }
            return RunPhase(name: name, length: .tokens(budget, rampFrom: rampFrom, rampTokens: rampTokens),
                            sequenceLength: seq, batch: batch, plan: plan)
        }
        return (phases, economics)
    }
}
