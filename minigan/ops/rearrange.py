"""Rearranging ops: repeat, tile, repeat_interleave, chunk, unbind, flip, roll, movedim,
narrow, swapaxes.

Almost all are compositions of the differentiable shape ops (ops/shape.py, ops/reduce.py),
so their gradients, of every order, are those ops' gradients:

    repeat / tile        reshape, broadcast_to, reshape    gradient: sums over the copies
    repeat_interleave    the same with the copy axis after the dim (an int), or
                         index_select (a tensor of counts)
    chunk / unbind       split (and reshape)                gradient: concat
    flip / narrow        getitem with slices                gradient: the slice put back
    movedim / swapaxes   permute                            gradient: the inverse permute

Only ``roll`` has a Function of its own (its gradient is the opposite roll).
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .. import backend
from ..autograd import Function, Tensor
from ..errors import ArgumentError, DimError, DTypeError, ShapeError
from .args import int_arg, normalize_axis, single_dim, tensor_arg
from .reduce import broadcast_to
from .shape import getitem, permute, reshape, split, transpose


def _int_sequence(values: Sequence[Any], op: str, name: str) -> tuple[int, ...]:
    """``f(x, 2, 3)``, ``f(x, (2, 3))`` or ``f(x, [2, 3])`` -> (2, 3)."""
    if len(values) == 1 and isinstance(values[0], (tuple, list)):
        values = tuple(values[0])
    return tuple(int_arg(v, op, name) for v in values)


# ============================================================================ repeat / tile


def _repeat(x: Tensor, counts: tuple[int, ...], op: str) -> Tensor:
    """x copied counts[d] times along each dim d (counts has at least x.ndim entries; extra
    leading ones add new dims): as x (1, s0, 1, s1, ...) broadcast to (r0, s0, r1, s1, ...)
    and merged to (r0 s0, r1 s1, ...), so the gradient sums the copies back (sum_to)."""
    if any(c < 0 for c in counts):
        raise ArgumentError(f"{op}: repeats must be >= 0, got {counts}")
    shape = (1,) * (len(counts) - x.ndim) + x.shape
    spread = tuple(n for pair in zip(counts, shape) for n in pair)
    copies = broadcast_to(reshape(x, tuple(n for s in shape for n in (1, s))), spread)
    return reshape(copies, tuple(c * s for c, s in zip(counts, shape)))


def repeat(input: Tensor, *sizes: Any) -> Tensor:
    """``x.repeat(2, 3)``: x tiled sizes[d] times along dim d (PyTorch's Tensor.repeat;
    NumPy's ``tile``). There must be at least as many sizes as dims; extra ones come first
    as new dims."""
    op = "repeat"
    tensor_arg(input, op)
    counts = _int_sequence(sizes, op, "repeats")
    if not sizes:
        raise ArgumentError(f"{op}: give the repeats (one per dim, e.g. x.repeat(2, 1))")
    if len(counts) < input.ndim:
        raise ShapeError(f"{op}: {len(counts)} repeats {counts} for a tensor with {input.ndim} "
                         f"dims (shape {input.shape}); give at least one per dim")
    return _repeat(input, counts, op)


def tile(input: Tensor, dims: Any, *more: Any) -> Tensor:
    """``torch.tile``: like repeat, but fewer dims than the tensor has are padded with 1s
    in front (``tile(x, (2,))`` repeats the last dim)."""
    op = "tile"
    tensor_arg(input, op)
    counts = _int_sequence((dims,) + more, op, "dims")
    return _repeat(input, (1,) * (input.ndim - len(counts)) + counts, op)


def repeat_interleave(input: Tensor, repeats: Any = None, dim: int | None = None, *,
                      output_size: int | None = None) -> Tensor:
    """Each element (or slice along ``dim``) repeated in place, as ``torch.repeat_interleave``:
    ``repeats`` is an int (or one-element integer tensor) for all, or a 1-D integer tensor of
    one count per slice. With dim None the input is flattened first. Called with a tensor
    of counts alone, returns the indices ``[0]*c0 + [1]*c1 + ...`` (int64)."""
    op = "repeat_interleave"
    tensor_arg(input, op)
    if repeats is None:                                       # repeat_interleave(counts)
        return Tensor._wrap(backend.to_device(_source_index(_counts(input, op)), input.device))
    if dim is None:
        input, dim = reshape(input, (-1,)), 0
    elif input.ndim == 0:
        raise DimError(f"{op}: dim {dim} given for a 0-d tensor (leave dim None)")
    dim = single_dim(dim, input.ndim, op)
    n = input.shape[dim]
    if isinstance(repeats, Tensor) and repeats.data.size != 1:
        counts = _counts(repeats, op)
        if counts.size != n:
            raise ShapeError(f"{op}: {counts.size} repeats for {n} slices along dim {dim} of "
                             f"{input.shape}")
        total = int(counts.sum())
    else:
        count = int_arg(repeats, op, "repeats") if not isinstance(repeats, Tensor) \
            else int(_counts(repeats, op).reshape(-1)[0])
        if count < 0:
            raise ArgumentError(f"{op}: repeats must be >= 0, got {count}")
        counts, total = None, n * count
    if output_size is not None and int_arg(output_size, op, "output_size") != total:
        raise ArgumentError(f"{op}: output_size={output_size} but the repeats make {total}")
    if counts is None:  # one count: a copy axis right after dim, merged into it
        shape = input.shape
        copies = broadcast_to(reshape(input, shape[:dim + 1] + (1,) + shape[dim + 1:]),
                              shape[:dim + 1] + (count,) + shape[dim + 1:])
        return reshape(copies, shape[:dim] + (total,) + shape[dim + 1:])
    from .index import index_select
    source = backend.to_device(_source_index(counts), input.device)
    return index_select(input, dim, Tensor._wrap(source))


def _source_index(counts: np.ndarray) -> np.ndarray:
    """[0] * counts[0] + [1] * counts[1] + ... (int64)."""
    return np.repeat(np.arange(counts.size, dtype=np.int64), counts)


def _counts(repeats: Any, op: str) -> np.ndarray:
    """The repeat counts as a non-negative int64 NumPy array (at most 1-D; on the host, where
    the output's size is decided)."""
    tensor_arg(repeats, op, "repeats")
    counts = repeats.numpy()
    if counts.dtype.kind not in "iu":
        raise DTypeError(f"{op}: repeats must be an integer tensor, got {counts.dtype}")
    if counts.ndim > 1:
        raise ShapeError(f"{op}: repeats must be 0-d or 1-D, got shape {counts.shape}")
    if counts.size and int(counts.min()) < 0:
        raise ArgumentError(f"{op}: repeats must be >= 0, got {int(counts.min())}")
    return counts.reshape(-1).astype(np.int64)


# ============================================================================ chunk / unbind


def chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
    """Split into ``chunks`` pieces of ceil(n / chunks) along dim (the last one smaller; fewer
    pieces when they run out), as ``torch.chunk``."""
    op = "chunk"
    tensor_arg(input, op)
    chunks = int_arg(chunks, op, "chunks", 1)
    if input.ndim == 0:
        raise ShapeError(f"{op}: needs a tensor with at least 1 dim, got a 0-d tensor")
    dim = single_dim(dim, input.ndim, op)
    n = input.shape[dim]
    if n == 0:  # PyTorch: as many empty pieces as asked for
        return split(input, [0] * chunks, dim)
    return split(input, -(-n // chunks), dim)


def unbind(input: Tensor, dim: int = 0) -> tuple[Tensor, ...]:
    """The slices along dim, each without that dim, as ``torch.unbind``."""
    op = "unbind"
    tensor_arg(input, op)
    if input.ndim == 0:
        raise DimError(f"{op}: a 0-d tensor has no dim to unbind")
    dim = single_dim(dim, input.ndim, op)
    if input.shape[dim] == 0:
        return ()
    rest = input.shape[:dim] + input.shape[dim + 1:]
    return tuple(reshape(piece, rest) for piece in split(input, 1, dim))


# ============================================================================ flip / roll


def flip(input: Tensor, dims: Any, *more: Any) -> Tensor:
    """The order of the elements along each of ``dims`` reversed, as ``torch.flip``
    (``x.flip(0, 1)`` or ``flip(x, (0, 1))``)."""
    op = "flip"
    tensor_arg(input, op)
    axes = normalize_axis(list(_int_sequence((dims,) + more, op, "dims")), input.ndim, op)
    if not axes:
        return getitem(input, ())
    return getitem(input, tuple(slice(None, None, -1) if d in axes else slice(None)
                                for d in range(input.ndim)))


class Roll(Function):
    """y = x shifted along dims, elements leaving one end entering at the other."""

    def __init__(self, shifts: tuple, dims: tuple) -> None:
        self.shifts, self.dims = shifts, dims

    def forward(self, x):
        return backend.get_array_module(x).roll(x, self.shifts, axis=self.dims)

    def backward(self, gy):
        return Roll(tuple(-s for s in self.shifts), self.dims)(gy)


def roll(input: Tensor, shifts: Any, dims: Any = None) -> Tensor:
    """Roll along ``dims`` by ``shifts`` (ints or equal-length tuples; a dim may repeat and the
    shifts add up), as ``torch.roll``; with dims None the flattened tensor is rolled."""
    op = "roll"
    tensor_arg(input, op)
    shifts = _int_sequence((shifts,), op, "shifts")
    if not shifts:
        raise ArgumentError(f"{op}: shifts must not be empty")
    if dims is None:
        if len(shifts) != 1:
            raise ShapeError(f"{op}: {len(shifts)} shifts need as many dims, got dims=None")
        if input.ndim == 0:
            return getitem(input, ())
        return reshape(Roll(shifts, (0,))(reshape(input, (-1,))), input.shape)
    dims = _int_sequence((dims,), op, "dims")
    if len(dims) != len(shifts):
        raise ShapeError(f"{op}: shifts {shifts} and dims {dims} must have the same length")
    if input.ndim == 0:
        raise DimError(f"{op}: dims {dims} given for a 0-d tensor (leave dims None)")
    axes = tuple(single_dim(d, input.ndim, op) for d in dims)
    return Roll(shifts, axes)(input)


# ============================================================================ movedim, narrow, swapaxes


def movedim(input: Tensor, source: Any, destination: Any) -> Tensor:
    """Move the dims ``source`` to the positions ``destination`` (ints or sequences), the
    others keeping their order, as ``torch.movedim``."""
    op = "movedim"
    tensor_arg(input, op)
    if isinstance(source, (list, tuple)) != isinstance(destination, (list, tuple)):
        raise DTypeError(f"{op}: source and destination must both be ints or both sequences, "
                         f"got {source!r} and {destination!r}")
    src = _int_sequence((source,), op, "source")
    dst = _int_sequence((destination,), op, "destination")
    if len(src) != len(dst):
        raise ShapeError(f"{op}: source {src} and destination {dst} must have the same length")
    n = input.ndim
    src_axes = [single_dim(d, n, op) for d in src]
    dst_axes = [single_dim(d, n, op) for d in dst]
    for name, axes, given in (("source", src_axes, src), ("destination", dst_axes, dst)):
        if len(set(axes)) != len(axes):
            raise ArgumentError(f"{op}: {name} {given} repeats a dim")
    if n == 0:
        return getitem(input, ())
    order = [d for d in range(n) if d not in src_axes]
    for d, s in sorted(zip(dst_axes, src_axes)):
        order.insert(d, s)
    return permute(input, tuple(order))


moveaxis = movedim


def narrow(input: Tensor, dim: int, start: Any, length: int) -> Tensor:
    """``length`` elements from ``start`` (negative counts from the end) along dim, as
    ``torch.narrow``; the gradient puts the slice back into zeros."""
    op = "narrow"
    tensor_arg(input, op)
    if input.ndim == 0:
        raise DimError(f"{op}: cannot narrow a 0-d tensor")
    dim = single_dim(dim, input.ndim, op)
    n = input.shape[dim]
    start, length = int_arg(start, op, "start"), int_arg(length, op, "length", 0)
    if not -n <= start <= n:
        raise DimError(f"{op}: start {start} is out of range for dim {dim} of size {n} "
                       f"(expected one in [{-n}, {n}])")
    start = start + n if start < 0 else start
    if start + length > n:
        raise ShapeError(f"{op}: start ({start}) + length ({length}) exceeds the size {n} of "
                         f"dim {dim} of {input.shape}")
    return getitem(input, (slice(None),) * dim + (slice(start, start + length),))


def swapaxes(input: Tensor, axis0: int, axis1: int) -> Tensor:
    """Swap two dims (``transpose``), as ``torch.swapaxes`` / ``torch.swapdims``."""
    op = "swapaxes"
    tensor_arg(input, op)
    return transpose(input, single_dim(axis0, input.ndim, op), single_dim(axis1, input.ndim, op))


swapdims = swapaxes
