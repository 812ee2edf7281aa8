"""Normalisation: batch_norm and layer_norm, with fused backward and double backward.

Notation: x is normalised over a set of "reduced" axes (batch norm: N and the spatial axes,
per channel C; layer norm: the last dims, per row), m is the number of elements reduced,
mu and var the biased mean and variance, s = 1 / sqrt(var + eps), xhat = (x - mu) s, and
y = w xhat + b. For gy = dL/dy, with means over the reduced axes and Pi(v) = v - mean(v)
- xhat mean(v xhat) (the projection that removes what a shift and a scale of x can do):

    dx = s Pi(gy w)            dw = sum(gy xhat)           db = sum(gy)

(for batch norm w is constant on the reduced axes, so s Pi(gy w) = w s Pi(gy)). Each op's
backward calls a *Grad Function whose forward is that fused array code (a few passes) and
whose own backward is the closed form below, written with differentiable ops on x, w and gy,
so gradient penalties through a normalisation work (see _normalization_double_backward).
"""
from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from .. import backend
from ..autograd import Function, Tensor, as_tensor
from ..errors import ArgumentError, ShapeError
from .args import float_tensor, int_arg
from ..reference import norm as reference
from ..reference.switch import reference_kernels_enabled
from . import elementwise as E
from .reduce import sum_to

# ============================================================================ shared helpers


def _param_array(p: Any, name: str, op: str, expected: tuple, x: Tensor) -> Tensor | None:
    """A weight or bias as a Tensor of shape ``expected`` (or None)."""
    if p is None:
        return None
    p = p if isinstance(p, Tensor) else as_tensor(p, like=x)
    if p.shape != expected:
        raise ShapeError(f"{op}: {name} of shape {p.shape} does not match input of shape "
                         f"{x.shape}: expected {expected}")
    return p


def _normalization_double_backward(x: Tensor, w: Tensor | None, gy: Tensor, ggx: Tensor,
                                   ggw: Tensor | None, ggb: Tensor | None, axes: tuple,
                                   pshape: tuple, eps: float, needs: Sequence[bool]) -> tuple:
    """Gradients of L = <ggx, dx> + <ggw, dw> + <ggb, db> w.r.t. (x, w, gy), where (dx, dw, db)
    is the first-order backward above, written with differentiable Tensor ops.

    With a = ggx, h = gy w, alpha = mean(a xhat), c = mean(h xhat) (means over ``axes``):
      dL/dgy = w s Pi(a) + ggw xhat + ggb
      dL/dw  = sum over the non-parameter axes of gy s Pi(a)
      dL/dx  = s^2 (-xhat (mean(a h) - mean(a) mean(h) - alpha c) - c Pi(a) - alpha Pi(h))
               + s Pi(ggw gy)
    (Pi is symmetric, <a, Pi(h)> = <Pi(a), h>; dxhat/dx = s Pi and ds/dx = -s^2 xhat / m.)
    ``pshape`` is the shape w, ggw and ggb broadcast with (batch norm: (1, C, 1, ...)).
    """
    def mean(v: Tensor) -> Tensor:
        return v.mean(axis=axes, keepdims=True)

    centered = x - mean(x)
    s = (mean(centered * centered) + eps) ** -0.5
    xhat = centered * s

    def proj(v: Tensor) -> Tensor:
        return v - mean(v) - xhat * mean(v * xhat)

    wb = None if w is None else w.reshape(pshape)
    ggwb = None if ggw is None else ggw.reshape(pshape)
    pi_a = proj(ggx)
    g_x = g_w = g_gy = None
    if needs[0]:
        h = gy if wb is None else gy * wb
        alpha, c = mean(ggx * xhat), mean(h * xhat)
        inner = mean(ggx * h) - mean(ggx) * mean(h) - alpha * c
        g_x = E.neg(xhat * inner + c * pi_a + alpha * proj(h)) * (s * s)
        if ggwb is not None:
            g_x = g_x + s * proj(ggwb * gy)
    if needs[1] and w is not None:
        g_w = sum_to(gy * (s * pi_a), pshape).reshape(w.shape)
    if needs[2]:
        g_gy = s * pi_a if wb is None else wb * (s * pi_a)
        if ggwb is not None:
            g_gy = g_gy + ggwb * xhat
        if ggb is not None:
            g_gy = g_gy + ggb.reshape(pshape)
    return g_x, g_w, g_gy


