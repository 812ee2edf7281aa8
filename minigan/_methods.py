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


def _install_opsa(T) -> None:
    """Indexing and rearranging methods (ops/index.py, ops/rearrange.py)."""
    for name in ("gather", "scatter", "scatter_add", "index_select", "take_along_dim",
                 "masked_fill", "masked_select", "tril", "triu", "nonzero"):
        setattr(T, name, getattr(I, name))
    for name in ("repeat", "tile", "repeat_interleave", "chunk", "unbind", "flip", "roll",
                 "movedim", "moveaxis", "narrow", "swapaxes", "swapdims"):
        setattr(T, name, getattr(Re, name))
