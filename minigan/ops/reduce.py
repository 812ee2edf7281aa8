"""Reductions: sum, mean, max, min, var, std, and the broadcast / sum-to adjoint pair.

``broadcast_to`` and ``sum_to`` live together because each is the other's backward:
broadcasting copies a value to many places, so its gradient adds the many back into one.
"""
from __future__ import annotations

import builtins
from typing import Any

import numpy as np

from .. import backend
from ..autograd import Function, Tensor
from .args import normalize_axis  # noqa: F401  (re-exported: shape.py imports it from here)


def _pick_axis(axis: Any, dim: Any, keepdims: Any, keepdim: Any) -> tuple[Any, bool]:
    """Accept NumPy's (axis, keepdims) and PyTorch's (dim, keepdim) spellings."""
    if dim is not None:
        if axis is not None:
            raise TypeError("give axis or dim, not both")
        axis = dim
    return axis, bool(keepdims or keepdim)


def _keepdims_shape(shape: tuple, axes: tuple | None) -> tuple:
    if axes is None:
        return (1,) * len(shape)
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


# ============================================================================ broadcast_to / sum_to


class BroadcastTo(Function):
    def __init__(self, shape: tuple) -> None:
        self.shape = tuple(shape)

    def forward(self, x):
        return backend.get_array_module(x).broadcast_to(x, self.shape)

    def backward(self, gy):
        return sum_to(gy, self.inputs[0].shape)


class SumTo(Function):
    def __init__(self, shape: tuple) -> None:
        self.shape = tuple(shape)

    def forward(self, x):
        lead = x.ndim - len(self.shape)
        axes = tuple(range(lead)) + tuple(
            lead + i for i, n in enumerate(self.shape) if n == 1 and x.shape[lead + i] != 1)
        y = x.sum(axis=axes, keepdims=True) if axes else x
        return y.reshape(self.shape) if lead else y

    def backward(self, gy):
        return broadcast_to(gy, self.inputs[0].shape)


def broadcast_to(x: Tensor, shape: tuple) -> Tensor:
    """x repeated (as a view) to ``shape`` by NumPy's broadcasting rules."""
    shape = tuple(shape)
    if x.shape == shape:
        return x
    try:
        np.broadcast_shapes(x.shape, shape)
        if np.broadcast_shapes(x.shape, shape) != shape:
            raise ValueError
    except ValueError:
        raise ValueError(f"broadcast_to: cannot broadcast shape {x.shape} to {shape}") from None
    return BroadcastTo(shape)(x)


def sum_to(x: Tensor, shape: tuple) -> Tensor:
    """Sum x over the axes that broadcasting to x.shape would have added or stretched."""
    shape = tuple(shape)
    if x.shape == shape:
        return x
    return SumTo(shape)(x)


# ============================================================================ sum, mean


class Sum(Function):
    def __init__(self, axes: tuple | None, keepdims: bool) -> None:
        self.axes, self.keepdims = axes, keepdims

    def forward(self, x):
        return x.sum(axis=self.axes, keepdims=self.keepdims)

    def backward(self, gy):
        x, = self.inputs
        if not self.keepdims:
            gy = gy.reshape(_keepdims_shape(x.shape, self.axes))
        return broadcast_to(gy, x.shape)


def sum(x: Tensor, axis: Any = None, keepdims: bool = False, *, dim: Any = None,  # noqa: A001
        keepdim: bool = False) -> Tensor:
    """Sum over ``axis`` (None: all; an int or a tuple). ``dim``/``keepdim`` are aliases."""
    axis, keepdims = _pick_axis(axis, dim, keepdims, keepdim)
    return Sum(normalize_axis(axis, x.ndim, "sum"), keepdims)(x)


def _count(shape: tuple, axes: tuple | None) -> int:
    return int(np.prod(shape if axes is None else [shape[a] for a in axes], dtype=np.int64))


