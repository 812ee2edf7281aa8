"""einsum (ops/einsum.py): PyTorch's syntax (implicit output, '...', repeated labels,
broadcasting size-1 dims, the sublist form), against NumPy's einsum, finite differences of
first and second order over drawn equations and shapes, PyTorch in float32 / float64
(forward, backward, double backward), and the errors."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigan as mg
from strategies import check_against_torch, check_grads, leaf

LETTERS = "abcdeBC"


@st.composite
def equations(draw):
    """A random equation over 1-3 operands with its shapes: shared, summed, repeated and
    broadcast (size-1) labels, an optional '...', implicit or explicit output."""
    n_ops = draw(st.integers(1, 3))
    size = {c: draw(st.integers(2, 3)) for c in LETTERS}
    dots = draw(st.integers(0, 2)) if draw(st.booleans()) else None
    dot_sizes = [draw(st.integers(2, 3)) for _ in range(dots or 0)]
    terms, shapes = [], []
    for _ in range(n_ops):
        labels = draw(st.lists(st.sampled_from(LETTERS), min_size=1 if n_ops == 1 else 0,
                               max_size=3))
        shape = [1 if draw(st.integers(0, 5)) == 0 else size[c] for c in labels]
        term = "".join(labels)
        if dots is not None and draw(st.booleans()):
            k = draw(st.integers(0, dots))
            where = draw(st.integers(0, len(labels)))
            term = term[:where] + "..." + term[where:]
            shape[where:where] = [1 if draw(st.booleans()) else n for n in dot_sizes[dots - k:]]
        terms.append(term)
        shapes.append(shape)
    shapes = [_fix_repeats(t, s) for t, s in zip(terms, shapes)]
    lhs = ",".join(terms)
    if draw(st.booleans()):
        used = sorted({c for t in terms for c in t if c != "."})
        out = "".join(draw(st.permutations(draw(st.lists(st.sampled_from(used), unique=True))
                                           if used else [])))
        if "..." in lhs and draw(st.booleans()):
            out = "..." + out
        return lhs + "->" + out, shapes
    return lhs, shapes


def _fix_repeats(term: str, shape: list) -> tuple:
    """Within one operand a repeated label's dims must agree: give them the first one's size."""
    labels = list(term.replace("...", "@"))
    dims = []
    for c in labels:
        if c == "@":
            n_dots = len(shape) - (len(labels) - 1)
            dims.extend(("@", i) for i in range(n_dots))
        else:
            dims.append(c)
    first = {}
    out = []
    for d, n in zip(dims, shape):
        if isinstance(d, str):
            n = first.setdefault(d, n)
        out.append(n)
    return tuple(out)


def _arrays(shapes, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s) for s in shapes]


@settings(max_examples=40)
@given(case=equations())
def test_einsum_matches_numpy(device, case):
    eq, shapes = case
    arrays = _arrays(shapes)
    try:
        expected = np.einsum(eq, *arrays)
    except ValueError:  # NumPy does not broadcast size-1 labels; PyTorch and we do
        return
    got = mg.einsum(eq, *[mg.tensor(a, device=device) for a in arrays])
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-10, atol=1e-12)


@settings(max_examples=20)
@given(equations())
def test_einsum_gradcheck_and_gradgradcheck(device, case):
    eq, shapes = case
    inputs = [leaf(a, device) for a in _arrays(shapes)]
    check_grads(lambda *t: mg.einsum(eq, *t), inputs)


@settings(max_examples=20)
@given(equations(), st.sampled_from([np.float64, np.float32]))
def test_einsum_like_torch(torch, case, dtype):
    eq, shapes = case
    check_against_torch(torch, lambda *t: mg.einsum(eq, *t), lambda *t: torch.einsum(eq, *t),
                        _arrays(shapes, 1), dtype=dtype)


@pytest.mark.parametrize("eq, shapes", [
    ("ij,jk", [(2, 3), (3, 4)]), ("ij,jk->ki", [(2, 3), (3, 4)]), ("bij,bjk->bik", [(2, 2, 3), (2, 3, 2)]),
    ("ii", [(3, 3)]), ("ii->i", [(3, 3)]), ("iij->ji", [(3, 3, 2)]), ("i,i", [(3,), (1,)]),
    ("aB,Ca", [(2, 3), (4, 2)]), ("aB,cA", [(2, 3), (4, 2)]), ("...ij,...jk", [(5, 2, 3), (3, 4)]),
    ("...ij,...jk->ik", [(5, 2, 3), (3, 4)]), ("i...,i...", [(3, 2), (3, 1)]), ("...", [()]),
    ("ij->", [(2, 3)]), ("i,j->ij", [(0,), (2,)]), ("ab,bc,cd->ad", [(2, 3), (3, 4), (4, 5)]),
    (" i j , j k -> i k ", [(2, 3), (3, 4)]), ("ij->...ij", [(2, 3)]),
])
def test_einsum_fixed_cases_like_torch(torch, eq, shapes):
    check_against_torch(torch, lambda *t: mg.einsum(eq, *t), lambda *t: torch.einsum(eq, *t),
                        _arrays(shapes))


def test_einsum_other_call_forms(torch):
    a, b = _arrays([(2, 3), (3, 4)])
    ta, tb = torch.tensor(a), torch.tensor(b)
    ma, mb = mg.tensor(a), mg.tensor(b)
    np.testing.assert_allclose(mg.einsum("ij,jk", [ma, mb]).numpy(), torch.einsum("ij,jk", [ta, tb]).numpy())
    np.testing.assert_allclose(mg.einsum(ma, [0, 1], mb, [1, 2], [2, 0]).numpy(),
                               torch.einsum(ta, [0, 1], tb, [1, 2], [2, 0]).numpy())
    np.testing.assert_allclose(mg.einsum(ma, [Ellipsis, 1], [1]).numpy(),
                               torch.einsum(ta, [Ellipsis, 1], [1]).numpy())
    ints = mg.einsum("ij,jk", mg.tensor(np.ones((2, 3), np.int64)), mg.tensor(np.ones((3, 2), np.int64)))
    assert ints.dtype == np.int64 and ints.tolist() == [[3, 3], [3, 3]]


def test_einsum_third_order_like_torch(torch):
    """The backward is an einsum, so it differentiates again and again."""
    a, b = _arrays([(2, 3), (3, 2)], 2)

    def third(lib, grad, x, y):
        z = lib.einsum("ij,jk->ik", x, y) ** 3
        gx, = grad(z.sum(), [x], create_graph=True)
        gy, = grad((gx * gx).sum(), [y], create_graph=True)
        return grad((gy * y).sum(), [x, y])
    ours = third(mg, mg.grad, leaf(a), leaf(b))
    theirs = third(torch, torch.autograd.grad, torch.tensor(a, requires_grad=True),
                   torch.tensor(b, requires_grad=True))
    for o, t in zip(ours, theirs):
        np.testing.assert_allclose(o.numpy(), t.numpy(), rtol=1e-10)


@pytest.mark.parametrize("call, error, message", [
    (lambda: mg.einsum("ij,jk->ii", mg.ones(2, 3), mg.ones(3, 4)), mg.ArgumentError,
     r"einsum: output subscript 'i' appears more than once"),
    (lambda: mg.einsum("ij,jk->l", mg.ones(2, 3), mg.ones(3, 4)), mg.ArgumentError,
     r"einsum: output subscript 'l' does not appear in any operand"),
    (lambda: mg.einsum("ij,jk", mg.ones(2, 3)), mg.ArgumentError,
     r"einsum: the equation 'ij,jk' has 2 operand\(s\) but 1 tensor\(s\) were given"),
    (lambda: mg.einsum("ijk", mg.ones(2, 3)), mg.ShapeError,
     r"einsum: operand 0 has 2 dims but its subscripts 'ijk' name 3"),
    (lambda: mg.einsum("i1", mg.ones(2, 3)), mg.ArgumentError, r"einsum: invalid subscript '1'"),
    (lambda: mg.einsum("ii", mg.ones(3, 2)), mg.ShapeError,
     r"einsum: subscript 'i' is repeated in operand 0 but its sizes differ \(3 and 2\)"),
    (lambda: mg.einsum("ij,jk", mg.ones(2, 3), mg.ones(4, 4)), mg.ShapeError,
     r"einsum: subscript 'j' has size 4 in operand 1 .* does not broadcast with size 3"),
    (lambda: mg.einsum("......", mg.ones(2, 3)), mg.ArgumentError, r"more than one ellipsis"),
    (lambda: mg.einsum("..i", mg.ones(2, 3)), mg.ArgumentError, r"not part of an ellipsis"),
    (lambda: mg.einsum("ij,jk", mg.ones(2, 3), mg.ones(3, 2, dtype="float64")), mg.DTypeError,
     r"einsum: operands have different dtypes"),
    (lambda: mg.einsum("ij", [[1.0]]), mg.DTypeError, r"einsum: operand 0 must be a Tensor"),
    (lambda: mg.einsum(3, mg.ones(2)), mg.DTypeError, r"einsum: equation must be a string"),
    (lambda: mg.einsum(mg.ones(2), [0], mg.ones(2)), mg.ArgumentError, r"einsum: in the sublist form"),
    (lambda: mg.einsum(mg.ones(2), [99]), mg.ArgumentError, r"einsum: subscript 99"),
])
def test_errors_name_the_op(call, error, message):
    with pytest.raises(error, match=message):
        call()
