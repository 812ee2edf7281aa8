"""Forward + backward time of linear, the losses and embedding against torch.nn.functional
at DCGAN-28 / text-encoder sizes (batch 64, float32, torch on 2 threads).

Each case runs minigan and PyTorch in alternating blocks in one process and reports
the medians and their ratio (minigan / torch; the target is <= 1.5).

    python benchmarks/linear_loss_speed.py [--repeats 60] [--threads 2] [--cpu-time]

``--threads`` sets both torch's threads and the BLAS threads NumPy uses (threadpoolctl); on a
busy machine ``--cpu-time`` (one thread each) times CPU time instead of the wall clock, so
time spent descheduled by other processes does not count.
"""
from __future__ import annotations

import sys

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


def main(argv: list[str] | None = None) -> int:
    """This family's rows of the kernel table (``benchmarks/kernels.py``, same options:
    --quick, --threads, --cpu-time, --repeats), timed by the shared harness (minigan.bench)."""
    from minigan.bench import kernels_main
    return kernels_main(["--group", "linear", "loss", "embedding"] + (sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    mg.tune_process()  # a benchmark owns its process: minigan's speed settings
    sys.exit(main())
