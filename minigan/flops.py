"""Floating-point operations of the ops whose cost is known: the matrix products (matmul,
linear, conv2d, conv_transpose2d and their gradient kernels; attention is made of matmuls).

One multiply-add counts 2 FLOPs, and bias adds are not counted, as PyTorch's flop counter
does. Each rule gets the op's input and output *arrays*. With the letters of the kernels'
docstrings (ops/linear.py, ops/conv.py):

    matmul               (..., M, K) @ (..., K, N)       2 * (...) * M * N * K
    linear               x (M, IN), W (OUT, IN)          2 * M * OUT * IN
    conv2d               y (N, OC, OH, OW), w (OC, Cg, KH, KW)
                                                         2 * N * OC * OH * OW * Cg * KH * KW
    conv_transpose2d     the same GEMMs as the conv2d whose input gradient it is, counted
                         from its input (N, C, H, W) and w (C, OCg, KH, KW):
                                                         2 * N * C * H * W * OCg * KH * KW
    conv2d_grad_weight   gw (OC, Cg, KH, KW) summed over the L = N * OH * OW positions of gy
                                                         2 * OC * Cg * KH * KW * L

A Function of your own reports its cost with a method ``flops(self, inputs, outputs)``
(arrays in, an int out); the profiler asks it first.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

from .ops import conv, linalg, linear
from .reference import conv as reference_conv


def _matmul(inputs: Sequence[Any], outputs: Sequence[Any]) -> int:
    return 2 * outputs[0].size * inputs[0].shape[-1]


def _linear(inputs, outputs) -> int:
    return 2 * outputs[0].size * inputs[1].shape[1]           # y (M, OUT), W (OUT, IN)


def _linear_grad_input(inputs, outputs) -> int:
    return 2 * outputs[0].size * inputs[1].shape[0]           # gx (M, IN) = gy (M, OUT) W


def _linear_grad_weight(inputs, outputs) -> int:
    gy = inputs[0]
    return 2 * outputs[0].size * (gy.size // gy.shape[-1])   # gW (OUT, IN) = gy^T (OUT, M) x


def _kernel_volume(w) -> int:
    return w.shape[1] * w.shape[2] * w.shape[3]              # Cg * KH * KW (or OCg * KH * KW)


def _conv2d(inputs, outputs) -> int:
    return 2 * outputs[0].size * _kernel_volume(inputs[1])


def _conv_transpose2d(inputs, outputs) -> int:
    return 2 * inputs[0].size * _kernel_volume(inputs[1])


def _conv2d_grad_weight(inputs, outputs) -> int:
    gy = inputs[1]
    return 2 * outputs[0].size * (gy.size // gy.shape[1])


RULES: dict[type, Callable[[Sequence[Any], Sequence[Any]], int]] = {
    linalg.MatMul: _matmul,
    linear.Linear: _linear,
    linear.LinearGradInput: _linear_grad_input,
    linear.LinearGradWeight: _linear_grad_weight,
    conv.Conv2d: _conv2d,
    conv.ConvTranspose2d: _conv_transpose2d,
    conv.Conv2dGradWeight: _conv2d_grad_weight,
    # the reference loops (mg.use_reference_kernels()) take the same arguments
    reference_conv.Conv2d: _conv2d,
    reference_conv.ConvTranspose2d: _conv_transpose2d,
    reference_conv.Conv2dGradWeight: _conv2d_grad_weight,
}


def flops_of(f: Any, inputs: Sequence[Any], outputs: Sequence[Any]) -> int | None:
    """The FLOPs of one call of Function ``f`` (input and output arrays), or None if unknown."""
    own = getattr(f, "flops", None)
    if callable(own):
        return int(own(inputs, outputs))
    rule = RULES.get(type(f))
    return None if rule is None else int(rule(inputs, outputs))
