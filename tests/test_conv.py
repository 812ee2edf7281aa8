"""conv2d / conv_transpose2d: the reference loops (minigan/reference/conv.py), finite
differences (first and second order), the adjoint identity, PyTorch parity (forward,
backward, double backward) and errors. tests/test_reference.py compares the fast and the
reference kernels' derivatives too."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import minigan as mg
import minigan.functional as F
from minigan import reference
from minigan.ops import conv as conv_ops

from strategies import check_against_torch, conv_cases, conv_transpose_cases


def _t(a, device, requires_grad=True, dtype=np.float64):
    return mg.tensor(np.asarray(a, dtype=dtype), device=device, requires_grad=requires_grad)


def _arrays(case, seed=0):
    xs, ws, has_bias, kwargs = case
    rng = np.random.default_rng(seed)
    out_ch = ws[0] if "output_padding" not in kwargs else ws[1] * kwargs["groups"]
    b = rng.standard_normal(out_ch) if has_bias else None
    return rng.standard_normal(xs), rng.standard_normal(ws), b, kwargs


# ---------------------------------------------------------------------------- forward vs reference


def _matches_reference(fast, slow, case, device):
    x, w, b, kw = _arrays(case)
    tensors = [_t(x, device), _t(w, device)] + ([] if b is None else [_t(b, device)])
    np.testing.assert_allclose(fast(*tensors, **kw).numpy(), slow(*tensors, **kw).numpy(),
                               rtol=1e-12, atol=1e-12)


@given(conv_cases())
def test_conv2d_matches_reference_loops(device, case):
    _matches_reference(F.conv2d, reference.conv2d, case, device)


@given(conv_transpose_cases())
def test_conv_transpose2d_matches_reference_loops(device, case):
    _matches_reference(F.conv_transpose2d, reference.conv_transpose2d, case, device)


# ---------------------------------------------------------------------------- finite differences


def _grad_checks(fn, x, w, b, kw, device):
    inputs = [_t(x, device), _t(w, device)] + ([_t(b, device)] if b is not None else [])
    f = lambda *t: fn(*t, **kw)  # noqa: E731
    assert mg.gradcheck(f, inputs)
    assert mg.gradgradcheck(f, inputs)


@settings(max_examples=12)
@given(conv_cases(max_side=4))
def test_conv2d_gradcheck_and_gradgradcheck(device, case):
    x, w, b, kw = _arrays(case)
    _grad_checks(F.conv2d, x, w, b, kw, device)


@settings(max_examples=12)
@given(conv_transpose_cases(max_side=3))
def test_conv_transpose2d_gradcheck_and_gradgradcheck(device, case):
    x, w, b, kw = _arrays(case)
    _grad_checks(F.conv_transpose2d, x, w, b, kw, device)


def test_third_order_gradient(device, torch):
    """create_graph works at any order: d^3 of a cubic-in-parameters chain vs PyTorch."""
    rng = np.random.default_rng(3)
    x, w1, w2 = rng.standard_normal((2, 2, 5, 5)), rng.standard_normal((3, 2, 3, 3)), \
        rng.standard_normal((3, 2, 3, 3))

    def run(lib, conv, convt, tensors):
        x, w1, w2 = tensors
        y = convt(conv(x, w1, stride=2, padding=1), w2, stride=2, padding=1)
        (gx,) = lib.grad((y * y * y).sum(), [x], create_graph=True) if lib is mg else \
            torch.autograd.grad((y * y * y).sum(), [x], create_graph=True)
        g2 = (lib.grad if lib is mg else torch.autograd.grad)((gx * gx).sum(), [w1],
                                                              create_graph=True)[0]
        return (lib.grad if lib is mg else torch.autograd.grad)((g2 * g2).sum(), [x, w1, w2])

    ours = run(mg, F.conv2d, F.conv_transpose2d, [_t(a, device) for a in (x, w1, w2)])
    theirs = run(torch, torch.nn.functional.conv2d, torch.nn.functional.conv_transpose2d,
                 [torch.tensor(a, requires_grad=True) for a in (x, w1, w2)])
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-9, atol=1e-9)


# ---------------------------------------------------------------------------- adjoint identity


@given(conv_cases())
def test_adjoint_identity(device, case):
    """<conv(x), g> = <x, conv_transpose(g)>: conv_transpose2d is conv2d's adjoint."""
    x, w, _, kw = _arrays(case)
    (sh, sw), (ph, pw), (dh, dw) = kw["stride"], kw["padding"], kw["dilation"]
    KH, KW = w.shape[2:]
    # the output_padding that maps conv's output size back to x's size
    op = ((x.shape[2] + 2 * ph - dh * (KH - 1) - 1) % sh, (x.shape[3] + 2 * pw - dw * (KW - 1) - 1) % sw)
    y = F.conv2d(_t(x, device), _t(w, device), **kw)
    g = np.random.default_rng(5).standard_normal(y.shape)
    xt = F.conv_transpose2d(_t(g, device), _t(w, device), output_padding=op, **kw)
    assert xt.shape == x.shape
    lhs, rhs = float((y.numpy() * g).sum()), float((x * xt.numpy()).sum())
    assert lhs == pytest.approx(rhs, rel=1e-12, abs=1e-12)


