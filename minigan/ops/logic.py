"""Predicates and logical ops: isnan, isinf, isfinite, isposinf, isneginf, isclose,
allclose, equal, logical_not/and/or/xor. Their results are bool tensors (``allclose`` and
``equal`` give a Python bool) and carry no gradient, as in PyTorch. Integer and bool
tensors are never NaN or inf.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .. import backend
from ..autograd import Tensor
from ..errors import ArgumentError, DTypeError, ShapeError
from .args import tensor_arg


def _bools(x: Tensor, test: Callable) -> Tensor:
    xp = backend.get_array_module(x.data)
    if x.data.dtype.kind != "f":
        return Tensor._wrap(xp.zeros(x.shape, dtype=bool) if test is not xp.isfinite
                            else xp.ones(x.shape, dtype=bool))
    return Tensor._wrap(test(x.data))


def isnan(input: Tensor) -> Tensor:
    """True where x is NaN."""
    tensor_arg(input, "isnan")
    return _bools(input, backend.get_array_module(input.data).isnan)


def isinf(input: Tensor) -> Tensor:
    """True where x is +inf or -inf."""
    tensor_arg(input, "isinf")
    return _bools(input, backend.get_array_module(input.data).isinf)


def isfinite(input: Tensor) -> Tensor:
    """True where x is neither NaN nor +-inf."""
    tensor_arg(input, "isfinite")
    return _bools(input, backend.get_array_module(input.data).isfinite)


def isposinf(input: Tensor) -> Tensor:
    """True where x is +inf."""
    tensor_arg(input, "isposinf")
    return _bools(input, lambda a: a == np.inf)


def isneginf(input: Tensor) -> Tensor:
    """True where x is -inf."""
    tensor_arg(input, "isneginf")
    return _bools(input, lambda a: a == -np.inf)


def _two_tensors(input: Any, other: Any, op: str) -> tuple[Tensor, Tensor]:
    tensor_arg(input, op)
    tensor_arg(other, op, "other")
    if input.device != other.device:
        from ..errors import DeviceError
        raise DeviceError(f"{op}: inputs on different devices: {input.device} and {other.device}")
    try:
        np.broadcast_shapes(input.shape, other.shape)
    except ValueError:
        raise ShapeError(f"{op}: shapes {input.shape} and {other.shape} do not broadcast") from None
    return input, other


def isclose(input: Tensor, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08,
            equal_nan: bool = False) -> Tensor:
    """``|input - other| <= atol + rtol * |other|`` elementwise (equal infinities are close;
    NaNs only with ``equal_nan``), PyTorch's defaults. Both must have one dtype, as in
    PyTorch."""
    op = "isclose"
    x, y = _two_tensors(input, other, op)
    if x.data.dtype != y.data.dtype:
        raise DTypeError(f"{op}: input and other must have the same dtype, got "
                         f"{x.data.dtype} and {y.data.dtype}")
    for name, value in (("rtol", rtol), ("atol", atol)):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
            raise DTypeError(f"{op}: {name} must be a number, got {value!r}")
        if value < 0:
            raise ArgumentError(f"{op}: {name} must be >= 0, got {value}")
    xp = backend.get_array_module(x.data)
    a, b = x.data, y.data
    if a.dtype == np.bool_:
        return Tensor._wrap(xp.broadcast_to(a, np.broadcast_shapes(a.shape, b.shape)) == b)
    with np.errstate(invalid="ignore", over="ignore"):
        # float64 for the tolerance of integers (PyTorch computes it in the default float)
        fa, fb = (a, b) if a.dtype.kind == "f" else (a.astype(np.float64), b.astype(np.float64))
        error = xp.abs(fa - fb)                 # infinities are close only when equal
        close = (a == b) | (xp.isfinite(error) & (error <= atol + rtol * xp.abs(fb)))
    if equal_nan and a.dtype.kind == "f":
        close |= xp.isnan(a) & xp.isnan(b)
    return Tensor._wrap(close)


def allclose(input: Tensor, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08,
             equal_nan: bool = False) -> bool:
    """True when every element of ``isclose(input, other, ...)`` is (a Python bool)."""
    return bool(isclose(input, other, rtol, atol, equal_nan).data.all())


def equal(input: Tensor, other: Tensor) -> bool:
    """True when both have the same shape and the same values (NaN is never equal to NaN);
    dtypes may differ, as in PyTorch."""
    tensor_arg(input, "equal")
    tensor_arg(other, "equal", "other")
    if input.shape != other.shape:
        return False
    return bool((input.data == backend.to_device(other.data, input.device)).all())


def _truth(x: Any, op: str, name: str):
    tensor_arg(x, op, name)
    return x.data if x.data.dtype == np.bool_ else x.data != 0


def logical_not(input: Tensor) -> Tensor:
    """True where x is zero (False where it is nonzero, NaN included)."""
    return Tensor._wrap(~_truth(input, "logical_not", "input"))


def _logical(op: str, rule: Callable) -> Callable:
    def fn(input: Tensor, other: Tensor) -> Tensor:
        _two_tensors(input, other, op)
        return Tensor._wrap(rule(_truth(input, op, "input"), _truth(other, op, "other")))
    fn.__name__ = fn.__qualname__ = op
    fn.__doc__ = f"Elementwise {op[8:]} of the truth values (nonzero is True), broadcasting."
    return fn


logical_and = _logical("logical_and", lambda a, b: a & b)
logical_or = _logical("logical_or", lambda a, b: a | b)
logical_xor = _logical("logical_xor", lambda a, b: a ^ b)
