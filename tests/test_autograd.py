"""The graph and the engine: order, accumulation, freeing, no_grad, leaf/non-leaf grads,
hooks, user-defined Functions, higher-order gradients (create_graph, mg.grad)."""
from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest

import minigan as mg
from minigan.autograd import Function, iter_graph
from strategies import check_grads, leaf

# ============================================================================ order and accumulation


def test_deep_chain_of_50000_ops_backwards_without_recursion():
    x = mg.ones(2, requires_grad=True)
    y = x
    for _ in range(50_000):
        y = y + 0.0
    y.sum().backward()
    assert x.grad.tolist() == [1.0, 1.0]
    ref = weakref.ref(y.creator)
    del y
    assert ref() is None  # backward released the chain; nothing holds it


def test_deep_chain_of_50000_ops_is_freed_without_backward():
    x = mg.ones(2, requires_grad=True)
    z = x
    for _ in range(50_000):
        z = z * 1.0
    ref = weakref.ref(z.creator)
    del z  # deallocation must not recurse 50,000 frames deep
    gc.collect()
    assert ref() is None


def test_diamond_graph_runs_in_topological_order():
    # x -> a -> c ; x -> b -> c, with b much deeper than a: c's grad must be complete
    # before it flows into x through either branch.
    x = leaf(np.array([2.0]))
    a = x * 3.0
    b = x
    for _ in range(10):
        b = b * 1.0
    c = a * b
    c.backward(mg.tensor(np.array([1.0])))
    assert x.grad.tolist() == pytest.approx([12.0])  # d(3x^2)/dx


def test_reused_tensor_gradients_accumulate():
    x = leaf(np.array([1.0, 2.0]))
    y = x * x + x * 3.0 + x
    y.sum().backward()
    assert x.grad.tolist() == [2 * 1 + 4, 2 * 2 + 4]


def test_repeated_backward_accumulates_into_leaf_grad():
    x = leaf(np.array([1.0, 2.0]))
    for _ in range(3):
        (x * 2.0).sum().backward()
    assert x.grad.tolist() == [6.0, 6.0]
    x.zero_grad()
    assert x.grad is None


def test_broadcast_gradients_are_reduced_to_the_input_shape():
    x, b = leaf(np.ones((3, 4))), leaf(np.ones((4,)))
    s = leaf(np.array(2.0))
    ((x + b) * s).sum().backward()
    assert b.grad.shape == (4,) and b.grad.tolist() == [6.0] * 4
    assert s.grad.shape == () and s.grad.item() == 24.0


def test_leaf_grads_are_private_arrays():
    x, y = leaf(np.ones(3)), leaf(np.ones(3))
    (x + y).backward(mg.tensor(np.ones(3)))
    x.grad.data *= 5  # an in-place change to one gradient (e.g. clipping) ...
    assert y.grad.tolist() == [1.0, 1.0, 1.0]  # ... leaves the other alone


def test_leaf_grad_views_are_copied_unless_the_view_owns_its_memory():
    # a view of an array the caller holds (reshape's backward of the caller's gy): copied
    x = leaf(np.ones((2, 3)))
    g = np.arange(6.0).reshape(3, 2)
    x.reshape(3, 2).backward(mg.tensor(g))
    assert not np.shares_memory(x.grad.data, g)
    x.grad.data[...] = 7.0
    assert g[0, 0] == 0.0
    # a view spanning a fresh array nobody else holds (batch norm's channels-last dx): kept
    # as it is, no second copy
    xs = np.random.default_rng(0).standard_normal((4, 2, 2, 3)).transpose(0, 3, 1, 2)
    w = leaf(xs)
    mg.functional.batch_norm(w, None, None, training=True).backward(mg.ones(*xs.shape, dtype="float64"))
    assert w.grad.data.base is not None and w.grad.data.strides == w.data.strides
    assert np.abs(w.grad.data).max() < 1e-12  # (sum of a normalised x has no gradient)
    # a broadcast gradient (sum's backward) is never kept: it must become a writeable array
    v = leaf(np.ones(3))
    v.sum().backward()
    assert v.grad.data.flags.writeable and v.grad.data.strides == (8,)


# ============================================================================ freeing and retain_graph


def test_second_backward_through_freed_graph_raises_clearly():
    x = leaf(np.ones(2))
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="a second time.*retain_graph=True"):
        y.backward()


def test_retain_graph_allows_a_second_backward():
    x = leaf(np.ones(2))
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    assert x.grad.tolist() == [4.0, 4.0]


