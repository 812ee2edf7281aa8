"""pad (ops/padding.py): constant (with negative, cropping amounts), reflect, replicate and
circular, against NumPy's pad, finite differences of first and second order over drawn
shapes and amounts, PyTorch in float32 / float64 (forward, backward, double backward), and
PyTorch's limits as errors."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigan as mg
import minigan.functional as F
from strategies import check_against_torch, check_grads, float_arrays, leaf, shapes

NUMPY_MODE = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}


@st.composite
def mode_cases(draw, negative: bool = False):
    """(shape, pad, mode) within PyTorch's limits: the last k = 1..3 dims of a (k+1)-D or
    (k+2)-D input; reflect pads < size, circular pads <= size."""
    mode = draw(st.sampled_from(["reflect", "replicate", "circular"]))
    k = draw(st.integers(1, 3))
    lead = draw(st.integers(1, 2))
    shape = tuple(draw(st.integers(1, 2 if k < 3 else 1)) for _ in range(lead)) + tuple(
        draw(st.integers(1 if mode != "reflect" else 2, 4 if k < 3 else 2)) for _ in range(k))
    pad = []
    for n in reversed(shape[lead:]):
        limit = n - 1 if mode == "reflect" else n if mode == "circular" else 3
        low = -((n - 1) // 2) if negative and mode != "circular" else 0  # keeps >= 1 of n
        pad += [draw(st.integers(low, limit)), draw(st.integers(low, limit))]
    return shape, tuple(pad), mode


@settings(max_examples=15)
@given(mode_cases(), st.data())
def test_modes_match_numpy_and_finite_differences(device, case, data):
    shape, pad, mode = case
    a = data.draw(float_arrays(shape))
    y = F.pad(leaf(a, device), pad, mode=mode)
    widths = [(0, 0)] * (len(shape) - len(pad) // 2) + [(pad[i], pad[i + 1]) for i in
                                                         range(len(pad) - 2, -1, -2)]
    np.testing.assert_array_equal(y.numpy(), np.pad(a, widths, mode=NUMPY_MODE[mode]))
    check_grads(lambda x: F.pad(x, pad, mode=mode), [leaf(a, device)])


@given(mode_cases(negative=True), st.sampled_from([np.float64, np.float32]))
def test_modes_like_torch(torch, case, dtype):
    """Negative amounts included (reflect and replicate index the original, as PyTorch)."""
    shape, pad, mode = case
    a = np.random.default_rng(0).standard_normal(shape)
    check_against_torch(torch, lambda x: F.pad(x, pad, mode=mode),
                        lambda x: torch.nn.functional.pad(x, pad, mode=mode), [a], dtype=dtype)


@given(data=st.data(), shape=shapes(min_dims=1, max_dims=3))
def test_constant_gradcheck(device, data, shape):
    a = data.draw(float_arrays(shape))
    widths = data.draw(st.lists(st.integers(-1, 2), min_size=2, max_size=2 * len(shape)))
    widths = widths[:len(widths) // 2 * 2]
    value = data.draw(st.sampled_from([0.0, -1.5]))
    check_grads(lambda x: mg.pad(x, widths, value=value), [leaf(a, device)])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_constant_like_torch(torch, dtype):
    a = np.random.default_rng(8).standard_normal((2, 3, 4))
    for widths, value in (((1, 2), 0.0), ((0, 1, 2, 0), 3.0), ((1, 1, 1, 1, 1, 1), -1.0),
                          ((-1, 2, 1, -2), 9.0), ((-1, -1), None), ((), None)):
        check_against_torch(torch, lambda x: F.pad(x, widths, "constant", value),
                            lambda x: torch.nn.functional.pad(x, widths, "constant", value), [a],
                            dtype=dtype)
    ints = F.pad(mg.tensor(np.arange(3)), (1, 1), value=1.5)
    assert ints.dtype == np.int64 and ints.tolist() == [1, 0, 1, 2, 1]   # as torch: truncated
    assert F.pad(mg.tensor(2.0), ()).item() == 2.0


@pytest.mark.parametrize("call, error, message", [
    (lambda: F.pad(mg.ones(3), (1, 1, 1, 1)), mg.ShapeError,
     r"pad: pad \(1, 1, 1, 1\) pads 2 dims but the input has 1"),
    (lambda: F.pad(mg.ones(3), (1,)), mg.ArgumentError, r"pad: pad \(1,\) must have an even length"),
    (lambda: F.pad(mg.ones(3), (1.5, 1)), mg.DTypeError, r"pad: pad must be an int"),
    (lambda: F.pad(mg.ones(3), mg.tensor([1, 1])), mg.DTypeError, r"pad: pad must be a tuple of ints"),
    (lambda: F.pad(mg.ones(3), (-2, -2)), mg.ShapeError, r"pad: cropping \(-2, -2\) is more than"),
    (lambda: F.pad(mg.ones(1, 3), (1, 1), mode="foo"), mg.ArgumentError, r"pad: mode must be one of"),
    (lambda: F.pad(mg.ones(1, 3), (1, 1), mode="reflect", value=2.0), mg.ArgumentError,
     r"pad: mode 'reflect' takes no value"),
    (lambda: F.pad(mg.ones(1, 2, 3), (3, 0), mode="reflect"), mg.ArgumentError,
     r"pad: reflect padding \(3, 0\) must be smaller than the size 3"),
    (lambda: F.pad(mg.ones(1, 2, 3), (4, 0), mode="circular"), mg.ArgumentError,
     r"pad: circular padding \(4, 0\) wraps around more than once"),
    (lambda: F.pad(mg.ones(3), (1, 1), mode="replicate"), mg.ShapeError,
     r"pad: replicate padding of the last k dims .* got 2 pad values for shape \(3,\)"),
    (lambda: F.pad(mg.ones(3, 4), (1, 1, 1, 1), mode="reflect"), mg.ShapeError, r"needs a \(k\+1\)-D"),
    (lambda: F.pad(mg.ones(1, 0, 3), (1, 1), mode="reflect"), mg.ShapeError,
     r"pad: reflect padding needs non-empty dims"),
    (lambda: F.pad(mg.ones(1, 1, 4), (-3, -1), mode="replicate"), mg.ShapeError,
     r"pad: replicate padding \(-3, -1\) leaves nothing"),
    (lambda: F.pad(mg.ones(3), (1, 1), value="a"), mg.DTypeError, r"pad: value must be a number"),
    (lambda: F.pad(mg.tensor(np.ones((1, 3), bool)), (1, 1), mode="reflect"), mg.DTypeError,
     r"pad: reflect padding does not take a bool tensor"),
])
def test_errors_name_the_op(call, error, message):
    with pytest.raises(error, match=message):
        call()
