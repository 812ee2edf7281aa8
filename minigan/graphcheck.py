"""A graph annotated with gradient checks: every op of a recorded graph gradchecked alone.

For each op (a recorded :class:`~minigan.autograd.Function`) of the graph below a tensor,
:func:`check_graph` runs the op again on its recorded inputs cast to float64 and compares
its backward with central finite differences there (minigan/gradcheck.py): element by
element for small inputs, along a few random directions (``fast``, Chainer's check) for
big ones, so even a DCGAN's convolutions cost a handful of forward calls each; a failure
is confirmed at a 100x smaller step (a step across a kink passes then). Only the
inputs the op was asked a gradient for are checked. The result per op is ok / FAIL /
skipped with the relative error (``max|analytic - numeric|`` over the gradient's size);
``mg.viz.tree`` and ``mg.viz.to_dot`` draw it (``checks=``).

How an op is re-run: a fresh object of the op's class gets the recorded one's settings
(its attributes, minus what the recording added; float arrays and dtypes moved to
float64). Arrays a forward kept for its backward (im2col columns, say) would go stale
when the inputs are perturbed, so each float array attribute is dropped if the forward
runs without it and gives the same result; one it needs (a dropout mask) is kept.

The recorded inputs must still be alive: ``backward()`` frees them. Check before
backward, or call it with ``retain_graph=True``; freed ops are reported as skipped.

``minigan gradcheck --graph dcgan --out g.svg`` checks DCGAN-28's training graph this way
(:func:`dcgan_graph`, :func:`main`).
"""
from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from . import backend
from .autograd import Function, Tensor, enable_grad, no_grad
from .errors import ArgumentError
from .gradcheck import gradcheck_result

# attributes that Function._record and the engine add; what is left is the op's settings
_RECORDED = {"inputs", "needs_input_grad", "generation", "_output_refs", "_output_meta", "_clock",
             "_init_state"}
ELEMENTWISE_MAX = 64  # checked inputs with more entries in all get the fast check
# A failure is checked again with the step eps times this: a wrong backward fails at any
# step, while a step that carried some inputs across a kink (leaky_relu at 0: D's first
# layer sees G's near-zero images at initialisation) passes at the smaller one.
KINK_RETRY = 1e-2


@dataclasses.dataclass
class NodeCheck:
    """The check of one op: ``status`` "ok", "FAIL" or "skipped", the relative error, the
    number of checked inputs, and the gradcheck report (or why it was skipped)."""
    status: str
    relative_error: float | None = None
    message: str | None = None
    mode: str = ""

    @property
    def ok(self) -> bool:
        return self.status != "FAIL"

    def describe(self) -> str:
        """One line for a graph: ``ok 3.2e-10`` / ``FAIL 0.5`` / ``skipped: why``."""
        if self.status == "skipped":
            return f"skipped: {self.message}"
        error = "" if self.relative_error is None else f" rel. error {self.relative_error:.1e}"
        return f"check {self.status}{error}"


class GraphCheck(dict):
    """The checks of a graph: a dict Function -> :class:`NodeCheck`, with a summary."""

    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.values())

    def failures(self) -> list[tuple[Function, NodeCheck]]:
        return [(f, c) for f, c in self.items() if c.status == "FAIL"]

    def summary(self) -> str:
        counts = {s: sum(c.status == s for c in self.values()) for s in ("ok", "FAIL", "skipped")}
        worst = max((c.relative_error for c in self.values()
                     if c.status == "ok" and c.relative_error is not None), default=0.0)
        text = (f"{counts['ok']} of {len(self)} ops passed, {counts['FAIL']} failed, "
                f"{counts['skipped']} skipped (largest relative error of a pass {worst:.1e}; "
                f"{self.seconds:.1f} s)")
        for f, c in self.failures():
            text += f"\n  {f.name}: {c.message}"
        return text


# ---------------------------------------------------------------------------- re-running an op


def _to_float64(value: Any) -> Any:
    """Float arrays and float dtypes of an op's settings, moved to float64."""
    if (isinstance(value, np.ndarray) or backend.is_cupy_array(value)) and value.dtype.kind == "f":
        return value.astype(np.float64)
    if isinstance(value, np.dtype) and value.kind == "f":
        return np.dtype(np.float64)
    return value


