"""Convolution layers: ``Conv2d`` and ``ConvTranspose2d`` (PyTorch's arguments and layouts).

Weights: Conv2d (out_channels, in_channels / groups, KH, KW);
ConvTranspose2d (in_channels, out_channels / groups, KH, KW).
"""
from __future__ import annotations

from typing import Any, Sequence

from .. import functional as F
from ..autograd import Tensor
from . import init
from .linear import empty_parameter
from .module import Module


def _pair(value: int | Sequence[int], name: str) -> tuple[int, int]:
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}")
        return int(value[0]), int(value[1])
    return int(value), int(value)


class _ConvNd(Module):
    """What Conv2d and ConvTranspose2d share: argument checks, init, repr."""

    transposed = False

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any,
                 padding: Any, dilation: Any, groups: int, bias: bool, padding_mode: str,
                 output_padding: Any, device: str | None, dtype: Any) -> None:
        super().__init__()
        name = type(self).__name__
        if groups <= 0:
            raise ValueError(f"{name}: groups must be a positive integer, got {groups}")
        if in_channels % groups:
            raise ValueError(f"{name}: in_channels ({in_channels}) must be divisible by groups ({groups})")
        if out_channels % groups:
            raise ValueError(f"{name}: out_channels ({out_channels}) must be divisible by groups ({groups})")
        if padding_mode != "zeros":
            raise ValueError(f"{name}: padding_mode {padding_mode!r} is not supported (only 'zeros')")
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.kernel_size = _pair(kernel_size, "kernel_size")
        self.stride = _pair(stride, "stride")
        self.dilation = _pair(dilation, "dilation")
        self.output_padding = _pair(output_padding, "output_padding")
        self.groups, self.padding_mode = int(groups), padding_mode
        if isinstance(padding, str):
            if padding not in ("valid", "same"):
                raise ValueError(f"{name}: padding must be 'valid', 'same' or int(s), got {padding!r}")
            if padding == "same" and self.stride != (1, 1):
                raise ValueError(f"{name}: padding='same' is not supported for strided convolutions")
            self.padding = padding
        else:
            self.padding = _pair(padding, "padding")
        if min(self.kernel_size + self.stride + self.dilation) <= 0:
            raise ValueError(f"{name}: kernel_size, stride and dilation must be positive")
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
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if self.padding != (0, 0):
            s += f", padding={self.padding!r}" if isinstance(self.padding, str) else f", padding={self.padding}"
        if self.dilation != (1, 1):
            s += f", dilation={self.dilation}"
        if self.output_padding != (0, 0):
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        return s

    def _check_input(self, x: Tensor) -> None:
        """(N, C, H, W), or one (C, H, W) image as PyTorch allows, with C = in_channels."""
        if x.ndim not in (3, 4):
            raise ValueError(f"{type(self).__name__}: expected a 3-D (C, H, W) or 4-D (N, C, H, W) "
                             f"input, got shape {x.shape}")
        if x.shape[-3] != self.in_channels:
            raise ValueError(f"{type(self).__name__}: input of shape {x.shape} has {x.shape[-3]} "
                             f"channels but the layer expects in_channels={self.in_channels}")


# ============================================================================ Conv2d


class Conv2d(_ConvNd):
    """2-D cross-correlation over (N, C, H, W); output (N, out_channels, OH, OW) with
    OH = floor((H + 2 P - D (KH - 1) - 1) / S) + 1."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1,
                 padding: Any = 0, dilation: Any = 1, groups: int = 1, bias: bool = True,
                 padding_mode: str = "zeros", device: str | None = None, dtype: Any = None) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, 0, device, dtype)

    def forward(self, x: Tensor) -> Tensor:
        self._check_input(x)
        padding = self.padding
        if padding == "valid":
            padding = (0, 0)
        elif padding == "same":
            # total padding D (K - 1) per dim; the odd extra pixel goes right/bottom (PyTorch)
            total = [d * (k - 1) for d, k in zip(self.dilation, self.kernel_size)]
            padding = tuple(t // 2 for t in total)
            extra = [t - 2 * (t // 2) for t in total]
            if any(extra):
                x = F.pad(x, (0, extra[1], 0, extra[0]))
        return F.conv2d(x, self.weight, self.bias, stride=self.stride, padding=padding,
                        dilation=self.dilation, groups=self.groups)


# ============================================================================ ConvTranspose2d


class ConvTranspose2d(_ConvNd):
    """The adjoint (gradient) of Conv2d: OH = (H - 1) S - 2 P + D (KH - 1) + output_padding + 1.

    ``forward(x, output_size=None)``: give ``output_size`` to pick output_padding as PyTorch.
    """

    transposed = True

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1,
                 padding: Any = 0, output_padding: Any = 0, groups: int = 1, bias: bool = True,
                 dilation: Any = 1, padding_mode: str = "zeros", device: str | None = None,
                 dtype: Any = None) -> None:
        if isinstance(padding, str):
            raise ValueError(f"ConvTranspose2d: padding must be int(s), got {padding!r}")
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, output_padding, device, dtype)
        for op, s, d in zip(self.output_padding, self.stride, self.dilation):
            if op < 0 or op >= max(s, d):
                raise ValueError(f"ConvTranspose2d: output_padding {self.output_padding} must be "
                                 f"smaller than either stride {self.stride} or dilation {self.dilation}")

    def _output_padding(self, x: Tensor, output_size: Sequence[int] | None) -> tuple[int, int]:
        if output_size is None:
            return self.output_padding
        size = tuple(int(n) for n in output_size)[-2:]
        result = []
        for i in range(2):
            smallest = ((x.shape[i - 2] - 1) * self.stride[i] - 2 * self.padding[i]
                        + self.dilation[i] * (self.kernel_size[i] - 1) + 1)
            largest = smallest + self.stride[i] - 1
            if not smallest <= size[i] <= largest:
                raise ValueError(f"ConvTranspose2d: requested an output size of {size}, but valid "
                                 f"sizes for input {x.shape} range from {smallest} to {largest} "
                                 f"in dim {i}")
            result.append(size[i] - smallest)
        return tuple(result)

    def forward(self, x: Tensor, output_size: Sequence[int] | None = None) -> Tensor:
        self._check_input(x)
        return F.conv_transpose2d(x, self.weight, self.bias, stride=self.stride,
                                  padding=self.padding,
                                  output_padding=self._output_padding(x, output_size),
                                  groups=self.groups, dilation=self.dilation)
