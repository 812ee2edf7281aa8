"""conv2d and conv_transpose2d the slow obvious way: loops over output positions and kernel
offsets (the batch and the channels of one position are a small einsum). Read this before
the fast kernel (``minigan/ops/conv.py``), which computes the same sums with im2col and GEMMs
on channels-last memory; ``docs/kernels/conv.md`` draws both.

Notation
--------
    N        batch;  C input channels, OC output channels;  G groups, Cg = C / G, OCg = OC / G
    H, W     input height and width;  OH, OW  output height and width
    KH, KW   kernel size;  S stride, P padding, D dilation (each an (h, w) pair)
    xp       x with P zeros added on each side (height and width)

    conv:            OH = (H + 2P - D (KH - 1) - 1) // S + 1
    transposed conv: OH = (H - 1) S - 2P + D (KH - 1) + OP + 1       (OP: output_padding)

Three Functions, and each one's backward is made of the three again, so gradients of every
order work (gradient penalties through convolutions):

    Conv2d            y  = conv(x, w) + b        gx = conv^T(gy, w)       gw = gradweight(x, gy)
    ConvTranspose2d   y  = conv^T(x, w) + b      gx = conv(gy, w)         gw = gradweight(gy, x)
    Conv2dGradWeight  gw = gradweight(x, gy)     gx = conv^T(gy, ggw)     ggy = conv(x, ggw)

conv^T is the adjoint of conv in x: <conv(x, w), g> = <x, conv^T(g, w)> for every x and g,
which is why it is conv's input gradient.
"""
from __future__ import annotations

from typing import Sequence

from .. import backend
from ..autograd import Function, Tensor


def _pair(value) -> tuple:
    return tuple(int(v) for v in value) if isinstance(value, (tuple, list)) else (int(value),) * 2


