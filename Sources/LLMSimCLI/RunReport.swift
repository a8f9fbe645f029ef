import Foundation
import Training

/// The human and JSON report of one experiment with a run: phases, GPU-hours, dollars,
/// energy, beside DeepSeek-V3's published figures when the experiment is the reproduction.
enum RunReport {
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

    static func render(_ e: Evaluation, json: Bool) throws -> String {
        guard let run = e.run else { return "" }
        let step = e.step, memory = e.memory, results = run.phases, total = run.gpuHoursTotal, economics = run.economics
        let report = Report(
            step: step, memory: memory, phases: results, gpuHoursTotal: total, costUsd: run.costUsd, energyMwh: run.energyMwh,
            co2Tonnes: run.co2Tonnes, gpuHoursPerTrillionTokens: run.gpuHoursPerTrillionTokens,
            assumptions: "energy = GPU-hours × node mean power per GPU (\(Int(run.wattsPerGPU)) W, incl. host) × PUE \(economics.pue); price $\(economics.pricePerGPUHour)/GPU-h; grid \(economics.gridKgPerKWh) kg/kWh",
            overheads: run.overheads)
        if json { return try Output.json(report) }
        typealias P = PublishedDeepSeekV3
        let published = P.describesRun(e.config, phases: results), on = P.deviceQualifier(e.config)
        func thousands(_ h: Double) -> String { Output.grouped(Int((h / 1000).rounded())) + "K" }
        var rows: [[String]] = [["phase", "tokens", "steps", "GPU-hours", "days", "peak memory"] + (published ? ["published GPU-hours\(on)"] : [])]
        let publishedHours = [P.preTraining: thousands(P.preTrainingGPUHours), P.contextExtension32K: thousands(P.contextExtensionGPUHours) + " (both)",
                              P.postTraining: thousands(P.postTrainingGPUHours)]
        for r in results {
            rows.append([r.name, r.tokens > 0 ? Output.tokens(r.tokens) : "–", Output.grouped(r.steps),
                         Output.grouped(Int(r.gpuHours.rounded())), Output.fixed(r.wallDays, 1),
                         r.memoryPeakBytes > 0 ? Output.fixed(r.memoryPeakBytes / 1e9, 1) + " GB" + (r.memoryFits ? "" : " (over)") : "–"]
                + (published ? [publishedHours[r.name] ?? ""] : []))
        }
        rows.append(["total", "", "", Output.grouped(Int(total.rounded())), Output.fixed(run.wallDays, 1), ""] + (published ? [thousands(P.totalGPUHours)] : []))
        var text = Output.table(rows)
        text += "\n\nstep (full batch): \(Output.fixed(step.stepTimeS, 3)) s" + (published ? " (published\(on) \(P.stepSeconds) s)" : "")
        if report.gpuHoursPerTrillionTokens > 0 {
            text += "\nGPU-hours per trillion tokens (pre-training): \(Output.grouped(Int(report.gpuHoursPerTrillionTokens.rounded())))" + (published ? " (published\(on) \(thousands(P.gpuHoursPerTrillionTokens)))" : "")
        }
        text += "\nmemory: \(Output.fixed(memory.peakBytesPerGpu / 1e9, 1)) GB peak per GPU (rank \(memory.peakRank)) of \(Output.fixed(memory.capacityBytes / 1e9, 1)) GB usable: \(memory.fits ? "fits" : "does not fit; largest term \(memory.largestTerm)")"
        text += "\ncost: $\(Output.fixed(report.costUsd / 1e6, 3))M" + (published ? " (published\(on) $\(Output.fixed(P.costUSD / 1e6, 3))M)" : "")
        text += "\nenergy: \(Output.fixed(run.energyMwh, 0)) MWh, CO2: \(Output.fixed(report.co2Tonnes, 0)) t (\(report.assumptions))"
        if let o = run.overheads {
            text += "\noverheads (not in the total): \(Output.fixed(o.interruptions, 1)) expected interruptions, \(Output.grouped(Int(o.failureGPUHours))) GPU-h lost to failures, \(Output.grouped(Int(o.checkpointGPUHours))) GPU-h blocked by checkpoints, \(Output.grouped(Int(o.maintenanceGPUHours))) GPU-h of planned maintenance, \(Output.grouped(Int(o.evaluationGPUHours))) GPU-h of evaluation; total \(Output.grouped(Int(o.totalGPUHours))) GPU-h"
        }
        for r in results where !r.note.isEmpty { text += "\nnote (\(r.name)): \(r.note)" }
        return text
    }
}
