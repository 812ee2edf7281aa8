"""Scans (ops/scan.py): cumsum and cumprod along every dim, cumprod with zeros in the input
(first and second derivatives, PyTorch's formula), dtypes, 0-d and empty tensors."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigan as mg
from strategies import check_against_torch, check_grads, float_arrays, leaf, shapes

SCANS = [("cumsum", mg.cumsum), ("cumprod", mg.cumprod)]


@settings(max_examples=15)
@pytest.mark.parametrize("name, fn", SCANS, ids=[s[0] for s in SCANS])
@given(data=st.data(), shape=shapes(min_dims=1, max_dims=3), zeros=st.booleans())
def test_scan_gradcheck_and_gradgradcheck(device, name, fn, data, shape, zeros):
    a = data.draw(float_arrays(shape, 0.5, 1.5)) * data.draw(
        st.sampled_from([1.0, -1.0]))
    if zeros:  # cumprod's gradient is a polynomial: exact zeros are no kink
        a.reshape(-1)[:: 2] = 0.0
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    check_grads(lambda x: fn(x, dim), [leaf(a, device)])


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("name, fn", SCANS, ids=[s[0] for s in SCANS])
@pytest.mark.parametrize("zeros", [0, 1, 2], ids=["no-zero", "one-zero", "two-zeros"])
def test_scan_like_torch(torch, device, name, fn, dtype, zeros):
    a = np.random.default_rng(0).uniform(0.5, 1.5, (3, 5)) * np.array([1, -1, 1, -1, 1])
    for k in range(zeros):  # zeros in some rows, at different places
        a[0, 1 + 2 * k] = 0.0
        a[2, 3 - k] = 0.0
    for dim in (0, 1, -1):
        check_against_torch(torch, lambda x: fn(x, dim), lambda t: getattr(torch, name)(t, dim),
                            [a], device, dtype)
    check_against_torch(torch, lambda x: getattr(x, name)(1), lambda t: getattr(t, name)(1),
                        [a], device, dtype)


def test_cumprod_first_order_with_zeros_matches_torch_without_create_graph(torch):
    rng = np.random.default_rng(5)
    for _ in range(20):
        a = rng.standard_normal((4, 6))
        a[rng.uniform(size=a.shape) < 0.3] = 0.0
        g = rng.standard_normal(a.shape)
        x, tx = leaf(a), torch.tensor(a, requires_grad=True)
        mg.cumprod(x, 1).backward(mg.tensor(g))
        torch.cumprod(tx, 1).backward(torch.tensor(g))
        np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12, atol=1e-14)


def test_scan_dtypes_like_torch(torch):
    for data in (np.array([1, 2, 3], dtype=np.int32), np.array([True, True, False])):
        for name in ("cumsum", "cumprod"):
            y, ty = getattr(mg, name)(mg.tensor(data), 0), getattr(torch, name)(torch.tensor(data), 0)
            assert str(y.dtype) == str(ty.dtype).replace("torch.", "") == "int64"
            np.testing.assert_array_equal(y.numpy(), ty.numpy())
    y = mg.cumsum(mg.tensor([1, 2]), 0, dtype=mg.float64)
    assert y.dtype == np.float64 and y.tolist() == [1.0, 3.0]
    x = leaf(np.array([1.0, 2.0]))
    mg.cumsum(x, 0, dtype=mg.float32).sum().backward()   # a differentiable cast first
    assert x.grad.dtype == np.float64 and x.grad.tolist() == [2.0, 1.0]


def test_scan_zero_dim_and_empty():
    x = leaf(np.array(3.0))
    for fn in (mg.cumsum, mg.cumprod):
        y = fn(x, 0)
        assert y.shape == () and y.item() == 3.0
        assert fn(x, -1).shape == ()
        check_grads(lambda t: fn(t, 0), [x])
    e = leaf(np.zeros((2, 0)))
    assert mg.cumsum(e, 1).shape == (2, 0) and mg.cumprod(e, 0).shape == (2, 0)


def test_scan_errors_name_the_op():
    with pytest.raises(mg.DimError, match="cumsum: dim 2 is out of range"):
        mg.cumsum(mg.ones(2, 3), 2)
    with pytest.raises(mg.DTypeError, match="cumprod: dim must be one int"):
        mg.cumprod(mg.ones(2, 3), (0, 1))
    with pytest.raises(mg.DTypeError, match="cumsum: dim must be one int, got None"):
        mg.cumsum(mg.ones(2, 3), None)
    with pytest.raises(mg.DTypeError, match="cumsum: input must be a Tensor"):
        mg.cumsum([1, 2], 0)
