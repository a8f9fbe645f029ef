import ConfigIO
import Dispatch
import Foundation
import SimCore
import Training

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
    /// Returns the configuration of each buildable point, by point index.
    @discardableResult
    public func preflight(_ points: [Sweep.Point]) throws -> [Int: StepConfiguration] {
        var configs: [Int: StepConfiguration] = [:]
        for p in points {
            guard let doc = p.document else { continue }
            do { configs[p.index] = try evaluator.configuration(doc) } catch let e as ConfigError where e.infeasible { continue }
        }
        return configs
    }

    /// Routes and times the distinct all-to-alls of `configs` before the points run: each
    /// routing uses every core (its GPUs route in parallel), then the all-to-alls are timed in
    /// parallel with each other. Without this, workers that need the same routing wait for
    /// one another, one core busy.
    public func warm(_ configs: [StepConfiguration]) throws {
        var seen = Set<String>()
        var distinct: [StepSimulation] = []
        for c in configs {
            guard let s = try? StepSimulation(config: c, calibration: evaluator.calibration, routingCache: evaluator.routingCache),
                  let key = s.allToAllKey, seen.insert(key).inserted else { continue }
            distinct.append(s)
        }
        for s in distinct { _ = try evaluator.routingCache.plan(for: s.routingExperiment()!.experiment) }
        _ = try Parallel.map(distinct.count) { try distinct[$0].allToAll() }
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
