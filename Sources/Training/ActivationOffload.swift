import Hardware

/// Megatron-Core's CPU activation offloading (`cpu_offloading`, `cpu_offloading_num_layers`,
/// `cpu_offloading_activations`; Transformer Engine's `get_cpu_offload_context`): what the first
/// `layers` transformer layers of a micro-batch keep for the backward is copied to pinned host
/// memory after their forward, on a copy stream beside the compute, freed on the GPU, and copied
/// back before their backward. The GPU then holds the activations of the layers not offloaded
/// (and, with the older handler, one offloaded layer in transit); the compute waits where a copy
/// has not finished when the handler needs it.
///
/// Megatron-Core refuses it with pipeline parallelism, with activation recomputation, and for
/// all layers (`TransformerConfig.__post_init__`: `cpu_offloading_num_layers` in [0,
/// num_layers), "no support for Pipeline parallelism with CPU offloading", "CPU offloading does
/// not work when activation recomputation is enabled"); llmsim refuses the same plans
/// (`StepConfiguration.validate`).
///
/// Every tensor a layer saves is offloaded (the current handler takes every saved tensor of at
/// least 2^20 elements that is not a weight: per-token activations at training batch sizes), the
/// layer's whole `ActivationInventory`. The older handler offloads the tensors Transformer
/// Engine's modules mark, which may leave some (an MLP activation outside TE) on the GPU; llmsim
/// offloads the same bytes under both (an assumption).
public struct ActivationOffload: Sendable, Equatable, Codable {
    /// How Transformer Engine schedules the copies and the compute's waits on them.
    public enum Handler: String, Sendable, Codable, CaseIterable {
        /// `OffloadSynchronizer` (`transformer_engine/pytorch/cpu_offload.py`, TE 2.10 on): one
        /// copy stream for both directions. Layer i's copy out is issued when layer i + 1's
        /// forward begins and must be done before layer L − K + i's forward (when it is freed);
        /// its copy back is issued when layer L − 1 − K + i's backward begins and waited for
        /// before layer i's backward. The GPU holds L − K layers' activations throughout.
        case transformerEngine = "transformer-engine"
        /// `AsyncDoubleBufferGroupOffloadHandler` (TE up to 2.9; later `NVTE_CPU_OFFLOAD_V1=1`):
        /// separate streams out and back, one layer copying each way at a time. The offloaded
        /// layers' windows spread over the model (`windows`): at the end of layer w(g)'s forward
        /// the compute waits for layer g's copy out, frees it and starts layer g + 1's; at the
        /// start of layer w(g)'s backward it waits for the copy back in flight and starts layer
        /// g's. The GPU holds L − K layers and one layer in transit.
        case transformerEngineV1 = "transformer-engine-v1"
    }

    /// Transformer layers offloaded, the first ones of the model (`cpu_offloading_num_layers`).
    public var layers: Int
    public var handler: Handler

    public init(layers: Int, handler: Handler = .transformerEngine) {
        self.layers = layers; self.handler = handler
    }

    /// The activation bytes a micro-batch keeps on the GPU at its peak, of layers keeping
    /// `perLayer` bytes each (the whole model: offloading needs one pipeline stage): the layers
    /// not offloaded, and under the older handler the largest offloaded layer, in transit.
    public func residentBytes(perLayer: [Double]) -> Double {
        let k = min(layers, perLayer.count)
        let kept = perLayer[k...].reduce(0, +)
        return handler == .transformerEngineV1 ? kept + (perLayer[..<k].max() ?? 0) : kept
    }

    /// Pinned host memory one micro-batch's offloaded activations take, bytes.
    public func hostBytes(perLayer: [Double]) -> Double { perLayer.prefix(layers).reduce(0, +) }

    /// The older handler's windows (`AsyncDoubleBufferGroupOffloadHandler.__init__`): offloaded
    /// layer g's copy is due at the end of layer w(g)'s forward, w(g) = ⌊L/K⌋(g + 1) − 1 plus
    /// g + 1 for the first L mod K layers and L mod K after them, so the last is layer L − 1.
    public static func windows(layers l: Int, offloaded k: Int) -> [Int] {
        guard k > 0 else { return [] }
        var w: [Int] = [], constant = 0
        for g in 0..<k {
            var window = (l / k) * (g + 1) - 1
            if g < l % k { window += g + 1; constant = g + 1 } else { window += constant }
            w.append(window)
        }
        return w
    }

