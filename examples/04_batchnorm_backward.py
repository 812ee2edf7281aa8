"""Batch norm's backward checked three ways: by hand, by finite differences, by PyTorch.

    python examples/04_batchnorm_backward.py           # a few seconds
    python examples/04_batchnorm_backward.py --quick   # a smaller batch for the checks

Batch norm in training mode normalises each channel over the batch, so every input
moves every output of its channel: through its own value, through the batch mean and
through the batch variance. docs/kernels/norm.md derives the closed form of the input
gradient that minigan's kernels use,

    dL/dx = s (h - mean(h) - xhat mean(h xhat)),    h = w dL/dy,  s = 1 / sqrt(var + eps),

with the means over the batch and spatial axes of each channel. This example computes
the gradient

1. by hand: first the long way (the chain rule through mu and var, one line per forward
   line), then with the closed form, and compares both with ``F.batch_norm``'s backward;
2. by finite differences: ``mg.gradcheck`` (and ``mg.gradgradcheck`` for the second
   derivatives), plus one entry worked out in the open;
3. with PyTorch, when it is installed (the part is skipped cleanly otherwise),

and ends with eval mode, where the statistics are constants and the gradient is only
``w dL/dy / sqrt(running_var + eps)``. Nothing is written to disk.
"""
from __future__ import annotations

import argparse

import numpy as np

import minigan as mg
import minigan.functional as F

EPS = 1e-5
AXES = (0, 2, 3)        # batch norm's statistics: over N, H and W, one per channel


