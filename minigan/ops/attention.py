"""Softmax, log-softmax and scaled dot-product attention.

Notation
--------
B...  leading batch dims (any number, broadcast as in ``matmul``), e.g. (batch, heads)
T     query length (target),  S  key/value length (source)
D     query/key width per head,  Dv  value width per head

    scores  = Q K^T * scale                 (B..., T, S)    scale = 1/sqrt(D) by default
    weights = softmax(scores + mask)        over S
    out     = dropout(weights) V            (B..., T, Dv)

Softmax and log-softmax are fused kernels: a numerically stable forward (the row max is
subtracted before ``exp``) and a closed-form backward,

    y = softmax(x):      dx = y * (gy - sum(gy * y))
    y = log_softmax(x):  dx = gy - exp(y) * sum(gy)

computed by the Functions ``SoftmaxGrad`` / ``LogSoftmaxGrad`` whose own backward is again
written with differentiable ops (Chainer's pattern), so first-order backward is plain array
code and gradients of any order still work. Attention itself is composed of differentiable
ops (matmul, the masked softmax, dropout), so it needs no backward of its own.
"""
from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from .. import backend
from ..autograd import Function, Tensor, as_tensor
from ..reference import attention as reference
from ..reference.switch import reference_kernels_enabled
from .linalg import matmul
from ..errors import ArgumentError, DeviceError, DTypeError, ShapeError
from .args import as_dtype, float_tensor, single_dim, tensor_arg
from .reduce import sum, sum_to
from .elementwise import exp
from .shape import clone, reshape, transpose


def _one_axis(axis: Any, dim: Any, ndim: int, op: str) -> int:
    return single_dim(axis if dim is None else dim, ndim, op)


def _along(run: Callable, x: Tensor, axis: int) -> Tensor:
    """``run(x, axis)``, also for a 0-d tensor (as a 1-element row) and an empty one."""
    if x.ndim == 0:
        return reshape(run(reshape(x, (1,)), 0), ())
    if x.data.size == 0:
        return clone(x)
    return run(x, axis)


# ---------------------------------------------------------------------------- row reductions

# NumPy reduces a short contiguous last axis row by row, which is slow (a max over rows of
# 16 costs ~15x an exp of the same array). Attention rows are short, so: max over the first
# axis of a transposed copy (one vectorised pass), and sums as a GEMV with a ones vector.
_SHORT_ROW = 64


def _row_max(x, axis: int):
    if axis == x.ndim - 1 and x.shape[-1] < _SHORT_ROW and x.ndim > 1:
        xp = backend.get_array_module(x)
        return xp.ascontiguousarray(xp.moveaxis(x, -1, 0)).max(axis=0)[..., None]
    return x.max(axis=axis, keepdims=True)


def _row_sum(x, axis: int):
    if axis == x.ndim - 1 and x.ndim > 1:
        xp = backend.get_array_module(x)
        ones = xp.ones((x.shape[-1], 1), dtype=x.dtype)
        if x.flags.c_contiguous:  # one matrix-vector product, not one per leading index
            return xp.matmul(x.reshape(-1, x.shape[-1]), ones).reshape(x.shape[:-1] + (1,))
        return xp.matmul(x, ones)
    return x.sum(axis=axis, keepdims=True)


# ============================================================================ softmax

# The forward also serves attention: an optional scale and additive mask are applied inside
# the same pass (z = x * scale + mask), and ``safe`` turns rows whose every entry is -inf
# (fully masked) into zeros instead of NaN, as PyTorch's scaled_dot_product_attention does.


class Softmax(Function):
    def __init__(self, axis: int, scale: float = 1.0, safe: bool = False) -> None:
        self.axis, self.scale, self.safe = axis, scale, safe

    def forward(self, x, mask=None):
        xp = backend.get_array_module(x)
        z = x
        if self.scale != 1.0:
            z = x * x.dtype.type(self.scale)
        if mask is not None:
            z = z + mask if z is x else xp.add(z, mask, out=z)
        m = _row_max(z, self.axis)
        if self.safe:
            m = xp.where(m == -np.inf, 0, m).astype(z.dtype, copy=False)
        z = x - m if z is x else xp.subtract(z, m, out=z)  # never write into the input
        xp.exp(z, out=z)
        s = _row_sum(z, self.axis)
        if self.safe:
            s = xp.where(s == 0, 1, s).astype(z.dtype, copy=False)
        z *= 1 / s  # one division per row, then a multiply per entry
        return z

    def backward(self, gy):
        # dz = y * (gy - sum(gy * y));  dx = dz * scale;  dmask = dz summed to mask's shape
        gz = SoftmaxGrad(self.axis)(self.output(0), gy)
        gx = (gz * self.scale if self.scale != 1.0 else gz) if self.needs_input_grad[0] else None
        if len(self.inputs) == 1:
            return gx
        gmask = sum_to(gz, self.inputs[1].shape) if self.needs_input_grad[1] else None
        return gx, gmask