def _affine_backward(f: Function, grad: Function, gy: Tensor) -> tuple:
    """A normalisation's backward: ``grad`` (its *Grad Function) maps (x, [w], gy) to
    (dx, dw, db); hand back the ones ``f``'s inputs (x, [weight], [bias]) need."""
    x = f.inputs[0]
    w = f.inputs[1] if f.has_weight else None
    gx, gw, gb = grad(x, w, gy) if w is not None else grad(x, gy)
    out = [gx if f.needs_input_grad[0] else None]
    if f.has_weight:
        out.append(gw if f.needs_input_grad[1] else None)
    if f.has_bias:
        out.append(gb if f.needs_input_grad[-1] else None)
    return tuple(out)


class _Saved:
    """A snapshot of a forward Function's attributes for its *Grad Function, which may run
    again (double backward) after the forward Function released its own."""

    def __init__(self, fn: Function) -> None:
        self.__dict__.update({k: v for k, v in vars(fn).items()
                              if k not in ("inputs", "_output_refs")})


# ============================================================================ batch_norm
#
# Per-channel sums and dot products use einsum: single-threaded C loops, as fast as
# ``ones @ x`` through BLAS on one thread and 2-3x faster than ndarray.sum over (0, 2, 3).
# (BLAS gemv on 2 threads was faster on an idle machine but took 10-100x longer whenever
# the other core was busy: its worker thread has to be scheduled for every call.)


def _channel_sum(a, n: int, c: int):
    """Sum of a (N, C, ...) array over every axis but C, as a (C,) array."""
    return backend.get_array_module(a).einsum("ncl->c", a.reshape(n, c, -1))


def _expand(v, spatial: int):
    """A per-channel (C,) vector as a (C*L,) row matching x.reshape(N, C*L): NumPy
    broadcasts that as N long contiguous rows, ~1.3x faster than (1, C, 1) against
    (N, C, L), whose inner loops are only L long."""
    return v if spatial == 1 else backend.get_array_module(v).repeat(v, spatial)


def _channel_dot(a, b, n: int, c: int):
    """sum over every axis but C of a * b, as a (C,) array."""
    xp = backend.get_array_module(a)
    return xp.einsum("ncl,ncl->c", a.reshape(n, c, -1), b.reshape(n, c, -1))


def _channels_last(x) -> bool:
    """True for an (N, C, H, W) array stored (N, H, W, C) in memory, as conv outputs are
    (ops/conv.py). Batch norm then works on its (N*H*W, C) rows and returns the same
    layout, so the next conv and the gradient coming back need no transpose copies."""
    return x.ndim == 4 and not x.flags.c_contiguous and x.transpose(0, 2, 3, 1).flags.c_contiguous


class _Layout:
    """The 2-D view batch norm computes on, with the per-channel helpers that go with it:
    ``rows`` (N*H*W, C) for channels-last input, else ``flat`` (N, C*L) (see _expand)."""

    def __init__(self, x) -> None:
        self.shape, self.n, self.c = x.shape, x.shape[0], x.shape[1]
        self.rows, self.spatial = _channels_last(x), x.size // (x.shape[0] * x.shape[1])

    def view(self, a):
        """``a`` (x's shape, any layout) as the 2-D array (a copy only if laid out otherwise)."""
        if self.rows:
            return a.transpose(0, 2, 3, 1).reshape(-1, self.c)
        return a.reshape(self.n, -1)

    def unview(self, a2):
        """Inverse of ``view``: the 2-D result as an array of x's shape and layout."""
        if self.rows:
            n, c, h, w = self.shape
            return a2.reshape(n, h, w, c).transpose(0, 3, 1, 2)
        return a2.reshape(self.shape)

    def per_channel(self, v):
        """A (C,) vector broadcastable against the 2-D view."""
        return v if self.rows else _expand(v, self.spatial)

    def in_parts(self, fn, a2) -> None:
        """``fn(rows)`` over slices of the 2-D view's rows, shared between threads when big
        (backend.run_in_parts): the elementwise passes then use every core, as PyTorch's do."""
        backend.run_in_parts(fn, a2.shape[0], a2.size, a2, backend.ELEMENTWISE_PARALLEL_MIN)

    def _reduce(self, partial, a2):
        """Per-channel reduction as the sum of ``partial(rows)`` over row slices, added in
        row order (the same result whichever thread finishes first)."""
        results = {}

        def run(rows: slice) -> None:
            results[rows.start] = partial(rows)
        self.in_parts(run, a2)
        parts = [results[k] for k in sorted(results)]
        total = parts[0]
        for p in parts[1:]:
            total = total + p
        return total

    def sum(self, a2):
        """Per-channel sum of a 2-D view, (C,)."""
        xp = backend.get_array_module(a2)
        if self.rows:
            return self._reduce(lambda r: xp.einsum("lc->c", a2[r]), a2)
        return self._reduce(lambda r: _channel_sum(a2[r], a2[r].shape[0], self.c), a2)

    def dot(self, a2, b2):
        """Per-channel sum of a2 * b2 (2-D views), (C,)."""
        xp = backend.get_array_module(a2)
        if self.rows:
            return self._reduce(lambda r: xp.einsum("lc,lc->c", a2[r], b2[r]), a2)
        return self._reduce(lambda r: _channel_dot(a2[r], b2[r], a2[r].shape[0], self.c), a2)