def by_hand(x, w, b, g):
    """The forward and the backward of batch norm (training) in NumPy, the long way and
    the closed form: a dict of y, xhat, dx_long, dx_closed, dw, db."""
    per_channel = (1, -1, 1, 1)
    m = x.size // x.shape[1]                          # values per channel: N*H*W
    mu = x.mean(AXES, keepdims=True)
    var = ((x - mu) ** 2).mean(AXES, keepdims=True)   # biased (1/m), as the forward uses
    s = 1.0 / np.sqrt(var + EPS)
    xhat = (x - mu) * s
    y = w.reshape(per_channel) * xhat + b.reshape(per_channel)

    dw = (g * xhat).sum(AXES)                         # y = w xhat + b
    db = g.sum(AXES)
    h = g * w.reshape(per_channel)                    # dL/dxhat
    # the long way: back through xhat = (x - mu) s, s = (var + eps)^(-1/2), var, mu
    d_var = (h * (x - mu)).sum(AXES, keepdims=True) * (-0.5) * s ** 3
    d_mu = (-h * s).sum(AXES, keepdims=True)          # d var / d mu = 0: deviations sum to 0
    dx_long = h * s + d_var * 2.0 * (x - mu) / m + d_mu / m
    # the closed form: the same, the means written as means
    dx_closed = s * (h - h.mean(AXES, keepdims=True)
                     - xhat * (h * xhat).mean(AXES, keepdims=True))
    return dict(y=y, xhat=xhat, dx_long=dx_long, dx_closed=dx_closed, dw=dw, db=db)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="a smaller batch for the finite-difference checks")
    args = parser.parse_args()
    mg.set_default_dtype("float64")
    rng = np.random.default_rng(0)
    N, C, H, W = (2, 2, 2, 2) if args.quick else (4, 3, 3, 3)
    x_np = rng.standard_normal((N, C, H, W)) * 2.0 + 1.0
    w_np, b_np = rng.standard_normal(C), rng.standard_normal(C)
    g_np = rng.standard_normal(x_np.shape)            # a random upstream gradient dL/dy
    print(f"x {x_np.shape}: {C} channels of m = N*H*W = {N * H * W} values each; "
          f"weight and bias {w_np.shape}")

    print("\n== 1. by hand ==")
    hand = by_hand(x_np, w_np, b_np, g_np)
    dx_closed, xhat = hand["dx_closed"], hand["xhat"]
    x, w, b = (mg.tensor(a, requires_grad=True) for a in (x_np, w_np, b_np))
    y = F.batch_norm(x, None, None, w, b, training=True, eps=EPS)
    y.backward(mg.tensor(g_np))
    print(f"  max |y by hand - F.batch_norm's y|         {np.abs(hand['y'] - y.numpy()).max():.1e}")
    print(f"  max |dL/dx the long way - closed form|     "
          f"{np.abs(hand['dx_long'] - dx_closed).max():.1e}")
    for name, key, t in (("dL/dx", "dx_closed", x), ("dL/dw", "dw", w), ("dL/db", "db", b)):
        print(f"  max |{name} by hand - minigan's backward| "
              f"{np.abs(hand[key] - t.grad.numpy()).max():.1e}")
        assert np.allclose(hand[key], t.grad.numpy(), atol=1e-12)
    print("what normalising removes, per channel: |sum(dL/dx)| <= "
          f"{np.abs(dx_closed.sum(AXES)).max():.1e}, |sum(dL/dx * xhat)| <= "
          f"{np.abs((dx_closed * xhat).sum(AXES)).max():.1e}"
          "\n  (y cannot see a shift or a scaling of a channel's x, so neither can its "
          "gradient; eps leaves a trace)")

    print("\n== 2. by finite differences ==")
    bn = lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True, eps=EPS)  # noqa: E731
    # one entry in the open: perturb x[0, 0, 0, 0] both ways, L = <g, y>
    step = 1e-6
    plus, minus = x_np.copy(), x_np.copy()
    plus[0, 0, 0, 0] += step
    minus[0, 0, 0, 0] -= step
    L = lambda a: float((g_np * by_hand(a, w_np, b_np, g_np)["y"]).sum())  # noqa: E731
    numeric = (L(plus) - L(minus)) / (2 * step)
    print(f"dL/dx[0,0,0,0]: (L(x + eps) - L(x - eps)) / 2 eps = {numeric:.10f}, "
          f"backward {x.grad.numpy()[0, 0, 0, 0]:.10f}")
    print(f"mg.gradcheck(batch_norm, [x, w, b]):     {mg.gradcheck(bn, [x, w, b])}"
          "   (every entry of x, w and b, a random projection of y)")
    print(f"mg.gradgradcheck(batch_norm, [x, w, b]): {mg.gradgradcheck(bn, [x, w, b])}"
          "   (the backward's own derivatives)")

    print("\n== 3. with PyTorch ==")
    try:
        import torch
    except ImportError:
        print("skipped: PyTorch is not installed (pip install torch to compare)")
    else:
        xt, wt, bt = (torch.tensor(a, requires_grad=True) for a in (x_np, w_np, b_np))
        yt = torch.nn.functional.batch_norm(xt, None, None, wt, bt, training=True, eps=EPS)
        yt.backward(torch.tensor(g_np))
        print(f"torch {torch.__version__}, float64:")
        for name, t, tt in (("y", y, yt), ("dL/dx", x.grad, xt.grad), ("dL/dw", w.grad, wt.grad),
                            ("dL/db", b.grad, bt.grad)):
            diff = np.abs(t.numpy() - tt.detach().numpy()).max()
            print(f"  max |{name} minigan - torch| = {diff:.1e}")
            assert diff < 1e-10

    print("\n== eval mode: the statistics are constants ==")
    layer = mg.nn.BatchNorm2d(C).double()
    layer(mg.tensor(x_np))                             # one training call fills running stats
    layer.eval()
    xe = mg.tensor(x_np, requires_grad=True)
    layer(xe).backward(mg.tensor(g_np))
    expected = g_np * layer.weight.numpy().reshape(1, -1, 1, 1) / np.sqrt(
        layer.running_var.numpy().reshape(1, -1, 1, 1) + layer.eps)
    print(f"max |dL/dx - w dL/dy / sqrt(running_var + eps)| = "
          f"{np.abs(xe.grad.numpy() - expected).max():.1e}: no mean or variance terms, each "
          f"sample on its own")


if __name__ == "__main__":
    main()
