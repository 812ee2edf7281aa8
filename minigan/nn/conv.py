"""Convolution layers: ``Conv1d``, ``Conv2d``, ``ConvTranspose1d``, ``ConvTranspose2d``
(PyTorch's arguments and layouts).

Weights: Conv (out_channels, in_channels / groups, *kernel_size);
ConvTranspose (in_channels, out_channels / groups, *kernel_size).
"""
from __future__ import annotations

from typing import Any, Sequence

from .. import functional as F
from ..autograd import Tensor
from ..errors import ArgumentError, ShapeError
from ..ops.args import int_tuple, tensor_arg
from ..ops.conv import same_padding
from . import init
from .linear import empty_parameter
from .module import Module

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


class _ConvNd(Module):
    """What the conv layers share: argument checks, init, repr, padding modes."""

    transposed = False
    dims = 2

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any,
                 padding: Any, dilation: Any, groups: int, bias: bool, padding_mode: str,
                 output_padding: Any, device: str | None, dtype: Any) -> None:
        super().__init__()
        name, n = type(self).__name__, self.dims
        if groups <= 0:
            raise ArgumentError(f"{name}: groups must be a positive integer, got {groups}")
        if in_channels % groups:
            raise ArgumentError(f"{name}: in_channels ({in_channels}) must be divisible by groups ({groups})")
        if out_channels % groups:
            raise ArgumentError(f"{name}: out_channels ({out_channels}) must be divisible by groups ({groups})")
        if padding_mode not in (("zeros",) if self.transposed else _PADDING_MODES):
            allowed = "'zeros'" if self.transposed else ", ".join(map(repr, _PADDING_MODES))
            raise ArgumentError(f"{name}: padding_mode {padding_mode!r} is not supported (one of "
                                f"{allowed})")
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.kernel_size = int_tuple(kernel_size, n, name, "kernel_size", 1)
        self.stride = int_tuple(stride, n, name, "stride", 1)
        self.dilation = int_tuple(dilation, n, name, "dilation", 1)
        self.output_padding = int_tuple(output_padding, n, name, "output_padding", 0)
        self.groups, self.padding_mode = int(groups), padding_mode
        if isinstance(padding, str):
            if padding not in ("valid", "same"):
                raise ArgumentError(f"{name}: padding must be 'valid', 'same' or int(s), got {padding!r}")
            if padding == "same" and any(s != 1 for s in self.stride):
                raise ArgumentError(f"{name}: padding='same' is not supported for strided convolutions")
            self.padding = padding
        else:
            self.padding = int_tuple(padding, n, name, "padding", 0)
        if self.transposed:
            shape = (self.in_channels, self.out_channels // groups) + self.kernel_size
        else:
            shape = (self.out_channels, self.in_channels // groups) + self.kernel_size
        self.weight = empty_parameter(shape, device, dtype)
        if bias:
            self.bias = empty_parameter((self.out_channels,), device, dtype)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.reset_linear_(self.weight, self.bias)

    def extra_repr(self) -> str:
        zeros = (0,) * self.dims
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if self.padding != zeros:
            s += f", padding={self.padding!r}" if isinstance(self.padding, str) else f", padding={self.padding}"
        if self.dilation != (1,) * self.dims:
            s += f", dilation={self.dilation}"
        if self.output_padding != zeros:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s

    def _check_input(self, x: Tensor) -> None:
        """A batch, or one unbatched sample as PyTorch allows, with in_channels channels."""
        tensor_arg(x, type(self).__name__)
        n = self.dims
        layout = "(C, L)" if n == 1 else "(C, H, W)"
        if x.ndim not in (n + 1, n + 2):
            raise ShapeError(f"{type(self).__name__}: expected a {n + 1}-D {layout} or {n + 2}-D "
                             f"{layout.replace('(', '(N, ')} input, got shape {x.shape}")
        if x.shape[-n - 1] != self.in_channels:
            raise ShapeError(f"{type(self).__name__}: input of shape {x.shape} has "
                             f"{x.shape[-n - 1]} channels but the layer expects "
                             f"in_channels={self.in_channels}")


# ============================================================================ Conv1d / Conv2d


class _Conv(_ConvNd):
    """Conv1d and Conv2d: PyTorch's arguments, ``dims`` spatial dims."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1,
                 padding: Any = 0, dilation: Any = 1, groups: int = 1, bias: bool = True,
                 padding_mode: str = "zeros", device: str | None = None, dtype: Any = None) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, 0, device, dtype)

    def forward(self, x: Tensor) -> Tensor:
        self._check_input(x)
        conv = F.conv1d if self.dims == 1 else F.conv2d
        padding = self.padding
        if self.padding_mode != "zeros":  # pad with the mode, then a conv without padding
            if padding == "same":
                pairs = same_padding(self.kernel_size, self.dilation)
            elif padding == "valid":
                pairs = [(0, 0)] * self.dims
            else:
                pairs = [(p, p) for p in padding]
            x = F.pad(x, [n for pair in reversed(pairs) for n in pair], mode=self.padding_mode)
            padding = 0
        return conv(x, self.weight, self.bias, stride=self.stride, padding=padding,
                    dilation=self.dilation, groups=self.groups)


class Conv2d(_Conv):
    """2-D cross-correlation over (N, C, H, W); output (N, out_channels, OH, OW) with
    OH = floor((H + 2 P - D (KH - 1) - 1) / S) + 1. ``padding_mode`` 'zeros', 'reflect',
    'replicate' or 'circular' (F.pad's modes)."""


class Conv1d(_Conv):
    """1-D cross-correlation over (N, C, L) or (C, L), weight (out_channels,
    in_channels / groups, K); output length floor((L + 2 P - D (K - 1) - 1) / S) + 1."""

    dims = 1


# ============================================================================ ConvTranspose1d / 2d


class _ConvTranspose(_ConvNd):
    """ConvTranspose1d and ConvTranspose2d: PyTorch's arguments, ``dims`` spatial dims."""

    transposed = True

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1,
                 padding: Any = 0, output_padding: Any = 0, groups: int = 1, bias: bool = True,
                 dilation: Any = 1, padding_mode: str = "zeros", device: str | None = None,
                 dtype: Any = None) -> None:
        name = type(self).__name__
        if isinstance(padding, str):
            raise ArgumentError(f"{name}: padding must be int(s), got {padding!r}")
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, output_padding, device, dtype)
        for op, s, d in zip(self.output_padding, self.stride, self.dilation):
            if op < 0 or op >= max(s, d):
                raise ArgumentError(f"{name}: output_padding {self.output_padding} must be "
                                    f"smaller than either stride {self.stride} or dilation "
                                    f"{self.dilation}")

    def _output_padding(self, x: Tensor, output_size: Sequence[int] | None) -> tuple[int, ...]:
        if output_size is None:
            return self.output_padding
        n = self.dims
        size = tuple(int(v) for v in output_size)[-n:]
        result = []
        for i in range(n):
            smallest = ((x.shape[i - n] - 1) * self.stride[i] - 2 * self.padding[i]
                        + self.dilation[i] * (self.kernel_size[i] - 1) + 1)
            largest = smallest + self.stride[i] - 1
            if not smallest <= size[i] <= largest:
                raise ShapeError(f"{type(self).__name__}: requested an output size of {size}, "
                                 f"but valid sizes for input {x.shape} range from {smallest} "
                                 f"to {largest} in dim {i}")
            result.append(size[i] - smallest)
        return tuple(result)

    def forward(self, x: Tensor, output_size: Sequence[int] | None = None) -> Tensor:
        self._check_input(x)
        conv = F.conv_transpose1d if self.dims == 1 else F.conv_transpose2d
        return conv(x, self.weight, self.bias, stride=self.stride, padding=self.padding,
                    output_padding=self._output_padding(x, output_size), groups=self.groups,
                    dilation=self.dilation)


class ConvTranspose2d(_ConvTranspose):
    """The adjoint (gradient) of Conv2d: OH = (H - 1) S - 2 P + D (KH - 1) + output_padding + 1.

    ``forward(x, output_size=None)``: give ``output_size`` to pick output_padding as PyTorch.
    """


class ConvTranspose1d(_ConvTranspose):
    """The adjoint of Conv1d over (N, C, L): L_out = (L - 1) S - 2 P + D (K - 1) +
    output_padding + 1."""

    dims = 1
