"""Shape ops: reshape, transpose/permute, squeeze/unsqueeze, indexing (and index assignment),
concat/stack/split, pad, clone, and moving between devices. None of them does arithmetic, so
each backward is the inverse rearrangement of the gradient (indexing's backward scatters it
back, adding up repeated indices)."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .. import backend
from ..autograd import Function, Tensor, as_tensor, inplace
from ..errors import ArgumentError, DeviceError, DimError, DTypeError, ShapeError
from .args import int_arg, single_dim, tensor_arg
from .reduce import broadcast_to, normalize_axis, sum_to  # noqa: F401  (broadcast_to re-exported)


def _dims(dims: tuple) -> tuple:
    """``f(x, 2, 3)`` or ``f(x, (2, 3))`` / ``f(x, [2, 3])``: the sizes or dims as one tuple."""
    if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
        return tuple(dims[0])
    return dims


# ============================================================================ reshape


class Reshape(Function):
    def __init__(self, shape: tuple) -> None:
        self.shape = shape

    def forward(self, x):
        return x.reshape(self.shape)

    def backward(self, gy):
        return reshape(gy, self.inputs[0].shape)


def _resolve_shape(shape: Sequence[Any], size: int, op: str, source: tuple) -> tuple:
    shape = tuple(shape)
    for n in shape:
        if type(n) is not int:  # (the usual case, all ints, skips the checks)
            shape = tuple(int_arg(n, op, "size") for n in shape)
            break
    unknown = [i for i, n in enumerate(shape) if n == -1]
    known = int(np.prod([n for n in shape if n != -1], dtype=np.int64))
    if len(unknown) > 1 or any(n < -1 for n in shape):
        raise ShapeError(f"{op}: invalid shape {shape} (one -1 at most, no other negative size)")
    if unknown:
        if known == 0 or size % known:
            raise ShapeError(f"{op}: cannot reshape tensor of shape {source} into {shape} "
                             f"({size} elements)")
        shape = shape[:unknown[0]] + (size // known,) + shape[unknown[0] + 1:]
    elif known != size:
        raise ShapeError(f"{op}: cannot reshape tensor of shape {source} ({size} elements) "
                         f"into {shape}")
    return shape


def reshape(x: Tensor, *shape: Any) -> Tensor:
    """x with a new shape of the same size; one entry may be -1. ``view`` is an alias."""
    tensor_arg(x, "reshape")
    shape = _resolve_shape(_dims(shape), x.data.size, "reshape", x.shape)
    return x if shape == x.shape else Reshape(shape)(x)


def flatten(x: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge dims start_dim..end_dim into one."""
    if tensor_arg(x, "flatten").ndim == 0:
        single_dim(start_dim, 0, "flatten"), single_dim(end_dim, 0, "flatten")
        return reshape(x, (1,))
    start = single_dim(start_dim, x.ndim, "flatten")
    end = single_dim(end_dim, x.ndim, "flatten")
    if start > end:
        raise ArgumentError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim} "
                            f"for a tensor of shape {x.shape}")
    return reshape(x, x.shape[:start] + (-1,) + x.shape[end + 1:])


def unflatten(x: Tensor, dim: int, sizes: Sequence[int]) -> Tensor:
    """Split dim ``dim`` into ``sizes`` (one may be -1): the inverse of ``flatten``."""
    tensor_arg(x, "unflatten")
    d = single_dim(dim, x.ndim, "unflatten")
    if x.ndim == 0:
        raise DimError("unflatten: a 0-d tensor has no dim to unflatten")
    if not isinstance(sizes, (tuple, list)) or not sizes:
        raise ArgumentError(f"unflatten: sizes must be a non-empty tuple of ints, got {sizes!r}")
    inner = _resolve_shape(tuple(sizes), x.shape[d], "unflatten", (x.shape[d],))
    return reshape(x, x.shape[:d] + inner + x.shape[d + 1:])


