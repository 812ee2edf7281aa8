"""Forward + backward time of the pooling, resampling and padding kernels against
torch.nn.functional (batch 64, float32): max_pool2d and avg_pool2d as a classifier's
downsampling after a 64-channel conv, interpolate as a generator's x2 upsampling.

    python benchmarks/pool_resample_speed.py [--quick] [--threads 2] [--cpu-time]

The rows are part of the kernel table (benchmarks/kernels.py, ``minigan bench``), timed by
the shared harness (minigan.bench: alternating blocks, medians, the ratio minigan / torch).
"""
from __future__ import annotations

import minigan  # noqa: F401  first: it limits OpenBLAS's thread spin before NumPy loads

import sys

import numpy as np

import minigan.functional as F


def _cases(torch, rng):
    """(name, [(array, requires_grad)], ours(*tensors), theirs(*tensors), upstream shape)."""
    tf = torch.nn.functional

    def arr(*shape):
        return rng.standard_normal(shape).astype(np.float32)

    big, small = (64, 64, 28, 28), (64, 64, 14, 14)
    return [
        ("max_pool2d k2 (64, 64, 28, 28)", [(arr(*big), True)],
         lambda x: F.max_pool2d(x, 2), lambda x: tf.max_pool2d(x, 2), small),
        ("max_pool2d k3 s2 p1 (64, 64, 28, 28)", [(arr(*big), True)],
         lambda x: F.max_pool2d(x, 3, 2, 1), lambda x: tf.max_pool2d(x, 3, 2, 1), small),
        ("avg_pool2d k2 (64, 64, 28, 28)", [(arr(*big), True)],
         lambda x: F.avg_pool2d(x, 2), lambda x: tf.avg_pool2d(x, 2), small),
        ("adaptive_avg_pool2d (64, 128, 7, 7) -> 1", [(arr(64, 128, 7, 7), True)],
         lambda x: F.adaptive_avg_pool2d(x, 1), lambda x: tf.adaptive_avg_pool2d(x, 1),
         (64, 128, 1, 1)),
        ("interpolate nearest x2 (64, 64, 14, 14)", [(arr(*small), True)],
         lambda x: F.interpolate(x, scale_factor=2), lambda x: tf.interpolate(x, scale_factor=2), big),
        ("interpolate bilinear x2 (64, 64, 14, 14)", [(arr(*small), True)],
         lambda x: F.interpolate(x, scale_factor=2, mode="bilinear"),
         lambda x: tf.interpolate(x, scale_factor=2, mode="bilinear"), big),
        ("pad reflect 1 (64, 64, 14, 14)", [(arr(*small), True)],
         lambda x: F.pad(x, (1, 1, 1, 1), mode="reflect"),
         lambda x: tf.pad(x, (1, 1, 1, 1), mode="reflect"), (64, 64, 16, 16)),
    ]


def main(argv: list[str] | None = None) -> int:
    """This family's rows of the kernel table (same options as benchmarks/kernels.py)."""
    from minigan.bench import kernels_main
    return kernels_main(["--group", "pool", "resample"] + (sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    sys.exit(main())
