"""Forward + backward time of the normalisation, activation and dropout kernels against
torch.nn.functional at DCGAN-28 sizes (batch 64, float32, torch on 2 threads).

Each case runs minigan and PyTorch alternately (A B A B ...) in one process, with the
gradients reset before each step (so neither pays for accumulating into .grad), and reports
the medians and their ratio (minigan / torch; the target is <= 1.5).

    python benchmarks/norm_act_speed.py [--repeats 40] [--case leaky] [--threads 2] [--cpu]

``--threads`` sets PyTorch's intra-op threads and NumPy's BLAS threads (threadpoolctl).
On a busy machine, ``--threads 1 --cpu`` compares the kernels by the process's CPU time,
which does not count the time spent waiting for a core (wall time does).
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import minigan as mg
import minigan.functional as F


def _cases(torch):
    tf = torch.nn.functional

    def bn(shape):
        c = shape[1]
        def ours(x, w, b):
            return F.batch_norm(x, np.zeros(c, np.float32), np.ones(c, np.float32), w, b,
                                training=True)
        def theirs(x, w, b):
            return tf.batch_norm(x, torch.zeros(c), torch.ones(c), w, b, training=True)
        return (f"batch_norm train {shape}", shape, (c,), ours, theirs)

    def act(name, shape, ours, theirs):
        return (f"{name} {shape}", shape, None, ours, theirs)

    return [
        bn((64, 12544)), bn((64, 128, 7, 7)), bn((64, 64, 14, 14)),
        act("leaky_relu(0.2)", (64, 12544), lambda x: F.leaky_relu(x, 0.2),
            lambda x: tf.leaky_relu(x, 0.2)),
        act("leaky_relu(0.2)", (64, 128, 7, 7), lambda x: F.leaky_relu(x, 0.2),
            lambda x: tf.leaky_relu(x, 0.2)),
        act("leaky_relu(0.2)", (64, 64, 14, 14), lambda x: F.leaky_relu(x, 0.2),
            lambda x: tf.leaky_relu(x, 0.2)),
        act("tanh", (64, 1, 28, 28), F.tanh, torch.tanh),
        act("dropout(0.3)", (64, 64, 14, 14), lambda x: F.dropout(x, 0.3),
            lambda x: tf.dropout(x, 0.3)),
        ("layer_norm (64, 16, 128)", (64, 16, 128), (128,),
         lambda x, w, b: F.layer_norm(x, (128,), w, b),
         lambda x, w, b: tf.layer_norm(x, (128,), w, b)),
    ]


def run(repeats: int, only: str | None, threads: int, cpu: bool) -> None:
    clock = time.process_time if cpu else time.perf_counter

    def _time(fn) -> float:
        start = clock()
        fn()
        return clock() - start

    import torch
    torch.set_num_threads(threads)
    try:
        from threadpoolctl import threadpool_limits
        threadpool_limits(threads)
    except ImportError:
        pass
    rng = np.random.default_rng(0)
    print(f"torch {torch.__version__}, {threads} thread(s); numpy {np.__version__}; "
          f"{'CPU' if cpu else 'wall'} time, medians of {repeats}")
    print(f"{'case':34s} {'minigan ms':>10s} {'torch ms':>9s} {'ratio':>6s}")
    for name, shape, pshape, ours, theirs in _cases(torch):
        if only and only not in name:
            continue
        x = rng.standard_normal(shape).astype(np.float32)
        gy = rng.standard_normal(shape).astype(np.float32)
        params = [] if pshape is None else [rng.standard_normal(pshape).astype(np.float32),
                                             rng.standard_normal(pshape).astype(np.float32)]
        mx = [mg.tensor(a, requires_grad=True) for a in [x] + params]
        tx = [torch.tensor(a, requires_grad=True) for a in [x] + params]
        mgy, tgy = mg.tensor(gy), torch.tensor(gy)

        def step_ours():
            for t in mx:
                t.grad = None
            ours(*mx).backward(mgy)

        def step_theirs():
            for t in tx:
                t.grad = None
            theirs(*tx).backward(tgy)

        for _ in range(3):
            step_ours(), step_theirs()
        a, b = [], []
        for _ in range(repeats):
            a.append(_time(step_ours))
            b.append(_time(step_theirs))
        ma, mb = statistics.median(a) * 1e3, statistics.median(b) * 1e3
        print(f"{name:34s} {ma:10.3f} {mb:9.3f} {ma / mb:6.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=40)
    parser.add_argument("--case", default=None, help="run only cases whose name contains this")
    parser.add_argument("--threads", type=int, default=2, help="torch and BLAS threads")
    parser.add_argument("--cpu", action="store_true", help="time with CPU time, not wall time")
    args = parser.parse_args()
    run(args.repeats, args.case, args.threads, args.cpu)
