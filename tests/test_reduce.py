"""Reductions: sum, mean, max, min, var, std (axis, negative axes, tuples, keepdims),
broadcast_to / sum_to, argmax/argmin; gradchecks, PyTorch, ties and errors."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigan as mg
from strategies import (axes_for, broadcastable_shapes, check_against_torch, check_grads,
                        float_arrays, leaf, shapes)

REDUCTIONS = {
    "sum": mg.sum, "mean": mg.mean, "max": mg.amax, "min": mg.amin,  # max(x, dim): (values, indices)
    "var": mg.var, "std": mg.std,
}


def _torch_reduce(torch, name, axis, keepdims):
    fns = {"sum": torch.sum, "mean": torch.mean, "max": torch.amax, "min": torch.amin,
           "var": torch.var, "std": torch.std}
    return lambda t: fns[name](t, dim=tuple(range(t.ndim)) if axis is None else axis,
                               keepdim=keepdims)


@pytest.mark.parametrize("name", sorted(REDUCTIONS))
@given(data=st.data(), shape=shapes(max_dims=3), keepdims=st.booleans())
def test_reduction_gradcheck(device, name, data, shape, keepdims):
    axis = data.draw(axes_for(len(shape)))
    n = int(np.prod([shape[a] for a in np.atleast_1d(axis)] if axis is not None and shape
                    else shape, dtype=np.int64))
    if name in ("var", "std") and n < 2:
        axis, keepdims = None, keepdims  # one sample has no variance: reduce everything
        if int(np.prod(shape, dtype=np.int64)) < 2:
            shape = (2,) + tuple(shape)
    a = data.draw(float_arrays(shape, distinct=name in ("max", "min", "std")))
    check_grads(lambda x: REDUCTIONS[name](x, axis, keepdims), [leaf(a, device)])


@pytest.mark.parametrize("name", sorted(REDUCTIONS))
@pytest.mark.parametrize("axis", [None, 0, -1, (0, 2), (-1, 1)])
@pytest.mark.parametrize("keepdims", [False, True])
def test_reduction_matches_torch(torch, name, axis, keepdims):
    a = np.random.default_rng(8).standard_normal((3, 4, 2))
    ours = lambda x: REDUCTIONS[name](x, axis, keepdims)  # noqa: E731
    theirs = _torch_reduce(torch, name, axis, keepdims)
    check_against_torch(torch, ours, theirs, [a])
    check_against_torch(torch, ours, theirs, [a], dtype=np.float32)


def test_torch_spelling_dim_keepdim_and_methods():
    x = mg.tensor(np.arange(6.0).reshape(2, 3))
    assert x.sum(dim=1, keepdim=True).shape == (2, 1)
    assert x.mean(dim=-1).tolist() == [1.0, 4.0]
    assert x.max(0).values.tolist() == [3.0, 4.0, 5.0] and x.min(axis=1).values.tolist() == [0.0, 3.0]
    assert x.var(correction=0).item() == pytest.approx(np.var(np.arange(6.0)))
    assert x.std(unbiased=False).item() == pytest.approx(np.std(np.arange(6.0)))
    with pytest.raises(TypeError, match="axis or dim"):
        x.sum(0, dim=1)


def test_max_ties_share_the_gradient_like_torch_amax(torch):
    a = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]])
    check_against_torch(torch, lambda x: mg.amax(x, 1), lambda t: torch.amax(t, 1), [a])
    check_against_torch(torch, lambda x: mg.min(x), lambda t: torch.amin(t), [a])
    x = leaf(a)
    mg.amax(x, axis=1).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [[0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]])


def test_zero_dim_reductions():
    x = leaf(np.array(2.5))
    for name in ("sum", "mean", "max", "min"):
        y = REDUCTIONS[name](x)
        assert y.shape == () and y.item() == 2.5
        assert REDUCTIONS[name](x, 0, keepdims=True).shape == ()
    check_grads(lambda t: t.sum(-1) * t.max(), [x])


def test_integer_sum_and_max():
    i = mg.tensor([[1, 2], [3, 4]])
    assert i.sum().item() == 10 and i.sum().dtype == np.int64
    assert i.max(axis=0).values.tolist() == [3, 4]


def test_float32_stays_float32():
    x = mg.ones(2, 3)
    for name in REDUCTIONS:
        assert REDUCTIONS[name](x, 1).dtype == np.float32, name


def test_argmax_argmin():
    x = mg.tensor([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]])
    assert x.argmax().item() == 3 and x.argmax(axis=1).tolist() == [1, 0]
    assert x.argmin(axis=0).tolist() == [0, 1, 0]
    assert not x.argmax().requires_grad


# ============================================================================ broadcast_to / sum_to


@given(data=st.data(), pair=broadcastable_shapes(2))
def test_broadcast_to_and_sum_to_gradcheck(device, data, pair):
    source = pair[0]
    target = np.broadcast_shapes(*pair)
    a = data.draw(float_arrays(source))
    check_grads(lambda x: mg.broadcast_to(x, target), [leaf(a, device)])
    b = data.draw(float_arrays(target))
    check_grads(lambda x: mg.sum_to(x, source), [leaf(b, device)])


def test_sum_to_is_the_adjoint_of_broadcast_to():
    rng = np.random.default_rng(9)
    x, g = rng.standard_normal((3, 1)), rng.standard_normal((2, 3, 4))
    lhs = (mg.broadcast_to(mg.tensor(x), (2, 3, 4)).numpy() * g).sum()
    rhs = (x * mg.sum_to(mg.tensor(g), (3, 1)).numpy()).sum()
    assert lhs == pytest.approx(rhs)


# ============================================================================ errors


def test_axis_out_of_range_names_the_op():
    x = mg.ones(2, 3)
    with pytest.raises(IndexError, match=r"sum: dim 2 is out of range for a tensor with 2 dims"):
        x.sum(2)
    with pytest.raises(IndexError, match=r"max: dim -3"):
        x.max(-3)
    with pytest.raises(ValueError, match="mean: dim .* repeats an axis"):
        x.mean((1, -1))


def test_max_of_empty_names_the_op_and_shape():
    with pytest.raises(ValueError, match=r"max: cannot reduce an empty tensor of shape \(0, 2\)"):
        mg.max(mg.zeros(0, 2))


def test_mean_of_integers_is_refused():
    with pytest.raises(TypeError, match="mean: could not infer output dtype"):
        mg.mean(mg.tensor([1, 2]))


def test_broadcast_to_bad_shape_names_shapes():
    with pytest.raises(ValueError, match=r"broadcast_to: cannot broadcast shape \(2, 3\) to \(3, 3\)"):
        mg.broadcast_to(mg.ones(2, 3), (3, 3))


@pytest.mark.filterwarnings("ignore")
def test_var_of_one_sample_is_nan_like_torch(torch):
    with np.errstate(all="ignore"):
        v = mg.var(mg.tensor([1.0]))
    assert np.isnan(v.item()) and np.isnan(torch.var(torch.tensor([1.0])).item())
