"""gradcheck / gradgradcheck must pass on right gradients and FAIL on wrong ones, in
element-wise and fast (directional) mode, with a readable report."""
from __future__ import annotations

import numpy as np
import pytest

import minigan as mg
from minigan import GradcheckError
from minigan.autograd import Function
from strategies import leaf


class Square(Function):
    def forward(self, x):
        return x * x

    def backward(self, gy):
        x, = self.inputs
        return gy * x * 2.0


class WrongSquare(Function):
    """Backward off by a factor on one element: first order is wrong."""

    def forward(self, x):
        return x * x

    def backward(self, gy):
        x, = self.inputs
        scale = np.ones(x.shape)
        scale.reshape(-1)[-1] = 1.1
        return gy * x * 2.0 * mg.tensor(scale, device=x.device)


class TransposedGrad(Function):
    """y = x @ w with dL/dx = gy @ w (missing the transpose): right for a square symmetric w
    and for a plain sum of outputs, wrong for a random projection."""

    def forward(self, x, w):
        return x @ w

    def backward(self, gy):
        x, w = self.inputs
        return gy @ w, x.T @ gy


class SquareOpaqueBackward(Function):
    """First order right, but the backward computes 2x on raw arrays: its own derivative
    w.r.t. x is lost (gradient of the gradient is wrong)."""

    def forward(self, x):
        return x * x

    def backward(self, gy):
        x, = self.inputs
        return gy * mg.tensor(2.0 * x.data, device=x.device)


class _DoubleBackwardWrong(Function):
    """2x with a wrong derivative (3 instead of 2): what Square's backward calls below."""

    def forward(self, x):
        return 2.0 * x

    def backward(self, gy):
        return gy * 3.0


class SquareWrongDoubleBackward(Function):
    def forward(self, x):
        return x * x

    def backward(self, gy):
        x, = self.inputs
        return gy * _DoubleBackwardWrong()(x)


@pytest.mark.parametrize("fast", [False, True])
def test_right_gradients_pass(device, fast):
    x = leaf(np.array([[0.3, -1.2, 2.0], [0.7, 1.1, -0.4]]), device)
    assert mg.gradcheck(lambda t: Square()(t), [x], fast=fast)
    assert mg.gradgradcheck(lambda t: Square()(t), [x], fast=fast)
    w = leaf(np.random.default_rng(0).standard_normal((3, 3)), device)
    assert mg.gradcheck(lambda a, b: a @ b, [x, w], fast=fast)


@pytest.mark.parametrize("fast", [False, True])
def test_wrong_backward_is_caught(device, fast):
    x = leaf(np.array([0.5, -1.5, 2.0]), device)
    with pytest.raises(GradcheckError, match="gradient mismatch for input 0"):
        mg.gradcheck(lambda t: WrongSquare()(t), [x], fast=fast)
    assert mg.gradcheck(lambda t: WrongSquare()(t), [x], fast=fast, raise_exception=False) is False


@pytest.mark.parametrize("fast", [False, True])
def test_missing_transpose_is_caught(device, fast):
    rng = np.random.default_rng(1)
    x, w = leaf(rng.standard_normal((2, 3)), device), leaf(rng.standard_normal((3, 3)), device)
    with pytest.raises(GradcheckError, match="input 0"):
        mg.gradcheck(lambda a, b: TransposedGrad()(a, b), [x, w], fast=fast)


@pytest.mark.parametrize("fast", [False, True])
@pytest.mark.parametrize("bad", [SquareOpaqueBackward, SquareWrongDoubleBackward])
def test_wrong_double_backward_is_caught(device, fast, bad):
    x = leaf(np.array([0.5, -1.5, 2.0]), device)
    assert mg.gradcheck(lambda t: bad()(t), [x], fast=fast)  # first order is right
    with pytest.raises(GradcheckError, match="gradgradcheck: second derivative wrong"):
        mg.gradgradcheck(lambda t: bad()(t), [x], fast=fast)


