"""The registry behind ``minigan gradcheck``: gradcheck + gradgradcheck of every public op on
small random float64 inputs.

Each entry is a function decorated with :func:`check` that builds ``(fn, inputs)`` from a
NumPy generator and a device; ``fn(*inputs)`` calls the op. To cover a new op, add one::

    @check("softplus", family="activation")
    def _softplus(rng, device):
        return F.softplus, [_leaf(rng.standard_normal((2, 3)), device)]

Inputs are kept off kinks (relu at 0, clamp at its bounds) and ties (max, maximum), where
finite differences are meaningless.
"""
from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import numpy as np

from . import backend
from .autograd import Tensor, tensor
from .gradcheck import GradcheckResult, gradcheck_result, gradgradcheck_result

Maker = Callable[[np.random.Generator, str], "tuple[Callable[..., Any], list[Any]]"]


@dataclass
class Check:
    name: str
    family: str
    make: Maker
    second_order: bool = True


@dataclass
class Outcome:
    """One row of the table: each order's result (None: not run) or why it could not run."""
    name: str
    family: str
    first: GradcheckResult | None = None
    second: GradcheckResult | None = None
    skipped: str | None = None

    @property
    def ok(self) -> bool:
        return self.skipped is not None or (
            self.first is not None and self.first.ok and (self.second is None or self.second.ok))

    @property
    def max_error(self) -> float:
        return max((r.max_error for r in (self.first, self.second) if r is not None), default=0.0)


CHECKS: list[Check] = []


def check(name: str, family: str = "core", second_order: bool = True) -> Callable[[Maker], Maker]:
    """Register ``make(rng, device) -> (fn, inputs)`` as the check called ``name``."""
    def register(make: Maker) -> Maker:
        CHECKS.append(Check(name, family, make, second_order))
        return make
    return register


def select(pattern: str | None = None) -> list[Check]:
    """The checks whose name matches ``pattern`` (exact, or a glob like ``conv*``)."""
    if not pattern:
        return list(CHECKS)
    return [c for c in CHECKS if c.name == pattern or fnmatch.fnmatchcase(c.name, pattern)]


def run_check(c: Check, device: str = "cpu", seed: int = 0, fast: bool = False) -> Outcome:
    """gradcheck (and gradgradcheck) of one registered op."""
    rng = np.random.default_rng(seed)
    outcome = Outcome(c.name, c.family)
    try:
        fn, inputs = c.make(rng, device)
        outcome.first = gradcheck_result(fn, inputs, fast=fast, seed=seed)
        if c.second_order:
            outcome.second = gradgradcheck_result(fn, inputs, fast=fast, seed=seed)
    except NotImplementedError as exc:
        outcome.skipped = f"not implemented ({exc})"
    return outcome


def run_all(pattern: str | None = None, device: str = "cpu", seed: int = 0,
            fast: bool = False) -> Iterator[Outcome]:
    for c in select(pattern):
        yield run_check(c, device, seed, fast)


# ---------------------------------------------------------------------------- input helpers


def _leaf(array: np.ndarray, device: str, requires_grad: bool = True) -> Tensor:
    return tensor(np.asarray(array, dtype=np.float64), device=device, requires_grad=requires_grad)


def _normal(rng, shape, device):
    return _leaf(rng.standard_normal(shape), device)


def _positive(rng, shape, device, low=0.5, high=2.0):
    return _leaf(rng.uniform(low, high, shape), device)


def _off_zero(rng, shape, device, gap=0.2):
    """Values in [-2, -gap] U [gap, 2] (away from a kink at 0)."""
    return _leaf(rng.uniform(gap, 2.0, shape) * rng.choice([-1.0, 1.0], shape), device)


def _distinct(rng, shape, device, low=-2.0, high=2.0):
    """Values at least (high - low) / (2 size) apart: no ties for max/min."""
    size = int(np.prod(shape, dtype=np.int64))
    grid = np.linspace(low, high, 2 * size)
    return _leaf(rng.permutation(grid)[:size].reshape(shape), device)


# ---------------------------------------------------------------------------- core ops


