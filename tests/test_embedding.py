"""embedding: finite differences (first and second order), repeated indices, padding_idx,
scale_grad_by_freq, max_norm, PyTorch parity, errors."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import minigan as mg
import minigan.functional as F
from minigan.ops.embedding import _scatter_rows


@st.composite
def lookups(draw):
    """(table rows V, dim D, indices of any shape with repeats likely)."""
    rows, dim = draw(st.integers(1, 5)), draw(st.integers(1, 3))
    shape = tuple(draw(st.lists(st.integers(1, 3), max_size=3)))
    seed = draw(st.integers(0, 2**16))
    idx = np.random.default_rng(seed).integers(0, rows, shape)
    return rows, dim, idx, seed


def _weight(rows, dim, seed, device, dtype=np.float64):
    w = np.random.default_rng(seed + 1).standard_normal((rows, dim)).astype(dtype)
    return mg.tensor(w, device=device, requires_grad=True)


@settings(max_examples=20)
@given(lookups())
def test_embedding_gradcheck(device, case):
    rows, dim, idx, seed = case
    idx_t = mg.tensor(idx, device=device)
    fn = lambda w: F.embedding(idx_t, w)  # noqa: E731
    w = _weight(rows, dim, seed, device)
    assert mg.gradcheck(fn, [w])
    assert mg.gradgradcheck(fn, [w])


def _parity(torch, device, idx, w, dtype, **kwargs):
    rtol = 1e-12 if dtype == np.float64 else 1e-6
    ours_w = mg.tensor(w.astype(dtype), device=device, requires_grad=True)
    theirs_w = torch.tensor(w.astype(dtype), requires_grad=True)
    y = F.embedding(mg.tensor(idx, device=device), ours_w, **kwargs)
    ty = torch.nn.functional.embedding(torch.tensor(idx), theirs_w, **kwargs)
    assert y.shape == tuple(ty.shape) and y.dtype == np.dtype(dtype)
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=rtol)
    gy = np.random.default_rng(2).standard_normal(y.shape).astype(dtype)
    gy_ours, gy_theirs = mg.tensor(gy, device=device, requires_grad=True), \
        torch.tensor(gy, requires_grad=True)
    g, = mg.grad(y, [ours_w], gy_ours, create_graph=True)
    tg, = torch.autograd.grad(ty, [theirs_w], gy_theirs, create_graph=True)
    np.testing.assert_allclose(g.numpy(), tg.detach().numpy(), rtol=rtol, atol=rtol)
    # double backward: the gradient w.r.t. gy of <v, dW>, i.e. v[idx] (padding zeroed)
    v = np.random.default_rng(3).standard_normal(g.shape).astype(dtype)
    ggy, = mg.grad((g * mg.tensor(v, device=device)).sum(), [gy_ours])
    if kwargs.get("scale_grad_by_freq"):
        # torch's double backward drops the 1/count scale; ours is the exact adjoint
        counts = np.bincount(idx.reshape(-1), minlength=w.shape[0])
        expected = v[idx] / np.maximum(counts, 1)[idx][..., None]
        if kwargs.get("padding_idx") is not None:
            expected[idx == kwargs["padding_idx"]] = 0
    else:
        expected = torch.autograd.grad((tg * torch.tensor(v)).sum(), [gy_theirs])[0].numpy()
    np.testing.assert_allclose(ggy.numpy(), expected, rtol=rtol, atol=rtol)
    return ours_w, theirs_w


@settings(max_examples=15)
@given(lookups(), st.booleans(), st.booleans(), st.sampled_from([np.float64, np.float32]))
def test_embedding_matches_torch(device, torch, case, use_padding, scale, dtype):
    rows, dim, idx, seed = case
    w = np.random.default_rng(seed).standard_normal((rows, dim))
    padding_idx = int(idx.reshape(-1)[0]) if use_padding and idx.size else None
    _parity(torch, device, idx, w, dtype, padding_idx=padding_idx, scale_grad_by_freq=scale)


def test_embedding_repeated_indices_add_up(device):
    w = mg.tensor(np.zeros((4, 2)), device=device, requires_grad=True)
    idx = mg.tensor(np.array([[1, 1, 3], [1, 0, 3]]), device=device)
    F.embedding(idx, w).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [[1, 1], [3, 3], [0, 0], [2, 2]])


def test_embedding_padding_row_gets_no_gradient(device, torch):
    idx = np.array([[0, 2, 2], [-1 % 5, 2, 0]])
    w = np.random.default_rng(0).standard_normal((5, 3))
    for padding_idx in (2, -1):
        ours, theirs = _parity(torch, device, idx, w, np.float64, padding_idx=padding_idx)
    y = F.embedding(mg.tensor(idx, device=device), ours, padding_idx=2)
    np.testing.assert_array_equal(y.numpy()[0, 1], w[2])  # the padding row is still read
    y.sum().backward()
    np.testing.assert_array_equal(ours.grad.numpy()[2], 0.0)


def test_embedding_heavily_repeated_indices(device, torch):
    """More repeats than the rank-by-rank path takes: one reduceat per run (scatter_add on CuPy)."""
    idx = np.concatenate([np.full(50, 3), np.arange(7)]).reshape(1, -1)
    w = np.random.default_rng(1).standard_normal((7, 4))
    _parity(torch, device, idx, w, np.float32, padding_idx=5)


def test_scatter_rows_matches_add_at(xp):
    rng = np.random.default_rng(0)
    for n, rows in ((1, 1), (40, 3), (300, 1000), (100, 2)):
        index = rng.integers(0, rows, n)
        values = rng.standard_normal((n, 5))
        expected = np.zeros((rows, 5))
        np.add.at(expected, index, values)
        got = _scatter_rows(xp, xp.asarray(index), xp.asarray(values), rows)
        np.testing.assert_allclose(mg.backend.as_numpy(got), expected, rtol=1e-12, atol=1e-12)


def test_embedding_max_norm_renormalises_in_place(device, torch):
    rng = np.random.default_rng(4)
    w = rng.standard_normal((6, 3)) * 3
    idx = np.array([[0, 1, 1], [4, 0, 5]])
    for norm_type in (2.0, 1.0):
        ours, theirs = _parity(torch, device, idx, w, np.float64, max_norm=1.5,
                               norm_type=norm_type)
        np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=1e-12)
        assert np.allclose(ours.numpy()[2], w[2]) and not np.allclose(ours.numpy()[0], w[0])


def test_embedding_keeps_dtype_and_shape(device):
    w = mg.tensor(np.ones((3, 4), np.float32), device=device, requires_grad=True)
    y = F.embedding(mg.tensor(np.zeros((2, 3, 1), np.int32), device=device), w)
    assert y.shape == (2, 3, 1, 4) and y.dtype == np.float32
    y.sum().backward()
    assert w.grad.dtype == np.float32 and w.grad.numpy()[0, 0] == 6
    assert F.embedding(mg.tensor(np.zeros(0, np.int64), device=device), w).shape == (0, 4)


def test_embedding_errors(device):
    w = mg.tensor(np.ones((5, 2)), device=device, requires_grad=True)
    with pytest.raises(IndexError, match=r"embedding: index 5 is out of range for a table of 5 "
                                         r"rows \(weight \(5, 2\)\)"):
        F.embedding(mg.tensor(np.array([0, 5]), device=device), w)
    with pytest.raises(IndexError, match=r"embedding: index -1 is out of range"):
        F.embedding(mg.tensor(np.array([-1, 2]), device=device), w)
    with pytest.raises(TypeError, match=r"embedding: indices must be an integer tensor.*float"):
        F.embedding(mg.tensor(np.array([0.0, 1.0]), device=device), w)
    with pytest.raises(ValueError, match=r"embedding: weight must be 2-D.*\(5,\)"):
        F.embedding(mg.tensor(np.array([0]), device=device), mg.tensor(np.ones(5), device=device))
    with pytest.raises(ValueError, match=r"embedding: padding_idx 7 must be within the 5 rows"):
        F.embedding(mg.tensor(np.array([0]), device=device), w, padding_idx=7)
