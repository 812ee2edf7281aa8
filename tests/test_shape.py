"""Shape ops: reshape, transpose/permute, expand, squeeze/unsqueeze, getitem (basic and
advanced, repeated indices, boolean masks, Tensor indices), concat/stack/split (pad: tests/test_padding.py)."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigan as mg
from strategies import check_against_torch, check_grads, float_arrays, leaf, shapes

# ============================================================================ reshape / flatten


@given(data=st.data(), shape=shapes())
def test_reshape_gradcheck(device, data, shape):
    a = data.draw(float_arrays(shape))
    size = a.size
    target = data.draw(st.sampled_from([(size,), (1, size), (size, 1, 1), (-1,), ()]
                                       if size == 1 else [(size,), (1, size), (-1, 1), (size, 1)]))
    check_grads(lambda x: x.reshape(target) * 2.0, [leaf(a, device)])
    check_grads(lambda x: mg.flatten(x), [leaf(a, device)])


def test_reshape_and_flatten_like_torch(torch):
    a = np.random.default_rng(0).standard_normal((2, 3, 4))
    check_against_torch(torch, lambda x: x.reshape(4, -1), lambda t: t.reshape(4, -1), [a])
    check_against_torch(torch, lambda x: x.view(-1, 2, 3), lambda t: t.view(-1, 2, 3), [a])
    check_against_torch(torch, lambda x: mg.flatten(x, 1), lambda t: torch.flatten(t, 1), [a])
    check_against_torch(torch, lambda x: x.flatten(0, 1), lambda t: t.flatten(0, 1), [a])


def test_reshape_errors_name_shapes():
    with pytest.raises(ValueError, match=r"reshape: cannot reshape tensor of shape \(2, 3\) "
                                         r"\(6 elements\) into \(4,\)"):
        mg.ones(2, 3).reshape(4)
    with pytest.raises(ValueError, match=r"reshape: invalid shape \(-1, -1\)"):
        mg.ones(2, 3).reshape(-1, -1)
    with pytest.raises(ValueError, match=r"reshape: cannot reshape .* \(2, 3\) into \(4, -1\)"):
        mg.ones(2, 3).reshape(4, -1)


# ============================================================================ transpose / permute


@given(data=st.data(), shape=shapes(min_dims=1, max_dims=4))
def test_permute_gradcheck(device, data, shape):
    a = data.draw(float_arrays(shape))
    perm = data.draw(st.permutations(range(len(shape))))
    negative = tuple(p - len(shape) if i % 2 else p for i, p in enumerate(perm))
    check_grads(lambda x: x.permute(negative) * 1.5, [leaf(a, device)])
    d0, d1 = data.draw(st.integers(-len(shape), len(shape) - 1)), data.draw(
        st.integers(-len(shape), len(shape) - 1))
    check_grads(lambda x: x.transpose(d0, d1) * 1.5, [leaf(a, device)])


def test_transpose_permute_like_torch(torch):
    a = np.random.default_rng(1).standard_normal((2, 3, 4))
    check_against_torch(torch, lambda x: x.permute(2, 0, 1), lambda t: t.permute(2, 0, 1), [a])
    check_against_torch(torch, lambda x: x.transpose(-1, 0), lambda t: t.transpose(-1, 0), [a])
    check_against_torch(torch, lambda x: x.T, lambda t: t.permute(2, 1, 0), [a])
    assert mg.ones(3).T.shape == (3,) and mg.tensor(1.0).transpose(0, -1).shape == ()


def test_permute_errors():
    with pytest.raises(ValueError, match=r"permute: \(0, 0\) is not a permutation of the 2 dims of \(2, 3\)"):
        mg.ones(2, 3).permute(0, 0)
    with pytest.raises(IndexError, match="transpose: dim 2 is out of range"):
        mg.ones(2, 3).transpose(0, 2)
    zero_d = mg.ones(())
    with pytest.raises(TypeError, match=r"permute: missing the dims .* \(\) for a 0-d tensor"):
        zero_d.permute()  # as PyTorch: permute() takes dims, () for a 0-d tensor
    with pytest.raises(RuntimeError, match=r"permute: \(0,\) is not a permutation of the 0 dims"):
        zero_d.permute(0)
    assert zero_d.permute(()).shape == () and mg.permute(zero_d, ()).shape == ()


# ============================================================================ expand / squeeze / unsqueeze


@given(data=st.data(), shape=shapes(max_dims=3))
def test_expand_squeeze_unsqueeze_gradcheck(device, data, shape):
    a = data.draw(float_arrays(shape))
    target = (2,) + tuple(3 if n == 1 else -1 for n in shape)
    check_grads(lambda x: x.expand(*target), [leaf(a, device)])
    dim = data.draw(st.integers(-len(shape) - 1, len(shape)))
    check_grads(lambda x: x.unsqueeze(dim), [leaf(a, device)])
    check_grads(lambda x: x.squeeze(), [leaf(a, device)])


def test_expand_squeeze_unsqueeze_like_torch(torch):
    a = np.random.default_rng(2).standard_normal((3, 1, 2, 1))
    check_against_torch(torch, lambda x: x.expand(2, 3, 4, 2, -1),
                        lambda t: t.expand(2, 3, 4, 2, -1), [a])
    check_against_torch(torch, lambda x: x.squeeze(), lambda t: t.squeeze(), [a])
    check_against_torch(torch, lambda x: x.squeeze(1), lambda t: t.squeeze(1), [a])
    check_against_torch(torch, lambda x: x.squeeze(0), lambda t: t.squeeze(0), [a])
    check_against_torch(torch, lambda x: x.squeeze((1, -1)), lambda t: t.squeeze((1, -1)), [a])
    check_against_torch(torch, lambda x: x.unsqueeze(-1), lambda t: t.unsqueeze(-1), [a])
    check_against_torch(torch, lambda x: x.unsqueeze(2), lambda t: t.unsqueeze(2), [a])
    assert mg.tensor(1.0).squeeze().shape == () and mg.tensor(1.0).squeeze(0).shape == ()


def test_expand_and_unsqueeze_errors():
    with pytest.raises(ValueError, match=r"broadcast_to: cannot broadcast shape \(2, 3\) to \(2, 4\)"):
        mg.ones(2, 3).expand(2, 4)
    with pytest.raises(ValueError, match=r"expand: shape \(3,\) has fewer dims than the tensor \(2, 3\)"):
        mg.ones(2, 3).expand(3)
    with pytest.raises(IndexError, match="unsqueeze: dim 3 out of range"):
        mg.ones(2).unsqueeze(3)


# ============================================================================ getitem

BASIC_INDICES = [
    1, -1, slice(None), slice(0, 2), slice(None, None, -1), slice(1, None, 2),
    (Ellipsis, 0), (None, slice(None), 1), (0, None), (slice(None), Ellipsis), (-2, slice(1, 3)),
]


@pytest.mark.parametrize("index", BASIC_INDICES, ids=repr)
def test_getitem_basic_gradcheck_and_torch(device, torch, index):
    a = np.random.default_rng(3).standard_normal((3, 4))
    check_grads(lambda x: x[index], [leaf(a, device)])
    if not (isinstance(index, slice) and (index.step or 1) < 0):  # torch has no negative steps
        check_against_torch(torch, lambda x: x[index], lambda t: t[index], [a])


ADVANCED_INDICES = {
    "repeated ints": lambda: [0, 2, 0, 0],
    "int array 2-d": lambda: np.array([[1, 1], [0, 2]]),
    "int tensor": lambda: mg.tensor([2, 2, 1]),
    "negative ints": lambda: [-1, -3, -1],
    "boolean mask": lambda: np.array([True, False, True]),
    "boolean tensor 2-d": lambda: mg.tensor(np.array([[True, False, True, False]] * 3)),
    "mixed slice and ints": lambda: (slice(None), [3, 0, 3]),
    "two int arrays": lambda: ([0, 2, 2], [1, 1, 3]),
    "int and mask": lambda: (1, np.array([True, True, False, True])),
    "0-d int tensor": lambda: mg.tensor(1),
}


@pytest.mark.parametrize("name", sorted(ADVANCED_INDICES))
def test_getitem_advanced_gradcheck(device, name):
    index = ADVANCED_INDICES[name]()
    if isinstance(index, mg.Tensor):
        index = index.to(device)
    a = np.random.default_rng(4).standard_normal((3, 4))
    check_grads(lambda x: x[index], [leaf(a, device)])


@pytest.mark.parametrize("name", sorted(ADVANCED_INDICES))
def test_getitem_advanced_like_torch(torch, name):
    index = ADVANCED_INDICES[name]()

    def to_torch(i):
        if isinstance(i, tuple):
            return tuple(to_torch(j) for j in i)
        if isinstance(i, mg.Tensor):
            return torch.tensor(i.numpy())
        if isinstance(i, (list, np.ndarray)):
            return torch.tensor(np.asarray(i))
        return i
    a = np.random.default_rng(5).standard_normal((3, 4))
    check_against_torch(torch, lambda x: x[index], lambda t: t[to_torch(index)], [a])


def test_getitem_repeated_indices_add_up():
    x = leaf(np.arange(4.0))
    y = x[[1, 1, 1, 3]]
    y.backward(mg.tensor(np.array([1.0, 2.0, 3.0, 4.0])))
    assert x.grad.tolist() == [0.0, 6.0, 0.0, 4.0]


@given(data=st.data(), shape=shapes(min_dims=1, max_dims=3))
def test_getitem_random_int_arrays_gradcheck(device, data, shape):
    a = data.draw(float_arrays(shape))
    index = np.asarray(data.draw(st.lists(st.integers(-shape[0], shape[0] - 1), min_size=1, max_size=5)))
    check_grads(lambda x: x[index], [leaf(a, device)])
    mask = data.draw(float_arrays(shape)) > 0
    check_grads(lambda x: x[mask] * 2.0, [leaf(a, device)])


def test_getitem_errors_name_the_op_and_shape():
    with pytest.raises(IndexError, match=r"getitem: .*out of bounds.*\(inputs of shape \(2, 3\)\)"):
        mg.ones(2, 3)[5]
    with pytest.raises(IndexError, match=r"getitem: .*boolean.*\(inputs of shape \(2,\)\)"):
        mg.ones(2)[np.array([True, False, True])]


def test_iteration_uses_getitem():
    x = leaf(np.arange(6.0).reshape(2, 3))
    rows = list(x)
    assert [r.tolist() for r in rows] == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    (rows[0] * 2 + rows[1]).sum().backward()
    assert x.grad.tolist() == [[2.0] * 3, [1.0] * 3]


# ============================================================================ concat / stack / split


@given(data=st.data(), shape=shapes(min_dims=1, max_dims=3), n=st.integers(1, 3))
def test_concat_stack_gradcheck(device, data, shape, n):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    arrays = []
    for i in range(n):  # sizes along the axis differ between inputs
        s = list(shape)
        s[axis] = data.draw(st.integers(1, 3))
        arrays.append(data.draw(float_arrays(tuple(s))))
    check_grads(lambda *xs: mg.concat(list(xs), axis), [leaf(a, device) for a in arrays])
    same = [data.draw(float_arrays(shape)) for _ in range(n)]
    stack_axis = data.draw(st.integers(-len(shape) - 1, len(shape)))
    check_grads(lambda *xs: mg.stack(xs, dim=stack_axis), [leaf(a, device) for a in same])


def test_concat_stack_like_torch(torch):
    rng = np.random.default_rng(6)
    a, b, c = rng.standard_normal((2, 3)), rng.standard_normal((2, 1)), rng.standard_normal((2, 2))
    check_against_torch(torch, lambda *xs: mg.cat(xs, dim=-1), lambda *ts: torch.cat(ts, dim=-1),
                        [a, b, c])
    check_against_torch(torch, lambda x, y: mg.stack([x, y], 1),
                        lambda x, y: torch.stack([x, y], 1), [a, a * 2])


@given(data=st.data(), shape=shapes(min_dims=1, max_dims=3, max_side=5))
def test_split_gradcheck(device, data, shape):
    a = data.draw(float_arrays(shape))
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    n = shape[axis]
    size = data.draw(st.integers(1, n + 1))
    check_grads(lambda x: x.split(size, axis), [leaf(a, device)])
    cuts = sorted(data.draw(st.lists(st.integers(0, n), max_size=3)))
    sizes = np.diff([0] + cuts + [n]).tolist()
    check_grads(lambda x: mg.split(x, sizes, dim=axis), [leaf(a, device)])


def test_split_like_torch(torch):
    a = np.random.default_rng(7).standard_normal((5, 4))
    for arg, dim in ((2, 0), ([1, 3, 0, 1], 0), ([3, 1], -1), (4, 1)):
        ours = mg.tensor(a, requires_grad=True).split(arg, dim)
        theirs = torch.tensor(a).split(arg, dim)
        assert [o.shape for o in ours] == [tuple(t.shape) for t in theirs]
        for o, t in zip(ours, theirs):
            np.testing.assert_array_equal(o.numpy(), t.numpy())


def test_split_uses_only_the_used_outputs():
    x = leaf(np.arange(6.0))
    first, second, third = x.split(2)
    (second * 3.0).sum().backward()
    assert x.grad.tolist() == [0, 0, 3, 3, 0, 0]


def test_concat_stack_split_errors():
    with pytest.raises(ValueError, match=r"concat: tensors must have the same shape except in dim 1, "
                                         r"got \(2, 3\), \(3, 3\)"):
        mg.concat([mg.ones(2, 3), mg.ones(3, 3)], 1)
    with pytest.raises(ValueError, match=r"stack: tensors must have the same shape"):
        mg.stack([mg.ones(2), mg.ones(3)])
    with pytest.raises(ValueError, match=r"split: sizes \[2, 2\] do not add up to 5 \(dim 0 of \(5,\)\)"):
        mg.ones(5).split([2, 2])
    with pytest.raises(ValueError, match="concat: needs at least one tensor"):
        mg.concat([])
    with pytest.raises(TypeError, match="concat: inputs on different dtypes"):
        mg.concat([mg.ones(2), mg.ones(2, dtype="float64")])


# ============================================================================ devices


def test_to_device_cpu_is_identity(device):
    x = mg.ones(2, requires_grad=True)
    assert x.to("cpu") is x and mg.to_device(x, "cpu") is x
    y = x.to(device)
    (y * 2).sum().backward()
    assert x.grad.device == "cpu" and x.grad.tolist() == [2.0, 2.0]


def test_dim_arguments_out_of_range_are_refused():
    x = mg.ones(2, 3)
    with pytest.raises(IndexError, match=r"permute: dim -5 is out of range"):  # as PyTorch
        x.permute(0, -5)
    with pytest.raises(ValueError, match=r"permute: \(0, 0\) is not a permutation"):
        x.permute(0, 0)
    with pytest.raises(IndexError, match="flatten: dim 4 is out of range"):
        mg.flatten(x, 4)
    with pytest.raises(ValueError, match="flatten: start_dim 1 comes after end_dim 0"):
        mg.flatten(x, 1, 0)
    with pytest.raises(ValueError, match=r"expand: -1 is not allowed in the new leading dims"):
        x.expand(-1, 2, 3)
    with pytest.raises(TypeError, match="iteration over a 0-d tensor"):
        list(mg.tensor(1.0))
