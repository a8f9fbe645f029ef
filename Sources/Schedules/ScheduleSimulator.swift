import SimCore

/// Durations of the pipeline ops of one stage, seconds (any consistent unit works).
public struct OpDurations: Sendable, Codable, Equatable {
    /// Forward of one micro-batch on one stage.
    public var forward: Double
    /// Full backward (inputs and weights).
    public var backward: Double
    /// The weight part of the backward (W); the input part is `backward − weight`.
    public var weight: Double
    /// A forward and a full backward run overlapped (DualPipe's F&B).
    public var forwardBackward: Double
    /// Time for this stage's output activation (or input gradient) to cross to the adjacent
    /// stage when that stage is on another rank (pipeline-parallel send). Who waits for it is
    /// the framework's choice (`PipelineSends`).
    public var transfer: Double

    public init(forward: Double, backward: Double, weight: Double, forwardBackward: Double, transfer: Double = 0) {
        self.forward = forward; self.backward = backward; self.weight = weight; self.forwardBackward = forwardBackward
        self.transfer = transfer
    }

    func validate() throws {
        for (name, x) in [("--f", forward), ("--b", backward), ("--w", weight), ("--fb", forwardBackward), ("--transfer", transfer)] where !(x >= 0 && x.isFinite) {
            throw ScheduleError(problem: "\(name) must be a finite duration >= 0, got \(x)", fix: "give seconds (or any unit) >= 0")
        }
        if weight > backward {
            throw ScheduleError(problem: "W (\(weight)) exceeds the full backward B (\(backward))", fix: "W is the weight part of B: W <= B")
        }
    }
}

/// One executed instruction, for timelines.
public struct ScheduleSegment: Sendable, Codable, Equatable {
    public var rank: Int
    public var start: Double
    public var end: Double
    /// F, B, Bi, W or F&B.
    public var label: String
    public var microbatch: Int
    /// The stage of each op of the instruction (F&B: the forward's, then the backward's).
    public var stages: [Int] = []

    public init(rank: Int, start: Double, end: Double, label: String, microbatch: Int, stages: [Int] = []) {
        self.rank = rank; self.start = start; self.end = end; self.label = label; self.microbatch = microbatch; self.stages = stages
    }
}

/// The parts of a rank's data-parallel optimizer step as timeline segments after its pipeline work
/// (their labels; micro-batch −1).
public enum OptimizerPart: String, CaseIterable, Sendable {
    case reduceScatter = "RS", allReduce = "AR", gradientNorm = "norm", update = "AdamW", allGather = "AG"

    /// Runs on the communication stream (the collectives) rather than the compute stream.
    public var isCommunication: Bool { self != .update && self != .gradientNorm }
    /// Its name in a legend.
    public var name: String {
        switch self {
        case .reduceScatter: return "reduce-scatter"
        case .allReduce: return "gradient all-reduce"
        case .gradientNorm: return "gradient norm"
        case .update: return "AdamW"
        case .allGather: return "all-gather"
        }
    }
}

/// The outcome of running a schedule.
public struct ScheduleResult: Sendable, Codable, Equatable {
    public var makespan: Double
    public var busyPerRank: [Double]
    /// Idle time of each rank between time 0 and the makespan.
    public var bubblePerRank: [Double]
    public var maxBubble: Double
    /// Peak micro-batches whose activations a rank holds, in units of one of PP stages.
    public var peakInflightMicrobatchesPerRank: [Double]
    public var parameterCopies: Double
    public var segments: [ScheduleSegment]
    /// When each rank is done with the pipeline: its last instruction's end, or under batched
    /// sends the completion of the sends it issues after it.
    public var pipelineEndPerRank: [Double]
}

