"""Reductions beside ops/reduce.py's: prod, logsumexp, amax/amin, vector_norm/norm, any/all.

PyTorch's names, ``dim``/``keepdim`` and dtypes: prod of integers accumulates in int64,
logsumexp of integers gives the default float dtype, vector_norm needs a floating tensor,
any/all give bools and no gradient. ``keep(g)`` below is the upstream gradient reshaped to
the input's rank (size 1 on the reduced dims), so it broadcasts against x.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import backend
from ..autograd import Function, Tensor
from ..errors import ArgumentError, DimError, DTypeError
from . import elementwise as E, reduce as R, shape as S
from .args import dtype_arg, normalize_axis, single_dim, tensor_arg
from .scan import cumprod


def _keep(g: Tensor, shape: tuple, axes: tuple | None, keepdim: bool) -> Tensor:
    """g reshaped to the input's rank with size 1 on the reduced axes (broadcastable to x)."""
    return g if keepdim else S.reshape(g, R._keepdims_shape(shape, axes))


def _reduced_size(shape: tuple, axes: tuple | None) -> int:
    return math.prod(shape if axes is None else [shape[a] for a in axes])


# ============================================================================ prod
#
# y = prod_i x_i over the reduced dim;  gx_k = g prod_{i != k} x_i.
# Without zeros that is g y / x. With zeros (PyTorch's rule: one zero gets the product of the
# others, every other entry 0; two zeros or more: all 0) it is the product of the exclusive
# cumulative products from both ends, prod_{i < k} x_i * prod_{i > k} x_i, which is
# differentiable (cumprod is), so double backward is exact too.


def _exclusive_cumprod(x: Tensor, axis: int, reverse: bool = False) -> Tensor:
    """prod_{i < k} x_i (or prod_{i > k} with ``reverse``) along ``axis``, for every k."""
    index = [slice(None)] * x.ndim
    if reverse:
        index[axis] = slice(None, None, -1)
        return S.getitem(_exclusive_cumprod(S.getitem(x, tuple(index)), axis), tuple(index))
    head, shifted = list(index), list(index)
    head[axis], shifted[axis] = slice(0, 1), slice(0, -1)
    ones = E.mul(S.getitem(x, tuple(head)), 0.0) + 1.0
    return cumprod(S.concat([ones, S.getitem(x, tuple(shifted))], axis), axis)


class Prod(Function):
    def __init__(self, axis: int | None, keepdim: bool) -> None:
        self.axis, self.keepdim = axis, keepdim

    def forward(self, x):
        return x.prod(axis=self.axis, keepdims=self.keepdim)

    def backward(self, gy):
        x, = self.inputs
        axes = None if self.axis is None else (self.axis,)
        g = _keep(gy, x.shape, axes, self.keepdim)
        if not bool((x.data == 0).any()):
            return g * _keep(self.output(0), x.shape, axes, self.keepdim) / x
        flat = x if self.axis is not None else S.reshape(x, (-1,))
        axis = self.axis or 0
        others = _exclusive_cumprod(flat, axis) * _exclusive_cumprod(flat, axis, reverse=True)
        return g * S.reshape(others, x.shape)


def prod(input: Tensor, dim: int | None = None, keepdim: bool = False, *,
         dtype: Any = None) -> Tensor:
    """Product of all elements, or along one ``dim``; integers and bools give int64. The
    gradient is exact with zeros in the input (PyTorch's rule)."""
    tensor_arg(input, "prod")
    if dtype is not None:
        input = E.cast(input, dtype_arg(dtype, "prod"))
    elif input.data.dtype.kind in "biu":
        input = Tensor._wrap(input.data.astype(np.int64))
    axis = None if dim is None else single_dim(dim, input.ndim, "prod")
    if input.ndim == 0:
        axis = None
    return Prod(axis, bool(keepdim))(input)


# ============================================================================ logsumexp
#
# y = m + log(sum exp(x - m)), m = max(x) (0 where m is +-inf, as PyTorch, so that all -inf
# gives -inf and an inf gives inf instead of NaN);  gx = keep(g) exp(x - keep(y)) = g softmax(x).


class LogSumExp(Function):
    def __init__(self, axes: tuple | None, keepdim: bool) -> None:
        self.axes, self.keepdim = axes, keepdim

    def forward(self, x):
        xp = backend.get_array_module(x)
        if x.size == 0:
            return xp.full(self._shape(x.shape), -np.inf, dtype=x.dtype)
        if x.ndim == 0:
            return x.copy()
        m = xp.asarray(x.max(axis=self.axes, keepdims=True))
        m = xp.where(xp.isinf(m), x.dtype.type(0), m)
        with np.errstate(divide="ignore", invalid="ignore"):  # -inf, inf and NaN as PyTorch
            e = x - m
            xp.exp(e, out=e)
            y = xp.log(e.sum(axis=self.axes, keepdims=True))
        y += m
        return y if self.keepdim else y.reshape(self._shape(x.shape))

    def _shape(self, shape: tuple) -> tuple:
        if self.keepdim:
            return R._keepdims_shape(shape, self.axes)
        return tuple(n for i, n in enumerate(shape) if self.axes is not None and i not in self.axes)

    def backward(self, gy):
        x, = self.inputs
        y = _keep(self.output(0), x.shape, self.axes, self.keepdim)
        with np.errstate(invalid="ignore"):  # inf - inf: NaN, as PyTorch
            return _keep(gy, x.shape, self.axes, self.keepdim) * E.exp(x - y)


