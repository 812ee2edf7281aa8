"""Elementwise math (ops/math.py): the smooth unary table, rounding (zero gradients),
remainder / fmod / floor_divide / div modes, atan2, hypot, lerp. Finite differences (first and
second order) over drawn shapes, PyTorch parity of forward, backward and double backward in
float64 and float32, dtypes (integer inputs), special values and errors."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigan as mg
from strategies import (broadcastable_shapes, check_against_torch, check_grads, float_arrays,
                        leaf, shapes)

# (name, domain low, high, kinks to keep off); the torch function has the same name
UNARY = [
    ("sin", -2, 2, ()), ("cos", -2, 2, ()), ("tan", -1.2, 1.2, ()),
    ("asin", -0.9, 0.9, ()), ("acos", -0.9, 0.9, ()), ("atan", -2, 2, ()),
    ("sinh", -2, 2, ()), ("cosh", -2, 2, ()), ("asinh", -2, 2, ()), ("acosh", 1.2, 3, ()),
    ("atanh", -0.9, 0.9, ()), ("log2", 0.3, 3, ()), ("log10", 0.3, 3, ()),
    ("log1p", -0.7, 3, ()), ("expm1", -2, 2, ()), ("exp2", -2, 2, ()), ("rsqrt", 0.3, 3, ()),
    ("reciprocal", -3, 3, (0.0,)), ("erf", -3, 3, ()), ("erfc", -3, 4, ()),
]
NAMES = [u[0] for u in UNARY]
DTYPES = pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])


def _torch_fn(torch, name):
    return getattr(torch, name)


# ============================================================================ the unary table


@settings(max_examples=8)
@pytest.mark.parametrize("name, low, high, kinks", UNARY, ids=NAMES)
@given(data=st.data(), shape=shapes(max_dims=2))
def test_unary_gradcheck_and_gradgradcheck(device, name, low, high, kinks, data, shape):
    a = data.draw(float_arrays(shape, low, high, kinks=kinks, gap=0.3))
    check_grads(getattr(mg, name), [leaf(a, device)])


@DTYPES
@pytest.mark.parametrize("name, low, high, kinks", UNARY, ids=NAMES)
def test_unary_like_torch(torch, device, name, low, high, kinks, dtype):
    a = np.random.default_rng(0).uniform(low, high, (3, 4))
    a[np.abs(a) < 0.3] = 0.5
    check_against_torch(torch, getattr(mg, name), _torch_fn(torch, name), [a], device, dtype)
    check_against_torch(torch, lambda x: getattr(x, name)(), lambda t: getattr(t, name)(),
                        [a[0]], device, dtype)


@pytest.mark.parametrize("name", NAMES)
def test_unary_integer_inputs_give_the_default_float(torch, name):
    ints = np.array([1, 2, 3])
    y = getattr(mg, name)(mg.tensor(ints))
    assert y.dtype == np.float32
    np.testing.assert_allclose(y.numpy(), _torch_fn(torch, name)(torch.tensor(ints)).numpy(),
                               rtol=1e-6, equal_nan=True)
    assert getattr(mg, name)(mg.tensor([True, False])).dtype == np.float32


def test_unary_special_values_follow_torch(torch):
    x = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1.0, -1.0, 2.0, 30.0, -30.0])
    with np.errstate(all="raise"):  # no NumPy warnings escape
        for name in NAMES:
            ours = getattr(mg, name)(mg.tensor(x)).numpy()
            theirs = _torch_fn(torch, name)(torch.tensor(x)).numpy()
            np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-300, equal_nan=True,
                                       err_msg=name)


def test_unary_zero_dim_and_empty(device):
    x = leaf(np.array(0.5), device)
    y = mg.sin(x)
    assert y.shape == ()
    y.backward()
    assert x.grad.shape == () and x.grad.item() == pytest.approx(math.cos(0.5))
    e = leaf(np.zeros((0, 3)), device)
    assert mg.erfc(e).shape == (0, 3) and mg.rsqrt(e).shape == (0, 3)


def test_erfc_keeps_its_digits_in_the_tail():
    x = np.array([3.0, 5.0, 10.0, 26.0])
    reference = np.array([math.erfc(v) for v in x])
    np.testing.assert_allclose(mg.erfc(mg.tensor(x)).numpy(), reference, rtol=1e-13)
    np.testing.assert_allclose(mg.erfc(mg.tensor(x[:2].astype(np.float32))).numpy(),
                               reference[:2], rtol=1e-6)


# ============================================================================ square, frac, rounding


def test_square_and_frac(torch):
    a = np.array([[1.5, -2.25, 0.75], [-0.5, 3.0, 2.5]])
    for dtype in (np.float64, np.float32):
        check_against_torch(torch, mg.square, torch.square, [a], dtype=dtype)
        check_against_torch(torch, mg.frac, torch.frac, [a], dtype=dtype)
    check_grads(mg.square, [leaf(a)])
    check_grads(mg.frac, [leaf(a + 0.1)])
    for data in (np.array([3, -2]), np.array([True, False])):
        y, ty = mg.square(mg.tensor(data)), torch.square(torch.tensor(data))
        assert str(y.dtype) == str(ty.dtype).replace("torch.", "")
        np.testing.assert_array_equal(y.numpy(), ty.numpy())
    with pytest.raises(mg.DTypeError, match="frac: needs a floating tensor, got int64"):
        mg.frac(mg.tensor([1, 2]))


ROUNDING = [("floor", mg.floor), ("ceil", mg.ceil), ("trunc", mg.trunc), ("round", mg.round),
            ("sign", mg.sign)]


@pytest.mark.parametrize("name, fn", ROUNDING, ids=[r[0] for r in ROUNDING])
def test_rounding_values_dtypes_and_zero_gradients(torch, name, fn):
    x = np.array([0.5, 1.5, 2.5, -0.5, -1.5, -2.7, 2.7, 0.0, -0.0, np.inf, -np.inf, np.nan, 1e20])
    for dtype in (np.float64, np.float32):
        theirs = getattr(torch, name)(torch.tensor(x.astype(dtype))).numpy()
        ours = fn(mg.tensor(x.astype(dtype))).numpy()
        np.testing.assert_array_equal(ours, theirs)
        np.testing.assert_array_equal(np.signbit(ours), np.signbit(theirs))  # -0.0 too
        check_against_torch(torch, fn, getattr(torch, name), [x[:9].reshape(3, 3)], dtype=dtype)
    ints = np.array([3, -2, 0])
    y, ty = fn(mg.tensor(ints)), getattr(torch, name)(torch.tensor(ints))
    assert y.dtype == np.int64 and np.array_equal(y.numpy(), ty.numpy())
    g = leaf(np.array([0.3, -1.7]))
    fn(g).backward(mg.tensor([2.0, np.inf], dtype=np.float64))
    np.testing.assert_array_equal(g.grad.numpy(), [0.0, 0.0])       # zeros, even for inf


def test_round_decimals_like_torch(torch):
    x = np.array([1.25, 2.5, 0.125, -0.5, 1234.5678, 125.0, 135.0, 1.005, 2.675, -0.0])
    for decimals in (0, 1, 2, 3, -1, -2):
        for dtype in (np.float32, np.float64):
            ours = mg.round(mg.tensor(x.astype(dtype)), decimals=decimals).numpy()
            theirs = torch.round(torch.tensor(x.astype(dtype)), decimals=decimals).numpy()
            np.testing.assert_array_equal(ours, theirs, err_msg=f"{decimals} {dtype}")
    assert mg.tensor([2.5]).round().tolist() == [2.0]
    with pytest.raises(mg.DTypeError, match="round: decimals needs a floating tensor"):
        mg.round(mg.tensor([12]), decimals=-1)


def test_sign_of_bools_and_nan(torch):
    b = mg.sign(mg.tensor([True, False]))
    assert b.dtype == np.bool_ and b.tolist() == [True, False]
    assert mg.sign(mg.tensor([np.nan])).item() == 0.0 == torch.sign(torch.tensor([np.nan])).item()
    with pytest.raises(mg.DTypeError, match="floor: not defined for bool tensors"):
        mg.floor(mg.tensor([True]))


# ============================================================================ remainder, fmod, div


BINARY = [
    ("remainder", mg.remainder, lambda torch: torch.remainder),
    ("fmod", mg.fmod, lambda torch: torch.fmod),
    ("atan2", mg.atan2, lambda torch: torch.atan2),
    ("hypot", mg.hypot, lambda torch: torch.hypot),
    ("lerp_scalar", lambda a, b: mg.lerp(a, b, 0.3), lambda torch: lambda a, b: torch.lerp(a, b, 0.3)),
    ("lerp_big_weight", lambda a, b: mg.lerp(a, b, 0.8),
     lambda torch: lambda a, b: torch.lerp(a, b, 0.8)),
]
BIDS = [b[0] for b in BINARY]


def _operands(seed: int, shapes_: tuple):
    """A dividend a and a divisor b off the kinks of remainder / fmod: b = +-(1 .. 1.05) and
    a = an integer + (0.3 .. 0.7), so every a / b (broadcast) stays >= 0.1 from an integer."""
    rng = np.random.default_rng(seed)
    b = rng.uniform(1.0, 1.05, shapes_[1]) * rng.choice([-1.0, 1.0], shapes_[1])
    a = rng.integers(-3, 4, shapes_[0]) + rng.uniform(0.3, 0.7, shapes_[0])
    return np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)


@settings(max_examples=10)
@pytest.mark.parametrize("name, fn, torch_fn", BINARY, ids=BIDS)
@given(seed=st.integers(0, 2**16), shapes_=broadcastable_shapes(2, max_dims=2))
def test_binary_gradcheck_and_gradgradcheck(device, name, fn, torch_fn, seed, shapes_):
    a, b = _operands(seed, shapes_)
    check_grads(fn, [leaf(a, device), leaf(b, device)])


@DTYPES
@pytest.mark.parametrize("name, fn, torch_fn", BINARY, ids=BIDS)
def test_binary_like_torch(torch, device, name, fn, torch_fn, dtype):
    a, b = _operands(3, ((3, 4), (4,)))
    check_against_torch(torch, fn, torch_fn(torch), [a, b], device, dtype)


def test_lerp_with_a_tensor_weight(torch):
    rng = np.random.default_rng(0)
    a, b, w = rng.standard_normal((2, 3)), rng.standard_normal((3,)), rng.uniform(-0.5, 1.5, (2, 1))
    for dtype in (np.float64, np.float32):
        check_against_torch(torch, mg.lerp, torch.lerp, [a, b, w], dtype=dtype)
    check_grads(mg.lerp, [leaf(a), leaf(b), leaf(w)])
    assert mg.tensor([1.0, 2.0]).lerp(mg.tensor([3.0, 4.0]), 1.0).tolist() == [3.0, 4.0]
    with pytest.raises(mg.DTypeError, match="lerp: needs floating tensors"):
        mg.lerp(mg.tensor([1]), mg.tensor([2]), 0.5)


def test_remainder_fmod_floor_divide_values_like_torch(torch):
    a = np.array([-3.0, 3.0, -3.0, 3.0, 5.5, -5.5, 1.0, 0.0, -0.0])
    b = np.array([2.0, -2.0, -2.0, 2.0, 1.5, 1.5, 0.1, 3.0, -3.0])
    for dtype in (np.float32, np.float64):
        x, y = a.astype(dtype), b.astype(dtype)
        for name in ("remainder", "fmod", "floor_divide"):
            ours = getattr(mg, name)(mg.tensor(x), mg.tensor(y)).numpy()
            theirs = getattr(torch, name)(torch.tensor(x), torch.tensor(y)).numpy()
            np.testing.assert_array_equal(ours, theirs, err_msg=name)
            np.testing.assert_array_equal(np.signbit(ours), np.signbit(theirs), err_msg=name)
        for mode in ("trunc", "floor", None):
            np.testing.assert_array_equal(
                mg.div(mg.tensor(x), mg.tensor(y), rounding_mode=mode).numpy(),
                torch.div(torch.tensor(x), torch.tensor(y), rounding_mode=mode).numpy())
    with np.errstate(all="raise"):  # division by zero: inf / nan as PyTorch, no warnings
        zero = mg.tensor([-3.0, 3.0, 0.0])
        np.testing.assert_array_equal((zero // 0).numpy(), (torch.tensor([-3.0, 3.0, 0.0]) // 0).numpy())
        assert np.isnan((zero % 0).numpy()).all()


def test_integer_division_keeps_integers_and_refuses_zero(torch):
    a, b = np.array([-7, 7, -6, 5]), np.array([2, 2, -4, -3])
    for name in ("remainder", "fmod", "floor_divide"):
        y = getattr(mg, name)(mg.tensor(a), mg.tensor(b))
        assert y.dtype == np.int64
        np.testing.assert_array_equal(y.numpy(), getattr(torch, name)(torch.tensor(a), torch.tensor(b)).numpy())
    for mode in ("trunc", "floor"):
        y = mg.div(mg.tensor(a), mg.tensor(b), rounding_mode=mode)
        assert y.dtype == np.int64
        np.testing.assert_array_equal(y.numpy(), torch.div(torch.tensor(a), torch.tensor(b),
                                                           rounding_mode=mode).numpy())
    assert mg.div(mg.tensor(a), 2).dtype == np.float32                     # true division
    assert (mg.tensor([5, 7]) % 2.5).tolist() == [0.0, 2.0]               # int % float: float
    for fn in (lambda: mg.tensor([1, 2]) % 0, lambda: mg.tensor([1]) // mg.tensor([0]),
               lambda: mg.fmod(mg.tensor([3]), 0), lambda: mg.div(mg.tensor([3]), 0, rounding_mode="trunc")):
        with pytest.raises(mg.ArgumentError, match="integer division by zero"):
            fn()
    with pytest.raises(mg.DTypeError, match="remainder: not defined for bool"):
        mg.tensor([True]) % mg.tensor([True])


def test_operators_and_reflected_operators(torch):
    x = np.array([[-3.5, 2.25], [7.0, -0.5]])
    t, tt = mg.tensor(x), torch.tensor(x)
    for ours, theirs in ((t % 2, tt % 2), (t // 2, tt // 2), (5 % t, 5 % tt), (5 // t, 5 // tt),
                         (t % t.T, tt % tt.T), (t.remainder(3), tt.remainder(3)),
                         (t.div(2, rounding_mode="floor"), tt.div(2, rounding_mode="floor"))):
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    assert (7 // mg.tensor([2, 3])).tolist() == [3, 2]


def test_rounded_division_has_zero_gradients():
    a, b = leaf(np.array([3.5, -2.0])), leaf(np.array([2.0, 0.75]))
    for mode in ("trunc", "floor"):
        a.grad = b.grad = None
        mg.div(a, b, rounding_mode=mode).sum().backward()
        assert a.grad.tolist() == [0.0, 0.0] and b.grad.tolist() == [0.0, 0.0]


def test_atan2_hypot_dtypes_and_origin(torch):
    assert mg.atan2(mg.tensor([1]), mg.tensor([2])).dtype == np.float32
    with pytest.raises(mg.DTypeError, match="hypot: needs floating tensors"):
        mg.hypot(mg.tensor([3]), mg.tensor([4]))
    a, b = leaf(np.array([0.0])), leaf(np.array([0.0]))
    mg.atan2(a, b).backward(mg.tensor([1.0], dtype=np.float64))
    ta, tb = (torch.tensor([0.0], dtype=torch.float64, requires_grad=True) for _ in range(2))
    torch.atan2(ta, tb).backward(torch.ones(1, dtype=torch.float64))
    assert np.isnan(a.grad.item()) == np.isnan(ta.grad.item())


def test_bad_arguments_name_the_op():
    with pytest.raises(mg.DTypeError, match="sin: input must be a Tensor, got list"):
        mg.sin([1.0, 2.0])
    with pytest.raises(mg.ShapeError, match=r"remainder: shapes \(2,\) and \(3,\) do not broadcast"):
        mg.remainder(mg.ones(2), mg.ones(3))
    with pytest.raises(mg.ArgumentError, match="div: rounding_mode must be one of None, 'trunc', 'floor'"):
        mg.div(mg.ones(2), 2, rounding_mode="round")
    with pytest.raises(mg.DTypeError, match="remainder: operands must be tensors or numbers"):
        mg.remainder(mg.ones(2), "2")
    with pytest.raises(mg.DTypeError, match="round: decimals must be an int"):
        mg.round(mg.ones(2), 1.5)
