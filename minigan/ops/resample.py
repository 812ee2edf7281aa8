"""Resampling along axes: ``interpolate`` (nearest, nearest-exact, linear, bilinear, bicubic,
trilinear, area), and the kernel behind adaptive average pooling (ops/pool.py) and
reflect / replicate / circular padding (ops/padding.py).

Every one of these is *separable*: it acts on each spatial axis on its own, and along one
axis it is a sparse linear map from n_in values to n_out, where each output reads a few
inputs ("taps") with fixed weights:

    y[..., j, ...] = sum_t  weight[t, j] * x[..., index[t, j], ...]        (t < T)

    nearest      T = 1   index = floor(j * n_in / n_out)                     weight 1
    linear       T = 2   the two neighbours of the source position s(j)      1 - f, f
    cubic        T = 4   four neighbours, Keys' cubic convolution (A = -0.75)
    area         T = the longest window [floor(j n_in / n_out), ceil((j+1) n_in / n_out))
                 weight 1 / window length
    padding      T = 1   index = reflect(j - left), clamp(...), (j - left) mod n

A 2-D interpolation is such a map along W, then one along H. ``Resample`` is the Function
for one axis: its forward is T gathers (``take``) and a weighted sum; its gradient is the
transposed map, x -> y = M x gives gx = M^T gy, and M^T is again a map of this kind
(input i collects from the outputs that read it: ``_transpose`` regroups the taps by
input), so the backward is the same gather kernel, and so is every higher derivative:
no scatter-add, no atomics on a GPU, deterministic. Where outputs read different numbers
of inputs, the missing taps point one past the end (n_in) and are skipped (never
"0 * value": that would turn an inf into NaN).

Index rules and the float arithmetic they use are PyTorch's (aten/src/ATen/native/
UpSample.h): nearest computes in float32, linear and cubic in the input's dtype, so the
same output picks the same inputs as in PyTorch.
"""
from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from .. import backend
from ..autograd import Function, Tensor
from ..errors import ArgumentError, DTypeError, ShapeError
from .args import choice, flag, float_tensor


# ============================================================================ taps


class Taps:
    """A sparse linear map along one axis, n_in values -> n_out: output j is
    sum_t weight[t, j] * input[index[t, j]]. ``index`` is (T, n_out) int64 with n_in
    meaning "a zero" (a missing tap); ``weight`` (T, n_out) float64, or None for all ones
    (a pure gather: nearest, padding)."""

    def __init__(self, index: np.ndarray, weight: np.ndarray | None, n_in: int) -> None:
        self.index = np.asarray(index, dtype=np.int64)
        self.weight = None if weight is None else np.asarray(weight, np.float64)
        self.n_in = int(n_in)

    @property
    def n_out(self) -> int:
        return self.index.shape[1]

    def transpose(self) -> "Taps":
        """The adjoint map n_out -> n_in: input i's taps are the outputs that read it."""
        T, n_out = self.index.shape
        reads = self.index.reshape(-1)
        outputs = np.tile(np.arange(n_out), T)
        weights = np.ones(reads.size) if self.weight is None else self.weight.reshape(-1)
        real = reads < self.n_in
        reads, outputs, weights = reads[real], outputs[real], weights[real]
        order = np.argsort(reads, kind="stable")
        reads, outputs, weights = reads[order], outputs[order], weights[order]
        counts = np.bincount(reads, minlength=self.n_in)
        rank = np.arange(reads.size) - (np.cumsum(counts) - counts)[reads]   # k-th reader of i
        R = max(int(counts.max(initial=0)), 1)
        index = np.full((R, self.n_in), n_out, dtype=np.int64)
        weight = np.zeros((R, self.n_in))
        index[rank, reads] = outputs
        weight[rank, reads] = weights
        return Taps(index, None if self.weight is None and np.all(weights == 1) else weight, n_out)


