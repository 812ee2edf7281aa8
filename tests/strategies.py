"""Reusable hypothesis strategies and small helpers for the op tests.

Import them from any test file (tests/ is on sys.path under pytest's default import mode):

    from strategies import shapes, broadcastable_shapes, float_arrays, leaf, check_grads

Shapes are tiny on purpose: an element-wise gradcheck costs two calls of the function per
input element, and gradgradcheck does that for the inputs and the upstream gradient.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
from hypothesis import assume, strategies as st
from hypothesis.extra import numpy as hnp

import minigan as mg

# ---------------------------------------------------------------------------- shapes


def shapes(min_dims: int = 0, max_dims: int = 3, min_side: int = 1, max_side: int = 3):
    """Array shapes, 0-d included by default (size-1 axes come up often at these sizes)."""
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side,
                            max_side=max_side)


def broadcastable_shapes(num_shapes: int = 2, min_dims: int = 0, max_dims: int = 3,
                         max_side: int = 3):
    """A tuple of ``num_shapes`` shapes that broadcast together (size-1 axes and missing
    leading axes included), e.g. ((2, 1, 3), (3,))."""
    return hnp.mutually_broadcastable_shapes(
        num_shapes=num_shapes, min_dims=min_dims, max_dims=max_dims, max_side=max_side
    ).map(lambda b: tuple(b.input_shapes))


def axes_for(ndim: int):
    """An ``axis`` argument for a tensor of ``ndim`` dims: None, an int (maybe negative)
    or a tuple of distinct ints."""
    if ndim == 0:
        return st.sampled_from([None, 0, -1])
    single = st.integers(-ndim, ndim - 1)
    several = st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True).map(
        lambda axes: tuple(a - ndim if i % 2 else a for i, a in enumerate(axes)))
    return st.one_of(st.none(), single, several)


# ---------------------------------------------------------------------------- convolutions


def _geometry(draw) -> tuple:
    """Groups, batch, channels per group (in, out), kernel, stride, padding, dilation."""
    G = draw(st.sampled_from([1, 2]))
    N, Cg, OCg = draw(st.integers(1, 2)), draw(st.integers(1, 2)), draw(st.integers(1, 2))
    KH, KW = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    S = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    P = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    D = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    return G, N, Cg, OCg, KH, KW, S, P, D


@st.composite
def conv_cases(draw, max_side: int = 6):
    """(x shape, w shape, bias?, kwargs) for a valid conv2d."""
    G, N, Cg, OCg, KH, KW, S, P, D = _geometry(draw)
    sides = []
    for k, p, d in ((KH, P[0], D[0]), (KW, P[1], D[1])):
        low = max(1, d * (k - 1) + 1 - 2 * p)
        sides.append(draw(st.integers(low, max(low, max_side))))
    kwargs = dict(stride=S, padding=P, dilation=D, groups=G)
    return (N, G * Cg) + tuple(sides), (G * OCg, Cg, KH, KW), draw(st.booleans()), kwargs


@st.composite
def conv_transpose_cases(draw, max_side: int = 4):
    """(x shape, w shape, bias?, kwargs) for a valid conv_transpose2d."""
    G, N, Cg, OCg, KH, KW, S, P, D = _geometry(draw)
    OP = (draw(st.integers(0, max(S[0], D[0]) - 1)), draw(st.integers(0, max(S[1], D[1]) - 1)))
    H, W = draw(st.integers(1, max_side)), draw(st.integers(1, max_side))
    for size, s, p, d, k, op in ((H, S[0], P[0], D[0], KH, OP[0]), (W, S[1], P[1], D[1], KW, OP[1])):
        assume((size - 1) * s - 2 * p + d * (k - 1) + op + 1 >= 1)
    kwargs = dict(stride=S, padding=P, output_padding=OP, dilation=D, groups=G)
    return (N, G * Cg, H, W), (G * Cg, OCg, KH, KW), draw(st.booleans()), kwargs



# ---------------------------------------------------------------------------- arrays


@st.composite
def float_arrays(draw, shape: tuple, low: float = -2.0, high: float = 2.0,
                 kinks: Sequence[float] = (), gap: float = 0.1, distinct: bool = False,
                 dtype: Any = np.float64) -> np.ndarray:
    """A float64 array of ``shape`` with values in [low, high] (drawn from a seed, so
    hypothesis shrinks the seed, not every element).

    ``kinks``: points where the function is not smooth (0 for abs/relu, the bounds of
    clamp); values are kept at least ``gap`` away from each. ``distinct``: all values at
    least ``gap`` apart (no ties for max/min/maximum), a shuffled grid plus jitter.
    """
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    size = int(np.prod(shape, dtype=np.int64))
    if distinct:
        grid = np.linspace(low, high, max(size, 1) * 2)[rng.permutation(max(size, 1) * 2)[:size]]
        values = grid + rng.uniform(-0.2, 0.2, size) * (grid[1] - grid[0] if size > 1 else 0)
    else:
        values = rng.uniform(low, high, size)
    for k in kinks:
        near = np.abs(values - k) < gap
        values[near] = k + np.where(values[near] >= k, gap, -gap) * rng.uniform(1, 2, near.sum())
    return values.reshape(shape).astype(dtype)


def positive_arrays(shape: tuple, low: float = 0.5, high: float = 2.0):
    """Values in [low, high] (for log, sqrt, pow bases, divisors)."""
    return float_arrays(shape, low, high)


# ---------------------------------------------------------------------------- helpers


def leaf(array: Any, device: str = "cpu", requires_grad: bool = True) -> mg.Tensor:
    """A leaf Tensor of ``array`` on ``device`` (float64 arrays stay float64)."""
    return mg.tensor(np.asarray(array), device=device, requires_grad=requires_grad)


def check_grads(fn: Callable[..., Any], inputs: Sequence[Any], *, second: bool = True,
                atol: float = 1e-5, rtol: float = 1e-3, fast_second: bool = False) -> None:
    """gradcheck and (unless ``second`` is False) gradgradcheck of ``fn`` at ``inputs``."""
    assert mg.gradcheck(fn, inputs, atol=atol, rtol=rtol)
    if second:
        assert mg.gradgradcheck(fn, inputs, atol=atol, rtol=rtol, fast=fast_second)


def random_like(shape: tuple, seed: int = 1) -> np.ndarray:
    """A random float64 upstream gradient (a plain sum would hide transposes)."""
    return np.random.default_rng(seed).standard_normal(shape)


def check_against_torch(torch, mg_fn: Callable, torch_fn: Callable, arrays: Sequence[Any],
                        device: str = "cpu", dtype: Any = np.float64, rtol: float | None = None,
                        atol: float | None = None, requires_grad: Sequence[bool] | None = None,
                        second: bool = True, outputs: Callable = lambda y: y) -> mg.Tensor:
    """The one PyTorch-parity helper: ``mg_fn(*tensors)`` against ``torch_fn(*torch tensors)``
    on the same arrays, forward, backward and (unless ``second`` is False) double backward.

    Floating arrays are cast to ``dtype``; integer and bool arrays (indices, masks) pass as
    they are, as constants. ``requires_grad`` says which inputs to differentiate (default:
    the floating ones). ``outputs`` picks the tensor to compare from a result (``lambda r:
    r.values`` for sort). Values are compared to ``rtol`` and to ``atol`` times the scale of
    PyTorch's values (at least 1): float32 sums of products carry an absolute error of eps
    times their scale. Returns minigan's result. The derivatives: ``compare_derivatives``."""
    dtype = np.dtype(dtype)
    rtol = (1e-10 if dtype == np.float64 else 1e-5) if rtol is None else rtol
    atol = (1e-12 if dtype == np.float64 else 1e-6) if atol is None else atol
    arrays = [np.asarray(a) for a in arrays]
    arrays = [a.astype(dtype) if a.dtype.kind == "f" else a for a in arrays]
    need = list(requires_grad) if requires_grad is not None else [a.dtype.kind == "f" for a in arrays]
    ours = [mg.tensor(a, device=device, requires_grad=bool(r)) for a, r in zip(arrays, need)]
    theirs = [torch.tensor(a, requires_grad=bool(r)) for a, r in zip(arrays, need)]
    result = mg_fn(*ours)
    y, ty = outputs(result), outputs(torch_fn(*theirs))
    assert y.shape == tuple(ty.shape), (y.shape, tuple(ty.shape))
    assert str(y.dtype) == str(ty.dtype).replace("torch.", ""), (y.dtype, ty.dtype)
    _assert_close(y.numpy(), ty.detach().numpy(force=True), rtol, atol, "forward")
    wrt = [t for t, r in zip(ours, need) if r]
    twrt = [t for t, r in zip(theirs, need) if r]
    if wrt:
        compare_derivatives(torch, y, ty, wrt, twrt, device, dtype, rtol, atol, second)
    return y