def _is_float_array(value: Any) -> bool:
    return (isinstance(value, np.ndarray) or backend.is_cupy_array(value)) and value.dtype.kind == "f"


def _same(a: Any, b: Any) -> bool:
    outs_a = a if isinstance(a, tuple) else (a,)
    outs_b = b if isinstance(b, tuple) else (b,)
    if len(outs_a) != len(outs_b):
        return False
    for x, y in zip(outs_a, outs_b):
        x, y = backend.as_numpy(x.data), backend.as_numpy(y.data)
        if x.shape != y.shape or not np.allclose(x, y, rtol=1e-12, atol=0.0, equal_nan=True):
            return False
    return True


def replay(f: Function, inputs: Sequence[Any]) -> Callable[..., Any]:
    """A function that runs a fresh copy of op ``f`` (its settings in float64) on tensors
    shaped like ``inputs``; array caches that the forward can rebuild are dropped (see the
    module docstring). Random numbers drawn inside the forward repeat on every call."""
    cls = type(f)
    settings = {k: _to_float64(v) for k, v in vars(f).items() if k not in _RECORDED}
    rng_state = backend.get_rng_state()

    def make(dropped: Iterable[str]) -> Callable[..., Any]:
        state = {k: (None if k in dropped else v) for k, v in settings.items()}

        def run(*xs):
            op = cls.__new__(cls)
            op.__dict__.update(state)
            saved = backend.get_rng_state()
            backend.set_rng_state(rng_state)
            try:
                return op(*xs)
            finally:
                backend.set_rng_state(saved)
        return run

    dropped: list[str] = []
    caches = [k for k, v in settings.items() if _is_float_array(v)]
    if caches:
        with no_grad():
            reference = make(())(*inputs)
            for k in caches:  # drop each one the forward can do without
                try:
                    if _same(make(dropped + [k])(*inputs), reference):
                        dropped.append(k)
                except Exception:  # the forward needs it (a mask, a saved softmax)
                    pass
    return make(dropped)


# ---------------------------------------------------------------------------- checking ops


def check_node(f: Function, fast: bool | None = None, eps: float = 1e-6, atol: float = 1e-5,
               rtol: float = 1e-3, seed: int = 0) -> NodeCheck:
    """Gradcheck one recorded op at its recorded inputs (in float64). ``fast`` None picks
    the directional check when the checked inputs hold more than ELEMENTWISE_MAX entries."""
    if f._released:
        return NodeCheck("skipped", message="its graph was freed by backward")
    needs = f.needs_input_grad
    inputs = [Tensor(x.data.astype(np.float64), requires_grad=bool(need))
              if x.dtype.kind == "f" else Tensor._wrap(x.data) for x, need in zip(f.inputs, needs)]
    entries = sum(x.data.size for x, need in zip(inputs, needs) if need)
    fast = entries > ELEMENTWISE_MAX if fast is None else bool(fast)
    mode = "directional" if fast else "element-wise"
    try:
        fn = replay(f, inputs)
        with no_grad():
            fn(*inputs)
    except Exception as exc:  # an op that cannot run in float64 again: say why, do not fail
        return NodeCheck("skipped", message=f"cannot run it again in float64 "
                                            f"({type(exc).__name__}: {exc})", mode=mode)
    try:
        with enable_grad():
            result = gradcheck_result(fn, inputs, eps=eps, atol=atol, rtol=rtol, fast=fast,
                                      seed=seed)
            if not result.ok:  # confirm at a 100x smaller step (see KINK_RETRY)
                retry = gradcheck_result(fn, inputs, eps=eps * KINK_RETRY, atol=atol, rtol=rtol,
                                         fast=fast, seed=seed)
                if retry.ok:
                    result, mode = retry, f"{mode}, step {eps * KINK_RETRY:g}"
    except Exception as exc:  # the backward itself raised
        return NodeCheck("FAIL", None, f"the check raised {type(exc).__name__}: {exc}", mode)
    return NodeCheck("ok" if result.ok else "FAIL", result.relative_error, result.message, mode)