def _gather_sum(x, axis: int, taps: Taps):
    """sum_t weight[t] * x.take(index[t], axis): the map ``taps`` along ``axis``. A tap
    missing for some outputs is gathered and added for the others only (a padding map's
    transpose has a second tap at the few inputs near the edges: pad reflect's backward
    14 -> 7 ms at (64, 64, 14, 14)); never "0 * value", which would turn an inf into NaN."""
    xp = backend.get_array_module(x)
    device = backend.device_of(x)
    shape = x.shape[:axis] + (taps.n_out,) + x.shape[axis + 1:]
    along = (-1,) + (1,) * (x.ndim - axis - 1)   # a weight row broadcast along ``axis``
    y = None
    for t in range(taps.index.shape[0]):
        outputs = np.flatnonzero(taps.index[t] < taps.n_in)
        every = outputs.size == taps.n_out
        index = backend.to_device(taps.index[t] if every else taps.index[t, outputs], device)
        v = xp.take(x, index, axis=axis)
        if taps.weight is not None:
            w = taps.weight[t] if every else taps.weight[t, outputs]
            v *= xp.asarray(backend.to_device(w, device), dtype=x.dtype).reshape(along)
        if every:
            y = v if y is None else xp.add(y, v, out=y)
            continue
        if y is None:
            y = xp.zeros(shape, dtype=x.dtype)
        where = (slice(None),) * axis + (backend.to_device(outputs, device),)
        y[where] += v                                  # distinct outputs: no scatter-add
    return y


class Resample(Function):
    """y = the map ``taps`` applied along ``axis``; the gradient is the transposed map."""

    def __init__(self, axis: int, taps: Taps, adjoint: Taps | None = None) -> None:
        self.axis, self.taps, self.adjoint = axis, taps, adjoint

    def forward(self, x):
        return _gather_sum(x, self.axis, self.taps)

    def backward(self, gy):
        adjoint = self.adjoint if self.adjoint is not None else self.taps.transpose()
        return Resample(self.axis, adjoint, self.taps)(gy)


def resample(x: Tensor, maps: dict[int, Taps]) -> Tensor:
    """x with ``maps[axis]`` applied along each axis (identity maps skipped)."""
    for axis, taps in sorted(maps.items(), reverse=True):
        if not (taps.weight is None and taps.n_in == taps.n_out and taps.index.shape[0] == 1
                and np.array_equal(taps.index[0], np.arange(taps.n_in))):
            x = Resample(axis, taps)(x)
    return x


# ============================================================================ index rules


def _nearest(n_in: int, n_out: int, scale: float | None, exact: bool) -> Taps:
    """PyTorch's nearest_idx / nearest_exact_idx: src = floor(j * s) (exact: floor((j + 0.5) s))
    clamped to n_in - 1, with s = 1 / scale_factor or n_in / n_out computed in float32."""
    j = np.arange(n_out)
    if not exact and n_out == n_in:
        return Taps(j[None], None, n_in)
    if not exact and n_out == 2 * n_in:
        return Taps((j >> 1)[None], None, n_in)
    s = np.float32(1.0 / scale) if scale else np.float32(n_in) / np.float32(n_out)
    if exact:
        src = np.floor(((j + 0.5) * np.float64(s)).astype(np.float32))
    else:
        src = np.floor(j.astype(np.float32) * s)
    return Taps(np.minimum(src.astype(np.int64), n_in - 1)[None], None, n_in)


def _source_positions(n_in: int, n_out: int, scale: float | None, align_corners: bool,
                      dtype, cubic: bool = False) -> np.ndarray:
    """PyTorch's area_pixel_compute_source_index in the input's dtype: the (fractional)
    input position each output samples."""
    dt = np.dtype(dtype).type
    j = np.arange(n_out).astype(dt)
    if align_corners:
        s = dt(n_in - 1) / dt(n_out - 1) if n_out > 1 else dt(0)
        return s * j
    s = dt(1.0 / scale) if scale else dt(n_in) / dt(n_out)
    src = s * (j + dt(0.5)) - dt(0.5)
    return src if cubic else np.maximum(src, dt(0))


