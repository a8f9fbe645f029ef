#!/usr/bin/env python3
"""Run-to-run variation of a layer pair in DeepSeek's training trace, the evidence quoted for
`instruction_jitter_percent` (Sources/Training/InstructionJitter.swift).

Usage: python3 docs/checks/trace_layer_periods.py ../shared/data/deepseek-profile-train.json

The trace holds one overlapped forward+backward chunk pair of 4 MoE layers under balanced
routing. A kernel that runs once per layer pair (FlashAttention's forward and backward, the
forward dispatch) starts once per period; the intervals between its successive starts on the GPU
are the layer-pair periods. The script prints them per anchor kernel and the coefficient of
variation (sample standard deviation over mean) per anchor and over all of them, then what a
chunk of 4 layers would show if layers varied independently (CV / sqrt(4)).
"""
import json
import statistics
import sys

ANCHORS = {
    "FlashAttention forward": "compute_attn_ws",
    "FlashAttention backward": "FlashAttnBwd<",
    "forward dispatch": "internode::dispatch<false, 8, false",
}

kernels = [e for e in json.load(open(sys.argv[1]))["traceEvents"] if e.get("cat") == "kernel"]
periods = []
for label, pattern in ANCHORS.items():
    starts = sorted(e["ts"] for e in kernels if pattern in e["name"])
    p = [(b - a) / 1000 for a, b in zip(starts, starts[1:])]
    periods += p
    cv = statistics.stdev(p) / statistics.mean(p)
    print(f"{label:24s} periods {', '.join(f'{x:.2f}' for x in p)} ms   CV {100 * cv:.1f}%")
cv = statistics.stdev(periods) / statistics.mean(periods)
print(f"{'all anchors':24s} mean {statistics.mean(periods):.2f} ms   CV {100 * cv:.1f}% per layer pair, "
      f"{100 * cv / 2:.1f}% for a 4-layer chunk if layers vary independently")
