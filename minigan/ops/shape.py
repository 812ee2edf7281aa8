"""Shape ops: reshape, transpose/permute, squeeze/unsqueeze, indexing, concat/stack/split,
pad, and moving between devices. None of them does arithmetic, so each backward is the
inverse rearrangement of the gradient (indexing's backward scatters it back, adding up
repeated indices)."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .. import backend
from ..autograd import Function, Tensor
from .reduce import broadcast_to, normalize_axis  # noqa: F401  (broadcast_to re-exported)


# ============================================================================ reshape


class Reshape(Function):
    def __init__(self, shape: tuple) -> None:
        self.shape = shape

    def forward(self, x):
        return x.reshape(self.shape)

    def backward(self, gy):
        return reshape(gy, self.inputs[0].shape)


def _resolve_shape(shape: Sequence[int], size: int, op: str, source: tuple) -> tuple:
    shape = tuple(int(n) for n in shape)
    unknown = [i for i, n in enumerate(shape) if n == -1]
    known = int(np.prod([n for n in shape if n != -1], dtype=np.int64))
    if len(unknown) > 1 or any(n < -1 for n in shape):
        raise ValueError(f"{op}: invalid shape {shape}")
    if unknown:
        if known == 0 or size % known:
            raise ValueError(f"{op}: cannot reshape tensor of shape {source} into {shape}")
        shape = shape[:unknown[0]] + (size // known,) + shape[unknown[0] + 1:]
    elif known != size:
        raise ValueError(f"{op}: cannot reshape tensor of shape {source} ({size} elements) "
                         f"into {shape}")
    return shape


def reshape(x: Tensor, *shape: Any) -> Tensor:
    """x with a new shape of the same size; one entry may be -1. ``view`` is an alias."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    shape = _resolve_shape(shape, x.size, "reshape", x.shape)
    return x if shape == x.shape else Reshape(shape)(x)


