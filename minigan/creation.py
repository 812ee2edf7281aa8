"""Tensor factories: zeros, ones, full, arange, randn, rand, randint and their *_like."""
from __future__ import annotations

from typing import Any

import numpy as np

from . import backend
from .autograd import Tensor
from .ops.args import size_arg


def _shape(shape: tuple, op: str = "factory") -> tuple:
    """``f(2, 3)`` or ``f((2, 3))`` as a shape of non-negative ints (errors name ``op``)."""
    return size_arg(shape, op)


def _float(dtype: Any) -> np.dtype:
    return backend.get_default_dtype() if dtype is None else backend.check_float_dtype(dtype, "factory")


def _made(array: Any, requires_grad: bool) -> Tensor:
    return Tensor(array, requires_grad=requires_grad)


def zeros(*shape: Any, dtype: Any = None, device: str = "cpu", requires_grad: bool = False) -> Tensor:
    """A tensor of zeros."""
    xp = backend.xp_for_device(device)
    with backend.device_context(backend.normalize_device(device)):
        return _made(xp.zeros(_shape(shape, "zeros"), dtype=_float(dtype)), requires_grad)


def ones(*shape: Any, dtype: Any = None, device: str = "cpu", requires_grad: bool = False) -> Tensor:
    """A tensor of ones."""
    xp = backend.xp_for_device(device)
    with backend.device_context(backend.normalize_device(device)):
        return _made(xp.ones(_shape(shape, "ones"), dtype=_float(dtype)), requires_grad)


def full(shape: Any, fill_value: float, dtype: Any = None, device: str = "cpu",
         requires_grad: bool = False) -> Tensor:
    """A tensor filled with ``fill_value``."""
    xp = backend.xp_for_device(device)
    shape = _shape((shape,), "full")
    with backend.device_context(backend.normalize_device(device)):
        return _made(xp.full(shape, fill_value, dtype=_float(dtype)), requires_grad)


def arange(start: float, end: float | None = None, step: float = 1, dtype: Any = None,
           device: str = "cpu", requires_grad: bool = False) -> Tensor:
    """Evenly spaced values in [start, end): int64 for integer arguments, else float."""
    if end is None:
        start, end = 0, start
    xp = backend.xp_for_device(device)
    integral = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
    if dtype is None:
        dtype = np.int64 if integral else backend.get_default_dtype()
    with backend.device_context(backend.normalize_device(device)):
        return _made(xp.arange(start, end, step, dtype=dtype), requires_grad)


def randn(*shape: Any, generator: backend.Generator | None = None, dtype: Any = None,
          device: str = "cpu", requires_grad: bool = False) -> Tensor:
    """Samples of N(0, 1) from ``generator`` (an ``mg.Generator`` on ``device``), else the
    device's default generator (``mg.manual_seed``)."""
    device = backend.normalize_device(device)
    with backend.device_context(device):
        return _made(backend.random_normal(_shape(shape, "randn"), _float(dtype), device,
                                           generator), requires_grad)


def rand(*shape: Any, generator: backend.Generator | None = None, dtype: Any = None,
         device: str = "cpu", requires_grad: bool = False) -> Tensor:
    """Samples of U[0, 1) from ``generator``, else the device's default generator."""
    device = backend.normalize_device(device)
    with backend.device_context(device):
        return _made(backend.random_uniform(_shape(shape, "rand"), _float(dtype), device,
                                            generator), requires_grad)


def randint(low: int, high: int, size: tuple, device: str = "cpu", *,
            generator: backend.Generator | None = None) -> Tensor:
    """Random int64 values in [low, high), from ``generator`` else the default generator."""
    device = backend.normalize_device(device)
    with backend.device_context(device):
        return Tensor(backend.random_integers(low, high, tuple(size), device, generator))


def _like(factory):
    def like(t: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
        return factory(t.shape, dtype=dtype or t.dtype, device=t.device, requires_grad=requires_grad)
    like.__name__ = factory.__name__ + "_like"
    like.__doc__ = f"Like ``{factory.__name__}`` with the shape, dtype and device of ``t``."
    return like


zeros_like, ones_like, randn_like, rand_like = map(_like, (zeros, ones, randn, rand))
