"""The text-to-image GAN's generator and discriminator (32x32 RGB).

Generator: noise z (N, Z) and sentence vector s (N, E), optionally the token states
(N, T, D) for cross-attention; ``g`` = ``ngf``::

    [mapping: (Linear(Z + E -> Z + E) -> LeakyReLU(0.2)) x M]                     (N, Z + E)
    Linear(Z + E -> 4*4*4g) -> (N, 4g, 4, 4) -> CBN(s) -> ReLU                    4x4
    ConvTranspose2d(4g -> 2g, k4, s2, p1) -> CBN(s) -> ReLU                       8x8
    [CrossAttention2d(2g, tokens)]                                                8x8
    ConvTranspose2d(2g -> g, k4, s2, p1) -> CBN(s) -> ReLU                        16x16
    [CrossAttention2d(g, tokens)]                                                 16x16
    ConvTranspose2d(g -> 3, k4, s2, p1) -> tanh                                   32x32

The optional mapping network (``mapping`` = M layers, StyleGAN's idea on [z, s]) lets the
noise choose between discrete things (where an unstated position puts the object) through
a non-linear map before the first layer: without it the 4x4 layout is a linear function of
z cut by one ReLU, and noises between two choices draw both (two blobs).
CBN is :class:`ConditionalBatchNorm2d` (scale and shift from s). Without a sentence (stage 1
of training: unconditional) the generator uses a learned constant vector in place of s and
skips the cross-attention.

Discriminator, ``d`` = ``ndf``::

    Conv2d(3 -> d, k4, s2, p1) -> LeakyReLU(0.2)                                  16x16
    Conv2d(d -> 2d, k4, s2, p1) -> LeakyReLU(0.2)                                 8x8
    Conv2d(2d -> 4d, k4, s2, p1) -> LeakyReLU(0.2) -> Flatten                     4x4
    Linear(4d*16 -> F) -> LeakyReLU(0.2)                                          phi(x), (N, F)

    realism(x)  = w . phi(x) + b                                                  (N,)
    matching(x, s):  "projection"  <phi(x), V s>       (Miyato & Koyama 2018)
                     "concat"      MLP([phi(x), s])     (Reed et al. 2016)
                     "both"        the sum of the two

The score of a pair is realism + matching (the projection discriminator's sum); stage 1 uses
realism alone. No normalisation in D, so gradient penalties (MA-GP) are per sample.
Initialisation: DCGAN's N(0, 0.02) for conv and linear weights, zero biases.
"""
from __future__ import annotations

import numpy as np

from .. import functional as F, nn
from ..autograd import Tensor, no_grad
from ..errors import ArgumentError, ShapeError
from ..ops.shape import concat, expand, reshape
from .conditioning import ConditionalBatchNorm2d, CrossAttention2d

MATCHING = ("projection", "concat", "both")


