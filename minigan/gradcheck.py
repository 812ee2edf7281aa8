"""Finite-difference gradient checking: ``gradcheck`` (first order), ``gradgradcheck`` (second).

The function under test may return one tensor or several. We project its outputs on
random directions u (L = sum_i <u_i, out_i>), so a transposed or mis-broadcast gradient
cannot hide behind a plain sum, and compare the analytic dL/dx with central differences

    dL/dx_j ~ (L(x + eps e_j) - L(x - eps e_j)) / (2 eps)          (error O(eps^2))

computed in float64. ``fast=True`` compares directional derivatives instead
(Chainer's check_backward): <dL/dx, v> against (L(x + eps v) - L(x - eps v)) / (2 eps) for a
few random v, which costs a few calls of ``fn`` whatever the size of x.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from . import backend
from .autograd import Tensor, enable_grad, grad, no_grad
from .errors import ArgumentError, GradcheckError  # noqa: F401


def _outputs(result: Any) -> list[Tensor]:
    outs = list(result) if isinstance(result, (tuple, list)) else [result]
    return [o for o in outs if isinstance(o, Tensor) and o.dtype.kind == "f"]


def _as_float64_inputs(inputs: Sequence[Any] | Tensor) -> list[Any]:
    """Copies of the inputs in float64 (the check is meaningless in float32); one Tensor
    counts as one input, as in PyTorch's ``gradcheck(fn, x)``."""
    if isinstance(inputs, Tensor):
        inputs = (inputs,)
    out = []
    for x in inputs:
        if isinstance(x, Tensor) and x.dtype.kind == "f":
            t = Tensor(x.data.astype(np.float64, copy=True), requires_grad=x.requires_grad)
            out.append(t)
        else:
            out.append(x)
    return out


def _loss_value(fn: Callable, inputs: list, directions: list) -> float:
    """L = sum_i <u_i, out_i> for the current input values, without a graph."""
    with no_grad():
        outs = _outputs(fn(*inputs))
    total = 0.0
    for out, u in zip(outs, directions):
        total += float((out.data.astype(np.float64) * u).sum())
    return total


def _report(kind: str, index_of_input: int, where: Any, analytic: float, numeric: float,
            shape: tuple, count: int, total: int) -> str:
    rel = abs(analytic - numeric) / max(abs(numeric), 1e-12)
    return (f"{kind}: gradient mismatch for input {index_of_input} (shape {shape}) "
            f"at {where}: analytic {analytic:.10g}, numeric {numeric:.10g}, "
            f"relative error {rel:.3g} ({count} of {total} entries out of tolerance)")


@dataclass
class GradcheckResult:
    """What a check found: ``ok``, the largest ``|analytic - numeric|`` seen (over all
    entries, or over the random directions in fast mode), the report of the worst
    mismatch (None when ok), and ``relative_error``: the largest error as a fraction of the
    gradient's size, ``max|analytic - numeric| / max(max|numeric|, max|analytic|, atol)``
    per input (or per direction), so that it reads the same for big and small gradients."""
    ok: bool
    max_error: float
    message: str | None = None
    relative_error: float = 0.0

    def verdict(self, raise_exception: bool) -> bool:
        """True when ok; otherwise raise GradcheckError with the report (or return False)."""
        if not self.ok and raise_exception:
            raise GradcheckError(self.message)
        return self.ok


def gradcheck(fn: Callable[..., Any], inputs: Sequence[Any], eps: float = 1e-6,
              atol: float = 1e-5, rtol: float = 1e-3, fast: bool = False,
              seed: int = 0, n_directions: int = 3, raise_exception: bool = True) -> bool:
    """Check the gradients of ``fn(*inputs)`` against central finite differences.

    Every floating Tensor input with ``requires_grad`` is checked (in float64 copies; the
    inputs themselves are left alone). An entry passes when
    ``|analytic - numeric| <= atol + rtol * |numeric|``. Returns True, or raises
    :class:`GradcheckError` naming the input, the worst index, both values and the relative
    error (returns False instead when ``raise_exception`` is False).

    >>> import minigan as mg
    >>> x = mg.tensor([0.5, 2.0], dtype="float64", requires_grad=True)
    >>> mg.gradcheck(lambda t: t * t.exp(), [x])
    True
    """
    result = gradcheck_result(fn, inputs, eps, atol, rtol, fast, seed, n_directions)
    return result.verdict(raise_exception)


def gradcheck_result(fn: Callable[..., Any], inputs: Sequence[Any], eps: float = 1e-6,
                     atol: float = 1e-5, rtol: float = 1e-3, fast: bool = False,
                     seed: int = 0, n_directions: int = 3) -> GradcheckResult:
    """:func:`gradcheck`, returning a :class:`GradcheckResult` instead of raising."""
    inputs = _as_float64_inputs(inputs)
    checked = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if not checked:
        raise ArgumentError("gradcheck: no input requires grad")
    rng = np.random.default_rng(seed)

    outs = _outputs(fn(*inputs))
    if not outs:
        raise ArgumentError("gradcheck: fn returned no floating tensor")
    directions = [Tensor(backend.to_device(np.asarray(rng.standard_normal(o.shape)), o.device)
                         .astype(o.dtype)) for o in outs]
    used = [(o, u) for o, u in zip(outs, directions) if o.requires_grad]
    if not used:
        raise GradcheckError("gradcheck: no output depends on an input that requires grad")
    analytic = grad([o for o, _ in used], [inputs[i] for i in checked],
                    [u for _, u in used], allow_unused=True)
    xp_dirs = [u.data for u in directions]

    max_error, max_relative, problem = 0.0, 0.0, None
    for i, g in zip(checked, analytic):
        x = inputs[i]
        g = np.zeros(x.shape) if g is None else backend.as_numpy(g.data).astype(np.float64)
        if fast:
            error, relative, problem = _check_directional(fn, inputs, xp_dirs, x, g, eps, atol,
                                                          rtol, rng, n_directions, i)
        else:
            error, relative, problem = _check_elementwise(fn, inputs, xp_dirs, x, g, eps, atol,
                                                          rtol, i)
        max_error, max_relative = max(max_error, error), max(max_relative, relative)
        if problem:
            return GradcheckResult(False, max_error, problem, max_relative)
    return GradcheckResult(True, max_error, None, max_relative)


