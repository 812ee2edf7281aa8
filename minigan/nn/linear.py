"""Fully connected layers: ``Linear`` (y = x W^T + b) and ``Identity``."""
from __future__ import annotations

from typing import Any

from .. import backend, functional as F
from ..autograd import Tensor
from ..ops.args import int_arg, size_arg
from . import init
from .module import Module, Parameter


def empty_parameter(shape: tuple, device: str | None, dtype: Any, op: str = "layer") -> Parameter:
    """An uninitialised Parameter of ``shape`` (the layer's ``reset_parameters`` fills it);
    a negative or non-integer size is refused naming ``op``."""
    shape = size_arg(shape, op)
    device = backend.normalize_device(device)
    dtype = backend.get_default_dtype() if dtype is None else backend.check_float_dtype(dtype, "layer")
    xp = backend.xp_for_device(device)
    with backend.device_context(device):
        return Parameter(xp.empty(shape, dtype=dtype))


class Identity(Module):
    """Returns its input unchanged (a placeholder, e.g. to remove a layer)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def forward(self, x: Any) -> Any:
        return x


class Linear(Module):
    """y = x W^T + b, with W of shape (out_features, in_features) as in PyTorch.

    Initialised as PyTorch: W ~ kaiming_uniform(a=sqrt(5)), i.e. U(-1/sqrt(in), 1/sqrt(in)),
    and b ~ U(-1/sqrt(in), 1/sqrt(in)).
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 device: str | None = None, dtype: Any = None) -> None:
        super().__init__()
        self.in_features = int_arg(in_features, "Linear", "in_features", 0)
        self.out_features = int_arg(out_features, "Linear", "out_features", 0)
        self.weight = empty_parameter((self.out_features, self.in_features), device, dtype, "Linear")
        if bias:
            self.bias = empty_parameter((self.out_features,), device, dtype, "Linear")
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.reset_linear_(self.weight, self.bias)

    def forward(self, x: Tensor) -> Tensor:
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")
