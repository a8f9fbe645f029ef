#!/usr/bin/env python3
"""Host time per layer pair in DeepSeek's training trace, the source of `host_us_per_operation`
in Sources/CostModel/Resources/hopper-kernels.yaml.

Usage: python3 docs/checks/trace_host_time.py ../shared/data/deepseek-profile-train.json

The trace's main host thread (pid 1166, tid 1166) marks each block of the overlapped layer pair
with a user annotation. For each block name it prints the mean annotated span over the 4 layer
pairs (ms) and the kernels launched from inside it per layer pair; the sum leaves out dispatch(F),
whose span is mostly the host waiting for DeepEP's token counts. attn(B) runs on the autograd
thread (tid 2571) while the main thread waits in its annotation, so its span counts and its
launches are taken from tid 2571.
"""
import json
import sys
from collections import defaultdict

events = [e for e in json.load(open(sys.argv[1]))["traceEvents"] if e.get("ph") == "X" and e.get("pid") == 1166]
blocks = [e for e in events if e.get("cat") == "user_annotation" and e["tid"] == 1166
          and e["name"] not in ("ProfilerStep#1", "1F1B")]
launches = [e for e in events if e["name"].startswith("cudaLaunchKernel")]
span, launched = defaultdict(float), defaultdict(int)
for b in blocks:
    start, end = b["ts"], b["ts"] + b["dur"]
    span[b["name"]] += b["dur"] / 1000 / 4
    tid = 2571 if b["name"] == "attn(B)" else 1166
    launched[b["name"]] += sum(1 for l in launches if l["tid"] == tid and start <= l["ts"] <= end)
host, kernels = 0.0, 0
for name in span:
    print(f"{name:12s} {span[name]:7.3f} ms  {launched[name] / 4:5.1f} launches")
    if name != "dispatch(F)":
        host += span[name]
        kernels += launched[name] / 4
operations = 36 + 70  # the cost executor's forward and backward operations of one V3 MoE layer (HostIssue.passes; HostIssueTests checks them)
print(f"host per layer pair {host:.2f} ms, {kernels:.0f} launches ({host / kernels * 1000:.0f} µs each), "
      f"{operations} cost-executor operations ({host / operations * 1000:.0f} µs each)")
