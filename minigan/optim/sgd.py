"""Stochastic gradient descent with momentum, dampening, Nesterov and L2 weight decay
(PyTorch's formula):

    g = grad + weight_decay * p
    b = g                                   (first step)
    b = momentum * b + (1 - dampening) * g  (later steps)
    g = g + momentum * b  (nesterov)  or  g = b
    p = p - lr * g
"""
from __future__ import annotations

from typing import Any, Iterable

from .. import backend
from .optimizer import Optimizer, check_nonnegative


class SGD(Optimizer):
    def __init__(self, params: Iterable[Any], lr: float = 1e-3, momentum: float = 0.0,
                 dampening: float = 0.0, weight_decay: float = 0.0, nesterov: bool = False,
                 *, maximize: bool = False) -> None:
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov,
                                      maximize=maximize))

    def _check_group(self, group: dict) -> None:
        for name in ("lr", "momentum", "weight_decay"):
            check_nonnegative(name, group[name])
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")

    def _update(self, p, grad, state: dict, group: dict) -> None:
        xp = backend.get_array_module(p)
        momentum = group["momentum"]
        s0, s1 = self._buffers(p, 2)
        g = self._effective_grad(p, grad, group["weight_decay"], group["maximize"], s0)
        if momentum != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = g.copy()
            else:
                buf *= momentum
                xp.multiply(g, 1 - group["dampening"], out=s1)
                buf += s1
            if group["nesterov"]:
                xp.multiply(buf, momentum, out=s1)
                s1 += g
                g = s1
            else:
                g = buf
        xp.multiply(g, group["lr"], out=s1)
        p -= s1
