"""einsum: Einstein summation in PyTorch's string syntax, differentiable to any order.

``einsum("bij,bjk->bik", a, b)`` multiplies and sums operands over their labelled dims:
each letter names a dim; a letter in several operands is the same dim (its sizes agree, or
are 1 and broadcast); letters missing from the output are summed over. ``...`` stands for
the dims no letter names (broadcast together, right-aligned). Without ``->`` the output is
``...`` followed by the letters used once, in alphabetical order (upper case first).
PyTorch's sublist form ``einsum(a, [0, 1], b, [1, 2], [0, 2])`` works too.

How: each operand's labels become small ints. First, per operand, with differentiable
ops: a repeated label takes the diagonal, a label no one else needs is summed, a size-1
dim that another operand has larger is broadcast. Then ``Einsum`` contracts the operands
pairwise, each pair as one batched GEMM (permute + reshape + ``matmul``: NumPy's own einsum
is 50-100x slower than tensordot without ``optimize``, see /work/shared/STYLE.md), always
the pair whose result is smallest first.

Derivative: the output is linear in each operand, so the gradient of operand k is again an
einsum, of the upstream gradient and the other operands, onto k's labels:

    y = einsum(A_1 ... A_n -> out)      dL/dA_k = einsum(g, A_1 .. A_k-1, A_k+1 .. A_n -> labels_k)

(after the preparation above every label of A_k appears in g or another operand, so this
is well defined), and being an einsum it differentiates again the same way.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .. import backend
from ..autograd import Function, Tensor
from ..errors import ArgumentError, DTypeError, ShapeError
from .args import tensor_arg

Labels = tuple  # of ints, one per dim

_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"  # PyTorch's order


# ============================================================================ parsing


def _parse_term(term: str, position: str) -> list:
    """'b...ij' -> ['b', Ellipsis, 'i', 'j']."""
    out: list = []
    k = 0
    while k < len(term):
        c = term[k]
        if c == ".":
            if term[k:k + 3] != "...":
                raise ArgumentError(f"einsum: '.' in {position} that is not part of an ellipsis "
                                    f"'...'")
            if Ellipsis in out:
                raise ArgumentError(f"einsum: more than one ellipsis '...' in {position}")
            out.append(Ellipsis)
            k += 3
            continue
        if c not in _LETTERS:
            raise ArgumentError(f"einsum: invalid subscript {c!r} in {position}; subscripts "
                                f"are letters a-z, A-Z")
        out.append(c)
        k += 1
    return out


def _parse(equation: str, n_operands: int) -> tuple[list, list | None]:
    """The equation as lists of subscripts per operand and for the output (None: implicit)."""
    equation = equation.replace(" ", "")
    lhs, arrow, rhs = equation.partition("->")
    terms = lhs.split(",")
    if len(terms) != n_operands:
        raise ArgumentError(f"einsum: the equation {equation!r} has {len(terms)} operand(s) "
                            f"but {n_operands} tensor(s) were given")
    inputs = [_parse_term(t, f"operand {i}") for i, t in enumerate(terms)]
    return inputs, (_parse_term(rhs, "the output") if arrow else None)


def _sublists(args: Sequence[Any]) -> tuple[list, list, list | None]:
    """einsum(a, [0, 1], b, [1, 2], [0, 2]): operands, their subscripts, the output's."""
    args = list(args)
    output = args.pop() if len(args) % 2 else None
    operands, subscripts = args[0::2], args[1::2]
    lists = subscripts + ([] if output is None else [output])
    if not all(isinstance(s, (list, tuple)) for s in lists):
        raise ArgumentError("einsum: in the sublist form each operand is followed by its list "
                            "of subscripts, and an optional last list is the output's")
    to_letter = {}

    def convert(sub: Any, position: str) -> list:
        out = []
        for s in sub:
            if s is Ellipsis:
                out.append(Ellipsis)
            elif isinstance(s, (int, np.integer)) and 0 <= s < len(_LETTERS):
                out.append(to_letter.setdefault(int(s), _LETTERS[int(s)]))
            else:
                raise ArgumentError(f"einsum: subscript {s!r} in {position} must be an int in "
                                    f"[0, {len(_LETTERS)}) or Ellipsis")
        return out
    inputs = [convert(s, f"operand {i}") for i, s in enumerate(subscripts)]
    return operands, inputs, (None if output is None else convert(output, "the output"))


