"""linear: finite differences (first and second order), PyTorch parity, errors."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import minigan as mg
import minigan.functional as F

from strategies import check_against_torch



def _t(a, device, requires_grad=True, dtype=np.float64):
    return mg.tensor(np.asarray(a, dtype=dtype), device=device, requires_grad=requires_grad)


def _check_with_torch(torch, device, x, w, b, dtype, rtol, atol, need=(True, True, True)):
    """Forward, backward and double backward (incl. d/d gy) against torch.nn.functional.linear."""
    arrays = [np.asarray(a, dtype=np.float64) for a in [x, w] + ([b] if b is not None else [])]
    check_against_torch(torch, F.linear, torch.nn.functional.linear, arrays, device, dtype,
                        rtol=rtol, atol=atol, requires_grad=list(need)[:len(arrays)])


shapes = st.tuples(st.lists(st.integers(1, 3), min_size=0, max_size=2),
                   st.integers(1, 4), st.integers(1, 4), st.booleans())


# ---------------------------------------------------------------------------- finite differences


@settings(max_examples=12)
@given(shapes)
def test_linear_gradcheck(device, case):
    lead, n_in, n_out, has_bias = case
    rng = np.random.default_rng(len(lead) * 100 + n_in * 10 + n_out)
    x = _t(rng.standard_normal(tuple(lead) + (n_in,)), device)
    w = _t(rng.standard_normal((n_out, n_in)), device)
    inputs = [x, w] + ([_t(rng.standard_normal(n_out), device)] if has_bias else [])
    assert mg.gradcheck(F.linear, inputs)
    assert mg.gradgradcheck(F.linear, inputs)


def test_linear_gradgradcheck_partial_inputs(device):
    """Only some inputs need grads: the skipped branches must not break second order."""
    rng = np.random.default_rng(2)
    x = _t(rng.standard_normal((2, 3)), device, requires_grad=False)
    w = _t(rng.standard_normal((4, 3)), device)
    b = _t(rng.standard_normal(4), device, requires_grad=False)
    assert mg.gradgradcheck(F.linear, [x, w, b])
    x.requires_grad, w.requires_grad = True, False
    assert mg.gradgradcheck(F.linear, [x, w, b])


# ---------------------------------------------------------------------------- PyTorch parity


@settings(max_examples=10)
@given(shapes)
def test_linear_matches_torch_float64(device, torch, case):
    lead, n_in, n_out, has_bias = case
    rng = np.random.default_rng(7)
    x = rng.standard_normal(tuple(lead) + (n_in,))
    w, b = rng.standard_normal((n_out, n_in)), rng.standard_normal(n_out) if has_bias else None
    _check_with_torch(torch, device, x, w, b, np.float64, 1e-10, 1e-12)


@pytest.mark.parametrize("need", [(True, True, True), (False, True, False), (True, False, True)])
def test_linear_matches_torch_float32(device, torch, need):
    rng = np.random.default_rng(3)
    x, w, b = rng.standard_normal((5, 2, 7)), rng.standard_normal((6, 7)), rng.standard_normal(6)
    _check_with_torch(torch, device, x, w, b, np.float32, 1e-5, 1e-5, need)


def test_linear_1d_input(device, torch):
    rng = np.random.default_rng(4)
    _check_with_torch(torch, device, rng.standard_normal(3), rng.standard_normal((2, 3)),
                      rng.standard_normal(2), np.float64, 1e-10, 1e-12)


def test_linear_non_contiguous_input(device):
    rng = np.random.default_rng(5)
    x = _t(rng.standard_normal((4, 3)), device)
    xt = mg.transpose(x)  # (3, 4), a non-contiguous view
    w = _t(rng.standard_normal((2, 4)), device)
    y = F.linear(xt, w)
    np.testing.assert_allclose(y.numpy(), x.numpy().T @ w.numpy().T, rtol=1e-12)
    assert mg.gradcheck(lambda x, w: F.linear(mg.transpose(x), w), [x, w])


def test_linear_skips_unneeded_grads(device):
    x = _t(np.ones((2, 3)), device, requires_grad=False)
    w = _t(np.ones((4, 3)), device)
    b = _t(np.ones(4), device, requires_grad=False)
    F.linear(x, w, b).sum().backward()
    assert x.grad is None and b.grad is None
    np.testing.assert_allclose(w.grad.numpy(), np.full((4, 3), 2.0))


def test_linear_empty_batch(device):
    x = _t(np.zeros((0, 3)), device)
    w = _t(np.ones((2, 3)), device)
    y = F.linear(x, w)
    assert y.shape == (0, 2)
    y.sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), np.zeros((2, 3)))


# ---------------------------------------------------------------------------- errors


def test_integer_linear_gives_an_integer_result_as_torch(torch):
    rng = np.random.default_rng(3)
    x, w, b = (rng.integers(-5, 5, s) for s in ((2, 3), (4, 3), (4,)))
    for dtype in (np.int64, np.int32):
        y = F.linear(*(mg.tensor(a.astype(dtype)) for a in (x, w, b)))
        ty = torch.nn.functional.linear(*(torch.tensor(a.astype(dtype)) for a in (x, w, b)))
        assert y.dtype == dtype and not y.requires_grad
        np.testing.assert_array_equal(y.numpy(), ty.numpy())


def test_linear_errors_name_shapes(device):
    x, w = _t(np.ones((2, 3)), device), _t(np.ones((4, 5)), device)
    with pytest.raises(ValueError, match=r"linear: input of shape \(2, 3\).*\(4, 5\) expects 5"):
        F.linear(x, w)
    with pytest.raises(ValueError, match=r"linear: weight must be 2-D.*\(5,\)"):
        F.linear(x, _t(np.ones(5), device))
    with pytest.raises(ValueError, match=r"linear: bias of shape \(3,\).*\(4, 3\)"):
        F.linear(x, _t(np.ones((4, 3)), device), _t(np.ones(3), device))
    with pytest.raises(TypeError, match=r"linear: input, weight and bias must have the same "
                                        r"dtype, got input int64, weight float64"):
        F.linear(mg.tensor(np.ones((2, 3), dtype=np.int64), device=device), w)
    with pytest.raises(TypeError, match=r"linear: input of shape \(2, 3\) must be a float or "
                                        r"integer tensor, got bool"):
        F.linear(mg.tensor(np.ones((2, 3), dtype=bool), device=device), w)
    with pytest.raises(TypeError, match="linear"):
        F.linear(x, mg.tensor(np.ones((4, 3), dtype=np.float32), device=device))
