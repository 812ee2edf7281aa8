"""Embedding lookup: ``y = W[idx]`` (PyTorch's ``F.embedding``).

Notation: W is the (V, D) table, idx an integer array of any shape S, y is (*S, D).

    dL/dW[v] = sum over the positions p with idx[p] == v of gy[p]   (EmbeddingGrad)

so repeated indices add up, and the ``padding_idx`` row gets no gradient. The backward is
linear in gy; its adjoint is a gather again (``y = ggW[idx]`` with padding positions
zeroed), so the pair Embedding / EmbeddingGrad is closed under differentiation.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import backend
from ..autograd import Function, Tensor
from ..errors import ArgumentError, DeviceError, DimError, DTypeError, ShapeError
from .args import float_tensor, int_arg


def _scatter_rows(xp, index, values, rows: int):
    """Sum the rows of ``values`` (n, D) into a (rows, D) array at ``index`` (n,).

    Sort the indices once, give each occurrence its rank among equal indices, then add
    one rank at a time: inside a rank every index is unique, so a plain fancy-index ``+=``
    is exact. That is a few vectorised passes (as many as the largest repeat count), much
    faster on NumPy than ``np.add.at``. Heavily repeated indices (a small vocabulary: every
    caption starts with "a") instead sum each run of equal sorted indices in one
    ``np.add.reduceat`` (a caption batch, 1024 positions into 30 rows of 64: add.at 0.76 ms,
    reduceat 0.12 ms; many short runs would make it slower than the ranks, so only there);
    on CuPy, scatter_add.
    """
    out = xp.zeros((rows, values.shape[1]), dtype=values.dtype)
    n = index.shape[0]
    if n == 0:
        return out
    order = xp.argsort(index)
    sorted_index = index[order]
    # rank of each occurrence among equal indices: its position minus its run's first one
    rank = xp.arange(n) - xp.searchsorted(sorted_index, sorted_index, side="left")
    levels = int(rank.max()) + 1
    if levels > 32:
        if backend.is_cupy_array(values):
            backend.scatter_add(out, index, values)
            return out
        # out[v] = sum of the rows with index v: one sum per run of the sorted indices
        starts = xp.flatnonzero(rank == 0)
        out[sorted_index[starts]] = xp.add.reduceat(values[order], starts, axis=0)
        return out
    first = rank == 0
    out[sorted_index[first]] = values[order[first]]
    for level in range(1, levels):
        at = rank == level
        out[sorted_index[at]] += values[order[at]]
    return out


class _Lookup:
    """The constant part of one lookup: flat indices, table size, padding row, and the
    per-row gradient scale of ``scale_grad_by_freq`` (1 / count in the batch)."""

    def __init__(self, xp, idx, rows: int, padding_idx: int | None, scale_grad_by_freq: bool):
        self.idx, self.flat, self.rows, self.padding_idx = idx, idx.reshape(-1), rows, padding_idx
        self.row_scale = None
        if scale_grad_by_freq:
            counts = xp.bincount(self.flat, minlength=rows)
            self.row_scale = 1.0 / xp.maximum(counts, 1)


# ============================================================================ embedding


class Embedding(Function):
    """y = W[idx]; with ``zero_padding`` (used as EmbeddingGrad's adjoint) the positions that
    hold ``padding_idx`` read 0 and the rows are scaled by ``row_scale``."""

    def __init__(self, lookup: _Lookup, zero_padding: bool = False) -> None:
        self.lookup, self.zero_padding = lookup, zero_padding

    def forward(self, w):
        lk = self.lookup
        y = backend.get_array_module(w).take(w, lk.idx, axis=0)
        if self.zero_padding:
            if lk.row_scale is not None:
                y *= lk.row_scale[lk.idx][..., None].astype(y.dtype)
            if lk.padding_idx is not None:
                y[lk.idx == lk.padding_idx] = 0
        return y

    def backward(self, gy):
        return EmbeddingGrad(self.lookup)(gy)


class EmbeddingGrad(Function):
    """gW (V, D): the rows of gy scatter-added at idx; padding row zero, rows scaled."""

    def __init__(self, lookup: _Lookup) -> None:
        self.lookup = lookup

    def forward(self, gy):
        xp = backend.get_array_module(gy)
        lk = self.lookup
        gw = _scatter_rows(xp, lk.flat, gy.reshape(lk.flat.shape[0], gy.shape[-1]), lk.rows)
        if lk.row_scale is not None:
            gw *= lk.row_scale[:, None].astype(gw.dtype)
        if lk.padding_idx is not None:
            gw[lk.padding_idx] = 0
        return gw

    def backward(self, ggw):
        return Embedding(self.lookup, zero_padding=True)(ggw)


def _row_norms(xp, rows, p: float):
    """The p-norm of each row, as torch.norm: max |x| for p = inf, min |x| for -inf, the
    count of non-zeros for 0, else (sum |x|^p)^(1/p)."""
    a = xp.abs(rows)
    if p == math.inf:
        return a.max(axis=1)
    if p == -math.inf:
        return a.min(axis=1)
    if p == 0:
        return (a != 0).sum(axis=1).astype(rows.dtype)
    return (a ** p).sum(axis=1) ** (1.0 / p)


def _renorm_rows(xp, w, flat, max_norm: float, norm_type: float) -> None:
    """In place (no gradient), as torch.embedding_renorm_: rows referenced by ``flat`` whose
    ``norm_type``-norm exceeds ``max_norm`` are scaled by max_norm / (norm + 1e-7)."""
    rows = xp.unique(flat)
    sub = w[rows]
    norms = _row_norms(xp, sub, norm_type)
    scale = xp.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0).astype(w.dtype)
    w[rows] = sub * scale[:, None]


def _number(value: Any, name: str) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number)):
        raise DTypeError(f"embedding: {name} must be a number, got {value!r}")
    return float(value)


def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None,
              max_norm: float | None = None, norm_type: float = 2.0,
              scale_grad_by_freq: bool = False) -> Tensor:
    """Rows of ``weight`` (V, D) picked by the integer tensor ``input`` of any shape S;
    the result has shape (*S, D). As ``torch.nn.functional.embedding``:

    - ``padding_idx``: that row gets no gradient (negative counts from the end);
    - ``max_norm``: referenced rows with a larger ``norm_type``-norm are rescaled **in
      place** to that norm before the lookup;
    - ``scale_grad_by_freq``: each row's gradient is divided by its count in ``input``.

    >>> import minigan as mg, minigan.functional as F
    >>> F.embedding(mg.tensor([[0, 2]]), mg.randn(3, 4)).shape
    (1, 2, 4)
    """
    op = "embedding"
    float_tensor(weight, op, "weight")
    idx = input.data if isinstance(input, Tensor) else None
    if idx is None:
        try:
            idx = backend.get_array_module(weight.data).asarray(input)
        except (TypeError, ValueError):
            raise DTypeError(f"{op}: input must be an integer tensor of indices, got "
                             f"{type(input).__name__}") from None
    if idx.dtype.kind not in "iu":
        raise DTypeError(f"{op}: indices must be an integer tensor, got {idx.dtype} "
                         f"(shape {tuple(idx.shape)})")
    if weight.ndim != 2:
        raise ShapeError(f"{op}: weight must be 2-D (num_embeddings, dim), got {weight.shape}")
    if backend.device_of(idx) != weight.device:
        raise DeviceError(f"{op}: indices on {backend.device_of(idx)} but weight on "
                          f"{weight.device}")
    rows = weight.shape[0]
    if idx.size:
        low, high = int(idx.min()), int(idx.max())
        if low < 0 or high >= rows:
            raise DimError(f"{op}: index {low if low < 0 else high} is out of range for a "
                           f"table of {rows} rows (weight {weight.shape})")
    if padding_idx is not None:
        padding_idx = int_arg(padding_idx, op, "padding_idx")
        if not -rows <= padding_idx < rows:
            raise ArgumentError(f"{op}: padding_idx {padding_idx} must be within the "
                                f"{rows} rows of weight {weight.shape}")
        padding_idx %= rows
    if max_norm is not None:
        max_norm, norm_type = _number(max_norm, "max_norm"), _number(norm_type, "norm_type")
    xp = backend.get_array_module(weight.data)
    if max_norm is not None and idx.size:
        _renorm_rows(xp, weight.data, idx.reshape(-1), max_norm, norm_type)
    return Embedding(_Lookup(xp, idx, rows, padding_idx, scale_grad_by_freq))(weight)
