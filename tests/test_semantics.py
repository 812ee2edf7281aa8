"""PyTorch's semantics where NumPy's differ: dtypes of float functions of integer tensors,
integer powers, 0-d tensors everywhere, errors catchable as PyTorch raises them, and the
sharp edges found so far (issue 10)."""
from __future__ import annotations

import math

import numpy as np
import pytest

import minigan as mg
import minigan.functional as F
from strategies import check_grads, leaf

# ============================================================================ dtypes

FLOAT_FUNCTIONS = {
    "exp": (mg.exp, "exp"), "log": (mg.log, "log"), "sqrt": (mg.sqrt, "sqrt"),
    "sigmoid": (F.sigmoid, "sigmoid"), "tanh": (F.tanh, "tanh"),
    "div": (lambda x: x / 2, lambda t: t / 2), "rdiv": (lambda x: 2 / x, lambda t: 2 / t),
    "pow_half": (lambda x: x ** 0.5, lambda t: t ** 0.5),
    "pow_float": (lambda x: x ** 2.0, lambda t: t ** 2.0),
    "mul_float": (lambda x: x * 1.5, lambda t: t * 1.5),
}


@pytest.mark.parametrize("name", list(FLOAT_FUNCTIONS))
@pytest.mark.parametrize("dtype", ["int64", "int32", "bool"])
@pytest.mark.parametrize("default", ["float32", "float64"])
def test_float_functions_of_integer_tensors_give_the_default_float(torch, name, dtype, default):
    ours, theirs = FLOAT_FUNCTIONS[name]
    theirs = getattr(torch, theirs) if isinstance(theirs, str) else theirs
    a = np.array([[1, 2], [3, 4]]).astype(dtype)
    old = mg.get_default_dtype()
    mg.set_default_dtype(default)
    torch_old = torch.get_default_dtype()
    torch.set_default_dtype(getattr(torch, default))
    try:
        y, ty = ours(mg.tensor(a)), theirs(torch.tensor(a))
    finally:
        mg.set_default_dtype(old)
        torch.set_default_dtype(torch_old)
    assert str(y.dtype) == str(ty.dtype).replace("torch.", "") == default
    np.testing.assert_allclose(y.numpy(), ty.numpy(), rtol=1e-6)


def test_integer_powers_stay_integer_and_negative_ones_are_refused(torch):
    for dtype in ("int64", "int32", "bool"):
        a = np.array([1, 2, 3]).astype(dtype)
        for e in (0, 1, 2, 3):
            y, ty = mg.tensor(a) ** e, torch.tensor(a) ** e
            assert str(y.dtype) == str(ty.dtype).replace("torch.", ""), (dtype, e)
            assert y.tolist() == ty.tolist()
        with pytest.raises(RuntimeError, match="Integers to negative integer powers"):
            torch.tensor(a) ** -1
        with pytest.raises(RuntimeError, match=r"^pow: integers to negative integer powers are "
                                               r"not allowed"):
            mg.tensor(a) ** -1
    assert (mg.tensor([2, 3]) ** mg.tensor([2, 1])).dtype == np.int64  # int tensor ** int tensor
    assert (2 ** mg.tensor([1, 2])).tolist() == [2, 4]


def test_mean_var_std_of_integers_are_refused_as_pytorch(torch):
    for fn in ("mean", "var", "std"):
        with pytest.raises(RuntimeError):
            getattr(torch, fn)(torch.tensor([1, 2]))
        with pytest.raises(RuntimeError, match=f"^{fn}: could not infer output dtype"):
            getattr(mg, fn)(mg.tensor([1, 2]))


def test_mean_over_an_empty_dim_tuple_reduces_everything(torch):
    a = np.arange(6.0).reshape(2, 3)
    for fn in ("sum", "mean", "var", "std", "amax", "amin"):
        tfn = getattr(torch, fn)
        for keepdim in (False, True):
            y = getattr(mg, fn)(mg.tensor(a), dim=(), keepdim=keepdim)
            ty = tfn(torch.tensor(a), dim=(), keepdim=keepdim)
            assert y.shape == tuple(ty.shape), (fn, keepdim)
            np.testing.assert_allclose(y.numpy(), ty.numpy())


# ============================================================================ 0-d tensors

