#!/usr/bin/env python3
"""Print OpenXLA's measured GPU matmul table as rows of llmsim's `bf16_gemm_tflops` (or another
[M, N, K, TFLOPS] table of the calibration).

OpenXLA ships a default performance table for its GPU cost model: for each GPU architecture
(`sm_90`, later also `sm_100`), matmuls of every M, N, K in {256, 512, 1024, 2048, 4096} and
batch 1, 2 and 4, each with the FLOP/s it measured per data type. The file is the text-format
protobuf in a C++ header:

  tensorflow/tensorflow, third_party/xla/xla/service/gpu/model/matmul_interpolator_data.h
  (commit 372d578bb861cc5804e56d37d93aec931a59762c holds the sm_90-only table llmsim ships;
  later versions moved it to xla/backends/gpu/cost_model/ and added sm_100 and FP8 entries).

llmsim prices unbatched GEMMs, so batch-1 rows are kept, and with --extend-m the batch-2 and
batch-4 rows at the table's largest M (4,096) as unbatched rows of M = 8,192 and 16,384: a
batched GEMM of b x [M, N, K] has the output tiles and FLOPs of one [b*M, N, K] GEMM (it reads b
weight matrices where the unbatched GEMM reads one, so if anything it is the slower), and these
are the table's only measurements past its 4,096 edge. Values are FLOP/s; rows print TFLOPS to
one decimal.

Usage:
  python3 docs/checks/xla_matmul_table.py matmul_interpolator_data.h [--arch sm_90]
      [--dtype bf16xbf16->bf16] [--batch 1] [--extend-m] [--key bf16_gemm_tflops]

The shipped calibration's `bf16_gemm_tflops` is `--arch sm_90 --extend-m` at the commit named
above; its `bf16_gemm_tflops_blackwell` is `--arch sm_100 --extend-m --key
bf16_gemm_tflops_blackwell` and its `fp8_gemm_tflops_blackwell` `--arch sm_100 --dtype
'f8e4m3fnxf8e4m3fn->bf16' --extend-m --key fp8_gemm_tflops_blackwell`, both on
tensorflow/tensorflow a305421c45a1ea5117c170b8d8a00a51f9dcee8f,
third_party/xla/xla/backends/gpu/cost_model/matmul_interpolator_data.h.
"""
import argparse
import re
import sys


def entries(text, arch):
    """(b, m, n, k, {dtype: flops}) for every entry under `arch`'s key."""
    start = text.find(f'key: "{arch}"')
    if start < 0:
        sys.exit(f"no entries for {arch} in the file")
    # The architecture's block runs to the next top-level key (or the end).
    following = re.search(r'\n  entries \{\n    key: "', text[start + 1:])
    block = text[start:start + 1 + following.start()] if following else text[start:]
    for chunk in re.split(r"\n\s*entries \{", block)[1:]:
        dims = {d: int(v) for d, v in re.findall(r"\b([bmnk]): (\d+)", chunk)}
        flops = {key.lower(): float(v) for key, v in re.findall(r'flops \{ key: "([^"]+)" value: ([0-9.e+]+) \}', chunk)}
        if {"b", "m", "n", "k"} <= dims.keys() and flops:
            yield dims["b"], dims["m"], dims["n"], dims["k"], flops


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("header", help="matmul_interpolator_data.h")
    p.add_argument("--arch", default="sm_90")
    p.add_argument("--dtype", default="bf16xbf16->bf16")
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--extend-m", action="store_true",
                   help="also print the larger batches' rows at the largest M as unbatched rows of M x batch")
    p.add_argument("--key", default="bf16_gemm_tflops", help="the calibration key the rows are printed under")
    a = p.parse_args()
    text = open(a.header, encoding="utf-8").read()
    dtype = a.dtype.lower()
    table = [(b, m, n, k, f[dtype]) for b, m, n, k, f in entries(text, a.arch) if dtype in f]
    rows = sorted((m, n, k, flops) for b, m, n, k, flops in table if b == a.batch)
    if not rows:
        sys.exit(f"no {a.dtype} rows at batch {a.batch} for {a.arch}")
    note = ""
    if a.extend_m:
        edge = max(m for m, _, _, _ in rows)
        extended = sorted((m * b // a.batch, n, k, flops) for b, m, n, k, flops in table if b > a.batch and m == edge)
        rows += extended
        note = f", and {len(extended)} rows of larger batches at M {edge} as M x batch"
    print(f"# {len(rows)} rows: {a.arch}, {a.dtype}, batch {a.batch}{note}, from {a.header}")
    print(f"{a.key}:")
    for m, n, k, flops in rows:
        print(f"  - [{m}, {n}, {k}, {flops / 1e12:.1f}]")


if __name__ == "__main__":
    main()
