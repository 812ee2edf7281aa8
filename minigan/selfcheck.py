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


# ---------------------------------------------------------------------------- Tensor methods, index assignment, in-place, Function.apply


def _register_tensor_api() -> None:
    import minigan as mg
    from .autograd import Function

    class Cubic(Function):  # PyTorch's custom-Function idiom, called through apply
        @staticmethod
        def forward(ctx, x, k):
            ctx.save_for_backward(x)
            ctx.k = k
            return x * x * x * k

        @staticmethod
        def backward(ctx, gy):
            x, = ctx.saved_tensors
            return gy * x * x * (3.0 * ctx.k), None

    def index_put(x, v):  # x[idx] = v, recorded: x's gradient has zeros where v went
        y = x.clone()
        y[1, :, [0, 2]] = v
        return y

    def inplace_chain(x, w):
        h = x * 1.0
        h.mul_(w)
        h += w
        h.clamp_(-1.5, 1.5)
        return h

    check("clone", "tensor")(lambda rng, d: ((lambda x: x.clone() * x), [_normal(rng, (2, 3), d)]))
    check("t", "tensor")(lambda rng, d: ((lambda x: x.t()), [_normal(rng, (2, 3), d)]))
    check("unflatten", "tensor")(lambda rng, d: ((lambda x: x.unflatten(1, (2, -1))),
                                                 [_normal(rng, (2, 6), d)]))
    check("getitem_int_and_array", "tensor")(lambda rng, d: (
        (lambda x: x[1, :, [0, 2, 2]]), [_normal(rng, (2, 3, 4), d)]))
    check("index_put", "tensor")(lambda rng, d: (index_put, [_normal(rng, (2, 3, 4), d),
                                                             _normal(rng, (3, 2), d)]))
    check("inplace_ops", "tensor")(lambda rng, d: (inplace_chain, [
        _normal(rng, (2, 3), d) * 0.5, _off_zero(rng, (3,), d)]))
    check("clamp_tensor_bounds", "tensor")(lambda rng, d: (
        (lambda x, lo: mg.clamp(x, lo, 1.5)), [_off_zero(rng, (2, 3), d), _off_zero(rng, (3,), d) * 0.5]))
    check("function_apply", "tensor")(lambda rng, d: ((lambda x: Cubic.apply(x, 0.5)),
                                                      [_normal(rng, (2, 3), d)]))


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


# ---------------------------------------------------------------------------- opsa: indexing,
# rearranging, einsum, padding, resampling, pooling, conv1d


