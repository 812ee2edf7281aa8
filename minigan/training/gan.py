"""Training DCGAN-28: the step, the run loop, checkpoints, sample grids and logs.

One step (as in DESIGN.md):

1. **D update** on a real batch x and a fake batch G(z), z ~ N(0, 1):
   ``L_D = BCE(D(x), 1) + BCE(D(G(z)), 0)`` (+ the R1 penalty ``gamma/2 * E||grad_x D(x)||^2``
   when ``r1 > 0``), G frozen.
2. **G update** with fresh noise z': the non-saturating loss ``L_G = BCE(D(G(z')), 1)``,
   i.e. ``-log D(G(z'))``, D's weights frozen (their gradients are not even computed).
3. The EMA generator moves towards G: ``ema = d * ema + (1 - d) * G`` with
   ``d = min(decay, (1 + t) / (10 + t))`` (a warm-up, so early samples are not averaged
   with the random initial weights); BatchNorm buffers are copied.

Reproducibility: the random numbers of step t (noise, dropout masks) come from the
backend generator seeded with ``(seed, t)``, and the data order of epoch e from
``(seed, e)``. A checkpoint therefore only needs the weights, the optimizer states, the
step and the data position to resume *exactly* (on any device).
"""
from __future__ import annotations

import dataclasses
import json
import math
import signal
import time
from pathlib import Path
from typing import Any

import numpy as np

from .. import backend, images
from ..autograd import Tensor, grad, no_grad
from ..creation import ones, randn, zeros
from ..data import Batches, load_mnist
from ..functional import binary_cross_entropy_with_logits
from ..models.dcgan import Discriminator, Generator
from ..ops.shape import concat
from .checkpoint import load_checkpoint, save_checkpoint
from .progress import JsonLog, ProgressBar, read_log

CHECKPOINT_KIND = "dcgan28"
DEFAULT_STEPS = 1200


@dataclasses.dataclass
class GANConfig:
    """Everything that defines a DCGAN-28 run (saved in its checkpoints)."""
    steps: int = DEFAULT_STEPS
    batch_size: int = 64
    lr: float = 2e-4
    optimizer: str = "adam"          # "adam" (betas 0.5, 0.999) or "rmsprop"
    betas: tuple = (0.5, 0.999)
    device: str = "cpu"
    data: str | None = None          # None: the shipped subset; else a folder of IDX files
    limit: int | None = None         # train on `limit` images only, every k-th (tests, demos)
    seed: int = 0
    out: str = "runs/dcgan"
    sample_every: int = 100
    checkpoint_every: int = 200
    r1: float = 0.0                  # R1 penalty weight gamma (0: off)
    ema: float = 0.999               # EMA decay of the generator's weights (0: off)
    n_samples: int = 64              # the fixed noise batch drawn every sample_every steps

    def validate(self) -> "GANConfig":
        if self.optimizer not in ("adam", "rmsprop"):
            raise ValueError(f"--optimizer must be 'adam' or 'rmsprop', got {self.optimizer!r}")
        for name in ("steps", "batch_size", "sample_every", "checkpoint_every", "n_samples"):
            if getattr(self, name) < 1:
                raise ValueError(f"--{name.replace('_', '-')} must be >= 1, got {getattr(self, name)}")
        if not self.lr > 0:
            raise ValueError(f"--lr must be > 0, got {self.lr}")
        if self.r1 < 0:
            raise ValueError(f"--r1 must be >= 0, got {self.r1}")
        if not 0 <= self.ema < 1:
            raise ValueError(f"--ema must be in [0, 1), got {self.ema}")
        self.device = backend.normalize_device(self.device)
        self.betas = tuple(float(b) for b in self.betas)
        return self


def step_seed(seed: int, step: int) -> int:
    """The seed of the backend generator during step ``step`` of a run seeded ``seed``."""
    return int(np.random.SeedSequence([seed, step]).generate_state(1, np.uint64)[0] >> 1)


def make_optimizer(name: str, params, lr: float, betas: tuple):
    from .. import optim
    if name == "adam":
        return optim.Adam(params, lr=lr, betas=betas)
    return optim.RMSprop(params, lr=lr)


def copy_module_(target, source) -> None:
    """target's parameters and buffers := source's (same architecture), copying the arrays."""
    with no_grad():
        for (_, t), (_, s) in zip(target.state_dict().items(), source.state_dict().items()):
            t.data[...] = s.data


