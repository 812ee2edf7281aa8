"""Custom Functions in both styles: PyTorch's static ``forward(ctx, ...)``/``backward(ctx, ...)``
called as ``F.apply`` (PyTorch's own tutorial and docs examples, with ``torch`` renamed to
``mg``), minigan's instance style, and one instance called several times."""
from __future__ import annotations

import math

import numpy as np
import pytest

import minigan as mg
from minigan.autograd import Function, once_differentiable
from strategies import check_grads, leaf
from test_autograd import Cube  # minigan's own style: y = x^3


# ============================================================================ PyTorch's examples
# The classes below are PyTorch's documentation examples with ``torch`` renamed to ``mg``.


class LegendrePolynomial3(mg.autograd.Function):
    """
    We can implement our own custom autograd Functions by subclassing
    torch.autograd.Function and implementing the forward and backward passes
    which operate on Tensors.
    """

    @staticmethod
    def forward(ctx, input):
        ctx.save_for_backward(input)
        return 0.5 * (5 * input ** 3 - 3 * input)

    @staticmethod
    def backward(ctx, grad_output):
        input, = ctx.saved_tensors
        return grad_output * 1.5 * (5 * input ** 2 - 1)


class Exp(Function):
    @staticmethod
    def forward(ctx, i):
        result = i.exp()
        ctx.save_for_backward(result)
        return result

    @staticmethod
    def backward(ctx, grad_output):
        result, = ctx.saved_tensors
        return grad_output * result


