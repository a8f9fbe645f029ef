import Kernels

extension ModelArchitecture {
    /// The router of this model's MoE layers, or nil for a dense model.
    public var routerConfig: RouterConfig? {
        guard let moe else { return nil }
        // V3 scores a group by the sum of its top K_r/M affinities (report §2.1.2: top-2 of 8/4).
        let perGroup = max(1, moe.topK / max(moe.topKGroups, 1))
        return RouterConfig(experts: moe.routedExperts, topK: moe.topK, groups: moe.groups, topKGroups: moe.topKGroups,
                            expertsPerGroupScore: min(perGroup, moe.routedExperts / moe.groups),
                            routedScalingFactor: moe.routedScalingFactor)
    }

    /// MLA shapes, or nil for GQA attention.
    public var mlaDimensions: MLADimensions? {
        guard case .mla(let m) = attention else { return nil }
        return MLADimensions(hidden: hiddenSize, heads: m.heads, qLoraRank: m.qLoraRank ?? hiddenSize, kvLoraRank: m.kvLoraRank,
                             qkNopeHeadDim: m.qkNopeHeadDim, qkRopeHeadDim: m.qkRopeHeadDim, vHeadDim: m.vHeadDim)
    }
}
