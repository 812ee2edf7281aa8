"""The run loop every minigan GAN trainer shares (DCGAN-28, text-to-image): progress bar,
JSON log, sample grids, atomic checkpoints, exact resume, Ctrl-C, summary pictures, and the
trainer's own random generators.

A trainer subclasses :class:`Trainer` and provides the model-specific parts::

    @dataclasses.dataclass
    class MyConfig(RunConfig):            # steps, batch_size, lr, device, seed, out,
        width: int = 64                   # sample_every, checkpoint_every, ema (+ yours)

        def validate(self) -> "MyConfig":
            super().validate()            # the shared settings; then check yours
            check_int("width", self.width, 1)
            return self

    class MyTrainer(Trainer):
        CHECKPOINT_KIND = "my-gan"        # refused by other trainers' from_checkpoint
        CONFIG_CLASS = MyConfig
        BAR_FIELDS = {"d_loss": "D", "g_loss": "G"}            # stats shown on the bar
        CURVES = {"d_loss": "D loss", "g_loss": "G loss"}     # stats drawn in losses.png
        TITLE = "My GAN"

        def __init__(self, config):
            super().__init__(config)      # validates; sets step, generators
            with self.init_random():      # weight initialisation from (seed), not the global
                self.G, self.D = ...
            ...

        def training_step(self) -> dict:  # one step's work; returns float statistics
            ...                           # random draws come from the trainer's generators
        def sample_grid(self, path):      # a PNG of samples (the fixed noise / prompts)
            ...
        def state_dict(self):             # the loop's entries + yours
            return {**super().state_dict(), "generator": self.G.state_dict(), ...}
        def load_state_dict(self, state):
            super().load_state_dict(state)
            self.G.load_state_dict(state["generator"]); ...

Then ``MyTrainer(MyConfig(steps=500)).run()`` trains, ``MyTrainer.from_checkpoint(path,
steps=1000).run()`` resumes exactly.

**On the command line** (``minigan/cli.py``): add the model to ``TRAIN_MODELS`` with a
function that adds its options (``add_run_options(p, MyConfig(), "my-gan")``, then its own)
and a command that runs ``trainer = start_or_resume(MyTrainer, args)`` and returns
``0 if trainer is None else run_training(trainer, args)``. ``minigan train my-gan`` then has
the same options, output-folder checks, overwrite and resume rules, Ctrl-C handling and
one-line errors as ``minigan train``.

**Random numbers.** :meth:`Trainer.train_step` seeds the trainer's own generators
(``self.generator`` on the config's device, and a CPU one) with ``(seed, step)`` and runs
:meth:`training_step` inside ``mg.use_generator(...)``: noise drawn with ``mg.randn``, dropout
masks and anything else that names no generator come from them, on this thread only. The
process-wide default generators (``mg.manual_seed``) are neither read nor changed, so other
code in the process sees the same numbers with or without a trainer, and a checkpoint needs
only the step to reproduce every later draw exactly (on any device).

**Ctrl-C.** The first Ctrl-C lets the current step finish, then saves a checkpoint, writes the
pictures and returns (``interrupted`` in the summary). A second Ctrl-C during a step stops at
once (``KeyboardInterrupt``; the last checkpoint on disk stays as it was). A Ctrl-C while a
checkpoint is being written is held until the file is complete and renamed into place, and
only then counts (the first stops the run; a second skips the summary pictures): a checkpoint
is never lost to an impatient key.
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import signal
import time
from pathlib import Path
from typing import Any, ClassVar, Iterator

import numpy as np

from .. import backend, images
from ..backend import Generator, use_generator
from ..errors import CheckpointError
from .checkpoint import load_checkpoint, save_checkpoint
from .options import check_float, check_int
from .progress import JsonLog, ProgressBar, read_log

CHECKPOINT_NAME = "checkpoint.npz"
# Settings a resumed run may change (the others define the run and stay as they were).
RESUMABLE_FIELDS = ("steps", "device", "out", "sample_every", "checkpoint_every")


@dataclasses.dataclass
class RunConfig:
    """The settings every GAN run has (saved in its checkpoints); trainers extend it.

    ``ABSENT_MEANS``: for fields added after checkpoints were already written, the value
    that reproduces what such a checkpoint was trained with (a config that lacks the field
    takes it, not today's default)."""
    ABSENT_MEANS: ClassVar[dict] = {}
    steps: int = 1000
    batch_size: int = 64
    lr: float = 2e-4
    device: str = "cpu"
    seed: int = 0
    out: str = "runs/gan"
    sample_every: int = 100
    checkpoint_every: int = 200
    ema: float = 0.999               # EMA decay of the generator's weights (0: off)

    def validate(self) -> "RunConfig":
        """Check the settings (raising ``mg.ArgumentError`` naming the option), normalise the
        device; returns self."""
        for name in ("steps", "batch_size", "sample_every", "checkpoint_every"):
            setattr(self, name, check_int(name, getattr(self, name), 1))
        self.seed = check_int("seed", self.seed, 0)
        self.lr = check_float("lr", self.lr, low=0.0, low_open=True)
        self.ema = check_float("ema", self.ema, 0.0, 1.0, high_open=True)
        self.device = backend.normalize_device(self.device)
        self.out = str(self.out)
        return self

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_json(cls, text: str, **overrides: Any) -> "RunConfig":
        """The config a checkpoint saved (``overrides`` replace fields; None ones are
        ignored). Lists come back as tuples where the field's default is a tuple."""
        fields = {**cls.ABSENT_MEANS, **json.loads(text)}
        for f in dataclasses.fields(cls):
            if isinstance(fields.get(f.name), list) and isinstance(f.default, tuple):
                fields[f.name] = tuple(fields[f.name])
        known = {f.name for f in dataclasses.fields(cls)}
        fields = {k: v for k, v in fields.items() if k in known}
        fields.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**fields)


