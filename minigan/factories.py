"""Tensor factories with PyTorch's signatures: zeros, ones, empty, full, eye, arange,
linspace, logspace, rand, randn, randint, randperm, normal, and the ``*_like`` family (zeros,
ones, full, empty, rand, randn).

Every factory takes the keywords ``dtype=``, ``device=`` and ``requires_grad=`` (only
floating tensors may require grad). dtypes as PyTorch infers them: ``full`` takes bool for a
bool fill value, int64 for an int and the default float dtype for a float; ``arange`` takes
int64 when start, end and step are all integers, else the default float dtype; ``linspace``
and ``logspace`` give the default float dtype; ``randint`` and ``randperm`` give int64.
The ``*_like`` factories keep the input's shape, dtype and device unless told otherwise.
Random factories draw from the device's seeded generator (``mg.manual_seed``), or from
``generator=`` (an ``mg.Generator``). ``zeros(2, 3)`` and ``zeros((2, 3))`` are the same;
``zeros(())`` is 0-d and ``zeros()`` is refused, as in PyTorch. A tensor larger than the
machine's memory raises ``mg.OutOfMemoryError`` naming the op, shape, dtype and bytes
(before trying, so a huge size neither hangs nor swaps).

The spacing of arange / linspace follows PyTorch's CPU kernels: linspace fills the first half
as ``start + step * i`` and the second as ``end - step * (steps - 1 - i)`` (so both ends are
exact), each rounded once, as PyTorch's fused multiply-add kernel does (identical results in
float32 and float64); arange is ``start + step * i`` computed in float64 and rounded once
(PyTorch's vectorised kernel can differ from that in the last bit).
"""
from __future__ import annotations

import math
import os
from typing import Any

import numpy as np

from . import backend
from .autograd import Tensor
from .errors import ArgumentError, DTypeError, OutOfMemoryError
from .ops.args import dtype_arg, int_arg, size_arg, tensor_arg

# ---------------------------------------------------------------------------- shared checks


