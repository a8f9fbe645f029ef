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

    @Argument(help: "Experiment file.") var experiment: String
    @Flag(help: "Plain rules instead of the experiment's: 1F1B, every activation kept in BF16, no recomputation.") var plain = false
    @Flag(help: "Print JSON with stable keys.") var json = false

    func run() throws { try Output.reportingErrors { print(try output()) } }

    func output() throws -> String {
        let models = try ModelCatalog.load(directory: try ResourceLocator.directory("Experiments/models"))
        let config = try StepExperiment.load(path: experiment, models: models, hardware: try HardwareCatalog.builtIn())
        let plan = try StepSimulation(config: config, calibration: try KernelCalibration.hopper()).plan()
        let savings = !plain && (config.recompute ?? (config.model.mlaDimensions != nil ? .deepseek : .none)) == .deepseek
        let m = try TrainingMemory.compute(config: config, stageLayers: plan.stageLayers, deepSeekSavings: savings,
                                           schedule: plain ? .oneFOneB : config.schedule)
        if json { return try Output.json(m) }
        var rows = m.breakdown.map { [$0.kind, Output.fixed($0.bytes / 1e9, 2) + " GB"] }
        rows.append(["peak per GPU (rank \(m.peakRank))", Output.fixed(m.peakBytesPerGpu / 1e9, 2) + " GB of " + Output.fixed(m.capacityBytes / 1e9, 0) + " GB"])
        let verdict = m.fits
            ? "fits, with \(Output.fixed((m.capacityBytes - m.peakBytesPerGpu) / 1e9, 1)) GB to spare"
            : "does NOT fit: \(Output.fixed((m.peakBytesPerGpu - m.capacityBytes) / 1e9, 1)) GB over; the largest term is \(m.largestTerm)"
        return Output.table(rows, rightAlignedFrom: 1) + "\n" + verdict
    }
}
