"""Activation layers: thin modules over ``minigan.functional`` (no parameters)."""
from __future__ import annotations

from .. import functional as F
from ..autograd import Tensor
from ..errors import ArgumentError
from .module import Module


def _no_inplace(name: str, inplace: bool) -> None:
    if inplace:
        raise ArgumentError(f"{name}: inplace=True is not supported (minigan ops never overwrite "
                            f"their input, which autograd may still need)")


class ReLU(Module):
    """max(x, 0)."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        _no_inplace("ReLU", inplace)
        self.inplace = False

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(x)


class LeakyReLU(Module):
    """x for x > 0, negative_slope * x otherwise."""

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False) -> None:
        super().__init__()
        _no_inplace("LeakyReLU", inplace)
        self.negative_slope, self.inplace = float(negative_slope), False

    def forward(self, x: Tensor) -> Tensor:
        return F.leaky_relu(x, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class Tanh(Module):
    def forward(self, x: Tensor) -> Tensor:
        return F.tanh(x)


class Sigmoid(Module):
    """1 / (1 + exp(-x))."""

    def forward(self, x: Tensor) -> Tensor:
        return F.sigmoid(x)


class GELU(Module):
    """x * Phi(x) (``approximate="none"``) or its tanh approximation (``"tanh"``)."""

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ArgumentError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, x: Tensor) -> Tensor:
        return F.gelu(x, approximate=self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class Softmax(Module):
    """Softmax over ``dim``."""

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, x: Tensor) -> Tensor:
        return F.softmax(x, dim=-1 if self.dim is None else self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


# ---------------------------------------------------------------------------- the activation family
# (ops/smooth.py and ops/piecewise.py); PyTorch's constructor arguments. ``inplace`` is
# accepted as in PyTorch; True is refused as for ReLU above.


class _Elementwise(Module):
    """An activation layer: ``function(x, **options)``; ``options`` show in the repr."""
    function = staticmethod(lambda x: x)

    def __init__(self, inplace: bool = False, **options) -> None:
        super().__init__()
        _no_inplace(type(self).__name__, inplace)
        self.inplace = False
        self._options = options
        for key, value in options.items():
            setattr(self, key, value)

    def forward(self, x: Tensor) -> Tensor:
        return type(self).function(x, **{k: getattr(self, k) for k in self._options})

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={getattr(self, k)}" for k in self._options)


class SiLU(_Elementwise):
    """x * sigmoid(x)."""
    function = staticmethod(F.silu)


class Mish(_Elementwise):
    """x * tanh(softplus(x))."""
    function = staticmethod(F.mish)


class SELU(_Elementwise):
    """scale * elu(x, alpha) with the self-normalising constants."""
    function = staticmethod(F.selu)


class ELU(_Elementwise):
    """x for x > 0, alpha (exp(x) - 1) otherwise."""
    function = staticmethod(F.elu)

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__(inplace, alpha=alpha)


class CELU(_Elementwise):
    """max(0, x) + min(0, alpha (exp(x / alpha) - 1))."""
    function = staticmethod(F.celu)

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__(inplace, alpha=alpha)


class Softplus(_Elementwise):
    """log(1 + exp(beta x)) / beta; x where beta x > threshold."""
    function = staticmethod(F.softplus)

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__(beta=beta, threshold=threshold)


class Softsign(_Elementwise):
    """x / (1 + |x|)."""
    function = staticmethod(F.softsign)


class LogSigmoid(_Elementwise):
    """log(sigmoid(x)), without overflow."""
    function = staticmethod(F.logsigmoid)


class Hardtanh(_Elementwise):
    """x clipped to [min_val, max_val]."""
    function = staticmethod(F.hardtanh)

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> None:
        if min_val > max_val:
            raise ArgumentError(f"Hardtanh: min_val ({min_val}) must not be greater than max_val "
                                f"({max_val})")
        super().__init__(inplace, min_val=min_val, max_val=max_val)


class ReLU6(_Elementwise):
    """min(max(x, 0), 6)."""
    function = staticmethod(F.relu6)


class Hardsigmoid(_Elementwise):
    """relu6(x + 3) / 6."""
    function = staticmethod(F.hardsigmoid)


class Hardswish(_Elementwise):
    """x * relu6(x + 3) / 6."""
    function = staticmethod(F.hardswish)


class GLU(_Elementwise):
    """a * sigmoid(b) for the two halves a, b of the input along ``dim``."""
    function = staticmethod(F.glu)

    def __init__(self, dim: int = -1) -> None:
        super().__init__(dim=dim)


class PReLU(Module):
    """x for x > 0, else weight * x: one learnable slope, or one per channel
    (``num_parameters`` = the channels, dim 1), each starting at ``init``."""

    def __init__(self, num_parameters: int = 1, init: float = 0.25, device=None,
                 dtype=None) -> None:
        super().__init__()
        from .. import factories
        from .module import Parameter
        self.num_parameters = int(num_parameters)
        self.weight = Parameter(factories.full((self.num_parameters,), float(init),
                                               dtype=dtype, device=device or "cpu"))

    def forward(self, x: Tensor) -> Tensor:
        return F.prelu(x, self.weight)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"