def test_backward_frees_saved_inputs():
    x = leaf(np.ones(2))
    h = x * 2.0
    y = (h * h).sum()
    f = h.creator
    y.backward()
    assert f._released and not hasattr(f, "inputs")


def test_non_scalar_backward_needs_an_explicit_grad():
    x = leaf(np.ones(3))
    with pytest.raises(RuntimeError, match=r"only for one-element outputs, got shape \(3,\)"):
        (x * 2).backward()
    with pytest.raises(RuntimeError, match=r"grad of shape \(2,\) does not match output shape \(3,\)"):
        (x * 2).backward(mg.tensor(np.ones(2)))
    (x * 2).backward(np.array([1.0, 2.0, 3.0]))  # arrays are taken in the output's dtype
    assert x.grad.tolist() == [2.0, 4.0, 6.0]
    with pytest.raises(TypeError, match="backward: grad is .*float32.* but the output is .*float64"):
        (x * 2).backward(mg.ones(3))


def test_backward_on_a_tensor_without_grad_raises():
    with pytest.raises(RuntimeError, match="does not require grad"):
        mg.ones(2).sum().backward()


# ============================================================================ grad mode


def test_no_grad_records_nothing_and_restores():
    x = leaf(np.ones(2))
    with mg.no_grad():
        y = x * 2
        assert not mg.is_grad_enabled()
    assert mg.is_grad_enabled()
    assert not y.requires_grad and y.creator is None
    with mg.no_grad():
        with mg.enable_grad():
            z = x * 2
    assert z.requires_grad


def test_no_grad_restores_after_an_exception():
    with pytest.raises(ValueError):
        with mg.no_grad():
            raise ValueError
    assert mg.is_grad_enabled()


def test_detach_cuts_the_graph_and_shares_data():
    x = leaf(np.ones(2))
    y = (x * 2).detach()
    assert y.is_leaf and not y.requires_grad and y.creator is None
    z = x * 2
    assert np.shares_memory(z.detach().data, z.data)


# ============================================================================ leaf vs non-leaf


def test_non_leaf_grad_stays_none_unless_retained():
    x = leaf(np.array([1.0, 2.0]))
    h = x * 3.0
    k = x * 4.0
    k.retain_grad()
    (h * k).sum().backward()
    assert h.grad is None and not h.is_leaf
    assert k.grad.tolist() == [3.0, 6.0]
    assert x.grad.tolist() == [24.0, 48.0]


def test_constants_do_not_get_grads():
    x, c = leaf(np.ones(2)), mg.tensor(np.ones(2))
    (x * c).sum().backward()
    assert c.grad is None and not c.requires_grad


def test_requires_grad_rules():
    with pytest.raises(TypeError, match="only floating point tensors can require grad"):
        mg.tensor([1, 2], requires_grad=True)
    x = mg.ones(2)
    assert x.requires_grad_() is x and x.requires_grad
    with pytest.raises(RuntimeError, match="only leaf tensors"):
        (x * 2).requires_grad_(False)


# ============================================================================ hooks


def test_hook_sees_and_replaces_the_gradient():
    x = leaf(np.array([1.0, 2.0]))
    h = x * 2.0
    seen = []
    h.register_hook(lambda g: seen.append(g.tolist()))
    h.register_hook(lambda g: g * 10.0)
    h.sum().backward()
    assert seen == [[1.0, 1.0]]
    assert x.grad.tolist() == [20.0, 20.0]


def test_hook_on_a_leaf_and_removal():
    x = leaf(np.array([1.0, 2.0]))
    remove = x.register_hook(lambda g: g * 0.0)
    (x * 3.0).sum().backward()
    assert x.grad.tolist() == [0.0, 0.0]
    remove()
    x.zero_grad()
    (x * 3.0).sum().backward()
    assert x.grad.tolist() == [3.0, 3.0]
    with pytest.raises(RuntimeError, match="does not require grad"):
        mg.ones(2).register_hook(print)


def test_hook_sees_the_accumulated_gradient_once():
    x = leaf(np.array([1.0]))
    h = x * 1.0
    calls = []
    h.register_hook(lambda g: calls.append(g.item()))
    (h * 2.0 + h * 3.0).sum().backward()
    assert calls == [5.0]


# ============================================================================ user-defined Functions


class Cube(Function):
    """y = x^3, written as a user would (the example in docs/autograd.md)."""

    def forward(self, x):
        return x ** 3

    def backward(self, gy):
        x, = self.inputs
        return gy * 3.0 * x * x


