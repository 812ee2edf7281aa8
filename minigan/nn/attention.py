"""``MultiheadAttention``: PyTorch's layer, parameters and mask conventions.

Notation: N batch, L query (target) length, S key/value (source) length, E embed_dim,
H num_heads, hd = E / H the width of one head.

    q, k, v = query W_q^T + b_q,  key W_k^T + b_k,  value W_v^T + b_v      (N, L|S, E)
    split into heads                                                       (N, H, L|S, hd)
    out_h   = softmax(q_h k_h^T / sqrt(hd) + mask) v_h                     (N, H, L, hd)
    output  = concat_h(out_h) W_o^T + b_o                                  (N, L, E)

W_q, W_k, W_v are the three (E, E) blocks of ``in_proj_weight`` (3E, E) when key and value
have width E, else the separate ``q_proj_weight`` (E, E), ``k_proj_weight`` (E, kdim) and
``v_proj_weight`` (E, vdim), exactly as in PyTorch, so ``load_state_dict`` of a PyTorch
layer's state maps one to one.
"""
from __future__ import annotations

import math
from typing import Any

from .. import backend, functional as F
from ..autograd import Tensor
from ..errors import ArgumentError, ShapeError
from ..ops.attention import attention, attention_mask
from ..ops.reduce import mean
from ..ops.shape import reshape, split, transpose, unsqueeze, squeeze
from . import init
from .linear import Linear, empty_parameter
from .module import Module

_OP = "MultiheadAttention"


