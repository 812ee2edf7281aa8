"""``mg.linalg``: PyTorch's ``torch.linalg`` names that minigan has (``vector_norm``)."""
from __future__ import annotations

from .ops.reductions import vector_norm

__all__ = ["vector_norm"]