def squeeze(x: Tensor, dim: Any = None) -> Tensor:
    """Drop size-1 dims (all of them, or the given ones; a dim that is not 1 is kept)."""
    tensor_arg(x, "squeeze")
    if x.ndim == 0:
        normalize_axis(dim, 0, "squeeze")  # only checks dim (0 or -1)
        return x
    if dim is None:
        dims = {i for i, n in enumerate(x.shape) if n == 1}
    else:
        dims = {d for d in (normalize_axis(dim, x.ndim, "squeeze") or ()) if x.shape[d] == 1}
    return reshape(x, tuple(n for i, n in enumerate(x.shape) if i not in dims))


def unsqueeze(x: Tensor, dim: int) -> Tensor:
    """Insert a size-1 dim at ``dim`` (negative counts from the end of the result)."""
    tensor_arg(x, "unsqueeze")
    d = int_arg(dim, "unsqueeze", "dim")
    if not -x.ndim - 1 <= d <= x.ndim:
        raise DimError(f"unsqueeze: dim {d} out of range for a tensor with {x.ndim} dims "
                       f"(expected one in [{-x.ndim - 1}, {x.ndim}])")
    d %= x.ndim + 1
    return reshape(x, x.shape[:d] + (1,) + x.shape[d:])


def expand(x: Tensor, *shape: Any) -> Tensor:
    """Broadcast to ``shape`` as PyTorch's expand: -1 keeps a dim as it is."""
    tensor_arg(x, "expand")
    shape = tuple(int_arg(n, "expand", "size", -1) for n in _dims(shape))
    lead = len(shape) - x.ndim
    if lead < 0:
        raise ShapeError(f"expand: shape {shape} has fewer dims than the tensor {x.shape}")
    if any(n == -1 for n in shape[:lead]):
        raise ShapeError(f"expand: -1 is not allowed in the new leading dims of {shape} "
                         f"(tensor of shape {x.shape})")
    shape = tuple(x.shape[i - lead] if n == -1 else n for i, n in enumerate(shape))
    return broadcast_to(x, shape)


def expand_as(x: Tensor, other: Tensor) -> Tensor:
    """``x.expand(other.shape)``."""
    return expand(x, tensor_arg(other, "expand_as", "other").shape)


# ============================================================================ transpose / permute


class Permute(Function):
    def __init__(self, axes: tuple) -> None:
        self.axes = axes

    def forward(self, x):
        return x.transpose(self.axes)

    def backward(self, gy):
        return permute(gy, tuple(np.argsort(self.axes)))


def permute(x: Tensor, *dims: Any) -> Tensor:
    """Reorder the dims: output dim i is input dim ``dims[i]`` (``x.permute(())`` for a 0-d
    tensor; no dims at all is refused, as in PyTorch)."""
    tensor_arg(x, "permute")
    if not dims:
        raise DTypeError(f"permute: missing the dims (a permutation of the {x.ndim} dims of "
                         f"{x.shape}; () for a 0-d tensor)")
    dims = _dims(dims)
    axes = tuple(single_dim(d, x.ndim, "permute") for d in dims)
    if sorted(axes) != list(range(x.ndim)) or (x.ndim == 0 and dims):
        raise ArgumentError(f"permute: {dims} is not a permutation of the {x.ndim} dims of "
                            f"{x.shape}")
    return x if axes == tuple(range(x.ndim)) else Permute(axes)(x)


def transpose(x: Tensor, dim0: int | None = None, dim1: int | None = None) -> Tensor:
    """Swap two dims (PyTorch); with no dims, reverse them all (NumPy's ``.T``)."""
    tensor_arg(x, "transpose")
    if dim0 is None and dim1 is None:
        return permute(x, tuple(reversed(range(x.ndim))))
    if dim0 is None or dim1 is None:
        raise ArgumentError("transpose: give both dims or neither")
    d0, d1 = single_dim(dim0, x.ndim, "transpose"), single_dim(dim1, x.ndim, "transpose")
    if x.ndim == 0:
        return x
    axes = list(range(x.ndim))
    axes[d0], axes[d1] = axes[d1], axes[d0]
    return permute(x, tuple(axes))


