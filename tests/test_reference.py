"""The reference kernels (minigan/reference/) as the oracle of the fast ones (minigan/ops/):
forward, backward and double backward agree to float64 round-off on hypothesis-drawn
configurations; the reference kernels' own gradients against finite differences; the
``use_reference_kernels`` switch; and DCGAN-28 trained a few steps on both kernels."""
from __future__ import annotations

import os
import subprocess
import sys
import threading

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import minigan as mg
import minigan.functional as F
from minigan import reference
from minigan.autograd import iter_graph

from strategies import conv_cases, conv_transpose_cases, float_arrays, leaf


# ---------------------------------------------------------------------------- the comparison


def _close(ours, theirs) -> None:
    """Equal to float64 round-off (relative to the largest entry, for sums near zero)."""
    theirs = np.asarray(theirs)
    scale = max(1.0, float(np.abs(theirs).max())) if theirs.size else 1.0
    np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12 * scale, equal_nan=False)


def _derivatives(fn, arrays, requires_grad, device) -> list:
    """y = fn(*inputs), its gradients for a random upstream gy, and the gradients of a random
    projection of those w.r.t. the inputs and gy (double backward), as NumPy arrays
    (zeros where a second derivative is absent)."""
    inputs = [None if a is None else leaf(a, device, r) for a, r in zip(arrays, requires_grad)]
    y = fn(*inputs)
    rng = np.random.default_rng(1)
    gy = leaf(rng.standard_normal(y.shape), device)
    wrt = [t for t in inputs if t is not None and t.requires_grad]
    grads = mg.grad(y, wrt, gy, create_graph=True)
    s = sum((g * leaf(rng.standard_normal(g.shape), device, False)).sum() for g in grads)
    second = mg.grad(s, wrt + [gy], allow_unused=True) if s.requires_grad else [None] * len(grads)
    out = [y.numpy()] + [g.numpy() for g in grads]
    return out + [np.zeros(t.shape) if g is None else g.numpy() for g, t in zip(second, wrt + [gy])]


def assert_same_derivatives(fast, slow, arrays, device="cpu", requires_grad=None) -> None:
    """fast(*inputs) and slow(*inputs): outputs, gradients and second derivatives agree."""
    requires_grad = requires_grad or [True] * len(arrays)
    for ours, theirs in zip(_derivatives(fast, arrays, requires_grad, device),
                            _derivatives(slow, arrays, requires_grad, device)):
        _close(ours, theirs)


def _conv_arrays(case, seed=0):
    xs, ws, has_bias, kwargs = case
    rng = np.random.default_rng(seed)
    out_ch = ws[0] if "output_padding" not in kwargs else ws[1] * kwargs["groups"]
    arrays = [rng.standard_normal(xs), rng.standard_normal(ws)]
    return arrays + ([rng.standard_normal(out_ch)] if has_bias else []), kwargs


# ---------------------------------------------------------------------------- conv


@given(conv_cases(max_side=5))
def test_conv2d_matches_reference(device, case):
    arrays, kw = _conv_arrays(case)
    assert_same_derivatives(lambda *t: F.conv2d(*t, **kw), lambda *t: reference.conv2d(*t, **kw),
                            arrays, device)


@given(conv_transpose_cases(max_side=3))
def test_conv_transpose2d_matches_reference(device, case):
    arrays, kw = _conv_arrays(case)
    assert_same_derivatives(lambda *t: F.conv_transpose2d(*t, **kw),
                            lambda *t: reference.conv_transpose2d(*t, **kw), arrays, device)


def test_conv_transpose_with_output_padding_beyond_the_stride(device):
    """output_padding may reach max(stride, dilation) - 1 > stride - 1: the adjoint conv then
    covers more positions than the input has (the reference crops them)."""
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal((1, 2, 3, 3)), rng.standard_normal((2, 2, 2, 2))]
    kw = dict(stride=1, padding=1, output_padding=(1, 0), dilation=(2, 1))
    assert_same_derivatives(lambda *t: F.conv_transpose2d(*t, **kw),
                            lambda *t: reference.conv_transpose2d(*t, **kw), arrays, device)


# ---------------------------------------------------------------------------- normalisation


def _weight_and_bias(params: tuple, weight, bias) -> tuple:
    """(w, b) from the tensors that follow x: the weight first, each only where drawn."""
    return (params[0] if weight is not None else None, params[-1] if bias is not None else None)