def flatten(x: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge dims start_dim..end_dim into one."""
    if x.ndim == 0:
        return reshape(x, (1,))
    start, = normalize_axis(start_dim, x.ndim, "flatten")
    end, = normalize_axis(end_dim, x.ndim, "flatten")
    if start > end:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim} "
                         f"for a tensor of shape {x.shape}")
    return reshape(x, x.shape[:start] + (-1,) + x.shape[end + 1:])


def squeeze(x: Tensor, dim: Any = None) -> Tensor:
    """Drop size-1 dims (all of them, or the given ones; a dim that is not 1 is kept)."""
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
    if not -x.ndim - 1 <= dim <= x.ndim:
        raise IndexError(f"unsqueeze: dim {dim} out of range for a tensor with {x.ndim} dims")
    dim = dim % (x.ndim + 1)
    return reshape(x, x.shape[:dim] + (1,) + x.shape[dim:])


def expand(x: Tensor, *shape: Any) -> Tensor:
    """Broadcast to ``shape`` as PyTorch's expand: -1 keeps a dim as it is."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    lead = len(shape) - x.ndim
    if lead < 0:
        raise ValueError(f"expand: shape {shape} has fewer dims than the tensor {x.shape}")
    if any(n == -1 for n in shape[:lead]):
        raise ValueError(f"expand: -1 is not allowed in the new leading dims of {shape} "
                         f"(tensor of shape {x.shape})")
    shape = tuple(x.shape[i - lead] if n == -1 else n for i, n in enumerate(shape))
    return broadcast_to(x, shape)


# ============================================================================ transpose / permute


class Permute(Function):
    def __init__(self, axes: tuple) -> None:
        self.axes = axes

    def forward(self, x):
        return x.transpose(self.axes)

    def backward(self, gy):
        return permute(gy, tuple(np.argsort(self.axes)))


def permute(x: Tensor, *dims: Any) -> Tensor:
    """Reorder the dims: output dim i is input dim ``dims[i]``."""
    if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
        dims = tuple(dims[0])
    if any(not -x.ndim <= d < max(x.ndim, 1) for d in dims) or \
            sorted(d % max(x.ndim, 1) for d in dims) != list(range(x.ndim)):
        raise ValueError(f"permute: {dims} is not a permutation of the {x.ndim} dims of {x.shape}")
    axes = tuple(int(d) % max(x.ndim, 1) for d in dims)
    return x if axes == tuple(range(x.ndim)) else Permute(axes)(x)


def transpose(x: Tensor, dim0: int | None = None, dim1: int | None = None) -> Tensor:
    """Swap two dims (PyTorch); with no dims, reverse them all (NumPy's ``.T``)."""
    if dim0 is None and dim1 is None:
        return permute(x, tuple(reversed(range(x.ndim))))
    if dim0 is None or dim1 is None:
        raise TypeError("transpose: give both dims or neither")
    if x.ndim == 0:
        normalize_axis(dim0, 0, "transpose"), normalize_axis(dim1, 0, "transpose")
        return x
    axes = list(range(x.ndim))
    d0, d1 = normalize_axis(dim0, x.ndim, "transpose")[0], normalize_axis(dim1, x.ndim, "transpose")[0]
    axes[d0], axes[d1] = axes[d1], axes[d0]
    return permute(x, tuple(axes))


# ============================================================================ indexing


def _index_arrays(index: Any, device: str) -> Any:
    """Tensors, arrays and lists inside an index -> arrays on the indexed tensor's device."""
    if isinstance(index, tuple):
        return tuple(_index_arrays(i, device) for i in index)
    if isinstance(index, Tensor):
        index = index.data
    elif isinstance(index, list):
        index = np.asarray(index)
    if isinstance(index, np.ndarray) or backend.is_cupy_array(index):
        return backend.to_device(index, device)
    return index


def _may_repeat(index: Any) -> bool:
    """True when the index holds integer arrays (which may name one place twice); ints,
    slices, None, Ellipsis and boolean masks never do, so plain assignment scatters them."""
    items = index if isinstance(index, tuple) else (index,)
    return any(getattr(i, "dtype", None) is not None and i.dtype.kind in "iu" and i.ndim > 0
               for i in items)


class GetItem(Function):
    def __init__(self, index: Any) -> None:
        self.index = index

    def forward(self, x):
        return x[self.index]

    def backward(self, gy):
        x, = self.inputs
        return IndexAdd(self.index, x.shape)(gy)


class IndexAdd(Function):
    """Scatter a gradient into zeros of ``shape`` at ``index``, adding repeated indices."""

    def __init__(self, index: Any, shape: tuple) -> None:
        self.index, self.shape = index, shape

    def forward(self, gy):
        xp = backend.get_array_module(gy)
        gx = xp.zeros(self.shape, dtype=gy.dtype)
        if not _may_repeat(self.index):
            gx[self.index] = gy
        else:
            backend.scatter_add(gx, self.index, gy)
        return gx

    def backward(self, ggx):
        return GetItem(self.index)(ggx)


def getitem(x: Tensor, index: Any) -> Tensor:
    """x[index] with NumPy's basic and advanced indexing (integer or boolean arrays)."""
    index = _index_arrays(index, x.device)
    return GetItem(index)(x)  # a bad index raises IndexError naming getitem and x's shape


# ============================================================================ concat / stack / split


class Concat(Function):
    def __init__(self, axis: int) -> None:
        self.axis = axis

    def forward(self, *xs):
        return backend.get_array_module(xs[0]).concatenate(xs, axis=self.axis)

    def backward(self, gy):
        sizes = [x.shape[self.axis] for x in self.inputs]
        return tuple(split(gy, sizes, self.axis))


def _check_same_shapes(tensors: Sequence[Tensor], axis: int | None, op: str) -> None:
    ref = tensors[0].shape
    for t in tensors[1:]:
        if len(t.shape) != len(ref) or any(
                a != b for i, (a, b) in enumerate(zip(t.shape, ref)) if i != axis):
            shapes = ", ".join(str(t.shape) for t in tensors)
            where = f"except in dim {axis}" if axis is not None else ""
            raise ValueError(f"{op}: tensors must have the same shape {where}, got {shapes}")


def concat(tensors: Sequence[Tensor], axis: int = 0, *, dim: int | None = None) -> Tensor:
    """Join tensors along an existing dim (``cat`` is an alias)."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("concat: needs at least one tensor")
    axis = dim if dim is not None else axis
    if tensors[0].ndim == 0:
        raise ValueError("concat: zero-dimensional tensors cannot be concatenated (use stack)")
    axis = normalize_axis(axis, tensors[0].ndim, "concat")[0]
    _check_same_shapes(tensors, axis, "concat")
    return Concat(axis)(*tensors)


def stack(tensors: Sequence[Tensor], axis: int = 0, *, dim: int | None = None) -> Tensor:
    """Join same-shaped tensors along a new dim."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("stack: needs at least one tensor")
    _check_same_shapes(tensors, None, "stack")
    axis = dim if dim is not None else axis
    return concat([unsqueeze(t, axis) for t in tensors], axis % (tensors[0].ndim + 1))


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
    if x.ndim == 0:
        raise ValueError("split: a zero-dimensional tensor cannot be split")
    axis = normalize_axis(dim if dim is not None else axis, x.ndim, "split")[0]
    n = x.shape[axis]
    if isinstance(split_size_or_sections, (int, np.integer)):
        step = int(split_size_or_sections)
        if step <= 0:
            raise ValueError(f"split: split size must be positive, got {step}")
        sizes = [min(step, n - i) for i in range(0, n, step)] or [0]
    else:
        sizes = [int(s) for s in split_size_or_sections]
        if sum(sizes) != n or any(s < 0 for s in sizes):
            raise ValueError(f"split: sizes {sizes} do not add up to {n} (dim {axis} of {x.shape})")
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
