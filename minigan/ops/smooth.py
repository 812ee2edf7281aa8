"""Smooth activations: silu, elu / selu / celu, softplus, softsign, mish, logsigmoid, glu.

Each activation is a small class with its math side by side (Chainer's pattern, as in
ops/activation.py):

* ``f(xp, x)``: the forward on arrays;
* ``df(xp, x)``: the first derivative on arrays, which the fused backward multiplies by gy
  (``ActivationGrad``: gx = gy * f'(x), a few passes, block by block in the cache);
* ``d2f(x)``: the second derivative with differentiable Tensor ops, for the backward of
  ``ActivationGrad`` (d gx / dx = gy f''(x); d gx / d gy is ActivationGrad again), so
  every order of derivative works.

Stable formulas: softplus(z) = max(z, 0) + log1p(exp(-|z|)) (no overflow for any z; PyTorch's
log1p(exp(z)) is the same value below its threshold), logsigmoid(x) = min(x, 0) -
log1p(exp(-|x|)), mish(x) = x tanh(softplus(x)) with that softplus, and sigmoid(x) as
1 / (1 + exp(-x)) with exp's overflow to inf giving 0. Activations of integer tensors are
refused, as PyTorch refuses them.
"""
from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from .. import backend
from ..autograd import Function, Tensor
from ..errors import ArgumentError
from . import elementwise as E
from .activation import sigmoid, tanh
from .args import float_tensor, single_dim


def no_inplace(op: str, inplace: Any) -> None:
    """minigan's ops never overwrite their input (autograd may still need it)."""
    if inplace:
        raise ArgumentError(f"{op}: inplace=True is not supported (minigan ops never overwrite "
                            f"their input, which autograd may still need); drop inplace")


def _sigmoid(xp, x):
    """1 / (1 + exp(-x)) as a new array (exp(-x) = inf for x < -88 in float32 gives 0)."""
    t = xp.negative(x)
    with np.errstate(over="ignore"):
        xp.exp(t, out=t)
    t += 1
    return xp.reciprocal(t, out=t)


def _softplus(xp, z):
    """log(1 + e^z) = max(z, 0) + log1p(e^-|z|), as a new array."""
    t = xp.abs(z)
    xp.negative(t, out=t)
    xp.exp(t, out=t)
    xp.log1p(t, out=t)
    t += xp.maximum(z, 0)
    return t


# ============================================================================ the Function pair


class Activation(Function):
    """y = math.f(x); a subclass per activation (``SiLU``, ...) names the graph node."""

    def __init__(self, math: Any) -> None:
        self.math = math

    def forward(self, x):
        xp = backend.get_array_module(x)
        with np.errstate(over="ignore", under="ignore"):
            return backend.blockwise(lambda a: self.math.f(xp, a), x) if x.ndim else \
                self.math.f(xp, x.reshape(1)).reshape(())

    def backward(self, gy):
        return _grad_class(type(self.math))(self.math)(self.inputs[0], gy)


class ActivationGrad(Function):
    """gx = gy * f'(x) from inputs (x, gy), fused; its backward gives
    d/dx = ggx gy f''(x) and d/dgy = ActivationGrad(x, ggx)."""

    def __init__(self, math: Any) -> None:
        self.math = math

    def forward(self, x, gy):
        xp = backend.get_array_module(x)

        def kernel(a, g):
            d = self.math.df(xp, a)
            d *= g
            return d
        with np.errstate(over="ignore", under="ignore", invalid="ignore"):
            return backend.blockwise(kernel, x, gy) if x.ndim else \
                kernel(x.reshape(1), gy.reshape(1)).reshape(())

    def backward(self, ggx):
        x, gy = self.inputs
        g_x = g_gy = None
        if self.needs_input_grad[0]:
            second = self.math.d2f(x)
            g_x = None if second is None else ggx * gy * second
        if self.needs_input_grad[1]:
            g_gy = type(self)(self.math)(x, ggx)
        return g_x, g_gy


@functools.lru_cache(maxsize=None)
def _function_class(math_class: type) -> type:
    return type(math_class.__name__, (Activation,), {"__doc__": math_class.__doc__})