@st.composite
def batch_norm_cases(draw):
    """(x, weight or None, bias or None, running mean, running var, training, momentum)."""
    n, c = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    spatial = draw(st.sampled_from([(), (3,), (2, 3)]))
    training = draw(st.booleans())
    if training and n * int(np.prod(spatial)) == 1:
        n = 2
    x = draw(float_arrays((n, c) + spatial))
    weight = draw(st.none() | float_arrays((c,), 0.5, 2.0))
    bias = draw(st.none() | float_arrays((c,)))
    rm, rv = draw(float_arrays((c,))), draw(float_arrays((c,), 0.5, 2.0))
    return x, weight, bias, rm, rv, training, draw(st.sampled_from([0.1, 0.5]))


@given(batch_norm_cases())
def test_batch_norm_matches_reference(device, case):
    x, weight, bias, rm, rv, training, momentum = case
    running = {}

    def run(fn, key):
        stats = [leaf(rm, device, False), leaf(rv, device, False)]
        running[key] = stats

        def call(x, *params):
            return fn(x, stats[0], stats[1], *_weight_and_bias(params, weight, bias), training,
                      momentum)
        return call
    arrays = [x] + [p for p in (weight, bias) if p is not None]
    assert_same_derivatives(run(F.batch_norm, "fast"), run(reference.batch_norm, "reference"),
                            arrays, device)
    for ours, theirs in zip(running["fast"], running["reference"]):  # updated as PyTorch's
        _close(ours.numpy(), theirs.numpy())


def test_batch_norm_running_statistics_as_torch(torch):
    """The reference batch norm updates the running statistics as PyTorch (unbiased variance)."""
    x = np.random.default_rng(0).standard_normal((4, 3, 2, 2))
    rm, rv = np.zeros(3), np.ones(3)
    trm, trv = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    for _ in range(2):
        y = reference.batch_norm(leaf(x), rm, rv, training=True, momentum=0.3)
        ty = torch.nn.functional.batch_norm(torch.tensor(x), trm, trv, training=True, momentum=0.3)
    _close(y.numpy(), ty.numpy())
    _close(rm, trm.numpy())
    _close(rv, trv.numpy())


@st.composite
def layer_norm_cases(draw):
    lead = draw(st.sampled_from([(), (2,), (2, 1)]))
    shape = draw(st.sampled_from([(3,), (2, 3)]))
    x = draw(float_arrays(lead + shape))
    weight = draw(st.none() | float_arrays(shape, 0.5, 2.0))
    bias = draw(st.none() | float_arrays(shape))
    return x, shape, weight, bias


@given(layer_norm_cases())
def test_layer_norm_matches_reference(device, case):
    x, shape, weight, bias = case

    def run(fn):
        return lambda x, *params: fn(x, shape, *_weight_and_bias(params, weight, bias))
    arrays = [x] + [p for p in (weight, bias) if p is not None]
    assert_same_derivatives(run(F.layer_norm), run(reference.layer_norm), arrays, device)


# ---------------------------------------------------------------------------- softmax, attention


@given(st.sampled_from([(4,), (2, 3), (2, 1, 3)]), st.data())
def test_softmax_and_log_softmax_match_reference(device, shape, data):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    x = data.draw(float_arrays(shape, -3.0, 3.0))
    for fast, slow in ((F.softmax, reference.softmax), (F.log_softmax, reference.log_softmax)):
        assert_same_derivatives(lambda t: fast(t, dim=axis), lambda t: slow(t, dim=axis), [x],
                                device)


@st.composite
def attention_cases(draw):
    """(q, k, v, mask kind, mask array, scale): batch dims that broadcast, T, S, D, Dv, and a
    boolean mask (maybe a fully masked row), an additive one (it requires grad), causal or none."""
    batch_q, batch_k = draw(st.sampled_from([((), ()), ((2,), (2,)), ((2, 1), (3,)), ((2,), ())]))
    T, S, D, Dv = (draw(st.integers(1, 3)) for _ in range(4))
    q = draw(float_arrays(batch_q + (T, D)))
    k, v = draw(float_arrays(batch_k + (S, D))), draw(float_arrays(batch_k + (S, Dv)))
    kind = draw(st.sampled_from(["none", "bool", "additive", "causal"]))
    rng = np.random.default_rng(draw(st.integers(0, 100)))
    mask = None
    if kind == "bool":
        mask = rng.uniform(size=(T, S)) > 0.3
        if draw(st.booleans()):
            mask[0] = False  # a query that sees no key: its output and gradients are 0
    elif kind == "additive":
        mask = rng.standard_normal((T, S))
    return q, k, v, kind, mask, draw(st.sampled_from([None, 0.7]))


