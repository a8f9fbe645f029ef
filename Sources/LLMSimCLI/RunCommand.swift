import ArgumentParser
import ConfigIO
import CostModel
import Experiments
import Foundation
import Hardware
import Schedules
import Training

/// `llmsim run EXPERIMENT.yaml`: every point of the experiment (one, or the points of its
/// `sweep:`), simulated in parallel, stored in a SQLite results database, summarised in a
/// table. A single experiment with a `run:` section prints the whole-run report instead.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "Run an experiment: its sweep points in parallel, results in SQLite, GPU-hours, dollars, energy.")

    @Argument(help: "Experiment file, e.g. Experiments/deepseek-v3.yaml or Experiments/cluster-size.yaml.") var experiment: String
    @Option(help: "Results database (default: results/<experiment name>.sqlite).") var db: String?
    @Flag(help: "Finish an interrupted run: keep the points already in the database, run the missing ones.") var resume = false
    @Option(help: "Concurrent simulations (default: all cores).") var workers: Int?
    @Option(name: .customLong("trace"), help: "Write the step timeline of this point (see --svg, --chrome) instead of running the sweep.") var tracePoint: Int?
    @Option(help: "With --trace: SVG timeline file.") var svg: String?
    @Option(help: "With --trace: Chrome trace-event JSON file (open in Perfetto).") var chrome: String?
    @Flag(help: "Print JSON with stable keys.") var json = false
    @Flag(help: "Do not write a results database.") var noDb = false
    @Flag(help: "Print nothing (results go to the database; see llmsim results).") var quiet = false
    @Option(help: .hidden) var pointDelayMs = 0

    func run() throws {
        try Output.reportingErrors {
            let text = try output()
            if !quiet { print(text) }
        }
    }

    func output() throws -> String {
        if quiet && noDb { throw ValidationError("--quiet with --no-db would keep nothing; drop one of them") }
        let file = try ExperimentFile.load(path: experiment)
        let hardware = try HardwareCatalog.builtIn()
        let evaluator = PointEvaluator(models: try ResourceLocator.models(), hardware: hardware, calibration: try KernelCalibration.hopper())
        let points = try file.points(hardware: hardware)
        if let tracePoint { return try trace(points, tracePoint, evaluator) }
        if file.sweep.isSingle, let document = points.first?.document, try RunExperiment.hasRun(document) {
            return try single(file, points[0], document, evaluator)
        }
        return try sweep(file, points, evaluator)
    }

    var databasePath: String { db ?? "results/\(((experiment as NSString).lastPathComponent as NSString).deletingPathExtension).sqlite" }

    /// One experiment with a run: the whole-run report (published figures beside it for the
    /// reproduction), stored as one point.
    func single(_ file: ExperimentFile, _ point: Sweep.Point, _ document: ConfigValue, _ evaluator: PointEvaluator) throws -> String {
        let config = try evaluator.configuration(document)
        let (phases, economics) = try RunExperiment.parse(document)
        let e = try Evaluation.evaluate(config: config, phases: phases, economics: economics, overheads: try RunExperiment.overheads(document),
                                        calibration: evaluator.calibration, routingCache: evaluator.routingCache)
        if !noDb {
            let store = try ResultsStore(path: databasePath)
            let id = try store.begin(file, points: 1, parameterKeys: [], resume: false).id
            try store.record(experimentID: id, point: point, outcome: PointOutcome(e))
        }
        return try RunReport.render(e, json: json)
    }

    /// The points of a sweep, in parallel, each committed to the database as it finishes.
    func sweep(_ file: ExperimentFile, _ points: [Sweep.Point], _ evaluator: PointEvaluator) throws -> String {
        let runner = SweepRunner(evaluator: evaluator, workers: workers ?? ProcessInfo.processInfo.activeProcessorCount, delayPerPointMs: pointDelayMs)
        let configs = try runner.preflight(points)
        let store = try ResultsStore(path: noDb ? ":memory:" : databasePath)
        let keys = points.first?.parameters.map(\.key) ?? []
        let (id, finished) = try store.begin(file, points: points.count, parameterKeys: keys, resume: resume)
        let progress = Progress(total: points.count, alreadyDone: finished.count, label: file.name)
        progress.exitOnInterrupt(resumeCommand: noDb ? nil : "llmsim run \(experiment) --db \(databasePath) --resume")
        try runner.warm(configs.sorted { $0.key < $1.key }.filter { !finished.contains($0.key) }.map(\.value))
        try runner.run(points, skip: finished) { point, outcome in
            try store.record(experimentID: id, point: point, outcome: outcome)
            progress.advance(point: point.index, outcome: outcome)
        }
        progress.finish(database: noDb ? nil : databasePath)
        let rows = try store.rows(experiment: file.name)
        if json { return ResultsFormat.json(rows) }
        let outputs = file.outputs ?? OutputCatalog.defaultSummary(for: rows)
        let (table, numericFrom, notes) = ResultsFormat.table(rows, outputs: outputs)
        var text = Output.table(table, rightAlignedFrom: numericFrom)
        if !notes.isEmpty { text += "\n\n" + notes.joined(separator: "\n") }
        // The best feasible points of a sweep, by step time and by the run's GPU-hours.
        let feasible = rows.filter { $0.status == "ok" }
        if rows.count > 1 {
            var best: [String] = []
            for (output, what) in [("step_time_s", "fastest step"), ("gpu_hours_total", "fewest GPU-hours")] {
                guard let row = feasible.filter({ $0.number(output) != nil }).min(by: { $0.number(output)! < $1.number(output)! }) else { continue }
                let parameters = row.parameters.map { "\($0.key)=\($0.value)" }.joined(separator: ", ")
                best.append("\(what): point \(row.point) (\(parameters)): \(ResultsFormat.cell(output, row.number(output)!)) \(OutputCatalog.spec(output)!.unit)")
            }
            if !best.isEmpty { text += "\n\n" + best.joined(separator: "\n") }
            if feasible.isEmpty { text += "\n\nno feasible point" }
        }
        return text
    }

    /// The step timeline of one point (SVG and/or Chrome trace).
    func trace(_ points: [Sweep.Point], _ index: Int, _ evaluator: PointEvaluator) throws -> String {
        guard points.indices.contains(index) else {
            throw ValidationError("--trace \(index): the experiment has points 0 to \(points.count - 1)")
        }
        guard svg != nil || chrome != nil else { throw ValidationError("--trace needs --svg FILE and/or --chrome FILE") }
        let point = points[index]
        guard let document = point.document else { throw point.infeasible ?? ConfigError(problem: "point \(index) cannot be built") }
        let config = try evaluator.configuration(document)
        let simulation = try StepSimulation(config: config, calibration: evaluator.calibration, routingCache: evaluator.routingCache)
        let plan = try simulation.plan()
        let step = try simulation.run(microbatches: config.microbatches, plan: plan)
        let parameters = point.parameters.isEmpty ? "" : " (" + point.parameters.map { "\($0.key)=\($0.value)" }.joined(separator: ", ") + ")"
        try StepTimeline.write(step, plan: plan, title: StepTimeline.title("\(config.model.name), point \(index)\(parameters)", step, passes: config.pipelinePasses), svg: svg, trace: chrome)
        return "point \(index): step \(Output.fixed(step.stepTimeS, 3)) s, pipeline \(Output.fixed(step.pipelineS, 3)) s, bubble on rank 0 \(Output.fixed(step.bubbleS, 3)) s\n"
            + [svg, chrome].compactMap { $0.map { "wrote \($0)" } }.joined(separator: "\n")
    }
}