class Square(mg.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        # Because we are saving one of the inputs use `save_for_backward`
        # Save non-tensors and non-inputs/non-outputs directly on ctx
        ctx.save_for_backward(x)
        return x**2

    @staticmethod
    def backward(ctx, grad_out):
        # A function support double backward automatically if autograd
        # is able to record the computations performed in backward
        x, = ctx.saved_tensors
        return grad_out * 2 * x


class Sinh(mg.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        expx = mg.exp(x)
        expnegx = mg.exp(-x)
        ctx.save_for_backward(expx, expnegx)
        # In order to be able to save the intermediate results, a trick is to
        # include them as our outputs, so that the backward graph is constructed
        return (expx - expnegx) / 2, expx, expnegx

    @staticmethod
    def backward(ctx, grad_out, _grad_out_exp, _grad_out_negexp):
        expx, expnegx = ctx.saved_tensors
        grad_input = grad_out * (expx + expnegx) / 2
        # We cannot skip accumulating these even though we won't use the outputs
        # directly. They will be used later in the second backward.
        grad_input += _grad_out_exp * expx
        grad_input -= _grad_out_negexp * expnegx
        return grad_input


def sinh(x):
    # Create a wrapper that only returns the first output
    return Sinh.apply(x)[0]


class MyCube(mg.autograd.Function):
    @staticmethod
    def forward(x):
        # We wish to save dx for backward. In order to do so, it must
        # be returned as an output.
        dx = 3 * x ** 2
        result = x ** 3
        return result, dx

    @staticmethod
    def setup_context(ctx, inputs, output):
        x, = inputs
        result, dx = output
        ctx.save_for_backward(x, dx)

    @staticmethod
    def backward(ctx, grad_output, grad_dx):
        x, dx = ctx.saved_tensors
        # In order for the autograd.Function to work with higher-order
        # gradients, we must add the gradient contribution of `dx`,
        # which is grad_dx * 6 * x.
        result = grad_output * dx + grad_dx * 6 * x
        return result


# Wrap MyCube in a function so that it is clearer what the output is
def my_cube(x):
    result, dx = MyCube.apply(x)
    return result


class LinearFunction(Function):
    @staticmethod
    # ctx is the first argument to forward
    def forward(ctx, input, weight, bias=None):
        # The forward pass can use ctx.
        ctx.save_for_backward(input, weight, bias)
        output = input.mm(weight.t())
        if bias is not None:
            output += bias.unsqueeze(0).expand_as(output)
        return output

    @staticmethod
    def backward(ctx, grad_output):
        input, weight, bias = ctx.saved_tensors
        grad_input = grad_weight = grad_bias = None

        if ctx.needs_input_grad[0]:
            grad_input = grad_output.mm(weight)
        if ctx.needs_input_grad[1]:
            grad_weight = grad_output.t().mm(input)
        if bias is not None and ctx.needs_input_grad[2]:
            grad_bias = grad_output.sum(0)

        return grad_input, grad_weight, grad_bias


class MulConstant(Function):
    @staticmethod
    def forward(tensor, constant):
        return tensor * constant

    @staticmethod
    def setup_context(ctx, inputs, output):
        # ctx is a context object that can be used to stash information
        # for backward computation
        tensor, constant = inputs
        ctx.constant = constant

    @staticmethod
    def backward(ctx, grad_output):
        # We return as many input gradients as there were arguments.
        # Gradients of non-Tensor arguments to forward must be None.
        return grad_output * ctx.constant, None


class SimpleFunc(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.set_materialize_grads(False)
        ctx.save_for_backward(x)
        return x.clone(), x.clone()

    @staticmethod
    @once_differentiable
    def backward(ctx, g1, g2):
        x, = ctx.saved_tensors
        grad_input = mg.zeros_like(x)
        if g1 is not None:  # We must check for None now
            grad_input += g1
        if g2 is not None:
            grad_input += g2
        return grad_input


def test_the_docs_examples_pass_gradcheck_and_gradgradcheck():
    # as in PyTorch's "Double Backward with Custom Functions" tutorial
    x = mg.rand(3, 3, requires_grad=True, dtype=mg.double)
    assert mg.autograd.gradcheck(Square.apply, x)
    assert mg.autograd.gradgradcheck(Square.apply, x)
    x = mg.tensor(1., requires_grad=True, dtype=mg.double).clone()
    assert mg.autograd.gradcheck(Exp.apply, x)
    assert mg.autograd.gradgradcheck(Exp.apply, x)
    x = mg.rand(3, 3, requires_grad=True, dtype=mg.double)
    assert mg.autograd.gradcheck(sinh, x)
    assert mg.autograd.gradgradcheck(sinh, x)
    assert mg.autograd.gradcheck(my_cube, x)
    assert mg.autograd.gradgradcheck(my_cube, x)
    # "Extending torch.autograd": gradcheck takes a tuple of Tensors as inputs
    linear = LinearFunction.apply
    input = (mg.randn(20, 20, dtype=mg.double, requires_grad=True),
             mg.randn(30, 20, dtype=mg.double, requires_grad=True))
    assert mg.autograd.gradcheck(linear, input, eps=1e-6, atol=1e-4)
    check_grads(lambda t: LegendrePolynomial3.apply(t), [leaf(np.linspace(-1, 1, 5))])


def test_the_docs_examples_match_torch(torch):
    """The same classes, written for torch, give the same values and gradients."""
    import torch.autograd as ta
    rng = np.random.default_rng(0)
    a, w, b = rng.standard_normal((4, 3)), rng.standard_normal((5, 3)), rng.standard_normal(5)
    namespace = {"mg": torch, "Function": ta.Function, "once_differentiable":
                 __import__("torch.autograd.function", fromlist=["x"]).once_differentiable}
    import inspect
    source = "\n".join(inspect.getsource(c) for c in (LinearFunction, Sinh, sinh, MyCube, my_cube,
                                                       MulConstant))
    exec(source.replace("mg.autograd.Function", "Function"), namespace)
    cases = [
        (lambda m, x, y, z: LinearFunction.apply(x, y, z),
         lambda x, y, z: namespace["LinearFunction"].apply(x, y, z)),
        (lambda m, x, y, z: sinh(x), lambda x, y, z: namespace["sinh"](x)),
        (lambda m, x, y, z: my_cube(y), lambda x, y, z: namespace["my_cube"](y)),
        (lambda m, x, y, z: MulConstant.apply(z, 2.5),
         lambda x, y, z: namespace["MulConstant"].apply(z, 2.5)),
    ]
    for ours, theirs in cases:
        xs = [mg.tensor(v, requires_grad=True) for v in (a, w, b)]
        ts = [torch.tensor(v, requires_grad=True) for v in (a, w, b)]
        y, ty = ours(mg, *xs), theirs(*ts)
        np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-12)
        g = rng.standard_normal(y.shape)
        y.backward(mg.tensor(g))
        ty.backward(torch.tensor(g))
        for x, t in zip(xs, ts):
            assert (x.grad is None) == (t.grad is None)
            if t.grad is not None:
                np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-12)


TUTORIAL = '''
import math

import minigan as mg

dtype = mg.float
device = mg.device("cpu")
# device = mg.device("cuda:0")  # Uncomment this to run on GPU

# Create Tensors to hold input and outputs.
# By default, requires_grad=False, which indicates that we do not need to
# compute gradients with respect to these Tensors during the backward pass.
x = mg.linspace(-math.pi, math.pi, 2000, device=device, dtype=dtype)
y = mg.sin(x)

# Create random Tensors for weights. For this example, we need
# 4 weights: y = a + b * P3(c + d * x), these weights need to be initialized
# not too far from the correct result to ensure convergence.
# Setting requires_grad=True indicates that we want to compute gradients with
# respect to these Tensors during the backward pass.
a = mg.full((), 0.0, device=device, dtype=dtype, requires_grad=True)
b = mg.full((), -1.0, device=device, dtype=dtype, requires_grad=True)
c = mg.full((), 0.0, device=device, dtype=dtype, requires_grad=True)
d = mg.full((), 0.3, device=device, dtype=dtype, requires_grad=True)

learning_rate = 5e-6
for t in range(2000):
    # To apply our Function, we use Function.apply method. We alias this as 'P3'.
    P3 = LegendrePolynomial3.apply

    # Forward pass: compute predicted y using operations; we compute
    # P3 using our custom autograd operation.
    y_pred = a + b * P3(c + d * x)

    # Compute and print loss
    loss = (y_pred - y).pow(2).sum()
    if t % 100 == 99:
        print(t, loss.item())

    # Use autograd to compute the backward pass.
    loss.backward()

    # Update weights using gradient descent
    with mg.no_grad():
        a -= learning_rate * a.grad
        b -= learning_rate * b.grad
        c -= learning_rate * c.grad
        d -= learning_rate * d.grad

        # Manually zero the gradients after updating weights
        a.grad = None
        b.grad = None
        c.grad = None
        d.grad = None

print(f'Result: y = {a.item()} + {b.item()} * P3({c.item()} + {d.item()} x)')
'''


def _run_tutorial(lib, steps: int) -> dict:
    """The tutorial's script in ``lib`` (minigan, or torch itself), ``steps`` iterations."""
    source = TUTORIAL.replace("import minigan as mg", "").replace("range(2000)", f"range({steps})")
    namespace = {"mg": lib, "LegendrePolynomial3": LegendrePolynomial3, "print": lambda *a: None}
    if lib is not mg:
        namespace["LegendrePolynomial3"] = _torch_legendre(lib)
    exec(compile(source, "tutorial", "exec"), namespace)
    return {k: namespace[k].item() for k in "abcd"}


def _torch_legendre(torch):
    class LegendrePolynomial3(torch.autograd.Function):
        forward = staticmethod(globals()["LegendrePolynomial3"].forward)
        backward = staticmethod(globals()["LegendrePolynomial3"].backward)
    return LegendrePolynomial3


def test_pytorch_tutorial_polynomial_custom_function_runs_as_written(torch):
    """PyTorch's "Defining New autograd Functions" tutorial, torch renamed to mg, against
    torch itself (linspace, sin, full, apply, the in-place updates of leaves under no_grad);
    300 of its 2000 steps here, all of them in the slow test below."""
    ours, theirs = _run_tutorial(mg, 300), _run_tutorial(torch, 300)
    for k in "abcd":
        assert ours[k] == pytest.approx(theirs[k], rel=1e-3, abs=1e-5), k


@pytest.mark.slow
def test_pytorch_tutorial_all_2000_steps(torch):
    ours, theirs = _run_tutorial(mg, 2000), _run_tutorial(torch, 2000)
    for k in "abcd":
        assert ours[k] == pytest.approx(theirs[k], rel=1e-3, abs=1e-5), k


# ============================================================================ the ctx API


def test_forward_gets_tensors_with_recording_off_and_needs_input_grad():
    seen = {}

    class Probe(Function):
        @staticmethod
        def forward(ctx, x, k, y=None):
            seen["grad_enabled"] = mg.is_grad_enabled()
            seen["needs"] = ctx.needs_input_grad
            seen["types"] = (type(x), type(k))
            return x * k

        @staticmethod
        def backward(ctx, g):
            seen["backward_grad_enabled"] = mg.is_grad_enabled()
            return g * 2.0, None, None

    x = leaf(np.ones(3))
    y = Probe.apply(x, 3.0, mg.ones(1))
    assert seen == {"grad_enabled": False, "needs": (True, False, False),
                    "types": (mg.Tensor, float)}
    assert mg.is_grad_enabled()
    assert type(y.grad_fn).__name__ == "ProbeBackward" and repr(y).endswith("grad_fn=<ProbeBackward>)")
    y.sum().backward()
    assert x.grad.tolist() == [2.0] * 3 and seen["backward_grad_enabled"] is False
    with mg.no_grad():
        z = Probe.apply(x, 3.0)
    assert not z.requires_grad and z.grad_fn is None


def test_apply_returns_new_tensors_and_passes_non_tensors():
    class Passthrough(Function):
        @staticmethod
        def forward(ctx, x):
            return x, 5

        @staticmethod
        def backward(ctx, g, g_int):
            assert g_int is None
            return g * 3.0

    x = leaf(np.ones(2))
    y, five = Passthrough.apply(x)
    assert five == 5 and y is not x and y.grad_fn is not None and x.grad_fn is None
    y.sum().backward()
    assert x.grad.tolist() == [3.0, 3.0]


def test_mark_non_differentiable_and_integer_outputs():
    class ArgmaxToo(Function):
        @staticmethod
        def forward(ctx, x):
            idx = x.argmax()
            mask = (x > 0) * 1.0
            ctx.mark_non_differentiable(mask)
            return x * 2.0, idx, mask

        @staticmethod
        def backward(ctx, g, g_idx, g_mask):
            assert g_idx.tolist() == 0 and g_mask.tolist() == [0.0, 0.0, 0.0]  # zeros arrive
            return g * 2.0

    x = leaf(np.array([1.0, -2.0, 3.0]))
    y, idx, mask = ArgmaxToo.apply(x)
    assert y.requires_grad and not idx.requires_grad and not mask.requires_grad
    assert mask.grad_fn is None
    y.sum().backward()
    assert x.grad.tolist() == [2.0, 2.0, 2.0]


def test_set_materialize_grads_false_passes_none(torch):
    a = mg.tensor(1., requires_grad=True)
    b, _ = SimpleFunc.apply(a)
    b.backward()  # Only need to compute g1
    assert a.grad.item() == 1.0


def test_once_differentiable_refuses_a_second_derivative():
    x = leaf(np.ones(2))
    b, c = SimpleFunc.apply(x)
    (g,) = mg.grad((b * b).sum(), x, create_graph=True)
    assert g.tolist() == [2.0, 2.0]
    with pytest.raises(RuntimeError, match="once_differentiable"):
        g.sum().backward()


def test_backward_that_returns_the_wrong_number_or_kind_of_gradients(torch):
    class TooFew(Function):
        @staticmethod
        def forward(ctx, x, k):
            return x * k

        @staticmethod
        def backward(ctx, g):
            return g

    class GradForAConstant(Function):
        @staticmethod
        def forward(ctx, x, k):
            return x * k

        @staticmethod
        def backward(ctx, g):
            return g, g

    class WrongShape(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return mg.ones(3)

    class Broadcast(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return mg.ones(3, 2, dtype=mg.double)  # summed back to (2,), as PyTorch

    x = leaf(np.ones(2))
    with pytest.raises(RuntimeError, match=r"function TooFewBackward returned an incorrect "
                                           r"number of gradients \(expected 2, got 1\)"):
        TooFew.apply(x, 3).sum().backward()
    with pytest.raises(RuntimeError, match=r"function GradForAConstantBackward returned a "
                                           r"gradient different than None at position 2"):
        GradForAConstant.apply(x, 3).sum().backward()
    with pytest.raises(RuntimeError, match=r"WrongShapeBackward returned an invalid gradient at "
                                           r"index 0 - got \[3\] but expected shape compatible "
                                           r"with \[2\]"):
        WrongShape.apply(x).sum().backward()
    Broadcast.apply(x).sum().backward()
    assert x.grad.tolist() == [3.0, 3.0]


def test_saved_tensor_modified_in_place_raises_pytorchs_error(torch):
    x = leaf(np.ones(2))
    y = Exp.apply(x)
    with mg.no_grad():
        y.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()
    tx = torch.ones(2, dtype=torch.float64, requires_grad=True)
    class TExp(torch.autograd.Function):
        forward = staticmethod(Exp.forward)
        backward = staticmethod(Exp.backward)
    ty = TExp.apply(tx)
    with torch.no_grad():
        ty.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        ty.sum().backward()


def test_saved_tensors_are_freed_after_backward():
    x = leaf(np.ones(2))
    y = Square.apply(x)
    y.sum().backward()
    with pytest.raises(RuntimeError, match="a second time"):
        y.sum().backward()


def test_ctx_graph_holds_no_reference_cycle():
    import gc
    import weakref
    x = leaf(np.ones(2))
    y = Exp.apply(x)  # the saved output comes back through the graph, not a strong reference
    node = weakref.ref(y.grad_fn)
    gc.disable()
    try:
        del y
        assert node() is None
    finally:
        gc.enable()


# ============================================================================ minigan's style


def test_minigan_style_apply():
    x = leaf(np.array([1.0, 2.0]))
    Cube.apply(x).sum().backward()
    assert x.grad.tolist() == [3.0, 12.0]


def test_one_instance_called_twice_keeps_both_calls_gradients():
    cube = Cube()
    x, z = leaf(np.array([1.0, 2.0])), leaf(np.array([3.0]))
    y1, y2 = cube(x), cube(z)
    assert y1.grad_fn is not y2.grad_fn
    (y1.sum() + y2.sum()).backward()
    assert x.grad.tolist() == [3.0, 12.0] and z.grad.tolist() == [27.0]
    x.grad = None
    for _ in range(3):  # again after each backward: the instance itself is never freed
        cube(x).sum().backward()
    assert x.grad.tolist() == [9.0, 36.0]


def test_a_held_instance_keeps_what_its_forward_saved():
    class Saves(Function):
        def forward(self, x):
            self.seen = x.shape
            return x * 2

        def backward(self, gy):
            return gy * 2

    f = Saves()
    f(leaf(np.ones(3)))
    assert f.seen == (3,)  # callers may read what forward saved (batch_norm does)


# ---------------------------------------------------------------------------- ctx.mark_dirty


class _Double(Function):
    """PyTorch's in-place custom Function: forward writes its input and marks it dirty."""

    @staticmethod
    def forward(ctx, x):
        x.mul_(2.0)
        ctx.mark_dirty(x)
        return x

    @staticmethod
    def backward(ctx, g):
        return g * 2.0


class _AddOneSaved(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        x.add_(1.0)
        ctx.mark_dirty(x)
        return x

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors  # the value after the write, as PyTorch's
        return g * x


def test_mark_dirty_returns_the_input_itself_as_the_output_like_torch(torch):
    data = np.array([0.5, -1.0, 2.0])
    a = leaf(data)
    b = a.clone()
    c = _Double.apply(b)
    assert c is b and type(c.grad_fn).__name__ == "_DoubleBackward"
    assert c.tolist() == (data * 2).tolist()
    c.sum().backward()
    assert a.grad.tolist() == [2.0, 2.0, 2.0]

    class TDouble(torch.autograd.Function):
        forward = staticmethod(lambda ctx, x: (x.mul_(2.0), ctx.mark_dirty(x))[0])
        backward = staticmethod(lambda ctx, g: g * 2.0)
    ta = torch.tensor(data, requires_grad=True)
    tc = TDouble.apply(ta.clone())
    tc.sum().backward()
    assert ta.grad.tolist() == a.grad.tolist()

    a2 = leaf(data)
    y = _AddOneSaved.apply(a2.clone())
    y.sum().backward()
    ta2 = torch.tensor(data, requires_grad=True)

    class TAddOne(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            x.add_(1.0)
            ctx.mark_dirty(x)
            return x

        @staticmethod
        def backward(ctx, g):
            x, = ctx.saved_tensors
            return g * x
    TAddOne.apply(ta2.clone()).sum().backward()
    np.testing.assert_allclose(a2.grad.numpy(), ta2.grad.numpy())


def test_mark_dirty_refuses_a_leaf_that_requires_grad_and_guards_earlier_ops():
    a = leaf(np.array([1.0, 2.0]))
    with pytest.raises(RuntimeError, match="_Double: a leaf Variable that requires grad has been "
                                           "used in an in-place operation"):
        _Double.apply(a)
    with mg.no_grad():  # allowed without recording, as in PyTorch
        plain = mg.ones(2)
        assert _Double.apply(plain) is plain and plain.tolist() == [2.0, 2.0]
    b = a * 1.0
    s = b * b           # saved b's old value
    _Double.apply(b)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        s.sum().backward()
