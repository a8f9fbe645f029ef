import ConfigIO
import CostModel
import Foundation
import Schedules

/// One phase of a training run.
public struct RunPhase: Sendable, Equatable {
    public enum Length: Sendable, Equatable {
        /// A token budget, with an optional linear batch ramp (sequences) over its first tokens.
        case tokens(Double, rampFrom: Int?, rampTokens: Double)
        /// A number of steps.
        case steps(Int)
        /// Not simulated: GPU-hours given as an input (e.g. post-training, which nothing published
        /// lets us derive).
        case givenGPUHours(Double)
    }
    public var name: String
    public var length: Length
    /// Sequence length, tokens (one sequence per micro-batch per GPU).
    public var sequenceLength: Int
    /// Global batch, sequences.
    public var batch: Int
    /// The phase's own parallel plan, when it differs from the experiment's (nil: inherit).
    public var plan: PlanOverride?
    /// Tokens per micro-batch when a fixed-step phase's sequences are split (nil: llmsim picks
    /// the split with the shortest step among those that fit in memory).
    public var chunkTokens: Int?

    /// The most steps a phase may take: 100 million, about 400 times DeepSeek-V3's
    /// pre-training (243K steps) — a bound on the simulation's loop and on integer token
    /// counts, far above any real run; a budget beyond it is almost surely a unit slip.
    public static let maxSteps = 100_000_000

    /// Pipeline, expert, tensor and context parallelism and schedule of one phase.
    public struct PlanOverride: Sendable, Equatable {
        public var pp: Int?, ep: Int?, tp: Int?, cp: Int?
        /// Expert-TP (`StepConfiguration.etp`).
        public var etp: Int?
        public var schedule: ScheduleKind?
        /// Where the phase's plan is written (file, line, key), for the error when it turns out
        /// impossible on the experiment's cluster (nil: no file).
        public var origin: ConfigError?
        public init(pp: Int? = nil, ep: Int? = nil, tp: Int? = nil, cp: Int? = nil, etp: Int? = nil, schedule: ScheduleKind? = nil) {
            self.pp = pp; self.ep = ep; self.tp = tp; self.cp = cp; self.etp = etp; self.schedule = schedule
        }
    }

    public init(name: String, length: Length, sequenceLength: Int, batch: Int, plan: PlanOverride? = nil, chunkTokens: Int? = nil) {
        self.name = name; self.length = length; self.sequenceLength = sequenceLength; self.batch = batch; self.plan = plan
        self.chunkTokens = chunkTokens
    }
}

/// Prices, energy and carbon factors of a run; each default has its source.
public struct RunEconomics: Sendable, Equatable, Codable {
    /// USD per GPU-hour: $2 per H800 GPU-hour (V3 report Table 1 caption).
    public var pricePerGPUHour = 2.0
    /// Power usage effectiveness: 1.3, a new facility (hardware.md §6.3, Uptime Institute).
    public var pue = 1.3
    /// kg CO₂ per kWh: 0.537, China's grid (hardware.md §6.3, MEE 2022).
    public var gridKgPerKWh = 0.537
    public init() {}
}

/// What a phase cost.
public struct PhaseResult: Sendable, Codable, Equatable {
    public var name: String
    public var tokens: Double
    public var steps: Int
    public var gpuHours: Double
    public var wallDays: Double
    /// Distinct step shapes simulated and how they were scheduled.
    public var distinctSteps: Int
    /// Peak memory per GPU of the phase's full-batch step (its micro-batch size, schedule and
    /// cached prefix keys), bytes; 0 for a given phase.
    public var memoryPeakBytes: Double
    public var memoryFits: Bool
    public var note: String
}

/// A training run as a list of phases, each priced by simulating its distinct steps (steps with
/// the same shape cost the same) and summing.
public struct TrainingRun {
    public let base: StepConfiguration
    public let calibration: KernelCalibration
    public let routingCache: RoutingCache

    public init(base: StepConfiguration, calibration: KernelCalibration, routingCache: RoutingCache = RoutingCache()) {
        self.base = base
        self.calibration = calibration
        self.routingCache = routingCache
    }

    /// Batch sizes are kept to multiples of this many sequences so every pipeline gets an even
    /// number of micro-batches (DualPipe's rule).
    func quantum(_ c: StepConfiguration) -> Int { 2 * c.dp }