class BatchNorm(Function):
    """Training-mode batch norm: normalise with the batch's per-channel statistics.

    Inputs (x, [weight], [bias]); saves x - mu and s; ``mean`` and ``var`` (biased) are
    kept for the running-statistics update."""

    def __init__(self, eps: float, has_weight: bool, has_bias: bool) -> None:
        self.eps, self.has_weight, self.has_bias = eps, has_weight, has_bias

    def forward(self, x, *params):
        xp = backend.get_array_module(x)
        c = x.shape[1]
        lay = self.layout = _Layout(x)
        self.m, self.spatial = x.size // c, lay.spatial
        self.pshape = (1, c) + (1,) * (x.ndim - 2)
        flat = lay.view(x)
        mean = lay.sum(flat) / self.m
        centered, mean_row = xp.empty_like(flat), lay.per_channel(mean)
        lay.in_parts(lambda r: xp.subtract(flat[r], mean_row, out=centered[r]), flat)
        var = lay.dot(centered, centered) / self.m
        invstd = 1.0 / xp.sqrt(var + self.eps)
        self.mean, self.var, self.centered, self.invstd = mean, var, centered, invstd
        scale = lay.per_channel(invstd if not self.has_weight else invstd * params[0])
        bias = lay.per_channel(params[-1]) if self.has_bias else None
        y = xp.empty_like(centered)

        def affine(r: slice) -> None:                # y = (x - mu) (s w) + b
            xp.multiply(centered[r], scale, out=y[r])
            if bias is not None:
                y[r] += bias
        lay.in_parts(affine, centered)
        return lay.unview(y)

    def backward(self, gy):
        return _affine_backward(self, BatchNormGrad(self, self.needs_input_grad[0]), gy)


class BatchNormGrad(Function):
    """(x, [w], gy) -> (dx, dw, db) of training-mode batch norm, fused:
    dx = w s (gy - mean(gy) - xhat mean(gy xhat)), dw = sum(gy xhat), db = sum(gy)."""

    def __init__(self, bn: BatchNorm, need_dx: bool) -> None:
        self.bn, self.need_dx = _Saved(bn), need_dx

    def forward(self, x, *rest):
        xp = backend.get_array_module(x)
        bn = self.bn
        gy, w = rest[-1], (rest[0] if len(rest) == 2 else None)
        lay = bn.layout
        g = lay.view(gy)
        db = lay.sum(g)
        dw = lay.dot(g, bn.centered) * bn.invstd                # sum(gy xhat)
        if not self.need_dx:
            return xp.broadcast_to(xp.zeros((), dtype=x.dtype), x.shape), dw, db
        k1 = bn.invstd if w is None else bn.invstd * w          # w s
        k2 = k1 * bn.invstd * dw / (-bn.m)                      # -w s * mean(gy xhat) * s
        k0 = k1 * db / (-bn.m)                                  # -w s * mean(gy)
        k0, k1, k2, centered = lay.per_channel(k0), lay.per_channel(k1), lay.per_channel(k2), bn.centered
        dx = xp.empty_like(g)

        def grad_x(r: slice) -> None:
            xp.multiply(g[r], k1, out=dx[r])
            dx[r] += centered[r] * k2
            dx[r] += k0
        lay.in_parts(grad_x, g)
        bn.centered = None  # only the forward needs it; the double backward recomputes
        return lay.unview(dx), dw, db

    def backward(self, ggx, ggw, ggb):
        bn = self.bn
        x = self.inputs[0]
        w = self.inputs[1] if bn.has_weight else None
        gy = self.inputs[-1]
        axes = (0,) + tuple(range(2, x.ndim))
        g_x, g_w, g_gy = _normalization_double_backward(
            x, w, gy, ggx, ggw if bn.has_weight else None, ggb if bn.has_bias else None,
            axes, bn.pshape, bn.eps,
            (self.needs_input_grad[0], bn.has_weight and self.needs_input_grad[1],
             self.needs_input_grad[-1]))
        return (g_x, g_w, g_gy) if bn.has_weight else (g_x, g_gy)


