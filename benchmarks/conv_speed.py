"""Convolution speed at DCGAN-28 sizes: minigan vs torch.nn.functional on the CPU.

Forward + backward (all gradients that the layer needs in training), float32, batch 64.
Both run in one process with the same number of threads (NumPy's BLAS threads), in
alternating blocks (minigan.bench.interleave), and we report medians and the ratio
minigan / torch (lower is better).
minigan's im2col / col2im copies use ``backend.cpu_workers()`` threads (the cores it may run
on; ``MINIGAN_NUM_THREADS`` overrides), its GEMMs the BLAS threads.

On a busy machine wall-clock ratios swing widely (PyTorch's OpenMP threads suffer most when
the cores are shared); ``--cpu-time`` compares one thread each by CPU time instead.

    python benchmarks/conv_speed.py [--repeats 15] [--threads 1] [--cpu-time]
"""
from __future__ import annotations

import sys
from typing import Callable, NamedTuple

import numpy as np

import minigan as mg


class ConvCase(NamedTuple):
    name: str
    kind: str            # "conv" or "deconv"
    x: tuple
    w: tuple
    stride: int
    padding: int
    output_padding: int
    x_grad: bool         # the first layer of D never needs the image gradient


CASES = [
    ConvCase("D conv1", "conv", (64, 1, 28, 28), (64, 1, 5, 5), 2, 2, 0, False),
    ConvCase("D conv2", "conv", (64, 64, 14, 14), (128, 64, 5, 5), 2, 2, 0, True),
    ConvCase("G deconv1", "deconv", (64, 256, 7, 7), (256, 128, 5, 5), 1, 2, 0, True),
    ConvCase("G deconv2", "deconv", (64, 128, 7, 7), (128, 64, 5, 5), 2, 2, 1, True),
    ConvCase("G deconv3", "deconv", (64, 64, 14, 14), (64, 1, 5, 5), 2, 2, 1, True),
]


def _kwargs(case: ConvCase) -> dict:
    kw = dict(stride=case.stride, padding=case.padding)
    if case.kind == "deconv":
        kw["output_padding"] = case.output_padding
    return kw


def steps(case: ConvCase, torch, seed: int = 0) -> tuple[Callable[[], None], Callable[[], None]]:
    """Closures running one forward + backward of ``case`` in minigan and in PyTorch.

    x and the output gradient are plain contiguous NCHW arrays for both (minigan works
    channels-last inside, so its time includes a transpose copy of each)."""
    import minigan.functional as F
    from minigan.bench import forward_backward_pair
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(case.x, dtype=np.float32)
    w = rng.standard_normal(case.w, dtype=np.float32) * 0.05
    tf, kw = torch.nn.functional, _kwargs(case)
    ours, theirs = (F.conv2d, tf.conv2d) if case.kind == "conv" else (F.conv_transpose2d,
                                                                      tf.conv_transpose2d)
    with torch.no_grad():
        out_shape = tuple(theirs(torch.from_numpy(x), torch.from_numpy(w), **kw).shape)
    gy = rng.standard_normal(out_shape, dtype=np.float32)
    return forward_backward_pair(torch, lambda a, b: ours(a, b, **kw),
                                 lambda a, b: theirs(a, b, **kw),
                                 [(x, case.x_grad), (w, True)], gy)


def main(argv: list[str] | None = None) -> int:
    """This family's rows of the kernel table (``benchmarks/kernels.py``, same options:
    --quick, --threads, --cpu-time, --repeats), timed by the shared harness (minigan.bench)."""
    from minigan.bench import kernels_main
    return kernels_main(["--group", "conv"] + (sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    mg.tune_process()  # a benchmark owns its process: minigan's speed settings
    sys.exit(main())
