"""Forward + backward time of the normalisation, activation and dropout kernels against
torch.nn.functional at DCGAN-28 sizes (batch 64, float32, torch on 2 threads).

Each case runs minigan and PyTorch in alternating blocks in one process, with the
gradients reset before each step (so neither pays for accumulating into .grad), and reports
the medians and their ratio (minigan / torch; the target is <= 1.5).

    python benchmarks/norm_act_speed.py [--repeats 40] [--threads 2] [--cpu-time]

``--threads`` sets PyTorch's intra-op threads and NumPy's BLAS threads (threadpoolctl).
On a busy machine, ``--cpu-time`` compares one thread each by the process's CPU time,
which does not count the time spent waiting for a core (wall time does).
"""
from __future__ import annotations

import sys

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


def main(argv: list[str] | None = None) -> int:
    """This family's rows of the kernel table (``benchmarks/kernels.py``, same options:
    --quick, --threads, --cpu-time, --repeats), timed by the shared harness (minigan.bench)."""
    from minigan.bench import kernels_main
    return kernels_main(["--group", "norm", "activation"] + (sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    mg.tune_process()  # a benchmark owns its process: minigan's speed settings
    sys.exit(main())
