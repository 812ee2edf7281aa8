"""Elementwise math beyond ops/elementwise.py's arithmetic: trigonometric and hyperbolic
functions and their inverses, logarithms and exponentials in other bases, erf/erfc,
rsqrt/reciprocal/square, rounding (floor, ceil, round, trunc, frac, sign), and the binary
remainder (``%``), floor_divide (``//``), fmod, div with a rounding mode, atan2, hypot, lerp.

Each smooth unary op is one row of the ``UNARY`` table below: its forward on arrays beside
its derivative dy/dx, written with differentiable Tensor ops of x and the output y, so the
backward ``gy * dy/dx`` can itself be differentiated (gradients of gradients). Rounding ops
are piecewise constant: their gradient is zero, as in PyTorch.

dtypes as PyTorch: a float function of an integer or bool tensor returns the default float
dtype; square, sign and the rounding ops keep integer tensors integer (no gradient flows
through integers); remainder, fmod, floor_divide and div with a rounding mode keep two
integer operands integer and refuse a zero divisor, as PyTorch's ZeroDivisionError does.
Domain errors (log of a negative, asin(2)) give NaN or inf without NumPy warnings.
"""
from __future__ import annotations

import math
from typing import Any, Callable, NamedTuple

import numpy as np

from .. import backend
from ..autograd import Function, Tensor
from ..errors import ArgumentError, DTypeError
from . import elementwise as E
from .activation import erf as _erf_array, erfc as _erfc_array
from .args import choice, tensor_arg

_LN2, _LN10 = math.log(2.0), math.log(10.0)
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


def _floating(x: Any, op: str) -> Tensor:
    """``x`` as a floating Tensor: integer and bool tensors become the default float dtype."""
    tensor_arg(x, op)
    if x.data.dtype.kind == "f":
        return x
    return Tensor._wrap(x.data.astype(backend.get_default_dtype()))


def _not_bool(x: Any, op: str) -> Tensor:
    tensor_arg(x, op)
    if x.data.dtype == np.bool_:
        raise DTypeError(f"{op}: not defined for bool tensors (shape {x.shape})")
    return x


def _zeros_like(t: Tensor) -> Tensor:
    return Tensor._wrap(backend.get_array_module(t.data).zeros_like(t.data))


# ============================================================================ smooth unary ops


class UnaryOp(NamedTuple):
    forward: Callable          # forward(xp, x) -> y, on arrays
    derivative: Callable       # derivative(x, y) -> dy/dx, Tensor ops


class Unary(Function):
    """y = f(x) for one row of ``UNARY`` (a subclass per row: ``Sin``, ``Log2``, ...);
    gx = gy * f'(x)."""
    op: UnaryOp

    def forward(self, x):
        with np.errstate(all="ignore"):  # outside the domain: NaN / inf, as PyTorch
            return self.op.forward(backend.get_array_module(x), x)

    def backward(self, gy):
        x, = self.inputs
        return gy * self.op.derivative(x, self.output(0))


UNARY: dict[str, UnaryOp] = {
    #                  forward                                  dy/dx
    "sin": UnaryOp(lambda xp, x: xp.sin(x),                 lambda x, y: cos(x)),
    "cos": UnaryOp(lambda xp, x: xp.cos(x),                 lambda x, y: -sin(x)),
    "tan": UnaryOp(lambda xp, x: xp.tan(x),                 lambda x, y: y * y + 1.0),
    "asin": UnaryOp(lambda xp, x: xp.arcsin(x),             lambda x, y: rsqrt(1.0 - x * x)),
    "acos": UnaryOp(lambda xp, x: xp.arccos(x),             lambda x, y: -rsqrt(1.0 - x * x)),
    "atan": UnaryOp(lambda xp, x: xp.arctan(x),             lambda x, y: reciprocal(x * x + 1.0)),
    "sinh": UnaryOp(lambda xp, x: xp.sinh(x),               lambda x, y: cosh(x)),
    "cosh": UnaryOp(lambda xp, x: xp.cosh(x),               lambda x, y: sinh(x)),
    "asinh": UnaryOp(lambda xp, x: xp.arcsinh(x),           lambda x, y: rsqrt(x * x + 1.0)),
    "acosh": UnaryOp(lambda xp, x: xp.arccosh(x),           lambda x, y: rsqrt(x * x - 1.0)),
    "atanh": UnaryOp(lambda xp, x: xp.arctanh(x),           lambda x, y: reciprocal(1.0 - x * x)),
    "log2": UnaryOp(lambda xp, x: xp.log2(x),               lambda x, y: reciprocal(x * _LN2)),
    "log10": UnaryOp(lambda xp, x: xp.log10(x),             lambda x, y: reciprocal(x * _LN10)),
    "log1p": UnaryOp(lambda xp, x: xp.log1p(x),             lambda x, y: reciprocal(x + 1.0)),
    "expm1": UnaryOp(lambda xp, x: xp.expm1(x),             lambda x, y: y + 1.0),
    "exp2": UnaryOp(lambda xp, x: xp.exp2(x),               lambda x, y: y * _LN2),
    "rsqrt": UnaryOp(lambda xp, x: xp.reciprocal(xp.sqrt(x)), lambda x, y: y * y * y * -0.5),
    "reciprocal": UnaryOp(lambda xp, x: xp.reciprocal(x),   lambda x, y: -(y * y)),
    "erf": UnaryOp(lambda xp, x: _erf_array(x),             lambda x, y: E.exp(-(x * x)) * _TWO_OVER_SQRT_PI),
    "erfc": UnaryOp(lambda xp, x: _erfc_array(x),           lambda x, y: E.exp(-(x * x)) * -_TWO_OVER_SQRT_PI),
}