def mean(x: Tensor, axis: Any = None, keepdims: bool = False, *, dim: Any = None,
         keepdim: bool = False) -> Tensor:
    """Mean over ``axis``."""
    axis, keepdims = _pick_axis(axis, dim, keepdims, keepdim)
    axes = normalize_axis(axis, x.ndim, "mean")
    if x.dtype.kind != "f":
        raise TypeError(f"mean: needs a floating tensor, got {x.dtype}")
    n = _count(x.shape, axes)
    return Sum(axes, keepdims)(x) * (1.0 / n if n else float("nan"))


# ============================================================================ max, min


class _ReduceExtremum(Function):
    """max/min over axes: the gradient is shared evenly between tied winners (torch.amax)."""
    reduce_name = ""

    def __init__(self, axes: tuple | None, keepdims: bool) -> None:
        self.axes, self.keepdims = axes, keepdims

    def forward(self, x):
        if x.size == 0:
            raise ValueError(f"{self.reduce_name}: cannot reduce an empty tensor of shape {x.shape}")
        return getattr(x, self.reduce_name)(axis=self.axes, keepdims=self.keepdims)

    def backward(self, gy):
        x, = self.inputs
        y = self.output(0).data
        if not self.keepdims:
            y = y.reshape(_keepdims_shape(x.shape, self.axes))
            gy = gy.reshape(y.shape)
        winners = (x.data == y).astype(gy.dtype)
        winners /= winners.sum(axis=self.axes, keepdims=True)
        return broadcast_to(gy, x.shape) * Tensor._wrap(winners)


class Max(_ReduceExtremum):
    reduce_name = "max"


class Min(_ReduceExtremum):
    reduce_name = "min"


def max(x: Tensor, axis: Any = None, keepdims: bool = False, *, dim: Any = None,  # noqa: A001
        keepdim: bool = False) -> Tensor:
    """Largest value over ``axis`` (values only, like ``torch.amax``)."""
    axis, keepdims = _pick_axis(axis, dim, keepdims, keepdim)
    return Max(normalize_axis(axis, x.ndim, "max"), keepdims)(x)


def min(x: Tensor, axis: Any = None, keepdims: bool = False, *, dim: Any = None,  # noqa: A001
        keepdim: bool = False) -> Tensor:
    """Smallest value over ``axis`` (values only, like ``torch.amin``)."""
    axis, keepdims = _pick_axis(axis, dim, keepdims, keepdim)
    return Min(normalize_axis(axis, x.ndim, "min"), keepdims)(x)


def argmax(x: Tensor, axis: int | None = None, keepdims: bool = False) -> Tensor:
    """Index of the largest value (no gradient)."""
    return Tensor._wrap(x.data.argmax(axis=axis, keepdims=keepdims))


def argmin(x: Tensor, axis: int | None = None, keepdims: bool = False) -> Tensor:
    """Index of the smallest value (no gradient)."""
    return Tensor._wrap(x.data.argmin(axis=axis, keepdims=keepdims))


# ============================================================================ var, std


def var(x: Tensor, axis: Any = None, keepdims: bool = False, correction: int = 1, *,
        dim: Any = None, keepdim: bool = False, unbiased: bool | None = None) -> Tensor:
    """Variance: sum((x - mean)^2) / (n - correction); correction=1 (unbiased) as PyTorch."""
    axis, keepdims = _pick_axis(axis, dim, keepdims, keepdim)
    if unbiased is not None:
        correction = 1 if unbiased else 0
    axes = normalize_axis(axis, x.ndim, "var")
    centered = x - mean(x, axes, keepdims=True)
    dof = _count(x.shape, axes) - correction
    scale = 1.0 / dof if dof > 0 else float("inf")  # no degrees of freedom: nan, as PyTorch
    return sum(centered * centered, axes, keepdims) * scale


def std(x: Tensor, axis: Any = None, keepdims: bool = False, correction: int = 1, *,
        dim: Any = None, keepdim: bool = False, unbiased: bool | None = None) -> Tensor:
    """Standard deviation: sqrt(var)."""
    from .elementwise import sqrt
    return sqrt(var(x, axis, keepdims, correction, dim=dim, keepdim=keepdim, unbiased=unbiased))