def _labels(inputs: list, output: list | None, operands: list) -> tuple[list, Labels]:
    """Subscripts -> int labels (letters by PyTorch's order, the ellipsis dims after them),
    checked against the operands' dims."""
    ellipsis_dims = 0
    for i, (subs, x) in enumerate(zip(inputs, operands)):
        named = len(subs) - (Ellipsis in subs)
        if (Ellipsis in subs and x.ndim < named) or (Ellipsis not in subs and x.ndim != named):
            raise ShapeError(f"einsum: operand {i} has {x.ndim} dims but its subscripts "
                             f"{''.join('...' if s is Ellipsis else s for s in subs)!r} name "
                             f"{named}" + ("" if Ellipsis in subs else " and no ellipsis '...'"))
        if Ellipsis in subs:
            ellipsis_dims = max(ellipsis_dims, x.ndim - named)
    dots = tuple(range(len(_LETTERS), len(_LETTERS) + ellipsis_dims))

    def expand(subs: list, ndim: int) -> Labels:
        out: list = []
        for s in subs:
            if s is Ellipsis:
                k = ndim - (len(subs) - 1)
                out.extend(dots[len(dots) - k:] if k else ())
            else:
                out.append(_LETTERS.index(s))
        return tuple(out)
    labels = [expand(s, x.ndim) for s, x in zip(inputs, operands)]
    if output is None:  # implicit: the ellipsis dims, then the letters used once, sorted
        counts: dict = {}
        for lab in labels:
            for a in lab:
                counts[a] = counts.get(a, 0) + 1
        out = dots + tuple(sorted(a for a, c in counts.items() if c == 1 and a < len(_LETTERS)))
    else:
        out = expand(output, len(output) - (Ellipsis in output) + ellipsis_dims)
        used = {a for lab in labels for a in lab}
        for a in out:
            if a not in used:
                raise ArgumentError(f"einsum: output subscript {_LETTERS[a]!r} does not appear "
                                    f"in any operand")
        twice = [a for a in set(out) if out.count(a) > 1]
        if twice:
            raise ArgumentError(f"einsum: output subscript {_name(twice[0])} appears more than "
                                f"once")
    return labels, out


# ============================================================================ preparation


def _sizes(operands: Sequence[Tensor], labels: Sequence[Labels]) -> dict:
    """Each label's size: the same in every operand, or 1 there (broadcast)."""
    sizes: dict = {}
    for i, (x, lab) in enumerate(zip(operands, labels)):
        seen: dict = {}
        for a, n in zip(lab, x.shape):
            if a in seen and seen[a] != n:
                raise ShapeError(f"einsum: subscript {_name(a)} is repeated in operand {i} "
                                 f"but its sizes differ ({seen[a]} and {n}), shape {x.shape}")
            seen[a] = n
            if sizes.get(a, 1) != 1 and n not in (1, sizes[a]):
                raise ShapeError(f"einsum: subscript {_name(a)} has size {n} in operand {i} "
                                 f"(shape {x.shape}), which does not broadcast with size "
                                 f"{sizes[a]} elsewhere")
            if n != 1 or a not in sizes:
                sizes[a] = n
    return sizes


def _name(label: int) -> str:
    return repr(_LETTERS[label]) if label < len(_LETTERS) else "'...'"


def _diagonal(x: Tensor, lab: Labels) -> tuple[Tensor, Labels]:
    """Take the diagonal of every repeated label (x[i, i] for 'ii'), differentiably."""
    from .shape import getitem, permute
    while len(set(lab)) != len(lab):
        a = next(a for a in lab if lab.count(a) > 1)
        where = [k for k, b in enumerate(lab) if b == a]
        rest = [k for k in range(len(lab)) if k not in where]
        x = permute(x, tuple(where + rest))
        xp = backend.get_array_module(x.data)
        diag = xp.arange(x.shape[0])
        x = getitem(x, (diag,) * len(where))
        lab = (a,) + tuple(lab[k] for k in rest)
    return x, lab


def _prepare(operands: list, labels: list, out: Labels) -> tuple[list, list]:
    """Per operand: diagonals of repeated labels, sums over labels nobody else needs, and
    size-1 dims broadcast to the size other operands give them. Afterwards every label
    appears once per operand and has one size, so ``Einsum`` needs no special cases."""
    from .reduce import broadcast_to, sum as sum_
    sizes = _sizes(operands, labels)
    operands, labels = list(operands), list(labels)
    for i in range(len(operands)):
        operands[i], labels[i] = _diagonal(operands[i], labels[i])
    for i, (x, lab) in enumerate(zip(operands, labels)):
        others = set(out).union(*(set(b) for j, b in enumerate(labels) if j != i))
        alone = tuple(k for k, a in enumerate(lab) if a not in others)
        if alone:
            x = sum_(x, alone)
            lab = tuple(a for a in lab if a in others)
        full = tuple(sizes[a] for a in lab)
        if x.shape != full:
            x = broadcast_to(x, full)
        operands[i], labels[i] = x, lab
    return operands, labels


# ============================================================================ contraction kernel


