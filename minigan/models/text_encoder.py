"""The caption encoder of the text-to-image GAN: a small Transformer trained from scratch.

Notation: N captions, T tokens (padded), E = d_model.

    h_0     = embedding(ids) + PE                        (N, T, E)   PE: sinusoidal positions
    h_l     = TransformerEncoderLayer_l(h_{l-1}, key_padding_mask)    pre-norm, l = 1..L
    tokens  = LayerNorm(h_L)                             (N, T, E)   per-token states
    sentence = masked mean of tokens over the real words  (N, E)     pool="mean"
             | the state of a learned <cls> vector put in front       pool="cls"

PE[t, 2i] = sin(t / 10000^(2i/E)), PE[t, 2i+1] = cos(t / 10000^(2i/E)) (Vaswani et al. 2017).
No pretrained weights anywhere: the encoder learns with the discriminator's matching loss.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import backend, nn
from ..autograd import Tensor
from ..errors import ArgumentError, ShapeError
from ..ops.shape import concat, expand, reshape

POOLS = ("mean", "cls")


def sinusoidal_positions(length: int, dim: int, dtype: Any = np.float32) -> np.ndarray:
    """The (length, dim) table of sinusoidal position encodings (NumPy)."""
    position = np.arange(length, dtype=np.float64)[:, None]
    frequency = np.exp(-math.log(10000.0) * np.arange(0, dim, 2, dtype=np.float64) / dim)
    table = np.zeros((length, dim))
    table[:, 0::2] = np.sin(position * frequency)
    table[:, 1::2] = np.cos(position * frequency)[:, :dim // 2]
    return table.astype(dtype)


def as_mask(mask: Any, like: Tensor) -> Tensor:
    """A boolean key-padding mask (True at padding) as a Tensor on ``like``'s device."""
    data = mask.data if isinstance(mask, Tensor) else mask
    xp = backend.get_array_module(like.data)
    with backend.device_context(like.device):
        return Tensor._wrap(xp.asarray(data).astype(bool))


class TextEncoder(nn.Module):
    """ids (N, T) int64 + padding mask (N, T) bool (True at padding) -> (tokens (N, T, E),
    sentence (N, E)).

    ``pool`` "mean" averages the states of the real words; "cls" prepends a learned vector
    and uses its state (the tokens returned are then those of the words only).
    """

    def __init__(self, vocab_size: int, d_model: int = 64, nhead: int = 4, num_layers: int = 2,
                 dim_feedforward: int = 128, pool: str = "mean", dropout: float = 0.0) -> None:
        super().__init__()
        if pool not in POOLS:
            raise ArgumentError(f"TextEncoder: pool must be one of {POOLS}, got {pool!r}")
        if d_model % 2 or d_model % nhead:
            raise ArgumentError(f"TextEncoder: d_model {d_model} must be even and divisible by "
                                f"nhead {nhead}")
        self.vocab_size, self.d_model, self.pool = int(vocab_size), int(d_model), pool
        self.embedding = nn.Embedding(vocab_size, d_model, padding_idx=0)
        self.layers = nn.ModuleList([
            nn.TransformerEncoderLayer(d_model, nhead, dim_feedforward, dropout=dropout,
                                       batch_first=True, norm_first=True)
            for _ in range(num_layers)])
        self.norm = nn.LayerNorm(d_model)
        if pool == "cls":
            self.cls = nn.Parameter(np.zeros(d_model, dtype=backend.get_default_dtype()))
            nn.init.normal_(self.cls)
        self._positions: dict = {}

    def positions(self, length: int, like: Tensor) -> Tensor:
        key = (length, like.dtype.str, like.device)
        if key not in self._positions:
            table = sinusoidal_positions(length, self.d_model, like.dtype)
            self._positions[key] = Tensor(backend.to_device(table, like.device))
        return self._positions[key]

    def forward(self, ids: Tensor, padding_mask: Any) -> tuple[Tensor, Tensor]:
        if ids.ndim != 2:
            raise ShapeError(f"TextEncoder: expected ids of shape (N, T), got {ids.shape}")
        n, t = ids.shape
        pad = as_mask(padding_mask, ids)
        if pad.shape != (n, t):
            raise ShapeError(f"TextEncoder: padding mask of shape {pad.shape} does not match "
                             f"ids of shape {ids.shape}")
        h, mask = self.embedding(ids), pad
        if self.pool == "cls":  # the learned vector goes in front, and is never masked
            h = concat([expand(reshape(self.cls, (1, 1, self.d_model)), n, 1, self.d_model), h], 1)
            xp = backend.get_array_module(pad.data)
            mask = Tensor._wrap(xp.concatenate([xp.zeros((n, 1), bool), pad.data], axis=1))
        h = h + self.positions(h.shape[1], h)
        for layer in self.layers:
            h = layer(h, src_key_padding_mask=mask)
        h = self.norm(h)
        if self.pool == "cls":
            return h[:, 1:], h[:, 0]
        keep = Tensor._wrap((~pad.data)[:, :, None].astype(h.dtype))
        count = Tensor._wrap(backend.get_array_module(keep.data).maximum(
            keep.data.sum(axis=1), 1))
        return h, (h * keep).sum(1) / count

    def extra_repr(self) -> str:
        return f"pool={self.pool!r}"
