"""Adam and AdamW (PyTorch's formulas, step t starting at 1):

    g = grad + weight_decay * p                 (Adam's L2 decay)
    p = p * (1 - lr * weight_decay)             (AdamW's decoupled decay, instead)
    m = beta1 m + (1 - beta1) g
    v = beta2 v + (1 - beta2) g^2
    v_max = max(v_max, v)                       (amsgrad; then v_max replaces v below)
    p = p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
"""
from __future__ import annotations

import math
from typing import Any, Iterable

from .. import backend
from .optimizer import Optimizer, check_nonnegative


class Adam(Optimizer):
    def __init__(self, params: Iterable[Any], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, amsgrad: bool = False, *, maximize: bool = False,
                 decoupled_weight_decay: bool = False) -> None:
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay, amsgrad=amsgrad,
                                      maximize=maximize,
                                      decoupled_weight_decay=decoupled_weight_decay))

    def _check_group(self, group: dict) -> None:
        for name in ("lr", "eps", "weight_decay"):
            check_nonnegative(name, group[name])
        group["betas"] = tuple(group["betas"])
        for i, beta in enumerate(group["betas"]):
            if not 0.0 <= beta < 1.0:
                raise ValueError(f"Invalid beta parameter at index {i}: {beta}")

    def _update(self, p, grad, state: dict, group: dict) -> None:
        xp = backend.get_array_module(p)
        lr, eps, wd = group["lr"], group["eps"], group["weight_decay"]
        beta1, beta2 = group["betas"]
        if not state:
            state["step"] = 0
            state["exp_avg"] = xp.zeros_like(p)
            state["exp_avg_sq"] = xp.zeros_like(p)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = xp.zeros_like(p)
        s0, s1 = self._buffers(p, 2)
        state["step"] += 1
        t = state["step"]
        if group["decoupled_weight_decay"]:
            if wd != 0:
                p *= 1 - lr * wd
            g = self._effective_grad(p, grad, 0.0, group["maximize"], s0)
        else:
            g = self._effective_grad(p, grad, wd, group["maximize"], s0)
        step_size = lr / (1 - beta1 ** t)
        bias2_sqrt = math.sqrt(1 - beta2 ** t)

        def kernel(p, g, m, v, s1, *v_max) -> None:
            # m = beta1 m + (1 - beta1) g, written m += (1 - beta1)(g - m) as torch's lerp_
            xp.subtract(g, m, out=s1)
            s1 *= 1 - beta1
            m += s1
            # v = beta2 v + (1 - beta2) g^2
            v *= beta2
            xp.multiply(g, g, out=s1)
            s1 *= 1 - beta2
            v += s1
            if v_max:
                v = xp.maximum(v_max[0], v, out=v_max[0])
            # denominator sqrt(v) / sqrt(1 - beta2^t) + eps
            xp.sqrt(v, out=s1)
            s1 /= bias2_sqrt
            s1 += eps
            xp.divide(m, s1, out=s1)
            s1 *= step_size
            p -= s1
        arrays = [p, g, state["exp_avg"], state["exp_avg_sq"], s1]
        if group["amsgrad"]:
            arrays.append(state["max_exp_avg_sq"])
        backend.split_elementwise(kernel, *arrays)  # big parameters: on every core


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter): p *= 1 - lr * weight_decay."""

    def __init__(self, params: Iterable[Any], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, *,
                 maximize: bool = False) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize,
                         decoupled_weight_decay=True)