def _register_core() -> None:
    import minigan as mg

    binary = {"add": mg.add, "sub": mg.sub, "mul": mg.mul}
    for name, fn in binary.items():
        check(name)(lambda rng, d, fn=fn: (fn, [_normal(rng, (2, 3), d), _normal(rng, (3,), d)]))
    check("div")(lambda rng, d: (mg.div, [_normal(rng, (2, 3), d), _off_zero(rng, (2, 1), d, 0.5)]))
    check("neg")(lambda rng, d: (mg.neg, [_normal(rng, (2, 3), d)]))
    check("pow")(lambda rng, d: (mg.pow, [_positive(rng, (2, 3), d), _normal(rng, (3,), d)]))
    check("pow_scalar")(lambda rng, d: (lambda x: x ** 2.5, [_positive(rng, (2, 3), d)]))
    check("exp")(lambda rng, d: (mg.exp, [_normal(rng, (2, 3), d)]))
    check("log")(lambda rng, d: (mg.log, [_positive(rng, (2, 3), d)]))
    check("sqrt")(lambda rng, d: (mg.sqrt, [_positive(rng, (2, 3), d)]))
    check("abs")(lambda rng, d: (mg.abs, [_off_zero(rng, (2, 3), d)]))

    @check("clamp")
    def _clamp(rng, d):
        x = rng.uniform(-2, 2, (3, 4))
        x[np.abs(x - 0.5) < 0.1] += 0.3
        x[np.abs(x + 0.5) < 0.1] -= 0.3
        return (lambda t: mg.clamp(t, -0.5, 0.5)), [_leaf(x, d)]

    @check("maximum")
    def _maximum(rng, d):
        both = _distinct(rng, (12,), d).numpy()
        return mg.maximum, [_leaf(both[:6].reshape(2, 3), d), _leaf(both[6:9], d)]

    @check("minimum")
    def _minimum(rng, d):
        both = _distinct(rng, (9,), d).numpy()
        return mg.minimum, [_leaf(both[:6].reshape(2, 3), d), _leaf(both[6:9].reshape(1, 3), d)]

    @check("where")
    def _where(rng, d):
        cond = tensor(rng.uniform(size=(2, 1, 3)) > 0.5, device=d)
        return (lambda x, y: mg.where(cond, x, y)), [_normal(rng, (4, 1), d), _normal(rng, (3,), d)]

    check("matmul")(lambda rng, d: (mg.matmul, [_normal(rng, (2, 1, 2, 3), d), _normal(rng, (2, 3, 2), d)]))
    check("matmul_1d")(lambda rng, d: (mg.matmul, [_normal(rng, (3,), d), _normal(rng, (2, 3, 2), d)]))

    for name, fn in {"sum": mg.sum, "mean": mg.mean, "var": mg.var, "std": mg.std}.items():
        check(name)(lambda rng, d, fn=fn: ((lambda x: fn(x, (0, -1), keepdims=True)),
                                           [_normal(rng, (3, 2, 2), d)]))
    for name, fn in {"max": mg.max, "min": mg.min}.items():
        check(name)(lambda rng, d, fn=fn: ((lambda x: fn(x, -1)), [_distinct(rng, (3, 4), d)]))

    check("reshape")(lambda rng, d: ((lambda x: x.reshape(3, -1)), [_normal(rng, (2, 3, 2), d)]))
    check("transpose")(lambda rng, d: ((lambda x: x.transpose(0, -1)), [_normal(rng, (2, 3, 4), d)]))
    check("permute")(lambda rng, d: ((lambda x: x.permute(2, 0, 1)), [_normal(rng, (2, 3, 4), d)]))
    check("expand")(lambda rng, d: ((lambda x: x.expand(2, 3, -1)), [_normal(rng, (3, 1), d)]))
    check("broadcast_to")(lambda rng, d: ((lambda x: mg.broadcast_to(x, (2, 3, 4))),
                                          [_normal(rng, (3, 1), d)]))
    check("sum_to")(lambda rng, d: ((lambda x: mg.sum_to(x, (3, 1))), [_normal(rng, (2, 3, 4), d)]))
    check("squeeze")(lambda rng, d: ((lambda x: x.squeeze(1)), [_normal(rng, (2, 1, 3), d)]))
    check("unsqueeze")(lambda rng, d: ((lambda x: x.unsqueeze(-1)), [_normal(rng, (2, 3), d)]))
    check("getitem")(lambda rng, d: ((lambda x: x[1:, None, ::-2]), [_normal(rng, (3, 4), d)]))
    check("getitem_advanced")(lambda rng, d: ((lambda x: x[[0, 2, 0], 1:]), [_normal(rng, (3, 4), d)]))
    check("getitem_mask")(lambda rng, d: (
        (lambda x, m=rng.uniform(size=(3, 4)) > 0.5: x[tensor(m, device=d)]), [_normal(rng, (3, 4), d)]))
    check("concat")(lambda rng, d: ((lambda a, b: mg.concat([a, b], -1)),
                                    [_normal(rng, (2, 3), d), _normal(rng, (2, 1), d)]))
    check("stack")(lambda rng, d: ((lambda a, b: mg.stack([a, b], 1)),
                                   [_normal(rng, (2, 3), d), _normal(rng, (2, 3), d)]))
    check("split")(lambda rng, d: ((lambda x: mg.split(x, [1, 3], dim=1)), [_normal(rng, (2, 4), d)]))
    check("pad")(lambda rng, d: ((lambda x: mg.pad(x, (1, 2, 0, 1), value=0.5)),
                                 [_normal(rng, (2, 2, 3), d)]))


