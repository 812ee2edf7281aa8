"""``Dropout``: zero each element with probability p in training, scale the rest by 1/(1-p)."""
from __future__ import annotations

from .. import functional as F
from ..autograd import Tensor
from ..errors import ArgumentError
from .module import Module


class Dropout(Module):
    """Active only in training mode (``model.train()``); the identity after ``model.eval()``."""

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ArgumentError(f"Dropout: dropout probability has to be between 0 and 1, but got {p}")
        if inplace:
            raise ArgumentError("Dropout: inplace=True is not supported")
        self.p, self.inplace = float(p), False

    def forward(self, x: Tensor) -> Tensor:
        return F.dropout(x, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"
