#!/usr/bin/env python3
"""The GPU kernels of each DeepSeek overlap block in DeepSeek's training trace, per layer: the
evidence to hold `llmsim kernels Experiments/deepseek-v3.yaml` against, kernel by kernel.

Usage: python3 docs/checks/trace_block_kernels.py ../shared/data/deepseek-profile-train.json [BLOCK ...]

The trace annotates each block of an overlapped layer pair on the host (`attn(F)`, `mlp(B)`,
...; 4 layer pairs). A kernel belongs to the block whose host span holds the runtime call that
launched it (the kernel's `correlation` id matches a `cuda_runtime` event). For each block (all
of them, or those named) the script prints the kernel time per layer and, per kernel name, the
launches and microseconds per layer, largest first. Communication kernels (DeepEP's
`dpsk::ep`) are listed like the others; llmsim times those on the fabric, not on the compute SMs.
"""
import collections
import sys

import json

events = json.load(open(sys.argv[1]))["traceEvents"]
wanted = sys.argv[2:]
blocks = [e for e in events if e.get("cat") == "user_annotation" and "(" in e["name"]]
launches = {e["args"]["correlation"]: e["ts"] for e in events
            if e.get("cat") == "cuda_runtime" and "correlation" in e.get("args", {})}
layers = max(1, sum(1 for b in blocks if b["name"] == "attn(F)"))


def block_of(kernel):
    """The annotation whose host span holds the kernel's launch, or None."""
    t = launches.get(kernel["args"].get("correlation"))
    if t is None:
        return None
    for b in blocks:
        if b["ts"] <= t <= b["ts"] + b["dur"]:
            return b["name"]
    return None


per_block = collections.defaultdict(lambda: collections.defaultdict(list))
for k in (e for e in events if e.get("cat") == "kernel"):
    name = block_of(k)
    if name and (not wanted or name in wanted):
        per_block[name][k["name"].split("(")[0][:90]].append(k["dur"])

for name in sorted(per_block):
    kernels = per_block[name]
    total = sum(sum(d) for d in kernels.values()) / layers
    print(f"{name}: {total:.0f} us of kernels per layer ({layers} layers)")
    for kernel, durations in sorted(kernels.items(), key=lambda kv: -sum(kv[1])):
        print(f"  {len(durations) / layers:5.2f} per layer  {sum(durations) / layers:8.1f} us  {kernel}")
