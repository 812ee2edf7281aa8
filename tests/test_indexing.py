"""Indexing with PyTorch's layout: getitem, its backward and index assignment against torch
over hypothesis-drawn indices mixing ints, slices, None, Ellipsis, index arrays and masks."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, strategies as st

import minigan as mg
from strategies import check_grads, random_like


@st.composite
def indexed(draw, unique: bool = False):
    """(shape, index spec): the spec lists ("int", i) / ("slice", a, b, c) / ("none",) /
    ("ellipsis",) / ("array", values) / ("mask", bools), valid for the shape."""
    ndim = draw(st.integers(1, 4))
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=ndim, max_size=ndim)))
    n_items = draw(st.integers(1, ndim))
    dims = list(range(ndim))
    use_mask = draw(st.booleans()) and not unique
    length = draw(st.integers(1, 3))
    spec, dim, used_ellipsis, used_mask = [], 0, False, False
    while dim < ndim and len(spec) < n_items + 1:
        kind = draw(st.sampled_from(["int", "slice", "array", "none", "ellipsis", "mask"]))
        n = shape[dim]
        if kind == "int":
            spec.append(("int", draw(st.integers(-n, n - 1))))
        elif kind == "slice":
            a, b = draw(st.integers(-n, n)), draw(st.integers(-n, n))
            spec.append(("slice", a, b, draw(st.integers(1, 2))))
        elif kind == "array" and not used_mask:
            if unique and length > n:
                spec.append(("int", 0))
            else:
                values = draw(st.lists(st.integers(-n, n - 1), min_size=length, max_size=length,
                                       unique_by=(lambda v: v % n) if unique else None))
                spec.append(("array", values))
        elif kind == "mask" and use_mask and not used_mask and not any(
                s[0] == "array" for s in spec):
            spec.append(("mask", draw(st.lists(st.booleans(), min_size=n, max_size=n))))
            used_mask = True
        elif kind == "none":
            spec.append(("none",))
            continue
        elif kind == "ellipsis" and not used_ellipsis:
            spec.append(("ellipsis",))
            used_ellipsis = True
            dim = ndim - (n_items - len(spec))  # the remaining items index the last dims
            dim = max(dim, len([s for s in spec if s[0] not in ("none", "ellipsis")]))
            continue
        else:
            spec.append(("slice", None, None, 1))
        dim += 1
        if used_mask:  # later array entries would have to broadcast with the mask
            use_mask = False
    return shape, spec


@st.composite
def mixed(draw, unique: bool = False):
    """An int and an index array separated by slices (where NumPy's layout differs from
    PyTorch's), with an optional None and a leading Ellipsis."""
    ndim = draw(st.integers(3, 4))
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=ndim, max_size=ndim)))
    first, second = sorted(draw(st.lists(st.integers(0, ndim - 1), min_size=2, max_size=2,
                                         unique=True)))
    if second - first < 2:
        second = min(ndim - 1, first + 2)
        first = second - 2
    int_first = draw(st.booleans())
    length = draw(st.integers(1, 3))
    spec = []
    for d in range(ndim):
        n = shape[d]
        if d in (first, second) and (d == first) == int_first:
            spec.append(("int", draw(st.integers(-n, n - 1))))
        elif d in (first, second):
            if unique and length > n:
                spec.append(("int", 0))
            else:
                spec.append(("array", draw(st.lists(
                    st.integers(-n, n - 1), min_size=length, max_size=length,
                    unique_by=(lambda v: v % n) if unique else None))))
        else:
            spec.append(("slice", None, None, 1))
    if draw(st.booleans()):
        spec.insert(draw(st.integers(0, len(spec))), ("none",))
    return shape, spec


def _index(spec, tensor, device=None):
    if device is not None:  # index arrays on the indexed tensor's device
        make = tensor
        tensor = lambda a: make(a, device=device)  # noqa: E731
    out = []
    for s in spec:
        if s[0] == "int":
            out.append(s[1])
        elif s[0] == "slice":
            out.append(slice(*s[1:]))
        elif s[0] == "none":
            out.append(None)
        elif s[0] == "ellipsis":
            out.append(Ellipsis)
        elif s[0] == "array":
            out.append(tensor(np.array(s[1], dtype=np.int64)))
        else:
            out.append(tensor(np.array(s[1], dtype=bool)))
    return tuple(out)


def _torch_index(torch, spec):
    return _index(spec, torch.tensor)


