"""Activations: relu, leaky_relu, tanh, sigmoid, gelu (exact and tanh) and the erf they use.

Each is checked by gradcheck and gradgradcheck over drawn shapes, and its forward, backward
and double backward against PyTorch in float64 and float32."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigan as mg
import minigan.functional as F
from minigan.ops.activation import erf
from strategies import check_grads, float_arrays, leaf, random_like, shapes

# (name, minigan function, torch function of (torch, tensor), kinks to keep inputs off)
ACTIVATIONS = [
    ("relu", F.relu, lambda torch, t: torch.nn.functional.relu(t), (0.0,)),
    ("leaky_relu", F.leaky_relu, lambda torch, t: torch.nn.functional.leaky_relu(t), (0.0,)),
    ("leaky_relu_0.2", lambda x: F.leaky_relu(x, 0.2),
     lambda torch, t: torch.nn.functional.leaky_relu(t, 0.2), (0.0,)),
    ("leaky_relu_neg", lambda x: F.leaky_relu(x, -0.5),
     lambda torch, t: torch.nn.functional.leaky_relu(t, -0.5), (0.0,)),
    ("leaky_relu_big", lambda x: F.leaky_relu(x, 1.5),
     lambda torch, t: torch.nn.functional.leaky_relu(t, 1.5), (0.0,)),
    ("tanh", F.tanh, lambda torch, t: torch.tanh(t), ()),
    ("sigmoid", F.sigmoid, lambda torch, t: torch.sigmoid(t), ()),
    ("gelu", F.gelu, lambda torch, t: torch.nn.functional.gelu(t), ()),
    ("gelu_tanh", lambda x: F.gelu(x, approximate="tanh"),
     lambda torch, t: torch.nn.functional.gelu(t, approximate="tanh"), ()),
]
IDS = [a[0] for a in ACTIVATIONS]


# ============================================================================ gradients


@pytest.mark.parametrize("name, fn, torch_fn, kinks", ACTIVATIONS, ids=IDS)
@given(data=st.data(), shape=shapes(max_dims=3))
def test_gradcheck_and_gradgradcheck(device, name, fn, torch_fn, kinks, data, shape):
    a = data.draw(float_arrays(shape, -3.0, 3.0, kinks=kinks))
    check_grads(fn, [leaf(a, device)])


# ============================================================================ against PyTorch


def _torch_double_backward(torch, fn, x: np.ndarray, v: np.ndarray, u: np.ndarray):
    """y = fn(x); g = d<v, y>/dx (with a graph); returns y, g and d<u, g>/d(x, v)."""
    tx = torch.tensor(x, requires_grad=True)
    tv = torch.tensor(v, requires_grad=True)
    y = fn(torch, tx)
    g, = torch.autograd.grad(y, tx, tv, create_graph=True)
    gx, gv = torch.autograd.grad(g, [tx, tv], torch.tensor(u), allow_unused=True)
    gx = torch.zeros_like(tx) if gx is None else gx
    return [t.detach().numpy() for t in (y, g, gx, gv)]


def _ours_double_backward(fn, x: np.ndarray, v: np.ndarray, u: np.ndarray, device: str):
    tx, tv = leaf(x, device), leaf(v, device)
    y = fn(tx)
    g, = mg.grad(y, tx, tv, create_graph=True)
    gx, gv = mg.grad(g, [tx, tv], mg.tensor(u, device=device), allow_unused=True)
    gx = mg.zeros_like(tx) if gx is None else gx
    return [t.numpy() for t in (y, g, gx, gv)]


@pytest.mark.parametrize("dtype, rtol, atol", [(np.float64, 1e-10, 1e-12),
                                               (np.float32, 1e-5, 1e-6)], ids=["f64", "f32"])
@pytest.mark.parametrize("name, fn, torch_fn, kinks", ACTIVATIONS, ids=IDS)
def test_forward_backward_double_backward_like_torch(torch, device, name, fn, torch_fn, kinks,
                                                     dtype, rtol, atol):
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((4, 5, 6)) * 2.5).astype(dtype)
    x[np.abs(x) < 1e-3] = 0.5  # off the kink of relu / leaky_relu
    x[0, 0, :4] = [0.0, 7.0, -7.0, 1e-8]
    if kinks:
        x[0, 0, 0] = 0.25
    v, u = random_like(x.shape, 1).astype(dtype), random_like(x.shape, 2).astype(dtype)
    ours = _ours_double_backward(fn, x, v, u, device)
    theirs = _torch_double_backward(torch, torch_fn, x, v, u)
    for k, (what, a, b) in enumerate(zip(
            ("forward", "backward", "d/dx of backward", "d/dgy of backward"), ours, theirs)):
        assert a.dtype == dtype, what
        # float32 second derivatives cancel (1 - tanh^2 near |x| = 3): absolute to the scale
        tol = atol if k != 2 or dtype == np.float64 else rtol * np.abs(b).max()
        np.testing.assert_allclose(a, b, rtol=rtol, atol=tol, err_msg=f"{name}: {what}")


def test_gradient_at_zero_follows_torch(torch):
    x = mg.tensor([0.0, -0.0, 1.0, -1.0], requires_grad=True)
    F.leaky_relu(x, 0.2).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.float32([0.2, 0.2, 1.0, 0.2]))
    for slope in (0.01, 0.3, -0.5, 1.7):  # exactly 1 and exactly the slope, as PyTorch
        x.grad = None
        F.leaky_relu(x, slope).sum().backward()
        np.testing.assert_array_equal(x.grad.numpy(), np.float32([slope, slope, 1.0, slope]))
    x.grad = None
    F.relu(x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0, 1.0, 0.0])


def test_sigmoid_and_tanh_saturate_without_warnings_or_nans(torch):
    x = np.array([-1000.0, -100.0, -40.0, 0.0, 40.0, 100.0, 1000.0], dtype=np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ys = F.sigmoid(mg.tensor(x)).numpy()
        yt = F.tanh(mg.tensor(x)).numpy()
    np.testing.assert_allclose(ys, torch.sigmoid(torch.tensor(x)).numpy(), rtol=1e-6, atol=1e-30)
    np.testing.assert_array_equal(yt, np.tanh(x))


def test_dtypes_are_kept(device):
    for fn in (F.relu, F.leaky_relu, F.tanh, F.sigmoid, F.gelu):
        x = mg.randn(3, 4, device=device, requires_grad=True)
        y = fn(x)
        y.backward(mg.ones_like(y))
        assert y.dtype == np.float32 and x.grad.dtype == np.float32


def test_gelu_rejects_unknown_approximation():
    with pytest.raises(ValueError, match="gelu: approximate must be 'none' or 'tanh', got 'fast'"):
        F.gelu(mg.ones(2), approximate="fast")


def test_leaky_relu_does_not_modify_its_input():
    a = np.array([-1.0, 2.0, -3.0], dtype=np.float32)
    x = mg.tensor(a, requires_grad=True)
    F.leaky_relu(x, 0.2).backward(mg.ones(3))
    np.testing.assert_array_equal(x.numpy(), a)


# ============================================================================ erf


def test_erf_matches_math_erf_to_an_ulp_or_two():
    rng = np.random.default_rng(0)
    x = np.concatenate([np.linspace(-7, 7, 20001), rng.standard_normal(20000) * 3,
                        np.logspace(-300, 0.9, 500), -np.logspace(-20, 0.9, 500),
                        [0.0, 2.5, -2.5, 6.0, -6.0, 2.5000000000000004, 6.000000000000001]])
    reference = np.array([math.erf(v) for v in x])
    ours = erf(x)
    assert ours.dtype == np.float64
    assert np.max(np.abs(ours - reference)) <= 5e-16
    assert np.max(np.abs(ours - reference) / np.maximum(np.abs(reference), 1e-300)) <= 6e-16


def test_erf_special_values_and_float32(torch):
    special = erf(np.array([np.inf, -np.inf, np.nan, 0.0, -0.0, 30.0, -30.0]))
    np.testing.assert_array_equal(special[[0, 1, 3, 5, 6]], [1.0, -1.0, 0.0, 1.0, -1.0])
    assert np.isnan(special[2]) and np.signbit(special[4])
    x = np.random.default_rng(1).standard_normal(10000).astype(np.float32) * 3
    ours = erf(x)
    assert ours.dtype == np.float32
    np.testing.assert_allclose(ours, torch.erf(torch.tensor(x)).numpy(), rtol=1e-6, atol=3e-7)


def test_erf_on_device(device, xp):
    x = xp.linspace(-4, 4, 101)
    reference = np.array([math.erf(v) for v in np.linspace(-4, 4, 101)])
    np.testing.assert_allclose(mg.backend.as_numpy(erf(x)), reference, rtol=0, atol=5e-16)