def _contract_pair(a, la: Labels, b, lb: Labels, keep: set):
    """a (labels la) times b (labels lb), summed over the shared labels not in ``keep``: one
    batched GEMM (batch = shared kept labels, rows = a's own, inner = summed, columns = b's own)."""
    xp = backend.get_array_module(a)
    a, la = _sum_unneeded(a, la, set(lb) | keep)
    b, lb = _sum_unneeded(b, lb, set(la) | keep)
    batch = [x for x in la if x in lb and x in keep]
    inner = [x for x in la if x in lb and x not in keep]
    rows = [x for x in la if x not in lb]
    cols = [x for x in lb if x not in la]
    size = dict(zip(la, a.shape)) | dict(zip(lb, b.shape))

    def matrix(array, labels: Labels, groups: list):
        order = [labels.index(x) for group in groups for x in group]
        dims = [int(np.prod([size[x] for x in group], dtype=np.int64)) for group in groups]
        return array.transpose(order).reshape(dims)
    y = xp.matmul(matrix(a, la, [batch, rows, inner]), matrix(b, lb, [batch, inner, cols]))
    return y.reshape([size[x] for x in batch + rows + cols]), tuple(batch + rows + cols)


def _sum_unneeded(a, labels: Labels, needed: set):
    """a summed over its labels that are not ``needed``."""
    summed = tuple(k for k, x in enumerate(labels) if x not in needed)
    if not summed:
        return a, labels
    return a.sum(axis=summed), tuple(x for x in labels if x in needed)


def _contract(arrays: list, labels: list, out: Labels):
    """All operands contracted into the output labels ``out``."""
    arrays, labels = list(arrays), list(labels)
    sizes = {x: n for a, lab in zip(arrays, labels) for x, n in zip(lab, a.shape)}
    while len(arrays) > 1:
        best = None
        for i in range(len(arrays)):
            for j in range(i + 1, len(arrays)):
                keep = set(out).union(*(set(l) for k, l in enumerate(labels) if k not in (i, j)))
                kept = (set(labels[i]) | set(labels[j])) & keep
                cost = int(np.prod([sizes[x] for x in kept], dtype=np.int64))
                if best is None or cost < best[0]:
                    best = (cost, i, j, keep)
        _, i, j, keep = best
        y, ly = _contract_pair(arrays[i], labels[i], arrays[j], labels[j], keep)
        arrays = [a for k, a in enumerate(arrays) if k not in (i, j)] + [y]
        labels = [l for k, l in enumerate(labels) if k not in (i, j)] + [ly]
    y, ly = _sum_unneeded(arrays[0], labels[0], set(out))
    if ly == out:
        return y
    return backend.get_array_module(y).ascontiguousarray(y.transpose([ly.index(x) for x in out]))


class Einsum(Function):
    """y = the contraction of the operands (each label once per operand, one size each)
    onto ``out``; the gradient of each operand is the einsum of g and the others."""

    def __init__(self, labels: list, out: Labels) -> None:
        self.labels, self.out = labels, out

    def forward(self, *arrays):
        return _contract(list(arrays), self.labels, self.out)

    def backward(self, gy):
        grads = []
        for k, need in enumerate(self.needs_input_grad):
            if not need:
                grads.append(None)
                continue
            others = [x for j, x in enumerate(self.inputs) if j != k]
            other_labels = [lab for j, lab in enumerate(self.labels) if j != k]
            grads.append(_einsum([gy] + others, [self.out] + other_labels, self.labels[k]))
        return tuple(grads)


def _einsum(operands: list, labels: list, out: Labels) -> Tensor:
    operands, labels = _prepare(operands, labels, out)
    if len(operands) == 1 and labels[0] == out:
        return operands[0]
    return Einsum(labels, out)(*operands)


# ============================================================================ public API


def einsum(equation: Any, *operands: Any) -> Tensor:
    """Einstein summation, as ``torch.einsum``: ``einsum("ij,jk->ik", a, b)`` is ``a @ b``;
    ``"ii"`` is the trace, ``"...ij->...ji"`` a batched transpose, ``"bi,bi->b"`` row-wise dot
    products. Operands may also be given as one list, or in PyTorch's sublist form.

    >>> import minigan as mg
    >>> mg.einsum("i,i->", mg.tensor([1.0, 2.0]), mg.tensor([3.0, 4.0])).item()
    11.0
    """
    if isinstance(equation, Tensor):
        operands, inputs, output = _sublists((equation,) + operands)
    else:
        if not isinstance(equation, str):
            raise DTypeError(f"einsum: equation must be a string, got {type(equation).__name__}")
        if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
            operands = tuple(operands[0])
        inputs, output = _parse(equation, len(operands))
    operands = [tensor_arg(x, "einsum", f"operand {i}") for i, x in enumerate(operands)]
    if not operands:
        raise ArgumentError("einsum: needs at least one operand")
    dtypes = {x.data.dtype for x in operands}
    if len(dtypes) > 1:
        raise DTypeError(f"einsum: operands have different dtypes {sorted(map(str, dtypes))}; "
                         f"cast them to one first")
    labels, out = _labels(inputs, output, operands)
    return _einsum(operands, labels, out)