@given(st.one_of(indexed(), mixed()))
def test_getitem_and_its_backward_match_torch(torch, device, case):
    shape, spec = case
    a = np.random.default_rng(0).standard_normal(shape)
    tx = torch.tensor(a, requires_grad=True)
    try:
        ty = tx[_torch_index(torch, spec)]
    except (IndexError, RuntimeError):
        with pytest.raises(IndexError):
            mg.tensor(a, device=device)[_index(spec, mg.tensor, device)]
        return
    x = mg.tensor(a, device=device, requires_grad=True)
    y = x[_index(spec, mg.tensor, device)]
    assert y.shape == tuple(ty.shape), (spec, y.shape, tuple(ty.shape))
    np.testing.assert_array_equal(y.numpy(), ty.detach().numpy())
    g = random_like(y.shape)
    y.backward(mg.tensor(g, device=device))
    ty.backward(torch.tensor(g))
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12, atol=1e-12)


@given(st.one_of(indexed(unique=True), mixed(unique=True)), st.sampled_from(["scalar", "tensor", "broadcast"]))
def test_index_assignment_matches_torch(torch, device, case, kind):
    shape, spec = case
    a = np.random.default_rng(1).standard_normal(shape)
    tx = torch.tensor(a)
    try:
        target = tx[_torch_index(torch, spec)]
    except (IndexError, RuntimeError):
        return
    if kind == "scalar":
        value, tvalue = 2.5, 2.5
    else:
        v = np.random.default_rng(2).standard_normal(target.shape[1:] if kind == "broadcast"
                                                     else target.shape)
        value, tvalue = mg.tensor(v, device=device), torch.tensor(v)
    x = mg.tensor(a, device=device)
    x[_index(spec, mg.tensor, device)] = value
    tx[_torch_index(torch, spec)] = tvalue
    np.testing.assert_array_equal(x.numpy(), tx.numpy())


@given(st.one_of(indexed(unique=True), mixed(unique=True)))
def test_recorded_index_assignment_gradients_match_torch(torch, device, case):
    """x[idx] = v with v requiring grad: x becomes part of the graph (both gradients)."""
    shape, spec = case
    a = np.random.default_rng(3).standard_normal(shape)
    tw = torch.tensor(a, requires_grad=True)
    tx = tw * 2.0
    try:
        target_shape = tuple(tx[_torch_index(torch, spec)].shape)
    except (IndexError, RuntimeError):
        return
    v = np.random.default_rng(4).standard_normal(target_shape)
    tv = torch.tensor(v, requires_grad=True)
    tx[_torch_index(torch, spec)] = tv
    w = mg.tensor(a, device=device, requires_grad=True)
    vv = mg.tensor(v, device=device, requires_grad=True)
    x = w * 2.0
    x[_index(spec, mg.tensor, device)] = vv
    np.testing.assert_array_equal(x.detach().numpy(), tx.detach().numpy())
    g = random_like(shape)
    (x * mg.tensor(g, device=device)).sum().backward()
    (tx * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(vv.grad.numpy(), tv.grad.numpy(), rtol=1e-12)


def test_an_int_next_to_an_index_array_keeps_pytorchs_layout(torch):
    a = np.arange(60.0).reshape(3, 4, 5)
    for index in [(0, slice(None), [1, 2]), (0, Ellipsis, [1, 2]), (None, 0, slice(None), [1, 2]),
                  (1, slice(None), [[1], [2]])]:
        ours = mg.tensor(a)[index]
        theirs = torch.tensor(a)[index]
        assert ours.shape == tuple(theirs.shape) != a[index].shape  # NumPy transposes these
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    # a 0-d integer tensor is an int too
    assert mg.tensor(a)[mg.tensor(0), :, [1, 2]].shape == (4, 2)


def test_getitem_mixed_index_gradcheck():
    x = mg.tensor(np.random.default_rng(0).standard_normal((3, 4, 5)), requires_grad=True)
    check_grads(lambda t: t[1, :, [0, 2, 2]], [x])


def test_bad_indices_raise_indexerror_naming_the_op():
    x = mg.ones(3, 4)
    with pytest.raises(mg.DimError, match=r"^getitem: index 5 is out of bounds"):
        x[5]
    with pytest.raises(IndexError, match=r"^getitem: too many indices"):
        x[0, 0, 0]
    with pytest.raises(IndexError, match=r"^getitem: tensors used as indices must be integer"):
        x[mg.tensor([0.5])]
    with pytest.raises(IndexError, match=r"^getitem: only integers, slices"):
        x["a"]
    with pytest.raises(IndexError, match=r"^setitem: index 7 is out of bounds"):
        x[7] = 1.0
    with pytest.raises(RuntimeError, match=r"^setitem: could not broadcast"):
        x[0] = mg.ones(3)
    with pytest.raises(TypeError, match=r"^setitem: cannot assign a str"):
        x[0] = "a"
