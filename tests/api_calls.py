"""The calls that tests/test_api_fuzz.py runs through minigan and PyTorch alike.

A call's arguments are written once, with placeholders that become a minigan tensor on one
side and a torch tensor on the other: ``f32(2, 3)`` (float32 values in [-2, 2) that require
grad), ``f64(...)``, ``ints(...)`` (int64), ``bools(...)``, ``D("float64")`` (a dtype).
Each table maps a public name to a list of ``Call``s; the families below (unary, binary,
reductions, ...) give the same representative calls to every op of a family: float32 and
float64, 0-d, empty, broadcasting, negative dims, keywords by PyTorch's names, int tensors,
and invalid inputs that PyTorch refuses (mismatched shapes, out-of-range dims, a Python
number where a tensor goes).

``Call.values=False`` compares shape and dtype only (random factories, uninitialised
memory); ``Call.known`` names a difference from PyTorch that is left alone on purpose (the
reason is the value), so the call is reported as skipped instead of compared.
"""
from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np


class A(NamedTuple):
    """A tensor argument: ``array`` on both sides, requiring grad where ``grad``."""
    array: np.ndarray
    grad: bool = False


class D(NamedTuple):
    """A dtype argument by name ("float32", "int64", "bool")."""
    name: str


class Call(NamedTuple):
    args: tuple
    kwargs: dict
    values: bool = True
    known: str | None = None


def C(*args: Any, values: bool = True, known: str | None = None, **kwargs: Any) -> Call:
    """One call: ``C(f32(2, 3), dim=1)`` is ``op(x, dim=1)`` on both sides."""
    return Call(args, kwargs, values, known)


_RNG = np.random.default_rng(20261202)


def _floats(shape: tuple, dtype: Any, low: float, high: float, grad: bool) -> A:
    return A(_RNG.uniform(low, high, shape).astype(dtype), grad)


def f32(*shape: int, low: float = -2.0, high: float = 2.0, grad: bool = True) -> A:
    return _floats(shape, np.float32, low, high, grad)


def f64(*shape: int, low: float = -2.0, high: float = 2.0, grad: bool = True) -> A:
    return _floats(shape, np.float64, low, high, grad)


def ints(*shape: int, low: int = -3, high: int = 4, dtype: Any = np.int64) -> A:
    return A(_RNG.integers(low, high, shape).astype(dtype))


def bools(*shape: int) -> A:
    return A(_RNG.integers(0, 2, shape).astype(bool))


def arr(values: Any, dtype: Any = np.float64, grad: bool = False) -> A:
    return A(np.asarray(values, dtype=dtype), grad)


MIXED = "minigan refuses float32 with float64 in one op (no implicit promotion; PyTorch " \
        "promotes to float64)"
NO_F16 = "float16 is outside minigan's scope (float32/float64)"

# ---------------------------------------------------------------------------- families


def unary(low: float = -2.0, high: float = 2.0, integer: bool = True) -> list[Call]:
    """A one-tensor elementwise op: float32, float64, 0-d, empty, int, a Python float."""
    calls = [C(f32(2, 3, low=low, high=high)), C(f64(4, low=low, high=high)),
             C(f64(low=low, high=high)), C(f32(0, 3)), C(3.0), C(None), C([1.0, 2.0]),
             C(arr([np.nan, np.inf, -np.inf, 0.0], grad=False)), C(bools(3)),
             C(A(np.ones(3, np.float16)), known=NO_F16)]
    if integer:
        calls.append(C(ints(2, 3, low=1, high=4)))
    return calls


def binary(integer: bool = True, scalar: bool = True, mixed: bool = True) -> list[Call]:
    """Two broadcasting tensors: float32, float64, a 0-d side, empty, a mismatch."""
    calls = [C(f32(2, 3, low=0.5), f32(3, low=0.5)), C(f64(2, 1), f64(1, 4)),
             C(f64(), f64(3)), C(f32(0, 3), f32(3)), C(f32(2, 3), f32(4)),
             C(f64(2, 3, low=0.5), f64(2, 3, low=0.5))]
    calls += [C(f64(3), None), C([1.0, 2.0], f64(2)), C(f64(2), "a"),
              C(arr([np.nan, np.inf, -np.inf, 1.0], grad=False), arr([1.0, np.inf, 2.0, np.nan])),
              C(A(np.ones(3, np.float16)), f64(3), known=NO_F16)]
    if scalar:
        calls += [C(f64(2, 3, low=0.5), 1.5), C(f32(3), 2), C(2.0, f64(3))]
    if integer:
        calls += [C(ints(2, 3, low=1), ints(3, low=1, high=3)), C(f32(3, low=0.5), ints(3, low=1))]
    if mixed:
        calls.append(C(f32(3), f64(3), known=MIXED))
    return calls


