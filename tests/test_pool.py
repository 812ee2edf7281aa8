"""Pooling (ops/pool.py): max_pool2d, avg_pool2d, adaptive_avg_pool2d, adaptive_max_pool2d
and their layers, against a slow NumPy reference, finite differences (first and second
order) over drawn shapes and options (kernel, stride, padding, dilation, ceil_mode,
count_include_pad, divisor_override), PyTorch in float32 / float64 (forward, indices,
backward, double backward; ties and NaN pick PyTorch's element), and the errors."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import minigan as mg
import minigan.functional as F
from minigan.ops.pool import _pool_out
from strategies import check_against_torch, check_grads, float_arrays, leaf

DTYPES = st.sampled_from([np.float64, np.float32])


@st.composite
def pool_cases(draw, max_side: int = 6, dilation: bool = True):
    """(input shape, kwargs) for a valid max_pool2d (or avg_pool2d without dilation)."""
    K = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    S = draw(st.one_of(st.none(), st.tuples(st.integers(1, 3), st.integers(1, 3))))
    P = (draw(st.integers(0, K[0] // 2)), draw(st.integers(0, K[1] // 2)))
    D = (draw(st.integers(1, 2)), draw(st.integers(1, 2))) if dilation else (1, 1)
    ceil_mode = draw(st.booleans())
    sides = []
    for k, p, d in zip(K, P, D):
        low = max(1, d * (k - 1) + 1 - 2 * p)
        sides.append(draw(st.integers(low, max(low, max_side))))
    for n, k, s, p, d in zip(sides, K, S or K, P, D):
        out = _pool_out(n, k, s, p, d, ceil_mode)
        assume(out >= 1)
        # every window holds a pixel (one that falls in the padding only is tested on its own)
        assume(all(any(0 <= o * s - p + t * d < n for t in range(k)) for o in range(out)))
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 2)), *sides)
    if draw(st.booleans()):
        shape = shape[1:]                       # unbatched (C, H, W)
    kwargs = dict(kernel_size=K if K[0] != K[1] else K[0], stride=S, padding=P, ceil_mode=ceil_mode)
    if dilation:
        kwargs["dilation"] = D
    return shape, kwargs


def ref_pool(x, kernel_size, stride, padding, dilation=1, ceil_mode=False, kind="max",
             count_include_pad=True, divisor_override=None):
    """The obvious loops over output positions and window taps."""
    pair = lambda v: v if isinstance(v, tuple) else (v, v)  # noqa: E731
    (KH, KW), (PH, PW), (DH, DW) = pair(kernel_size), pair(padding), pair(dilation)
    SH, SW = pair(stride) if stride is not None else (KH, KW)
    N, C, H, W = x.shape
    OH, OW = _pool_out(H, KH, SH, PH, DH, ceil_mode), _pool_out(W, KW, SW, PW, DW, ceil_mode)
    y = np.zeros((N, C, OH, OW))
    for i in range(OH):
        for j in range(OW):
            h0, w0 = i * SH - PH, j * SW - PW
            taps = [(h0 + a * DH, w0 + b * DW) for a in range(KH) for b in range(KW)]
            inside = [(h, w) for h, w in taps if 0 <= h < H and 0 <= w < W]
            values = np.stack([x[:, :, h, w] for h, w in inside], -1)
            if kind == "max":
                y[:, :, i, j] = values.max(-1)
            else:
                hend, wend = min(h0 + KH, H + PH), min(w0 + KW, W + PW)
                if divisor_override:
                    div = divisor_override
                elif count_include_pad:
                    div = (hend - h0) * (wend - w0)
                else:
                    div = (min(hend, H) - max(h0, 0)) * (min(wend, W) - max(w0, 0))
                y[:, :, i, j] = values.sum(-1) / div
    return y


# ============================================================================ max_pool2d


@settings(max_examples=15)
@given(pool_cases(max_side=5), st.data())
def test_max_pool2d_matches_loops_and_finite_differences(device, case, data):
    shape, kw = case
    a = data.draw(float_arrays(shape, distinct=True))       # no ties: a kink-free max
    y = F.max_pool2d(leaf(a, device), **kw)
    batched = a if a.ndim == 4 else a[None]
    expected = ref_pool(batched, **kw)
    np.testing.assert_array_equal(y.numpy(), expected if a.ndim == 4 else expected[0])
    check_grads(lambda x: F.max_pool2d(x, **kw), [leaf(a, device)])


@settings(max_examples=20)
@given(pool_cases(), DTYPES)
def test_max_pool2d_like_torch(torch, case, dtype):
    """Values, indices (return_indices) and derivatives; ties included (integers drawn
    from a small range), where the gradient goes to PyTorch's pick."""
    shape, kw = case
    a = np.random.default_rng(0).integers(-2, 3, shape).astype(np.float64)
    y, idx = F.max_pool2d(mg.tensor(a), return_indices=True, **kw)
    ty, tidx = torch.nn.functional.max_pool2d(torch.tensor(a), return_indices=True, **kw)
    np.testing.assert_array_equal(idx.numpy(), tidx.numpy())
    check_against_torch(torch, lambda x: F.max_pool2d(x, **kw),
                        lambda x: torch.nn.functional.max_pool2d(x, **kw), [a], dtype=dtype)


