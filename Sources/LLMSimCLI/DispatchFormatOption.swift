import ArgumentParser
import Kernels

/// `--dispatch-format` of the routing and all-to-all commands.
extension DispatchFormat {
    static let optionHelp: ArgumentHelp = "How dispatch carries a token: fp8 (DeepSeek's recipe and DeepEP's benchmarks: 1 byte per channel plus a scale per 128) or bf16 (2 bytes per channel)."

    init(option text: String) throws {
        guard let format = DispatchFormat(rawValue: text) else {
            throw KernelError("--dispatch-format", "unknown format '\(text)'", fix: "use fp8 or bf16")
        }
        self = format
    }
}