class SoftmaxGrad(Function):
    """(y, gy) -> y * (gy - sum(gy * y)): softmax's backward as one fused kernel."""

    def __init__(self, axis: int) -> None:
        self.axis = axis

    def forward(self, y, gy):
        gx = y * gy
        s = _row_sum(gx, self.axis)
        backend.get_array_module(y).subtract(gy, s, out=gx)
        gx *= y
        return gx

    def backward(self, h):
        # d/dgy = y * (h - sum(h * y))                  (softmax's backward again)
        # d/dy  = h * (gy - sum(gy * y)) - gy * sum(h * y)
        y, gy = self.inputs
        g_y = g_gy = None
        if self.needs_input_grad[0]:
            s = sum(gy * y, self.axis, keepdims=True)
            r = sum(h * y, self.axis, keepdims=True)
            g_y = h * (gy - s) - gy * r
        if self.needs_input_grad[1]:
            g_gy = SoftmaxGrad(self.axis)(y, h)
        return g_y, g_gy


def softmax(x: Tensor, axis: int = -1, *, dim: int | None = None, dtype: Any = None) -> Tensor:
    """exp(x) / sum(exp(x)) along ``axis`` (``dim`` is PyTorch's name), computed stably;
    ``dtype`` casts the input first, as PyTorch's.

    A row that is entirely -inf gives NaN, as ``torch.softmax``.
    """
    axis = _one_axis(axis, dim, tensor_arg(x, "softmax").ndim, "softmax")  # the dim first,
    x = float_tensor(as_dtype(x, dtype, "softmax"), "softmax")              # as PyTorch
    if reference_kernels_enabled():  # mg.use_reference_kernels(): reference/attention.py
        return _along(reference.softmax, x, axis)
    return _along(lambda t, a: Softmax(a)(t), x, axis)


# ============================================================================ log_softmax


class LogSoftmax(Function):
    def __init__(self, axis: int) -> None:
        self.axis = axis

    def forward(self, x):
        # y = (x - m) - log(sum(exp(x - m))),  m = max(x)
        xp = backend.get_array_module(x)
        z = x - _row_max(x, self.axis)
        lse = xp.log(_row_sum(xp.exp(z), self.axis))
        z -= lse
        return z

    def backward(self, gy):
        # dx = gy - exp(y) * sum(gy)
        return LogSoftmaxGrad(self.axis)(self.output(0), gy)


class LogSoftmaxGrad(Function):
    """(y, gy) -> gy - exp(y) * sum(gy): log_softmax's backward as one fused kernel."""

    def __init__(self, axis: int) -> None:
        self.axis = axis

    def forward(self, y, gy):
        xp = backend.get_array_module(y)
        gx = xp.exp(y)
        gx *= _row_sum(gy, self.axis)
        return gy - gx

    def backward(self, h):
        # d/dgy = h - sum(h * exp(y));  d/dy = -h * exp(y) * sum(gy)
        y, gy = self.inputs
        hp = h * exp(y)
        g_y = -hp * sum(gy, self.axis, keepdims=True) if self.needs_input_grad[0] else None
        g_gy = h - sum(hp, self.axis, keepdims=True) if self.needs_input_grad[1] else None
        return g_y, g_gy


def log_softmax(x: Tensor, axis: int = -1, *, dim: int | None = None,
                dtype: Any = None) -> Tensor:
    """log(softmax(x)) along ``axis`` (``dim`` is PyTorch's name), computed stably;
    ``dtype`` casts the input first, as PyTorch's."""
    axis = _one_axis(axis, dim, tensor_arg(x, "log_softmax").ndim, "log_softmax")
    x = float_tensor(as_dtype(x, dtype, "log_softmax"), "log_softmax")
    if reference_kernels_enabled():  # mg.use_reference_kernels(): reference/attention.py
        return _along(reference.log_softmax, x, axis)
    return _along(lambda t, a: LogSoftmax(a)(t), x, axis)


# ============================================================================ scaled dot-product attention


def _broadcastable(shape: tuple, target: tuple) -> bool:
    try:
        return np.broadcast_shapes(shape, target) == tuple(target)
    except ValueError:
        return False


def attention_mask(mask: Any, scores_shape: tuple, like: Tensor, op: str,
                   true_means_keep: bool = True, where: str = "mask") -> Tensor | None:
    """A boolean or additive float mask as an additive float Tensor of ``like``'s dtype.

    Boolean: ``true_means_keep`` says whether True marks a position that takes part (SDPA)
    or one that is masked out (MultiheadAttention); masked positions become -inf. A float
    mask is returned as it is (it may require grad). The shape must broadcast to the scores.
    """
    if mask is None:
        return None
    if not isinstance(mask, Tensor):
        mask = as_tensor(backend.get_array_module(like.data).asarray(mask))
    if not _broadcastable(mask.shape, scores_shape):
        raise ShapeError(f"{op}: {where} of shape {mask.shape} cannot be broadcast to the "
                         f"attention scores of shape {scores_shape}")
    if backend.device_of(mask.data) != backend.device_of(like.data):
        raise DeviceError(f"{op}: {where} is on {mask.device} but the query is on {like.device}")
    if mask.dtype == np.bool_:
        xp = backend.get_array_module(mask.data)
        keep = mask.data if true_means_keep else ~mask.data
        return Tensor._wrap(xp.where(keep, 0, -np.inf).astype(like.dtype))
    if mask.dtype.kind != "f":
        raise DTypeError(f"{op}: {where} must be bool or float, got {mask.dtype}")
    if mask.dtype != like.dtype:
        raise DTypeError(f"{op}: {where} has dtype {mask.dtype} but the query has {like.dtype}")
    return mask


