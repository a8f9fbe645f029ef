import ArgumentParser
import Foundation
import HeapModule
import SimCore

/// `llmsim bench`: engine speed on the hold model, with swift-collections' `Heap` as baseline;
/// with `--step EXPERIMENT`, the parts of a simulated training step timed one by one.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure the discrete-event engine (hold model) in events per second, or the parts of a training step.",
        discussion: "Build in release mode first (swift build -c release); debug builds are 10–50× slower. For one core, run under `taskset -c 0`.")

    @Option(help: "Time the parts of this experiment's step instead (routing, dispatch plan, all-to-all, schedule, whole step), e.g. Experiments/deepseek-v3.yaml.")
    var step: String?

    @Option(help: "With --step: rounds per part (the best is reported).")
    var rounds = 3

    @Option(help: "Pop-push operations timed per case.")
    var operations = 1_000_000

    @Option(help: "Seed of the delay stream.")
    var seed: UInt64 = 1

    @Flag(help: "Print JSON with stable keys.")
    var json = false

    struct Report: Encodable {
        var eventsPerSecond: Double
        var benchmark: String
        var build: String
        var cases: [HoldBenchmark.Result]
        var heapBaselineEventsPerSecond: Double
        var speedupOverHeap: Double
    }

    func run() throws {
        #if DEBUG
        let build = "debug"
        #else
        let build = "release"
        #endif
        if let step {
            try Output.reportingErrors { print(try stepReport(step, build: build)) }
            return
        }
        let cases = [1_000, 100_000, 1_000_000].map {
            HoldBenchmark(pending: $0, operations: operations, seed: seed).run()
        }
        let main = cases[1].eventsPerSecond
        let baseline = Self.heapBaseline(pending: 100_000, operations: operations, seed: seed)
        let report = Report(eventsPerSecond: main, benchmark: "hold model, events/s with 10^5 pending (Engine: schedule + pop + handler)",
                            build: build, cases: cases, heapBaselineEventsPerSecond: baseline,
                            speedupOverHeap: main / baseline)
        if json {
            print(try Output.json(report))
        } else {
            var rows = [["pending", "events", "seconds", "events/s"]]
            for c in cases {
                rows.append([Output.grouped(c.pending), Output.grouped(c.events), Output.fixed(c.seconds, 3), Output.grouped(Int(c.eventsPerSecond))])
            }
            print("hold model (\(build) build)\n" + Output.table(rows))
            print("swift-collections Heap, 10^5 pending: \(Output.grouped(Int(baseline))) events/s; engine speed-up \(Output.fixed(main / baseline, 2))×")
            if build == "debug" { print("note: debug build; run `swift build -c release` and .build/release/llmsim bench for real figures") }
        }
    }

    struct StepReport: Encodable {
        var experiment: String
        var build: String
        var rounds: Int
        var parts: [StepBenchmark.Part]
    }

    func stepReport(_ path: String, build: String) throws -> String {
        guard rounds > 0 else { throw ValidationError("--rounds must be > 0") }
        let parts = try StepBenchmark(config: try ResourceLocator.experiment(path), rounds: rounds).run()
        if json { return try Output.json(StepReport(experiment: path, build: build, rounds: rounds, parts: parts)) }
        var rows = [["part", "seconds", "ns per token"]]
        for p in parts { rows.append([p.name, Output.fixed(p.seconds, 4) + " s", p.nanosecondsPerToken.map { Output.fixed($0, 0) + " ns" } ?? ""]) }
        return "\(path), best of \(rounds) (\(build) build)\n" + Output.table(rows, rightAlignedFrom: 1)
    }

    /// The same hold loop on swift-collections' `Heap` of (time, sequence) keys, without the
    /// engine around it: the baseline the design notes compare the hand-written queue with.
    static func heapBaseline(pending: Int, operations: Int, seed: UInt64) -> Double {
        struct Key: Comparable {
            var time: Int64
            var sequence: UInt64
            static func < (a: Key, b: Key) -> Bool { a.time < b.time || (a.time == b.time && a.sequence < b.sequence) }
        }
        var rng = SplitMix64(seed: seed)
        func delay() -> Int64 { rng.exponentialPicoseconds(mean: 1_000_000) }
        var heap = Heap<Key>()
        var sequence: UInt64 = 0
        for _ in 0..<pending { heap.insert(Key(time: delay(), sequence: sequence)); sequence += 1 }
        func loop() {
            for _ in 0..<operations {
                let e = heap.removeMin()
                heap.insert(Key(time: e.time + delay(), sequence: sequence))
                sequence += 1
            }
        }
        loop()
        var elapsed = Double.infinity
        for _ in 0..<5 {
            let start = DispatchTime.now().uptimeNanoseconds
            loop()
            elapsed = min(elapsed, Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9)
        }
        return Double(operations) / max(elapsed, 1e-12)
    }
}
