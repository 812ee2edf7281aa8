"""softmax, log_softmax and scaled_dot_product_attention: finite differences (first and second
order, float64) over hypothesis-drawn shapes and masks, and PyTorch as the oracle for the
forward, backward and double backward."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import minigan as mg
import minigan.functional as F

# ---------------------------------------------------------------------------- helpers


def _t(a, device, requires_grad=True):
    return mg.tensor(a, device=device, requires_grad=requires_grad)


def _np(t):
    return t.numpy() if t is not None else None


def _close(a, b, rtol, atol=None):
    atol = rtol if atol is None else atol
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=rtol, atol=atol)


def _grads_mg(fn, arrays, gy, device, double=True):
    """(out, first grads, grads of <first grads, w>) in minigan; w drawn from a fixed seed."""
    xs = [_t(a, device) for a in arrays]
    out = fn(*xs)
    gs = mg.grad(out, xs, _t(gy, device, False), create_graph=double)
    if not double:
        return _np(out), [_np(g) for g in gs], None
    rng = np.random.default_rng(7)
    ws = [rng.standard_normal(a.shape).astype(a.dtype) for a in arrays]
    total = sum((g * _t(w, device, False)).sum() for g, w in zip(gs, ws))
    ggs = mg.grad(total, xs, allow_unused=True)
    return _np(out), [_np(g) for g in gs], [_np(g) if g is not None else np.zeros(a.shape)
                                          for g, a in zip(ggs, arrays)]


def _grads_torch(torch, fn, arrays, gy, double=True):
    xs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = fn(*xs)
    gs = torch.autograd.grad(out, xs, torch.tensor(gy), create_graph=double)
    if not double:
        return out.detach().numpy(), [g.numpy() for g in gs], None
    rng = np.random.default_rng(7)
    ws = [rng.standard_normal(a.shape).astype(a.dtype) for a in arrays]
    total = sum((g * torch.tensor(w)).sum() for g, w in zip(gs, ws))
    ggs = torch.autograd.grad(total, xs, allow_unused=True)
    return out.detach().numpy(), [g.detach().numpy() for g in gs], [
        g.detach().numpy() if g is not None else np.zeros(a.shape) for g, a in zip(ggs, arrays)]


def _compare(mine, theirs, rtol, atol=None):
    out_m, g_m, gg_m = mine
    out_t, g_t, gg_t = theirs
    _close(out_m, out_t, rtol, atol)
    for a, b in zip(g_m, g_t):
        _close(a, b, rtol, atol)
    if gg_m is not None:
        for a, b in zip(gg_m, gg_t):
            _close(a, b, rtol, atol)


# the fixtures used here (device, torch) hold no per-example state
fixtures_ok = settings(suppress_health_check=[HealthCheck.function_scoped_fixture])

shapes = st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple)

# ============================================================================ softmax / log_softmax


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@fixtures_ok
@given(shape=shapes, data=st.data())
def test_softmax_gradcheck(device, name, shape, data):
    fn = getattr(F, name)
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    x = np.random.default_rng(len(shape)).standard_normal(shape) * 2
    assert mg.gradcheck(lambda a: fn(a, axis), [_t(x, device)], atol=1e-7, rtol=1e-5)
    assert mg.gradgradcheck(lambda a: fn(a, axis), [_t(x, device)], atol=1e-7, rtol=1e-5)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@fixtures_ok
@given(shape=shapes, data=st.data())
def test_softmax_matches_torch_float64(device, torch, name, shape, data):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    rng = np.random.default_rng(sum(shape))
    x, gy = rng.standard_normal(shape) * 3, rng.standard_normal(shape)
    mine = _grads_mg(lambda a: getattr(F, name)(a, dim=axis), [x], gy, device)
    theirs = _grads_torch(torch, lambda a: getattr(torch, name)(a, dim=axis), [x], gy)
    _compare(mine, theirs, 1e-10, 1e-12)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_matches_torch_float32(device, torch, name):
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((6, 5, 9)) * 4).astype(np.float32)
    gy = rng.standard_normal(x.shape).astype(np.float32)
    mine = _grads_mg(lambda a: getattr(F, name)(a, 1), [x], gy, device, double=False)
    theirs = _grads_torch(torch, lambda a: getattr(torch, name)(a, 1), [x], gy, double=False)
    assert mine[0].dtype == np.float32 and mine[1][0].dtype == np.float32
    _compare(mine, theirs, 1e-5)


def test_softmax_is_stable_for_large_inputs(device):
    x = _t(np.array([[1000.0, 1001.0, 1002.0], [-1e4, 0.0, 1e4]], np.float32), device)
    y = F.softmax(x)
    ref = np.exp([0.0, 1.0, 2.0]) / np.exp([0.0, 1.0, 2.0]).sum()
    _close(y.numpy()[0], ref, 1e-6)
    _close(y.numpy()[1], [0.0, 0.0, 1.0], 1e-6)
    ly = F.log_softmax(x)
    _close(ly.numpy()[0], np.log(ref), 1e-5)
    assert np.isfinite(ly.numpy()[0]).all() and ly.numpy()[1, 2] == 0.0


@pytest.mark.filterwarnings("ignore:invalid value encountered")
def test_softmax_fully_masked_row_is_nan_as_torch(device, torch):
    x = np.array([[-np.inf, -np.inf], [0.0, -np.inf]])
    y = F.softmax(_t(x, device), 1).numpy()
    ref = torch.softmax(torch.tensor(x), 1).numpy()
    np.testing.assert_array_equal(np.isnan(y), np.isnan(ref))
    _close(y[1], ref[1], 1e-12)


def test_log_softmax_with_minus_inf_entries_matches_torch(device, torch):
    x = np.array([0.0, -np.inf, 1.0])
    gy = np.array([1.0, 2.0, 3.0])
    mine = _grads_mg(lambda a: F.log_softmax(a, 0), [x], gy, device, double=False)
    theirs = _grads_torch(torch, lambda a: torch.log_softmax(a, 0), [x], gy, double=False)
    _compare(mine, theirs, 1e-12)


def test_softmax_axis_errors(device):
    x = _t(np.zeros((2, 3)), device)
    with pytest.raises(IndexError, match="softmax: dim 2 is out of range"):
        F.softmax(x, 2)
    with pytest.raises(TypeError, match="log_softmax: dim must be one int"):
        F.log_softmax(x, (0, 1))


def test_softmax_dtype_preserved_and_rows_sum_to_one(device):
    x = mg.randn(4, 7, device=device)
    y = F.softmax(x, 0)
    assert y.dtype == np.float32
    _close(y.numpy().sum(0), np.ones(7), 1e-6)


# ============================================================================ scaled dot-product attention


@st.composite
def attention_cases(draw):
    """Shapes (batch dims, T, S, D, Dv) and a mask kind; key/value may have fewer batch dims."""
    batch = tuple(draw(st.lists(st.integers(1, 2), min_size=0, max_size=2)))
    t, s = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    d, dv = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    kv_batch = batch[draw(st.integers(0, len(batch))):]  # broadcast over leading dims
    kind = draw(st.sampled_from(["none", "bool", "float", "causal", "bool_bcast"]))
    return batch, kv_batch, t, s, d, dv, kind


def _case_arrays(case, seed=0, dtype=np.float64):
    batch, kv_batch, t, s, d, dv, kind = case
    rng = np.random.default_rng(seed)
    q = rng.standard_normal(batch + (t, d))
    k = rng.standard_normal(kv_batch + (s, d))
    v = rng.standard_normal(kv_batch + (s, dv))
    mask = None
    if kind == "bool":
        mask = rng.random(batch + (t, s)) > 0.3
        mask[..., 0] = True  # no fully masked rows here (tested separately)
    elif kind == "bool_bcast":
        mask = rng.random((1, s)) > 0.5
        mask[..., 0] = True
    elif kind == "float":
        mask = rng.standard_normal((t, s)).astype(dtype)
    return q.astype(dtype), k.astype(dtype), v.astype(dtype), mask, kind == "causal"


def _mg_mask(mask, device):
    return None if mask is None else mg.tensor(mask, device=device)


@fixtures_ok
@given(case=attention_cases())
def test_sdpa_gradcheck(device, case):
    q, k, v, mask, causal = _case_arrays(case)

    def fn(q, k, v):
        return F.scaled_dot_product_attention(q, k, v, _mg_mask(mask, device), is_causal=causal)
    inputs = [_t(a, device) for a in (q, k, v)]
    assert mg.gradcheck(fn, inputs, atol=1e-7, rtol=1e-5)
    assert mg.gradgradcheck(fn, inputs, atol=1e-7, rtol=1e-5)


def test_sdpa_gradcheck_learnable_float_mask(device):
    rng = np.random.default_rng(3)
    q, k, v = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 5, 4)), rng.standard_normal((2, 5, 2))
    bias = rng.standard_normal((3, 5))
    inputs = [_t(a, device) for a in (q, k, v, bias)]
    fn = F.scaled_dot_product_attention
    assert mg.gradcheck(lambda q, k, v, b: fn(q, k, v, b), inputs, atol=1e-7, rtol=1e-5)
    assert mg.gradgradcheck(lambda q, k, v, b: fn(q, k, v, attn_mask=b), inputs, atol=1e-7, rtol=1e-5)


@fixtures_ok
@given(case=attention_cases())
def test_sdpa_matches_torch_float64(device, torch, case):
    q, k, v, mask, causal = _case_arrays(case, seed=1)
    out_shape = np.broadcast_shapes(q.shape[:-2], k.shape[:-2]) + (q.shape[-2], v.shape[-1])
    gy = np.random.default_rng(2).standard_normal(out_shape)
    mine = _grads_mg(lambda q, k, v: F.scaled_dot_product_attention(
        q, k, v, _mg_mask(mask, device), is_causal=causal), [q, k, v], gy, device)
    tmask = None if mask is None else torch.tensor(mask)
    theirs = _grads_torch(torch, lambda q, k, v: torch.nn.functional.scaled_dot_product_attention(
        q, k, v, attn_mask=tmask, is_causal=causal), [q, k, v], gy)
    _compare(mine, theirs, 1e-10, 1e-11)


@pytest.mark.parametrize("kind", ["none", "bool", "float", "causal"])
def test_sdpa_matches_torch_float32(device, torch, kind):
    case = ((4, 2), (4, 2), 6, 7, 8, 5, kind)
    q, k, v, mask, causal = _case_arrays(case, seed=4, dtype=np.float32)
    gy = np.random.default_rng(5).standard_normal((4, 2, 6, 5)).astype(np.float32)
    mine = _grads_mg(lambda q, k, v: F.scaled_dot_product_attention(
        q, k, v, _mg_mask(mask, device), is_causal=causal), [q, k, v], gy, device, double=False)
    tmask = None if mask is None else torch.tensor(mask)
    theirs = _grads_torch(torch, lambda q, k, v: torch.nn.functional.scaled_dot_product_attention(
        q, k, v, attn_mask=tmask, is_causal=causal), [q, k, v], gy, double=False)
    assert mine[0].dtype == np.float32 and all(g.dtype == np.float32 for g in mine[1])
    _compare(mine, theirs, 1e-5)


def test_sdpa_custom_scale_matches_torch(device, torch):
    rng = np.random.default_rng(6)
    q, k, v = (rng.standard_normal((2, 3, 4)) for _ in range(3))
    gy = rng.standard_normal((2, 3, 4))
    mine = _grads_mg(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, scale=0.7),
                     [q, k, v], gy, device)
    theirs = _grads_torch(torch, lambda q, k, v: torch.nn.functional.scaled_dot_product_attention(
        q, k, v, scale=0.7), [q, k, v], gy)
    _compare(mine, theirs, 1e-10, 1e-12)


def test_sdpa_reference_formula(device):
    """Against the obvious NumPy computation, row by row."""
    rng = np.random.default_rng(8)
    q, k, v = rng.standard_normal((3, 4)), rng.standard_normal((5, 4)), rng.standard_normal((5, 2))
    keep = rng.random((3, 5)) > 0.4
    keep[:, 1] = True
    out = F.scaled_dot_product_attention(_t(q, device), _t(k, device), _t(v, device),
                                         _t(keep, device, False)).numpy()
    for i in range(3):
        scores = np.array([q[i] @ k[j] / 2.0 if keep[i, j] else -np.inf for j in range(5)])
        w = np.exp(scores - scores.max())
        _close(out[i], (w / w.sum()) @ v, 1e-12)


def test_sdpa_fully_masked_rows_give_zeros_as_torch(device, torch):
    rng = np.random.default_rng(9)
    q, k, v = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 5, 4)), rng.standard_normal((2, 5, 4))
    keep = np.ones((3, 5), bool)
    keep[1] = False
    gy = rng.standard_normal((2, 3, 4))
    mine = _grads_mg(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, _t(keep, device, False)),
                     [q, k, v], gy, device)
    theirs = _grads_torch(torch, lambda q, k, v: torch.nn.functional.scaled_dot_product_attention(
        q, k, v, attn_mask=torch.tensor(keep)), [q, k, v], gy)
    assert (mine[0][:, 1] == 0).all() and np.isfinite(mine[0]).all()
    _compare(mine, theirs, 1e-10, 1e-12)


def test_sdpa_accepts_arrays_as_masks(device):
    rng = np.random.default_rng(10)
    q = _t(rng.standard_normal((3, 2)), device)
    keep = np.tril(np.ones((3, 3), bool))
    a = F.scaled_dot_product_attention(q, q, q, keep).numpy()
    b = F.scaled_dot_product_attention(q, q, q, is_causal=True).numpy()
    _close(a, b, 1e-14)


def test_sdpa_errors(device):
    x = _t(np.zeros((2, 3, 4)), device)
    k5 = _t(np.zeros((2, 5, 4)), device)
    sdpa = F.scaled_dot_product_attention
    with pytest.raises(ValueError, match=r"scaled_dot_product_attention: mask of shape \(4, 5\) "
                                         r"cannot be broadcast to the attention scores of shape \(2, 3, 5\)"):
        sdpa(x, k5, k5, np.ones((4, 5), bool))
    with pytest.raises(ValueError, match=r"query \(2, 3, 4\) and key \(2, 5, 3\)"):
        sdpa(x, _t(np.zeros((2, 5, 3)), device), k5)
    with pytest.raises(ValueError, match=r"key \(2, 5, 4\) and value \(2, 4, 4\)"):
        sdpa(x, k5, _t(np.zeros((2, 4, 4)), device))
    with pytest.raises(ValueError, match="not both"):
        sdpa(x, x, x, np.ones((3, 3), bool), is_causal=True)
    with pytest.raises(TypeError, match="mask or attn_mask"):
        sdpa(x, x, x, np.ones((3, 3), bool), attn_mask=np.ones((3, 3), bool))
    with pytest.raises(ValueError, match="dropout_p"):
        sdpa(x, x, x, dropout_p=1.0)
    with pytest.raises(TypeError, match="dtype float32 but the query has float64"):
        sdpa(x, x, x, mg.zeros(3, 3, device=device))
    with pytest.raises(ValueError, match="at least 2 dims"):
        sdpa(_t(np.zeros(4), device), x, x)


def _dropout_ready():
    try:
        F.dropout(mg.ones(2), 0.5, True)
        return True
    except NotImplementedError:
        return False


@pytest.mark.skipif(not _dropout_ready(), reason="ops/dropout.py is still a placeholder")
def test_sdpa_dropout_is_dropout_of_the_weights(device):
    rng = np.random.default_rng(11)
    q, k, v = (_t(rng.standard_normal((2, 4, 3)), device) for _ in range(3))
    mg.manual_seed(5)
    out = F.scaled_dot_product_attention(q, k, v, dropout_p=0.4)
    mg.manual_seed(5)
    w = F.softmax((q @ k.transpose(-1, -2)) * (1 / math.sqrt(3)), -1)
    expected = F.dropout(w, 0.4, True) @ v
    _close(out.numpy(), expected.numpy(), 1e-12)
    assert not np.allclose(out.numpy(), (w @ v).numpy())

    def fn(q, k, v):
        mg.manual_seed(5)  # the same dropout mask on every call of the finite differences
        return F.scaled_dot_product_attention(q, k, v, dropout_p=0.4)
    assert mg.gradcheck(fn, [q, k, v], atol=1e-7, rtol=1e-5)
    assert mg.gradgradcheck(fn, [q, k, v], atol=1e-7, rtol=1e-5)