def _bytes(n: int) -> str:
    for unit, size in (("TiB", 2 ** 40), ("GiB", 2 ** 30), ("MiB", 2 ** 20), ("KiB", 2 ** 10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} bytes"


def _memory_bytes() -> int | None:
    """The machine's physical memory in bytes (None where the OS does not say)."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, OSError, ValueError):
        return None


def _out_of_memory(op: str, shape: tuple, dtype: np.dtype, device: str,
                   limit: int | None = None) -> OutOfMemoryError:
    need = math.prod(shape) * dtype.itemsize
    what = f" (more than this machine's {_bytes(limit)} of memory)" if limit else ""
    return OutOfMemoryError(f"{op}: cannot allocate a tensor of shape {shape} and dtype {dtype} "
                            f"on {device}: it needs {need} bytes ({_bytes(need)}){what}")


def _made(op: str, make, dtype: np.dtype, device: Any, requires_grad: bool,
          shape: tuple | None = None) -> Tensor:
    """``make(xp)`` on ``device`` as a leaf tensor (refusing requires_grad for non-floats,
    and a ``shape`` larger than the machine's memory before allocating it)."""
    if requires_grad and dtype.kind != "f":
        raise DTypeError(f"{op}: only floating tensors can require grad, got dtype {dtype}")
    device = backend.normalize_device(device)
    if shape is not None and device == "cpu":
        limit = _memory_bytes()
        if limit is not None and math.prod(shape) * dtype.itemsize > limit:
            raise _out_of_memory(op, shape, dtype, device, limit)
    try:
        with backend.device_context(device):
            array = make(backend.xp_for_device(device))
    except MemoryError:  # NumPy's _ArrayMemoryError, CuPy's OutOfMemoryError
        if shape is None:
            raise
        raise _out_of_memory(op, shape, dtype, device) from None
    t = Tensor._wrap(array if array.dtype == dtype else array.astype(dtype))
    t.requires_grad = bool(requires_grad)
    return t


def _number(value: Any, op: str, name: str) -> int | float | bool:
    """A Python number from a number or a one-element tensor (as PyTorch's Scalar)."""
    if isinstance(value, Tensor):
        if value.data.size != 1:
            raise ArgumentError(f"{op}: {name} must be a number or a one-element tensor, got "
                                f"shape {value.shape}")
        value = value.item()
    if isinstance(value, np.generic):
        value = value.item()
    if not isinstance(value, (bool, int, float)):
        raise DTypeError(f"{op}: {name} must be a number, got {type(value).__name__}")
    return value


def _fma(a, b, c):
    """a * b + c rounded once (float64 arrays): Dekker's exact product and Knuth's exact sum,
    then one final rounding, as a fused multiply-add (PyTorch's CPU kernels are compiled
    with FMA contraction)."""
    def split(v):                                    # v = hi + lo with 26-bit halves
        t = v * 134217729.0                          # 2^27 + 1
        hi = t - (t - v)
        return hi, v - hi
    p = a * b
    ah, al = split(a)
    bh, bl = split(b)
    product_error = ((ah * bh - p) + ah * bl + al * bh) + al * bl   # a b = p + product_error
    s = p + c
    v = s - p
    sum_error = (p - (s - v)) + (c - v)                               # p + c = s + sum_error
    return s + (product_error + sum_error)


# ---------------------------------------------------------------------------- eye, empty, full


def eye(n: int, m: int | None = None, *, dtype: Any = None, device: Any = "cpu",
        requires_grad: bool = False) -> Tensor:
    """The n x m identity matrix (m = n by default)."""
    n = int_arg(n, "eye", "n", 0)
    m = n if m is None else int_arg(m, "eye", "m", 0)
    dt = dtype_arg(dtype, "eye", backend.get_default_dtype())
    return _made("eye", lambda xp: xp.eye(n, m, dtype=dt), dt, device, requires_grad, (n, m))


def _size(size: tuple, op: str) -> tuple[int, ...]:
    """``f(2, 3)`` or ``f((2, 3))`` as a shape; ``f()`` is refused (``f(())`` is 0-d)."""
    if not size:
        raise DTypeError(f"{op}: missing the size (give {op}(2, 3), {op}((2, 3)), or {op}(()) "
                         f"for a 0-d tensor)")
    return size_arg(size, op)


def zeros(*size: Any, dtype: Any = None, device: Any = "cpu", requires_grad: bool = False) -> Tensor:
    """A tensor of zeros of ``size`` (the default float dtype unless ``dtype`` says)."""
    shape = _size(size, "zeros")
    dt = dtype_arg(dtype, "zeros", backend.get_default_dtype())
    return _made("zeros", lambda xp: xp.zeros(shape, dtype=dt), dt, device, requires_grad, shape)


def ones(*size: Any, dtype: Any = None, device: Any = "cpu", requires_grad: bool = False) -> Tensor:
    """A tensor of ones of ``size`` (the default float dtype unless ``dtype`` says)."""
    shape = _size(size, "ones")
    dt = dtype_arg(dtype, "ones", backend.get_default_dtype())
    return _made("ones", lambda xp: xp.ones(shape, dtype=dt), dt, device, requires_grad, shape)


def empty(*size: Any, dtype: Any = None, device: Any = "cpu", requires_grad: bool = False) -> Tensor:
    """An uninitialised tensor of ``size`` (whatever the memory held: fill it before use)."""
    shape = _size(size, "empty")
    dt = dtype_arg(dtype, "empty", backend.get_default_dtype())
    return _made("empty", lambda xp: xp.empty(shape, dtype=dt), dt, device, requires_grad, shape)


def _fill_dtype(value: Any) -> np.dtype:
    """PyTorch's dtype for a fill value: bool, int64, or the default float dtype."""
    if isinstance(value, bool):
        return np.dtype(np.bool_)
    if isinstance(value, int):
        return np.dtype(np.int64)
    return backend.get_default_dtype()


def full(size: Any, fill_value: Any, *, dtype: Any = None, device: Any = "cpu",
         requires_grad: bool = False) -> Tensor:
    """A tensor of ``size`` filled with ``fill_value``; its dtype follows the value as in
    PyTorch (``True`` -> bool, ``3`` -> int64, ``3.0`` -> the default float dtype)."""
    shape = size_arg((size,) if isinstance(size, (int, np.integer)) else size, "full")
    value = _number(fill_value, "full", "fill_value")
    dt = dtype_arg(dtype, "full", _fill_dtype(value))
    return _made("full", lambda xp: _filled(xp, shape, value, dt), dt, device, requires_grad, shape)


def _filled(xp, shape: tuple, value: Any, dt: np.dtype):
    if dt.kind in "iu" and isinstance(value, float) and not math.isfinite(value):
        raise ArgumentError(f"full: cannot fill an integer tensor ({dt}) with {value}")
    return xp.full(shape, value, dtype=dt)


# ---------------------------------------------------------------------------- arange, linspace, logspace


def arange(start: Any = 0, end: Any = None, step: Any = 1, *, dtype: Any = None,
           device: Any = "cpu", requires_grad: bool = False) -> Tensor:
    """Values ``start, start + step, ...`` up to but excluding ``end``; ``arange(n)`` is
    ``0 .. n-1``. PyTorch's rules: int64 when all three are integers, else the default float
    dtype; ceil((end - start) / step) values; an integer dtype truncates start and step first."""
    op = "arange"
    if end is None:
        start, end = 0, start
    start, end, step = (_number(v, op, name) for v, name in
                        ((start, "start"), (end, "end"), (step, "step")))
    integral = all(isinstance(v, int) for v in (start, end, step))
    dt = dtype_arg(dtype, op, np.int64 if integral else backend.get_default_dtype())
    if not all(math.isfinite(v) for v in (start, end, step)):
        raise ArgumentError(f"{op}: start, end and step must be finite, got {start}, {end}, {step}")
    if dt.kind == "f":
        _check_range(start, end, step, op)
        n = math.ceil((end - start) / step)
        make = lambda xp: xp.asarray(  # noqa: E731
            _fma(np.full(n, float(step)), np.arange(n, dtype=np.float64), np.full(n, float(start))))
    else:  # PyTorch casts start, end and step to the integer type first (truncating)
        first, last, stride = int(start), int(end), int(step)
        if dt == np.int64:  # its integer formula: (end - start + step - sign(step)) / step
            _check_range(first, last, stride, op)
            n = abs(last - first + stride - (1 if stride > 0 else -1)) // abs(stride)
        else:  # other integer types: the length from the values as given (PyTorch's kernel)
            _check_range(start, end, step, op)
            n = math.ceil((float(end) - float(start)) / float(step))
        make = lambda xp: xp.arange(n, dtype=np.int64) * stride + first  # noqa: E731
    return _made(op, make, dt, device, requires_grad)


def _check_range(start: float, end: float, step: float, op: str) -> None:
    if step == 0:
        raise ArgumentError(f"{op}: step must be nonzero")
    if (step > 0 and end < start) or (step < 0 and end > start):
        raise ArgumentError(f"{op}: end ({end}) lies on the wrong side of start ({start}) for "
                            f"step {step}")


def _spaced(start: float, end: float, steps: int, dt: np.dtype) -> np.ndarray:
    """PyTorch's linspace values in float64 (rounded to ``dt`` by the caller)."""
    if steps == 1:
        return np.array([start], dtype=np.float64)
    i = np.arange(steps, dtype=np.float64)
    if dt.kind == "f":
        lo, hi = dt.type(start), dt.type(end)
        step = (hi - lo) / dt.type(steps - 1)              # computed in the dtype, as PyTorch
    else:
        lo, hi = float(int(start)), float(int(end))
        step = (hi - lo) / (steps - 1)                     # in float64 for integer dtypes
    lo, hi, step = (np.float64(v) for v in (lo, hi, step))
    if dt == np.float32:  # exact products in float64, then one rounding: the float32 FMA
        first = lo + step * i
        second = hi - step * (steps - 1 - i)
    else:
        first = _fma(np.full(steps, step), i, np.full(steps, lo))
        second = _fma(np.full(steps, -step), steps - 1 - i, np.full(steps, hi))
    return np.where(i < steps // 2, first, second)


def linspace(start: Any, end: Any, steps: int, *, dtype: Any = None, device: Any = "cpu",
             requires_grad: bool = False) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end``, both included."""
    op = "linspace"
    start, end = _number(start, op, "start"), _number(end, op, "end")
    steps = int_arg(steps, op, "steps", 0)
    dt = dtype_arg(dtype, op, backend.get_default_dtype())
    values = _spaced(float(start), float(end), steps, dt) if steps else np.zeros(0)
    if dt.kind in "iu":
        values = np.trunc(values)
    return _made(op, lambda xp: xp.asarray(values.astype(dt)), dt, device, requires_grad)


def logspace(start: Any, end: Any, steps: int, base: float = 10.0, *, dtype: Any = None,
             device: Any = "cpu", requires_grad: bool = False) -> Tensor:
    """``base ** linspace(start, end, steps)`` (PyTorch computes the exponents and the power
    in float64, then rounds to the dtype)."""
    op = "logspace"
    start, end = _number(start, op, "start"), _number(end, op, "end")
    base = float(_number(base, op, "base"))
    steps = int_arg(steps, op, "steps", 0)
    dt = dtype_arg(dtype, op, backend.get_default_dtype())
    if dt.kind == "f":
        lo, hi = float(dt.type(start)), float(dt.type(end))
        step = float(dt.type(end) - dt.type(start)) / (steps - 1) if steps > 1 else 0.0
    else:
        lo, hi = float(int(start)), float(int(end))
        step = (hi - lo) / (steps - 1) if steps > 1 else 0.0
    i = np.arange(steps, dtype=np.float64)
    exponent = np.where(i < steps // 2, lo + step * i, hi - step * (steps - 1 - i))
    if steps == 1:
        exponent = np.array([float(start)])  # PyTorch: base ** start, start as given
    with np.errstate(over="ignore"):
        values = np.power(base, exponent)
    return _made(op, lambda xp: xp.asarray(values.astype(dt)), dt, device, requires_grad)


# ---------------------------------------------------------------------------- random floats


def _random_float(op: str, draw, size: tuple, generator: backend.Generator | None, dtype: Any,
                  device: Any, requires_grad: bool) -> Tensor:
    shape = _size(size, op)
    dt = dtype_arg(dtype, op, backend.get_default_dtype())
    if dt.kind != "f":
        raise DTypeError(f"{op}: dtype must be floating (float32 or float64), got {dt}")
    where = backend.normalize_device(device)
    return _made(op, lambda xp: draw(shape, dt, where, generator), dt, where, requires_grad, shape)


def randn(*size: Any, generator: backend.Generator | None = None, dtype: Any = None,
          device: Any = "cpu", requires_grad: bool = False) -> Tensor:
    """Samples of N(0, 1) from ``generator`` (an ``mg.Generator`` on ``device``), else the
    device's default generator (``mg.manual_seed``)."""
    return _random_float("randn", backend.random_normal, size, generator, dtype, device,
                         requires_grad)


def rand(*size: Any, generator: backend.Generator | None = None, dtype: Any = None,
         device: Any = "cpu", requires_grad: bool = False) -> Tensor:
    """Samples of U[0, 1) from ``generator``, else the device's default generator."""
    return _random_float("rand", backend.random_uniform, size, generator, dtype, device,
                         requires_grad)


# ---------------------------------------------------------------------------- random integers


def randint(*args: Any, size: Any = None, generator: backend.Generator | None = None,
            dtype: Any = None, device: Any = "cpu", requires_grad: bool = False,
            low: Any = None, high: Any = None) -> Tensor:
    """Random integers in [low, high): ``randint(high, size)`` or ``randint(low, high, size)``
    (PyTorch's two signatures; keywords work too). int64 unless ``dtype`` says otherwise.
    Drawn from ``generator`` (an ``mg.Generator``) when given, else the default one."""
    op = "randint"
    positional = list(args)
    if size is None and positional:
        size = positional.pop()
    if len(positional) > 2:
        raise ArgumentError(f"{op}: expected randint(high, size) or randint(low, high, size), "
                            f"got {len(args)} positional arguments")
    if len(positional) == 2:
        low, high = positional
    elif positional and high is None:
        high = positional[0]
    elif positional:
        low = positional[0]
    if high is None or size is None:
        raise ArgumentError(f"{op}: high and size are required (randint(high, size) or "
                            f"randint(low, high, size))")
    low = 0 if low is None else int_arg(low, op, "low")
    high = int_arg(high, op, "high")
    shape = size_arg(size if isinstance(size, (tuple, list)) else (size,), op)
    if low >= high:
        raise ArgumentError(f"{op}: low ({low}) must be less than high ({high})")
    dt = dtype_arg(dtype, op, np.int64)
    device = backend.normalize_device(device)
    return _made(op, lambda xp: backend.random_integers(low, high, shape, device, generator), dt,
                 device, requires_grad, shape)


def randperm(n: int, *, generator: backend.Generator | None = None, dtype: Any = None,
             device: Any = "cpu", requires_grad: bool = False) -> Tensor:
    """A random permutation of 0 .. n-1 (int64 unless ``dtype`` says otherwise)."""
    n = int_arg(n, "randperm", "n", 0)
    dt = dtype_arg(dtype, "randperm", np.int64)
    device = backend.normalize_device(device)
    return _made("randperm", lambda xp: xp.asarray(backend.random_permutation(n, device, generator)),
                 dt, device, requires_grad)


# ---------------------------------------------------------------------------- normal


def _normal_draw(mean: Any, std: Any, shape: tuple, dt: np.dtype, device: str,
                 generator: backend.Generator | None = None):
    """mean + std * N(0, 1) of ``shape`` (mean and std: arrays broadcasting to it, or floats)."""
    z = backend.random_normal(shape, dt, device, generator)
    z *= std
    z += mean
    return z


def normal(mean: Any = 0.0, std: Any = 1.0, size: Any = None, *,
           generator: backend.Generator | None = None, dtype: Any = None,
           device: Any = "cpu", requires_grad: bool = False) -> Tensor:
    """Samples of N(mean, std^2): ``mean`` and ``std`` are floats (then ``size`` is required)
    or tensors that broadcast together (the result takes their shape, dtype and device).
    std must be >= 0. As in PyTorch the samples carry no gradient to mean and std."""
    op = "normal"
    for value, name in ((mean, "mean"), (std, "std")):
        if not isinstance(value, Tensor):
            _number(value, op, name)  # a number or a tensor (None or a string: DTypeError)
    tensors = [t for t in (mean, std) if isinstance(t, Tensor)]
    if not tensors:
        if size is None:
            raise ArgumentError(f"{op}: with a float mean and std, give size")
        mean, std = float(_number(mean, op, "mean")), float(_number(std, op, "std"))
        if not std >= 0:
            raise ArgumentError(f"{op}: std must be >= 0, got {std}")
        shape = size_arg(size if isinstance(size, (tuple, list)) else (size,), op)
        dt = dtype_arg(dtype, op, backend.get_default_dtype())
        if dt.kind != "f":
            raise DTypeError(f"{op}: dtype must be floating, got {dt}")
        device = backend.normalize_device(device)
        return _made(op, lambda xp: _normal_draw(mean, std, shape, dt, device, generator), dt,
                     device, requires_grad, shape)
    if size is not None:
        raise ArgumentError(f"{op}: size goes with a float mean and std, not with tensors")
    like = tensors[0]
    for t in tensors:
        if t.data.dtype.kind != "f":
            raise DTypeError(f"{op}: mean and std must be floating tensors, got {t.data.dtype}")
    arrays = [t.data if isinstance(t, Tensor) else float(_number(t, op, "mean or std"))
              for t in (mean, std)]
    std_array = arrays[1]
    if isinstance(std, Tensor) and std.data.size and not bool((std_array >= 0).all()):
        raise ArgumentError(f"{op}: std must be >= 0 everywhere (std of shape {std.shape})")
    if not isinstance(std, Tensor) and not std_array >= 0:
        raise ArgumentError(f"{op}: std must be >= 0, got {std_array}")
    try:
        shape = np.broadcast_shapes(*(t.shape for t in tensors))
    except ValueError:
        from .errors import ShapeError
        raise ShapeError(f"{op}: mean of shape {getattr(mean, 'shape', ())} and std of shape "
                         f"{getattr(std, 'shape', ())} do not broadcast") from None
    return Tensor._wrap(_normal_draw(arrays[0], std_array, shape, like.data.dtype, like.device,
                                     generator))


# ---------------------------------------------------------------------------- *_like


def _like(name: str, fill, floating: bool = False):
    def like(input: Tensor, *, dtype: Any = None, device: Any = None,
             requires_grad: bool = False) -> Tensor:
        tensor_arg(input, name)
        dt = dtype_arg(dtype, name, input.data.dtype)
        if floating and dt.kind != "f":
            raise DTypeError(f"{name}: needs a floating dtype, got {dt}")
        where = input.device if device is None else device
        return _made(name, lambda xp: fill(xp, input.shape, dt, backend.normalize_device(where)),
                     dt, where, requires_grad, input.shape)
    like.__name__ = like.__qualname__ = name
    return like


def _drawn(draw):
    return lambda xp, shape, dt, device: draw(shape, dt, device)


zeros_like = _like("zeros_like", lambda xp, shape, dt, device: xp.zeros(shape, dtype=dt))
ones_like = _like("ones_like", lambda xp, shape, dt, device: xp.ones(shape, dtype=dt))
empty_like = _like("empty_like", lambda xp, shape, dt, device: xp.empty(shape, dtype=dt))
randn_like = _like("randn_like", _drawn(backend.random_normal), floating=True)
rand_like = _like("rand_like", _drawn(backend.random_uniform), floating=True)
zeros_like.__doc__ = "Zeros with the shape (and, unless given, dtype and device) of ``input``."
ones_like.__doc__ = "Ones with the shape (and, unless given, dtype and device) of ``input``."
empty_like.__doc__ = "An uninitialised tensor with the shape, dtype and device of ``input``."
randn_like.__doc__ = "N(0, 1) samples with the shape, dtype and device of ``input`` (floats)."
rand_like.__doc__ = "U[0, 1) samples with the shape, dtype and device of ``input`` (floats)."


def full_like(input: Tensor, fill_value: Any, *, dtype: Any = None, device: Any = None,
              requires_grad: bool = False) -> Tensor:
    """``fill_value`` everywhere, with the shape, dtype and device of ``input`` (the value is
    converted to the input's dtype, as PyTorch: ``full_like(int_tensor, 7.5)`` holds 7)."""
    tensor_arg(input, "full_like")
    value = _number(fill_value, "full_like", "fill_value")
    dt = dtype_arg(dtype, "full_like", input.data.dtype)
    return _made("full_like", lambda xp: _filled(xp, input.shape, value, dt), dt,
                 input.device if device is None else device, requires_grad)
