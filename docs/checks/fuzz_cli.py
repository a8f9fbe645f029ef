#!/usr/bin/env python3
"""Fuzz llmsim's command line: random what-ifs over shipped experiments, and random flags.

Bad input must get a clear error that names the problem and the fix, never a crash or a silently
wrong answer. Each `step` case writes an experiment with `base:` one of the shipped files and
1-4 keys overridden with random (often infeasible) values, runs `llmsim step FILE --json` and
classifies it: ok (exit 0, a finite positive step time), error (exit 1 or 2 with a message, no
"Fatal"), or CRASH (anything else: a trap, a timeout, NaN, unparsable JSON). Each `cli` case runs
one of `schedule`, `alltoall`, `route`, `memory --inference`, `model` with random flags, zero,
negative, NaN and unknown values included. Only the CRASH lines and a summary are printed.
Same seed, same cases.

Usage (from the repository root, after `swift build -c release`):
  python3 docs/checks/fuzz_cli.py step SEED COUNT
  python3 docs/checks/fuzz_cli.py cli SEED COUNT
The 2026-11-25 run (seeds 1-6 and 11-18 of `step`, 80 cases each; seeds 1-2 of `cli`, 550
cases) found one crash class: a GPU speed spread on a dense model with TP > 1.
"""
import json
import os
import random
import subprocess
import sys
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
LLMSIM = os.path.join(ROOT, ".build", "release", "llmsim")
BASES = ["deepseek-v3", "nemo-llama3-70b-h100", "megatron-qwen3-235b-h100", "llama-3.1-8b-a100", "automodel-gpt-oss-20b-h100",
         "nemo-llama31-405b-gb200-nvfp4", "nemo-deepseek-v3-gb200", "megatron-1t-a100", "automodel-deepseek-v3-h100",
         "nemo-qwen3-30b-a3b-h100", "context-extension-cp"]
STEP_KEYS = {
    "parallel.pp": [1, 2, 3, 4, 8, 16, 32], "parallel.tp": [1, 2, 4, 8, 16], "parallel.ep": [1, 2, 4, 8, 16, 32, 64, 128],
    "parallel.cp": [1, 2, 4], "parallel.etp": [1, 2], "parallel.sp": [True, False], "parallel.tp_overlap": ["none", "pipelined", "backward"],
    "schedule": ["gpipe", "1f1b", "interleaved", "zb1p", "dualpipe", "dualpipev"], "virtual_stages": [1, 2, 3, 4, 8],
    "microbatches": [1, 2, 4, 8, 16, 32, 33, 64, 120], "microbatch_tokens": [512, 1024, 4096, 8192, 32768],
    "microbatch_sequences": [1, 2, 4], "precision": ["fp8", "fp8-tensor", "fp8-mx", "nvfp4", "bf16"],
    "recompute": ["none", "selective", "full"], "communication_sms": [0, 1, 20, 132],
    "moe_dispatcher": ["alltoall", "deepep", "hybridep", "allgather"], "optimizer.distributed": [True, False],
    "optimizer.fsdp": [True, False], "optimizer.moments": ["fp32", "bf16"], "optimizer.clip_grad_norm": [True, False],
    "fidelity": ["representative", "whole-cluster"], "pipeline_passes": [1, 2], "host_us_per_operation": [0, 100, 500],
    "gpu_speed_spread_percent": [0, 5], "instruction_jitter_percent": [0, 3], "routing.microbatch_routings": [2, 4],
    "routing.skew": ["uniform", "zipf:1.1"], "attention_kernel": ["flash", "unfused"], "all_to_all_sms": [8, 24],
    "model": ["deepseek-v3", "llama-3.1-405b", "llama-3.1-8b", "qwen3-30b-a3b", "gpt-oss-20b", "mixtral-8x7b", "kimi-k2"],
}


