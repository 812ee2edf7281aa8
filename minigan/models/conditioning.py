"""How text enters the generator: conditional batch norm (FiLM) and cross-attention.

Notation: N batch, C channels, H x W the feature map, E the width of the conditioning vector,
T tokens of width D.

ConditionalBatchNorm2d (de Vries et al. 2017; FiLM, Perez et al. 2018; DF-GAN's affine
fusion) normalises without its own scale and shift, then takes them from the sentence vector:

    y = BN(x) * (1 + gamma(s)) + beta(s)            gamma, beta: Linear(E -> C), per sample

CrossAttention2d lets every pixel of a feature map read the word states (AttnGAN's word
attention, GigaGAN's cross-attention), with a residual whose gate starts at zero, so the block
starts as the identity (SAGAN's gamma):

    q  = LayerNorm(x as (N, H*W, C))
    x' = x + gate * MultiheadAttention(q, tokens, tokens, key_padding_mask)   reshaped to (N, C, H, W)
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .. import nn
from ..autograd import Tensor
from ..ops.shape import reshape, transpose


class ConditionalBatchNorm2d(nn.Module):
    """Batch norm whose per-channel scale and shift are linear functions of a condition."""

    def __init__(self, num_features: int, cond_dim: int, momentum: float | None = 0.1) -> None:
        super().__init__()
        self.num_features = int(num_features)
        self.bn = nn.BatchNorm2d(num_features, affine=False, momentum=momentum)
        self.gamma = nn.Linear(cond_dim, num_features)
        self.beta = nn.Linear(cond_dim, num_features)
        for layer in (self.gamma, self.beta):  # start as plain batch norm: scale 1, shift 0
            nn.init.normal_(layer.weight, 0.0, 0.02)
            nn.init.zeros_(layer.bias)

    def forward(self, x: Tensor, cond: Tensor) -> Tensor:
        n, c = x.shape[0], self.num_features
        scale = reshape(self.gamma(cond) + 1.0, (n, c, 1, 1))
        shift = reshape(self.beta(cond), (n, c, 1, 1))
        return self.bn(x) * scale + shift


class CrossAttention2d(nn.Module):
    """Residual multi-head attention from a feature map (queries) to token states."""

    def __init__(self, channels: int, context_dim: int, num_heads: int = 2) -> None:
        super().__init__()
        self.channels = int(channels)
        self.norm = nn.LayerNorm(channels)
        self.attention = nn.MultiheadAttention(channels, num_heads, kdim=context_dim,
                                               vdim=context_dim, batch_first=True)
        self.gate = nn.Parameter(np.zeros((), dtype=self.norm.weight.dtype))

    def forward(self, x: Tensor, tokens: Tensor, padding_mask: Any = None) -> Tensor:
        n, c, h, w = x.shape
        queries = self.norm(transpose(reshape(x, (n, c, h * w)), 1, 2))       # (N, HW, C)
        read, _ = self.attention(queries, tokens, tokens, key_padding_mask=padding_mask,
                                 need_weights=False)
        return x + self.gate * reshape(transpose(read, 1, 2), (n, c, h, w))
