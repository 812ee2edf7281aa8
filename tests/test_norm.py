"""batch_norm and layer_norm: gradcheck and gradgradcheck over drawn shapes (training and
eval, with and without weight and bias), forward / backward / double backward against
PyTorch in float64 and float32, running-statistics updates, and input errors."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigan as mg
import minigan.functional as F
from strategies import check_grads, float_arrays, leaf, random_like

BN_SHAPES = st.sampled_from([(2, 3), (3, 2), (2, 2, 3), (2, 3, 2, 2), (1, 2, 2, 3)])


def _affine(data, c, device):
    """weight and bias (each maybe None), away from 0 so nothing degenerates."""
    w = data.draw(st.one_of(st.none(), float_arrays((c,), 0.5, 2.0)))
    b = data.draw(st.one_of(st.none(), float_arrays((c,))))
    return [None if p is None else leaf(p, device) for p in (w, b)]


# ============================================================================ batch_norm gradients


@given(data=st.data(), shape=BN_SHAPES)
def test_batch_norm_training_gradcheck(device, data, shape):
    x = leaf(data.draw(float_arrays(shape, distinct=True)), device)
    w, b = _affine(data, shape[1], device)
    params = [p for p in (w, b) if p is not None]

    def fn(x, *ps):
        it = iter(ps)
        return F.batch_norm(x, None, None, next(it) if w is not None else None,
                            next(it) if b is not None else None, training=True)
    check_grads(fn, [x] + params)


@given(data=st.data(), shape=BN_SHAPES)
def test_batch_norm_eval_gradcheck(device, data, shape):
    c = shape[1]
    x = leaf(data.draw(float_arrays(shape)), device)
    w, b = leaf(data.draw(float_arrays((c,), 0.5, 2.0)), device), leaf(
        data.draw(float_arrays((c,))), device)
    mean = data.draw(float_arrays((c,)))
    var = data.draw(float_arrays((c,), 0.5, 2.0))
    xp = mg.backend.xp_for_device(device)
    rm, rv = xp.asarray(mean), xp.asarray(var)
    check_grads(lambda x, w, b: F.batch_norm(x, rm, rv, w, b, training=False), [x, w, b])
    np.testing.assert_array_equal(mg.backend.as_numpy(rm), mean)  # eval leaves them alone


# ============================================================================ batch_norm vs PyTorch


def _run_second_order(lib, fn, arrays, v, u, make, grad):
    """y = fn(*inputs); gs = d<v, y>/d(inputs) with a graph; then d<u, gs>/d(inputs, v)."""
    ins = [make(a) for a in arrays]
    tv = make(v)
    y = fn(*ins)
    gs = grad([y], ins, [tv], create_graph=True)
    seconds = grad(list(gs), ins + [tv], [make(w, False) for w in u], allow_unused=True)
    return [y] + list(gs) + list(seconds)


def _compare_second_order(torch, ours_fn, torch_fn, arrays, dtype, device):
    rtol, atol = (1e-10, 1e-10) if dtype == np.float64 else (1e-5, 1e-5)
    arrays = [a.astype(dtype) for a in arrays]
    shape_y = arrays[0].shape
    v = random_like(shape_y, 5).astype(dtype)
    u = [random_like(a.shape, 6 + i).astype(dtype) for i, a in enumerate(arrays)]
    ours = _run_second_order(
        mg, ours_fn, arrays, v, u,
        lambda a, rg=True: mg.tensor(a, device=device, requires_grad=rg),
        lambda o, i, g, **kw: mg.grad(o, i, g, **kw))
    theirs = _run_second_order(
        torch, torch_fn, arrays, v, u,
        lambda a, rg=True: torch.tensor(a, requires_grad=rg),
        lambda o, i, g, **kw: torch.autograd.grad(o, i, g, **kw))
    names = (["y"] + [f"d/d input {i}" for i in range(len(arrays))]
             + [f"d2/d input {i}" for i in range(len(arrays))] + ["d2/d gy"])
    for name, a, b in zip(names, ours, theirs):
        if b is None:
            assert a is None or not np.any(a.numpy()), name
            continue
        assert a.dtype == dtype, name
        b = b.detach().numpy()
        scale = 1.0 if dtype == np.float64 else max(1.0, np.abs(b).max())
        np.testing.assert_allclose(a.numpy(), b, rtol=rtol, atol=atol * scale, err_msg=name)


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("shape", [(8, 5), (4, 3, 6), (4, 3, 5, 5)])
def test_batch_norm_training_like_torch(torch, device, shape, dtype):
    rng = np.random.default_rng(0)
    c = shape[1]
    x = rng.standard_normal(shape) * 3 + 2
    w, b = rng.standard_normal(c), rng.standard_normal(c)
    _compare_second_order(
        torch, lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
        lambda x, w, b: torch.nn.functional.batch_norm(x, None, None, w, b, training=True),
        [x, w, b], dtype, device)
    _compare_second_order(  # no affine parameters
        torch, lambda x: F.batch_norm(x, None, None, training=True, eps=1e-3),
        lambda x: torch.nn.functional.batch_norm(x, None, None, training=True, eps=1e-3),
        [x], dtype, device)


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("shape", [(8, 5), (4, 3, 5, 5)])
def test_batch_norm_eval_like_torch(torch, device, shape, dtype):
    rng = np.random.default_rng(1)
    c = shape[1]
    x = rng.standard_normal(shape)
    w, b = rng.standard_normal(c), rng.standard_normal(c)
    rm, rv = rng.standard_normal(c).astype(dtype), rng.uniform(0.5, 2, c).astype(dtype)
    xp = mg.backend.xp_for_device(device)
    _compare_second_order(
        torch, lambda x, w, b: F.batch_norm(x, xp.asarray(rm), xp.asarray(rv), w, b),
        lambda x, w, b: torch.nn.functional.batch_norm(x, torch.tensor(rm), torch.tensor(rv),
                                                       w, b),
        [x, w, b], dtype, device)


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
def test_running_statistics_follow_torch(torch, device, dtype):
    rng = np.random.default_rng(2)
    c = 4
    ours_mean = mg.zeros(c, dtype=dtype, device=device)          # a Tensor ...
    xp = mg.backend.xp_for_device(device)
    ours_var = xp.ones(c, dtype=dtype)                              # ... and an array
    theirs_mean = torch.zeros(c, dtype=torch.float64 if dtype == np.float64 else torch.float32)
    theirs_var = torch.ones_like(theirs_mean)
    for step, shape in enumerate([(6, c, 3, 3), (5, c, 2, 4), (7, c, 1, 1), (3, c, 5, 2)]):
        x = (rng.standard_normal(shape) * (step + 1) + step).astype(dtype)
        momentum = 0.1 if step < 2 else 0.3
        y = F.batch_norm(mg.tensor(x, device=device), ours_mean, ours_var, training=True,
                         momentum=momentum)
        ty = torch.nn.functional.batch_norm(torch.tensor(x), theirs_mean, theirs_var,
                                            training=True, momentum=momentum)
        rtol = 1e-12 if dtype == np.float64 else 1e-5
        np.testing.assert_allclose(y.numpy(), ty.numpy(), rtol=rtol, atol=rtol)
        np.testing.assert_allclose(ours_mean.numpy(), theirs_mean.numpy(), rtol=rtol)
        np.testing.assert_allclose(mg.backend.as_numpy(ours_var), theirs_var.numpy(), rtol=rtol)
    assert ours_mean.dtype == dtype and ours_var.dtype == dtype
    # eval mode now normalises with those statistics
    x = rng.standard_normal((2, c)).astype(dtype)
    y = F.batch_norm(mg.tensor(x, device=device), ours_mean, ours_var, training=False)
    ty = torch.nn.functional.batch_norm(torch.tensor(x), theirs_mean, theirs_var)
    np.testing.assert_allclose(y.numpy(), ty.numpy(), rtol=1e-5, atol=1e-6)


def test_batch_norm_without_running_stats(torch):
    x = np.random.default_rng(3).standard_normal((5, 3))
    y = F.batch_norm(mg.tensor(x), None, None, training=True)  # batch statistics, no update
    ty = torch.nn.functional.batch_norm(torch.tensor(x), None, None, training=True)
    np.testing.assert_allclose(y.numpy(), ty.numpy(), rtol=1e-12, atol=1e-12)
    with pytest.raises(RuntimeError, match="running_mean must be defined"):
        torch.nn.functional.batch_norm(torch.tensor(x), None, None, training=False)
    with pytest.raises(ValueError, match=r"batch_norm: running_mean and running_var must be "
                                         r"given in evaluation mode"):
        F.batch_norm(mg.tensor(x), None, None, training=False)


def test_batch_norm_keeps_float32_and_skips_unneeded_grads():
    x = mg.randn(4, 3, 2, 2)                     # no grad for x: only weight and bias
    w, b = mg.ones(3, requires_grad=True), mg.zeros(3, requires_grad=True)
    y = F.batch_norm(x, None, None, w, b, training=True)
    assert y.dtype == np.float32
    (y * y).sum().backward()
    assert w.grad.dtype == np.float32 and x.grad is None
    np.testing.assert_allclose(w.grad.numpy(), 2 * 16 * np.ones(3), rtol=1e-3)  # 2 sum(xhat^2)


def test_batch_norm_errors_name_shapes():
    x = mg.ones(4, 3, 2, 2)
    with pytest.raises(ValueError, match=r"batch_norm: running_mean of shape \(4,\) does not "
                                         r"match input of shape \(4, 3, 2, 2\) with 3 channels"):
        F.batch_norm(x, np.zeros(4, np.float32), np.ones(3, np.float32))
    with pytest.raises(ValueError, match=r"batch_norm: running_var of shape \(2,\)"):
        F.batch_norm(x, np.zeros(3, np.float32), np.ones(2, np.float32), training=True)
    with pytest.raises(ValueError, match=r"batch_norm: weight of shape \(2,\) does not match "
                                         r"input of shape \(4, 3, 2, 2\): expected \(3,\)"):
        F.batch_norm(x, None, None, mg.ones(2), training=True)
    with pytest.raises(ValueError, match=r"batch_norm: bias of shape \(3, 1\)"):
        F.batch_norm(x, None, None, None, mg.ones(3, 1), training=True)
    with pytest.raises(ValueError, match=r"expected more than 1 value per channel when "
                                         r"training, got input of shape \(1, 3\)"):
        F.batch_norm(mg.ones(1, 3), None, None, training=True)
    with pytest.raises(ValueError, match=r"batch_norm: expected input of shape \(N, C, ...\)"):
        F.batch_norm(mg.ones(3), None, None, training=True)


# ============================================================================ layer_norm


@given(data=st.data(), shape=st.sampled_from([(3,), (2, 4), (2, 2, 3), (3, 2, 2)]),
       k=st.integers(1, 2))
def test_layer_norm_gradcheck(device, data, shape, k):
    k = min(k, len(shape))
    normalized = shape[len(shape) - k:]
    x = leaf(data.draw(float_arrays(shape, distinct=True)), device)
    w = data.draw(st.one_of(st.none(), float_arrays(normalized, 0.5, 2.0)))
    b = data.draw(st.one_of(st.none(), float_arrays(normalized)))
    params = [leaf(p, device) for p in (w, b) if p is not None]

    def fn(x, *ps):
        it = iter(ps)
        return F.layer_norm(x, normalized, next(it) if w is not None else None,
                            next(it) if b is not None else None)
    check_grads(fn, [x] + params)


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("shape, normalized", [((4, 6), (6,)), ((3, 4, 5), (5,)),
                                               ((2, 3, 4, 5), (4, 5))])
def test_layer_norm_like_torch(torch, device, shape, normalized, dtype):
    rng = np.random.default_rng(4)
    x = rng.standard_normal(shape) * 2 + 1
    w, b = rng.standard_normal(normalized), rng.standard_normal(normalized)
    _compare_second_order(
        torch, lambda x, w, b: F.layer_norm(x, normalized, w, b),
        lambda x, w, b: torch.nn.functional.layer_norm(x, normalized, w, b),
        [x, w, b], dtype, device)
    _compare_second_order(
        torch, lambda x: F.layer_norm(x, normalized[-1], eps=1e-3),
        lambda x: torch.nn.functional.layer_norm(x, normalized[-1:], eps=1e-3),
        [x], dtype, device)


@pytest.mark.parametrize("shape, normalized", [((0, 3), (3,)), ((2, 0), (0,)), ((0,), (0,)),
                                               ((2, 0, 3), (0, 3))])
def test_layer_norm_of_an_empty_tensor_like_torch(torch, shape, normalized):
    x = mg.zeros(*shape, requires_grad=True)
    w, b = mg.ones(*normalized, requires_grad=True), mg.zeros(*normalized, requires_grad=True)
    y = F.layer_norm(x, normalized, w, b)
    ty = torch.nn.functional.layer_norm(torch.zeros(shape), normalized, torch.ones(normalized),
                                        torch.zeros(normalized))
    assert y.shape == tuple(ty.shape) == shape
    y.sum().backward()
    assert x.grad.shape == shape and w.grad.shape == b.grad.shape == normalized
    assert mg.nn.LayerNorm(normalized)(mg.zeros(*shape)).shape == shape


def test_layer_norm_errors_name_shapes():
    x = mg.ones(2, 3, 4)
    with pytest.raises(ValueError, match=r"layer_norm: normalized_shape \(3,\) does not match "
                                         r"the last dims of input of shape \(2, 3, 4\)"):
        F.layer_norm(x, 3)
    with pytest.raises(ValueError, match=r"layer_norm: normalized_shape \(2, 3, 4, 1\)"):
        F.layer_norm(x, (2, 3, 4, 1))
    with pytest.raises(ValueError, match=r"layer_norm: weight of shape \(3,\) does not match "
                                         r"input of shape \(2, 3, 4\): expected \(4,\)"):
        F.layer_norm(x, 4, mg.ones(3))
    with pytest.raises(ValueError, match=r"layer_norm: bias of shape \(4, 1\)"):
        F.layer_norm(x, 4, None, mg.ones(4, 1))


def test_batch_norm_channels_last_input(device):
    """Conv outputs are (N, C, H, W) views of (N, H, W, C) memory: batch norm computes on
    their rows and returns that layout, with the same values and gradients as for NCHW."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 3, 5, 6)) * 2 + 1
    w, b, g = rng.standard_normal(3), rng.standard_normal(3), rng.standard_normal(x.shape)
    out = {}
    for layout in ("nchw", "nhwc"):
        leaf_x = leaf(x if layout == "nchw" else x.transpose(0, 2, 3, 1), device)
        xt = leaf_x if layout == "nchw" else leaf_x.permute(0, 3, 1, 2)
        pw, pb = leaf(w, device), leaf(b, device)
        y = F.batch_norm(xt, None, None, pw, pb, training=True)
        assert y.data.flags.c_contiguous == (layout == "nchw")
        y.backward(mg.tensor(g, device=device))
        gx = leaf_x.grad.numpy()
        out[layout] = (y.numpy(), gx if layout == "nchw" else gx.transpose(0, 3, 1, 2),
                       pw.grad.numpy(), pb.grad.numpy())
    for a, c in zip(out["nchw"], out["nhwc"]):
        np.testing.assert_allclose(a, c, rtol=1e-12, atol=1e-12)