def comparison() -> list[Call]:
    return [C(f32(2, 3), f32(3)), C(f64(2, 1), f64(1, 4)), C(f64(2, 3), 0.5),
            C(ints(3), ints(3)), C(f32(2, 3), f32(4)), C(f64(), f64(0)), C(f64(3), None),
            C(arr([np.nan, 1.0]), arr([np.nan, np.inf])), C(bools(3), bools(3)), C(f64(3), "a")]


DIM_NONE = "minigan's dim=None reduces over every dim (its default), where PyTorch's max, " \
           "min, median, prod and logsumexp refuse None (sum, mean, amax take it)"


def reduction(keep: bool = True, tuple_dims: bool = True, full: bool = True,
              empty: bool = True, integer: bool = True, none: bool = True) -> list[Call]:
    """A reduction with PyTorch's ``dim`` / ``keepdim``."""
    calls = [C(f32(2, 3), 1), C(f64(2, 3, 4), dim=-1), C(f64(3, 4), 0),
             C(f64(2, 3), 2), C(f64(2, 3), -3), C(f64(2, 3), "0"), C(f64(), 0), C(f64(), -1),
             C(f64(2, 3), 1.5), C(f64(2, 3), dim=None, known=None if none else DIM_NONE),
             C(None), C(arr([[1.0, np.nan], [np.inf, 2.0]], grad=False), 1)]
    if full:
        calls += [C(f32(2, 3)), C(f64())]
    if keep:
        calls.append(C(f64(2, 3), 1, keepdim=True))
    if tuple_dims:
        calls += [C(f64(2, 3, 4), (0, 2)), C(f64(2, 3, 4), dim=(-1, 0), keepdim=True),
                  C(f64(2, 3), (1, 1))]
    if empty:
        calls.append(C(f64(0, 3), 1))
    if integer:
        calls.append(C(ints(2, 3), 1))
    return calls


def activation() -> list[Call]:
    """An activation (F.*): float32, float64, 0-d, empty, a Python float."""
    return [C(f32(2, 3)), C(f64(4, 5)), C(f64()), C(f32(0, 3)), C(3.0), C(None),
            C(arr([np.nan, np.inf, -np.inf, 0.0], grad=False)), C(ints(3)),
            C(A(np.ones(3, np.float16)), known=NO_F16)]


# ---------------------------------------------------------------------------- mg.*

POSITIVE_UNARY = "log log2 log10 sqrt rsqrt acosh arccosh".split()
UNARY_NAMES = ("abs acos acosh arccos arccosh arcsin arcsinh arctan arctanh asin asinh atan atanh "
               "ceil cos cosh erf erfc exp exp2 expm1 fix floor frac log log10 log1p log2 neg "
               "reciprocal round rsqrt sgn sigmoid sign sin sinh sqrt square tan tanh trunc "
               "isnan isinf isfinite isneginf isposinf logical_not").split()
BINARY_NAMES = ("add sub mul div divide true_divide pow maximum minimum atan2 arctan2 hypot "
                "remainder fmod floor_divide logical_and logical_or logical_xor").split()
COMPARISONS = "eq ne lt le gt ge".split()
#: reductions over ``dim`` with ``keepdim``: name -> options of ``reduction()``
REDUCTIONS = {
    "sum": {}, "mean": {"integer": False}, "prod": {"tuple_dims": False, "none": False},
    "amax": {}, "amin": {}, "logsumexp": {"full": False, "integer": False, "none": False},
    "std": {"integer": False}, "var": {"integer": False},
    "any": {}, "all": {}, "argmax": {"tuple_dims": False}, "argmin": {"tuple_dims": False},
    "max": {"tuple_dims": False, "empty": False, "none": False},
    "min": {"tuple_dims": False, "empty": False, "none": False},
    "median": {"tuple_dims": False, "empty": False, "none": False},
    "norm": {"integer": False},
}

_X = f64(2, 3)