class MulAdd(Function):
    """(a * b + c, a - b): several inputs and two outputs, gradients skipped when unneeded."""

    def forward(self, a, b, c):
        return a * b + c, a - b

    def backward(self, g0, g1):
        a, b, c = self.inputs
        ga = g0 * b + g1 if self.needs_input_grad[0] else None
        gb = g0 * a - g1 if self.needs_input_grad[1] else None
        gc = g0 if self.needs_input_grad[2] else None
        return ga, gb, gc


def test_user_function_first_and_second_order(device):
    x = leaf(np.array([0.5, -1.2, 2.0]), device)
    check_grads(lambda t: Cube()(t), [x])
    y = Cube()(x)
    assert y.creator.name == "cube"


def test_user_function_with_several_inputs_and_outputs(device):
    rng = np.random.default_rng(0)
    a, b, c = (leaf(rng.standard_normal((2, 3)), device) for _ in range(3))
    check_grads(lambda *ts: MulAdd()(*ts), [a, b, c])
    s, d = MulAdd()(a, b, mg.tensor(np.zeros((2, 3)), device=device))
    d.sum().backward()  # output 0 unused: its gradient arrives as zeros
    assert a.grad.tolist() == [[1.0] * 3] * 2 and b.grad.tolist() == [[-1.0] * 3] * 2


def test_function_backward_with_wrong_count_or_shape_is_reported():
    class Bad(Function):
        def forward(self, x):
            return x * 2

        def backward(self, gy):
            return gy, gy

    class BadShape(Function):
        def forward(self, x):
            return x * 2

        def backward(self, gy):
            return gy.sum()

    x = leaf(np.ones(2))
    with pytest.raises(RuntimeError, match="bad: backward returned 2 gradients for 1 inputs"):
        Bad()(x).sum().backward()
    with pytest.raises(RuntimeError, match=r"badshape: backward gave a gradient of \(\) float64 on cpu "
                                           r"for an input of \(2,\) float64 on cpu"):
        BadShape()(x).sum().backward()


def test_iter_graph_lists_the_functions():
    x = leaf(np.ones(2))
    y = (x * 2.0).exp().sum()
    assert [f.name for f in iter_graph(y)] == ["sum", "exp", "mul"]


# ============================================================================ higher order


def test_create_graph_gives_second_derivatives():
    x = leaf(np.array([1.0, 2.0]))
    y = (x ** 3).sum()
    y.backward(create_graph=True)
    g = x.grad
    assert g.requires_grad and g.tolist() == [3.0, 12.0]
    x.grad = None
    g.sum().backward()
    assert x.grad.tolist() == [6.0, 12.0]


def test_grad_returns_without_touching_dot_grad():
    x, w = leaf(np.array([1.0, 2.0])), leaf(np.array([3.0, 4.0]))
    y = (x * w).sum()
    gx, gw = mg.grad(y, [x, w], retain_graph=True)
    assert gx.tolist() == [3.0, 4.0] and gw.tolist() == [1.0, 2.0]
    assert x.grad is None and w.grad is None
    (gx_only,) = mg.grad(y, [x])
    assert gx_only.tolist() == [3.0, 4.0]
    assert isinstance(mg.grad((x * x).sum(), x), tuple)


def test_grad_grad_outputs_and_unused_inputs():
    x, u = leaf(np.array([1.0, 2.0])), leaf(np.array([5.0]))
    y = x * 2.0
    (g,) = mg.grad(y, x, grad_outputs=mg.tensor(np.array([1.0, 10.0])), retain_graph=True)
    assert g.tolist() == [2.0, 20.0]
    with pytest.raises(RuntimeError, match=r"was not used in the graph"):
        mg.grad(y.sum(), [x, u], retain_graph=True)
    gx, gu = mg.grad(y.sum(), [x, u], allow_unused=True)
    assert gu is None and gx.tolist() == [2.0, 2.0]
    with pytest.raises(ValueError, match="2 grad_outputs for 1 outputs"):
        mg.grad(x.sum(), x, grad_outputs=[None, None])


def test_grad_of_a_non_leaf():
    x = leaf(np.array([1.0, 2.0]))
    h = x * 3.0
    y = (h * h).sum()
    (gh,) = mg.grad(y, h)
    assert gh.tolist() == [6.0, 12.0]


