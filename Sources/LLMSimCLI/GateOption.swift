import Kernels

/// `--gate` of the routing and all-to-all commands.
extension GateKind {
    /// The gate a `--gate` option names.
    init(option: String) throws {
        guard let gate = GateKind(rawValue: option) else {
            throw KernelError("--gate", "unknown gate '\(option)'", fix: "use router or round-robin")
        }
        self = gate
    }
}
