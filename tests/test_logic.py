"""Predicates and logical ops (ops/logic.py) against PyTorch: isnan/isinf/isfinite/isposinf/
isneginf, isclose/allclose (defaults, equal_nan, broadcasting), equal, logical_not/and/or/xor;
bool results without gradients, and errors."""
from __future__ import annotations

import numpy as np
import pytest

import minigan as mg

SPECIAL = np.array([0.0, -0.0, 1.5, -2.0, np.inf, -np.inf, np.nan])
PREDICATES = ["isnan", "isinf", "isfinite", "isposinf", "isneginf"]


@pytest.mark.parametrize("name", PREDICATES)
def test_predicates_like_torch(torch, device, name):
    for data in (SPECIAL, SPECIAL.astype(np.float32), np.array([1, -2]), np.array([True]),
                 np.zeros((0, 2)), np.array(np.nan)):
        ours = getattr(mg, name)(mg.tensor(data, device=device))
        theirs = getattr(torch, name)(torch.tensor(data))
        assert ours.dtype == np.bool_ and ours.shape == tuple(theirs.shape)
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    assert getattr(mg.tensor(SPECIAL), name)().shape == SPECIAL.shape


def test_isclose_and_allclose_like_torch(torch):
    a = np.array([1.0, np.nan, np.inf, -np.inf, 1.0, 0.0, 1e-9, 100.0])
    b = np.array([1.0 + 1e-6, np.nan, np.inf, np.inf, 1.1, 1e-9, 0.0, 100.001])
    for dtype in (np.float64, np.float32):
        x, y = a.astype(dtype), b.astype(dtype)
        for kwargs in ({}, {"equal_nan": True}, {"rtol": 0.2}, {"atol": 1e-3, "rtol": 0.0}):
            ours = mg.isclose(mg.tensor(x), mg.tensor(y), **kwargs)
            np.testing.assert_array_equal(ours.numpy(), torch.isclose(torch.tensor(x), torch.tensor(y), **kwargs).numpy())
            assert mg.allclose(mg.tensor(x), mg.tensor(y), **kwargs) == \
                torch.allclose(torch.tensor(x), torch.tensor(y), **kwargs)
    ints = (np.array([1, 2, 100]), np.array([1, 3, 101]))
    np.testing.assert_array_equal(mg.isclose(*map(mg.tensor, ints), rtol=0.01).numpy(),
                                  torch.isclose(*map(torch.tensor, ints), rtol=0.01).numpy())
    assert mg.isclose(mg.ones(2, 1), mg.ones(3)).shape == (2, 3)
    assert mg.allclose(mg.ones(2, 1), mg.ones(3)) is True
    assert mg.tensor([1.0]).allclose(mg.tensor([1.0 + 1e-9]))


def test_isclose_errors():
    with pytest.raises(mg.DTypeError, match="isclose: input and other must have the same dtype"):
        mg.isclose(mg.tensor([1, 2]), mg.tensor([1.0, 2.0]))
    with pytest.raises(mg.ArgumentError, match="isclose: rtol must be >= 0, got -1"):
        mg.isclose(mg.ones(2), mg.ones(2), rtol=-1)
    with pytest.raises(mg.ShapeError, match=r"isclose: shapes \(2,\) and \(3,\) do not broadcast"):
        mg.isclose(mg.ones(2), mg.ones(3))
    with pytest.raises(mg.DTypeError, match="isclose: other must be a Tensor, got float"):
        mg.isclose(mg.ones(2), 1.0)


def test_equal_like_torch(torch):
    pairs = [(np.ones(2), np.ones(2)), (np.ones(2), np.ones(3)), (np.ones(2), np.ones(2, dtype=np.int64)),
             (np.array([np.nan]), np.array([np.nan])), (np.ones((2, 1)), np.ones(2)), (np.zeros(0), np.zeros(0))]
    for a, b in pairs:
        assert mg.equal(mg.tensor(a), mg.tensor(b)) is torch.equal(torch.tensor(a), torch.tensor(b))
    assert mg.tensor([1.0, 2.0]).equal(mg.tensor([1.0, 2.0]))


def test_logical_ops_like_torch(torch):
    a = np.array([1.0, 0.0, np.nan, -0.0, 2.0])
    b = np.array([2, 0, 0, 5, 0])
    for name in ("logical_and", "logical_or", "logical_xor"):
        ours = getattr(mg, name)(mg.tensor(a), mg.tensor(b))
        theirs = getattr(torch, name)(torch.tensor(a), torch.tensor(b))
        assert ours.dtype == np.bool_
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
        assert getattr(mg.tensor(a), name)(mg.tensor([True])).shape == (5,)   # broadcasting
    np.testing.assert_array_equal(mg.logical_not(mg.tensor(a)).numpy(),
                                  torch.logical_not(torch.tensor(a)).numpy())
    assert mg.tensor([True, False]).logical_not().tolist() == [False, True]
    with pytest.raises(mg.DTypeError, match="logical_and: other must be a Tensor, got bool"):
        mg.logical_and(mg.tensor([1.0]), True)


def test_predicates_carry_no_gradient():
    x = mg.tensor([1.0, np.nan], requires_grad=True)
    for y in (mg.isnan(x), mg.isclose(x, x), mg.logical_not(x), x.isfinite()):
        assert not y.requires_grad and y.creator is None
