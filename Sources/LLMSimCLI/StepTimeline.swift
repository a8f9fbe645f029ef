import Foundation
import Schedules
import Training

/// Writes a simulated step's timeline: an SVG (pipeline instructions, then each rank's ZeRO-1
/// parts) and/or a Chrome trace-event file with the same, per rank and stream. Shared by
/// `llmsim step` and `llmsim run --trace`.
enum StepTimeline {
    static func write(_ step: StepResult, plan: StepSimulation.StagePlan, title: String, svg: String?, trace: String?) throws {
        let segments = step.segments + step.optimizerSegments
        if let svg {
            try TimelineSVG.render(segments: segments, makespan: step.stepTimeS, title: title).write(toFile: svg, atomically: true, encoding: .utf8)
        }
        if let trace {
            try StepTrace.render(segments: segments, stageTimes: plan.stageTimes, stageLayers: plan.stageLayers, name: title)
                .write(toFile: trace, atomically: true, encoding: .utf8)
        }
    }

    /// "MODEL …: pipeline P s + optimizer O s".
    /// With several pipeline passes per step the timeline shows the last.
    static func title(_ name: String, _ step: StepResult, passes: Int) -> String {
        let shown = passes == 1 ? "" : " in \(passes) passes, the last shown"
        return "\(name): pipeline \(Output.fixed(step.pipelineS, 2)) s\(shown) + optimizer \(Output.fixed(step.optimizerS, 2)) s"
    }
}
