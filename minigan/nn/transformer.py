"""``TransformerEncoderLayer``: self-attention and a feed-forward block, each with a residual
connection and layer norm, as ``torch.nn.TransformerEncoderLayer`` (same submodule names, so
state dicts map one to one).

    post-norm (default):  x = norm1(x + sa(x));        x = norm2(x + ff(x))
    pre-norm:             x = x + sa(norm1(x));        x = x + ff(norm2(x))

    sa(x) = dropout1(self_attn(x, x, x, masks))
    ff(x) = dropout2(linear2(dropout(activation(linear1(x)))))
"""
from __future__ import annotations

from typing import Any, Callable

from .. import functional as F
from ..autograd import Tensor
from ..errors import ArgumentError
from .attention import MultiheadAttention
from .dropout import Dropout
from .linear import Linear
from .module import Module
from .norm import LayerNorm

_ACTIVATIONS = {"relu": F.relu, "gelu": F.gelu}


class TransformerEncoderLayer(Module):
    """One encoder block (Vaswani et al. 2017). Inputs (S, N, E), or (N, S, E) with
    ``batch_first=True``, or unbatched (S, E). ``activation`` is "relu", "gelu" (exact, erf)
    or a callable. ``norm_first=True`` gives the pre-norm variant.

    ``src_mask`` (S, S) or (N*nhead, S, S) and ``src_key_padding_mask`` (N, S) follow
    MultiheadAttention's convention: boolean True marks a position that may *not* be
    attended to, float masks are added to the scores.
    """

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048, dropout: float = 0.1,
                 activation: str | Callable[[Tensor], Tensor] = "relu", layer_norm_eps: float = 1e-5,
                 batch_first: bool = False, norm_first: bool = False, bias: bool = True,
                 device: str | None = None, dtype: Any = None) -> None:
        super().__init__()
        kw = {"device": device, "dtype": dtype}
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                            batch_first=batch_first, **kw)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, **kw)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, **kw)
        self.norm_first = bool(norm_first)
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        if isinstance(activation, str):
            if activation not in _ACTIVATIONS:
                raise ArgumentError(f"TransformerEncoderLayer: activation should be relu or gelu, "
                                    f"not {activation!r}")
            self.activation_name, activation = activation, _ACTIVATIONS[activation]
        else:
            self.activation_name = getattr(activation, "__name__", type(activation).__name__)
        self.activation = activation

    def forward(self, src: Tensor, src_mask: Any = None, src_key_padding_mask: Any = None,
                is_causal: bool = False) -> Tensor:
        x = src
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            x = x + self._ff_block(self.norm2(x))
        else:
            x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask, is_causal))
            x = self.norm2(x + self._ff_block(x))
        return x

    def _sa_block(self, x: Tensor, attn_mask: Any, key_padding_mask: Any, is_causal: bool) -> Tensor:
        x = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                           need_weights=False, is_causal=is_causal)[0]
        return self.dropout1(x)

    def _ff_block(self, x: Tensor) -> Tensor:
        x = self.linear2(self.dropout(self.activation(self.linear1(x))))
        return self.dropout2(x)
