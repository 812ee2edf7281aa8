"""Losses: BCE (logits and probabilities), cross-entropy, MSE. Finite differences (first and
second order) over hypothesis-drawn shapes and every reduction, PyTorch parity of forward,
backward and double backward (float64 and float32), extreme logits, errors."""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import minigan as mg
import minigan.functional as F

REDUCTIONS = ["none", "mean", "sum"]


def _tol(dtype):
    return (1e-10, 1e-12) if np.dtype(dtype) == np.float64 else (1e-5, 1e-6)


def parity(torch, device: str, ours_fn: Callable, torch_fn: Callable, arrays: Sequence,
           need: Sequence[bool], dtype=np.float64, second: bool = True) -> None:
    """Forward, first and second derivatives (w.r.t. every input that needs one and the
    upstream gradient) against PyTorch. Integer arrays are passed as constants."""
    rtol, atol = _tol(dtype)
    cast = [a.astype(dtype) if a.dtype.kind == "f" else a for a in arrays]
    ours = [mg.tensor(a, device=device, requires_grad=r) for a, r in zip(cast, need)]
    theirs = [torch.tensor(a, requires_grad=r) for a, r in zip(cast, need)]
    y, ty = ours_fn(*ours), torch_fn(*theirs)
    assert y.shape == tuple(ty.shape) and y.dtype == np.dtype(dtype)
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=rtol, atol=atol)

    rng = np.random.default_rng(11)
    gy = rng.standard_normal(y.shape).astype(dtype)
    gy_ours = mg.tensor(gy, device=device, requires_grad=True)
    gy_theirs = torch.tensor(gy, requires_grad=True)
    wrt = [t for t, r in zip(ours, need) if r]
    twrt = [t for t, r in zip(theirs, need) if r]
    grads = mg.grad(y, wrt, gy_ours, create_graph=second)
    tgrads = torch.autograd.grad(ty, twrt, gy_theirs, create_graph=second)
    for g, tg in zip(grads, tgrads):
        assert g.dtype == np.dtype(dtype)
        np.testing.assert_allclose(g.numpy(), tg.detach().numpy(), rtol=rtol, atol=atol)
    if not second:
        return
    vs = [rng.standard_normal(g.shape).astype(dtype) for g in grads]
    s = sum((g * mg.tensor(v, device=device)).sum() for g, v in zip(grads, vs))
    ts = sum((tg * torch.tensor(v)).sum() for tg, v in zip(tgrads, vs))
    second_ours = mg.grad(s, wrt + [gy_ours], allow_unused=True)
    second_theirs = torch.autograd.grad(ts, twrt + [gy_theirs], allow_unused=True)
    for g, tg in zip(second_ours, second_theirs):
        expected = np.zeros(g.shape) if tg is None else tg.numpy()
        got = np.zeros(expected.shape) if g is None else g.numpy()
        np.testing.assert_allclose(got, expected, rtol=rtol * 10, atol=atol * 10)


def _leaf(a, device, requires_grad=True):
    return mg.tensor(np.asarray(a, dtype=np.float64), device=device, requires_grad=requires_grad)


def check_grads(fn, inputs):
    assert mg.gradcheck(fn, inputs)
    assert mg.gradgradcheck(fn, inputs)


small_shapes = st.lists(st.integers(1, 3), min_size=1, max_size=3).map(tuple)


# ============================================================================ BCE with logits


@st.composite
def bce_logits_cases(draw):
    shape = draw(small_shapes)
    weight_shape = draw(st.sampled_from([None, shape, shape[-1:], (1,) * len(shape)]))
    pos_weight_shape = draw(st.sampled_from([None, shape[-1:]]))
    return shape, weight_shape, pos_weight_shape, draw(st.sampled_from(REDUCTIONS)), \
        draw(st.integers(0, 2**16))


def _bce_logits_arrays(shape, weight_shape, pos_weight_shape, seed):
    rng = np.random.default_rng(seed)
    arrays = [rng.uniform(-3, 3, shape), rng.uniform(0, 1, shape)]
    if weight_shape is not None:
        arrays.append(rng.uniform(0.5, 2, weight_shape))
    if pos_weight_shape is not None:
        arrays.append(rng.uniform(0.5, 3, pos_weight_shape))
    return arrays


def _bce_logits_fns(torch, has_weight, has_pos_weight, reduction):
    def make(fn):
        def call(x, t, *extras):
            w = extras[0] if has_weight else None
            p = extras[-1] if has_pos_weight else None
            return fn(x, t, weight=w, reduction=reduction, pos_weight=p)
        return call
    theirs = make(torch.nn.functional.binary_cross_entropy_with_logits) if torch else None
    return make(F.binary_cross_entropy_with_logits), theirs


