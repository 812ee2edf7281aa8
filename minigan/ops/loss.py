"""Losses: binary cross-entropy (on logits and on probabilities), cross-entropy, nll, MSE.

PyTorch's arguments and semantics throughout. ``reduction`` is ``'none'`` (one loss per
element / sample), ``'sum'`` or ``'mean'``. Each loss is one fused Function whose forward is
plain array code. The hot first-order gradients (BCE-with-logits and cross-entropy w.r.t.
the logits) are again one fused Function each, whose own backward is written with
differentiable Tensor ops, so gradients of gradients work (Chainer's pattern).

Notation: x input, t target, w weight, p pos_weight, s = sigmoid(x), gy the upstream
gradient, k = 1/n for 'mean' (n elements or samples) and 1 otherwise.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import backend
from ..autograd import Function, Tensor, as_tensor
from ..errors import ArgumentError, DimError, DTypeError, ShapeError
from .args import int_arg, operand, tensor_arg
from .activation import sigmoid
from .attention import log_softmax
from .elementwise import clamp, exp, log
from .reduce import sum as _sum, sum_to
from .shape import reshape

_REDUCTIONS = ("none", "mean", "sum")


def _check_reduction(reduction: str, op: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ArgumentError(f"{op}: reduction must be 'none', 'mean' or 'sum', got {reduction!r}")


def _reduce(xp, loss, reduction: str, denominator: float | None = None):
    """Apply the reduction to an array of per-element losses (``denominator`` overrides n)."""
    if reduction == "none":
        return loss
    total = loss.sum()
    if reduction == "mean":
        n = loss.size if denominator is None else denominator
        with np.errstate(invalid="ignore", divide="ignore"):  # nothing to average: nan, as torch
            total = total / loss.dtype.type(n) if n else total * loss.dtype.type(np.nan)
    return xp.asarray(total, dtype=loss.dtype)


def _scaled_gy(gy: Tensor, reduction: str, n: float) -> Tensor:
    """gy * k as a Tensor: the upstream gradient of one element (broadcastable)."""
    return gy * (1.0 / n) if reduction == "mean" and n else gy


def _optional(t: Any, like: Tensor) -> Tensor | None:
    return None if t is None else as_tensor(t, like)


def _check_same_shape(op: str, x: Tensor, t: Tensor) -> None:
    if t.shape != x.shape:
        raise ShapeError(f"{op}: target of shape {t.shape} must have the same shape as "
                         f"input {x.shape}")


def _check_broadcasts_to(op: str, name: str, w: Tensor, shape: tuple) -> None:
    try:
        ok = np.broadcast_shapes(w.shape, shape) == shape
    except ValueError:
        ok = False
    if not ok:
        raise ShapeError(f"{op}: {name} of shape {w.shape} does not broadcast to input {shape}")


def _check_float(op: str, **tensors: Tensor | None) -> None:
    for name, t in tensors.items():
        if t is not None and t.dtype.kind != "f":
            raise DTypeError(f"{op}: {name} of shape {t.shape} must be floating, got {t.dtype}")


# ============================================================================ softplus (helper)


def _sigmoid_array(xp, x):
    """1 / (1 + e^-x) without overflow: e = e^-|x| is at most 1."""
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1 / (1 + e), e / (1 + e))


class _Softplus(Function):
    # softplus(x) = log(1 + e^x) = max(x, 0) + log1p(e^-|x|);  d/dx = sigmoid(x)
    def forward(self, x):
        xp = backend.get_array_module(x)
        return xp.maximum(x, 0) + xp.log1p(xp.exp(-xp.abs(x)))

    def backward(self, gy):
        return gy * sigmoid(self.inputs[0])


# ============================================================================ binary_cross_entropy_with_logits

# l = w [ (1 - t) x + L softplus(-x) ],  L = (p - 1) t + 1 (L = 1 without pos_weight)
# dl/dx = w (L s - p t)              (= w (s - t) without pos_weight)
# dl/dt = w ((p - 1) softplus(-x) - x)
# dl/dw = (1 - t) x + L softplus(-x)
# dl/dp = w t softplus(-x)


class BCEWithLogits(Function):
    """Inputs (x, t[, w][, p]); which optional ones are present is fixed at construction."""

    def __init__(self, reduction: str, has_weight: bool, has_pos_weight: bool) -> None:
        self.reduction, self.has_weight, self.has_pos_weight = reduction, has_weight, has_pos_weight

    def _extras(self, extras):
        w = extras[0] if self.has_weight else None
        p = extras[-1] if self.has_pos_weight else None
        return w, p

    def forward(self, x, t, *extras):
        xp = backend.get_array_module(x)
        w, p = self._extras(extras)
        softplus_neg = xp.maximum(-x, 0) + xp.log1p(xp.exp(-xp.abs(x)))  # log(1 + e^-x)
        if p is not None:
            softplus_neg *= (p - 1) * t + 1
        loss = (1 - t) * x + softplus_neg
        if w is not None:
            loss *= w
        return _reduce(xp, loss, self.reduction)

    def backward(self, gy):
        x, t = self.inputs[:2]
        w, p = self._extras(self.inputs[2:])
        need = self.needs_input_grad
        grads: list = [None] * len(self.inputs)
        if need[0]:
            grads[0] = BCEWithLogitsGrad(self.reduction, w is not None, p is not None)(
                gy, *self.inputs)
        if any(need[1:]):  # target / weight / pos_weight: rare, plain Tensor ops
            k = _scaled_gy(gy, self.reduction, x.data.size)
            sp_neg = _Softplus()(-x)
            if need[1]:
                dt = sp_neg * (p - 1) - x if p is not None else -x
                grads[1] = k * dt * w if w is not None else k * dt
            if w is not None and need[2]:
                core = (1 - t) * x + (sp_neg * ((p - 1) * t + 1) if p is not None else sp_neg)
                grads[2] = sum_to(k * core, w.shape)
            if p is not None and need[-1]:
                gp = k * t * sp_neg
                grads[-1] = sum_to(gp * w if w is not None else gp, p.shape)
        return tuple(grads)


class BCEWithLogitsGrad(Function):
    """gx = gy k w (L s - p t) from inputs (gy, x, t[, w][, p]), in one pass of array code."""

    def __init__(self, reduction: str, has_weight: bool, has_pos_weight: bool) -> None:
        self.reduction, self.has_weight, self.has_pos_weight = reduction, has_weight, has_pos_weight

    def forward(self, gy, x, t, *extras):
        xp = backend.get_array_module(x)
        w = extras[0] if self.has_weight else None
        p = extras[-1] if self.has_pos_weight else None
        s = _sigmoid_array(xp, x)
        if p is None:
            g = s - t
        else:
            pt = p * t
            g = (pt + 1 - t) * s - pt
        if w is not None:
            g *= w
        g *= gy
        if self.reduction == "mean" and x.size:
            g *= x.dtype.type(1.0 / x.size)
        return g

    def backward(self, ggx):
        # gx = gy k w c with c = L s - p t;  dc/dx = L s (1 - s);  dc/dt = (p - 1) s - p;
        # dc/dp = t (s - 1). Each input's gradient is ggx times the partial derivative.
        gy, x, t = self.inputs[:3]
        w = self.inputs[3] if self.has_weight else None
        p = self.inputs[-1] if self.has_pos_weight else None
        need = self.needs_input_grad
        s = sigmoid(x)
        k = _scaled_gy(gy, self.reduction, x.data.size)
        a = ggx * k if w is None else ggx * k * w        # ggx * gy k w
        core = (s - t) if p is None else ((p - 1) * t + 1) * s - p * t
        grads: list = [None] * len(self.inputs)
        if need[0]:
            kw = ggx * core if w is None else ggx * core * w
            grads[0] = sum_to(_scaled_gy(kw, self.reduction, x.data.size), gy.shape)
        if need[1]:
            ds = s * (1 - s)
            grads[1] = a * ds if p is None else a * ((p - 1) * t + 1) * ds
        if need[2]:
            grads[2] = -a if p is None else a * ((p - 1) * s - p)
        if w is not None and need[3]:
            grads[3] = sum_to(ggx * k * core, w.shape)
        if p is not None and need[-1]:
            grads[-1] = sum_to(a * t * (s - 1), p.shape)
        return tuple(grads)


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor, weight: Tensor | None = None,
                                     reduction: str = "mean",
                                     pos_weight: Tensor | None = None) -> Tensor:
    """Binary cross-entropy on logits, stable for any logit size (PyTorch's formula):

        l = w [ (1 - t) x + (1 + (pos_weight - 1) t) log(1 + e^-x) ]

    ``weight`` broadcasts to the input; ``pos_weight`` (one per class, the last dim)
    scales the positive term. Its gradient w.r.t. x is w (sigmoid(x) - t) without pos_weight.

    >>> import minigan as mg, minigan.functional as F
    >>> float(F.binary_cross_entropy_with_logits(mg.tensor([1000.0]), mg.tensor([1.0])))
    0.0
    """
    op = "binary_cross_entropy_with_logits"
    _check_reduction(reduction, op)
    tensor_arg(input, op)
    target = as_tensor(operand(target, op, "target"), input)
    weight, pos_weight = _optional(weight, input), _optional(pos_weight, input)
    _check_float(op, input=input, target=target, weight=weight, pos_weight=pos_weight)
    _check_same_shape(op, input, target)
    extras = []
    for name, t in (("weight", weight), ("pos_weight", pos_weight)):
        if t is not None:
            _check_broadcasts_to(op, name, t, input.shape)
            extras.append(t)
    fn = BCEWithLogits(reduction, weight is not None, pos_weight is not None)
    return fn(input, target, *extras)


# ============================================================================ binary_cross_entropy

# l = -w [ t log(x) + (1 - t) log(1 - x) ], each log clamped at -100 (PyTorch)
# dl/dx = w (x - t) / max(x (1 - x), 1e-12)
# dl/dt = w (log(1 - x) - log(x))


class BCE(Function):
    """Inputs (x, t[, w]) with x probabilities in [0, 1]."""

    def __init__(self, reduction: str) -> None:
        self.reduction = reduction

    def forward(self, x, t, w=None):
        xp = backend.get_array_module(x)
        with np.errstate(divide="ignore"):  # log(0) = -inf, then clamped to -100
            log_x = xp.maximum(xp.log(x), -100)
            log_1mx = xp.maximum(xp.log1p(-x), -100)
        loss = (t - 1) * log_1mx - t * log_x
        if w is not None:
            loss *= w
        return _reduce(xp, loss, self.reduction)

    def backward(self, gy):
        x, t = self.inputs[:2]
        w = self.inputs[2] if len(self.inputs) == 3 else None
        need = self.needs_input_grad
        k = _scaled_gy(gy, self.reduction, x.data.size)
        kw = k if w is None else k * w
        grads: list = [None] * len(self.inputs)
        if need[0]:
            grads[0] = kw * (x - t) / clamp((1 - x) * x, min=1e-12)
        if need[1] or (w is not None and need[2]):
            log_x, log_1mx = clamp(log(x), min=-100.0), clamp(log(1 - x), min=-100.0)
            if need[1]:
                grads[1] = kw * (log_1mx - log_x)
            if w is not None and need[2]:
                grads[2] = sum_to(k * ((t - 1) * log_1mx - t * log_x), w.shape)
        return tuple(grads)


def binary_cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                         reduction: str = "mean") -> Tensor:
    """Binary cross-entropy on probabilities in [0, 1] (each log clamped at -100, as PyTorch).

    Prefer :func:`binary_cross_entropy_with_logits` on logits: it is stable for any value.
    """
    op = "binary_cross_entropy"
    _check_reduction(reduction, op)
    tensor_arg(input, op)
    target = as_tensor(operand(target, op, "target"), input)
    weight = _optional(weight, input)
    _check_float(op, input=input, target=target, weight=weight)
    _check_same_shape(op, input, target)
    if input.data.size and bool(((input.data < 0) | (input.data > 1)).any()):
        raise ArgumentError(f"{op}: all elements of input (shape {input.shape}) must be between 0 "
                            f"and 1; use binary_cross_entropy_with_logits on logits")
    if weight is None:
        return BCE(reduction)(input, target)
    _check_broadcasts_to(op, "weight", weight, input.shape)
    return BCE(reduction)(input, target, weight)


# ============================================================================ cross_entropy

# Class-index targets y, class weights w, smoothing e, C classes. Per sample i:
#   q_ic = (1 - e) w_y 1[c = y] + (e / C) w_c      (q_i = 0 where y_i = ignore_index)
#   l_i = -sum_c q_ic log softmax(z)_ic
#   dl_i/dz_ic = r_i softmax(z)_ic - q_ic,   r_i = sum_c q_ic
# 'mean' divides by sum_i (w_y)_i over non-ignored samples (PyTorch's rule).


def _by_class(a):
    """A per-sample (N, D) array as (N, 1, D), to broadcast over the classes; scalars as is."""
    return a[:, None, :] if hasattr(a, "ndim") and a.ndim == 2 else a


class _Targets:
    """The constant part of cross_entropy with class indices, in the (N, C, D) layout:
    y (N, D) with ignored entries set to 0, valid (N, D), wy = w_y * valid (N, D) and
    r = sum_c q (N, D). Without ignored entries valid is the scalar 1, and so is wy
    without class weights (no arrays to build or multiply)."""

    def __init__(self, xp, y, C: int, weight, ignore_index: int, smoothing: float, dtype,
                 any_ignored: bool) -> None:
        self.C, self.smoothing, self.weight, self.shape = C, smoothing, weight, y.shape
        if any_ignored:
            valid = y != ignore_index
            self.y, self.valid = xp.where(valid, y, 0), valid.astype(dtype)
        else:
            self.y, self.valid = y, 1.0
        self.wy = self.valid if weight is None else weight[self.y] * self.valid
        self.n_idx = xp.arange(y.shape[0])[:, None]
        self.d_idx = xp.arange(y.shape[1])[None, :]
        self.r = (1 - smoothing) * self.wy
        if smoothing:
            total_w = C if weight is None else weight.sum()
            self.r = self.r + (smoothing / C) * total_w * self.valid

    def weight_sum(self) -> float:
        """sum_i (w_y)_i over the non-ignored samples: the 'mean' denominator."""
        return float(self.wy.sum()) if hasattr(self.wy, "sum") else float(math.prod(self.shape))

    def pick(self, a):
        """a[n, y[n, d], d] for an (N, C, D) array: shape (N, D)."""
        return a[self.n_idx, self.y, self.d_idx]

    def dense_q(self, xp, dtype):
        q = xp.zeros((self.shape[0], self.C, self.shape[1]), dtype=dtype)
        q[self.n_idx, self.y, self.d_idx] = (1 - self.smoothing) * self.wy
        if self.smoothing:
            w = xp.ones(self.C, dtype=dtype) if self.weight is None else self.weight
            q += (self.smoothing / self.C) * w[None, :, None] * _by_class(self.valid)
        return q


class CrossEntropy(Function):
    """Softmax cross-entropy of logits z (N, C, *spatial) against class indices (constants).
    Works on the (N, C, D) view; the per-sample loss ('none') has shape (N, *spatial)."""

    def __init__(self, targets: _Targets, reduction: str, denominator: float) -> None:
        self.targets, self.reduction, self.denominator = targets, reduction, denominator

    def forward(self, z):
        xp = backend.get_array_module(z)
        tg = self.targets
        z3 = z.reshape(z.shape[0], z.shape[1], tg.shape[1])  # (N, C, D); N may be 0
        shifted = z3 - z3.max(axis=1, keepdims=True)
        e = xp.exp(shifted)
        total = e.sum(axis=1, keepdims=True)
        log_total = xp.log(total)
        e /= total
        self.softmax = e                              # saved for the backward
        # log softmax is needed at the target class only (everywhere with smoothing)
        loss = -(1 - tg.smoothing) * tg.wy * (tg.pick(shifted) - log_total[:, 0, :])
        if tg.smoothing:
            w = 1 if tg.weight is None else tg.weight[None, :, None]
            logp = shifted - log_total
            loss -= (tg.smoothing / tg.C) * (logp * w).sum(axis=1) * tg.valid
        if self.reduction == "none":
            return loss.reshape(z.shape[:1] + z.shape[2:])
        return _reduce(xp, loss, self.reduction, self.denominator)

    def backward(self, gy):
        return CrossEntropyGrad(self.targets, self.softmax, self.reduction,
                                self.denominator)(self.inputs[0], gy)


class CrossEntropyGrad(Function):
    """gz = gy k (r softmax(z) - q) from inputs (z, gy), with softmax(z) saved by the forward."""

    def __init__(self, targets: _Targets, softmax, reduction: str, denominator: float) -> None:
        self.targets, self.softmax = targets, softmax
        self.reduction, self.denominator = reduction, denominator

    def forward(self, z, gy):
        tg = self.targets
        g = self.softmax * _by_class(tg.r)
        g[tg.n_idx, tg.y, tg.d_idx] -= (1 - tg.smoothing) * tg.wy
        if tg.smoothing:
            w = 1 if tg.weight is None else tg.weight[None, :, None]
            g -= (tg.smoothing / tg.C) * w * _by_class(tg.valid)
        if self.reduction == "none":
            g *= gy.reshape(g.shape[0], 1, tg.shape[1])
        else:
            # all samples ignored ('mean' over nothing): g is 0 and stays 0, as in PyTorch
            scale = 1 / self.denominator if self.denominator else 0.0
            g *= gy * gy.dtype.type(scale) if self.reduction == "mean" else gy
        return g.reshape(z.shape)

    def backward(self, ggz):
        # d/dz: the softmax Jacobian (diag(s) - s s^T) applied to u = ggz r gy k;
        # d/dgy: sum_c ggz (r s - q), reduced as the forward's loss was.
        z, gy = self.inputs
        xp = backend.get_array_module(z.data)
        tg = self.targets
        N, C = z.shape[:2]
        shape3 = (N, C, tg.shape[1])
        ggz = reshape(ggz, shape3)
        s = exp(log_softmax(reshape(z, shape3), 1))
        r = _by_class(tg.r)
        r = Tensor._wrap(r) if hasattr(r, "ndim") else r
        gz = ggy = None
        if self.needs_input_grad[0]:
            k = reshape(gy, (N, 1, tg.shape[1])) if self.reduction == "none" \
                else _scaled_gy(gy, self.reduction, self.denominator)
            u = ggz * r * k
            gz = reshape(s * (u - _sum(s * u, 1, keepdims=True)), z.shape)
        if self.needs_input_grad[1]:
            per_sample = _sum(ggz * (s * r - Tensor._wrap(tg.dense_q(xp, z.dtype))), 1)
            if self.reduction == "none":
                ggy = reshape(per_sample, gy.shape)
            else:
                ggy = _scaled_gy(_sum(per_sample), self.reduction, self.denominator)
        return gz, ggy


def cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                  ignore_index: int = -100, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Tensor:
    """Softmax cross-entropy of logits (N, C) or (N, C, d1, ...) (or (C,) unbatched).

    ``target`` holds class indices, shape (N,) or (N, d1, ...), or class probabilities of
    the input's shape. With indices, ``weight`` (C,) weights each sample by its class and
    'mean' divides by the sum of those weights; samples equal to ``ignore_index`` add
    nothing. ``label_smoothing`` e mixes the target with the uniform distribution:
    (1 - e) target + e / C. ``weight`` is a constant (no gradient), as in PyTorch.
    """
    op = "cross_entropy"
    _check_reduction(reduction, op)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ArgumentError(f"{op}: label_smoothing must be in [0, 1], got {label_smoothing}")
    input, target, weight, unbatched = _class_inputs(op, input, target, weight)
    if target.dtype.kind == "f":
        loss = _cross_entropy_probabilities(input, target, weight, reduction, label_smoothing)
    else:
        targets, denominator = class_targets(op, input, target, weight, ignore_index,
                                             label_smoothing, reduction)
        loss = CrossEntropy(targets, reduction, denominator)(input)
    if unbatched and reduction == "none":
        loss = reshape(loss, ())
    return loss


def _class_inputs(op: str, input: Tensor, target: Any, weight: Any) -> tuple:
    """The checks cross_entropy and nll_loss share: a floating input with a class dim (an
    unbatched (C,) input becomes a batch of one), the target as a Tensor, and the class
    weights (C,) in the input's dtype. Returns (input, target, weight, unbatched)."""
    tensor_arg(input, op)
    target = as_tensor(target, input)
    if input.dtype.kind != "f":
        raise DTypeError(f"{op}: input of shape {input.shape} must be floating, got {input.dtype}")
    if input.ndim == 0:
        raise ShapeError(f"{op}: input must have a class dim, got a 0-d tensor")
    unbatched = input.ndim == 1
    if unbatched:  # (C,) input: a batch of one
        input = reshape(input, (1,) + input.shape)
        target = reshape(target, (1,) + target.shape) if target.dtype.kind == "f" else \
            Tensor._wrap(target.data.reshape((1,) + target.shape))
    C = input.shape[1]
    if weight is not None:
        weight = as_tensor(weight, input)
        if weight.shape != (C,) or weight.dtype != input.dtype:
            raise ShapeError(f"{op}: weight of shape {weight.shape} ({weight.dtype}) must have "
                             f"shape ({C},) and the input's dtype {input.dtype} "
                             f"(input {input.shape})")
    return input, target, weight, unbatched


def class_targets(op: str, input: Tensor, target: Tensor, weight: Tensor | None,
                  ignore_index: int, smoothing: float, reduction: str) -> tuple:
    """Class-index targets of an (N, C, *spatial) input, checked and prepared (``_Targets``),
    with the 'mean' denominator: the core that cross_entropy and nll_loss share."""
    N, C = input.shape[:2]
    spatial = input.shape[2:]
    if target.dtype.kind not in "iu":
        raise DTypeError(f"{op}: class-index target must be integer, got {target.dtype}")
    if target.shape != (N,) + spatial:
        raise ShapeError(f"{op}: target of shape {target.shape} does not match input "
                         f"{input.shape} (expected {(N,) + spatial} for class indices"
                         + (f", or {input.shape} for class probabilities)"
                            if op == "cross_entropy" else ")"))
    ignore_index = int_arg(ignore_index, op, "ignore_index")
    xp = backend.get_array_module(input.data)
    y = target.data.reshape(N, math.prod(spatial))
    any_ignored = False
    if y.size and (int(y.min()) < 0 or int(y.max()) >= C):  # two reductions on the usual path
        ignored = y == ignore_index
        bad = ~ignored & ((y < 0) | (y >= C))
        if bool(bad.any()):
            raise DimError(f"{op}: target {int(y[bad][0])} is out of bounds for {C} classes "
                           f"(input {input.shape})")
        any_ignored = bool(ignored.any())
    elif 0 <= ignore_index < C:
        any_ignored = bool((y == ignore_index).any())
    w = None if weight is None else weight.data
    targets = _Targets(xp, y, C, w, ignore_index, smoothing, input.dtype, any_ignored)
    denominator = targets.weight_sum() if reduction == "mean" else 1.0
    return targets, denominator


def _cross_entropy_probabilities(input, target, weight, reduction, smoothing):
    # l = -sum_c w_c t'_c log softmax(z)_c with t' = (1 - e) t + e / C; 'mean' over samples
    op = "cross_entropy"
    if target.shape != input.shape:
        raise ShapeError(f"{op}: probability target of shape {target.shape} must match input "
                         f"{input.shape}")
    C = input.shape[1]
    if smoothing:
        target = target * (1 - smoothing) + smoothing / C
    if weight is not None:
        target = target * reshape(weight, (C,) + (1,) * (input.ndim - 2))
    loss = -_sum(log_softmax(input, 1) * target, 1)
    if reduction == "none":
        return loss
    total = _sum(loss)
    return total * (1.0 / loss.data.size) if reduction == "mean" else total


# ============================================================================ nll_loss

# Log-probabilities x (N, C, *spatial), class indices y, weights w (q_ic = w_y [c = y], 0 where
# ignored): l_i = -sum_c q_ic x_ic = -w_{y_i} x_{i, y_i}. The loss is linear in x, so its
# gradient gx = -k q (zeros but at the targets) is a linear map of gy whose adjoint is the
# loss itself: NLLLossGrad's backward is NLLLoss of the upstream gradient.


class NLLLoss(Function):
    """nll_loss of x (N, C, *spatial) against constant class-index targets (``_Targets``)."""

    def __init__(self, targets: _Targets, reduction: str, denominator: float) -> None:
        self.targets, self.reduction, self.denominator = targets, reduction, denominator

    def forward(self, x):
        tg = self.targets
        loss = tg.pick(x.reshape(x.shape[0], x.shape[1], tg.shape[1])) * -tg.wy
        if self.reduction == "none":
            return loss.reshape(x.shape[:1] + x.shape[2:])
        return _reduce(backend.get_array_module(x), loss, self.reduction, self.denominator)

    def backward(self, gy):
        x, = self.inputs
        return NLLLossGrad(self.targets, self.reduction, self.denominator, x.shape)(gy)


class NLLLossGrad(Function):
    """gx = -k w_y at the target class of every sample (0 elsewhere) from input gy."""

    def __init__(self, targets: _Targets, reduction: str, denominator: float, shape: tuple) -> None:
        self.targets, self.reduction, self.denominator, self.shape = \
            targets, reduction, denominator, shape

    def forward(self, gy):
        xp = backend.get_array_module(gy)
        tg = self.targets
        N, C = self.shape[:2]
        g = xp.zeros((N, C, tg.shape[1]), dtype=gy.dtype)
        if self.reduction == "none":
            k = gy.reshape(N, tg.shape[1])
        else:  # all samples ignored ('mean' over nothing): 0, as cross_entropy's
            scale = 1 / self.denominator if self.denominator else 0.0
            k = gy * gy.dtype.type(scale) if self.reduction == "mean" else gy
        g[tg.n_idx, tg.y, tg.d_idx] = -(tg.wy * k)
        return g.reshape(self.shape)

    def backward(self, ggx):
        return NLLLoss(self.targets, self.reduction, self.denominator)(ggx)


def nll_loss(input: Tensor, target: Tensor, weight: Tensor | None = None,
             ignore_index: int = -100, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of log-probabilities ``input`` (N, C) or (N, C, d1, ...) (or
    (C,) unbatched) at the class indices ``target`` (N,) or (N, d1, ...):
    ``l_i = -weight[y_i] * input[i, y_i]``. 'mean' divides by the sum of the weights of the
    non-ignored samples; samples equal to ``ignore_index`` add nothing. ``weight`` is a
    constant (no gradient), as in PyTorch. ``nll_loss(log_softmax(z, 1), y)`` is
    ``cross_entropy(z, y)``."""
    op = "nll_loss"
    _check_reduction(reduction, op)
    input, target, weight, unbatched = _class_inputs(op, input, target, weight)
    if target.dtype.kind == "f":
        raise DTypeError(f"{op}: target must hold class indices (an integer tensor), got "
                         f"{target.dtype}")
    targets, denominator = class_targets(op, input, target, weight, ignore_index, 0.0, reduction)
    loss = NLLLoss(targets, reduction, denominator)(input)
    if unbatched and reduction == "none":
        loss = reshape(loss, ())
    return loss


# ============================================================================ mse_loss

# l = (x - t)^2;  dl/dx = 2 (x - t);  dl/dt = -2 (x - t)


class MSE(Function):
    def __init__(self, reduction: str) -> None:
        self.reduction = reduction

    def forward(self, x, t):
        xp = backend.get_array_module(x)
        d = x - t
        return _reduce(xp, d * d, self.reduction)

    def backward(self, gy):
        x, t = self.inputs
        g = (x - t) * (_scaled_gy(gy, self.reduction, x.data.size) * 2.0)
        return (g if self.needs_input_grad[0] else None,
                -g if self.needs_input_grad[1] else None)


def mse_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """Mean squared error ``(input - target)^2``, reduced; the shapes must match."""
    op = "mse_loss"
    _check_reduction(reduction, op)
    tensor_arg(input, op)
    target = as_tensor(operand(target, op, "target"), input)
    _check_float(op, input=input, target=target)
    _check_same_shape(op, input, target)
    return MSE(reduction)(input, target)