def _linear(n_in, n_out, scale, align_corners, dtype) -> Taps:
    """Two taps: floor(s) and the next one (the last input repeats), weights 1 - f and f."""
    src = _source_positions(n_in, n_out, scale, align_corners, dtype)
    i0 = np.minimum(src.astype(np.int64), n_in - 1)
    f = np.clip(src - i0, 0, 1)
    i1 = np.minimum(i0 + 1, n_in - 1)
    return Taps(np.stack([i0, i1]), np.stack([1 - f, f]).astype(np.float64), n_in)


def _cubic(n_in, n_out, scale, align_corners, dtype) -> Taps:
    """Four taps floor(s) - 1 .. floor(s) + 2 (clamped to the edge), with Keys' cubic
    convolution weights, A = -0.75 (PyTorch's get_cubic_upsample_coefficients)."""
    dt = np.dtype(dtype).type
    src = _source_positions(n_in, n_out, scale, align_corners, dtype, cubic=True)
    i = np.floor(src).astype(np.int64)
    t = src - i
    A = dt(-0.75)

    def near(x):      # |x| <= 1
        return ((A + 2) * x - (A + 3)) * x * x + 1

    def far(x):       # 1 < |x| < 2
        return ((A * x - 5 * A) * x + 8 * A) * x - 4 * A
    weights = np.stack([far(t + 1), near(t), near(1 - t), far(2 - t)]).astype(np.float64)
    index = np.clip(np.stack([i - 1, i, i + 1, i + 2]), 0, n_in - 1)
    return Taps(index, weights, n_in)


def adaptive_windows(n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray]:
    """PyTorch's adaptive pooling windows: output j covers [floor(j n_in / n_out),
    ceil((j + 1) n_in / n_out))."""
    j = np.arange(n_out)
    return (j * n_in) // n_out, -(-((j + 1) * n_in) // n_out)


def window_taps(start: np.ndarray, end: np.ndarray, n_in: int, weights: np.ndarray | None = None,
                fill: str = "zero") -> Taps:
    """Taps reading the windows [start_j, end_j) of one axis, the shorter ones padded with
    missing taps (``fill='zero'``) or with their own last element (``fill='last'``, for a
    max, which a repeated element does not change). ``weights`` (n_out,) for every tap of
    output j (None: 1)."""
    T = max(int((end - start).max(initial=1)), 1)
    index = start[None] + np.arange(T)[:, None]
    inside = index < end[None]
    index = np.where(inside, index, n_in if fill == "zero" else (end - 1)[None])
    weight = None if weights is None else np.broadcast_to(weights, index.shape)
    return Taps(index, weight, n_in)


def _area(n_in: int, n_out: int) -> Taps:
    """Adaptive average pooling along one axis: each window's mean."""
    start, end = adaptive_windows(n_in, n_out)
    return window_taps(start, end, n_in, 1.0 / (end - start))


# ============================================================================ interpolate

