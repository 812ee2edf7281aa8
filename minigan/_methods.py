"""Attach operators and methods to Tensor (the ops import Tensor, so this runs after both)."""
from __future__ import annotations

from .autograd import Tensor
from .ops import elementwise as E, linalg as L, reduce as R, shape as S
from .ops import index as I, rearrange as Re


def _reflected(fn):
    return lambda self, other: fn(other, self)


def install() -> None:
    T = Tensor
    T.__add__, T.__radd__ = E.add, _reflected(E.add)
    T.__sub__, T.__rsub__ = E.sub, _reflected(E.sub)
    T.__mul__, T.__rmul__ = E.mul, _reflected(E.mul)
    T.__truediv__, T.__rtruediv__ = E.div, _reflected(E.div)
    T.__pow__, T.__rpow__ = E.pow, _reflected(E.pow)
    T.__matmul__, T.__rmatmul__ = L.matmul, _reflected(L.matmul)
    T.__neg__ = E.neg
    T.__abs__ = E.abs
    T.__eq__, T.__ne__, T.__lt__, T.__le__, T.__gt__, T.__ge__ = (
        f.dunder for f in (E.eq, E.ne, E.lt, E.le, E.gt, E.ge))
    T.__hash__ = Tensor.__hash__  # by identity: tensors work as dict keys and in sets
    T.__getitem__ = S.getitem
    for name, fn in {
        "exp": E.exp, "log": E.log, "sqrt": E.sqrt, "abs": E.abs, "clamp": E.clamp,
        "pow": E.pow, "maximum": E.maximum, "minimum": E.minimum,
        "sum": R.sum, "mean": R.mean, "max": R.max, "min": R.min, "var": R.var, "std": R.std,
        "argmax": R.argmax, "argmin": R.argmin, "matmul": L.matmul,
        "reshape": S.reshape, "view": S.reshape, "flatten": S.flatten, "transpose": S.transpose,
        "permute": S.permute, "squeeze": S.squeeze, "unsqueeze": S.unsqueeze, "expand": S.expand,
        "broadcast_to": S.broadcast_to, "split": S.split,
    }.items():
        setattr(T, name, fn)
    _install_opsa(T)
    _install_math_scans_sorting_predicates(T)


def _install_opsa(T) -> None:
    """Indexing and rearranging methods (ops/index.py, ops/rearrange.py)."""
    for name in ("gather", "scatter", "scatter_add", "index_select", "take_along_dim",
                 "masked_fill", "masked_select", "tril", "triu", "nonzero"):
        setattr(T, name, getattr(I, name))
    for name in ("repeat", "tile", "repeat_interleave", "chunk", "unbind", "flip", "roll",
                 "movedim", "moveaxis", "narrow", "swapaxes", "swapdims"):
        setattr(T, name, getattr(Re, name))


def _install_math_scans_sorting_predicates(T) -> None:
    """Methods of ops/math.py, scan.py, reductions.py, sort.py and logic.py (PyTorch's
    names), and the ``%`` / ``//`` operators."""
    from .ops import logic, math as M, reductions as Rd, scan, sort
    T.__mod__, T.__rmod__ = M.remainder, _reflected(M.remainder)
    T.__floordiv__, T.__rfloordiv__ = M.floor_divide, _reflected(M.floor_divide)
    names = {M: ("sin cos tan asin acos atan sinh cosh asinh acosh atanh arcsin arccos arctan "
                 "arcsinh arccosh arctanh log2 log10 log1p expm1 exp2 rsqrt reciprocal erf erfc "
                 "square frac floor ceil round trunc fix sign sgn remainder fmod floor_divide div "
                 "divide atan2 arctan2 hypot lerp"),
             scan: "cumsum cumprod",
             Rd: "prod logsumexp amax amin norm any all",
             sort: "sort argsort topk max min median mode",
             logic: ("isnan isinf isfinite isposinf isneginf isclose allclose equal logical_not "
                     "logical_and logical_or logical_xor")}
    for module, listed in names.items():
        for name in listed.split():
            setattr(T, name, getattr(module, name))