def seeded_weights(seed: int):
    """A block whose layers draw their initial weights from a CPU generator seeded with
    ``seed`` (NumPy's ``default_rng(seed)``, on this thread only): the process's generators
    are neither read nor changed. :meth:`Trainer.init_random` for a trainer's config; called
    directly by code without a trainer (the attribute classifier)."""
    return use_generator(Generator("cpu").manual_seed(int(seed)))


def step_seed(seed: int, step: int) -> int:
    """The seed of a trainer's generators during step ``step`` of a run seeded ``seed``."""
    return int(np.random.SeedSequence([seed, step]).generate_state(1, np.uint64)[0] >> 1)


class Trainer:
    """Base of the GAN trainers: the run loop, checkpoints, resume and the random generators.
    See this module's docstring for what a subclass provides."""

    CHECKPOINT_KIND = ""
    CONFIG_CLASS: type = RunConfig
    BAR_FIELDS: dict[str, str] = {}
    CURVES: dict[str, str] = {}
    TITLE = ""

    def __init__(self, config: RunConfig) -> None:
        self.config = config.validate()
        self.step = 0
        # The trainer's own generators: one on its device (noise, dropout) and one on the
        # CPU (anything a step draws there); re-seeded with (seed, step) every step.
        self.generator = Generator(self.config.device)
        self.cpu_generator = self.generator if self.config.device == "cpu" else Generator("cpu")
        self._stop = False            # set by the first Ctrl-C
        self._ctrl_c = 0              # Ctrl-Cs during run()

    # ------------------------------------------------------------------------ to implement

    def training_step(self) -> dict[str, float]:
        """The work of one step (e.g. a D update and a G update); returns its statistics as
        floats. ``self.step`` is the number of steps done before this one."""
        raise NotImplementedError

    def sample_grid(self, path: str | Path) -> Path:
        """Write a picture of samples to ``path`` (a PNG); returns the path."""
        raise NotImplementedError

    # ------------------------------------------------------------------------ random numbers

    def init_random(self):
        """A block whose random draws (weight initialisation) come from a CPU generator
        seeded with ``config.seed``: the same weights every time, the global untouched."""
        return seeded_weights(self.config.seed)

    @contextlib.contextmanager
    def step_random(self) -> Iterator[None]:
        """A block whose draws come from the trainer's generators seeded for this step."""
        seed = step_seed(self.config.seed, self.step)
        generators = {self.generator, self.cpu_generator}
        for g in generators:
            g.manual_seed(seed)
        with use_generator(*generators):
            yield

    def train_step(self) -> dict[str, float]:
        """One step: :meth:`training_step` with the step's random numbers; counts the step."""
        with self.step_random():
            stats = self.training_step()
        self.step += 1
        return stats

    # ------------------------------------------------------------------------ checkpoints

    def state_dict(self) -> dict:
        """The loop's part of a checkpoint (subclasses add their models and optimizers)."""
        return {"kind": self.CHECKPOINT_KIND, "config": self.config.to_json(), "step": self.step,
                "rng": json.dumps(self.cpu_generator.get_state())}

    def load_state_dict(self, state: dict) -> None:
        self.step = int(state["step"])
        if "rng" in state:
            self.cpu_generator.set_state(json.loads(str(state["rng"])))

    def save(self, path: str | Path) -> Path:
        """Write the checkpoint atomically: a crash never leaves a half-written file, and a
        Ctrl-C during the write is held until the file is complete and in place (then it is
        raised as KeyboardInterrupt)."""
        path = Path(path)
        if self._write_checkpoint(path):
            raise KeyboardInterrupt
        return path

    @classmethod
    def from_checkpoint(cls, path: str | Path, **overrides: Any) -> "Trainer":
        """Rebuild a trainer from a checkpoint (a file, or a run folder holding
        checkpoint.npz); ``overrides`` replace the settings in RESUMABLE_FIELDS."""
        unknown = sorted(set(overrides) - set(RESUMABLE_FIELDS))
        if unknown:
            raise TypeError(f"from_checkpoint: a resumed run keeps its settings; these cannot "
                            f"change: {unknown}")
        state = load_checkpoint(path, cls.CHECKPOINT_KIND)
        try:
            config = cls.CONFIG_CLASS.from_json(str(state["config"]), **overrides)
        except (KeyError, TypeError, ValueError) as exc:  # json's errors are ValueErrors
            raise CheckpointError(f"{path}: a {cls.CHECKPOINT_KIND!r} checkpoint without a "
                                  f"readable config ({type(exc).__name__}: {exc})") from None
        trainer = cls(config)
        try:
            trainer.load_state_dict(state)
        except (KeyError, TypeError, ValueError) as exc:
            raise CheckpointError(f"{path}: a {cls.CHECKPOINT_KIND!r} checkpoint with missing or "
                                  f"broken entries ({type(exc).__name__}: {exc})") from None
        return trainer

    # ------------------------------------------------------------------------ Ctrl-C

    def _request_stop(self, signum, frame) -> None:
        """The SIGINT handler during run(): stop after this step; a second one: at once."""
        self._ctrl_c += 1
        self._stop = True
        signal.signal(signal.SIGINT, signal.default_int_handler)

    def _write_checkpoint(self, path: Path) -> int:
        """save_checkpoint with SIGINT held until the file is renamed into place; returns
        how many Ctrl-Cs came meanwhile (always 0 outside the main thread, where a
        KeyboardInterrupt can still stop the write: the temporary file is then removed and
        the old checkpoint stays)."""
        held = []
        try:
            previous = signal.signal(signal.SIGINT, lambda signum, frame: held.append(signum))
        except ValueError:  # not the main thread: signals are not ours to handle
            previous = None
        try:
            save_checkpoint(self.state_dict(), path)
        finally:
            if previous is not None:
                signal.signal(signal.SIGINT, previous)
        return len(held)

    def _save_in_run(self, path: Path) -> None:
        """A checkpoint during run(): a Ctrl-C held meanwhile counts as one, after the write."""
        held = self._write_checkpoint(path)
        if held:
            self._ctrl_c += held
            self._stop = True
            signal.signal(signal.SIGINT, signal.default_int_handler)

    # ------------------------------------------------------------------------ the run

    def run(self, progress: bool = True, stream=None, on_step=None) -> dict:
        """Train up to ``config.steps``, writing into ``config.out``: ``log.jsonl``,
        ``samples/step_XXXXXX.png`` every ``sample_every`` steps, ``checkpoint.npz`` every
        ``checkpoint_every`` steps and at the end, then ``progress.png`` and ``losses.png``.
        ``on_step(trainer, stats)`` is called after each step is logged (e.g. the GAN
        diagnostics of minigan/training/diagnostics.py). Raises FloatingPointError (leaving the
        last checkpoint as it was) when a statistic is not finite. Returns a summary: steps,
        seconds, steps_per_s, interrupted, stats."""
        cfg = self.config
        out = Path(cfg.out)
        (out / "samples").mkdir(parents=True, exist_ok=True)
        resumed = self.step > 0
        if not resumed:
            for old in (out / "samples").glob("step_*.png"):
                old.unlink()
        log = JsonLog(out / "log.jsonl", resume_step=self.step if resumed else None)
        bar = ProgressBar(cfg.steps, start=self.step, stream=stream) if progress else None
        previous = None
        try:
            previous = signal.signal(signal.SIGINT, self._request_stop)
        except ValueError:  # not in the main thread: Ctrl-C handling stays as it is
            pass
        t0, start_step, stats = time.perf_counter(), self.step, {}
        try:
            try:
                if not resumed:
                    self.sample_grid(out / "samples" / "step_000000.png")
                while self.step < cfg.steps and not self._stop:
                    stats = self.train_step()
                    self._record(stats, log, bar, start_step, t0)
                    if on_step is not None:
                        on_step(self, stats)
                    if self.step % cfg.sample_every == 0 or self.step == cfg.steps:
                        self.sample_grid(out / "samples" / f"step_{self.step:06d}.png")
                    if self.step % cfg.checkpoint_every == 0 and self.step < cfg.steps:
                        self._save_in_run(out / CHECKPOINT_NAME)
            finally:
                if bar:
                    bar.close()
                log.close()
            seconds = time.perf_counter() - t0
            if self.step > start_step or not (out / CHECKPOINT_NAME).exists():
                self._save_in_run(out / CHECKPOINT_NAME)
            if self._ctrl_c < 2:  # a second Ctrl-C (during the last save): no pictures
                self.write_summary_pictures(out)
        finally:
            if previous is not None:
                signal.signal(signal.SIGINT, previous)
        return {"steps": self.step, "seconds": seconds, "interrupted": self._stop,
                "steps_per_s": (self.step - start_step) / seconds if seconds > 0 else 0.0,
                "stats": stats}

    def _record(self, stats: dict, log: JsonLog, bar: ProgressBar | None, start_step: int,
                t0: float) -> None:
        """Check a step's statistics are finite, log them and update the bar."""
        if not all(math.isfinite(v) for v in stats.values()):
            raise FloatingPointError(f"step {self.step}: a loss is not finite ({stats}); "
                                     f"try a lower --lr")
        rate = (self.step - start_step) / (time.perf_counter() - t0)
        log.write({"step": self.step, **{k: round(v, 6) for k, v in stats.items()},
                   "steps_per_s": round(rate, 4)})
        if bar:
            bar.update(self.step, {label: stats[key]
                                   for key, label in self.BAR_FIELDS.items() if key in stats})

    @classmethod
    def write_summary_pictures(cls, out: str | Path) -> None:
        """``progress.png`` (the sample grids over time, stacked) and ``losses.png`` of the
        run in ``out`` (a class method: ``minigan plot`` redraws a run's without a trainer)."""
        out = Path(out)
        grids = sorted((out / "samples").glob("step_*.png"))
        if grids:
            images.stack_with_labels(grids, [f"step {int(p.stem[5:])}" for p in grids],
                                     out / "progress.png")
        records = read_log(out / "log.jsonl") if (out / "log.jsonl").exists() else []
        if records and cls.CURVES:
            images.plot_curves([r["step"] for r in records],
                               {label: [r.get(key, float("nan")) for r in records]
                                for key, label in cls.CURVES.items()},
                               out / "losses.png", title=cls.TITLE)
