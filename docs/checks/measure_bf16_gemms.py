#!/usr/bin/env python3
"""Measure BF16 GEMMs on a GPU at the shapes llmsim prices, and print them as rows of the kernel
calibration's `bf16_gemm_tflops` table ([M, N, K, TFLOPS]), with the device, the library
versions and this command in comments above them.

llmsim prices BF16/FP32 GEMMs from the nearest row of the calibration's table; the shipped
table is OpenXLA's measured sm_90 matmul table (shapes 256 to 4,096 each way), so a GEMM past
4,096 in any dimension takes the 4,096 edge's rate. The figure it leans on most is the two
129,280-wide BF16 output heads of DeepSeek-V3 (`llmsim step --sensitivity`), and every BF16
framework row of `llmsim validate` rests on it too. This script measures rows at the shapes a
step actually prices.

Shapes come from any of:
  --preset deepseek-v3   V3's output head and router GEMMs, fprop, dgrad and wgrad, at 4,096
                         tokens (hidden 7,168, vocabulary 129,280, 256 experts);
  --kernels FILE.json    the BF16/FP32 GEMMs of `llmsim kernels EXPERIMENT --json [--layer N]`
                         (run it where llmsim is built; the JSON travels with the tree);
  --shape M,N,K[,PASS]   one GEMM; PASS is fprop (default), dgrad or wgrad.
Each GEMM runs in its pass's layout as a training framework issues it through cuBLAS:
  fprop  Y[M,N]  = X[M,K] · W[N,K]ᵀ
  dgrad  dX[M,N] = dY[M,K] · W[K,N]
  wgrad  dW[M,N] = dY[K,M]ᵀ · X[K,N]
on random normal BF16 data (zeros run faster: power), 5 warm-ups, then the median of at least
20 launches and 0.2 s, timed with CUDA events. It runs on every SM of the GPU; llmsim scales a
row to the SMs a step leaves for compute (`calibration_sms` must be the GPU's SM count, printed).

Usage (on a GPU, e.g. through the device tool):
  python3 docs/checks/measure_bf16_gemms.py --preset deepseek-v3 [--kernels k.json ...] [--out rows.json]
  python3 docs/checks/measure_bf16_gemms.py --preset deepseek-v3 --dry-run   # list shapes only
Paste the printed rows into Sources/CostModel/Resources/hopper-kernels.yaml (for H800/H100
class GPUs) or an experiment's `calibration: {bf16_gemm_tflops: [...]}`; rows from another GPU go
in a calibration file of their own whose `calibration_device` names that GPU.
"""
import argparse
import datetime
import json
import shlex
import statistics
import sys

PASSES = ("fprop", "dgrad", "wgrad")


def deepseek_v3_shapes():
    """V3's BF16 GEMMs that are not in a layer (`llmsim kernels` lists the layers'): the output
    head (and the MTP module's, the same shape) and, for completeness, the router."""
    tokens, hidden, vocab, experts = 4096, 7168, 129280, 256
    shapes = []
    for name, n in (("head", vocab), ("router", experts)):
        shapes += [(tokens, n, hidden, "fprop", f"{name}.fprop"),
                   (tokens, hidden, n, "dgrad", f"{name}.dgrad"),
                   (n, hidden, tokens, "wgrad", f"{name}.wgrad")]
    return shapes


def kernels_shapes(path):
    """Every non-FP8 GEMM of an `llmsim kernels --json` file (a grouped GEMM by its rows per group)."""
    doc = json.load(open(path))
    shapes = []
    for k in doc["kernels"]:
        g = k.get("gemm")
        if g is None or k["precision"] == "fp8":
            continue
        m = max(1, g["total_rows"] // max(g["groups"], 1))
        layout = next((p for p in PASSES if k["name"].endswith("." + p)), "fprop")
        shapes.append((m, g["n"], g["k"], layout, k["name"]))
    return shapes


def parse_shape(text):
    parts = text.split(",")
    if len(parts) not in (3, 4) or (len(parts) == 4 and parts[3] not in PASSES):
        raise SystemExit(f"--shape {text}: expected M,N,K or M,N,K,PASS with PASS one of {', '.join(PASSES)}")
    m, n, k = (int(p) for p in parts[:3])
    return (m, n, k, parts[3] if len(parts) == 4 else "fprop", f"shape {text}")


def unique(shapes):
    """One entry per (M, N, K): the first layout, every name that asked for it."""
    seen = {}
    for m, n, k, layout, name in shapes:
        names = seen.setdefault((m, n, k), [layout, []])[1]
        if name not in names:
            names.append(name)
    return [(m, n, k, layout, names) for (m, n, k), (layout, names) in seen.items()]


def measure(torch, m, n, k, layout):
    """Median seconds of one GEMM in its pass's layout."""
    randn = lambda *s: torch.randn(*s, device="cuda", dtype=torch.bfloat16)
    if layout == "fprop":
        a, b = randn(m, k), randn(n, k)
        run = lambda: a @ b.t()
    elif layout == "dgrad":
        a, b = randn(m, k), randn(k, n)
        run = lambda: a @ b
    else:
        a, b = randn(k, m), randn(k, n)
        run = lambda: a.t() @ b
    for _ in range(5):
        run()
    torch.cuda.synchronize()
    times, total = [], 0.0
    while len(times) < 20 or total < 0.2:
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        run()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end) / 1e3)
        total += times[-1]
    return statistics.median(times)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", choices=["deepseek-v3"], action="append", default=[])
    p.add_argument("--kernels", action="append", default=[], metavar="FILE.json")
    p.add_argument("--shape", action="append", default=[], metavar="M,N,K[,PASS]")
    p.add_argument("--dry-run", action="store_true", help="list the shapes; import nothing, measure nothing")
    p.add_argument("--out", help="also write the rows as JSON here")
    args = p.parse_args()
    shapes = []
    for _ in args.preset:
        shapes += deepseek_v3_shapes()
    for path in args.kernels:
        shapes += kernels_shapes(path)
    shapes += [parse_shape(s) for s in args.shape]
    shapes = unique(shapes)
    if not shapes:
        raise SystemExit("no shapes: give --preset, --kernels or --shape (see --help)")
    if args.dry_run:
        for m, n, k, layout, names in shapes:
            print(f"[{m}, {n}, {k}]  {layout}  ({', '.join(names)})")
        return
    import torch
    props = torch.cuda.get_device_properties(0)
    command = "python3 " + " ".join(shlex.quote(a) for a in sys.argv)
    print(f"# {props.name}, {props.multi_processor_count} SMs (calibration_sms); torch {torch.__version__}, "
          f"CUDA {torch.version.cuda} (torch.matmul: cuBLAS); "
          f"{datetime.date.today().isoformat()}")
    print(f"# measured with: {command}")
    print("# median of >= 20 launches and 0.2 s after 5 warm-ups, random normal BF16 operands")
    print("bf16_gemm_tflops:")
    rows = []
    for m, n, k, layout, names in shapes:
        seconds = measure(torch, m, n, k, layout)
        tflops = 2 * m * n * k / seconds / 1e12
        rows.append({"m": m, "n": n, "k": k, "layout": layout, "seconds": seconds, "tflops": tflops, "names": names})
        print(f"  - [{m}, {n}, {k}, {tflops:.1f}]   # {layout}, {seconds * 1e6:.1f} µs: {', '.join(names)}", flush=True)
    if args.out:
        json.dump({"device": props.name, "sms": props.multi_processor_count, "torch": torch.__version__,
                   "cuda": torch.version.cuda, "command": command, "rows": rows}, open(args.out, "w"), indent=1)


if __name__ == "__main__":
    main()
