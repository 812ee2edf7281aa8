"""The ``minigan`` command. Each subcommand is a small function; errors on bad input end
with one line on stderr and a non-zero exit code, never a traceback."""
from __future__ import annotations

import argparse
import os
import platform
import sys
from typing import Sequence

from . import __version__, backend


class CliError(Exception):
    """A user-facing error: printed as one line, exit code 2."""


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


# ---------------------------------------------------------------------------- train / sample / eval


def _gan_config_from(args: argparse.Namespace):
    """The GANConfig of ``minigan train``: the defaults, overridden by the options given."""
    from .training.gan import GANConfig
    fields = {"steps": args.steps, "batch_size": args.batch_size, "lr": args.lr,
              "optimizer": args.optimizer, "device": args.device, "data": args.data,
              "seed": args.seed, "out": args.out, "sample_every": args.sample_every,
              "checkpoint_every": args.checkpoint_every, "r1": args.r1, "ema": args.ema,
              "limit": args.limit}
    return GANConfig(**{k: v for k, v in fields.items() if v is not None})


def cmd_train(args: argparse.Namespace) -> int:
    """Train DCGAN-28 (a new run, or ``--resume DIR``)."""
    from pathlib import Path
    from .training.gan import GANTrainer
    if args.resume:
        fixed = {name: getattr(args, name) for name in ("batch_size", "lr", "optimizer", "data",
                                                        "seed", "r1", "ema", "limit")}
        given = [name for name, value in fixed.items() if value is not None]
        if given:
            raise CliError(f"--resume continues a run with its own settings; drop "
                           f"{', '.join('--' + n.replace('_', '-') for n in given)}")
        path = Path(args.resume)
        trainer = GANTrainer.from_checkpoint(
            path / "checkpoint.npz" if path.is_dir() else path,
            steps=args.steps, device=args.device, out=args.out or str(path if path.is_dir() else path.parent),
            sample_every=args.sample_every, checkpoint_every=args.checkpoint_every)
        print(f"resuming {trainer.config.out} at step {trainer.step} of {trainer.config.steps}")
    else:
        config = _gan_config_from(args).validate()
        if (Path(config.out) / "checkpoint.npz").exists() and not args.overwrite:
            raise CliError(f"{config.out} already holds a run (checkpoint.npz): continue it with "
                           f"--resume {config.out}, or pass --overwrite, or choose another --out")
        trainer = GANTrainer(config)
        c = trainer.config
        print(f"training DCGAN-28 for {c.steps} steps on {len(trainer.batches.arrays[0])} images "
              f"({'shipped MNIST subset' if c.data is None else c.data}), batch {c.batch_size}, "
              f"{c.optimizer} lr {c.lr:g}, device {c.device}; writing to {c.out}/")
    try:
        summary = trainer.run(progress=not args.quiet)
    except FloatingPointError as exc:  # diverged: the last good checkpoint is left as it was
        raise CliError(str(exc)) from None
    out = trainer.config.out
    verb = "stopped (Ctrl-C) at" if summary["interrupted"] else "done:"
    print(f"{verb} step {summary['steps']} in {summary['seconds']:.0f} s "
          f"({summary['steps_per_s']:.2f} steps/s); checkpoint {out}/checkpoint.npz, "
          f"samples {out}/samples/, {out}/progress.png, {out}/losses.png")
    return 130 if summary["interrupted"] else 0


def cmd_train_classifier(args: argparse.Namespace) -> int:
    """Train the evaluator's digit classifier with minigan."""
    from .training.classifier import train_classifier
    from .models.classifier import WEIGHTS_PATH
    out = args.out or str(WEIGHTS_PATH)
    result = train_classifier(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                              seed=args.seed, device=args.device, out=out, limit=args.limit)
    print(f"held-out accuracy {result['accuracy']:.2%} after {args.epochs} epochs "
          f"({result['seconds']:.0f} s); weights written to {out}")
    return 0


def _load_generator(path: str, device: str):
    """The generator of a DCGAN-28 checkpoint (its EMA weights when it has them), eval mode."""
    from .models.dcgan import Generator
    from .training.checkpoint import load_checkpoint
    from .training.gan import CHECKPOINT_KIND
    state = load_checkpoint(path, CHECKPOINT_KIND)
    generator = Generator()
    generator.load_state_dict(state.get("generator_ema") or state["generator"])
    return generator.to(device).eval(), int(state["step"])


