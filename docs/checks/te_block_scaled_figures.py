#!/usr/bin/env python3
"""The block-scaled calibration figures of Sources/CostModel/Resources/hopper-kernels.yaml, from
Transformer Engine's GEMM benchmark on a B300 (NVIDIA/TransformerEngine,
docs/features/low_precision_training/gemm_profiling/gemm_profiling.rst at commit ce616e1,
"Per-Layer GEMM Time", model-config mode: hidden 4,096, intermediate 16,384, M = 31 x 512 =
15,872 tokens, CUDA events, 10 warm-up and 100 timed iterations):

- mxfp8_gemm_rate_over_fp8_rows and nvfp4_gemm_rate_over_fp8_rows: the pre-quantized run's
  per-layer time of the block-scaled FP8 kernels over MXFP8's and NVFP4's;
- mxfp8_cast_efficiency and nvfp4_cast_bandwidth_over_mxfp8: the autocast run less the
  pre-quantized run is the time a te.Linear forward spends quantizing
  (benchmarks/gemm/benchmark_gemm.py at 8f2e635: each shape is one te.Linear forward with grad
  enabled and an input that needs no gradient, so the input is quantized both ways and the
  weight row-wise); over the bytes llmsim counts for those casts, the MXFP8 bandwidth over the
  HBM peak and the NVFP4 bandwidth over the MXFP8 one.

Usage: python3 docs/checks/te_block_scaled_figures.py (no arguments; the published numbers are
below, as the document prints them, in ms).
"""

# Per pass: (fprop, dgrad, wgrad) per layer, ms.
PRE_QUANTIZED = {"fp8_block": (2.264, 2.323, 2.243), "mxfp8": (2.391, 2.448, 2.485), "nvfp4": (1.273, 1.297, 1.184)}
AUTOCAST = {"mxfp8": (2.692, 2.891, 2.924), "nvfp4": (1.944, 2.183, 2.312)}

M, H, I = 15872, 4096, 16384
# The B300's HBM peak, B/s (the catalog's B300-SXM-268GB).
HBM_PEAK = 8.0e12
# The benchmark's (M, K, N) shapes per pass; the forward's operands are X = M x K and W = K x N.
SHAPES = {
    "fprop": [(M, H, 3 * H), (M, H, H), (M, H, I), (M, I, H)],
    "dgrad": [(M, 3 * H, H), (M, H, H), (M, I, H), (M, H, I)],
    "wgrad": [(H, M, 3 * H), (H, M, H), (H, M, I), (I, M, H)],
}

# Bytes per value llmsim counts. MXFP8: the input read once (BF16) and written row-wise and
# column-wise (1 B + an E8M0 byte per 32 each); the weight read once and written row-wise.
# NVFP4: the input read three times (its maximum, the row-wise cast, the column-wise cast with
# the Hadamard transform) and written twice (half a byte + an E4M3 byte per 16 each); the
# weight read twice (its maximum, its cast) and written once.
MX, FP4 = 1 + 1 / 32, 0.5 + 1 / 16
BYTES = {"mxfp8": (2 + 2 * MX, 2 + MX), "nvfp4": (3 * 2 + 2 * FP4, 2 * 2 + FP4)}


def main():
    block = sum(PRE_QUANTIZED["fp8_block"])
    for recipe in ("mxfp8", "nvfp4"):
        per_pass = [f / r for f, r in zip(PRE_QUANTIZED["fp8_block"], PRE_QUANTIZED[recipe])]
        print(f"{recipe} GEMM rate over the block-scaled FP8 kernels: {block / sum(PRE_QUANTIZED[recipe]):.4f}"
              f" (per pass {', '.join(f'{x:.3f}' for x in per_pass)})")
    rates = {}
    for recipe in ("mxfp8", "nvfp4"):
        seconds = total = 0.0
        for i, shapes in enumerate(SHAPES.values()):
            inputs = sum(m * k for m, k, _ in shapes)
            weights = sum(k * n for _, k, n in shapes)
            moved = inputs * BYTES[recipe][0] + weights * BYTES[recipe][1]
            seconds += (AUTOCAST[recipe][i] - PRE_QUANTIZED[recipe][i]) * 1e-3
            total += moved
        rates[recipe] = total / seconds
        print(f"{recipe} quantization: {seconds * 1e3:.3f} ms per layer, {total / 1e9:.2f} GB, {rates[recipe] / 1e12:.2f} TB/s")
    print(f"nvfp4_cast_bandwidth_over_mxfp8: {rates['nvfp4'] / rates['mxfp8']:.3f}")
    print(f"mxfp8_cast_efficiency: {rates['mxfp8'] / HBM_PEAK:.3f} (of the B300's {HBM_PEAK / 1e12:g} TB/s)")


if __name__ == "__main__":
    main()
