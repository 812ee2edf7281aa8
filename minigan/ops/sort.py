"""Sorting and selection along one dim: sort, argsort, topk, max/min with a dim, median, mode.

The ops that return values with their indices return a named tuple ``(values, indices)`` as
PyTorch's ``torch.return_types`` do (``v, i = mg.sort(x)``, ``mg.max(x, 1).indices``). The
values are picked from the input by index (``Pick``), so their gradient is the upstream
gradient put back at those indices (``Place``), and the backward of that is a pick again:
every order of derivative works. Indices never carry a gradient.

PyTorch's conventions: NaN sorts as the largest value (last ascending, first descending);
``stable=True`` keeps equal elements in their input order (this implementation is always
stable); ``max``/``min`` with a dim return the first index of the extreme value, and the
gradient goes to that one element (``amax``/``amin`` share it between ties instead).
"""
from __future__ import annotations

import builtins
from collections import namedtuple
from typing import Any

import numpy as np

from .. import backend
from ..autograd import Function, Tensor
from ..errors import ArgumentError, DimError, DTypeError
from . import reduce as R
from .args import int_arg, numeric_tensor, single_dim, tensor_arg

# named tuples like torch.return_types.*: fields ``values`` and ``indices``
sort_result = namedtuple("sort", ["values", "indices"])
topk_result = namedtuple("topk", ["values", "indices"])
max_result = namedtuple("max", ["values", "indices"])
min_result = namedtuple("min", ["values", "indices"])
median_result = namedtuple("median", ["values", "indices"])
mode_result = namedtuple("mode", ["values", "indices"])


# ============================================================================ pick / place


def _along(xp, index, axis: int) -> tuple:
    """An advanced index that selects ``index`` (same rank as the array) along ``axis``:
    ``a[_along(xp, i, axis)]`` is ``take_along_axis(a, i, axis)``, and assigning to it puts
    values back (works on NumPy and CuPy alike)."""
    grids = []
    for d, n in enumerate(index.shape):
        if d == axis:
            grids.append(index)
        else:
            shape = [1] * index.ndim
            shape[d] = n
            grids.append(xp.arange(n).reshape(shape))
    return tuple(grids)


class Pick(Function):
    """y = x at ``index`` along ``axis`` (indices distinct along the axis);  gx = Place(g)."""

    def __init__(self, index, axis: int) -> None:
        self.index, self.axis = index, axis

    def forward(self, x):
        return x[_along(backend.get_array_module(x), self.index, self.axis)]

    def backward(self, gy):
        return Place(self.index, self.axis, self.inputs[0].shape)(gy)


class Place(Function):
    """Zeros of ``shape`` with g put at ``index`` along ``axis``;  its gradient is Pick."""

    def __init__(self, index, axis: int, shape: tuple) -> None:
        self.index, self.axis, self.shape = index, axis, shape

    def forward(self, g):
        xp = backend.get_array_module(g)
        out = xp.zeros(self.shape, dtype=g.dtype)
        out[_along(xp, self.index, self.axis)] = g
        return out

    def backward(self, gg):
        return Pick(self.index, self.axis)(gg)


def _picked(x: Tensor, index, axis: int, keepdim: bool = True) -> Tensor:
    """Pick(x, index) (a 0-d x is its own pick); without ``keepdim`` the size-1 axis goes."""
    if x.ndim == 0:
        return x
    values = Pick(index, axis)(x)
    return values if keepdim else values.reshape(values.shape[:axis] + values.shape[axis + 1:])


def _index_tensor(index, keepdim: bool, axis: int, ndim: int) -> Tensor:
    if ndim == 0:
        index = index.reshape(())
    elif not keepdim:
        index = index.reshape(index.shape[:axis] + index.shape[axis + 1:])
    return Tensor._wrap(index.astype(np.int64, copy=False))


# ============================================================================ sort, argsort


def _argsort(x, axis: int, descending: bool):
    """Stable argsort along ``axis``; descending keeps ties in input order too (the flipped
    array's stable ascending order, read backwards); NaN counts as the largest value."""
    xp = backend.get_array_module(x)
    if not descending:
        return xp.argsort(x, axis=axis, kind="stable")
    n = x.shape[axis]
    backwards = xp.argsort(xp.flip(x, axis), axis=axis, kind="stable")
    return (n - 1) - xp.flip(backwards, axis)


def _sort_axis(input: Any, dim: Any, op: str) -> tuple[Tensor, int]:
    tensor_arg(input, op)
    return input, single_dim(dim, input.ndim, op)