_MODES = ("nearest", "nearest-exact", "linear", "bilinear", "bicubic", "trilinear", "area")
_LINEAR_DIMS = {"linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3}


def _per_dim(value: Any, n: int, op: str, name: str, kind: type) -> list:
    """An int / float, or a sequence of ``n`` of them, as a list of ``n``."""
    items = list(value) if isinstance(value, (list, tuple)) else [value] * n
    if len(items) != n:
        raise ShapeError(f"{op}: {name} {value!r} has {len(items)} entries but the input has "
                         f"{n} spatial dims")
    for v in items:
        ok = isinstance(v, (int, np.integer) if kind is int else (int, float, np.number))
        if not ok or isinstance(v, bool):
            raise DTypeError(f"{op}: {name} must be {'ints' if kind is int else 'numbers'}, "
                             f"got {value!r}")
    return [kind(v) for v in items]


def interpolate(input: Tensor, size: Any = None, scale_factor: Any = None, mode: str = "nearest",
                align_corners: bool | None = None, recompute_scale_factor: bool | None = None,
                antialias: bool = False) -> Tensor:
    """Resize the spatial dims of (N, C, L), (N, C, H, W) or (N, C, D, H, W), as
    ``torch.nn.functional.interpolate``: to ``size``, or by ``scale_factor`` (output size
    floor(n * scale); the kernels then use 1 / scale_factor as the step unless
    ``recompute_scale_factor`` is True, as in PyTorch). Modes: 'nearest' (PyTorch's
    floor(j * n_in / n_out) rule), 'nearest-exact' (pixel centres), 'linear' / 'bilinear' /
    'trilinear' / 'bicubic' (``align_corners`` as in PyTorch, default False), 'area'
    (adaptive average pooling).

    >>> import minigan as mg, minigan.functional as F
    >>> F.interpolate(mg.tensor([[[1.0, 2.0]]]), scale_factor=2).numpy()
    array([[[1., 1., 2., 2.]]], dtype=float32)
    """
    op = "interpolate"
    float_tensor(input, op)
    choice(mode, _MODES, op, "mode")
    align_corners = flag(align_corners, op, "align_corners", allow_none=True)
    recompute_scale_factor = flag(recompute_scale_factor, op, "recompute_scale_factor",
                                  allow_none=True)
    antialias = flag(antialias, op, "antialias")
    if input.ndim not in (3, 4, 5):
        raise ShapeError(f"{op}: expected a 3-D, 4-D or 5-D input (N, C, spatial dims...), got "
                         f"shape {input.shape}")
    dims = input.ndim - 2
    if mode in _LINEAR_DIMS and _LINEAR_DIMS[mode] != dims:
        raise ShapeError(f"{op}: mode {mode!r} needs a {_LINEAR_DIMS[mode] + 2}-D input, got "
                         f"shape {input.shape}")
    if align_corners is not None and mode not in _LINEAR_DIMS:
        raise ArgumentError(f"{op}: align_corners can only be set with the interpolating modes "
                            f"linear, bilinear, bicubic and trilinear, not {mode!r}")
    if antialias:
        raise ArgumentError(f"{op}: antialias=True is not supported")
    if (size is None) == (scale_factor is None):
        raise ArgumentError(f"{op}: give exactly one of size and scale_factor")
    if recompute_scale_factor and size is not None:
        raise ArgumentError(f"{op}: recompute_scale_factor is meaningless with an explicit size")
    spatial = input.shape[2:]
    if size is not None:
        out, scales = _per_dim(size, dims, op, "size", int), [None] * dims
    else:
        scales = _per_dim(scale_factor, dims, op, "scale_factor", float)
        out = [int(math.floor(n * s)) if math.isfinite(s) else -1 for n, s in zip(spatial, scales)]
        if recompute_scale_factor or mode == "area":
            scales = [None] * dims
    if input.shape[1] == 0 and mode != "area":   # PyTorch's rule ('area' is adaptive pooling)
        raise ShapeError(f"{op}: expected a non-empty channel dim, got shape {input.shape}")
    if min(out) <= 0 or min(spatial) <= 0:
        raise ShapeError(f"{op}: input and output sizes must be positive, got input "
                         f"{tuple(spatial)} and output {tuple(out)}")
    corners = bool(align_corners)
    maps = {}
    for k, (n_in, n_out, scale) in enumerate(zip(spatial, out, scales)):
        if mode in ("nearest", "nearest-exact"):
            taps = _nearest(n_in, n_out, scale, exact=mode == "nearest-exact")
        elif mode == "area":
            taps = _area(n_in, n_out)
        elif mode == "bicubic":
            taps = _cubic(n_in, n_out, scale, corners, input.dtype)
        else:
            taps = _linear(n_in, n_out, scale, corners, input.dtype)
        maps[2 + k] = taps
    return resample(input, maps)