/// Executes a schedule on the discrete-event engine: each rank runs its instructions in order,
/// an instruction starting as soon as the rank is free and every op's inputs have arrived.
/// Cross-rank inputs cross in `transfer` seconds: under batched sends (the default) at the
/// boundaries where sender and receiver both issued them, which both wait for
/// (`BatchedSends`); under overlapped sends as soon as the producer finishes, the receiver
/// alone waiting. With zero transfers the published bubble formulas hold under both. Bubbles
/// come out of the run.
///
/// Dependencies: F(s, m) after F(s−1, m); a backward of (s, m) after F(s, m) and after the
/// input gradient of (s+1, m) (a B or Bi there), and, when m is a chunk of a longer sequence,
/// after the backward of (s, m+1), its next chunk; W(s, m) after Bi(s, m).
public struct ScheduleSimulator {
    /// How the ranks issue their sends and receives (nil: as the schedule's reference
    /// implementation does, `ScheduleKind.defaultSends`).
    public var sends: PipelineSends?

    public init(sends: PipelineSends? = nil) { self.sends = sends }

    struct Runner: EventHandler {
        let schedule: PipelineSchedule
        /// Durations of each stage of each pipeline, `[pipeline][stage]`.
        let durations: [[OpDurations]]
        /// Per rank and instruction, the factor its duration is multiplied by (nil: 1).
        let instructionScale: [[Double]]?
        /// Activation held per in-flight micro-batch of each stage (default: the stage size).
        let activationWeight: [Double]
        var next: [Int]
        /// Completion times of forwards and input gradients, and whether the input backward
        /// ran, per (pipeline, stage, micro-batch) at `slot(_:)`; `SimTime.never` until done.
        var forwardDone: [SimTime], gradientReady: [SimTime]
        var inputBackwardDone: [Bool]
        /// Rank holding each (pipeline, stage), at `pipeline × stages + stage`.
        var rankOf: [Int]
        var busyTime: [Double]
        var inflight: [Double], peak: [Double]
        var segments: [ScheduleSegment] = []
        var running: [(start: SimTime, instruction: PipelineInstruction)?]
        var waking: [Bool]
        /// Batched sends' bookkeeping (nil under overlapped sends).
        var book: BatchedSends?
        /// Per rank: when it reached its current boundary, whether it is done, and when.
        var boundaryTime: [SimTime], finished: [Bool], pipelineEnd: [SimTime]

        init(_ s: PipelineSchedule, _ d: [[OpDurations]], activationWeight w: [Double]?, instructionScale: [[Double]]?, sends: PipelineSends) {
            schedule = s; durations = d; self.instructionScale = instructionScale
            activationWeight = w ?? Array(repeating: s.stageSize, count: s.stagesPerPipeline)
            next = Array(repeating: 0, count: s.ranks)
            busyTime = Array(repeating: 0, count: s.ranks)
            inflight = busyTime; peak = busyTime
            running = Array(repeating: nil, count: s.ranks)
            waking = Array(repeating: false, count: s.ranks)
            let slots = s.pipelines * s.stagesPerPipeline * s.microbatchesPerPipeline
            forwardDone = Array(repeating: .never, count: slots)
            gradientReady = forwardDone
            inputBackwardDone = Array(repeating: false, count: slots)
            rankOf = Array(repeating: -1, count: s.pipelines * s.stagesPerPipeline)
            for (r, list) in s.program.enumerated() {
                for i in list { for op in i.ops { rankOf[op.pipeline * s.stagesPerPipeline + op.stage] = r } }
            }
            boundaryTime = Array(repeating: .zero, count: s.ranks)
            finished = Array(repeating: false, count: s.ranks)
            pipelineEnd = boundaryTime
            if sends == .batched {
                book = BatchedSends(s, rankOf: rankOf, durations: d)
                for r in 0..<s.ranks { book!.issue(rank: r, boundary: 0, at: .zero) }
            }
        }

        /// The index of (pipeline, stage, micro-batch) in the completion arrays.
        @inline(__always) func slot(pipeline: Int, stage: Int, microbatch: Int) -> Int {
            schedule.slot(pipeline: pipeline, stage: stage, microbatch: microbatch)
        }

