"""batch_norm and layer_norm the plain way: the textbook formulas on whole arrays, forward and
backward side by side. The fast kernels (``minigan/ops/norm.py``) compute the same with
fused passes on channels-last rows and threads; ``docs/kernels/norm.md`` derives the backward.

Both normalise x over a set of axes A (m values each), then scale and shift:

    mu = mean_A(x),  var = mean_A((x - mu)^2),  s = 1 / sqrt(var + eps),  xhat = (x - mu) s
    y  = w xhat + b

    batch norm: A = every axis but the channels (0, 2, 3, ...); w, b, mu, var per channel
    layer norm: A = the last len(normalized_shape) axes; w, b of normalized_shape

and their backward is the same closed form, with h = gy w:

    gx = s (h - mean_A(h) - xhat mean_A(h xhat))      gw = sum(gy xhat)      gb = sum(gy)

(gw and gb summed over the axes w does not have). The backwards are written with Tensor ops
on x itself (``_normalized`` recomputes xhat from x), so autograd differentiates them again:
double backward needs no code of its own.
"""
from __future__ import annotations

from typing import Any, Sequence

from ..autograd import Function, Tensor


def _normalized(x, axes: tuple, eps: float) -> tuple:
    """(xhat, s) of x over ``axes``, the formulas above; x an array (forward) or a Tensor
    (backward: then xhat and s are differentiable in x)."""
    centered = x - x.mean(axis=axes, keepdims=True)
    s = ((centered * centered).mean(axis=axes, keepdims=True) + eps) ** -0.5
    return centered * s, s


def _grad_input(h: Tensor, xhat: Tensor, s: Tensor, axes: tuple) -> Tensor:
    """gx = s (h - mean(h) - xhat mean(h xhat)): the gradient through the normalisation."""
    def mean(v: Tensor) -> Tensor:
        return v.mean(axis=axes, keepdims=True)
    return s * (h - mean(h) - xhat * mean(h * xhat))


def _affine(f: Function, xhat, params: tuple):
    """y = w xhat + b, with w and b shaped (``f.param_shape``) to broadcast against x."""
    y = xhat * params[0].reshape(f.param_shape) if f.has_weight else xhat
    return y + params[-1].reshape(f.param_shape) if f.has_bias else y


def _affine_grads(f: Function, gy: Tensor, xhat: Tensor, sum_axes: tuple) -> list:
    """The gradients of w and b (where they are inputs and need one), summed over
    ``sum_axes`` (none when it is empty: ``sum(dim=())`` would sum over all, as PyTorch)."""
    def total(g: Tensor) -> Tensor:
        return g.sum(sum_axes) if sum_axes else g
    out = []
    if f.has_weight:
        out.append(total(gy * xhat) if f.needs_input_grad[1] else None)
    if f.has_bias:
        out.append(total(gy) if f.needs_input_grad[-1] else None)
    return out


# ============================================================================ batch_norm


class BatchNorm(Function):
    """Batch norm of x (N, C, ...) per channel, inputs (x, [weight], [bias]).

    training: mu and var are the batch's (biased var); kept as ``self.mean``, ``self.var``
    for the running statistics. eval: mu and var are the running statistics, constants, so
    y is an affine map of x and gx = w s gy."""

    def __init__(self, eps: float, training: bool, has_weight: bool, has_bias: bool,
                 running_mean: Any = None, running_var: Any = None) -> None:
        self.eps, self.training = eps, training
        self.has_weight, self.has_bias = has_weight, has_bias
        self.running_mean, self.running_var = running_mean, running_var

    @property
    def name(self) -> str:
        return "batch_norm"

    def _xhat(self, x, axes: tuple) -> tuple:
        """(xhat, s) of x (an array or a Tensor), from the batch's or the running statistics."""
        if self.training:
            return _normalized(x, axes, self.eps)
        mu, var = (r.reshape(self.param_shape) for r in (self.running_mean, self.running_var))
        if isinstance(x, Tensor):
            mu, var = Tensor._wrap(mu), Tensor._wrap(var)
        s = (var + self.eps) ** -0.5
        return (x - mu) * s, s

    def forward(self, x, *params):
        axes = (0,) + tuple(range(2, x.ndim))                  # all but the channels
        self.param_shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
        if self.training:
            self.m = x.size // x.shape[1]                      # values per channel
            self.mean, self.var = x.mean(axis=axes), x.var(axis=axes)
        return _affine(self, self._xhat(x, axes)[0], params)

    def backward(self, gy):
        x = self.inputs[0]
        axes = (0,) + tuple(range(2, x.ndim))
        xhat, s = self._xhat(x, axes)
        h = gy * self.inputs[1].reshape(self.param_shape) if self.has_weight else gy
        gx = None
        if self.needs_input_grad[0]:
            gx = _grad_input(h, xhat, s, axes) if self.training else h * s
        return tuple([gx] + _affine_grads(self, gy, xhat, axes))