def test_im2col_col2im_adjoint(xp):
    """<im2col(x), c> = <x, col2im(c)> for the raw array kernels."""
    g = conv_ops._Geometry(7, 6, 3, 2, 3, 2, (2, 3), (1, 2), (2, 1), 2)
    rng = np.random.default_rng(0)
    x = xp.asarray(rng.standard_normal((2, 4, 7, 6)))
    cols = conv_ops._im2col(x, g)
    c = xp.asarray(rng.standard_normal(cols.shape))
    back = conv_ops._col2im(c, 2, 4, g)
    assert back.shape == x.shape
    assert float((cols * c).sum()) == pytest.approx(float((x * back).sum()), rel=1e-12)


@pytest.mark.parametrize("kind", ["conv", "deconv"])
def test_threaded_copies_give_identical_results(device, monkeypatch, kind):
    """im2col / col2im split over the batch between threads: bit-for-bit the serial result."""
    from minigan import backend
    rng = np.random.default_rng(0)
    x = _t(rng.standard_normal((5, 4, 9, 8)), device)
    if kind == "conv":
        w = _t(rng.standard_normal((6, 4, 3, 3)), device)
        run = lambda: F.conv2d(x, w, stride=2, padding=1)  # noqa: E731
    else:
        w = _t(rng.standard_normal((4, 6, 3, 3)), device)
        run = lambda: F.conv_transpose2d(x, w, stride=2, padding=1, output_padding=1)  # noqa: E731

    def forward_backward():
        y = run()
        gx, gw = mg.grad(y, [x, w], _t(np.cos(np.arange(y.numel())).reshape(y.shape), device, False))
        return y.numpy(), gx.numpy(), gw.numpy()

    monkeypatch.setenv("MINIGAN_NUM_THREADS", "1")
    serial = forward_backward()
    monkeypatch.setenv("MINIGAN_NUM_THREADS", "3")
    monkeypatch.setattr(backend, "PARALLEL_MIN_ELEMENTS", 0)
    threaded = forward_backward()
    for a, b in zip(serial, threaded):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("geometry", [
    ((3, 5, 8, 8), (5, 3, 4, 4), dict(stride=2, padding=1)),            # G's to-RGB layer
    ((2, 4, 5, 7), (4, 2, 3, 3), dict(stride=2, padding=0, output_padding=1)),
    ((2, 3, 4, 3), (3, 5, 5, 2), dict(stride=(3, 2), padding=(2, 0), output_padding=(2, 0))),
    ((1, 2, 3, 3), (2, 15, 2, 2), dict(stride=2)),                       # 15 channels: the limit
])
@pytest.mark.parametrize("threads", ["1", "3"])
def test_few_channel_transpose_matches_the_general_path(device, monkeypatch, geometry, threads):
    """A strided transposed conv to few channels (``_conv_transpose_few_channels``, the frame
    of phases) gives the general path's image and gradients, serial and threaded, and it is
    the path taken (the general col2im never runs for its output)."""
    from minigan import backend
    xs, ws, kw = geometry
    rng = np.random.default_rng(1)
    x, w, b = (_t(rng.standard_normal(s), device) for s in (xs, ws, (ws[1],)))
    y = F.conv_transpose2d(x, w, b, **kw)
    seed = _t(np.cos(np.arange(y.numel())).reshape(y.shape), device, False)

    def forward_backward():
        y = F.conv_transpose2d(x, w, b, **kw)
        return [y.numpy()] + [g.numpy() for g in mg.grad(y, [x, w, b], seed)]

    monkeypatch.setenv("MINIGAN_NUM_THREADS", threads)
    monkeypatch.setattr(backend, "PARALLEL_MIN_ELEMENTS", 0)
    general_col2im = conv_ops._col2im

    def col2im(cols, N, C, g):
        assert C != y.shape[1], "the general col2im ran for the few-channel output"
        return general_col2im(cols, N, C, g)
    monkeypatch.setattr(conv_ops, "_col2im", col2im)
    few = forward_backward()
    monkeypatch.setattr(conv_ops, "_col2im", general_col2im)
    monkeypatch.setattr(conv_ops, "FEW_CHANNELS", 0)
    general = forward_backward()
    for a, b_ in zip(few, general):
        np.testing.assert_allclose(a, b_, rtol=1e-12, atol=1e-12)


