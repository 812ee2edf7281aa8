"""In-place methods (x.add_(y), x += y, zero_, fill_, copy_, ...) with PyTorch's rules: leaves
that require grad, writes recorded into the graph, and the "modified by an inplace
operation" check on values a recorded op still needs."""
from __future__ import annotations

import numpy as np
import pytest

import minigan as mg
from strategies import random_like

_A = np.array([[0.5, -1.5, 2.0], [1.25, -0.75, 0.3]])
_B = np.array([[1.5, 0.5, -2.5], [0.25, 1.75, -0.4]])

INPLACE = [("add_", (_B,)), ("sub_", (_B,)), ("mul_", (_B,)), ("div_", (_B,)),
           ("add_", (2.0,)), ("pow_", (2,)), ("neg_", ()), ("abs_", ()), ("exp_", ()),
           ("sqrt_", ()), ("log_", ()), ("clamp_", (-1.0, 1.0)), ("clip_", (0.0, None)),
           ("relu_", ()), ("tanh_", ()), ("sigmoid_", ()), ("zero_", ()), ("fill_", (3.0,)),
           ("copy_", (_B[0],))]


def _args(lib, args, device=None):
    kw = {} if device is None else {"device": device}
    return tuple(lib.tensor(a, **kw) if isinstance(a, np.ndarray) else a for a in args)


@pytest.mark.parametrize("name,args", INPLACE, ids=[f"{n}{i}" for i, (n, _) in enumerate(INPLACE)])
def test_inplace_method_matches_torch_and_keeps_the_tensor(torch, device, name, args):
    a = np.abs(_A) if name in ("sqrt_", "log_") else _A
    x, tx = mg.tensor(a, device=device), torch.tensor(a)
    view = x[0]
    out = getattr(x, name)(*_args(mg, args, device))
    getattr(tx, name)(*_args(torch, args))
    assert out is x and x.dtype == np.float64
    np.testing.assert_allclose(x.numpy(), tx.numpy(), rtol=1e-12)
    np.testing.assert_allclose(view.numpy(), tx[0].numpy(), rtol=1e-12)  # views see it


@pytest.mark.parametrize("op", ["+=", "-=", "*=", "/="])
def test_augmented_assignment_is_in_place(torch, op):
    x, tx = mg.tensor(_A), torch.tensor(_A)
    alias = x
    exec(f"x {op} y", {}, {"x": x, "y": mg.tensor(_B)})
    exec(f"x {op} y", {}, {"x": tx, "y": torch.tensor(_B)})
    assert alias is x
    np.testing.assert_allclose(x.numpy(), tx.numpy(), rtol=1e-12)


def test_inplace_dtype_rules(torch):
    x = mg.ones(2, dtype=mg.float32)
    x += mg.ones(2, dtype=mg.float64)  # cast to x's dtype, as PyTorch
    assert x.dtype == np.float32 and x.tolist() == [2.0, 2.0]
    i, ti = mg.tensor([1, 2]), torch.tensor([1, 2])
    with pytest.raises(RuntimeError):
        ti += 1.5
    with pytest.raises(mg.DTypeError, match=r"^add_: result type float32 can't be cast to the "
                                            r"desired output type int64"):
        i += 1.5
    i += 2
    assert i.tolist() == [3, 4] and i.dtype == np.int64
    f = mg.zeros(3, dtype=mg.int64)
    f[0] = 2.7  # index assignment casts as PyTorch does
    assert f.tolist() == [2, 0, 0]


def test_inplace_cannot_change_the_shape():
    x = mg.ones(3)
    with pytest.raises(mg.ShapeError, match=r"^add_: the result has shape \(2, 3\) but the "
                                            r"tensor written in place has shape \(3,\)"):
        x.add_(mg.ones(2, 3))


def test_a_leaf_that_requires_grad_refuses_in_place_writes_outside_no_grad(torch):
    w, tw = mg.ones(3, requires_grad=True), torch.ones(3, requires_grad=True)
    for write in (lambda t: t.add_(1), lambda t: t.__setitem__(0, 2.0), lambda t: t.zero_(),
                  lambda t: t.fill_(1.0), lambda t: t.copy_(t.detach() * 2), lambda t: t.mul_(2)):
        with pytest.raises(RuntimeError, match="a leaf .* that requires grad is .*used in an "
                                               "in-place operation"):
            write(tw)
        with pytest.raises(RuntimeError, match="a leaf tensor that requires grad is used in an "
                                               "in-place operation"):
            write(w)
    with mg.no_grad():  # the manual SGD step of PyTorch's tutorials
        w -= 0.5 * mg.ones(3)
        w[0] = 7.0
    assert w.tolist() == [7.0, 0.5, 0.5] and w.requires_grad and w.is_leaf