_DOCS = {
    "sin": "Sine, elementwise.", "cos": "Cosine, elementwise.", "tan": "Tangent, elementwise.",
    "asin": "Inverse sine (NaN outside [-1, 1]).", "acos": "Inverse cosine (NaN outside [-1, 1]).",
    "atan": "Inverse tangent.", "sinh": "Hyperbolic sine.", "cosh": "Hyperbolic cosine.",
    "asinh": "Inverse hyperbolic sine.", "acosh": "Inverse hyperbolic cosine (NaN below 1).",
    "atanh": "Inverse hyperbolic tangent (+-inf at +-1, NaN beyond).",
    "log2": "Base-2 logarithm.", "log10": "Base-10 logarithm.",
    "log1p": "log(1 + x), accurate for small x.", "expm1": "exp(x) - 1, accurate for small x.",
    "exp2": "2 ** x.", "rsqrt": "1 / sqrt(x).", "reciprocal": "1 / x.",
    "erf": "The error function (minigan's own polynomial fit, ops/activation.py).",
    "erfc": "The complementary error function 1 - erf(x), accurate in the far tail.",
}


def _unary(name: str) -> Callable[[Tensor], Tensor]:
    function = type(name.capitalize(), (Unary,), {"op": UNARY[name], "__doc__": _DOCS[name]})

    def fn(input: Tensor) -> Tensor:
        return function()(_floating(input, name))
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = _DOCS[name] + " Integer inputs give the default float dtype."
    return fn


sin, cos, tan = _unary("sin"), _unary("cos"), _unary("tan")
asin, acos, atan = _unary("asin"), _unary("acos"), _unary("atan")
sinh, cosh = _unary("sinh"), _unary("cosh")
asinh, acosh, atanh = _unary("asinh"), _unary("acosh"), _unary("atanh")
log2, log10, log1p = _unary("log2"), _unary("log10"), _unary("log1p")
expm1, exp2 = _unary("expm1"), _unary("exp2")
rsqrt, reciprocal = _unary("rsqrt"), _unary("reciprocal")
erf, erfc = _unary("erf"), _unary("erfc")
arcsin, arccos, arctan, arcsinh, arccosh, arctanh = asin, acos, atan, asinh, acosh, atanh


# ============================================================================ square, frac


class Square(Function):
    # d(x^2)/dx = 2 x
    def forward(self, x):
        return x * x

    def backward(self, gy):
        return gy * self.inputs[0] * 2.0


def square(input: Tensor) -> Tensor:
    """x * x; integer tensors stay integer (bool becomes int64), as PyTorch."""
    tensor_arg(input, "square")
    if input.data.dtype == np.bool_:
        input = Tensor._wrap(input.data.astype(np.int64))
    return Square()(input)


class Frac(Function):
    # frac(x) = x - trunc(x);  d/dx = 1 (almost everywhere)
    def forward(self, x):
        return x - backend.get_array_module(x).trunc(x)

    def backward(self, gy):
        return gy


def frac(input: Tensor) -> Tensor:
    """The fractional part x - trunc(x), with x's sign; floating tensors only (as PyTorch)."""
    tensor_arg(input, "frac")
    if input.data.dtype.kind != "f":
        raise DTypeError(f"frac: needs a floating tensor, got {input.data.dtype}")
    return Frac()(input)


# ============================================================================ rounding (zero gradient)


