import ArgumentParser
import CostModel
import Foundation
import Hardware
import Model
import Training

/// `llmsim run EXPERIMENT.yaml`: the whole training run — every phase priced from simulated
/// steps — and its GPU-hours, dollars, energy and carbon.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "Simulate a whole training run: phases, GPU-hours, dollars, energy, CO2.")

    @Argument(help: "Experiment file with a run: section, e.g. Experiments/deepseek-v3.yaml.") var experiment: String
    @Flag(help: "Print JSON with stable keys.") var json = false

    struct Report: Encodable {
        var step: StepResult
        var memory: TrainingMemory
        var phases: [PhaseResult]
        var gpuHoursTotal: Double
        var costUsd: Double
        var energyMwh: Double
        var co2Tonnes: Double
        var gpuHoursPerTrillionTokens: Double
        var assumptions: String
        /// Failure and checkpoint overheads, when the experiment asks for them (reported apart).
        var overheads: RunOverheads.Result?
    }

    func run() throws { try Output.reportingErrors { print(try output()) } }

    func output() throws -> String {
        let config = try ResourceLocator.experiment(experiment)
        let (phases, economics) = try RunExperiment.load(path: experiment)
        let calibration = try KernelCalibration.hopper()
        let cache = RoutingCache()
        let simulation = try StepSimulation(config: config, calibration: calibration, routingCache: cache)
        let stagePlan = try simulation.plan()
        var step = try simulation.run(microbatches: config.microbatches, plan: stagePlan)
        step.segments = []
        let savings = config.effectiveRecompute == .deepseek
        let memory = try TrainingMemory.compute(config: config, stageLayers: stagePlan.stageLayers, deepSeekSavings: savings, schedule: config.schedule)
        let run = TrainingRun(base: config, calibration: calibration, routingCache: cache)
        let results = try phases.map { try run.price($0) }
        let total = results.reduce(0) { $0 + $1.gpuHours }
        let node = config.topology.node
        let wattsPerGPU = node.meanPowerWatts / Double(node.gpus)
        let energyMWh = total * wattsPerGPU * economics.pue / 1e6
        let pre = results.first { $0.tokens > 0 }
        let overheads = try RunExperiment.overheads(path: experiment)?.price(wallDays: results.reduce(0) { $0 + $1.wallDays }, gpus: config.gpus)
        let report = Report(
            step: step, memory: memory, phases: results, gpuHoursTotal: total,
            costUsd: total * economics.pricePerGPUHour, energyMwh: energyMWh, co2Tonnes: energyMWh * economics.gridKgPerKWh,
            gpuHoursPerTrillionTokens: pre.map { $0.gpuHours / ($0.tokens / 1e12) } ?? 0,
            assumptions: "energy = GPU-hours × node mean power per GPU (\(Int(wattsPerGPU)) W, incl. host) × PUE \(economics.pue); price $\(economics.pricePerGPUHour)/GPU-h; grid \(economics.gridKgPerKWh) kg/kWh",
            overheads: overheads)
        if json { return try Output.json(report) }
        typealias P = PublishedDeepSeekV3
        let published = P.describes(config)
        func thousands(_ h: Double) -> String { Output.grouped(Int((h / 1000).rounded())) + "K" }
        var rows: [[String]] = [["phase", "tokens", "steps", "GPU-hours", "days"] + (published ? ["published GPU-hours"] : [])]
        let publishedHours = ["pre-training": thousands(P.preTrainingGPUHours), "context-extension-32k": thousands(P.contextExtensionGPUHours) + " (both)",
                              "post-training": thousands(P.postTrainingGPUHours)]
        for r in results {
            rows.append([r.name, r.tokens > 0 ? Output.fixed(r.tokens / 1e12, 3) + "T" : "–", Output.grouped(r.steps),
                         Output.grouped(Int(r.gpuHours.rounded())), Output.fixed(r.wallDays, 1)] + (published ? [publishedHours[r.name] ?? ""] : []))
        }
        rows.append(["total", "", "", Output.grouped(Int(total.rounded())), Output.fixed(results.reduce(0) { $0 + $1.wallDays }, 1)] + (published ? [thousands(P.totalGPUHours)] : []))
        var text = Output.table(rows)
        text += "\n\nstep (full batch): \(Output.fixed(step.stepTimeS, 3)) s" + (published ? " (published \(P.stepSeconds) s)" : "")
        text += "\nGPU-hours per trillion tokens (pre-training): \(Output.grouped(Int(report.gpuHoursPerTrillionTokens.rounded())))" + (published ? " (published \(thousands(P.gpuHoursPerTrillionTokens)))" : "")
        text += "\nmemory: \(Output.fixed(memory.peakBytesPerGpu / 1e9, 1)) GB peak per GPU (rank \(memory.peakRank)) of \(Output.fixed(memory.capacityBytes / 1e9, 0)) GB: \(memory.fits ? "fits" : "does not fit; largest term \(memory.largestTerm)")"
        text += "\ncost: $\(Output.fixed(report.costUsd / 1e6, 3))M" + (published ? " (published $\(Output.fixed(P.costUSD / 1e6, 3))M)" : "")
        text += "\nenergy: \(Output.fixed(energyMWh, 0)) MWh, CO2: \(Output.fixed(report.co2Tonnes, 0)) t (\(report.assumptions))"
        if let o = overheads {
            text += "\noverheads (not in the total): \(Output.fixed(o.interruptions, 1)) expected interruptions, \(Output.grouped(Int(o.failureGPUHours))) GPU-h lost to failures, \(Output.grouped(Int(o.checkpointGPUHours))) GPU-h blocked by checkpoints"
        }
        for r in results where !r.note.isEmpty { text += "\nnote (\(r.name)): \(r.note)" }
        return text
    }
}
