"""conv2d as im2col, step by step: the matrix, the GEMM, the backward, the adjoint.

    python examples/03_conv_im2col.py           # about a second
    python examples/03_conv_im2col.py --quick   # the same (it is already quick)

Part 1 builds the im2col matrix of a 1-channel 4x4 image with loops (one row per output
position, one column per kernel tap) and prints it, at stride 1 and at stride 2 with
padding 1. Part 2 takes a 2-channel 5x5 batch and three 3x3 kernels (stride 2, padding 1)
through every step of the forward and the backward, printing each array's shape:

    forward:   pad -> im2col -> one GEMM -> reshape to (N, OC, OH, OW)
    backward:  gW = gY^T @ cols,  gcols = gY @ W,  col2im(gcols) -> gx

and compares each result with minigan's plain reference kernel (``minigan.reference``,
loops over kernel offsets) and with the fast kernel (``F.conv2d``: im2col on channels-last
memory). Part 3 checks the adjoint identity <im2col(x), c> = <x, col2im(c)>, which is why
the input gradient of a convolution is a transposed convolution. docs/kernels/conv.md
draws the same steps. Nothing is written to disk.
"""
from __future__ import annotations

import argparse

import numpy as np

import minigan as mg
import minigan.functional as F
from minigan import reference


def output_size(size: int, k: int, stride: int, padding: int) -> int:
    return (size + 2 * padding - k) // stride + 1


def im2col(x: np.ndarray, k: int, stride: int, padding: int) -> np.ndarray:
    """x (N, C, H, W) -> cols (N*OH*OW, C*k*k): row (n, i, j) holds the window under output
    pixel (i, j) of image n, channel-major (all taps of channel 0, then channel 1, ...)."""
    N, C, H, W = x.shape
    OH, OW = output_size(H, k, stride, padding), output_size(W, k, stride, padding)
    xpad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    cols = np.zeros((N, OH, OW, C, k, k))
    for i in range(OH):
        for j in range(OW):
            cols[:, i, j] = xpad[:, :, i * stride:i * stride + k, j * stride:j * stride + k]
    return cols.reshape(N * OH * OW, C * k * k)


def col2im(cols: np.ndarray, shape: tuple, k: int, stride: int, padding: int) -> np.ndarray:
    """The adjoint of im2col: add every row back into the window it was copied from (where
    windows overlap, their values add up), then cut the padding off."""
    N, C, H, W = shape
    OH, OW = output_size(H, k, stride, padding), output_size(W, k, stride, padding)
    xpad = np.zeros((N, C, H + 2 * padding, W + 2 * padding))
    rows = cols.reshape(N, OH, OW, C, k, k)
    for i in range(OH):
        for j in range(OW):
            xpad[:, :, i * stride:i * stride + k, j * stride:j * stride + k] += rows[:, i, j]
    return xpad[:, :, padding:padding + H, padding:padding + W]


def row(name: str, shape: tuple, what: str = "") -> None:
    print(f"  {name:24}{str(shape):16}{what}".rstrip())


def show_im2col() -> None:
    print("== Part 1: the im2col matrix of a 1-channel 4x4 image, 3x3 kernel ==")
    x = np.arange(1, 17, dtype=np.float64).reshape(1, 1, 4, 4)
    print("the image:")
    print(x[0, 0].astype(int))
    for stride, padding in ((1, 0), (2, 1)):
        cols = im2col(x, 3, stride, padding)
        OH = output_size(4, 3, stride, padding)
        print(f"\nstride {stride}, padding {padding}: OH = (4 + 2*{padding} - 3) // {stride} + 1 "
              f"= {OH}, so {OH * OH} windows of 9 taps: cols {cols.shape}")
        print("              taps (kh, kw): " + " ".join(f"{kh},{kw}" for kh in range(3)
                                                        for kw in range(3)))
        for r, row in enumerate(cols):
            i, j = divmod(r, OH)
            print(f"  output ({i},{j})              " + " ".join(f"{v:3.0f}" for v in row))
    print("Each row is one window; pixel 6 sits under all four windows at stride 1, "
          "so it is copied four times.")


