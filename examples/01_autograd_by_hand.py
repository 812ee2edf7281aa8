"""Autograd by hand vs minigan: the chain rule written out, next to ``backward()``.

    python examples/01_autograd_by_hand.py           # about a second
    python examples/01_autograd_by_hand.py --quick   # the same (it is already quick)

Part 1 differentiates a scalar chain, ``L = tanh(w x + b)^2``, one local derivative at a
time. Part 2 does the same for a 2-layer MLP's loss on a batch, where each step of the
chain rule is a matrix product or an element-wise product, and prints the shape of every
gradient beside minigan's. Both print the graph that minigan recorded (``mg.viz.tree``),
and part 2 saves it as Graphviz DOT (``mlp_graph.dot``, and ``mlp_graph.png`` when the
``dot`` program is installed) in ``--out DIR`` (default ``runs/examples/01_autograd_by_hand``).

Read with docs/autograd.md (how the graph is recorded) and minigan/autograd.py
(``Function.__call__`` records, ``run_backward`` walks the graph back).
"""
from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np

import minigan as mg


def scalar_chain() -> None:
    print("== Part 1: L = tanh(w*x + b)^2, one link of the chain at a time ==")
    x_, w_, b_ = 0.5, -1.5, 2.0
    # forward, as plain floats
    z_ = w_ * x_ + b_
    a_ = math.tanh(z_)
    L_ = a_ * a_
    print(f"forward:  z = w*x + b = {z_:.6f}   a = tanh(z) = {a_:.6f}   L = a^2 = {L_:.6f}")
    # backward, one local derivative per line, each multiplied into the upstream gradient
    dL_da = 2 * a_                      # d(a^2)/da
    da_dz = 1 - a_ * a_                 # d tanh(z)/dz = 1 - tanh(z)^2
    dL_dz = dL_da * da_dz
    by_hand = {"w": dL_dz * x_,         # dz/dw = x
               "x": dL_dz * w_,         # dz/dx = w
               "b": dL_dz * 1.0}        # dz/db = 1
    print(f"backward: dL/da = 2a = {dL_da:.6f}")
    print(f"          da/dz = 1 - a^2 = {da_dz:.6f}   so dL/dz = {dL_dz:.6f}")
    print("          dL/dw = dL/dz * x,  dL/dx = dL/dz * w,  dL/db = dL/dz * 1")

    # the same with minigan: build the expression, call backward()
    x, w, b = (mg.tensor(v, dtype="float64", requires_grad=True) for v in (x_, w_, b_))
    loss = mg.functional.tanh(w * x + b) ** 2
    print("\nthe graph minigan recorded (the loss on top, each op's inputs indented below it):")
    print(mg.viz.tree(loss, params={"x": x, "w": w, "b": b}))
    loss.backward()
    print(f"\n{'':6}{'by hand':>14}{'minigan':>14}{'|difference|':>14}")
    for name, t in (("dL/dw", w), ("dL/dx", x), ("dL/db", b)):
        hand, engine = by_hand[name[-1]], t.grad.item()
        print(f"{name:6}{hand:14.8f}{engine:14.8f}{abs(hand - engine):14.1e}")
        assert abs(hand - engine) < 1e-12


def mlp(out: Path) -> None:
    print("\n== Part 2: a 2-layer MLP, L = mean((tanh(x W1 + b1) W2 + b2 - y)^2) ==")
    rng = np.random.default_rng(0)
    N, D, H = 4, 3, 5                    # batch, inputs, hidden units
    x_, y_ = rng.standard_normal((N, D)), rng.standard_normal((N, 1))
    W1_, b1_ = rng.standard_normal((D, H)) * 0.5, rng.standard_normal(H) * 0.1
    W2_, b2_ = rng.standard_normal((H, 1)) * 0.5, rng.standard_normal(1) * 0.1

    # forward in NumPy, keeping what the backward needs
    h_ = x_ @ W1_ + b1_                  # (N, H)
    a_ = np.tanh(h_)                     # (N, H)
    yhat_ = a_ @ W2_ + b2_               # (N, 1)
    L_ = np.mean((yhat_ - y_) ** 2)
    # backward: from the loss down, one line per forward line, in reverse order
    steps = []
    g_yhat = 2 * (yhat_ - y_) / N;        steps.append(("dL/dyhat = 2 (yhat - y) / N", g_yhat))
    g_W2 = a_.T @ g_yhat;                 steps.append(("dL/dW2 = a^T @ dL/dyhat", g_W2))
    g_b2 = g_yhat.sum(axis=0);            steps.append(("dL/db2 = sum over the batch", g_b2))
    g_a = g_yhat @ W2_.T;                 steps.append(("dL/da = dL/dyhat @ W2^T", g_a))
    g_h = g_a * (1 - a_ ** 2);            steps.append(("dL/dh = dL/da * (1 - a^2)", g_h))
    g_W1 = x_.T @ g_h;                    steps.append(("dL/dW1 = x^T @ dL/dh", g_W1))
    g_b1 = g_h.sum(axis=0);               steps.append(("dL/db1 = sum over the batch", g_b1))
    g_x = g_h @ W1_.T;                    steps.append(("dL/dx = dL/dh @ W1^T", g_x))
    print(f"forward: h {h_.shape}, a {a_.shape}, yhat {yhat_.shape}, L = {L_:.6f}")
    print("backward by hand (each gradient has the shape of what it is the gradient of):")
    for text, g in steps:
        print(f"  {text:34} shape {g.shape}")

    # minigan: the same forward on Tensors, then one backward()
    x = mg.tensor(x_, requires_grad=True)   # to compare dL/dx as well
    y = mg.tensor(y_)
    params = {name: mg.tensor(v, requires_grad=True)
              for name, v in (("W1", W1_), ("b1", b1_), ("W2", W2_), ("b2", b2_))}
    a = mg.functional.tanh(x @ params["W1"] + params["b1"])
    loss = ((a @ params["W2"] + params["b2"] - y) ** 2).mean()
    names = {"x": x, "y": y, **params}
    print("\nminigan's graph of the loss (mean() is recorded as a sum times 1/N):")
    print(mg.viz.tree(loss, params=names))
    print(f"wrote {mg.viz.to_dot(loss, params=names).save(out / 'mlp_graph.dot')}")
    try:
        print(f"wrote {mg.viz.render(loss, out / 'mlp_graph.png', params=names)}")
    except mg.MissingToolError as error:    # Graphviz is not installed: the .dot is enough
        print(f"(no picture: {error})")
    loss.backward()

    print(f"\n{'gradient':8}{'shape':>10}{'max |by hand - minigan|':>26}")
    for name, hand, t in (("W1", g_W1, params["W1"]), ("b1", g_b1, params["b1"]),
                          ("W2", g_W2, params["W2"]), ("b2", g_b2, params["b2"]),
                          ("x", g_x, x)):
        diff = np.abs(hand - t.grad.numpy()).max()
        print(f"{'dL/d' + name:8}{str(hand.shape):>10}{diff:26.1e}")
        assert diff < 1e-12, name
    print(f"loss: by hand {L_:.12f}, minigan {loss.item():.12f}")
    print("\nThe gradients agree to float64 round-off: backward() ran the same chain rule, "
          "one Function's backward per line above.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="runs/examples/01_autograd_by_hand",
                        help="folder for the graph files")
    parser.add_argument("--quick", action="store_true", help="the same run (already quick)")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    mg.set_default_dtype("float64")      # exact comparisons: every tensor below is float64
    scalar_chain()
    mlp(out)


if __name__ == "__main__":
    main()