def init_normal_(model: nn.Module, std: float = 0.02) -> nn.Module:
    """N(0, std) weights and zero biases for every conv and linear layer of ``model`` that is
    not inside a conditioning block (those initialise themselves)."""
    skip = set()
    for module in model.modules():
        if isinstance(module, (ConditionalBatchNorm2d, CrossAttention2d)):
            skip.update(id(m) for m in module.modules())
    with no_grad():
        for module in model.modules():
            if id(module) in skip or not isinstance(
                    module, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
                continue
            nn.init.normal_(module.weight, 0.0, std)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
    return model


class Text2ImgGenerator(nn.Module):
    """(z, sentence, tokens, padding mask) -> images (N, 3, 32, 32) in [-1, 1]."""

    def __init__(self, z_dim: int = 64, cond_dim: int = 64, text_dim: int = 64, ngf: int = 32,
                 cross_attention: bool = True, attention_heads: int = 2,
                 mapping: int = 0) -> None:
        super().__init__()
        self.z_dim, self.cond_dim, self.text_dim, self.ngf = z_dim, cond_dim, text_dim, ngf
        self.cross_attention = bool(cross_attention)
        g, width = ngf, z_dim + cond_dim
        layers = []
        for _ in range(mapping):
            layers += [nn.Linear(width, width), nn.LeakyReLU(0.2)]
        self.mapping = nn.Sequential(*layers) if layers else None
        self.project = nn.Linear(width, 4 * 4 * 4 * g)
        self.norm0 = ConditionalBatchNorm2d(4 * g, cond_dim)
        self.up1 = nn.ConvTranspose2d(4 * g, 2 * g, 4, stride=2, padding=1, bias=False)
        self.norm1 = ConditionalBatchNorm2d(2 * g, cond_dim)
        self.up2 = nn.ConvTranspose2d(2 * g, g, 4, stride=2, padding=1, bias=False)
        self.norm2 = ConditionalBatchNorm2d(g, cond_dim)
        self.to_rgb = nn.ConvTranspose2d(g, 3, 4, stride=2, padding=1)
        if self.cross_attention:
            self.attend8 = CrossAttention2d(2 * g, text_dim, attention_heads)
            self.attend16 = CrossAttention2d(g, text_dim, attention_heads)
        # the sentence vector of stage 1 (no text): learned, like any weight
        self.null_sentence = nn.Parameter(np.zeros(cond_dim, dtype=self.project.weight.dtype))
        init_normal_(self)
        if self.mapping is not None:  # PyTorch's default init: N(0, 0.02) would shrink [z, s]
            for layer in self.mapping:
                if isinstance(layer, nn.Linear):
                    layer.reset_parameters()

    def forward(self, z: Tensor, sentence: Tensor | None = None, tokens: Tensor | None = None,
                padding_mask=None) -> Tensor:
        n = z.shape[0]
        if z.ndim != 2 or z.shape[1] != self.z_dim:
            raise ShapeError(f"Text2ImgGenerator: expected z of shape (N, {self.z_dim}), "
                             f"got {z.shape}")
        if sentence is None:
            sentence = expand(reshape(self.null_sentence, (1, self.cond_dim)), n, self.cond_dim)
        elif sentence.shape != (n, self.cond_dim):
            raise ShapeError(f"Text2ImgGenerator: expected a sentence vector of shape "
                             f"({n}, {self.cond_dim}), got {sentence.shape}")
        attend = self.cross_attention and tokens is not None
        code = concat([z, sentence], 1)
        if self.mapping is not None:
            code = self.mapping(code)
        h = reshape(self.project(code), (n, 4 * self.ngf, 4, 4))
        h = F.relu(self.norm0(h, sentence))
        h = F.relu(self.norm1(self.up1(h), sentence))
        if attend:
            h = self.attend8(h, tokens, padding_mask)
        h = F.relu(self.norm2(self.up2(h), sentence))
        if attend:
            h = self.attend16(h, tokens, padding_mask)
        return F.tanh(self.to_rgb(h))


class Text2ImgDiscriminator(nn.Module):
    """images (N, 3, 32, 32) -> features; ``realism`` and ``matching`` logits (N,)."""

    def __init__(self, ndf: int = 32, cond_dim: int = 64, feature_dim: int = 256,
                 matching: str = "projection", contrastive_dim: int = 0) -> None:
        super().__init__()
        if matching not in MATCHING:
            raise ArgumentError(f"Text2ImgDiscriminator: matching must be one of {MATCHING}, "
                                f"got {matching!r}")
        d = ndf
        self.matching_kind = matching
        self.body = nn.Sequential(
            nn.Conv2d(3, d, 4, stride=2, padding=1), nn.LeakyReLU(0.2),
            nn.Conv2d(d, 2 * d, 4, stride=2, padding=1), nn.LeakyReLU(0.2),
            nn.Conv2d(2 * d, 4 * d, 4, stride=2, padding=1), nn.LeakyReLU(0.2),
            nn.Flatten(),
            nn.Linear(4 * d * 16, feature_dim), nn.LeakyReLU(0.2),
        )
        self.realism_head = nn.Linear(feature_dim, 1)
        if matching in ("projection", "both"):
            self.project_sentence = nn.Linear(cond_dim, feature_dim, bias=False)
        if matching in ("concat", "both"):
            self.joint = nn.Sequential(nn.Linear(feature_dim + cond_dim, feature_dim),
                                       nn.LeakyReLU(0.2), nn.Linear(feature_dim, 1))
        self.contrastive_dim = int(contrastive_dim)
        if self.contrastive_dim:    # image and sentence embeddings compared by cosine
            self.embed_image = nn.Linear(feature_dim, self.contrastive_dim, bias=False)
            self.embed_sentence = nn.Linear(cond_dim, self.contrastive_dim, bias=False)
        init_normal_(self)

    def features(self, x: Tensor) -> Tensor:
        if x.ndim != 4 or x.shape[1:] != (3, 32, 32):
            raise ShapeError(f"Text2ImgDiscriminator: expected images of shape (N, 3, 32, 32), "
                             f"got {x.shape}")
        return self.body(x)

    def realism(self, phi: Tensor) -> Tensor:
        return reshape(self.realism_head(phi), (phi.shape[0],))

    def matching(self, phi: Tensor, sentence: Tensor) -> Tensor:
        score = None
        if self.matching_kind in ("projection", "both"):
            score = (phi * self.project_sentence(sentence)).sum(1)
        if self.matching_kind in ("concat", "both"):
            joint = reshape(self.joint(concat([phi, sentence], 1)), (phi.shape[0],))
            score = joint if score is None else score + joint
        return score

    def similarity(self, phi: Tensor, sentences: Tensor) -> Tensor:
        """(N, M) cosine similarities of every image (features ``phi`` (N, F)) with every
        sentence (M, E), in embeddings of ``contrastive_dim``: cos(U phi_i, W s_j), the
        scores of XMC-GAN's image-sentence contrastive loss (Zhang et al. 2021)."""
        if not self.contrastive_dim:
            raise ArgumentError("Text2ImgDiscriminator: built without contrastive heads "
                                "(contrastive_dim=0)")
        a, b = _unit_rows(self.embed_image(phi)), _unit_rows(self.embed_sentence(sentences))
        return a @ b.transpose(0, 1)

    def score(self, phi: Tensor, sentence: Tensor | None = None) -> Tensor:
        """The score of each pair from image features ``phi``: realism + matching (realism
        alone without a sentence)."""
        realism = self.realism(phi)
        return realism if sentence is None else realism + self.matching(phi, sentence)

    def forward(self, x: Tensor, sentence: Tensor | None = None) -> Tensor:
        """The score of each (image, sentence) pair (see :meth:`score`)."""
        return self.score(self.features(x), sentence)


def _unit_rows(x: Tensor, eps: float = 1e-8) -> Tensor:
    """Each row of x (N, D) divided by its Euclidean length (sqrt(|x|^2 + eps), smooth at 0)."""
    return x / ((x * x).sum(1, keepdim=True) + eps).sqrt()