@settings(max_examples=15)
@given(bce_logits_cases())
def test_bce_with_logits_gradcheck(device, case):
    shape, w_shape, p_shape, reduction, seed = case
    fn, _ = _bce_logits_fns(None, w_shape is not None, p_shape is not None, reduction)
    arrays = _bce_logits_arrays(shape, w_shape, p_shape, seed)
    check_grads(fn, [_leaf(a, device) for a in arrays])


@settings(max_examples=15)
@given(bce_logits_cases())
def test_bce_with_logits_matches_torch(device, torch, case):
    shape, w_shape, p_shape, reduction, seed = case
    ours, theirs = _bce_logits_fns(torch, w_shape is not None, p_shape is not None, reduction)
    arrays = _bce_logits_arrays(shape, w_shape, p_shape, seed)
    # torch has no gradient for weight and pos_weight (ours are checked by the gradcheck above)
    parity(torch, device, ours, theirs, arrays, [True, True] + [False] * (len(arrays) - 2))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("need", [(True, False, False, False), (True, True, False, False)])
def test_bce_with_logits_matches_torch_float32(device, torch, reduction, need):
    ours, theirs = _bce_logits_fns(torch, True, True, reduction)
    arrays = _bce_logits_arrays((4, 3), (3,), (3,), 5)
    parity(torch, device, ours, theirs, arrays, need, dtype=np.float32)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bce_with_logits_extreme_logits(device, torch, dtype):
    x = np.array([1000.0, -1000.0, 1000.0, -1000.0, 50.0, -50.0])
    t = np.array([1.0, 0.0, 0.0, 1.0, 0.3, 0.7])
    for pos_weight in (None, np.full(6, 2.0)):
        arrays = [x, t] + ([pos_weight] if pos_weight is not None else [])
        ours, theirs = _bce_logits_fns(torch, False, pos_weight is not None, "none")
        parity(torch, device, ours, theirs, arrays, [True, True, False], dtype=dtype)
    xt = mg.tensor(x.astype(dtype), device=device, requires_grad=True)
    loss = F.binary_cross_entropy_with_logits(xt, mg.tensor(t.astype(dtype), device=device),
                                              reduction="none")
    np.testing.assert_allclose(loss.numpy()[:4], [0.0, 0.0, 1000.0, 1000.0])
    loss.sum().backward()
    expected = np.where(x > 0, 1.0, 0.0) - t  # sigmoid(+-1000) is exactly 1 / 0
    np.testing.assert_allclose(xt.grad.numpy(), expected, rtol=1e-6, atol=1e-12)
    assert loss.dtype == np.dtype(dtype) and xt.grad.dtype == np.dtype(dtype)


def test_bce_with_logits_first_order_grad_equals_double_backward_path(device):
    """The fused first-order gradient and the graph-recording path agree."""
    rng = np.random.default_rng(3)
    x = _leaf(rng.standard_normal((3, 2)), device)
    t, w, p = (_leaf(rng.uniform(0.2, 1, s), device) for s in ((3, 2), (2,), (2,)))
    plain = mg.grad(F.binary_cross_entropy_with_logits(x, t, w, "mean", p), [x, t, w, p])
    graph = mg.grad(F.binary_cross_entropy_with_logits(x, t, w, "mean", p), [x, t, w, p],
                    create_graph=True)
    for a, b in zip(plain, graph):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-12)


# ============================================================================ BCE on probabilities


@settings(max_examples=15)
@given(small_shapes, st.sampled_from(REDUCTIONS), st.booleans(), st.integers(0, 2**16))
def test_bce_gradcheck_and_torch(device, torch, shape, reduction, has_weight, seed):
    rng = np.random.default_rng(seed)
    arrays = [rng.uniform(0.05, 0.95, shape), rng.uniform(0, 1, shape)]
    if has_weight:
        arrays.append(rng.uniform(0.5, 2, shape[-1:]))

    def ours(x, t, w=None):
        return F.binary_cross_entropy(x, t, w, reduction)

    def theirs(x, t, w=None):
        return torch.nn.functional.binary_cross_entropy(x, t, w, reduction=reduction)

    check_grads(ours, [_leaf(a, device) for a in arrays])
    # torch has no gradient for weight, nor a double backward through the target
    no_weight = [False] * has_weight
    parity(torch, device, ours, theirs, arrays, [True, False] + no_weight)
    parity(torch, device, ours, theirs, arrays, [True, True] + no_weight, second=False)
    parity(torch, device, ours, theirs, arrays, [True, False] + no_weight, dtype=np.float32)