def _stat(r: Any):
    return r.data if isinstance(r, Tensor) else r


def batch_norm(x: Tensor, running_mean: Any, running_var: Any, weight: Tensor | None = None,
               bias: Tensor | None = None, training: bool = False, momentum: float = 0.1,
               eps: float = 1e-5) -> Tensor:
    """Batch normalisation of (N, C), (N, C, L) or (N, C, H, W) input over all axes but C.

    Training: normalise with the batch mean and biased variance, and update
    ``running_mean``/``running_var`` (arrays or Tensors, or None to keep none) in place as
    PyTorch does: running = (1 - momentum) running + momentum batch, with the unbiased
    variance. Eval: normalise with the running statistics, which must then be given (as in
    PyTorch; a layer without running statistics passes training=True). Gradients flow to x,
    weight and bias, never to the running statistics.
    """
    float_tensor(x, "batch_norm")
    if x.ndim < 2:
        raise ShapeError(f"batch_norm: expected input of shape (N, C, ...) with 2 or more "
                         f"dims, got {x.shape}")
    c = x.shape[1]
    for name, r in (("running_mean", running_mean), ("running_var", running_var)):
        if r is not None and tuple(_stat(r).shape) != (c,):
            raise ShapeError(f"batch_norm: {name} of shape {tuple(_stat(r).shape)} does not "
                             f"match input of shape {x.shape} with {c} channels")
    weight = _param_array(weight, "weight", "batch_norm", (c,), x)
    bias = _param_array(bias, "bias", "batch_norm", (c,), x)
    params = [p for p in (weight, bias) if p is not None]
    if not training and (running_mean is None or running_var is None):
        raise ArgumentError("batch_norm: running_mean and running_var must be given in evaluation "
                         "mode (training=False); pass training=True to use batch statistics")
    if training and x.data.size // max(c, 1) <= 1:
        raise ShapeError(f"batch_norm: expected more than 1 value per channel when "
                         f"training, got input of shape {x.shape}")
    if reference_kernels_enabled():  # mg.use_reference_kernels(): reference/norm.py
        return reference.batch_norm(x, running_mean, running_var, weight, bias, training,
                                    momentum, eps)

    if training:
        fn = BatchNorm(float(eps), weight is not None, bias is not None)
        y = fn(x, *params)
        m = fn.m
        for r, batch in ((running_mean, fn.mean), (running_var, fn.var * (m / (m - 1)))):
            if r is not None:  # in place, as PyTorch: the caller's arrays see the update
                r = _stat(r)
                r *= 1.0 - momentum
                r += momentum * batch
        return y

    # eval: an affine map of x per channel, y = x k + (b - mu k) with k = w / sqrt(var + eps)
    xp = backend.get_array_module(x.data)
    pshape = (1, c) + (1,) * (x.ndim - 2)
    invstd = 1.0 / xp.sqrt(xp.asarray(_stat(running_var), dtype=x.dtype) + eps)
    mu = Tensor._wrap(xp.asarray(_stat(running_mean), dtype=x.dtype))
    scale = Tensor._wrap(invstd) if weight is None else weight * Tensor._wrap(invstd)
    shift = E.neg(mu * scale) if bias is None else bias - mu * scale
    return x * scale.reshape(pshape) + shift.reshape(pshape)


# ============================================================================ layer_norm


def _in_row_parts(fn, rows) -> None:
    """``fn(r)`` over slices ``r`` of an (M, D) array's rows, shared between threads when big."""
    backend.run_in_parts(fn, rows.shape[0], rows.size, rows, backend.ELEMENTWISE_PARALLEL_MIN)


def _row_dot(a, b):
    """Row-wise dot products of two (M, D) arrays, as an (M, 1) array."""
    return backend.get_array_module(a).einsum("md,md->m", a, b)[:, None]


class LayerNorm(Function):
    """Inputs (x, [weight], [bias]); x is viewed as (M, D) rows, D = prod(normalized_shape)."""

    def __init__(self, shape: tuple, eps: float, has_weight: bool, has_bias: bool) -> None:
        self.shape, self.d = shape, math.prod(shape)
        self.eps, self.has_weight, self.has_bias = eps, has_weight, has_bias

    def forward(self, x, *params):
        xp = backend.get_array_module(x)
        rows = x.reshape(-1, self.d)
        w = params[0].reshape(-1) if self.has_weight else None
        b = params[-1].reshape(-1) if self.has_bias else None
        xhat, y = xp.empty_like(rows), xp.empty_like(rows)
        invstd = xp.empty((rows.shape[0], 1), dtype=rows.dtype)

        def normalise(r: slice) -> None:  # every row on its own: y = (x - mu) s w + b
            xh = xhat[r]
            xp.subtract(rows[r], xp.einsum("md->m", rows[r])[:, None] / self.d, out=xh)
            invstd[r] = 1.0 / xp.sqrt(_row_dot(xh, xh) / self.d + self.eps)
            xh *= invstd[r]
            if w is not None:
                xp.multiply(xh, w, out=y[r])
            else:
                y[r] = xh
            if b is not None:
                y[r] += b
        _in_row_parts(normalise, rows)
        self.xhat, self.invstd = xhat, invstd
        return y.reshape(x.shape)

    def backward(self, gy):
        return _affine_backward(self, LayerNormGrad(self), gy)


