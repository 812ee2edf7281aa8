"""Matrix product with NumPy's rules: 1-D operands are promoted (and the added dim
removed again), leading batch dims broadcast.

For Y = A B:  dL/dA = dL/dY B^T,  dL/dB = A^T dL/dY  (summed over broadcast batch dims).
"""
from __future__ import annotations

from .. import backend
from ..autograd import Function, Tensor
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


def matmul(a: Tensor, b: Tensor) -> Tensor:
    """a @ b, as ``numpy.matmul`` (batched and broadcast; 1-D cases included)."""
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul: both operands need at least 1 dim, got {a.shape} and {b.shape}")
    if a.shape[-1] != b.shape[-2 if b.ndim > 1 else 0]:
        raise ValueError(f"matmul: shapes {a.shape} and {b.shape} do not match "
                         f"({a.shape[-1]} != {b.shape[-2 if b.ndim > 1 else 0]})")
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
