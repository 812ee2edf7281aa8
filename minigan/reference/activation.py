"""leaky_relu and relu the plain way. The fast kernel (``minigan/ops/activation.py``) writes
its comparison straight into a float array and splits big arrays between threads;
``docs/kernels/activations.md`` discusses the kink at 0.
"""
from __future__ import annotations

from .. import backend
from ..autograd import Function, Tensor


class LeakyReLU(Function):
    """y = x if x > 0 else slope x;  gx = gy if x > 0 else slope gy.

    At x = 0 the function has a kink: any value between slope and 1 is a subgradient, and
    PyTorch picks slope (0 for relu), so we do. gx is gy times a constant factor, so the
    backward is differentiable in gy, and in x its derivative is 0 (almost everywhere)."""

    def __init__(self, negative_slope: float) -> None:
        self.slope = float(negative_slope)

    @property
    def name(self) -> str:
        return "leaky_relu" if self.slope else "relu"

    def forward(self, x):
        xp = backend.get_array_module(x)
        negative = x * self.slope if self.slope else xp.zeros_like(x)  # relu(-inf) = 0, not nan
        return xp.where(x > 0, x, negative)

    def backward(self, gy):
        x = self.inputs[0].data
        factor = backend.get_array_module(x).where(x > 0, 1.0, self.slope).astype(x.dtype)
        return gy * Tensor._wrap(factor)


def leaky_relu(x: Tensor, negative_slope: float = 0.01) -> Tensor:
    """The reference ``F.leaky_relu``."""
    return LeakyReLU(negative_slope)(x)


def relu(x: Tensor) -> Tensor:
    """The reference ``F.relu``: leaky_relu with slope 0."""
    return LeakyReLU(0.0)(x)