def _assert_close(got: np.ndarray, expected: np.ndarray, rtol: float, atol: float,
                  what: str) -> None:
    finite = np.abs(expected[np.isfinite(expected)]) if np.size(expected) else np.zeros(0)
    scale = max(1.0, float(finite.max(initial=0.0)))
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol * scale, err_msg=what)


def compare_derivatives(torch, y, ty, wrt: Sequence, twrt: Sequence, device: str = "cpu",
                        dtype: Any = np.float64, rtol: float | None = None,
                        atol: float | None = None, second: bool = True) -> None:
    """The derivative half of ``check_against_torch``, for a test that builds ``y`` / ``ty``
    itself: the gradients of minigan's ``y`` and PyTorch's ``ty`` w.r.t. ``wrt`` / ``twrt``
    for one random upstream gradient gy, then (``second``) the gradients of a random
    projection of those w.r.t. the same inputs and gy (double backward). A gradient one side
    leaves out (an unused input; one that enters linearly) must be absent or zero on the
    other. Second derivatives are compared 10x looser (their cancellations differ)."""
    dtype = np.dtype(dtype)
    rtol = (1e-10 if dtype == np.float64 else 1e-5) if rtol is None else rtol
    atol = (1e-12 if dtype == np.float64 else 1e-6) if atol is None else atol
    wrt, twrt = list(wrt), list(twrt)
    rng = np.random.default_rng(1)
    gy = rng.standard_normal(y.shape).astype(dtype)
    gy_ours = mg.tensor(gy, device=device, requires_grad=True)
    gy_theirs = torch.tensor(gy, requires_grad=True)
    grads = mg.grad(y, wrt, gy_ours, create_graph=second, allow_unused=True)
    tgrads = torch.autograd.grad(ty, twrt, gy_theirs, create_graph=second, allow_unused=True)
    for g, tg, x in zip(grads, tgrads, wrt):
        expected = np.zeros(x.shape) if tg is None else tg.detach().numpy(force=True)
        got = np.zeros(x.shape) if g is None else g.numpy()
        assert g is None or g.dtype == dtype
        _assert_close(got, expected, rtol, atol, "backward")
    used = [(g, tg) for g, tg in zip(grads, tgrads) if g is not None and tg is not None
            and tg.requires_grad]
    if not second or not used:
        return
    vs = [rng.standard_normal(g.shape).astype(dtype) for g, _ in used]
    s = sum((g * mg.tensor(v, device=device)).sum() for (g, _), v in zip(used, vs))
    ts = sum((tg * torch.tensor(v)).sum() for (_, tg), v in zip(used, vs))
    ours2 = mg.grad(s, wrt + [gy_ours], allow_unused=True) if s.requires_grad else \
        [None] * (len(wrt) + 1)
    theirs2 = torch.autograd.grad(ts, twrt + [gy_theirs], allow_unused=True)
    for g, tg in zip(ours2, theirs2):
        if tg is None:
            assert g is None or np.allclose(g.numpy(), 0), "double backward: expected zero"
            continue
        expected = tg.numpy(force=True)
        got = np.zeros(expected.shape) if g is None else g.numpy()
        loose = atol if dtype == np.float64 else max(atol, rtol)
        _assert_close(got, expected, rtol * 10, loose * 10, "double backward")
