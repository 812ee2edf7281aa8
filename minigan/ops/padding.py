"""``pad``: constant, reflect, replicate and circular padding, as
``torch.nn.functional.pad``.

``pad`` lists (before, after) pairs from the LAST dim backwards: (left, right) pads the last
dim, (left, right, top, bottom) the last two. Negative amounts crop.

* constant: ops/shape.py's ``Pad`` (``xp.pad``; gradient: the centre of g), after a
  ``getitem`` crop for negative amounts;
* reflect / replicate / circular: each padded dim is an index map, out[j] = x[src(j)]
  (q = j - left is the position in x's coordinates):

      reflect     src = -q for q < 0, 2 (n - 1) - q for q > n - 1, else q   (edge not repeated)
      replicate   src = clamp(q, 0, n - 1)
      circular    src = q mod n          (negative amounts crop first, as in PyTorch)

  a one-tap resampling map (ops/resample.py), so the gradient is the transposed map: each
  input adds up the gradients of the places that copied it.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..autograd import Tensor
from ..errors import ArgumentError, DTypeError, ShapeError
from .args import choice, int_arg, tensor_arg
from .resample import Taps, resample

_MODES = ("constant", "reflect", "replicate", "circular")


def _pairs(pad: Any, ndim: int, op: str) -> list[tuple[int, int]]:
    """The pad tuple as (before, after) pairs in dim order, for the last len(pad) / 2 dims."""
    if not isinstance(pad, (tuple, list)):
        raise DTypeError(f"{op}: pad must be a tuple of ints, got {type(pad).__name__}")
    amounts = [int_arg(p, op, "pad") for p in pad]
    if len(amounts) % 2:
        raise ArgumentError(f"{op}: pad {tuple(amounts)} must have an even length "
                            f"(a (before, after) pair per dim)")
    if len(amounts) // 2 > ndim:
        raise ShapeError(f"{op}: pad {tuple(amounts)} pads {len(amounts) // 2} dims but the "
                         f"input has {ndim}")
    return [(amounts[i], amounts[i + 1]) for i in range(0, len(amounts), 2)][::-1]


def _source_index(mode: str, n: int, before: int, after: int) -> np.ndarray:
    """src(j) for one dim of size n padded by (before, after): see the module docstring."""
    if mode == "circular":  # crop first, then wrap around what is left
        first, kept = max(0, -before), n - max(0, -before) - max(0, -after)
        j = np.arange(kept + max(before, 0) + max(after, 0))
        return first + (j - max(before, 0)) % max(kept, 1)
    q = np.arange(n + before + after) - before
    if mode == "replicate":
        return np.clip(q, 0, n - 1)
    return np.where(q < 0, -q, np.where(q > n - 1, 2 * (n - 1) - q, q))   # reflect


def _check_mode(x: Tensor, pairs: list, mode: str, op: str) -> None:
    """PyTorch's limits for reflect / replicate / circular padding."""
    k = len(pairs)
    if mode != "circular" and x.dtype == np.bool_:   # (PyTorch has no bool kernel for them)
        raise DTypeError(f"{op}: {mode} padding does not take a bool tensor")
    if k not in (1, 2, 3) or x.ndim not in (k + 1, k + 2):
        raise ShapeError(f"{op}: {mode} padding of the last k dims (k = 1, 2 or 3) needs a "
                         f"(k+1)-D or (k+2)-D input; got {2 * k} pad values for shape {x.shape}")
    padded = x.shape[x.ndim - k:]
    if mode in ("reflect", "replicate"):
        batch = 1 if x.ndim == k + 2 else 0
        if 0 in x.shape[batch:]:
            raise ShapeError(f"{op}: {mode} padding needs non-empty dims (but the batch), got "
                             f"shape {x.shape}")
    for n, (before, after) in zip(padded, pairs):
        if mode == "reflect" and max(before, after) >= n:
            raise ArgumentError(f"{op}: reflect padding ({before}, {after}) must be smaller than "
                                f"the size {n} of the dim it pads (input {x.shape})")
        if mode == "circular":
            kept = n - max(0, -before) - max(0, -after)
            if max(before, after) > kept or kept < 0:
                raise ArgumentError(f"{op}: circular padding ({before}, {after}) wraps around "
                                    f"more than once a dim of size {n} (input {x.shape})")
        elif n + before + after <= 0:
            raise ShapeError(f"{op}: {mode} padding ({before}, {after}) leaves nothing of a dim "
                             f"of size {n} (input {x.shape})")


def pad(input: Tensor, pad: Sequence[int], mode: str = "constant", value: float | None = None
        ) -> Tensor:
    """Pad (or, with negative amounts, crop) the last len(pad) / 2 dims, as
    ``torch.nn.functional.pad``: ``pad`` is (left, right) for the last dim, then
    (top, bottom) for the one before, and so on. ``mode`` 'constant' fills with ``value``
    (default 0); 'reflect', 'replicate' and 'circular' pad the last 1, 2 or 3 dims of a
    batched or unbatched input from its own values.

    >>> import minigan as mg, minigan.functional as F
    >>> F.pad(mg.tensor([[[1.0, 2.0, 3.0]]]), (2, 1), mode="reflect").numpy()
    array([[[3., 2., 1., 2., 3., 2.]]], dtype=float32)
    """
    op = "pad"
    tensor_arg(input, op)
    choice(mode, _MODES, op, "mode")
    pairs = _pairs(pad, input.ndim, op)
    lead = input.ndim - len(pairs)
    if mode == "constant":
        return _constant(input, lead, pairs, 0.0 if value is None else value, op)
    if value is not None:
        raise ArgumentError(f"{op}: mode {mode!r} takes no value (got value={value!r})")
    _check_mode(input, pairs, mode, op)
    maps = {lead + k: Taps(_source_index(mode, n, *pair)[None], None, n)
            for k, (n, pair) in enumerate(zip(input.shape[lead:], pairs)) if pair != (0, 0)}
    return resample(input, maps)


def _constant(x: Tensor, lead: int, pairs: list, value: Any, op: str) -> Tensor:
    """Constant padding; negative amounts crop first (a getitem)."""
    from .shape import Pad, getitem
    if not isinstance(value, (bool, int, float, np.number)):
        raise DTypeError(f"{op}: value must be a number, got {type(value).__name__}")
    if any(min(pair) < 0 for pair in pairs):
        crop = []
        for n, (before, after) in zip(x.shape[lead:], pairs):
            start, stop = max(0, -before), n - max(0, -after)
            if stop < start:
                raise ShapeError(f"{op}: cropping ({before}, {after}) is more than the size {n} "
                                 f"of the dim (input {x.shape})")
            crop.append(slice(start, stop))
        x = getitem(x, (slice(None),) * lead + tuple(crop))
        pairs = [(max(0, before), max(0, after)) for before, after in pairs]
    if not any(before or after for before, after in pairs):
        return x
    return Pad(tuple([(0, 0)] * lead + pairs), value)(x)
