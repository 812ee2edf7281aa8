"""Elementwise ops: gradcheck + gradgradcheck on hypothesis shapes (broadcasting, size-1
axes, 0-d), forward/backward against PyTorch, dtype rules for scalars and ints, errors."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigan as mg
from strategies import (broadcastable_shapes, check_against_torch, check_grads, float_arrays,
                        leaf, positive_arrays, shapes)

# name -> (minigan fn, torch fn name, strategy of the second operand's values)
BINARY = {
    "add": (mg.add, "add"),
    "sub": (mg.sub, "sub"),
    "mul": (mg.mul, "mul"),
    "div": (mg.div, "div"),
    "maximum": (mg.maximum, "maximum"),
    "minimum": (mg.minimum, "minimum"),
    "pow": (mg.pow, "pow"),
}


def _binary_values(draw, name, s0, s1):
    """Operands kept off the op's bad points: divisors away from 0, positive pow bases,
    no ties for maximum/minimum (values distinct across both operands)."""
    if name in ("maximum", "minimum"):
        n0 = int(np.prod(s0, dtype=np.int64))
        both = draw(float_arrays((n0 + int(np.prod(s1, dtype=np.int64)),), distinct=True))
        return both[:n0].reshape(s0), both[n0:].reshape(s1)
    if name == "pow":
        return draw(positive_arrays(s0)), draw(float_arrays(s1, -2.0, 2.0))
    if name == "div":
        return draw(float_arrays(s0)), draw(float_arrays(s1, -2.0, 2.0, kinks=(0.0,), gap=0.5))
    return draw(float_arrays(s0)), draw(float_arrays(s1))


@pytest.mark.parametrize("name", sorted(BINARY))
@given(data=st.data(), pair=broadcastable_shapes(2))
def test_binary_gradcheck(device, name, data, pair):
    a, b = _binary_values(data.draw, name, *pair)
    fn = BINARY[name][0]
    check_grads(fn, [leaf(a, device), leaf(b, device)])


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_only_one_input_needs_grad(device, name):
    a, b = np.array([[1.5, 0.7, 1.2]]), np.array([[0.9], [1.3]])
    fn = BINARY[name][0]
    x, y = leaf(a, device), leaf(b, device, requires_grad=False)
    check_grads(fn, [x, y])
    check_grads(fn, [leaf(a, device, requires_grad=False), leaf(b, device)])


@pytest.mark.parametrize("name", sorted(BINARY))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_binary_matches_torch(torch, name, dtype):
    rng = np.random.default_rng(3)
    a = rng.uniform(0.5, 2.0, (2, 1, 3))
    b = rng.uniform(0.5, 2.0, (4, 1))
    fn, torch_name = BINARY[name]
    check_against_torch(torch, fn, getattr(torch, torch_name), [a, b], dtype=dtype)


@pytest.mark.parametrize("name", ["maximum", "minimum"])
def test_extremum_ties_split_gradient_like_torch(torch, name):
    a, b = np.array([1.0, 2.0, 3.0]), np.array([1.0, 0.0, 5.0])
    fn, torch_name = BINARY[name]
    check_against_torch(torch, fn, getattr(torch, torch_name), [a, b])
    x, y = leaf(a), leaf(b)
    fn(x, y).sum().backward()
    assert x.grad.numpy()[0] == 0.5 and y.grad.numpy()[0] == 0.5


# ============================================================================ unary ops

UNARY = {  # name -> (fn, torch fn, values strategy for a shape)
    "neg": (mg.neg, lambda t: -t, lambda s: float_arrays(s)),
    "exp": (mg.exp, "exp", lambda s: float_arrays(s)),
    "log": (mg.log, "log", positive_arrays),
    "sqrt": (mg.sqrt, "sqrt", positive_arrays),
    "abs": (mg.abs, "abs", lambda s: float_arrays(s, kinks=(0.0,))),
    "clamp": (lambda x: mg.clamp(x, -0.5, 1.0), lambda t: t.clamp(-0.5, 1.0),
              lambda s: float_arrays(s, kinks=(-0.5, 1.0))),
    "clamp_min": (lambda x: mg.clamp(x, min=0.2), lambda t: t.clamp(min=0.2),
                  lambda s: float_arrays(s, kinks=(0.2,))),
    "clamp_max": (lambda x: x.clamp(max=-0.3), lambda t: t.clamp(max=-0.3),
                  lambda s: float_arrays(s, kinks=(-0.3,))),
}


@pytest.mark.parametrize("name", sorted(UNARY))
@given(data=st.data(), shape=shapes())
def test_unary_gradcheck(device, name, data, shape):
    fn, _, values = UNARY[name]
    check_grads(fn, [leaf(data.draw(values(shape)), device)])


@pytest.mark.parametrize("name", sorted(UNARY))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_unary_matches_torch(torch, name, dtype):
    fn, torch_fn, _ = UNARY[name]
    torch_fn = getattr(torch, torch_fn) if isinstance(torch_fn, str) else torch_fn
    a = np.random.default_rng(4).uniform(0.3, 2.0, (3, 4)) * np.array([1, -1, 1, -1])
    if name in ("log", "sqrt"):
        a = np.abs(a)
    check_against_torch(torch, fn, torch_fn, [a], dtype=dtype)


@pytest.mark.parametrize("exponent", [0, 1, 2, 3, 0.5, -1, -1.5, 2.5])
@given(data=st.data(), shape=shapes())
def test_pow_scalar_gradcheck(device, exponent, data, shape):
    x = leaf(data.draw(positive_arrays(shape)), device)
    check_grads(lambda t: t ** exponent, [x])


@pytest.mark.parametrize("exponent", [0, 2, 3, -1.5, 0.5])
def test_pow_scalar_matches_torch(torch, exponent):
    a = np.random.default_rng(5).uniform(0.5, 2.0, (2, 3))
    check_against_torch(torch, lambda t: t ** exponent, lambda t: t ** exponent, [a])
    check_against_torch(torch, lambda t: t ** exponent, lambda t: t ** exponent, [a],
                        dtype=np.float32)


def test_rpow_and_reflected_ops_match_torch(torch):
    a = np.random.default_rng(6).uniform(0.5, 2.0, (2, 3))
    check_against_torch(torch, lambda t: 2.0 ** t, lambda t: 2.0 ** t, [a])
    check_against_torch(torch, lambda t: 3.0 - t / 2.0, lambda t: 3.0 - t / 2.0, [a])
    check_against_torch(torch, lambda t: 1.5 / t + 2 * t, lambda t: 1.5 / t + 2 * t, [a])


@given(data=st.data(), shape=shapes())
def test_abs_gradient_is_zero_at_zero(data, shape):
    x = leaf(np.zeros(shape))
    g = data.draw(float_arrays(shape))
    mg.abs(x).backward(mg.tensor(g))
    assert np.all(x.grad.numpy() == 0)


def test_clamp_gradient_passes_at_the_bounds_like_torch(torch):
    a = np.array([-1.0, -0.5, 0.0, 1.0, 2.0])
    check_against_torch(torch, lambda t: mg.clamp(t, -0.5, 1.0), lambda t: t.clamp(-0.5, 1.0), [a])


# ============================================================================ where


@given(data=st.data(), triple=broadcastable_shapes(3))
def test_where_gradcheck_broadcasting(device, data, triple):
    sc, s0, s1 = triple
    cond = data.draw(float_arrays(sc)) > 0
    a, b = data.draw(float_arrays(s0)), data.draw(float_arrays(s1))
    check_grads(lambda x, y: mg.where(mg.tensor(cond, device=device), x, y),
                [leaf(a, device), leaf(b, device)])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_where_matches_torch(torch, dtype):
    rng = np.random.default_rng(7)
    cond = rng.uniform(size=(2, 1, 3)) > 0.5
    a, b = rng.standard_normal((4, 1)), rng.standard_normal((3,))
    check_against_torch(torch, lambda x, y: mg.where(cond, x, y),
                        lambda x, y: torch.where(torch.tensor(cond), x, y), [a, b], dtype=dtype)


def test_where_with_scalars_and_tensor_condition():
    x = mg.tensor([1.0, -2.0, 3.0], requires_grad=True)
    y = mg.where(x > 0, x, 0.0)
    assert y.dtype == np.float32 and y.tolist() == [1.0, 0.0, 3.0]
    y.sum().backward()
    assert x.grad.tolist() == [1.0, 0.0, 1.0]
    z = mg.where(np.array([True, False]), 1.0, 2.0)
    assert z.tolist() == [1.0, 2.0] and z.dtype == np.float32


# ============================================================================ dtype rules


def test_python_numbers_where_pytorch_wants_tensors_are_refused():
    x = mg.ones(3)
    for fn in (mg.exp, mg.log, mg.sqrt, mg.neg, mg.functional.relu, mg.sin):
        with pytest.raises(TypeError, match=f"^{fn.__name__}: input must be a Tensor, got float"):
            fn(3.0)
    for fn in (mg.maximum, mg.minimum, mg.atan2, mg.hypot):
        with pytest.raises(TypeError, match=f"^{fn.__name__}: other must be a Tensor, got float"):
            fn(x, 0.5)
    for fn in (mg.add, mg.mul, mg.eq, mg.pow):
        with pytest.raises(TypeError, match=f"^{fn.__name__}: other must be a Tensor or a number, "
                                            f"got str"):
            fn(x, "a")
    with pytest.raises(TypeError, match="sub: subtraction with a bool operand"):
        mg.tensor([1, 2]) - True


def test_python_scalars_keep_the_tensor_dtype():
    for dtype in (np.float32, np.float64):
        x = mg.ones(3, dtype=dtype)
        for y in (x + 1, 1 + x, x * 2.5, x / 3, 2.0 - x, x ** 2, 2 ** x, mg.clamp(x, min=0.5),
                  x + np.float64(1.0), x * True):
            assert y.dtype == dtype


def test_integer_tensors_and_scalars():
    i = mg.tensor([1, 2, 3])
    assert i.dtype == np.int64
    assert (i * 2).dtype == np.int64 and (i * 2).tolist() == [2, 4, 6]
    assert (i + 0.5).dtype == np.float32          # an int tensor with a float: default float
    assert (i / 2).dtype == np.float32 and (i / 2).tolist() == [0.5, 1.0, 1.5]
    assert (i + mg.ones(3)).dtype == np.float32   # int tensor + float tensor: the float dtype
    assert (mg.ones(3, dtype="float64") * i).dtype == np.float64
    b = mg.tensor([True, False])
    assert (b + 1).dtype == np.int64 and (b + 1).tolist() == [2, 1]


def test_zero_dim_tensors():
    x = mg.tensor(2.0, requires_grad=True)
    y = x * mg.tensor([1.0, 2.0]) + x ** 2
    assert y.shape == (2,)
    y.sum().backward()
    assert x.shape == () and x.grad.shape == () and x.grad.item() == pytest.approx(3.0 + 8.0)


def test_cast_between_float_dtypes_is_differentiable():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = x.double()
    assert y.dtype == np.float64
    (y * y).sum().backward()
    assert x.grad.dtype == np.float32 and x.grad.tolist() == [2.0, 4.0]
    assert mg.cast(x, "float32") is x
    assert mg.cast(mg.tensor([1.7]), "int64").tolist() == [1]


def test_comparisons_give_bool_tensors_without_grad():
    x = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    for y, expected in ((x > 1.5, [False, True, True]), (x <= 2, [True, True, False]),
                        (x == 2.0, [False, True, False]), (x != mg.tensor([1.0, 0.0, 3.0]),
                                                           [False, True, False]),
                        (x >= 3, [False, False, True]), (x < 2, [True, False, False])):
        assert y.dtype == np.bool_ and y.tolist() == expected and not y.requires_grad
    assert (x == None) is False  # noqa: E711  (Python falls back to identity, as PyTorch)
    assert (x != "a") is True
    assert len({x, x, mg.tensor([1.0])}) == 2  # hashed by identity


# ============================================================================ errors


def test_mixed_float_dtypes_name_the_op_dtypes_and_shapes():
    with pytest.raises(TypeError, match=r"mul: inputs on different dtypes: \(2, 3\) float32.*"
                                        r"\(3,\) float64"):
        mg.ones(2, 3) * mg.ones(3, dtype="float64")


def test_bad_broadcast_names_the_op_and_shapes():
    with pytest.raises(ValueError, match=r"add: .*\(2, 3\), \(4,\)"):
        mg.ones(2, 3) + mg.ones(4)
    with pytest.raises(ValueError, match=r"where: .*\(2,\), \(3,\)"):
        mg.where(np.array([True, False]), mg.ones(2), mg.ones(3))


def test_clamp_needs_a_bound():
    with pytest.raises(ValueError, match="clamp"):
        mg.clamp(mg.ones(2))


def test_float16_is_refused():
    with pytest.raises(TypeError, match="float16"):
        mg.cast(mg.ones(2), "float16")


def test_pow_at_zero_follows_torch(torch):
    a, b = np.array([0.0, 0.0, 2.0, 0.0]), np.array([0.0, 2.0, 3.0, 1.0])
    with np.errstate(all="ignore"):  # first order: PyTorch's second derivative there is NaN
        check_against_torch(torch, mg.pow, torch.pow, [a, b], second=False)


def test_clamp_with_tensor_bounds_matches_torch(torch):
    rng = np.random.default_rng(0)
    a, lo, hi = rng.standard_normal((3, 4)), rng.standard_normal(4) - 0.5, rng.standard_normal(4) + 0.5
    check_against_torch(torch, lambda x, l, h: mg.clamp(x, l, h),
                        lambda x, l, h: torch.clamp(x, l, h), [a, lo, hi])
    check_against_torch(torch, lambda x, l: x.clamp(min=l), lambda x, l: x.clamp(min=l), [a, lo])
    with pytest.raises(TypeError, match="clamp: min must be a number or a Tensor, got str"):
        mg.clamp(mg.ones(2), "0")


def test_backward_returning_a_wrong_dtype_is_reported():
    class Wrong(mg.Function):
        def forward(self, x):
            return x * 2

        def backward(self, gy):
            return gy.double()

    x = mg.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"wrong: backward gave a gradient of \(2,\) float64 "
                                           r"on cpu for an input of \(2,\) float32"):
        Wrong()(x).sum().backward()