def _register_opsa() -> None:
    import minigan as mg
    from . import functional as F

    def ints(values, d):
        return tensor(np.array(values, dtype=np.int64), device=d)

    index = [[0, 2, 1], [1, 1, 0]]
    check("gather", "index")(lambda rng, d: (
        (lambda x: mg.gather(x, 1, ints(index, d))), [_normal(rng, (2, 3), d)]))
    check("scatter", "index")(lambda rng, d: (
        (lambda x, s: mg.scatter(x, 0, ints([[1, 0, 1]], d), s)),
        [_normal(rng, (2, 3), d), _normal(rng, (2, 3), d)]))
    check("scatter_add", "index")(lambda rng, d: (
        (lambda x, s: mg.scatter_add(x, 1, ints(index, d), s)),
        [_normal(rng, (2, 3), d), _normal(rng, (2, 3), d)]))
    check("index_select", "index")(lambda rng, d: (
        (lambda x: mg.index_select(x, 0, ints([2, 0, 2], d))), [_normal(rng, (3, 2), d)]))
    check("take_along_dim", "index")(lambda rng, d: (
        (lambda x: mg.take_along_dim(x, ints([[0], [2]], d), 1)), [_normal(rng, (2, 3), d)]))
    check("masked_select", "index")(lambda rng, d: (
        (lambda x: mg.masked_select(x, tensor(np.array([True, False, True]), device=d))),
        [_normal(rng, (2, 3), d)]))
    check("masked_fill", "index")(lambda rng, d: (
        (lambda x, v: mg.masked_fill(x, tensor(np.array([[True], [False]]), device=d), v)),
        [_normal(rng, (2, 3), d), _normal(rng, (), d)]))
    check("tril", "index")(lambda rng, d: ((lambda x: mg.tril(x, -1)), [_normal(rng, (2, 3, 3), d)]))
    check("triu", "index")(lambda rng, d: ((lambda x: mg.triu(x, 1)), [_normal(rng, (3, 4), d)]))

    check("repeat", "rearrange")(lambda rng, d: ((lambda x: x.repeat(2, 1, 3)), [_normal(rng, (2, 2), d)]))
    check("tile", "rearrange")(lambda rng, d: ((lambda x: mg.tile(x, (2,))), [_normal(rng, (2, 3), d)]))
    check("repeat_interleave", "rearrange")(lambda rng, d: (
        (lambda x: mg.repeat_interleave(x, ints([2, 0, 1], d), dim=1)), [_normal(rng, (2, 3), d)]))
    check("chunk", "rearrange")(lambda rng, d: ((lambda x: mg.chunk(x, 2, -1)), [_normal(rng, (2, 3), d)]))
    check("unbind", "rearrange")(lambda rng, d: ((lambda x: mg.unbind(x, 1)), [_normal(rng, (2, 3), d)]))
    check("flip", "rearrange")(lambda rng, d: ((lambda x: mg.flip(x, (0, 2))), [_normal(rng, (2, 2, 3), d)]))
    check("roll", "rearrange")(lambda rng, d: (
        (lambda x: mg.roll(x, (1, -2), (0, 1))), [_normal(rng, (2, 3), d)]))
    check("movedim", "rearrange")(lambda rng, d: (
        (lambda x: mg.movedim(x, 0, -1)), [_normal(rng, (2, 3, 2), d)]))
    check("narrow", "rearrange")(lambda rng, d: ((lambda x: mg.narrow(x, 1, -2, 2)), [_normal(rng, (2, 3), d)]))

    check("einsum", "einsum")(lambda rng, d: (
        (lambda a, b: mg.einsum("bij,bjk->bik", a, b)), [_normal(rng, (2, 2, 3), d), _normal(rng, (2, 3, 2), d)]))
    check("einsum_diagonal_broadcast", "einsum")(lambda rng, d: (
        (lambda a, b, c: mg.einsum("ii...,i,j->...j", a, b, c)),
        [_normal(rng, (3, 3, 2), d), _normal(rng, (1,), d), _normal(rng, (2,), d)]))

    for mode in ("reflect", "replicate", "circular"):
        check(f"pad_{mode}", "padding")(lambda rng, d, mode=mode: (
            (lambda x: F.pad(x, (2, 1, 1, 0), mode=mode)), [_normal(rng, (1, 3, 3), d)]))
    check("pad_negative", "padding")(lambda rng, d: (
        (lambda x: F.pad(x, (-1, 2, 1, -1), value=0.5)), [_normal(rng, (2, 3, 3), d)]))

    for name, kwargs in (("nearest", dict(scale_factor=1.5)), ("nearest-exact", dict(size=(3, 2))),
                         ("bilinear", dict(scale_factor=2, mode="bilinear")),
                         ("bilinear_corners", dict(size=(3, 5), mode="bilinear", align_corners=True)),
                         ("bicubic", dict(size=3, mode="bicubic")), ("area", dict(size=(1, 3), mode="area"))):
        kwargs = dict(kwargs, mode=kwargs.get("mode", name))
        check(f"interpolate_{name}", "resample")(lambda rng, d, kwargs=kwargs: (
            (lambda x: F.interpolate(x, **kwargs)), [_normal(rng, (1, 2, 2, 3), d)]))

    check("max_pool2d", "pool")(lambda rng, d: (
        (lambda x: F.max_pool2d(x, 3, 2, 1, dilation=(1, 2), ceil_mode=True)), [_distinct(rng, (1, 2, 5, 6), d)]))
    check("avg_pool2d", "pool")(lambda rng, d: (
        (lambda x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False)),
        [_normal(rng, (1, 2, 4, 5), d)]))
    check("adaptive_avg_pool2d", "pool")(lambda rng, d: (
        (lambda x: F.adaptive_avg_pool2d(x, (2, 3))), [_normal(rng, (1, 2, 3, 5), d)]))
    check("adaptive_max_pool2d", "pool")(lambda rng, d: (
        (lambda x: F.adaptive_max_pool2d(x, (2, 3))), [_distinct(rng, (1, 2, 3, 5), d)]))

    check("conv1d", "conv")(lambda rng, d: (
        (lambda x, w, b: F.conv1d(x, w, b, stride=2, padding=1, dilation=2, groups=2)),
        [_normal(rng, (1, 2, 6), d), _normal(rng, (4, 1, 2), d), _normal(rng, (4,), d)]))
    check("conv_transpose1d", "conv")(lambda rng, d: (
        (lambda x, w: F.conv_transpose1d(x, w, stride=2, output_padding=1)),
        [_normal(rng, (1, 2, 3), d), _normal(rng, (2, 3, 3), d)]))
