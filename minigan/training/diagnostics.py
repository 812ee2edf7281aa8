"""GAN diagnostics: what to look at when a GAN does not learn.

``minigan train --diagnostics`` writes one JSON line every ``--diagnostics-every K`` steps
(default 1) to ``diagnostics.jsonl`` beside the run's ``log.jsonl`` (kept apart so the
main log stays one short line per step)::

    {"step": 10,
     "d_accuracy_real": 0.81,     # share of the real batch D calls real: D(x) > 0.5
     "d_accuracy_fake": 0.64,     # share of the fake batch D calls fake: D(G(z)) < 0.5
     "grad_norm": {"G.project.0.weight": 0.012, ..., "D.body.7.bias": 0.0031},
     "weight_norm": {"G.project.0.weight": 22.4, ...}}

The gradient norms are those of the step's updates: D's from its loss, G's from the
non-saturating loss (D frozen), each ``||grad||_2`` per parameter. ``minigan plot RUN``
(:func:`plot_run`) draws them per layer (the norms of a layer's parameters combined) into
``grad_norms.png`` and ``weight_norms.png`` (log10 scale, G above, D below) and
``d_accuracy.png``, next to ``losses.png``:

- D's accuracy near 1 on both while G's loss climbs: D wins, G's gradients vanish
  (its layers' gradient norms fall by decades);
- D's accuracy near 0.5 on fakes with every sample alike in ``progress.png``: mode
  collapse;
- a gradient norm that jumps by decades: divergence, try a lower ``--lr``.

``minigan train --profile N`` (:func:`profile_training`) times N training steps op by op
instead of training (minigan/profiler.py).
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from .. import backend, images
from ..errors import ArgumentError
from .progress import JsonLog, read_log

FILE = "diagnostics.jsonl"


# ---------------------------------------------------------------------------- measuring


def _norm(array: Any) -> float:
    xp = backend.get_array_module(array)
    return float(f"{float(xp.linalg.norm(array.reshape(-1))):.6g}")  # 6 digits: short lines


def parameter_norms(module: Any, prefix: str) -> tuple[dict, dict]:
    """``({name: ||grad||}, {name: ||weight||})`` of ``module``'s parameters, named
    ``prefix.<parameter name>``; a parameter without a gradient has none in the first."""
    grads, weights = {}, {}
    for name, p in module.named_parameters():
        key = f"{prefix}.{name}"
        weights[key] = _norm(p.data)
        if p.grad is not None:
            grads[key] = _norm(p.grad.data)
    return grads, weights


def d_accuracy(logit_real: Any, logit_fake: Any) -> tuple[float, float]:
    """D's accuracy on the real batch (D(x) > 0.5, i.e. logit > 0) and on the fake batch
    (D(G(z)) < 0.5, logit < 0)."""
    real = backend.as_numpy(logit_real.data)
    fake = backend.as_numpy(logit_fake.data)
    return float((real > 0).mean()), float((fake < 0).mean())


def measure(trainer: Any) -> dict:
    """One diagnostics record of ``trainer`` (a GANTrainer) right after a training step."""
    g_grads, g_weights = parameter_norms(trainer.G, "G")
    d_grads, d_weights = parameter_norms(trainer.D, "D")
    acc_real, acc_fake = d_accuracy(*trainer.last_logits)
    return {"step": trainer.step, "d_accuracy_real": acc_real, "d_accuracy_fake": acc_fake,
            "grad_norm": {**g_grads, **d_grads}, "weight_norm": {**g_weights, **d_weights}}


class Diagnostics:
    """Writes :func:`measure` records to ``out/diagnostics.jsonl`` every ``every`` steps.
    Pass :meth:`record` as the trainer's ``on_step``; :meth:`close` at the end. A
    resumed run (``resume_step``) keeps the records up to its checkpoint."""

    def __init__(self, out: str | Path, every: int = 1, resume_step: int | None = None) -> None:
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ArgumentError(f"--diagnostics-every: must be an int >= 1, got {every!r}")
        self.every = every
        self.path = Path(out) / FILE
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.log = JsonLog(self.path, resume_step=resume_step)

    def record(self, trainer: Any, stats: dict | None = None) -> dict | None:
        if trainer.step % self.every:
            return None
        entry = measure(trainer)
        self.log.write(entry)
        return entry

    def close(self) -> None:
        self.log.close()


def for_run(trainer: Any, enabled: bool, every: int = 1) -> Diagnostics | None:
    """The :class:`Diagnostics` of ``minigan train`` (None when off). A new run without
    diagnostics removes an earlier run's diagnostics.jsonl from its folder."""
    out = Path(trainer.config.out)
    if not enabled:
        if trainer.step == 0 and (out / FILE).exists():
            (out / FILE).unlink()
        return None
    return Diagnostics(out, every, resume_step=trainer.step or None)