def _padded_groups(x, padding: tuple, groups: int):
    """xp split into its groups of channels: x (N, C, H, W) with padding[0] zero rows above
    and below and padding[1] zero columns on each side, as (N, G, Cg, H + 2P, W + 2P)."""
    ph, pw = padding
    x_pad = backend.get_array_module(x).pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    N, C, Hp, Wp = x_pad.shape
    return x_pad.reshape(N, groups, C // groups, Hp, Wp)


def conv_output_size(size: int, k: int, s: int, p: int, d: int) -> int:
    """Output length of a convolution: the window positions that fit in size + 2p."""
    return (size + 2 * p - d * (k - 1) - 1) // s + 1


def conv_transpose_output_size(size: int, k: int, s: int, p: int, op: int, d: int) -> int:
    """Output length of a transposed convolution (the conv's input size, plus op)."""
    return (size - 1) * s - 2 * p + d * (k - 1) + op + 1


def _output_padding(in_size: tuple, out_size: tuple, kernel: tuple, stride: tuple,
                    padding: tuple, dilation: tuple) -> tuple:
    """The output_padding that makes conv^T map a conv's output (out_size) back to in_size:
    a stride-S conv maps S input sizes to one output size, and OP says which."""
    return tuple(i - conv_transpose_output_size(o, k, s, p, 0, d) for i, o, k, s, p, d in
                 zip(in_size, out_size, kernel, stride, padding, dilation))


def _taps(w, groups: int):
    """The kernel w (A, B, KH, KW) as one (G, A / G, B) matrix per kernel offset, taps[kh, kw]
    (a contiguous copy: the einsums below read it ~2.5x faster than a strided slice of w)."""
    A, B, KH, KW = w.shape
    xp = backend.get_array_module(w)
    taps = xp.moveaxis(w.reshape(groups, A // groups, B, KH, KW), (3, 4), (0, 1))
    return xp.ascontiguousarray(taps)


def _crop(t: Tensor, size: tuple) -> Tensor:
    """The top-left (H, W) of t (conv^T with a large output_padding reaches further than
    its input covers: those positions get no gradient)."""
    return t if t.shape[2:] == tuple(size) else t[:, :, :size[0], :size[1]]


# ============================================================================ Conv2d


class Conv2d(Function):
    """y = conv2d(x, w) + b: each output pixel is the dot product of the kernel with the
    window of the padded input under it,

        y[n, o, i, j] = b[o] + sum_{c, kh, kw} w[o, c, kh, kw]
                                               xp[n, g Cg + c, i S + kh D, j S + kw D]

    with g = o // OCg the group of output channel o (it sees only its group's Cg channels)."""

    def __init__(self, stride=1, padding=0, dilation=1, groups: int = 1) -> None:
        self.stride, self.padding, self.dilation = _pair(stride), _pair(padding), _pair(dilation)
        self.groups = int(groups)

    @property
    def name(self) -> str:
        return "conv2d"

    def forward(self, x, w, b=None):
        xp = backend.get_array_module(x)
        (sh, sw), (dh, dw), G = self.stride, self.dilation, self.groups
        N, C, H, W = x.shape
        OC, Cg, KH, KW = w.shape
        OH = conv_output_size(H, KH, sh, self.padding[0], dh)
        OW = conv_output_size(W, KW, sw, self.padding[1], dw)
        x_g, taps = _padded_groups(x, self.padding, G), _taps(w, G)   # taps[kh, kw]: (G, OCg, Cg)
        y = xp.zeros((N, G, OC // G, OH, OW), dtype=x.dtype)
        for i in range(OH):
            for j in range(OW):
                for kh in range(KH):
                    for kw in range(KW):
                        pixel = x_g[:, :, :, i * sh + kh * dh, j * sw + kw * dw]     # (N, G, Cg)
                        y[:, :, :, i, j] += xp.einsum("ngc,goc->ngo", pixel, taps[kh, kw])
        y = y.reshape(N, OC, OH, OW)
        return y if b is None else y + b.reshape(1, OC, 1, 1)

    def backward(self, gy):
        x, w = self.inputs[:2]
        need = self.needs_input_grad
        op = _output_padding(x.shape[2:], gy.shape[2:], w.shape[2:], self.stride, self.padding,
                             self.dilation)
        gx = ConvTranspose2d(self.stride, self.padding, op, self.dilation, self.groups)(gy, w) \
            if need[0] else None
        gw = Conv2dGradWeight(w.shape[2:], self.stride, self.padding, self.dilation,
                              self.groups)(x, gy) if need[1] else None
        gb = gy.sum((0, 2, 3)) if len(need) == 3 and need[2] else None
        return (gx, gw) if len(need) == 2 else (gx, gw, gb)


# ============================================================================ ConvTranspose2d


class ConvTranspose2d(Function):
    """y = conv_transpose2d(x, w) + b: each input pixel adds a copy of the kernel, weighted by
    its value, into the output (overlapping copies add up); then P is cropped from each side,

        y_full[n, g OCg + o, i S + kh D, j S + kw D] += x[n, g Cg + c, i, j] w[g Cg + c, o, kh, kw]

    w is (C, OCg, KH, KW), PyTorch's layout: the weight of the conv that this is the adjoint of."""

    def __init__(self, stride=1, padding=0, output_padding=0, dilation=1, groups: int = 1) -> None:
        self.stride, self.padding, self.dilation = _pair(stride), _pair(padding), _pair(dilation)
        self.output_padding, self.groups = _pair(output_padding), int(groups)

    @property
    def name(self) -> str:
        return "conv_transpose2d"

    def forward(self, x, w, b=None):
        xp = backend.get_array_module(x)
        (sh, sw), (ph, pw), (dh, dw), G = self.stride, self.padding, self.dilation, self.groups
        N, C, H, W = x.shape
        _, OCg, KH, KW = w.shape
        OH = conv_transpose_output_size(H, KH, sh, ph, self.output_padding[0], dh)
        OW = conv_transpose_output_size(W, KW, sw, pw, self.output_padding[1], dw)
        x_g, taps = x.reshape(N, G, C // G, H, W), _taps(w, G)        # taps[kh, kw]: (G, Cg, OCg)
        y_full = xp.zeros((N, G, OCg, OH + 2 * ph, OW + 2 * pw), dtype=x.dtype)
        for i in range(H):
            for j in range(W):
                for kh in range(KH):
                    for kw in range(KW):
                        copy = xp.einsum("ngc,gco->ngo", x_g[..., i, j], taps[kh, kw])
                        y_full[:, :, :, i * sh + kh * dh, j * sw + kw * dw] += copy
        y = y_full[..., ph:ph + OH, pw:pw + OW].reshape(N, G * OCg, OH, OW)
        return y if b is None else y + b.reshape(1, -1, 1, 1)

    def backward(self, gy):
        x, w = self.inputs[:2]
        need = self.needs_input_grad
        gx = _crop(Conv2d(self.stride, self.padding, self.dilation, self.groups)(gy, w),
                   x.shape[2:]) if need[0] else None
        gw = Conv2dGradWeight(w.shape[2:], self.stride, self.padding, self.dilation,
                              self.groups)(gy, x) if need[1] else None
        gb = gy.sum((0, 2, 3)) if len(need) == 3 and need[2] else None
        return (gx, gw) if len(need) == 2 else (gx, gw, gb)


# ============================================================================ Conv2dGradWeight


class Conv2dGradWeight(Function):
    """gw = d<conv2d(x, w), gy>/dw: each kernel tap is the sum, over every output position, of
    the output gradient times the input pixel that tap multiplied,

        gw[g OCg + o, c, kh, kw] = sum_{n, i, j} gy[n, g OCg + o, i, j]
                                                 xp[n, g Cg + c, i S + kh D, j S + kw D]

    It is linear in x and in gy, and its backward is made of conv and conv^T."""

    def __init__(self, kernel_size: Sequence[int], stride=1, padding=0, dilation=1,
                 groups: int = 1) -> None:
        self.kernel_size = _pair(kernel_size)
        self.stride, self.padding, self.dilation = _pair(stride), _pair(padding), _pair(dilation)
        self.groups = int(groups)

    @property
    def name(self) -> str:
        return "conv2d_grad_weight"

    def forward(self, x, gy):
        xp = backend.get_array_module(x)
        (sh, sw), (dh, dw), G = self.stride, self.dilation, self.groups
        (KH, KW), (N, C), (OC, OH, OW) = self.kernel_size, x.shape[:2], gy.shape[1:]
        x_g = _padded_groups(x, self.padding, G)
        gy_g = gy.reshape(N, G, OC // G, OH, OW)
        taps = xp.zeros((KH, KW, G, OC // G, C // G), dtype=x.dtype)  # gw, one matrix per offset
        for i in range(OH):
            for j in range(OW):
                for kh in range(KH):
                    for kw in range(KW):
                        pixel = x_g[:, :, :, i * sh + kh * dh, j * sw + kw * dw]     # (N, G, Cg)
                        taps[kh, kw] += xp.einsum("ngo,ngc->goc", gy_g[..., i, j], pixel)
        return xp.moveaxis(taps, (0, 1), (3, 4)).reshape(OC, C // G, KH, KW)

    def backward(self, ggw):
        x, gy = self.inputs
        need = self.needs_input_grad
        op = _output_padding(x.shape[2:], gy.shape[2:], self.kernel_size, self.stride,
                             self.padding, self.dilation)
        gx = ConvTranspose2d(self.stride, self.padding, op, self.dilation, self.groups)(gy, ggw) \
            if need[0] else None
        ggy = _crop(Conv2d(self.stride, self.padding, self.dilation, self.groups)(x, ggw),
                    gy.shape[2:]) if need[1] else None
        return gx, ggy


# ============================================================================ the functions


def _call(fn: Function, x: Tensor, w: Tensor, b: Tensor | None) -> Tensor:
    return fn(x, w) if b is None else fn(x, w, b)


def conv2d(x: Tensor, w: Tensor, b: Tensor | None = None, stride: int | Sequence[int] = 1,
           padding: int | Sequence[int] = 0, dilation: int | Sequence[int] = 1,
           groups: int = 1) -> Tensor:
    """The reference ``F.conv2d`` on (N, C, H, W) input (``F.conv2d`` checks the arguments
    and calls this under ``mg.use_reference_kernels()``)."""
    return _call(Conv2d(stride, padding, dilation, groups), x, w, b)


def conv_transpose2d(x: Tensor, w: Tensor, b: Tensor | None = None,
                     stride: int | Sequence[int] = 1, padding: int | Sequence[int] = 0,
                     output_padding: int | Sequence[int] = 0, *,
                     dilation: int | Sequence[int] = 1, groups: int = 1) -> Tensor:
    """The reference ``F.conv_transpose2d`` on (N, C, H, W) input."""
    return _call(ConvTranspose2d(stride, padding, output_padding, dilation, groups), x, w, b)