def t(x: Tensor) -> Tensor:
    """The transpose of a matrix; a 0-d or 1-D tensor is returned as it is (PyTorch's rule)."""
    tensor_arg(x, "t")
    if x.ndim > 2:
        raise DimError(f"t: expects a tensor with <= 2 dims, got one of shape {x.shape}; use "
                       f"transpose(dim0, dim1) or .mT")
    return transpose(x, 0, 1) if x.ndim == 2 else x


def matrix_transpose(x: Tensor) -> Tensor:
    """``x.mT``: the last two dims swapped (a batch of matrices transposed)."""
    if x.ndim < 2:
        raise DimError(f"mT: only supported on matrices or batches of matrices, got a tensor "
                       f"of shape {x.shape}")
    return transpose(x, -2, -1)


def reverse_dims(x: Tensor) -> Tensor:
    """``x.T``: all dims reversed."""
    return permute(x, tuple(reversed(range(x.ndim))))


# ============================================================================ clone / contiguous


class Clone(Function):
    def forward(self, x):
        return x.copy()

    def backward(self, gy):
        return gy


def clone(x: Tensor) -> Tensor:
    """A copy with its own memory; differentiable (the gradient passes through unchanged)."""
    return Clone()(tensor_arg(x, "clone"))


def contiguous(x: Tensor) -> Tensor:
    """x itself when its memory is C-contiguous, else a contiguous copy (differentiable)."""
    flags = x.data.flags
    return x if flags.c_contiguous else clone(x)


# ============================================================================ indexing
#
# PyTorch's indexing, on NumPy's: ints, slices, None, Ellipsis, integer and boolean arrays.
# The one difference is an int next to an index array: PyTorch applies ints first, as basic
# indexing (each removes its dim), then indexes the result with the arrays, while NumPy treats
# an int as one more index array, and when a slice separates it from another array NumPy
# moves the indexed dims first: x[0, :, [1, 2]] of a (3, 4, 5) tensor is (4, 2) in PyTorch
# and (2, 4) in NumPy. So such an index runs as two NumPy indices, the ints first (a view),
# then the rest; both steps are used the same way by getitem, its backward and setitem.


def _index_item(item: Any, device: str) -> Any:
    """One entry of an index as NumPy takes it: arrays on the tensor's device; a 0-d integer
    array or tensor is an int, as in PyTorch."""
    if isinstance(item, Tensor):
        item = item.data
    elif isinstance(item, list):
        try:
            item = np.asarray(item)
        except ValueError as exc:
            raise DimError(f"getitem: cannot use the ragged list {item!r} as an index") from None
    if isinstance(item, np.ndarray) or backend.is_cupy_array(item):
        if item.ndim == 0 and item.dtype.kind in "iu":
            return int(item)
        if item.dtype.kind not in "iub":
            raise DimError(f"getitem: tensors used as indices must be integer or bool, got "
                           f"{item.dtype}")
        return backend.to_device(item, device)
    if isinstance(item, (bool, np.bool_, slice)) or item is None or item is Ellipsis:
        return item
    if isinstance(item, (int, np.integer)):
        return int(item)
    raise DimError(f"getitem: only integers, slices, None, Ellipsis and integer or bool tensors "
                   f"are valid indices, got {type(item).__name__}")


def _is_int(item: Any) -> bool:
    return type(item) is int


def _is_array(item: Any) -> bool:
    return getattr(item, "ndim", 0) > 0


