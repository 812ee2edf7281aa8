"""2-D pooling: max_pool2d, avg_pool2d, adaptive_avg_pool2d, adaptive_max_pool2d.

Notation as in ops/conv.py: x (N, C, H, W), window KH x KW, stride S, padding P (implicit:
-inf for max, 0 for avg), dilation D, output (N, C, OH, OW) with PyTorch's size rule

    OH = floor((H + 2P - D (KH - 1) - 1 + (S - 1 if ceil_mode)) / S) + 1,
    one less if ceil_mode makes the last window start past the image and its padding.

How: a window is read one kernel offset at a time, exactly as ``conv._col2im`` writes one:
``conv._kernel_offsets`` gives, for each (kh, kw), the output positions it serves and the
strided slice of the input they read there (no padded copy, no im2col; outputs whose tap
falls in the padding or past the edge are simply not served by that offset). So

    max_pool2d   best = max over offsets of x[slice]   (with the argmax, for the gradient)
    avg_pool2d   sum over offsets of x[slice] / divisor

Derivatives. avg_pool2d is linear; its adjoint adds g / divisor back along the same slices
(``AvgPool2dAdjoint``), and the adjoint of that is avg_pool2d again: every order. max_pool2d
is y = x at the argmax positions, so gx = PutFlat(g) (ops/index.py: the positions' scatter-
add), and that pair continues to any order. The adaptive pools have windows of varying
length [floor(i H / OH), ceil((i + 1) H / OH)); they are separable, one axis at a time,
with the taps of ops/resample.py (average: its linear map; max: the max of maxes).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .. import backend
from ..autograd import Function, Tensor, is_grad_enabled
from ..errors import ArgumentError, DTypeError, ShapeError
from .args import flag, float_tensor, int_arg, int_tuple, tensor_arg
from .conv import _Geometry, _kernel_offsets
from .index import PutFlat
from .resample import Resample, _area, adaptive_windows, window_taps


# ============================================================================ geometry


def _pool_out(size: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    """PyTorch's pooling_output_shape."""
    out = (size + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= size + p:  # the last window would start in the padding
        out -= 1
    return out


def _pool_geometry(op: str, x: Tensor, kernel_size: Any, stride: Any, padding: Any,
                   dilation: Any, ceil_mode: bool) -> _Geometry:
    """Checked hyper-parameters as conv's _Geometry (one group)."""
    if x.ndim != 4:
        raise ShapeError(f"{op}: expected a 3-D (C, H, W) or 4-D (N, C, H, W) input, got shape "
                         f"{x.shape}")
    K = int_tuple(kernel_size, 2, op, "kernel_size", 1)
    default = stride is None or (isinstance(stride, (list, tuple)) and len(stride) == 0)
    S = K if default else int_tuple(stride, 2, op, "stride", 1)
    P = int_tuple(padding, 2, op, "padding", 0)
    D = int_tuple(dilation, 2, op, "dilation", 1)
    if P[0] > K[0] // 2 or P[1] > K[1] // 2:
        raise ArgumentError(f"{op}: padding {P} must be at most half of kernel_size {K}")
    N, C, H, W = x.shape
    if 0 in (C, H, W):
        raise ShapeError(f"{op}: expected non-empty channel and spatial dims, got shape {x.shape}")
    ceil_mode = flag(ceil_mode, op, "ceil_mode")
    OH, OW = (_pool_out(n, k, s, p, d, ceil_mode) for n, k, s, p, d in zip((H, W), K, S, P, D))
    if OH < 1 or OW < 1:
        raise ShapeError(f"{op}: input {x.shape} is too small for kernel_size {K}, stride {S}, "
                         f"padding {P}, dilation {D}: output size ({OH}, {OW})")
    return _Geometry(H, W, OH, OW, K[0], K[1], S, P, D, 1)


def _batched(fn, x: Tensor, *args, **kwargs):
    """Run a 4-D pooling ``fn`` on a (C, H, W) input as a batch of one (as PyTorch does)."""
    from .shape import reshape
    if isinstance(x, Tensor) and x.ndim == 3:
        out = fn(reshape(x, (1,) + x.shape), *args, **kwargs)
        if isinstance(out, tuple):
            return tuple(reshape(o, o.shape[1:]) for o in out)
        return reshape(out, out.shape[1:])
    return fn(x, *args, **kwargs)


def _like(x, shape: tuple, fill):
    """An array of ``shape`` filled with ``fill``, in x's memory layout (channels-last stays
    channels-last, so each offset's slice is read and written in memory order)."""
    return backend.get_array_module(x).full_like(x, fill, shape=shape)


# ============================================================================ max_pool2d


def _window_max(x, g: _Geometry, with_index: bool):
    """The max of each window and, ``with_index``, the in-plane index h*W + w of the element
    PyTorch's kernel picks, and the (OH, OW) mask of windows that hold a pixel of the image
    at all (None: all do; with dilation a window can fall entirely in the padding)."""
    xp = backend.get_array_module(x)
    N, C = x.shape[:2]
    lowest = -np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).min
    offsets = _kernel_offsets(g)
    if not with_index:
        best = _like(x, (N, C, g.OH, g.OW), lowest)
        for _, _, (oh, ow), (ih, iw) in offsets:
            b = best[:, :, oh, ow]
            xp.maximum(b, x[:, :, ih, iw], out=b)         # NaN wins, as in PyTorch
        return best, None, None
    windows = _windows(x, g, offsets, lowest)
    best = windows.max(axis=0)
    # A window's pixels sit at start + (kh D_h W + kw D_w) in its plane, start = its top-left
    # corner (oh S - P) W + (ow S - P); PyTorch begins at its first pixel, which stays when
    # nothing beats it (a window of -inf, or one that holds no pixel at all).
    starts, firsts, inside = [], [], []
    for n, o, s, p, d in zip((g.H, g.W), (g.OH, g.OW), g.S, g.P, g.D):
        start = np.arange(o) * s - p
        first = np.where(start < 0, -(start // d), 0)    # the first tap at or after 0
        starts.append(start)
        firsts.append(first * d)
        inside.append(start + first * d < n)
    device = backend.device_of(x)
    corner = xp.asarray(backend.to_device(
        (starts[0][:, None] * g.W + starts[1][None, :]).astype(np.int32), device))
    first = xp.asarray(backend.to_device(
        (firsts[0][:, None] * g.W + firsts[1][None, :]).astype(np.int32), device))
    steps = [np.int32(kh * g.D[0] * g.W + kw * g.D[1]) for kh, kw, _, _ in offsets]
    if bool(xp.isnan(best).any()):
        plane = corner + _pick_by_rule(x, best, offsets, steps, first, lowest)
    else:
        plane = corner + _pick_first_max(windows, best, steps, first, lowest)
    valid = inside[0][:, None] & inside[1][None, :]
    return best, plane, None if valid.all() else valid


def _windows(x, g: _Geometry, offsets: list, lowest):
    """The windows copied offset-major into one contiguous (KH*KW, N, C, OH, OW) array, as
    conv's single-channel im2col does (taps off the image hold ``lowest``), so what follows
    reads contiguous memory: strided compares were 12x slower per element."""
    xp = backend.get_array_module(x)
    shape = (max(len(offsets), 1),) + x.shape[:2] + (g.OH, g.OW)   # no offset: all off the image
    covered = len(offsets) == g.KH * g.KW and all(
        (o[0].stop - o[0].start, o[1].stop - o[1].start) == (g.OH, g.OW) for _, _, o, _ in offsets)
    windows = xp.empty(shape, dtype=x.dtype) if covered else xp.full(shape, lowest, dtype=x.dtype)
    for k, (_, _, (oh, ow), (ih, iw)) in enumerate(offsets):
        windows[k, :, :, oh, ow] = x[:, :, ih, iw]
    return windows


def _pick_first_max(windows, best, steps: list, first, lowest):
    """Per window, the step (kh D_h W + kw D_w) of its first element equal to its max:
    PyTorch's pick when there is no NaN (it replaces only on a strictly larger value; a
    window of ``lowest`` keeps its first pixel). Boolean arithmetic: copyto with a mask was
    2-4x slower. max_pool2d k2 with the index on (64, 64, 28, 28): 85 -> 17 ms."""
    xp = backend.get_array_module(windows)
    step = xp.zeros(best.shape, dtype=np.int32)
    found = xp.zeros(best.shape, dtype=bool)
    for k in range(len(steps)):
        hit = windows[k] == best
        hit &= ~found
        found |= hit
        step += hit * steps[k]
    if bool((best == lowest).any()):  # a tap off the image may have matched first
        step = xp.where(best == lowest, first, step)
    return step


def _pick_by_rule(x, best, offsets: list, steps: list, first, lowest):
    """PyTorch's own loop, vectorised over all windows: in (kh, kw) order, take a value
    larger than the best so far, or a NaN (so a window with NaNs picks its last NaN)."""
    xp = backend.get_array_module(x)
    running = xp.full(best.shape, lowest, dtype=x.dtype)
    step = xp.empty(best.shape, dtype=np.int32)
    step[...] = first
    for k, (_, _, (oh, ow), (ih, iw)) in enumerate(offsets):
        b, v = running[:, :, oh, ow], x[:, :, ih, iw]
        take = v > b
        take |= xp.isnan(v)
        xp.copyto(b, v, where=take)
        xp.copyto(step[:, :, oh, ow], steps[k], where=take)
    return step


class MaxPool(Function):
    """y = the max of each window (``find(x)`` -> values and flat positions in x); the
    gradient goes to the positions: PutFlat, whose own gradient is TakeFlat."""

    def __init__(self, find, op: str) -> None:
        self.find, self.op = find, op

    @property
    def name(self) -> str:
        return self.op

    def forward(self, x):
        y, self.positions, self.valid = self.find(x)
        return y

    def backward(self, gy):
        if self.valid is not None:  # windows with no pixel of the image pass no gradient
            gy = gy * Tensor._wrap(self.valid.astype(gy.dtype))
        return PutFlat(self.positions, self.inputs[0].shape)(gy)


def _flat_positions(plane, shape: tuple, valid=None):
    """In-plane indices (N, C, OH, OW) into an (N, C, H, W) array -> positions in x.flat
    (windows outside the image, ``valid`` False, point at their plane's first element)."""
    xp = backend.get_array_module(plane)
    N, C, H, W = shape
    if valid is not None:
        valid = xp.asarray(backend.to_device(valid, backend.device_of(plane)))
        plane = xp.where(valid, plane, 0)
    return (xp.arange(N * C, dtype=np.int64) * (H * W)).reshape(N, C, 1, 1) + plane, valid


def _max_pool2d(x: Tensor, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    op = "max_pool2d"
    g = _pool_geometry(op, x, kernel_size, stride, padding, dilation, ceil_mode)
    with_index = return_indices or (x.requires_grad and is_grad_enabled())
    planes = []

    def find(data):
        y, plane, valid = _window_max(data, g, with_index)
        if plane is None:
            return y, None, None
        planes.append(plane)
        return (y, *_flat_positions(plane, data.shape, valid))
    y = MaxPool(find, op)(x)
    return (y, Tensor._wrap(planes[0].astype(np.int64))) if return_indices else y


def max_pool2d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,
               dilation: Any = 1, ceil_mode: bool = False, return_indices: bool = False):
    """2-D max pooling over (N, C, H, W) or (C, H, W), as ``F.max_pool2d``: ``stride``
    defaults to ``kernel_size``; ``padding`` (at most half the kernel) never wins;
    ``ceil_mode`` rounds the output size up. ``return_indices`` also returns, per output,
    the index h * W + w of the chosen input in its (H, W) plane (the int64 indices
    ``max_unpool2d`` reads). The gradient goes to that element (the first maximum of a
    window in scan order, as PyTorch).

    >>> import minigan as mg, minigan.functional as F
    >>> F.max_pool2d(mg.arange(16.0).reshape(1, 1, 4, 4), 2).numpy()[0, 0]
    array([[ 5.,  7.],
           [13., 15.]], dtype=float32)
    """
    tensor_arg(input, "max_pool2d")
    if input.dtype.kind not in "fiu":
        raise DTypeError(f"max_pool2d: input must be a float or integer tensor, got {input.dtype}")
    return _batched(_max_pool2d, input, kernel_size, stride, padding, dilation, ceil_mode,
                    flag(return_indices, "max_pool2d", "return_indices"))


# ============================================================================ avg_pool2d


def _window_sum(x, g: _Geometry, out_shape: tuple):
    """sum over each window of x (padding counts as 0)."""
    acc = _like(x, out_shape, 0)
    for _, _, (oh, ow), (ih, iw) in _kernel_offsets(g):
        acc[:, :, oh, ow] += x[:, :, ih, iw]
    return acc


def _window_add(g_out, g: _Geometry, in_shape: tuple):
    """The adjoint of ``_window_sum``: each output's value added to its window's pixels."""
    acc = backend.get_array_module(g_out).zeros(in_shape, dtype=g_out.dtype)
    for _, _, (oh, ow), (ih, iw) in _kernel_offsets(g):
        acc[:, :, ih, iw] += g_out[:, :, oh, ow]
    return acc


class AvgPool2d(Function):
    """y = window sums / divisor (divisor: an (OH, OW) array or a number)."""

    def __init__(self, g: _Geometry, divisor) -> None:
        self.g, self.divisor = g, divisor

    @property
    def name(self) -> str:
        return "avg_pool2d"

    def forward(self, x):
        y = _window_sum(x, self.g, x.shape[:2] + (self.g.OH, self.g.OW))
        y /= _on_device(self.divisor, x)
        return y

    def backward(self, gy):
        return AvgPool2dAdjoint(self.g, self.divisor)(gy)


class AvgPool2dAdjoint(Function):
    """gx = each gy / divisor added back over its window; the adjoint of AvgPool2d."""

    def __init__(self, g: _Geometry, divisor) -> None:
        self.g, self.divisor = g, divisor

    @property
    def name(self) -> str:
        return "avg_pool2d_backward"

    def forward(self, gy):
        g = self.g
        return _window_add(gy / _on_device(self.divisor, gy), g, gy.shape[:2] + (g.H, g.W))

    def backward(self, ggx):
        return AvgPool2d(self.g, self.divisor)(ggx)


def _on_device(divisor, like):
    if isinstance(divisor, (int, float)):
        return divisor
    xp = backend.get_array_module(like)
    return xp.asarray(backend.to_device(divisor, backend.device_of(like)), dtype=like.dtype)


def _divisor(g: _Geometry, count_include_pad: bool) -> np.ndarray:
    """PyTorch's avg_pool2d divisor per output: the window clipped to the padded image
    (count_include_pad) or to the image itself: a product of one length per axis."""
    lengths = []
    for n, o, k, s, p in zip((g.H, g.W), (g.OH, g.OW), (g.KH, g.KW), g.S, g.P):
        start = np.arange(o) * s - p
        end = np.minimum(start + k, n + p)
        if not count_include_pad:
            start, end = np.maximum(start, 0), np.minimum(end, n)
        lengths.append(end - start)
    return (lengths[0][:, None] * lengths[1][None, :]).astype(np.float64)


def _avg_pool2d(x, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override):
    op = "avg_pool2d"
    g = _pool_geometry(op, x, kernel_size, stride, padding, 1, ceil_mode)
    if divisor_override is not None:
        divisor = int_arg(divisor_override, op, "divisor_override")
        if divisor == 0:
            raise ArgumentError(f"{op}: divisor_override must not be 0")
    else:
        divisor = _divisor(g, flag(count_include_pad, op, "count_include_pad"))
    return AvgPool2d(g, divisor)(x)


def avg_pool2d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,
               ceil_mode: bool = False, count_include_pad: bool = True,
               divisor_override: int | None = None) -> Tensor:
    """2-D average pooling over (N, C, H, W) or (C, H, W), as ``F.avg_pool2d``: each window's
    sum divided by its size, counting the zero padding (``count_include_pad``, the default) or
    only the pixels of the image; ``divisor_override`` divides by that number instead."""
    float_tensor(input, "avg_pool2d")
    return _batched(_avg_pool2d, input, kernel_size, stride, padding, ceil_mode,
                    count_include_pad, divisor_override)


# ============================================================================ adaptive pooling


def _adaptive_sizes(op: str, x: Tensor, output_size: Any) -> tuple[int, int]:
    """The output size (None keeps a dim); the spatial dims must be non-empty."""
    if x.ndim != 4:
        raise ShapeError(f"{op}: expected a 3-D (C, H, W) or 4-D (N, C, H, W) input, got shape "
                         f"{x.shape}")
    if 0 in x.shape[2:]:
        raise ShapeError(f"{op}: expected non-empty spatial dims, got shape {x.shape}")
    items = list(output_size) if isinstance(output_size, (list, tuple)) else [output_size] * 2
    if len(items) != 2:
        raise ArgumentError(f"{op}: output_size must be an int or a pair, got {output_size!r}")
    return tuple(n if s is None else int_arg(s, op, "output_size", 0)
                 for s, n in zip(items, x.shape[2:]))


def _adaptive_avg_pool2d(x: Tensor, output_size) -> Tensor:
    OH, OW = _adaptive_sizes("adaptive_avg_pool2d", x, output_size)
    H, W = x.shape[2:]
    if (OH, OW) == (1, 1):   # the global average, a mean: 3.0 -> 0.3 ms at (64, 128, 7, 7)
        from .reduce import mean
        return mean(x, (2, 3), keepdims=True)
    if OH and OW and H % OH == 0 and W % OW == 0:   # equal windows: plain average pooling
        return _avg_pool2d(x, (H // OH, W // OW), None, 0, False, True, None)
    return Resample(2, _area(H, OH))(Resample(3, _area(W, OW))(x))


def adaptive_avg_pool2d(input: Tensor, output_size: Any) -> Tensor:
    """Average pooling to a given output size (an int, a pair, None keeping that dim), as
    ``F.adaptive_avg_pool2d``: output (i, j) averages the rows [floor(i H / OH),
    ceil((i + 1) H / OH)) and the same columns rule."""
    float_tensor(input, "adaptive_avg_pool2d")
    return _batched(_adaptive_avg_pool2d, input, output_size)


def _max_along(values, axis: int, start, end):
    """The max over the windows [start, end) of one axis and the index it came from, with
    PyTorch's rule (value > best or NaN, in order; a window of -inf keeps its first)."""
    xp = backend.get_array_module(values)
    taps = window_taps(start, end, values.shape[axis], fill="last")
    index = backend.to_device(taps.index, backend.device_of(values))
    shape = list(values.shape)
    shape[axis] = taps.n_out
    along = (-1,) + (1,) * (values.ndim - axis - 1)
    lowest = -np.inf if values.dtype.kind == "f" else np.iinfo(values.dtype).min
    best = xp.full(shape, lowest, dtype=values.dtype)
    chosen = xp.empty(shape, dtype=np.int64)
    chosen[...] = index[0].reshape(along)
    for t in range(index.shape[0]):
        v = xp.take(values, index[t], axis=axis)
        take = v > best
        take |= xp.isnan(v)
        xp.copyto(best, v, where=take)
        xp.copyto(chosen, xp.broadcast_to(index[t].reshape(along), shape), where=take)
    return best, chosen


def _adaptive_max_pool2d(x: Tensor, output_size, return_indices: bool):
    op = "adaptive_max_pool2d"
    OH, OW = _adaptive_sizes(op, x, output_size)
    H, W = x.shape[2:]
    planes = []

    def find(data):
        xp = backend.get_array_module(data)
        # the max of a rectangle is the max over its rows of each row's max (the first row
        # holding the maximum, and that row's first: PyTorch's row-major first maximum)
        row_best, row_w = _max_along(data, 3, *adaptive_windows(W, OW))   # (N, C, H, OW)
        best, h = _max_along(row_best, 2, *adaptive_windows(H, OH))       # (N, C, OH, OW)
        w = xp.take_along_axis(row_w, h, axis=2)
        plane = h * W + w
        planes.append(plane)
        return (best, *_flat_positions(plane, data.shape))
    y = MaxPool(find, op)(x)
    return (y, Tensor._wrap(planes[0])) if return_indices else y


def adaptive_max_pool2d(input: Tensor, output_size: Any, return_indices: bool = False):
    """Max pooling to a given output size over the windows of ``adaptive_avg_pool2d``, as
    ``F.adaptive_max_pool2d``; ``return_indices`` as in ``max_pool2d``."""
    op = "adaptive_max_pool2d"
    float_tensor(input, op)                          # PyTorch has no integer kernel for it
    if input.ndim == 4 and input.shape[1] == 0:      # PyTorch's rule (its average pool allows it)
        raise ShapeError(f"{op}: expected a non-empty channel dim, got shape {input.shape}")
    return _batched(_adaptive_max_pool2d, input, output_size,
                    flag(return_indices, "adaptive_max_pool2d", "return_indices"))
