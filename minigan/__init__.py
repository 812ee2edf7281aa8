"""minigan: a small deep-learning engine on NumPy (CPU) and CuPy (GPU), written to be read.

    import minigan as mg
    x = mg.randn(3, 4, requires_grad=True)
    (x * x).sum().backward()        # x.grad == 2 x
"""
from __future__ import annotations

__version__ = "0.1.0"

import os as _os
import sys as _sys

# OpenBLAS's worker threads busy-wait ~0.1 s (2^28 cycles) after every matrix product before
# they sleep. minigan's own threads split the element-wise kernels between the cores right
# after each GEMM, so they ran on a core that a spinning BLAS thread held: a split
# leaky_relu forward on 0.8M floats took 1.0 ms right after a GEMM, 0.66-0.79 ms with the
# spin cut to 2^4 cycles. OpenBLAS reads the setting once, when NumPy loads it, so it only
# takes effect when minigan is imported before NumPy (the ``minigan`` command always is).
# A value the user set is kept.
BLAS_SPIN_LIMITED = "numpy" not in _sys.modules and "OPENBLAS_THREAD_TIMEOUT" not in _os.environ
if BLAS_SPIN_LIMITED:
    _os.environ["OPENBLAS_THREAD_TIMEOUT"] = "4"

from . import backend  # noqa: E402  (NumPy loads here, after the setting above)
from .autograd import (Function, Tensor, as_tensor, enable_grad, grad, is_grad_enabled, no_grad,
                       set_grad_enabled, tensor)
from .backend import (Generator, default_generator, get_default_dtype, get_rng_state,
                      manual_seed, set_default_dtype, set_rng_state, use_generator)
from .creation import (arange, full, ones, ones_like, rand, rand_like, randint, randn, randn_like,
                       zeros, zeros_like)
from .errors import (ArgumentError, CheckpointError, DeviceError, DimError, DTypeError,
                     GradcheckError, MiniganError, ShapeError)
from .gradcheck import gradcheck, gradgradcheck
from .ops.elementwise import (abs, add, cast, clamp, div, eq, exp, ge, gt, le, log, lt, maximum,
                              minimum, mul, ne, neg, pow, sqrt, sub, where)
from .ops.linalg import matmul
from .ops.reduce import argmax, argmin, max, mean, min, std, sum, sum_to, var
from .ops.shape import (broadcast_to, concat, expand, flatten, getitem, pad, permute, reshape,
                        split, squeeze, stack, to_device, transpose, unsqueeze)
from .serialization import load, save
from . import _methods

_methods.install()
from . import functional, nn, optim  # noqa: E402  (the layers above: ops -> nn -> optim)
cat = concat
float32, float64, int64 = "float32", "float64", "int64"


def is_available_cuda() -> bool:
    """True when CuPy is installed and a GPU is visible."""
    return backend.cuda_status() is None