def index_steps(index: Any, device: str) -> tuple:
    """``index`` as a tuple of NumPy indices to apply one after the other (see above)."""
    items = index if isinstance(index, tuple) else (index,)
    if all(type(i) is int or type(i) is slice for i in items):
        return (items,)  # basic indexing: the common, fast case
    items = tuple(_index_item(i, device) for i in items)
    if not (any(_is_int(i) for i in items) and any(_is_array(i) for i in items)):
        return (items,)
    ints_first, rest = [], []
    for i in items:
        if _is_int(i):
            ints_first.append(i)
        elif i is Ellipsis:
            ints_first.append(i)
            rest.append(i)
        elif i is None or isinstance(i, (bool, np.bool_)):
            rest.append(i)       # adds a dim: nothing to do in the first step
        else:
            ints_first.extend([slice(None)] * (i.ndim if _is_array(i) and i.dtype == bool else 1))
            rest.append(i)
    return tuple(ints_first), tuple(rest)


def _apply_steps(array: Any, steps: tuple) -> Any:
    for step in steps:
        array = array[step]
    return array


def _index_error(op: str, exc: Exception, shape: tuple) -> Exception:
    message = str(exc)
    if isinstance(exc, IndexError):
        return DimError(f"{op}: {message} (tensor of shape {shape})")
    return ShapeError(f"{op}: {message} (tensor of shape {shape})")


def _may_repeat(index: Any) -> bool:
    """True when the index holds integer arrays (which may name one place twice); ints,
    slices, None, Ellipsis and boolean masks never do, so plain assignment scatters them."""
    items = index if isinstance(index, tuple) else (index,)
    return any(getattr(i, "dtype", None) is not None and i.dtype.kind in "iu" and i.ndim > 0
               for i in items)


class GetItem(Function):
    def __init__(self, steps: tuple) -> None:
        self.steps = steps

    def forward(self, x):
        return _apply_steps(x, self.steps)

    def backward(self, gy):
        x, = self.inputs
        return IndexAdd(self.steps, x.shape)(gy)


class IndexAdd(Function):
    """Scatter a gradient into zeros of ``shape`` at ``index``, adding repeated indices."""

    def __init__(self, steps: tuple, shape: tuple) -> None:
        self.steps, self.shape = steps, shape

    def forward(self, gy):
        xp = backend.get_array_module(gy)
        gx = xp.zeros(self.shape, dtype=gy.dtype)
        target = _apply_steps(gx, self.steps[:-1])  # the ints first: a view into gx
        last = self.steps[-1]
        if not _may_repeat(last):
            target[last] = gy
        else:
            backend.scatter_add(target, last, gy)
        return gx

    def backward(self, ggx):
        return GetItem(self.steps)(ggx)


def getitem(x: Tensor, index: Any) -> Tensor:
    """x[index] with PyTorch's basic and advanced indexing (integer or boolean arrays)."""
    return GetItem(index_steps(index, x.device))(x)  # NumPy's IndexError -> DimError, named


class IndexPut(Function):
    """``x`` with ``x[index] = v`` (out of place; v broadcasts): what ``x[index] = v`` records
    when x or v requires grad. d/dx: the gradient with zeros where v was written; d/dv: the
    gradient at those places, summed over what v was broadcast to."""

    def __init__(self, steps: tuple) -> None:
        self.steps = steps

    def forward(self, x, v):
        out = x.copy()
        _apply_steps(out, self.steps[:-1])[self.steps[-1]] = v
        return out

    def backward(self, gy):
        x, v = self.inputs
        gx = gv = None
        if self.needs_input_grad[0]:
            zero = Tensor._wrap(backend.get_array_module(gy.data).zeros((), dtype=gy.dtype))
            gx = IndexPut(self.steps)(gy, zero)
        if self.needs_input_grad[1]:
            g = GetItem(self.steps)(gy)
            if g.ndim < v.ndim:  # v had leading 1s that NumPy drops when it assigns
                g = reshape(g, (1,) * (v.ndim - g.ndim) + g.shape)
            gv = sum_to(g, v.shape)
        return gx, gv


def setitem(x: Tensor, index: Any, value: Any) -> None:
    """``x[index] = value`` in place (PyTorch's rules): value (a Tensor, array or number)
    broadcasts to ``x[index]`` and is cast to x's dtype. Recorded when x or value requires
    grad (see ``autograd.inplace``)."""
    _assign(x, index, value, "setitem")