def test_run_in_parts_covers_the_range_and_reraises(monkeypatch):
    from minigan import backend
    monkeypatch.setenv("MINIGAN_NUM_THREADS", "3")
    seen = np.zeros(10, dtype=int)

    def mark(part):
        seen[part] += 1
    backend.run_in_parts(mark, 10, 10 ** 9, np.zeros(1))
    assert (seen == 1).all()

    def boom(part):
        if part.start > 0:
            raise KeyError("from a worker thread")
    with pytest.raises(KeyError, match="from a worker thread"):
        backend.run_in_parts(boom, 10, 10 ** 9, np.zeros(1))


# ---------------------------------------------------------------------------- PyTorch parity


def _compare_with_torch(torch, device, kind, case, dtype):
    """Forward, backward, and double backward (w.r.t. x, w, b and gy) against PyTorch.

    float32 sums of many products carry an absolute error of about eps * the scale of the
    values, so float32 entries are compared to 1e-5 of the largest one (and 1e-5 relative)."""
    x, w, b, kw = _arrays(case)
    arrays = [x, w] + ([b] if b is not None else [])
    fn = F.conv2d if kind == "conv" else F.conv_transpose2d
    tfn = torch.nn.functional.conv2d if kind == "conv" else torch.nn.functional.conv_transpose2d
    check_against_torch(torch, lambda *t: fn(*t, **kw), lambda *t: tfn(*t, **kw), arrays, device,
                        dtype, atol=1e-10 if dtype == np.float64 else 1e-5)


@settings(max_examples=15)
@given(conv_cases(), st.sampled_from([np.float64, np.float32]))
def test_conv2d_matches_torch(device, torch, case, dtype):
    _compare_with_torch(torch, device, "conv", case, dtype)


@settings(max_examples=15)
@given(conv_transpose_cases(), st.sampled_from([np.float64, np.float32]))
def test_conv_transpose2d_matches_torch(device, torch, case, dtype):
    _compare_with_torch(torch, device, "deconv", case, dtype)


@pytest.mark.parametrize("kind", ["conv", "deconv"])
def test_dcgan_sized_layers_match_torch_float32(device, torch, kind):
    """The real sizes of DCGAN-28 (odd-size outputs, output_padding), float32, vs PyTorch."""
    if kind == "conv":
        case = ((8, 64, 14, 14), (32, 64, 5, 5), True, dict(stride=2, padding=2, dilation=1,
                                                             groups=1))
    else:
        case = ((8, 32, 7, 7), (32, 16, 5, 5), False, dict(stride=2, padding=2, output_padding=1,
                                                            dilation=1, groups=1))
    _compare_with_torch(torch, device, kind, case, np.float32)


# ---------------------------------------------------------------------------- behaviour


def test_float32_stays_float32(device):
    x = _t(np.ones((2, 3, 6, 6)), device, dtype=np.float32)
    w = _t(np.ones((4, 3, 3, 3)), device, dtype=np.float32)
    b = _t(np.ones(4), device, dtype=np.float32)
    y = F.conv2d(x, w, b, padding=1)
    z = F.conv_transpose2d(y, w, b[:3], stride=2, output_padding=1)
    assert y.dtype == np.float32 and z.dtype == np.float32
    z.sum().backward()
    assert all(t.grad.dtype == np.float32 for t in (x, w, b))


