"""Sorting and selection (ops/sort.py): sort, argsort, topk, max/min with a dim, median, mode.
Values and indices against PyTorch (ties, NaN, descending, stable), gradients that scatter to
the picked indices (first and second order), the full-reduction forms, and errors."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigan as mg
from strategies import check_against_torch, check_grads, float_arrays, leaf, shapes

# (name, minigan call, torch call) of ops returning (values, indices) along dim -1 .. k
PICKING = [
    ("sort", lambda x, d: mg.sort(x, d), lambda t, d: t.sort(d)),
    ("sort_desc", lambda x, d: mg.sort(x, d, descending=True), lambda t, d: t.sort(d, True)),
    ("topk2", lambda x, d: mg.topk(x, min(2, x.shape[d]), d),
     lambda t, d: t.topk(min(2, t.shape[d]), d)),
    ("topk_smallest", lambda x, d: mg.topk(x, 1, d, largest=False),
     lambda t, d: t.topk(1, d, largest=False)),
    ("max", lambda x, d: mg.max(x, d), lambda t, d: t.max(d)),
    ("min_keepdim", lambda x, d: x.min(d, keepdim=True), lambda t, d: t.min(d, keepdim=True)),
    ("median", lambda x, d: mg.median(x, d), lambda t, d: t.median(d)),
    ("mode", lambda x, d: mg.mode(x, d), lambda t, d: t.mode(d)),
]
IDS = [p[0] for p in PICKING]


@settings(max_examples=10)
@pytest.mark.parametrize("name, fn, torch_fn", PICKING, ids=IDS)
@given(data=st.data(), shape=shapes(min_dims=1, max_dims=3))
def test_picking_gradcheck_and_gradgradcheck(device, name, fn, torch_fn, data, shape):
    a = data.draw(float_arrays(shape, distinct=True))   # no ties: the picks are unambiguous
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    check_grads(lambda x: fn(x, dim).values, [leaf(a, device)])


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("name, fn, torch_fn", PICKING, ids=IDS)
def test_picking_values_indices_and_gradients_like_torch(torch, device, name, fn, torch_fn, dtype):
    a = np.random.default_rng(1).permutation(24).reshape(2, 3, 4) * 0.25 - 2.0
    for dim in (0, 1, -1):
        check_against_torch(torch, lambda x: fn(x, dim), lambda t: torch_fn(t, dim), [a],
                            device, dtype, outputs=lambda r: r.values)
        ours, theirs = fn(mg.tensor(a, device=device), dim), torch_fn(torch.tensor(a), dim)
        assert ours.indices.dtype == np.int64
        np.testing.assert_array_equal(ours.indices.numpy(), theirs.indices.numpy())


@pytest.mark.parametrize("name, fn, torch_fn", PICKING, ids=IDS)
def test_ties_and_nan_pick_the_same_indices_as_torch(torch, name, fn, torch_fn):
    rng = np.random.default_rng(2)
    for _ in range(10):
        a = rng.integers(0, 3, (3, 5)).astype(np.float64)     # many ties
        if name.startswith("topk"):  # the order of tied values is PyTorch's implementation's
            a += rng.permutation(a.size).reshape(a.shape) * 1e-3
        elif name != "mode":         # (PyTorch's mode has no NaN rule to match)
            a[rng.uniform(size=a.shape) < 0.15] = np.nan
        for dim in (0, 1):
            ours, theirs = fn(mg.tensor(a), dim), torch_fn(torch.tensor(a), dim)
            np.testing.assert_array_equal(ours.values.numpy(), theirs.values.numpy())
            np.testing.assert_array_equal(ours.indices.numpy(), theirs.indices.numpy())


def test_stable_sort_and_argsort_keep_ties_in_order(torch):
    a = np.array([[1.0, 2.0, 1.0, 2.0, 0.0], [3.0, 3.0, 3.0, -1.0, 3.0]])
    for descending in (False, True):
        v, i = mg.sort(mg.tensor(a), descending=descending, stable=True)
        tv, ti = torch.sort(torch.tensor(a), descending=descending, stable=True)
        np.testing.assert_array_equal(i.numpy(), ti.numpy())
        np.testing.assert_array_equal(
            mg.argsort(mg.tensor(a), descending=descending, stable=True).numpy(),
            torch.argsort(torch.tensor(a), descending=descending, stable=True).numpy())
    assert mg.tensor([True, False, True]).sort().indices.tolist() == [1, 0, 2]
    ints = mg.tensor([3, 1, 2])
    assert ints.sort().values.dtype == np.int64 and ints.topk(2).values.tolist() == [3, 2]


def test_full_reductions_share_the_gradient_between_ties(torch):
    a = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 1.0]])
    for name in ("max", "min", "median"):
        check_against_torch(torch, getattr(mg, name), getattr(torch, name), [a])
    x = leaf(np.array([1.0, 2.0, 2.0, 3.0]))
    mg.median(x).backward()
    assert x.grad.tolist() == [0.0, 0.5, 0.5, 0.0]
    assert np.isnan(mg.median(mg.tensor([1.0, np.nan])).item())
    assert np.isnan(mg.median(mg.zeros(0)).item())


def test_max_min_forms_and_result_fields(torch):
    x = mg.tensor([[1.0, 5.0], [4.0, 2.0]])
    r = mg.max(x, 1)
    assert isinstance(r, tuple) and r.values.tolist() == [5.0, 4.0] and r.indices.tolist() == [1, 0]
    values, indices = x.max(dim=0, keepdim=True)
    assert values.shape == (1, 2) and indices.tolist() == [[1, 0]]
    assert mg.max(x).item() == 5.0 and x.min().item() == 1.0
    assert mg.max(x, mg.tensor([3.0, 3.0])).tolist() == [[3.0, 5.0], [4.0, 3.0]]
    assert mg.min(x, axis=1).values.tolist() == [1.0, 2.0]          # NumPy's spelling too
    assert repr(mg.sort(mg.tensor([2.0, 1.0]))).startswith("sort(values=tensor(")
    empty = mg.max(mg.zeros(0, 3), 1)
    assert empty.values.shape == (0,) and empty.indices.shape == (0,)
    zero_d = mg.max(mg.tensor(2.0), 0)
    assert zero_d.values.item() == 2.0 and zero_d.indices.item() == 0


def test_topk_edges_like_torch(torch):
    a = np.array([[1.0, np.nan, 2.0, -1.0]])
    for largest in (True, False):
        for k in (0, 1, 2, 4):
            ours, theirs = mg.topk(mg.tensor(a), k, largest=largest), torch.topk(torch.tensor(a), k, largest=largest)
            np.testing.assert_array_equal(ours.values.numpy(), theirs.values.numpy())
            np.testing.assert_array_equal(ours.indices.numpy(), theirs.indices.numpy())
    assert mg.topk(mg.tensor(1.0), 1).values.item() == 1.0
    with pytest.raises(mg.ArgumentError, match="topk: k = 5 is out of range for dim -1 of size 4"):
        mg.topk(mg.tensor(a), 5)
    with pytest.raises(mg.ArgumentError, match="topk: k must be >= 0"):
        mg.topk(mg.tensor(a), -1)


def test_sorting_errors_name_the_op():
    x = mg.ones(2, 3)
    with pytest.raises(mg.DimError, match="sort: dim 2 is out of range"):
        mg.sort(x, 2)
    with pytest.raises(mg.DTypeError, match=r"max: dim must be one int, got \(0, 1\) \(amax"):
        mg.max(x, (0, 1))
    with pytest.raises(mg.DimError, match="max: dim 1 of the input of shape \\(2, 0\\) has size 0"):
        mg.max(mg.zeros(2, 0), 1)
    with pytest.raises(mg.ArgumentError, match="max: cannot reduce an empty tensor"):
        mg.max(mg.zeros(0))
    with pytest.raises(mg.DimError, match="median: dim 1 of the input of shape"):
        mg.median(mg.zeros(2, 0), 1)
    with pytest.raises(mg.DTypeError, match="topk: input must be a Tensor"):
        mg.topk([1.0], 1)
