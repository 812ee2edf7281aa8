"""Elementwise losses: l1_loss, smooth_l1_loss, huber_loss and kl_div, with PyTorch's
``reduction`` ('none', 'mean', 'sum'; kl_div also 'batchmean') and arguments.

Notation: d = x - t (input minus target), k the reduction's scale (1/n for 'mean', 1 for
'sum', gy itself per element for 'none'), as in ops/loss.py.

    l1:         |d|                                        dl/dd = sign(d) (0 at 0)
    smooth_l1:  d^2 / (2 beta) if |d| < beta else |d| - beta / 2    dl/dd = d / beta | sign(d)
    huber:      d^2 / 2 if |d| < delta else delta (|d| - delta / 2)  dl/dd = d | delta sign(d)

(huber is delta * smooth_l1 with beta = delta; smooth_l1 with beta = 0 is l1.) Each is one
Function whose backward is Tensor ops of d (the masks are constants), so double backward works:
d2l/dd2 is 1/beta (smooth_l1) or 1 (huber) inside, 0 outside and at the boundary, as PyTorch.
kl_div is composed of differentiable ops.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .. import backend
from ..autograd import Function, Tensor, as_tensor
from ..errors import ArgumentError, DTypeError
from . import elementwise as E
from .args import choice, operand, tensor_arg
from .loss import _check_float, _check_reduction, _check_same_shape, _reduce, _scaled_gy
from .reduce import sum as _sum


class RegressionLoss(Function):
    """l1 (``beta`` 0), smooth_l1 (``scale`` 1) and huber (``scale`` = ``beta`` = delta) of
    inputs (x, t): scale * smooth_l1(d, beta)."""

    def __init__(self, beta: float, scale: float, reduction: str) -> None:
        self.beta, self.scale, self.reduction = beta, scale, reduction

    def forward(self, x, t):
        xp = backend.get_array_module(x)
        a = xp.abs(x - t)
        if self.beta > 0:
            inside = a < self.beta
            quadratic = a * a
            quadratic *= 0.5 / self.beta
            a -= 0.5 * self.beta
            a = xp.where(inside, quadratic, a)
        if self.scale != 1:
            a *= self.scale
        return _reduce(xp, a, self.reduction)

    def backward(self, gy):
        x, t = self.inputs
        d = x - t
        xp = backend.get_array_module(d.data)
        sign = Tensor._wrap(xp.sign(d.data))
        slope = sign if self.scale == 1 else sign * self.scale
        if self.beta > 0:
            inside = Tensor._wrap(xp.abs(d.data) < self.beta)
            slope = E.where(inside, d * (self.scale / self.beta), slope)
        g = slope * _scaled_gy(gy, self.reduction, x.data.size)
        return (g if self.needs_input_grad[0] else None,
                -g if self.needs_input_grad[1] else None)


def _pair(op: str, input: Tensor, target: Any, reduction: str) -> tuple[Tensor, Tensor]:
    _check_reduction(reduction, op)
    tensor_arg(input, op)
    target = as_tensor(operand(target, op, "target"), input)
    _check_float(op, input=input, target=target)
    _check_same_shape(op, input, target)
    if input.dtype != target.dtype:
        raise DTypeError(f"{op}: input ({input.dtype}) and target ({target.dtype}) must "
                            f"have one dtype")
    return input, target


def _nonnegative(value: Any, op: str, name: str, strict: bool) -> float:
    from .smooth import _number
    value = _number(value, op, name)
    if value < 0 or (strict and value == 0):
        raise ArgumentError(f"{op}: {name} must be {'> 0' if strict else '>= 0'}, got {value}")
    return value


def l1_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """Mean absolute error ``|input - target|``, reduced; the shapes must match. Its gradient
    at input == target is 0 (PyTorch's)."""
    x, t = _pair("l1_loss", input, target, reduction)
    return RegressionLoss(0.0, 1.0, reduction)(x, t)


def smooth_l1_loss(input: Tensor, target: Tensor, reduction: str = "mean",
                   beta: float = 1.0) -> Tensor:
    """Quadratic ``d^2 / (2 beta)`` for |d| < beta, linear ``|d| - beta / 2`` beyond
    (d = input - target); beta = 0 gives l1_loss."""
    beta = _nonnegative(beta, "smooth_l1_loss", "beta", strict=False)
    x, t = _pair("smooth_l1_loss", input, target, reduction)
    return RegressionLoss(beta, 1.0, reduction)(x, t)


def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean",
               delta: float = 1.0) -> Tensor:
    """Quadratic ``d^2 / 2`` for |d| < delta, linear ``delta (|d| - delta / 2)`` beyond
    (d = input - target); delta must be > 0."""
    delta = _nonnegative(delta, "huber_loss", "delta", strict=True)
    x, t = _pair("huber_loss", input, target, reduction)
    return RegressionLoss(delta, delta, reduction)(x, t)


# ============================================================================ kl_div
#
# input x holds log-probabilities; target t probabilities (or log-probabilities with
# log_target):  l = t (log t - x) (0 where t = 0, as xlogy),  or  exp(t) (t - x).
# Gradients: x: -t | -exp(t);  t: log t + 1 - x | exp(t) (t + 1 - x).


def kl_div(input: Tensor, target: Tensor, size_average: Any = None, reduce: Any = None,
           reduction: str = "mean", log_target: bool = False) -> Tensor:
    """The Kullback-Leibler divergence of ``target`` from ``input`` (log-probabilities):
    ``target * (log(target) - input)`` per element (``exp(target) * (target - input)`` with
    ``log_target``). ``reduction='batchmean'`` divides the sum by the batch size (dim 0), the
    true KL divergence per sample; 'mean' averages over all elements, as PyTorch does.
    ``size_average`` and ``reduce`` are PyTorch's deprecated arguments and must be None."""
    op = "kl_div"
    if size_average is not None or reduce is not None:
        raise ArgumentError(f"{op}: size_average and reduce are deprecated in PyTorch and not "
                            f"supported; use reduction=")
    choice(reduction, ("none", "mean", "sum", "batchmean"), op, "reduction")
    x, t = _pair(op, input, target, "sum" if reduction == "batchmean" else reduction)
    if log_target:
        loss = E.exp(t) * (t - x)
    else:
        zero = t.data == 0
        safe = E.where(Tensor._wrap(zero), 1.0, t) if bool(zero.any()) else t
        loss = t * (E.log(safe) - x)
    if reduction == "none":
        return loss
    total = _sum(loss)
    if reduction == "mean":
        return total * (1.0 / x.data.size if x.data.size else float("nan"))
    if reduction == "batchmean" and x.ndim:
        n = x.shape[0]
        return total * (1.0 / n if n else float("nan"))
    return total