def test_first_layer_skips_image_gradient(device, monkeypatch):
    """No gradient for an input that needs none: the image gradient (a col2im) never runs."""
    x = _t(np.random.default_rng(0).standard_normal((2, 1, 8, 8)), device, requires_grad=False)
    w = _t(np.random.default_rng(1).standard_normal((3, 1, 3, 3)), device)

    def fail(*args, **kwargs):
        raise AssertionError("col2im ran for an input that needs no gradient")
    monkeypatch.setattr(conv_ops, "_col2im", fail)
    F.conv2d(x, w, stride=2, padding=1).sum().backward()
    assert x.grad is None and w.grad is not None and w.grad.shape == w.shape


@pytest.mark.parametrize("fn", [F.conv2d, F.conv_transpose2d])
def test_only_bias_needs_grad(device, fn):
    x = _t(np.ones((2, 3, 5, 5)), device, requires_grad=False)
    w = _t(np.ones((3, 3, 3, 3)), device, requires_grad=False)
    b = _t(np.zeros(3), device)
    y = fn(x, w, b)
    gy = np.random.default_rng(0).standard_normal(y.shape)
    y.backward(_t(gy, device, False))
    np.testing.assert_allclose(b.grad.numpy(), gy.sum(axis=(0, 2, 3)), rtol=1e-12)
    assert x.grad is None and w.grad is None


def test_unbatched_input(device, torch):
    x = np.random.default_rng(0).standard_normal((2, 5, 5))
    w = np.random.default_rng(1).standard_normal((3, 2, 3, 3))
    y = F.conv2d(_t(x, device), _t(w, device), padding=1)
    ty = torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(w), padding=1)
    np.testing.assert_allclose(y.numpy(), ty.numpy(), rtol=1e-10, atol=1e-12)
    z = F.conv_transpose2d(y, _t(w, device), stride=2)
    tz = torch.nn.functional.conv_transpose2d(ty, torch.tensor(w), stride=2)
    np.testing.assert_allclose(z.numpy(), tz.numpy(), rtol=1e-10, atol=1e-12)


def test_output_size_rule():
    x = mg.zeros(1, 2, 7, 5)
    w = mg.zeros(2, 3, 5, 4)
    y = F.conv_transpose2d(x, w, stride=(2, 3), padding=(2, 1), output_padding=(1, 2),
                           dilation=(1, 2))
    # H_out = (H-1)*S - 2P + D*(K-1) + OP + 1
    assert y.shape == (1, 3, 6 * 2 - 4 + 4 + 1 + 1, 4 * 3 - 2 + 2 * 3 + 2 + 1)


def test_gradient_penalty_through_conv_discriminator_trains(device):
    """A WGAN-GP-style penalty (|d D(x) / dx| - 1)^2 through two convs decreases with SGD."""
    rng = np.random.default_rng(0)
    x = _t(rng.standard_normal((4, 1, 8, 8)), device)
    w1 = _t(rng.standard_normal((4, 1, 3, 3)) * 0.3, device)
    b1 = _t(np.zeros(4), device)
    w2 = _t(rng.standard_normal((1, 4, 3, 3)) * 0.3, device)

    def penalty():
        h = F.conv2d(x, w1, b1, stride=2, padding=1)
        d = F.conv2d(h * h, w2, stride=2, padding=1).sum()
        (gx,) = mg.grad(d, [x], create_graph=True)
        norms = ((gx * gx).sum(axis=(1, 2, 3)) + 1e-12) ** 0.5
        return ((norms - 1.0) ** 2).mean()

    first = penalty().item()
    for _ in range(30):
        loss = penalty()
        gs = mg.grad(loss, [w1, b1, w2])
        with mg.no_grad():
            for p, g in zip((w1, b1, w2), gs):
                p.data -= 1e-3 * g.data
    assert penalty().item() < 0.1 * first


# ---------------------------------------------------------------------------- errors


def _z(*shape, dtype=np.float32):
    return mg.tensor(np.zeros(shape, dtype=dtype))


