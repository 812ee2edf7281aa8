"""2-D (and 1-D) convolution and transposed convolution, with gradients of every order.

Notation
--------
    N        batch size
    C        channels of the convolution's input (the big image); G groups, Cg = C / G
    OC       channels of the convolution's output; OCg = OC / G
    H, W     height and width of the input;  OH, OW  of the output
    KH, KW   kernel height and width
    S        stride, P padding (both sides), D dilation (each a (height, width) pair)
    Hp, Wp   padded input size: H + 2P, W + 2P
    L        N * OH * OW, the number of output positions

    OH = (H + 2P - D (KH - 1) - 1) // S + 1                    (same for OW)

Three Functions do all the work, and each one's backward is made of the three again, so
gradients of any order come for free (a gradient penalty through convolutions trains):

    Conv2d            y = conv(x, w) + b          x (N, C, H, W), w (OC, Cg, KH, KW)
    ConvTranspose2d   x = conv^T(y, w) + b        the adjoint of conv in x: d<conv(x, w), g>/dx
    Conv2dGradWeight  gw = d<conv(x, w), gy>/dw  (linear in x and in gy)

Derivatives (conv is bilinear in x and w):

    Conv2d:           gx = conv^T(gy, w)          gw = gradweight(x, gy)     gb = sum gy
    ConvTranspose2d:  gy = conv(gx, w)            gw = gradweight(gx, y)     gb = sum gx
    Conv2dGradWeight: gx = conv^T(gy, ggw)        ggy = conv(x, ggw)

How: ``_im2col`` turns the padded input into columns cols (L, KH*KW*C) (one row per output
position) through a strided view that one copy makes contiguous, so conv is one GEMM
cols @ w^T (per group: a batched GEMM). ``_col2im`` is its adjoint: it adds columns back
into an image with one strided ``+=`` per kernel offset (KH*KW of them, no scatter-add; for a
strided convolution the offsets of one shift go in one ``+=``, see ``_col2im_phases``).

Layout: images are handled channels-last in memory (N, H, W, C), shown to the user as an
(N, C, H, W) view, because that is what the GEMMs read and write: a conv's output is the
GEMM result itself (no transpose copy), element-wise ops keep the layout, so the next conv
and the gradient coming back read it without a copy, and with C innermost every copy in
im2col / col2im moves runs of C (or KW*C) contiguous floats instead of a few pixels.
A plain NCHW input costs one transpose copy (folded into the padding copy).
"""
from __future__ import annotations

from typing import Any, NamedTuple, Sequence

from .. import backend
from ..autograd import Function, Tensor
from ..errors import ArgumentError, DTypeError, ShapeError
from ..reference import conv as reference
from ..reference.switch import reference_kernels_enabled
from .args import choice, int_arg, int_tuple


# ============================================================================ geometry

# below this many output channels a strided transposed conv takes
# ``_conv_transpose_few_channels`` (the channels-last adds would move runs of 2C floats)
FEW_CHANNELS = 16


class _Geometry(NamedTuple):
    """The sizes and hyper-parameters of one convolution x (N, C, H, W) -> y (N, OC, OH, OW);
    the batch and channel counts come from the arrays."""
    H: int
    W: int
    OH: int
    OW: int
    KH: int
    KW: int
    S: tuple
    P: tuple
    D: tuple
    G: int


def _conv_out(size: int, k: int, s: int, p: int, d: int) -> int:
    return (size + 2 * p - d * (k - 1) - 1) // s + 1


# ============================================================================ layouts


def _rows(a):
    """(N, C, H, W) -> (N*H*W, C), one row per pixel: free when ``a`` is channels-last in
    memory (as every conv output is), one transpose copy otherwise. Always contiguous: a
    broadcast gradient (zero strides, from ``sum()``) would send BLAS to a slow path."""
    N, C, H, W = a.shape
    xp = backend.get_array_module(a)
    return xp.ascontiguousarray(a.transpose(0, 2, 3, 1).reshape(N * H * W, C))


def _image(rows, N: int, H: int, W: int):
    """(N*H*W, C) -> an (N, C, H, W) view of the same (channels-last) memory."""
    return rows.reshape(N, H, W, -1).transpose(0, 3, 1, 2)


def _grouped(m, G: int):
    """(L, G*k) -> (G, L, k) view: the columns of each group."""
    return m.reshape(m.shape[0], G, -1).transpose(1, 0, 2)


def _ungrouped(m):
    """(G, L, k) -> (L, G*k)."""
    G, L, k = m.shape
    return m[0] if G == 1 else m.transpose(1, 0, 2).reshape(L, G * k)


def _matmul(a, b):
    """Batched GEMM over groups (G, m, k) @ (G, k, n); a plain 2-D GEMM when G == 1."""
    xp = backend.get_array_module(a)
    if a.shape[0] == 1:
        return xp.matmul(a[0], b[0])[None]
    return xp.matmul(a, b)