class LayerNormGrad(Function):
    """(x, [w], gy) -> (dx, dw, db) of layer norm, fused, with h = gy w per row:
    dx = s (h - mean(h) - xhat mean(h xhat)), dw = sum over rows of gy xhat, db = sum of gy."""

    def __init__(self, ln: LayerNorm) -> None:
        self.ln = _Saved(ln)

    def forward(self, x, *rest):
        xp = backend.get_array_module(x)
        ln = self.ln
        gy, w = rest[-1], (rest[0] if len(rest) == 2 else None)
        g = gy.reshape(-1, ln.d)
        xhat, invstd, w_row = ln.xhat, ln.invstd, (w.reshape(-1) if w is not None else None)
        dx, sums = xp.empty_like(g), {}

        def grad_rows(r: slice) -> None:  # dx per row; dw, db as partial sums over rows
            gr, xh = g[r], xhat[r]
            sums[r.start] = (xp.einsum("md,md->d", gr, xh), xp.einsum("md->d", gr))
            h = gr * w_row if w_row is not None else gr
            xp.multiply(xh, _row_dot(h, xh) / ln.d, out=dx[r])
            xp.subtract(h, dx[r], out=dx[r])
            dx[r] -= xp.einsum("md->m", h)[:, None] / ln.d
            dx[r] *= invstd[r]
        _in_row_parts(grad_rows, g)
        parts = [sums[k] for k in sorted(sums)]  # added in row order: deterministic
        dw, db = parts[0]
        for pw, pb in parts[1:]:
            dw, db = dw + pw, db + pb
        dw, db = dw.reshape(ln.shape), db.reshape(ln.shape)
        ln.xhat = None  # only the forward needs it; the double backward recomputes
        return dx.reshape(x.shape), dw, db

    def backward(self, ggx, ggw, ggb):
        ln = self.ln
        x = self.inputs[0]
        w = self.inputs[1] if ln.has_weight else None
        axes = tuple(range(x.ndim - len(ln.shape), x.ndim))
        g_x, g_w, g_gy = _normalization_double_backward(
            x, w, self.inputs[-1], ggx, ggw if ln.has_weight else None,
            ggb if ln.has_bias else None, axes, ln.shape, ln.eps,
            (self.needs_input_grad[0], ln.has_weight and self.needs_input_grad[1],
             self.needs_input_grad[-1]))
        return (g_x, g_w, g_gy) if ln.has_weight else (g_x, g_gy)


def layer_norm(x: Tensor, normalized_shape: int | Sequence[int], weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Normalise over the last ``len(normalized_shape)`` dims (which must equal
    ``normalized_shape``), then scale by ``weight`` and shift by ``bias`` (both of that shape)."""
    float_tensor(x, "layer_norm")
    shape = (int_arg(normalized_shape, "layer_norm", "normalized_shape"),) \
        if not isinstance(normalized_shape, (tuple, list)) \
        else tuple(int_arg(n, "layer_norm", "normalized_shape") for n in normalized_shape)
    if len(shape) == 0 or x.ndim < len(shape) or x.shape[x.ndim - len(shape):] != shape:
        raise ShapeError(f"layer_norm: normalized_shape {shape} does not match the last dims "
                         f"of input of shape {x.shape}")
    weight = _param_array(weight, "weight", "layer_norm", shape, x)
    bias = _param_array(bias, "bias", "layer_norm", shape, x)
    if x.data.size == 0:  # nothing to normalise (an empty batch or normalized_shape): PyTorch
        y = x * 0.0       # returns the empty result, and zero gradients for weight and bias
        y = y if weight is None else y * weight
        return y if bias is None else y + bias
    if reference_kernels_enabled():  # mg.use_reference_kernels(): reference/norm.py
        return reference.layer_norm(x, shape, weight, bias, eps)
    params = [p for p in (weight, bias) if p is not None]
    return LayerNorm(shape, float(eps), weight is not None, bias is not None)(x, *params)