def logsumexp(input: Tensor, dim: Any, keepdim: bool = False) -> Tensor:
    """log(sum(exp(x))) over ``dim`` (an int or a tuple), computed stably: the max is taken
    out first. Integers give the default float dtype. The gradient is softmax(x) * g."""
    tensor_arg(input, "logsumexp")
    x = input if input.data.dtype.kind == "f" else \
        Tensor._wrap(input.data.astype(backend.get_default_dtype()))
    axes = normalize_axis(dim, x.ndim, "logsumexp")
    if axes == ():
        axes = None if x.ndim == 0 else ()
    return LogSumExp(axes, bool(keepdim))(x)


# ============================================================================ amax, amin


def _extremum(op: str, cls, input: Tensor, dim: Any, keepdim: bool, axis: Any,
              keepdims: bool) -> Tensor:
    tensor_arg(input, op)
    dim, keepdim = R._pick_axis(axis, None if dim == () else dim, keepdims, keepdim)
    axes = normalize_axis(dim, input.ndim, op)
    if input.data.size == 0:
        if _reduced_size(input.shape, axes) == 0 or axes is None:
            # PyTorch: RuntimeError without a dim, IndexError for an empty dim given
            kind = ArgumentError if axes is None else DimError
            raise kind(f"{op}: cannot reduce over an empty dim of a tensor of shape "
                       f"{input.shape} (the operation has no identity)")
        reduce = getattr(input.data, op[1:])
        return Tensor._wrap(reduce(axis=axes, keepdims=bool(keepdim)))
    return cls(axes, bool(keepdim))(input)


def amax(input: Tensor, dim: Any = (), keepdim: bool = False, *, axis: Any = None,
         keepdims: bool = False) -> Tensor:
    """Largest value over ``dim`` (an int, a tuple; () or None: all dims; NumPy's ``axis`` /
    ``keepdims`` work too). The gradient is shared evenly between tied maxima (unlike
    ``max(x, dim)``, which picks one index)."""
    return _extremum("amax", R.Max, input, dim, keepdim, axis, keepdims)


def amin(input: Tensor, dim: Any = (), keepdim: bool = False, *, axis: Any = None,
         keepdims: bool = False) -> Tensor:
    """Smallest value over ``dim``; the gradient is shared evenly between ties."""
    return _extremum("amin", R.Min, input, dim, keepdim, axis, keepdims)


# ============================================================================ vector_norm, norm
#
# y = (sum |x|^p)^(1/p) over dim; p = inf: max |x|, -inf: min |x|, 0: the count of nonzeros.
# Gradients (PyTorch's, with its choices at 0), k = keep(g), Y = keep(y):
#   p = 0: 0;  p = 1: k sign(x);  p = 2: k x / Y (0 where Y = 0);
#   p = +-inf: k sign(x) m / sum(m), m = [|x| == Y] (ties share it evenly);
#   p < 1: k sign(x) |x|^(p-1) Y^(1-p), with 0 where x = 0;
#   1 < p < 2: k sign(x) |x|^(p-1) / Y^(p-1);  p > 2: k x |x|^(p-2) / Y^(p-1) (0 where Y = 0).


def _replace(mask, value: Tensor, constant: float) -> Tensor:
    """``value`` with ``constant`` where the constant boolean ``mask`` holds."""
    return E.where(Tensor._wrap(mask), constant, value) if bool(mask.any()) else value


def _where_zero(mask, value: Tensor) -> Tensor:
    return _replace(mask, value, 0.0)


