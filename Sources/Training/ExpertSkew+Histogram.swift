import ConfigIO
import Foundation
import Kernels

extension ExpertSkew {
    /// `uniform`, `dirichlet:ALPHA`, `zipf:S`, or `histogram:FILE`: a JSON or YAML list of
    /// loads, one per expert (token counts from a real run's router, say), with FILE resolved by
    /// `resolve` (against the experiment file's folder; by default as given, relative to the
    /// working directory, as on the command line). `llmsim route --skew`, `llmsim alltoall
    /// --skew` and an experiment's `routing.skew` all read it here.
    public static func parsing(_ text: String, resolve: (String) -> String = { $0 }) throws -> ExpertSkew {
        let prefix = "histogram:"
        guard text.hasPrefix(prefix) else { return try ExpertSkew(parsing: text) }
        let path = resolve(String(text.dropFirst(prefix.count)))
        guard FileManager.default.fileExists(atPath: path) else {
            throw KernelError("histogram", "the expert-load file '\(path)' does not exist",
                              fix: "give a JSON or YAML list of loads, one per expert, e.g. histogram:loads.json beside the experiment file")
        }
        return .histogram(try ConfigValue.load(path: path).elements().map { try $0.double() })
    }
}
