"""Per-op Python overhead: a chain of tiny elementwise ops, forward + backward,
minigan vs PyTorch eager (interleaved A B A B, medians).

    python benchmarks/overhead.py [--ops 1000] [--repeats 15] [--size 16] [--watch TOOL]

On a (16,) float32 tensor the arithmetic is nothing, so the time per op is the engine's
own bookkeeping: wrapping arrays in Tensors, recording the graph, and walking it backward.
Target: minigan within 3x of PyTorch. ``--watch profile`` (or ``anomaly``) runs minigan's
side inside ``mg.profile()`` (``mg.detect_anomaly()``), to see what the tool costs per op.
"""
from __future__ import annotations

import argparse
import statistics
import time


import minigan as mg

# the repeated pattern: 4 ops per step; 0.999 and 1e-3 keep the values bounded
PATTERN = ("mul", "add", "exp", "sub")


def chain(x, n_ops: int, exp, c):
    """n_ops elementwise ops: y = exp(y * 0.5 + c) - 1, repeated (values stay small)."""
    y = x
    for i in range(n_ops):
        op = PATTERN[i % 4]
        if op == "mul":
            y = y * 0.5
        elif op == "add":
            y = y + c
        elif op == "exp":
            y = exp(y)
        else:
            y = y - 1.0
    return y


def run(lib, n_ops: int, size: int) -> tuple[float, float]:
    """Seconds of the forward chain and of its backward in ``lib`` (minigan or torch: the
    calls used here are spelled the same in both)."""
    x = lib.rand(size, requires_grad=True)
    c = lib.full((size,), 1e-3)
    t0 = time.perf_counter()
    y = chain(x, n_ops, lib.exp, c).sum()
    t1 = time.perf_counter()
    y.backward()
    t2 = time.perf_counter()
    return t1 - t0, t2 - t1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ops", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--size", type=int, default=16)
    parser.add_argument("--watch", choices=["none", "profile", "anomaly"], default="none",
                        help="run minigan inside mg.profile() or mg.detect_anomaly()")
    args = parser.parse_args()
    if args.watch == "profile":
        mg.profile().start()
    elif args.watch == "anomaly":
        mg.set_detect_anomaly(True)
    try:
        import torch
        torch.set_num_threads(1)
    except ImportError:
        torch = None
    mg.manual_seed(0)
    results: dict[str, list[tuple[float, float]]] = {"minigan": [], "torch": []}
    for r in range(args.repeats + 2):  # two warm-up rounds, interleaved A B A B
        a = run(mg, args.ops, args.size)
        b = run(torch, args.ops, args.size) if torch else None
        if r >= 2:
            results["minigan"].append(a)
            if b:
                results["torch"].append(b)
    print(f"chain of {args.ops} elementwise ops on a ({args.size},) float32 tensor, "
          f"median of {args.repeats}" + ("" if args.watch == "none" else
                                         f"; minigan inside {args.watch}"))
    print(f"{'engine':10s} {'forward us/op':>14s} {'backward us/op':>15s} {'total us/op':>12s}")
    totals = {}
    for name, rows in results.items():
        if not rows:
            continue
        fwd = statistics.median(f for f, _ in rows) / args.ops * 1e6
        bwd = statistics.median(b for _, b in rows) / args.ops * 1e6
        tot = statistics.median(f + b for f, b in rows) / args.ops * 1e6
        totals[name] = (fwd, bwd, tot)
        print(f"{name:10s} {fwd:14.2f} {bwd:15.2f} {tot:12.2f}")
    if "torch" in totals:
        m, t = totals["minigan"], totals["torch"]
        print(f"ratio minigan/torch: forward {m[0] / t[0]:.2f}x, backward {m[1] / t[1]:.2f}x, "
              f"total {m[2] / t[2]:.2f}x (target <= 3x)")
    else:
        print("PyTorch not installed: no ratio")


if __name__ == "__main__":
    mg.tune_process()  # a benchmark owns its process: minigan's speed settings
    main()
