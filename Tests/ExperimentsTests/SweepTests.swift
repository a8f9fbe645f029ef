import ConfigIO
import Foundation
import Hardware
import Testing
@testable import Experiments

@Suite struct SweepTests {
    func load(_ body: String) throws -> ExperimentFile {
        let dir = try scratchDirectory("sweep")
        return try ExperimentFile.load(path: try write("base: \(llamaBase)\n" + body, "e.yaml", in: dir))
    }

    @Test("grid: cartesian product, first key outermost; values set in each point's document")
    func gridExpansion() throws {
        let file = try load("""
            sweep:
              grid:
                parallel.pp: [2, 4]
                schedule: [1f1b, zb1p, gpipe]
            """)
        #expect(file.sweep.count == 6)
        let points = try file.points(hardware: try HardwareCatalog.builtIn())
        #expect(points.map { $0.parameters.map(\.value) } == [["2", "1f1b"], ["2", "zb1p"], ["2", "gpipe"], ["4", "1f1b"], ["4", "zb1p"], ["4", "gpipe"]])
        let doc = try #require(points[4].document)
        #expect(try doc.value(at: "parallel.pp")?.int() == 4)
        #expect(try doc.value(at: "schedule")?.string() == "zb1p")
        #expect(try doc.value(at: "parallel.ep")?.int() == 1)      // inherited from the base
    }

    /// Lists and mappings swept whole show in flow style, as one would write them.
    @Test func listAndMappingValuesInFlowStyle() throws {
        let file = try load("""
            sweep:
              grid:
                recompute_modules: [[layernorm], [layernorm, core_attn]]
                parallel: [{pp: 2}, {pp: 4, sp: true}]
            """)
        let points = try file.points(hardware: try HardwareCatalog.builtIn())
        #expect(points.map { $0.parameters.map(\.value) }.first == ["[layernorm]", "{pp: 2}"])
        #expect(points.map { $0.parameters.map(\.value) }.last == ["[layernorm, core_attn]", "{pp: 4, sp: true}"])
    }

    @Test("zip advances together (outermost); derive computes from swept values and built-ins")
    func zipAndDerive() throws {
        let file = try load("""
            sweep:
              zip:
                parallel.pp: [2, 8]
                communication_sms: [4, 16]
              grid:
                schedule: [1f1b, zb1p]
              derive:
                microbatches: "max(2 * parallel.pp, 6144 // dp)"
            """)
        let points = try file.points(hardware: try HardwareCatalog.builtIn())
        #expect(points.count == 4)
        // Selene: 3,072 GPUs; DP = 3072 / PP.
        #expect(points.map { $0.parameters.map(\.value) } == [["2", "4", "1f1b", "4"], ["2", "4", "zb1p", "4"], ["8", "16", "1f1b", "16"], ["8", "16", "zb1p", "16"]])
        #expect(try points[2].document?.value(at: "microbatches")?.int() == 16)
    }

    @Test("sweep mistakes are errors with the file and line")
    func sweepErrors() throws {
        let cases: [(String, String)] = [
            ("sweep:\n  zip:\n    parallel.pp: [2, 4]\n    schedule: [1f1b]\n", "same length"),
            ("sweep:\n  grid:\n    paralel.pp: [2, 4]\n", "did you mean 'parallel'"),
            ("sweep:\n  grid:\n    parallel.pp: []\n", "has no values"),
            ("sweep:\n  grid:\n    microbatches: [8]\n  derive:\n    microbatches: \"2\"\n", "both swept and derived"),
            ("sweep:\n  griid:\n    parallel.pp: [2]\n", "did you mean 'grid'"),
            ("sweep:\n  derive:\n    microbatches: \"2 * (dp\"\n", "missing ')'"),
        ]
        for (body, expected) in cases {
            do {
                let file = try load(body)
                _ = try file.points(hardware: try HardwareCatalog.builtIn())
                Issue.record("no error for \(body)")
            } catch let e as ConfigError {
                #expect(e.description.contains(expected), "\(e)")
                #expect(e.file?.hasSuffix("e.yaml") == true, "\(e)")
                #expect(e.line != nil, "\(e)")
            }
        }
    }

    @Test("an unknown name in a derived expression stops the sweep with the allowed names")
    func unknownDerivedName() throws {
        let file = try load("sweep:\n  derive:\n    microbatches: \"2 * dq\"\n")
        #expect { _ = try file.points(hardware: try HardwareCatalog.builtIn()) } throws: { e in
            "\(e)".contains("unknown name 'dq'") && "\(e)".contains("dp")
        }
    }
}
