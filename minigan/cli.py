"""The ``minigan`` command.

Each subcommand is one ``cmd_*`` function, and each command's options are added in one
``add_*`` function. Bad input ends with one line on stderr (``minigan: error: --out ...``)
and exit code 2, never a traceback, and nothing that existed before is changed. No command
writes into the installed package.

The plumbing a trainer's command needs (output folder checks, the overwrite and resume rules,
running with Ctrl-C and divergence handled) lives in the "train plumbing" section, for every
model kind: ``minigan train`` (DCGAN-28) uses it, and so can ``minigan train <model>`` for
another :class:`minigan.training.loop.Trainer`.
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import platform
import sys
import tempfile
from pathlib import Path
from typing import Callable, Iterator, Sequence

from . import __version__, backend
from .errors import MiniganError


class CliError(Exception):
    """A user-facing error: printed as one line, exit code 2."""


PACKAGE_DIR = Path(__file__).resolve().parent

# ---------------------------------------------------------------------------- paths


def refuse_package_path(path: Path, option: str) -> None:
    """No command writes into the installed package (its data and shipped weights)."""
    resolved = path.resolve()
    if resolved == PACKAGE_DIR or PACKAGE_DIR in resolved.parents:
        raise CliError(f"{option} {path}: that is inside the minigan package ({PACKAGE_DIR}), "
                       f"which no command writes into; choose a path elsewhere (e.g. under runs/)")


def _nearest_existing(path: Path) -> Path:
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    return probe


def _path(path: str | Path, option: str) -> Path:
    if not str(path).strip():
        raise CliError(f"{option}: the path is empty")
    return Path(path)


def check_folder_path(path: str | Path, option: str, given: Path | None = None) -> Path:
    """A folder a command will write into: not a file, no file among its parents, not in the
    package, and (as far as can be told without creating it) writable. ``given``: the path
    the user gave, when ``path`` is the folder of a file."""
    path = _path(path, option)
    shown = given or path
    refuse_package_path(shown, option)
    if path.exists() and not path.is_dir():
        what = f"{path} is a file" if given else "is a file"
        raise CliError(f"{option} {shown}: {what}, not a folder")
    existing = _nearest_existing(path)
    if not existing.is_dir():
        raise CliError(f"{option} {shown}: {existing} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise CliError(f"{option} {shown}: cannot write into {existing} (permission denied)")
    return path


def check_file_path(path: str | Path, option: str, overwrite: bool = True) -> Path:
    """A file a command will write: not a folder, its folder creatable, not in the package;
    an existing file only with ``overwrite``."""
    path = _path(path, option)
    refuse_package_path(path, option)
    if path.is_dir():
        raise CliError(f"{option} {path}: is a folder; give a file name inside it")
    if path.exists() and not overwrite:
        raise CliError(f"{option} {path}: already exists; pass --overwrite to replace it, "
                       f"or choose another path")
    check_folder_path(path.parent, option, given=path)
    return path


def make_folder(path: Path, option: str) -> Path:
    """Create the folder (and its parents) and check a file can be written in it."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        raise CliError(f"{option} {path}: cannot write there ({exc.strerror or exc})") from None
    return path


def check_input_folder(path: str | Path, option: str) -> Path:
    """A folder a command reads: given, and not a file (a missing one is the reader's to say)."""
    path = _path(path, option)
    if path.exists() and not path.is_dir():
        raise CliError(f"{option} {path}: is a file, not a folder")
    return path


@contextlib.contextmanager
def option_errors(option: str) -> Iterator[None]:
    """Errors from the library while handling ``option`` become one line that names it:
    minigan's own errors, OSError (with the path) and ValueError (e.g. a corrupt IDX file)."""
    try:
        yield
    except CliError:
        raise
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        raise CliError(f"{option}: {where}{exc.strerror or exc}") from None
    except (MiniganError, ValueError) as exc:
        text = str(exc)
        raise CliError(text if text.startswith("--") else f"{option}: {text}") from None


# ---------------------------------------------------------------------------- info


def blas_name() -> str:
    """The BLAS library NumPy uses (via threadpoolctl when present, else numpy's config)."""
    try:
        from threadpoolctl import threadpool_info
        for pool in threadpool_info():
            if pool.get("user_api") == "blas":
                return (f"{pool.get('internal_api')} {pool.get('version') or ''} "
                        f"({pool.get('num_threads')} threads)").replace("  ", " ")
    except Exception:
        pass
    import numpy as np
    try:
        config = np.show_config(mode="dicts")
        blas = config["Build Dependencies"]["blas"]
        return f"{blas.get('name')} {blas.get('version', '')}".strip()
    except Exception:
        return "unknown"


def cmd_info(args: argparse.Namespace) -> int:
    """Versions, BLAS, the process settings in effect, usable devices."""
    import numpy as np
    from .process import process_settings
    settings = process_settings()
    print(f"minigan {__version__}")
    print(f"Python  {platform.python_version()} ({platform.machine()})")
    print(f"NumPy   {np.__version__}, BLAS: {blas_name()}")
    print(f"process malloc: {settings['malloc']}")
    print(f"        OpenBLAS: {settings['blas_spin']}")
    cupy = backend._cupy
    print(f"CuPy    {cupy.__version__ if cupy is not None else 'not installed'}")
    devices = ["cpu"]
    reason = backend.cuda_status()
    if reason is None:
        devices += [f"cuda:{i}" for i in range(backend.cuda_device_count())]
    print("devices " + ", ".join(devices) + ("" if reason is None else f"  (cuda: {reason})"))
    return 0


# ---------------------------------------------------------------------------- train plumbing


def add_run_options(p: argparse.ArgumentParser, defaults, what: str) -> None:
    """The options every GAN trainer's ``train`` command has (RunConfig's fields, resume,
    overwrite, quiet); ``defaults`` is the trainer's config with its defaults."""
    p.add_argument("--steps", type=int, metavar="N", help=f"Train to this many steps in all "
                   f"(default {defaults.steps}; with --resume, the new total).")
    p.add_argument("--batch-size", type=int, metavar="N",
                   help=f"Images per batch (default {defaults.batch_size}).")
    p.add_argument("--lr", type=float, help=f"The learning rate of both networks "
                   f"(default {defaults.lr:g})." if defaults.lr is not None else
                   "The learning rate of both networks: sets --lr-g and --lr-d.")
    p.add_argument("--device", help="Where to train: cpu (the default), cuda or cuda:N "
                   "(needs CuPy).")
    p.add_argument("--seed", type=int, help=f"The seed of the weights, the noise and the data "
                   f"order (default {defaults.seed}).")
    p.add_argument("--out", metavar="DIR", help=f"The folder for the samples, log, checkpoint "
                   f"and plots (default {defaults.out}).")
    p.add_argument("--sample-every", type=int, metavar="N", help=f"Save a sample grid every N "
                   f"steps (default {defaults.sample_every}).")
    p.add_argument("--checkpoint-every", type=int, metavar="N", help=f"Save a checkpoint every "
                   f"N steps (default {defaults.checkpoint_every}).")
    p.add_argument("--ema", type=float, metavar="DECAY", help=f"The EMA decay of the generator "
                   f"used for sampling (default {defaults.ema}; 0 turns it off).")
    p.add_argument("--resume", metavar="DIR", help=f"Continue the {what} run in DIR from its "
                   f"checkpoint, with its own settings (--steps sets the new total).")
    p.add_argument("--overwrite", action="store_true", help="Start afresh even if --out "
                   "already holds a run (its checkpoint, log and samples are replaced).")
    p.add_argument("--quiet", action="store_true", help="Show no progress bar.")


