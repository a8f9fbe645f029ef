import ArgumentParser
import Foundation
import Schedules
import Training

/// `llmsim schedule`: run a pipeline schedule with given op durations (and, optionally, a send
/// time between ranks).
struct ScheduleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schedule",
        abstract: "Run a pipeline schedule (GPipe, 1F1B, interleaved, ZB1P, DualPipe, DualPipeV) and report its bubbles.",
        discussion: "Durations are per stage and micro-batch, in seconds (any consistent unit). B is a full backward, W its weight part, FB an overlapped forward+backward pair.")

    @Option(help: "gpipe, 1f1b, interleaved, zb1p, dualpipe or dualpipev.") var kind: String
    @Option(help: "Pipeline stages (DualPipeV puts them on PP/2 devices).") var pp: Int
    @Option(help: "Micro-batches per step.") var microbatches: Int
    @Option(name: .customLong("virtual-stages"), help: "Model chunks per rank for interleaved 1F1B.") var virtualStages = 2
    @Option(help: "Forward duration F.") var f = 1.0
    @Option(help: "Full backward duration B.") var b = 2.0
    @Option(help: "Weight-backward duration W (part of B).") var w = 1.0
    @Option(help: "Overlapped forward+backward duration F&B.") var fb = 2.5
    @Option(help: "Send time of an activation or gradient between ranks (0 in the published formulas).") var transfer = 0.0
    @Option(help: "batched (sends and receives issued and waited for between instructions, as DualPipe and Megatron-LM's 1F1B do) or overlapped (the sender never waits). Default: the schedule's reference implementation's.") var sends: String?
    @Flag(name: .customLong("overlap-forward-backward"), help: "Run the steady state's forwards and backwards as overlapped pairs of duration F&B (interleaved, or 1f1b on one stage; Megatron-Core's --overlap-moe-expert-parallel-comm).") var pairs = false
    @Option(help: "Run-to-run variation of each instruction's duration, percent (coefficient of variation, 0 to below 50): each instruction takes its duration times a lognormal factor of mean 1 drawn from --seed.") var jitter = 0.0
    @Option(help: "Seed of the jitter draws.") var seed: UInt64 = 1
    @Option(help: "Write an SVG timeline to this file.") var svg: String?
    @Flag(help: "Print JSON with stable keys.") var json = false

    struct Report: Encodable {
        var kind: String
        var sends: String
        var pp: Int
        var ranks: Int
        var microbatches: Int
        var makespan: Double
        var bubblePerRank: [Double]
        var maxBubble: Double
        var peakInflightMicrobatchesPerRank: [Double]
        var parameterCopies: Double
        var formulaBubble: Double?
        /// Coefficient of variation of instruction durations, % (0: none).
        var jitterPercent: Double
    }

    func run() throws { try Output.reportingErrors { print(try output()) } }

    /// The case named `value`, or an error that lists the allowed names.
    static func choice<T: RawRepresentable & CaseIterable>(_ value: String, _ what: String) throws -> T where T.RawValue == String {
        guard let c = T(rawValue: value) else {
            throw ScheduleError(problem: "unknown \(what) '\(value)'", fix: "use one of " + T.allCases.map(\.rawValue).joined(separator: ", "))
        }
        return c
    }

    func output() throws -> String {
        let k: ScheduleKind = try Self.choice(kind, "schedule")
        let mode: PipelineSends = try sends.map { try Self.choice($0, "--sends") } ?? k.defaultSends
        let schedule = try ScheduleGenerator.make(k, pp: pp, microbatches: microbatches, virtualStages: virtualStages, pairForwardBackward: pairs)
        try InstructionJitter.check(cv: jitter / 100)
        let scales = jitter > 0 ? try InstructionJitter(cv: jitter / 100, seed: seed).scales(for: schedule, group: 0) : nil
        let result = try ScheduleSimulator(sends: mode).run(schedule, durations: OpDurations(forward: f, backward: b, weight: w, forwardBackward: fb, transfer: transfer),
                                                             instructionScale: scales)
        if let svg {
            let title = "\(k.rawValue), PP \(pp), \(microbatches) micro-batches: makespan \(TimelineSVG.fmt(result.makespan)), max bubble \(TimelineSVG.fmt(result.maxBubble))"
            try TimelineSVG.render(result, title: title).write(toFile: svg, atomically: true, encoding: .utf8)
        }
        let p = Double(pp)
        let published: Double = switch k {
        case .gpipe, .oneFOneB: (p - 1) * (f + b)
        case .zb1p: (p - 1) * (f + b - 2 * w)
        case .dualpipe, .dualpipev: (p / 2 - 1) * (fb + b - 3 * w)
        case .interleaved: (p - 1) * (f + b) / Double(virtualStages)
        }
        // The published closed forms are for the schedules as published (no pairs added).
        let formula: Double? = pairs ? nil : published
        let report = Report(kind: k.rawValue, sends: mode.rawValue, pp: pp, ranks: schedule.ranks, microbatches: microbatches, makespan: result.makespan,
                            bubblePerRank: result.bubblePerRank, maxBubble: result.maxBubble,
                            peakInflightMicrobatchesPerRank: result.peakInflightMicrobatchesPerRank,
                            parameterCopies: result.parameterCopies, formulaBubble: formula, jitterPercent: jitter)
        if json { return try Output.json(report) }
        // Per-rank lists in full up to 64 ranks; beyond, the first and last 16 (--json has all).
        func list(_ xs: [Double]) -> String {
            let shown = xs.count <= 64 ? xs.map { TimelineSVG.fmt($0) }
                : xs.prefix(16).map { TimelineSVG.fmt($0) } + ["… \(xs.count - 32) ranks (--json lists all) …"] + xs.suffix(16).map { TimelineSVG.fmt($0) }
            return shown.joined(separator: " ")
        }
        let formulaText: String = formula.map { TimelineSVG.fmt($0) } ?? "–"
        let maxText: String = TimelineSVG.fmt(result.maxBubble) + " / " + formulaText + " s"
        let rows: [[String]] = [
            ["schedule", "\(k.rawValue), PP \(pp) on \(schedule.ranks) ranks, \(microbatches) micro-batches, \(mode.rawValue) sends"
                + (jitter > 0 ? ", \(TimelineSVG.fmt(jitter))% jitter (seed \(seed))" : "")],
            ["makespan", TimelineSVG.fmt(result.makespan) + " s"],
            ["bubble per rank", list(result.bubblePerRank) + " s"],
            ["max bubble (simulated / formula)", maxText],
            ["peak in-flight micro-batches per rank", list(result.peakInflightMicrobatchesPerRank) + " (units of one of PP stages)"],
            ["parameter copies", TimelineSVG.fmt(result.parameterCopies) + " × one of PP stages"],
        ]
        return Output.table(rows, rightAlignedFrom: Output.allLeftAligned) + (svg.map { "\nwrote \($0)" } ?? "")
    }
}
