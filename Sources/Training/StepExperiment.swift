import ConfigIO
import Foundation
import Hardware
import Kernels
import Model
import Schedules

/// Reads the step part of an experiment file (strict: unknown keys are errors).
///
/// ```yaml
/// model: deepseek-v3                      # catalog name or path to a config.json
/// topology: ../Topologies/deepseek-v3-mpft.yaml
/// parallel: {pp: 16, ep: 64, tp: 1}
/// schedule: dualpipe                      # gpipe 1f1b interleaved zb1p dualpipe dualpipev
/// microbatches: 120                       # per pipeline per step
/// microbatch_tokens: 4096                 # per GPU
/// precision: fp8                          # fp8 | bf16
/// recompute: deepseek                     # none | deepseek | selective | full (default: deepseek for MLA, none otherwise)
/// communication_sms: 20
/// routing: {skew: uniform, seed: 1}
/// ```
/// Paths are relative to the experiment file.
public enum StepExperiment {
    static let keys = ["model", "topology", "parallel", "schedule", "virtual_stages", "microbatches", "microbatch_tokens",
                       "precision", "recompute", "communication_sms", "routing", "run"]

    public static func load(path: String, models: ModelCatalog, hardware: HardwareCatalog) throws -> StepConfiguration {
        let v = try ConfigValue.load(path: path)
        try v.requireKnownKeys(keys)
        let directory = (path as NSString).deletingLastPathComponent
        func resolve(_ p: String) -> String { p.hasPrefix("/") ? p : (directory as NSString).appendingPathComponent(p) }
        let modelName = try v.required("model").string()
        let model = try models.resolve(modelName.hasSuffix(".json") ? resolve(modelName) : modelName).0
        let topology = try Topology.load(path: resolve(try v.required("topology").string()), catalog: hardware)
        let parallel = try v.required("parallel")
        try parallel.requireKnownKeys(["pp", "ep", "tp"])
        let tp = try parallel.positiveInt("tp", default: 1)
        if tp != 1 {
            throw try parallel.required("tp").error("tensor parallelism is not modelled yet (got tp: \(tp))", fix: "use tp: 1 (DeepSeek-V3 trains without TP)")
        }
        let schedule = ScheduleKind(rawValue: try v.choice("schedule", ScheduleKind.allCases.map(\.rawValue)))!
        let precision = try v.choice("precision", ["fp8", "bf16"]) == "fp8" ? PrecisionPolicy.deepSeekFP8 : .bf16
        var skew = ExpertSkew.uniform, seed: UInt64 = 1
        if let routing = try v.optional("routing") {
            try routing.requireKnownKeys(["skew", "seed"])
            if let s = try routing.optional("skew") {
                do { skew = try ExpertSkew(parsing: try s.string()) } catch let e as KernelError { throw s.error(e.problem, fix: e.fix) }
            }
            seed = UInt64(try routing.positiveInt("seed", default: 1, allowZero: true))
        }
        let config = StepConfiguration(
            model: model, topology: topology, pp: try parallel.positiveInt("pp"), ep: try parallel.positiveInt("ep", default: 1),
            schedule: schedule, virtualStages: try v.positiveInt("virtual_stages", default: 2),
            microbatches: try v.positiveInt("microbatches"), microbatchTokens: try v.positiveInt("microbatch_tokens"),
            precision: precision,
            recompute: try v.optional("recompute") == nil ? nil : RecomputePolicy(rawValue: try v.choice("recompute", RecomputePolicy.allCases.map(\.rawValue)))!,
            communicationSMs: try v.positiveInt("communication_sms", default: 20),
            routingSkew: skew, seed: seed)
        do { try config.validate() } catch let e as ScheduleError { throw ConfigError(file: path, key: "parallel", problem: e.problem, fix: e.fix) }
        do { _ = try ScheduleGenerator.make(schedule, pp: config.pp, microbatches: config.microbatches, virtualStages: config.virtualStages) }
        catch let e as ScheduleError { throw ConfigError(file: path, key: "schedule", problem: e.problem, fix: e.fix) }
        return config
    }
}
