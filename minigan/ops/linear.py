"""Fully connected layer: ``y = x W^T + b`` (PyTorch's ``F.linear`` and weight layout).

Notation: x is (..., IN) with any leading dims (flattened to M rows for one GEMM),
W is (OUT, IN), b is (OUT,), y and gy are (..., OUT).

    dL/dx = gy W            (LinearGradInput)
    dL/dW = gy^T x          (LinearGradWeight: summed over all leading dims in one GEMM)
    dL/db = sum(gy)         (over all leading dims)

The three are one closed family (Chainer's pattern): each GEMM Function's backward is
written with the other two, so gradients of gradients cost GEMMs too and first-order
backward runs as plain array code.
"""
from __future__ import annotations

import math

from .. import backend
from ..autograd import Function, Tensor
from ..errors import DTypeError, ShapeError
from .args import tensor_arg
from .reduce import sum as _sum


def _rows(a):
    """A (..., K) array as a 2-D (M, K) view (a copy only when the layout forces one)."""
    return a.reshape(math.prod(a.shape[:-1]), a.shape[-1])


def _matmul(xp, a, b):
    """a (M, K) @ b (K, N). With K = 1 it is an outer product, which BLAS handles badly
    (measured 10-20x slower than the broadcast multiply that writes the same result)."""
    return a * b if a.shape[1] == 1 else xp.matmul(a, b)


# ============================================================================ linear


class Linear(Function):
    """y = x W^T (+ b); the bias is an optional third input."""

    def forward(self, x, w, b=None):
        xp = backend.get_array_module(x)
        y = _matmul(xp, _rows(x), w.T)
        if b is not None:
            y += b
        return y.reshape(x.shape[:-1] + (w.shape[0],))

    def backward(self, gy):
        x, w = self.inputs[:2]
        gx = LinearGradInput(x.shape)(gy, w) if self.needs_input_grad[0] else None
        gw = LinearGradWeight()(gy, x) if self.needs_input_grad[1] else None
        if len(self.inputs) == 2:
            return gx, gw
        gb = None
        if self.needs_input_grad[2]:  # summed over the leading dims (none for a 1-D input)
            gb = _sum(gy, tuple(range(gy.ndim - 1))) if gy.ndim > 1 else gy
        return gx, gw, gb


class LinearGradInput(Function):
    """gx = gy W, reshaped to x's shape. Linear in both gy and W:
    d/dgy <ggx, gy W> = ggx W^T = linear(ggx, W);  d/dW = gy^T ggx."""

    def __init__(self, x_shape: tuple) -> None:
        self.x_shape = x_shape

    def forward(self, gy, w):
        xp = backend.get_array_module(gy)
        return _matmul(xp, _rows(gy), w).reshape(self.x_shape)

    def backward(self, ggx):
        gy, w = self.inputs
        ggy = Linear()(ggx, w) if self.needs_input_grad[0] else None
        gw = LinearGradWeight()(gy, ggx) if self.needs_input_grad[1] else None
        return ggy, gw


class LinearGradWeight(Function):
    """gW = gy^T x over all leading dims (one GEMM). Linear in both:
    d/dgy <ggW, gy^T x> = x ggW^T = linear(x, ggW);  d/dx = gy ggW."""

    def forward(self, gy, x):
        xp = backend.get_array_module(gy)
        return _matmul(xp, _rows(gy).T, _rows(x))

    def backward(self, ggw):
        gy, x = self.inputs
        ggy = Linear()(x, ggw) if self.needs_input_grad[0] else None
        gx = LinearGradInput(x.shape)(gy, ggw) if self.needs_input_grad[1] else None
        return ggy, gx


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``x @ weight.T + bias`` for x of shape (..., in), weight (out, in), bias (out,).

    >>> import minigan as mg, minigan.functional as F
    >>> F.linear(mg.ones(2, 3), mg.ones(4, 3), mg.zeros(4)).shape
    (2, 4)
    """
    tensor_arg(x, "linear")
    tensor_arg(weight, "linear", "weight")
    given = [(name, tensor_arg(t, "linear", name)) for name, t in
             (("input", x), ("weight", weight), ("bias", bias)) if t is not None]
    for name, t in given:
        if t.dtype.kind not in "fiu":
            raise DTypeError(f"linear: {name} of shape {t.shape} must be a float or integer "
                             f"tensor, got {t.dtype}")
    integer = [t.dtype.kind != "f" for _, t in given]
    if any(integer) and len({t.dtype for _, t in given}) > 1:  # PyTorch: one dtype for all
        raise DTypeError("linear: input, weight and bias must have the same dtype, got "
                         + ", ".join(f"{name} {t.dtype}" for name, t in given))
    if weight.ndim != 2:
        raise ShapeError(f"linear: weight must be 2-D (out, in), got shape {weight.shape}")
    if x.ndim == 0 or x.shape[-1] != weight.shape[1]:
        raise ShapeError(f"linear: input of shape {x.shape} has {x.shape[-1] if x.ndim else 0} "
                         f"features but weight {weight.shape} expects {weight.shape[1]}")
    if bias is not None and bias.shape != (weight.shape[0],):
        raise ShapeError(f"linear: bias of shape {bias.shape} does not match weight "
                         f"{weight.shape} (expected ({weight.shape[0]},))")
    if any(integer):  # integer tensors, as PyTorch: an integer result, no gradient
        y = x.data @ weight.data.T
        return Tensor._wrap(y if bias is None else y + bias.data)
    if bias is None:
        return Linear()(x, weight)
    return Linear()(x, weight, bias)
