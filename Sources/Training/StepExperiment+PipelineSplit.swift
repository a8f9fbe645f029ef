import ConfigIO
import Schedules

extension StepExperiment {
    /// Megatron-Core's split settings under `parallel` (`MegatronPipelineSplit`):
    /// `account_for_embedding_in_pipeline_split`, `account_for_loss_in_pipeline_split` (true or
    /// false), `num_layers_in_first_pipeline_stage`, `num_layers_in_last_pipeline_stage`. They
    /// write the layout Megatron would build into `config.pipelineLayout`; with a
    /// `pipeline_layout` beside them the experiment is refused (Megatron refuses both too).
    static func parseMegatronSplit(_ parallel: ConfigValue, into config: inout StepConfiguration) throws {
        let keys = ["account_for_embedding_in_pipeline_split", "account_for_loss_in_pipeline_split",
                    "num_layers_in_first_pipeline_stage", "num_layers_in_last_pipeline_stage"]
        guard let given = try keys.first(where: { try parallel.optional($0) != nil }) else { return }
        let at = try parallel.required(given)
        if try parallel.optional("pipeline_layout") != nil {
            throw at.error("\(given) shapes Megatron's own split, but parallel.pipeline_layout places the layers by hand",
                           fix: "give one of them")
        }
        let split = MegatronPipelineSplit(accountForEmbedding: try parallel.optional("account_for_embedding_in_pipeline_split")?.bool() ?? false,
                                          accountForLoss: try parallel.optional("account_for_loss_in_pipeline_split")?.bool() ?? false,
                                          firstStageLayers: try parallel.positiveIntIfPresent("num_layers_in_first_pipeline_stage"),
                                          lastStageLayers: try parallel.positiveIntIfPresent("num_layers_in_last_pipeline_stage"))
        guard split.isSet else { return }
        let vp = config.pipelineStages / max(config.pp, 1)
        do {
            config.pipelineLayout = try split.layout(layers: config.model.layers, pp: config.pp, vp: vp, mtpDepth: config.model.mtpDepth)
            try config.checkPipelineLayout()
        } catch let e as ScheduleError { throw at.error(e.problem, fix: e.fix).markedInfeasible }
    }
}