# ---------------------------------------------------------------------------- drawing


def _layers(norms: dict, net: str) -> dict[str, float]:
    """Per-layer norms of one net: the parameters of ``net.<layer>.<param>`` combined."""
    layers: dict[str, float] = {}
    for name, value in norms.items():
        head, _, rest = name.partition(".")
        if head != net:
            continue
        layer = rest.rpartition(".")[0] or rest
        layers[layer] = layers.get(layer, 0.0) + value * value
    return {k: math.sqrt(v) for k, v in layers.items()}


def _log10(values: list) -> list:
    return [math.log10(v) if v and v > 0 else float("nan") for v in values]


def _norm_charts(records: list[dict], key: str, what: str) -> list:
    steps = [r["step"] for r in records]
    charts = []
    for net, long in (("G", "generator"), ("D", "discriminator")):
        per_step = [_layers(r.get(key, {}), net) for r in records]
        names = sorted({k for layers in per_step for k in layers},
                       key=lambda k: [int(p) if p.isdigit() else p for p in k.split(".")])
        if not names:
            continue
        series = {name: _log10([layers.get(name, float("nan")) for layers in per_step])
                  for name in names}
        charts.append(images.curves_picture(
            steps, series, title=f"log10 {what} per layer, {net} ({long})", smooth=1))
    return charts


def plot_diagnostics(out: str | Path) -> list[Path]:
    """Draw ``grad_norms.png``, ``weight_norms.png`` and ``d_accuracy.png`` from
    ``out/diagnostics.jsonl``; returns the files written (none without records)."""
    out = Path(out)
    records = read_log(out / FILE) if (out / FILE).exists() else []
    if not records:
        return []
    written = []
    for key, what, name in (("grad_norm", "||gradient||", "grad_norms.png"),
                            ("weight_norm", "||weight||", "weight_norms.png")):
        charts = _norm_charts(records, key, what)
        if charts:
            written.append(images.save_pictures(charts, out / name))
    steps = [r["step"] for r in records]
    written.append(images.plot_curves(
        steps, {"real: D(x) > 0.5": [r["d_accuracy_real"] for r in records],
                "fake: D(G(z)) < 0.5": [r["d_accuracy_fake"] for r in records]},
        out / "d_accuracy.png", title="D's accuracy (1: D wins every time; 0.5: a coin flip)"))
    return written


def plot_run(run: str | Path, trainer_class: type | None = None) -> list[Path]:
    """``minigan plot RUN``: redraw a run folder's pictures (progress.png, losses.png; the
    curves of ``trainer_class``, default DCGAN-28's) and, when it has diagnostics,
    grad_norms.png, weight_norms.png and d_accuracy.png."""
    from .gan import GANTrainer
    trainer_class = trainer_class or GANTrainer
    run = Path(run)
    if not run.is_dir():
        raise FileNotFoundError(f"plot: {run}: no such run folder (give the --out folder of "
                                f"'minigan train', e.g. runs/dcgan)")
    logs = [run / name for name in ("log.jsonl", FILE) if (run / name).exists()]
    if not any(read_log(path) for path in logs):
        raise ArgumentError(f"plot: {run}: nothing to plot: no steps in log.jsonl or {FILE} "
                            f"(not a 'minigan train' folder, or no step has finished yet)")
    trainer_class.write_summary_pictures(run)
    written = [run / name for name in ("progress.png", "losses.png") if (run / name).exists()]
    return written + plot_diagnostics(run)


# ---------------------------------------------------------------------------- profiling


def profile_training(config: Any, steps: int, warmup: int = 1, row_limit: int = 100) -> str:
    """``minigan train --profile N``: build the trainer of ``config``, run ``warmup``
    steps, profile the next ``steps`` (minigan/profiler.py) and return the report (no
    files are written). The times include the profiler's own cost per op."""
    import time
    from ..profiler import profile_steps
    from .gan import GANTrainer
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ArgumentError(f"--profile: the number of steps must be >= 1, got {steps!r}")
    trainer = GANTrainer(config)
    c = trainer.config
    start = time.perf_counter()
    p = profile_steps(trainer.train_step, steps, warmup=warmup)
    seconds = time.perf_counter() - start
    head = (f"profile of {steps} DCGAN-28 training step{'s' if steps > 1 else ''} after "
            f"{warmup} warm-up (batch {c.batch_size}, {c.optimizer}, device {c.device}): "
            f"{p.wall_time:.2f} s profiled, {seconds:.2f} s with the warm-up")
    return head + "\n" + p.table(row_limit=row_limit)


__all__ = ["Diagnostics", "for_run", "measure", "parameter_norms", "d_accuracy",
           "plot_diagnostics", "plot_run", "profile_training"]
