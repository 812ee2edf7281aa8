"""interpolate (ops/resample.py): every mode against PyTorch (the same inputs picked: same
index rules and float arithmetic), in float32 and float64, forward, backward and double
backward; finite differences of first and second order; the taps' transpose is the exact
adjoint; non-finite values stay where PyTorch keeps them; the errors."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigan as mg
import minigan.functional as F
from minigan.ops.resample import Taps, _cubic, _linear, _nearest, adaptive_windows, window_taps
from strategies import check_against_torch, check_grads, leaf

MODES = {1: ["nearest", "nearest-exact", "area", "linear"],
         2: ["nearest", "nearest-exact", "area", "bilinear", "bicubic"],
         3: ["nearest", "nearest-exact", "area", "trilinear"]}
SCALES = [0.5, 0.6, 1.0, 4 / 3, 1.5, 1.7, 2.0, 2.5, 3.0]


@st.composite
def interpolate_cases(draw, max_side: int = 5):
    """(input shape, kwargs) for a valid F.interpolate call."""
    dims = draw(st.integers(1, 3))
    spatial = [draw(st.integers(1, max_side if dims < 3 else 3)) for _ in range(dims)]
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 2)), *spatial)
    mode = draw(st.sampled_from(MODES[dims]))
    kwargs = {"mode": mode}
    if draw(st.booleans()):
        size = [draw(st.integers(1, 6 if dims < 3 else 4)) for _ in range(dims)]
        kwargs["size"] = size[0] if dims == 1 or draw(st.booleans()) and len(set(size)) == 1 else size
    else:
        scales = [draw(st.sampled_from(SCALES)) for _ in range(dims)]
        kwargs["scale_factor"] = scales if draw(st.booleans()) else scales[0]
        if mode != "area" and draw(st.booleans()):
            kwargs["recompute_scale_factor"] = draw(st.booleans())
        sizes = [int(np.floor(n * s)) for n, s in
                 zip(spatial, scales if isinstance(kwargs["scale_factor"], list) else [scales[0]] * dims)]
        if min(sizes) < 1:
            kwargs["scale_factor"] = 2.0
    if mode in ("linear", "bilinear", "bicubic", "trilinear") and draw(st.booleans()):
        kwargs["align_corners"] = draw(st.booleans())
    return shape, kwargs


@settings(max_examples=40)
@given(interpolate_cases(), st.sampled_from([np.float64, np.float32]))
def test_interpolate_like_torch(torch, case, dtype):
    shape, kwargs = case
    a = np.random.default_rng(0).standard_normal(shape)
    check_against_torch(torch, lambda x: F.interpolate(x, **kwargs),
                        lambda x: torch.nn.functional.interpolate(x, **kwargs), [a], dtype=dtype)


@settings(max_examples=15)
@given(interpolate_cases(max_side=3))
def test_interpolate_gradcheck_and_gradgradcheck(device, case):
    shape, kwargs = case
    a = np.random.default_rng(1).standard_normal(shape)
    check_grads(lambda x: F.interpolate(x, **kwargs), [leaf(a, device)])


@pytest.mark.parametrize("n_in, n_out", [(1, 1), (3, 7), (7, 3), (4, 8), (5, 5), (6, 1), (2, 9)])
def test_transposed_taps_are_the_adjoint(n_in, n_out):
    """<M x, g> = <x, M^T g> exactly, for every kind of map (and M^T^T = M)."""
    rng = np.random.default_rng(n_in * 10 + n_out)
    start, end = adaptive_windows(n_in, n_out)
    maps = [_nearest(n_in, n_out, None, False), _nearest(n_in, n_out, None, True),
            _linear(n_in, n_out, None, False, np.float64), _linear(n_in, n_out, None, True, np.float64),
            _cubic(n_in, n_out, None, False, np.float64), window_taps(start, end, n_in, 1.0 / (end - start))]

    def dense(t: Taps) -> np.ndarray:
        m = np.zeros((t.n_out, t.n_in + 1))
        w = np.ones(t.index.shape) if t.weight is None else t.weight
        for k in range(t.index.shape[0]):
            np.add.at(m, (np.arange(t.n_out), t.index[k]), w[k])
        return m[:, :t.n_in]
    for taps in maps:
        np.testing.assert_allclose(dense(taps.transpose()), dense(taps).T, rtol=1e-15, atol=0)
        np.testing.assert_allclose(dense(taps.transpose().transpose()), dense(taps), atol=0)
        x, g = rng.standard_normal(n_in), rng.standard_normal(n_out)
        y = mg.ops.resample.Resample(0, taps)(mg.tensor(x)).numpy()
        back = mg.ops.resample.Resample(0, taps.transpose())(mg.tensor(g)).numpy()
        assert abs(np.dot(y, g) - np.dot(x, back)) < 1e-12


@pytest.mark.filterwarnings("ignore:invalid value encountered in multiply")
def test_non_finite_values_stay_local(torch):
    """A missing tap is skipped, never 0 * value: an inf spreads no further than in PyTorch."""
    a = np.zeros((1, 1, 3, 3))
    a[0, 0, 1, 1] = np.inf
    for kwargs in (dict(scale_factor=2), dict(size=(2, 5), mode="area"),
                   dict(scale_factor=1.5, mode="bilinear")):
        ours = F.interpolate(mg.tensor(a), **kwargs).numpy()
        theirs = torch.nn.functional.interpolate(torch.tensor(a), **kwargs).numpy()
        np.testing.assert_array_equal(np.isnan(ours), np.isnan(theirs))
        np.testing.assert_array_equal(ours[~np.isnan(ours)], theirs[~np.isnan(theirs)])
    g = np.zeros((1, 1, 6, 6))
    g[0, 0, 0, 0] = np.inf          # an inf gradient reaches one input only
    x = leaf(np.ones((1, 1, 3, 3)))
    F.interpolate(x, scale_factor=2).backward(mg.tensor(g))
    assert np.isinf(x.grad.numpy()[0, 0, 0, 0]) and (x.grad.numpy().ravel()[1:] == 0).all()


def test_float32_stays_float32_and_layers(torch):
    x = mg.randn(2, 3, 4, 4)
    assert F.interpolate(x, scale_factor=2, mode="bilinear").dtype == np.float32
    a = np.random.default_rng(2).standard_normal((1, 2, 3, 4))
    for ours, theirs in ((mg.nn.Upsample(scale_factor=2), torch.nn.Upsample(scale_factor=2)),
                         (mg.nn.Upsample(size=(5, 3), mode="bicubic", align_corners=True),
                          torch.nn.Upsample(size=(5, 3), mode="bicubic", align_corners=True)),
                         (mg.nn.UpsamplingNearest2d(scale_factor=3), torch.nn.UpsamplingNearest2d(scale_factor=3)),
                         (mg.nn.UpsamplingBilinear2d(size=7), torch.nn.UpsamplingBilinear2d(size=7))):
        check_against_torch(torch, ours, theirs, [a])
        assert repr(ours) == repr(theirs)


@pytest.mark.parametrize("call, error, message", [
    (lambda: F.interpolate(mg.ones(1, 1, 2, 2)), mg.ArgumentError,
     r"interpolate: give exactly one of size and scale_factor"),
    (lambda: F.interpolate(mg.ones(1, 1, 2, 2), size=3, scale_factor=2), mg.ArgumentError,
     r"interpolate: give exactly one of size and scale_factor"),
    (lambda: F.interpolate(mg.ones(1, 1, 2, 2), size=3, mode="linear"), mg.ShapeError,
     r"interpolate: mode 'linear' needs a 3-D input, got shape \(1, 1, 2, 2\)"),
    (lambda: F.interpolate(mg.ones(1, 1, 2, 2), size=3, mode="cubic"), mg.ArgumentError,
     r"interpolate: mode must be one of 'nearest'"),
    (lambda: F.interpolate(mg.ones(1, 1, 2, 2), size=3, align_corners=True), mg.ArgumentError,
     r"interpolate: align_corners can only be set with the interpolating modes"),
    (lambda: F.interpolate(mg.ones(2, 2), size=3), mg.ShapeError,
     r"interpolate: expected a 3-D, 4-D or 5-D input"),
    (lambda: F.interpolate(mg.ones(1, 1, 2, 2), size=(3, 3, 3)), mg.ShapeError,
     r"interpolate: size \(3, 3, 3\) has 3 entries but the input has 2 spatial dims"),
    (lambda: F.interpolate(mg.ones(1, 1, 2, 2), size=0), mg.ShapeError,
     r"interpolate: input and output sizes must be positive"),
    (lambda: F.interpolate(mg.ones(1, 1, 2, 2), scale_factor=0.2), mg.ShapeError,
     r"interpolate: input and output sizes must be positive, got input \(2, 2\) and output \(0, 0\)"),
    (lambda: F.interpolate(mg.ones(1, 1, 2, 2), size=2.5), mg.DTypeError, r"interpolate: size must be ints"),
    (lambda: F.interpolate(mg.ones(1, 1, 2, 2), size=3, recompute_scale_factor=True), mg.ArgumentError,
     r"interpolate: recompute_scale_factor is meaningless with an explicit size"),
    (lambda: F.interpolate(mg.ones(1, 1, 2, 2), size=3, mode="bilinear", antialias=True),
     mg.ArgumentError, r"interpolate: antialias=True is not supported"),
    (lambda: F.interpolate(mg.tensor(np.ones((1, 1, 2), np.int64)), size=3), mg.DTypeError,
     r"interpolate: input must be a floating tensor"),
    (lambda: F.interpolate(mg.ones(1, 1, 2), size=3, mode="linear", align_corners=mg.ones(1)),
     mg.DTypeError, r"interpolate: align_corners must be True or False"),
    (lambda: F.interpolate(mg.ones(1, 0, 2), size=3), mg.ShapeError,
     r"interpolate: expected a non-empty channel dim, got shape \(1, 0, 2\)"),
])
def test_errors_name_the_op(call, error, message):
    with pytest.raises(error, match=message):
        call()