def fill_(x: Tensor, value: Any) -> Tensor:
    """Fill x with ``value`` in place (a number, or a 0-d tensor: then differentiable)."""
    if isinstance(value, Tensor) and value.ndim != 0:
        raise ShapeError(f"fill_: only supports a 0-d value tensor, got one of shape "
                         f"{value.shape}")
    return _assign(x, Ellipsis, value, "fill_")


def zero_(x: Tensor) -> Tensor:
    """Fill x with zeros in place."""
    return _assign(x, Ellipsis, 0, "zero_")


def copy_(x: Tensor, src: Any) -> Tensor:
    """Copy ``src`` (broadcast to x's shape, cast to its dtype, moved to its device) into x in
    place; differentiable w.r.t. src."""
    src = tensor_arg(src, "copy_", "src")
    if src.device != x.device:
        src = to_device(src, x.device)
    return _assign(x, Ellipsis, src, "copy_")


def _assign(x: Tensor, index: Any, value: Any, op: str) -> Tensor:
    steps = index_steps(index, x.device)
    if isinstance(value, Tensor):
        if value.device != x.device:
            raise DeviceError(f"{op}: the value is on {value.device} but the tensor on "
                              f"{x.device}")
        v = value
    else:
        try:
            v = as_tensor(value, x)
        except (TypeError, ValueError) as exc:
            raise DTypeError(f"{op}: cannot assign a {type(value).__name__} to a tensor "
                             f"({exc})") from None
        if v.data.dtype == object or v.data.dtype.kind in "USc":
            raise DTypeError(f"{op}: cannot assign a {type(value).__name__} to a tensor")
        if v.device != x.device:
            v = Tensor._wrap(backend.to_device(v.data, x.device))
    if v.dtype != x.dtype and x.dtype.kind == "f" and v.dtype.kind == "f":
        v = v.to(dtype=x.dtype)  # differentiable: a float64 value into a float32 tensor

    def write(array):
        try:
            _apply_steps(array, steps[:-1])[steps[-1]] = v.data
        except (IndexError, ValueError, TypeError) as exc:
            raise _index_error(op, exc, x.shape) from None

    def compute(old: Tensor) -> Tensor:
        value = v if v.dtype == old.dtype else Tensor._wrap(v.data.astype(old.dtype))
        try:
            return IndexPut(steps)(old, value)
        except (DimError, ShapeError) as exc:
            raise type(exc)(str(exc).replace("indexput:", f"{op}:", 1)) from None

    return inplace(x, op, compute, (v,) if x.dtype.kind == "f" else (), write)


# ============================================================================ concat / stack / split


class Concat(Function):
    def __init__(self, axis: int) -> None:
        self.axis = axis

    def forward(self, *xs):
        return backend.get_array_module(xs[0]).concatenate(xs, axis=self.axis)

    def backward(self, gy):
        sizes = [x.shape[self.axis] for x in self.inputs]
        return tuple(split(gy, sizes, self.axis))


def _tensor_list(tensors: Any, op: str) -> list:
    if isinstance(tensors, Tensor) or not isinstance(tensors, (list, tuple)):
        raise DTypeError(f"{op}: expects a list or tuple of Tensors, got {type(tensors).__name__}")
    if not tensors:
        raise ArgumentError(f"{op}: needs at least one tensor")
    for i, t in enumerate(tensors):
        tensor_arg(t, op, f"tensors[{i}]")
    return list(tensors)


def _check_same_shapes(tensors: Sequence[Tensor], axis: int | None, op: str) -> None:
    ref = tensors[0].shape
    for t in tensors[1:]:
        if len(t.shape) != len(ref) or any(
                a != b for i, (a, b) in enumerate(zip(t.shape, ref)) if i != axis):
            shapes = ", ".join(str(t.shape) for t in tensors)
            where = f"except in dim {axis}" if axis is not None else ""
            raise ShapeError(f"{op}: tensors must have the same shape {where}, got {shapes}")


