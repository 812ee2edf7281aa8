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
from .args import float_input, float_tensor, numeric_tensor, single_dim


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


def _log1p(xp, e):
    """log(1 + e) for e >= 0 (a new array) by Kahan's trick: u = 1 + e rounded, then
    log(u) e / (u - 1), exact where u rounds to 1 (then e itself). NumPy's log1p is a scalar
    loop: 8.5 ms on 0.5M float32 against 1.5 ms for log (measured on this machine)."""
    u = e + 1
    d = u - 1
    tiny = d == 0
    xp.log(u, out=u)
    with np.errstate(divide="ignore", invalid="ignore"):  # (the tiny ones are patched below)
        d = xp.divide(e, d, out=d)
        u *= d
    if tiny.any():
        u[tiny] = e[tiny]
    return u


def _expm1_negative(xp, z):
    """exp(z) - 1 for z <= 0 (a new array) as 2 t / (1 - t), t = tanh(z / 2): no cancellation
    near 0 (t ~ z / 2) and 1 - t in [1, 2]. NumPy's expm1 is a scalar loop (9.1 ms on 0.5M
    float32; tanh 1.7 ms, measured here)."""
    t = z * 0.5
    xp.tanh(t, out=t)
    d = 1 - t
    t *= 2
    return xp.divide(t, d, out=t)


def _softplus_parts(xp, z):
    """(log(1 + e^z), e) with e = exp(-|z|), as new arrays: the stable form
    max(z, 0) + log1p(e) (NumPy's maximum is ~4x slower than its clip)."""
    a = xp.abs(z)
    e = xp.negative(a)
    xp.exp(e, out=e)
    y = _log1p(xp, e)
    y += xp.clip(z, 0, np.inf, out=a)  # max(z, 0) (NumPy's fast two-sided clip; -inf gives 0)
    return y, e


def _softplus(xp, z):
    return _softplus_parts(xp, z)[0]


def _sigmoid_from(xp, z, e):
    """sigmoid(z) from e = exp(-|z|): 1 / (1 + e) for z >= 0, e / (1 + e) below (no exp)."""
    s = xp.greater_equal(z, 0).astype(e.dtype)
    s -= e * s
    s += e                       # 1 where z >= 0, e elsewhere
    s /= e + 1
    return s


# ============================================================================ the Function pair


class Activation(Function):
    """y = math.forward(x); a subclass per activation (``SiLU``, ...) names the graph node."""

    def __init__(self, math: Any) -> None:
        self.math = math

    def forward(self, x):
        xp = backend.get_array_module(x)
        with np.errstate(over="ignore", under="ignore"):
            if x.ndim == 0:  # (in-place NumPy code needs an array, not a scalar)
                return self.math.forward(xp, x.reshape(1)).reshape(())
            return self.math.forward(xp, x)

    def backward(self, gy):
        return _grad_class(type(self.math))(self.math)(self.inputs[0], gy)


class ActivationGrad(Function):
    """gx = gy * f'(x) from inputs (x, gy), fused; its backward gives
    d/dx = ggx gy f''(x) and d/dgy = ActivationGrad(x, ggx)."""

    def __init__(self, math: Any) -> None:
        self.math = math

    def forward(self, x, gy):
        xp = backend.get_array_module(x)
        with np.errstate(over="ignore", under="ignore", invalid="ignore"):
            if x.ndim == 0:
                return self.math.grad(xp, x.reshape(1), gy.reshape(1)).reshape(())
            return self.math.grad(xp, x, gy)

    def backward(self, ggx):
        x, gy = self.inputs
        g_x = g_gy = None
        if self.needs_input_grad[0]:
            second = self.math.d2f(x)
            g_x = None if second is None else ggx * gy * second
        if self.needs_input_grad[1]:
            g_gy = type(self)(self.math)(x, ggx)
        return g_x, g_gy


class Elementwise:
    """The math of one activation: ``f`` and ``df`` on arrays, ``d2f`` with Tensor ops.
    ``forward`` and ``grad`` run f and gy * f' on the cores' parts of a big array (block by
    block in the cache where ``cache_blocks``: for long chains of passes); an activation
    whose f' can reuse a pass of f (its exp, say) overrides both and keeps that array from
    the forward for the first backward (``kept``)."""
    kept = None
    cache_blocks = False

    def forward(self, xp, x):
        def kernel(a):
            with np.errstate(over="ignore", under="ignore", invalid="ignore"):  # (per thread)
                return self.f(xp, a)
        return backend.blockwise(kernel, x, cache_blocks=self.cache_blocks)

    def grad(self, xp, x, gy):
        def kernel(a, g):
            with np.errstate(over="ignore", under="ignore", invalid="ignore"):
                d = self.df(xp, a)
            d *= g
            return d
        return backend.blockwise(kernel, x, gy, cache_blocks=self.cache_blocks)

    def take_kept(self):
        """The array kept by the forward, once (a second backward recomputes it)."""
        kept, self.kept = self.kept, None
        return kept


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


class SiLU(Elementwise):
    """silu(x) = x s, s = sigmoid(x);  f' = s (1 + x (1 - s));  f'' = s (1 - s) (2 + x (1 - 2 s)).
    The forward keeps s for the backward (its exp is most of the work)."""

    def forward(self, xp, x):
        self.kept = _sigmoid(xp, x)
        return x * self.kept

    def grad(self, xp, x, gy):
        s = self.take_kept()
        s = _sigmoid(xp, x) if s is None else s
        d = 1 - s
        d *= x
        d += 1
        d *= s
        d *= gy
        return d

    def d2f(self, x):
        s = sigmoid(x)
        return s * (1.0 - s) * (x * (1.0 - s * 2.0) + 2.0)


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """x * sigmoid(x) (the swish), elementwise."""
    return activate(SiLU(), input, "silu", inplace)