        /// When the output of (`pipeline`, `stage`), finished at `done`, is usable on `rank`
        /// (under batched sends the boundaries' messages carry the transfer).
        func arrival(pipeline: Int, stage: Int, done: SimTime, on rank: Int) -> SimTime {
            book != nil || rankOf[pipeline * schedule.stagesPerPipeline + stage] == rank ? done : done + .seconds(durations[pipeline][stage].transfer)
        }

        /// nil when a dependency has not finished; otherwise when the last input arrives.
        func readyTime(_ op: PipelineOp, rank: Int) -> SimTime? {
            let k = slot(pipeline: op.pipeline, stage: op.stage, microbatch: op.microbatch)
            switch op.kind {
            case .forward:
                if op.stage == 0 { return .zero }
                let up = forwardDone[k - schedule.microbatchesPerPipeline]
                return up == .never ? nil : arrival(pipeline: op.pipeline, stage: op.stage - 1, done: up, on: rank)
            case .backward, .backwardInput:
                let own = forwardDone[k]
                guard own != .never else { return nil }
                // A sequence's chunk waits for the key and value gradients of the next chunk.
                if schedule.sequenceChunks > 1, (op.microbatch + 1) % schedule.sequenceChunks != 0, gradientReady[k + 1] == .never { return nil }
                if op.stage == schedule.stagesPerPipeline - 1 { return own }
                let down = gradientReady[k + schedule.microbatchesPerPipeline]
                return down == .never ? nil : max(own, arrival(pipeline: op.pipeline, stage: op.stage + 1, done: down, on: rank))
            case .backwardWeight:
                return inputBackwardDone[k] ? .zero : nil
            }
        }

        /// Instruction `index` of rank `r`'s program: its duration, times its factor.
        func duration(rank r: Int, index: Int) -> Double {
            duration(schedule.program[r][index]) * (instructionScale?[r][index] ?? 1)
        }

        func duration(_ i: PipelineInstruction) -> Double {
            ScheduleSimulator.duration(of: i, stageSize: schedule.stageSize) { durations[$0.pipeline][$0.stage] }
        }

        /// Starts every rank among `ranks` (all when nil) that is idle and whose next
        /// instruction's inputs have arrived, and wakes those whose inputs arrive later.
        /// Ranks are tried in ascending order, so events of one instant are queued in rank order.
        mutating func tryStart(_ engine: Engine, ranks candidates: [Int]? = nil) {
            for r in candidates ?? Array(0..<schedule.ranks) where running[r] == nil && !finished[r] {
                var at = boundaryTime[r]
                if let book {
                    guard let sent = book.completed(rank: r, boundary: next[r]) else { continue }
                    at = max(at, sent)
                }
                let instruction = next[r] < schedule.program[r].count ? schedule.program[r][next[r]] : nil   // nil: the last boundary
                if let instruction {
                    let times = instruction.ops.map { readyTime($0, rank: r) }
                    guard times.allSatisfy({ $0 != nil }) else { continue }
                    at = max(at, times.map { $0! }.max()!)
                }
                if at > engine.now {
                    if !waking[r] { waking[r] = true; engine.schedule(at: at, kind: 1, target: Int32(r)) }
                    continue
                }
                guard let instruction else {
                    finished[r] = true
                    pipelineEnd[r] = at
                    continue
                }
                let d = duration(rank: r, index: next[r])
                next[r] += 1
                for op in instruction.ops where op.kind == .forward {
                    inflight[r] += activationWeight[op.stage]
                    peak[r] = max(peak[r], inflight[r])
                }
                running[r] = (engine.now, instruction)
                engine.schedule(after: .seconds(d), kind: 0, target: Int32(r))
            }
        }