# ---------------------------------------------------------------------------- F.* kernels


def _register_functional() -> None:
    import minigan as mg
    from . import functional as F

    check("linear", "linear")(lambda rng, d: (F.linear, [
        _normal(rng, (2, 3), d), _normal(rng, (4, 3), d), _normal(rng, (4,), d)]))
    check("conv2d", "conv")(lambda rng, d: (
        (lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1)),
        [_normal(rng, (1, 2, 4, 4), d), _normal(rng, (3, 2, 3, 3), d), _normal(rng, (3,), d)]))
    check("conv_transpose2d", "conv")(lambda rng, d: (
        (lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1)),
        [_normal(rng, (1, 2, 2, 2), d), _normal(rng, (2, 3, 3, 3), d), _normal(rng, (3,), d)]))
    check("batch_norm", "norm")(lambda rng, d: (
        (lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True)),
        [_normal(rng, (4, 2, 2), d), _positive(rng, (2,), d), _normal(rng, (2,), d)]))
    check("layer_norm", "norm")(lambda rng, d: (
        (lambda x, w, b: F.layer_norm(x, (3,), w, b)),
        [_normal(rng, (2, 3), d), _positive(rng, (3,), d), _normal(rng, (3,), d)]))
    check("relu", "activation")(lambda rng, d: (F.relu, [_off_zero(rng, (2, 3), d)]))
    check("leaky_relu", "activation")(lambda rng, d: (
        (lambda x: F.leaky_relu(x, 0.2)), [_off_zero(rng, (2, 3), d)]))
    check("tanh", "activation")(lambda rng, d: (F.tanh, [_normal(rng, (2, 3), d)]))
    check("sigmoid", "activation")(lambda rng, d: (F.sigmoid, [_normal(rng, (2, 3), d)]))
    check("gelu", "activation")(lambda rng, d: (F.gelu, [_normal(rng, (2, 3), d)]))
    check("gelu_tanh", "activation")(lambda rng, d: (
        (lambda x: F.gelu(x, approximate="tanh")), [_normal(rng, (2, 3), d)]))
    check("softmax", "attention")(lambda rng, d: (
        (lambda x: F.softmax(x, dim=-1)), [_normal(rng, (2, 4), d)]))
    check("log_softmax", "attention")(lambda rng, d: (
        (lambda x: F.log_softmax(x, dim=0)), [_normal(rng, (3, 2), d)]))
    check("scaled_dot_product_attention", "attention")(lambda rng, d: (
        (lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True)),
        [_normal(rng, (2, 3, 4), d), _normal(rng, (2, 3, 4), d), _normal(rng, (2, 3, 2), d)]))

    @check("dropout", "dropout")
    def _dropout(rng, d):
        def fn(x):  # the same mask on every call: reseed before drawing it
            backend.manual_seed(7)
            return F.dropout(x, 0.5, training=True)
        return fn, [_normal(rng, (3, 4), d)]

    @check("embedding", "embedding")
    def _embedding(rng, d):
        idx = tensor(np.array([[0, 2, 2], [4, 0, 1]]), device=d)
        return (lambda w: F.embedding(idx, w)), [_normal(rng, (5, 3), d)]

    check("binary_cross_entropy_with_logits", "loss")(lambda rng, d: (
        F.binary_cross_entropy_with_logits,
        [_normal(rng, (3, 2), d), _leaf(rng.uniform(size=(3, 2)), d, requires_grad=False)]))
    check("binary_cross_entropy", "loss")(lambda rng, d: (
        F.binary_cross_entropy,
        [_positive(rng, (3, 2), d, 0.2, 0.8), _leaf(rng.uniform(size=(3, 2)), d, requires_grad=False)]))

    @check("cross_entropy", "loss")
    def _cross_entropy(rng, d):
        target = tensor(np.array([1, 0, 3]), device=d)
        return (lambda x: F.cross_entropy(x, target)), [_normal(rng, (3, 4), d)]

    check("mse_loss", "loss")(lambda rng, d: (F.mse_loss, [_normal(rng, (2, 3), d), _normal(rng, (2, 3), d)]))
    del mg


