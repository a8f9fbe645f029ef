#!/usr/bin/env python3
"""The MoE bookkeeping kernels of DeepSeek's training trace, per forward layer: the evidence for
the calibration's `router_bookkeeping_us` and `expert_layout_ns_per_row`.

Usage: python3 docs/checks/trace_moe_bookkeeping.py ../shared/data/deepseek-profile-train.json

- Router: in each `attn(F)` block, the kernels between the gate's BF16 GEMM
  (`sm90_xmma_gemm_bf16...`) and the next FP8 cast, less the two top-k selections
  (`sbtopk::gatherTopK`) and the sigmoid (both priced by `router_topk_ns_per_row_at_112_sms`'s
  record) and a normal-distribution sampler (`DistributionNormal`, taken to belong to the
  profile's simulated routing): score bias, group sums, masks and index scatters, weight
  normalisation, the balance statistics. PyTorch launches each as its own small kernel, so
  their time follows their count, not the 4,096 token rows.
- Expert layout: in each `mlp(F)` block, `get_fused_mapping` and `clean_and_count_expert`, which
  build the map from the received tokens to per-expert rows before the permute
  (`expand_to_fused_with_scales`). Each runs one 512-thread block per local expert (grid [4]),
  so it scans the received rows at a block's pace: the script divides their time by the
  routed rows (the permute's grid × 16, as `trace_expert_rows.py` counts them). The backward
  blocks launch neither (the forward's map is kept).
"""
import json
import statistics
import sys

events = json.load(open(sys.argv[1]))["traceEvents"]
kernels = sorted((e for e in events if e.get("cat") == "kernel"), key=lambda e: e["ts"])
launches = {e["args"]["correlation"]: e["ts"] for e in events
            if e.get("cat") == "cuda_runtime" and "correlation" in e.get("args", {})}


def blocks(name):
    return sorted((e for e in events if e.get("cat") == "user_annotation" and e["name"] == name), key=lambda b: b["ts"])


def launched_in(block):
    def inside(k):
        t = launches.get(k["args"].get("correlation"))
        return t is not None and block["ts"] <= t <= block["ts"] + block["dur"]
    return [k for k in kernels if inside(k)]


router = []
print("attn(F) router: small kernels, their us (top-k, sigmoid and sampler left out), top-k us")
for block in blocks("attn(F)"):
    mine = launched_in(block)
    gate = next(i for i, k in enumerate(mine) if k["name"].startswith("sm90_xmma_gemm_bf16"))
    end = next(i for i in range(gate + 1, len(mine)) if "per_token_cast" in mine[i]["name"])
    left_out = ("gatherTopK", "sigmoid", "DistributionNormal")
    small = [k for k in mine[gate + 1:end] if not any(x in k["name"] for x in left_out)]
    topk = sum(k["dur"] for k in mine[gate + 1:end] if "gatherTopK" in k["name"])
    router.append(sum(k["dur"] for k in small))
    print(f"  {len(small):3d} kernels  {router[-1]:6d} us  top-k {topk:4d} us")
print(f"mean {statistics.mean(router):.1f} us per layer")

per_row = []
print("mlp(F) expert layout: routed rows, get_fused_mapping us, clean_and_count_expert us, ns per row")
for block in blocks("mlp(F)"):
    mine = launched_in(block)
    rows = next(k for k in mine if "expand_to_fused" in k["name"])["args"]["grid"][0] * 16
    mapping = sum(k["dur"] for k in mine if "get_fused_mapping" in k["name"])
    count = sum(k["dur"] for k in mine if "clean_and_count_expert" in k["name"])
    grids = {tuple(k["args"]["grid"]) for k in mine if "get_fused_mapping" in k["name"] or "clean_and_count_expert" in k["name"]}
    per_row.append(1000 * (mapping + count) / rows)
    print(f"  {rows:6d} rows  {mapping:4d} + {count:3d} us  {per_row[-1]:.2f} ns per row  grids {sorted(grids)}")
print(f"mean {statistics.mean(per_row):.2f} ns per routed row")
for name in ("mlp(B)", "attn(B)", "dispatch(B)", "combine(B)"):
    n = sum(1 for b in blocks(name) for k in launched_in(b)
            if "get_fused_mapping" in k["name"] or "clean_and_count_expert" in k["name"])
    print(f"{name}: {n} layout kernels")
