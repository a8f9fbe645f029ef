import Foundation
import Hardware
import Kernels
import Model
import Testing
import Training
@testable import Experiments

/// The results database identifies an experiment by a hash that must change whenever what the
/// experiment computes could: its own text, its bases, and the files it names.
@Suite struct ExperimentHashTests {
    /// An experiment over the Llama base naming a local copy of its topology file.
    func experiment(in dir: String, topologyText: String, extra: String = "") throws -> ExperimentFile {
        _ = try write(topologyText, "cluster.yaml", in: dir)
        return try ExperimentFile.load(path: try write("base: \(llamaBase)\ntopology: cluster.yaml\n\(extra)", "hashed.yaml", in: dir))
    }

    var topology: String {
        get throws { try String(contentsOfFile: repoRoot.appendingPathComponent("Topologies/dgx-a100-selene-3072.yaml").path, encoding: .utf8) }
    }

    @Test("editing a named topology file changes the hash; rewriting it unchanged does not")
    func topologyFileIsHashed() throws {
        let dir = try scratchDirectory("hash-topology")
        let first = try experiment(in: dir, topologyText: try topology)
        #expect(first.document.namedFiles().contains { $0.hasSuffix("cluster.yaml") })
        #expect(try experiment(in: dir, topologyText: try topology).hash == first.hash)
        let edited = try experiment(in: dir, topologyText: try topology + "\n# a comment is a change too\n")
        #expect(edited.hash != first.hash)
    }

    @Test("a file named only in a sweep value, and a histogram:FILE reference, count")
    func sweptAndPrefixedFilesAreHashed() throws {
        let dir = try scratchDirectory("hash-sweep")
        _ = try write(try topology, "swept.yaml", in: dir)
        let sweep = "base: \(llamaBase)\nsweep:\n  grid:\n    topology: [swept.yaml]\n"
        let swept = try ExperimentFile.load(path: try write(sweep, "swept-exp.yaml", in: dir))
        _ = try write(try topology + "\n# edited\n", "swept.yaml", in: dir)
        #expect(try ExperimentFile.load(path: try write(sweep, "swept-exp.yaml", in: dir)).hash != swept.hash)

        _ = try write("[1, 2]", "loads.json", in: dir)
        let histogram = "routing: {skew: \"histogram:loads.json\"}\n"
        let named = try experiment(in: dir, topologyText: try topology, extra: histogram)
        #expect(named.document.namedFiles().map { ($0 as NSString).lastPathComponent } == ["cluster.yaml", "loads.json"])
        _ = try write("[1, 4]", "loads.json", in: dir)
        #expect(try experiment(in: dir, topologyText: try topology, extra: histogram).hash != named.hash)
    }

    @Test("routing.skew takes histogram:FILE beside the experiment, checked against the model's experts")
    func histogramSkewInAnExperiment() throws {
        let dir = try scratchDirectory("hash-histogram")
        let models = try ModelCatalog.load(directory: repoRoot.appendingPathComponent("Experiments/models").path)
        let hardware = try HardwareCatalog.builtIn()
        let v3 = repoRoot.appendingPathComponent("Experiments/deepseek-v3.yaml").path
        let loads = (0..<256).map { String(100 + $0 % 7) }.joined(separator: ", ")
        _ = try write("[\(loads)]", "loads.json", in: dir)
        let good = try write("base: \(v3)\nrouting: {skew: \"histogram:loads.json\"}\n", "good.yaml", in: dir)
        let config = try StepExperiment.load(path: good, models: models, hardware: hardware)
        guard case .histogram(let h) = config.routingSkew else { Issue.record("not a histogram: \(config.routingSkew)"); return }
        #expect(h.count == 256 && h[0] == 100 && h[6] == 106)
        _ = try write("[1, 2, 3]", "short.json", in: dir)
        let short = try write("base: \(v3)\nrouting: {skew: \"histogram:short.json\"}\n", "short.yaml", in: dir)
        #expect { try StepExperiment.load(path: short, models: models, hardware: hardware) } throws: { error in
            "\(error)".contains("routing.skew") && "\(error)".contains("3 values for 256 experts")
        }
        let missing = try write("base: \(v3)\nrouting: {skew: \"histogram:nope.json\"}\n", "missing.yaml", in: dir)
        #expect { try StepExperiment.load(path: missing, models: models, hardware: hardware) } throws: { error in
            "\(error)".contains("routing.skew") && "\(error)".contains("does not exist")
        }
    }

    @Test("two histograms of one length are different routings to the routing cache")
    func histogramIdentity() {
        #expect(ExpertSkew.histogram([1, 2]).identity != ExpertSkew.histogram([2, 1]).identity)
        #expect(ExpertSkew.histogram([1, 2]).description == ExpertSkew.histogram([2, 1]).description)
        #expect(ExpertSkew.zipf(exponent: 1.1).identity == "zipf:1.1")
    }
}
