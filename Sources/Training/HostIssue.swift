import CostModel
import Kernels

/// The host thread that launches a rank's kernels, and the GPU time it costs when it falls
/// behind.
///
/// PyTorch training frameworks issue every operation from Python: module code, the autograd
/// engine, the caching allocator and the launch itself run on one CPU thread per GPU before
/// each kernel is queued. The GPU runs ahead only while its queue holds work; where kernels are
/// shorter than their host time, or right after the host had to wait for the GPU, the GPU
/// idles until the next launch. Two kinds of waits matter in training:
/// - a pipeline stage's micro-batch starts with the host and the GPU in step (Megatron-LM's
///   batched P2P calls `torch.cuda.synchronize()` around each exchange, `batch_p2p_sync`);
/// - an MoE layer's forward dispatch needs the tokens each GPU receives on the host to size its
///   buffers (Megatron-LM's all-to-all dispatcher copies the split sizes to the CPU and
///   synchronises; DeepEP's normal kernels spin on a host-mapped counter: the trace's host
///   waits ≈ 20 ms in `dispatch(F)`), so the GPU has run everything before it when the host
///   goes on.
///
/// The cost per operation is `secondsPerOperation`: host time per operation of the cost
/// executor, measured on DeepSeek's trace (`KernelCalibration.hostSecondsPerOperation`).
/// CUDA graphs remove it (0).
public struct HostIssue: Sendable, Equatable {
    /// Host seconds to issue one operation of the cost executor.
    public var secondsPerOperation: Double
    /// The most an experiment may set: 10 ms, 100× DeepSeek's 100 µs (a value beyond it is a
    /// unit slip: seconds or milliseconds given as microseconds).
    public static let maxSecondsPerOperation = 0.01

    public init(secondsPerOperation: Double) { self.secondsPerOperation = secondsPerOperation }

    /// One operation of a pass in issue order: its GPU seconds on the pass's critical path
    /// (compute, or an all-to-all that the pass waits for), and whether the host first waits
    /// for the GPU to reach it.
    public struct Operation: Sendable, Equatable {
        public var seconds: Double
        public var hostWaitsForGPU: Bool
        public init(seconds: Double, hostWaitsForGPU: Bool = false) {
            self.seconds = seconds
            self.hostWaitsForGPU = hostWaitsForGPU
        }
    }

    /// GPU seconds idle waiting for launches in a pass that starts with the host and the GPU in
    /// step: each operation starts when both the previous one has ended and the host has issued
    /// it; the host issues one operation per `secondsPerOperation` and, at a wait, first lets the
    /// GPU catch up.
    public func idle(_ operations: [Operation]) -> Double {
        guard secondsPerOperation > 0 else { return 0 }
        var host = 0.0, gpu = 0.0, busy = 0.0
        for op in operations {
            if op.hostWaitsForGPU { host = max(host, gpu) }
            host += secondsPerOperation
            gpu = max(gpu, host) + op.seconds
            busy += op.seconds
        }
        return max(0, gpu - busy)
    }

    /// Host seconds to issue `count` operations.
    public func issue(_ count: Int) -> Double { Double(count) * secondsPerOperation }

    /// The operations of a layer (or of a stage's extras) in issue order: its forward, and its
    /// backward (input and weight, recomputation included).
    public struct Passes: Sendable, Equatable {
        public var forward: [Operation] = []
        public var backward: [Operation] = []
    }

    /// A layer's (or stage extra's) operations, priced as its block times are
    /// (`LayerTimes.seconds`), the forward dispatch a host wait. The cost executor records
    /// per-expert work (casts, SwiGLU) once per local expert, where the kernels run all of a
    /// GPU's experts in one launch (the trace's `swiglu_forward_with_weight…` and
    /// `batched_transpose` cover its 4 experts at once): consecutive records of the same name
    /// and pass are one operation for the host.
    public static func passes(_ records: [OperationRecord], kernels: KernelCostModel, dispatch: Double, combine: Double) -> Passes {
        var p = Passes()
        var previous: (name: String, pass: Pass)?
        for r in records {
            defer { previous = (r.name, r.pass) }
            let seconds = LayerTimes.seconds(r, kernels: kernels, dispatchTime: dispatch, combineTime: combine)
            let sameLaunch = previous.map { $0.name == r.name && $0.pass == r.pass } ?? false
            let op = Operation(seconds: seconds, hostWaitsForGPU: r.kind == .dispatch && r.pass == .forward)
            if r.pass == .forward { p.forward.append(op, joining: sameLaunch) } else { p.backward.append(op, joining: sameLaunch) }
        }
        return p
    }

    /// Sets a stage chunk's host waits: its forward runs the first stage's extras (embedding),
    /// then `layers` in order, then the last stage's (head, loss, MTP); its backward the reverse.
    /// Each starts with the host and the GPU in step. In an overlapped pair the other chunk's
    /// work keeps the GPU busy through the host's waits, so only the pair's launches outlasting
    /// its GPU time count (`t` must not yet hold host waits).
    public func expose(_ t: inout LayerTimes, layers: ArraySlice<Passes>, first: Passes?, last: Passes?) {
        guard secondsPerOperation > 0 else { return }
        let forward = (first?.forward ?? []) + layers.flatMap(\.forward) + (last?.forward ?? [])
        let backward = (last?.backward ?? []) + layers.reversed().flatMap(\.backward) + (first?.backward ?? [])
        t.hostForward = idle(forward)
        t.hostBackward = idle(backward)
        t.hostForwardBackward = max(0, issue(forward.count + backward.count) - t.overlappedForwardBackward)
    }
}

private extension Array where Element == HostIssue.Operation {
    /// Appends `op`, or adds its GPU time to the last operation when both are one launch.
    mutating func append(_ op: Element, joining: Bool) {
        if joining, !isEmpty { self[count - 1].seconds += op.seconds } else { append(op) }
    }
}
