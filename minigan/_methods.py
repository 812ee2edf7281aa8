"""Tensor's methods and operators, PyTorch's spellings of minigan's functions.

The ops import Tensor, so Tensor cannot import them: this table attaches them once both
exist (``install()`` runs in ``minigan/__init__.py``). Each family has a block of its own;
a new op file adds a block (its own ``dict``) to ``_blocks()``, and its in-place variants
to ``_inplace_blocks()``. In-place methods (``x.add_(y)``, ``x += y``, ``x.zero_()``) all go
through ``autograd.inplace``, which applies PyTorch's rules on leaves and the graph.
"""
from __future__ import annotations

from typing import Any, Callable

from .autograd import Tensor, inplace
from .ops import activation as A, attention as At, elementwise as E, linalg as L, reduce as R
from .ops import index as I, logic, math as M, rearrange as Re, reductions as Rd, scan, shape as S
from .ops import sort
from .ops.args import tensor_arg


def _reflected(fn: Callable) -> Callable:
    return lambda self, other: fn(other, self)


def _blocks() -> list[dict[str, Callable]]:
    """Method name -> function taking the tensor first; one dict per op family."""
    elementwise = {
        "add": E.add, "sub": E.sub, "subtract": E.sub, "mul": E.mul, "multiply": E.mul,
        "neg": E.neg, "negative": E.neg,
        "abs": E.abs, "exp": E.exp, "log": E.log, "sqrt": E.sqrt, "pow": E.pow,
        "clamp": E.clamp, "clip": E.clamp, "maximum": E.maximum, "minimum": E.minimum,
        "eq": E.eq, "ne": E.ne, "lt": E.lt, "le": E.le, "gt": E.gt, "ge": E.ge,
        "where": lambda self, condition, y: E.where(condition, self, y),
    }
    activation = {
        "relu": A.relu, "tanh": A.tanh, "sigmoid": A.sigmoid,
        "softmax": At.softmax, "log_softmax": At.log_softmax,
    }
    reduction = {
        "sum": R.sum, "mean": R.mean, "var": R.var, "std": R.std,
        "argmax": R.argmax, "argmin": R.argmin,
    }
    linalg = {"matmul": L.matmul, "mm": L.mm}
    shape = {
        "reshape": S.reshape, "view": S.reshape, "flatten": S.flatten, "unflatten": S.unflatten,
        "transpose": S.transpose, "permute": S.permute, "t": S.t, "squeeze": S.squeeze,
        "unsqueeze": S.unsqueeze,
        "expand": S.expand, "expand_as": S.expand_as, "broadcast_to": S.broadcast_to,
        "split": S.split, "clone": S.clone, "contiguous": S.contiguous,
        "view_as": lambda self, other: S.reshape(self, tensor_arg(other, "view_as", "other").shape),
        "reshape_as": lambda self, other: S.reshape(self, tensor_arg(other, "reshape_as",
                                                                     "other").shape),
    }
    # indexing and rearranging (ops/index.py, ops/rearrange.py)
    indexing = _named(I, "gather scatter scatter_add index_select take_along_dim masked_fill "
                         "masked_select tril triu nonzero")
    rearranging = _named(Re, "repeat tile repeat_interleave chunk unbind flip roll movedim "
                             "moveaxis narrow swapaxes swapdims")
    # math, scans, reductions, sorting, predicates (ops/math.py, scan.py, reductions.py,
    # sort.py, logic.py)
    math = _named(M, "sin cos tan asin acos atan sinh cosh asinh acosh atanh arcsin arccos "
                     "arctan arcsinh arccosh arctanh log2 log10 log1p expm1 exp2 rsqrt "
                     "reciprocal erf erfc square frac floor ceil round trunc fix sign sgn "
                     "remainder fmod floor_divide div divide true_divide atan2 arctan2 hypot lerp")
    scans = _named(scan, "cumsum cumprod")
    reductions = _named(Rd, "prod logsumexp amax amin norm any all")
    sorting = _named(sort, "sort argsort topk max min median mode")
    predicates = _named(logic, "isnan isinf isfinite isposinf isneginf isclose allclose equal "
                               "logical_not logical_and logical_or logical_xor")
    return [elementwise, activation, reduction, linalg, shape, indexing, rearranging, math,
            scans, reductions, sorting, predicates]