def test_max_pool2d_nan_inf_and_empty_windows_like_torch(torch):
    """PyTorch's rule (value > best or NaN): the last NaN of a window wins; an all -inf
    window keeps its first pixel; with dilation a window can miss the image altogether."""
    a = np.array([[[[1.0, 1, 2, 2], [1, 1, 2, 2], [np.nan, 3, np.nan, 0], [3, 3, -np.inf, -np.inf]]]])
    for k, s, p in ((2, 1, 0), (3, 1, 1), (4, 2, 2), (2, 2, 1)):
        y, i = F.max_pool2d(mg.tensor(a), k, s, p, return_indices=True)
        ty, ti = torch.nn.functional.max_pool2d(torch.tensor(a), k, s, p, return_indices=True)
        np.testing.assert_array_equal(i.numpy(), ti.numpy())
        np.testing.assert_array_equal(y.numpy(), ty.numpy())
    a = np.full((1, 1, 2, 2), -np.inf)
    i = F.max_pool2d(mg.tensor(a), 2, padding=1, return_indices=True)[1]
    np.testing.assert_array_equal(
        i.numpy(), torch.nn.functional.max_pool2d(torch.tensor(a), 2, padding=1, return_indices=True)[1])
    x = leaf(np.arange(4.0).reshape(1, 1, 2, 2))
    y, i = F.max_pool2d(x, 2, padding=1, dilation=3, return_indices=True)
    ty, ti = torch.nn.functional.max_pool2d(torch.arange(4.0).reshape(1, 1, 2, 2), 2, padding=1,
                                            dilation=3, return_indices=True)
    assert y.item() == -np.inf == ty.item() and i.item() == ti.item() == 6
    y.sum().backward()
    assert (x.grad.numpy() == 0).all()       # the window holds no pixel: no gradient anywhere


def test_max_pool2d_integers_and_channels_last(torch):
    a = np.random.default_rng(1).integers(-9, 9, (2, 3, 5, 5))
    y = F.max_pool2d(mg.tensor(a), 3, 2, 1)
    assert y.dtype == np.int64
    np.testing.assert_array_equal(y.numpy(), torch.nn.functional.max_pool2d(torch.tensor(a), 3, 2, 1))
    # a conv output is channels-last in memory: the same numbers
    x = mg.tensor(np.ascontiguousarray(a.transpose(0, 2, 3, 1)).astype(np.float64)).permute(0, 3, 1, 2)
    np.testing.assert_array_equal(F.max_pool2d(x, 3, 2, 1).numpy(), y.numpy())


# ============================================================================ avg_pool2d


@settings(max_examples=15)
@given(pool_cases(max_side=5, dilation=False), st.booleans(), st.sampled_from([None, 3]), st.data())
def test_avg_pool2d_matches_loops_and_finite_differences(device, case, include_pad, divisor, data):
    shape, kw = case
    a = data.draw(float_arrays(shape))
    kw = dict(kw, count_include_pad=include_pad, divisor_override=divisor)
    y = F.avg_pool2d(leaf(a, device), **kw)
    expected = ref_pool(a if a.ndim == 4 else a[None], kind="avg", **kw)
    np.testing.assert_allclose(y.numpy(), expected if a.ndim == 4 else expected[0], rtol=1e-12)
    check_grads(lambda x: F.avg_pool2d(x, **kw), [leaf(a, device)])


@settings(max_examples=20)
@given(pool_cases(dilation=False), st.booleans(), st.sampled_from([None, 2]), DTYPES)
def test_avg_pool2d_like_torch(torch, case, include_pad, divisor, dtype):
    shape, kw = case
    kw = dict(kw, count_include_pad=include_pad, divisor_override=divisor)
    a = np.random.default_rng(2).standard_normal(shape)
    check_against_torch(torch, lambda x: F.avg_pool2d(x, **kw),
                        lambda x: torch.nn.functional.avg_pool2d(x, **kw), [a], dtype=dtype)


