"""conv1d / conv_transpose1d (conv2d's kernels on a height-1 image) and string padding
('valid', 'same') of F.conv1d / F.conv2d: against PyTorch over drawn configurations
(channels, groups, kernel, stride, padding, dilation, output_padding) in float32 / float64
with first and second derivatives, finite differences, and the errors naming conv1d and
the caller's own shapes. The layers (nn.Conv1d, padding_mode) are in test_layers.py."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import minigan as mg
import minigan.functional as F
from strategies import check_against_torch, check_grads, leaf

DTYPES = st.sampled_from([np.float64, np.float32])


@st.composite
def conv1d_cases(draw, transposed: bool = False, max_length: int = 7):
    G = draw(st.sampled_from([1, 2]))
    N, Cg, OCg = draw(st.integers(1, 2)), draw(st.integers(1, 2)), draw(st.integers(1, 2))
    K, S, D = draw(st.integers(1, 4)), draw(st.integers(1, 3)), draw(st.integers(1, 2))
    bias = draw(st.booleans())
    if transposed:
        P = draw(st.integers(0, 2))
        OP = draw(st.integers(0, max(S, D) - 1))
        L = draw(st.integers(1, 4))
        assume((L - 1) * S - 2 * P + D * (K - 1) + OP + 1 >= 1)
        kwargs = dict(stride=S, padding=P, output_padding=OP, dilation=D, groups=G)
        return (N, G * Cg, L), (G * Cg, OCg, K), bias, kwargs
    P = draw(st.one_of(st.integers(0, 2), st.sampled_from(["valid", "same"])))
    if P == "same":
        S = 1
    pad = 0 if P == "valid" else (D * (K - 1) if P == "same" else 2 * P)
    low = max(1, D * (K - 1) + 1 - pad)
    L = draw(st.integers(low, max(low, max_length)))
    kwargs = dict(stride=S, padding=P if draw(st.booleans()) or isinstance(P, str) else (P,),
                  dilation=D, groups=G)
    return (N, G * Cg, L), (G * OCg, Cg, K), bias, kwargs


def _arrays(case, seed=0):
    x_shape, w_shape, bias, kwargs = case
    rng = np.random.default_rng(seed)
    out_ch = w_shape[0] if "output_padding" not in kwargs else w_shape[1] * kwargs["groups"]
    arrays = [rng.standard_normal(x_shape), rng.standard_normal(w_shape)]
    return arrays + ([rng.standard_normal(out_ch)] if bias else []), kwargs


@settings(max_examples=20)
@given(conv1d_cases(), DTYPES)
def test_conv1d_like_torch(torch, case, dtype):
    arrays, kw = _arrays(case)
    check_against_torch(torch, lambda *t: F.conv1d(*t, **kw),
                        lambda *t: torch.nn.functional.conv1d(*t, **kw), arrays, dtype=dtype)


@settings(max_examples=15)
@given(conv1d_cases(transposed=True), DTYPES)
def test_conv_transpose1d_like_torch(torch, case, dtype):
    arrays, kw = _arrays(case, 1)
    check_against_torch(torch, lambda *t: F.conv_transpose1d(*t, **kw),
                        lambda *t: torch.nn.functional.conv_transpose1d(*t, **kw), arrays,
                        dtype=dtype)


@settings(max_examples=10)
@given(st.one_of(conv1d_cases(max_length=4), conv1d_cases(transposed=True)))
def test_conv1d_gradcheck_and_gradgradcheck(device, case):
    arrays, kw = _arrays(case, 2)
    fn = F.conv_transpose1d if "output_padding" in kw else F.conv1d
    check_grads(lambda *t: fn(*t, **kw), [leaf(a, device) for a in arrays])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.filterwarnings("ignore:Using padding=.same.")
def test_conv2d_string_padding_like_torch(torch, dtype):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 2, 5, 6))
    for w_shape, kw in (((3, 2, 3, 3), dict(padding="same")),
                        ((3, 2, 4, 2), dict(padding="same", dilation=(1, 2))),
                        ((4, 1, 2, 3), dict(padding="same", groups=2)),
                        ((3, 2, 3, 3), dict(padding="valid", stride=2))):
        check_against_torch(torch, lambda a, b: F.conv2d(a, b, **kw),
                            lambda a, b: torch.nn.functional.conv2d(a, b, **kw),
                            [x, rng.standard_normal(w_shape)], dtype=dtype)
    unbatched = rng.standard_normal((2, 7))
    check_against_torch(torch, lambda a, b: F.conv1d(a, b, padding="same"),
                        lambda a, b: torch.nn.functional.conv1d(a, b, padding="same"),
                        [unbatched, rng.standard_normal((3, 2, 4))], dtype=dtype)


def _z(*shape):
    return mg.zeros(*shape)


@pytest.mark.parametrize("call, error, message", [
    (lambda: F.conv1d(_z(2, 3, 4, 4), _z(4, 3, 3)), mg.ShapeError,
     r"conv1d: expected a 3-D input \(N, C, L\) or 2-D \(C, L\), got shape \(2, 3, 4, 4\)"),
    (lambda: F.conv1d(_z(2, 3, 8), _z(4, 3, 3, 3)), mg.ShapeError, r"conv1d: weight must be 3-D"),
    (lambda: F.conv1d(_z(2, 3, 8), _z(4, 5, 3)), mg.ShapeError,
     r"conv1d: input of shape \(2, 3, 8\) has 3 channels but weight \(4, 5, 3\) expects 5"),
    (lambda: F.conv1d(_z(2, 3, 2), _z(4, 3, 5)), mg.ShapeError,
     r"conv1d: kernel \(4, 3, 5\) \(dilation \(1,\)\) spans 5 in length"),
    (lambda: F.conv1d(_z(2, 3, 8), _z(4, 3, 3), stride=2, padding="same"), mg.ArgumentError,
     r"conv1d: padding='same' is not supported for strided convolutions"),
    (lambda: F.conv1d(_z(2, 3, 8), _z(4, 3, 3), padding="full"), mg.ArgumentError,
     r"conv1d: padding must be one of 'valid', 'same'"),
    (lambda: F.conv1d(_z(2, 3, 8), _z(4, 3, 3), stride=(1, 1)), mg.ArgumentError,
     r"conv1d: stride must be an int or 1 ints"),
    (lambda: F.conv1d(_z(2, 4, 8), _z(3, 2, 3), groups=2), mg.ShapeError, r"conv1d: groups=2 must divide"),
    (lambda: F.conv1d(_z(2, 3, 8), _z(4, 3, 3), _z(3)), mg.ShapeError, r"conv1d: bias of shape \(3,\)"),
    (lambda: F.conv_transpose1d(_z(2, 3, 4), _z(3, 2, 3), stride=2, output_padding=2), mg.ArgumentError,
     r"conv_transpose1d: output_padding \(2,\) must be smaller than either stride \(2,\)"),
    (lambda: F.conv_transpose1d(_z(1, 3, 1), _z(3, 2, 1), padding=1), mg.ShapeError,
     r"conv_transpose1d: output size \(-1,\) is too small"),
    (lambda: F.conv_transpose1d(_z(2, 3, 4), _z(4, 2, 3)), mg.ShapeError,
     r"conv_transpose1d: input of shape \(2, 3, 4\) has 3 channels but weight \(4, 2, 3\)"),
    (lambda: F.conv1d([1.0], _z(4, 3, 3)), mg.DTypeError, r"conv1d: input and weight must be Tensors"),
])
def test_errors_name_the_op(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_reference_kernels_run_the_1d_convolutions_too():
    """mg.use_reference_kernels() switches conv1d / conv_transpose1d with the 2-D ones."""
    rng = np.random.default_rng(4)
    x, w, wt = (mg.tensor(rng.standard_normal(s)) for s in ((2, 3, 7), (4, 3, 3), (3, 2, 3)))
    fast = [F.conv1d(x, w, padding="same", dilation=2), F.conv_transpose1d(x, wt, stride=2, output_padding=1)]
    with mg.use_reference_kernels():
        slow = [F.conv1d(x, w, padding="same", dilation=2), F.conv_transpose1d(x, wt, stride=2, output_padding=1)]
    for a, b in zip(fast, slow):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-12, atol=1e-12)
