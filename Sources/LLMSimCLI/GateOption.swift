import ArgumentParser
import Kernels

/// `--gate` of the routing and all-to-all commands.
extension GateKind {
    /// The `--gate` option's help.
    static let optionHelp: ArgumentHelp = "router (the model's gate on sampled affinities), round-robin (NeMo AutoModel's fake balanced gate: token t picks experts tK…tK+K−1, a token's experts neighbours) deepep-benchmark (DeepEP's bandwidth benchmarks: random scores, a token's top-K experts among its best min(nodes, 4) nodes') or hybridep-benchmark (Hybrid-EP's: a uniform random K of all the experts)."

    /// The gate a `--gate` option names.
    init(option: String) throws {
        guard let gate = GateKind(rawValue: option) else {
            throw KernelError("--gate", "unknown gate '\(option)'", fix: "use " + GateKind.allCases.map(\.rawValue).joined(separator: ", "))
        }
        self = gate
    }
}
