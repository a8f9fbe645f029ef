/// How an FSDP implementation keeps the weights it gathers and the gradients it reduces, which
/// decides the memory copies it adds beside each collective.
///
/// - `megatronFSDP`: Megatron-FSDP (Megatron-Core's `megatron_fsdp`) gathers each bucket of
///   weights into a persistent contiguous buffer the parameters are views of, and reduce-
///   scatters the gradients from the buffer they accumulate in: the collectives read and write
///   the tensors the compute uses, and no copy runs beside them.
/// - `fsdp2`: PyTorch's FSDP2 (`torch.distributed.fsdp.fully_shard`, per-parameter sharding)
///   gathers into a flat buffer and then copies each parameter out of it into its own unsharded
///   tensor (`foreach_all_gather_copy_out`: `split_with_sizes_copy`, on the compute stream once
///   the gather's event is reached), and before each reduce-scatter copies the layer's
///   unsharded gradients into one flat buffer in the reduce dtype (`foreach_reduce`'s
///   `chunk_cat`, on the compute stream, a widening cast from BF16 to FP32 included):
///   `torch/distributed/fsdp/_fully_shard/_fsdp_collectives.py`. The copy into the gather's
///   input (`all_gather_copy_in`) moves only the rank's shard, 1/replicas of the layer, on a
///   side stream; llmsim leaves it out.
public enum FullyShardedImplementation: String, Sendable, Equatable, CaseIterable {
    case megatronFSDP = "megatron-fsdp"
    case fsdp2

    /// HBM bytes per parameter copied on the compute stream after each gather of a layer's
    /// weights (each gathered weight read and written once, `weightBytes` each).
    public func copyOutBytes(weightBytes: Int) -> Int {
        self == .fsdp2 ? 2 * weightBytes : 0
    }

    /// HBM bytes per parameter copied on the compute stream before each reduce-scatter of a
    /// layer's gradients: the gradient autograd made (in the weights' format) read, and written
    /// in the format it is reduced in.
    public func copyInBytes(weightBytes: Int, reduceBytes: Int) -> Int {
        self == .fsdp2 ? weightBytes + reduceBytes : 0
    }
}