def causal_mask(t: int, s: int, like: Tensor) -> Tensor:
    """Additive (T, S) mask: query i sees keys j <= i (top-left aligned, as PyTorch)."""
    xp = backend.get_array_module(like.data)
    keep = xp.tril(xp.ones((t, s), dtype=bool))
    return Tensor._wrap(xp.where(keep, 0, -np.inf).astype(like.dtype))


def attention(query: Tensor, key: Tensor, value: Tensor, additive_mask: Tensor | None,
              dropout_p: float, scale: float, safe: bool = True) -> tuple[Tensor, Tensor]:
    """The attention core: (out, weights) with weights after dropout (what MHA returns)."""
    if reference_kernels_enabled():  # mg.use_reference_kernels(): reference/attention.py
        return reference.attention(query, key, value, additive_mask, dropout_p, scale, safe)
    scores = matmul(query, transpose(key, -1, -2))
    if additive_mask is None:
        weights = Softmax(scores.ndim - 1, scale, safe)(scores)
    else:
        weights = Softmax(scores.ndim - 1, scale, safe)(scores, additive_mask)
    if dropout_p > 0.0:
        from .dropout import dropout
        weights = dropout(weights, dropout_p, True)
    return matmul(weights, value), weights


def check_qkv(query: Tensor, key: Tensor, value: Tensor, op: str) -> tuple:
    """Validate (B..., T, D), (B..., S, D), (B..., S, Dv); return the scores' shape."""
    for name, t in (("query", query), ("key", key), ("value", value)):
        float_tensor(t, op, name)
    if query.ndim < 2 or key.ndim < 2 or value.ndim < 2:
        raise ShapeError(f"{op}: query, key and value need at least 2 dims (..., L, D), got "
                         f"{query.shape}, {key.shape}, {value.shape}")
    if query.shape[-1] != key.shape[-1]:
        raise ShapeError(f"{op}: query {query.shape} and key {key.shape} must have the same "
                         f"last dim")
    if key.shape[-2] != value.shape[-2]:
        raise ShapeError(f"{op}: key {key.shape} and value {value.shape} must have the same "
                         f"length (dim -2)")
    try:
        batch = np.broadcast_shapes(query.shape[:-2], key.shape[:-2], value.shape[:-2])
    except ValueError:
        raise ShapeError(f"{op}: the batch dims of query {query.shape}, key {key.shape} and "
                         f"value {value.shape} do not broadcast") from None
    return tuple(batch) + (query.shape[-2], key.shape[-2])


def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor, mask: Any = None,
                                 dropout_p: float = 0.0, is_causal: bool = False,
                                 scale: float | None = None, *, attn_mask: Any = None) -> Tensor:
    """softmax(Q K^T * scale + mask) V, as ``torch.nn.functional.scaled_dot_product_attention``.

    Shapes: query (..., T, D), key (..., S, D), value (..., S, Dv) -> (..., T, Dv); the
    leading dims broadcast. ``scale`` defaults to 1/sqrt(D).

    ``mask`` (PyTorch calls it ``attn_mask``; either name works) broadcasts to (..., T, S):
    a boolean mask where **True means the position takes part**, or a float mask added to
    the scores (it may require grad). ``is_causal`` masks keys after the query position
    (top-left aligned; it cannot be combined with a mask). ``dropout_p`` drops attention
    weights (always, when > 0: this function knows nothing of train/eval).

    A query row whose keys are all masked out gives an output of zeros and zero gradients,
    as PyTorch (2.5 and later) does, instead of the NaN a plain softmax of -inf would give.
    """
    op = "scaled_dot_product_attention"
    if attn_mask is not None:
        if mask is not None:
            raise DTypeError(f"{op}: give mask or attn_mask, not both")
        mask = attn_mask
    scores_shape = check_qkv(query, key, value, op)
    if not 0.0 <= dropout_p < 1.0:
        raise ArgumentError(f"{op}: dropout_p must be in [0, 1), got {dropout_p}")
    if is_causal and mask is not None:
        raise ArgumentError(f"{op}: give a mask or is_causal=True, not both")
    additive = attention_mask(mask, scores_shape, query, op)
    if is_causal:
        additive = causal_mask(scores_shape[-2], scores_shape[-1], query)
    if scale is None:
        scale = 1.0 / math.sqrt(query.shape[-1])
    return attention(query, key, value, additive, dropout_p, float(scale))[0]