def test_bce_clamps_log_at_minus_100(device, torch):
    x, t = np.array([0.0, 1.0, 0.0, 1.0]), np.array([1.0, 0.0, 0.0, 1.0])
    loss = F.binary_cross_entropy(_leaf(x, device), _leaf(t, device), reduction="none")
    np.testing.assert_allclose(loss.numpy(), [100.0, 100.0, 0.0, 0.0])
    expected = torch.nn.functional.binary_cross_entropy(torch.tensor(x), torch.tensor(t),
                                                        reduction="none")
    np.testing.assert_allclose(loss.numpy(), expected.numpy())


# ============================================================================ cross_entropy


@st.composite
def ce_cases(draw):
    n, c = draw(st.integers(1, 3)), draw(st.integers(1, 4))
    spatial = tuple(draw(st.lists(st.integers(1, 2), max_size=2)))
    return (n, c, spatial, draw(st.sampled_from(REDUCTIONS)), draw(st.booleans()),
            draw(st.booleans()), draw(st.sampled_from([0.0, 0.2])), draw(st.integers(0, 2**16)))


def _ce_arrays(n, c, spatial, use_ignore, seed, ignore_index=-100):
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, c) + spatial)
    y = rng.integers(0, c, (n,) + spatial)
    if use_ignore and y.size > 1:
        y.reshape(-1)[rng.permutation(y.size)[:max(1, y.size // 3)]] = ignore_index
    return z, y, rng.uniform(0.5, 2, c)


@settings(max_examples=20)
@given(ce_cases())
def test_cross_entropy_indices_gradcheck_and_torch(device, torch, case):
    n, c, spatial, reduction, use_weight, use_ignore, smoothing, seed = case
    z, y, w = _ce_arrays(n, c, spatial, use_ignore, seed)
    weight = w if use_weight else None

    def ours(z):
        return F.cross_entropy(z, mg.tensor(y, device=device),
                               None if weight is None else mg.tensor(weight, device=device),
                               reduction=reduction, label_smoothing=smoothing)

    def theirs(z):
        return torch.nn.functional.cross_entropy(
            z, torch.tensor(y), None if weight is None else torch.tensor(weight),
            reduction=reduction, label_smoothing=smoothing)

    check_grads(ours, [_leaf(z, device)])
    parity(torch, device, ours, theirs, [z], [True])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_cross_entropy_matches_torch_float32(device, torch, reduction, smoothing):
    z, y, w = _ce_arrays(6, 5, (2,), True, 1, ignore_index=3)

    def make(fn, tensor):
        return lambda z: fn(z, tensor(y), tensor(w.astype(np.float32)), ignore_index=3,
                            reduction=reduction, label_smoothing=smoothing)

    parity(torch, device, make(F.cross_entropy, lambda a: mg.tensor(a, device=device)),
           make(torch.nn.functional.cross_entropy, torch.tensor), [z], [True], dtype=np.float32)


@settings(max_examples=15)
@given(ce_cases())
def test_cross_entropy_probabilities_gradcheck_and_torch(device, torch, case):
    n, c, spatial, reduction, use_weight, _, smoothing, seed = case
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, c) + spatial)
    p = rng.uniform(0.1, 1, z.shape)
    p /= p.sum(axis=1, keepdims=True)
    weight = rng.uniform(0.5, 2, c) if use_weight else None

    def make(fn, tensor):
        return lambda z, p: fn(z, p, None if weight is None else tensor(weight),
                               reduction=reduction, label_smoothing=smoothing)

    ours = make(F.cross_entropy, lambda a: mg.tensor(a, device=device))
    check_grads(ours, [_leaf(z, device), _leaf(p, device)])
    parity(torch, device, ours, make(torch.nn.functional.cross_entropy, torch.tensor), [z, p],
           [True, True])


def test_cross_entropy_unbatched(device, torch):
    z = np.random.default_rng(0).standard_normal(5)
    for reduction in REDUCTIONS:
        parity(torch, device,
               lambda z: F.cross_entropy(z, mg.tensor(np.array(2), device=device),
                                         reduction=reduction),
               lambda z: torch.nn.functional.cross_entropy(z, torch.tensor(2),
                                                           reduction=reduction), [z], [True])


def test_cross_entropy_all_ignored_mean_is_nan(device, torch):
    z = mg.tensor(np.zeros((2, 3)), device=device, requires_grad=True)
    y = np.array([-100, -100])
    loss = F.cross_entropy(z, mg.tensor(y, device=device))
    expected = torch.nn.functional.cross_entropy(torch.zeros(2, 3, dtype=torch.float64),
                                                 torch.tensor(y))
    assert np.isnan(loss.item()) and np.isnan(expected.item())
    loss.backward()
    np.testing.assert_array_equal(z.grad.numpy(), np.zeros((2, 3)))  # torch: zeros too
    assert F.cross_entropy(z, mg.tensor(y, device=device), reduction="sum").item() == 0.0


def test_cross_entropy_large_logits_are_stable(device, torch):
    z = np.array([[1000.0, -1000.0, 0.0], [-500.0, 500.0, 499.0]], dtype=np.float32)
    y = np.array([1, 2])
    parity(torch, device, lambda z: F.cross_entropy(z, mg.tensor(y, device=device)),
           lambda z: torch.nn.functional.cross_entropy(z, torch.tensor(y)), [z], [True],
           dtype=np.float32)


# ============================================================================ mse_loss


@settings(max_examples=15)
@given(small_shapes, st.sampled_from(REDUCTIONS), st.integers(0, 2**16))
def test_mse_gradcheck_and_torch(device, torch, shape, reduction, seed):
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(shape), rng.standard_normal(shape)]

    def ours(x, t):
        return F.mse_loss(x, t, reduction)

    def theirs(x, t):
        return torch.nn.functional.mse_loss(x, t, reduction=reduction)

    check_grads(ours, [_leaf(a, device) for a in arrays])
    parity(torch, device, ours, theirs, arrays, [True, True])
    parity(torch, device, ours, theirs, arrays, [True, False], dtype=np.float32)


