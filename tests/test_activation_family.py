"""The activation family of ops/smooth.py and ops/piecewise.py (silu, elu, selu, celu, softplus,
softsign, mish, logsigmoid, glu, hardtanh, relu6, hardsigmoid, hardswish, prelu) and their
nn layers. Finite differences (first and second order) over drawn shapes, kept off the kinks;
PyTorch parity of forward, backward and double backward in float64 and float32, at the kinks
too (PyTorch's conventions there); stability at extreme inputs; layers and errors."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigan as mg
import minigan.functional as F
from minigan import nn
from strategies import check_against_torch, check_grads, float_arrays, leaf, shapes

# (name, minigan function, torch function of (torch.nn.functional, t), kinks, torch has a
# double backward). celu uses alpha = 0.5: PyTorch's celu backward rounds 1 / alpha to float32
# (exact for 0.5), which would differ from the exact gradient in float64 at ~1e-7.
FAMILY = [
    ("silu", F.silu, lambda f, t: f.silu(t), (), True),
    ("elu", lambda x: F.elu(x, 0.7), lambda f, t: f.elu(t, 0.7), (0.0,), True),
    ("selu", F.selu, lambda f, t: f.selu(t), (0.0,), True),
    ("celu", lambda x: F.celu(x, 0.5), lambda f, t: f.celu(t, 0.5), (0.0,), True),
    ("softplus", F.softplus, lambda f, t: f.softplus(t), (), True),
    ("softplus_beta", lambda x: F.softplus(x, 2.0, 3.0), lambda f, t: f.softplus(t, 2.0, 3.0),
     (1.5,), True),
    ("softsign", F.softsign, lambda f, t: f.softsign(t), (0.0,), True),
    ("mish", F.mish, lambda f, t: f.mish(t), (), True),
    ("logsigmoid", F.logsigmoid, lambda f, t: f.logsigmoid(t), (), True),
    ("hardtanh", lambda x: F.hardtanh(x, -0.5, 1.5), lambda f, t: f.hardtanh(t, -0.5, 1.5),
     (-0.5, 1.5), True),
    ("relu6", F.relu6, lambda f, t: f.relu6(t), (0.0, 6.0), True),
    ("hardsigmoid", F.hardsigmoid, lambda f, t: f.hardsigmoid(t), (-3.0, 3.0), False),
    ("hardswish", F.hardswish, lambda f, t: f.hardswish(t), (-3.0, 3.0), True),
    ("glu", lambda x: F.glu(x, -1), lambda f, t: f.glu(t, -1), (), True),
]
IDS = [a[0] for a in FAMILY]


@settings(max_examples=10)
@pytest.mark.parametrize("name, fn, torch_fn, kinks, second", FAMILY, ids=IDS)
@given(data=st.data(), shape=shapes(max_dims=3))
def test_gradcheck_and_gradgradcheck(device, name, fn, torch_fn, kinks, second, data, shape):
    if name == "glu":
        shape = tuple(shape) + (2,)
    a = data.draw(float_arrays(shape, -7.0, 7.0, kinks=kinks, gap=0.1))
    check_grads(fn, [leaf(a, device)])


def _inputs(kinks) -> np.ndarray:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 5, 6)) * 3
    x[0, 0, :6] = [0.0, 7.0, -7.0, 1e-8, 25.0, -25.0]
    x[0, 1, :len(kinks)] = kinks            # PyTorch's conventions at the kinks too
    return x


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("name, fn, torch_fn, kinks, second", FAMILY, ids=IDS)
def test_forward_backward_double_backward_like_torch(torch, device, name, fn, torch_fn, kinks,
                                                     second, dtype):
    # hardsigmoid: PyTorch's float64 backward multiplies by the float32 constant 1/6
    rtol = 1e-7 if name == "hardsigmoid" and dtype == np.float64 else None
    check_against_torch(torch, fn, lambda t: torch_fn(torch.nn.functional, t), [_inputs(kinks)],
                        device, dtype, rtol=rtol, second=second)


def test_prelu_gradients_and_double_backward_like_torch(torch, device):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((4, 3, 2))
    x[np.abs(x) < 0.1] = 0.5
    for weight in (rng.uniform(0.1, 0.5, 3), np.array([0.25])):
        for dtype in (np.float64, np.float32):
            check_against_torch(torch, F.prelu, torch.nn.functional.prelu, [x, weight], device, dtype)
        check_grads(F.prelu, [leaf(x, device), leaf(weight, device)])
    # at the kink x = 0 the first derivatives take the slope's side, as PyTorch (whose double
    # backward switches sides there, so it is compared to first order only)
    x[0, 0, 0] = 0.0
    check_against_torch(torch, F.prelu, torch.nn.functional.prelu, [x, weight], device,
                        second=False)
    for shape in ((), (5,)):                             # 0-d and 1-d inputs: one channel
        check_against_torch(torch, F.prelu, torch.nn.functional.prelu,
                            [rng.standard_normal(shape) + 0.2, np.array([0.3])], device)


def test_extreme_inputs_stay_finite_and_warning_free(torch):
    x = np.array([-1000.0, -100.0, -40.0, 0.0, 40.0, 100.0, 1000.0], dtype=np.float32)
    for name in ("silu", "softplus", "mish", "logsigmoid", "elu", "selu", "celu", "softsign"):
        t = leaf(x.astype(np.float32))
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            y = getattr(F, name)(t)
            y.backward(mg.ones_like(y))
        ty = torch.tensor(x.astype(np.float64), requires_grad=True)   # the float64 truth
        getattr(torch.nn.functional, name)(ty).backward(torch.ones(7, dtype=torch.float64))
        assert np.isfinite(y.numpy()).all() and np.isfinite(t.grad.numpy()).all(), name
        np.testing.assert_allclose(t.grad.numpy(), ty.grad.numpy(), rtol=2e-6, atol=1e-37)
    # PyTorch's softplus overflows to inf past its threshold (log1p(exp(x))); ours is stable
    assert F.softplus(mg.tensor([100.0]), threshold=1000.0).item() == 100.0


def test_integer_inputs_follow_torch(torch):
    ints = np.array([1, -3, 9])
    for name in ("hardtanh", "relu6"):
        ours, theirs = getattr(F, name)(mg.tensor(ints)), getattr(torch.nn.functional, name)(torch.tensor(ints))
        assert ours.dtype == np.int64 and ours.tolist() == theirs.tolist()
    for name in ("silu", "elu", "softplus", "hardsigmoid", "logsigmoid", "mish", "glu"):
        with pytest.raises(mg.DTypeError, match=f"{name}: input must be a floating tensor"):
            getattr(F, name)(mg.tensor([[1, 2]]))


def test_argument_errors():
    x = mg.ones(2, 3)
    cases = [
        (lambda: F.hardtanh(x, 2.0, 1.0), mg.ArgumentError, "hardtanh: min_val .2.0. must not be greater"),
        (lambda: F.celu(x, 0.0), mg.ArgumentError, "celu: alpha must not be 0"),
        (lambda: F.glu(x), mg.ArgumentError, r"glu: dim -1 of the input of shape \(2, 3\) has odd size 3"),
        (lambda: F.glu(mg.tensor(1.0)), mg.ArgumentError, "glu: needs at least one dim"),
        (lambda: F.elu(x, "1"), mg.DTypeError, "elu: alpha must be a number"),
        (lambda: F.silu(x, inplace=True), mg.ArgumentError, "silu: inplace=True is not supported"),
        (lambda: F.prelu(x, mg.ones(2)), mg.ShapeError, "prelu: weight has 2 slopes but the input"),
        (lambda: F.prelu(x, mg.ones(1, 3)), mg.ShapeError, "prelu: weight must be 0-d or 1-d"),
        (lambda: F.prelu(x, mg.ones(3, dtype=mg.float64)), mg.DTypeError, "prelu: weight .float64."),
        (lambda: F.softplus(x, beta=0), mg.ArgumentError, "softplus: beta must not be 0"),
    ]
    for fn, error, message in cases:
        with pytest.raises(error, match=message):
            fn()


# ============================================================================ layers

LAYERS = [("SiLU", ()), ("ELU", (0.5,)), ("SELU", ()), ("CELU", (0.5,)), ("Softplus", (2, 10)),
          ("Softsign", ()), ("LogSigmoid", ()), ("Hardtanh", (-2, 2)), ("ReLU6", ()),
          ("Hardsigmoid", ()), ("Hardswish", ()), ("Mish", ()), ("GLU", (2,)), ("PReLU", (3, 0.1))]


@pytest.mark.parametrize("name, args", LAYERS, ids=[n for n, _ in LAYERS])
def test_layers_like_torch(torch, name, args):
    ours, theirs = getattr(nn, name)(*args), getattr(torch.nn, name)(*args).double()
    assert repr(ours) == repr(theirs)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    ours = ours.to("float64")
    a = np.random.default_rng(0).standard_normal((2, 3, 4)) * 3
    x, tx = leaf(a), torch.tensor(a, requires_grad=True)
    y, ty = ours(x), theirs(tx)
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-10, atol=1e-12)
    g = np.random.default_rng(1).standard_normal(y.shape)
    y.backward(mg.tensor(g))
    ty.backward(torch.tensor(g))
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-7, atol=1e-12)
    for (n, p), tp in zip(ours.named_parameters(), theirs.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-10, err_msg=n)


def test_layer_arguments():
    assert nn.PReLU().weight.tolist() == [0.25] and nn.PReLU(4, init=0.1).weight.shape == (4,)
    assert nn.Hardtanh().min_val == -1.0 and nn.ELU(alpha=2.0).alpha == 2.0
    for cls in (nn.SiLU, nn.ELU, nn.SELU, nn.CELU, nn.Hardtanh, nn.ReLU6, nn.Hardsigmoid,
                nn.Hardswish, nn.Mish):
        assert cls(inplace=False).inplace is False
        with pytest.raises(ValueError, match="inplace=True is not supported"):
            cls(inplace=True)
    with pytest.raises(ValueError, match="Hardtanh: min_val .3. must not be greater"):
        nn.Hardtanh(3, 2)