class Rounding(Function):
    """floor, ceil, trunc, round, sign: piecewise constant, so the gradient is 0 (PyTorch's).
    A subclass per op (``Floor``, ...) gives its ``rule(xp, x)``."""
    rule: Callable

    def forward(self, x):
        return self.rule(backend.get_array_module(x), x)

    def backward(self, gy):
        return _zeros_like(gy)


def _round_half_even(xp, x, decimals: int):
    """PyTorch's rule: nearbyint(x * 10^d) / 10^d (or x / 10^-d ... * 10^-d for d < 0), in
    x's dtype; nearbyint (rint) rounds halves to even."""
    if decimals == 0:
        return xp.rint(x)
    scale = x.dtype.type(10.0 ** abs(decimals))
    with np.errstate(over="ignore", invalid="ignore"):
        if decimals > 0:
            return xp.rint(x * scale) / scale
        return xp.rint(x / scale) * scale


def _sign(xp, x):
    """sign(x) with PyTorch's sign(NaN) = 0 (NumPy gives NaN); bools stay bools."""
    if x.dtype == np.bool_:
        return x.copy()
    s = xp.sign(x)
    if x.dtype.kind == "f":
        s = xp.where(xp.isnan(x), x.dtype.type(0), s)
    return s


def _rounding_class(name: str, rule: Callable):
    return type(name.capitalize(), (Rounding,), {"rule": staticmethod(rule)})


def _rounding(name: str, rule: Callable, doc: str) -> Callable[[Tensor], Tensor]:
    function = _rounding_class(name, rule)

    def fn(input: Tensor) -> Tensor:
        x = _not_bool(input, name)
        if x.data.dtype.kind != "f":  # integers are already whole
            return Tensor._wrap(x.data.copy())
        return function()(x)
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc + " Integer tensors come back unchanged; the gradient is 0."
    return fn


floor = _rounding("floor", lambda xp, x: xp.floor(x), "Largest integer <= x, elementwise.")
ceil = _rounding("ceil", lambda xp, x: xp.ceil(x), "Smallest integer >= x, elementwise.")
trunc = _rounding("trunc", lambda xp, x: xp.trunc(x), "x rounded toward zero, elementwise.")
fix = trunc


class Round(Rounding):
    def __init__(self, decimals: int) -> None:
        self.decimals = decimals

    def rule(self, xp, x):
        return _round_half_even(xp, x, self.decimals)


def round(input: Tensor, decimals: int = 0) -> Tensor:  # noqa: A001 - PyTorch's name
    """x rounded to ``decimals`` decimal places, halves to even (``round(2.5) == 2``), as
    PyTorch: ``nearbyint(x * 10^decimals) / 10^decimals`` in x's dtype. The gradient is 0."""
    from .args import int_arg
    decimals = int_arg(decimals, "round", "decimals")
    x = _not_bool(input, "round")
    if x.data.dtype.kind != "f":
        if decimals:
            raise DTypeError(f"round: decimals needs a floating tensor, got {x.data.dtype}")
        return Tensor._wrap(x.data.copy())
    return Round(decimals)(x)


def sign(input: Tensor) -> Tensor:
    """-1, 0 or 1 by the sign of x (0 for NaN, as PyTorch); int stays int, bool stays bool.
    The gradient is 0."""
    tensor_arg(input, "sign")
    if input.data.dtype.kind != "f":
        return Tensor._wrap(_sign(backend.get_array_module(input.data), input.data))
    return Sign()(input)


Sign = _rounding_class("sign", _sign)
sgn = sign


# ============================================================================ remainder, fmod, floor_divide, div


def _integer_operands(x: Tensor, y: Tensor, op: str) -> bool:
    """True for two integer operands; refuses bools and a zero integer divisor (PyTorch
    raises ZeroDivisionError there; NumPy would warn and return 0)."""
    for t in (x, y):
        if t.data.dtype == np.bool_:
            raise DTypeError(f"{op}: not defined for bool tensors (shape {t.shape})")
    integral = x.data.dtype.kind in "iu" and y.data.dtype.kind in "iu"
    if integral and y.data.size and bool((y.data == 0).any()):
        raise ArgumentError(f"{op}: integer division by zero (divisor of shape {y.shape})")
    return integral


def _broadcast_pair(x: Any, y: Any, op: str) -> tuple[Tensor, Tensor]:
    for t in (x, y):
        if not isinstance(t, (Tensor, int, float, bool, np.number)):
            raise DTypeError(f"{op}: operands must be tensors or numbers, got {type(t).__name__}")
    x, y = E._pair(x, y, op)
    try:
        np.broadcast_shapes(x.shape, y.shape)
    except ValueError:
        from ..errors import ShapeError
        raise ShapeError(f"{op}: shapes {x.shape} and {y.shape} do not broadcast") from None
    return x, y