        mutating func handle(_ event: Event, engine: Engine) {
            let r = Int(event.target)
            if event.kind == 1 {            // an input arrived: try again
                waking[r] = false
                tryStart(engine, ranks: [r])
                return
            }
            guard let (start, instruction) = running[r] else { return }
            running[r] = nil
            busyTime[r] += (engine.now - start).seconds
            for op in instruction.ops {
                let k = slot(pipeline: op.pipeline, stage: op.stage, microbatch: op.microbatch)
                switch op.kind {
                case .forward: forwardDone[k] = engine.now
                case .backward: gradientReady[k] = engine.now; inflight[r] -= activationWeight[op.stage]
                case .backwardInput: gradientReady[k] = engine.now; inputBackwardDone[k] = true
                case .backwardWeight: inflight[r] -= activationWeight[op.stage]
                }
            }
            let label = instruction.isOverlapped ? "F&B" : instruction.ops[0].kind.rawValue
            segments.append(ScheduleSegment(rank: r, start: start.seconds, end: engine.now.seconds, label: label,
                                            microbatch: instruction.ops[0].microbatch + instruction.ops[0].pipeline * schedule.microbatchesPerPipeline,
                                            stages: instruction.ops.map(\.stage)))
            boundaryTime[r] = engine.now
            book?.issue(rank: r, boundary: next[r], at: engine.now)
            tryStart(engine, ranks: affected(by: instruction, on: r))
        }

        /// The ranks whose next instruction may have become ready when `instruction` finished on
        /// rank `r`: `r` itself (its next instruction, its own backward and weight work), the
        /// ranks of the neighbouring stages that consume the outputs (a forward's activation,
        /// a backward's input gradient), and under batched sends the other sides of the
        /// messages `r` just issued. Other ranks' inputs did not change, so trying only these
        /// (instead of every rank after every event: O(ranks) per event, 28 s for PP 1,024)
        /// starts the same instructions in the same order.
        func affected(by instruction: PipelineInstruction, on r: Int) -> [Int] {
            var ranks: Set<Int> = [r]
            let stages = schedule.stagesPerPipeline
            for op in instruction.ops {
                let consumer = op.kind == .forward ? op.stage + 1 : op.stage - 1
                if op.kind != .backwardWeight, consumer >= 0, consumer < stages { ranks.insert(rankOf[op.pipeline * stages + consumer]) }
            }
            if let book { for k in book.boundaries[r][next[r]] { ranks.insert(book.sender[k] == r ? book.receiver[k] : book.sender[k]) } }
            return ranks.sorted()
        }
    }

    /// The most seconds all of a schedule's instructions and transfers may add up to: 100
    /// days, inside the ±106 days of `SimTime`'s picoseconds (a step lasts seconds to
    /// minutes; more is a unit slip, which would otherwise overflow the clock).
    public static let maxSerialSeconds = 100 * 86_400.0

    /// The duration of instruction `i` when each of its ops runs with `durations(op)`, in the
    /// schedule's stage units (`stageSize`). An overlapped pair of two different stages takes
    /// the mean of the two stages' own F&B times (each F&B time is measured for a stage
    /// overlapping with itself); B_input is the full backward less its weight part.
    public static func duration(of i: PipelineInstruction, stageSize scale: Double, durations d: (PipelineOp) -> OpDurations) -> Double {
        if i.isOverlapped { return (d(i.ops[0]).forwardBackward + d(i.ops[1]).forwardBackward) / 2 * scale }
        let x = d(i.ops[0])
        switch i.ops[0].kind {
        case .forward: return x.forward * scale
        case .backward: return x.backward * scale
        case .backwardInput: return (x.backward - x.weight) * scale
        case .backwardWeight: return x.weight * scale
        }
    }

    /// Runs with the same durations on every stage (and, with `instructionScale`, each
    /// instruction's duration times its factor).
    public func run(_ schedule: PipelineSchedule, durations: OpDurations, instructionScale: [[Double]]? = nil) throws -> ScheduleResult {
        try run(schedule, stageDurations: Array(repeating: Array(repeating: durations, count: schedule.stagesPerPipeline), count: schedule.pipelines),
                instructionScale: instructionScale)
    }