def sort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False):
    """The values along ``dim`` in order, and where each came from: ``(values, indices)``.
    Ties keep their input order (always stable, so ``stable`` only documents intent)."""
    x, axis = _sort_axis(input, dim, "sort")
    if x.ndim == 0:
        return sort_result(_picked(x, None, 0), Tensor._wrap(np.zeros((), dtype=np.int64)))
    index = _argsort(x.data, axis, bool(descending))
    return sort_result(_picked(x, index, axis), Tensor._wrap(index.astype(np.int64, copy=False)))


def argsort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False) -> Tensor:
    """The indices that sort ``input`` along ``dim`` (stable; no gradient)."""
    x, axis = _sort_axis(input, dim, "argsort")
    if x.ndim == 0:
        return Tensor._wrap(np.zeros((), dtype=np.int64))
    return Tensor._wrap(_argsort(x.data, axis, bool(descending)).astype(np.int64, copy=False))


# ============================================================================ topk


def topk(input: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True):  # noqa: A002
    """The ``k`` largest (or smallest) values along ``dim`` and their indices, largest first
    (smallest first with ``largest=False``). NaN counts as the largest value. The k are found
    by a partial sort (O(n)), then ordered."""
    x, axis = _sort_axis(input, dim, "topk")
    n = x.shape[axis] if x.ndim else 1
    k = int_arg(k, "topk", "k", 0)
    if k > n:
        raise ArgumentError(f"topk: k = {k} is out of range for dim {dim} of size {n} "
                            f"(input of shape {x.shape})")
    if x.ndim == 0:
        return topk_result(_picked(x, None, 0), Tensor._wrap(np.zeros((), dtype=np.int64)))
    xp = backend.get_array_module(x.data)
    data = x.data
    if 0 < k < n:
        kth = n - k if largest else k - 1
        part = xp.argpartition(data, kth, axis=axis)
        keep = [slice(None)] * data.ndim
        keep[axis] = slice(n - k, None) if largest else slice(0, k)
        candidates = part[tuple(keep)]
        order = _argsort(data[_along(xp, candidates, axis)], axis, bool(largest))
        index = xp.take_along_axis(candidates, order, axis=axis)
    else:
        index = _argsort(data, axis, bool(largest))
        if k == 0:
            index = index[tuple(slice(0, 0) if d == axis else slice(None)
                                for d in range(data.ndim))]
    return topk_result(_picked(x, index, axis), Tensor._wrap(index.astype(np.int64, copy=False)))


# ============================================================================ max, min with a dim


def _selection_dim(x: Tensor, dim: Any, op: str) -> int | None:
    """The axis that max / min / median / mode select along, or None for a 0-d tensor
    (its own result, at index 0); an empty dim has nothing to select."""
    axis = single_dim(dim, x.ndim, op)
    if x.ndim == 0:
        return None
    if x.shape[axis] == 0:
        raise DimError(f"{op}: dim {dim} of the input of shape {x.shape} has size 0 "
                       f"(nothing to reduce)")
    return axis


def _arg_extremum(op: str, input: Tensor, dim: Any, keepdim: bool):
    x = input
    axis = _selection_dim(x, dim, op)
    if axis is None:
        return x, Tensor._wrap(np.zeros((), dtype=np.int64))
    xp = backend.get_array_module(x.data)
    # NumPy's argmax / argmin return the first extreme value, and the first NaN if any (PyTorch)
    index = getattr(xp, "arg" + op)(x.data, axis=axis, keepdims=True)
    return _picked(x, index, axis, keepdim), _index_tensor(index, keepdim, axis, x.ndim)


def _dispatch(op: str, result, full, pairwise, input, dim, keepdim, other, axis, keepdims):
    """torch.max's three forms: max(x) (a 0-d value, ties share the gradient), max(x, dim)
    ((values, indices)), max(x, other) (the elementwise maximum)."""
    tensor_arg(input, op)
    if axis is not None:
        if dim is not None:
            raise ArgumentError(f"{op}: give dim or axis, not both")
        dim = axis
    keepdim = bool(keepdim or keepdims)
    if isinstance(dim, Tensor):
        other, dim = dim, None
    if other is not None:
        return pairwise(input, other)
    if dim is None:
        if input.data.size == 0:
            raise ArgumentError(f"{op}: cannot reduce an empty tensor of shape {input.shape} "
                                f"without a dim")
        return full(None, False)(input)
    if isinstance(dim, (tuple, list)):
        raise DTypeError(f"{op}: dim must be one int, got {dim!r} (amax / amin reduce several)")
    return result(*_arg_extremum(op, input, dim, keepdim))


def max(input: Tensor, dim: Any = None, keepdim: bool = False, *, other: Tensor | None = None,  # noqa: A001
        axis: Any = None, keepdims: bool = False):
    """``max(x)``: the largest value (0-d; the gradient is shared between ties, like amax);
    ``max(x, dim, keepdim)``: ``(values, indices)`` of the first largest along ``dim`` (the
    gradient goes to that index); ``max(x, y)``: the elementwise maximum."""
    from .elementwise import maximum
    return _dispatch("max", max_result, R.MaxAll, maximum, input, dim, keepdim, other, axis,
                     keepdims)