    public func price(_ phase: RunPhase) throws -> PhaseResult {
        if case .givenGPUHours(let h) = phase.length {
            return PhaseResult(name: phase.name, tokens: 0, steps: 0, gpuHours: h, wallDays: h / Double(base.gpus) / 24,
                               distinctSteps: 0, memoryPeakBytes: 0, memoryFits: true, note: "given as an input, not simulated")
        }
        var notes: Set<String> = [], fallback: Set<Int> = []
        var config = base
        // Sequences no longer than the base plan's micro-batch are packed as many to a
        // micro-batch as keep its token count (whose activations are known to fit).
        config.microbatchSequences = max(1, base.microbatchTokens / phase.sequenceLength)
        config.microbatchTokens = phase.sequenceLength * config.microbatchSequences
        if let plan = phase.plan {
            config.pp = plan.pp ?? config.pp
            config.ep = plan.ep ?? config.ep
            config.tp = plan.tp ?? config.tp
            config.cp = plan.cp ?? config.cp
            config.etp = plan.etp ?? config.etp
            config.schedule = plan.schedule ?? config.schedule
            do { try config.validate() } catch let e as ScheduleError {
                var error = plan.origin ?? ConfigError(key: "run.phases", problem: "")
                (error.problem, error.fix, error.infeasible) = ("phase '\(phase.name)': \(e.problem)", e.fix, true)
                throw error
            }
            notes.insert("own plan: PP \(config.pp), EP \(config.ep)\(config.etp > 1 ? ", expert-TP \(config.etp)" : ""), TP \(config.tp)\(config.cp > 1 ? ", CP \(config.cp)" : ""), \(config.schedule.rawValue), DP \(config.dp)")
        }
        // Sequences longer than the base plan's micro-batch (long-context phases): split each
        // sequence into `chunks` micro-batches that attend to the cached prefix (token-level
        // pipelining, Seq1F1B), halving until a micro-batch holds no more tokens than the base
        // plan's — whose activations are known to fit. The average chunk attends to
        // (L + L/chunks)/2 keys, so the attention FLOPs of a sequence are unchanged. A
        // sequence's chunks stay in one pipeline and are backpropagated last first, which
        // DualPipe and interleaving cannot do: such a plan runs the phase with ZB1P in that
        // order. Only for fixed-batch phases, and not under context parallelism, which splits
        // each whole sequence over the CP group instead.
        var chunks = 1
        var chunked = false
        if case .steps = phase.length { chunked = config.cp == 1 && phase.sequenceLength > base.microbatchTokens }
        if let pinned = phase.chunkTokens {
            chunks = phase.sequenceLength / pinned
            chunked = false     // the user's split: neither halved to fit nor searched
        } else if chunked {
            while phase.sequenceLength % (chunks * 2) == 0, phase.sequenceLength / chunks > base.microbatchTokens { chunks *= 2 }
        }
        if chunks > 1, !config.schedule.runsSequenceChunks {
            notes.insert("\(config.schedule.rawValue) backpropagates micro-batches first in, first out, but a chunk's backward needs the key and value gradients of every later chunk of its sequence: the phase runs ZB1P with each sequence's chunks backpropagated last first (Seq1F1B order; assumption)")
            config.schedule = .zb1p
        }
        /// The phase's configuration, simulation and plan (with its memory) at `chunks`
        /// micro-batches per sequence.
        func prepare(_ config: StepConfiguration, _ chunks: Int) throws -> (config: StepConfiguration, simulation: StepSimulation, plan: StepSimulation.StagePlan) {
            var config = config
            let fullBatch = Self.microbatches(sequences: phase.batch, chunks: chunks, dp: config.batchPipelines, perMicrobatch: config.microbatchSequences)
            if chunks > 1 {
                config.microbatchSequences = 1
                config.microbatchTokens = phase.sequenceLength / chunks
                config.attentionKeys = (phase.sequenceLength + config.microbatchTokens) / 2
                config.sequenceChunks = chunks
                config.microbatches = fullBatch
            }
            let simulation = try StepSimulation(config: config, calibration: calibration, routingCache: routingCache)
            var full = config
            full.microbatches = fullBatch
            full.schedule = Self.schedule(config, microbatches: full.microbatches)
            return (config, simulation, try simulation.plan(memoryConfig: full))
        }
        /// Whether the chunks can be halved again without going below `minimumChunkTokens`.
        func canHalve(_ chunks: Int) -> Bool {
            phase.sequenceLength % (chunks * 2) == 0 && phase.sequenceLength / (chunks * 2) >= Self.minimumChunkTokens
        }
        /// The split of a long sequence for `config`, from `chunks` micro-batches per sequence:
        /// halved further while the activations and the cached prefix keys do not fit, down to
        /// `minimumChunkTokens`; then, of the splits that fit, the one with the shortest
        /// full-batch step (smaller chunks shrink the fill and drain relative to the work and may
        /// need no layers moved for memory; larger ones run larger, more efficient kernels),
        /// halving while the step gets shorter.
        func split(_ config: StepConfiguration, from start: Int) throws -> (config: StepConfiguration, simulation: StepSimulation, plan: StepSimulation.StagePlan) {
            var chunks = start
            var (prepared, simulation, plan) = try prepare(config, chunks)
            while chunked, !plan.memory.fits, canHalve(chunks) {
                chunks *= 2
                (prepared, simulation, plan) = try prepare(config, chunks)
            }
            guard chunked, plan.memory.fits else { return (prepared, simulation, plan) }
            /// A split's full-batch step (a split's configuration holds the full batch's micro-batches).
            func fullBatchStep(_ c: StepConfiguration, _ s: StepSimulation, _ p: StepSimulation.StagePlan) throws -> Double {
                try s.run(microbatches: c.microbatches, plan: p, schedule: Self.schedule(c, microbatches: c.microbatches)).stepTimeS
            }
            var best = try fullBatchStep(prepared, simulation, plan)
            while canHalve(chunks) {
                let candidate = try prepare(config, chunks * 2)
                guard candidate.plan.memory.fits else { break }
                let time = try fullBatchStep(candidate.config, candidate.simulation, candidate.plan)
                guard time < best else { break }
                best = time
                chunks *= 2
                (prepared, simulation, plan) = candidate
            }
            return (prepared, simulation, plan)
        }
        var (prepared, simulation, plan) = try split(config, from: chunks)
        // A split sequence is held whole on every stage until its last chunk's backward, so at
        // 128K no split fits with the selective recomputation: recompute every layer in the
        // backward instead, as long-context training commonly does.
        if prepared.sequenceChunks > 1, !plan.memory.fits, config.effectiveRecompute != .full {
            var full = config
            full.recompute = .full
            let retry = try split(full, from: chunks)
            if retry.plan.memory.fits {
                (prepared, simulation, plan) = retry
                notes.insert("no split fits with \(config.effectiveRecompute.rawValue) recomputation: the phase recomputes every layer in the backward (full recomputation; assumption)")
            }
        }
        chunks = prepared.sequenceChunks
        config = prepared
        let memory = plan.memory
        if chunks > 1 {
            let why = phase.chunkTokens == nil
                ? "assumption: of the power-of-two splits into at most the pre-training micro-batch that fit in memory, the one with the shortest step; chunk_tokens pins it"
                : "as chunk_tokens asks"
            notes.insert("each \(phase.sequenceLength)-token sequence is split into \(chunks) micro-batches of \(config.microbatchTokens) tokens attending to the cached prefix (\(why))")
        }
        if let moved = plan.movedForMemory {
            notes.insert("layers per stage \(StagePartition.runLengths(plan.stageLayers)): moved off the load balance (\(StagePartition.runLengths(moved.fastest)), \(String(format: "%.1f", moved.peakBytes / 1e9)) GB) to fit in memory")
        }
        if !memory.fits {
            notes.insert("does NOT fit in memory at the full batch: \(String(format: "%.1f", memory.peakBytesPerGpu / 1e9)) GB > \(String(format: "%.1f", memory.capacityBytes / 1e9)) GB (largest term: \(memory.largestTerm))")
        }
        var cache: [Int: Double] = [:]
        func stepTime(sequences: Int) throws -> Double {
            let n = Self.microbatches(sequences: sequences, chunks: chunks, dp: config.batchPipelines, perMicrobatch: config.microbatchSequences)
            if let hit = cache[n] { return hit }
            let kind = Self.schedule(config, microbatches: n)
            if kind != config.schedule { fallback.insert(n) }
            if sequences < config.dp {
                notes.insert("a batch of \(sequences) sequences leaves \(config.dp - sequences) of the DP \(config.dp) pipelines idle (charged all the same)")
            } else if sequences % config.dp != 0 {
                notes.insert("\(sequences) sequences do not divide evenly over DP \(config.dp): pipelines run \(n) micro-batch\(n == 1 ? "" : "es"), some partly idle")
            }
            let r = try simulation.run(microbatches: n, plan: plan, schedule: kind)
            cache[n] = r.stepTimeS
            return r.stepTimeS
        }
        var seconds = 0.0, steps = 0, tokens = 0.0
        let tokensPerSequence = Double(phase.sequenceLength)
        switch phase.length {
        case .steps(let n):
            seconds = Double(n) * (try stepTime(sequences: phase.batch))
            steps = n
            tokens = Double(n) * Double(phase.batch) * tokensPerSequence
        case .tokens(let budget, let rampFrom, let rampTokens):
            if let from = rampFrom, rampTokens > 0 {
                // Linear in tokens from `from` to the full batch, rounded down to the quantum.
                let q = quantum(config)
                while tokens < min(rampTokens, budget) {
                    let exact = Double(from) + Double(phase.batch - from) * tokens / rampTokens
                    let b = max(from, Int(exact) / q * q)
                    seconds += try stepTime(sequences: b)
                    tokens += Double(b) * tokensPerSequence
                    steps += 1
                }
                notes.insert("batch ramp \(from) → \(phase.batch) sequences, linear in tokens over \(Self.format(rampTokens)) tokens, in steps of \(q)")
            }
            let perStep = Double(phase.batch) * tokensPerSequence
            let rest = max(0, Int(((budget - tokens) / perStep).rounded(.up)))
            seconds += Double(rest) * (try stepTime(sequences: phase.batch))
            steps += rest
            tokens += Double(rest) * perStep
        case .givenGPUHours: break
        }
        if !fallback.isEmpty {
            notes.insert("steps with \(fallback.sorted().map(String.init).joined(separator: ", ")) micro-batches per pipeline are below DualPipe's minimum (2 × ranks, even) and use ZB1P")
        }
        let gpuHours = seconds * Double(config.gpus) / 3600
        return PhaseResult(name: phase.name, tokens: tokens, steps: steps, gpuHours: gpuHours, wallDays: seconds / 86_400,
                           distinctSteps: cache.count, memoryPeakBytes: memory.peakBytesPerGpu, memoryFits: memory.fits,
                           note: notes.sorted().joined(separator: "; "))
    }