def _weight_matrix(w, G: int):
    """w (OC, Cg, KH, KW) -> (G, OCg, KH*KW*Cg), columns ordered like the im2col columns."""
    OC, Cg, KH, KW = w.shape
    m = w.reshape(G, OC // G, Cg, KH, KW).transpose(0, 1, 3, 4, 2).reshape(G, OC // G, -1)
    return backend.get_array_module(w).ascontiguousarray(m)


def _weight_from_matrix(m, Cg: int, KH: int, KW: int):
    """Inverse of ``_weight_matrix``: (G, OCg, KH*KW*Cg) -> (OC, Cg, KH, KW), contiguous."""
    G, OCg = m.shape[:2]
    w = m.reshape(G, OCg, KH, KW, Cg).transpose(0, 1, 4, 2, 3).reshape(G * OCg, Cg, KH, KW)
    return backend.get_array_module(m).ascontiguousarray(w)


def _add_bias(y, b):
    """y += b per channel. A channels-last y with few channels (an RGB image) is added to as
    rows of W*C floats against the bias tiled W times: the same sums, but NumPy's broadcast
    add over runs of C = 3 floats was slow ((64, 3, 32, 32), one thread: 0.53 -> ~0.1 ms)."""
    if b is None:
        return y
    N, C, H, W = y.shape
    rows = y.transpose(0, 2, 3, 1)
    if C < 16 and rows.flags.c_contiguous:
        xp = backend.get_array_module(y)
        rows.reshape(N * H, W * C)[...] += xp.tile(b, W)
    else:
        y += b.reshape(1, -1, 1, 1)
    return y


# ============================================================================ im2col / col2im


def _im2col(x, g: _Geometry):
    """x (N, C, H, W) -> cols (L, G*KH*KW*Cg): row (n, oh, ow) holds the window
    x[n, c, oh*S + kh*D - P, ow*S + kw*D - P] ordered (group, kh, kw, cg).

    A strided view of the padded channels-last input (no copy) made contiguous by one copy;
    with channels last each window row is KW*Cg contiguous floats (D = 1). The copies are
    split over the batch between threads on a multi-core CPU (``backend.run_in_parts``)."""
    xp = backend.get_array_module(x)
    N, C, H, W = x.shape
    (ph, pw), (S_h, S_w), (D_h, D_w) = g.P, g.S, g.D
    if C == 1:
        return _im2col_single_channel(x, g)
    xt = x.transpose(0, 2, 3, 1)                                   # (N, H, W, C)
    if ph or pw:
        xpad = xp.empty((N, H + 2 * ph, W + 2 * pw, C), dtype=x.dtype)

        def pad(part):  # zero only the border: the interior is overwritten anyway
            xpad[part, :ph] = 0
            xpad[part, ph + H:] = 0
            xpad[part, ph:ph + H, :pw] = 0
            xpad[part, ph:ph + H, pw + W:] = 0
            xpad[part, ph:ph + H, pw:pw + W] = xt[part]
        backend.run_in_parts(pad, N, x.size, x)
    else:
        xpad = xt
    sn, sh, sw, sc = xpad.strides
    Cg = C // g.G
    view = xp.lib.stride_tricks.as_strided(
        xpad, shape=(N, g.OH, g.OW, g.G, g.KH, g.KW, Cg),
        strides=(sn, sh * S_h, sw * S_w, sc * Cg, sh * D_h, sw * D_w, sc))
    cols = xp.empty(view.shape, dtype=x.dtype)

    def copy(part):
        cols[part] = view[part]
    backend.run_in_parts(copy, N, cols.size, x)
    return cols.reshape(N * g.OH * g.OW, -1)


def _im2col_single_channel(x, g: _Geometry):
    """``_im2col`` for one input channel (an MNIST image): the window rows would be runs of
    KW floats, so instead copy one strided slice per kernel offset into an offset-major
    (KH*KW, L) array and return its transpose, a (L, KH*KW) view that the GEMMs read as it
    is (BLAS takes transposed operands). im2col of (128, 1, 28, 28), k5 s2: 1.5 -> 0.8 ms."""
    xp = backend.get_array_module(x)
    N, _, H, W = x.shape
    (ph, pw), (S_h, S_w), (D_h, D_w) = g.P, g.S, g.D
    xpad = xp.zeros((N, H + 2 * ph, W + 2 * pw), dtype=x.dtype)
    xpad[:, ph:ph + H, pw:pw + W] = x[:, 0]
    cols_t = xp.empty((g.KH, g.KW, N, g.OH, g.OW), dtype=x.dtype)
    h_span, w_span = S_h * (g.OH - 1) + 1, S_w * (g.OW - 1) + 1
    for kh in range(g.KH):
        for kw in range(g.KW):
            h0, w0 = kh * D_h, kw * D_w
            cols_t[kh, kw] = xpad[:, h0:h0 + h_span:S_h, w0:w0 + w_span:S_w]
    return cols_t.reshape(g.KH * g.KW, -1).T


def _valid_taps(k: int, size: int, out: int, s: int, p: int, d: int) -> tuple:
    """For kernel offset ``k``: the output positions o whose input o*s + k*d - p lies inside
    [0, size), as (first o, count, first input index)."""
    lo = max(0, -(-(p - k * d) // s))                     # ceil((p - k d) / s)
    hi = min(out - 1, (size - 1 + p - k * d) // s)
    return lo, max(0, hi - lo + 1), lo * s + k * d - p


def _kernel_offsets(g: _Geometry) -> list:
    """For each kernel offset (kh, kw) whose taps reach the image: (kh, kw, out, inp), where
    ``out`` = (rows, cols) slices of the output positions it serves and ``inp`` = the strided
    (rows, cols) slices of the input pixels they read, x[oh*S + kh*D - P, ow*S + kw*D - P].
    col2im adds along these; pooling (ops/pool.py) takes maxima and sums along them."""
    (S_h, S_w), (P_h, P_w), (D_h, D_w) = g.S, g.P, g.D
    rows = [_valid_taps(kh, g.H, g.OH, S_h, P_h, D_h) for kh in range(g.KH)]
    columns = [_valid_taps(kw, g.W, g.OW, S_w, P_w, D_w) for kw in range(g.KW)]
    return [(kh, kw, (slice(oh, oh + nh), slice(ow, ow + nw)),
             (slice(h0, h0 + (nh - 1) * S_h + 1, S_h), slice(w0, w0 + (nw - 1) * S_w + 1, S_w)))
            for kh, (oh, nh, h0) in enumerate(rows)
            for kw, (ow, nw, w0) in enumerate(columns) if nh and nw]


def _col2im(cols, N: int, C: int, g: _Geometry):
    """Adjoint of ``_im2col``: cols (L, G*KH*KW*Cg) -> x (N, C, H, W) (channels-last view).

    x[n, c, oh*S + kh*D - P, ow*S + kw*D - P] += cols[(n, oh, ow), (kh, kw, c)], one strided
    ``+=`` per kernel offset (KH*KW of them: overlaps add up, no scatter-add; each one
    moves rows of C contiguous floats), each limited to the output positions whose input
    falls inside the image, so the result is a dense channels-last array (no padded buffer
    to crop, which would leave a layout batch norm and the next conv must copy). Images of
    the batch do not overlap, so threads may take a part of the batch each."""
    xp = backend.get_array_module(cols)
    G, Cg = g.G, C // g.G
    offsets = _kernel_offsets(g)
    if C == 1:
        return _col2im_single_channel(cols, N, g, offsets)
    if _phases_apply(g):
        return _col2im_phases(cols, N, C, g)
    c7 = cols.reshape(N, g.OH, g.OW, G, g.KH, g.KW, Cg)
    out = xp.zeros((N, g.H, g.W, G, Cg), dtype=cols.dtype)

    def add(part):
        o, c = out[part], c7[part]
        for kh, kw, (oh, ow), (ih, iw) in offsets:
            o[:, ih, iw] += c[:, oh, ow, :, kh, kw]
    backend.run_in_parts(add, N, cols.size, cols)
    return out.reshape(N, g.H, g.W, C).transpose(0, 3, 1, 2)


def _phase_groups(K: int, S: int, P: int, O: int, Q: int) -> list:
    """Kernel offsets k grouped by how far they shift: k - P = S q + a (0 <= a < S) sends
    output position o to input row S (o + q) + a, i.e. row i = o + q of phase a. Offsets with
    one q are consecutive in k and in a, so a group is one slice of each. Returns, per q whose
    taps reach the image, (rows i, phases a, positions o = i - q, offsets k) as slices, for an
    image of Q = size / S rows per phase."""
    by_shift: dict = {}
    for k in range(K):
        q, a = divmod(k - P, S)
        by_shift.setdefault(q, []).append((k, a))
    found = []
    for q, taps in sorted(by_shift.items()):
        (k0, a0), n = taps[0], len(taps)
        lo, hi = max(0, q), min(Q, O + q)
        if hi > lo:
            found.append((slice(lo, hi), slice(a0, a0 + n), slice(lo - q, hi - q),
                          slice(k0, k0 + n)))
    return found


def _col2im_phases(cols, N: int, C: int, g: _Geometry):
    """``_col2im`` for a strided convolution (dilation 1, sizes divisible by the stride) with
    fewer, longer adds: the image (N, H, W, C) is viewed as (N, H/S, S, W/S, S, C), rows
    h = S i + a of phase a, and every kernel offset with the same shift q (k - P = S q + a)
    lands on a different phase of the same rows i = o + q, so one strided ``+=`` adds them
    all. Same sums in the same order as the per-offset adds (bit-identical), in
    (#shifts)^2 adds instead of KH*KW: 9 instead of 16 for the DCGAN k4 s2 p1 upsampler,
    each moving runs of 2C floats where it can (measured, one thread: (64, 64, 8, 8) ->
    (64, 32, 16, 16) 5.3 -> 4.2 ms; to 3 channels, (64, 32, 16, 16) -> (64, 3, 32, 32)
    6.0 -> 3.7 ms)."""
    xp = backend.get_array_module(cols)
    (S_h, S_w), (P_h, P_w), G, Cg = g.S, g.P, g.G, C // g.G
    Hq, Wq = g.H // S_h, g.W // S_w
    # (N, OH, KH, OW, KW, G, Cg): output rows beside their kernel rows, as the phases are
    c = cols.reshape(N, g.OH, g.OW, G, g.KH, g.KW, Cg).transpose(0, 1, 4, 2, 5, 3, 6)
    rows = _phase_groups(g.KH, S_h, P_h, g.OH, Hq)
    columns = _phase_groups(g.KW, S_w, P_w, g.OW, Wq)
    out = xp.zeros((N, Hq, S_h, Wq, S_w, G, Cg), dtype=cols.dtype)

    def add(part):
        o, cp = out[part], c[part]
        for i, a, oh, kh in rows:
            for j, b, ow, kw in columns:
                o[:, i, a, j, b] += cp[:, oh, kh, ow, kw]
    backend.run_in_parts(add, N, cols.size, cols)
    return out.reshape(N, g.H, g.W, C).transpose(0, 3, 1, 2)


def _phases_apply(g: _Geometry) -> bool:
    """Whether a strided convolution's image splits into phases (``_col2im_phases``):
    dilation 1, a stride above 1, sizes divisible by it."""
    return g.D == (1, 1) and g.S != (1, 1) and g.H % g.S[0] == 0 and g.W % g.S[1] == 0


def _conv_transpose_few_channels(y, w, g: _Geometry):
    """conv^T(y, w) for an image of few channels C (an RGB image: G's last layer, and the
    gradient of D's first conv), groups 1, where ``_col2im_phases`` would move runs of only
    2C floats. Returns a dense NCHW (N, C, H, W) array, no bias.

    The phases of ``_col2im_phases`` (k - P = S q + a: offset k feeds row S (o + q) + a), in
    a frame: y is padded by m = max |q| on each side to F_h x F_w pixels, so a shift (q_h,
    q_w) moves a pixel by d = q_h F_w + q_w in the flattened frame, and the GEMM gives one
    offset-major column block per kernel offset, per[(kh, kw, c), f] = sum_oc w[oc, c, kh,
    kw] ypad[f, oc] (zero wherever ypad is padding). Then each offset is one contiguous add
    of C planes over the whole batch,

        phase[a_h, a_w, c, f + d] += per[(kh, kw, c), f]      (d = q_h F_w + q_w)

    and the image is read from the phases' valid pixels (what lands in the margins came
    from padding or falls outside the image). Measured, one thread, (64, 32, 16, 16) -> (64, 3, 32, 32), k4 s2 p1: GEMM + col2im
    ~7.5 ms -> ~4 ms."""
    xp = backend.get_array_module(y)
    N, OC, OH, OW = y.shape
    C = w.shape[1]
    (S_h, S_w), (P_h, P_w) = g.S, g.P
    Hq, Wq = g.H // S_h, g.W // S_w
    shifts_h = [divmod(k - P_h, S_h) for k in range(g.KH)]       # (q, a) of each kernel row
    shifts_w = [divmod(k - P_w, S_w) for k in range(g.KW)]
    m = max(abs(q) for q, _ in shifts_h + shifts_w)
    Fh, Fw = max(OH, Hq) + 2 * m, max(OW, Wq) + 2 * m
    F = N * Fh * Fw
    ypad = xp.zeros((N, Fh, Fw, OC), dtype=y.dtype)
    ypad[:, m:m + OH, m:m + OW] = y.transpose(0, 2, 3, 1)
    wm = _weight_matrix(w, 1)[0]                                       # (C, KH*KW*C) rows
    per = xp.matmul(wm.T, ypad.reshape(F, OC).T).reshape(g.KH, g.KW, C, F)
    phase = xp.zeros((S_h, S_w, C, F), dtype=y.dtype)
    adds = [(a_h, a_w, kh, kw, q_h * Fw + q_w)
            for kh, (q_h, a_h) in enumerate(shifts_h) for kw, (q_w, a_w) in enumerate(shifts_w)]

    def add(part):  # part: a range of the frame's destination pixels (disjoint writes)
        for a_h, a_w, kh, kw, d in adds:
            lo, hi = max(part.start, d), min(part.stop, F + d)
            if hi > lo:
                phase[a_h, a_w, :, lo:hi] += per[kh, kw, :, lo - d:hi - d]
    backend.run_in_parts(add, F, per.size, y)
    valid = phase.reshape(S_h, S_w, C, N, Fh, Fw)[..., m:m + Hq, m:m + Wq]
    x = xp.empty((N, C, Hq, S_h, Wq, S_w), dtype=y.dtype)
    for a_h in range(S_h):
        for a_w in range(S_w):
            x[:, :, :, a_h, :, a_w] = valid[a_h, a_w].transpose(1, 0, 2, 3)
    return x.reshape(N, C, g.H, g.W)


def _col2im_single_channel(cols, N: int, g: _Geometry, offsets: list):
    """``_col2im`` for one output channel: the per-offset rows of ``cols.T`` (contiguous
    when the caller's GEMM wrote the offset-major (KH*KW, L) array, see ConvTranspose2d)
    are added into strided windows of the image, runs of OW floats instead of single ones.
    (128, 25) -> (128, 1, 28, 28), k5 s2: ~4x faster than the channels-last adds."""
    xp = backend.get_array_module(cols)
    per_offset = cols.T.reshape(g.KH, g.KW, N, g.OH, g.OW)
    out = xp.zeros((N, g.H, g.W), dtype=cols.dtype)
    for kh, kw, (oh, ow), (ih, iw) in offsets:
        out[:, ih, iw] += per_offset[kh, kw, :, oh, ow]
    return out[:, None]


# ============================================================================ Conv2d


class Conv2d(Function):
    """y = conv(x, w) + b: one im2col and one GEMM cols (L, KH*KW*Cg) @ w^T per group."""

    def __init__(self, g: _Geometry, keep_cols: bool = False) -> None:
        self.g, self.keep_cols, self.cols = g, keep_cols, None

    @property
    def name(self) -> str:
        return "conv2d"

    def forward(self, x, w, b=None):
        g = self.g
        cols = _im2col(x, g)                                         # (L, G*Kg)
        if self.keep_cols:  # for the weight gradient (saves a second im2col)
            self.cols = cols
        wm = _weight_matrix(w, g.G)                                  # (G, OCg, Kg)
        y = _ungrouped(_matmul(_grouped(cols, g.G), wm.transpose(0, 2, 1)))  # (L, OC)
        return _add_bias(_image(y, x.shape[0], g.OH, g.OW), b)

    def backward(self, gy):
        x, w = self.inputs[:2]
        need = self.needs_input_grad
        g = self.g
        gy_rows = _rows(gy.data) if need[0] or need[1] else None  # shared by both
        # the weight gradient first: it frees the forward's im2col columns (40 MB for D's
        # second conv at batch 128) before the input gradient's GEMM makes as many again
        cols, self.cols = self.cols, None
        gw = Conv2dGradWeight(g, cols, gy_rows)(x, gy) if need[1] else None
        del cols
        gx = ConvTranspose2d(g, gy_rows)(gy, w) if need[0] else None
        gb = gy.sum(axis=(0, 2, 3)) if len(need) > 2 and need[2] else None
        return (gx, gw) if len(need) == 2 else (gx, gw, gb)


# ============================================================================ ConvTranspose2d


class ConvTranspose2d(Function):
    """x = conv^T(y, w) + b, the adjoint of Conv2d in its input: one GEMM
    y (L, OCg) @ w (OCg, KH*KW*Cg) per group, then col2im. ``g`` describes the convolution
    x -> y, so here the input is (N, OC, OH, OW) and the output (N, C, H, W).
    ``y_rows`` is an optional precomputed ``_rows(y)``."""

    def __init__(self, g: _Geometry, y_rows=None) -> None:
        self.g, self.y_rows = g, y_rows

    @property
    def name(self) -> str:
        return "conv_transpose2d"

    def forward(self, y, w, b=None):
        g = self.g
        y_rows = self.y_rows if self.y_rows is not None else _rows(y)  # (L, OC)
        self.y_rows = y_rows  # kept for the weight gradient
        C = w.shape[1] * g.G
        if g.G == 1 and 1 < C < FEW_CHANNELS and _phases_apply(g):
            return _add_bias(_conv_transpose_few_channels(y, w, g), b)
        if C == 1:  # offset-major columns: (KH*KW, L) = wm^T y_rows^T, given as its transpose
            cols = backend.get_array_module(y).matmul(_weight_matrix(w, 1)[0].T, y_rows.T).T
        else:
            cols = _ungrouped(_matmul(_grouped(y_rows, g.G), _weight_matrix(w, g.G)))
        return _add_bias(_col2im(cols, y.shape[0], C, g), b)

    def backward(self, gx):
        y, w = self.inputs[:2]
        need = self.needs_input_grad
        g = self.g
        conv = Conv2d(g, keep_cols=need[1])
        gy = conv(gx, w) if need[0] else None
        gw = Conv2dGradWeight(g, conv.cols, self.y_rows)(gx, y) if need[1] else None
        conv.cols = None
        gb = gx.sum(axis=(0, 2, 3)) if len(need) > 2 and need[2] else None
        self.y_rows = None
        return (gy, gw) if len(need) == 2 else (gy, gw, gb)


# ============================================================================ Conv2dGradWeight


class Conv2dGradWeight(Function):
    """gw = d<conv(x, w), gy>/dw = gy^T (OCg, L) @ cols(x) (L, Kg) per group, as (OC, Cg, KH, KW).

    ``cols`` and ``gy_rows`` are optional precomputed ``_im2col(x)`` and ``_rows(gy)``
    (the caller often has them already); they are used once and dropped."""

    def __init__(self, g: _Geometry, cols=None, gy_rows=None) -> None:
        self.g, self.cols, self.gy_rows = g, cols, gy_rows

    @property
    def name(self) -> str:
        return "conv2d_grad_weight"

    def forward(self, x, gy):
        g = self.g
        cols = self.cols if self.cols is not None else _im2col(x, g)
        gy_rows = self.gy_rows if self.gy_rows is not None else _rows(gy)
        self.cols = self.gy_rows = None
        gy_g, cols_g = _grouped(gy_rows, g.G), _grouped(cols, g.G)
        if cols.shape[1] >= gy_rows.shape[1]:  # BLAS splits M best: make the larger side M
            gwm = _matmul(cols_g.transpose(0, 2, 1), gy_g).transpose(0, 2, 1)
        else:
            gwm = _matmul(gy_g.transpose(0, 2, 1), cols_g)            # (G, OCg, Kg)
        return _weight_from_matrix(gwm, x.shape[1] // g.G, g.KH, g.KW)

    def backward(self, ggw):
        x, gy = self.inputs
        need = self.needs_input_grad
        gx = ConvTranspose2d(self.g)(gy, ggw) if need[0] else None
        ggy = Conv2d(self.g)(x, ggw) if need[1] else None
        return gx, ggy


# ============================================================================ public API
#
# conv2d / conv_transpose2d take (N, C, H, W); conv1d / conv_transpose1d take (N, C, L) and
# run the same kernels on a (N, C, 1, L) image with a (OC, Cg, 1, K) weight: one
# implementation, a length-1 height (``dims`` below is the number of spatial dims, 1 or 2).

_LAYOUT = {1: "(N, C, L)", 2: "(N, C, H, W)"}
_AXES = {1: ("length",), 2: ("height", "width")}


def _check_tensors(op: str, x: Tensor, w: Tensor, b: Tensor | None, dims: int) -> None:
    if not isinstance(x, Tensor) or not isinstance(w, Tensor):
        raise DTypeError(f"{op}: input and weight must be Tensors, got "
                         f"{type(x).__name__} and {type(w).__name__}")
    if x.dtype.kind != "f" or w.dtype.kind != "f":
        raise DTypeError(f"{op}: input and weight must be floating point, got {x.dtype} and "
                         f"{w.dtype}")
    if w.ndim != dims + 2:
        raise ShapeError(f"{op}: weight must be {dims + 2}-D, got shape {w.shape}")
    if x.ndim != dims + 2:
        raise ShapeError(f"{op}: expected a {dims + 2}-D input {_LAYOUT[dims]} or {dims + 1}-D "
                         f"{_LAYOUT[dims].replace('N, ', '')}, got shape {x.shape}")
    if b is not None and (not isinstance(b, Tensor) or b.ndim != 1):
        raise ShapeError(f"{op}: bias must be a 1-D Tensor, got "
                         f"{b.shape if isinstance(b, Tensor) else type(b).__name__}")


def _check_groups(op: str, groups, in_ch: int, out_ch: int, x: Tensor, w: Tensor) -> int:
    groups = int_arg(groups, op, "groups")
    if groups < 1:
        raise ArgumentError(f"{op}: groups must be a positive int, got {groups}")
    if in_ch % groups or out_ch % groups:
        raise ShapeError(f"{op}: groups={groups} must divide both the input channels ({in_ch}) "
                         f"and the output channels ({out_ch}); input {x.shape}, weight {w.shape}")
    return groups


def same_padding(kernel_size: Sequence[int], dilation: Sequence[int]) -> list[tuple[int, int]]:
    """padding='same' per spatial dim, as PyTorch: D (K - 1) in all, the odd one at the end."""
    return [(d * (k - 1) // 2, d * (k - 1) - d * (k - 1) // 2)
            for k, d in zip(kernel_size, dilation)]


def _padding(op: str, padding: Any, dims: int, K: tuple, S: tuple, D: tuple) -> list:
    """(before, after) per spatial dim, from an int, a tuple, 'valid' or 'same'."""
    if isinstance(padding, str):
        choice(padding, ("valid", "same"), op, "padding")
        if padding == "valid":
            return [(0, 0)] * dims
        if any(s != 1 for s in S):
            raise ArgumentError(f"{op}: padding='same' is not supported for strided "
                                f"convolutions (stride {S})")
        return same_padding(K, D)
    return [(p, p) for p in int_tuple(padding, dims, op, "padding", 0)]


def _as_image(x: Tensor, w: Tensor):
    """(N, C, L) and (OC, Cg, K) as (N, C, 1, L) and (OC, Cg, 1, K)."""
    from .shape import reshape
    return (reshape(x, x.shape[:2] + (1,) + x.shape[2:]),
            reshape(w, w.shape[:2] + (1,) + w.shape[2:]))


def _unbatched(x: Tensor, dims: int) -> bool:
    """PyTorch accepts (C, H, W) / (C, L) as a batch of one."""
    return isinstance(x, Tensor) and x.ndim == dims + 1


def _as_batch_of_one(fn, x: Tensor, *args, **kwargs) -> Tensor:
    from .shape import reshape
    y = fn(reshape(x, (1,) + x.shape), *args, **kwargs)
    return reshape(y, y.shape[1:])


def _call(fn: Function, x: Tensor, w: Tensor, b: Tensor | None) -> Tensor:
    return fn(x, w) if b is None else fn(x, w, b)


def _conv(op: str, dims: int, x: Tensor, w: Tensor, b: Tensor | None, stride: Any,
          padding: Any, dilation: Any, groups: Any) -> Tensor:
    """conv1d / conv2d: checks, then the Conv2d Function."""
    if _unbatched(x, dims):
        return _as_batch_of_one(lambda x: _conv(op, dims, x, w, b, stride, padding, dilation,
                                                groups), x)
    _check_tensors(op, x, w, b, dims)
    S, D = int_tuple(stride, dims, op, "stride", 1), int_tuple(dilation, dims, op, "dilation", 1)
    K = w.shape[2:]
    pads = _padding(op, padding, dims, K, S, D)
    C, OC, Cg = x.shape[1], w.shape[0], w.shape[1]
    G = _check_groups(op, groups, C, OC, x, w)
    if C != Cg * G:
        raise ShapeError(f"{op}: input of shape {x.shape} has {C} channels but weight {w.shape} "
                         f"expects {Cg * G}" + (f" ({Cg} per group x {G} groups)" if G > 1 else ""))
    if b is not None and b.shape != (OC,):
        raise ShapeError(f"{op}: bias of shape {b.shape} does not match the {OC} output "
                         f"channels of weight {w.shape}")
    for k, size, (p, extra), d, axis in zip(K, x.shape[2:], pads, D, _AXES[dims]):
        if d * (k - 1) + 1 > size + p + extra:
            raise ShapeError(f"{op}: kernel {w.shape} (dilation {D}) spans {d * (k - 1) + 1} in "
                             f"{axis}, more than the padded input ({size} + 2*{p}) of input "
                             f"{x.shape}")
    if any(before != after for before, after in pads):  # 'same' with an even span: pad the end
        from .padding import pad
        x = pad(x, [n for before, after in reversed(pads) for n in (0, after - before)])
    P = tuple(before for before, _ in pads)
    if dims == 1:
        x, w = _as_image(x, w)
        S, P, D = (1,) + S, (0,) + P, (1,) + D
    if reference_kernels_enabled():  # mg.use_reference_kernels(): the loops of reference/conv.py
        y = reference.conv2d(x, w, b, S, P, D, G)
    else:
        H, W = x.shape[2:]
        KH, KW = w.shape[2:]
        g = _Geometry(H, W, _conv_out(H, KH, S[0], P[0], D[0]),
                      _conv_out(W, KW, S[1], P[1], D[1]), KH, KW, S, P, D, G)
        y = _call(Conv2d(g, keep_cols=w.requires_grad), x, w, b)
    return y if dims == 2 else y.reshape(y.shape[:2] + y.shape[3:])


def conv2d(x: Tensor, w: Tensor, b: Tensor | None = None, stride: int | Sequence[int] = 1,
           padding: int | Sequence[int] | str = 0, dilation: int | Sequence[int] = 1,
           groups: int = 1) -> Tensor:
    """2-D convolution (cross-correlation, as PyTorch), NCHW.

    x (N, C, H, W) or (C, H, W); w (OC, C / groups, KH, KW); b (OC,) or None. ``stride``,
    ``padding`` and ``dilation`` are an int or an (h, w) pair; ``padding`` may also be
    'valid' (none) or 'same' (output size = input size, stride 1; an odd total goes to the
    bottom / right, as PyTorch). Returns (N, OC, OH, OW) with
    OH = (H + 2P - D (KH - 1) - 1) // S + 1.

    >>> import minigan as mg, minigan.functional as F
    >>> F.conv2d(mg.ones(1, 1, 4, 4), mg.ones(1, 1, 3, 3), padding=1)[0, 0, 0].numpy()
    array([4., 6., 6., 4.], dtype=float32)
    """
    return _conv("conv2d", 2, x, w, b, stride, padding, dilation, groups)


def conv1d(x: Tensor, w: Tensor, b: Tensor | None = None, stride: int | Sequence[int] = 1,
           padding: int | Sequence[int] | str = 0, dilation: int | Sequence[int] = 1,
           groups: int = 1) -> Tensor:
    """1-D convolution (cross-correlation) over (N, C, L) or (C, L), as ``F.conv1d``:
    w (OC, C / groups, K), b (OC,) or None; ``padding`` an int, 'valid' or 'same'. Output
    length (L + 2P - D (K - 1) - 1) // S + 1. It is conv2d's kernel on a height-1 image.

    >>> import minigan as mg, minigan.functional as F
    >>> F.conv1d(mg.ones(1, 1, 4), mg.ones(1, 1, 3), padding=1).numpy()
    array([[[2., 3., 3., 2.]]], dtype=float32)
    """
    return _conv("conv1d", 1, x, w, b, stride, padding, dilation, groups)


def _conv_transpose(op: str, dims: int, x: Tensor, w: Tensor, b: Tensor | None, stride: Any,
                    padding: Any, output_padding: Any, dilation: Any, groups: Any) -> Tensor:
    """conv_transpose1d / conv_transpose2d: checks, then the ConvTranspose2d Function."""
    if _unbatched(x, dims):
        return _as_batch_of_one(lambda x: _conv_transpose(
            op, dims, x, w, b, stride, padding, output_padding, dilation, groups), x)
    _check_tensors(op, x, w, b, dims)
    S, D = int_tuple(stride, dims, op, "stride", 1), int_tuple(dilation, dims, op, "dilation", 1)
    P = int_tuple(padding, dims, op, "padding", 0)
    OP = int_tuple(output_padding, dims, op, "output_padding", 0)
    C, Cw, OCg = x.shape[1], w.shape[0], w.shape[1]
    G = _check_groups(op, groups, Cw, OCg * int_arg(groups, op, "groups"), x, w)
    if C != Cw:
        raise ShapeError(f"{op}: input of shape {x.shape} has {C} channels but weight {w.shape} "
                         f"expects {Cw}")
    if b is not None and b.shape != (OCg * G,):
        raise ShapeError(f"{op}: bias of shape {b.shape} does not match the {OCg * G} output "
                         f"channels of weight {w.shape} with groups={G}")
    for o, s, d, axis in zip(OP, S, D, _AXES[dims]):
        if o >= max(s, d):
            raise ArgumentError(f"{op}: output_padding {OP} must be smaller than either stride "
                                f"{S} or dilation {D} (in {axis}); input {x.shape}, weight "
                                f"{w.shape}")
    out = tuple((n - 1) * s - 2 * p + d * (k - 1) + o + 1
                for n, s, p, d, k, o in zip(x.shape[2:], S, P, D, w.shape[2:], OP))
    if min(out) < 1:
        raise ShapeError(f"{op}: output size {out} is too small for input {x.shape}, weight "
                         f"{w.shape}, stride {S}, padding {P}, dilation {D}")
    if dims == 1:
        x, w = _as_image(x, w)
        S, P, D, OP, out = (1,) + S, (0,) + P, (1,) + D, (0,) + OP, (1,) + out
    if reference_kernels_enabled():  # mg.use_reference_kernels(): the loops of reference/conv.py
        y = reference.conv_transpose2d(x, w, b, S, P, OP, dilation=D, groups=G)
    else:
        H, W = x.shape[2:]
        # The convolution (N, OC, H_out, W_out) -> (N, C, H, W) whose adjoint this is.
        g = _Geometry(out[0], out[1], H, W, w.shape[2], w.shape[3], S, P, D, G)
        y = _call(ConvTranspose2d(g), x, w, b)
    return y if dims == 2 else y.reshape(y.shape[:2] + y.shape[3:])


def conv_transpose2d(x: Tensor, w: Tensor, b: Tensor | None = None,
                     stride: int | Sequence[int] = 1, padding: int | Sequence[int] = 0,
                     output_padding: int | Sequence[int] = 0, *,
                     dilation: int | Sequence[int] = 1, groups: int = 1) -> Tensor:
    """2-D transposed convolution (the gradient of conv2d in its input), NCHW.

    x (N, C, H, W) or (C, H, W); w (C, OC / groups, KH, KW) (PyTorch's layout); b (OC,).
    Output (N, OC, H_out, W_out) with H_out = (H - 1) S - 2P + D (KH - 1) + OP + 1;
    ``output_padding`` OP (< max(S, D)) picks among the sizes that a stride-S conv maps to H.
    ``dilation`` and ``groups`` are keyword-only: PyTorch orders them groups-then-dilation
    here while conv2d has dilation first, so a positional call could silently swap them.

    >>> import minigan as mg, minigan.functional as F
    >>> F.conv_transpose2d(mg.ones(1, 1, 2, 2), mg.ones(1, 1, 2, 2), stride=2).shape
    (1, 1, 4, 4)
    """
    return _conv_transpose("conv_transpose2d", 2, x, w, b, stride, padding, output_padding,
                           dilation, groups)


def conv_transpose1d(x: Tensor, w: Tensor, b: Tensor | None = None,
                     stride: int | Sequence[int] = 1, padding: int | Sequence[int] = 0,
                     output_padding: int | Sequence[int] = 0, *,
                     dilation: int | Sequence[int] = 1, groups: int = 1) -> Tensor:
    """1-D transposed convolution over (N, C, L) or (C, L), as ``F.conv_transpose1d``:
    w (C, OC / groups, K); output length (L - 1) S - 2P + D (K - 1) + OP + 1 (conv_transpose2d's
    kernel at height 1; ``dilation`` and ``groups`` keyword-only, as there)."""
    return _conv_transpose("conv_transpose1d", 1, x, w, b, stride, padding, output_padding,
                           dilation, groups)
