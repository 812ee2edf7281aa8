"""Dropout: zero each element with probability p and scale the kept ones by 1 / (1 - p)
("inverted" dropout, as PyTorch), so evaluation needs no rescaling."""
from __future__ import annotations

import numpy as np

from .. import backend
from ..autograd import Function, Tensor
from ..errors import ArgumentError, DTypeError
from .args import tensor_arg

# ============================================================================ dropout


class ScaleByMask(Function):
    """y = x * mask, for a constant array ``mask`` (here 0 or 1 / (1 - p)). Linear in x with a
    constant factor, so its backward is itself: gx = gy * mask, at every order."""

    def __init__(self, mask) -> None:
        self.mask = mask

    def forward(self, x):
        xp = backend.get_array_module(x)
        if x.shape != self.mask.shape:
            return x * self.mask
        y = xp.empty_like(x)  # x's layout, which the mask shares: one flat pass, split
        backend.split_elementwise(lambda x, m, y: xp.multiply(x, m, out=y), x, self.mask, y)
        return y

    def backward(self, gy):
        return ScaleByMask(self.mask)(gy)


def _memory_order(x) -> tuple:
    """The axes of ``x`` from outermost to innermost in memory, when x is a transposed view
    of a contiguous array (e.g. a conv output, (N, C, H, W) stored (N, H, W, C)); else
    the plain order."""
    order = tuple(sorted(range(x.ndim), key=lambda i: -x.strides[i]))
    return order if x.transpose(order).flags.c_contiguous else tuple(range(x.ndim))


def _keep_mask(x, p: float, device: str):
    """0 where dropped (probability p), 1 / (1 - p) where kept, drawn from the backend's
    seeded generator (so ``mg.manual_seed`` makes it reproducible). The mask has x's memory
    layout, so x * mask (and the gradient's gy * mask) run over matching contiguous memory
    instead of mixing layouts (which is slow and gives the next conv an extra transpose)."""
    xp = backend.xp_for_device(device)
    order = _memory_order(x)
    stored = tuple(x.shape[i] for i in order)
    # keep where bits >= p 2^32 (rounded): P(keep) = 1 - p within 2^-33
    bits = backend.random_bits32(stored or (1,), device).reshape(stored)  # 0-d: an array
    mask = xp.empty(stored, dtype=x.dtype)
    threshold, scale = min(round(p * 2.0 ** 32), 2 ** 32 - 1), 1.0 / (1.0 - p)

    def kernel(bits, mask) -> None:
        xp.greater_equal(bits, threshold, out=mask, casting="unsafe")
        mask *= scale
    backend.split_elementwise(kernel, bits, mask)
    return mask.transpose(tuple(order.index(i) for i in range(x.ndim)))


def dropout(x: Tensor, p: float = 0.5, training: bool = True) -> Tensor:
    """Zero elements of x with probability ``p`` and scale the rest by 1 / (1 - p) when
    ``training``; return x itself when not training or p == 0; all zeros when p == 1."""
    tensor_arg(x, "dropout")
    if isinstance(p, (bool, np.bool_)) or not isinstance(p, (int, float, np.number)):
        raise DTypeError(f"dropout: p must be a number, got {p!r}")
    p = float(p)
    if not 0.0 <= p <= 1.0:
        raise ArgumentError(f"dropout: probability has to be between 0 and 1, but got {p} "
                         f"(input of shape {x.shape})")
    if not training or p == 0.0:
        return x
    if p == 1.0:
        xp = backend.get_array_module(x.data)
        return ScaleByMask(xp.zeros(x.shape, dtype=x.dtype))(x)
    return ScaleByMask(_keep_mask(x.data, p, x.device))(x)