def _div_floor(xp, a, b):
    """Python's floor division (the quotient of divmod; NumPy's and PyTorch's rule)."""
    return xp.floor_divide(a, b)


def _div_trunc(xp, a, b):
    """Division rounded toward zero: trunc(a / b) for floats; exact for integers."""
    if a.dtype.kind == "f":
        return xp.trunc(a / b)
    q = xp.floor_divide(a, b)
    inexact = (q * b != a) & ((a < 0) != (b < 0))
    return q + inexact.astype(q.dtype)


class Remainder(Function):
    # a - floor(a / b) b (the sign of b, Python's rule);  d/da = 1, d/db = -floor(a / b)
    @staticmethod
    def rule(xp, a, b):
        return xp.remainder(a, b)

    quotient = staticmethod(_div_floor)

    def forward(self, a, b):
        return self.rule(backend.get_array_module(a), a, b)

    def backward(self, gy):
        a, b = self.inputs
        ga = E._unbroadcast(gy, a.shape) if self.needs_input_grad[0] else None
        gb = None
        if self.needs_input_grad[1]:
            quotient = Tensor._wrap(self.quotient(backend.get_array_module(a.data), a.data, b.data))
            gb = E._unbroadcast(-(gy * quotient), b.shape)
        return ga, gb


class Fmod(Remainder):
    # a - trunc(a / b) b (the sign of a, C's rule);  d/da = 1, d/db = -trunc(a / b)
    @staticmethod
    def rule(xp, a, b):
        return xp.fmod(a, b)

    quotient = staticmethod(_div_trunc)


class RoundedDiv(Function):
    """a / b rounded down ('floor') or toward zero ('trunc'): piecewise constant, gradient 0."""

    def __init__(self, mode: str) -> None:
        self.mode = mode

    def forward(self, a, b):
        xp = backend.get_array_module(a)
        return _div_floor(xp, a, b) if self.mode == "floor" else _div_trunc(xp, a, b)

    def backward(self, gy):
        a, b = self.inputs
        zeros = backend.get_array_module(gy.data).zeros
        return (Tensor._wrap(zeros(a.shape, gy.dtype)) if self.needs_input_grad[0] else None,
                Tensor._wrap(zeros(b.shape, gy.dtype)) if self.needs_input_grad[1] else None)


def _modular(op: str, fn_class) -> Callable:
    def apply(x, y):
        x, y = _broadcast_pair(x, y, op)
        _integer_operands(x, y, op)
        with np.errstate(divide="ignore", invalid="ignore"):  # float x % 0 is NaN, as PyTorch
            return fn_class()(x, y)
    return apply


def remainder(input: Any, other: Any) -> Tensor:
    """``input % other`` with the sign of ``other`` (Python's rule, as PyTorch), broadcasting.
    Gradients: 1 for input, ``-floor(input / other)`` for other."""
    return _modular("remainder", Remainder)(input, other)


def fmod(input: Tensor, other: Any) -> Tensor:
    """C's remainder: ``input - trunc(input / other) * other``, the sign of ``input``;
    ``input`` is a tensor (PyTorch has no fmod of a number), ``other`` a tensor or a number.
    Gradients: 1 for input, ``-trunc(input / other)`` for other."""
    return _modular("fmod", Fmod)(tensor_arg(input, "fmod"), other)


def div(input: Any, other: Any, *, rounding_mode: str | None = None) -> Tensor:
    """``input / other``; ``rounding_mode`` None (true division, the default float dtype for
    integers), ``'trunc'`` (toward zero) or ``'floor'`` (down, Python's ``//``). A rounded
    quotient keeps two integer operands integer and has gradient 0, as in PyTorch."""
    choice(rounding_mode, (None, "trunc", "floor"), "div", "rounding_mode")
    if rounding_mode is None:
        return E.div(*_broadcast_pair(input, other, "div"))
    x, y = _broadcast_pair(input, other, "div")
    _integer_operands(x, y, "div")
    with np.errstate(divide="ignore", invalid="ignore"):
        return RoundedDiv(rounding_mode)(x, y)


divide, true_divide = div, E.div


def floor_divide(input: Any, other: Any) -> Tensor:
    """``input // other``: the quotient rounded down (``div(..., rounding_mode='floor')``)."""
    return div(input, other, rounding_mode="floor")