class MultiheadAttention(Module):
    """Multi-head scaled dot-product attention (Vaswani et al. 2017), as ``torch.nn.MultiheadAttention``.

    Inputs are (L, N, E) — or (N, L, E) with ``batch_first=True`` — or unbatched (L, E).
    Masks follow PyTorch's MHA convention, **the opposite of scaled_dot_product_attention's**:
    a boolean ``key_padding_mask`` (N, S) or ``attn_mask`` (L, S) / (N*H, L, S) is True where a
    position is *not allowed* to take part; float masks are added to the scores.

    ``forward`` returns ``(output, weights)``: weights (N, L, S) averaged over heads, or
    (N, H, L, S) with ``average_attn_weights=False``, or None with ``need_weights=False``.
    Like PyTorch, a query whose keys are all masked gives NaN when the weights are asked
    for, and zeros (the SDPA path) with ``need_weights=False``. The returned weights are
    those used, i.e. after dropout.
    """

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 add_bias_kv: bool = False, add_zero_attn: bool = False, kdim: int | None = None,
                 vdim: int | None = None, batch_first: bool = False, device: str | None = None,
                 dtype: Any = None) -> None:
        super().__init__()
        if embed_dim <= 0 or num_heads <= 0:
            raise ArgumentError(f"{_OP}: embed_dim and num_heads must be positive, got {embed_dim} "
                                f"and {num_heads}")
        if embed_dim % num_heads:
            raise ArgumentError(f"{_OP}: embed_dim {embed_dim} is not divisible by num_heads "
                                f"{num_heads}")
        if not 0.0 <= dropout <= 1.0:
            raise ArgumentError(f"{_OP}: dropout must be in [0, 1], got {dropout}")
        if add_bias_kv or add_zero_attn:
            raise ArgumentError(f"{_OP}: add_bias_kv and add_zero_attn are not supported")
        self.embed_dim, self.num_heads = int(embed_dim), int(num_heads)
        self.kdim = self.embed_dim if kdim is None else int(kdim)
        self.vdim = self.embed_dim if vdim is None else int(vdim)
        self._qkv_same_embed_dim = self.kdim == self.embed_dim and self.vdim == self.embed_dim
        self.dropout, self.batch_first = float(dropout), bool(batch_first)
        self.head_dim = self.embed_dim // self.num_heads
        E = self.embed_dim
        if self._qkv_same_embed_dim:
            self.in_proj_weight = empty_parameter((3 * E, E), device, dtype)
            self.register_parameter("q_proj_weight", None)
            self.register_parameter("k_proj_weight", None)
            self.register_parameter("v_proj_weight", None)
        else:
            self.register_parameter("in_proj_weight", None)
            self.q_proj_weight = empty_parameter((E, E), device, dtype)
            self.k_proj_weight = empty_parameter((E, self.kdim), device, dtype)
            self.v_proj_weight = empty_parameter((E, self.vdim), device, dtype)
        if bias:
            self.in_proj_bias = empty_parameter((3 * E,), device, dtype)
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = Linear(E, E, bias=bias, device=device, dtype=dtype)
        self.bias_k = self.bias_v = None
        self.add_zero_attn = False
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        # PyTorch: Glorot-uniform projections, zero biases; out_proj keeps Linear's weight init.
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            init.xavier_uniform_(self.q_proj_weight)
            init.xavier_uniform_(self.k_proj_weight)
            init.xavier_uniform_(self.v_proj_weight)
        if self.in_proj_bias is not None:
            init.zeros_(self.in_proj_bias)
            init.zeros_(self.out_proj.bias)

    # ---------------------------------------------------------------------------- forward

    def forward(self, query: Tensor, key: Tensor, value: Tensor, key_padding_mask: Any = None,
                need_weights: bool = True, attn_mask: Any = None,
                average_attn_weights: bool = True, is_causal: bool = False
                ) -> tuple[Tensor, Tensor | None]:
        self._check_inputs(query, key, value)
        if is_causal and attn_mask is None:
            raise ArgumentError(f"{_OP}: is_causal=True is a hint that attn_mask is the causal "
                                f"mask, so attn_mask must be given too")
        batched = query.ndim == 3
        if not batched or not self.batch_first:
            # (L, E) -> (1, L, E) or (L, N, E) -> (N, L, E), keeping "query is key is value"
            to_nle = (lambda t: unsqueeze(t, 0)) if not batched else (lambda t: transpose(t, 0, 1))
            same_qk, same_kv = query is key, key is value
            query = to_nle(query)
            key = query if same_qk else to_nle(key)
            value = key if same_kv else to_nle(value)
            if not batched and key_padding_mask is not None:
                key_padding_mask = unsqueeze(_as_mask_tensor(key_padding_mask, query), 0)

        N, L, E = query.shape
        S = key.shape[1]
        H, hd = self.num_heads, self.head_dim
        q, k, v = self._project(query, key, value)
        q, k, v = (transpose(reshape(t, (N, n, H, hd)), 1, 2) for t, n in ((q, L), (k, S), (v, S)))

        mask = self._merge_masks(key_padding_mask, attn_mask, query, N, L, S)
        dropout_p = self.dropout if self.training else 0.0
        out, weights = attention(q, k, v, mask, dropout_p, 1.0 / math.sqrt(hd),
                                 safe=not need_weights)
        out = self.out_proj(reshape(transpose(out, 1, 2), (N, L, E)))

        if not batched:
            out = squeeze(out, 0)
        elif not self.batch_first:
            out = transpose(out, 0, 1)
        if not need_weights:
            return out, None
        if average_attn_weights:
            weights = mean(weights, axis=1)
        return out, (squeeze(weights, 0) if not batched else weights)

    def _check_inputs(self, query: Tensor, key: Tensor, value: Tensor) -> None:
        if query.ndim not in (2, 3) or key.ndim != query.ndim or value.ndim != query.ndim:
            raise ShapeError(f"{_OP}: query, key and value must all be 3-D (batched) or 2-D "
                             f"(unbatched), got {query.shape}, {key.shape}, {value.shape}")
        for name, t, width in (("query", query, self.embed_dim), ("key", key, self.kdim),
                               ("value", value, self.vdim)):
            if t.shape[-1] != width:
                raise ShapeError(f"{_OP}: {name} of shape {t.shape} has last dim {t.shape[-1]} "
                                 f"but the layer expects {width}")
        if key.shape[:-1] != value.shape[:-1]:
            raise ShapeError(f"{_OP}: key {key.shape} and value {value.shape} must have the "
                             f"same sequence length and batch size")
        b = 0 if self.batch_first else 1
        if query.ndim == 3 and query.shape[b] != key.shape[b]:
            raise ShapeError(f"{_OP}: query {query.shape} and key {key.shape} have different "
                             f"batch sizes (batch_first={self.batch_first})")

    def _project(self, query: Tensor, key: Tensor, value: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """The three input projections: one GEMM for self-attention, else one per input."""
        E = self.embed_dim
        b = self.in_proj_bias
        bq, bk, bv = split(b, E) if b is not None else (None, None, None)
        if self._qkv_same_embed_dim:
            if query is key and key is value:
                return split(F.linear(query, self.in_proj_weight, b), E, axis=-1)
            wq, wk, wv = split(self.in_proj_weight, E)
        else:
            wq, wk, wv = self.q_proj_weight, self.k_proj_weight, self.v_proj_weight
        return F.linear(query, wq, bq), F.linear(key, wk, bk), F.linear(value, wv, bv)

    def _merge_masks(self, key_padding_mask: Any, attn_mask: Any, like: Tensor, N: int, L: int,
                     S: int) -> Tensor | None:
        """Both masks as one additive mask broadcastable to the scores (N, H, L, S)."""
        H = self.num_heads
        merged = None
        if attn_mask is not None:
            attn_mask = _as_mask_tensor(attn_mask, like)
            if attn_mask.ndim == 2 and attn_mask.shape == (L, S):
                shaped = attn_mask
            elif attn_mask.ndim == 3 and attn_mask.shape == (N * H, L, S):
                shaped = reshape(attn_mask, (N, H, L, S))
            else:
                raise ShapeError(f"{_OP}: attn_mask of shape {attn_mask.shape} should be ({L}, {S}) "
                                 f"or ({N * H}, {L}, {S}) (N*num_heads, L, S)")
            merged = attention_mask(shaped, (N, H, L, S), like, _OP, true_means_keep=False,
                                    where="attn_mask")
        if key_padding_mask is not None:
            kpm = _as_mask_tensor(key_padding_mask, like)
            if kpm.shape != (N, S):
                raise ShapeError(f"{_OP}: key_padding_mask of shape {kpm.shape} should be "
                                 f"({N}, {S}) (batch, source length)")
            kpm = attention_mask(reshape(kpm, (N, 1, 1, S)), (N, H, L, S), like, _OP,
                                 true_means_keep=False, where="key_padding_mask")
            merged = kpm if merged is None else merged + kpm
        return merged

    def extra_repr(self) -> str:
        return (f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, dropout={self.dropout}, "
                f"batch_first={self.batch_first}")


def _as_mask_tensor(mask: Any, like: Tensor) -> Tensor:
    if isinstance(mask, Tensor):
        return mask
    return Tensor._wrap(backend.get_array_module(like.data).asarray(mask))
