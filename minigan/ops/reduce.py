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
from ..errors import ArgumentError, DimError, DTypeError, ShapeError
from .args import as_dtype, normalize_axis, numeric_tensor, single_dim, tensor_arg  # noqa: F401


def _pick_axis(axis: Any, dim: Any, keepdims: Any, keepdim: Any) -> tuple[Any, bool]:
    """Accept NumPy's (axis, keepdims) and PyTorch's (dim, keepdim) spellings. An empty tuple
    of dims reduces over all of them, as in PyTorch (NumPy would reduce over none)."""
    if dim is not None:
        if axis is not None:
            raise DTypeError("give axis or dim, not both")
        axis = dim
    if isinstance(axis, (tuple, list)) and not axis:
        axis = None
    return axis, bool(keepdims or keepdim)


def _floating(x: Any, op: str) -> Tensor:
    """``x`` for a reduction that is only defined on floats (mean, var, std), as PyTorch."""
    tensor_arg(x, op)
    if x.data.dtype.kind != "f":
        raise DTypeError(f"{op}: could not infer output dtype: the input must be a floating "
                         f"tensor, got {x.data.dtype} (cast it with .float() first)")
    return x


def _keepdims_shape(shape: tuple, axes: tuple | None) -> tuple:
    if axes is None:
        return (1,) * len(shape)
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


# ============================================================================ the sum kernel

_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def _sum_array(x, axes: tuple | None, keepdims: bool):
    """``x.sum(axis=axes, keepdims=keepdims)``, through ``einsum`` over x's memory order when
    x is a float32/64 NumPy array laid out densely in some axis order whose innermost axis
    is kept: NumPy's ``sum`` walks such a reduction slowly (the bias gradient of a
    channels-last conv output, (128, 32, 16, 16) over (0, 2, 3): 0.98 -> 0.37 ms one thread;
    to 3 channels, (64, 3, 32, 32): 1.42 -> 0.32 ms), while einsum adds the same terms in
    the same order (same values bit for bit). A reduction along the innermost axis keeps
    NumPy's pairwise ``sum``."""
    if (axes is None or not isinstance(x, np.ndarray) or x.dtype not in (np.float32, np.float64)
            or not 2 <= x.ndim <= len(_LETTERS) or x.size == 0):
        return x.sum(axis=axes, keepdims=keepdims)
    order = sorted(range(x.ndim), key=lambda i: -x.strides[i])
    view = x.transpose(order)
    inner = [i for i in order if x.shape[i] > 1][-1:]   # the innermost axis that has a length
    if not inner or inner[0] in axes or not view.flags.c_contiguous:
        return x.sum(axis=axes, keepdims=keepdims)
    given = "".join(_LETTERS[i] for i in order)
    kept = "".join(_LETTERS[i] for i in range(x.ndim) if i not in axes)
    y = np.einsum(f"{given}->{kept}", view)
    return y.reshape(_keepdims_shape(x.shape, axes)) if keepdims else y


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
        y = _sum_array(x, axes, True) if axes else x
        return y.reshape(self.shape) if lead else y

    def backward(self, gy):
        return broadcast_to(gy, self.inputs[0].shape)


def broadcast_to(x: Tensor, shape: tuple) -> Tensor:
    """x repeated (as a view) to ``shape`` by NumPy's broadcasting rules."""
    tensor_arg(x, "broadcast_to")
    shape = tuple(shape)
    if x.shape == shape:
        return x
    try:
        fits = np.broadcast_shapes(x.shape, shape) == shape
    except (ValueError, TypeError):
        fits = False
    if not fits:
        raise ShapeError(f"broadcast_to: cannot broadcast shape {x.shape} to {shape}")
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
        return _sum_array(x, self.axes, self.keepdims)

    def backward(self, gy):
        x, = self.inputs
        if not self.keepdims:
            gy = gy.reshape(_keepdims_shape(x.shape, self.axes))
        return broadcast_to(gy, x.shape)


def sum(x: Tensor, axis: Any = None, keepdims: bool = False, *, dim: Any = None,  # noqa: A001
        keepdim: bool = False, dtype: Any = None) -> Tensor:
    """Sum over ``axis`` (None: all; an int or a tuple). ``dim``/``keepdim`` are aliases;
    ``dtype`` casts the input first, as PyTorch's."""
    axis, keepdims = _pick_axis(axis, dim, keepdims, keepdim)
    x = as_dtype(x, dtype, "sum")
    return Sum(normalize_axis(axis, tensor_arg(x, "sum").ndim, "sum"), keepdims)(x)


def _count(shape: tuple, axes: tuple | None) -> int:
    return int(np.prod(shape if axes is None else [shape[a] for a in axes], dtype=np.int64))


def mean(x: Tensor, axis: Any = None, keepdims: bool = False, *, dim: Any = None,
         keepdim: bool = False) -> Tensor:
    """Mean over ``axis``."""
    axis, keepdims = _pick_axis(axis, dim, keepdims, keepdim)
    axes = normalize_axis(axis, _floating(x, "mean").ndim, "mean")
    n = _count(x.shape, axes)
    return Sum(axes, keepdims)(x) * (1.0 / n if n else float("nan"))


# ============================================================================ max, min


