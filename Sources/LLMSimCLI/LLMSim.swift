import ArgumentParser
import Experiments

/// The `llmsim` command: a thin layer over the libraries.
public struct LLMSim: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "llmsim",
        abstract: "Simulate and cost large-scale LLM training on GPU clusters.",
        discussion: """
        Start with the DeepSeek-V3 reproduction: `llmsim run Experiments/deepseek-v3.yaml`
        (one step: `llmsim step …`; every published check: `llmsim validate`).
        Every command takes --json for machine-readable output with stable keys.
        """,
        version: LLMSimVersion.current,
        subcommands: [ModelCommand.self, TopologyCommand.self, FP8Command.self, MLACommand.self, RouteCommand.self, EPLBCommand.self, AllToAllCommand.self, ScheduleCommand.self, StepCommand.self, KernelsCommand.self, RunCommand.self, ResultsCommand.self, ReportCommand.self, NotebookCommand.self, MemoryCommand.self, ValidateCommand.self, BenchCommand.self])

    public init() {}
}