def test_gradient_penalty_matches_torch(torch):
    """A WGAN-GP style penalty: || d D(x) / dx ||^2 backpropagated into D's weight."""
    rng = np.random.default_rng(1)
    xa, wa = rng.standard_normal((4, 3)), rng.standard_normal((3, 2))

    x, w = leaf(xa), leaf(wa)
    d = (mg.exp((x @ w) * 0.5)).sum()
    (gx,) = mg.grad(d, x, create_graph=True)
    penalty = ((gx * gx).sum(axis=1) - 1.0).mean()
    penalty.backward()

    tx, tw = torch.tensor(xa, requires_grad=True), torch.tensor(wa, requires_grad=True)
    td = torch.exp((tx @ tw) * 0.5).sum()
    (tgx,) = torch.autograd.grad(td, tx, create_graph=True)
    tpen = ((tgx * tgx).sum(dim=1) - 1.0).mean()
    tpen.backward()
    np.testing.assert_allclose(penalty.item(), tpen.item(), rtol=1e-12)
    np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-10)


def test_third_order():
    x = leaf(np.array([2.0]))
    (g1,) = mg.grad((x ** 4).sum(), x, create_graph=True)
    (g2,) = mg.grad(g1.sum(), x, create_graph=True)
    (g3,) = mg.grad(g2.sum(), x)
    assert (g1.item(), g2.item(), g3.item()) == (32.0, 48.0, 48.0)


def test_first_order_backward_records_no_graph():
    x = leaf(np.array([1.0, 2.0]))
    (x.exp() * x).sum().backward()
    assert x.grad.creator is None and not x.grad.requires_grad
    (g,) = mg.grad((x * x).sum(), x)
    assert g.creator is None


# ============================================================================ Tensor basics


def test_tensor_attributes_and_conversions():
    x = mg.tensor([[1.0, 2.0]], requires_grad=True)
    assert x.shape == (1, 2) and x.ndim == 2 and x.size() == (1, 2) and x.size(-1) == 2
    assert x.numel() == 2 and x.dim() == 2 and len(x) == 1
    assert x.dtype == np.float32 and x.device == "cpu" and x.is_leaf
    assert isinstance(x.numpy(), np.ndarray) and x.tolist() == [[1.0, 2.0]]
    assert mg.tensor(3.5).item() == 3.5 and float(mg.tensor([2.0])) == 2.0
    with pytest.raises(ValueError, match=r"item\(\): only one-element tensors, got shape \(1, 2\)"):
        x.item()
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(x)
    assert "requires_grad=True" in repr(x) and "grad_fn=<Mul>" in repr(x * 2)


def test_tensor_copies_its_data():
    a = np.ones(3, dtype=np.float32)
    x = mg.tensor(a)
    a[0] = 5
    assert x.tolist() == [1.0, 1.0, 1.0]
    assert mg.tensor(np.arange(3)).dtype == np.int64
    assert mg.tensor(np.ones(2)).dtype == np.float64  # arrays keep their dtype
    assert mg.tensor([1.5]).dtype == np.float32 and mg.tensor(1.5, dtype="float64").dtype == np.float64
    with pytest.raises(ValueError, match="tensor: cannot build a tensor from ragged data"):
        mg.tensor([[1.0], [1.0, 2.0]])
    with pytest.raises(TypeError, match="tensor: cannot build a tensor from object data"):
        mg.tensor(["a", None])


def test_outputs_of_full_reductions_are_arrays():
    y = mg.ones(3).sum()
    assert isinstance(y.data, np.ndarray) and y.data.shape == ()


def test_numpy_interop():
    x = mg.tensor([1.0, 2.0])
    assert isinstance(np.asarray(x), np.ndarray) and np.asarray(x).dtype == np.float32
    np.testing.assert_allclose(x, [1.0, 2.0])
    y = np.ones(2, dtype=np.float32) * x  # NumPy on the left still gives a Tensor
    assert isinstance(y, mg.Tensor) and y.tolist() == [1.0, 2.0]
    assert isinstance(np.float32(2.0) * x, mg.Tensor)


def test_grad_runs_only_what_leads_to_the_inputs():
    asked = []

    class Spy(Function):
        def forward(self, x, w):
            return x * w

        def backward(self, gy):
            asked.append(self.needs_input_grad)
            x, w = self.inputs
            return (gy * w if self.needs_input_grad[0] else None,
                    gy * x if self.needs_input_grad[1] else None)

    x, w = leaf(np.array([1.0, 2.0])), leaf(np.array([3.0, 4.0]))
    y = (Spy()(x, w) * 2.0).sum()
    (gx,) = mg.grad(y, x, retain_graph=True)
    assert gx.tolist() == [6.0, 8.0] and asked == [(True, False)]
    y.backward()  # the full backward still asks for both
    assert asked[-1] == (True, True) and w.grad.tolist() == [2.0, 4.0]
    # a non-leaf input: nothing below it runs
    h = Spy()(x, w)
    asked.clear()
    (gh,) = mg.grad((h * h).sum(), h)
    assert asked == [] and gh.tolist() == [6.0, 16.0]
