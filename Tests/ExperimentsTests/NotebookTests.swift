import Foundation
import Testing
@testable import Experiments

@Suite struct NotebookTests {
    /// A fake llmsim: echoes its arguments, writes a figure for --svg.
    static func fake(_ answer: String) -> Notebook.Runner {
        { args in
            if let k = args.firstIndex(of: "--svg") {
                try "<svg>\(answer)</svg>".write(toFile: args[k + 1], atomically: true, encoding: .utf8)
                return Notebook.CommandResult(status: 0, stdout: "wrote \(args[k + 1])")
            }
            if args.first == "fails" { return Notebook.CommandResult(status: 2, stdout: "", stderr: "error: boom") }
            if args.first == "validate" { return Notebook.CommandResult(status: 1, stdout: "2 passed, 1 failed") }
            return Notebook.CommandResult(status: 0, stdout: args.contains("--markdown") ? "| a |\n|---|\n| \(answer) |" : "\(args.joined(separator: " ")) → \(answer)\nwrote somewhere")
        }
    }

    @Test("run writes outputs under each block; check passes on a fresh notebook and catches stale text or figures")
    func runAndCheck() throws {
        let dir = try scratchDirectory("notebook")
        let figure = (dir as NSString).appendingPathComponent("figures/plot.svg")
        try FileManager.default.createDirectory(atPath: (figure as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let source = """
            # Title

            ```llmsim
            # a comment
            step "Experiments/my file.yaml" --json
            results db.sqlite --markdown
            report db.sqlite --x a --y b --svg \(figure) --title "A plot"
            !validate
            ```

            Text after.
            """
        let path = try write(source, "nb.md", in: dir)
        let first = try Notebook(path: path, text: source).rendered(run: Self.fake("1"))
        #expect(first.text.contains("""
            ```
            <!-- llmsim output -->
            ```text
            step Experiments/my file.yaml --json → 1
            ```

            | a |
            |---|
            | 1 |

            ![A plot](\(Notebook.relative(figure, from: dir)))

            ```text
            2 passed, 1 failed
            (exit status 1)
            ```
            <!-- end llmsim output -->

            Text after.
            """))
        #expect(!first.text.contains("wrote somewhere"))
        try first.text.write(toFile: path, atomically: true, encoding: .utf8)
        // Rendering a rendered notebook replaces its outputs (idempotent).
        #expect(try Notebook(path: path).rendered(run: Self.fake("1")).text == first.text)
        let scratch = (dir as NSString).appendingPathComponent("scratch")
        #expect(try Notebook(path: path).check(run: Self.fake("1"), scratch: scratch).isEmpty)
        let stale = try Notebook(path: path).check(run: Self.fake("2"), scratch: scratch)
        #expect(stale.count == 2)       // the text and the figure
        #expect(stale[0].contains("stored:") && stale[0].contains("fresh:"))
        #expect(stale[1].contains("figure differs"))
    }

    @Test func failingCommandStopsWithItsLine() throws {
        let text = "intro\n```llmsim\nfails now\n```\n"
        #expect { _ = try Notebook(path: "nb.md", text: text).rendered(run: Self.fake("1")) } throws: { e in
            "\(e)".contains("nb.md:3") && "\(e)".contains("error: boom")
        }
        #expect(throws: Notebook.NotebookError.self) { _ = try Notebook(path: "nb.md", text: "```llmsim\nstep x\n").rendered(run: Self.fake("1")) }
    }

    @Test func relativeLinksAndSplitting() throws {
        #expect(Notebook.relative("notebooks-md/figures/a.svg", from: "notebooks-md") == "figures/a.svg")
        #expect(Notebook.relative("docs/a.svg", from: "notebooks-md") == "../docs/a.svg")
        #expect(try Notebook.split("run 'a b' \"c\" d", at: "x") == ["run", "a b", "c", "d"])
        #expect(throws: Notebook.NotebookError.self) { try Notebook.split("run 'a", at: "x") }
    }
}

@Suite struct PlotTests {
    @Test("a plot has its title, axis labels with units, ticks, one legend entry per series, and is deterministic")
    func linePlot() {
        let series = [PlotSVG.Series(name: "schedule = 1f1b", points: [("2", 7.3), ("4", 7.6), ("8", 8.1)]),
                      PlotSVG.Series(name: "schedule = zb1p", points: [("2", 6.7), ("4", 6.7), ("8", 7.1)])]
        let svg = PlotSVG.render(series: series, kind: .line, title: "step against PP", xLabel: "parallel.pp", yLabel: "step_time_s [s]")
        #expect(svg.hasPrefix("<svg") && svg.hasSuffix("</svg>\n"))
        for text in ["step against PP", "parallel.pp", "step_time_s [s]", "schedule = 1f1b", "schedule = zb1p", ">8<"] { #expect(svg.contains(text), "\(text)") }
        #expect(svg.components(separatedBy: "<polyline").count == 3)
        #expect(svg.components(separatedBy: "<circle").count == 7)
        #expect(svg == PlotSVG.render(series: series, kind: .line, title: "step against PP", xLabel: "parallel.pp", yLabel: "step_time_s [s]"))
        let bars = PlotSVG.render(series: series, kind: .bar, title: "t", xLabel: "x", yLabel: "y")
        #expect(bars.components(separatedBy: "<rect").count == 1 + 1 + 6 + 2)   // background, 6 bars, 2 legend keys
    }

    /// Stacked bars: one bar per x, each series a layer on the one before, the axis spanning
    /// the tallest stack (7.3 + 6.7 = 14 → ticks to 15), zero parts left out.
    @Test func stackedPlot() {
        let parts = [PlotSVG.Series(name: "compute_s", points: [("0", 7.3), ("1", 7.6)]),
                     PlotSVG.Series(name: "bubble_s", points: [("0", 6.7), ("1", 0)])]
        let svg = PlotSVG.render(series: parts, kind: .stacked, title: "t", xLabel: "point", yLabel: "s")
        #expect(svg.components(separatedBy: "<rect").count == 1 + 1 + 3 + 2)   // background, 3 parts, 2 legend keys
        #expect(svg.contains(">15<") && !svg.contains(">20<"))
        // The second layer of x = 0 starts where the first ends: y of 7.3 on a 0…15 axis.
        let plotH = 396.0 + 64 - 48 - 64, top = 48.0
        let y73 = top + plotH - 7.3 / 15 * plotH
        #expect(svg.contains("y=\"\(PlotSVG.f(top + plotH - 14 / 15 * plotH))\""))
        #expect(svg.contains("height=\"\(PlotSVG.f(y73 - (top + plotH - 14 / 15 * plotH)))\""))
    }

    @Test func niceTicks() {
        let (lo, hi, ticks) = PlotSVG.niceScale(min: 0, max: 8.3)
        #expect(lo == 0 && hi == 10 && ticks == [0, 2, 4, 6, 8, 10])
        #expect(PlotSVG.fmtTick(2_826_344) == "2,826,344")
        #expect(PlotSVG.fmtTick(0.25) == "0.25")
    }
}