@pytest.mark.parametrize("call, message", [
    (lambda: F.conv2d(_z(2, 3), _z(4, 3, 3, 3)), r"conv2d: expected a 4-D input.*\(2, 3\)"),
    (lambda: F.conv2d(_z(1, 3, 8, 8), _z(4, 3, 3)), r"conv2d: weight must be 4-D.*\(4, 3, 3\)"),
    (lambda: F.conv2d(_z(2, 3, 8, 8), _z(4, 5, 3, 3)),
     r"conv2d: input of shape \(2, 3, 8, 8\) has 3 channels but weight \(4, 5, 3, 3\) expects 5"),
    (lambda: F.conv2d(_z(2, 4, 8, 8), _z(3, 2, 3, 3), groups=2),
     r"conv2d: groups=2 must divide.*\(3\).*\(2, 4, 8, 8\)"),
    (lambda: F.conv2d(_z(2, 3, 8, 8), _z(4, 3, 3, 3), groups=0), r"conv2d: groups must be"),
    (lambda: F.conv2d(_z(2, 3, 4, 4), _z(4, 3, 7, 3)),
     r"conv2d: kernel \(4, 3, 7, 3\).*spans 7 in height.*\(2, 3, 4, 4\)"),
    (lambda: F.conv2d(_z(2, 3, 4, 4), _z(4, 3, 3, 3), dilation=3),
     r"conv2d: kernel .*spans 7 in height"),
    (lambda: F.conv2d(_z(2, 3, 8, 8), _z(4, 3, 3, 3), _z(3)), r"conv2d: bias of shape \(3,\)"),
    (lambda: F.conv2d(_z(2, 3, 8, 8), _z(4, 3, 3, 3), stride=0), r"conv2d: stride must be >= 1"),
    (lambda: F.conv2d(_z(2, 3, 8, 8), _z(4, 3, 3, 3), padding=-1), r"conv2d: padding must be >= 0"),
    (lambda: F.conv2d(_z(2, 3, 8, 8), _z(4, 3, 3, 3), stride=(1, 2, 3)),
     r"conv2d: stride must be an int or 2 ints"),
    (lambda: F.conv_transpose2d(_z(2, 3, 4, 4), _z(3, 2, 3, 3), stride=2, output_padding=2),
     r"conv_transpose2d: output_padding \(2, 2\) must be smaller than either stride \(2, 2\) "
     r"or dilation \(1, 1\)"),
    (lambda: F.conv_transpose2d(_z(2, 3, 4, 4), _z(3, 2, 3, 3), output_padding=1),
     r"conv_transpose2d: output_padding"),
    (lambda: F.conv_transpose2d(_z(2, 3, 4, 4), _z(4, 2, 3, 3)),
     r"conv_transpose2d: input of shape \(2, 3, 4, 4\) has 3 channels but weight \(4, 2, 3, 3\)"),
    (lambda: F.conv_transpose2d(_z(2, 3, 4, 4), _z(3, 2, 3, 3), groups=2),
     r"conv_transpose2d: groups=2 must divide"),
    (lambda: F.conv_transpose2d(_z(1, 3, 1, 1), _z(3, 2, 1, 1), padding=1),
     r"conv_transpose2d: output size \(-1, -1\) is too small"),
    (lambda: F.conv_transpose2d(_z(1, 3, 2, 2), _z(3, 2, 1, 1), _z(3)),
     r"conv_transpose2d: bias of shape \(3,\)"),
])
def test_errors_name_op_and_shapes(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_dtype_mismatch_is_an_error():
    with pytest.raises(TypeError, match=r"conv2d: inputs on different dtypes.*float64.*float32"):
        F.conv2d(_z(1, 2, 5, 5, dtype=np.float64), _z(3, 2, 3, 3))
    with pytest.raises(TypeError, match=r"conv_transpose2d: inputs on different dtypes"):
        F.conv_transpose2d(_z(1, 3, 5, 5), _z(3, 2, 3, 3), _z(2, dtype=np.float64))
    with pytest.raises(TypeError, match=r"conv2d: input and weight must be floating point"):
        F.conv2d(mg.tensor(np.zeros((1, 2, 5, 5), dtype=np.int64)), _z(3, 2, 3, 3))


@pytest.mark.gpu
def test_device_mismatch_is_an_error(device):
    if device == "cpu":
        pytest.skip("needs a second device")
    with pytest.raises(mg.DeviceError, match=r"conv2d: inputs on different devices"):
        F.conv2d(mg.zeros(1, 2, 5, 5, device=device), _z(3, 2, 3, 3))