# ---------------------------------------------------------------------------- reference kernels


def _register_reference() -> None:
    """The plain kernels of minigan/reference/ (``minigan gradcheck --op 'reference.*'``)."""
    from . import reference as R
    from .reference.attention import attention

    check("reference.conv2d", "reference")(lambda rng, d: (
        (lambda x, w, b: R.conv2d(x, w, b, stride=2, padding=1, groups=2)),
        [_normal(rng, (1, 2, 4, 4), d), _normal(rng, (2, 1, 3, 3), d), _normal(rng, (2,), d)]))
    check("reference.conv_transpose2d", "reference")(lambda rng, d: (
        (lambda x, w, b: R.conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1,
                                            dilation=(1, 2))),
        [_normal(rng, (1, 2, 2, 2), d), _normal(rng, (2, 2, 2, 2), d), _normal(rng, (2,), d)]))
    check("reference.batch_norm", "reference")(lambda rng, d: (
        (lambda x, w, b: R.batch_norm(x, None, None, w, b, training=True)),
        [_normal(rng, (3, 2, 2), d), _positive(rng, (2,), d), _normal(rng, (2,), d)]))

    @check("reference.batch_norm_eval", "reference")
    def _batch_norm_eval(rng, d):
        stats = [backend.to_device(a, d) for a in (rng.standard_normal(2), rng.uniform(0.5, 2, 2))]
        return ((lambda x, w, b: R.batch_norm(x, *stats, w, b, training=False)),
                [_normal(rng, (3, 2, 2), d), _positive(rng, (2,), d), _normal(rng, (2,), d)])

    check("reference.layer_norm", "reference")(lambda rng, d: (
        (lambda x, w, b: R.layer_norm(x, (3,), w, b)),
        [_normal(rng, (2, 3), d), _positive(rng, (3,), d), _normal(rng, (3,), d)]))
    check("reference.leaky_relu", "reference")(lambda rng, d: (
        (lambda x: R.leaky_relu(x, 0.2)), [_off_zero(rng, (2, 3), d)]))
    check("reference.softmax", "reference")(lambda rng, d: (
        (lambda x: R.softmax(x, dim=-1)), [_normal(rng, (2, 4), d)]))
    check("reference.log_softmax", "reference")(lambda rng, d: (
        (lambda x: R.log_softmax(x, dim=0)), [_normal(rng, (3, 2), d)]))
    check("reference.attention", "reference")(lambda rng, d: (
        (lambda q, k, v, m: attention(q, k, v, m, 0.0, 0.5)[0]),
        [_normal(rng, (2, 3, 2), d), _normal(rng, (1, 4, 2), d), _normal(rng, (1, 4, 3), d),
         _normal(rng, (3, 4), d)]))


_register_core()
_register_functional()
_register_reference()
