"""A custom Function and its gradient check, in both of minigan's Function styles.

    python examples/02_custom_function.py           # about two seconds
    python examples/02_custom_function.py --quick   # the same (it is already quick)

1. minigan's own style (DeZero's and Chainer's): ``forward(self, x)`` on raw arrays,
   ``backward(self, gy)`` on gradient Tensors, called as ``Softplus()(x)``.
2. PyTorch's style: ``@staticmethod forward(ctx, ...)`` on Tensors, ``ctx.save_for_backward``,
   ``@staticmethod backward(ctx, grad_output)``, called as ``LinearFunction.apply(x, w, b)``
   (the example of PyTorch's "Extending PyTorch" notes, unchanged).
3. A deliberately wrong backward: what ``loss.sum().backward()`` hides and what
   ``mg.gradcheck`` reports.

Both styles are checked with ``mg.gradcheck`` (first derivatives against central finite
differences in float64) and ``mg.gradgradcheck`` (second derivatives: the backwards are
written with differentiable ops, so they can be differentiated again). docs/gradcheck.md
explains the check and how to read its report. Nothing is written to disk.
"""
from __future__ import annotations

import argparse

import numpy as np

import minigan as mg
import minigan.functional as F


# ---------------------------------------------------------------------------- minigan's style


class Softplus(mg.Function):
    """y = log(1 + e^x), computed stably as max(x, 0) + log(1 + e^-|x|); dy/dx = sigmoid(x)."""

    def forward(self, x):                      # x: a NumPy (or CuPy) array
        xp = mg.backend.get_array_module(x)    # the same code runs on NumPy and CuPy
        return xp.maximum(x, 0) + xp.log1p(xp.exp(-xp.abs(x)))

    def backward(self, gy):                    # gy: a Tensor, dL/dy
        x, = self.inputs                       # the input Tensors, kept by minigan
        return gy * F.sigmoid(x)               # Tensor ops: the backward has a backward too


def softplus(x: mg.Tensor) -> mg.Tensor:
    return Softplus()(x)


# ---------------------------------------------------------------------------- PyTorch's style


class LinearFunction(mg.Function):
    """y = x W^T + b, as in PyTorch's docs ("Extending torch.autograd")."""

    @staticmethod
    def forward(ctx, input, weight, bias=None):        # Tensors; no graph is recorded here
        ctx.save_for_backward(input, weight, bias)
        output = input.mm(weight.t())
        if bias is not None:
            output += bias.unsqueeze(0).expand_as(output)
        return output

    @staticmethod
    def backward(ctx, grad_output):
        input, weight, bias = ctx.saved_tensors
        grad_input = grad_weight = grad_bias = None
        if ctx.needs_input_grad[0]:                    # skip what nobody asked for
            grad_input = grad_output.mm(weight)
        if ctx.needs_input_grad[1]:
            grad_weight = grad_output.t().mm(input)
        if bias is not None and ctx.needs_input_grad[2]:
            grad_bias = grad_output.sum(0)
        return grad_input, grad_weight, grad_bias


# ---------------------------------------------------------------------------- a planted bug


class ForgetfulSoftplus(Softplus):
    """Softplus with the classic bug: the backward forgets to multiply by the upstream
    gradient gy (it returns dy/dx, not dL/dx = gy * dy/dx)."""

    def backward(self, gy):
        x, = self.inputs
        return F.sigmoid(x)                    # wrong: should be gy * sigmoid(x)


def minigan_style(rng: np.random.Generator) -> None:
    print("== 1. minigan's style: forward(self, x) on arrays, backward(self, gy) ==")
    x = mg.tensor(rng.standard_normal((3, 4)), dtype="float64", requires_grad=True)
    y = softplus(x)
    print(f"softplus(x) matches log(1 + e^x): "
          f"{np.allclose(y.numpy(), np.log1p(np.exp(x.numpy())))}")
    node = y.creator
    print(f"its graph node: {type(node).__name__}, inputs {[t.shape for t in node.inputs]}")
    print(f"gradcheck (first derivatives, float64):      {mg.gradcheck(softplus, [x])}")
    print(f"gradgradcheck (second derivatives, float64): {mg.gradgradcheck(softplus, [x])}")


def pytorch_style(rng: np.random.Generator) -> None:
    print("\n== 2. PyTorch's style: @staticmethod forward(ctx, ...), ctx.save_for_backward, "
          ".apply ==")
    x = mg.tensor(rng.standard_normal((5, 3)), dtype="float64", requires_grad=True)
    w = mg.tensor(rng.standard_normal((2, 3)), dtype="float64", requires_grad=True)
    b = mg.tensor(rng.standard_normal(2), dtype="float64", requires_grad=True)
    y = LinearFunction.apply(x, w, b)
    print(f"LinearFunction.apply(x, w, b) matches F.linear: "
          f"{np.allclose(y.numpy(), F.linear(x, w, b).numpy())}")
    print(f"its graph node (the ctx): {type(y.creator).__name__}")
    print(f"gradcheck:     {mg.gradcheck(LinearFunction.apply, [x, w, b])}")
    print(f"gradgradcheck: {mg.gradgradcheck(LinearFunction.apply, [x, w, b])}")
    frozen = mg.tensor(w.numpy())               # no requires_grad: its gradient is skipped
    y = LinearFunction.apply(x, frozen, b)
    print(f"with a frozen weight, ctx.needs_input_grad = {y.creator.needs_input_grad}: "
          f"backward computes no grad_weight")


def wrong_backward(rng: np.random.Generator) -> None:
    print("\n== 3. a deliberately wrong backward: it forgets to multiply by gy ==")
    x = mg.tensor(rng.standard_normal((3, 4)), dtype="float64", requires_grad=True)
    ForgetfulSoftplus()(x).sum().backward()
    right = F.sigmoid(x).numpy()
    print("after ForgetfulSoftplus()(x).sum().backward() the gradient looks right: "
          f"max |x.grad - sigmoid(x)| = {np.abs(x.grad.numpy() - right).max():.1e}")
    print("  (a sum sends gy = 1 to every output, and 1 * dy/dx = dy/dx hides the bug)")
    print("mg.gradcheck sends a random gy instead (a random projection of the outputs):")
    try:
        mg.gradcheck(lambda t: ForgetfulSoftplus()(t), [x])
    except mg.GradcheckError as error:
        print(f"  GradcheckError: {error}")
    print("How to read it: 'analytic' is what the backward returned for that entry, "
          "'numeric' the central difference\n(L(x + eps) - L(x - eps)) / 2 eps at that entry; "
          "every entry is out of tolerance because the bug touches every one.")
    result = mg.gradcheck(lambda t: ForgetfulSoftplus()(t), [x], raise_exception=False)
    print(f"mg.gradcheck(..., raise_exception=False) returns {result} instead of raising.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="the same run (already quick)")
    parser.parse_args()
    rng = np.random.default_rng(0)
    minigan_style(rng)
    pytorch_style(rng)
    wrong_backward(rng)


if __name__ == "__main__":
    main()