class GANTrainer:
    """DCGAN-28 on MNIST: ``GANTrainer(GANConfig(steps=1200)).run()``.

    The pieces can be used on their own: :meth:`train_step` runs one step and returns its
    statistics, :meth:`sample` draws images from the EMA generator (or G without EMA),
    :meth:`save` / :meth:`load` write and read checkpoints.
    """

    def __init__(self, config: GANConfig, data=None) -> None:
        self.config = config.validate()
        device = config.device
        backend.manual_seed(config.seed)  # weight initialisation
        self.G, self.D = Generator().to(device), Discriminator().to(device)
        self.G_ema = None
        if config.ema > 0:
            self.G_ema = Generator().to(device)
            copy_module_(self.G_ema, self.G)
            self.G_ema.eval().requires_grad_(False)
        self.opt_G = make_optimizer(config.optimizer, self.G.parameters(), config.lr, config.betas)
        self.opt_D = make_optimizer(config.optimizer, self.D.parameters(), config.lr, config.betas)
        if data is None:
            data = load_mnist(config.data, split="train")
        train_images = data[0] if isinstance(data, tuple) else data
        if config.limit:  # every k-th image, so a small subset still holds all ten digits
            train_images = train_images[::max(1, len(train_images) // config.limit)][:config.limit]
        self.batches = Batches(train_images, batch_size=config.batch_size, seed=config.seed,
                               device=device)
        self.fixed_z = Tensor(np.random.default_rng([config.seed, 2**31]).standard_normal(
            (config.n_samples, self.G.z_dim)).astype(np.float32), device=device)
        self.step = 0
        self._data_iter = None
        self._stop = False

    # ------------------------------------------------------------------------ one step

    def train_step(self) -> dict:
        """One D update and one G update; returns the step's statistics (floats)."""
        cfg, G, D = self.config, self.G, self.D
        backend.manual_seed(step_seed(cfg.seed, self.step))
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
        D.requires_grad_(False)
        logit_gen = D(G(randn(n, G.z_dim, device=cfg.device)))
        g_loss = binary_cross_entropy_with_logits(logit_gen, ones(n, 1, device=cfg.device))
        self.opt_G.zero_grad()
        g_loss.backward()
        self.opt_G.step()
        D.requires_grad_(True)

        self.step += 1
        self.last_logits = (logit_real.detach(), logit_fake.detach())  # for diagnostics
        self._update_ema()
        sig = lambda t: float((1 / (1 + np.exp(-backend.as_numpy(t.data).astype(np.float64)))).mean())
        stats = {"d_loss": d_loss.item(), "g_loss": g_loss.item(),
                 "d_real": sig(logit_real), "d_fake": sig(logit_fake)}
        if penalty is not None:
            stats["r1"] = penalty.item()
        return stats

    def _update_ema(self) -> None:
        if self.G_ema is None:
            return
        decay = min(self.config.ema, (1 + self.step) / (10 + self.step))
        with no_grad():
            for (_, e), (_, p) in zip(self.G_ema.named_parameters(), self.G.named_parameters()):
                e.data *= decay
                e.data += (1 - decay) * p.data
            for (_, e), (_, b) in zip(self.G_ema.named_buffers(), self.G.named_buffers()):
                e.data[...] = b.data

    # ------------------------------------------------------------------------ sampling

    def generator_for_sampling(self):
        """The EMA generator when there is one, else G; in eval mode (BatchNorm running stats)."""
        return (self.G_ema or self.G)

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
        state = {
            "kind": CHECKPOINT_KIND,
            "config": json.dumps(dataclasses.asdict(self.config)),
            "step": self.step,
            "generator": self.G.state_dict(),
            "discriminator": self.D.state_dict(),
            "opt_generator": self.opt_G.state_dict(),
            "opt_discriminator": self.opt_D.state_dict(),
            "data": self.batches.state_dict(),
            "rng": json.dumps(backend.get_rng_state()),
            "fixed_z": self.fixed_z,
        }
        if self.G_ema is not None:
            state["generator_ema"] = self.G_ema.state_dict()
        return state

    def load_state_dict(self, state: dict) -> None:
        self.G.load_state_dict(state["generator"])
        self.D.load_state_dict(state["discriminator"])
        self.opt_G.load_state_dict(state["opt_generator"])
        self.opt_D.load_state_dict(state["opt_discriminator"])
        if self.G_ema is not None:
            self.G_ema.load_state_dict(state["generator_ema"])
        self.batches.load_state_dict(state["data"])
        self._data_iter = None
        self.step = int(state["step"])
        self.fixed_z = Tensor(backend.as_numpy(getattr(state["fixed_z"], "data", state["fixed_z"])),
                              device=self.config.device)
        backend.set_rng_state(json.loads(str(state["rng"])))

    def save(self, path: str | Path) -> Path:
        """Write the checkpoint atomically (a crash never leaves a half-written file)."""
        return save_checkpoint(self.state_dict(), path)

    @classmethod
    def from_checkpoint(cls, path: str | Path, **overrides: Any) -> "GANTrainer":
        """Rebuild a trainer from a checkpoint; ``overrides`` replace config fields
        (steps, device, out, sample_every, checkpoint_every)."""
        state = load_checkpoint(path, CHECKPOINT_KIND)
        fields = json.loads(str(state["config"]))
        fields["betas"] = tuple(fields["betas"])
        fields.update({k: v for k, v in overrides.items() if v is not None})
        trainer = cls(GANConfig(**fields))
        trainer.load_state_dict(state)
        return trainer

    # ------------------------------------------------------------------------ the run

    def _request_stop(self, signum, frame) -> None:
        self._stop = True
        signal.signal(signal.SIGINT, signal.default_int_handler)  # a second Ctrl-C: at once

    def run(self, progress: bool = True, stream=None, on_step=None) -> dict:
        """Train up to ``config.steps``, writing into ``config.out``:
        ``log.jsonl``, ``samples/step_XXXXXX.png``, ``checkpoint.npz``, and at the end
        ``progress.png`` and ``losses.png``. Ctrl-C stops after the current step and saves.
        ``on_step(trainer, stats)`` is called after each step (minigan/training/diagnostics.py).
        Returns a summary (steps done, seconds, steps/s, interrupted, last stats)."""
        cfg = self.config
        out = Path(cfg.out)
        (out / "samples").mkdir(parents=True, exist_ok=True)
        resumed = self.step > 0
        log = JsonLog(out / "log.jsonl", resume_step=self.step if resumed else None)
        if not resumed:
            for old in (out / "samples").glob("step_*.png"):
                old.unlink()
        bar = ProgressBar(cfg.steps, start=self.step, stream=stream) if progress else None
        previous = None
        try:
            previous = signal.signal(signal.SIGINT, self._request_stop)
        except ValueError:  # not in the main thread: Ctrl-C handling stays as it is
            pass
        t0, start_step, stats = time.perf_counter(), self.step, {}
        try:
            if not resumed:
                images.save_grid(self.sample(), out / "samples" / "step_000000.png")
            while self.step < cfg.steps and not self._stop:
                stats = self.train_step()
                if not all(math.isfinite(v) for v in stats.values()):
                    raise FloatingPointError(f"step {self.step}: a loss is not finite ({stats}); "
                                             f"try a lower --lr")
                rate = (self.step - start_step) / (time.perf_counter() - t0)
                log.write({"step": self.step, **{k: round(v, 6) for k, v in stats.items()},
                           "steps_per_s": round(rate, 4)})
                if on_step is not None:
                    on_step(self, stats)
                if bar:
                    bar.update(self.step, {"D": stats["d_loss"], "G": stats["g_loss"],
                                           "D(x)": stats["d_real"], "D(G(z))": stats["d_fake"]})
                if self.step % cfg.sample_every == 0 or self.step == cfg.steps:
                    images.save_grid(self.sample(), out / "samples" / f"step_{self.step:06d}.png")
                if self.step % cfg.checkpoint_every == 0 and self.step < cfg.steps:
                    self.save(out / "checkpoint.npz")
        finally:
            if previous is not None:
                signal.signal(signal.SIGINT, previous)
            if bar:
                bar.close()
            log.close()
        seconds = time.perf_counter() - t0
        if self.step > start_step or not (out / "checkpoint.npz").exists():
            self.save(out / "checkpoint.npz")
        self.write_summary_pictures(out)
        return {"steps": self.step, "seconds": seconds, "interrupted": self._stop,
                "steps_per_s": (self.step - start_step) / seconds if seconds > 0 else 0.0,
                "stats": stats}

    @staticmethod
    def write_summary_pictures(out: Path) -> None:
        """``progress.png`` (the sample grids over time, stacked) and ``losses.png``."""
        grids = sorted((out / "samples").glob("step_*.png"))
        if grids:
            images.stack_with_labels(grids, [f"step {int(p.stem[5:])}" for p in grids],
                                     out / "progress.png")
        records = read_log(out / "log.jsonl") if (out / "log.jsonl").exists() else []
        if records:
            names = {"d_loss": "D loss", "g_loss": "G loss", "d_real": "D(x)", "d_fake": "D(G(z))"}
            images.plot_curves([r["step"] for r in records],
                               {label: [r[key] for r in records] for key, label in names.items()},
                               out / "losses.png", title="DCGAN-28 on MNIST")
