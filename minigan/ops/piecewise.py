"""Piecewise activations: hardtanh, relu6, hardsigmoid, hardswish and prelu.

hardtanh, relu6, hardsigmoid and hardswish use the activation classes of ops/smooth.py
(``f``, ``df`` on arrays; ``d2f`` with Tensor ops, None where it is 0). Their kinks follow
PyTorch's backward exactly: hardtanh and relu6 pass the gradient only strictly inside
(min_val, max_val) (0 at the bounds, unlike clamp), hardsigmoid only on (-3, 3), and
hardswish's derivative is 0 for x <= -3, x / 3 + 1/2 on (-3, 3) and 1 for x >= 3.
prelu has a learnable slope per channel (dim 1), so it is a Function of its own.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .. import backend
from ..autograd import Function, Tensor
from ..errors import ArgumentError, DTypeError, ShapeError
from . import elementwise as E, shape as S
from .args import float_tensor, tensor_arg
from .reduce import sum_to
from .smooth import Elementwise, _number, activate, no_inplace


def _inside(xp, x, low: float, high: float):
    """1.0 where low < x < high, else 0.0, in x's dtype."""
    return ((x > low) & (x < high)).astype(x.dtype)


# ============================================================================ hardtanh, relu6


class Hardtanh(Elementwise):
    """min(max(x, min_val), max_val);  f' = [min_val < x < max_val];  f'' = 0."""

    def __init__(self, low: float, high: float) -> None:
        self.low, self.high = low, high

    def f(self, xp, x):
        return xp.clip(x, x.dtype.type(self.low), x.dtype.type(self.high))

    def df(self, xp, x):
        return _inside(xp, x, self.low, self.high)

    def d2f(self, x):
        return None


class ReLU6(Hardtanh):
    """min(max(x, 0), 6)."""

    def __init__(self) -> None:
        super().__init__(0.0, 6.0)


def _clip_integers(input: Tensor, low: float, high: float) -> Tensor:
    """hardtanh / relu6 of an integer tensor (PyTorch accepts them): clipped, no gradient."""
    xp = backend.get_array_module(input.data)
    return Tensor._wrap(xp.clip(input.data, low, high).astype(input.data.dtype))


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0,
             inplace: bool = False) -> Tensor:
    """x clipped to [min_val, max_val]; the gradient is 1 strictly inside, 0 at and beyond
    the bounds (PyTorch's)."""
    low, high = _number(min_val, "hardtanh", "min_val"), _number(max_val, "hardtanh", "max_val")
    if low > high:
        raise ArgumentError(f"hardtanh: min_val ({low}) must not be greater than max_val ({high})")
    tensor_arg(input, "hardtanh")
    if input.data.dtype.kind in "iu":
        no_inplace("hardtanh", inplace)
        return _clip_integers(input, low, high)
    return activate(Hardtanh(low, high), input, "hardtanh", inplace)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """min(max(x, 0), 6); the gradient is 1 on (0, 6), else 0."""
    tensor_arg(input, "relu6")
    if input.data.dtype.kind in "iu":
        no_inplace("relu6", inplace)
        return _clip_integers(input, 0, 6)
    return activate(ReLU6(), input, "relu6", inplace)


# ============================================================================ hardsigmoid, hardswish


class Hardsigmoid(Elementwise):
    """relu6(x + 3) / 6;  f' = [-3 < x < 3] / 6;  f'' = 0."""

    def f(self, xp, x):
        y = x + 3
        xp.clip(y, 0, 6, out=y)
        y /= 6
        return y

    def df(self, xp, x):
        d = _inside(xp, x, -3.0, 3.0)
        d /= 6
        return d

    def d2f(self, x):
        return None


class Hardswish(Elementwise):
    """x relu6(x + 3) / 6;  f' = 0 (x <= -3) | x / 3 + 1/2 (-3 < x < 3) | 1 (x >= 3);
    f'' = [-3 < x < 3] / 3 (PyTorch's, kinks included)."""

    def f(self, xp, x):
        y = x + 3
        xp.clip(y, 0, 6, out=y)
        y *= x
        y /= 6
        return y

    def df(self, xp, x):
        # the product rule, hardsigmoid(x) + x hardsigmoid'(x) = (relu6(x + 3) + x [|x| < 3]) / 6:
        # seven passes, and exactly PyTorch's values at the kinks
        d = x + 3
        xp.clip(d, 0, 6, out=d)
        inside = xp.abs(x) < 3
        d += x * inside
        d /= 6
        return d

    def d2f(self, x):
        xp = backend.get_array_module(x.data)
        return Tensor._wrap(_inside(xp, x.data, -3.0, 3.0) / 3)


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """relu6(x + 3) / 6: 0 below -3, 1 above 3, linear between."""
    return activate(Hardsigmoid(), input, "hardsigmoid", inplace)


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """x * relu6(x + 3) / 6 (Howard et al., MobileNetV3)."""
    return activate(Hardswish(), input, "hardswish", inplace)


# ============================================================================ prelu
#
# y = x if x > 0 else w x, w one slope per channel (dim 1; a 0-d or 1-d input has one channel)
# gx = gy (1 if x > 0 else w) (w at 0, as PyTorch);  gw = sum over all but the channel dim of
# gy (0 if x > 0 else x). Both are Tensor ops in x, w and gy, so double backward works. (At
# x = 0 exactly PyTorch's double backward takes the other side, 1 instead of w: it is not the
# derivative of its own first-order gradient there; ours is.)


class PReLU(Function):
    def forward(self, x, w):
        w = w.reshape(_slope_shape(x.ndim, w.size))
        return backend.get_array_module(x).where(x > 0, x, x * w)

    def backward(self, gy):
        x, w = self.inputs
        positive = Tensor._wrap(x.data > 0)
        slope = S.reshape(w, _slope_shape(x.ndim, w.data.size))
        gx = gy * E.where(positive, 1.0, slope) if self.needs_input_grad[0] else None
        gw = None
        if self.needs_input_grad[1]:
            gw = S.reshape(sum_to(gy * E.where(positive, 0.0, x), slope.shape), w.shape)
        return gx, gw


def _slope_shape(ndim: int, n: int) -> tuple:
    """w's shape broadcast against x: (C, 1, ..., 1) after the batch dim, or () for one slope."""
    if n == 1 or ndim < 2:
        return (1,) * ndim if ndim else ()
    return (1, n) + (1,) * (ndim - 2)


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """x for x > 0, else weight * x; ``weight`` holds one slope, or one per channel (dim 1)."""
    op = "prelu"
    float_tensor(input, op)
    tensor_arg(weight, op, "weight")
    if weight.data.dtype != input.data.dtype:
        raise DTypeError(f"prelu: weight ({weight.data.dtype}) must have the input's dtype "
                         f"({input.data.dtype})")
    if weight.ndim > 1:
        raise ShapeError(f"prelu: weight must be 0-d or 1-d, got shape {weight.shape}")
    channels = input.shape[1] if input.ndim >= 2 else 1
    n = weight.data.size
    if n != 1 and n != channels:
        raise ShapeError(f"prelu: weight has {n} slopes but the input of shape {input.shape} "
                         f"has {channels} channel(s) (dim 1); give 1 or {channels}")
    return PReLU()(input, weight)