def _attention_call(fn, kind: str, mask, scale, device):
    """fn(q, k, v, [additive mask]) with the case's mask: an additive one is an input (it
    requires grad), a boolean one a constant."""
    def call(q, k, v, *additive):
        constant = None if mask is None or additive else mg.tensor(mask, device=device)
        return fn(q, k, v, additive[0] if additive else constant, is_causal=kind == "causal",
                  scale=scale)
    return call


@given(attention_cases())
def test_scaled_dot_product_attention_matches_reference(device, case):
    q, k, v, kind, mask, scale = case
    arrays = [q, k, v] + ([mask] if kind == "additive" else [])
    assert_same_derivatives(
        _attention_call(F.scaled_dot_product_attention, kind, mask, scale, device),
        _attention_call(reference.scaled_dot_product_attention, kind, mask, scale, device),
        arrays, device)


@pytest.mark.parametrize("need_weights", [True, False])
def test_multihead_attention_with_dropout_and_masks_matches_reference(device, need_weights):
    """The reference core also serves nn.MultiheadAttention, with the same dropout draw.
    Without the weights, a query whose keys are all masked gets zeros (with them, NaN, as
    PyTorch: so that case masks only some keys)."""
    mg.manual_seed(0)
    mha = mg.nn.MultiheadAttention(4, 2, dropout=0.3, batch_first=True).to(device=device,
                                                                             dtype="float64")
    x = np.random.default_rng(0).standard_normal((2, 3, 4))
    padding = np.array([[False, False, True], [True, True, not need_weights]])

    def run(on_reference):
        def call(x):
            mg.manual_seed(5)
            with mg.use_reference_kernels(on_reference):
                out, weights = mha(x, x, x, key_padding_mask=mg.tensor(padding, device=device),
                                   need_weights=need_weights)
            return out if weights is None else mg.cat([out, weights], -1)
        return call
    assert_same_derivatives(run(False), run(True), [x], device)


# ---------------------------------------------------------------------------- leaky_relu


@given(st.sampled_from([0.0, 0.01, 0.2, -0.5, 1.5]), st.sampled_from([(), (3,), (2, 3)]), st.data())
def test_leaky_relu_matches_reference(device, slope, shape, data):
    x = data.draw(float_arrays(shape, kinks=[0.0]))
    fast = F.relu if slope == 0 else (lambda t: F.leaky_relu(t, slope))
    slow = reference.relu if slope == 0 else (lambda t: reference.leaky_relu(t, slope))
    assert_same_derivatives(fast, slow, [x], device)


def test_relu_of_minus_infinity_is_zero():
    assert reference.relu(mg.tensor([-np.inf, 2.0])).tolist() == [0.0, 2.0]
    x = mg.tensor([0.0, -1.0, 1.0], dtype="float64", requires_grad=True)
    reference.leaky_relu(x, 0.2).sum().backward()
    assert x.grad.tolist() == [0.2, 0.2, 1.0]  # the slope at the kink, as PyTorch


# ---------------------------------------------------------------------------- finite differences


def _gradchecks(fn, arrays, device, second_fast=False) -> None:
    inputs = [leaf(a, device) for a in arrays]
    assert mg.gradcheck(fn, inputs)
    assert mg.gradgradcheck(fn, inputs, fast=second_fast)


@settings(max_examples=6)
@given(conv_cases(max_side=3))
def test_reference_conv2d_gradcheck(device, case):
    arrays, kw = _conv_arrays(case)
    _gradchecks(lambda *t: reference.conv2d(*t, **kw), arrays, device, second_fast=True)


@settings(max_examples=6)
@given(conv_transpose_cases(max_side=2))
def test_reference_conv_transpose2d_gradcheck(device, case):
    arrays, kw = _conv_arrays(case)
    _gradchecks(lambda *t: reference.conv_transpose2d(*t, **kw), arrays, device, second_fast=True)


@settings(max_examples=10)
@given(batch_norm_cases())
def test_reference_batch_norm_gradcheck(device, case):
    x, weight, bias, rm, rv, training, _ = case

    def fn(x, *params):
        return reference.batch_norm(x, rm.copy(), rv.copy(),
                                    *_weight_and_bias(params, weight, bias), training)
    _gradchecks(fn, [x] + [p for p in (weight, bias) if p is not None], device)


