"""Scans along one dim: cumsum and cumprod (PyTorch's ``dim``, ``dtype=``; integer and bool
inputs accumulate in int64, as PyTorch).

Notation for one row along the scanned dim: x_0 .. x_{n-1}, y_j = x_0 + ... + x_j (cumsum)
or x_0 * ... * x_j (cumprod), g the upstream gradient, and rcumsum(v)_k = sum_{j >= k} v_j
the reversed cumulative sum (cumsum's adjoint, so each is the other's backward).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .. import backend
from ..autograd import Function, Tensor, is_grad_enabled
from . import elementwise as E, shape as S
from .args import dtype_arg, single_dim, tensor_arg

# ============================================================================ cumsum


def _on_1d(fn, x, axis: int):
    """``fn(x, axis)`` for NumPy scans, which have no axis 0 on a 0-d array."""
    if x.ndim == 0:
        return fn(x.reshape(1), 0).reshape(())
    return fn(x, axis)


def _cumsum_array(x, axis: int):
    return backend.get_array_module(x).cumsum(x, axis=axis)


def _reverse_cumsum_array(x, axis: int):
    xp = backend.get_array_module(x)
    return xp.flip(xp.cumsum(xp.flip(x, axis), axis=axis), axis)


class Cumsum(Function):
    # y_j = sum_{i <= j} x_i;  gx = rcumsum(g)  (and the other way round with ``reverse``)
    def __init__(self, axis: int, reverse: bool = False) -> None:
        self.axis, self.reverse = axis, reverse

    def forward(self, x):
        return _on_1d(_reverse_cumsum_array if self.reverse else _cumsum_array, x, self.axis)

    def backward(self, gy):
        return Cumsum(self.axis, not self.reverse)(gy)


def _scan_input(input: Any, dim: Any, dtype: Any, op: str) -> tuple[Tensor, int]:
    """The input cast as PyTorch casts it before a scan (``dtype`` if given, else integers
    and bools to int64) and the dim as a non-negative axis."""
    tensor_arg(input, op)
    axis = single_dim(dim, input.ndim, op)
    if dtype is not None:
        input = E.cast(input, dtype_arg(dtype, op))
    elif input.data.dtype.kind in "biu" and input.data.dtype != np.int64:
        input = Tensor._wrap(input.data.astype(np.int64))
    return input, axis


def cumsum(input: Tensor, dim: int, *, dtype: Any = None) -> Tensor:
    """Cumulative sum along ``dim``: y_j = x_0 + ... + x_j. Its gradient is the reversed
    cumulative sum of the upstream gradient."""
    x, axis = _scan_input(input, dim, dtype, "cumsum")
    return Cumsum(axis)(x)


# ============================================================================ cumprod
#
# gx_k = sum_{j >= k} g_j prod_{i <= j, i != k} x_i.
# Without zeros in a row this is rcumsum(g y)_k / x_k (an identity wherever x_k != 0, so its
# derivatives are exact too). Where x_k = 0 the division fails; PyTorch's formula there
# (first order): before the row's first zero z the identity holds; at z,
#     gx_z = y_{z-1} * sum_{j >= z} g_j prod_{z < i <= j} x_i   (a cumprod with x_z set to 1);
# after z every product contains x_z = 0, so gx = 0. For gradients of gradients with zeros
# (create_graph) the O(n^2) form is used as PyTorch does: for every k, the cumprod of the row
# with x_k replaced by 1, masked to j >= k and weighted by g.


def _cumprod_array(x, axis: int):
    return backend.get_array_module(x).cumprod(x, axis=axis)


class Cumprod(Function):
    def __init__(self, axis: int) -> None:
        self.axis = axis

    def forward(self, x):
        return _on_1d(_cumprod_array, x, self.axis)

    def backward(self, gy):
        x, = self.inputs
        y = self.output(0)
        if x.ndim == 0 or x.shape[self.axis] <= 1:
            return gy                                  # y = x
        if not bool((x.data == 0).any()):
            return Cumsum(self.axis, reverse=True)(gy * y) / x
        if is_grad_enabled():                          # create_graph: the differentiable form
            return _cumprod_grad_quadratic(x, gy, self.axis)
        return Tensor._wrap(_cumprod_grad_with_zeros(x.data, y.data, gy.data, self.axis))


def _cumprod_grad_with_zeros(x, y, g, axis: int):
    """PyTorch's O(n) first-order cumprod gradient for rows with zeros (see above)."""
    xp = backend.get_array_module(x)
    is_zero = x == 0
    zeros_so_far = xp.cumsum(is_zero, axis=axis)
    before = zeros_so_far == 0
    # k before the first zero: rcumsum(g y) / x (y_j = 0 from the first zero on)
    gx = _reverse_cumsum_array(g * y, axis) / xp.where(before, x, 1)
    gx = xp.where(before, gx, 0)
    # k = the first zero z: y_{z-1} * sum over z <= j < (second zero) of g_j prod_{z < i <= j} x_i
    first = is_zero & (zeros_so_far == 1)
    between = (zeros_so_far == 1) & ~first
    partial = xp.cumprod(xp.where(between, x, 1), axis=axis)
    at_first = (xp.where(zeros_so_far == 1, g, 0) * partial).sum(axis=axis, keepdims=True)
    head = [slice(None)] * x.ndim
    head[axis] = slice(0, 1)
    tail = list(head)
    tail[axis] = slice(0, -1)
    y_before = xp.concatenate([xp.ones_like(y[tuple(head)]), y[tuple(tail)]], axis=axis)
    return xp.where(first, y_before * at_first, gx)


def _cumprod_grad_quadratic(x: Tensor, gy: Tensor, axis: int) -> Tensor:
    """gx_k = sum_{j >= k} g_j prod_{i <= j, i != k} x_i with differentiable ops: the scanned
    dim moved last, a new dim for k, x_k replaced by 1 on the diagonal."""
    xp = backend.get_array_module(x.data)
    n = x.shape[axis]
    order = [d for d in range(x.ndim) if d != axis] + [axis]
    back = list(np.argsort(order))
    xt, gt = S.permute(x, order), S.permute(gy, order)           # (..., n)
    eye = Tensor._wrap(xp.eye(n, dtype=bool))                     # [k, i]
    rows = E.where(eye, 1.0, S.unsqueeze(xt, -2))                 # (..., k, i)
    products = Cumprod(rows.ndim - 1)(rows)                       # (..., k, j)
    later = Tensor._wrap(xp.triu(xp.ones((n, n), dtype=x.dtype)))  # j >= k
    gx = (products * later * S.unsqueeze(gt, -2)).sum(-1)         # (..., k)
    return S.permute(gx, back)


def cumprod(input: Tensor, dim: int, *, dtype: Any = None) -> Tensor:
    """Cumulative product along ``dim``: y_j = x_0 * ... * x_j. The gradient is exact with
    zeros in the input (PyTorch's formula, first and higher orders)."""
    x, axis = _scan_input(input, dim, dtype, "cumprod")
    return Cumprod(axis)(x)
