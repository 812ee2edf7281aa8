"""Argument checks shared by the ops: dims, sizes, tensors and options.

Each op family checks its arguments through these few functions, so that every public op
refuses bad input the same way, with minigan's own errors (``minigan/errors.py``) whose
messages start with the op's name, instead of letting NumPy or Python raise from inside a
kernel. ``op`` is the name users call (``"sum"``, ``"max_pool2d"``).
"""
from __future__ import annotations

import builtins
import operator
from typing import Any, Iterable

import numpy as np

from .. import backend
from ..autograd import Tensor
from ..errors import ArgumentError, DimError, DTypeError, ShapeError


def _index(value: Any, op: str, what: str) -> int:
    """``value`` as a Python int: ints and NumPy integers (not bools, floats or strings)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        try:  # a 0-d integer tensor or array, as PyTorch accepts
            if getattr(value, "shape", None) == () and np.dtype(value.dtype).kind in "iu":
                return int(value.item())
        except (AttributeError, TypeError):
            pass
        raise DTypeError(f"{op}: {what} must be an int, got {value!r} ({type(value).__name__})")
    return operator.index(value)


def normalize_axis(axis: Any, ndim: int, op: str) -> tuple[int, ...] | None:
    """None, an int or a sequence of ints -> a sorted tuple of non-negative axes (or None).

    A 0-d tensor accepts axis 0 and -1, as in PyTorch. Raises DimError for an axis out of
    range, DTypeError for one that is not an int, ArgumentError for a repeated axis."""
    if axis is None:
        return None
    if isinstance(axis, (list, tuple)):
        axes = tuple(_index(a, op, "dim") for a in axis)
    else:
        axes = (_index(axis, op, "dim"),)
    out = []
    bound = builtins.max(ndim, 1)
    for a in axes:
        if not -bound <= a < bound:
            raise DimError(f"{op}: dim {a} is out of range for a tensor with {ndim} dims "
                           f"(expected one in [{-bound}, {bound - 1}])")
        out.append(a % bound)
    if len(set(out)) != len(out):
        raise ArgumentError(f"{op}: dim {axis} repeats an axis")
    if ndim == 0:
        return ()  # NumPy has no axis 0 on a 0-d array; reducing over none is the same
    return tuple(sorted(out))


def single_dim(dim: Any, ndim: int, op: str) -> int:
    """One dim (an int, maybe negative) as a non-negative axis of a tensor with ``ndim`` dims
    (0 for a 0-d tensor)."""
    if dim is None or isinstance(dim, (list, tuple)):
        raise DTypeError(f"{op}: dim must be one int, got {dim!r}")
    axes = normalize_axis(dim, ndim, op)
    return axes[0] if axes else 0


def int_arg(value: Any, op: str, name: str, minimum: int | None = None) -> int:
    """An int argument ``name`` of ``op``, at least ``minimum`` when given."""
    n = _index(value, op, name)
    if minimum is not None and n < minimum:
        raise ArgumentError(f"{op}: {name} must be >= {minimum}, got {n}")
    return n


def int_tuple(value: Any, length: int, op: str, name: str, minimum: int | None = None) -> tuple:
    """An int or a sequence of ``length`` ints (``kernel_size=3`` or ``(3, 2)``) as a tuple."""
    items = tuple(value) if isinstance(value, (list, tuple)) else (value,) * length
    if len(items) != length:
        raise ArgumentError(f"{op}: {name} must be an int or {length} ints, got {value!r}")
    return tuple(int_arg(v, op, name, minimum) for v in items)


def size_arg(shape: Iterable[Any], op: str) -> tuple[int, ...]:
    """A shape of non-negative ints, given as ``(2, 3)``, ``[2, 3]`` or ``2, 3``."""
    shape = tuple(shape)
    if len(shape) == 1 and isinstance(shape[0], (list, tuple)):
        shape = tuple(shape[0])
    return tuple(int_arg(n, op, "size", 0) for n in shape)


def choice(value: Any, allowed: Iterable[Any], op: str, name: str) -> Any:
    """``value`` if it is one of ``allowed``, else an ArgumentError listing them."""
    allowed = tuple(allowed)
    if value not in allowed:
        raise ArgumentError(f"{op}: {name} must be one of {', '.join(map(repr, allowed))}, "
                            f"got {value!r}")
    return value


def tensor_arg(x: Any, op: str, name: str = "input"):
    """``x`` if it is a Tensor, else a DTypeError naming the argument."""
    if not isinstance(x, Tensor):
        raise DTypeError(f"{op}: {name} must be a Tensor, got {type(x).__name__}")
    return x


def operand(value: Any, op: str, name: str = "other"):
    """``value`` if it can be an operand of an elementwise op: a Tensor, a Python or NumPy
    number, or an array (NumPy's or CuPy's); anything else (a string, None, a list) is a
    DTypeError naming the op, as PyTorch's TypeError."""
    if isinstance(value, (Tensor, int, float, bool, np.generic, np.ndarray)) \
            or backend.is_cupy_array(value):
        return value
    raise DTypeError(f"{op}: {name} must be a Tensor or a number, got {type(value).__name__}")