ZERO_D = {
    "softmax": (lambda x: F.softmax(x, 0), lambda t, T: T.softmax(t, 0)),
    "log_softmax": (lambda x: F.log_softmax(x, -1), lambda t, T: T.log_softmax(t, -1)),
    "sum0": (lambda x: x.sum(0), lambda t, T: t.sum(0)),
    "mean": (lambda x: x.mean(-1, keepdim=True), lambda t, T: t.mean(-1, keepdim=True)),
    "exp": (mg.exp, lambda t, T: t.exp()), "sigmoid": (F.sigmoid, lambda t, T: t.sigmoid()),
    "reshape": (lambda x: x.reshape(1, 1), lambda t, T: t.reshape(1, 1)),
    "unsqueeze": (lambda x: x.unsqueeze(-1), lambda t, T: t.unsqueeze(-1)),
    "flatten": (lambda x: x.flatten(), lambda t, T: t.flatten()),
    "squeeze": (lambda x: x.squeeze(0), lambda t, T: t.squeeze(0)),
    "transpose": (lambda x: x.transpose(0, -1), lambda t, T: t.transpose(0, -1)),
    "t": (lambda x: x.t(), lambda t, T: t.t()),
    "expand": (lambda x: x.expand(2, 3), lambda t, T: t.expand(2, 3)),
    "stack": (lambda x: mg.stack([x, x], -1), lambda t, T: T.stack([t, t], -1)),
    "getitem": (lambda x: x[None, ...], lambda t, T: t[None, ...]),
    "clamp": (lambda x: x.clamp(0.0, 0.5), lambda t, T: t.clamp(0.0, 0.5)),
    "where": (lambda x: mg.where(x > 0, x, -x), lambda t, T: T.where(t > 0, t, -t)),
    "mul": (lambda x: x * mg.ones(2, dtype=mg.float64), lambda t, T: t * T.ones(2, dtype=T.float64)),
    "var": (lambda x: x.var(correction=0), lambda t, T: t.var(correction=0)),
    "layer_norm": (lambda x: F.layer_norm(x.reshape(1), (1,)), lambda t, T: T.nn.functional.layer_norm(t.reshape(1), (1,))),
    "mse": (lambda x: F.mse_loss(x, x * 0.5), lambda t, T: T.nn.functional.mse_loss(t, t * 0.5)),
    "bce_logits": (lambda x: F.binary_cross_entropy_with_logits(x, x * 0 + 1.0),
                   lambda t, T: T.nn.functional.binary_cross_entropy_with_logits(t, t * 0 + 1.0)),
    "clone": (lambda x: x.clone(), lambda t, T: t.clone()),
    "argmax": (lambda x: x.argmax(0).double() + x, lambda t, T: t.argmax(0).double() + t),
}


@pytest.mark.parametrize("name", list(ZERO_D))
def test_zero_dim_tensors_work_as_in_pytorch(torch, name):
    ours, theirs = ZERO_D[name]
    x = mg.tensor(0.7, dtype=mg.float64, requires_grad=True)
    tx = torch.tensor(0.7, dtype=torch.float64, requires_grad=True)
    y, ty = ours(x), theirs(tx, torch)
    assert y.shape == tuple(ty.shape)
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-12)
    g = np.random.default_rng(0).standard_normal(y.shape)
    y.backward(mg.tensor(g))
    ty.backward(torch.tensor(g))
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12, atol=1e-15)


def test_zero_dim_softmax_gradcheck():
    x = leaf(np.array(0.3))
    check_grads(lambda t: F.softmax(t, 0) * t, [x])
    check_grads(lambda t: F.log_softmax(t, -1) * t, [x])


def test_empty_softmax_is_empty(torch):
    assert F.softmax(mg.zeros(0, 3), 0).shape == tuple(torch.softmax(torch.zeros(0, 3), 0).shape)


# ============================================================================ errors as PyTorch raises them

RUNTIME_ERRORS = {
    "matmul": lambda: mg.ones(2, 3) @ mg.ones(2, 3),
    "reshape": lambda: mg.ones(2, 3).reshape(4),
    "view": lambda: mg.ones(2, 3).view(5, -1),
    "broadcast": lambda: mg.ones(2) + mg.ones(3),
    "comparison": lambda: mg.ones(2) < mg.ones(3),
    "linear": lambda: F.linear(mg.ones(2, 3), mg.ones(4, 5)),
    "conv2d": lambda: F.conv2d(mg.ones(1, 3, 5, 5), mg.ones(2, 4, 3, 3)),
    "cross_entropy": lambda: F.cross_entropy(mg.ones(2, 3), mg.tensor([0, 1, 2])),
    "mse": lambda: F.mse_loss(mg.ones(2, 3), mg.ones(3, 2)),
    "cat": lambda: mg.cat([mg.ones(2, 3), mg.ones(2, 4)]),
    "embedding": lambda: F.embedding(mg.tensor([0]), mg.ones(3)),
    "layer_norm": lambda: F.layer_norm(mg.ones(2, 3), (4,)),
    "batch_norm": lambda: F.batch_norm(mg.ones(1, 3), None, None, training=True),
    "sdpa": lambda: F.scaled_dot_product_attention(mg.ones(2, 3), mg.ones(2, 4), mg.ones(2, 4)),
    "dropout": lambda: F.dropout(mg.ones(2), 1.5),
    "softmax_dim": lambda: F.softmax(mg.ones(2), dim=0.5),
    "setitem": lambda: mg.ones(3).__setitem__(slice(None), mg.ones(2)),
    "hook": lambda: _bad_hook(),
    "expand": lambda: mg.ones(2, 3).expand(3, 3),
    "backward_twice": lambda: _twice(),
    "item": lambda: mg.ones(2).item(),
    "mean_int": lambda: mg.tensor([1, 2]).mean(),
}


