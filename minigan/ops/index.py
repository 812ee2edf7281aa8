"""Indexing and masking: gather, scatter, scatter_add, index_select, take_along_dim,
masked_select, masked_fill, one_hot, tril, triu, nonzero.

Two Functions do the differentiable work, and each is the other's adjoint (so gradients of
every order come for free), on *flat positions*: the index of an element in the input
laid out in C order (for a (2, 3) tensor, element [i, j] sits at position 3 i + j):

    TakeFlat(p)   y = x.flat[p]                        (y has p's shape)
    PutFlat(p)    y = zeros(shape);  y.flat[p] += v    (repeated positions add up)

    <TakeFlat(x), g> = sum_k x[p_k] g_k = <x, PutFlat(g)>

``gather(x, dim, index)`` is TakeFlat at the positions that ``index`` names along ``dim``
(``_dim_positions``); its gradient is PutFlat, i.e. ``scatter_add`` into zeros. ``scatter``,
``index_select``, ``take_along_dim``, ``masked_select`` and max pooling (ops/pool.py) are
the same pair at other positions. ``masked_fill``, ``tril`` and ``triu`` are ``where``.

Index tensors are PyTorch's: int64 (or int32) Tensors on the input's device, never
negative for gather / scatter (as in PyTorch), masks are bool Tensors.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .. import backend
from ..autograd import Function, Tensor
from ..errors import ArgumentError, DimError, DTypeError, ShapeError
from .args import (bool_tensor, bounded_indices, broadcast_shapes, choice, flag, index_tensor,
                   int_arg, same_device, single_dim, tensor_arg)


# ============================================================================ TakeFlat / PutFlat


class TakeFlat(Function):
    """y = x.flat[positions] (x read in C order); the gradient is PutFlat."""

    def __init__(self, positions) -> None:
        self.positions = positions

    @property
    def name(self) -> str:
        return "take"

    def forward(self, x):
        return backend.get_array_module(x).take(x, self.positions)

    def backward(self, gy):
        return PutFlat(self.positions, self.inputs[0].shape)(gy)


class PutFlat(Function):
    """y = zeros(shape), then y.flat[positions] += v (``accumulate``: repeated positions add
    up, through ``backend.scatter_add``) or y.flat[positions] = v (the last write wins).
    The gradient is TakeFlat (for ``accumulate=False`` with repeated positions that is
    PyTorch's rule for scatter too: every source gets the gradient of where it was written)."""

    def __init__(self, positions, shape: tuple, accumulate: bool = True) -> None:
        self.positions, self.shape, self.accumulate = positions, tuple(shape), accumulate

    @property
    def name(self) -> str:
        return "put"

    def forward(self, v):
        xp = backend.get_array_module(v)
        out = xp.zeros(int(np.prod(self.shape, dtype=np.int64)), dtype=v.dtype)
        if self.accumulate:
            backend.scatter_add(out, self.positions.reshape(-1), v.reshape(-1))
        else:
            out[self.positions.reshape(-1)] = v.reshape(-1)
        return out.reshape(self.shape)

    def backward(self, gy):
        return TakeFlat(self.positions)(gy)


def _c_strides(shape: tuple) -> list[int]:
    """Element strides of a C-ordered array of ``shape``."""
    strides, step = [], 1
    for n in reversed(shape):
        strides.append(step)
        step *= n
    return strides[::-1]


def _dim_positions(index, dim: int, shape: tuple):
    """Flat positions, in an array of ``shape``, of the elements ``index`` names along
    ``dim``: element i of the result is the position of [i_0, ..., index[i], ..., i_last]
    (index's own coordinates on every other dim, as gather and scatter read them)."""
    xp = backend.get_array_module(index)
    strides = _c_strides(shape)
    positions = index.astype(np.int64) * strides[dim]
    for d, n in enumerate(index.shape):
        if d != dim and n > 1:
            along = [1] * index.ndim
            along[d] = n
            positions = positions + (xp.arange(n, dtype=np.int64) * strides[d]).reshape(along)
    return positions


# ============================================================================ argument checks


def _index_array(x: Tensor, index: Any, op: str, name: str = "index"):
    """The integer array of the Tensor ``index``, on ``x``'s device."""
    index_tensor(index, op, name)
    same_device(op, x, index, name)
    return index.data


def _check_index_shape(op: str, dim: int, index_shape: tuple, input_shape: tuple,
                       src_shape: tuple | None = None) -> None:
    """PyTorch's rule for gather / scatter: index has the input's rank, is no larger than the
    input on every dim but ``dim``, and no larger than src on every dim."""
    if len(index_shape) != len(input_shape) or (src_shape is not None
                                                and len(src_shape) != len(index_shape)):
        with_src = "" if src_shape is None else f" and src {src_shape}"
        raise ShapeError(f"{op}: index {index_shape} must have as many dims as the input "
                         f"{input_shape}{with_src}")
    too_big = any(i > n for d, (i, n) in enumerate(zip(index_shape, input_shape)) if d != dim)
    if too_big or (src_shape is not None and any(i > s for i, s in zip(index_shape, src_shape))):
        with_src = "" if src_shape is None else f", nor than src {src_shape}"
        raise ShapeError(f"{op}: index {index_shape} must be no larger than the input "
                         f"{input_shape} on every dim but dim {dim}{with_src}")


def _gather_positions(op: str, x: Tensor, dim: Any, index: Any,
                      src_shape: tuple | None = None):
    """dim as an axis, and the flat positions in ``x`` that gather / scatter address."""
    tensor_arg(x, op)
    idx = _index_array(x, index, op)
    dim = single_dim(dim, x.ndim, op)
    _check_index_shape(op, dim, idx.shape, x.shape, src_shape)
    shape = x.shape or (1,)               # a 0-d tensor is addressed as one element
    bounded_indices(idx, shape[dim], op, f"dim {dim}")
    return dim, _dim_positions(idx.reshape(idx.shape or (1,)), dim, shape).reshape(idx.shape)


# ============================================================================ gather / scatter


def gather(input: Tensor, dim: int, index: Tensor, *, sparse_grad: bool = False) -> Tensor:
    """out[i][j][k] = input[index[i][j][k]][j][k] for dim 0 (and so on), as ``torch.gather``;
    out has index's shape. The gradient scatter-adds back into input's shape (the gradient is
    always dense: ``sparse_grad`` is accepted for PyTorch's signature)."""
    flag(sparse_grad, "gather", "sparse_grad")
    return _gather("gather", input, dim, index)


def _gather(op: str, input: Tensor, dim: Any, index: Any) -> Tensor:
    _, positions = _gather_positions(op, input, dim, index)
    return TakeFlat(positions)(input)


def _src_part(src: Tensor, shape: tuple) -> Tensor:
    """The leading ``shape`` block of src (the part scatter reads)."""
    if src.shape == shape:
        return src
    from .shape import getitem
    return getitem(src, tuple(slice(0, n) for n in shape))


def _scatter_source(op: str, input: Tensor, src: Any, index_shape: tuple) -> Tensor:
    """src as a Tensor of input's dtype and index's shape (a number fills it)."""
    if isinstance(src, Tensor):
        if src.data.dtype != input.data.dtype:
            raise DTypeError(f"{op}: src is {src.data.dtype} but the input is {input.data.dtype} "
                             f"(they must match, as in PyTorch)")
        same_device(op, input, src, "src")
        return _src_part(src, index_shape)
    if isinstance(src, (bool, int, float, np.number)):
        xp = backend.get_array_module(input.data)
        return Tensor._wrap(xp.full(index_shape, src, dtype=input.data.dtype))
    raise DTypeError(f"{op}: src must be a Tensor or a number, got {type(src).__name__}")


def scatter(input: Tensor, dim: int, index: Tensor, src: Any = None, *, value: Any = None,
            reduce: str | None = None) -> Tensor:
    """A copy of input with ``src`` written at the places index names along dim:
    out[index[i][j]][j] = src[i][j] for dim 0, as ``torch.scatter``. ``src`` is a Tensor
    (its leading index-shaped block is used) or a number (also as ``value=``).
    ``reduce='add'`` or ``'multiply'`` combine with what is there instead of overwriting.

    Where index names one place twice, which source lands there is unspecified (as in
    PyTorch); every source still gets the gradient of the place it was written to.
    Gradients: input gets the upstream gradient where nothing was written (everywhere
    with reduce='add'); src gets it gathered from its places. reduce='multiply' has no
    gradient (none in PyTorch either)."""
    if (src is None) == (value is None):
        raise ArgumentError("scatter: give exactly one of src and value")
    return _scatter("scatter", input, dim, index, value if src is None else src, reduce)


def _scatter(op: str, input: Tensor, dim: Any, index: Any, src: Any, reduce: str | None) -> Tensor:
    if reduce is not None:
        choice(reduce, ("add", "multiply"), op, "reduce")
    tensor_arg(input, op)
    src_shape = src.shape if isinstance(src, Tensor) else None
    _, positions = _gather_positions(op, input, dim, index, src_shape)
    shape = input.shape
    values = _scatter_source(op, input, src, positions.shape)
    if reduce == "add":
        return input + PutFlat(positions, shape)(values)
    if reduce == "multiply":
        return _scatter_multiply(input, positions, values)
    xp = backend.get_array_module(input.data)
    written = xp.zeros(input.data.size, dtype=bool)
    written[positions.reshape(-1)] = True
    from .elementwise import where
    put = PutFlat(positions, shape, accumulate=False)(values)
    return where(written.reshape(shape), put, input)


class _ScatterMultiply(Function):
    """input with the values at each position multiplied in (no gradient, as PyTorch)."""

    def __init__(self, positions, values) -> None:
        self.positions, self.values = positions.reshape(-1), values.reshape(-1)

    @property
    def name(self) -> str:
        return "scatter"

    def forward(self, x):
        # positions may repeat: multiply in one occurrence of each at a time (rank r = the
        # r-th time a position appears), so no two writes of one round hit one place
        xp = backend.get_array_module(x)
        out = x.reshape(-1).copy()
        order = xp.argsort(self.positions)
        pos, vals = self.positions[order], self.values[order]
        rank = xp.arange(pos.size) - xp.searchsorted(pos, pos, side="left")
        for r in range(int(rank.max()) + 1 if pos.size else 0):
            chosen = rank == r
            out[pos[chosen]] *= vals[chosen]
        return out.reshape(x.shape)

    def backward(self, gy):
        raise ArgumentError("scatter: reduce='multiply' has no gradient (as in PyTorch); "
                            "detach the inputs or use reduce='add'")


def _scatter_multiply(input: Tensor, positions, values: Tensor) -> Tensor:
    return _ScatterMultiply(positions, values.data)(input)


def scatter_add(input: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    """input plus src added at the places index names along dim, repeated places adding up:
    out[index[i][j]][j] += src[i][j] for dim 0, as ``torch.scatter_add``. Gradients:
    input gets the upstream gradient, src the upstream gradient gathered at its places."""
    op = "scatter_add"
    tensor_arg(src, op, "src")
    return _scatter(op, input, dim, index, src, "add")


def index_select(input: Tensor, dim: int, index: Tensor) -> Tensor:
    """The slices of input at ``index`` (a 1-D or 0-d integer tensor) along dim, in that
    order, repeats allowed, as ``torch.index_select``; the gradient adds the slices back."""
    op = "index_select"
    tensor_arg(input, op)
    idx = _index_array(input, index, op)
    if idx.ndim > 1:
        raise ShapeError(f"{op}: index must be 1-D or 0-d, got shape {idx.shape}")
    dim = single_dim(dim, input.ndim, op)
    shape = input.shape or (1,)
    idx = idx.reshape(-1)
    bounded_indices(idx, shape[dim], op, f"dim {dim}")
    out_shape = shape[:dim] + (idx.size,) + shape[dim + 1:]
    along = [1] * len(shape)
    along[dim] = idx.size
    xp = backend.get_array_module(idx)
    expanded = xp.broadcast_to(idx.reshape(along), out_shape)
    positions = _dim_positions(expanded, dim, shape)
    return TakeFlat(positions.reshape(out_shape if input.ndim else ()))(input)


def take_along_dim(input: Tensor, indices: Tensor, dim: int | None = None) -> Tensor:
    """Values of input at ``indices`` along dim, as ``torch.take_along_dim``: input and
    indices broadcast on the other dims; with dim None both are flattened first."""
    op = "take_along_dim"
    tensor_arg(input, op)
    idx = _index_array(input, indices, op, "indices")
    if dim is None:
        from .shape import reshape
        return _gather(op, reshape(input, (-1,)), 0, Tensor._wrap(idx.reshape(-1)))
    if idx.ndim != input.ndim:
        raise ShapeError(f"{op}: input {input.shape} and indices {idx.shape} must have the "
                         f"same number of dims")
    d = single_dim(dim, input.ndim, op)
    others = broadcast_shapes(op, *[s[:d] + (1,) + s[d + 1:] for s in (input.shape, idx.shape)])
    from .reduce import broadcast_to
    xp = backend.get_array_module(idx)
    x = broadcast_to(input, others[:d] + input.shape[d:d + 1] + others[d + 1:])
    index = Tensor._wrap(xp.broadcast_to(idx, others[:d] + idx.shape[d:d + 1] + others[d + 1:]))
    # PyTorch wraps negative indices here (unlike gather)
    size = input.shape[d] if input.ndim else 1
    if index.data.size and int(index.data.min()) < 0:
        index = Tensor._wrap(xp.where(index.data < 0, index.data + size, index.data))
    return _gather(op, x, d, index)


def masked_select(input: Tensor, mask: Tensor) -> Tensor:
    """The values of input where the bool ``mask`` is True, as a 1-D tensor (input and mask
    broadcast first), as ``torch.masked_select``."""
    op = "masked_select"
    tensor_arg(input, op)
    bool_tensor(mask, op)
    same_device(op, input, mask, "mask")
    shape = broadcast_shapes(op, input.shape, mask.shape)
    from .reduce import broadcast_to
    xp = backend.get_array_module(mask.data)
    positions = xp.flatnonzero(xp.broadcast_to(mask.data, shape))
    return TakeFlat(positions)(broadcast_to(input, shape))


# ============================================================================ masked_fill, tril, triu


def masked_fill(input: Tensor, mask: Tensor, value: Any) -> Tensor:
    """input with ``value`` (a number or a 0-d tensor) where the bool ``mask`` is True; mask
    broadcasts with input, as ``torch.masked_fill``. The value takes input's dtype. The
    gradient reaches input where mask is False, and a tensor value as the sum elsewhere."""
    op = "masked_fill"
    tensor_arg(input, op)
    bool_tensor(mask, op)
    same_device(op, input, mask, "mask")
    broadcast_shapes(op, input.shape, mask.shape)
    xp = backend.get_array_module(input.data)
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise ShapeError(f"{op}: value must be a number or a 0-d tensor, got a tensor of "
                             f"shape {value.shape}")
        same_device(op, input, value, "value")
        if value.dtype != input.dtype:
            if value.dtype.kind == "f" and input.dtype.kind == "f":
                value = value.to(dtype=input.dtype)       # differentiable cast
            else:
                value = Tensor._wrap(value.data.astype(input.dtype))
    elif isinstance(value, (bool, int, float, np.number)):
        value = Tensor._wrap(xp.asarray(value).astype(input.dtype))
    else:
        raise DTypeError(f"{op}: value must be a number or a 0-d tensor, got "
                         f"{type(value).__name__}")
    from .elementwise import where
    return where(mask, value, input)


def _triangle(input: Tensor, diagonal: Any, op: str, lower: bool) -> Tensor:
    tensor_arg(input, op)
    k = int_arg(diagonal, op, "diagonal")
    if input.ndim < 2:
        raise ShapeError(f"{op}: input must have at least 2 dims, got shape {input.shape}")
    rows, cols = input.shape[-2:]
    xp = backend.get_array_module(input.data)
    # tri(r, c, k)[i, j] = j <= i + k: the lower triangle; the upper one is its complement
    keep = xp.tri(rows, cols, k, dtype=bool) if lower else ~xp.tri(rows, cols, k - 1, dtype=bool)
    from .elementwise import where
    return where(keep, input, input.data.dtype.type(0))


def tril(input: Tensor, diagonal: int = 0) -> Tensor:
    """The lower triangle of the last two dims (j <= i + diagonal kept, the rest 0), as
    ``torch.tril``; the gradient is tril of the upstream gradient."""
    return _triangle(input, diagonal, "tril", lower=True)


def triu(input: Tensor, diagonal: int = 0) -> Tensor:
    """The upper triangle of the last two dims (j >= i + diagonal kept), as ``torch.triu``."""
    return _triangle(input, diagonal, "triu", lower=False)


# ============================================================================ no gradient


def nonzero(input: Tensor, *, as_tuple: bool = False) -> Tensor | tuple[Tensor, ...]:
    """Indices of the non-zero elements, as ``torch.nonzero``: an int64 (count, ndim) tensor
    in C order, or with ``as_tuple`` one 1-D tensor per dim (a 0-d input counts as 1-D)."""
    op = "nonzero"
    tensor_arg(input, op)
    xp = backend.get_array_module(input.data)
    data = input.data
    if flag(as_tuple, op, "as_tuple"):
        indices = xp.nonzero(data.reshape(data.shape or (1,)))
        return tuple(Tensor._wrap(i.astype(np.int64)) for i in indices)
    if data.ndim == 0:
        return Tensor._wrap(xp.zeros((int(bool(data != 0)), 0), dtype=np.int64))
    return Tensor._wrap(xp.argwhere(data).astype(np.int64))


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """int64 one-hot rows: out[..., c] = 1 where tensor == c, as ``F.one_hot``; input is an
    int64 tensor of class indices, ``num_classes`` -1 means max + 1."""
    op = "one_hot"
    tensor_arg(tensor, op, "tensor")
    if tensor.data.dtype != np.int64:
        raise DTypeError(f"{op}: tensor must be an int64 tensor of class indices, got "
                         f"{tensor.data.dtype}")
    n = int_arg(num_classes, op, "num_classes")
    data = tensor.data
    xp = backend.get_array_module(data)
    if data.size == 0 and n <= 0:   # (PyTorch refuses num_classes=0 here too)
        raise ArgumentError(f"{op}: cannot infer num_classes from an empty tensor; give it")
    if n == -1:
        n = int(data.max()) + 1
    if data.size:
        low, high = int(data.min()), int(data.max())
        if low < 0:
            raise DimError(f"{op}: class values must be non-negative, got {low}")
        if high >= n:
            raise DimError(f"{op}: class values must be smaller than num_classes={n}, got {high}")
    return Tensor._wrap((data[..., None] == xp.arange(n)).astype(np.int64))
