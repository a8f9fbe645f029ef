import Training

/// `llmsim step --sensitivity`: the table of `StepSensitivity`, the figures that move the step
/// first, then one line naming those that do not move it at all.
enum StepSensitivityTable {
    static func render(_ s: StepSensitivity) -> String {
        let pct = Output.general(s.perturbation * 100) + " %"
        /// A signed figure that prints no sign when it rounds to zero.
        func signed(_ x: Double, _ digits: Int) -> String {
            let text = Output.fixed(abs(x), digits)
            return (Double(text) == 0 ? "" : x > 0 ? "+" : "−") + text
        }
        func value(_ r: StepSensitivity.Row) -> String {
            let digits = r.value >= 100 ? 0 : r.value >= 10 ? 1 : 2
            return Output.fixed(r.value, digits) + (r.unit.isEmpty ? "" : " " + r.unit)
        }
        let moving = s.rows.filter(s.moves), still = s.rows.filter { !s.moves($0) }
        let rows: [[String]] = [["figure (experiment key)", "source", "value", "step at −" + pct, "at +" + pct, "elasticity"]]
            + moving.map { r in
                [r.label + " (" + r.key + ")", r.evidence, value(r), signed(r.stepLowerS - s.stepS, 3) + " s", signed(r.stepHigherS - s.stepS, 3) + " s",
                 signed(r.elasticity, 3)]
            }
        return "how the step time (" + Output.fixed(s.stepS, 3) + " s) answers to each figure it rests on, each moved by ±" + pct
            + " with the step re-run (elasticity: % of step time per % of the figure)\n"
            + Output.table(rows, rightAlignedFrom: 2)
            + (still.isEmpty ? "" : "\nno effect on this step: " + still.map(\.key).joined(separator: ", "))
    }
}
