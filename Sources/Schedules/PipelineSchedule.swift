/// One unit of pipeline work: a forward, a full backward, a backward for inputs only, or a
/// backward for weights, of one micro-batch on one stage of one pipeline direction.
public struct PipelineOp: Hashable, Sendable, Codable {
    public enum Kind: String, Sendable, Codable {
        case forward = "F", backward = "B", backwardInput = "Bi", backwardWeight = "W"
    }
    public var kind: Kind
    /// Pipeline direction (0; DualPipe also uses 1 for the reverse direction).
    public var pipeline: Int
    /// Position along the pipeline, 0 = first stage.
    public var stage: Int
    public var microbatch: Int
}

/// What a rank executes next: one op, or a forward and a backward run overlapped (DualPipe's
/// F&B chunk pair).
public struct PipelineInstruction: Sendable, Codable, Equatable {
    public var ops: [PipelineOp]
    /// Under batched sends (`PipelineSends.batched`): the boundary, counted in instructions
    /// after this one, at which the rank sends this instruction's outputs (1: before its next
    /// instruction; DualPipe holds some back one more).
    public var sendDelay = 1
    /// Under batched sends: how many boundaries before this one the rank issues the receive of
    /// its forward input (0: just before it; DualPipe posts some earlier).
    public var forwardReceiveLead = 0

    public init(ops: [PipelineOp], sendDelay: Int = 1, forwardReceiveLead: Int = 0) {
        self.ops = ops; self.sendDelay = sendDelay; self.forwardReceiveLead = forwardReceiveLead
    }
    public var isOverlapped: Bool { ops.count == 2 }
}

/// The schedules llmsim generates.
public enum ScheduleKind: String, Sendable, Codable, CaseIterable {
    case gpipe, oneFOneB = "1f1b", interleaved, zb1p, dualpipe, dualpipev

    /// Whether it can run sequences split into chunks across micro-batches (a sequence's
    /// backwards last chunk first; `ScheduleGenerator.make`).
    public var runsSequenceChunks: Bool { self == .gpipe || self == .oneFOneB || self == .zb1p }

    /// Copies of each stage's parameters in one pipeline: 2 for DualPipe, which runs stage s
    /// on rank s for one direction's micro-batches and on rank PP−1−s for the other's (V3
    /// report §3.2.1: DualPipe "requires keeping two copies of the model parameters"); 1 for
    /// the others (DualPipeV cuts the pipeline in half and holds each stage once).
    public var stageCopies: Int { self == .dualpipe ? 2 : 1 }

    /// Whether one rank runs both the first stage and the last (DualPipe and DualPipeV: rank 0
    /// holds stage 0 and stage PP−1), so that what the two ends share — the embedding table,
    /// which the MTP modules and a tied output head use on the last stage — is one tensor.
    public var endsShareARank: Bool { self == .dualpipe || self == .dualpipev }

    /// Whether it pairs one micro-batch's forward with another's backward on a rank by itself,
    /// so that each chunk's communication runs beside the other's compute (DualPipe and
    /// DualPipeV; the others that can, only when asked: `canPairForwardBackward`).
    public var overlapsForwardAndBackward: Bool { self == .dualpipe || self == .dualpipev }

    /// Whether `ScheduleGenerator.make(pairForwardBackward:)` can pair its steady state on `pp`
    /// ranks: interleaved 1F1B, whose steady state alternates model chunks, or 1F1B without a
    /// pipeline. 1F1B on several ranks is not paired: each backward would wait for the pair
    /// ahead of it on every later rank, a whole pair per stage instead of a backward.
    public func canPairForwardBackward(pp: Int) -> Bool { self == .interleaved || (self == .oneFOneB && pp == 1) }

    /// Throws unless its steady state can run as forward-and-backward pairs on `pp` ranks
    /// (`canPairForwardBackward`), with whole sequences per micro-batch.
    public func checkPairs(pp: Int, sequenceChunks c: Int) throws {
        guard canPairForwardBackward(pp: pp) else {
            let why = overlapsForwardAndBackward ? "it pairs them already"
                : self == .oneFOneB ? "on \(pp) ranks each backward would wait for a whole pair per later stage; Megatron-Core pairs them under interleaving"
                : self == .gpipe ? "it has no steady state" : "its backward is split"
            throw ScheduleError(problem: "\(rawValue) cannot pair forwards with backwards (\(why))",
                                fix: "pair them under interleaved (virtual_stages ≥ 2) or without a pipeline (pp 1), or drop overlap_forward_backward")
        }
        guard c == 1 else {
            throw ScheduleError(problem: "sequences split across micro-batches are backpropagated last chunk first, which pairing does not follow", fix: "drop overlap_forward_backward, or do not split sequences")
        }
    }