def test_report_is_readable():
    x = leaf(np.array([[1.0, 2.0], [3.0, 4.0]]))
    with pytest.raises(GradcheckError) as info:
        mg.gradcheck(lambda t: WrongSquare()(t), [x])
    message = str(info.value)
    assert "input 0 (shape (2, 2)) at (1, 1)" in message
    assert "analytic" in message and "numeric" in message and "relative error" in message
    assert "1 of 4 entries out of tolerance" in message


def test_second_input_and_several_outputs():
    x, y = leaf(np.array([1.0, 2.0])), leaf(np.array([0.5, -0.5]))
    assert mg.gradcheck(lambda a, b: (a * b, a - b, mg.exp(b)), [x, y])
    assert mg.gradgradcheck(lambda a, b: (a * b, a * a * b), [x, y])
    with pytest.raises(GradcheckError, match="input 1"):
        mg.gradcheck(lambda a, b: (a * b, WrongSquare()(b)), [x, y])


def test_float32_inputs_are_checked_in_float64_and_left_alone():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    assert mg.gradcheck(lambda t: t * t, [x])
    assert x.dtype == np.float32 and x.grad is None and x.tolist() == [1.0, 2.0]


def test_non_tensor_and_non_grad_inputs_pass_through():
    x = leaf(np.array([1.0, 2.0]))
    c = mg.tensor(np.array([3.0, 4.0]))
    assert mg.gradcheck(lambda a, b, k: a * b * k, [x, c, 2.0])


def test_bad_usage():
    with pytest.raises(ValueError, match="no input requires grad"):
        mg.gradcheck(lambda a: a * 2, [mg.tensor(np.ones(2))])
    with pytest.raises(ValueError, match="no input requires grad"):
        mg.gradgradcheck(lambda a: a * 2, [mg.tensor(np.ones(2))])
    with pytest.raises(GradcheckError, match="no output depends"):
        mg.gradcheck(lambda a: mg.tensor(np.ones(2)), [leaf(np.ones(2))])


def test_gradgradcheck_with_given_grad_outputs():
    x = leaf(np.array([0.5, 1.5]))
    v = leaf(np.array([1.0, -2.0]))
    assert mg.gradgradcheck(lambda t: t * t * t, [x], grad_outputs=[v])


# ============================================================================ minigan gradcheck


def test_every_registered_op_passes(device):
    from minigan import selfcheck
    failed = [o for o in selfcheck.run_all(device=device) if not o.ok or o.skipped]
    assert not failed, [(o.name, o.skipped or o.first.message or o.second.message) for o in failed]


def test_cli_gradcheck_prints_a_table(capsys):
    from minigan.cli import main
    assert main(["gradcheck", "--op", "mat*"]) == 0
    out = capsys.readouterr().out
    assert "first order" in out and "second order" in out and "max error" in out
    assert "matmul " in out and "matmul_1d" in out and "2 of 2 ops passed" in out
    assert main(["gradcheck", "--op", "no_such_op"]) == 2
    assert "no op matches" in capsys.readouterr().err


def test_cli_gradcheck_fails_on_a_wrong_op(capsys, monkeypatch):
    from minigan import selfcheck
    from minigan.cli import main
    monkeypatch.setattr(selfcheck, "CHECKS", [])
    selfcheck.check("wrong_square")(lambda rng, d: (lambda t: WrongSquare()(t), [leaf(np.ones(3), d)]))
    selfcheck.check("opaque_square")(
        lambda rng, d: (lambda t: SquareOpaqueBackward()(t), [leaf(np.ones(3), d)]))
    assert main(["gradcheck", "--fast"]) == 1
    out = capsys.readouterr().out
    assert "wrong_square" in out and "FAIL" in out and "gradient mismatch" in out
    assert "opaque_square: gradgradcheck: second derivative wrong" in out
    assert "0 of 2 ops passed" in out
