"""Reductions of ops/reductions.py: prod (zeros in the input), logsumexp (stability, infinities),
amax/amin (ties share the gradient), vector_norm / norm (every ord, PyTorch's subgradients at
0), any/all. Finite differences over drawn shapes and dims, PyTorch parity (float64 and float32,
first and second derivatives), dtypes and errors."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigan as mg
from strategies import axes_for, check_against_torch, check_grads, float_arrays, leaf, shapes

ORDS = [2, 1, math.inf, -math.inf, 0, 0.5, 1.5, 3, -1]
DTYPES = pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])


def _one_dim(data, shape):
    return data.draw(st.one_of(st.none(), st.integers(-len(shape), len(shape) - 1))) if shape \
        else None


# ============================================================================ prod


@settings(max_examples=15)
@given(data=st.data(), shape=shapes(max_dims=3), zeros=st.integers(0, 2), keepdim=st.booleans())
def test_prod_gradcheck_and_gradgradcheck_with_zeros(device, data, shape, zeros, keepdim):
    a = data.draw(float_arrays(shape, 0.5, 1.5)) * -1.0 ** data.draw(st.integers(0, 1))
    a.reshape(-1)[:zeros] = 0.0              # one zero, two zeros: each its own gradient rule
    dim = _one_dim(data, shape)
    check_grads(lambda x: mg.prod(x, dim, keepdim) if dim is not None else mg.prod(x), [leaf(a, device)])


@DTYPES
@pytest.mark.parametrize("zeros", [0, 1, 2])
def test_prod_like_torch(torch, device, dtype, zeros):
    a = np.random.default_rng(0).uniform(0.5, 1.5, (3, 4)) * np.array([1, -1, 1, -1])
    a[0, :zeros] = 0.0
    a[2, 3 - zeros:3] = 0.0
    check_against_torch(torch, mg.prod, torch.prod, [a], device, dtype)
    for dim in (0, 1, -1):
        check_against_torch(torch, lambda x: x.prod(dim, keepdim=dim == 0),
                            lambda t: t.prod(dim, keepdim=dim == 0), [a], device, dtype)


def test_prod_dtypes_and_edges(torch):
    for data in (np.array([2, 3], dtype=np.int32), np.array([True, True])):
        y, ty = mg.prod(mg.tensor(data)), torch.prod(torch.tensor(data))
        assert y.dtype == np.int64 and y.item() == ty.item()
    assert mg.prod(mg.zeros(0)).item() == 1.0
    assert mg.prod(mg.tensor([1, 2]), dtype=mg.float64).dtype == np.float64
    x = leaf(np.array(2.5))
    assert mg.prod(x, 0).item() == 2.5
    with pytest.raises(mg.DTypeError, match="prod: dim must be one int"):
        mg.prod(mg.ones(2, 3), (0, 1))


# ============================================================================ logsumexp


@settings(max_examples=15)
@given(data=st.data(), shape=shapes(min_dims=1, max_dims=3), keepdim=st.booleans())
def test_logsumexp_gradcheck_and_gradgradcheck(device, data, shape, keepdim):
    a = data.draw(float_arrays(shape, -3.0, 3.0))
    dim = data.draw(axes_for(len(shape)).filter(lambda d: d is not None))
    check_grads(lambda x: mg.logsumexp(x, dim, keepdim), [leaf(a, device)])


@DTYPES
def test_logsumexp_like_torch(torch, device, dtype):
    a = np.random.default_rng(0).standard_normal((3, 4, 2)) * 3
    for dim in (0, -1, (0, 2), (0, 1, 2)):
        check_against_torch(torch, lambda x: mg.logsumexp(x, dim), lambda t: torch.logsumexp(t, dim),
                            [a], device, dtype)
    check_against_torch(torch, lambda x: x.logsumexp(1, keepdim=True),
                        lambda t: t.logsumexp(1, keepdim=True), [a], device, dtype)


def test_logsumexp_is_stable_and_handles_infinities(torch):
    big = np.array([[1000.0, 1000.0], [-1000.0, -1001.0]])
    np.testing.assert_allclose(mg.logsumexp(mg.tensor(big), 1).numpy(),
                               torch.logsumexp(torch.tensor(big, dtype=torch.float32), 1).numpy())
    special = np.array([[np.inf, 1.0], [-np.inf, -np.inf], [np.nan, 1.0], [-np.inf, 2.0]])
    for dtype in (np.float32, np.float64):
        x, tx = leaf(special.astype(dtype)), torch.tensor(special.astype(dtype), requires_grad=True)
        y, ty = mg.logsumexp(x, 1), torch.logsumexp(tx, 1)
        np.testing.assert_array_equal(y.numpy(), ty.detach().numpy())
        y.backward(mg.ones_like(y))
        ty.backward(torch.ones_like(ty))
        np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())
    assert mg.logsumexp(mg.tensor([1, 2]), 0).dtype == np.float32
    assert mg.logsumexp(mg.zeros(0), 0).item() == -math.inf
    assert mg.logsumexp(mg.tensor(2.0), 0).item() == 2.0


# ============================================================================ amax, amin


@settings(max_examples=15)
@pytest.mark.parametrize("name", ["amax", "amin"])
@given(data=st.data(), shape=shapes(max_dims=3), keepdim=st.booleans())
def test_amax_amin_gradcheck_and_gradgradcheck(device, name, data, shape, keepdim):
    a = data.draw(float_arrays(shape, distinct=True))
    dim = data.draw(axes_for(len(shape)))
    check_grads(lambda x: getattr(mg, name)(x, dim, keepdim), [leaf(a, device)])


@pytest.mark.parametrize("name", ["amax", "amin"])
def test_amax_amin_share_ties_like_torch(torch, name):
    a = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0], [1.0, -1.0, -1.0]])
    for dim in ((), 0, 1, (0, 1)):
        for dtype in (np.float64, np.float32):
            check_against_torch(torch, lambda x: getattr(mg, name)(x, dim),
                                lambda t: getattr(torch, name)(t, dim), [a], dtype=dtype)
    assert getattr(mg.tensor([1, 3]), name)().dtype == np.int64
    assert getattr(mg, name)(mg.zeros(0, 3), 1).shape == (0,)
    with pytest.raises(mg.ArgumentError, match=f"{name}: cannot reduce over an empty dim"):
        getattr(mg, name)(mg.zeros(0, 3))


# ============================================================================ vector_norm, norm


@settings(max_examples=6)
@pytest.mark.parametrize("ord", ORDS, ids=[str(o) for o in ORDS])
@given(data=st.data(), shape=shapes(min_dims=1, max_dims=3), keepdim=st.booleans())
def test_vector_norm_gradcheck_and_gradgradcheck(device, ord, data, shape, keepdim):
    a = data.draw(float_arrays(shape, kinks=(0.0,), gap=0.2, distinct=math.isinf(ord)))
    dim = data.draw(axes_for(len(shape)))
    fn = lambda x: mg.linalg.vector_norm(x, ord, dim, keepdim)  # noqa: E731
    if ord == 0:  # piecewise constant: its gradient is 0
        x = leaf(a, device)
        fn(x).sum().backward()
        assert not x.grad.numpy().any()
        return
    check_grads(fn, [leaf(a, device)])


@DTYPES
@pytest.mark.parametrize("ord", ORDS, ids=[str(o) for o in ORDS])
def test_vector_norm_like_torch(torch, device, ord, dtype):
    a = np.random.default_rng(0).standard_normal((3, 4))
    for dim in (None, 1, (0, 1), -2):
        check_against_torch(torch, lambda x: mg.linalg.vector_norm(x, ord, dim),
                            lambda t: torch.linalg.vector_norm(t, ord, dim), [a], device, dtype)
    check_against_torch(torch, lambda x: x.norm(ord, 1, True), lambda t: t.norm(ord, 1, True),
                        [a], device, dtype)


@pytest.mark.parametrize("ord", [o for o in ORDS if o >= 0], ids=[str(o) for o in ORDS if o >= 0])
def test_vector_norm_subgradients_at_zero_follow_torch(torch, ord):
    # zeros inside rows (and a row of zeros) take PyTorch's choices: 0 for the 2-norm at 0,
    # 0 for entries that are 0 with ord < 1, sign(0) = 0 for ord 1
    a = np.array([[0.0, 2.0, -1.0], [0.0, 0.0, 0.0], [3.0, -3.0, 1.0]])
    for dim in (1, None):
        x, tx = leaf(a), torch.tensor(a, requires_grad=True)
        g = np.random.default_rng(1).standard_normal(3 if dim else ())
        mg.linalg.vector_norm(x, ord, dim).backward(mg.tensor(g))
        torch.linalg.vector_norm(tx, ord, dim).backward(torch.tensor(g))
        expected = np.zeros(a.shape) if tx.grad is None else tx.grad.numpy()
        np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-12, atol=1e-15)


def test_norm_spellings(torch):
    a = np.random.default_rng(2).standard_normal((2, 3))
    x, t = mg.tensor(a), torch.tensor(a)
    for ours, theirs in ((mg.norm(x), torch.norm(t)), (mg.norm(x, "fro", (0, 1)), torch.norm(t, "fro", (0, 1))),
                         (x.norm(1, dim=0), t.norm(1, dim=0)), (mg.norm(x, math.inf), torch.norm(t, math.inf)),
                         (mg.linalg.vector_norm(x.float(), dtype=mg.float64),
                          torch.linalg.vector_norm(t.float(), dtype=torch.float64))):
        assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "")
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)
    assert mg.linalg.vector_norm(mg.zeros(0)).item() == 0.0
    assert mg.linalg.vector_norm(mg.tensor(-3.0), dim=0).item() == 3.0
    with pytest.raises(mg.ArgumentError, match="norm: the nuclear norm"):
        mg.norm(x, "nuc")
    with pytest.raises(mg.DTypeError, match="vector_norm: needs a floating tensor, got int64"):
        mg.linalg.vector_norm(mg.tensor([3, 4]))
    with pytest.raises(mg.ArgumentError, match="vector_norm: cannot take the inf norm over an empty dim"):
        mg.linalg.vector_norm(mg.zeros(0), math.inf)
    with pytest.raises(mg.DTypeError, match="vector_norm: dtype must be floating and at least as wide"):
        mg.linalg.vector_norm(x, dtype=mg.float32)
    with pytest.raises(mg.DTypeError, match="vector_norm: ord must be a number"):
        mg.linalg.vector_norm(x, "2")


# ============================================================================ any, all


def test_any_all_like_torch(torch):
    a = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 0.0], [np.nan, 2.0, -1.0]])
    for name in ("any", "all"):
        for dim in (None, 0, 1, (0, 1)):
            for keepdim in (False, True):
                ours = getattr(mg, name)(mg.tensor(a), dim, keepdim)
                theirs = getattr(torch, name)(torch.tensor(a), dim=dim, keepdim=keepdim)
                assert ours.dtype == np.bool_ and ours.shape == tuple(theirs.shape)
                np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
        assert getattr(mg.tensor([1, 0], dtype="uint8"), name)().dtype == np.uint8
    assert mg.all(mg.zeros(0)).item() is True and mg.any(mg.zeros(0)).item() is False
    assert not mg.tensor([1.0], requires_grad=True).any().requires_grad
