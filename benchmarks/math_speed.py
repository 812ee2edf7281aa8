"""Forward + backward time of the activation family, scans, logsumexp and sorting against
PyTorch (float32, batch 64): silu / softplus / mish / hardswish at the small Transformer's
width (64, 16, 512) and at DCGAN-28's (64, 64, 14, 14), cumsum and logsumexp over the last dim
of (64, 16, 512), sort and topk(8) over the last dim of (64, 16, 512).

Each case runs minigan and PyTorch in alternating blocks in one process and reports the
medians and their ratio (minigan / torch), timed by minigan.bench like every kernel table.

    python benchmarks/math_speed.py [--quick] [--threads 2] [--cpu-time] [--repeats 15]
"""
from __future__ import annotations

import minigan  # noqa: F401  first: it limits OpenBLAS's thread spin before NumPy loads

import sys

import minigan as mg
import minigan.functional as F


def _cases(torch):
    """(name, input shape, ours(x), theirs(x), upstream gradient shape)."""
    tf = torch.nn.functional
    text, image = (64, 16, 512), (64, 64, 14, 14)
    cases = []
    for name, ours, theirs in (("silu", F.silu, tf.silu), ("softplus", F.softplus, tf.softplus),
                               ("mish", F.mish, tf.mish), ("hardswish", F.hardswish, tf.hardswish)):
        for shape in (text, image):
            cases.append((f"{name} {shape}", shape, ours, theirs, shape))
    cases += [
        ("cumsum dim -1 (64, 16, 512)", text, lambda x: mg.cumsum(x, -1),
         lambda x: torch.cumsum(x, -1), text),
        ("logsumexp dim -1 (64, 16, 512)", text, lambda x: mg.logsumexp(x, -1),
         lambda x: torch.logsumexp(x, -1), text[:-1]),
        ("sort dim -1 (64, 16, 512)", text, lambda x: mg.sort(x, -1).values,
         lambda x: torch.sort(x, -1).values, text),
        ("topk 8 dim -1 (64, 16, 512)", text, lambda x: mg.topk(x, 8).values,
         lambda x: torch.topk(x, 8).values, text[:-1] + (8,)),
    ]
    return cases


QUICK = ("silu (64, 16, 512)", "softplus (64, 16, 512)", "cumsum", "logsumexp", "topk")


def main(argv: list[str] | None = None) -> int:
    """This family's rows of the kernel table (``benchmarks/kernels.py``, same options)."""
    from minigan.bench import kernels_main
    return kernels_main(["--group", "math"] + (sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    sys.exit(main())