    /// Seconds the compute waits on the copies in one micro-batch's forward and in its backward,
    /// for layers taking `forward[l]` and `backward[l]` seconds and keeping `bytes[l]`, at the
    /// host link's copy rates.
    public func exposed(forward: [Double], backward: [Double], bytes: [Double], copy: HostCopyBandwidth) -> (forward: Double, backward: Double) {
        let l = forward.count, k = min(layers, l)
        precondition(backward.count == l && bytes.count == l, "a forward, a backward and a size for every layer")
        guard k > 0 else { return (0, 0) }
        let out = bytes.map { $0 / copy.toHost }, back = bytes.map { $0 / copy.toDevice }
        return handler == .transformerEngine
            ? Self.synchronizerWaits(forward: forward, backward: backward, out: out, back: back, offloaded: k)
            : Self.windowedWaits(forward: forward, backward: backward, out: out, back: back, offloaded: k)
    }

    /// `OffloadSynchronizer`'s waits (`transformerEngine`): one FIFO copy stream.
    static func synchronizerWaits(forward f: [Double], backward b: [Double], out: [Double], back: [Double], offloaded k: Int) -> (Double, Double) {
        let l = f.count
        var t = 0.0, stream = 0.0
        var outEnd = [Double](repeating: 0, count: k), backEnd = [Double](repeating: 0, count: k)
        for j in 0..<l {
            // Layer j − 1's copy out is issued as layer j's forward begins.
            if j >= 1, j - 1 < k { stream = max(stream, t) + out[j - 1]; outEnd[j - 1] = stream }
            // Layer j − (L − K)'s copy must be done before layer j's forward.
            let due = j - (l - k)
            if due >= 0 { t = max(t, outEnd[due]) }
            t += f[j]
        }
        let forwardWait = t - f.reduce(0, +)
        // Every copy out was waited for in the forward; the backward starts with the stream free.
        t = 0; stream = 0
        for j in stride(from: l - 1, through: 0, by: -1) {
            // Layer j − (L − 1 − K)'s copy back is issued as layer j's backward begins.
            let reload = j - (l - 1 - k)
            if reload >= 0, reload < k { stream = max(stream, t) + back[reload]; backEnd[reload] = stream }
            if j < k { t = max(t, backEnd[j]) }
            t += b[j]
        }
        return (forwardWait, t - b.reduce(0, +))
    }

    /// `AsyncDoubleBufferGroupOffloadHandler`'s waits (`transformerEngineV1`): a stream each way,
    /// one layer at a time on each, synchronized at the windows.
    static func windowedWaits(forward f: [Double], backward b: [Double], out: [Double], back: [Double], offloaded k: Int) -> (Double, Double) {
        let l = f.count, w = windows(layers: l, offloaded: k)
        var t = 0.0, outEnd = 0.0, group = 0
        for j in 0..<l {
            t += f[j]
            // At layer 0's end its copy starts; at layer w(g)'s end the compute waits for layer
            // g's and starts layer g + 1's.
            if j == 0 { outEnd = t + out[0] }
            if group < k, w[group] == j {
                t = max(t, outEnd)
                if group + 1 < k { outEnd = t + out[group + 1] }
                group += 1
            }
        }
        let forwardWait = t - f.reduce(0, +)
        t = 0
        var backEnd = 0.0
        group = k
        for j in stride(from: l - 1, through: 0, by: -1) {
            // At layer w(g)'s backward start, wait for the copy back in flight and start layer g's.
            if group >= 1, w[group - 1] == j {
                t = max(t, backEnd)
                backEnd = t + back[group - 1]
                if group > 1 { group -= 1 }
            }
            if j == 0 { t = max(t, backEnd) }
            t += b[j]
        }
        return (forwardWait, t - b.reduce(0, +))
    }
}

extension ActivationOffload {
    /// Sets `stage`'s offload waits (`offloadForward`, `offloadBackward`) for its layers, timed
    /// `layerTimes` and keeping `bytes` each: each layer's forward and backward as priced, with
    /// the chunk's waits on FSDP's collectives and the host's launches spread over them in
    /// proportion (the copies are issued and awaited at layer boundaries of that timeline).
    func expose(_ stage: inout LayerTimes, layerTimes: [LayerTimes], bytes: [Double], copy: HostCopyBandwidth) {
        func spread(_ own: [Double], waits: Double) -> [Double] {
            let sum = own.reduce(0, +)
            return sum > 0 ? own.map { $0 * (sum + waits) / sum } : own
        }
        let forward = spread(layerTimes.map(\.forward), waits: stage.fullyShardedForward + stage.hostForward)
        let backward = spread(layerTimes.map(\.backward), waits: stage.fullyShardedBackward + stage.hostBackward)
        (stage.offloadForward, stage.offloadBackward) = exposed(forward: forward, backward: backward, bytes: bytes, copy: copy)
    }
}
