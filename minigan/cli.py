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
                   f"(default {defaults.lr:g}).")
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
            trainer = trainer_class.from_checkpoint(
                path, **{**_given(args, RESUMABLE_FIELDS), "out": str(out)})
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


def cmd_train_classifier(args: argparse.Namespace) -> int:
    """Train the evaluator's digit classifier with minigan (never over the shipped weights)."""
    from .training.classifier import check_classifier_settings, train_classifier
    check_classifier_settings(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                              seed=args.seed, limit=args.limit)
    with option_errors("--device"):
        device = backend.normalize_device(args.device)
    out = check_file_path(args.out, "--out", overwrite=args.overwrite)
    make_folder(out.parent, "--out")
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
    p.add_argument("--device", default="cpu", help="Where to train: cpu (the default), cuda "
                   "or cuda:N.")
    p.add_argument("--limit", type=int, metavar="N", help="Train on N of the 4,000 images only "
                   "(a quick try).")
    p.add_argument("--out", metavar="PATH", default=DEFAULT_OUT,
                   help=f"Where to write the weights (default {DEFAULT_OUT}; the shipped file "
                   f"is never replaced).")
    p.add_argument("--overwrite", action="store_true", help="Replace --out if it exists.")


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


def check_sample_options(args: argparse.Namespace) -> tuple[Path, str]:
    """``sample``'s checks that hold for every model kind: --out a .png or .npy file that can
    be written (not in the package), --n within bounds, --seed, --device; returns the output
    path and the device. Nothing is created yet."""
    out = Path(args.out)
    suffix = out.suffix.lower()
    if suffix not in MAX_SAMPLES:
        raise CliError(f"--out {out}: must end in .png (a grid) or .npy (the images)")
    if not 1 <= args.n <= MAX_SAMPLES[suffix]:
        raise CliError(f"--n: must be in [1, {MAX_SAMPLES[suffix]}] for a {suffix} file, "
                       f"got {args.n}")
    if args.seed < 0:
        raise CliError(f"--seed: must be >= 0, got {args.seed}")
    with option_errors("--device"):
        device = backend.normalize_device(args.device)
    return check_file_path(out, "--out"), device


def write_samples(images_nchw, out: Path) -> None:
    """Write float32 images in [-1, 1] as a .npy array or a PNG grid (by ``out``'s suffix)."""
    import numpy as np
    from . import images
    make_folder(out.parent, "--out")
    with option_errors("--out"):
        if out.suffix.lower() == ".npy":
            np.save(out, images_nchw)
        else:
            images.save_grid(images_nchw, out)


def cmd_sample(args: argparse.Namespace) -> int:
    """Draw images from a checkpoint into a PNG grid or a .npy array."""
    import numpy as np
    from .autograd import Tensor, no_grad
    out, device = check_sample_options(args)
    with option_errors("--checkpoint"):
        generator, step = load_generator(args.checkpoint, device)
    z = np.random.default_rng(args.seed).standard_normal((args.n, generator.z_dim)).astype(np.float32)
    with no_grad():
        fakes = np.concatenate([backend.as_numpy(generator(Tensor(z[i:i + 500], device=device)).data)
                                for i in range(0, args.n, 500)]).astype(np.float32)
    write_samples(fakes, out)
    print(f"wrote {args.n} samples (step {step}) to {out}")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    """Score a checkpoint's samples against the held-out digits."""
    from .data import load_mnist
    from .metrics import evaluate_generator, evaluate_images
    from .models.classifier import WEIGHTS_PATH, load_classifier
    if not 10 <= args.n <= 100_000:
        raise CliError(f"--n: must be in [10, 100000] (a covariance needs samples), got {args.n}")
    if args.seed < 0:
        raise CliError(f"--seed: must be >= 0, got {args.seed}")
    with option_errors("--device"):
        device = backend.normalize_device(args.device)
    with option_errors("--checkpoint"):
        generator, step = load_generator(args.checkpoint, device)
    with option_errors("--classifier"):
        classifier = load_classifier(args.classifier, device=device)
    real = load_mnist(split="test").images
    scores = evaluate_generator(generator, n=args.n, seed=args.seed, device=device,
                                classifier=classifier, real=real)
    train = load_mnist(split="train").images  # sorted by digit: take every k-th image
    reference = evaluate_images(train[::max(1, len(train) // args.n)][:args.n], real, classifier)
    hist = " ".join(f"{d}:{c}" for d, c in enumerate(scores.histogram))
    print(f"checkpoint        {args.checkpoint} (step {step}), {args.n} samples, seed {args.seed}")
    print(f"classifier        {args.classifier or WEIGHTS_PATH}"
          f"{'' if args.classifier else ' (shipped)'}")
    print(f"Frechet distance  {scores.frechet:.3f}   (to the 1000 held-out digits; "
          f"real training digits score {reference.frechet:.3f})")
    print(f"confidence        {scores.confidence:.3f}   (real digits: {reference.confidence:.3f})")
    print(f"class coverage    {scores.coverage + 0.0:.3f}   (1 = all ten digits equally; "
          f"predicted classes {hist})")
    return 0


def add_sample_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checkpoint", required=True, metavar="PATH", help="A checkpoint file, or "
                   "a run folder holding checkpoint.npz.")
    p.add_argument("--n", type=int, default=64, help="How many images to draw (default 64).")
    p.add_argument("--seed", type=int, default=0, help="The seed of the noise (default 0).")
    p.add_argument("--out", default="samples.png", metavar="PATH", help="A .png file (a grid) "
                   "or a .npy file (float32 (N, 1, 28, 28) in [-1, 1]); default samples.png.")
    p.add_argument("--device", default="cpu", help="Where to run: cpu (the default), cuda or "
                   "cuda:N.")


def add_eval_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checkpoint", required=True, metavar="PATH", help="A checkpoint file, or "
                   "a run folder holding checkpoint.npz.")
    p.add_argument("--n", type=int, default=1000, help="How many generated images to score "
                   "(default 1000).")
    p.add_argument("--seed", type=int, default=0, help="The seed of the noise (default 0).")
    p.add_argument("--device", default="cpu", help="Where to run: cpu (the default), cuda or "
                   "cuda:N.")
    p.add_argument("--classifier", metavar="PATH", help="Classifier weights to score with, "
                   "e.g. from 'minigan train classifier' (default: the shipped ones).")


# ---------------------------------------------------------------------------- plot


def cmd_plot(args: argparse.Namespace) -> int:
    """Redraw a run's pictures, with its diagnostics (minigan/training/diagnostics.py)."""
    from .training.diagnostics import plot_run
    written = plot_run(args.run)
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
    "sample": ("Draw digits from a checkpoint into a PNG grid or a .npy file.",
               add_sample_options, cmd_sample),
    "eval": ("Score a checkpoint: Frechet distance, confidence and class coverage.",
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
                "by naming it, anywhere after 'train': 'minigan train classifier --help' "
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