class _ReduceExtremum(Function):
    """max/min over axes: the gradient is shared evenly between tied winners (torch.amax);
    with ``nan_wins`` (torch.max / torch.min of a whole tensor) a NaN result shares it
    between the NaN entries, as PyTorch's evenly_distribute_backward (amax gives NaN)."""
    reduce_name = ""
    nan_wins = False

    def __init__(self, axes: tuple | None, keepdims: bool) -> None:
        self.axes, self.keepdims = axes, keepdims

    def forward(self, x):
        if x.size == 0:  # PyTorch: RuntimeError
            raise ArgumentError(f"{self.reduce_name}: cannot reduce an empty tensor of shape "
                                f"{x.shape}")
        return getattr(x, self.reduce_name)(axis=self.axes, keepdims=self.keepdims)

    def backward(self, gy):
        x, = self.inputs
        y = self.output(0).data
        if not self.keepdims:
            y = y.reshape(_keepdims_shape(x.shape, self.axes))
            gy = gy.reshape(y.shape)
        winners = x.data == y
        if self.nan_wins:
            xp = backend.get_array_module(y)
            if xp.isnan(y).any():
                winners |= xp.isnan(x.data) & xp.isnan(y)
        winners = winners.astype(gy.dtype)
        winners /= winners.sum(axis=self.axes, keepdims=True)
        return broadcast_to(gy, x.shape) * Tensor._wrap(winners)


class Max(_ReduceExtremum):
    reduce_name = "max"


class Min(_ReduceExtremum):
    reduce_name = "min"


class MaxAll(Max):
    """torch.max(x) of a whole tensor (its gradient rule for NaN, see _ReduceExtremum)."""
    nan_wins = True


class MinAll(Min):
    nan_wins = True


def max(x: Tensor, axis: Any = None, keepdims: bool = False, *, dim: Any = None,  # noqa: A001
        keepdim: bool = False) -> Tensor:
    """Largest value over ``axis`` (values only, like ``torch.amax``)."""
    axis, keepdims = _pick_axis(axis, dim, keepdims, keepdim)
    return Max(normalize_axis(axis, tensor_arg(x, "max").ndim, "max"), keepdims)(x)


def min(x: Tensor, axis: Any = None, keepdims: bool = False, *, dim: Any = None,  # noqa: A001
        keepdim: bool = False) -> Tensor:
    """Smallest value over ``axis`` (values only, like ``torch.amin``)."""
    axis, keepdims = _pick_axis(axis, dim, keepdims, keepdim)
    return Min(normalize_axis(axis, tensor_arg(x, "min").ndim, "min"), keepdims)(x)


def _arg_extremum(op: str, x: Tensor, axis: Any, keepdims: bool, dim: Any,
                  keepdim: bool) -> Tensor:
    axis, keepdims = _pick_axis(axis, dim, keepdims, keepdim)
    numeric_tensor(x, op)
    xp = backend.get_array_module(x.data)
    if axis is None:
        if x.data.size == 0:  # PyTorch: IndexError
            raise DimError(f"{op}: cannot take the {op} of an empty tensor of shape "
                           f"{x.shape}")
        index = xp.asarray(getattr(x.data, op)(), dtype=np.int64)
        return Tensor._wrap(index.reshape((1,) * x.ndim) if keepdims else index)
    d = single_dim(axis, x.ndim, op)
    if x.ndim == 0:
        return Tensor._wrap(xp.zeros((), dtype=np.int64))
    if x.shape[d] == 0:
        raise DimError(f"{op}: dim {axis} of the input of shape {x.shape} has size 0")
    index = getattr(x.data, op)(axis=d, keepdims=keepdims)
    return Tensor._wrap(index.astype(np.int64, copy=False))


def argmax(x: Tensor, axis: int | None = None, keepdims: bool = False, *, dim: Any = None,
           keepdim: bool = False) -> Tensor:
    """Index of the largest value, over all elements or along one dim (no gradient)."""
    return _arg_extremum("argmax", x, axis, keepdims, dim, keepdim)


def argmin(x: Tensor, axis: int | None = None, keepdims: bool = False, *, dim: Any = None,
           keepdim: bool = False) -> Tensor:
    """Index of the smallest value, over all elements or along one dim (no gradient)."""
    return _arg_extremum("argmin", x, axis, keepdims, dim, keepdim)


# ============================================================================ var, std


def var(x: Tensor, axis: Any = None, keepdims: bool = False, correction: int = 1, *,
        dim: Any = None, keepdim: bool = False, unbiased: bool | None = None) -> Tensor:
    """Variance: sum((x - mean)^2) / (n - correction); correction=1 (unbiased) as PyTorch."""
    axis, keepdims = _pick_axis(axis, dim, keepdims, keepdim)
    if unbiased is not None:
        correction = 1 if unbiased else 0
    axes = normalize_axis(axis, _floating(x, "var").ndim, "var")
    centered = x - mean(x, axes, keepdims=True)
    dof = _count(x.shape, axes) - correction
    scale = 1.0 / dof if dof > 0 else float("inf")  # no degrees of freedom: nan, as PyTorch
    return sum(centered * centered, axes, keepdims) * scale


def std(x: Tensor, axis: Any = None, keepdims: bool = False, correction: int = 1, *,
        dim: Any = None, keepdim: bool = False, unbiased: bool | None = None) -> Tensor:
    """Standard deviation: sqrt(var)."""
    from .elementwise import sqrt
    _floating(x, "std")
    return sqrt(var(x, axis, keepdims, correction, dim=dim, keepdim=keepdim, unbiased=unbiased))