# ============================================================================ adaptive


OUTPUT_SIZES = st.one_of(st.integers(1, 5), st.tuples(st.one_of(st.none(), st.integers(1, 5)),
                                                      st.one_of(st.none(), st.integers(1, 5))))


@settings(max_examples=12)
@given(st.tuples(st.just(1), st.integers(1, 2), st.integers(1, 5), st.integers(1, 5)),
       OUTPUT_SIZES, st.data())
def test_adaptive_pools_gradcheck(device, shape, output_size, data):
    a = data.draw(float_arrays(shape, distinct=True))
    check_grads(lambda x: F.adaptive_avg_pool2d(x, output_size), [leaf(a, device)])
    check_grads(lambda x: F.adaptive_max_pool2d(x, output_size), [leaf(a, device)])


@settings(max_examples=20)
@given(st.tuples(st.integers(1, 2), st.integers(1, 2), st.integers(1, 7), st.integers(1, 7)),
       OUTPUT_SIZES, DTYPES)
def test_adaptive_pools_like_torch(torch, shape, output_size, dtype):
    a = np.random.default_rng(3).integers(-2, 3, shape).astype(np.float64)   # ties too
    check_against_torch(torch, lambda x: F.adaptive_avg_pool2d(x, output_size),
                        lambda x: torch.nn.functional.adaptive_avg_pool2d(x, output_size), [a],
                        dtype=dtype)
    check_against_torch(torch, lambda x: F.adaptive_max_pool2d(x, output_size),
                        lambda x: torch.nn.functional.adaptive_max_pool2d(x, output_size), [a],
                        dtype=dtype)
    ours = F.adaptive_max_pool2d(mg.tensor(a[0]), output_size, return_indices=True)[1]
    theirs = torch.nn.functional.adaptive_max_pool2d(torch.tensor(a[0]), output_size, return_indices=True)[1]
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_adaptive_pools_zero_channels_and_sizes_like_torch(torch):
    """PyTorch: the average pool takes no channels and an output size of 0, the max pool
    an output size of 0 but not an empty channel dim of a batch (unbatched, C is the batch)."""
    for shape, size in (((1, 0, 3, 3), 2), ((1, 2, 3, 3), 0), ((1, 2, 3, 3), (0, 2)), ((0, 2, 3), 1)):
        x, tx = mg.zeros(*shape), torch.zeros(shape)
        assert F.adaptive_avg_pool2d(x, size).shape == tuple(torch.nn.functional.adaptive_avg_pool2d(tx, size).shape)
        if shape[1] or len(shape) == 3:
            assert F.adaptive_max_pool2d(x, size).shape == tuple(
                torch.nn.functional.adaptive_max_pool2d(tx, size).shape)


def test_adaptive_max_pool2d_nan_like_torch(torch):
    a = np.array([[[[1.0, np.nan, 2], [np.nan, 5, 5], [0, 5, -np.inf]]]])
    for size in (1, 2, (1, 3), (3, 2)):
        y, i = F.adaptive_max_pool2d(mg.tensor(a), size, return_indices=True)
        ty, ti = torch.nn.functional.adaptive_max_pool2d(torch.tensor(a), size, return_indices=True)
        np.testing.assert_array_equal(i.numpy(), ti.numpy())
        np.testing.assert_array_equal(y.numpy(), ty.numpy())


# ============================================================================ layers


def test_layers_like_torch(torch):
    a = np.random.default_rng(4).standard_normal((2, 3, 7, 6))
    for ours, theirs in (
            (mg.nn.MaxPool2d(3, 2, 1, ceil_mode=True), torch.nn.MaxPool2d(3, 2, 1, ceil_mode=True)),
            (mg.nn.MaxPool2d((2, 3), dilation=(2, 1)), torch.nn.MaxPool2d((2, 3), dilation=(2, 1))),
            (mg.nn.AvgPool2d(3, 2, 1, count_include_pad=False), torch.nn.AvgPool2d(3, 2, 1, count_include_pad=False)),
            (mg.nn.AvgPool2d(2, divisor_override=3), torch.nn.AvgPool2d(2, divisor_override=3)),
            (mg.nn.AdaptiveAvgPool2d((3, None)), torch.nn.AdaptiveAvgPool2d((3, None))),
            (mg.nn.AdaptiveMaxPool2d(4), torch.nn.AdaptiveMaxPool2d(4))):
        check_against_torch(torch, ours, theirs, [a])
        assert repr(ours) == repr(theirs)
    y, i = mg.nn.MaxPool2d(2, return_indices=True)(mg.tensor(a))
    assert i.dtype == np.int64 and i.shape == y.shape