def test_recorded_inplace_ops_on_non_leaves_match_torch(torch, device):
    def run(lib, **on):
        w = lib.tensor(_A, requires_grad=True, **on)
        v = lib.tensor(_B, requires_grad=True, **on)
        h = w * 2.0
        h.mul_(v)          # uses h's old value for v's gradient
        h.add_(1.0)
        h[0, 1] = v[1, 2] * 3.0
        h.clamp_(-2.0, 2.0)
        h.div_(v + 3.0)
        out = lib.zeros(2, 3, dtype=lib.float64, **on)
        out[:, 0] = w[:, 0]  # a tensor that needs no grad becomes part of the graph
        out += h
        return w, v, out

    w, v, y = run(mg, device=device)
    tw, tv, ty = run(torch)
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-12)
    g = random_like(y.shape)
    y.backward(mg.tensor(g, device=device))
    ty.backward(torch.tensor(g))
    np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(v.grad.numpy(), tv.grad.numpy(), rtol=1e-12)


def test_recorded_inplace_write_keeps_the_old_value_for_the_op_that_made_it():
    x = mg.tensor([0.5, 1.0], dtype=mg.float64, requires_grad=True)
    y = x.exp()        # Exp's backward reads its output
    y.mul_(2.0)        # y is now the output of the Mul
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.exp([0.5, 1.0]))


def test_inplace_copy_and_fill_are_differentiable_in_their_value(torch):
    for lib in (mg, torch):
        src = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
        s = lib.tensor(2.0, requires_grad=True)
        x = lib.zeros(2, 3)
        x.copy_(src)          # broadcast
        y = lib.zeros(3)
        y.fill_(s)
        (x * lib.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])).sum().backward()
        (y * 3.0).sum().backward()
        assert src.grad.tolist() == [5.0, 7.0, 9.0] and s.grad.item() == 9.0
    with pytest.raises(mg.ShapeError, match="^fill_: only supports a 0-d value tensor"):
        mg.zeros(2).fill_(mg.ones(2))


def test_writing_a_value_a_recorded_op_needs_raises_at_backward(torch):
    for lib in (mg, torch):
        w = lib.ones(3, requires_grad=True)
        a = w * 1.0
        b = a * a          # saves a
        with lib.no_grad():
            a[0] = 10.0
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            b.sum().backward()
    x = mg.ones(3)
    w = mg.ones(3, requires_grad=True)
    y = (w * x).sum()      # x is read by Mul's backward for w's gradient
    x.zero_()
    with pytest.raises(RuntimeError, match=r"^backward: one of the variables needed for gradient "
                                           r"computation has been modified by an inplace "
                                           r"operation: input 1 of Mul"):
        y.backward()


def test_a_write_through_a_view_is_seen_by_the_check(torch):
    w = mg.ones(2, 3, requires_grad=True)
    x = mg.ones(2, 3)
    y = (w * x).sum()
    x.reshape(-1)[0] = 5.0  # a view shares x's memory
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()


def test_writes_after_backward_or_to_unrelated_tensors_are_fine():
    w = mg.ones(3, requires_grad=True)
    x = mg.ones(3)
    (w * x).sum().backward()
    x.zero_()                     # after the backward: nothing needs it any more
    other = mg.zeros(3)
    y = (w * mg.ones(3)).sum()
    other += 1                    # unrelated memory
    y.backward()
    assert w.grad.tolist() == [2.0, 2.0, 2.0]


def test_recorded_writes_refuse_tensors_that_share_memory():
    w = mg.ones(2, 3, requires_grad=True)
    h = w * 2.0
    view = h[0]
    with pytest.raises(mg.ArgumentError, match="^setitem: the tensor shares its memory"):
        view[0] = mg.ones((), requires_grad=True)
    with pytest.raises(mg.ArgumentError, match="^mul_: the tensor shares its memory"):
        h.mul_(2.0)  # ``view`` would not see the new graph
    del view
    h.mul_(2.0)      # alone now


def test_expanded_tensors_are_read_only():
    x = mg.ones(3).expand(2, 3)
    with pytest.raises(mg.ArgumentError, match="^zero_: the tensor is a read-only view"):
        x.zero_()


def test_data_assignment_stays_allowed():
    w = mg.ones(3, requires_grad=True)
    w.data = np.zeros(4, dtype=np.float32)
    assert w.shape == (4,) and w.requires_grad
