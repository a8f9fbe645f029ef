import ArgumentParser
import CostModel
import Hardware
import Model
import Schedules
import Training

/// `llmsim memory EXPERIMENT.yaml`: peak memory per GPU during training, and whether it fits.
struct MemoryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "memory", abstract: "Training memory per GPU: parameters, gradients, optimizer, activations; does the plan fit?")

    @Argument(help: "Experiment file (training memory).") var experiment: String?
    @Flag(help: "Plain rules instead of the experiment's: 1F1B, every activation kept in BF16, no recomputation.") var plain = false
    @Flag(help: "Serving memory instead of training memory.") var inference = false
    @Option(help: "Model (with --inference).") var model = "deepseek-v3"
    @Option(help: "Weight format for serving: fp8 or bf16.") var precision = "fp8"
    @Option(help: "Concurrent sequences (with --inference).") var batch = 1
    @Option(help: "Context length per sequence, tokens (with --inference).") var context = 4096
    @Flag(help: "Also list what one micro-batch keeps, item by item: each kind of layer, and the last stage's head, loss and MTP.") var items = false
    @Flag(help: "Print JSON with stable keys.") var json = false

    func run() throws { try Output.reportingErrors { print(try output()) } }

    struct InferenceReport: Encodable {
        var model: String
        var precision: String
        var memory: InferenceMemory
        /// Whether it fits on one 8-GPU node of each device, by device id.
        var fitsOnEightGpus: [String: Bool]
    }

    func inferenceOutput() throws -> String {
        guard ["fp8", "bf16"].contains(precision) else { throw ValidationError("--precision must be fp8 or bf16, got \(precision)") }
        guard batch > 0, context > 0 else { throw ValidationError("--batch and --context must be > 0") }
        let models = try ResourceLocator.models()
        let arch = try models.resolve(model).0
        let m = InferenceMemory.compute(arch, fp8: precision == "fp8", batch: batch, context: context)
        let devices = try HardwareCatalog.builtIn().devices.values.sorted { $0.id < $1.id }
        var fits: [String: Bool] = [:]
        for d in devices { fits[d.id] = m.totalBytes <= 8 * d.hbmUsableBytes }
        if json { return try Output.json(InferenceReport(model: arch.name, precision: precision, memory: m, fitsOnEightGpus: fits)) }
        var rows = [["weights (\(precision == "fp8" ? "FP8 + block scales, BF16 embedding/head/norms/gate" : "BF16"))", Output.fixed(m.weightBytes / 1e9, 1) + " GB"],
                    ["KV cache (\(batch) × \(context) tokens × \(Output.grouped(arch.kvCacheBytesPerToken)) B\(arch.slidingWindow.map { ", \($0.layers.count) layers keeping their last \(Output.grouped($0.tokens))" } ?? ""))", Output.fixed(m.kvCacheBytes / 1e9, 1) + " GB"],
                    ["workspace (5% of weights, assumed)", Output.fixed(m.workspaceBytes / 1e9, 1) + " GB"],
                    ["total", Output.fixed(m.totalBytes / 1e9, 1) + " GB"]]
        for d in devices { rows.append(["fits on 8 × \(d.id) (\(Output.fixed(8 * d.hbmUsableBytes / 1e9, 0)) GB)", fits[d.id]! ? "yes" : "no"]) }
        return Output.table(rows, rightAlignedFrom: 1)
    }

    func output() throws -> String {
        if inference { return try inferenceOutput() }
        guard let experiment else { throw ValidationError("give an experiment file, or --inference") }
        let config = try ResourceLocator.experiment(experiment)
        let plan = try StepSimulation(config: config, calibration: try KernelCalibration.hopper()).plan()
        let savings = !plain && config.effectiveRecompute == .deepseek
        let model = try StageMemoryModel(config: config, deepSeekSavings: savings, schedule: plain ? .oneFOneB : config.schedule)
        let m = TrainingMemory.compute(model: model, stageLayers: plan.stageLayers)
        if json { return items ? try Output.json(ItemsReport(memory: m, model: model)) : try Output.json(m) }
        // Terms that do not apply to this plan (no chunked sequences, no DeepEP) stay in the JSON only.
        var rows = m.breakdown.filter { $0.bytes > 0 }.map { [$0.kind, Output.fixed($0.bytes / 1e9, 2) + " GB"] }
        rows.append(["peak per GPU (rank \(m.peakRank))", Output.fixed(m.peakBytesPerGpu / 1e9, 2) + " GB of " + Output.fixed(m.capacityBytes / 1e9, 1) + " GB usable"])
        if let host = m.offloadedHostBytes {
            rows.append(["offloaded activations in pinned host memory, per GPU", Output.fixed(host / 1e9, 2) + " GB"])
        }
        rows.append(["layers per stage", plan.layersDescription])
        let verdict = m.fits
            ? "fits, with \(Output.fixed((m.capacityBytes - m.peakBytesPerGpu) / 1e9, 1)) GB to spare"
            : "does NOT fit: \(Output.fixed((m.peakBytesPerGpu - m.capacityBytes) / 1e9, 1)) GB over; the largest term is \(m.largestTerm)"
        return Output.table(rows, rightAlignedFrom: 1) + "\n" + verdict + (items ? "\n\n" + Self.itemsText(model) : "")
    }

    /// `--items --json`: the memory, and what one micro-batch keeps, item by item.
    struct ItemsReport: Encodable {
        var memory: TrainingMemory
        var layerInventories: [LayerInventory]
        var head: [ActivationInventory.Item]
        var lossTransientBytes: Double
        init(memory: TrainingMemory, model: StageMemoryModel) {
            self.memory = memory
            layerInventories = model.layerInventories
            head = model.head.items
            lossTransientBytes = model.head.lossTransientBytes
        }
    }

    /// What one micro-batch keeps on one GPU, by kind of layer and for the last stage's head.
    static func itemsText(_ model: StageMemoryModel) -> String {
        let gb = { (b: Double) in Output.fixed(b / 1e9, 3) + " GB" }
        var rows: [[String]] = []
        for inventory in model.layerInventories {
            rows.append(["layers \(ranges(inventory.layers)) (\(inventory.layers.count)), each", gb(inventory.bytes)])
            rows += inventory.items.map { ["  " + $0.name, gb($0.bytes)] }
        }
        rows.append(["\(model.head.title), on the last stage", gb(model.head.keptBytes)])
        rows += model.head.items.map { ["  " + $0.name, gb($0.bytes)] }
        rows.append(["the loss's backward peak above that, once", gb(model.head.lossTransientBytes)])
        return "what one micro-batch keeps for its backward, per GPU:\n" + Output.table(rows, rightAlignedFrom: 1)
    }

    /// `[0, 1, 2, 5]` → `"0–2, 5"`.
    static func ranges(_ indices: [Int]) -> String {
        var parts: [String] = [], i = 0
        while i < indices.count {
            var j = i
            while j + 1 < indices.count && indices[j + 1] == indices[j] + 1 { j += 1 }
            parts.append(i == j ? "\(indices[i])" : "\(indices[i])–\(indices[j])")
            i = j + 1
        }
        return parts.joined(separator: ", ")
    }
}