def _given(args: argparse.Namespace, fields: Sequence[str]) -> dict:
    return {f: getattr(args, f) for f in fields if getattr(args, f, None) is not None}


def _carry_history(run_dir: Path, out: Path) -> None:
    """A run resumed into another folder takes its log and sample grids along (so that
    losses.png and progress.png cover the whole run); the loop then drops what lies past
    the checkpoint's step."""
    import shutil
    with option_errors("--out"):
        if (run_dir / "log.jsonl").is_file():
            shutil.copyfile(run_dir / "log.jsonl", out / "log.jsonl")
        (out / "samples").mkdir(exist_ok=True)
        for old in (out / "samples").glob("step_*.png"):
            old.unlink()
        for grid in (run_dir / "samples").glob("step_*.png"):
            shutil.copyfile(grid, out / "samples" / grid.name)


def _resume_hint(path: Path, trainer_class) -> str:
    """For a run of another kind: the command that continues it."""
    try:
        kind = checkpoint_kind(path)
    except (MiniganError, OSError):
        return ""
    command = RESUME_COMMANDS.get(kind)
    if kind == trainer_class.CHECKPOINT_KIND or command is None:
        return ""
    return f" (continue it with '{command} --resume {path}')"


def config_from_args(config_class, args: argparse.Namespace):
    """A new run's config: ``config_class``'s defaults, overridden by the options given,
    validated (the messages name the options)."""
    fields = [f.name for f in dataclasses.fields(config_class)]
    config = config_class(**_given(args, fields))
    with option_errors("--device"):  # the other settings' messages name their options
        config.validate()
    return config


def start_or_resume(trainer_class, args: argparse.Namespace, make_trainer: Callable | None = None,
                    data_option: str = "--data"):
    """The trainer a ``train`` command runs, by the rules every model kind shares:

    - a new run: the options given override the config's defaults; ``--out`` must be a folder
      that can be written, and one holding a run (checkpoint.npz) is refused unless
      ``--overwrite``;
    - ``--resume DIR`` (or a checkpoint file): the run keeps its settings (giving one that
      cannot change is refused), ``--steps`` sets the new total (below the step reached is
      refused); ``--out`` continues it elsewhere.

    Returns the trainer, or None when a resumed run is already finished (nothing to do: the
    caller exits 0, since running the same command again after it finished is not an error).
    ``make_trainer(config)`` builds a new run's trainer (default ``trainer_class(config)``);
    errors while it loads its data are reported under ``data_option``.
    """
    from .training.loop import CHECKPOINT_NAME, RESUMABLE_FIELDS
    config_class = trainer_class.CONFIG_CLASS
    fields = [f.name for f in dataclasses.fields(config_class)]
    if args.resume:
        fixed = _given(args, [f for f in fields if f not in RESUMABLE_FIELDS])
        if fixed:
            names = ", ".join("--" + n.replace("_", "-") for n in fixed)
            raise CliError(f"--resume continues a run with its own settings; drop {names}")
        if args.device is not None:
            with option_errors("--device"):
                backend.normalize_device(args.device)
        path = Path(args.resume)
        run_dir = path if path.is_dir() else path.parent
        out = Path(args.out) if args.out else run_dir
        check_folder_path(out, "--out" if args.out else "--resume")
        if args.out and (out / CHECKPOINT_NAME).exists() and not args.overwrite and \
                out.resolve() != run_dir.resolve():
            raise CliError(f"--out {out}: already holds another run (checkpoint.npz); pass "
                           f"--overwrite to replace it, or choose another --out")
        with option_errors("--resume"):
            try:
                trainer = trainer_class.from_checkpoint(
                    path, **{**_given(args, RESUMABLE_FIELDS), "out": str(out)})
            except MiniganError as exc:
                raise CliError(f"--resume: {exc}{_resume_hint(path, trainer_class)}") from None
        c = trainer.config
        if args.steps is not None and args.steps < trainer.step:
            raise CliError(f"--steps: {args.steps} is below the step the run has reached "
                           f"({trainer.step}); give a larger total")
        if trainer.step >= c.steps:
            print(f"{run_dir} is finished (step {trainer.step} of {c.steps}): nothing to do; "
                  f"pass --steps N with N > {trainer.step} to train further")
            return None
        make_folder(out, "--out" if args.out else "--resume")
        if out.resolve() != run_dir.resolve():
            _carry_history(run_dir, out)
        print(f"resuming {c.out} at step {trainer.step} of {c.steps}")
        return trainer
    config = config_from_args(config_class, args)
    out = check_folder_path(config.out, "--out")
    if (out / CHECKPOINT_NAME).exists() and not args.overwrite:
        raise CliError(f"--out {out}: already holds a run (checkpoint.npz): continue it with "
                       f"--resume {out}, or pass --overwrite, or choose another --out")
    with option_errors(data_option):
        trainer = (make_trainer or trainer_class)(config)
    make_folder(out, "--out")
    return trainer


def run_training(trainer, args: argparse.Namespace, on_step: Callable | None = None,
                 after_run: Callable | None = None) -> int:
    """Run a trainer (``on_step(trainer, stats)`` after each step), call ``after_run()``, then
    say where everything went; 130 after Ctrl-C, 2 if it diverged."""
    try:
        summary = trainer.run(progress=not args.quiet, on_step=on_step)
    except FloatingPointError as exc:  # diverged: the last good checkpoint is left as it was
        raise CliError(str(exc)) from None
    if after_run is not None:
        after_run()
    out = trainer.config.out
    verb = "stopped (Ctrl-C) at" if summary["interrupted"] else "done:"
    print(f"{verb} step {summary['steps']} in {summary['seconds']:.0f} s "
          f"({summary['steps_per_s']:.2f} steps/s); checkpoint {out}/checkpoint.npz, "
          f"samples {out}/samples/, {out}/progress.png, {out}/losses.png")
    return 130 if summary["interrupted"] else 0


# ---------------------------------------------------------------------------- train (DCGAN-28)


def cmd_train(args: argparse.Namespace) -> int:
    """Train DCGAN-28 (a new run, or ``--resume DIR``); or ``--profile N`` steps of one."""
    from .training import diagnostics
    from .training.gan import GANConfig, GANTrainer
    if args.data is not None:
        check_input_folder(args.data, "--data")
    if args.profile is not None:  # time N steps op by op, print the table, train nothing
        if args.resume:
            raise CliError("--profile times a fresh DCGAN-28; drop --resume")
        with option_errors("--data"):
            print(diagnostics.profile_training(config_from_args(GANConfig, args), args.profile))
        return 0
    if args.diagnostics and args.diagnostics_every < 1:
        raise CliError(f"--diagnostics-every: must be an int >= 1, got {args.diagnostics_every}")
    trainer = start_or_resume(GANTrainer, args)
    if trainer is None:
        return 0
    c = trainer.config
    if trainer.step == 0:
        print(f"training DCGAN-28 for {c.steps} steps on {len(trainer.batches.arrays[0])} images "
              f"({'shipped MNIST subset' if c.data is None else c.data}), batch {c.batch_size}, "
              f"{c.optimizer} lr {c.lr:g}, device {c.device}; writing to {c.out}/")
    diag = diagnostics.for_run(trainer, args.diagnostics, args.diagnostics_every)

    def report_diagnostics() -> None:
        drawn = ", ".join(str(p) for p in diagnostics.plot_diagnostics(c.out))
        every = "every step" if diag.every == 1 else f"every {diag.every} steps"
        print(f"diagnostics ({every}) in {diag.path}; drawn: {drawn or 'none'}")
    try:
        return run_training(trainer, args, on_step=diag and diag.record,
                            after_run=diag and report_diagnostics)
    finally:
        if diag:
            diag.close()


