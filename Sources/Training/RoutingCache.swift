import Foundation
import Kernels

/// Dispatch plans already routed, and their all-to-all times, shared by the steps of a run and
/// the points of a sweep: routing an EP group through the real gate and timing its all-to-all on
/// the fluid network are most of a step's simulation time, and steps with the same router,
/// tokens, EP layout, skew and seed route identically (the router is deterministic given its
/// seed). Thread-safe: a key being computed by one thread is waited for, not computed twice.
public final class RoutingCache: @unchecked Sendable {
    private var plans: [String: DispatchPlan] = [:]
    private var allToAll: [String: (dispatch: Double, combine: Double)] = [:]
    private var compositionLaws: [String: GateCompositionLaw?] = [:]
    private var keyLocks: [String: NSLock] = [:]
    private let lock = NSLock()

    public init() {}

    /// The plan of `experiment`, routed once per distinct input.
    public func plan(for experiment: RoutingExperiment) throws -> DispatchPlan {
        try memo(Self.key(experiment), in: \.plans) { try experiment.run(compositionLaw: try compositionLaw(experiment.router)).plan }
    }

    /// The gate's composition law for a router layout (nil where it is not integrated),
    /// integrated once: every EP group and stage of a whole-cluster step shares it.
    func compositionLaw(_ router: RouterConfig) throws -> GateCompositionLaw? {
        try memo("\(router)", in: \.compositionLaws) { GateCompositionLaw(config: router) }
    }

    /// Dispatch and combine times of `experiment`'s plan on `fabric` (a description of the node,
    /// SMs and latencies that time it), computed once per distinct pair.
    public func allToAllTimes(for experiment: RoutingExperiment, fabric: String,
                              compute: (DispatchPlan) throws -> (dispatch: Double, combine: Double)) throws -> (dispatch: Double, combine: Double) {
        try memo(Self.key(experiment) + "|" + fabric, in: \.allToAll) { try compute(try plan(for: experiment)) }
    }

    /// The identity of a routing experiment (equal keys route identically).
    public static func key(_ e: RoutingExperiment) -> String {
        "\(e.router)|\(e.hidden)|\(e.tokensPerGPU)|\(e.ep)|\(e.expertTensorParallel)|\(e.gpusPerNode)|\(e.skew.identity)|\(e.gate)|\(e.steps)|\(e.gamma)|\(e.seed)|\(e.fullDraw)|\(e.sequenceConcentration.map { "\($0)" } ?? "-")|\(e.sequencesPerGPU)"
    }

    /// The value under `key` in `table`, computing it at most once: the first thread to ask
    /// holds the key's own lock while it computes; others wait on that lock, then read.
    private func memo<Value>(_ key: String, in table: ReferenceWritableKeyPath<RoutingCache, [String: Value]>,
                             compute: () throws -> Value) throws -> Value {
        let keyLock: NSLock = lock.withLock {
            if let l = keyLocks[key] { return l }
            let l = NSLock(); keyLocks[key] = l; return l
        }
        keyLock.lock()
        defer { keyLock.unlock() }
        if let hit = lock.withLock({ self[keyPath: table][key] }) { return hit }
        let value = try compute()
        lock.withLock { self[keyPath: table][key] = value }
        return value
    }
}