# ---------------------------------------------------------------------------- math, scans, sorting, activations, losses


def _register_math_scans_sorting() -> None:
    """ops/math.py, scan.py, reductions.py, sort.py, smooth.py, piecewise.py, the new losses."""
    import math

    import minigan as mg
    from . import functional as F

    domains = {"asin": (-0.9, 0.9), "acos": (-0.9, 0.9), "atanh": (-0.9, 0.9), "acosh": (1.2, 3.0),
               "log2": (0.3, 3.0), "log10": (0.3, 3.0), "log1p": (-0.7, 3.0), "rsqrt": (0.3, 3.0),
               "tan": (-1.2, 1.2)}
    from .ops.math import UNARY
    for name in UNARY:
        low, high = domains.get(name, (-2.0, 2.0))
        check(name, "math")(lambda rng, d, name=name, low=low, high=high: (
            getattr(mg, name), [_leaf(rng.uniform(low, high, (2, 3)), d)]))
    check("reciprocal_off_zero", "math")(lambda rng, d: (mg.reciprocal, [_off_zero(rng, (2, 3), d, 0.3)]))
    check("square", "math")(lambda rng, d: (mg.square, [_normal(rng, (2, 3), d)]))
    check("frac", "math")(lambda rng, d: (mg.frac, [_leaf(rng.uniform(0.1, 0.9, (2, 3)) + 1.0, d)]))
    for name in ("floor", "ceil", "round", "trunc", "sign"):  # zero (constant) gradients
        check(name, "math", second_order=False)(lambda rng, d, name=name: (getattr(mg, name), [_off_zero(rng, (2, 3), d)]))

    def operands(rng, d):  # a / b stays 0.1 or more away from an integer
        b = rng.uniform(1.0, 1.05, (3,)) * np.array([1.0, -1.0, 1.0])
        a = rng.integers(-3, 4, (2, 3)) + rng.uniform(0.3, 0.7, (2, 3))
        return [_leaf(a, d), _leaf(b, d)]
    for name in ("remainder", "fmod", "atan2", "hypot"):
        check(name, "math")(lambda rng, d, name=name: (getattr(mg, name), operands(rng, d)))
    check("lerp", "math")(lambda rng, d: (mg.lerp, [_normal(rng, (2, 3), d), _normal(rng, (3,), d),
                                                    _leaf(rng.uniform(-0.5, 1.5, (2, 1)), d)]))

    check("cumsum", "scan")(lambda rng, d: ((lambda x: mg.cumsum(x, 1)), [_normal(rng, (2, 4), d)]))
    check("cumprod", "scan")(lambda rng, d: ((lambda x: mg.cumprod(x, -1)), [_normal(rng, (2, 4), d)]))

    @check("cumprod_zeros", "scan")
    def _cumprod_zeros(rng, d):
        x = rng.standard_normal((2, 5))
        x[0, 1], x[1, 1], x[1, 3] = 0.0, 0.0, 0.0  # exact zeros: its gradient is a polynomial
        return (lambda t: mg.cumprod(t, 1)), [_leaf(x, d)]

    check("prod", "reduction")(lambda rng, d: ((lambda x: mg.prod(x, 1)), [_normal(rng, (2, 3), d)]))

    @check("prod_zeros", "reduction")
    def _prod_zeros(rng, d):
        x = rng.standard_normal((3, 3))
        x[0, 0], x[1, 0], x[1, 2] = 0.0, 0.0, 0.0
        return (lambda t: mg.prod(t, 1)), [_leaf(x, d)]

    check("logsumexp", "reduction")(lambda rng, d: (
        (lambda x: mg.logsumexp(x, (0, 2))), [_normal(rng, (2, 3, 2), d)]))
    check("amax", "reduction")(lambda rng, d: ((lambda x: mg.amax(x, 1)), [_distinct(rng, (2, 3), d)]))
    check("amin", "reduction")(lambda rng, d: ((lambda x: mg.amin(x, 0)), [_distinct(rng, (2, 3), d)]))
    signs = np.array([[1.0, -1.0, 1.0], [-1.0, 1.0, -1.0]])
    for ord in (2, 1, math.inf, 0.5, 3):  # |x| apart (no ties for inf) and away from 0
        check(f"vector_norm_{ord}", "reduction")(lambda rng, d, ord=ord: (
            (lambda x: mg.linalg.vector_norm(x, ord, 1)),
            [_leaf(_distinct(rng, (2, 3), "cpu", 0.3, 2.0).numpy() * signs, d)]))

    for name, fn in {"sort": lambda x: mg.sort(x, 1, descending=True).values,
                     "topk": lambda x: mg.topk(x, 2, 0).values,
                     "max_dim": lambda x: mg.max(x, 1).values,
                     "min_dim": lambda x: mg.min(x, 0, keepdim=True).values,
                     "median": lambda x: mg.median(x, 1).values,
                     "mode": lambda x: mg.mode(x, 1).values}.items():
        check(name, "sort")(lambda rng, d, fn=fn: (fn, [_distinct(rng, (3, 4), d)]))

    smooth = {"silu": F.silu, "elu": lambda x: F.elu(x, 0.7), "selu": F.selu,
              "celu": lambda x: F.celu(x, 0.5), "softplus": lambda x: F.softplus(x, 2.0, 3.0),
              "softsign": F.softsign, "mish": F.mish, "logsigmoid": F.logsigmoid,
              "hardtanh": lambda x: F.hardtanh(x, -0.5, 1.5), "relu6": F.relu6,
              "hardsigmoid": F.hardsigmoid, "hardswish": F.hardswish}
    for name, fn in smooth.items():   # x in 0.2 .. 2.8 from the kinks at 0, -0.5, 1.5, 3, -3, 6
        check(name, "activation")(lambda rng, d, fn=fn: (
            fn, [_leaf(rng.choice([-2.5, -1.0, 0.25, 1.0, 2.0, 4.5], (2, 3)) + rng.uniform(-0.1, 0.1, (2, 3)), d)]))
    check("glu", "activation")(lambda rng, d: ((lambda x: F.glu(x, 0)), [_normal(rng, (4, 3), d)]))
    check("prelu", "activation")(lambda rng, d: (
        F.prelu, [_off_zero(rng, (2, 3, 2), d), _positive(rng, (3,), d, 0.1, 0.5)]))

    @check("nll_loss", "loss")
    def _nll_loss(rng, d):
        target, weight = tensor(np.array([1, 0, 3]), device=d), _leaf(rng.uniform(0.5, 2, 4), d, False)
        return (lambda x: F.nll_loss(x, target, weight)), [_normal(rng, (3, 4), d)]

    check("l1_loss", "loss")(lambda rng, d: (F.l1_loss, [_off_zero(rng, (2, 3), d), _leaf(np.zeros((2, 3)), d)]))
    check("smooth_l1_loss", "loss")(lambda rng, d: (
        (lambda x, t: F.smooth_l1_loss(x, t, beta=0.5)),
        [_leaf(rng.choice([-1.5, -0.2, 0.3, 2.0], (2, 3)), d), _leaf(np.zeros((2, 3)), d)]))
    check("huber_loss", "loss")(lambda rng, d: (
        (lambda x, t: F.huber_loss(x, t, delta=0.5)),
        [_leaf(rng.choice([-1.5, -0.2, 0.3, 2.0], (2, 3)), d), _leaf(np.zeros((2, 3)), d)]))
    check("kl_div", "loss")(lambda rng, d: (
        (lambda x, t: F.kl_div(x, t, reduction="batchmean")),
        [_leaf(rng.uniform(-3, -0.1, (2, 3)), d), _positive(rng, (2, 3), d, 0.1, 1.0)]))


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
_register_tensor_api()
_register_functional()
_register_opsa()
_register_math_scans_sorting()
_register_reference()