def _array(r: Any):
    return r.data if isinstance(r, Tensor) else r


def batch_norm(x: Tensor, running_mean: Any, running_var: Any, weight: Tensor | None = None,
               bias: Tensor | None = None, training: bool = False, momentum: float = 0.1,
               eps: float = 1e-5) -> Tensor:
    """The reference ``F.batch_norm``. In training the running statistics (arrays or Tensors,
    or None) are updated in place as PyTorch does, with the *unbiased* batch variance:

        running_mean = (1 - momentum) running_mean + momentum mean
        running_var  = (1 - momentum) running_var  + momentum var * m / (m - 1)
    """
    params = tuple(p for p in (weight, bias) if p is not None)
    if not training:
        rm, rv = _array(running_mean), _array(running_var)
        fn = BatchNorm(float(eps), False, weight is not None, bias is not None,
                       rm.astype(x.dtype, copy=False), rv.astype(x.dtype, copy=False))
        return fn(x, *params)
    fn = BatchNorm(float(eps), True, weight is not None, bias is not None)
    y = fn(x, *params)
    for running, batch in ((running_mean, fn.mean), (running_var, fn.var * (fn.m / (fn.m - 1)))):
        if running is not None:
            r = _array(running)
            r *= 1.0 - momentum
            r += momentum * batch
    return y


# ============================================================================ layer_norm


class LayerNorm(Function):
    """Layer norm of x over its last dims ``shape`` (each row on its own), inputs
    (x, [weight], [bias]) with weight and bias of that shape."""

    def __init__(self, shape: tuple, eps: float, has_weight: bool, has_bias: bool) -> None:
        self.shape, self.eps = tuple(shape), eps
        self.has_weight, self.has_bias, self.param_shape = has_weight, has_bias, tuple(shape)

    @property
    def name(self) -> str:
        return "layer_norm"

    def _axes(self, x) -> tuple:
        """(the normalised axes, the leading axes w and b do not have)."""
        first = x.ndim - len(self.shape)
        return tuple(range(first, x.ndim)), tuple(range(first))

    def forward(self, x, *params):
        xhat, _ = _normalized(x, self._axes(x)[0], self.eps)
        return _affine(self, xhat, params)

    def backward(self, gy):
        x = self.inputs[0]
        axes, leading = self._axes(x)
        xhat, s = _normalized(x, axes, self.eps)
        h = gy * self.inputs[1] if self.has_weight else gy
        gx = _grad_input(h, xhat, s, axes) if self.needs_input_grad[0] else None
        return tuple([gx] + _affine_grads(self, gy, xhat, leading))


def layer_norm(x: Tensor, normalized_shape: int | Sequence[int], weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """The reference ``F.layer_norm``."""
    shape = (int(normalized_shape),) if not isinstance(normalized_shape, (tuple, list)) \
        else tuple(int(n) for n in normalized_shape)
    params = tuple(p for p in (weight, bias) if p is not None)
    return LayerNorm(shape, float(eps), weight is not None, bias is not None)(x, *params)
