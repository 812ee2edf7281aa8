"""RMSprop (PyTorch's formula; Hinton's lecture 6e, centered variant of Graves 2013):

    g = grad + weight_decay * p
    s = alpha s + (1 - alpha) g^2
    a = alpha a + (1 - alpha) g                        (centered only)
    d = sqrt(s - a^2) + eps  (centered)  or  sqrt(s) + eps
    b = momentum b + g / d;  p = p - lr b   (momentum > 0)   or   p = p - lr g / d
"""
from __future__ import annotations

from typing import Any, Iterable

from .. import backend
from .optimizer import Optimizer, check_nonnegative


class RMSprop(Optimizer):
    def __init__(self, params: Iterable[Any], lr: float = 1e-2, alpha: float = 0.99,
                 eps: float = 1e-8, weight_decay: float = 0.0, momentum: float = 0.0,
                 centered: bool = False, *, maximize: bool = False) -> None:
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=centered, maximize=maximize))

    def _check_group(self, group: dict) -> None:
        for name in ("lr", "eps", "momentum", "weight_decay", "alpha"):
            check_nonnegative(name, group[name])

    def _update(self, p, grad, state: dict, group: dict) -> None:
        xp = backend.get_array_module(p)
        alpha, momentum = group["alpha"], group["momentum"]
        if not state:
            state["step"] = 0
            state["square_avg"] = xp.zeros_like(p)
            if momentum > 0:
                state["momentum_buffer"] = xp.zeros_like(p)
            if group["centered"]:
                state["grad_avg"] = xp.zeros_like(p)
        s0, s1 = self._buffers(p, 2)
        state["step"] += 1
        g = self._effective_grad(p, grad, group["weight_decay"], group["maximize"], s0)
        sq = state["square_avg"]
        sq *= alpha
        xp.multiply(g, g, out=s1)
        s1 *= 1 - alpha
        sq += s1
        if group["centered"]:
            a = state["grad_avg"]
            xp.subtract(g, a, out=s1)  # a += (1 - alpha)(g - a), torch's lerp_
            s1 *= 1 - alpha
            a += s1
            xp.multiply(a, a, out=s1)
            xp.subtract(sq, s1, out=s1)
            xp.sqrt(s1, out=s1)
        else:
            xp.sqrt(sq, out=s1)
        s1 += group["eps"]
        if momentum > 0:
            buf = state.setdefault("momentum_buffer", xp.zeros_like(p))
            buf *= momentum
            xp.divide(g, s1, out=s1)
            buf += s1
            xp.multiply(buf, group["lr"], out=s1)
        else:
            xp.divide(g, s1, out=s1)
            s1 *= group["lr"]
        p -= s1