@settings(max_examples=10)
@given(layer_norm_cases())
def test_reference_layer_norm_gradcheck(device, case):
    x, shape, weight, bias = case

    def fn(x, *params):
        return reference.layer_norm(x, shape, *_weight_and_bias(params, weight, bias))
    _gradchecks(fn, [x] + [p for p in (weight, bias) if p is not None], device)


@settings(max_examples=10)
@given(attention_cases())
def test_reference_attention_gradcheck(device, case):
    q, k, v, kind, mask, scale = case
    if kind == "bool" and not mask.any(axis=-1).all():
        mask[:, 0] = True  # a fully masked row has zero output: nothing to check there
    arrays = [q, k, v] + ([mask] if kind == "additive" else [])
    _gradchecks(_attention_call(reference.scaled_dot_product_attention, kind, mask, scale, device),
                arrays, device)


@given(st.sampled_from([(3,), (2, 3)]), st.data())
def test_reference_softmax_leaky_relu_gradcheck(device, shape, data):
    x = data.draw(float_arrays(shape, kinks=[0.0]))
    for fn in (lambda t: reference.softmax(t, dim=-1), lambda t: reference.log_softmax(t, 0),
               lambda t: reference.leaky_relu(t, 0.2)):
        _gradchecks(fn, [x], device)


# ---------------------------------------------------------------------------- the switch


def _kernel_modules(t: mg.Tensor) -> set:
    return {type(f).__module__ for f in iter_graph(t)}


def _conv_bn_act(x, w, rm, rv):
    return F.leaky_relu(F.batch_norm(F.conv2d(x, w, padding=1), rm, rv, training=True), 0.2)


def test_switch_picks_the_kernel_when_the_op_is_called():
    x, w = mg.randn(2, 1, 4, 4, requires_grad=True), mg.randn(3, 1, 3, 3, requires_grad=True)
    rm, rv = mg.zeros(3), mg.ones(3)
    assert not mg.reference_kernels_enabled()
    fast = _conv_bn_act(x, w, rm, rv)
    with mg.use_reference_kernels():
        assert mg.reference_kernels_enabled()
        slow = _conv_bn_act(x, w, rm, rv)
    assert not mg.reference_kernels_enabled()
    assert _kernel_modules(fast) == {"minigan.ops.conv", "minigan.ops.norm",
                                     "minigan.ops.activation"}
    assert _kernel_modules(slow) == {"minigan.reference.conv", "minigan.reference.norm",
                                     "minigan.reference.activation"}
    (gw_slow,) = mg.grad(slow.sum(), w)  # outside the block: the graph kept the reference kernels
    (gw_fast,) = mg.grad(fast.sum(), w)
    np.testing.assert_allclose(gw_slow.numpy(), gw_fast.numpy(), rtol=1e-4, atol=1e-4)


def test_switch_nests_and_decorates():
    @mg.use_reference_kernels()
    def slow(x):
        return F.softmax(x)

    x = mg.randn(3, requires_grad=True)
    with mg.use_reference_kernels():
        with mg.use_reference_kernels(False):
            assert not mg.reference_kernels_enabled()
            inner = F.softmax(x)
        outer = F.softmax(x)
    assert type(inner.creator).__module__ == "minigan.ops.attention"
    assert type(outer.creator).__module__ == "minigan.reference.attention"
    assert type(slow(x).creator).__module__ == "minigan.reference.attention"
    assert type(slow(slow(x)).creator).__module__ == "minigan.reference.attention"  # re-entered
    assert not mg.reference_kernels_enabled()


def test_switch_belongs_to_its_thread():
    seen = []
    inside, done = threading.Event(), threading.Event()

    def other():
        inside.wait()
        seen.append(mg.reference_kernels_enabled())
        done.set()
    thread = threading.Thread(target=other)
    thread.start()
    with mg.use_reference_kernels():
        inside.set()
        done.wait()
    thread.join()
    assert seen == [False]


@pytest.mark.parametrize("value, expected", [("1", "minigan.reference.conv"),
                                             ("0", "minigan.ops.conv")])
def test_environment_variable(value, expected):
    code = ("import minigan as mg, minigan.functional as F\n"
            "y = F.conv2d(mg.ones(1, 1, 3, 3, requires_grad=True), mg.ones(1, 1, 2, 2))\n"
            "print(type(y.creator).__module__)")
    env = dict(os.environ, MINIGAN_REFERENCE_KERNELS=value,
               PYTHONPATH=os.pathsep.join(sys.path))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == expected