class VectorNorm(Function):
    def __init__(self, ord: float, axes: tuple | None, keepdim: bool) -> None:
        self.ord, self.axes, self.keepdim = ord, axes, keepdim

    def forward(self, x):
        xp = backend.get_array_module(x)
        p, axes, keep = self.ord, self.axes, self.keepdim
        if p == 0:
            return (x != 0).sum(axis=axes, keepdims=keep).astype(x.dtype)
        a = xp.abs(x)
        if p == math.inf:
            return a.max(axis=axes, keepdims=keep)
        if p == -math.inf:
            return a.min(axis=axes, keepdims=keep)
        if p == 1:
            return a.sum(axis=axes, keepdims=keep)
        if p == 2:
            return xp.sqrt((x * x).sum(axis=axes, keepdims=keep))
        with np.errstate(divide="ignore", over="ignore"):
            return (a ** x.dtype.type(p)).sum(axis=axes, keepdims=keep) ** x.dtype.type(1 / p)

    def backward(self, gy):
        x, = self.inputs
        p = self.ord
        if p == 0:
            return Tensor._wrap(backend.get_array_module(x.data).zeros_like(x.data))
        k = _keep(gy, x.shape, self.axes, self.keepdim)
        sign = Tensor._wrap(backend.get_array_module(x.data).sign(x.data))
        if p == 1:
            return k * sign
        y = _keep(self.output(0), x.shape, self.axes, self.keepdim)
        if math.isinf(p):
            xp = backend.get_array_module(x.data)
            a = xp.abs(x.data)
            winners = ((a == y.data) | xp.isnan(a)).astype(x.dtype)
            winners /= winners.sum(axis=self.axes, keepdims=True)
            return k * sign * Tensor._wrap(winners)
        a = E.abs(x)
        if p < 1:
            zero = x.data == 0
            scaled = _where_zero(zero, E.pow(_replace(zero, a, 1.0), p - 1))
            return k * sign * scaled * E.pow(y, 1 - p)
        norm_zero = y.data == 0
        scale = _where_zero(norm_zero, k / E.pow(_replace(norm_zero, y, 1.0), p - 1))
        if p == 2:
            return x * scale
        return (sign * E.pow(a, p - 1) if p < 2 else x * E.pow(a, p - 2)) * scale


def _ord(ord: Any, op: str) -> float:
    if isinstance(ord, (bool, np.bool_)) or not isinstance(ord, (int, float, np.number)):
        raise DTypeError(f"{op}: ord must be a number (2, 1, inf, -inf, 0 or any p), "
                         f"got {ord!r}")
    if math.isnan(float(ord)):
        raise ArgumentError(f"{op}: ord must not be NaN")
    return float(ord)


def vector_norm(x: Tensor, ord: Any = 2, dim: Any = None, keepdim: bool = False, *,
                dtype: Any = None) -> Tensor:
    """The p-norm ``(sum |x|^ord)^(1/ord)`` over ``dim`` (None: all elements), as
    ``torch.linalg.vector_norm``: ord inf / -inf is max / min |x|, 0 counts nonzeros.
    Floating tensors only; ``dtype`` casts first. At 0 the gradient is PyTorch's subgradient
    (0 for the 2-norm)."""
    op = "vector_norm"
    tensor_arg(x, op)
    p = _ord(ord, op)
    if dtype is not None:
        dt = dtype_arg(dtype, op)
        if dt.kind != "f" or (x.data.dtype.kind == "f" and dt.itemsize < x.data.dtype.itemsize):
            raise DTypeError(f"{op}: dtype must be floating and at least as wide as the "
                             f"input's ({x.data.dtype}), got {dt}")
        x = E.cast(x, dt)
    if x.data.dtype.kind != "f":
        raise DTypeError(f"{op}: needs a floating tensor, got {x.data.dtype}")
    axes = normalize_axis(dim, x.ndim, op)
    if math.isinf(p) and _reduced_size(x.shape, axes) == 0:
        raise ArgumentError(f"{op}: cannot take the {ord} norm over an empty dim of a tensor "
                            f"of shape {x.shape} (the operation has no identity)")
    return VectorNorm(p, axes, bool(keepdim))(x)


def norm(input: Tensor, p: Any = "fro", dim: Any = None, keepdim: bool = False,
         dtype: Any = None) -> Tensor:
    """``torch.norm``: ``p='fro'`` (the default) or a number is the vector p-norm over
    ``dim`` (all elements when None; Frobenius over two dims is the 2-norm of them).
    The nuclear norm (``'nuc'``) is not supported."""
    if isinstance(p, str):
        if p == "nuc":
            raise ArgumentError("norm: the nuclear norm (p='nuc') is not supported")
        if p != "fro":
            raise ArgumentError(f"norm: p must be 'fro' or a number, got {p!r}")
        p = 2
    return vector_norm(input, p, dim, keepdim, dtype=dtype)


# ============================================================================ any, all (no grad)


def _logical_reduction(op: str, input: Tensor, dim: Any, keepdim: bool) -> Tensor:
    tensor_arg(input, op)
    axes = normalize_axis(dim, input.ndim, op)
    data = input.data
    result = getattr(data.astype(bool) if data.dtype != np.bool_ else data, op)(
        axis=axes, keepdims=bool(keepdim))
    xp = backend.get_array_module(data)
    return Tensor._wrap(xp.asarray(result, dtype=np.uint8 if data.dtype == np.uint8 else bool))


def any(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:  # noqa: A001
    """True where any element (over ``dim``; all when None) is nonzero; a bool tensor."""
    return _logical_reduction("any", input, dim, keepdim)


def all(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:  # noqa: A001
    """True where every element (over ``dim``; all when None) is nonzero; a bool tensor."""
    return _logical_reduction("all", input, dim, keepdim)
