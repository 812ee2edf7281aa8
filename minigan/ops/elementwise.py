"""Elementwise ops: arithmetic, exp/log/sqrt/abs, clamp, maximum/minimum, where, casts.

Binary ops broadcast as NumPy does; their backward sums the gradient back to each
input's shape (``sum_to``). Every backward is written with these same differentiable
ops, so gradients of gradients work.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .. import backend
from ..autograd import Function, Tensor, as_tensor
from ..errors import ArgumentError, DTypeError, ShapeError
from .args import broadcast_shapes, float_input, numeric_tensor, operand, tensor_arg
from .reduce import sum_to


def _pair(x: Any, y: Any, op: str = "op") -> tuple[Tensor, Tensor]:
    """Both operands as Tensors; scalars and integer tensors take the float one's dtype.
    Operands that are neither tensors, numbers nor arrays are refused naming ``op``."""
    if type(x) is not Tensor or type(y) is not Tensor:
        operand(x, op, "input")
        operand(y, op, "other")
    if isinstance(x, Tensor):
        if not isinstance(y, Tensor):
            y = as_tensor(y, x)
    elif isinstance(y, Tensor):
        x = as_tensor(x, y)
    else:
        x = as_tensor(x)
        y = as_tensor(y, x)
    fx, fy = x.data.dtype.kind == "f", y.data.dtype.kind == "f"
    if fx != fy:  # int/bool op float: promote the non-float side (it never needs a grad)
        if fx:
            y = Tensor._wrap(y.data.astype(x.data.dtype))
        else:
            x = Tensor._wrap(x.data.astype(y.data.dtype))
    return x, y


def _unbroadcast(g: Tensor | None, shape: tuple) -> Tensor | None:
    return g if g is None or g.data.shape == shape else sum_to(g, shape)


# ============================================================================ add, sub, mul, div


class Add(Function):
    def forward(self, x0, x1):
        return x0 + x1

    def backward(self, gy):
        x0, x1 = self.inputs
        return _unbroadcast(gy, x0.data.shape), _unbroadcast(gy, x1.data.shape)


class Sub(Function):
    def forward(self, x0, x1):
        return x0 - x1

    def backward(self, gy):
        x0, x1 = self.inputs
        g1 = neg(gy) if self.needs_input_grad[1] else None
        return _unbroadcast(gy, x0.data.shape), _unbroadcast(g1, x1.data.shape)


class Mul(Function):
    def forward(self, x0, x1):
        return x0 * x1

    def backward(self, gy):
        x0, x1 = self.inputs
        g0 = gy * x1 if self.needs_input_grad[0] else None
        g1 = gy * x0 if self.needs_input_grad[1] else None
        return _unbroadcast(g0, x0.data.shape), _unbroadcast(g1, x1.data.shape)


class Div(Function):
    # d(a/b)/da = 1/b ;  d(a/b)/db = -a/b^2
    def forward(self, x0, x1):
        return x0 / x1

    def backward(self, gy):
        x0, x1 = self.inputs
        g0 = gy / x1 if self.needs_input_grad[0] else None
        g1 = neg(gy * x0 / (x1 * x1)) if self.needs_input_grad[1] else None
        return _unbroadcast(g0, x0.data.shape), _unbroadcast(g1, x1.data.shape)


class Neg(Function):
    def forward(self, x):
        return -x

    def backward(self, gy):
        return neg(gy)


def add(x: Any, y: Any) -> Tensor:
    """x + y, broadcasting."""
    return Add()(*_pair(x, y, "add"))


def _is_bool(v: Any) -> bool:
    return isinstance(v, (bool, np.bool_)) or (isinstance(v, Tensor) and v.data.dtype == np.bool_)


def sub(x: Any, y: Any) -> Tensor:
    """x - y, broadcasting (no bool operand, as PyTorch: ``~mask`` inverts a mask)."""
    if _is_bool(x) or _is_bool(y):
        raise DTypeError("sub: subtraction with a bool operand is not supported (as PyTorch); "
                         "use ~mask or logical_not() to invert a mask")
    return Sub()(*_pair(x, y, "sub"))


def mul(x: Any, y: Any) -> Tensor:
    """x * y, broadcasting."""
    return Mul()(*_pair(x, y, "mul"))


def div(x: Any, y: Any) -> Tensor:
    """x / y, broadcasting (true division; integer inputs give the default float dtype)."""
    x, y = _pair(x, y, "div")
    if x.data.dtype.kind != "f":
        dtype = backend.get_default_dtype()
        x, y = Tensor._wrap(x.data.astype(dtype)), Tensor._wrap(y.data.astype(dtype))
    return Div()(x, y)


def neg(x: Tensor) -> Tensor:
    """-x."""
    return Neg()(tensor_arg(x, "neg"))


# ============================================================================ pow, exp, log, sqrt, abs


class PowScalar(Function):
    # d(x^c)/dx = c x^(c-1)
    def __init__(self, exponent: float) -> None:
        self.exponent = exponent

    def forward(self, x):
        return x ** x.dtype.type(self.exponent) if x.dtype.kind == "f" else x ** self.exponent

    def backward(self, gy):
        x, = self.inputs
        c = self.exponent
        if c == 0:
            return gy * 0.0
        if c == 2:
            return gy * x * 2.0
        return gy * (pow(x, c - 1) * c)


class Pow(Function):
    # d(a^b)/da = b a^(b-1) ;  d(a^b)/db = a^b log(a)
    def forward(self, x0, x1):
        return x0 ** x1

    # PyTorch's conventions where the formulas give 0 * inf: no gradient to a where b == 0,
    # and none to b where a == 0 and b >= 0.
    def backward(self, gy):
        x0, x1 = self.inputs
        a, b = x0.data, x1.data
        g0 = g1 = None
        if self.needs_input_grad[0]:
            g0 = gy * x1 * pow(x0, x1 - 1.0)
            if (b == 0).any():
                g0 = where(b == 0, 0.0, g0)
        if self.needs_input_grad[1]:
            base_zero = (a == 0) & (b >= 0)
            safe = where(base_zero, 1.0, x0) if base_zero.any() else x0  # log(1) = 0 there
            g1 = gy * self.output(0) * log(safe)
        return _unbroadcast(g0, a.shape), _unbroadcast(g1, b.shape)


def pow(x: Any, exponent: Any) -> Tensor:
    """x ** exponent; a Python number exponent takes the fast single-input path.

    PyTorch's dtypes: an integer (or bool) tensor to an integer power stays an integer
    tensor (a negative power is refused); to a float power it gives the default float."""
    if isinstance(exponent, (int, float, np.number)) and isinstance(x, Tensor):
        if x.data.dtype.kind != "f":
            if _is_bool(exponent) and x.data.dtype == np.bool_:  # PyTorch: bool ** bool is bool
                xp = backend.get_array_module(x.data)
                return Tensor._wrap(x.data.copy() if exponent else xp.ones_like(x.data))
            if isinstance(exponent, (int, np.integer)):
                return _integer_power(x, int(exponent))
            x = float_input(x, "pow")
        return PowScalar(float(exponent))(x)
    if _is_bool(x) and _is_bool(exponent) and isinstance(exponent, Tensor):
        raise DTypeError("pow: not implemented for two bool tensors (as PyTorch)")
    x, exponent = _pair(x, exponent, "pow")
    if x.data.dtype.kind in "iub" and exponent.data.dtype.kind in "iub":
        broadcast_shapes("pow", x.shape, exponent.shape)
        return Tensor._wrap(_integer_powers(x.data, exponent.data))  # no gradient: integers
    return Pow()(x, exponent)


def _integer_powers(a, b):
    """a ** b of integer arrays as PyTorch's kernel: a negative power truncates to 0, except
    of 1 (1) and -1 (+-1); NumPy refuses negative integer powers."""
    xp = backend.get_array_module(a)
    a = a.astype(np.int64) if a.dtype == np.bool_ else a
    b = b.astype(np.int64) if b.dtype == np.bool_ else b
    if not (b < 0).any():
        return a ** b
    y = a ** xp.maximum(b, 0)
    odd = (b % 2).astype(bool)
    negative = xp.where(a == 1, 1, xp.where(a == -1, xp.where(odd, -1, 1), 0)).astype(y.dtype)
    return xp.where(b < 0, negative, y)


def _integer_power(x: Tensor, exponent: int) -> Tensor:
    if exponent < 0:
        raise ArgumentError(f"pow: integers to negative integer powers are not allowed (a "
                            f"{x.dtype} tensor to the power {exponent}); use a float tensor")
    data = x.data.astype(np.int64) if x.data.dtype == np.bool_ else x.data
    return Tensor._wrap(data ** data.dtype.type(exponent))  # no gradient: an integer tensor


def _floating(x):
    """An integer or bool array in the default float dtype: PyTorch's exp, log and sqrt of an
    integer tensor are floats. (Checked in the kernels, ``x.dtype.kind``, where it costs
    less than a check of the Tensor in the function users call.)"""
    return x.astype(backend.get_default_dtype())


class Exp(Function):
    def forward(self, x):
        return backend.get_array_module(x).exp(x if x.dtype.kind == "f" else _floating(x))

    def backward(self, gy):
        return gy * self.output(0)


class Log(Function):
    def forward(self, x):
        return backend.get_array_module(x).log(x if x.dtype.kind == "f" else _floating(x))

    def backward(self, gy):
        x, = self.inputs
        return gy / x


class Sqrt(Function):
    # d sqrt(x)/dx = 1 / (2 sqrt(x))
    def forward(self, x):
        return backend.get_array_module(x).sqrt(x if x.dtype.kind == "f" else _floating(x))

    def backward(self, gy):
        return gy / (self.output(0) * 2.0)


class Abs(Function):
    # d|x|/dx = sign(x), 0 at 0 (PyTorch's choice)
    def forward(self, x):
        return backend.get_array_module(x).abs(x)

    def backward(self, gy):
        x, = self.inputs
        xp = backend.get_array_module(x.data)  # sign(x), 0 at 0 and at NaN (PyTorch's sgn)
        sign = xp.greater(x.data, 0).astype(gy.dtype)
        sign -= xp.less(x.data, 0)
        return gy * Tensor._wrap(sign)


def exp(x: Tensor) -> Tensor:
    """e ** x."""
    return Exp()(tensor_arg(x, "exp"))


def log(x: Tensor) -> Tensor:
    """Natural logarithm."""
    return Log()(tensor_arg(x, "log"))


def sqrt(x: Tensor) -> Tensor:
    """Square root."""
    return Sqrt()(tensor_arg(x, "sqrt"))


def abs(x: Tensor) -> Tensor:  # noqa: A001 - PyTorch's name
    """|x|; its gradient at 0 is 0."""
    return Abs()(numeric_tensor(x, "abs"))


# ============================================================================ clamp, maximum, minimum, where


class Clamp(Function):
    # gradient passes where min <= x <= max (bounds included, as PyTorch)
    def __init__(self, low: float | None, high: float | None) -> None:
        self.low, self.high = low, high

    def forward(self, x):
        xp = backend.get_array_module(x)
        y = x
        if self.low is not None:
            y = xp.maximum(y, self._bound(xp, x, self.low))
        if self.high is not None:
            y = xp.minimum(y, self._bound(xp, x, self.high))
        return y

    @staticmethod
    def _bound(xp, x, value):
        """The bound in x's dtype (a float32 tensor stays float32)."""
        return xp.asarray(value, dtype=x.dtype) if x.dtype.kind == "f" else value

    def backward(self, gy):
        x, = self.inputs
        mask = backend.get_array_module(x.data).ones(x.shape, dtype=bool)
        if self.low is not None:
            mask &= x.data >= self.low
        if self.high is not None:
            mask &= x.data <= self.high
        return gy * Tensor._wrap(mask.astype(gy.dtype))