def add_train_options(p: argparse.ArgumentParser) -> None:
    """``minigan train``'s options: the shared run options and DCGAN-28's own."""
    from .training.gan import GANConfig
    d = GANConfig()
    add_run_options(p, d, "DCGAN-28")
    p.add_argument("--optimizer", choices=["adam", "rmsprop"],
                   help="The optimizer of both networks: adam (betas 0.5, 0.999; the default) "
                   "or rmsprop.")
    p.add_argument("--data", metavar="DIR", help="A folder of MNIST IDX files to train on "
                   "(default: the 5,000-image subset shipped with minigan).")
    p.add_argument("--limit", type=int, metavar="N", help="Train on N images only (every k-th, "
                   "so all ten digits stay).")
    p.add_argument("--r1", type=float, metavar="GAMMA", help="The weight of the R1 gradient "
                   "penalty on real images (default 0: off).")
    p.add_argument("--diagnostics", action="store_true", help="Log per-layer gradient and "
                   "weight norms of G and D and D's accuracy on real and fake to "
                   "DIR/diagnostics.jsonl, and draw them (see 'minigan plot').")
    p.add_argument("--diagnostics-every", type=int, default=1, metavar="K",
                   help="With --diagnostics: record every K steps (default 1).")
    p.add_argument("--profile", type=int, metavar="N", help="Instead of training: run one "
                   "warm-up step, profile the next N steps op by op (calls, time, FLOPs, "
                   "bytes), print the table and exit, writing no files.")


# ---------------------------------------------------------------------------- train classifier


def add_classifier_device_and_out(p: argparse.ArgumentParser, default_out) -> None:
    """--device, --out and --overwrite of the commands that train a classifier."""
    p.add_argument("--device", default="cpu", help="Where to train: cpu (the default), cuda "
                   "or cuda:N.")
    p.add_argument("--out", metavar="PATH", default=str(default_out),
                   help=f"Where to write the weights (default {default_out}; the shipped file "
                   f"is never replaced).")
    p.add_argument("--overwrite", action="store_true", help="Replace --out if it exists.")


def classifier_device_and_out(args: argparse.Namespace) -> tuple[str, Path]:
    """The checked device and output file of a classifier-training command (its folder made)."""
    with option_errors("--device"):
        device = backend.normalize_device(args.device)
    out = check_file_path(args.out, "--out", overwrite=args.overwrite)
    make_folder(out.parent, "--out")
    return device, out


def cmd_train_classifier(args: argparse.Namespace) -> int:
    """Train the evaluator's digit classifier with minigan (never over the shipped weights)."""
    from .training.classifier import check_classifier_settings, train_classifier
    check_classifier_settings(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                              seed=args.seed, limit=args.limit)
    device, out = classifier_device_and_out(args)
    try:
        result = train_classifier(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                                  seed=args.seed, device=device, out=out, limit=args.limit)
    except FloatingPointError as exc:
        raise CliError(str(exc)) from None
    print(f"held-out accuracy {result['accuracy']:.2%} after {args.epochs} epochs "
          f"({result['seconds']:.0f} s); weights written to {out} "
          f"(use them with: minigan eval --classifier {out} ...)")
    return 0


def add_train_classifier_options(p: argparse.ArgumentParser) -> None:
    from .training.classifier import DEFAULT_OUT
    p.add_argument("--epochs", type=int, default=20, metavar="N",
                   help="Passes over the training images (default 20).")
    p.add_argument("--batch-size", type=int, default=64, metavar="N",
                   help="Images per batch (default 64).")
    p.add_argument("--lr", type=float, default=1e-3, help="Adam's learning rate (default 1e-3).")
    p.add_argument("--seed", type=int, default=0, help="The seed of the weights, shifts and "
                   "data order (default 0).")
    p.add_argument("--limit", type=int, metavar="N", help="Train on N of the 4,000 images only "
                   "(a quick try).")
    add_classifier_device_and_out(p, DEFAULT_OUT)


# ---------------------------------------------------------------------------- train text2img


# ``minigan train text2img --quick``, measured on 2026-12-02: 62 s of CPU time for its 300
# steps on one thread (88 s of wall time beside two other training runs on the 2 cores), so
# one to two minutes. Scored by 'minigan eval' (500 captions, seed 0): seen captions 0.91
# whole (shape 0.96, colour 0.96, size 0.96, position 0.97), held-out pairs 0.77, diversity
# 0.98; 2.2-2.6 colours over 8 samples of a partial caption (the defaults before the
# contrastive term and the rate decay: 0.64 whole, 0.22 held-out; 225 s of CPU time then,
# with two threads on a machine under load 3-5).
QUICK_MEASURED = "one to two minutes on 2 CPU cores: 62 s of CPU time, measured"


def text2img_args(args: argparse.Namespace) -> argparse.Namespace:
    """``train text2img``'s own checks, and ``--quick``'s settings filled in under the options
    given beside it (so ``--quick --steps 300`` is the quick run, 300 steps long)."""
    from .training.text2img import QUICK_SETTINGS
    if args.resume and args.quick:
        raise CliError("--quick starts a new short run; drop it with --resume (a resumed run "
                       "keeps its own settings)")
    if args.lr is not None and (args.lr_g is not None or args.lr_d is not None):
        raise CliError("--lr sets both networks' learning rate; give either --lr or "
                       "--lr-g / --lr-d")
    if args.quick:
        for name, value in QUICK_SETTINGS.items():
            if getattr(args, name, None) is None:
                setattr(args, name, value)
    return args


def cmd_train_text2img(args: argparse.Namespace) -> int:
    """Train the text-to-image GAN (a new run, ``--quick``, or ``--resume DIR``)."""
    from .training.text2img import Text2ImgTrainer
    trainer = start_or_resume(Text2ImgTrainer, text2img_args(args))
    if trainer is None:
        return 0
    c = trainer.config
    if trainer.step == 0:
        stages = (f"{c.pretrain_steps} unconditional steps (stage 1), then "
                  f"{c.steps - c.pretrain_steps} with text" if c.pretrain_steps else
                  f"{c.steps} steps")
        print(f"training text to image{' (--quick)' if args.quick else ''} on {c.data}: "
              f"{stages}, batch {c.batch_size}, {c.loss} loss, lr G {c.lr_g:g} D {c.lr_d:g}, "
              f"cross-attention {'on' if c.cross_attention else 'off'}, device {c.device}; "
              f"writing to {c.out}/")
    return run_training(trainer, args)


def _flag(p: argparse.ArgumentParser, name: str, text: str) -> None:
    p.add_argument(name, action=argparse.BooleanOptionalAction, default=None, help=text)