    /// Throws unless it can run sequences split into `chunks` micro-batches each.
    public func checkSequenceChunks(_ chunks: Int) throws {
        guard chunks == 1 || runsSequenceChunks else {
            throw ScheduleError(problem: "\(rawValue) cannot run a sequence split into \(chunks) chunks: it backpropagates micro-batches first in, first out, and a chunk's backward needs every later chunk's",
                                fix: "use gpipe, 1f1b or zb1p (Seq1F1B order), or do not split sequences")
        }
    }

    /// Throws unless llmsim models `sends` for it: its instruction boundaries cannot express
    /// interleaved 1F1B's batched sends (Megatron-LM pairs each send with the receive of
    /// another model chunk).
    public func checkSends(_ sends: PipelineSends) throws {
        guard sends == .overlapped || self != .interleaved else {
            throw ScheduleError(problem: "batched pipeline sends are not modelled for the interleaved schedule (Megatron-LM pairs each send with the receive of another model chunk, which llmsim's instruction boundaries do not express)",
                                fix: "use overlapped sends (pipeline_sends: overlapped, --sends overlapped), Megatron-Core's default for interleaving")
        }
    }

    /// How its reference implementation issues the sends between ranks: batched at instruction
    /// boundaries for GPipe and 1F1B (Megatron-LM's schedule without interleaving) and for
    /// DualPipe and DualPipeV (deepseek-ai/DualPipe); overlapped for interleaved 1F1B
    /// (Megatron-Core's `overlap_p2p_comm`, on by default for it) and for ZB1P, whose
    /// implementation schedules its sends and receives as nodes of their own, ahead of need
    /// (sail-sg/zero-bubble-pipeline-parallelism).
    public var defaultSends: PipelineSends {
        switch self {
        case .gpipe, .oneFOneB, .dualpipe, .dualpipev: return .batched
        case .interleaved, .zb1p: return .overlapped
        }
    }
}

/// A complete schedule: per-rank instruction lists and the shape of the pipeline(s).
public struct PipelineSchedule: Sendable {
    public var kind: ScheduleKind
    /// Devices.
    public var ranks: Int
    /// Stages along each pipeline direction.
    public var stagesPerPipeline: Int
    public var pipelines: Int
    /// Micro-batches per pipeline direction.
    public var microbatchesPerPipeline: Int
    /// `program[rank]`: the rank's instructions in order.
    public var program: [[PipelineInstruction]]
    /// Work of one stage relative to one of `PP` equal stages of the whole model (1, or 1/v for
    /// interleaved virtual stages).
    public var stageSize: Double
    /// Micro-batches per sequence: every this many consecutive micro-batches are the chunks of
    /// one sequence, a chunk's backward waiting for the next chunk's on the same stage (1: each
    /// micro-batch stands alone).
    public var sequenceChunks = 1

    /// The index of (pipeline, stage, micro-batch) in per-op arrays: micro-batches innermost.
    @inline(__always) func slot(pipeline: Int, stage: Int, microbatch: Int) -> Int {
        (pipeline * stagesPerPipeline + stage) * microbatchesPerPipeline + microbatch
    }

    /// The distinct stages each rank runs, ascending (DualPipe: r and PP−1−r; interleaved: v).
    public var rankStages: [[Int]] {
        program.map { Set($0.flatMap { $0.ops.map(\.stage) }).sorted() }
    }

    /// The rank that runs each stage of each pipeline direction: `stageRanks[pipeline][stage]`
    /// (DualPipe: stage s on rank s in direction 0, on rank PP−1−s in direction 1).
    public var stageRanks: [[Int]] {
        var ranks = Array(repeating: Array(repeating: 0, count: stagesPerPipeline), count: pipelines)
        for (rank, list) in program.enumerated() {
            for instruction in list { for op in instruction.ops { ranks[op.pipeline][op.stage] = rank } }
        }
        return ranks
    }

    /// Model parameters a rank holds, in units of one of PP pipeline stages.
    public var parameterCopies: Double {
        let stagesPerRank = Double(stagesPerPipeline * pipelines) / Double(ranks)
        return stagesPerRank * stageSize
    }
}

/// Infeasible schedule requests, each with the rule it breaks and the fix.
public struct ScheduleError: Error, CustomStringConvertible, Equatable {
    public var problem: String
    public var fix: String
    public var description: String { "\(problem) — \(fix)" }
    public init(problem: String, fix: String) { self.problem = problem; self.fix = fix }
}
