import ConfigIO
import CostModel
import Foundation
import Hardware
import Model
import Training
@testable import Experiments

let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// A fresh scratch folder for one test.
func scratchDirectory(_ name: String) throws -> String {
    let path = (NSTemporaryDirectory() as NSString).appendingPathComponent("llmsim-tests-\(name)-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// Writes `text` to `name` in `directory`; returns the path.
@discardableResult
func write(_ text: String, _ name: String, in directory: String) throws -> String {
    let path = (directory as NSString).appendingPathComponent(name)
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    return path
}

/// The shipped Llama 3.1 8B A100 experiment (dense, fast) as a base for test files.
let llamaBase = repoRoot.appendingPathComponent("Experiments/llama-3.1-8b-a100.yaml").path

func evaluator() throws -> PointEvaluator {
    PointEvaluator(models: try ModelCatalog.load(directory: repoRoot.appendingPathComponent("Experiments/models").path),
                   hardware: try HardwareCatalog.builtIn(), calibration: try KernelCalibration.hopper())
}

/// The step configurations of a shipped sweep (`Experiments/<name>`), point by point; nil for
/// an infeasible point.
func shippedSweep(_ name: String) throws -> [StepConfiguration?] {
    let file = try ExperimentFile.load(path: repoRoot.appendingPathComponent("Experiments/\(name)").path)
    let evaluator = try evaluator()
    return try file.points(hardware: evaluator.hardware).map { point in try point.document.map(evaluator.configuration) }
}