def _inplace_blocks() -> list[dict[str, Callable]]:
    """In-place method name -> the out-of-place function whose result is written back."""
    elementwise = {
        "add_": E.add, "sub_": E.sub, "mul_": E.mul, "div_": M.div, "pow_": E.pow,
        "neg_": E.neg, "abs_": E.abs, "exp_": E.exp, "log_": E.log, "sqrt_": E.sqrt,
        "clamp_": E.clamp, "clip_": E.clamp,
    }
    activation = {"relu_": A.relu, "tanh_": A.tanh, "sigmoid_": A.sigmoid}
    return [elementwise, activation]


_OPERATORS = {  # x += y runs add_; Python falls back to x = x + y only where we return NotImplemented
    "__iadd__": "add_", "__isub__": "sub_", "__imul__": "mul_", "__itruediv__": "div_",
    "__ipow__": "pow_",
}


def _operand(x: Tensor, other: Any) -> Any:
    """A floating Tensor operand in x's floating dtype (in-place ops keep x's dtype)."""
    if isinstance(other, Tensor) and other.dtype != x.dtype and \
            other.dtype.kind == "f" and x.dtype.kind == "f":
        return other.to(dtype=x.dtype)
    return other


def _inplace_method(name: str, fn: Callable) -> Callable:
    def method(self: Tensor, *args: Any, **kwargs: Any) -> Tensor:
        args = tuple(_operand(self, a) for a in args)
        kwargs = {k: _operand(self, v) for k, v in kwargs.items()}
        operands = tuple(args) + tuple(kwargs.values())
        return inplace(self, name, lambda x: fn(x, *args, **kwargs), operands)
    method.__name__ = name
    method.__doc__ = f"In place: ``x.{name}(...)`` writes ``{fn.__name__}(x, ...)`` into x."
    return method


def install() -> None:
    T = Tensor
    T.__add__, T.__radd__ = E.add, _reflected(E.add)
    T.__sub__, T.__rsub__ = E.sub, _reflected(E.sub)
    T.__mul__, T.__rmul__ = E.mul, _reflected(E.mul)
    T.__truediv__, T.__rtruediv__ = E.div, _reflected(E.div)
    T.__pow__, T.__rpow__ = E.pow, _reflected(E.pow)
    T.__matmul__, T.__rmatmul__ = L.matmul, _reflected(L.matmul)
    T.__mod__, T.__rmod__ = M.remainder, _reflected(M.remainder)
    T.__floordiv__, T.__rfloordiv__ = M.floor_divide, _reflected(M.floor_divide)
    T.__neg__ = E.neg
    T.__abs__ = E.abs
    T.__eq__, T.__ne__, T.__lt__, T.__le__, T.__gt__, T.__ge__ = (
        f.dunder for f in (E.eq, E.ne, E.lt, E.le, E.gt, E.ge))
    T.__hash__ = Tensor.__hash__  # by identity: tensors work as dict keys and in sets
    T.__getitem__ = S.getitem
    T.__setitem__ = S.setitem
    T.T = property(S.reverse_dims, doc="All dims reversed (``x.permute(n-1, ..., 0)``).")
    T.mT = property(S.matrix_transpose, doc="The last two dims swapped.")
    for block in _blocks():
        for name, fn in block.items():
            setattr(T, name, fn)
    for block in _inplace_blocks():
        for name, fn in block.items():
            setattr(T, name, _inplace_method(name, fn))
    for dunder, name in _OPERATORS.items():
        setattr(T, dunder, getattr(T, name))
    T.zero_, T.fill_, T.copy_ = S.zero_, S.fill_, S.copy_


def _named(module, names: str) -> dict[str, Callable]:
    """A block of methods that share their function's name in ``module``."""
    return {name: getattr(module, name) for name in names.split()}
