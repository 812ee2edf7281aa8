"""Tensor methods and attributes with PyTorch's names and semantics (checked against torch)."""
from __future__ import annotations

import numpy as np
import pytest

import minigan as mg


def test_size_is_pytorchs_method(torch):
    a = np.zeros((2, 3, 4), dtype=np.float32)
    x, t = mg.tensor(a), torch.tensor(a)
    assert x.size() == tuple(t.size()) == x.shape
    for d in range(-3, 3):
        assert x.size(d) == t.size(d)
    assert x.numel() == t.numel() == 24 and x.dim() == t.dim() == 3
    assert mg.tensor(1.0).size() == () and mg.tensor(1.0).numel() == 1
    for bad in (3, -4):
        with pytest.raises(IndexError):
            t.size(bad)
        with pytest.raises(mg.DimError, match=r"^size: dim"):
            x.size(bad)
    with pytest.raises(mg.DimError, match=r"^size: dim 0 given but the tensor is 0-d"):
        mg.tensor(1.0).size(0)
    with pytest.raises(mg.DTypeError, match=r"^size: dim must be"):
        x.size("0")


# ============================================================================ op methods

from strategies import check_grads, leaf, random_like  # noqa: E402

_A = np.array([[0.5, -1.5, 2.0], [1.25, -0.75, 0.3]])
_B = np.array([[1.5, 0.5, -2.5], [0.25, 1.75, -0.4]])

# (name, args for minigan, args for torch): each is called as x.name(*args) in both
METHODS = [
    ("add", lambda m: (m(_B),), None), ("sub", lambda m: (m(_B),), None),
    ("mul", lambda m: (m(_B),), None), ("div", lambda m: (m(_B),), None),
    ("subtract", lambda m: (2.0,), None), ("multiply", lambda m: (m(_B),), None),
    ("divide", lambda m: (m(_B),), None), ("true_divide", lambda m: (3.0,), None),
    ("neg", lambda m: (), None), ("negative", lambda m: (), None), ("abs", lambda m: (), None),
    ("exp", lambda m: (), None), ("pow", lambda m: (2,), None),
    ("maximum", lambda m: (m(_B),), None), ("minimum", lambda m: (m(_B),), None),
    ("clamp", lambda m: (-1.0, 1.0), None), ("clip", lambda m: (-1.0, 1.0), None),
    ("tanh", lambda m: (), None), ("sigmoid", lambda m: (), None), ("relu", lambda m: (), None),
    ("softmax", lambda m: (1,), None), ("log_softmax", lambda m: (0,), None),
    ("sum", lambda m: (1,), None), ("mean", lambda m: (0,), None),
    ("var", lambda m: (1,), None), ("std", lambda m: (), None),
    ("matmul", lambda m: (m(_B.T),), None), ("mm", lambda m: (m(_B.T),), None),
    ("reshape", lambda m: (3, 2), None), ("view", lambda m: (-1,), None),
    ("flatten", lambda m: (), None), ("unflatten", lambda m: (1, (3, 1)), None),
    ("transpose", lambda m: (0, 1), None), ("swapaxes", lambda m: (0, 1), None),
    ("permute", lambda m: (1, 0), None), ("t", lambda m: (), None),
    ("unsqueeze", lambda m: (1,), None), ("expand", lambda m: (4, 2, 3), None),
    ("clone", lambda m: (), None), ("contiguous", lambda m: (), None),
    ("view_as", lambda m: (m(_B.reshape(3, 2)),), None),
    ("expand_as", lambda m: (m(np.zeros((2, 2, 3))),), None),
    ("where", lambda m: (m(_A > 0), m(_B)), None),
]


@pytest.mark.parametrize("name,args,_", METHODS, ids=[m[0] for m in METHODS])
def test_method_matches_torch(torch, name, args, _):
    x = mg.tensor(_A, requires_grad=True)
    tx = torch.tensor(_A, requires_grad=True)
    y = getattr(x, name)(*args(mg.tensor))
    ty = getattr(tx, name)(*args(torch.tensor))
    assert y.shape == tuple(ty.shape)
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-12, atol=1e-12)
    g = random_like(y.shape)
    y.backward(mg.tensor(g))
    ty.backward(torch.tensor(g))
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_comparison_methods_match_torch(torch):
    x, tx = mg.tensor(_A), torch.tensor(_A)
    for name in ("eq", "ne", "lt", "le", "gt", "ge"):
        for other in (0.5, _B):
            o = mg.tensor(other) if isinstance(other, np.ndarray) else other
            to = torch.tensor(other) if isinstance(other, np.ndarray) else other
            assert getattr(x, name)(o).tolist() == getattr(tx, name)(to).tolist(), name