@functools.lru_cache(maxsize=None)
def _grad_class(math_class: type) -> type:
    return type(math_class.__name__ + "Grad", (ActivationGrad,), {"__doc__": ActivationGrad.__doc__})


def activate(math: Any, x: Tensor, op: str, inplace: bool = False) -> Tensor:
    """Apply the activation ``math`` to ``x`` (a floating tensor)."""
    float_tensor(x, op)
    no_inplace(op, inplace)
    return _function_class(type(math))(math)(x)


# ============================================================================ silu


class SiLU:
    """silu(x) = x s, s = sigmoid(x);  f' = s (1 + x (1 - s));  f'' = s (1 - s) (2 + x (1 - 2 s))."""

    def f(self, xp, x):
        s = _sigmoid(xp, x)
        s *= x
        return s

    def df(self, xp, x):
        s = _sigmoid(xp, x)
        d = 1 - s
        d *= x
        d += 1
        d *= s
        return d

    def d2f(self, x):
        s = sigmoid(x)
        return s * (1.0 - s) * (x * (1.0 - s * 2.0) + 2.0)


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """x * sigmoid(x) (the swish), elementwise."""
    return activate(SiLU(), input, "silu", inplace)


# ============================================================================ elu, selu, celu


class ELU:
    """x > 0: scale x;  else: scale alpha (exp(x c) - 1), c the input scale (1 for elu and selu,
    1 / alpha for celu; PyTorch's elu kernel).  f' = scale | scale alpha c exp(x c) (the second
    branch at 0, as PyTorch);  f'' = 0 | scale alpha c^2 exp(x c) (0 at x = 0, as PyTorch)."""

    def __init__(self, alpha: float, scale: float = 1.0, input_scale: float = 1.0) -> None:
        self.alpha, self.scale, self.input_scale = alpha, scale, input_scale

    def f(self, xp, x):
        e = x * self.input_scale
        xp.expm1(e, out=e)
        e *= self.alpha * self.scale
        return xp.where(x > 0, x * self.scale, e)

    def df(self, xp, x):
        e = x * self.input_scale
        xp.exp(e, out=e)
        e *= self.alpha * self.scale * self.input_scale
        return xp.where(x > 0, x.dtype.type(self.scale), e)

    def d2f(self, x):
        c = self.input_scale
        negative = Tensor._wrap(x.data < 0)  # 0 at x = 0 (PyTorch), though f' takes alpha there
        return E.where(negative, E.exp(x * c) * (self.alpha * self.scale * c * c), 0.0)


class SELU(ELU):
    """selu(x) = scale * elu(x, alpha) with the self-normalising constants."""
    ALPHA = 1.6732632423543772848170429916717
    SCALE = 1.0507009873554804934193349852946

    def __init__(self) -> None:
        super().__init__(self.ALPHA, self.SCALE)


class CELU(ELU):
    """celu(x) = max(0, x) + min(0, alpha (exp(x / alpha) - 1))."""

    def __init__(self, alpha: float) -> None:
        super().__init__(alpha, 1.0, 1.0 / alpha)