    /// The smallest micro-batch a long sequence is split into, tokens: a floor for the search,
    /// not a physical limit. Halving a chunk halves its activations but not the cached prefix
    /// keys it attends to, so below a few hundred tokens splitting stops helping a plan fit (at
    /// 512 tokens a 128K sequence is already 256 micro-batches).
    static let minimumChunkTokens = 512

    static func isDualPipe(_ kind: ScheduleKind) -> Bool { kind == .dualpipe || kind == .dualpipev }

    /// The schedule a step with `n` micro-batches per pipeline runs: the plan's, except that
    /// DualPipe(V) falls back to ZB1P where its rules (`ScheduleKind.checkPlan`: an even count
    /// of at least 2 × ranks) refuse `n`.
    static func schedule(_ c: StepConfiguration, microbatches n: Int) -> ScheduleKind {
        guard isDualPipe(c.schedule), (try? c.schedule.checkPlan(pp: c.pp, microbatches: n, sequenceChunks: c.sequenceChunks)) == nil else { return c.schedule }
        return .zb1p
    }

    /// Micro-batches per pipeline for `sequences` sequences of `chunks` micro-batches each
    /// (or `perMicrobatch` sequences to a micro-batch) over `dp` pipelines: whole sequences
    /// per pipeline (a sequence's chunks share its cached prefix), the busiest pipeline's
    /// count; unsplit micro-batches are rounded up to an even count (DualPipe's rule; harmless
    /// for the others).
    static func microbatches(sequences: Int, chunks: Int, dp: Int, perMicrobatch: Int = 1) -> Int {
        let perPipeline = max(1, (sequences + dp - 1) / dp)
        if chunks > 1 { return perPipeline * chunks }
        let n = (perPipeline + perMicrobatch - 1) / perMicrobatch
        return n % 2 == 0 || n == 1 ? n : n + 1
    }

    static func format(_ x: Double) -> String {
        x >= 1e12 ? String(format: "%.2fT", x / 1e12) : x >= 1e9 ? String(format: "%.0fB", x / 1e9) : String(format: "%.0f", x)
    }
}
