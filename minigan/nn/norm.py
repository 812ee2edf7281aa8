"""Normalisation layers: ``BatchNorm1d``, ``BatchNorm2d`` and ``LayerNorm`` (PyTorch's
arguments, parameters and buffers, so state_dicts line up with PyTorch's)."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .. import backend, functional as F
from ..autograd import Tensor
from ..errors import ShapeError
from ..ops.args import tensor_arg
from . import init
from .linear import empty_parameter
from .module import Module

# ============================================================================ BatchNorm


class _BatchNorm(Module):
    """y = (x - mean) / sqrt(var + eps) * weight + bias over every dim but the channel dim 1.

    In training the batch statistics are used and, with ``track_running_stats``, folded into
    ``running_mean`` / ``running_var`` (unbiased variance) with ``momentum`` (None: a
    cumulative average over ``num_batches_tracked`` batches). In eval the running
    statistics are used.
    """

    _allowed_dims: tuple = ()

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True,
                 device: str | None = None, dtype: Any = None, *, bias: bool = True) -> None:
        super().__init__()
        self.num_features, self.eps, self.momentum = int(num_features), float(eps), momentum
        self.affine, self.track_running_stats = bool(affine), bool(track_running_stats)
        self.use_bias = bool(bias) and self.affine
        shape = (self.num_features,)
        if self.affine:
            self.weight = empty_parameter(shape, device, dtype)
            if bias:
                self.bias = empty_parameter(shape, device, dtype)
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if self.track_running_stats:
            like = empty_parameter(shape, device, dtype).data
            xp = backend.get_array_module(like)
            self.register_buffer("running_mean", Tensor(xp.zeros_like(like)))
            self.register_buffer("running_var", Tensor(xp.ones_like(like)))
            with backend.device_context(backend.device_of(like)):
                self.register_buffer("num_batches_tracked", Tensor(xp.zeros((), dtype=np.int64)))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        self.reset_parameters()

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            self.running_mean.data.fill(0)
            self.running_var.data.fill(1)
            self.num_batches_tracked.data.fill(0)

    def reset_parameters(self) -> None:
        self.reset_running_stats()
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def _check_input_dim(self, x: Tensor) -> None:
        tensor_arg(x, type(self).__name__)
        if x.ndim not in self._allowed_dims:
            wanted = " or ".join(f"{d}D" for d in self._allowed_dims)
            raise ShapeError(f"{type(self).__name__}: expected {wanted} input (got {x.ndim}D "
                             f"input of shape {x.shape})")
        if x.shape[1] != self.num_features:
            raise ShapeError(f"{type(self).__name__}: input of shape {x.shape} has {x.shape[1]} "
                             f"channels but num_features={self.num_features}")

    def forward(self, x: Tensor) -> Tensor:
        self._check_input_dim(x)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked.data += 1
            if self.momentum is None:  # cumulative moving average
                factor = 1.0 / float(self.num_batches_tracked.item())
        # Batch statistics in training, or whenever there are no running statistics.
        use_batch_stats = self.training or self.running_mean is None
        keep_running = not self.training or self.track_running_stats
        return F.batch_norm(x, self.running_mean if keep_running else None,
                            self.running_var if keep_running else None,
                            self.weight, self.bias, use_batch_stats, factor, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, bias={self.use_bias}, "
                f"track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch norm over (N, C) or (N, C, L) inputs."""
    _allowed_dims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch norm over (N, C, H, W) inputs (statistics per channel over N, H, W)."""
    _allowed_dims = (4,)


# ============================================================================ LayerNorm


class LayerNorm(Module):
    """Normalise over the last ``len(normalized_shape)`` dims of each sample, then scale and
    shift element-wise (weight 1, bias 0 at start)."""

    def __init__(self, normalized_shape: int | Sequence[int], eps: float = 1e-5,
                 elementwise_affine: bool = True, bias: bool = True,
                 device: str | None = None, dtype: Any = None) -> None:
        super().__init__()
        if isinstance(normalized_shape, int):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(int(n) for n in normalized_shape)
        self.eps, self.elementwise_affine = float(eps), bool(elementwise_affine)
        self.use_bias = bool(bias) and self.elementwise_affine
        if self.elementwise_affine:
            self.weight = empty_parameter(self.normalized_shape, device, dtype)
            if bias:
                self.bias = empty_parameter(self.normalized_shape, device, dtype)
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def forward(self, x: Tensor) -> Tensor:
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}, bias={self.use_bias}")
