"""Forward + backward time of linear, the losses and embedding against torch.nn.functional
at DCGAN-28 / text-encoder sizes (batch 64, float32, torch on 2 threads).

Each case runs minigan and PyTorch alternately (A B A B ...) in one process and reports
the medians and their ratio (minigan / torch; the target is <= 1.5).

    python benchmarks/linear_loss_speed.py [--repeats 60] [--case linear] [--threads 2]

``--threads`` sets both torch's threads and the BLAS threads NumPy uses (threadpoolctl); on a
busy machine ``--threads 1`` keeps spinning worker threads from distorting either side, and
``--clock cpu`` (implies one thread) times the CPU time of the calling thread instead of the
wall clock, so time spent descheduled by other processes does not count.
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import minigan as mg
import minigan.functional as F


def _cases(torch, rng):
    """(name, [(array, requires_grad)], ours(*tensors), theirs(*tensors), upstream shape or
    None for a scalar loss)."""
    tf = torch.nn.functional

    def arr(*shape):
        return rng.standard_normal(shape).astype(np.float32)

    labels = rng.integers(0, 10, 64)
    tokens = rng.integers(0, 1000, (64, 16))
    targets = (rng.random((64, 1)) > 0.5).astype(np.float32)
    return [
        ("linear (64,100)->(64,12544) no bias, dW only",
         [(arr(64, 100), False), (arr(12544, 100) * 0.1, True)],
         F.linear, tf.linear, (64, 12544)),
        ("linear (64,6272)->(64,1) + bias",
         [(arr(64, 6272), True), (arr(1, 6272) * 0.01, True), (arr(1), True)],
         F.linear, tf.linear, (64, 1)),
        ("linear (64*16,128)->(64*16,512) + bias",
         [(arr(64, 16, 128), True), (arr(512, 128) * 0.1, True), (arr(512), True)],
         F.linear, tf.linear, (64, 16, 512)),
        ("linear (64*16,512)->(64*16,128) + bias",
         [(arr(64, 16, 512), True), (arr(128, 512) * 0.05, True), (arr(128), True)],
         F.linear, tf.linear, (64, 16, 128)),
        ("bce_with_logits (64,1) mean",
         [(arr(64, 1), True), (targets, False)],
         F.binary_cross_entropy_with_logits, tf.binary_cross_entropy_with_logits, None),
        ("cross_entropy (64,10) mean",
         [(arr(64, 10), True), (labels, False)],
         F.cross_entropy, tf.cross_entropy, None),
        ("embedding 1000x128, idx (64,16)",
         [(tokens, False), (arr(1000, 128), True)],
         F.embedding, tf.embedding, (64, 16, 128)),
    ]


_clock = time.perf_counter


def _time(fn) -> float:
    start = _clock()
    fn()
    return _clock() - start


def run(repeats: int, only: str | None, threads: int) -> None:
    import torch
    torch.set_num_threads(threads)
    rng = np.random.default_rng(0)
    print(f"{'case':44s} {'minigan ms':>10s} {'torch ms':>9s} {'ratio':>6s}")
    for name, inputs, ours, theirs, gy_shape in _cases(torch, rng):
        if only and only not in name:
            continue
        mx = [mg.tensor(a, requires_grad=r) for a, r in inputs]
        tx = [torch.tensor(a, requires_grad=r) for a, r in inputs]
        gy = None if gy_shape is None else rng.standard_normal(gy_shape).astype(np.float32)
        mgy = None if gy is None else mg.tensor(gy)
        tgy = None if gy is None else torch.tensor(gy)

        def step_ours():
            for t in mx:
                t.grad = None
            ours(*mx).backward(mgy)

        def step_theirs():
            for t in tx:
                t.grad = None
            theirs(*tx).backward(tgy)

        for _ in range(5):  # warm up caches and allocators
            step_ours()
            step_theirs()
        a, b = [], []
        for _ in range(repeats):
            a.append(_time(step_ours))
            b.append(_time(step_theirs))
        ma, mb = statistics.median(a), statistics.median(b)
        print(f"{name:44s} {ma * 1e3:10.3f} {mb * 1e3:9.3f} {ma / mb:6.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=60)
    parser.add_argument("--case", default=None, help="run only cases whose name contains this")
    parser.add_argument("--threads", type=int, default=2, help="torch and BLAS threads")
    parser.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                        help="wall clock, or the calling thread's CPU time (forces 1 thread)")
    args = parser.parse_args()
    if args.clock == "cpu":
        global _clock
        _clock, args.threads = time.thread_time, 1
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # without it NumPy's BLAS keeps its default thread count
        run(args.repeats, args.case, args.threads)
        return
    with threadpool_limits(limits=args.threads, user_api="blas"):
        run(args.repeats, args.case, args.threads)


if __name__ == "__main__":
    main()