def _number(value: Any, op: str, name: str) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number)):
        from ..errors import DTypeError
        raise DTypeError(f"{op}: {name} must be a number, got {value!r}")
    return float(value)


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x for x > 0, alpha (exp(x) - 1) otherwise."""
    return activate(ELU(_number(alpha, "elu", "alpha")), input, "elu", inplace)


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """scale * elu(x, alpha), alpha = 1.6733, scale = 1.0507 (Klambauer et al.)."""
    return activate(SELU(), input, "selu", inplace)


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """max(0, x) + min(0, alpha (exp(x / alpha) - 1)); alpha must not be 0."""
    alpha = _number(alpha, "celu", "alpha")
    if alpha == 0:
        raise ArgumentError("celu: alpha must not be 0")
    return activate(CELU(alpha), input, "celu", inplace)


# ============================================================================ softplus


class Softplus:
    """b x > threshold: x;  else log(1 + exp(b x)) / b (stable form above).
    f' = 1 | sigmoid(b x);  f'' = 0 | b s (1 - s)."""

    def __init__(self, beta: float, threshold: float) -> None:
        self.beta, self.threshold = beta, threshold

    def f(self, xp, x):
        z = x * self.beta
        y = _softplus(xp, z)
        y *= 1.0 / self.beta
        return xp.where(z > self.threshold, x, y)

    def df(self, xp, x):
        z = x * self.beta
        return xp.where(z > self.threshold, x.dtype.type(1), _sigmoid(xp, z))

    def d2f(self, x):
        z = x * self.beta
        s = sigmoid(z)
        # 0 from the threshold on, included (PyTorch's double backward; f' switches after it)
        return E.where(Tensor._wrap(z.data >= self.threshold), 0.0, s * (1.0 - s) * self.beta)


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + exp(beta x)) / beta, and x itself where beta x > threshold (PyTorch's rule)."""
    beta = _number(beta, "softplus", "beta")
    if beta == 0:
        raise ArgumentError("softplus: beta must not be 0")
    return activate(Softplus(beta, _number(threshold, "softplus", "threshold")), input, "softplus")


# ============================================================================ softsign


class Softsign:
    """x / (1 + |x|);  f' = 1 / (1 + |x|)^2;  f'' = -2 sign(x) / (1 + |x|)^3."""

    def f(self, xp, x):
        d = xp.abs(x)
        d += 1
        return xp.divide(x, d, out=d)

    def df(self, xp, x):
        d = xp.abs(x)
        d += 1
        d *= d
        return xp.reciprocal(d, out=d)

    def d2f(self, x):
        a = E.abs(x) + 1.0
        sign = Tensor._wrap(backend.get_array_module(x.data).sign(x.data))
        return sign * -2.0 / (a * a * a)


def softsign(input: Tensor) -> Tensor:
    """x / (1 + |x|), elementwise."""
    return activate(Softsign(), input, "softsign")


# ============================================================================ mish


class Mish:
    """x t, t = tanh(softplus(x)), s = sigmoid(x) (dt/dx = (1 - t^2) s);
    f' = t + x s (1 - t^2);  f'' = s (1 - t^2) (2 + x (1 - s) - 2 x s t)."""

    def f(self, xp, x):
        t = _softplus(xp, x)
        xp.tanh(t, out=t)
        t *= x
        return t

    def df(self, xp, x):
        t = _softplus(xp, x)
        xp.tanh(t, out=t)
        d = t * t
        xp.subtract(1, d, out=d)
        d *= _sigmoid(xp, x)
        d *= x
        d += t
        return d

    def d2f(self, x):
        s = sigmoid(x)
        t = tanh(_softplus_tensor(x))
        return s * (1.0 - t * t) * (x * (1.0 - s) - x * s * t * 2.0 + 2.0)


def _softplus_tensor(x: Tensor) -> Tensor:
    """softplus(x) as a differentiable Tensor (for the second derivatives)."""
    return activate(Softplus(1.0, math.inf), x, "softplus")


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """x * tanh(softplus(x)) (Misra), elementwise."""
    return activate(Mish(), input, "mish", inplace)


# ============================================================================ logsigmoid


class LogSigmoid:
    """log(sigmoid(x)) = min(x, 0) - log1p(exp(-|x|));  f' = sigmoid(-x);  f'' = -s (1 - s)."""

    def f(self, xp, x):
        y = _softplus(xp, -x)
        return xp.negative(y, out=y)

    def df(self, xp, x):
        return _sigmoid(xp, -x)

    def d2f(self, x):
        s = sigmoid(x)
        return s * (s - 1.0)


def logsigmoid(input: Tensor) -> Tensor:
    """log(1 / (1 + exp(-x))), computed without overflow for any x."""
    return activate(LogSigmoid(), input, "logsigmoid")


# ============================================================================ glu


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """a * sigmoid(b), where a and b are the two halves of ``input`` along ``dim`` (composed
    of split, sigmoid and mul, so its gradients are theirs)."""
    from .shape import split
    float_tensor(input, "glu")
    if input.ndim == 0:
        raise ArgumentError("glu: needs at least one dim to halve, got a 0-d tensor")
    axis = single_dim(dim, input.ndim, "glu")
    n = input.shape[axis]
    if n % 2:
        raise ArgumentError(f"glu: dim {dim} of the input of shape {input.shape} has odd size "
                            f"{n} (it must halve)")
    a, b = split(input, n // 2, axis)
    return a * sigmoid(b)
