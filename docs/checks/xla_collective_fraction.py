#!/usr/bin/env python3
"""NVLink's achievable share from OpenXLA's collective table (docs/checks/xla_collective_table.txt).

For every collective of 4 MiB and up it prints the bus rate (nccl-tests' busbw: algorithmic rate
x 2(n-1)/n for an all-reduce, x (n-1)/n for all-gather, reduce-scatter and all-to-all; a
permute's per-GPU rate as is) and its share of the per-direction NVLink line rate (B200: 900
GB/s, H100: 450 GB/s), then the mean share of the 8-GPU all-reduce, all-gather and
reduce-scatter at 2 GiB, the figure the catalog carries (B200, GB200, B300, GB300: 0.693; the
Hopper rows give 0.802 against the 0.8 the Hopper entries carry), the GB200 NVL72 rack's 64-GPU
rows at 2 GiB (a check of that share over a whole rack), and the B200 / H100 ratio of bus rates at
each size (2 would be the line-rate ratio).

Usage: python3 docs/checks/xla_collective_fraction.py [docs/checks/xla_collective_table.txt]
"""
import collections
import sys

LINE_RATE = {"sm_100": 900e9, "sm_90": 450e9, "sm_100_GB200": 900e9}
FACTOR = {"ar": lambda n: 2 * (n - 1) / n, "ag": lambda n: (n - 1) / n, "rs": lambda n: (n - 1) / n,
          "a2a": lambda n: (n - 1) / n}


def rows(path):
    for line in open(path):
        if line.strip() and not line.startswith("#"):
            arch, op, groups, n, elements, rate = line.split()
            if op == "permute":
                yield arch, op, groups, int(elements) * 4, float(rate)
            else:
                n = int(n)
                size = int(elements) * 4 * (n if op == "rs" else 1)
                yield arch, op, n, size, float(rate) * FACTOR[op](n)


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "docs/checks/xla_collective_table.txt"
    table = collections.defaultdict(dict)
    for arch, op, group, size, bus in rows(path):
        table[(arch, op, group)][size] = bus
    for key in sorted(table, key=str):
        arch = key[0]
        print(" ".join(map(str, key)))
        for size, bus in sorted(table[key].items()):
            print(f"  {size / 2**20:6.0f} MiB  bus {bus / 1e9:7.1f} GB/s  {bus / LINE_RATE[arch]:.3f} of the line rate")
    for arch in ("sm_100", "sm_90"):
        shares = [table[(arch, op, 8)][2**31] / LINE_RATE[arch] for op in ("ar", "ag", "rs")]
        print(f"{arch}: 8-GPU all-reduce / all-gather / reduce-scatter at 2 GiB "
              + " / ".join(f"{s:.3f}" for s in shares) + f" of the line rate, mean {sum(shares) / 3:.3f}")
    if ("sm_100_GB200", "ag", 64) in table:
        shares = {op: table[("sm_100_GB200", op, 64)][2**31] / LINE_RATE["sm_100_GB200"] for op in ("ar", "ag", "rs", "a2a")}
        print("sm_100_GB200: 64-GPU all-reduce / all-gather / reduce-scatter / all-to-all at 2 GiB "
              + " / ".join(f"{shares[op]:.3f}" for op in ("ar", "ag", "rs", "a2a")) + " of the line rate (the all-reduce"
              + f" at 32 GiB {table[('sm_100_GB200', 'ar', 64)][2**35] / LINE_RATE['sm_100_GB200']:.3f}: NVLS; ring collectives' mean"
              + f" {(shares['ag'] + shares['rs']) / 2:.3f})")
    print("B200 / H100 bus rate, same collective and size:")
    for (arch, op, group), sizes in sorted(table.items(), key=str):
        if arch != "sm_100" or (("sm_90", op, group) not in table):
            continue
        other = table[("sm_90", op, group)]
        ratios = [f"{s / 2**20:.0f} MiB {sizes[s] / other[s]:.2f}" for s in sorted(sizes) if s in other and s >= 16 * 2**20]
        print(f"  {op} {group}: " + ", ".join(ratios))


if __name__ == "__main__":
    main()