# ============================================================================ errors and dtypes


def test_losses_keep_float32(device):
    x = mg.tensor(np.zeros((4, 3), np.float32), device=device, requires_grad=True)
    t = mg.tensor(np.full((4, 3), 0.5, np.float32), device=device)
    for loss in (F.binary_cross_entropy_with_logits(x, t), F.mse_loss(x, t),
                 F.binary_cross_entropy(x + 0.5, t),
                 F.cross_entropy(x, mg.tensor(np.array([0, 1, 2, 0]), device=device))):
        assert loss.dtype == np.float32
        x.grad = None
        loss.backward()
        assert x.grad.dtype == np.float32


def test_loss_errors_name_op_and_shapes(device):
    x = mg.tensor(np.zeros((4, 3)), device=device)
    t_bad = mg.tensor(np.zeros((4, 1)), device=device)
    for fn, name in ((F.binary_cross_entropy_with_logits, "binary_cross_entropy_with_logits"),
                     (F.binary_cross_entropy, "binary_cross_entropy"), (F.mse_loss, "mse_loss")):
        with pytest.raises(ValueError, match=rf"{name}: target of shape \(4, 1\).*\(4, 3\)"):
            fn(x, t_bad)
        with pytest.raises(ValueError, match=rf"{name}: reduction must be"):
            fn(x, x, reduction="avg")
    with pytest.raises(ValueError, match=r"pos_weight of shape \(2,\) does not broadcast .*\(4, 3\)"):
        F.binary_cross_entropy_with_logits(x, x, pos_weight=mg.tensor(np.ones(2), device=device))
    with pytest.raises(ValueError, match=r"binary_cross_entropy: all elements of input"):
        F.binary_cross_entropy(x + 2.0, x)
    with pytest.raises(IndexError, match=r"cross_entropy: target 3 is out of bounds for 3 classes"):
        F.cross_entropy(x, mg.tensor(np.array([0, 1, 3, 0]), device=device))
    with pytest.raises(ValueError, match=r"cross_entropy: target of shape \(3,\).*\(4, 3\)"):
        F.cross_entropy(x, mg.tensor(np.array([0, 1, 2]), device=device))
    with pytest.raises(ValueError, match=r"cross_entropy: probability target of shape \(4, 1\)"):
        F.cross_entropy(x, t_bad)
    with pytest.raises(ValueError, match=r"cross_entropy: weight of shape \(2,\)"):
        F.cross_entropy(x, mg.tensor(np.array([0, 1, 2, 0]), device=device),
                        weight=mg.tensor(np.ones(2), device=device))
    with pytest.raises(ValueError, match="cross_entropy: reduction must be"):
        F.cross_entropy(x, mg.tensor(np.array([0, 1, 2, 0]), device=device), reduction="avg")
