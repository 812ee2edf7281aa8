"""Matrix product with NumPy's rules: 1-D operands are promoted (and the added dim
removed again), leading batch dims broadcast.

For Y = A B:  dL/dA = dL/dY B^T,  dL/dB = A^T dL/dY  (summed over broadcast batch dims).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .. import backend
from ..autograd import Function, Tensor
from ..errors import DTypeError, ShapeError
from .args import tensor_arg
from .elementwise import _pair
from .reduce import sum_to
from .shape import reshape, transpose


class MatMul(Function):
    def forward(self, a, b):
        return backend.get_array_module(a).matmul(a, b)

    def backward(self, gy):
        a, b = self.inputs
        ga = sum_to(matmul(gy, transpose(b, -1, -2)), a.shape) if self.needs_input_grad[0] else None
        gb = sum_to(matmul(transpose(a, -1, -2), gy), b.shape) if self.needs_input_grad[1] else None
        return ga, gb


def matmul(a: Any, b: Any) -> Tensor:
    """a @ b, as ``numpy.matmul`` (batched and broadcast; 1-D cases included).

    A 1-D ``a`` is a row vector and a 1-D ``b`` a column vector; the added dim is removed
    from the result. Leading (batch) dims broadcast."""
    a, b = _pair(a, b, "matmul")
    if a.data.dtype == np.bool_ or b.data.dtype == np.bool_:
        raise DTypeError(f"matmul: not implemented for bool tensors ({a.dtype} {a.shape} and "
                         f"{b.dtype} {b.shape})")
    if a.ndim == 0 or b.ndim == 0:
        raise ShapeError(f"matmul: both operands need at least 1 dim, got {a.shape} and {b.shape}")
    inner_b = b.shape[-2 if b.ndim > 1 else 0]
    if a.shape[-1] != inner_b:
        raise ShapeError(f"matmul: shapes {a.shape} and {b.shape} do not match "
                         f"({a.shape[-1]} != {inner_b})")
    try:
        np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    except ValueError:
        raise ShapeError(f"matmul: batch dims of {a.shape} and {b.shape} do not broadcast "
                         f"({a.shape[:-2]} vs {b.shape[:-2]})") from None
    a2 = reshape(a, (1, a.shape[0])) if a.ndim == 1 else a
    b2 = reshape(b, (b.shape[0], 1)) if b.ndim == 1 else b
    y = MatMul()(a2, b2)
    if a.ndim == 1 and b.ndim == 1:
        return reshape(y, ())
    if a.ndim == 1:
        return reshape(y, y.shape[:-2] + y.shape[-1:])
    if b.ndim == 1:
        return reshape(y, y.shape[:-1])
    return y


def mm(a: Tensor, b: Tensor) -> Tensor:
    """The product of two matrices (2-D only, as ``torch.mm``; ``matmul`` broadcasts)."""
    for name, t in (("input", a), ("mat2", b)):
        tensor_arg(t, "mm", name)
        if t.ndim != 2:
            what = f"shape {t.shape}" if isinstance(t, Tensor) else type(t).__name__
            raise ShapeError(f"mm: {name} must be a 2-D tensor, got {what}")
    return matmul(a, b)