def add_train_text2img_options(p: argparse.ArgumentParser) -> None:
    """``minigan train text2img``'s options: the shared run options and the model's own."""
    from .data.shapes import HELD_OUT_PAIRS
    from .training.text2img import (DATA_SETS, FAKES, G_NEGATIVES, LOSSES, POSITIVES,
                                    QUICK_SETTINGS, TEXT_ENCODERS, Text2ImgConfig)
    from .models.text2img import MATCHING
    from .models.text_encoder import POOLS
    d = Text2ImgConfig()
    add_run_options(p, d, "text2img")
    quick = ", ".join(f"--{k.replace('_', '-')} {v}" for k, v in QUICK_SETTINGS.items())
    p.add_argument("--quick", action="store_true", help=f"A short run that shows the idea "
                   f"({QUICK_MEASURED}): {quick}; options given "
                   f"beside it override these.")
    held = ", ".join(f"{c} {s}" for c, s in HELD_OUT_PAIRS)
    p.add_argument("--data", choices=DATA_SETS, help=f"What to learn: shapes (captioned "
                   f"coloured shapes drawn on the fly; {held} never seen in training, for the "
                   f"zero-shot test) or digits (the shipped MNIST digits with captions such "
                   f"as 'the digit seven'); default {d.data}.")
    p.add_argument("--pretrain-steps", type=int, metavar="N", help=f"Stage 1: the first N "
                   f"steps train G and D without text, then stage 2 adds the text pathway "
                   f"from their weights (default {d.pretrain_steps}).")
    p.add_argument("--lr-g", type=float, help=f"G's learning rate (default {d.lr_g:g}).")
    p.add_argument("--lr-d", type=float, help=f"D's (and its text encoder's) learning rate "
                   f"(default {d.lr_d:g}).")
    p.add_argument("--betas", type=float, nargs=2, metavar=("B1", "B2"),
                   help=f"Adam's betas (default {d.betas[0]:g} {d.betas[1]:g}).")
    p.add_argument("--lr-decay-start", type=float, metavar="F", help=f"From this fraction of "
                   f"--steps both learning rates fall linearly, to 0 at the end (default "
                   f"{d.lr_decay_start:g}; 1 keeps them constant).")
    p.add_argument("--loss", choices=LOSSES, help=f"The GAN loss (default {d.loss}).")
    p.add_argument("--z-dim", type=int, metavar="N", help=f"Noise size (default {d.z_dim}).")
    p.add_argument("--text-dim", type=int, metavar="N", help=f"The text encoder's width and "
                   f"the sentence vector's size (default {d.text_dim}).")
    p.add_argument("--text-layers", type=int, metavar="N", help=f"Transformer layers of the "
                   f"text encoder (default {d.text_layers}).")
    p.add_argument("--text-heads", type=int, metavar="N", help=f"Attention heads of the text "
                   f"encoder (default {d.text_heads}).")
    p.add_argument("--text-ff", type=int, metavar="N", help=f"The text encoder's feed-forward "
                   f"width (default {d.text_ff}).")
    p.add_argument("--pool", choices=POOLS, help=f"The sentence vector: the mean of the word "
                   f"states or a learned cls token's (default {d.pool}).")
    p.add_argument("--text-encoder", choices=TEXT_ENCODERS, help=f"Shared: one encoder "
                   f"trained by D, read by G without gradient; separate: G has its own "
                   f"(default {d.text_encoder}).")
    p.add_argument("--ngf", type=int, metavar="N", help=f"G's width (default {d.ngf}).")
    p.add_argument("--mapping", type=int, metavar="M", help=f"Layers of G's mapping network "
                   f"on the noise and sentence vector before its first layer (default "
                   f"{d.mapping}; 0: none).")
    p.add_argument("--ndf", type=int, metavar="N", help=f"D's width (default {d.ndf}).")
    p.add_argument("--d-features", type=int, metavar="N", help=f"D's feature size "
                   f"(default {d.d_features}).")
    _flag(p, "--cross-attention", f"Cross-attention from G's 8x8 and 16x16 features to the "
          f"word states (default {'on' if d.cross_attention else 'off'}).")
    p.add_argument("--attention-heads", type=int, metavar="N", help=f"Heads of G's "
                   f"cross-attention (default {d.attention_heads}).")
    p.add_argument("--matching", choices=MATCHING, help=f"How D matches image and text "
                   f"(default {d.matching}).")
    p.add_argument("--mismatch", type=float, metavar="W", help=f"The weight of (real image, "
                   f"wrong caption) pairs in D's loss, in [0, 1] (default {d.mismatch:g}).")
    p.add_argument("--hard-negatives", type=float, metavar="P", help=f"The share of wrong "
                   f"captions that are the true one with one attribute changed "
                   f"(default {d.hard_negatives:g}).")
    p.add_argument("--magp", type=float, metavar="K", help=f"The weight of DF-GAN's "
                   f"matching-aware gradient penalty (default {d.magp:g}: off).")
    p.add_argument("--magp-power", type=float, metavar="P", help=f"MA-GP's exponent "
                   f"(default {d.magp_power:g}).")
    p.add_argument("--diversity", type=float, metavar="LAMBDA", help=f"The weight of the "
                   f"mode-seeking term that makes G's images follow the noise (default "
                   f"{d.diversity:g}; 0 turns it off).")
    p.add_argument("--contrastive", type=float, metavar="W", help=f"The weight of the "
                   f"image-sentence contrastive loss (XMC-GAN): D and G must tell which caption "
                   f"of the batch an image was drawn for (default {d.contrastive:g}; 0 turns "
                   f"it off).")
    p.add_argument("--temperature", type=float, metavar="T", help=f"The contrastive loss's "
                   f"softmax temperature (default {d.temperature:g}).")
    p.add_argument("--g-contrastive", type=float, metavar="W", help="G's weight of the "
                   "contrastive loss (default: the same as --contrastive; 0: D's only).")
    p.add_argument("--g-negatives", choices=G_NEGATIVES, help=f"What G's contrastive term "
                   f"tells a fake's caption from: the other captions of the \"batch\", or "
                   f"captions with one stated attribute \"changed\" (default {d.g_negatives}).")
    p.add_argument("--fakes", choices=FAKES, help=f"D's fakes: a G pass of their own "
                   f"(\"separate\", one noise per caption of the batch) or the images G's step "
                   f"then scores (\"shared\": one G pass a step, as PyTorch's DCGAN example "
                   f"does) (default {d.fakes}).")
    p.add_argument("--g-positives", choices=POSITIVES, help=f"With --g-negatives changed: how "
                   f"the completions of a caption that leaves the position open count as the "
                   f"fake's positives, their \"sum\" (any of them) or their \"max\" (the best "
                   f"one alone; the others count against) (default {d.g_positives}).")
    p.add_argument("--ema-bn-batches", type=int, metavar="N", help=f"Batches that re-estimate "
                   f"the EMA generator's BatchNorm statistics before it samples "
                   f"(default {d.ema_bn_batches}).")
    p.add_argument("--p-state", type=float, metavar="P", help=f"The probability that a "
                   f"training caption states the size, the colour and the position, each "
                   f"(default {d.p_state:g}).")


# ---------------------------------------------------------------------------- train attributes


def cmd_train_attributes(args: argparse.Namespace) -> int:
    """Retrain the attribute classifier that scores text-to-image checkpoints (into runs/)."""
    from .training.attributes import train_attribute_classifier
    from .training.options import check_float, check_int
    with option_errors("--steps"):
        for name in ("steps", "batch_size"):
            check_int(name, getattr(args, name), 1)
        check_int("seed", args.seed, 0)
        check_float("lr", args.lr, low=0.0, low_open=True)
    device, out = classifier_device_and_out(args)
    result = train_attribute_classifier(steps=args.steps, batch_size=args.batch_size,
                                        lr=args.lr, seed=args.seed, device=device, out=out)
    print(f"{args.steps} steps in {result['seconds']:.0f} s; weights written to {out} (use "
          f"them with: minigan eval --checkpoint RUN --classifier {out})")
    return 0