def test_environment_variable_with_a_bad_value_is_an_error():
    env = dict(os.environ, MINIGAN_REFERENCE_KERNELS="maybe", PYTHONPATH=os.pathsep.join(sys.path))
    out = subprocess.run([sys.executable, "-c", "import minigan"], env=env, capture_output=True,
                         text=True)
    assert out.returncode != 0
    assert "MINIGAN_REFERENCE_KERNELS: expected 1 (reference kernels) or 0" in out.stderr


def test_profiler_counts_the_same_flops_on_the_reference_convolutions():
    x, w = mg.randn(2, 3, 6, 6, requires_grad=True), mg.randn(4, 3, 3, 3, requires_grad=True)
    flops = []
    for on_reference in (False, True):
        with mg.use_reference_kernels(on_reference), mg.profile() as p:
            y = F.conv_transpose2d(F.conv2d(x, w, stride=2, padding=1), w, stride=2, padding=1,
                                   output_padding=1)
            y.sum().backward()
        flops.append({(r.name, r.kind): r.flops for r in p.key_averages() if r.flops})
    assert flops[0] == flops[1] and len(flops[0]) == 3  # conv2d, conv_transpose2d, gradweight


# ---------------------------------------------------------------------------- a whole model


def _train_dcgan(on_reference: bool, steps: int = 2, batch: int = 2):
    """The DCGAN-28 step of minigan/training/gan.py (D update with an R1 penalty, then G),
    in float64 on a fixed batch. D's dropout is off: its masks follow the memory layout of
    the activations (ops/dropout.py), which is channels-last after a fast conv and plain
    NCHW after a reference one, so the two runs would draw different masks."""
    from minigan.models.dcgan import Discriminator, Generator
    from minigan.optim import Adam
    mg.manual_seed(0)
    G, D = Generator().double(), Discriminator(dropout=0.0).double()
    opt_G = Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_D = Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    real = mg.tensor(np.random.default_rng(0).uniform(-1, 1, (batch, 1, 28, 28)),
                     requires_grad=True)
    ones, zeros = mg.ones(batch, 1, dtype="float64"), mg.zeros(batch, 1, dtype="float64")
    bce = F.binary_cross_entropy_with_logits
    kernels = set()
    with mg.use_reference_kernels(on_reference):
        for step in range(steps):
            mg.manual_seed(step + 1)
            with mg.no_grad():
                fake = G(mg.randn(batch, 100, dtype="float64"))
            logits = D(mg.cat([real, fake], 0))
            (g_real,) = mg.grad(logits[:batch].sum(), real, create_graph=True)
            d_loss = bce(logits[:batch], ones) + bce(logits[batch:], zeros) + (g_real ** 2).sum()
            opt_D.zero_grad()
            d_loss.backward()
            opt_D.step()
            D.requires_grad_(False)
            g_loss = bce(D(G(mg.randn(batch, 100, dtype="float64"))), ones)
            kernels |= _kernel_modules(g_loss)
            opt_G.zero_grad()
            g_loss.backward()
            opt_G.step()
            D.requires_grad_(True)
    state = {**{f"G.{k}": v for k, v in G.state_dict().items()},
             **{f"D.{k}": v for k, v in D.state_dict().items()}}
    return {k: v.numpy().astype(np.float64) for k, v in state.items()}, kernels


def test_dcgan28_trains_the_same_on_reference_kernels():
    fast, fast_kernels = _train_dcgan(False)
    slow, slow_kernels = _train_dcgan(True)
    assert {"minigan.ops.conv", "minigan.ops.norm", "minigan.ops.activation"} <= fast_kernels
    assert not any(m.startswith("minigan.reference") for m in fast_kernels)
    assert {"minigan.reference.conv", "minigan.reference.norm",
            "minigan.reference.activation"} <= slow_kernels
    assert not fast_kernels & {"minigan.ops.conv", "minigan.ops.norm"} & slow_kernels
    initial, _ = _train_dcgan(False, steps=0)
    for name in fast:
        moved = np.abs(fast[name] - initial[name]).max()
        if not name.endswith("num_batches_tracked"):
            assert moved > 0, name  # every weight and statistic took part in the training
        np.testing.assert_allclose(slow[name], fast[name], rtol=1e-10,
                                   atol=1e-10 * max(1.0, float(np.abs(fast[name]).max())),
                                   err_msg=name)
