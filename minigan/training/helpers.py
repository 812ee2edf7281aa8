"""Small pieces of a GAN training step: freezing one network during the other's update, and
the EMA copy of the generator (entries paired by name, never by position)."""
from __future__ import annotations

import contextlib
from typing import Iterator

from ..autograd import no_grad
from ..errors import ArgumentError, ShapeError


@contextlib.contextmanager
def frozen(*modules) -> Iterator[None]:
    """Within the block the modules' parameters do not require grad: gradients still flow
    *through* them (to G's images in a GAN's G update) but their own weight gradients are not
    computed. Each parameter's own flag is restored on exit, also when the block raises.

    >>> with frozen(D):
    ...     g_loss = bce(D(G(z)), ones)
    ...     g_loss.backward()            # G's gradients only
    """
    saved = [(p, p.requires_grad) for m in modules for p in m.parameters()]
    try:
        for p, _ in saved:
            p.requires_grad_(False)
        yield
    finally:
        for p, flag in saved:
            p.requires_grad_(flag)


def _paired(target: dict, source: dict, what: str, where: str) -> Iterator[tuple]:
    """(name, target entry, source entry) for every name; the names and shapes must agree."""
    if set(target) != set(source):
        missing = sorted(set(source) - set(target))
        extra = sorted(set(target) - set(source))
        raise ArgumentError(f"{where}: the two modules' {what} differ: only in the source "
                            f"{missing}, only in the target {extra}")
    for name, s in source.items():
        t = target[name]
        if t.shape != s.shape:
            raise ShapeError(f"{where}: {what[:-1]} {name!r} has shape {t.shape} in the target "
                             f"and {s.shape} in the source")
        yield name, t, s


def copy_module_(target, source) -> None:
    """target's parameters and buffers := source's, entry by entry **by name** (the two
    modules must have the same entries and shapes, whatever order they were defined in)."""
    with no_grad():
        for _, t, s in _paired(target.state_dict(), source.state_dict(), "entries",
                               "copy_module_"):
            t.data[...] = s.data


def ema_decay(decay: float, step: int) -> float:
    """The EMA decay after ``step`` steps, with a warm-up: ``min(decay, (1 + t) / (10 + t))``,
    so early averages do not drag in the random initial weights."""
    return min(decay, (1 + step) / (10 + step))


def linear_decay(step: int, total: int, start: float) -> float:
    """The learning-rate factor of step ``step`` (steps done before it) of ``total``: 1 until
    the fraction ``start`` of the run, then a straight line that reaches 0 at the end of the
    run (pix2pix's schedule). ``start=1``: constant. A function of the step alone, so a resumed
    run continues on the same line.

    >>> [linear_decay(t, 10, 0.5) for t in (0, 5, 6, 9)]
    [1.0, 1.0, 0.8, 0.2]
    """
    begin = start * total
    if step < begin or total <= begin:
        return 1.0
    return max(0.0, (total - step) / (total - begin))


def set_learning_rate(optimizer, lr: float) -> None:
    """Every parameter group of ``optimizer`` to learning rate ``lr``."""
    for group in optimizer.param_groups:
        group["lr"] = lr


def update_ema(ema, model, decay: float) -> None:
    """Move ``ema``'s parameters towards ``model``'s, pairing them by name:
    ``ema = decay * ema + (1 - decay) * model``; buffers (BatchNorm's running statistics) are
    copied as they are."""
    with no_grad():
        for _, e, p in _paired(dict(ema.named_parameters()), dict(model.named_parameters()),
                               "parameters", "update_ema"):
            e.data *= decay
            e.data += (1 - decay) * p.data
        for _, e, b in _paired(dict(ema.named_buffers()), dict(model.named_buffers()),
                               "buffers", "update_ema"):
            e.data[...] = b.data