def cmd_sample(args: argparse.Namespace) -> int:
    """Draw images from a checkpoint into a PNG grid or a .npy array."""
    from pathlib import Path
    import numpy as np
    from . import images
    from .autograd import Tensor, no_grad
    out = Path(args.out)
    if out.suffix.lower() not in (".png", ".npy"):
        raise CliError(f"--out must end in .png (a grid) or .npy (the images), got {out.name!r}")
    if args.n < 1:
        raise CliError(f"--n must be >= 1, got {args.n}")
    device = backend.normalize_device(args.device)
    generator, step = _load_generator(args.checkpoint, device)
    z = np.random.default_rng(args.seed).standard_normal((args.n, generator.z_dim)).astype(np.float32)
    with no_grad():
        fakes = generator(Tensor(z, device=device)).numpy().astype(np.float32)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".npy":
        np.save(out, fakes)
    else:
        images.save_grid(fakes, out)
    print(f"wrote {args.n} samples (step {step}) to {out}")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    """Score a checkpoint's samples against the held-out digits."""
    from .data import load_mnist
    from .metrics import evaluate_generator, evaluate_images
    from .models.classifier import load_classifier
    if args.n < 10:
        raise CliError(f"--n must be >= 10 (a covariance needs samples), got {args.n}")
    device = backend.normalize_device(args.device)
    generator, step = _load_generator(args.checkpoint, device)
    classifier = load_classifier(args.classifier, device=device)
    real = load_mnist(split="test").images
    scores = evaluate_generator(generator, n=args.n, seed=args.seed, device=device,
                                classifier=classifier, real=real)
    train = load_mnist(split="train").images  # sorted by digit: take every k-th image
    reference = evaluate_images(train[::max(1, len(train) // args.n)][:args.n], real, classifier)
    hist = " ".join(f"{d}:{c}" for d, c in enumerate(scores.histogram))
    print(f"checkpoint        {args.checkpoint} (step {step}), {args.n} samples, seed {args.seed}")
    print(f"Frechet distance  {scores.frechet:.3f}   (to the 1000 held-out digits; "
          f"real training digits score {reference.frechet:.3f})")
    print(f"confidence        {scores.confidence:.3f}   (real digits: {reference.confidence:.3f})")
    print(f"class coverage    {scores.coverage:.3f}   (1 = all ten digits equally; "
          f"predicted classes {hist})")
    return 0


def add_gan_commands(sub) -> None:
    """``train`` (DCGAN-28; ``train classifier``), ``sample`` and ``eval``."""
    from .training.gan import DEFAULT_STEPS, GANConfig
    d = GANConfig()
    p = sub.add_parser("train", help="train DCGAN-28 on MNIST (the main job); "
                       "'train classifier' trains the evaluator's classifier",
                       description="Train DCGAN-28 on MNIST: samples, log, checkpoint and plots "
                       "go to --out. Ctrl-C stops after the current step and saves a checkpoint.")
    p.add_argument("--steps", type=int, help=f"total training steps (default {DEFAULT_STEPS}; "
                   "one step = one D update + one G update)")
    p.add_argument("--batch-size", type=int, help=f"images per batch (default {d.batch_size})")
    p.add_argument("--lr", type=float, help=f"learning rate of both nets (default {d.lr:g})")
    p.add_argument("--optimizer", choices=["adam", "rmsprop"],
                   help="adam (betas 0.5, 0.999; the default) or rmsprop")
    p.add_argument("--device", help="cpu (default), cuda or cuda:N (needs CuPy)")
    p.add_argument("--data", metavar="PATH", help="a folder of MNIST IDX files "
                   "(default: the 5,000-image subset shipped with minigan)")
    p.add_argument("--limit", type=int, help="train on N images only (every k-th, all digits)")
    p.add_argument("--seed", type=int, help=f"random seed (default {d.seed})")
    p.add_argument("--out", metavar="DIR", help=f"output folder (default {d.out})")
    p.add_argument("--sample-every", type=int, metavar="N",
                   help=f"save a sample grid every N steps (default {d.sample_every})")
    p.add_argument("--checkpoint-every", type=int, metavar="N",
                   help=f"save a checkpoint every N steps (default {d.checkpoint_every})")
    p.add_argument("--r1", type=float, metavar="GAMMA", help="R1 gradient penalty weight on "
                   "real images (default 0: off)")
    p.add_argument("--ema", type=float, metavar="DECAY", help=f"EMA decay of the generator "
                   f"used for sampling (default {d.ema}; 0: off)")
    p.add_argument("--resume", metavar="DIR", help="continue the run in DIR from its checkpoint "
                   "(--steps sets the new total)")
    p.add_argument("--overwrite", action="store_true", help="start afresh even if --out holds a run")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_train)
    models = p.add_subparsers(dest="model", metavar="MODEL")
    c = models.add_parser("classifier", help="train the digit classifier used by 'minigan eval'")
    c.add_argument("--epochs", type=int, default=20)
    c.add_argument("--batch-size", type=int, default=64)
    c.add_argument("--lr", type=float, default=1e-3)
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--device", default="cpu")
    c.add_argument("--limit", type=int, help="train on N of the 4,000 images only (a quick try)")
    c.add_argument("--out", metavar="PATH", help="where to write the weights "
                   "(default: minigan/models/classifier.npz, the shipped file)")
    c.set_defaults(func=cmd_train_classifier)

    p = sub.add_parser("sample", help="draw digits from a checkpoint into a PNG grid or .npy")
    p.add_argument("--checkpoint", required=True, metavar="PATH", help="DIR/checkpoint.npz (or DIR)")
    p.add_argument("--n", type=int, default=64, help="how many images (default 64)")
    p.add_argument("--seed", type=int, default=0, help="noise seed (default 0)")
    p.add_argument("--out", default="samples.png",
                   help="a .png grid or a .npy array float32 (N, 1, 28, 28) in [-1, 1]")
    p.add_argument("--device", default="cpu")
    p.set_defaults(func=cmd_sample)

    p = sub.add_parser("eval", help="score a checkpoint: Frechet distance, confidence, coverage")
    p.add_argument("--checkpoint", required=True, metavar="PATH", help="DIR/checkpoint.npz (or DIR)")
    p.add_argument("--n", type=int, default=1000, help="generated images to score (default 1000)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu")
    p.add_argument("--classifier", metavar="PATH", help="classifier weights (default: shipped)")
    p.set_defaults(func=cmd_eval)


# ---------------------------------------------------------------------------- gradcheck


def cmd_gradcheck(args: argparse.Namespace) -> int:
    """gradcheck + gradgradcheck of every public op (minigan/selfcheck.py); exit 1 on failure."""
    import time

    from . import selfcheck
    device = backend.normalize_device(args.device)
    checks = selfcheck.select(args.op)
    if not checks:
        names = ", ".join(c.name for c in selfcheck.CHECKS)
        raise CliError(f"no op matches {args.op!r}; known: {names}")
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


def add_gradcheck_command(sub) -> None:
    p = sub.add_parser("gradcheck", help="check every op's first and second derivatives "
                                         "against finite differences")
    p.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default cpu)")
    p.add_argument("--op", metavar="NAME", help="only this op (or a glob such as 'conv*')")
    p.add_argument("--fast", action="store_true",
                   help="directional checks (a few random directions) instead of every entry")
    p.add_argument("--seed", type=int, default=0, help="seed of the random inputs")
    p.set_defaults(func=cmd_gradcheck)


# ---------------------------------------------------------------------------- bench


def cmd_bench(args: argparse.Namespace) -> int:
    """Short kernel table and DCGAN-28 side by side against PyTorch (minigan/bench.py)."""
    from . import bench
    return bench.bench_main(quick=not args.full, threads=args.threads, cpu_time=args.cpu_time)


def add_bench_command(sub) -> None:
    p = sub.add_parser("bench", help="speed against PyTorch: every kernel and a DCGAN-28 "
                                     "training step (needs torch and a source checkout)")
    p.add_argument("--full", action="store_true", help="all cases, more repeats, peak memory")
    p.add_argument("--threads", type=int, help="threads for both (default: NumPy's BLAS threads)")
    p.add_argument("--cpu-time", action="store_true",
                   help="one thread, timed by CPU time (fair on a busy machine)")
    p.set_defaults(func=cmd_bench)


# ---------------------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="minigan", description=__doc__.split("\n")[0])
    parser.add_argument("--version", action="version", version=f"minigan {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    p = sub.add_parser("info", help="versions, BLAS and usable devices")
    p.set_defaults(func=cmd_info)
    add_gan_commands(sub)
    add_gradcheck_command(sub)
    add_bench_command(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``minigan`` command with ``argv`` (the arguments after ``minigan``).

    As the ``minigan`` program (``argv`` None: it reads ``sys.argv``) it owns its process and
    applies :func:`minigan.tune_process` first (``MINIGAN_MALLOPT=0`` leaves malloc alone).
    Called from Python with a list, it leaves the process as it is."""
    if argv is None:
        from .process import tune_process
        tune_process(malloc=os.environ.get("MINIGAN_MALLOPT", "1") != "0")
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("minigan: interrupted", file=sys.stderr)
        return 130
    except (CliError, backend.DeviceError, FileNotFoundError, ValueError) as exc:
        print(f"minigan: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