def _check_elementwise(fn, inputs, dirs, x, analytic, eps, atol, rtol, i):
    numeric = np.zeros(x.shape)
    flat = x.data.reshape(-1)  # a view (the float64 copy is contiguous): perturb in place
    for j in range(flat.size):
        original = flat[j].item()
        flat[j] = original + eps
        plus = _loss_value(fn, inputs, dirs)
        flat[j] = original - eps
        minus = _loss_value(fn, inputs, dirs)
        flat[j] = original
        numeric.reshape(-1)[j] = (plus - minus) / (2 * eps)
    error = np.abs(analytic - numeric)
    max_error = float(error.max()) if error.size else 0.0
    scale = max(float(np.abs(numeric).max(initial=0.0)), float(np.abs(analytic).max(initial=0.0)),
                atol)
    relative = max_error / scale if np.isfinite(scale) else float("nan")
    bad = ~(error <= atol + rtol * np.abs(numeric))  # NaN counts as bad
    if not bad.any():
        return max_error, relative, None
    worst = np.unravel_index(np.argmax(np.where(bad, error - rtol * np.abs(numeric), -np.inf)),
                             x.shape)
    return max_error, relative, _report("gradcheck", i, tuple(int(k) for k in worst),
                                        float(analytic[worst]), float(numeric[worst]), x.shape,
                                        int(bad.sum()), bad.size)


def _check_directional(fn, inputs, dirs, x, analytic, eps, atol, rtol, rng, n, i):
    original = x.data.copy()
    xp = backend.get_array_module(x.data)
    max_error = max_relative = 0.0
    for k in range(n):
        v = rng.standard_normal(x.shape)
        v_dev = xp.asarray(v)
        x.data[...] = original + eps * v_dev
        plus = _loss_value(fn, inputs, dirs)
        x.data[...] = original - eps * v_dev
        minus = _loss_value(fn, inputs, dirs)
        x.data[...] = original
        numeric = (plus - minus) / (2 * eps)
        projected = float((analytic * v).sum())
        error = abs(projected - numeric)
        max_error = max(max_error, error)
        max_relative = max(max_relative, error / max(abs(numeric), abs(projected),
                                                     atol * np.sqrt(v.size)))
        if not error <= atol * np.sqrt(v.size) + rtol * abs(numeric):
            return max_error, max_relative, _report("gradcheck(fast)", i, f"random direction {k}",
                                                    projected, numeric, x.shape, 1, n)
    return max_error, max_relative, None


def gradgradcheck(fn: Callable[..., Any], inputs: Sequence[Any], grad_outputs: Sequence[Any] | None = None,
                  eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3, fast: bool = False,
                  seed: int = 0, raise_exception: bool = True) -> bool:
    """Check second derivatives: gradcheck of (inputs, v) -> d<v, fn(inputs)>/d(inputs).

    The first-order gradients are built with ``create_graph=True``, so this checks every
    op's backward is itself correctly differentiable (w.r.t. the inputs and ``v``, the
    upstream gradient: random unless ``grad_outputs`` is given).
    """
    result = gradgradcheck_result(fn, inputs, grad_outputs, eps, atol, rtol, fast, seed)
    return result.verdict(raise_exception)


def gradgradcheck_result(fn: Callable[..., Any], inputs: Sequence[Any],
                         grad_outputs: Sequence[Any] | None = None, eps: float = 1e-6,
                         atol: float = 1e-5, rtol: float = 1e-3, fast: bool = False,
                         seed: int = 0) -> GradcheckResult:
    """:func:`gradgradcheck`, returning a :class:`GradcheckResult` instead of raising."""
    inputs = _as_float64_inputs(inputs)
    checked = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if not checked:
        raise ArgumentError("gradgradcheck: no input requires grad")
    outs = _outputs(fn(*inputs))
    rng = np.random.default_rng(seed + 1)
    if grad_outputs is None:
        grad_outputs = [Tensor(backend.to_device(np.asarray(rng.standard_normal(o.shape)), o.device),
                               requires_grad=True) for o in outs]
    else:
        grad_outputs = _as_float64_inputs(grad_outputs)
    n_in = len(inputs)

    def first_order(*args):
        xs, vs = list(args[:n_in]), list(args[n_in:])
        with enable_grad():  # the numeric part calls this under no_grad; we need a graph
            ys = _outputs(fn(*xs))
            pairs = [(y, v) for y, v in zip(ys, vs) if y.requires_grad]
            wrt = [xs[i] for i in checked]
            gs = grad([y for y, _ in pairs], wrt, [v for _, v in pairs], create_graph=True,
                      allow_unused=True)
        return tuple(g for g in gs if g is not None)

    result = gradcheck_result(first_order, list(inputs) + list(grad_outputs), eps=eps,
                              atol=atol, rtol=rtol, fast=fast, seed=seed)
    if not result.ok:
        result.message = f"gradgradcheck: second derivative wrong: {result.message}"
    return result