def min(input: Tensor, dim: Any = None, keepdim: bool = False, *, other: Tensor | None = None,  # noqa: A001
        axis: Any = None, keepdims: bool = False):
    """``min(x)``, ``min(x, dim, keepdim)`` -> ``(values, indices)``, ``min(x, y)``: as max."""
    from .elementwise import minimum
    return _dispatch("min", min_result, R.MinAll, minimum, input, dim, keepdim, other, axis,
                     keepdims)


# ============================================================================ median, mode


class Median(Function):
    """The lower median of all elements; the gradient is shared between the elements equal
    to it (PyTorch's rule for the full reduction)."""

    def forward(self, x):
        xp = backend.get_array_module(x)
        flat = xp.sort(x.reshape(-1))                # NaN last
        if flat.size == 0 and x.dtype.kind != "f":  # PyTorch's value for no integers at all
            return xp.asarray(np.iinfo(x.dtype).min, dtype=x.dtype)
        if flat.size == 0 or xp.isnan(flat[-1]):
            return xp.asarray(np.nan, dtype=x.dtype)
        return flat[(flat.size - 1) // 2].copy()

    def backward(self, gy):
        x, = self.inputs
        y = self.output(0).data
        ties = x.data == y
        xp = backend.get_array_module(y)
        if xp.isnan(y):  # a NaN median: its gradient goes to the NaN entries, as PyTorch's
            ties = xp.isnan(x.data)
        ties = ties.astype(gy.dtype)
        ties /= builtins.max(float(ties.sum()), 1.0)
        return R.broadcast_to(gy, x.shape) * Tensor._wrap(ties)


def median(input: Tensor, dim: int | None = None, keepdim: bool = False):
    """``median(x)``: the lower of the two middle values of all elements (NaN if any is NaN);
    ``median(x, dim, keepdim)``: ``(values, indices)`` along ``dim``."""
    numeric_tensor(input, "median")  # PyTorch has no median of bools
    if dim is None:
        return Median()(input)
    x = input
    axis = _selection_dim(x, dim, "median")
    if axis is None:
        return median_result(x, Tensor._wrap(np.zeros((), dtype=np.int64)))
    n = x.shape[axis]
    xp = backend.get_array_module(x.data)
    order = xp.argsort(x.data, axis=axis, kind="stable")        # NaN last
    position = xp.full(x.shape[:axis] + (1,) + x.shape[axis + 1:], (n - 1) // 2)
    if x.data.dtype.kind == "f":                                # a NaN in the row: its first NaN
        nans = xp.isnan(x.data).sum(axis=axis, keepdims=True)
        position = xp.where(nans > 0, n - nans, position)
    index = xp.take_along_axis(order, position, axis=axis)
    return median_result(_picked(x, index, axis, keepdim), _index_tensor(index, keepdim, axis, x.ndim))


def mode(input: Tensor, dim: int = -1, keepdim: bool = False):
    """The most frequent value along ``dim`` (the smallest of equally frequent ones) and the
    index of its last occurrence, as PyTorch: ``(values, indices)``."""
    tensor_arg(input, "mode")
    x = input
    axis = _selection_dim(x, dim, "mode")
    if axis is None:
        return mode_result(x, Tensor._wrap(np.zeros((), dtype=np.int64)))
    n = x.shape[axis]
    xp = backend.get_array_module(x.data)
    data = xp.moveaxis(x.data, axis, -1)
    order = xp.argsort(data, axis=-1, kind="stable")   # equal values: input order kept
    s = xp.take_along_axis(data, order, axis=-1)
    # the runs of equal values in each sorted row: count every run (a bincount of run ids,
    # offset per row), take the first position with the largest count (the start of the
    # longest run of the smallest value) and step to the run's end, which (stable sort) is
    # the value's last occurrence in the input
    starts = xp.ones(s.shape, dtype=bool)
    starts[..., 1:] = s[..., 1:] != s[..., :-1]
    rows = s.size // n
    run = (xp.cumsum(starts, axis=-1) - 1) + (xp.arange(rows) * n).reshape(s.shape[:-1] + (1,))
    count = xp.bincount(run.reshape(-1), minlength=rows * n)[run]
    first = xp.argmax(count, axis=-1)[..., None]
    best = first + xp.take_along_axis(count, first, axis=-1) - 1
    index = xp.moveaxis(xp.take_along_axis(order, best, axis=-1), -1, axis)
    return mode_result(_picked(x, index, axis, keepdim), _index_tensor(index, keepdim, axis, x.ndim))