def clamp(x: Tensor, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002
    """Limit x to [min, max] (either may be None; numbers or tensors that broadcast with x).
    The gradient passes where min <= x <= max, bounds included (PyTorch); a tensor bound gets
    the gradient where it is the result."""
    if min is None and max is None:
        raise ArgumentError("clamp: at least one of min and max must be given")
    tensor_arg(x, "clamp")
    for name, bound in (("min", min), ("max", max)):
        if bound is not None and not isinstance(bound, (int, float, np.number, Tensor)) or \
                isinstance(bound, (bool, np.bool_)):
            raise DTypeError(f"clamp: {name} must be a number or a Tensor, got "
                             f"{type(bound).__name__}")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        y = x
        if min is not None:
            y = where(lt(y, min), min, y)
        if max is not None:
            y = where(gt(y, max), max, y)
        return y
    return Clamp(min, max)(x)


clip = clamp


class _Extremum(Function):
    """maximum/minimum: the gradient goes to the winner, half to each on a tie, and (NaN
    comparing false) to both where one is NaN: PyTorch's formula, grad (1/2 on ties) masked
    where the input loses."""
    take_first: Any = None

    def forward(self, x0, x1):
        return self.pick(backend.get_array_module(x0), x0, x1)

    def backward(self, gy):
        x0, x1 = self.inputs
        xp = backend.get_array_module(x0.data)
        a, b = x0.data, x1.data
        share = xp.asarray(1, dtype=gy.dtype) - (a == b) * gy.dtype.type(0.5)  # 1/2 on a tie
        g0 = gy * Tensor._wrap(share * ~self.take_first(b, a)) if self.needs_input_grad[0] else None
        g1 = gy * Tensor._wrap(share * ~self.take_first(a, b)) if self.needs_input_grad[1] else None
        return _unbroadcast(g0, x0.data.shape), _unbroadcast(g1, x1.data.shape)


class Maximum(_Extremum):
    @staticmethod
    def pick(xp, a, b):
        return xp.maximum(a, b)

    take_first = staticmethod(lambda a, b: a > b)


class Minimum(_Extremum):
    @staticmethod
    def pick(xp, a, b):
        return xp.minimum(a, b)

    take_first = staticmethod(lambda a, b: a < b)


def maximum(x: Tensor, y: Tensor) -> Tensor:
    """Elementwise max of the tensors x and y, broadcasting (PyTorch takes no Python number
    here: ``clamp(x, min=c)`` is that)."""
    x, y = tensor_arg(x, "maximum"), tensor_arg(y, "maximum", "other")
    return Maximum()(*_pair(x, y, "maximum"))


def minimum(x: Tensor, y: Tensor) -> Tensor:
    """Elementwise min of the tensors x and y, broadcasting (``clamp(x, max=c)`` for a
    number)."""
    x, y = tensor_arg(x, "minimum"), tensor_arg(y, "minimum", "other")
    return Minimum()(*_pair(x, y, "minimum"))


class Where(Function):
    """cond ? x : y. ``cond`` is a constant boolean array saved on the function."""

    def __init__(self, cond) -> None:
        self.cond = cond

    def forward(self, x0, x1):
        return backend.get_array_module(x0).where(self.cond, x0, x1)

    def backward(self, gy):
        x0, x1 = self.inputs
        zero = Tensor._wrap(backend.get_array_module(gy.data).zeros((), dtype=gy.dtype))
        g0 = where(self.cond, gy, zero) if self.needs_input_grad[0] else None
        g1 = where(self.cond, zero, gy) if self.needs_input_grad[1] else None
        return _unbroadcast(g0, x0.data.shape), _unbroadcast(g1, x1.data.shape)


def where(cond: Any, x: Any, y: Any) -> Tensor:
    """Elementwise ``x if cond else y``, broadcasting all three; no gradient for cond."""
    x, y = _pair(x, y, "where")
    operand(cond, "where", "condition")
    cond = cond.data if isinstance(cond, Tensor) else np.asarray(cond) \
        if not backend.is_cupy_array(cond) else cond
    cond = backend.to_device(cond, x.device)
    if cond.dtype != np.bool_:
        cond = cond.astype(bool)
    broadcast_shapes("where", cond.shape, x.shape, y.shape)
    return Where(cond)(x, y)


# ============================================================================ casts


class Cast(Function):
    def __init__(self, dtype: Any) -> None:
        self.dtype = np.dtype(dtype)

    def forward(self, x):
        self.source_dtype = x.dtype
        return x.astype(self.dtype)

    def backward(self, gy):
        return cast(gy, self.source_dtype)


def cast(x: Tensor, dtype: Any) -> Tensor:
    """x converted to ``dtype``; differentiable between float dtypes."""
    dtype = backend.check_float_dtype(dtype, "cast")
    if x.dtype == dtype:
        return x
    if dtype.kind != "f" or x.dtype.kind != "f":
        return Tensor._wrap(x.data.astype(dtype))
    return Cast(dtype)(x)


# ============================================================================ comparisons (no grad)


def _comparable(y: Any) -> bool:
    return isinstance(y, (Tensor, int, float, bool, np.generic, np.ndarray, list, tuple)) \
        or backend.is_cupy_array(y)


def _compare(op: str):
    name = op.strip("_")

    def compare(x: Any, y: Any) -> Tensor:
        x, y = _pair(x, y, name)
        if x.data.shape != y.data.shape:
            broadcast_shapes(name, x.shape, y.shape)
        return Tensor._wrap(getattr(x.data, op)(y.data))
    compare.__name__ = name
    compare.__doc__ = f"Elementwise comparison ``{op}``; a boolean tensor with no gradient."

    def dunder(self: Tensor, other: Any):
        # ``t == None`` or ``t == "a"`` is plain False, as in PyTorch (Python falls back)
        return compare(self, other) if _comparable(other) else NotImplemented
    compare.dunder = dunder
    return compare


eq, ne, lt, le, gt, ge = (_compare(op) for op in
                          ("__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__"))