# ============================================================================ errors


@pytest.mark.parametrize("call, error, message", [
    (lambda: F.max_pool2d(mg.ones(1, 1, 5, 5), 2, padding=2), mg.ArgumentError,
     r"max_pool2d: padding \(2, 2\) must be at most half of kernel_size \(2, 2\)"),
    (lambda: F.max_pool2d(mg.ones(1, 1, 5, 5), 0), mg.ArgumentError, r"max_pool2d: kernel_size must be >= 1"),
    (lambda: F.max_pool2d(mg.ones(1, 1, 5, 5), 2, stride=0), mg.ArgumentError, r"max_pool2d: stride must be >= 1"),
    (lambda: F.max_pool2d(mg.ones(1, 1, 5, 5), (2, 2, 2)), mg.ArgumentError,
     r"max_pool2d: kernel_size must be an int or 2 ints"),
    (lambda: F.max_pool2d(mg.ones(1, 1, 1, 1), 2), mg.ShapeError,
     r"max_pool2d: input \(1, 1, 1, 1\) is too small for kernel_size \(2, 2\)"),
    (lambda: F.max_pool2d(mg.ones(5, 5), 2), mg.ShapeError, r"max_pool2d: expected a 3-D \(C, H, W\) or 4-D"),
    (lambda: F.max_pool2d(mg.ones(1, 0, 5, 5), 2), mg.ShapeError, r"max_pool2d: expected non-empty"),
    (lambda: F.max_pool2d(mg.tensor(np.ones((1, 1, 2, 2), bool)), 2), mg.DTypeError,
     r"max_pool2d: input must be a float or integer tensor"),
    (lambda: F.max_pool2d([[1.0]], 2), mg.DTypeError, r"max_pool2d: input must be a Tensor"),
    (lambda: F.avg_pool2d(mg.ones(1, 1, 5, 5), 2, divisor_override=0), mg.ArgumentError,
     r"avg_pool2d: divisor_override must not be 0"),
    (lambda: F.avg_pool2d(mg.ones(1, 1, 5, 5), 3, padding=2), mg.ArgumentError, r"avg_pool2d: padding"),
    (lambda: F.avg_pool2d(mg.tensor(np.ones((1, 1, 2, 2), np.int64)), 2), mg.DTypeError,
     r"avg_pool2d: input must be a floating tensor"),
    (lambda: F.adaptive_avg_pool2d(mg.ones(1, 1, 0, 3), 2), mg.ShapeError,
     r"adaptive_avg_pool2d: expected non-empty spatial dims"),
    (lambda: F.adaptive_avg_pool2d(mg.ones(1, 1, 3, 3), (2, 2, 2)), mg.ArgumentError,
     r"adaptive_avg_pool2d: output_size must be an int or a pair"),
    (lambda: F.adaptive_max_pool2d(mg.ones(1, 1, 3, 3), -1), mg.ArgumentError,
     r"adaptive_max_pool2d: output_size must be >= 0"),
    (lambda: F.adaptive_max_pool2d(mg.ones(1, 0, 3, 3), 1), mg.ShapeError,
     r"adaptive_max_pool2d: expected a non-empty channel dim"),
    (lambda: F.adaptive_max_pool2d(mg.tensor(np.ones((1, 1, 2, 2), np.int64)), 1), mg.DTypeError,
     r"adaptive_max_pool2d: input must be a floating tensor"),
    (lambda: F.max_pool2d(mg.ones(1, 1, 4, 4), 2, return_indices=mg.ones(2)), mg.DTypeError,
     r"max_pool2d: return_indices must be True or False"),
    (lambda: F.avg_pool2d(mg.ones(1, 1, 4, 4), 2, ceil_mode="yes"), mg.DTypeError,
     r"avg_pool2d: ceil_mode must be True or False"),
    (lambda: F.max_pool2d(mg.ones(1, 1, 4, 4), 2, mg.ones(2)), mg.DTypeError, r"max_pool2d: stride must be an int"),
])
def test_errors_name_the_op(call, error, message):
    with pytest.raises(error, match=message):
        call()
