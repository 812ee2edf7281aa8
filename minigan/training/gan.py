"""Training DCGAN-28: its settings and its step; the run loop is :mod:`minigan.training.loop`.

One step (docs/design.md, "DCGAN-28"):

1. **D update** on a real batch x and a fake batch G(z), z ~ N(0, 1):
   ``L_D = BCE(D(x), 1) + BCE(D(G(z)), 0)`` (+ the R1 penalty ``gamma/2 * E||grad_x D(x)||^2``
   when ``r1 > 0``), G frozen.
2. **G update** with fresh noise z': the non-saturating loss ``L_G = BCE(D(G(z')), 1)``,
   i.e. ``-log D(G(z'))``, D's weights frozen (their gradients are not even computed).
3. The EMA generator moves towards G: ``ema = d * ema + (1 - d) * G`` with
   ``d = min(decay, (1 + t) / (10 + t))`` (a warm-up, so early samples are not averaged
   with the random initial weights); BatchNorm buffers are copied.

Reproducibility: the random numbers of step t (noise, dropout masks) come from the trainer's
own generators seeded with ``(seed, t)``, and the data order of epoch e from ``(seed, e)``;
the process-wide generator is never touched. A checkpoint therefore only needs the weights,
the optimizer states, the step and the data position to resume *exactly* (on any device).
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np

from .. import backend, images
from ..autograd import Tensor, grad, no_grad
from ..factories import ones, randn, zeros
from ..data import Batches, load_mnist
from ..errors import ArgumentError
from ..functional import binary_cross_entropy_with_logits
from ..models.dcgan import Discriminator, Generator
from ..ops.shape import concat
from .helpers import copy_module_, ema_decay, frozen, update_ema
from .loop import RunConfig, Trainer, step_seed  # noqa: F401  (step_seed: used to live here)
from .options import check_choice, check_float, check_int

CHECKPOINT_KIND = "dcgan28"
DEFAULT_STEPS = 1200


@dataclasses.dataclass
class GANConfig(RunConfig):
    """Everything that defines a DCGAN-28 run (saved in its checkpoints)."""
    steps: int = DEFAULT_STEPS
    out: str = "runs/dcgan"
    optimizer: str = "adam"          # "adam" (betas 0.5, 0.999) or "rmsprop"
    betas: tuple = (0.5, 0.999)
    data: str | None = None          # None: the shipped subset; else a folder of IDX files
    limit: int | None = None         # train on `limit` images only, every k-th (tests, demos)
    r1: float = 0.0                  # R1 penalty weight gamma (0: off)
    n_samples: int = 64              # the fixed noise batch drawn every sample_every steps

    def validate(self) -> "GANConfig":
        super().validate()
        check_choice("optimizer", self.optimizer, ("adam", "rmsprop"))
        self.n_samples = check_int("n_samples", self.n_samples, 1)
        if self.limit is not None:
            self.limit = check_int("limit", self.limit, 1)
        self.r1 = check_float("r1", self.r1, low=0.0)
        self.betas = tuple(check_float("betas", b, 0.0, 1.0, high_open=True) for b in self.betas)
        return self


def make_optimizer(name: str, params, lr: float, betas: tuple):
    from .. import optim
    if name == "adam":
        return optim.Adam(params, lr=lr, betas=betas)
    return optim.RMSprop(params, lr=lr)


def take_every_kth(images: np.ndarray, limit: int | None) -> np.ndarray:
    """``limit`` images, every k-th, so a small subset of the (digit-sorted) data still holds
    all ten digits; all of them for None. More than there are is an error."""
    if limit is None:
        return images
    if limit > len(images):
        raise ArgumentError(f"--limit: {limit} is more than the {len(images)} training images")
    return images[::max(1, len(images) // limit)][:limit]


class GANTrainer(Trainer):
    """DCGAN-28 on MNIST: ``GANTrainer(GANConfig(steps=1200)).run()``.

    The pieces can be used on their own: :meth:`train_step` runs one step and returns its
    statistics, :meth:`sample` draws images from the EMA generator (or G without EMA),
    :meth:`save` / :meth:`from_checkpoint` write and read checkpoints (see
    :class:`minigan.training.loop.Trainer` for the run loop).
    """

    CHECKPOINT_KIND = CHECKPOINT_KIND
    CONFIG_CLASS = GANConfig
    BAR_FIELDS = {"d_loss": "D", "g_loss": "G", "d_real": "D(x)", "d_fake": "D(G(z))"}
    CURVES = {"d_loss": "D loss", "g_loss": "G loss", "d_real": "D(x)", "d_fake": "D(G(z))"}
    TITLE = "DCGAN-28 on MNIST"

    def __init__(self, config: GANConfig, data=None) -> None:
        super().__init__(config)
        config, device = self.config, self.config.device
        with self.init_random():  # weight initialisation, from the run's seed
            self.G, self.D = Generator().to(device), Discriminator().to(device)
            self.G_ema = Generator().to(device) if config.ema > 0 else None
        if self.G_ema is not None:
            copy_module_(self.G_ema, self.G)
            self.G_ema.eval().requires_grad_(False)
        self.opt_G = make_optimizer(config.optimizer, self.G.parameters(), config.lr, config.betas)
        self.opt_D = make_optimizer(config.optimizer, self.D.parameters(), config.lr, config.betas)
        if data is None:
            data = load_mnist(config.data, split="train")
        train_images = take_every_kth(data[0] if isinstance(data, tuple) else data, config.limit)
        if config.batch_size > len(train_images):
            raise ArgumentError(f"--batch-size: {config.batch_size} is more than the "
                                f"{len(train_images)} training images")
        self.batches = Batches(train_images, batch_size=config.batch_size, seed=config.seed,
                               device=device)
        self.fixed_z = Tensor(np.random.default_rng([config.seed, 2**31]).standard_normal(
            (config.n_samples, self.G.z_dim)).astype(np.float32), device=device)
        self._data_iter = None

    # ------------------------------------------------------------------------ one step

    def training_step(self) -> dict:
        """One D update and one G update, then the EMA; returns the step's statistics."""
        cfg, G, D = self.config, self.G, self.D
        if self._data_iter is None:
            self._data_iter = self.batches.forever()
        real = next(self._data_iter)
        n = real.shape[0]
        G.train()
        D.train()

        # -- D: real batch and a fake batch, one forward through D (D has no BatchNorm)
        with no_grad():
            fake = G(randn(n, G.z_dim, device=cfg.device))
        if cfg.r1 > 0:
            real.requires_grad_(True)
        logits = D(concat([real, fake], 0))
        logit_real, logit_fake = logits[:n], logits[n:]
        loss_real = binary_cross_entropy_with_logits(logit_real, ones(n, 1, device=cfg.device))
        loss_fake = binary_cross_entropy_with_logits(logit_fake, zeros(n, 1, device=cfg.device))
        d_loss = loss_real + loss_fake
        penalty = None
        if cfg.r1 > 0:  # R1 (Mescheder et al. 2018): gamma/2 * E[||grad_x D(x)||^2]
            g_real, = grad(logit_real.sum(), real, create_graph=True)
            penalty = (g_real * g_real).sum((1, 2, 3)).mean() * (cfg.r1 / 2)
            d_loss = d_loss + penalty
        self.opt_D.zero_grad()
        d_loss.backward()
        self.opt_D.step()

        # -- G: fresh noise, non-saturating loss -log D(G(z)); D's weights get no gradient
        with frozen(D):
            logit_gen = D(G(randn(n, G.z_dim, device=cfg.device)))
            g_loss = binary_cross_entropy_with_logits(logit_gen, ones(n, 1, device=cfg.device))
            self.opt_G.zero_grad()
            g_loss.backward()
            self.opt_G.step()

        self.last_logits = (logit_real.detach(), logit_fake.detach())  # for diagnostics
        if self.G_ema is not None:
            update_ema(self.G_ema, self.G, ema_decay(cfg.ema, self.step + 1))
        sig = lambda t: float((1 / (1 + np.exp(-backend.as_numpy(t.data).astype(np.float64)))).mean())
        stats = {"d_loss": d_loss.item(), "g_loss": g_loss.item(),
                 "d_real": sig(logit_real), "d_fake": sig(logit_fake)}
        if penalty is not None:
            stats["r1"] = penalty.item()
        return stats

    # ------------------------------------------------------------------------ sampling

    def generator_for_sampling(self):
        """The EMA generator when there is one, else G; in eval mode (BatchNorm running stats)."""
        return (self.G_ema or self.G)

    def sample_grid(self, path: str | Path) -> Path:
        """The fixed noise batch's images as a PNG grid."""
        return images.save_grid(self.sample(), path)

    def sample(self, z: Tensor | None = None) -> Tensor:
        """Images (N, 1, 28, 28) in [-1, 1] from the fixed noise batch (or ``z``)."""
        model = self.generator_for_sampling()
        was_training = model.training
        model.eval()
        with no_grad():
            out = model(self.fixed_z if z is None else z)
        model.train(was_training)
        return out

    # ------------------------------------------------------------------------ checkpoints

    def state_dict(self) -> dict:
        state = super().state_dict()  # kind, config, step, rng
        state.update({
            "generator": self.G.state_dict(),
            "discriminator": self.D.state_dict(),
            "opt_generator": self.opt_G.state_dict(),
            "opt_discriminator": self.opt_D.state_dict(),
            "data": self.batches.state_dict(),
            "fixed_z": self.fixed_z,
        })
        if self.G_ema is not None:
            state["generator_ema"] = self.G_ema.state_dict()
        return state

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.G.load_state_dict(state["generator"])
        self.D.load_state_dict(state["discriminator"])
        self.opt_G.load_state_dict(state["opt_generator"])
        self.opt_D.load_state_dict(state["opt_discriminator"])
        if self.G_ema is not None:
            self.G_ema.load_state_dict(state["generator_ema"])
        self.batches.load_state_dict(state["data"])
        self._data_iter = None
        self.fixed_z = Tensor(backend.as_numpy(getattr(state["fixed_z"], "data", state["fixed_z"])),
                              device=self.config.device)