    /// Runs with per-stage durations, `stageDurations[pipeline][stage]`. With `activationWeight`
    /// (one value per stage), the peak in-flight figure weighs each micro-batch by its stage's
    /// activation size (bytes, say) instead of counting stage units. With `instructionScale`
    /// (per rank, one factor per instruction of its program, each > 0), every instruction's
    /// duration is multiplied by its factor: run-to-run variation (`InstructionJitter`).
    public func run(_ schedule: PipelineSchedule, stageDurations: [[OpDurations]], activationWeight: [Double]? = nil,
                    instructionScale: [[Double]]? = nil) throws -> ScheduleResult {
        guard stageDurations.count == schedule.pipelines, stageDurations.allSatisfy({ $0.count == schedule.stagesPerPipeline }) else {
            throw ScheduleError(problem: "durations for \(stageDurations.map(\.count)) stages, the schedule has \(schedule.pipelines) × \(schedule.stagesPerPipeline)",
                                fix: "give one OpDurations per stage of each pipeline")
        }
        for row in stageDurations { for d in row { try d.validate() } }
        let engine = Engine()
        if let w = activationWeight, w.count != schedule.stagesPerPipeline {
            throw ScheduleError(problem: "\(w.count) activation weights for \(schedule.stagesPerPipeline) stages", fix: "give one per stage")
        }
        let sends = self.sends ?? schedule.kind.defaultSends
        try schedule.kind.checkSends(sends)
        if let scale = instructionScale {
            guard scale.map(\.count) == schedule.program.map(\.count) else {
                throw ScheduleError(problem: "instruction factors for \(scale.map(\.count)) instructions per rank, the schedule has \(schedule.program.map(\.count))",
                                    fix: "give one factor per instruction of each rank's program")
            }
            guard scale.allSatisfy({ $0.allSatisfy { $0 > 0 && $0.isFinite } }) else {
                throw ScheduleError(problem: "an instruction factor is not a finite number > 0", fix: "scale durations by positive factors")
            }
        }
        var runner = Runner(schedule, stageDurations, activationWeight: activationWeight, instructionScale: instructionScale, sends: sends)
        // Every instruction and transfer one after another bounds the makespan: it must fit the
        // integer clock.
        var serial = 0.0
        for (r, list) in schedule.program.enumerated() {
            for (k, i) in list.enumerated() {
                serial += runner.duration(rank: r, index: k) + i.ops.reduce(0) { $0 + 2 * stageDurations[$1.pipeline][$1.stage].transfer }
            }
        }
        guard serial < Self.maxSerialSeconds else {
            throw ScheduleError(problem: String(format: "the schedule's instructions add up to %.3g s, beyond the %.0f days one simulation's integer clock covers", serial, Self.maxSerialSeconds / 86_400),
                                fix: "check the units: a stage's forward takes milliseconds to seconds (micro-batch tokens, durations)")
        }
        runner.tryStart(engine)
        engine.run(&runner)
        for r in 0..<schedule.ranks where !runner.finished[r] {
            throw ScheduleError(problem: "the \(schedule.kind.rawValue) schedule deadlocks on rank \(r) at instruction \(runner.next[r]) (\(sends.rawValue) sends)",
                                fix: "this is a generator bug; report the --kind, --pp and --microbatches")
        }
        let makespan = (runner.pipelineEnd.max() ?? .zero).seconds
        // Busy time is a sum of seconds, the makespan integer time: a rank that is never idle
        // may come out a rounding error below zero.
        let bubbles = runner.busyTime.map { max(0, makespan - $0) }
        return ScheduleResult(makespan: makespan, busyPerRank: runner.busyTime, bubblePerRank: bubbles,
                              maxBubble: bubbles.max() ?? 0, peakInflightMicrobatchesPerRank: runner.peak,
                              parameterCopies: schedule.parameterCopies,
                              segments: runner.segments.sorted { ($0.rank, $0.start) < ($1.rank, $1.start) },
                              pipelineEndPerRank: runner.pipelineEnd.map(\.seconds))
    }
}
