import Foundation
import Kernels

/// Dispatch plans already routed, shared by the steps of a run and the points of a sweep:
/// routing an EP group through the real gate is most of a step's simulation time, and steps
/// with the same router, tokens, EP layout, skew and seed route identically (the router is
/// deterministic given its seed). Thread-safe; entries are immutable once stored.
public final class RoutingCache: @unchecked Sendable {
    private var plans: [String: DispatchPlan] = [:]
    private let lock = NSLock()

    public init() {}

    /// The plan of `experiment`, routed once per distinct input.
    public func plan(for experiment: RoutingExperiment) throws -> DispatchPlan {
        let key = "\(experiment.router)|\(experiment.hidden)|\(experiment.tokensPerGPU)|\(experiment.ep)|\(experiment.gpusPerNode)|\(experiment.skew)|\(experiment.steps)|\(experiment.gamma)|\(experiment.seed)"
        lock.lock()
        if let hit = plans[key] { lock.unlock(); return hit }
        lock.unlock()
        // Routed outside the lock: two threads may route the same key once each; both results
        // are identical, so whichever lands last is harmless.
        let plan = try experiment.run().plan
        lock.lock(); plans[key] = plan; lock.unlock()
        return plan
    }

    /// Distinct plans held.
    public var count: Int { lock.lock(); defer { lock.unlock() }; return plans.count }
}
