/// Megatron-style tensor parallelism (Shoeybi et al. 2019; Korthikanti et al. 2022): inside a
/// TP group of `tp` GPUs, the attention heads and the dense FFN's intermediate dimension are
/// split (column-parallel Q/K/V and up/gate projections, row-parallel output and down
/// projections) and the vocabulary of the embedding and head is split (vocab-parallel). What
/// one GPU computes is then the layer of a narrower model: this shard.
///
/// Not split: MLA's low-rank down-projections (replicated, as in Megatron's MLA), norms, and
/// the routed and shared experts of MoE layers (experts are spread by expert parallelism).
/// A GQA model whose K/V heads are fewer than `tp` replicates them (one per GPU).
extension ModelArchitecture {
    public struct TensorParallelError: Error, CustomStringConvertible, Sendable {
        public var problem: String
        public var fix: String
        public var description: String { "\(problem) — \(fix)" }
    }

    /// The per-GPU shard of this model under `tp`-way tensor parallelism (`self` for tp = 1).
    public func tensorParallelShard(_ tp: Int) throws -> ModelArchitecture {
        guard tp > 1 else { return self }
        func fail(_ p: String, _ f: String) -> TensorParallelError { TensorParallelError(problem: p, fix: f) }
        var shard = self
        shard.name = "\(name) (TP\(tp) shard)"
        guard attention.heads % tp == 0 else {
            throw fail("tp \(tp) does not divide the \(attention.heads) attention heads", "use a tp that divides \(attention.heads)")
        }
        switch attention {
        case .mla(var m):
            m.heads /= tp
            shard.attention = .mla(m)
        case .gqa(var g):
            if g.kvHeads % tp == 0 { g.kvHeads /= tp }
            else if tp % g.kvHeads == 0 { g.kvHeads = 1 }
            else { throw fail("tp \(tp) and the \(g.kvHeads) K/V heads do not divide one another", "use a tp that divides or is a multiple of \(g.kvHeads)") }
            g.heads /= tp
            shard.attention = .gqa(g)
        }
        if denseLayerCount > 0 {
            guard denseIntermediateSize % tp == 0 else {
                throw fail("tp \(tp) does not divide the FFN width \(denseIntermediateSize)", "use a tp that divides \(denseIntermediateSize)")
            }
            shard.denseIntermediateSize = denseIntermediateSize / tp
        }
        shard.vocabularySize = (vocabularySize + tp - 1) / tp
        // Shared experts are a tensor-parallel MLP (Megatron-Core's SharedExpertMLP).
        if var m = moe, m.sharedExperts > 0 {
            let width = m.sharedExperts * m.expertIntermediateSize
            guard width % tp == 0 else {
                throw fail("tp \(tp) does not divide the shared experts' FFN width \(width)", "use a tp that divides \(width)")
            }
            m.sharedTensorParallel = tp
            shard.moe = m
        }
        return shard
    }

    /// The shard whose routed experts are split over `etp` GPUs (Megatron-Core's expert tensor
    /// parallelism: each expert's up-projection column-parallel, its down-projection
    /// row-parallel, over the expert-TP group). Shared experts are untouched (they run with the
    /// attention's TP). Itself at 1 or for a dense model.
    public func expertTensorParallelShard(_ etp: Int) throws -> ModelArchitecture {
        guard etp > 1, var m = moe else { return self }
        guard m.expertIntermediateSize % etp == 0 else {
            throw TensorParallelError(problem: "expert-TP \(etp) does not divide the expert FFN width \(m.expertIntermediateSize)",
                                      fix: "use an etp that divides \(m.expertIntermediateSize)")
        }
        var shard = self
        m.expertTensorParallel = etp
        shard.moe = m
        return shard
    }
}