def float_input(x: Any, op: str, name: str = "input"):
    """``x`` for an op that computes in floating point (exp, sqrt, sigmoid, ...): a floating
    Tensor as it is, an integer or bool one cast to the default float dtype, as PyTorch does
    (they cannot require grad, so nothing is lost)."""
    tensor_arg(x, op, name)
    kind = x.data.dtype.kind
    if kind == "f":
        return x
    if kind not in "iub":
        raise DTypeError(f"{op}: {name} must be a numeric tensor, got {x.data.dtype}")
    return Tensor._wrap(x.data.astype(backend.get_default_dtype()))


def _of_kind(x: Any, op: str, name: str, kinds: str, wanted: str):
    """``x`` if it is a Tensor whose dtype kind is one of ``kinds``, else a DTypeError."""
    tensor_arg(x, op, name)
    if x.data.dtype.kind not in kinds:
        raise DTypeError(f"{op}: {name} must be {wanted}, got {x.data.dtype}")
    return x


def numeric_tensor(x: Any, op: str, name: str = "input"):
    """``x`` if it is a Tensor of numbers (not bool: PyTorch implements few ops for bool)."""
    return _of_kind(x, op, name, "iuf", "a tensor of numbers (not bool)")


def float_tensor(x: Any, op: str, name: str = "input"):
    """``x`` if it is a floating Tensor (float32 or float64)."""
    return _of_kind(x, op, name, "f", "a floating tensor (float32 or float64)")


# ---------------------------------------------------------------------------- indices, masks, shapes


def index_tensor(x: Any, op: str, name: str = "index"):
    """``x`` if it is an integer Tensor (int32 or int64, as PyTorch's index arguments)."""
    return _of_kind(x, op, name, "iu", "an integer tensor (int64 or int32)")


def bool_tensor(x: Any, op: str, name: str = "mask"):
    """``x`` if it is a boolean Tensor (PyTorch's masks are bool, never 0/1 integers)."""
    return _of_kind(x, op, name, "b", "a bool tensor")


def same_device(op: str, x: Any, other: Any, name: str = "index") -> None:
    """A DeviceError unless the Tensors ``x`` and ``other`` (named ``name``) share a device."""
    from ..errors import DeviceError
    if x.device != other.device:
        raise DeviceError(f"{op}: input is on {x.device} but {name} is on {other.device}")


def broadcast_shapes(op: str, *shapes: tuple) -> tuple:
    """The shape that ``shapes`` broadcast to, or a ShapeError naming them."""
    from ..errors import ShapeError
    try:
        return tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        raise ShapeError(f"{op}: shapes {', '.join(map(str, shapes))} do not broadcast "
                         f"together") from None


def bounded_indices(index, size: int, op: str, what: str) -> None:
    """A DimError unless every value of the integer array ``index`` lies in [0, size)."""
    if index.size == 0:
        return
    low, high = int(index.min()), int(index.max())
    if low < 0 or high >= size:
        bad = low if low < 0 else high
        raise DimError(f"{op}: index {bad} is out of bounds for {what} with size {size}")


def flag(value: Any, op: str, name: str, allow_none: bool = False):
    """A bool option (True/False; 0 and 1 pass as in Python), or None where ``allow_none``."""
    if value is None and allow_none:
        return None
    if isinstance(value, (bool, np.bool_)) or (isinstance(value, (int, np.integer))
                                              and value in (0, 1)):
        return bool(value)
    raise DTypeError(f"{op}: {name} must be True or False, got {value!r} ({type(value).__name__})")


def as_dtype(x: Any, dtype: Any, op: str):
    """``x`` cast to ``dtype`` first, for the ops with PyTorch's ``dtype=`` option (sum,
    softmax, ...): differentiable between float dtypes; ``x`` itself for None."""
    tensor_arg(x, op)
    if dtype is None:
        return x
    dt = dtype_arg(dtype, op)
    if dt == x.data.dtype:
        return x
    if dt.kind == "f" and x.data.dtype.kind == "f":
        from .elementwise import cast
        return cast(x, dt)
    if x.requires_grad:
        raise DTypeError(f"{op}: dtype={dt} would cut the gradient of a {x.data.dtype} input")
    return Tensor._wrap(x.data.astype(dt))


def dtype_arg(dtype: Any, op: str, default: Any = None) -> np.dtype:
    """``dtype`` (a name such as ``"float32"`` / ``mg.float32``, a NumPy dtype or type) as a
    dtype minigan has: bool, an integer type, float32 or float64 (None: ``default``)."""
    if dtype is None:
        return np.dtype(default)
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise DTypeError(f"{op}: unknown dtype {dtype!r}") from None
    if dt.kind not in "biuf" or (dt.kind == "f" and dt not in (np.float32, np.float64)):
        raise DTypeError(f"{op}: dtype {dt} is not supported; use float32 or float64 (or bool, "
                         f"an integer type)")
    return dt