def add_train_attributes_options(p: argparse.ArgumentParser) -> None:
    from .training.attributes import DEFAULT_OUT
    p.add_argument("--steps", type=int, default=1500, metavar="N",
                   help="Training steps, each on fresh renders (default 1500).")
    p.add_argument("--batch-size", type=int, default=128, metavar="N",
                   help="Images per step (default 128).")
    p.add_argument("--lr", type=float, default=2e-3, help="Adam's learning rate, decayed by a "
                   "cosine (default 2e-3).")
    p.add_argument("--seed", type=int, default=0, help="The seed of the weights and the "
                   "renders (default 0).")
    add_classifier_device_and_out(p, DEFAULT_OUT)


# ---------------------------------------------------------------------------- sample / eval


def load_generator(path: str, device: str):
    """The generator of a DCGAN-28 checkpoint (its EMA weights when it has them), eval mode,
    and the step it was saved at."""
    from .errors import CheckpointError
    from .models.dcgan import Generator
    from .training.checkpoint import load_checkpoint
    from .training.gan import CHECKPOINT_KIND
    state = load_checkpoint(path, CHECKPOINT_KIND)
    generator = Generator()
    try:
        generator.load_state_dict(state.get("generator_ema") or state["generator"])
        step = int(state["step"])
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{path}: a {CHECKPOINT_KIND!r} checkpoint whose generator "
                              f"cannot be read ({type(exc).__name__}: {exc})") from None
    return generator.to(device).eval(), step


MAX_SAMPLES = {".png": 10_000, ".npy": 100_000}
TEXT_OPTIONS = ("prompt", "prompts", "interpolate")
KIND_NAMES = {"dcgan28": "DCGAN-28, digits without text", "text2img": "text to image"}
RESUME_COMMANDS = {"dcgan28": "minigan train", "text2img": "minigan train text2img"}


def checkpoint_kind(path: str | Path) -> str | None:
    """The kind a checkpoint file (or a run folder's checkpoint.npz) says it holds; errors as
    :func:`minigan.training.checkpoint.load_checkpoint`'s (missing, not a checkpoint)."""
    from .errors import CheckpointError
    from .serialization import load
    path = Path(path)
    if path.is_dir():
        path = path / "checkpoint.npz"
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint")
    state = load(path)
    return state.get("kind") if isinstance(state, dict) else None


def wrong_kind(path, found: str | None, wanted: str, option: str) -> CliError:
    """The one-line error for a checkpoint of another kind, naming the path and both kinds."""
    what = f"a {found!r} ({KIND_NAMES[found]}) checkpoint" if found in KIND_NAMES else \
        (f"a {found!r} checkpoint" if found else "not a training checkpoint")
    return CliError(f"{option} {path}: {what}; this needs a {wanted!r} ({KIND_NAMES[wanted]}) "
                    f"checkpoint")


def check_sample_options(args: argparse.Namespace) -> tuple[Path, str]:
    """``sample``'s checks that hold for every model kind: --out a .png or .npy file that can
    be written (not in the package), --n within bounds, --seed, --device; returns the output
    path and the device. Nothing is created yet."""
    out = Path(args.out)
    suffix = out.suffix.lower()
    if suffix not in MAX_SAMPLES:
        raise CliError(f"--out {out}: must end in .png (a grid) or .npy (the images)")
    if args.n is not None and not 1 <= args.n <= MAX_SAMPLES[suffix]:
        raise CliError(f"--n: must be in [1, {MAX_SAMPLES[suffix]}] for a {suffix} file, "
                       f"got {args.n}")
    if args.seed < 0:
        raise CliError(f"--seed: must be >= 0, got {args.seed}")
    if args.truncation is not None and not args.truncation > 0:
        raise CliError(f"--truncation: must be > 0, got {args.truncation:g}")
    if args.steps is not None and args.interpolate is None:
        raise CliError("--steps: the number of images of an --interpolate row; give "
                       "--interpolate A B (or drop --steps)")
    if args.n is not None and (args.prompts is not None or args.interpolate is not None):
        which = "--prompts draws one image per caption" if args.prompts is not None else \
            "--interpolate draws --steps images"
        raise CliError(f"--n: {which}; drop --n")
    with option_errors("--device"):
        device = backend.normalize_device(args.device)
    return check_file_path(out, "--out"), device


def write_samples(images_nchw, out: Path, labels: Sequence[str] | None = None,
                  ncol: int | None = None) -> None:
    """Write float32 images in [-1, 1] as a .npy array or a PNG grid (by ``out``'s suffix);
    ``labels``: one per row of ``ncol`` images, written beside the rows of the PNG."""
    import numpy as np
    from . import images
    make_folder(out.parent, "--out")
    with option_errors("--out"):
        if out.suffix.lower() == ".npy":
            np.save(out, np.asarray(images_nchw, np.float32))
        elif labels is not None:
            images.save_labelled_grid(images_nchw, labels, out, ncol=ncol)
        else:
            images.save_grid(images_nchw, out)


def cmd_sample(args: argparse.Namespace) -> int:
    """Draw images from a checkpoint into a PNG grid or a .npy array."""
    import numpy as np
    from .autograd import Tensor, no_grad
    from .training.text2img import truncated_normal
    out, device = check_sample_options(args)
    with option_errors("--checkpoint"):
        kind = checkpoint_kind(args.checkpoint)
    text = [f"--{name}" for name in TEXT_OPTIONS if getattr(args, name) is not None]
    if kind == "text2img":
        return sample_text2img(args, out, device)
    if text and kind == "dcgan28":
        raise CliError(f"{text[0]}: --checkpoint {args.checkpoint} is a 'dcgan28' "
                       f"({KIND_NAMES['dcgan28']}) checkpoint; prompts need a 'text2img' "
                       f"({KIND_NAMES['text2img']}) checkpoint")
    with option_errors("--checkpoint"):
        generator, step = load_generator(args.checkpoint, device)
    n = 64 if args.n is None else args.n
    z = truncated_normal(np.random.default_rng(args.seed), (n, generator.z_dim), args.truncation)
    with no_grad():
        fakes = np.concatenate([backend.as_numpy(generator(Tensor(z[i:i + 500], device=device)).data)
                                for i in range(0, n, 500)]).astype(np.float32)
    write_samples(fakes, out)
    print(f"wrote {n} samples (step {step}) to {out}")
    return 0


@contextlib.contextmanager
def prompt_warnings() -> Iterator[None]:
    """Warnings about unknown words in prompts as one line each on stderr (each once)."""
    import warnings
    from .data.tokenizer import UnknownWordWarning
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UnknownWordWarning)
        try:
            yield
        finally:
            seen = set()
            for w in caught:
                if issubclass(w.category, UnknownWordWarning) and str(w.message) not in seen:
                    seen.add(str(w.message))
                    print(f"minigan: warning: {w.message}", file=sys.stderr)
                elif not issubclass(w.category, UnknownWordWarning):
                    warnings.showwarning(w.message, w.category, w.filename, w.lineno)


def read_prompts(path: str) -> list[str]:
    """The captions of a --prompts file: one a line, in order; blank lines are skipped."""
    file = _path(path, "--prompts")
    if file.is_dir():
        raise CliError(f"--prompts {file}: is a folder; give a text file with one caption "
                       f"a line")
    with option_errors("--prompts"):
        lines = file.read_text(encoding="utf-8").splitlines()
    prompts = [line.strip() for line in lines if line.strip()]
    if not prompts:
        raise CliError(f"--prompts {file}: holds no caption (one a line)")
    return prompts