def step_by_step(rng: np.random.Generator) -> None:
    N, C, H, W, OC, k, stride, padding = 2, 2, 5, 5, 3, 3, 2, 1
    print(f"\n== Part 2: N={N}, C={C}, {H}x{W} input, {OC} kernels {k}x{k}, stride {stride}, "
          f"padding {padding} ==")
    x_np, w_np = rng.standard_normal((N, C, H, W)), rng.standard_normal((OC, C, k, k))
    b_np = rng.standard_normal(OC)
    OH, OW = output_size(H, k, stride, padding), output_size(W, k, stride, padding)

    print("forward:")
    row("x", x_np.shape, "(N, C, H, W)")
    row("padded x", (N, C, H + 2 * padding, W + 2 * padding), "zeros around the border")
    cols = im2col(x_np, k, stride, padding)
    row("cols = im2col(x)", cols.shape, f"(N*OH*OW, C*KH*KW), OH = OW = {OH}")
    Wm = w_np.reshape(OC, -1)
    row("Wm = w as a matrix", Wm.shape, "(OC, C*KH*KW)")
    Y = cols @ Wm.T + b_np
    row("Y = cols @ Wm^T + b", Y.shape, "one GEMM: (N*OH*OW, OC)")
    y_np = Y.reshape(N, OH, OW, OC).transpose(0, 3, 1, 2)
    row("y = Y as images", y_np.shape, "(N, OC, OH, OW)")

    x = mg.tensor(x_np, requires_grad=True)
    w = mg.tensor(w_np, requires_grad=True)
    b = mg.tensor(b_np, requires_grad=True)
    y_fast = F.conv2d(x, w, b, stride=stride, padding=padding)
    xr, wr, br = (mg.tensor(a, requires_grad=True) for a in (x_np, w_np, b_np))
    y_ref = reference.conv2d(xr, wr, br, stride=stride, padding=padding)
    print(f"  max |y - reference.conv2d| = {np.abs(y_np - y_ref.numpy()).max():.1e}   "
          f"max |y - F.conv2d| = {np.abs(y_np - y_fast.numpy()).max():.1e}")

    print("backward, for a random upstream gradient gy = dL/dy:")
    gy_np = rng.standard_normal(y_np.shape)
    row("gy", gy_np.shape)
    gY = gy_np.transpose(0, 2, 3, 1).reshape(-1, OC)
    row("gY = gy as rows", gY.shape, "(N*OH*OW, OC), like Y")
    gWm = gY.T @ cols
    row("gWm = gY^T @ cols", gWm.shape, "the weight gradient (a GEMM)")
    gb = gY.sum(axis=0)
    row("gb = sum of gY's rows", gb.shape, "the bias gradient")
    gcols = gY @ Wm
    row("gcols = gY @ Wm", gcols.shape, "the gradient of every window copy (a GEMM)")
    gx_np = col2im(gcols, x_np.shape, k, stride, padding)
    row("gx = col2im(gcols)", gx_np.shape, "each copy added back where it came from")

    y_fast.backward(mg.tensor(gy_np))
    y_ref.backward(mg.tensor(gy_np))
    print(f"  {'':10}{'vs reference':>16}{'vs F.conv2d':>16}")
    for name, hand, ref, fast in (("dL/dx", gx_np, xr, x),
                                  ("dL/dw", gWm.reshape(w_np.shape), wr, w),
                                  ("dL/db", gb, br, b)):
        print(f"  {name:10}{np.abs(hand - ref.grad.numpy()).max():16.1e}"
              f"{np.abs(hand - fast.grad.numpy()).max():16.1e}")
        assert np.allclose(hand, ref.grad.numpy()) and np.allclose(hand, fast.grad.numpy())

    # the input gradient is a transposed convolution of gy with the same kernel: it maps
    # 3 back to (3 - 1)*2 - 2*1 + 3 + output_padding; stride 2 maps both 5 and 6 to 3, and
    # output_padding 0 picks 5
    back = F.conv_transpose2d(mg.tensor(gy_np), w, stride=stride, padding=padding)
    print(f"  conv_transpose2d(gy, w) {back.shape}: max |gx - it| = "
          f"{np.abs(gx_np - back.numpy()).max():.1e}  (the input gradient IS a transposed conv)")


def adjoint(rng: np.random.Generator) -> None:
    print("\n== Part 3: col2im is the adjoint of im2col ==")
    x = rng.standard_normal((2, 2, 5, 5))
    c = rng.standard_normal(im2col(x, 3, 2, 1).shape)
    left = float((im2col(x, 3, 2, 1) * c).sum())
    right = float((x * col2im(c, x.shape, 3, 2, 1)).sum())
    print(f"<im2col(x), c> = {left:.12f}")
    print(f"<x, col2im(c)> = {right:.12f}   (difference {abs(left - right):.1e})")
    print("im2col is a linear map A (a matrix of 0s and 1s), col2im is A^T: the backward of "
          "a copy is an add.\nThe same holds one level up: <conv2d(x, w), g> = "
          "<x, conv_transpose2d(g, w)>.")
    assert abs(left - right) < 1e-9
    xt, g = mg.tensor(x), rng.standard_normal((2, 3, 3, 3))
    w = mg.tensor(rng.standard_normal((3, 2, 3, 3)))
    up = float((F.conv2d(xt, w, stride=2, padding=1).numpy() * g).sum())
    down = float((x * F.conv_transpose2d(mg.tensor(g), w, stride=2, padding=1).numpy()).sum())
    print(f"<conv2d(x, w), g> = {up:.12f}, <x, conv_transpose2d(g, w)> = {down:.12f}")
    assert abs(up - down) < 1e-9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="the same run (already quick)")
    parser.parse_args()
    mg.set_default_dtype("float64")
    rng = np.random.default_rng(0)
    show_im2col()
    step_by_step(rng)
    adjoint(rng)


if __name__ == "__main__":
    main()