def test_max_min_argmax_methods(torch):
    x, tx = mg.tensor(_A), torch.tensor(_A)
    assert x.max().item() == tx.max().item() and x.argmin(1).tolist() == tx.argmin(1).tolist()


# ============================================================================ attributes


def test_transposes_follow_pytorchs_rules(torch):
    a = np.arange(24.0).reshape(2, 3, 4)
    x, tx = mg.tensor(a), torch.tensor(a)
    assert x.T.shape == (4, 3, 2) and x.mT.shape == tuple(tx.mT.shape) == (2, 4, 3)
    np.testing.assert_array_equal(x.mT.numpy(), tx.mT.numpy())
    for shape in ((), (3,), (2, 3)):
        v = np.arange(float(np.prod(shape))).reshape(shape)
        assert mg.tensor(v).t().shape == tuple(torch.tensor(v).t().shape)
    with pytest.raises(RuntimeError):
        tx.t()
    with pytest.raises(IndexError, match=r"^t: expects a tensor with <= 2 dims, got one of "
                                         r"shape \(2, 3, 4\)"):
        x.t()
    with pytest.raises(IndexError, match=r"^mT: only supported on matrices"):
        mg.ones(3).mT
    assert x.ndim == x.dim() == 3


def test_is_leaf_and_grad_fn(torch):
    x = mg.ones(2, requires_grad=True)
    y = x * 2
    assert x.is_leaf and x.grad_fn is None and mg.ones(2).is_leaf
    assert not y.is_leaf and y.grad_fn is y.creator and type(y.grad_fn).__name__ == "Mul"
    assert repr(y) == "tensor([2., 2.], grad_fn=<Mul>)"  # the repr stays as it was


def test_clone_is_a_differentiable_copy():
    x = leaf(np.array([1.0, 2.0]))
    y = x.clone()
    assert not np.shares_memory(x.data, y.data) and y.grad_fn is not None
    check_grads(lambda t: t.clone() * t, [x])
    z = mg.ones(2)
    assert mg.clone(z).requires_grad is False


def test_contiguous_copies_only_when_needed():
    x = mg.ones(3, 4)
    assert x.contiguous() is x
    t = x.t()
    c = t.contiguous()
    assert c is not t and c.data.flags.c_contiguous and c.tolist() == t.tolist()


def test_casts_and_type_as(torch):
    x = mg.tensor([1.7, -2.2], dtype="float64", requires_grad=True)
    assert x.float().dtype == np.float32 and x.double().dtype == np.float64
    assert x.long().tolist() == [1, -2] and x.long().dtype == np.int64
    assert x.int().dtype == np.int32 and x.bool().tolist() == [True, True]
    assert x.type_as(mg.zeros(1, dtype=mg.int64)).dtype == np.int64
    y = x.float()
    y.sum().backward()
    assert x.grad.dtype == np.float64 and x.grad.tolist() == [1.0, 1.0]
    assert x.to(mg.zeros(1)).dtype == np.float32


def test_new_factories_take_this_tensors_dtype_and_device(torch):
    for dtype in (np.float32, np.float64, np.int64):
        x, tx = mg.zeros(2, dtype=dtype), torch.zeros(2, dtype=getattr(torch, np.dtype(dtype).name))
        for name, args in (("new_zeros", (2, 3)), ("new_ones", ((3,),)), ("new_empty", (1, 2)),
                           ("new_full", ((2,), 3.5)), ("new_tensor", ([1, 2],))):
            y, ty = getattr(x, name)(*args), getattr(tx, name)(*args)
            assert y.shape == tuple(ty.shape) and y.dtype == dtype and y.device == "cpu", name
            if name != "new_empty":
                assert y.tolist() == ty.tolist(), name
    z = mg.zeros(1).new_zeros(2, dtype=mg.float64, requires_grad=True)
    assert z.dtype == np.float64 and z.requires_grad


def test_requires_grad_(torch):
    x = mg.ones(2)
    assert x.requires_grad_() is x and x.requires_grad
    assert not x.requires_grad_(False).requires_grad