def check_graph(roots: Any, fast: bool | None = None, eps: float = 1e-6, atol: float = 1e-5,
                rtol: float = 1e-3, seed: int = 0) -> GraphCheck:
    """:func:`check_node` for every op in the graph below ``roots`` (a Tensor, a list, or a
    dict name -> Tensor); pass the result to ``mg.viz.tree`` / ``to_dot`` as ``checks``.

    >>> import minigan as mg
    >>> x = mg.randn(3, 4, requires_grad=True)
    >>> checks = mg.viz.check_graph((x.exp() * x).sum())
    >>> checks.ok, len(checks)
    (True, 3)
    """
    from .viz import functions
    start = time.perf_counter()
    checks = GraphCheck()
    for f in functions(roots, "check_graph"):
        checks[f] = check_node(f, fast, eps, atol, rtol, seed)
    checks.seconds = time.perf_counter() - start
    return checks


# ---------------------------------------------------------------------------- DCGAN-28's graph


def dcgan_graph(batch: int = 2, seed: int = 0, device: str = "cpu") -> tuple[dict, dict]:
    """DCGAN-28's training losses on a tiny batch, built as one training step builds them
    (minigan/training/gan.py): ``d_loss`` (D on real digits and on G's detached fakes) and
    ``g_loss`` (the non-saturating loss through G and a frozen D). Returns
    ``({"d_loss": ..., "g_loss": ...}, params)`` with params named ``G.*`` and ``D.*``.
    Seeds minigan's generator with ``seed`` (as the trainer does)."""
    from .factories import ones, randn, zeros
    from .data import load_mnist
    from .functional import binary_cross_entropy_with_logits as bce
    from .models.dcgan import Discriminator, Generator
    from .ops.shape import concat
    backend.manual_seed(seed)
    G, D = Generator().to(device), Discriminator().to(device)
    images = load_mnist(split="train").images
    real = Tensor(images[::len(images) // batch][:batch], device=device)  # different digits
    with no_grad():
        fake = G(randn(batch, G.z_dim, device=device))
    logits = D(concat([real, fake], 0))
    d_loss = (bce(logits[:batch], ones(batch, 1, device=device))
              + bce(logits[batch:], zeros(batch, 1, device=device)))
    D.requires_grad_(False)  # the G update: D's weights get no gradient
    g_loss = bce(D(G(randn(batch, G.z_dim, device=device))), ones(batch, 1, device=device))
    D.requires_grad_(True)
    params = {**{f"G.{k}": p for k, p in G.named_parameters()},
              **{f"D.{k}": p for k, p in D.named_parameters()}}
    return {"d_loss": d_loss, "g_loss": g_loss}, params


GRAPHS = {"dcgan": dcgan_graph}
OUT_SUFFIXES = (".dot", ".png", ".svg", ".pdf")


def main(graph: str, out: str | None = None, device: str = "cpu", seed: int = 0,
         fast: bool | None = None) -> int:
    """``minigan gradcheck --graph NAME [--out PATH]``: check every op of the graph, print
    the annotated tree (no ``--out``) or write it as DOT / draw it, print a summary.
    Returns 0 when every op passed, 1 when one failed; bad options raise ArgumentError."""
    if graph not in GRAPHS:
        raise ArgumentError(f"--graph: unknown graph {graph!r}; known: {', '.join(GRAPHS)}")
    if out is not None and Path(out).suffix.lower() not in OUT_SUFFIXES:
        raise ArgumentError(f"--out: {out!r} must end in {', '.join(OUT_SUFFIXES)}")
    from .viz import to_dot, tree
    roots, params = GRAPHS[graph](device=backend.normalize_device(device), seed=seed)
    print(f"gradcheck of every op in {graph}'s graph (float64, "
          f"{'directional' if fast else 'element-wise for small inputs, directional for big'})")
    checks = check_graph(roots, fast=True if fast else None, seed=seed)
    if out is None:
        print(tree(roots, params, checks))
    print(checks.summary())
    if out is not None:  # without Graphviz this raises MissingToolError (the .dot is written)
        written = to_dot(roots, params, checks).render(out)
        print(f"wrote {written}" + ("" if written.suffix == ".dot"
                                    else f" (and its DOT text {written.with_suffix('.dot')})"))
    return 0 if checks.ok else 1
