"""Tensor methods and attributes with PyTorch's names and semantics (checked against torch)."""
from __future__ import annotations

import numpy as np
import pytest

import minigan as mg


def test_size_is_pytorchs_method(torch):
    a = np.zeros((2, 3, 4), dtype=np.float32)
    x, t = mg.tensor(a), torch.tensor(a)
    assert x.size() == tuple(t.size()) == x.shape
    for d in range(-3, 3):
        assert x.size(d) == t.size(d)
    assert x.numel() == t.numel() == 24 and x.dim() == t.dim() == 3
    assert mg.tensor(1.0).size() == () and mg.tensor(1.0).numel() == 1
    for bad in (3, -4):
        with pytest.raises(IndexError):
            t.size(bad)
        with pytest.raises(mg.DimError, match=r"^size: dim"):
            x.size(bad)
    with pytest.raises(mg.DimError, match=r"^size: dim 0 given but the tensor is 0-d"):
        mg.tensor(1.0).size(0)
    with pytest.raises(mg.DTypeError, match=r"^size: dim must be"):
        x.size("0")
