"""nll_loss (ops/loss.py, sharing cross_entropy's class-target core), l1_loss, smooth_l1_loss,
huber_loss and kl_div (ops/pointwise_loss.py), and every loss layer of nn/loss.py. Finite
differences (first and second order) over drawn shapes and options, PyTorch parity of forward,
backward and double backward (float64 and float32), edge cases and errors."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigan as mg
import minigan.functional as F
from minigan import nn
from strategies import check_against_torch, check_grads, leaf

REDUCTIONS = ["none", "mean", "sum"]
DTYPES = pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])


# ============================================================================ nll_loss


@st.composite
def nll_cases(draw):
    C = draw(st.integers(1, 4))
    batch = draw(st.sampled_from([(), (2,), (3,), (2, 2), (1, 3, 2)]))
    shape = (C,) if batch == () else (batch[0], C) + batch[1:]
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    target = rng.integers(0, C, batch)
    ignore = draw(st.sampled_from([-100, 0]))
    weight = rng.uniform(0.5, 2.0, C) if draw(st.booleans()) else None
    reduction = draw(st.sampled_from(REDUCTIONS))
    if reduction == "mean" and (target == ignore).all():
        ignore = -100  # the mean over no sample is NaN (tested below), no gradient to check
    return rng.standard_normal(shape), target, weight, ignore, reduction


@settings(max_examples=20)
@given(case=nll_cases())
def test_nll_loss_gradcheck_and_gradgradcheck(device, case):
    x, target, weight, ignore, reduction = case
    w = None if weight is None else mg.tensor(weight, device=device)
    fn = lambda t: F.nll_loss(t, mg.tensor(target, device=device), w, ignore, reduction)  # noqa: E731
    check_grads(fn, [leaf(x, device)])


@DTYPES
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(4,), (5, 3), (2, 3, 2, 2)], ids=["unbatched", "NC", "NCHW"])
def test_nll_loss_like_torch(torch, device, dtype, reduction, shape):
    rng = np.random.default_rng(0)
    C = shape[0] if len(shape) == 1 else shape[1]
    target = rng.integers(0, C, shape[:1] + shape[2:] if len(shape) > 1 else ())
    weight = rng.uniform(0.5, 2.0, C).astype(dtype)
    for w, ignore in ((None, -100), (weight, -100), (weight, 1)):
        check_against_torch(
            torch, lambda x: F.nll_loss(x, mg.tensor(target, device=device),
                                        None if w is None else mg.tensor(w, device=device), ignore, reduction),
            lambda t: torch.nn.functional.nll_loss(t, torch.tensor(target),
                                                   None if w is None else torch.tensor(w),
                                                   ignore_index=ignore, reduction=reduction),
            [rng.standard_normal(shape)], device, dtype)


def test_nll_of_log_softmax_is_cross_entropy():
    rng = np.random.default_rng(1)
    z, y = leaf(rng.standard_normal((4, 5))), mg.tensor(rng.integers(0, 5, 4))
    w = mg.tensor(rng.uniform(0.5, 2, 5), dtype=mg.float64)
    a = F.nll_loss(F.log_softmax(z, 1), y, w, ignore_index=2)
    b = F.cross_entropy(z, y, w, ignore_index=2)
    assert a.item() == pytest.approx(b.item(), rel=1e-12)


def test_nll_loss_edges_like_torch(torch):
    x = np.random.default_rng(2).standard_normal((3, 4))
    ignored = np.array([-100, -100, -100])
    for reduction in REDUCTIONS:
        ours = F.nll_loss(mg.tensor(x), mg.tensor(ignored), reduction=reduction).numpy()
        theirs = torch.nn.functional.nll_loss(torch.tensor(x), torch.tensor(ignored), reduction=reduction).numpy()
        np.testing.assert_array_equal(ours, theirs)                   # all ignored: nan for 'mean'
    empty = F.nll_loss(mg.zeros(0, 3), mg.tensor(np.zeros(0, dtype=np.int64)))
    assert np.isnan(empty.item())
    t = leaf(x)
    F.nll_loss(t, mg.tensor(ignored)).backward()
    assert not t.grad.numpy().any()                                   # nothing to learn from


def test_nll_loss_errors():
    x = mg.ones(3, 4)
    cases = [
        (lambda: F.nll_loss(x, mg.tensor([0, 4, 1])), mg.DimError, "nll_loss: target 4 is out of bounds for 4 classes"),
        (lambda: F.nll_loss(x, mg.tensor([0, -1, 1])), IndexError, "nll_loss: target -1 is out of bounds"),
        (lambda: F.nll_loss(x, mg.tensor([0.0, 1.0, 1.0])), mg.DTypeError, "nll_loss: target must hold class indices"),
        (lambda: F.nll_loss(mg.tensor(1.0), mg.tensor(0)), mg.ShapeError, "nll_loss: input must have a class dim"),
        (lambda: F.nll_loss(x, mg.tensor([0, 1])), mg.ShapeError, r"nll_loss: target of shape \(2,\) does not match"),
        (lambda: F.nll_loss(x, mg.tensor([0, 1, 1]), mg.ones(3)), mg.ShapeError, r"nll_loss: weight of shape \(3,\)"),
        (lambda: F.nll_loss(x, mg.tensor([0, 1, 1]), reduction="avg"), mg.ArgumentError, "nll_loss: reduction must be"),
        (lambda: F.nll_loss([[0.5]], mg.tensor([0])), mg.DTypeError, "nll_loss: input must be a Tensor"),
    ]
    for fn, error, message in cases:
        with pytest.raises(error, match=message):
            fn()


# ============================================================================ l1, smooth_l1, huber, kl_div

# (name, minigan, torch of (functional, x, t, reduction), kinks of d = x - t)
POINTWISE = [
    ("l1", lambda x, t, r: F.l1_loss(x, t, r), lambda f, x, t, r: f.l1_loss(x, t, reduction=r), (0.0,)),
    ("smooth_l1", lambda x, t, r: F.smooth_l1_loss(x, t, r), lambda f, x, t, r: f.smooth_l1_loss(x, t, reduction=r),
     (-1.0, 1.0)),
    ("smooth_l1_beta0.5", lambda x, t, r: F.smooth_l1_loss(x, t, r, beta=0.5),
     lambda f, x, t, r: f.smooth_l1_loss(x, t, reduction=r, beta=0.5), (-0.5, 0.5)),
    ("smooth_l1_beta0", lambda x, t, r: F.smooth_l1_loss(x, t, r, beta=0.0),
     lambda f, x, t, r: f.smooth_l1_loss(x, t, reduction=r, beta=0.0), (0.0,)),
    ("huber", lambda x, t, r: F.huber_loss(x, t, r), lambda f, x, t, r: f.huber_loss(x, t, reduction=r), (-1.0, 1.0)),
    ("huber_delta2", lambda x, t, r: F.huber_loss(x, t, r, delta=2.0),
     lambda f, x, t, r: f.huber_loss(x, t, reduction=r, delta=2.0), (-2.0, 2.0)),
]
PIDS = [p[0] for p in POINTWISE]


def _off_kinks(rng, shape, kinks, gap=0.1):
    x, t = rng.uniform(-3, 3, shape), rng.uniform(-1, 1, shape)
    d = x - t
    for k in kinks:
        near = np.abs(d - k) < gap
        x[near] += np.where(d[near] >= k, gap, -gap) * 1.5
    return x, t


@settings(max_examples=10)
@pytest.mark.parametrize("name, fn, torch_fn, kinks", POINTWISE, ids=PIDS)
@given(seed=st.integers(0, 2**16), shape=st.lists(st.integers(1, 3), max_size=3).map(tuple),
       reduction=st.sampled_from(REDUCTIONS))
def test_pointwise_gradcheck_and_gradgradcheck(device, name, fn, torch_fn, kinks, seed, shape, reduction):
    x, t = _off_kinks(np.random.default_rng(seed), shape, kinks)
    check_grads(lambda a, b: fn(a, b, reduction), [leaf(x, device), leaf(t, device)])


@DTYPES
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name, fn, torch_fn, kinks", POINTWISE, ids=PIDS)
def test_pointwise_like_torch(torch, device, name, fn, torch_fn, kinks, reduction, dtype):
    x, t = _off_kinks(np.random.default_rng(3), (4, 5), kinks)
    x[0, :len(kinks)] = t[0, :len(kinks)] + np.array(kinks)       # exactly on the kinks too
    check_against_torch(torch, lambda a, b: fn(a, b, reduction),
                        lambda a, b: torch_fn(torch.nn.functional, a, b, reduction), [x, t],
                        device, dtype)


@settings(max_examples=10)
@given(seed=st.integers(0, 2**16), shape=st.lists(st.integers(1, 3), min_size=1, max_size=3).map(tuple),
       reduction=st.sampled_from(REDUCTIONS + ["batchmean"]), log_target=st.booleans())
def test_kl_div_gradcheck_and_gradgradcheck(device, seed, shape, reduction, log_target):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-3, -0.1, shape)
    t = rng.uniform(-2, 0, shape) if log_target else rng.uniform(0.1, 1, shape)
    check_grads(lambda a, b: F.kl_div(a, b, reduction=reduction, log_target=log_target),
                [leaf(x, device), leaf(t, device)])


KL_MEAN_WARNING = pytest.mark.filterwarnings("ignore:reduction. 'mean' divides")  # PyTorch's


@KL_MEAN_WARNING
@DTYPES
@pytest.mark.parametrize("reduction", REDUCTIONS + ["batchmean"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div_like_torch(torch, device, reduction, log_target, dtype):
    rng = np.random.default_rng(4)
    x = np.log(rng.dirichlet(np.ones(5), 3))
    t = rng.dirichlet(np.ones(5), 3)
    t = np.log(t) if log_target else t
    check_against_torch(torch, lambda a, b: F.kl_div(a, b, reduction=reduction, log_target=log_target),
                        lambda a, b: torch.nn.functional.kl_div(a, b, reduction=reduction, log_target=log_target),
                        [x, t], device, dtype)


@KL_MEAN_WARNING
def test_kl_div_edges_like_torch(torch):
    x, t = np.array([-1.0, -2.0]), np.array([0.3, 0.0])              # a zero target adds 0
    assert F.kl_div(mg.tensor(x), mg.tensor(t)).item() == pytest.approx(
        torch.nn.functional.kl_div(torch.tensor(x), torch.tensor(t)).item(), rel=1e-12)
    for reduction in ("batchmean", "sum"):
        assert F.kl_div(mg.tensor(-1.0), mg.tensor(0.3), reduction=reduction).item() == pytest.approx(
            torch.nn.functional.kl_div(torch.tensor(-1.0), torch.tensor(0.3), reduction=reduction).item())
    assert np.isnan(F.kl_div(mg.zeros(0, 3), mg.zeros(0, 3), reduction="batchmean").item())
    assert np.isnan(F.l1_loss(mg.zeros(0), mg.zeros(0)).item())


def test_pointwise_loss_errors():
    x = mg.ones(2)
    cases = [
        (lambda: F.l1_loss(x, mg.ones(3)), mg.ShapeError, "l1_loss: target of shape"),
        (lambda: F.huber_loss(x, x, delta=0.0), mg.ArgumentError, "huber_loss: delta must be > 0"),
        (lambda: F.smooth_l1_loss(x, x, beta=-1.0), mg.ArgumentError, "smooth_l1_loss: beta must be >= 0"),
        (lambda: F.kl_div(x, x, reduction="avg"), mg.ArgumentError, "kl_div: reduction must be one of"),
        (lambda: F.kl_div(x, x, size_average=True), mg.ArgumentError, "kl_div: size_average and reduce"),
        (lambda: F.l1_loss(x, x, reduction="batchmean"), mg.ArgumentError, "l1_loss: reduction must be"),
        (lambda: F.l1_loss(mg.tensor([1, 2]), x), mg.DTypeError, "l1_loss: input of shape .* must be floating"),
        (lambda: F.l1_loss(x, mg.ones(2, dtype=mg.float64)), mg.DTypeError, "l1_loss: input .float32. and target"),
    ]
    for fn, error, message in cases:
        with pytest.raises(error, match=message):
            fn()


# ============================================================================ layers


def _layer_inputs(name, rng):
    if name in ("NLLLoss", "CrossEntropyLoss"):
        return rng.standard_normal((4, 3)), rng.integers(0, 3, 4)
    if name == "KLDivLoss":
        return np.log(rng.dirichlet(np.ones(3), 4)), rng.dirichlet(np.ones(3), 4)
    if name == "BCELoss":
        return rng.uniform(0.1, 0.9, (4, 3)), rng.uniform(0, 1, (4, 3))
    return rng.standard_normal((4, 3)), rng.standard_normal((4, 3))


LOSS_LAYERS = [("L1Loss", {}), ("MSELoss", {"reduction": "sum"}), ("SmoothL1Loss", {"beta": 0.5}),
               ("HuberLoss", {"delta": 2.0}), ("KLDivLoss", {"reduction": "batchmean"}),
               ("NLLLoss", {"ignore_index": 1}), ("CrossEntropyLoss", {"label_smoothing": 0.1}),
               ("BCELoss", {}), ("BCEWithLogitsLoss", {"reduction": "none"})]


@pytest.mark.parametrize("name, kwargs", LOSS_LAYERS, ids=[n for n, _ in LOSS_LAYERS])
def test_loss_layers_like_torch(torch, name, kwargs):
    rng = np.random.default_rng(5)
    x, t = _layer_inputs(name, rng)
    weighted = name in ("NLLLoss", "CrossEntropyLoss", "BCELoss", "BCEWithLogitsLoss")
    extra = {"weight": rng.uniform(0.5, 2.0, 3)} if weighted else {}
    ours = getattr(nn, name)(**kwargs, **{k: mg.tensor(v) for k, v in extra.items()})
    theirs = getattr(torch.nn, name)(**kwargs, **{k: torch.tensor(v) for k, v in extra.items()})
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    check_against_torch(torch, ours, theirs, [x, t], requires_grad=[True, False])


def test_loss_layers_refuse_deprecated_arguments():
    with pytest.raises(mg.ArgumentError, match="L1Loss: size_average and reduce are deprecated"):
        nn.L1Loss(size_average=False)
    assert nn.NLLLoss().weight is None and nn.HuberLoss().delta == 1.0