# ============================================================================ atan2, hypot


class Atan2(Function):
    # theta = atan2(a, b);  d/da = b / (a^2 + b^2),  d/db = -a / (a^2 + b^2)  (0 at the
    # origin, as PyTorch: the squared radius is replaced by inf there)
    def forward(self, a, b):
        return backend.get_array_module(a).arctan2(a, b)

    def backward(self, gy):
        a, b = self.inputs
        radius2 = a * a + b * b
        origin = radius2.data == 0
        if bool(origin.any()):
            radius2 = E.where(Tensor._wrap(origin), math.inf, radius2)
        scale = gy / radius2
        ga = E._unbroadcast(scale * b, a.shape) if self.needs_input_grad[0] else None
        gb = E._unbroadcast(-(scale * a), b.shape) if self.needs_input_grad[1] else None
        return ga, gb


def atan2(input: Any, other: Any) -> Tensor:
    """The angle of the point (other, input), in (-pi, pi]; integers give the default float.
    Both are tensors, as in PyTorch."""
    x, y = _broadcast_pair(tensor_arg(input, "atan2"), tensor_arg(other, "atan2", "other"),
                           "atan2")
    return Atan2()(_floating(x, "atan2"), _floating(y, "atan2"))


arctan2 = atan2


class Hypot(Function):
    # h = sqrt(a^2 + b^2) (without overflow);  d/da = a / h,  d/db = b / h
    def forward(self, a, b):
        return backend.get_array_module(a).hypot(a, b)

    def backward(self, gy):
        a, b = self.inputs
        scale = gy / self.output(0)
        ga = E._unbroadcast(scale * a, a.shape) if self.needs_input_grad[0] else None
        gb = E._unbroadcast(scale * b, b.shape) if self.needs_input_grad[1] else None
        return ga, gb


def _float_operands(x: Tensor, y: Tensor, op: str) -> None:
    for t in (x, y):
        if t.data.dtype.kind != "f":
            raise DTypeError(f"{op}: needs floating tensors, got {t.data.dtype} (shape {t.shape})")


def hypot(input: Any, other: Any) -> Tensor:
    """sqrt(input^2 + other^2) without overflow; floating tensors only (as PyTorch)."""
    x, y = _broadcast_pair(tensor_arg(input, "hypot"), tensor_arg(other, "hypot", "other"),
                           "hypot")
    _float_operands(x, y, "hypot")
    return Hypot()(x, y)


# ============================================================================ lerp


class Lerp(Function):
    """start + w (end - start) with PyTorch's two-sided formula (exact at w = 0 and w = 1):
    w < 0.5: start + w (end - start);  else end - (end - start) (1 - w).
    Gradients: start (1 - w), end w, weight (end - start)."""

    def forward(self, start, end, weight):
        xp = backend.get_array_module(start)
        diff = end - start
        return xp.where(xp.abs(weight) < 0.5, start + weight * diff, end - diff * (1 - weight))

    def backward(self, gy):
        start, end, weight = self.inputs
        need = self.needs_input_grad
        g_start = E._unbroadcast(gy * (1.0 - weight), start.shape) if need[0] else None
        g_end = E._unbroadcast(gy * weight, end.shape) if need[1] else None
        g_weight = E._unbroadcast(gy * (end - start), weight.shape) if need[2] else None
        return g_start, g_end, g_weight


def lerp(input: Tensor, end: Tensor, weight: Any) -> Tensor:
    """Linear interpolation ``input + weight * (end - input)``; ``weight`` a number or a
    tensor, all three broadcasting; floating tensors only (as PyTorch)."""
    tensor_arg(input, "lerp")
    tensor_arg(end, "lerp", "end")
    x, y = _broadcast_pair(input, end, "lerp")
    _float_operands(x, y, "lerp")
    if isinstance(weight, Tensor):
        if weight.data.dtype.kind != "f":
            raise DTypeError(f"lerp: weight must be floating, got {weight.data.dtype}")
    elif not isinstance(weight, (int, float, np.number)) or isinstance(weight, bool):
        raise DTypeError(f"lerp: weight must be a number or a tensor, got {type(weight).__name__}")
    w = E._pair(x, weight)[1]
    try:
        np.broadcast_shapes(x.shape, y.shape, w.shape)
    except ValueError:
        from ..errors import ShapeError
        raise ShapeError(f"lerp: shapes {x.shape}, {y.shape} and weight {w.shape} do not "
                         f"broadcast") from None
    return Lerp()(x, y, w)
