"""minigan: a small deep-learning engine on NumPy (CPU) and CuPy (GPU), written to be read.

    import minigan as mg
    x = mg.randn(3, 4, requires_grad=True)
    (x * x).sum().backward()        # x.grad == 2 x
"""
from __future__ import annotations

__version__ = "0.1.0"

from . import backend
from .autograd import (Function, Tensor, as_tensor, enable_grad, grad, is_grad_enabled, no_grad,
                       set_grad_enabled, tensor)
from .backend import (Generator, default_generator, get_default_dtype, get_rng_state,
                      manual_seed, set_default_dtype, set_rng_state, use_generator)
from .errors import (ArgumentError, CheckpointError, DeviceError, DimError, DTypeError,
                     GradcheckError, GraphError, MiniganError, OutOfMemoryError, ShapeError)
from .gradcheck import gradcheck, gradgradcheck
from .process import process_settings, tune_process
from .ops.elementwise import (abs, add, cast, clamp, clip, div, eq, exp, ge, gt, le, log, lt,
                              maximum, minimum, mul, ne, neg, pow, sqrt, sub, where)
from .ops.linalg import matmul, mm
from .ops.reduce import argmax, argmin, max, mean, min, std, sum, sum_to, var
from .ops.shape import (broadcast_to, clone, concat, expand, flatten, getitem, pad, permute,
                        reshape, split, squeeze, stack, t, to_device, transpose, unflatten,
                        unsqueeze)
from .serialization import load, save
# indexing, rearranging, einsum (the opsa block)
from .ops.einsum import einsum
from .ops.index import (gather, index_select, masked_fill, masked_select, nonzero, scatter,
                        scatter_add, take_along_dim, tril, triu)
from .ops.rearrange import (chunk, flip, movedim, moveaxis, narrow, repeat_interleave, roll,
                            swapaxes, swapdims, tile, unbind)
# PyTorch's names for the ops of ops/math.py, scan.py, reductions.py, sort.py, logic.py and
# the factories of factories.py
from .ops.math import (acos, acosh, arccos, arccosh, arcsin, arcsinh, arctan, arctan2, arctanh,
                       asin, asinh, atan, atan2, atanh, ceil, cos, cosh, div, divide, erf, erfc,
                       exp2, expm1, fix, floor, floor_divide, fmod, frac, hypot, lerp, log10,
                       log1p, log2, reciprocal, remainder, round, rsqrt, sgn, sign, sin, sinh,
                       square, tan, trunc, true_divide)
from .ops.activation import sigmoid, tanh
from .ops.scan import cumprod, cumsum
from .ops.reductions import all, amax, amin, any, logsumexp, norm, prod
from .ops.sort import argsort, max, median, min, mode, sort, topk
from . import linalg
from .ops.logic import (allclose, equal, isclose, isfinite, isinf, isnan, isneginf, isposinf,
                        logical_and, logical_not, logical_or, logical_xor)
from .factories import (arange, empty, empty_like, eye, full, full_like, linspace, logspace,
                        normal, ones, ones_like, rand, rand_like, randint, randn, randn_like,
                        randperm, zeros, zeros_like)
from . import _methods

_methods.install()
from . import functional, nn, optim  # noqa: E402  (the layers above: ops -> nn -> optim)
from . import reference  # noqa: E402  (the plain kernels, loaded by the ops above)
from .reference import reference_kernels_enabled, use_reference_kernels  # noqa: E402
# the study tools: graph viewer, op profiler, anomaly detection
from . import viz  # noqa: E402
from .anomaly import detect_anomaly, is_anomaly_enabled, set_detect_anomaly  # noqa: E402
from .errors import AnomalyError, MissingToolError  # noqa: E402
from .profiler import profile  # noqa: E402
cat = concat
# dtypes by PyTorch's names (NumPy dtype names: any place that takes a dtype takes these)
float32, float64, int64, int32, uint8 = "float32", "float64", "int64", "int32", "uint8"
float, double, long, int, bool = float32, float64, int64, int32, "bool"  # noqa: A001


def device(type: str, index: int | None = None) -> str:  # noqa: A002 - PyTorch's names
    """``mg.device("cuda", 0)`` / ``mg.device("cpu")``: a device as minigan names it
    ("cpu", "cuda:0"); minigan's devices are plain strings."""
    return backend.normalize_device(type if index is None else f"{type}:{index}")


def is_available_cuda() -> bool:
    """True when CuPy is installed and a GPU is visible."""
    return backend.cuda_status() is None