# ============================================================================ elu, selu, celu


class ELU(Elementwise):
    """x > 0: scale x;  else: scale alpha (exp(x c) - 1), c the input scale (1 for elu and selu,
    1 / alpha for celu; PyTorch's elu kernel).  f' = scale | scale alpha c exp(x c) (the second
    branch at 0, as PyTorch);  f'' = 0 | scale alpha c^2 exp(x c) (0 at x = 0, as PyTorch)."""

    def __init__(self, alpha: float, scale: float = 1.0, input_scale: float = 1.0) -> None:
        self.alpha, self.scale, self.input_scale = alpha, scale, input_scale

    # Both branches as sums of clipped parts (no where pass, ~3 ms on 0.5M floats, no exp
    # overflow): f = scale max(x, 0) + scale alpha expm1(min(x, 0) c). With c > 0 (celu with a
    # negative alpha is the exception) the argument of expm1 is <= 0.
    def f(self, xp, x):
        big = np.finfo(x.dtype).max
        negative = xp.clip(x, -big, 0)
        negative *= self.input_scale
        y = _expm1_negative(xp, negative) if self.input_scale > 0 else xp.expm1(negative)
        y *= self.alpha * self.scale
        positive = xp.clip(x, 0, np.inf)    # inf stays inf
        positive *= self.scale
        y += positive
        return y

    def df(self, xp, x):
        d = xp.clip(x, -np.finfo(x.dtype).max, 0)
        d *= self.input_scale
        xp.exp(d, out=d)
        d *= self.alpha * self.scale * self.input_scale
        positive = xp.greater(x, 0).astype(x.dtype)
        positive *= self.scale - d
        d += positive                                   # scale where x > 0
        return d

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


class Softplus(Elementwise):
    """b x > threshold: x;  else log(1 + exp(b x)) / b (stable form above).
    f' = 1 | sigmoid(b x);  f'' = 0 | b s (1 - s). The forward keeps exp(-|b x|), from which
    the backward's sigmoid needs no exp; the linear part above the threshold is patched in
    where it occurs (rare), as a mask and a sparse copy rather than a where pass."""

    def __init__(self, beta: float, threshold: float) -> None:
        self.beta, self.threshold = beta, threshold

    def _z(self, x):
        return x if self.beta == 1 else x * self.beta

    def forward(self, xp, x):
        z = self._z(x)
        y, self.kept = _softplus_parts(xp, z)
        if self.beta != 1:
            y *= 1.0 / self.beta
        linear = z > self.threshold
        if linear.any():
            y[linear] = x[linear]
        return y

    def grad(self, xp, x, gy):
        z = self._z(x)
        e = self.take_kept()
        d = _sigmoid_from(xp, z, xp.exp(-xp.abs(z)) if e is None else e)
        linear = z > self.threshold
        if linear.any():
            d[linear] = 1
        d *= gy
        return d

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


class Softsign(Elementwise):
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
    """x / (1 + |x|), elementwise (an integer tensor gives the default float dtype, as
    PyTorch's)."""
    numeric_tensor(input, "softsign")  # (PyTorch has no abs of bools)
    return activate(Softsign(), float_input(input, "softsign"), "softsign")


# ============================================================================ mish


class Mish(Elementwise):
    """x t, t = tanh(softplus(x)), s = sigmoid(x) (dt/dx = (1 - t^2) s);
    f' = t + x s (1 - t^2);  f'' = s (1 - t^2) (2 + x (1 - s) - 2 x s t).
    With n = e^x: t = ((1 + n)^2 - 1) / ((1 + n)^2 + 1) = q / (q + 2), q = n (n + 2), and
    s = n / (1 + n): one exp for both, no log or tanh. x is clipped at 20 first (then q ~ e^40
    and t = 1 to within 1e-17, while n^2 would overflow float32 past x = 44). The forward
    keeps n for the backward."""
    CLIP = 20.0

    def _n(self, xp, x):
        n = xp.clip(x, np.finfo(x.dtype).min, self.CLIP)   # (a two-sided clip is NumPy's fast one)
        return xp.exp(n, out=n)

    @staticmethod
    def _t(xp, n):
        q = n + 2
        q *= n
        t = q + 2
        return xp.divide(q, t, out=t)

    def forward(self, xp, x):
        self.kept = self._n(xp, x)
        t = self._t(xp, self.kept)
        t *= x
        return t

    def grad(self, xp, x, gy):
        n = self.take_kept()
        n = self._n(xp, x) if n is None else n
        t = self._t(xp, n)
        s = n / (n + 1)
        d = t * t
        xp.subtract(1, d, out=d)
        d *= s
        d *= x
        d += t
        d *= gy
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


class LogSigmoid(Elementwise):
    """log(sigmoid(x)) = -softplus(-x) = min(x, 0) - log1p(exp(-|x|));  f' = sigmoid(-x);
    f'' = -s (1 - s). The forward keeps exp(-|x|) for the backward's sigmoid."""

    def forward(self, xp, x):
        y, self.kept = _softplus_parts(xp, -x)
        return xp.negative(y, out=y)

    def grad(self, xp, x, gy):
        e = self.take_kept()
        d = _sigmoid_from(xp, -x, xp.exp(-xp.abs(x)) if e is None else e)
        d *= gy
        return d

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