def load_text2img(path: str, device: str, option: str = "--checkpoint"):
    """The trainer of a text2img checkpoint, on ``device`` (for sampling and scoring)."""
    from .training.text2img import Text2ImgTrainer
    with option_errors(option):
        return Text2ImgTrainer.from_checkpoint(path, device=device)


def sample_text2img(args: argparse.Namespace, out: Path, device: str) -> int:
    """``minigan sample`` on a text2img checkpoint: --prompt (N samples), --prompts FILE (one
    each) or --interpolate A B (a row of --steps images); noise fixed by --seed, truncated
    by --truncation."""
    import numpy as np
    if args.prompt is None and args.prompts is None and args.interpolate is None:
        raise CliError(f"--checkpoint {args.checkpoint}: a 'text2img' "
                       f"({KIND_NAMES['text2img']}) checkpoint draws from text: give --prompt "
                       f"TEXT, --prompts FILE or --interpolate A B (sampling without text "
                       f"needs a 'dcgan28' ({KIND_NAMES['dcgan28']}) checkpoint)")
    prompts = read_prompts(args.prompts) if args.prompts is not None else None
    trainer = load_text2img(args.checkpoint, device)
    labels = ncol = None
    with prompt_warnings(), option_errors("--prompt"):
        if args.interpolate is not None:
            steps = 8 if args.steps is None else args.steps
            z = trainer.noise(1, seed=args.seed, truncation=args.truncation)
            start, end = args.interpolate
            with option_errors("--interpolate"):
                images = backend.as_numpy(trainer.interpolate(start, end, steps, z).data)
            labels, ncol = [f"{start} -> {end}"], steps
            what = f"a row of {steps} images from {start!r} to {end!r}"
        else:
            if prompts is None:
                trainer.tokenizer.encode_prompts([args.prompt])   # warn once, refuse early
                n = 64 if args.n is None else args.n
                prompts = [args.prompt] * n
                ncol = min(8, n)
                labels = [args.prompt] + [""] * ((n - 1) // ncol)
                what = f"{n} samples of {args.prompt!r}"
            else:
                with option_errors("--prompts"):
                    trainer.tokenizer.encode_prompts(prompts)
                labels, ncol = prompts, 1
                what = f"{len(prompts)} samples, one per caption of {args.prompts}"
            z = trainer.noise(len(prompts), seed=args.seed, truncation=args.truncation)
            images = np.concatenate([
                backend.as_numpy(trainer.sample(prompts[i:i + 500], z[i:i + 500]).data)
                for i in range(0, len(prompts), 500)])
    write_samples(images.astype(np.float32), out, labels, ncol)
    trunc = "" if args.truncation is None else f", noise truncated at {args.truncation:g}"
    print(f"wrote {what} (step {trainer.step}, seed {args.seed}{trunc}) to {out}")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    """Score a checkpoint: DCGAN-28's against the held-out digits, text to image's with the
    attribute classifier."""
    if args.n is not None and not 10 <= args.n <= 100_000:
        raise CliError(f"--n: must be in [10, 100000] (a covariance needs samples), got {args.n}")
    if args.seed < 0:
        raise CliError(f"--seed: must be >= 0, got {args.seed}")
    with option_errors("--device"):
        device = backend.normalize_device(args.device)
    with option_errors("--checkpoint"):
        kind = checkpoint_kind(args.checkpoint)
    if kind == "text2img":
        return eval_text2img(args, device)
    return eval_dcgan(args, device)


def eval_dcgan(args: argparse.Namespace, device: str) -> int:
    """Score a DCGAN-28 checkpoint's samples against the held-out digits."""
    import json
    from .data import load_mnist
    from .metrics import evaluate_generator, evaluate_images
    from .models.classifier import WEIGHTS_PATH, load_classifier
    n = 1000 if args.n is None else args.n
    with option_errors("--checkpoint"):
        generator, step = load_generator(args.checkpoint, device)
    with option_errors("--classifier"):
        classifier = load_classifier(args.classifier, device=device)
    real = load_mnist(split="test").images
    scores = evaluate_generator(generator, n=n, seed=args.seed, device=device,
                                classifier=classifier, real=real)
    train = load_mnist(split="train").images  # sorted by digit: take every k-th image
    reference = evaluate_images(train[::max(1, len(train) // n)][:n], real, classifier)
    if args.json:
        print(json.dumps({"checkpoint": str(args.checkpoint), "kind": "dcgan28", "step": step,
                          "n": n, "seed": args.seed, "frechet": float(scores.frechet),
                          "confidence": float(scores.confidence),
                          "coverage": float(scores.coverage),
                          "histogram": [int(c) for c in scores.histogram],
                          "real": {"frechet": float(reference.frechet),
                                   "confidence": float(reference.confidence)}}))
        return 0
    hist = " ".join(f"{d}:{c}" for d, c in enumerate(scores.histogram))
    print(f"checkpoint        {args.checkpoint} (step {step}), {n} samples, seed {args.seed}")
    print(f"classifier        {args.classifier or WEIGHTS_PATH}"
          f"{'' if args.classifier else ' (shipped)'}")
    print(f"Frechet distance  {scores.frechet:.3f}   (to the 1000 held-out digits; "
          f"real training digits score {reference.frechet:.3f})")
    print(f"confidence        {scores.confidence:.3f}   (real digits: {reference.confidence:.3f})")
    print(f"class coverage    {scores.coverage + 0.0:.3f}   (1 = all ten digits equally; "
          f"predicted classes {hist})")
    return 0


def eval_text2img(args: argparse.Namespace, device: str) -> int:
    """The attribute table of a text2img checkpoint (shapes): each attribute and whole
    captions on seen and held-out colour-shape pairs, diversity, variety."""
    import json
    import time
    import numpy as np
    from .models.attributes import (WEIGHTS_PATH, evaluate_text2img,
                                    load_attribute_classifier)
    trainer = load_text2img(args.checkpoint, device)
    if trainer.config.data != "shapes":
        raise CliError(f"--checkpoint {args.checkpoint}: trained on {trainer.config.data!r}; "
                       f"the attribute classifier scores checkpoints trained on 'shapes'")
    with option_errors("--classifier"):
        classifier = load_attribute_classifier(args.classifier, device=device)
    n = 500 if args.n is None else args.n

    def sample(prompts, z):
        return np.concatenate([
            backend.as_numpy(trainer.sample(list(prompts[i:i + 500]), z[i:i + 500]).data)
            for i in range(0, len(prompts), 500)])
    t0 = time.perf_counter()
    result = evaluate_text2img(sample, classifier, trainer.draw_noise, n=n, seed=args.seed,
                               p_state=trainer.config.p_state)
    seconds = time.perf_counter() - t0
    if args.json:
        print(json.dumps({"checkpoint": str(args.checkpoint), "kind": "text2img",
                          "step": trainer.step, "n": n, "seed": args.seed, **result}))
        return 0
    from .data.shapes import ATTRIBUTES
    fmt = lambda v: "   -  " if v is None else f"{v:6.3f}"  # noqa: E731
    print(f"checkpoint  {args.checkpoint} (step {trainer.step} of {trainer.config.steps}), "
          f"{n} captions each, seed {args.seed} ({seconds:.0f} s)")
    print(f"classifier  {args.classifier or WEIGHTS_PATH}"
          f"{'' if args.classifier else ' (shipped)'}")
    print(f"{'accuracy':22s}" + "".join(f"{name:>10s}" for name in (*ATTRIBUTES, "caption")))
    for key, label in (("seen", "seen combinations"), ("heldout", "held-out pairs")):
        scores = result[key]
        print(f"{label:22s}" + "".join(f"{fmt(scores[name]):>10s}"
                                       for name in (*ATTRIBUTES, "caption")))
    print(f"diversity ratio       {result['diversity']:.3f}   (mean pairwise distance of a "
          f"prompt's samples over real renders'; 1 = as varied as the data)")
    print("objects (bright pixels in 8-connected pieces of >= 4 pixels; share of images with "
          "one piece, more, none):")
    for key, label in (("seen", "seen combinations"), ("position open", "  position unstated"),
                       ("heldout", "held-out pairs"), ("real", "real renders (seen)")):
        found = result["objects"][key]
        print(f"{label:22s}one {found['one']:.3f}   several {found['several']:.3f}   "
              f"none {found['none']:.3f}   pure colour {found['pure']:.3f}")
    print(f"variety (distinct values over 8 samples of a partial caption; generated / real):")
    print(f"{'':22s}" + "".join(f"{name:>12s}" for name in ATTRIBUTES))
    for prompt, counts in result["variety"].items():
        real = result["variety_real"][prompt]
        print(f"  {prompt:20s}" + "".join(f"{counts[a]:5.2f} /{real[a]:5.2f}"
                                          for a in ATTRIBUTES))
    return 0


def add_sample_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checkpoint", required=True, metavar="PATH", help="A checkpoint file, or "
                   "a run folder holding checkpoint.npz (DCGAN-28 or text to image).")
    p.add_argument("--n", type=int, help="How many images to draw (default 64; with --prompt: "
                   "samples of that caption).")
    p.add_argument("--seed", type=int, default=0, help="The seed of the noise (default 0).")
    p.add_argument("--out", default="samples.png", metavar="PATH", help="A .png file (a grid) "
                   "or a .npy file (float32 (N, 1, 28, 28) for DCGAN-28, (N, 3, 32, 32) for "
                   "text to image, in [-1, 1]); default samples.png.")
    p.add_argument("--device", default="cpu", help="Where to run: cpu (the default), cuda or "
                   "cuda:N.")
    p.add_argument("--truncation", type=float, metavar="T", help="Truncated noise: every "
                   "entry with |z| > T is drawn again, so images are more typical and less "
                   "varied (default: plain N(0, 1) noise).")
    text = p.add_argument_group("text to image (a 'text2img' checkpoint needs one of these)")
    which = text.add_mutually_exclusive_group()
    which.add_argument("--prompt", metavar="TEXT", help="The caption to draw, e.g. 'a large "
                       "red circle in the top left': --n samples of it (a PNG shows them in "
                       "rows of 8, the caption beside the first); a word the model never saw "
                       "is read as unknown, with a warning.")
    which.add_argument("--prompts", metavar="FILE", help="A text file with one caption a line: "
                       "one image each, in the file's order (blank lines are skipped).")
    which.add_argument("--interpolate", nargs=2, metavar=("A", "B"), help="A row of --steps "
                       "images morphing from caption A to caption B with one fixed noise (the "
                       "sentence vectors blended linearly; the word states too when A and B "
                       "have as many words, else each image takes the nearer caption's).")
    text.add_argument("--steps", type=int, metavar="N", help="With --interpolate: the "
                      "images in the row, A and B included (default 8).")


def add_eval_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checkpoint", required=True, metavar="PATH", help="A checkpoint file, or "
                   "a run folder holding checkpoint.npz (DCGAN-28 or text to image).")
    p.add_argument("--n", type=int, help="How many generated images to score (default 1000; "
                   "text to image: captions of seen and of held-out pairs each, default 500).")
    p.add_argument("--seed", type=int, default=0, help="The seed of the noise (default 0).")
    p.add_argument("--device", default="cpu", help="Where to run: cpu (the default), cuda or "
                   "cuda:N.")
    p.add_argument("--classifier", metavar="PATH", help="Classifier weights to score with, "
                   "e.g. from 'minigan train classifier' (DCGAN-28) or 'minigan train "
                   "attributes' (text to image); default: the shipped ones.")
    p.add_argument("--json", action="store_true", help="Print the scores as one JSON object "
                   "instead of the table.")


# ---------------------------------------------------------------------------- plot


def cmd_plot(args: argparse.Namespace) -> int:
    """Redraw a run's pictures, with its diagnostics (minigan/training/diagnostics.py)."""
    from .errors import CheckpointError
    from .training.diagnostics import plot_run
    from .training.loop import CHECKPOINT_NAME
    from .training.text2img import Text2ImgTrainer
    trainer_class = None        # DCGAN-28's curves, unless the run says it is text to image
    if (Path(args.run) / CHECKPOINT_NAME).is_file():
        with contextlib.suppress(CheckpointError, OSError):
            if checkpoint_kind(args.run) == Text2ImgTrainer.CHECKPOINT_KIND:
                trainer_class = Text2ImgTrainer
    written = plot_run(args.run, trainer_class)
    print("wrote " + ", ".join(str(p) for p in written))
    return 0


def add_plot_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("run", metavar="RUN", help="The run folder ('minigan train''s --out).")


# ---------------------------------------------------------------------------- gradcheck


def cmd_gradcheck(args: argparse.Namespace) -> int:
    """gradcheck + gradgradcheck of every public op (minigan/selfcheck.py); exit 1 on failure."""
    import time

    from . import selfcheck
    if args.seed < 0:
        raise CliError(f"--seed: must be >= 0, got {args.seed}")
    if args.graph or args.out:  # the annotated graph of a model (minigan/graphcheck.py)
        if not args.graph or args.op:
            raise CliError("--graph NAME checks every op of a model's graph, and --out draws "
                           "it: give --graph (and no --op) to use --out")
        from . import graphcheck
        return graphcheck.main(args.graph, args.out, args.device, args.seed, args.fast)
    with option_errors("--device"):
        device = backend.normalize_device(args.device)
    checks = selfcheck.select(args.op)
    if not checks:
        names = ", ".join(c.name for c in selfcheck.CHECKS)
        raise CliError(f"--op: no op matches {args.op!r}; known: {names}")
    print(f"gradcheck on {device}, float64, {'fast (directional)' if args.fast else 'element-wise'}")
    print(f"{'op':34s} {'first order':>12s} {'second order':>13s} {'max error':>10s}")
    failures, start = [], time.perf_counter()
    for c in checks:
        o = selfcheck.run_check(c, device, seed=args.seed, fast=args.fast)
        word = lambda r: "-" if r is None else ("ok" if r.ok else "FAIL")  # noqa: E731
        if o.skipped:
            print(f"{o.name:34s} {'skipped':>12s} {'':>13s} {'':>10s}  {o.skipped}")
            continue
        print(f"{o.name:34s} {word(o.first):>12s} {word(o.second):>13s} {o.max_error:10.2e}")
        if not o.ok:
            failures.append(o)
    for o in failures:
        for r in (o.first, o.second):
            if r is not None and not r.ok:
                print(f"  {o.name}: {r.message}")
    print(f"{len(checks) - len(failures)} of {len(checks)} ops passed "
          f"({time.perf_counter() - start:.1f} s)")
    return 1 if failures else 0


def add_gradcheck_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", default="cpu", help="Where to check: cpu (the default), cuda or "
                   "cuda:N.")
    p.add_argument("--op", metavar="NAME", help="Check only this op (or the ops a glob such as "
                   "'conv*' matches).")
    p.add_argument("--fast", action="store_true", help="Check along a few random directions "
                   "instead of every entry.")
    p.add_argument("--seed", type=int, default=0, help="The seed of the random inputs "
                   "(default 0).")
    p.add_argument("--graph", metavar="NAME", help="Check every op of a model's training "
                   "graph at its recorded inputs instead ('dcgan': DCGAN-28's D and G losses).")
    p.add_argument("--out", metavar="PATH", help="With --graph: write the annotated graph as "
                   ".dot, or draw it as .png, .svg or .pdf (needs Graphviz's dot); without "
                   "--out the annotated tree is printed.")


# ---------------------------------------------------------------------------- bench


def cmd_bench(args: argparse.Namespace) -> int:
    """Short kernel table and DCGAN-28 side by side against PyTorch (minigan/bench.py)."""
    from . import bench
    if args.threads is not None and args.threads < 1:
        raise CliError(f"--threads: must be >= 1, got {args.threads}")
    return bench.bench_main(quick=not args.full, threads=args.threads, cpu_time=args.cpu_time)


def add_bench_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--full", action="store_true", help="Run all cases, more repeats, and "
                   "measure peak memory.")
    p.add_argument("--threads", type=int, help="Threads for both engines (default: NumPy's "
                   "BLAS threads).")
    p.add_argument("--cpu-time", action="store_true", help="Use one thread, timed by CPU time "
                   "(fair on a busy machine).")


