"""Training the text-to-image GAN: its settings, the losses and one step, on the shared run loop
(:mod:`minigan.training.loop`: progress bar, JSON log, sample grids, checkpoints, exact
resume, Ctrl-C), so ``Text2ImgTrainer(Text2ImgConfig(steps=500)).run()`` trains into
``runs/text2img`` and ``minigan train text2img`` is the same run on the command line.

One step of stage 2 (text), batch of B captioned images x with captions c:

1. **D update.** Sentence vectors s = E_D(c) and s' = E_D(c') of mismatched captions c'
   (random captions false of the image, or with probability ``hard_negatives`` the true
   caption with one stated attribute changed). Fakes x~ = G(z, E_G(c)) without gradient. With
   score(x, s) = realism(x) + matching(x, s) (the projection discriminator) and the hinge loss:

       L_D = relu(1 - score(x, s)) + (1 - w) relu(1 + score(x~, s)) + w relu(1 + score(x, s'))

   averaged over the batch, w = ``mismatch`` (DF-GAN: 1/2), plus ``contrastive`` times the
   image-sentence contrastive loss of XMC-GAN (:func:`contrastive_loss`: each real image must
   pick its own caption among the batch's, by cosine similarity of two small embeddings of
   phi(x) and s; the other captions true of the image are left out). Optional MA-GP (DF-GAN)
   on the real pairs, through double backward:  k * mean(||(d score/dx, d score/ds)||^p).
2. **G update.** B/2 captions, each with two noises z1, z2 (so the batch is B):

       L_G = -score(G(z, s_G), s_D) + lambda * 1 / (d(G(z1), G(z2)) / d(z1, z2) + 1e-5)
             + g_contrastive * InfoNCE(fake images, their captions against changed ones)

   (``g_contrastive`` defaults to ``contrastive``); the second term is the mode-seeking loss
   (Mao et al. 2019: a caption's images must move with its noise), d the mean absolute
   difference per pair; the third asks D's embeddings to tell each fake's caption from the
   same caption with one stated attribute changed (``g_negatives="changed"``, see
   :meth:`Text2ImgTrainer.changed_candidates`), or with ``"batch"`` to pick, among the
   batch's captions, one that could be true of it (see :func:`contrastive_loss`).
   Measured (one seed each unless said, 'minigan eval' with 2,000 captions, 6,000 steps):
   weight 2 with changed captions, whole seen captions 0.956 and held-out pairs 0.954 with
   4.1 colours and 3.7 positions over 8 samples of a partial caption; weight 1 with the
   batch's captions 0.957 / 0.939 (3.7 and 3.5; a second seed 0.951 / 0.914), weight 2 with
   them 0.971 / 0.959 but 2.7 positions; without the term 0.941 / 0.913 (8,000 steps).
   lambda = 0.3 keeps the unstated attributes varied (with 0.1, 2.4 positions at 2,000
   steps, and that run diverged at 3,000). With MSGAN's lambda = 1 and no contrastive term
   the cheapest way for G to follow the noise was to change the colour (colour at chance at
   1,000 steps).
3. The EMA copies of G and its text encoder move towards the trained ones
   (decay min(ema, (1 + t)/(10 + t))). Before the EMA generator samples, its BatchNorm
   statistics are re-estimated on ``ema_bn_batches`` batches of training captions (the
   running statistics of G belong to G's weights, not to their average).

Both learning rates stay constant to ``lr_decay_start`` of the run (default half-way), then
fall linearly, reaching 0 at the end of the run (the same 6,000-step run without the decay scored 0.94 /
0.87 at 4,000 steps and no better later).

Stage 1 (the first ``pretrain_steps`` steps) is the same without text: G reads a learned
constant in place of the sentence vector and skips cross-attention, D scores realism only.
Stage 2 continues from stage 1's weights (and optimizer states).

Text encoders: ``text_encoder="shared"`` (default) trains one encoder with D's loss, and G
reads its states without gradient (G cannot reshape the text space to fool D);
``"separate"`` gives G its own encoder, trained with G's loss.

Randomness: every draw of step t (the batch, the negatives, the noises) comes from one NumPy
generator seeded with (seed, t) (:func:`step_generator`), and the weights are initialised from
``seed`` (the loop's ``init_random``) without touching any other generator. Nothing else in
the step is random (no dropout; the loop's own per-step generators are seeded but not drawn
from), so the step number is the whole random state: resuming is exact on any device, in
either stage and across the boundary between them.

Sampling: :meth:`Text2ImgTrainer.sample` (prompts and noise), :meth:`~Text2ImgTrainer.noise`
(optionally truncated: entries with |z| > T are redrawn until none is left),
:meth:`~Text2ImgTrainer.interpolate` (a row that morphs from one caption to another with one
noise: the sentence vectors are blended linearly; the token states too when both captions have
the same words' positions, else each image takes the nearer caption's tokens and mask). The
run's sample grids are :data:`GRID_PROMPTS`, one row of 8 each (the same 8 noises in every
row), the caption written beside its row.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, ClassVar, Sequence

import numpy as np

from .. import backend, images as pictures
from ..autograd import Tensor, grad, no_grad
from ..data.captioned_digits import CaptionedDigits
from ..data.shapes import Shapes
from ..data.tokenizer import Tokenizer
from ..errors import ArgumentError, CheckpointError
from ..functional import binary_cross_entropy_with_logits, relu
from ..models.text2img import MATCHING, Text2ImgDiscriminator, Text2ImgGenerator
from ..models.text_encoder import POOLS, TextEncoder
from ..nn import BatchNorm2d, Module
from ..ops.elementwise import abs as tensor_abs
from ..ops.reductions import logsumexp
from ..ops.shape import concat
from .helpers import (copy_module_, ema_decay, frozen, linear_decay, set_learning_rate,
                      update_ema)
from .loop import RunConfig, Trainer
from .options import check_float

CHECKPOINT_KIND = "text2img"
DATA_SETS = ("shapes", "digits")
LOSSES = ("hinge", "bce")
TEXT_ENCODERS = ("shared", "separate")
G_NEGATIVES = ("batch", "changed")   # the captions G's contrastive term contrasts a fake with
POSITIVES = ("sum", "max")           # ... and how it counts a set of positives (set_infonce)
FAKES = ("separate", "shared")       # D's fakes: a G pass of their own, or G's step's images
CAPTION_LENGTH = 8        # the longest caption of both data sets, in words
NOISE_STREAM = 2**31      # the seed stream of fixed sampling noise (beside the steps' streams)
BN_STREAM = 2**31 + 1     # ... and of the BatchNorm re-estimation batches
# ``minigan train text2img --quick``: a short run that shows the idea (see its --help for the
# measured time); options given beside --quick override these. The default model, 300 steps
# (its rate decay over the last 150), with the earlier contrastive settings (weight 1, the
# batch's captions as G's negatives): measured (one seed; 'minigan eval', 500 captions): seen
# captions 0.91 whole, held-out pairs 0.77, diversity ratio 0.98, in 62 s of CPU time. The
# full run's settings (weight 2, changed captions) pay off later: at 300 steps they scored
# 0.82 / 0.75 (3.2 colours and 3.8 positions of 8 against 2.2-2.6 colours), and the mapping
# network 0.85 / 0.55 against 0.89 / 0.65 (2026-12-03, after a conv kernel change that
# rounds differently: 300-step runs vary that much), so --quick has none; it keeps G's
# earlier width 32 too (the numbers above; 48 costs 1.2x CPU time a step). With the first
# defaults (no contrastive term, no decay, diversity 0.1): 0.64 and 0.22. Without the
# diversity term colour was no better and the samples collapsed (diversity ratio 0.28
# against 0.94 at 300 steps, half widths).
QUICK_SETTINGS = {"steps": 300, "sample_every": 50, "checkpoint_every": 100,
                  "out": "runs/text2img_quick", "contrastive": 1.0, "g_negatives": "batch",
                  "mapping": 0, "ngf": 32}
GRID_COLUMNS = 8          # samples per prompt in a run's sample grids
# The prompts of a run's sample grids, one row each: stated and partial captions, and (shapes)
# the held-out colour-shape pairs of the zero-shot test ("a green triangle", ...).
GRID_PROMPTS = {
    "shapes": ("a large red circle in the top left", "a small blue square in the bottom right",
               "a large white triangle in the center", "a small yellow circle in the top right",
               "a magenta triangle in the bottom left", "a cyan square",
               "a green triangle", "a blue circle", "a yellow square",
               "a circle", "a large square", "a triangle in the center"),
    "digits": tuple(f"the digit {w}" for w in ("zero", "one", "two", "three", "four", "five",
                                                "six", "seven", "eight", "nine")),
}


@dataclasses.dataclass
class Text2ImgConfig(RunConfig):
    """Everything that defines a text-to-image run (saved in its checkpoints): the run loop's
    settings (:class:`minigan.training.loop.RunConfig`) and the model's. ``lr``, when given,
    sets both ``lr_g`` and ``lr_d`` (the loop's shared option); by default each network has
    its own."""
    # checkpoints written before these fields existed were trained without them
    ABSENT_MEANS: ClassVar[dict] = {"contrastive": 0.0, "lr_decay_start": 1.0,
                                    "g_negatives": "batch", "mapping": 0, "g_positives": "sum",
                                    "fakes": "separate"}
    data: str = "shapes"             # "shapes" or "digits"
    # 5,000 steps of the 48-wide G: about 28.5 minutes of stepping on 2 threads against 25.4
    # for 6,000 of the 32-wide one (a step costs 1.2x CPU time, 1.35x on 2 threads); see ``ngf``
    steps: int = 5000                # total steps, both stages
    out: str = "runs/text2img"
    sample_every: int = 250
    checkpoint_every: int = 500
    lr: float | None = None          # both networks' learning rate (None: lr_g and lr_d)
    pretrain_steps: int = 0          # stage 1: unconditional steps before the text comes in
    batch_size: int = 64
    # Rates 1e-3 and EMA 0.99 (5x DCGAN's 2e-4, and a shorter average): at 2e-4 / 0.999 the
    # default model scored whole seen captions 0.34, 0.65, 0.83 at 1,000, 2,000, 3,000 steps
    # (held-out 0.03, 0.21, 0.30); at 1e-3 / 0.99 it scored 0.76 at 500 steps (held-out 0.45)
    # and 0.84 at 600 (held-out 0.74) in two runs, with 3 to 4.5 colours over 8 samples of a
    # caption that leaves colour out (1.4 at 2e-4, 3,000 steps). docs/text2img.md has the table.
    lr_g: float = 1e-3
    lr_d: float = 1e-3
    betas: tuple = (0.5, 0.999)
    lr_decay_start: float = 0.5      # from this fraction of --steps both rates fall linearly to 0
    loss: str = "hinge"              # "hinge" or "bce"
    z_dim: int = 32
    text_dim: int = 64               # the encoder's width = the sentence vector's
    text_layers: int = 2
    text_heads: int = 4
    text_ff: int = 128
    pool: str = "mean"               # sentence vector: "mean" of the words, or a "cls" token
    text_encoder: str = "shared"     # "shared" (trained by D) or "separate" (one per network)
    # G's width. 48 at 5,000 steps against 32 at 6,000 (near wall time; eval 2,000, seed 0):
    # whole seen captions 0.970 against 0.955 (32, seed 1: 0.961), held-out pairs 0.958
    # against 0.949 (0.928), one object 0.965 against 0.960 (0.949); stated positions 0.994
    # against 0.976 (docs/text2img.md, "The default model")
    ngf: int = 48
    # layers of G's mapping network on [z, s] (0: none). 2 (6,000 steps, eval 2,000): one
    # object in 0.960 of seen images (0.943 where the position is open) against 0.928 (0.865)
    # without, whole captions 0.955 against 0.956, 3.9 positions of 8 against 3.7; stated
    # positions 0.976 against 0.999 (docs/text2img.md, "The default model")
    mapping: int = 2
    ndf: int = 32
    d_features: int = 256
    cross_attention: bool = False
    attention_heads: int = 2
    matching: str = "projection"     # "projection", "concat" or "both"
    mismatch: float = 0.5            # weight w of the (real, wrong caption) term in L_D
    hard_negatives: float = 0.5      # the share of wrong captions that differ in one attribute
    magp: float = 0.0                # MA-GP weight k (0: off)
    magp_power: float = 6.0          # MA-GP exponent p
    diversity: float = 0.3           # mode-seeking weight lambda (0: off); see the module doc
    contrastive: float = 2.0         # weight of the image-sentence contrastive loss (0: off)
    g_contrastive: float | None = None  # G's weight of it (None: ``contrastive``; 0: D only)
    g_negatives: str = "changed"     # G's negatives: the "batch"'s captions or "changed" ones
    g_positives: str = "sum"         # ... its completions as positives: their "sum" or "max"
    fakes: str = "separate"          # D's fakes: "separate" (a G pass of their own) or "shared"
    contrastive_dim: int = 64        # ... its embedding width
    temperature: float = 0.1         # ... and its softmax temperature
    ema: float = 0.99                # EMA decay of G and its text encoder (0: off)
    ema_bn_batches: int = 8          # batches that re-estimate the EMA generator's BatchNorm
    p_state: float = 0.5             # probability that a caption states size / color / position
    seed: int = 0
    device: str = "cpu"

    def validate(self) -> "Text2ImgConfig":
        def option(name: str) -> str:
            return "--" + name.replace("_", "-")
        if self.lr is not None:     # the shared option: both networks
            self.lr_g = self.lr_d = check_float("lr", self.lr, low=0.0, low_open=True)
        shared_lr, self.lr = self.lr, self.lr_g   # RunConfig checks lr as a number
        try:
            super().validate()      # steps, batch_size, seed, ema, device, out, ...
        finally:
            self.lr = shared_lr
        for name, allowed in (("data", DATA_SETS), ("loss", LOSSES), ("pool", POOLS),
                              ("text_encoder", TEXT_ENCODERS), ("matching", MATCHING),
                              ("g_negatives", G_NEGATIVES), ("g_positives", POSITIVES),
                              ("fakes", FAKES)):
            if getattr(self, name) not in allowed:
                raise ArgumentError(f"{option(name)}: must be one of {', '.join(allowed)}, "
                                    f"got {getattr(self, name)!r}")
        for name in ("z_dim", "text_dim", "text_layers", "text_heads", "text_ff", "ngf", "ndf",
                     "d_features", "attention_heads", "ema_bn_batches", "contrastive_dim"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ArgumentError(f"{option(name)}: must be an int >= 1, got {value!r}")
            setattr(self, name, int(value))
        if self.batch_size % 2:
            raise ArgumentError(f"--batch-size: must be even (the diversity term pairs "
                                f"samples), got {self.batch_size}")
        if isinstance(self.pretrain_steps, bool) or not isinstance(
                self.pretrain_steps, (int, np.integer)) or \
                not 0 <= self.pretrain_steps <= self.steps:
            raise ArgumentError(f"--pretrain-steps: must be in [0, --steps={self.steps}], "
                                f"got {self.pretrain_steps}")
        self.pretrain_steps = int(self.pretrain_steps)
        if isinstance(self.mapping, bool) or not isinstance(self.mapping, (int, np.integer)) \
                or self.mapping < 0:
            raise ArgumentError(f"--mapping: must be an int >= 0 (layers of G's mapping "
                                f"network), got {self.mapping!r}")
        self.mapping = int(self.mapping)
        for name in ("lr_g", "lr_d"):
            setattr(self, name, check_float(name, getattr(self, name), low=0.0, low_open=True))
        for name in ("mismatch", "hard_negatives", "p_state", "lr_decay_start"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ArgumentError(f"{option(name)}: must be in [0, 1], got {getattr(self, name)}")
        if not self.temperature > 0:
            raise ArgumentError(f"--temperature: must be > 0, got {self.temperature}")
        if self.g_contrastive is not None:
            self.g_contrastive = check_float("g_contrastive", self.g_contrastive, low=0.0)
        for name in ("magp", "diversity", "contrastive"):
            if getattr(self, name) < 0:
                raise ArgumentError(f"{option(name)}: must be >= 0, got {getattr(self, name)}")
        if not self.magp_power >= 2:
            raise ArgumentError(f"--magp-power: must be >= 2 (smooth at zero), got {self.magp_power}")
        if self.text_dim % self.text_heads or self.text_dim % 2:
            raise ArgumentError(f"--text-dim: {self.text_dim} must be even and divisible by "
                                f"--text-heads {self.text_heads}")
        if len(self.betas) != 2:
            raise ArgumentError(f"--betas: give two numbers, got {self.betas!r}")
        self.betas = tuple(check_float("betas", b, 0.0, 1.0, high_open=True) for b in self.betas)
        self.cross_attention = bool(self.cross_attention)
        return self


# ---------------------------------------------------------------------------- randomness


def step_generator(seed: int, step: int) -> np.random.Generator:
    """The generator of every random draw of step ``step`` of a run seeded ``seed`` (the one
    place a step's randomness comes from)."""
    return np.random.default_rng([int(seed), int(step)])


def truncated_normal(rng: np.random.Generator, shape: tuple, threshold: float | None = None
                     ) -> np.ndarray:
    """float32 draws from N(0, 1); with ``threshold`` T > 0 each entry with |z| > T is drawn
    again until none is left (the truncation trick of BigGAN: more typical images, less
    variety). Without T the same numbers as ``rng.standard_normal(shape)``."""
    if threshold is not None and not threshold > 0:
        raise ArgumentError(f"--truncation: must be > 0, got {threshold}")
    z = rng.standard_normal(shape).astype(np.float32)
    if threshold is not None:
        outside = np.abs(z) > threshold
        while outside.any():
            z[outside] = rng.standard_normal(int(outside.sum())).astype(np.float32)
            outside = np.abs(z) > threshold
    return z


def make_data(config: Text2ImgConfig, split: str = "train"):
    """The captioned data set of a config (``split``: "train", "heldout" or "all" for shapes)."""
    if config.data == "digits":
        return CaptionedDigits("train" if split == "train" else "test", seed=config.seed)
    return Shapes(split, p_state=config.p_state, seed=config.seed)


# ---------------------------------------------------------------------------- loss pieces


def _targets(score: Tensor, value: float) -> Tensor:
    return Tensor._wrap(backend.get_array_module(score.data).full(score.shape, value, score.dtype))


def real_loss(score: Tensor, kind: str) -> Tensor:
    """D's loss on pairs that should score high: hinge relu(1 - s) or BCE -log sigmoid(s)."""
    if kind == "hinge":
        return relu(1.0 - score).mean()
    return binary_cross_entropy_with_logits(score, _targets(score, 1.0))


def fake_loss(score: Tensor, kind: str) -> Tensor:
    """D's loss on pairs that should score low: hinge relu(1 + s) or BCE -log(1 - sigmoid(s))."""
    if kind == "hinge":
        return relu(1.0 + score).mean()
    return binary_cross_entropy_with_logits(score, _targets(score, 0.0))


def generator_loss(score: Tensor, kind: str) -> Tensor:
    """G's loss: hinge -s, or the non-saturating BCE -log sigmoid(s)."""
    if kind == "hinge":
        return -score.mean()
    return binary_cross_entropy_with_logits(score, _targets(score, 1.0))


def mode_seeking_loss(images: Tensor, z: np.ndarray, eps: float = 1e-5) -> Tensor:
    """1 / (d_img / d_z + eps) averaged over pairs: images[i] and images[i + B/2] share a
    caption and differ in noise; d is the mean absolute difference of a pair."""
    half = images.shape[0] // 2
    d_img = tensor_abs(images[:half] - images[half:]).mean((1, 2, 3))
    d_z = np.abs(z[:half] - z[half:]).mean(1).astype(images.dtype)
    ratio = d_img / Tensor(backend.to_device(d_z, images.device))
    return (1.0 / (ratio + eps)).mean()


def contrastive_loss(similarity: Tensor, positives: np.ndarray | None = None,
                     leave_out: np.ndarray | None = None, temperature: float = 0.1) -> Tensor:
    """InfoNCE over a batch (XMC-GAN's image-sentence loss): row i of ``similarity`` (N, N)
    holds image i against every caption of the batch, its own caption on the diagonal;

        L = mean_i [ log sum_{j kept} exp(sim_ij / T) - log sum_{j positive} exp(sim_ij / T) ]

    The diagonal is always positive; ``positives[i, j]`` makes caption j a positive of image i
    too, ``leave_out[i, j]`` drops it from row i (bool (N, N) masks). Captions also true of an
    image (as "a circle" is of the image of "a red circle in the center") must not be
    negatives: D leaves them out (its own caption must win, which teaches every word), G counts
    them as positives (any true caption may win; with its own caption alone as the positive
    every image of "a circle" went where it looked most like the bare words: 1.8-2.7 positions
    over 8 samples at 1,000-2,000 steps, against 4.0 for real renders)."""
    n = similarity.shape[0]
    own = np.eye(n, dtype=bool)
    positive = own if positives is None else own | np.asarray(positives, bool)
    kept = np.ones((n, n), bool) if leave_out is None else ~np.asarray(leave_out, bool) | own
    return set_infonce(similarity, positive, kept, temperature)


def set_infonce(similarity: Tensor, positive: np.ndarray, kept: np.ndarray,
                temperature: float = 0.1, positives: str = "sum") -> Tensor:
    """InfoNCE with a set of positives: row i of ``similarity`` (N, M) holds image i against
    M captions, ``positive`` and ``kept`` (bool (N, M), every row's positives among its kept
    captions, at least one) say which;

        L = mean_i [ log sum_{j kept} exp(sim_ij / T) - log sum_{j positive} exp(sim_ij / T) ]

    ``positives="max"`` takes the best positive alone in the second term, max_{j positive}
    sim_ij / T (multiple-instance learning: the image must match one of its positives fully;
    the others stay in the first sum, so matching two halfway scores worse than one)."""
    def masked(mask: np.ndarray) -> Tensor:
        bias = np.where(mask, 0.0, -1e4).astype(similarity.dtype)
        return Tensor._wrap(backend.to_device(bias, similarity.device))
    logits = similarity / temperature
    best = logits + masked(positive)
    best = logsumexp(best, 1) if positives == "sum" else best.amax(1)
    return (logsumexp(logits + masked(kept), 1) - best).mean()


def true_of(labels: np.ndarray, stated: np.ndarray) -> np.ndarray:
    """bool (N, N): caption j (``labels[j]`` where ``stated[j]``) is true of image i (whose
    attributes are all of ``labels[i]``)."""
    return np.all(~stated[None, :, :] | (labels[None, :, :] == labels[:, None, :]), axis=-1)


def compatible(labels: np.ndarray, stated: np.ndarray) -> np.ndarray:
    """bool (N, N): caption j could be true of an image drawn for caption i: every attribute j
    states is left out by i or stated with the same value."""
    agree = ~stated[None, :, :] | ~stated[:, None, :] | (labels[None, :, :] == labels[:, None, :])
    return np.all(agree, axis=-1)


def matching_aware_penalty(score: Tensor, images: Tensor, sentences: Tensor | None,
                           power: float) -> Tensor:
    """MA-GP (Tao et al. 2022, DF-GAN): mean over pairs of ||(d score/d x, d score/d s)||^p,
    with a graph (create_graph), so its gradient trains D through double backward. Written
    as (||g||^2)^(p/2), smooth at g = 0 for p >= 2."""
    wrt = [images] if sentences is None else [images, sentences]
    grads = grad(score.sum(), wrt, create_graph=True)
    squared = (grads[0] * grads[0]).sum((1, 2, 3))
    if sentences is not None:
        squared = squared + (grads[1] * grads[1]).sum(1)
    return (squared ** (power / 2)).mean()


def reestimate_batchnorm_(model: Module, batches: Sequence[tuple]) -> None:
    """Recompute the running statistics of every BatchNorm in ``model`` as the plain average
    over ``batches`` (each the argument tuple of one forward call), without gradients."""
    norms = [m for m in model.modules() if isinstance(m, BatchNorm2d)]
    momenta = [m.momentum for m in norms]
    was_training = model.training
    for m in norms:
        m.reset_running_stats()
        m.momentum = None          # cumulative average over the batches
    model.train()
    with no_grad():
        for args in batches:
            model(*args)
    for m, momentum in zip(norms, momenta):
        m.momentum = momentum
    model.train(was_training)



# ---------------------------------------------------------------------------- the trainer


class Text2ImgTrainer(Trainer):
    """The text-to-image GAN on the shared run loop.

    >>> trainer = Text2ImgTrainer(Text2ImgConfig(steps=2, batch_size=8))
    >>> stats = trainer.train_step()          # {"d_loss": ..., "g_loss": ..., ...}
    >>> images = trainer.sample(["a red circle"], z=None)   # (1, 3, 32, 32) in [-1, 1]
    >>> summary = trainer.run()               # to config.steps, into config.out

    Modules: ``G``, ``D``, ``text_d`` (D's encoder), ``text_g`` (G's: the same object when
    ``text_encoder="shared"``), their EMA copies ``G_ema`` and ``text_ema``, the
    ``tokenizer``. ``stage`` is 1 during the first ``pretrain_steps`` steps, then 2.
    """

    CHECKPOINT_KIND = CHECKPOINT_KIND
    CONFIG_CLASS = Text2ImgConfig
    BAR_FIELDS = {"d_loss": "D", "g_loss": "G", "d_real": "D(x,c)", "d_fake": "D(G(z),c)"}
    CURVES = {"d_loss": "D loss", "g_loss": "G loss", "d_real": "D(x, c)",
              "d_fake": "D(G(z, c), c)", "d_wrong": "D(x, wrong c)"}
    TITLE = "text to image"

    def __init__(self, config: Text2ImgConfig, data=None) -> None:
        super().__init__(config)    # validates; step 0; the loop's generators
        cfg = self.config
        self.data = data if data is not None else make_data(cfg)
        self.tokenizer = Tokenizer(self.data.vocabulary())
        with self.init_random():    # the weights, from the run's seed
            self.text_d = self._text_encoder()
            self.text_g = self._text_encoder() if cfg.text_encoder == "separate" else self.text_d
            self.G = self._generator()
            self.D = Text2ImgDiscriminator(cfg.ndf, cfg.text_dim, cfg.d_features, cfg.matching,
                                           cfg.contrastive_dim if cfg.contrastive > 0 else 0)
            self.G_ema = self.text_ema = None
            if cfg.ema > 0:
                self.G_ema, self.text_ema = self._generator(), self._text_encoder()
                copy_module_(self.G_ema, self.G)
                copy_module_(self.text_ema, self.text_g)
        for module in self.modules().values():
            module.to(cfg.device)
        for module in (self.G_ema, self.text_ema):
            if module is not None:
                module.eval().requires_grad_(False)
        from ..optim import Adam
        g_params = list(self.G.parameters())
        if cfg.text_encoder == "separate":
            g_params += list(self.text_g.parameters())
        self.opt_G = Adam(g_params, lr=cfg.lr_g, betas=cfg.betas)
        self.opt_D = Adam(list(self.D.parameters()) + list(self.text_d.parameters()),
                          lr=cfg.lr_d, betas=cfg.betas)
        self._ema_bn_step = -1     # the step at which G_ema's BatchNorm was last re-estimated

    def _generator(self) -> Text2ImgGenerator:
        cfg = self.config
        return Text2ImgGenerator(cfg.z_dim, cfg.text_dim, cfg.text_dim, cfg.ngf,
                                 cfg.cross_attention, cfg.attention_heads, cfg.mapping)

    def _text_encoder(self) -> TextEncoder:
        cfg = self.config
        return TextEncoder(len(self.tokenizer), cfg.text_dim, cfg.text_heads, cfg.text_layers,
                           cfg.text_ff, cfg.pool)

    def modules(self) -> dict:
        """The trained modules by checkpoint name (the shared encoder appears once)."""
        found = {"generator": self.G, "discriminator": self.D, "text_encoder": self.text_d}
        if self.text_g is not self.text_d:
            found["text_encoder_g"] = self.text_g
        if self.G_ema is not None:
            found["generator_ema"] = self.G_ema
            found["text_encoder_ema"] = self.text_ema
        return found

    @property
    def stage(self) -> int:
        return 1 if self.step < self.config.pretrain_steps else 2

    # ------------------------------------------------------------------------ helpers

    def _tensor(self, array: np.ndarray) -> Tensor:
        return Tensor(backend.to_device(array, self.config.device))

    def _encode(self, captions: Sequence[str]) -> tuple[Tensor, Any]:
        ids, pad = self.tokenizer.encode(captions, CAPTION_LENGTH)
        return self._tensor(ids), backend.to_device(pad, self.config.device)

    def draw_noise(self, rng: np.random.Generator, n: int, truncation: float | None = None
                   ) -> np.ndarray:
        """float32 (n, z_dim) noise from ``rng``: draws of N(0, 1), optionally truncated (see
        :func:`truncated_normal`). The one place G's noise is drawn."""
        return truncated_normal(rng, (n, self.config.z_dim), truncation)

    # ------------------------------------------------------------------------ one step

    def training_step(self) -> dict:
        """One D update and one G update (of the current stage), then the EMA; returns the
        step's statistics. ``self.step`` is the number of steps done before this one."""
        cfg, G, D = self.config, self.G, self.D
        text = self.stage == 2
        rng = step_generator(cfg.seed, self.step)
        factor = linear_decay(self.step, cfg.steps, cfg.lr_decay_start)
        set_learning_rate(self.opt_G, cfg.lr_g * factor)
        set_learning_rate(self.opt_D, cfg.lr_d * factor)
        B, half = cfg.batch_size, cfg.batch_size // 2
        batch = self.data.sample(B, rng)
        neg_captions = self.data.negatives(batch.labels, batch.stated, rng,
                                           cfg.hard_negatives)[0] if text else []
        shared = cfg.fakes == "shared"
        z_d = None if shared else self.draw_noise(rng, B)
        z_g = self.draw_noise(rng, half)
        z_g = np.concatenate([z_g, self.draw_noise(rng, half)])   # pairs (i, i + B/2) share a caption
        real = self._tensor(batch.images)
        G.train()
        D.train()
        stats: dict = {}
        both = np.concatenate([np.arange(half)] * 2)   # G's batch: caption i in rows i, i + B/2

        # -- D: (real, caption), (fake, caption), (real, wrong caption)
        s_real = s_wrong = s_fake = tokens_g = s_g = pad = None
        if text:
            ids, pad_all = self._encode(list(batch.captions) + list(neg_captions))
            tokens_all, s_all = self.text_d(ids, pad_all)
            s_real, s_wrong = s_all[:B], s_all[B:]
            pad = pad_all[:B]
            rows = both if shared else slice(0, B)    # the captions of D's fakes
            s_fake = s_real[rows]
            if self.text_g is self.text_d:
                tokens_g, s_g = tokens_all[rows].detach(), s_real[rows].detach()
            elif shared:     # G's own encoder, trained by G's loss below
                tokens_g, s_g = self.text_g(ids[rows], pad[rows])
            else:
                with no_grad():
                    tokens_g, s_g = self.text_g(ids[:B], pad)
            pad_fake = pad[rows]
        if shared:  # one G pass: D's fakes are the images G's step scores (DCGAN's way)
            images = G(self._tensor(z_g), s_g, tokens_g, pad_fake if text else None)
            fake = images.detach()
        else:
            with no_grad():
                fake = G(self._tensor(z_d), s_g, tokens_g, pad)
        if cfg.magp > 0:
            real.requires_grad_(True)
        phi = D.features(concat([real, fake], 0))
        phi_real, phi_fake = phi[:B], phi[B:]
        r_real, r_fake = D.realism(phi_real), D.realism(phi_fake)
        if text:
            score_real = r_real + D.matching(phi_real, s_real)
            score_fake = r_fake + D.matching(phi_fake, s_fake)
            score_wrong = r_real + D.matching(phi_real, s_wrong)
            d_loss = (real_loss(score_real, cfg.loss)
                      + (1 - cfg.mismatch) * fake_loss(score_fake, cfg.loss)
                      + cfg.mismatch * fake_loss(score_wrong, cfg.loss))
            stats["d_wrong"] = float(backend.as_numpy(score_wrong.data).mean())
            if cfg.contrastive > 0:     # which caption of the batch is this real image's?
                contrast = contrastive_loss(D.similarity(phi_real, s_real),
                                            leave_out=true_of(batch.labels, batch.stated),
                                            temperature=cfg.temperature)
                d_loss = d_loss + cfg.contrastive * contrast
                stats["d_contrastive"] = contrast.item()
        else:
            score_real, score_fake = r_real, r_fake
            d_loss = real_loss(score_real, cfg.loss) + fake_loss(score_fake, cfg.loss)
        if cfg.magp > 0:
            penalty = matching_aware_penalty(score_real, real, s_real, cfg.magp_power)
            d_loss = d_loss + cfg.magp * penalty
            stats["magp"] = penalty.item()
        self.opt_D.zero_grad()
        d_loss.backward()
        self.opt_D.step()
        stats["d_real"] = float(backend.as_numpy(score_real.data).mean())
        stats["d_fake"] = float(backend.as_numpy(score_fake.data).mean())

        # -- G: B/2 captions, two noises each; D's weights get no gradient
        with frozen(D):
            s_g = tokens_g = pad_g = s_d = None
            if text:
                captions = list(batch.captions[:half]) * 2
                ids, pad_g = self._encode(captions)
                with no_grad():
                    tokens_d, s_d = self.text_d(ids, pad_g)
                if not shared:  # (shared: the images of D's step, drawn before its update)
                    tokens_g, s_g = (tokens_d, s_d) if self.text_g is self.text_d else \
                        self.text_g(ids, pad_g)      # G reads D's encoder without gradient
            if not shared:
                images = G(self._tensor(z_g), s_g, tokens_g, pad_g)
            phi = D.features(images)
            score = D.score(phi, s_d)
            g_loss = generator_loss(score, cfg.loss)
            g_weight = cfg.contrastive if cfg.g_contrastive is None else cfg.g_contrastive
            if text and cfg.contrastive > 0 and g_weight > 0:   # ... and of this fake
                if cfg.g_negatives == "batch":
                    labels = np.concatenate([batch.labels[:half]] * 2)
                    stated = np.concatenate([batch.stated[:half]] * 2)
                    contrast = contrastive_loss(D.similarity(phi, s_d),
                                                positives=compatible(labels, stated),
                                                temperature=cfg.temperature)
                else:
                    texts, positive, kept = self.changed_candidates(
                        batch.captions[:half], batch.labels[:half], batch.stated[:half], rng)
                    with no_grad():
                        sentences = self.text_d(*self._encode(texts))[1]
                    contrast = set_infonce(D.similarity(phi, sentences), positive, kept,
                                           cfg.temperature, cfg.g_positives)
                g_loss = g_loss + g_weight * contrast
                stats["g_contrastive"] = contrast.item()
            if cfg.diversity > 0:
                diversity = mode_seeking_loss(images, z_g)
                g_loss = g_loss + cfg.diversity * diversity
                stats["diversity"] = diversity.item()
            self.opt_G.zero_grad()
            g_loss.backward()
            self.opt_G.step()

        if cfg.ema > 0:     # the decay after this step (self.step + 1 steps done)
            decay = ema_decay(cfg.ema, self.step + 1)
            update_ema(self.G_ema, G, decay)
            update_ema(self.text_ema, self.text_g, decay)
        stats.update(d_loss=d_loss.item(), g_loss=g_loss.item(), stage=float(1 + text),
                     lr_factor=factor)
        return stats

    def changed_candidates(self, captions: Sequence[str], labels: np.ndarray,
                           stated: np.ndarray, rng: np.random.Generator
                           ) -> tuple[list[str], np.ndarray, np.ndarray]:
        """The captions of G's contrastive term with ``g_negatives="changed"`` and the masks
        of :func:`set_infonce` over them: (texts (M), positive, kept (bool (B, M))) for the
        fakes of ``captions`` (B/2 captions, each drawn twice: rows i and i + B/2).

        Each fake is contrasted with its own caption and one that differs from it in one
        stated attribute (drawn once for the pair); no other caption of the batch takes
        part. On the shapes a caption that leaves the position open stands for its five
        completions ("a square" as "a square in the top left", ...), the positive and the
        negative alike: the term asks for what the caption states, and the position it
        leaves open is not pulled towards where D's embedding of the bare words is highest.
        Measured in docs/text2img.md ("What each part did")."""
        half = len(captions)
        changed = self.data.negatives(labels, stated, rng, hard=1.0)
        complete = getattr(self.data, "completions", None)
        texts, owner, side = [], [], []
        for number, (words, labels_k, stated_k) in enumerate(((list(captions), labels, stated),
                                                              changed)):
            owners = np.arange(half)
            if complete is not None:
                words, owners = complete(labels_k, stated_k)
            texts += list(words)
            owner.append(owners)
            side.append(np.full(len(owners), number))
        unique, column = np.unique(np.array(texts), return_inverse=True)
        owner, side = np.concatenate(owner), np.concatenate(side)
        positive = np.zeros((half, len(unique)), bool)
        kept = np.zeros((half, len(unique)), bool)
        positive[owner[side == 0], column[side == 0]] = True
        kept[owner, column] = True
        both = np.concatenate([np.arange(half)] * 2)        # rows i and i + B/2: caption i
        return [str(t) for t in unique], positive[both], kept[both]

    # ------------------------------------------------------------------------ sampling

    def sampling_models(self) -> tuple[Module, Module]:
        """(generator, text encoder) for sampling: the EMA copies (with their BatchNorm
        statistics re-estimated) when EMA is on, else G and its encoder."""
        if self.G_ema is None:
            return self.G, self.text_g
        if self._ema_bn_step != self.step:
            self._reestimate_ema_batchnorm()
        return self.G_ema, self.text_ema

    def _reestimate_ema_batchnorm(self) -> None:
        cfg = self.config
        rng = np.random.default_rng([cfg.seed, BN_STREAM])
        batches = []
        with no_grad():
            for _ in range(cfg.ema_bn_batches):
                z = self._tensor(self.draw_noise(rng, cfg.batch_size))
                if self.stage == 1:
                    batches.append((z,))
                    continue
                captions = self.data.sample(cfg.batch_size, rng).captions
                ids, pad = self._encode(captions)
                tokens, sentence = self.text_ema(ids, pad)
                batches.append((z, sentence, tokens, pad))
        reestimate_batchnorm_(self.G_ema, batches)
        self.G_ema.eval()
        self._ema_bn_step = self.step

    def noise(self, n: int, seed: int | None = None, truncation: float | None = None) -> Tensor:
        """n noise vectors (n, z_dim) (see :meth:`draw_noise`), fixed by ``seed`` (default: the
        run's own). ``truncation`` T > 0: the truncated normal, each entry with |z| > T
        redrawn until none is left (the truncation trick: typical images for less variety)."""
        cfg = self.config
        rng = np.random.default_rng([cfg.seed if seed is None else int(seed), NOISE_STREAM])
        return self._tensor(self.draw_noise(rng, n, truncation))

    def _as_noise(self, z: Tensor | np.ndarray | None, count: int) -> Tensor:
        if z is None:
            z = self.noise(count)
        elif not isinstance(z, Tensor):
            z = self._tensor(np.asarray(z, np.float32))
        if z.shape != (count, self.config.z_dim):
            raise ArgumentError(f"sample: z must have shape ({count}, {self.config.z_dim}) "
                                f"(one noise vector per image), got {z.shape}")
        return z

    def encode_prompts(self, prompts: Sequence[str]) -> tuple[Tensor, Tensor, Any]:
        """(token states (N, T, E), sentence vectors (N, E), padding mask (N, T)) of what a
        user typed, from the sampling encoder. Unknown words warn, empty prompts raise (see
        ``Tokenizer.encode_prompts``)."""
        if isinstance(prompts, str):
            prompts = [prompts]
        ids, pad = self.tokenizer.encode_prompts(list(prompts))
        _, encoder = self.sampling_models()
        pad = backend.to_device(pad, self.config.device)
        with no_grad():
            tokens, sentence = encoder(self._tensor(ids), pad)
        return tokens, sentence, pad

    def _generate(self, z: Tensor, sentence=None, tokens=None, pad=None) -> Tensor:
        G, _ = self.sampling_models()
        was = G.training
        G.eval()
        try:
            with no_grad():
                return G(z) if sentence is None else G(z, sentence, tokens, pad)
        finally:
            G.train(was)

    def sample(self, prompts: Sequence[str] | None, z: Tensor | np.ndarray | None = None,
               n: int | None = None) -> Tensor:
        """Images (N, 3, 32, 32) in [-1, 1], one per prompt (``z`` (N, z_dim), default
        :meth:`noise`). ``prompts=None`` samples without text (the stage-1 generator), ``n``
        images. Unknown words warn, empty prompts raise (see ``Tokenizer.encode_prompts``)."""
        if prompts is not None and isinstance(prompts, str):
            prompts = [prompts]
        count = len(prompts) if prompts is not None else (n if n is not None else
                                                          (len(z) if z is not None else 1))
        z = self._as_noise(z, count)
        if prompts is None:
            return self._generate(z)
        tokens, sentence, pad = self.encode_prompts(prompts)
        return self._generate(z, sentence, tokens, pad)

    def interpolate(self, start: str, end: str, steps: int = 8,
                    z: Tensor | np.ndarray | None = None) -> Tensor:
        """``steps`` images (steps, 3, 32, 32) morphing from caption ``start`` to ``end`` with
        one noise vector (``z`` (1, z_dim); default the first of :meth:`noise`): image i reads
        the sentence vector (1 - t) s_start + t s_end, t = i / (steps - 1). The token states
        (read by cross-attention) are blended the same way when both captions pad to the same
        mask (the same number of words); otherwise an image takes the tokens and mask of the
        nearer caption (t < 1/2: ``start``'s), since states of different words at a position
        do not blend into one word."""
        if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 2:
            raise ArgumentError(f"--steps: an interpolation needs at least 2 images, got {steps}")
        tokens, sentence, pad = self.encode_prompts([start, end])
        t = np.linspace(0.0, 1.0, int(steps), dtype=np.float32)
        xp = backend.get_array_module(sentence.data)
        weights = backend.to_device(t[:, None], self.config.device)
        s = sentence.data
        blend = Tensor._wrap((1 - weights) * s[0:1] + weights * s[1:2])
        nearer = (t >= 0.5).astype(np.int64)
        pad_np = backend.as_numpy(pad)
        if np.array_equal(pad_np[0], pad_np[1]):
            tk = tokens.data
            mixed = Tensor._wrap((1 - weights[:, :, None]) * tk[0:1] + weights[:, :, None] * tk[1:2])
            masks = backend.to_device(np.repeat(pad_np[:1], steps, 0), self.config.device)
        else:
            rows = backend.to_device(nearer, self.config.device)
            mixed = Tensor._wrap(xp.take(tokens.data, rows, axis=0))
            masks = backend.to_device(pad_np[nearer], self.config.device)
        z = self._as_noise(self.noise(1) if z is None else z, 1)
        z = Tensor._wrap(xp.repeat(z.data, int(steps), axis=0))
        return self._generate(z, blend, mixed, masks)

    def sample_grid(self, path: str | Path) -> Path:
        """The run's picture of progress: :data:`GRID_PROMPTS` of its data set, one row of 8
        samples each (the same 8 noises in every row), the caption beside its row; in stage 1,
        rows of unconditional samples ("no text")."""
        prompts = GRID_PROMPTS[self.config.data]
        z = self.noise(GRID_COLUMNS)
        if self.stage == 1:
            rows = 3
            z_all = self.noise(GRID_COLUMNS * rows)
            samples = self.sample(None, z_all)
            labels = ["stage 1: no text"] * rows
        else:
            xp = backend.get_array_module(z.data)
            z_all = Tensor._wrap(xp.concatenate([z.data] * len(prompts)))
            samples = self.sample([p for p in prompts for _ in range(GRID_COLUMNS)], z_all)
            labels = list(prompts)
        return pictures.save_labelled_grid(samples, labels, path, ncol=GRID_COLUMNS)

    # ------------------------------------------------------------------------ checkpoints

    def state_dict(self) -> dict:
        """Everything needed to continue exactly: the loop's entries (kind, config, step),
        the vocabulary, the weights, the optimizer states."""
        state = super().state_dict()
        state.update({"vocabulary": list(self.tokenizer.words),
                      "opt_generator": self.opt_G.state_dict(),
                      "opt_discriminator": self.opt_D.state_dict()})
        for name, module in self.modules().items():
            state[name] = module.state_dict()
        return state

    def load_state_dict(self, state: dict) -> None:
        if state.get("kind") != CHECKPOINT_KIND:
            raise CheckpointError(f"Text2ImgTrainer: a {state.get('kind')!r} state, expected "
                                  f"{CHECKPOINT_KIND!r}")
        words = [str(w) for w in state["vocabulary"]]
        if words != self.tokenizer.words:
            raise CheckpointError("Text2ImgTrainer: the checkpoint's vocabulary differs from "
                                  "this data set's")
        for name, module in self.modules().items():
            if name not in state:
                raise CheckpointError(f"Text2ImgTrainer: the checkpoint has no {name!r}")
            try:
                module.load_state_dict(state[name])
            except (RuntimeError, KeyError, ValueError) as error:   # keys or shapes differ
                raise CheckpointError(f"Text2ImgTrainer: the checkpoint's {name!r} does not "
                                      f"fit the model its config describes: "
                                      f"{' '.join(str(error).split())}") from None
        self.opt_G.load_state_dict(state["opt_generator"])
        self.opt_D.load_state_dict(state["opt_discriminator"])
        super().load_state_dict(state)       # the step (and the loop's generator state)
        self._ema_bn_step = -1
