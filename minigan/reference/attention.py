"""softmax, log_softmax and scaled dot-product attention the plain way, forward and backward
side by side. The fast kernels (``minigan/ops/attention.py``) fuse the scale and the mask
into one softmax pass with hand-tuned row reductions; ``docs/kernels/attention.md`` derives
the backward.

Notation: B... leading batch dims (broadcast as in matmul), T queries, S keys, D query/key
width, Dv value width.

    scores  = Q K^T scale + mask            (B..., T, S)     scale = 1 / sqrt(D) by default
    weights = softmax(scores) over S, then dropout
    out     = weights V                     (B..., T, Dv)

Softmax's Jacobian is diag(y) - y y^T, so its backward is gx = y * (gy - sum(gy * y)).
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import backend
from ..autograd import Function, Tensor
from ..ops.dropout import _keep_mask
from ..ops.elementwise import exp, where
from ..ops.linalg import matmul
from ..ops.reduce import sum_to
from ..ops.shape import transpose

# ============================================================================ softmax, log_softmax


def _softmax(x, axis: int):
    """exp(x - max x) / sum exp(x - max x): the max changes nothing but keeps exp finite."""
    e = backend.get_array_module(x).exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


class Softmax(Function):
    """y = softmax(x) along ``axis``;  gx = y * (gy - sum(gy * y)) (the Jacobian applied to gy).
    The backward uses y, an output of this Function, so autograd differentiates it again."""

    def __init__(self, axis: int) -> None:
        self.axis = axis

    @property
    def name(self) -> str:
        return "softmax"

    def forward(self, x):
        return _softmax(x, self.axis)

    def backward(self, gy):
        y = self.output(0)
        return y * (gy - (gy * y).sum(self.axis, keepdims=True))


class LogSoftmax(Function):
    """y = x - max x - log sum exp(x - max x) along ``axis``;  gx = gy - softmax(x) sum(gy),
    with softmax(x) = exp(y)."""

    def __init__(self, axis: int) -> None:
        self.axis = axis

    @property
    def name(self) -> str:
        return "log_softmax"

    def forward(self, x):
        xp = backend.get_array_module(x)
        z = x - x.max(axis=self.axis, keepdims=True)
        return z - xp.log(xp.exp(z).sum(axis=self.axis, keepdims=True))

    def backward(self, gy):
        return gy - exp(self.output(0)) * gy.sum(self.axis, keepdims=True)


def softmax(x: Tensor, axis: int = -1, *, dim: int | None = None) -> Tensor:
    """The reference ``F.softmax``."""
    return Softmax(dim if dim is not None else axis)(x)


def log_softmax(x: Tensor, axis: int = -1, *, dim: int | None = None) -> Tensor:
    """The reference ``F.log_softmax``."""
    return LogSoftmax(dim if dim is not None else axis)(x)


# ============================================================================ attention


class Attention(Function):
    """(Q, K, V[, mask]) -> (out, weights), the formulas at the top; ``mask`` is additive
    (0 where a key takes part, -inf where it is masked out) and may require grad.

    ``keep`` is dropout's constant multiplier (0 where dropped, 1 / (1 - p) where kept) or
    None. ``safe``: a query row whose keys are all masked gets weights 0 (PyTorch >= 2.5;
    softmax of a row of -inf is NaN otherwise). Backward, with P the softmax and P' = P keep:

        gV = P'^T g_out      gP' = g_out V^T + g_weights      gP = gP' keep
        gS = P (gP - sum_S(gP P))   (softmax's backward)     gmask = gS
        gQ = gS K scale      gK = gS^T Q scale
    (each summed over the batch dims its input was broadcast along)."""

    def __init__(self, scale: float, keep=None, safe: bool = True) -> None:
        self.scale, self.keep, self.safe = scale, keep, safe

    @property
    def name(self) -> str:
        return "scaled_dot_product_attention"

    def forward(self, q, k, v, mask=None):
        xp = backend.get_array_module(q)
        scores = q @ xp.swapaxes(k, -1, -2) * self.scale
        if mask is not None:
            scores = scores + mask
        self.live = xp.ones(scores.shape[:-1] + (1,), dtype=q.dtype)  # rows with a key to see
        if self.safe:
            self.live = (scores.max(axis=-1, keepdims=True) > -np.inf).astype(q.dtype)
            scores = xp.where(self.live > 0, scores, 0)
        weights = _softmax(scores, -1) * self.live
        if self.keep is not None:
            weights = weights * self.keep
        return weights @ v, weights

    def _probabilities(self, q: Tensor, k: Tensor, mask: Tensor | None) -> Tensor:
        """P again, from Tensor ops (so the backward is differentiable in q, k and mask)."""
        scores = matmul(q, transpose(k, -1, -2)) * self.scale
        if mask is not None:
            scores = scores + mask
        live = Tensor._wrap(self.live)
        return Softmax(-1)(where(self.live > 0, scores, 0.0)) * live

    def backward(self, g_out, g_weights):
        q, k, v = self.inputs[:3]
        mask = self.inputs[3] if len(self.inputs) == 4 else None
        need = self.needs_input_grad
        p = self._probabilities(q, k, mask)
        keep = None if self.keep is None else Tensor._wrap(self.keep)
        p_kept = p if keep is None else p * keep
        g_v = sum_to(matmul(transpose(p_kept, -1, -2), g_out), v.shape) if need[2] else None
        g_p = matmul(g_out, transpose(v, -1, -2)) + g_weights
        if keep is not None:
            g_p = g_p * keep
        g_s = p * (g_p - (g_p * p).sum(-1, keepdims=True))
        g_q = sum_to(matmul(g_s, k) * self.scale, q.shape) if need[0] else None
        g_k = sum_to(matmul(transpose(g_s, -1, -2), q) * self.scale, k.shape) if need[1] else None
        if mask is None:
            return g_q, g_k, g_v
        return g_q, g_k, g_v, (sum_to(g_s, mask.shape) if need[3] else None)


def attention(query: Tensor, key: Tensor, value: Tensor, additive_mask: Tensor | None,
              dropout_p: float, scale: float, safe: bool = True) -> tuple[Tensor, Tensor]:
    """The reference attention core, (out, weights after dropout): what the fast core
    (``attention`` in ``minigan/ops/attention.py``) hands over to under the switch, for
    ``F.scaled_dot_product_attention`` and ``nn.MultiheadAttention``."""
    keep = None
    if dropout_p > 0.0:  # the same draw as F.dropout on the weights (ops/dropout.py)
        shape = np.broadcast_shapes(query.shape[:-2], key.shape[:-2]) + (query.shape[-2],
                                                                         key.shape[-2])
        zeros = backend.get_array_module(query.data).zeros(shape, dtype=query.dtype)
        keep = _keep_mask(zeros, dropout_p, query.device) if dropout_p < 1.0 else zeros
    fn = Attention(scale, keep, safe)
    if additive_mask is None:
        return fn(query, key, value)
    return fn(query, key, value, additive_mask)


def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor, mask: Any = None,
                                 dropout_p: float = 0.0, is_causal: bool = False,
                                 scale: float | None = None, *, attn_mask: Any = None) -> Tensor:
    """The reference ``F.scaled_dot_product_attention``: a boolean mask (True: the key takes
    part) becomes an additive one (0 / -inf); ``is_causal`` lets query i see keys j <= i."""
    xp = backend.get_array_module(query.data)
    mask = attn_mask if attn_mask is not None else mask
    if mask is not None and not isinstance(mask, Tensor):
        mask = Tensor._wrap(xp.asarray(mask))
    if mask is not None and mask.dtype == np.bool_:
        mask = Tensor._wrap(xp.where(mask.data, 0.0, -np.inf).astype(query.dtype))
    if is_causal:
        T, S = query.shape[-2], key.shape[-2]
        mask = Tensor._wrap(xp.where(xp.tril(xp.ones((T, S), dtype=bool)), 0.0, -np.inf)
                            .astype(query.dtype))
    if scale is None:
        scale = 1.0 / math.sqrt(query.shape[-1])
    return attention(query, key, value, mask, dropout_p, float(scale))[0]
