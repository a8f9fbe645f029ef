#!/usr/bin/env python3
"""The routed rows the traced GPU received in each MoE layer of DeepSeek's training trace, and
how much they vary: the evidence `llmsim route --sequence-concentration` and `EPGroupOverlap`
are held against.

Usage: python3 docs/checks/trace_expert_rows.py ../shared/data/deepseek-profile-train.json

Each MoE layer's expert block launches `expand_to_fused_with_scales` with one 512-thread block
per 16 routed rows (its grid × 16 equals the grid of the SwiGLU kernel that follows, one block
per row), and `reduce_fused` with one block per distinct token received (a token that picks two
experts on one GPU arrives once). The script prints, per layer and pass, the rows, the tokens,
their ratio (a token's distinct GPUs / K under the gate), and the first grouped GEMM's time per
row (the GEMMs run in proportion to their rows); then the rows' mean, standard deviation and
coefficient of variation with a 95 % interval (chi-square, n − 1 degrees of freedom,
Wilson–Hilferty quantiles). The README of deepseek-ai/profile-data calls the routing
"perfectly balanced simulated"; the rows show per-GPU loads that vary nonetheless.
"""
import json
import statistics
import sys
from statistics import NormalDist

events = json.load(open(sys.argv[1]))["traceEvents"]
kernels = sorted((e for e in events if e.get("cat") == "kernel"), key=lambda e: e["ts"])
blocks = [e for e in events if e.get("cat") == "user_annotation" and e["name"] in ("mlp(F)", "mlp(B)")]
launches = {e["args"]["correlation"]: e["ts"] for e in events
            if e.get("cat") == "cuda_runtime" and "correlation" in e.get("args", {})}


def in_block(kernel, block):
    t = launches.get(kernel["args"].get("correlation"))
    return t is not None and block["ts"] <= t <= block["ts"] + block["dur"]


rows = []
print("block    rows    tokens  tokens/rows  first grouped GEMM  us/1000 rows")
for block in sorted(blocks, key=lambda b: b["ts"]):
    mine = [k for k in kernels if in_block(k, block)]
    expand = [k for k in mine if "expand_to_fused" in k["name"]]
    reduce = [k for k in mine if "reduce_fused" in k["name"]]
    gemm = [k for k in mine if "m_grouped" in k["name"]]
    if not expand or not reduce or not gemm:
        continue
    r = expand[0]["args"]["grid"][0] * 16
    t = reduce[0]["args"]["grid"][0]
    rows.append(r)
    print(f"{block['name']:7s} {r:6d}  {t:6d}  {t / r:11.3f}  {gemm[0]['dur']:15d} us  {1000 * gemm[0]['dur'] / r:12.1f}")

n = len(rows)
mean = statistics.mean(rows)
sd = statistics.stdev(rows)


def chi2_quantile(p, k):
    """Wilson–Hilferty: chi-square quantile p with k degrees of freedom."""
    z = NormalDist().inv_cdf(p)
    return k * (1 - 2 / (9 * k) + z * (2 / (9 * k)) ** 0.5) ** 3


low = sd * ((n - 1) / chi2_quantile(0.975, n - 1)) ** 0.5
high = sd * ((n - 1) / chi2_quantile(0.025, n - 1)) ** 0.5
print(f"{n} layer passes: rows mean {mean:.0f}, min {min(rows)}, max {max(rows)}, standard deviation {sd:.0f}")
print(f"coefficient of variation {sd / mean:.3f} (95 % interval {low / mean:.3f} to {high / mean:.3f})")
print("independent tokens under V3's gate give 0.006 (llmsim route --full-draw --json: tokens_per_gpu_received)")
