import ConfigIO
import Dispatch
import Foundation

/// Runs the points of a sweep on all cores: independent simulations, one per worker at a time,
/// each result handed to `record` (under one lock, in completion order) the moment it is done.
public struct SweepRunner: Sendable {
    public let evaluator: PointEvaluator
    /// Concurrent simulations (default: the machine's active cores).
    public let workers: Int
    /// Test hook: sleep this long before each point (makes a run slow enough to kill mid-way).
    public let delayPerPointMs: Int

    public init(evaluator: PointEvaluator, workers: Int = ProcessInfo.processInfo.activeProcessorCount, delayPerPointMs: Int = 0) {
        self.evaluator = evaluator
        self.workers = max(1, workers)
        self.delayPerPointMs = delayPerPointMs
    }

    /// Checks every point's document before any simulation runs, so a malformed value (an
    /// unknown key, a wrong type, a bad choice) stops the sweep at once with its file and line;
    /// impossible plans are left for the run to record as infeasible.
    public func preflight(_ points: [Sweep.Point]) throws {
        for p in points {
            guard let doc = p.document else { continue }
            do { _ = try evaluator.configuration(doc) } catch let e as ConfigError where e.infeasible { continue }
        }
    }

    /// Evaluates `points` except those in `skip`; `record` is called once per finished point,
    /// serially. The first error (from a point or from `record`) stops the run and is rethrown
    /// once in-flight points finish.
    public func run(_ points: [Sweep.Point], skip: Set<Int> = [],
                    record: @escaping @Sendable (Sweep.Point, PointOutcome) throws -> Void) throws {
        let todo = points.filter { !skip.contains($0.index) }
        final class State: @unchecked Sendable {
            let lock = NSLock()
            var next = 0
            var failure: Error?
        }
        let state = State()
        let evaluator = self.evaluator, delay = delayPerPointMs
        DispatchQueue.concurrentPerform(iterations: min(workers, max(todo.count, 1))) { _ in
            while true {
                state.lock.lock()
                if state.failure != nil || state.next >= todo.count { state.lock.unlock(); return }
                let point = todo[state.next]
                state.next += 1
                state.lock.unlock()
                if delay > 0 { Thread.sleep(forTimeInterval: Double(delay) / 1000) }
                do {
                    let outcome = try evaluator.evaluate(point)
                    state.lock.lock()
                    defer { state.lock.unlock() }
                    if state.failure == nil { try record(point, outcome) }
                } catch {
                    state.lock.lock()
                    if state.failure == nil { state.failure = error }
                    state.lock.unlock()
                }
            }
        }
        if let failure = state.failure { throw failure }
    }
}