# ---------------------------------------------------------------------------- parser


class Parser(argparse.ArgumentParser):
    """argparse with minigan's conventions: a usage error is one line (and exit code 2),
    and the help option's text is a sentence like every other."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("add_help", False)
        super().__init__(*args, **kwargs)
        self.add_argument("-h", "--help", action="help", help="Show this help and exit.")

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


# The commands, in the order `minigan --help` lists them: name -> (help, add options, run).
COMMANDS: dict[str, tuple[str, Callable, Callable]] = {
    "info": ("Print the versions, the BLAS, the process settings and the usable devices.",
             lambda p: None, cmd_info),
    "train": ("Train DCGAN-28 on MNIST (the main job); 'train classifier' trains the "
              "evaluator's classifier.", add_train_options, cmd_train),
    "sample": ("Draw images from a checkpoint into a PNG grid or a .npy file: digits, or "
               "pictures of captions (--prompt) from a text-to-image checkpoint.",
               add_sample_options, cmd_sample),
    "eval": ("Score a checkpoint: Frechet distance, confidence and class coverage "
             "(DCGAN-28), or the attribute table (text to image).",
             add_eval_options, cmd_eval),
    "plot": ("Draw a run's losses and diagnostics into PNGs in its folder.",
             add_plot_options, cmd_plot),
    "gradcheck": ("Check every op's first and second derivatives against finite differences.",
                  add_gradcheck_options, cmd_gradcheck),
    "bench": ("Time minigan against PyTorch: every kernel and a DCGAN-28 training step "
              "(needs torch and a source checkout).", add_bench_options, cmd_bench),
}

# The models `minigan train MODEL` trains besides DCGAN-28: name -> (help, add options, run).
TRAIN_MODELS: dict[str, tuple[str, Callable, Callable]] = {
    "classifier": ("Train the digit classifier that 'minigan eval' scores with.",
                   add_train_classifier_options, cmd_train_classifier),
    "text2img": ("Train the text-to-image GAN: a Transformer text encoder conditioning a "
                 "generator, a matching-aware discriminator, optional unconditional stage 1.",
                 add_train_text2img_options, cmd_train_text2img),
    "attributes": ("Retrain the attribute classifier that scores text-to-image checkpoints "
                   "(written under runs/, never into the package).",
                   add_train_attributes_options, cmd_train_attributes),
}


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="minigan", description="The minigan command: train, sample and "
                    "evaluate GANs, check gradients, and compare speed with PyTorch.")
    parser.add_argument("--version", action="version", version=f"minigan {__version__}",
                        help="Print minigan's version and exit.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    for name, (text, add_options, run) in COMMANDS.items():
        p = sub.add_parser(name, help=text, description=text)
        add_options(p)
        p.set_defaults(func=run)
        if name == "train":
            p.usage = f"%(prog)s [{' | '.join(TRAIN_MODELS)}] [options]"
            p.description = (
                "Train DCGAN-28 on MNIST: the samples, log, checkpoint and plots go to --out. "
                "Ctrl-C stops after the current step and saves a checkpoint (a second Ctrl-C "
                "stops at once; one during the save waits for it). Another model is trained "
                "by naming it, anywhere after 'train': 'minigan train text2img --help' "
                "lists its options.")
            models = p.add_subparsers(dest="model", metavar="MODEL", title="other models")
            for model, (model_text, add_model_options, run_model) in TRAIN_MODELS.items():
                m = models.add_parser(model, help=model_text, description=model_text,
                                      prog=f"minigan train {model}")
                add_model_options(m)
                m.set_defaults(func=run_model)
    return parser


def _takes_value(parser: argparse.ArgumentParser) -> set[str]:
    """The option strings of ``parser`` and its subcommands that take a value."""
    flags = set()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                flags |= _takes_value(child)
        elif action.option_strings and action.nargs != 0:
            flags.update(action.option_strings)
    return flags


def model_first(parser: argparse.ArgumentParser, argv: list[str]) -> list[str]:
    """``train --out X classifier ...`` -> ``train classifier --out X ...``: the model word
    may stand anywhere after ``train``, and each model's options then apply wherever they are
    (argparse itself would give options before the model word to ``train``'s own parser)."""
    command = next((i for i, token in enumerate(argv) if not token.startswith("-")), None)
    if command is None or argv[command] != "train":
        return argv
    start = command + 1
    value_flags = _takes_value(parser)
    expect_value = False
    for i in range(start, len(argv)):
        token = argv[i]
        if token == "--":
            break
        if expect_value:
            expect_value = False
        elif token.startswith("-"):
            expect_value = "=" not in token and any(f.startswith(token) for f in value_flags)
        elif token in TRAIN_MODELS:
            return argv[:start] + [token] + argv[start:i] + argv[i + 1:]
        else:
            break
    return argv


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``minigan`` command with ``argv`` (the arguments after ``minigan``).

    As the ``minigan`` program (``argv`` None: it reads ``sys.argv``) it owns its process and
    applies :func:`minigan.tune_process` first (``MINIGAN_MALLOPT=0`` leaves malloc alone).
    Called from Python with a list, it leaves the process as it is."""
    if argv is None:
        from .process import tune_process
        tune_process(malloc=os.environ.get("MINIGAN_MALLOPT", "1") != "0")
        argv = sys.argv[1:]
    parser = build_parser()
    try:
        args = parser.parse_args(model_first(parser, list(argv)))
    except SystemExit as exc:  # --help, --version, or a usage error (already printed)
        return int(exc.code or 0)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("minigan: interrupted", file=sys.stderr)
        return 130
    except (CliError, MiniganError, ValueError) as exc:
        print(f"minigan: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"minigan: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 2
    except MemoryError:
        print("minigan: error: out of memory; try a smaller --batch-size or --n", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