def _mg_table() -> dict[str, list[Call]]:
    t: dict[str, list[Call]] = {}
    for name in UNARY_NAMES:
        t[name] = unary(low=1.1, high=3.0) if name in ("acosh", "arccosh") else \
            unary(low=0.2, high=2.0) if name in POSITIVE_UNARY else unary()
        t[name].append(C(f64(2, 3, low=-0.9, high=0.9)))
    t["round"] += [C(arr([[0.5, 1.5, 2.5], [-0.5, 1.25, 3.14159]], grad=True), decimals=1)]
    for name in BINARY_NAMES:
        t[name] = binary(mixed=name not in ("logical_and", "logical_or", "logical_xor"))
    t["pow"] += [C(ints(3, low=1), -1), C(ints(3, low=1), 2), C(2.0, f64(3)), C(f64(3, low=0.5), f64(3))]
    t["div"] += [C(f64(2, 3), f64(3, low=0.5), rounding_mode="floor"),
                 C(ints(2, 3), ints(3, low=1), rounding_mode="trunc"),
                 C(f64(3), f64(3), rounding_mode="ceil")]
    t["remainder"].append(C(ints(3), 0))
    for name in COMPARISONS:
        t[name] = comparison()
    for name, options in REDUCTIONS.items():
        t[name] = reduction(**options)
    t["sum"] += [C(f64(2, 3), dim=1, keepdim=True), C(bools(2, 3), 0), C(f64(2, 3), dtype=D("float64"))]
    t["mean"] += [C(ints(2, 3)), C(f64(0, 3))]
    t["max"] += [C(f64(2, 3), f64(3)), C(f64(0, 3)), C(f64(2, 3), dim=1)]
    t["min"] += [C(f64(2, 3), f64(3)), C(f64(0, 3)), C(f64(2, 3), 1.5)]
    t["norm"] += [C(f64(2, 3), 1), C(f64(2, 3), 2, dim=1), C(f64(2, 3), float("inf"), dim=0),
                  C(f64(2, 3), p="fro", dim=(0, 1))]
    t["std"] += [C(f64(2, 3), 1, correction=0), C(f64(2, 3), dim=1, unbiased=False)]
    t["var"] += [C(f64(2, 3), 1, correction=0), C(f64(1, 3), 0)]
    for name in ("cumsum", "cumprod"):
        t[name] = [C(f32(2, 3), 1), C(f64(2, 3), dim=-1), C(f64(), 0), C(f64(0, 3), 1),
                   C(f64(2, 3), 2), C(f64(2, 3)), C(ints(2, 3), 0), C(f64(2, 3), 0, dtype=D("float64"))]
    t["sort"] = [C(f32(2, 3)), C(f64(2, 3), dim=0), C(f64(2, 3), 1, True), C(f64(), 0),
                 C(f64(0, 3)), C(f64(2, 3), dim=2), C(ints(4), descending=True, stable=True)]
    t["argsort"] = [C(f64(2, 3)), C(f64(2, 3), dim=0, descending=True), C(f64(2, 3), dim=3), C(f64())]
    t["topk"] = [C(f32(2, 5), 2), C(f64(4, 5), 3, dim=0),
                 C(f64(2, 5), 2, largest=False), C(f64(2, 5), 6), C(f64(2, 5), -1), C(f64(), 1),
                 C(f64(2, 5), 0)]
    nan = arr([[np.nan, 1.0, 2.0], [0.5, np.nan, np.nan]], grad=True)  # PyTorch's NaN gradients
    for name in ("abs", "max", "min", "median"):
        t[name].append(C(nan))
    for name in ("maximum", "minimum"):
        t[name].append(C(nan, arr([[2.0, 1.0, np.nan], [0.5, 0.0, np.nan]], grad=True)))
    t["mode"] = [C(arr([[1, 2, 2], [3, 3, 1]], grad=False)), C(ints(2, 5), 0), C(ints(2, 5), 2)]
    t["logsumexp"] += [C(f64(2, 3))]
    t["median"] += [C(f64(2, 4))]
    # predicates of two tensors
    t["isclose"] = [C(f64(2, 3), f64(3)), C(f32(3), f32(3), rtol=0.5, atol=1.0),
                    C(arr([np.nan, 1.0]), arr([np.nan, 1.0]), equal_nan=True), C(f64(2), f64(3))]
    t["allclose"] = [C(f64(3), f64(3)), C(f64(3), f64(3), atol=10.0), C(f64(2), f64(3))]
    t["equal"] = [C(f64(3), f64(3)), C(arr([1.0, 2.0]), arr([1.0, 2.0])), C(f64(2), f64(3))]
    # elementwise with more arguments
    t["clamp"] = [C(f32(2, 3), -0.5, 0.5), C(f64(2, 3), min=0.0), C(f64(2, 3), max=0.3),
                  C(f64(3), f64(3, low=-3, high=-2), f64(3, low=2, high=3)),
                  C(f64(3)), C(ints(4), 0, 2), C(f64(), -1.0, 1.0), C(f64(0, 2), 0.0, 1.0)]
    t["clip"] = list(t["clamp"])
    t["lerp"] = [C(f32(2, 3), f32(2, 3), 0.3), C(f64(2, 3), f64(3), f64(2, 3)), C(f64(3), f64(4), 0.5),
                 C(f64(), f64(), 0.25)]
    t["where"] = [C(bools(2, 3), f32(2, 3), f32(3)), C(bools(3), f64(3), 0.0),
                  C(bools(2), f64(3), f64(3)), C(bools(2, 1), f64(1, 3), f64(2, 1))]
    # shapes
    t["reshape"] = [C(f32(2, 3), (3, 2)), C(f64(2, 3), (-1,)), C(f64(2, 3), (4, -1)),
                    C(f64(), (1, 1)), C(f64(0, 3), (3, 0)), C(f64(2, 3), (-1, -1))]
    t["flatten"] = [C(f32(2, 3, 4)), C(f64(2, 3, 4), 1), C(f64(2, 3, 4), start_dim=0, end_dim=-2),
                    C(f64()), C(f64(2, 3), 2), C(f64(2, 3, 4), 2, 1)]
    t["unflatten"] = [C(f64(2, 6), 1, (2, 3)), C(f64(2, 6), -1, (3, -1)), C(f64(2, 6), 1, (4, 2)),
                      C(f64(6), 0, (2, 3))]
    t["squeeze"] = [C(f64(2, 1, 3)), C(f64(2, 1, 3), 1), C(f64(2, 1, 3), 0), C(f64(1, 1), (0, 1)),
                    C(f64(), 0), C(f64(2, 1), 3)]
    t["unsqueeze"] = [C(f64(2, 3), 0), C(f64(2, 3), -1), C(f64(2, 3), 3), C(f64(), 0), C(f64(2), -3)]
    t["transpose"] = [C(f32(2, 3), 0, 1), C(f64(2, 3, 4), -1, 0), C(f64(2, 3), 0, 2), C(f64(), 0, -1)]
    t["swapaxes"] = t["swapdims"] = list(t["transpose"])
    t["permute"] = [C(f64(2, 3, 4), (2, 0, 1)), C(f64(2, 3, 4), (-1, 0, 1)), C(f64(2, 3), (0, 0)),
                    C(f64(2, 3), (0,)), C(f64(), ()), C(f64(), (0,))]
    t["t"] = [C(f64(2, 3)), C(f64(3)), C(f64()), C(f64(2, 3, 4))]
    t["expand"] = [C(f64(3, 1), (3, 4)), C(f64(3, 1), (2, 3, 4)), C(f64(3, 1), (-1, 2)),
                   C(f64(3, 2), (3, 4)), C(f64(), (2,))]
    t["broadcast_to"] = [C(f64(3, 1), (3, 4)), C(f64(1), (2, 3)), C(f64(3, 2), (3, 4)), C(f64(), ())]
    t["split"] = [C(f64(5, 2), 2), C(f64(5, 2), [1, 4]), C(f64(5, 2), 1, dim=1), C(f64(5, 2), [1, 1]),
                  C(f64(5, 2), 2, 2)]
    t["chunk"] = [C(f64(5, 2), 2), C(f64(5, 2), 3, dim=0), C(f64(5, 2), 2, -1), C(f64(5, 2), 0),
                  C(f64(5, 2), 1, 2)]
    t["unbind"] = [C(f64(2, 3)), C(f64(2, 3), 1), C(f64(2, 3), dim=-1), C(f64(2, 3), 2), C(f64())]
    t["stack"] = [C([f32(2, 3), f32(2, 3)]), C([f64(2), f64(2)], 1), C([f64(2), f64(2)], dim=-1),
                  C([f64(2), f64(3)]), C([]), C([f64(), f64()])]
    t["cat"] = t["concat"] = [C([f32(2, 3), f32(1, 3)]), C([f64(2, 1), f64(2, 3)], 1),
                              C([f64(2, 1), f64(2, 3)], dim=-1), C([f64(2, 1), f64(2, 3)]), C([]),
                              C([f64(), f64()])]
    t["flip"] = [C(f64(2, 3), (0,)), C(f64(2, 3), (0, 1)), C(f64(2, 3), [-1]), C(f64(2, 3), (2,)),
                 C(f64(), (0,))]
    t["roll"] = [C(f64(2, 3), 1), C(f64(2, 3), 1, 1), C(f64(2, 3), (1, 2), (0, 1)),
                 C(f64(2, 3), shifts=-1, dims=-1), C(f64(2, 3), 1, 2)]
    t["tile"] = [C(f64(2, 3), (2,)), C(f64(2, 3), (2, 1, 2)), C(f64(), (3,)), C(f64(2), (-1,))]
    t["repeat_interleave"] = [C(f64(2, 3), 2), C(f64(2, 3), 2, dim=1),
                              C(f64(2, 3), ints(2, low=0, high=3), dim=0), C(f64(2, 3), -1)]
    t["movedim"] = t["moveaxis"] = [C(f64(2, 3, 4), 0, -1), C(f64(2, 3, 4), (0, 1), (2, 0)),
                                    C(f64(2, 3), 0, 2), C(f64(2, 3), (0, 0), (1, 0))]
    t["narrow"] = [C(f64(4, 3), 0, 1, 2), C(f64(4, 3), -1, 0, 3), C(f64(4, 3), 0, 3, 2),
                   C(f64(4, 3), 2, 0, 1)]
    t["tril"] = [C(f64(3, 4)), C(f64(3, 4), 1), C(f64(2, 3, 3), diagonal=-1), C(f64(3)), C(ints(3, 3))]
    t["triu"] = list(t["tril"])
    idx = lambda *shape, high=3: ints(*shape, low=0, high=high)  # noqa: E731
    t["gather"] = [C(f64(3, 4), 1, idx(3, 2, high=4)), C(f64(3, 4), 0, idx(2, 4)),
                   C(f64(3, 4), -1, idx(3, 2, high=4)), C(f64(3, 4), 1, arr([[5]], np.int64)),
                   C(f64(3, 4), 1, f64(3, 2)), C(f64(3, 4), 2, idx(3, 2))]
    t["take_along_dim"] = [C(f64(3, 4), idx(3, 2, high=4), 1), C(f64(3, 4), idx(5, high=12)),
                           C(f64(3, 4), idx(3, 2), dim=-1)]
    t["index_select"] = [C(f64(3, 4), 0, idx(2)), C(f64(3, 4), 1, idx(5, high=4)),
                         C(f64(3, 4), -1, idx(2)), C(f64(3, 4), 0, arr([3], np.int64)),
                         C(f64(3, 4), 0, f64(2))]
    t["scatter"] = [C(f64(3, 4), 1, arr([[0, 1], [2, 3], [1, 0]], np.int64), f64(3, 2)),
                    C(f64(3, 4), 0, arr([[0, 1, 2, 0]], np.int64), 2.5),
                    C(f64(3, 4), 1, arr([[0], [1], [9]], np.int64), f64(3, 1))]
    t["scatter_add"] = [C(f64(3, 4), 1, arr([[0, 0], [2, 3], [1, 1]], np.int64), f64(3, 2)),
                        C(f64(3, 4), 0, arr([[0, 1, 2, 0]], np.int64), f64(1, 4)),
                        C(f64(3, 4), 1, arr([[0], [1], [9]], np.int64), f64(3, 1))]
    t["masked_fill"] = [C(f64(2, 3), bools(2, 3), 0.5), C(f64(2, 3), bools(3), -1.0),
                        C(f64(2, 3), bools(4), 0.0), C(f64(2, 3), ints(2, 3), 0.0)]
    t["masked_select"] = [C(f64(2, 3), bools(2, 3)), C(f64(2, 3), bools(3)), C(f64(2, 3), bools(4))]
    t["nonzero"] = [C(ints(2, 3, low=0, high=2)), C(f64(4)), C(ints(3), as_tuple=True), C(f64())]
    t["einsum"] = [C("ij,jk->ik", f64(2, 3), f64(3, 4)), C("ii->i", f64(3, 3)), C("bij->bji", f32(2, 3, 4)),
                   C("ij,jk->ik", f64(2, 3), f64(4, 4)), C("i,i->", f64(3), f64(3))]
    t["matmul"] = [C(f32(2, 3), f32(3, 4)), C(f64(3), f64(3, 2)), C(f64(2, 3, 4), f64(4)),
                   C(f64(5, 2, 3), f64(3, 4)), C(f64(2, 3), f64(2, 3)), C(f64(), f64(3)),
                   C(ints(2, 3), ints(3, 2))]
    t["mm"] = [C(f64(2, 3), f64(3, 4)), C(f64(3), f64(3, 2)), C(f64(2, 3), f64(2, 3))]
    t["pad"] = [C(f64(2, 3), (1, 2)), C(f64(2, 3), (1, 1, 0, 2), value=0.5), C(f64(2, 3), (1,)),
                C(f64(2, 3), (-1, 0))]
    t["clone"] = [C(f64(2, 3)), C(f64()), C(ints(3)), C(3.0)]
    # factories
    t["zeros"] = [C(2, 3), C((2, 3)), C([0, 3]), C(), C(2, dtype=D("float64")), C(2, dtype=D("int64")),
                  C(-1), C(2.5), C(2, requires_grad=True), C(10 ** 12), C((10 ** 6, 10 ** 6))]
    t["ones"] = t["zeros"]
    t["empty"] = [C(2, 3, values=False), C((0, 2), values=False), C(2, dtype=D("int64"), values=False),
                  C(-1), C(10 ** 12)]
    t["full"] = [C((2, 3), 1.5), C((2,), 3), C((2,), True), C((2,), 7, dtype=D("float64")), C((-1,), 1.0),
                 C((2,), 2.5, dtype=D("int64")), C([10 ** 12], 1.0)]
    t["arange"] = [C(5), C(1, 4), C(0, 1, 0.25), C(5.0), C(0, 5, 2, dtype=D("float64")), C(0, 5, 0),
                   C(5, 0), C(5, 0, -1)]
    t["linspace"] = [C(0, 1, 5), C(-1.0, 1.0, 1), C(0, 1, 0), C(0, 10, 4, dtype=D("float64")), C(0, 1, -1)]
    t["logspace"] = [C(0, 2, 3), C(0, 1, 4, base=2.0), C(0, 1, -1)]
    t["eye"] = [C(3), C(2, 4), C(0), C(3, dtype=D("int64")), C(-1)]
    t["rand"] = t["randn"] = [C(2, 3, values=False), C((2, 3), values=False), C(values=False), C(-1),
                              C(2, dtype=D("float64"), values=False), C(10 ** 12)]
    t["randint"] = [C(5, (2, 3), values=False), C(1, 5, (4,), values=False), C(5, 1, (2,)),
                    C(3, (2,), dtype=D("int32"), values=False), C(5, (-1,))]
    t["randperm"] = [C(5, values=False), C(0, values=False), C(-1)]
    t["normal"] = [C(0.0, 1.0, (2, 3), values=False), C(f64(3), 1.0, values=False),
                   C(f64(3), f64(3, low=0.1), values=False), C(0.0, -1.0, (2,))]
    like = [C(f32(2, 3)), C(f64(0, 2)), C(f64()), C(f64(3), dtype=D("float32"))]
    for name in ("zeros_like", "ones_like"):
        t[name] = like + [C(ints(3))]
    for name in ("empty_like", "rand_like", "randn_like"):
        t[name] = [c._replace(values=False) for c in like]
    t["rand_like"] = t["rand_like"] + [C(ints(3))]
    t["randn_like"] = t["rand_like"]
    t["full_like"] = [C(f64(2, 3), 1.5), C(ints(3), 7.5), C(f64(), 2), C(f64(3), 1, dtype=D("int64"))]
    t["tensor"] = [C([1.0, 2.0]), C([1, 2]), C([[1, 2], [3]]), C(3.5), C([True, False]), C([]),
                   C(["a", "b"], known="PyTorch raises ValueError for a list of strings "
                     "(TypeError for one string); minigan's DTypeError (TypeError) for both: the "
                     "kind of data, as tests/test_semantics.py wants"), C([1.0, 2.0], dtype=D("float64")), C(None)]
    t["as_tensor"] = [C([1.0, 2.0]), C([1, 2]), C(f64(3)), C(2.5)]
    return t


MG = _mg_table()
