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


def compare_with_torch(torch, mg_fn: Callable, torch_fn: Callable, arrays: Sequence[np.ndarray],
                       device: str = "cpu", dtype: Any = np.float64,
                       rtol: float | None = None, atol: float | None = None,
                       requires_grad: Sequence[bool] | None = None) -> None:
    """Run ``mg_fn`` and ``torch_fn`` on the same inputs (cast to ``dtype``), backpropagate
    the same random upstream gradient, and compare outputs and input gradients."""
    dtype = np.dtype(dtype)
    if rtol is None:
        rtol = 1e-10 if dtype == np.float64 else 1e-5
    if atol is None:
        atol = 1e-12 if dtype == np.float64 else 1e-6
    requires_grad = requires_grad or [True] * len(arrays)
    ours = [mg.tensor(a.astype(dtype), device=device, requires_grad=r)
            for a, r in zip(arrays, requires_grad)]
    theirs = [torch.tensor(a.astype(dtype), requires_grad=r) for a, r in zip(arrays, requires_grad)]
    y, ty = mg_fn(*ours), torch_fn(*theirs)
    assert y.shape == tuple(ty.shape), (y.shape, tuple(ty.shape))
    assert y.dtype == dtype
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=rtol, atol=atol)
    g = random_like(y.shape).astype(dtype)
    y.backward(mg.tensor(g, device=device))
    ty.backward(torch.tensor(g))
    for ours_x, their_x in zip(ours, theirs):
        if their_x.requires_grad:
            assert ours_x.grad is not None and ours_x.grad.dtype == dtype
            np.testing.assert_allclose(ours_x.grad.numpy(), their_x.grad.numpy(),
                                       rtol=rtol, atol=atol)


def compare_derivatives_with_torch(torch, y, ty, wrt: Sequence, twrt: Sequence, device: str,
                                   dtype: Any, close: Callable) -> None:
    """First and second derivatives of minigan's ``y`` against PyTorch's ``ty``: the gradients
    w.r.t. ``wrt`` / ``twrt`` for one random upstream gradient gy, then the gradients of their
    random projection w.r.t. the same inputs and gy (double backward), each pair checked by
    ``close(ours, theirs)``. A second derivative PyTorch reports absent (an input that enters
    linearly) must be absent or zero here."""
    dtype = np.dtype(dtype)
    rng = np.random.default_rng(1)
    gy = rng.standard_normal(y.shape).astype(dtype)
    gy_ours = mg.tensor(gy, device=device, requires_grad=True)
    gy_theirs = torch.tensor(gy, requires_grad=True)
    grads = mg.grad(y, list(wrt), gy_ours, create_graph=True)
    tgrads = torch.autograd.grad(ty, list(twrt), gy_theirs, create_graph=True)
    for g, tg in zip(grads, tgrads):
        assert g.dtype == dtype
        close(g.numpy(), tg.detach().numpy())

    vs = [rng.standard_normal(g.shape).astype(dtype) for g in grads]
    s = sum((g * mg.tensor(v, device=device)).sum() for g, v in zip(grads, vs))
    ts = sum((tg * torch.tensor(v)).sum() for tg, v in zip(tgrads, vs))
    second = mg.grad(s, list(wrt) + [gy_ours], allow_unused=True)
    tsecond = torch.autograd.grad(ts, list(twrt) + [gy_theirs], allow_unused=True)
    for g, tg in zip(second, tsecond):
        if tg is None:
            assert g is None or np.allclose(g.numpy(), 0)
            continue
        close(g.numpy(), tg.numpy())