def concat(tensors: Sequence[Tensor], axis: int = 0, *, dim: int | None = None) -> Tensor:
    """Join tensors along an existing dim (``cat`` is an alias)."""
    tensors = _tensor_list(tensors, "concat")
    axis = dim if dim is not None else axis
    if tensors[0].ndim == 0:
        raise ShapeError("concat: zero-dimensional tensors cannot be concatenated (use stack)")
    axis = single_dim(axis, tensors[0].ndim, "concat")
    _check_same_shapes(tensors, axis, "concat")
    return Concat(axis)(*tensors)


def stack(tensors: Sequence[Tensor], axis: int = 0, *, dim: int | None = None) -> Tensor:
    """Join same-shaped tensors along a new dim."""
    tensors = _tensor_list(tensors, "stack")
    _check_same_shapes(tensors, None, "stack")
    axis = single_dim(dim if dim is not None else axis, tensors[0].ndim + 1, "stack")
    return concat([unsqueeze(t, axis) for t in tensors], axis)


class Split(Function):
    def __init__(self, bounds: list[int], axis: int) -> None:
        self.bounds, self.axis = bounds, axis

    def forward(self, x):
        xp = backend.get_array_module(x)
        return tuple(xp.split(x, self.bounds, axis=self.axis))

    def backward(self, *gys):
        return concat(list(gys), self.axis)


def split(x: Tensor, split_size_or_sections: int | Sequence[int], axis: int = 0, *,
          dim: int | None = None) -> tuple[Tensor, ...]:
    """Split along ``axis`` into chunks of a given size (PyTorch) or a list of sizes."""
    tensor_arg(x, "split")
    if x.ndim == 0:
        raise DimError("split: a zero-dimensional tensor cannot be split")
    axis = single_dim(dim if dim is not None else axis, x.ndim, "split")
    n = x.shape[axis]
    if not isinstance(split_size_or_sections, (list, tuple)):
        step = int_arg(split_size_or_sections, "split", "split_size", 1)
        sizes = [min(step, n - i) for i in range(0, n, step)] or [0]
    else:
        sizes = [int_arg(s, "split", "split_size_or_sections", 0) for s in split_size_or_sections]
        if sum(sizes) != n:
            raise ShapeError(f"split: sizes {sizes} do not add up to {n} (dim {axis} of {x.shape})")
    bounds = [int(b) for b in np.cumsum(sizes)[:-1]]
    return Split(bounds, axis)(x) if len(sizes) > 1 else (x,)


# ============================================================================ pad


class Pad(Function):
    def __init__(self, widths: tuple, value: float) -> None:
        self.widths, self.value = widths, value

    def forward(self, x):
        xp = backend.get_array_module(x)
        return xp.pad(x, self.widths, mode="constant", constant_values=self.value)

    def backward(self, gy):
        index = tuple(slice(before, n + before) for (before, _), n
                      in zip(self.widths, self.inputs[0].shape))
        return getitem(gy, index)


def pad(x: Tensor, pad: Sequence[int], mode: str = "constant", value: float | None = None) -> Tensor:
    """``torch.nn.functional.pad``: constant, reflect, replicate or circular padding; the
    modes and negative (cropping) amounts live in ops/padding.py."""
    from .padding import pad as pad_any  # padding.py builds on Pad above
    return pad_any(x, pad, mode, value)


# ============================================================================ devices


class ToDevice(Function):
    def __init__(self, device: str) -> None:
        self.device = device

    def forward(self, x):
        self.source = backend.device_of(x)
        return backend.to_device(x, self.device)

    def backward(self, gy):
        return to_device(gy, self.source)


def to_device(x: Tensor, device: str) -> Tensor:
    """x copied to ``device``; gradients flow back to the original device."""
    device = backend.normalize_device(device)
    return x if x.device == device else ToDevice(device)(x)
