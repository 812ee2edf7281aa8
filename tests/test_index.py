"""Indexing and masking (ops/index.py): gather, scatter, scatter_add, index_select,
take_along_dim, masked_select, masked_fill, tril, triu, nonzero, one_hot. Each against a
NumPy reference, finite differences (first and second order) and PyTorch (float32 and
float64: forward, backward, double backward), and the errors."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigan as mg
import minigan.functional as F
from strategies import check_against_torch, check_grads, float_arrays, leaf, shapes

DTYPES = st.sampled_from([np.float64, np.float32])


def _index(a, device):
    return mg.tensor(np.asarray(a, dtype=np.int64), device=device)


@st.composite
def gather_cases(draw, unique: bool = False):
    """(input shape, dim, index) with index no larger than the input but on dim (where
    it may be longer); ``unique``: no place named twice along dim (for scatter)."""
    shape = draw(shapes(min_dims=1, max_dims=3))
    dim = draw(st.integers(-len(shape), len(shape) - 1))
    d = dim % len(shape)
    rng = np.random.default_rng(draw(st.integers(0, 2**31)))
    sizes = [draw(st.integers(1, n)) for n in shape]
    if unique:
        sizes[d] = draw(st.integers(1, shape[d]))
        keys = rng.random(tuple(sizes[:d]) + (shape[d],) + tuple(sizes[d + 1:]))
        index = np.take(keys.argsort(axis=d), np.arange(sizes[d]), axis=d)
    else:
        sizes[d] = draw(st.integers(0, 4))
        index = rng.integers(0, shape[d], sizes)
    return shape, dim, index


# ============================================================================ gather


@given(gather_cases(), st.data())
def test_gather_matches_numpy_and_finite_differences(device, case, data):
    shape, dim, index = case
    a = data.draw(float_arrays(shape))
    y = mg.gather(leaf(a, device), dim, _index(index, device))
    d = dim % len(shape)
    part = a[tuple(slice(0, n) if i != d else slice(None) for i, n in enumerate(index.shape))]
    np.testing.assert_array_equal(y.numpy(), np.take_along_axis(part, index, axis=d))
    check_grads(lambda x: x.gather(dim, _index(index, device)), [leaf(a, device)])


@settings(max_examples=15)
@given(gather_cases(), DTYPES)
def test_gather_like_torch(device, torch, case, dtype):
    shape, dim, index = case
    a = np.random.default_rng(0).standard_normal(shape)
    check_against_torch(torch, lambda x, i: mg.gather(x, dim, i),
                        lambda x, i: torch.gather(x, dim, i), [a, index], device, dtype)


def test_gather_zero_d_and_empty(device):
    s = leaf(np.array(3.0), device)
    assert mg.gather(s, 0, _index(0, device)).item() == 3.0
    y = mg.gather(leaf(np.ones((2, 3)), device), 1, _index(np.zeros((0, 3)), device))
    assert y.shape == (0, 3)


# ============================================================================ scatter / scatter_add


@settings(max_examples=10)
@given(gather_cases(unique=True), st.data())
def test_scatter_finite_differences(device, case, data):
    shape, dim, index = case
    a = data.draw(float_arrays(shape))
    src = data.draw(float_arrays(tuple(n + 1 for n in index.shape)))   # larger than index
    i = _index(index, device)
    check_grads(lambda x, s: mg.scatter(x, dim, i, s), [leaf(a, device), leaf(src, device)])
    check_grads(lambda x, s: mg.scatter_add(x, dim, i, s), [leaf(a, device), leaf(src, device)])
    check_grads(lambda x: x.scatter(dim, i, 1.5), [leaf(a, device)])
    check_grads(lambda x, s: x.scatter(dim, i, s, reduce="add"),
                [leaf(a, device), leaf(src, device)])


@settings(max_examples=15)
@given(gather_cases(unique=True), DTYPES)
def test_scatter_like_torch(device, torch, case, dtype):
    shape, dim, index = case
    rng = np.random.default_rng(1)
    a, src = rng.standard_normal(shape), rng.standard_normal(index.shape)
    check_against_torch(torch, lambda x, i, s: mg.scatter(x, dim, i, s),
                        lambda x, i, s: torch.scatter(x, dim, i, s), [a, index, src], device,
                        dtype)
    check_against_torch(torch, lambda x, i: x.scatter(dim, i, -2.0),
                        lambda x, i: x.scatter(dim, i, -2.0), [a, index], device, dtype)


@settings(max_examples=15)
@given(gather_cases(), DTYPES)
def test_scatter_add_like_torch(device, torch, case, dtype):
    """Repeated indices add up."""
    shape, dim, index = case
    rng = np.random.default_rng(2)
    a, src = rng.standard_normal(shape), rng.standard_normal(index.shape)
    check_against_torch(torch, lambda x, i, s: mg.scatter_add(x, dim, i, s),
                        lambda x, i, s: torch.scatter_add(x, dim, i, s), [a, index, src], device,
                        dtype)


@pytest.mark.filterwarnings("ignore:The reduce argument of torch.scatter")
def test_scatter_with_repeated_indices_follows_torch(device, torch):
    """Which duplicate lands is unspecified, but PyTorch gives every source the gradient of
    its place (gather), and so do we; reduce='add' / 'multiply' combine all of them."""
    index = np.array([[0, 1, 0], [1, 1, 1]])
    rng = np.random.default_rng(3)
    a, src = rng.standard_normal((2, 3)), rng.standard_normal((2, 3))
    x, s = leaf(a, device), leaf(src, device)
    tx, ts = torch.tensor(a, requires_grad=True), torch.tensor(src, requires_grad=True)
    y, ty = mg.scatter(x, 1, _index(index, device), s), torch.scatter(tx, 1, torch.tensor(index), ts)
    g = rng.standard_normal((2, 3))
    y.backward(mg.tensor(g, device=device))
    ty.backward(torch.tensor(g))
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy())
    np.testing.assert_allclose(s.grad.numpy(), ts.grad.numpy())
    for reduce in ("add", "multiply"):
        ours = mg.scatter(mg.tensor(a), 1, _index(index, device), mg.tensor(src), reduce=reduce)
        theirs = torch.tensor(a).scatter(1, torch.tensor(index), torch.tensor(src), reduce=reduce)
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12)
        ours = mg.tensor(a).scatter(1, _index(index, device), 2.0, reduce=reduce)
        theirs = torch.tensor(a).scatter(1, torch.tensor(index), 2.0, reduce=reduce)
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12)
    y = mg.scatter(leaf(a, device), 1, _index(index, device), leaf(src, device), reduce="multiply")
    with pytest.raises(mg.ArgumentError, match="scatter: reduce='multiply' has no gradient"):
        y.sum().backward()


# ============================================================================ index_select / take_along_dim


@given(shapes(min_dims=1, max_dims=3), st.data())
def test_index_select_repeats_and_finite_differences(device, shape, data):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    index = np.array(data.draw(st.lists(st.integers(0, shape[dim] - 1), max_size=4)), dtype=np.int64)
    a = data.draw(float_arrays(shape))
    y = mg.index_select(leaf(a, device), dim, _index(index, device))
    np.testing.assert_array_equal(y.numpy(), np.take(a, index, axis=dim))
    check_grads(lambda x: x.index_select(dim, _index(index, device)), [leaf(a, device)])


@settings(max_examples=10)
@given(shapes(min_dims=1, max_dims=3), st.data(), DTYPES)
def test_index_select_like_torch(device, torch, shape, data, dtype):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    index = np.array(data.draw(st.lists(st.integers(0, shape[dim] - 1), min_size=1, max_size=4)))
    a = np.random.default_rng(4).standard_normal(shape)
    check_against_torch(torch, lambda x, i: mg.index_select(x, dim, i),
                        lambda x, i: torch.index_select(x, dim, i), [a, index], device, dtype)


def test_index_select_zero_d_index_and_input(device):
    x = leaf(np.arange(6.0).reshape(2, 3), device)
    assert mg.index_select(x, 1, _index(1, device)).shape == (2, 1)
    assert mg.index_select(leaf(np.array(3.0), device), 0, _index([0], device)).shape == ()


@given(st.data())
def test_take_along_dim_broadcasts_like_torch(torch, data):
    """indices broadcast with the input on the other dims; dim None flattens; negative
    indices count from the end (PyTorch's take_along_dim, unlike gather)."""
    shape = data.draw(shapes(min_dims=1, max_dims=3))
    dim = data.draw(st.integers(0, len(shape) - 1))
    rng = np.random.default_rng(data.draw(st.integers(0, 100)))
    ishape = tuple(data.draw(st.sampled_from([1, n])) for n in shape)
    ishape = ishape[:dim] + (data.draw(st.integers(1, 3)),) + ishape[dim + 1:]
    index = rng.integers(-shape[dim], shape[dim], ishape)
    a = rng.standard_normal(tuple(1 if data.draw(st.booleans()) and i != dim else n
                                  for i, n in enumerate(shape)))
    check_against_torch(torch, lambda x, i: mg.take_along_dim(x, i, dim),
                        lambda x, i: torch.take_along_dim(x, i, dim), [a, index])
    flat = rng.integers(0, a.size, 4)
    check_against_torch(torch, lambda x, i: x.take_along_dim(i), lambda x, i: x.take_along_dim(i),
                        [a, flat])


# ============================================================================ masks


@given(st.data())
def test_masked_select_and_fill_like_torch(torch, data):
    """The mask broadcasts with the input (the result takes the broadcast shape); a 0-d
    tensor value gets the gradient of the filled places."""
    shape_x, shape_m = data.draw(st.sampled_from([((2, 3), (3,)), ((3,), (2, 3)), ((2, 1), (1, 4)),
                                                  ((), ()), ((2, 3), (2, 3))]))
    dtype = data.draw(DTYPES)
    rng = np.random.default_rng(data.draw(st.integers(0, 100)))
    a, mask = rng.standard_normal(shape_x), rng.random(shape_m) > 0.5
    check_against_torch(torch, mg.masked_select, torch.masked_select, [a, mask], dtype=dtype)
    check_against_torch(torch, lambda x, m: x.masked_fill(m, 0.25),
                        lambda x, m: x.masked_fill(m, 0.25), [a, mask], dtype=dtype)
    check_against_torch(torch, lambda x, m, v: x.masked_fill(m, v),
                        lambda x, m, v: x.masked_fill(m, v), [a, mask, np.array(1.5)], dtype=dtype)


def test_masked_fill_keeps_the_input_dtype(device):
    m = mg.tensor(np.array([True, False, True]), device=device)
    ints = mg.tensor(np.arange(3), device=device).masked_fill(m, 1.7)
    assert ints.dtype == np.int64 and ints.tolist() == [1, 1, 1]          # as torch: truncated
    y = mg.ones(3, device=device).masked_fill(m, mg.tensor(2.0, dtype="float64", device=device))
    assert y.dtype == np.float32 and y.tolist() == [2.0, 1.0, 2.0]
    v = leaf(np.array(2.0), device)
    mg.ones(2, 3, dtype="float64", device=device).masked_fill(m, v).sum().backward()
    assert v.grad.item() == 4.0
    check_grads(lambda x, v: mg.masked_fill(x, m, v), [leaf(np.ones((2, 3)), device),
                                                        leaf(np.array(0.5), device)])


@given(shapes(min_dims=2, max_dims=4), st.integers(-4, 4), st.data())
def test_tril_triu(device, shape, diagonal, data):
    a = data.draw(float_arrays(shape))
    np.testing.assert_array_equal(mg.tril(leaf(a, device), diagonal).numpy(), np.tril(a, diagonal))
    np.testing.assert_array_equal(leaf(a, device).triu(diagonal).numpy(), np.triu(a, diagonal))
    check_grads(lambda x: mg.tril(x, diagonal) + mg.triu(x * x, diagonal), [leaf(a, device)])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_tril_triu_like_torch(torch, dtype):
    a = np.random.default_rng(5).standard_normal((2, 3, 4))
    for k in (-1, 0, 2):
        check_against_torch(torch, lambda x: mg.tril(x, k), lambda x: torch.tril(x, k), [a],
                            dtype=dtype)
        check_against_torch(torch, lambda x: mg.triu(x, k), lambda x: torch.triu(x, k), [a],
                            dtype=dtype)
    b = np.random.default_rng(5).random((3, 3)) > 0.5
    assert mg.triu(mg.tensor(b)).dtype == np.bool_
    np.testing.assert_array_equal(mg.triu(mg.tensor(b)).numpy(), torch.triu(torch.tensor(b)).numpy())


# ============================================================================ nonzero / one_hot


@pytest.mark.parametrize("a", [np.array([[0.0, 1.5, 0.0], [2.0, 0.0, np.nan]]), np.array(3.0),
                               np.array(0.0), np.zeros((0, 3)), np.array([True, False])])
def test_nonzero_like_torch(torch, a):
    ours, theirs = mg.nonzero(mg.tensor(a)), torch.nonzero(torch.tensor(a))
    assert ours.dtype == np.int64 and ours.shape == tuple(theirs.shape)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    ours, theirs = mg.tensor(a).nonzero(as_tuple=True), torch.tensor(a).nonzero(as_tuple=True)
    assert len(ours) == len(theirs)
    for o, t in zip(ours, theirs):
        np.testing.assert_array_equal(o.numpy(), t.numpy())


def test_one_hot_like_torch(torch):
    for labels, n in (([0, 2], -1), ([0, 2], 4), ([[1], [0]], 3), (1, 3), ([], 3)):
        ours = F.one_hot(mg.tensor(np.array(labels, dtype=np.int64)), n)
        theirs = torch.nn.functional.one_hot(torch.tensor(labels, dtype=torch.int64), n)
        assert ours.dtype == np.int64
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


# ============================================================================ errors


def _x(*shape):
    return mg.zeros(*shape)


@pytest.mark.parametrize("call, error, message", [
    (lambda: mg.gather(_x(2, 3), 1, _index([[3]], "cpu")), mg.DimError,
     r"gather: index 3 is out of bounds for dim 1 with size 3"),
    (lambda: mg.gather(_x(2, 3), 1, _index([[-1]], "cpu")), mg.DimError, r"gather: index -1"),
    (lambda: mg.gather(_x(2, 3), 1, _index([0], "cpu")), mg.ShapeError,
     r"gather: index \(1,\) must have as many dims as the input \(2, 3\)"),
    (lambda: mg.gather(_x(2, 3), 1, _index([[0], [0], [0]], "cpu")), mg.ShapeError,
     r"gather: index \(3, 1\) must be no larger than the input \(2, 3\) on every dim but dim 1"),
    (lambda: mg.gather(_x(2, 3), 1, mg.tensor([[0.0]])), mg.DTypeError,
     r"gather: index must be an integer tensor"),
    (lambda: mg.gather(_x(2, 3), 1, [[0]]), mg.DTypeError, r"gather: index must be a Tensor"),
    (lambda: mg.gather(_x(2, 3), 2, _index([[0]], "cpu")), mg.DimError, r"gather: dim 2"),
    (lambda: mg.scatter(_x(2, 3), 1, _index([[0]], "cpu"), _x(1, 1).double()), mg.DTypeError,
     r"scatter: src is float64 but the input is float32"),
    (lambda: mg.scatter(_x(2, 3), 1, _index([[0, 1]], "cpu"), _x(1, 1)), mg.ShapeError,
     r"scatter: index \(1, 2\) .*nor than src \(1, 1\)"),
    (lambda: mg.scatter(_x(2, 3), 1, _index([[0]], "cpu")), mg.ArgumentError,
     r"scatter: give exactly one of src and value"),
    (lambda: mg.scatter(_x(2, 3), 1, _index([[0]], "cpu"), 1.0, reduce="mean"), mg.ArgumentError,
     r"scatter: reduce must be one of 'add', 'multiply'"),
    (lambda: mg.scatter(_x(2, 3), 1, _index([[0]], "cpu"), "a"), mg.DTypeError,
     r"scatter: src must be a Tensor or a number"),
    (lambda: mg.scatter_add(_x(2, 3), 1, _index([[0]], "cpu"), 1.0), mg.DTypeError,
     r"scatter_add: src must be a Tensor"),
    (lambda: mg.index_select(_x(2, 3), 1, _index([[1]], "cpu")), mg.ShapeError,
     r"index_select: index must be 1-D or 0-d"),
    (lambda: mg.index_select(_x(2, 3), 1, _index([3], "cpu")), mg.DimError,
     r"index_select: index 3 is out of bounds for dim 1 with size 3"),
    (lambda: mg.take_along_dim(_x(2, 3), _index([0], "cpu"), 1), mg.ShapeError,
     r"take_along_dim: input \(2, 3\) and indices \(1,\) must have the same number of dims"),
    (lambda: mg.take_along_dim(_x(2, 3), _index([[0, 0, 0]] * 3, "cpu"), 1), mg.ShapeError,
     r"take_along_dim: shapes .* do not broadcast"),
    (lambda: mg.masked_fill(_x(2, 3), mg.tensor([1, 0, 1]), 1.0), mg.DTypeError,
     r"masked_fill: mask must be a bool tensor, got int64"),
    (lambda: mg.masked_fill(_x(2, 3), mg.tensor([True, False]), 1.0), mg.ShapeError,
     r"masked_fill: shapes \(2, 3\), \(2,\) do not broadcast"),
    (lambda: mg.masked_fill(_x(2, 3), mg.tensor([True] * 3), mg.ones(1)), mg.ShapeError,
     r"masked_fill: value must be a number or a 0-d tensor"),
    (lambda: mg.masked_fill(_x(2, 3), mg.tensor([True] * 3), "a"), mg.DTypeError,
     r"masked_fill: value must be a number"),
    (lambda: mg.masked_select(_x(2, 3), mg.tensor([1, 0, 1])), mg.DTypeError,
     r"masked_select: mask must be a bool tensor"),
    (lambda: mg.tril(_x(3)), mg.ShapeError, r"tril: input must have at least 2 dims, got shape \(3,\)"),
    (lambda: mg.triu(_x(2, 2), 1.5), mg.DTypeError, r"triu: diagonal must be an int"),
    (lambda: F.one_hot(mg.tensor([1.0]), 3), mg.DTypeError, r"one_hot: tensor must be an int64"),
    (lambda: F.one_hot(mg.tensor(np.array([1], np.int32)), 3), mg.DTypeError, r"one_hot"),
    (lambda: F.one_hot(mg.tensor([0, 2]), 2), mg.DimError,
     r"one_hot: class values must be smaller than num_classes=2, got 2"),
    (lambda: F.one_hot(mg.tensor([0, -1])), mg.DimError, r"one_hot: class values must be non-negative"),
    (lambda: F.one_hot(mg.tensor(np.zeros(0, np.int64))), mg.ArgumentError,
     r"one_hot: cannot infer num_classes from an empty tensor"),
    (lambda: mg.nonzero([1, 2]), mg.DTypeError, r"nonzero: input must be a Tensor"),
    (lambda: mg.nonzero(_x(2), as_tuple=mg.ones(2)), mg.DTypeError, r"nonzero: as_tuple must be True or False"),
    (lambda: F.one_hot(mg.tensor(np.zeros((2, 0), np.int64)), 0), mg.ArgumentError,
     r"one_hot: cannot infer num_classes from an empty tensor"),
    (lambda: mg.scatter_add(_x(2, 3), 1, mg.tensor([[0.0]]), _x(1, 1)), mg.DTypeError,
     r"scatter_add: index must be an integer tensor"),
    (lambda: mg.take_along_dim(_x(2, 3), _index([7, 0], "cpu")), mg.DimError,
     r"take_along_dim: index 7 is out of bounds for dim 0 with size 6"),
])
def test_errors_name_the_op(call, error, message):
    with pytest.raises(error, match=message):
        call()