def _bad_hook():
    x = mg.ones(2, requires_grad=True)
    y = x * 2
    y.register_hook(lambda g: g[:1])
    y.sum().backward()


def _twice():
    y = (mg.ones(2, requires_grad=True) * 2).sum()
    y.backward()
    y.backward()


@pytest.mark.parametrize("name", list(RUNTIME_ERRORS))
def test_errors_pytorch_raises_as_runtime_error_are_runtime_errors(name):
    with pytest.raises(RuntimeError) as info:
        RUNTIME_ERRORS[name]()
    assert isinstance(info.value, mg.MiniganError), type(info.value)
    assert str(info.value).split(":")[0].replace("_", "").replace("()", "").isalnum()  # op first


def test_errors_keep_their_python_classes():
    with pytest.raises(ValueError):
        mg.ones(2, 3).reshape(4)
    with pytest.raises(IndexError):
        mg.ones(2).sum(dim=3)
    with pytest.raises(TypeError):
        mg.tensor(["a"])


# ============================================================================ the list


def test_embedding_max_norm_with_the_inf_norm_matches_torch(torch):
    w = np.array([[4.0, -1.0], [0.5, 0.25], [-3.0, 2.0]])
    idx = np.array([0, 1, 2])
    ours, theirs = mg.tensor(w), torch.tensor(w)
    F.embedding(mg.tensor(idx), ours, max_norm=1.0, norm_type=math.inf)
    torch.nn.functional.embedding(torch.tensor(idx), theirs, max_norm=1.0, norm_type=math.inf)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)
    assert np.abs(ours.numpy()).max(axis=1).max() <= 1.0 + 1e-6


def test_set_default_dtype_takes_only_float32_and_float64(torch):
    for bad in (None, "int64", np.int64, "bool", bool, "float16", "complex64", "nonsense", 3):
        with pytest.raises(TypeError, match="^set_default_dtype: only float32 and float64"):
            mg.set_default_dtype(bad)
        assert mg.get_default_dtype() == np.float32
    assert mg.get_default_dtype() == np.float32
    assert (mg.zeros(2) + 0.5).dtype == np.float32
    with pytest.raises(TypeError):
        torch.set_default_dtype(torch.int64)


def test_a_hook_returning_another_shape_is_refused():
    x = mg.ones(3, requires_grad=True)
    y = x * 2
    y.register_hook(lambda g: g.sum())
    with pytest.raises(mg.ShapeError, match=r"^register_hook: a hook returned a gradient of \(\) "
                                            r"float32 on cpu for a tensor of shape \(3,\)"):
        y.sum().backward()
    z = mg.ones(2, requires_grad=True)
    z.register_hook(lambda g: "nope")
    with pytest.raises(mg.DTypeError, match="^register_hook: a hook returned a str"):
        (z * 1).sum().backward()


@pytest.mark.parametrize("data", [["a", "b"], [1 + 2j], [object()], "abc", None, [[1], [1, 2]]])
def test_tensor_refuses_non_numeric_data(data):
    with pytest.raises((TypeError, ValueError), match="^tensor: cannot build a tensor from"):
        mg.tensor(data)


def test_comparisons_with_mismatched_shapes_name_the_op_and_shapes():
    for op, name in ((lambda a, b: a == b, "eq"), (lambda a, b: a < b, "lt"),
                     (mg.ge, "ge"), (lambda a, b: a.ne(b), "ne")):
        with pytest.raises(mg.ShapeError, match=rf"^{name}: shapes \(2, 3\), \(4,\) do not "
                                                r"broadcast together"):
            op(mg.ones(2, 3), mg.ones(4))


def test_argmax_argmin_take_one_dim_in_range(torch):
    x = mg.ones(2, 3)
    for fn in ("argmax", "argmin"):
        with pytest.raises(TypeError):
            getattr(torch, fn)(torch.ones(2, 3), dim=(0, 1))
        with pytest.raises(mg.DTypeError, match=f"^{fn}: dim must be one int, got \\(0, 1\\)"):
            getattr(mg, fn)(x, dim=(0, 1))
        with pytest.raises(mg.DimError, match=f"^{fn}: dim 2 is out of range"):
            getattr(x, fn)(2)
        assert getattr(x, fn)(dim=1, keepdim=True).shape == (2, 1)
    assert mg.tensor(3.0).argmax(0).item() == 0 and mg.tensor([1.0, 5.0]).argmax().item() == 1


def test_string_and_float_dims_name_the_op():
    x = mg.ones(2, 3)
    with pytest.raises(mg.DTypeError, match="^sum: dim must be an int, got '0'"):
        x.sum(axis="0")
    with pytest.raises(mg.DTypeError, match="^min: dim must be an int, got 1.5"):
        mg.min(x, 1.5)