def run(args, timeout=60):
    try:
        p = subprocess.run([LLMSIM] + args, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
        return p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired:
        return "timeout", "", ""


def classify(rc, out, err, check):
    if rc == 0:
        return "ok" if check(out) else "CRASH"
    if rc in (1, 2, 64) and "Fatal" not in err and ("rror" in err or "sage" in err):
        return "error"
    return "CRASH"


def step_case(rng, directory, i):
    lines, nested = [f"base: {os.path.join(ROOT, 'Experiments', rng.choice(BASES) + '.yaml')}"], {}
    for key in rng.sample(sorted(STEP_KEYS), rng.randint(1, 4)):
        value = rng.choice(STEP_KEYS[key])
        if "." in key:
            group, name = key.split(".")
            nested.setdefault(group, {})[name] = value
        else:
            lines.append(f"{key}: {json.dumps(value)}")
    lines += [f"{group}: {json.dumps(values)}" for group, values in nested.items()]
    path = os.path.join(directory, f"case{i}.yaml")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")

    def finite(out):
        try:
            t = json.loads(out)["step"]["step_time_s"]
            return 0 < t < 1e6
        except (ValueError, KeyError, TypeError):
            return False
    return ["step", path, "--json"], finite


def cli_case(rng):
    pick = lambda *v: str(rng.choice(v))
    maybe = lambda p, *flag: list(flag) if rng.random() < p else []
    kind = rng.choice(["schedule", "alltoall", "route", "memory", "model"])
    if kind == "schedule":
        a = ["schedule", "--kind", pick("gpipe", "1f1b", "interleaved", "zb1p", "dualpipe", "dualpipev"), "--pp", pick(1, 2, 3, 4, 8, 16, 0, -2),
             "--microbatches", pick(1, 2, 3, 8, 16, 20, 32, 0, 7)] + maybe(.5, "--virtual-stages", pick(1, 2, 3, 4, 0))
        for flag in ["--f", "--b", "--w", "--fb", "--transfer", "--jitter"]:
            a += maybe(.3, flag, pick(0, 1, 2.5, -1, 1e9, "nan", 0.5))
        a += maybe(.3, "--sends", pick("batched", "async", "overlapped", "x")) + maybe(.2, "--overlap-forward-backward")
    elif kind == "alltoall":
        a = ["alltoall", "--ep", pick(1, 2, 4, 8, 16, 36, 64, 72, 128, 0, 3), "--tokens-per-gpu", pick(0, 1, 128, 4096, 8192, -5)]
        a += maybe(.4, "--etp", pick(1, 2, 3)) + maybe(.4, "--gpus-per-node", pick(1, 4, 8, 72, 0, 3)) + maybe(.3, "--nvlink-domain", pick(8, 72, 36, 0, 5))
        a += maybe(.4, "--kind", pick("dispatch", "combine", "x")) + maybe(.4, "--dispatcher", pick("deepep", "hybridep", "alltoall", "x"))
        a += maybe(.3, "--dispatch-format", pick("fp8", "bf16", "nvfp4", "x")) + maybe(.4, "--model", pick("deepseek-v3", "qwen3-30b-a3b", "llama-3.1-8b", "kimi-k2", "nope"))
        a += maybe(.3, "--experts", pick(0, 1, 64, 256, 288, 300)) + maybe(.3, "--node", pick("HGX-H800-8GPU", "GB200-NVL72-TRAY", "HGX-B200-8GPU", "nope"))
        a += maybe(.3, "--comm-sms", pick(0, 1, 20, 24, 132, 200)) + maybe(.3, "--skew", pick("uniform", "dirichlet:0.5", "zipf:1.2", "zipf:-1", "bogus"))
    elif kind == "route":
        a = ["route", "--ep", pick(1, 8, 16, 64, 256, 0), "--tokens-per-gpu", pick(1, 64, 4096, 0)]
        a += maybe(.4, "--model", pick("deepseek-v3", "qwen3-30b-a3b", "llama-3.1-8b", "kimi-k2")) + maybe(.3, "--steps", pick(0, 1, 3))
        a += maybe(.3, "--sequence-concentration", pick(0, 0.5, 1, 5, -1)) + maybe(.3, "--sequences-per-gpu", pick(1, 2, 3, 0)) + maybe(.3, "--gamma", pick(0, 0.001, -1))
    elif kind == "memory":
        a = ["memory", "--inference", "--model", pick("deepseek-v3", "llama-3.1-405b", "qwen3-30b-a3b", "nope"), "--batch", pick(1, 8, 0, 1000),
             "--context", pick(1, 4096, 131072, 0), "--precision", pick("fp8", "bf16", "fp4")]
    else:
        a = ["model", pick("deepseek-v3", "llama-3.1-405b", "qwen3-30b-a3b", "kimi-k2", "nope"), "--seq-len", pick(1, 4096, 0, 131072, -1)]
    no_nan = lambda out: not any(bad in out.lower() for bad in (": nan", "-nan", ": inf", '"nan"'))
    return a + ["--json"], no_nan


def main():
    mode, seed, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    rng, tally = random.Random(seed), {"ok": 0, "error": 0, "CRASH": 0}
    with tempfile.TemporaryDirectory() as directory:
        for i in range(count):
            args, check = step_case(rng, directory, i) if mode == "step" else cli_case(rng)
            rc, out, err = run(args)
            status = classify(rc, out, err, check)
            tally[status] += 1
            if status == "CRASH":
                case = open(args[1]).read().replace("\n", " ; ") if mode == "step" else ""
                print("CRASH", rc, " ".join(args), case, "|", err.strip()[-300:].replace("\n", " / "))
    print(f"{mode} seed {seed}: {tally['ok']} ok, {tally['error']} clear errors, {tally['CRASH']} crashes")
    sys.exit(1 if tally["CRASH"] else 0)


if __name__ == "__main__":
    main()
