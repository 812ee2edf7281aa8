"""Tensor, the reverse-mode graph, ``backward()``, ``grad()``, ``no_grad()`` and ``Function``.

How the graph works
-------------------
Every op is a :class:`Function`. Calling it runs ``forward`` on raw arrays (NumPy or CuPy)
and, when gradients are wanted, records itself as the ``creator`` of its outputs and keeps
its input tensors. ``backward`` walks the recorded functions from the output back to the
leaves in reverse topological order (a heap keyed on each function's *generation*, the
length of the longest path from a leaf, so no recursion however deep the graph), calls
each function's ``backward`` with the gradients of its outputs, and adds up the gradients
that reach a tensor from several uses.

A ``backward`` is written with differentiable ops on :class:`Tensor` (like Chainer and
DeZero), so the backward pass can itself be recorded: ``create_graph=True`` gives
gradients that have a graph, and so gradients of gradients (gradient penalties). Without
``create_graph`` the backward runs under ``no_grad()`` and records nothing.
"""
from __future__ import annotations

import contextvars
import functools
import heapq
import inspect
import itertools
import re
import sys
import weakref
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from . import backend
from .errors import (ArgumentError, DeviceError, DimError, DTypeError, GraphError, MiniganError,
                     ShapeError)

# ---------------------------------------------------------------------------- grad mode
#
# Grad mode belongs to a thread, as in PyTorch: ``no_grad()`` in one thread leaves every other
# thread recording. It lives in a context variable (each thread has its own context, and a
# new thread starts with grad mode on): ``True``, or while it is off a token object. The hot
# path first reads one global, the set of tokens alive: while it is empty (training, nearly
# always) the variable is not read at all, and where it is read it costs ~25 ns (a
# threading.local attribute ~120 ns, ~2% of a tiny op). A token leaves the set when
# the mode is turned back on or its thread (context) ends.

_grad_mode: contextvars.ContextVar = contextvars.ContextVar("minigan_grad_mode", default=True)
_threads_without_grad: set[int] = set()  # ids of the tokens of contexts with grad mode off


class _NoGradToken:
    """The value of ``_grad_mode`` while grad mode is off: it counts its context in
    ``_threads_without_grad`` (set.add and set.discard are atomic, so no lock is needed)."""

    def __init__(self) -> None:
        _threads_without_grad.add(id(self))

    def __del__(self) -> None:
        _threads_without_grad.discard(id(self))


def is_grad_enabled() -> bool:
    """Whether ops called in this thread record the graph."""
    return not _threads_without_grad or _grad_mode.get() is True


def _set_mode(enabled: bool) -> None:
    """Turn recording on or off for the calling thread."""
    if enabled is (_grad_mode.get() is True):
        return
    _grad_mode.set(True if enabled else _NoGradToken())


class _GradModeContext:
    """A context manager that is also a decorator, as PyTorch's: ``with mg.no_grad():``,
    ``@mg.no_grad()`` and ``@mg.no_grad`` all work; a decorated generator runs each step in
    the mode and gives the caller's mode back between steps."""

    mode = True

    def __new__(cls, func: Callable | None = None):
        self = super().__new__(cls)
        if func is not None and callable(func) and not isinstance(func, bool):
            self.__init__()  # used bare as a decorator: @mg.no_grad
            return self(func)
        return self

    def __init__(self, func: Callable | None = None) -> None:
        self._previous: list[bool] = []

    def __enter__(self) -> None:
        self._previous.append(_grad_mode.get() is True)
        _set_mode(self.mode)

    def __exit__(self, *exc) -> None:
        _set_mode(self._previous.pop())

    def clone(self) -> "_GradModeContext":
        return type(self)()

    def __call__(self, func: Callable) -> Callable:
        if inspect.isgeneratorfunction(func):
            def generator(*args, **kwargs):
                gen = func(*args, **kwargs)
                sent = None
                while True:
                    with self.clone():
                        try:
                            item = gen.send(sent)
                        except StopIteration as stop:
                            return stop.value
                    sent = yield item
            return functools.wraps(func)(generator)

        def wrapper(*args, **kwargs):
            with self.clone():
                return func(*args, **kwargs)
        return functools.wraps(func)(wrapper)


class no_grad(_GradModeContext):
    """Ops inside record no graph (inference, optimizer updates), in this thread only.

    ``with mg.no_grad(): ...``, or as a decorator: ``@mg.no_grad()`` / ``@mg.no_grad``."""

    mode = False


class enable_grad(_GradModeContext):
    """Turn recording back on inside a ``no_grad`` block (a context manager or decorator)."""

    mode = True


class set_grad_enabled(_GradModeContext):
    """Record the graph (``True``) or not (``False``) in this thread, as PyTorch's: a plain
    call ``mg.set_grad_enabled(False)`` sets the mode at once (until set again);
    ``with mg.set_grad_enabled(False):`` sets it for the block and restores it after."""

    def __new__(cls, mode: bool):
        return object.__new__(cls)

    def __init__(self, mode: bool) -> None:
        if not isinstance(mode, (bool, np.bool_)):
            raise DTypeError(f"set_grad_enabled: mode must be a bool, got {mode!r}")
        self.mode = bool(mode)
        self._previous = [_grad_mode.get() is True]
        _set_mode(self.mode)  # takes effect at once: the plain call works as in PyTorch

    def __enter__(self) -> None:
        _set_mode(self.mode)

    def __exit__(self, *exc) -> None:
        _set_mode(self._previous[0])

    def clone(self) -> "set_grad_enabled":
        return _GradBlock(self.mode)

    def __call__(self, func: Callable) -> Callable:
        _set_mode(self._previous[0])  # as a decorator it must not change the mode now
        return super().__call__(func)


class _GradBlock(_GradModeContext):
    """``set_grad_enabled(mode)``'s block without its immediate effect (for decorators)."""

    def __init__(self, mode: bool = True) -> None:
        super().__init__()
        self.mode = mode

    def clone(self) -> "_GradBlock":
        return _GradBlock(self.mode)


# ---------------------------------------------------------------------------- Tensor


def _as_array(data: Any, dtype: Any, device: str | None):
    """Turn data (Tensor, array, list, scalar) into an array of the right dtype and device.

    Python floats (and lists of them) get the default dtype; arrays keep theirs.
    """
    if isinstance(data, Tensor):
        data = data.data
    is_array = isinstance(data, (np.ndarray, np.generic)) or backend.is_cupy_array(data)
    try:
        array = backend.get_array_module(data).asarray(data) if is_array else np.asarray(data)
    except ValueError as exc:
        raise ShapeError(f"tensor: cannot build a tensor from ragged data ({exc})") from None
    if array.dtype.kind not in "biuf":  # strings, objects, complex numbers, dates
        raise DTypeError(f"tensor: cannot build a tensor from {array.dtype} data (ragged, "
                         f"strings, objects or complex numbers): minigan's tensors hold bools, "
                         f"integers and floats")
    if dtype is None and not is_array and array.dtype.kind == "f":
        dtype = backend.get_default_dtype()
    if dtype is not None:
        dtype = backend.check_float_dtype(dtype, "tensor")
        if array.dtype != dtype:
            array = array.astype(dtype)
    if array.dtype.kind == "f":
        backend.check_float_dtype(array.dtype, "tensor")
    if device is not None:
        array = backend.to_device(array, device)
    return array


class Tensor:
    """An n-dimensional array that remembers how it was made, for reverse-mode autograd.

    ``data`` is a NumPy or CuPy array; ``grad`` is a Tensor (or None) filled by ``backward``
    for leaves that require grad, and for non-leaves after ``retain_grad()``.

    >>> import minigan as mg
    >>> x = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    >>> (x * x).sum().backward()
    >>> x.grad.numpy()
    array([2., 4., 6.], dtype=float32)
    """

    __slots__ = ("data", "grad", "requires_grad", "creator", "generation", "name",
                 "_hooks", "_retains_grad", "__weakref__")
    __array_priority__ = 1000  # numpy_array * tensor -> Tensor.__rmul__

    def __init__(self, data: Any, requires_grad: bool = False, dtype: Any = None,
                 device: str | None = None, name: str | None = None) -> None:
        self.data = _as_array(data, dtype, device)
        if requires_grad and self.data.dtype.kind != "f":
            raise DTypeError(f"tensor: only floating point tensors can require grad, got "
                             f"{self.data.dtype}")
        self.grad: Tensor | None = None
        self.requires_grad = bool(requires_grad)
        self.creator: Function | None = None
        self.generation = 0
        self.name = name
        self._hooks: list[Callable] | None = None
        self._retains_grad = False

    @classmethod
    def _wrap(cls, array: Any) -> "Tensor":
        """A Tensor around an existing array, without checks or copies (internal fast path)."""
        t = cls.__new__(cls)
        t.data = array
        t.grad = None
        t.requires_grad = False
        t.creator = None
        t.generation = 0
        t.name = None
        t._hooks = None
        t._retains_grad = False
        return t

    # -- properties ---------------------------------------------------------------------
    @property
    def shape(self) -> tuple:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    def size(self, dim: int | None = None) -> tuple | int:
        """The shape (``x.size()``), or the length of one dim (``x.size(1)``, ``x.size(-1)``),
        as PyTorch's ``Tensor.size``; ``numel()`` is the number of elements."""
        if dim is None:
            return self.data.shape
        from .ops.args import single_dim
        if self.data.ndim == 0:
            raise DimError(f"size: dim {dim} given but the tensor is 0-d (it has no dims)")
        return self.data.shape[single_dim(dim, self.data.ndim, "size")]

    def numel(self) -> int:
        """The number of elements."""
        return int(self.data.size)

    def dim(self) -> int:
        """The number of dims (``ndim``)."""
        return self.data.ndim

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def device(self) -> str:
        return backend.device_of(self.data)

    @property
    def is_leaf(self) -> bool:
        """True for tensors no recorded op made (all that do not require grad, and those the
        user made with requires_grad=True), as in PyTorch."""
        return self.creator is None

    @property
    def grad_fn(self) -> "Function | None":
        """The op that made this tensor (PyTorch's name for ``creator``); None for a leaf."""
        return self.creator

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.data.shape[0]

    def __iter__(self):
        if self.data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self.data.shape[0]))

    def __repr__(self) -> str:
        body = np.array2string(backend.as_numpy(self.data), separator=", ", prefix="tensor(")
        extra = []
        if self.data.dtype != backend.get_default_dtype():
            extra.append(f"dtype={self.data.dtype}")
        if self.device != "cpu":
            extra.append(f"device='{self.device}'")
        if self.creator is not None:
            extra.append(f"grad_fn=<{type(self.creator).__name__}>")
        elif self.requires_grad:
            extra.append("requires_grad=True")
        return "tensor(" + ", ".join([body] + extra) + ")"

    def __bool__(self) -> bool:
        if self.data.size != 1:
            raise ShapeError(f"bool(): the truth value of a tensor of shape {self.shape} is ambiguous")
        return bool(self.data)

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __hash__(self) -> int:
        return id(self)

    # -- conversions ----------------------------------------------------------------------
    def numpy(self) -> np.ndarray:
        """The data as a NumPy array (copied from the GPU when needed; shares memory on CPU)."""
        return backend.as_numpy(self.data)

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        """``np.asarray(t)`` for CPU tensors (no gradient flows through NumPy)."""
        if backend.is_cupy_array(self.data):
            raise TypeError(f"cannot convert a tensor on {self.device} to a NumPy array "
                            f"implicitly; use .numpy() (copies to the host)")
        array = self.data if dtype is None else self.data.astype(dtype, copy=False)
        return array.copy() if copy else array

    def item(self) -> float | int | bool:
        if self.data.size != 1:
            raise ShapeError(f"item(): only one-element tensors, got shape {self.shape}")
        return self.data.item() if not backend.is_cupy_array(self.data) else self.data.get().item()

    def tolist(self) -> Any:
        return self.numpy().tolist()

    def detach(self) -> "Tensor":
        """A new leaf sharing the same data, cut from the graph."""
        return Tensor._wrap(self.data)

    def to(self, device: str | None = None, dtype: Any = None) -> "Tensor":
        """Move to a device and/or cast; differentiable (gradients flow back across).

        ``x.to("cuda")``, ``x.to(dtype="float64")``, ``x.to("float64")``, ``x.to("cuda", "float64")``,
        ``x.to(other)`` (other's device and dtype).
        """
        from .ops import elementwise, shape as shape_ops  # local: ops import this module
        if isinstance(device, Tensor):  # x.to(other): other's device and dtype
            device, dtype = device.device, device.dtype if dtype is None else dtype
        if device is not None and not str(device).startswith(("cpu", "cuda")):
            try:  # a dtype given in the device's place, as x.to(torch.float64)
                device, dtype = None, np.dtype(device) if dtype is None else dtype
            except TypeError:
                pass  # not a dtype either: normalize_device names the bad device
        out = self
        if dtype is not None and np.dtype(dtype) != self.dtype:
            out = elementwise.cast(out, dtype)
        if device is not None and backend.normalize_device(device) != self.device:
            out = shape_ops.to_device(out, device)
        return out

    def cpu(self) -> "Tensor":
        return self.to("cpu")

    def cuda(self, index: int = 0) -> "Tensor":
        return self.to(f"cuda:{index}")

    def float(self) -> "Tensor":
        """Cast to float32 (differentiable between floating dtypes)."""
        return self.to(dtype=np.float32)

    def double(self) -> "Tensor":
        """Cast to float64."""
        return self.to(dtype=np.float64)

    def long(self) -> "Tensor":
        """Cast to int64 (no gradient)."""
        return self.to(dtype=np.int64)

    def int(self) -> "Tensor":
        """Cast to int32 (no gradient)."""
        return self.to(dtype=np.int32)

    def bool(self) -> "Tensor":
        """Cast to bool (no gradient)."""
        return self.to(dtype=np.bool_)

    def type_as(self, other: "Tensor") -> "Tensor":
        """Cast to ``other``'s dtype and move to its device."""
        if not isinstance(other, Tensor):
            raise DTypeError(f"type_as: other must be a Tensor, got {type(other).__name__}")
        return self.to(device=other.device, dtype=other.dtype)

    # -- new tensors like this one (PyTorch's new_*: this dtype and device by default) -----
    def new_tensor(self, data: Any, dtype: Any = None, device: str | None = None,
                   requires_grad: bool = False) -> "Tensor":
        """A tensor of ``data`` with this tensor's dtype and device unless given."""
        return tensor(data, dtype=self.dtype if dtype is None else dtype,
                      device=self.device if device is None else device,
                      requires_grad=requires_grad)

    def new_zeros(self, *size: Any, dtype: Any = None, device: str | None = None,
                  requires_grad: bool = False) -> "Tensor":
        """Zeros of ``size`` with this tensor's dtype and device unless given."""
        return self._new("new_zeros", size, 0, dtype, device, requires_grad)

    def new_ones(self, *size: Any, dtype: Any = None, device: str | None = None,
                 requires_grad: bool = False) -> "Tensor":
        """Ones of ``size`` with this tensor's dtype and device unless given."""
        return self._new("new_ones", size, 1, dtype, device, requires_grad)

    def new_empty(self, *size: Any, dtype: Any = None, device: str | None = None,
                  requires_grad: bool = False) -> "Tensor":
        """An uninitialised tensor (zeros here) of ``size``, this dtype and device."""
        return self._new("new_empty", size, 0, dtype, device, requires_grad)

    def new_full(self, size: Any, fill_value: Any, dtype: Any = None, device: str | None = None,
                 requires_grad: bool = False) -> "Tensor":
        """``fill_value`` everywhere, with this tensor's dtype and device unless given."""
        return self._new("new_full", (size,), fill_value, dtype, device, requires_grad)

    def _new(self, op: str, size: tuple, value: Any, dtype: Any, device: str | None,
             requires_grad: bool) -> "Tensor":
        from .ops.args import size_arg
        shape = size_arg(size, op)
        dtype = self.dtype if dtype is None else backend.check_float_dtype(dtype, op)
        device = self.device if device is None else backend.normalize_device(device)
        xp = backend.xp_for_device(device)
        with backend.device_context(device):
            array = xp.full(shape, value, dtype=dtype)
        return Tensor(array, requires_grad=requires_grad)

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        """Make this leaf record (or stop recording) the ops applied to it; returns it."""
        if not self.is_leaf:
            raise GraphError("requires_grad_(): only leaf tensors can change requires_grad")
        if requires_grad and self.data.dtype.kind != "f":
            raise DTypeError(f"requires_grad_: only floating point tensors can require grad, "
                             f"got {self.data.dtype}")
        self.requires_grad = bool(requires_grad)
        return self

    # -- autograd ---------------------------------------------------------------------
    def backward(self, grad: "Tensor | Any" = None, retain_graph: bool | None = None,
                 create_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) into ``leaf.grad`` for every leaf that requires grad.

        ``grad`` is d(loss)/d(self); it may be left out only for a one-element tensor.
        The graph's saved arrays are freed afterwards unless ``retain_graph`` is true
        (it defaults to ``create_graph``).
        """
        run_backward([self], [grad], retain_graph, create_graph, inputs=None)

    def register_hook(self, hook: Callable[["Tensor"], "Tensor | None"]) -> Callable[[], None]:
        """Call ``hook(grad)`` when the gradient of this tensor is computed.

        The hook may return a new gradient to use instead. Returns a function that removes it.
        """
        if not self.requires_grad:
            raise GraphError("register_hook(): the tensor does not require grad")
        if self._hooks is None:
            self._hooks = []
        self._hooks.append(hook)

        def remove() -> None:
            if self._hooks and hook in self._hooks:
                self._hooks.remove(hook)
        return remove

    def retain_grad(self) -> None:
        """Make ``backward`` fill ``.grad`` of this non-leaf tensor too."""
        if not self.requires_grad:
            raise GraphError("retain_grad(): the tensor does not require grad")
        self._retains_grad = True

    def zero_grad(self) -> None:
        self.grad = None


def tensor(data: Any, dtype: Any = None, device: str | None = None,
           requires_grad: bool = False) -> Tensor:
    """Build a tensor from data (list, scalar, NumPy/CuPy array or Tensor; always copies).

    Python floats get the default dtype (float32); NumPy arrays keep theirs.
    """
    if isinstance(data, Tensor):
        data = data.data
    array = _as_array(data, dtype, device)
    if array is data:
        array = array.copy()
    return Tensor(array, requires_grad=requires_grad)


def as_tensor(x: Any, like: Tensor | None = None) -> Tensor:
    """``x`` as a Tensor (no grad). Python scalars follow ``like`` as PyTorch does: any number
    takes a floating ``like``'s dtype; with an integer ``like`` an int keeps its dtype and a
    float gets the default float dtype; with a bool ``like`` an int gets int64.
    Arrays keep their dtype and device (no silent copies)."""
    if isinstance(x, Tensor):
        return x
    if like is None or not (isinstance(x, (int, float, bool)) or np.isscalar(x)):
        return Tensor(x)
    data = like.data
    kind = data.dtype.kind
    if kind == "f":
        dtype = data.dtype
    elif isinstance(x, (float, np.floating)):
        dtype = backend.get_default_dtype()
    elif isinstance(x, (bool, np.bool_)):
        dtype = np.bool_
    elif isinstance(x, (int, np.integer)):
        dtype = data.dtype if kind in "iu" else np.int64
    else:
        return Tensor(x)
    if type(data) is np.ndarray:
        return Tensor._wrap(np.asarray(x, dtype=dtype))
    return Tensor._wrap(backend.get_array_module(data).asarray(x, dtype=dtype))


# ---------------------------------------------------------------------------- in-place writes
#
# An in-place write (``x[i] = v``, ``x.zero_()``, ``x += y``, ...) may change a value that a
# recorded op still needs for its backward. PyTorch keeps a version counter per tensor; here
# one clock counts every in-place write, each written array's memory (its base array, so that
# views of one memory agree) remembers the clock of its last write, and each recorded op the
# clock when it was recorded. Before an op's backward runs, and when it reads an output or a
# saved tensor, memory written after the op was recorded raises PyTorch's "modified by an
# inplace operation" error. While nothing was written since an op was recorded (nearly always)
# that costs one comparison of two ints per op.

_write_clock = 0
_stamps: dict[int, tuple[Any, int]] = {}  # id(memory) -> (weakref to it, clock of its last write)
_prune_at = 1024


def _memory(array: Any) -> Any:
    """The array that owns ``array``'s memory (itself, or the base of a view)."""
    base = array.base
    while base is not None and type(base) is type(array):
        array, base = base, base.base
    return array


def _mark_written(array: Any) -> None:
    """Record an in-place write into ``array``'s memory."""
    global _write_clock, _prune_at
    _write_clock += 1
    memory = _memory(array)
    try:
        ref = weakref.ref(memory)
    except TypeError:  # an array type without weak references: trust the id
        ref = None
    _stamps[id(memory)] = (ref, _write_clock)
    if len(_stamps) > _prune_at:  # forget arrays that are gone
        for key in [k for k, (r, _) in _stamps.items() if r is not None and r() is None]:
            del _stamps[key]
        _prune_at = max(1024, 2 * len(_stamps))


def _written_since(array: Any, clock: int) -> bool:
    memory = _memory(array)
    entry = _stamps.get(id(memory))
    if entry is None or (entry[0] is not None and entry[0]() is not memory):
        return False
    return entry[1] > clock


def _check_unwritten(f: "Function", t: Tensor, what: str) -> None:
    if _written_since(t.data, f._clock):
        raise GraphError(
            f"backward: one of the variables needed for gradient computation has been modified "
            f"by an inplace operation: {what} of {type(f).__name__} ({_describe(t)}) was written "
            f"in place after {type(f).__name__} was recorded; clone() it before writing, or "
            f"write after the backward")


def _check_node(f: "Function") -> None:
    """Before ``f``'s backward: none of its inputs was written in place since it was recorded
    (its backward may read them, and a rebased tensor is no longer the input it recorded)."""
    for i, t in enumerate(f.inputs):
        _check_unwritten(f, t, f"input {i}")


_ALONE_REFS = 0  # references an array held by one Tensor alone has in _references (measured)


def _references(t: Tensor) -> int:
    return _getrefcount(t.data)


def _owns_memory_alone(t: Tensor) -> bool:
    """True when no other array or tensor shares ``t``'s memory (no view of it, and it is no
    view, or a view of a whole base that nothing else holds)."""
    data = t.data
    if data.base is not None and not _sole_view(data):
        return False
    del data
    return _references(t) <= _ALONE_REFS


def inplace(x: Tensor, op: str, compute: Callable[[Tensor], Tensor], operands: Sequence = (),
            write: Callable[[Any], None] | None = None) -> Tensor:
    """Write ``compute(x)`` (a tensor of x's shape) into ``x``: the engine of every in-place
    method and of ``x[index] = v``.

    When the write is to be recorded (grad mode on, and ``x`` or an operand requires grad),
    ``x`` becomes the output of the op ``compute`` recorded, and a new tensor holding the old
    value takes ``x``'s former place in the graph (so the op that made ``x`` and ``compute``'s
    own backward see the value before the write). A leaf that requires grad cannot be written
    that way (PyTorch's rule), nor a tensor that shares its memory (a view, or one that has
    views), whose other holders would not see the new graph. Otherwise the new value is
    written into ``x``'s memory (``write(array)`` does it directly, else the result of
    ``compute`` is copied in), and ops recorded before that read the memory will refuse to
    run their backward."""
    recording = (x.requires_grad or any(isinstance(o, Tensor) and o.requires_grad
                                        for o in operands)) and is_grad_enabled()
    if recording and x.requires_grad and x.creator is None:
        raise GraphError(f"{op}: a leaf tensor that requires grad is used in an in-place "
                           f"operation (PyTorch: 'a leaf Variable that requires grad is being "
                           f"used in an in-place operation'); write under `with mg.no_grad():` "
                           f"or into a clone()")
    if not recording:
        if not getattr(x.data.flags, "writeable", True):
            raise ArgumentError(
                                f"{op}: the tensor is a read-only view (made by expand or broadcast_to: several "
                                f"elements share one memory location); clone() it before writing")
        if write is None:
            result = compute(x)
            _check_fits(x, result, op)
            value = result.data if result.data.dtype == x.data.dtype else \
                result.data.astype(x.data.dtype)

            def write(array):
                array[...] = value
        write(x.data)
        _mark_written(x.data)
        return x
    if not _owns_memory_alone(x):
        raise ArgumentError(
                            f"{op}: the tensor shares its memory with another tensor or array (it is a view, "
                            f"or a view of it exists), and minigan records an in-place write only on a tensor "
            f"that owns its memory alone; write into x.clone(), or use the out-of-place op")
    old = Tensor._wrap(x.data)  # the value before the write takes x's place in the graph
    if x.creator is not None:
        old.requires_grad, old.creator, old.generation = True, x.creator, x.generation
        _replace_output(x.creator, x, old)
    result = compute(old)
    _check_fits(x, result, op)
    if result.data.dtype != x.data.dtype:  # operands are cast to x's dtype before compute
        raise DTypeError(f"{op}: the recorded result is {result.dtype}, the tensor {x.dtype}")
    x.data = result.data
    if result.creator is not None:
        x.requires_grad, x.creator, x.generation = True, result.creator, result.generation
        _replace_output(result.creator, result, x)
        result.creator._clock = _write_clock + 1
    _mark_written(x.data)  # ops recorded with the old x refuse their backward
    return x


def _check_fits(x: Tensor, result: Tensor, op: str) -> None:
    if result.data.shape != x.data.shape:
        raise ShapeError(f"{op}: the result has shape {result.shape} but the tensor written in "
                         f"place has shape {x.shape} (an in-place op cannot change its shape)")
    if result.data.dtype != x.data.dtype and not np.can_cast(
            result.data.dtype, x.data.dtype, casting="same_kind"):
        raise DTypeError(f"{op}: result type {result.dtype} can't be cast to the desired "
                         f"output type {x.dtype}")


def _replace_output(f: "Function", old: Tensor, new: Tensor) -> None:
    """Make ``new`` the output of ``f`` that ``old`` was."""
    f._output_refs = tuple(weakref.ref(new) if r() is old else r for r in f._output_refs)


# ---------------------------------------------------------------------------- Function


def _wrap_output(y: Any) -> Tensor:
    """A forward result as a Tensor; NumPy scalars (from full reductions) become 0-d arrays."""
    if type(y) is not np.ndarray and not backend.is_cupy_array(y):
        y = np.asarray(y)
    return Tensor._wrap(y)


_NAMED = re.compile(r"^[a-z][a-z0-9_.]*: ")


def _named_error(f: "Function", exc: Exception, tensors: tuple) -> Exception:
    """A kernel's error as minigan's own class (ShapeError for NumPy's ValueErrors, which are
    shape mismatches, DimError for IndexErrors, DTypeError for TypeErrors), its message
    prefixed with the op and the input shapes. minigan's own errors pass unchanged."""
    if isinstance(exc, MiniganError):
        return exc
    message = str(exc)
    if not _NAMED.match(message):  # kernels that name themselves ("conv2d: ...") stay as they are
        shapes = ", ".join(str(t.shape) for t in tensors)
        message = f"{f.name}: {message} (inputs of shape {shapes})"
    kind = DimError if isinstance(exc, IndexError) else \
        DTypeError if isinstance(exc, TypeError) else ShapeError
    return kind(message)


def _describe(t: Any) -> str:
    return f"{t.shape} {t.dtype} on {t.device}" if isinstance(t, Tensor) else repr(type(t))


# Tools that watch every op (mg.profile, mg.detect_anomaly: minigan/observers.py) add
# themselves here. With none, each of the four hooks below costs one falsy check.
_observers: list = []


def _observe(event: str, *args: Any) -> None:
    """Call ``observer.<event>(*args)`` on each observer: forward_begin(f, inputs),
    forward_end(f, inputs, outputs), backward_begin(f, grad_outputs), backward_end(f, grads)."""
    for observer in tuple(_observers):
        getattr(observer, event)(*args)


class _TemporaryProbe:
    def __call__(self, *inputs: Any) -> int:
        return _getrefcount(self)


_getrefcount = sys.getrefcount
# References an instance has inside ``__call__`` when nobody else holds it (``Add()(x, y)``);
# measured through the same call path, since what a call adds differs between Python versions.
# A free-threaded Python may defer reference counts: there every call counts as held.
_TEMPORARY_REFS = _TemporaryProbe()() if getattr(sys, "_is_gil_enabled", lambda: True)() else -1


class Function:
    """One differentiable op. Two ways to write one, both recorded the same way.

    minigan's own: ``forward`` on arrays, ``backward`` on gradient Tensors, called on an
    instance (hyper-parameters go to ``__init__``)::

        class Square(Function):
            def forward(self, x):            # x: a NumPy or CuPy array
                return x * x
            def backward(self, gy):          # gy: a Tensor, d(loss)/d(output)
                x, = self.inputs             # the input Tensors
                return 2 * x * gy            # differentiable ops: double backward works

        y = Square()(x)

    ``forward`` returns an array or a tuple of arrays; ``backward`` gets one gradient per
    output (zeros where an output was not used) and returns one gradient per input, or
    None for inputs that need none (``self.needs_input_grad`` says which do).
    Save arrays that are not inputs as attributes; ``self.output(i)`` gives output i.
    Each call records its own node: an instance called twice (or again after a backward)
    gives each call its own gradients. The first call's node is the instance itself (so a
    caller can read what its forward saved); later calls get a copy of the instance as it
    was before its first call.

    PyTorch's: static ``forward(ctx, *args)`` on Tensors (it runs with recording off) and
    static ``backward(ctx, *grads)``, called as ``F.apply(*args)``; ``ctx`` is the graph
    node, with ``save_for_backward``/``saved_tensors``, ``needs_input_grad``,
    ``mark_non_differentiable``, ``mark_dirty`` and ``set_materialize_grads`` (see
    ``_ApplyNode``).
    """

    inputs: tuple
    generation = 0
    _released = False
    _clock = 0                  # the in-place write clock when the node was recorded
    _materialize_grads = True   # unused outputs' gradients arrive as zeros (not None)
    _node_class: type | None = None  # PyTorch-style classes: the class of their graph nodes
    _init_state: dict | None = None  # a held instance's attributes before its first call

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "function" in vars(cls) or cls.__name__ == "_ApplyNode":  # a node class itself
            return
        if isinstance(inspect.getattr_static(cls, "forward", None), staticmethod):
            # PyTorch's idiom: the node of each call is an instance of ``<Name>Backward``
            cls._node_class = type(f"{cls.__name__}Backward", (_ApplyNode,),
                                   {"function": cls, "__module__": cls.__module__,
                                    "__qualname__": f"{cls.__qualname__}Backward"})
        else:
            cls._node_class = None

    @property
    def name(self) -> str:
        return type(self).__name__.lower()

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Any:
        """Run the op: PyTorch's ``F.apply(*args)``. A minigan-style class gets a fresh
        instance (``cls()(*args)``)."""
        node_class = cls._node_class
        if node_class is None:
            return cls(**kwargs)(*args)
        return node_class._run(args, kwargs)

    def __call__(self, *inputs: Any):
        if _getrefcount(self) != _TEMPORARY_REFS:  # not ``Op(...)(x)``: an instance someone holds
            if self._init_state is not None:  # called before: this call gets a node of its own
                return self._fresh()(*inputs)
            self._init_state = dict(self.__dict__)  # its hyper-parameters, for later calls
        tensors = inputs
        for x in inputs:
            if not isinstance(x, Tensor):  # scalars / arrays: wrap them like the first Tensor
                like = next((t for t in inputs if isinstance(t, Tensor)), None)
                tensors = tuple(as_tensor(t, like) for t in inputs)
                break
        arrays = [t.data for t in tensors]
        if len(arrays) > 1:
            self._check_inputs(tensors, arrays)
        if _observers:
            _observe("forward_begin", self, tensors)
        try:
            if arrays and type(arrays[0]) is not np.ndarray and backend.is_cupy_array(arrays[0]):
                with backend.device_context(backend.device_of(arrays[0])):
                    raw = self.forward(*arrays)
            else:
                raw = self.forward(*arrays)
        except (ValueError, IndexError, TypeError) as exc:  # e.g. NumPy's broadcasting errors
            raise _named_error(self, exc, tensors) from exc
        single = type(raw) is not tuple
        if single:
            outputs = [Tensor._wrap(raw) if type(raw) is np.ndarray else _wrap_output(raw)]
        else:
            outputs = [_wrap_output(y) for y in raw]
        if not _threads_without_grad or _grad_mode.get() is True:
            needs = tuple([t.requires_grad for t in tensors])
            if True in needs:
                self._record(tensors, needs, outputs)
        if _observers:
            _observe("forward_end", self, tensors, outputs)
        return outputs[0] if single else tuple(outputs)

    def _fresh(self) -> "Function":
        """A new node for a later call of an instance someone holds: the instance as it was
        before its first call (its first call's node is the instance itself)."""
        node = object.__new__(type(self))
        node.__dict__.update(self._init_state)
        return node

    def _record(self, tensors: tuple, needs: tuple, outputs: list) -> None:
        """Make this function the creator of ``outputs`` (only when a gradient is wanted)."""
        self.needs_input_grad = needs
        self.inputs = tensors
        self._clock = _write_clock
        generation = 0
        for t in tensors:
            if t.generation > generation:
                generation = t.generation
        self.generation = generation
        self._output_refs = tuple([weakref.ref(y) for y in outputs])
        if len(outputs) > 1:  # to fill in zeros for outputs that get no gradient
            self._output_meta = tuple([(y.data.shape, y.data.dtype) for y in outputs])
        generation += 1
        for y in outputs:
            y.requires_grad = True
            y.creator = self
            y.generation = generation

    def _check_inputs(self, tensors: tuple, arrays: list | None = None) -> None:
        """One device for all inputs, one floating dtype for all floating inputs."""
        if arrays is None:
            arrays = [t.data for t in tensors]
        first = arrays[0]
        kind, dtype = type(first), first.dtype
        for a in arrays:  # fast path: same array type and dtype (all on the CPU, say)
            if type(a) is not kind or a.dtype != dtype:
                break
        else:
            if kind is np.ndarray or len({a.device.id for a in arrays}) == 1:
                return
        devices = {backend.device_of(a) for a in arrays}
        float_dtypes = {a.dtype for a in arrays if a.dtype.kind == "f"}
        if len(devices) > 1 or len(float_dtypes) > 1:
            details = ", ".join(_describe(t) for t in tensors)
            what = "devices" if len(devices) > 1 else "dtypes"
            kind = DeviceError if len(devices) > 1 else DTypeError
            raise kind(f"{self.name}: inputs on different {what}: {details}; "
                       f"move them with .to(device=..., dtype=...) first")

    def forward(self, *xs):  # pragma: no cover - abstract
        raise NotImplementedError

    def backward(self, *gys):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} has no backward")

    def output(self, index: int = 0) -> Tensor:
        """Output ``index`` as a Tensor in this graph (for backwards that reuse the result)."""
        y = self._output_refs[index]()
        if y is None:
            raise GraphError(f"{self.name}: output {index} is no longer alive; save it instead")
        if self._clock != _write_clock:
            _check_unwritten(self, y, f"output {index}")
        return y

    def release(self) -> None:
        """Drop the inputs and saved arrays: what ``backward`` without retain_graph does."""
        init = self._init_state
        self.__dict__.clear()
        self._released = True
        if init is not None:  # a held instance can still be called again
            self._init_state = init

    # -- PyTorch's ctx API (the node is the ctx) ----------------------------------------
    def save_for_backward(self, *tensors: Tensor | None) -> None:
        """Keep tensors for ``backward`` (read them back with ``saved_tensors``)."""
        for t in tensors:
            if t is not None and not isinstance(t, Tensor):
                raise DTypeError(f"save_for_backward: can only save Tensors (or None), got "
                                 f"{type(t).__name__}; keep other values as ctx attributes")
        self._saved = tensors

    @property
    def saved_tensors(self) -> tuple:
        """The tensors given to ``save_for_backward``; outputs of this op come back as part of
        the graph (so a backward that uses them can be differentiated again). Raises
        PyTorch's error if one was modified in place after it was saved."""
        if self._released:
            raise GraphError(f"{self.name}: saved tensors were freed after the first backward; "
                               f"pass retain_graph=True to the first backward to go through "
                               f"the graph a second time")
        saved = self.__dict__.get("_saved", ())
        slots = self.__dict__.get("_saved_outputs", {})
        out = tuple(self._saved_output(slots[i]) if i in slots else t
                    for i, t in enumerate(saved))
        if self._clock != _write_clock:
            for i, t in enumerate(out):
                if t is not None and i not in slots:
                    _check_unwritten(self, t, f"saved tensor {i}")
        return out

    def _saved_output(self, index: int) -> Tensor:
        """Output ``index``, saved for backward: the output itself while it lives, else a
        tensor of its saved value that takes its place as this op's output (PyTorch's
        SavedVariable), so that a backward using it can still be differentiated."""
        y = self._output_refs[index]()
        if y is None:
            y = Tensor._wrap(self._output_data[index])
            y.requires_grad, y.creator, y.generation = True, self, self.generation + 1
            refs = list(self._output_refs)
            refs[index] = weakref.ref(y)
            self._output_refs = tuple(refs)
        return self.output(index)

    def mark_non_differentiable(self, *outputs: Tensor) -> None:
        """Outputs that get no gradient (indices, masks): they do not require grad."""
        self._non_differentiable = {id(t) for t in outputs}

    def mark_dirty(self, *tensors: Tensor) -> None:
        """Inputs that ``forward`` wrote in place (PyTorch's ``ctx.mark_dirty``): each one
        returned from forward comes back as the same tensor, now the output of this op, and
        ops recorded earlier that need its old value refuse their backward. A leaf that
        requires grad cannot be written so (PyTorch's error)."""
        for t in tensors:
            if not isinstance(t, Tensor):
                raise DTypeError(f"mark_dirty: can only mark Tensors, got {type(t).__name__}")
        self._dirty = tensors

    def set_materialize_grads(self, value: bool) -> None:
        """With False, ``backward`` gets None (not zeros) for outputs that got no gradient."""
        self._materialize_grads = bool(value)


class _ApplyNode(Function):
    """The graph node of one ``F.apply(...)`` call of a PyTorch-style Function ``F``; it is
    also the ``ctx`` that ``F.forward`` and ``F.backward`` receive. Each class ``F`` gets its
    subclass ``FBackward`` (``F.apply(x).grad_fn`` prints as ``<FBackward>``, as in PyTorch)."""

    function: type  # the user's class (forward/backward are its static methods)

    @property
    def name(self) -> str:
        return self.function.__name__

    @classmethod
    def _run(cls, args: tuple, kwargs: dict) -> Any:
        ctx = object.__new__(cls)
        F = cls.function
        positions = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        ctx.needs_input_grad = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        recording = is_grad_enabled()
        with no_grad():  # forward runs without recording, as in PyTorch
            if "setup_context" in _class_attributes(F):  # PyTorch's newer split forward
                result = F.forward(*args, **kwargs)
                F.setup_context(ctx, args, result)
            else:
                result = F.forward(ctx, *args, **kwargs)
        single = not isinstance(result, tuple)
        results = (result,) if single else result
        dirty = {id(t): t for t in ctx.__dict__.pop("_dirty", ())}
        if dirty:
            cls._written_in_place(ctx, args, dirty, recording)
        # each Tensor output gets a Tensor of its own (forward may return an input as it is),
        # except an input written in place (mark_dirty), which is returned itself
        tensor_slots = [i for i, r in enumerate(results) if isinstance(r, Tensor)]
        outputs = [results[i] if id(results[i]) in dirty else Tensor._wrap(results[i].data)
                   for i in tensor_slots]
        wrapped = list(results)
        for i, y in zip(tensor_slots, outputs):
            wrapped[i] = y
        if recording and True in ctx.needs_input_grad:
            saved = ctx.__dict__.get("_saved", ())
            index_of = {id(results[i]): k for k, i in enumerate(tensor_slots)}
            ctx._saved_outputs = {j: index_of[id(t)] for j, t in enumerate(saved)
                                  if t is not None and id(t) in index_of}
            ctx._output_data = {k: outputs[k].data for k in ctx._saved_outputs.values()}
            # an output saved for backward comes back through output(): no reference cycle
            ctx._saved = tuple(None if j in ctx._saved_outputs else t for j, t in enumerate(saved))
            ctx._arg_positions = positions
            ctx._n_args = len(args)
            ctx._output_slots = (tensor_slots, len(results))
            # an input written in place: a tensor of its old place in the graph is the input
            tensors = tuple(_before_write(args[i]) if id(args[i]) in dirty else args[i]
                            for i in positions)
            needs = tuple(ctx.needs_input_grad[i] for i in positions)
            if outputs:
                ctx._record(tensors, needs, outputs)
                ctx._output_meta = tuple([(y.data.shape, y.data.dtype) for y in outputs])
                skip = ctx.__dict__.get("_non_differentiable", ())
                for r, y in zip((results[i] for i in tensor_slots), outputs):
                    if id(r) in skip or y.data.dtype.kind != "f":  # int outputs: no gradient
                        y.requires_grad, y.creator = False, None
        return wrapped[0] if single else tuple(wrapped)

    @staticmethod
    def _written_in_place(ctx: "_ApplyNode", args: tuple, dirty: dict, recording: bool) -> None:
        """Checks and bookkeeping for the inputs ``forward`` marked dirty."""
        name = ctx.function.__name__
        inputs = {id(a) for a in args if isinstance(a, Tensor)}
        for t in dirty.values():
            if id(t) not in inputs:
                raise GraphError(f"{name}: mark_dirty was given a tensor that is not an input "
                                 f"of forward ({_describe(t)})")
            if recording and t.requires_grad and t.creator is None:
                raise GraphError(f"{name}: a leaf Variable that requires grad has been used in "
                                 f"an in-place operation ({_describe(t)} was marked dirty); "
                                 f"pass a clone(), or call under `with mg.no_grad():`")
            _mark_written(t.data)  # ops recorded before that read it refuse their backward

    def backward(self, *gys: Tensor | None) -> tuple:
        slots, n_results = self._output_slots
        grads_out: list = [None] * n_results
        for i, g in zip(slots, gys):
            grads_out[i] = g
        result = self.function.backward(self, *grads_out)
        if not isinstance(result, tuple):
            result = (result,)
        name = f"{self.function.__name__}Backward"
        if len(result) != self._n_args and not (
                len(result) > self._n_args and all(g is None for g in result[self._n_args:])):
            raise GraphError(f"function {name} returned an incorrect number of gradients "
                               f"(expected {self._n_args}, got {len(result)})")
        positions = set(self._arg_positions)
        for i, g in enumerate(result[:self._n_args]):
            if i not in positions and g is not None:
                raise GraphError(f"function {name} returned a gradient different than None at "
                                   f"position {i + 1}, but the corresponding forward input was "
                                   f"not a Tensor")
        grads = []
        for k, i in enumerate(self._arg_positions):
            g, x = result[i], self.inputs[k]
            if g is not None:
                g = self._fit_gradient(g, x, k, name)
            grads.append(g)
        return tuple(grads)

    @staticmethod
    def _fit_gradient(g: Any, x: Tensor, index: int, name: str) -> Tensor:
        """PyTorch's checks on a returned gradient: a Tensor of the input's shape, or one that
        the input's shape broadcasts to (summed back); cast to the input's dtype."""
        if not isinstance(g, Tensor):
            raise DTypeError(f"function {name} returned a {type(g).__name__} as gradient "
                             f"{index}; expected a Tensor or None")
        if g.shape != x.shape:
            try:
                fits = np.broadcast_shapes(x.shape, g.shape) == g.shape
            except ValueError:
                fits = False
            if not fits:
                raise ShapeError(f"function {name} returned an invalid gradient at index "
                                 f"{index} - got {list(g.shape)} but expected shape compatible "
                                 f"with {list(x.shape)}")
            from .ops.reduce import sum_to
            lead = g.ndim - x.ndim
            g = sum_to(g, (1,) * lead + x.shape).reshape(x.shape) if lead else sum_to(g, x.shape)
        if g.dtype != x.dtype and g.dtype.kind == "f" and x.dtype.kind == "f":
            g = g.to(dtype=x.dtype)
        return g


def _before_write(x: Tensor) -> Tensor:
    """A tensor that takes ``x``'s place in the graph as it was before an in-place write
    (the output of x's creator, if any), so ``x`` can become the output of the writing op."""
    old = Tensor._wrap(x.data)
    if x.creator is not None:
        old.requires_grad, old.creator, old.generation = True, x.creator, x.generation
        _replace_output(x.creator, x, old)
    return old


def _class_attributes(cls: type) -> set:
    """Names defined by ``cls`` or its bases below Function (what a user overrode)."""
    names: set = set()
    for klass in cls.__mro__:
        if klass is Function:
            break
        names.update(vars(klass))
    return names


# ---------------------------------------------------------------------------- backward engine


def _grad_as_tensor(grad: Any, root: Tensor) -> Tensor:
    if grad is None:
        if root.data.size != 1:
            raise ShapeError(f"backward: grad can be implicitly created only for one-element "
                             f"outputs, got shape {root.shape}; pass grad=")
        xp = backend.get_array_module(root.data)
        return Tensor._wrap(xp.ones_like(root.data))
    if isinstance(grad, Tensor):
        g = grad
        if g.dtype != root.dtype or g.device != root.device:
            raise DTypeError(f"backward: grad is {_describe(g)} but the output is {_describe(root)}")
    else:  # an array or a number: take the output's dtype and device
        array = grad if backend.is_cupy_array(grad) else np.asarray(grad)
        g = Tensor._wrap(backend.to_device(array, root.device).astype(root.dtype, copy=False))
    if g.shape != root.shape:
        raise ShapeError(f"backward: grad of shape {g.shape} does not match output shape {root.shape}")
    return g


def _apply_hooks(t: Tensor, g: Tensor) -> Tensor:
    for hook in t._hooks or ():
        new = hook(g)
        if new is not None:
            if not isinstance(new, Tensor):
                raise DTypeError(f"register_hook: a hook returned a {type(new).__name__} for the "
                                 f"gradient of a tensor of shape {t.shape}; return a Tensor or "
                                 f"None")
            if new.data.shape != g.data.shape or new.data.dtype != g.data.dtype:
                raise ShapeError(f"register_hook: a hook returned a gradient of {_describe(new)} "
                                 f"for a tensor of shape {t.shape} {t.dtype}; a hook may "
                                 f"change the gradient's values, not its shape or dtype")
            g = new
    return g


def _accumulate(store: dict, t: Tensor, g: Tensor) -> None:
    key = id(t)
    if key in store:
        store[key] = (t, store[key][1] + g)
    else:
        store[key] = (t, g)


def run_backward(roots: Sequence[Tensor], root_grads: Sequence[Any], retain_graph: bool | None,
                 create_graph: bool, inputs: Sequence[Tensor] | None) -> list | None:
    """The engine behind ``Tensor.backward`` and ``grad``.

    With ``inputs`` None, gradients accumulate into the ``.grad`` of leaves. Otherwise
    nothing is accumulated and the gradients w.r.t. ``inputs`` are returned.
    """
    if retain_graph is None:
        retain_graph = create_graph
    grads: dict[int, tuple[Tensor, Tensor]] = {}
    heap: list = []
    queued: set[int] = set()
    counter = itertools.count()  # tie-break: functions are not orderable
    wanted = None if inputs is None else {id(t) for t in inputs}
    captured: dict[int, Tensor] = {}

    def push(f: Function) -> None:
        if id(f) not in queued:
            queued.add(id(f))
            heapq.heappush(heap, (-f.generation, next(counter), f))

    # grad(): run only the functions on a path to a wanted tensor, and ask them only for
    # the input gradients that lead there (a gradient penalty skips the weight gradients)
    needed = None if wanted is None else _needed_functions(roots, wanted)

    handed_out: set[int] = set()  # ids of arrays a leaf's .grad or the caller already holds
    previous_mode = _grad_mode.get() is True
    _set_mode(bool(create_graph))
    try:
        for root, g in zip(roots, root_grads):
            if not root.requires_grad:
                raise GraphError("backward: the tensor does not require grad and has no grad_fn")
            g = _grad_as_tensor(g, root)
            handed_out.add(id(g.data))
            _accumulate(grads, root, g)
            if root.creator is not None and (needed is None or id(root.creator) in needed):
                push(root.creator)

        while heap:
            f = heapq.heappop(heap)[2]
            if f._released:
                raise GraphError(
                    f"backward: trying to backward through {type(f).__name__} a second time, but "
                    f"its saved arrays were freed after the first backward; pass "
                    f"retain_graph=True to the first backward if you need to do this")
            gys = []
            missing = False
            for ref in f._output_refs:
                y = ref()
                entry = grads.pop(id(y), None) if y is not None else None
                if entry is None:
                    gys.append(None)
                    missing = True
                    continue
                gy = entry[1]
                if y._hooks:
                    gy = _apply_hooks(y, gy)
                if y._retains_grad:
                    y.grad = gy if y.grad is None else y.grad + gy
                if wanted is not None and id(y) in wanted:
                    captured[id(y)] = gy
                gys.append(gy)
            if missing:
                if all(g is None for g in gys):
                    continue
                if f._materialize_grads:
                    xp = backend.get_array_module(f.inputs[0].data)
                    gys = [g if g is not None else Tensor._wrap(xp.zeros(shape, dtype=dtype))
                           for g, (shape, dtype) in zip(gys, f._output_meta)]
            if f._clock != _write_clock:  # something was written in place since f was recorded
                _check_node(f)
            if _observers:
                _observe("backward_begin", f, gys)
            needs = f.needs_input_grad
            if needed is None:
                gxs = f.backward(*gys)
            else:  # grad(): ask only for the gradients that lead to the inputs
                f.needs_input_grad = tuple(
                    n and (id(x) in wanted or (x.creator is not None and id(x.creator) in needed))
                    for x, n in zip(f.inputs, needs))
                try:
                    gxs = f.backward(*gys)
                finally:
                    needs, f.needs_input_grad = f.needs_input_grad, needs
            if type(gxs) is not tuple:
                gxs = (gxs,)
            if _observers:
                _observe("backward_end", f, gxs)
            if len(gxs) != len(f.inputs):
                raise GraphError(f"{f.name}: backward returned {len(gxs)} gradients for "
                                   f"{len(f.inputs)} inputs")
            for x, gx, need in zip(f.inputs, gxs, needs):
                if gx is None or not need:
                    continue
                if gx.data.shape != x.data.shape or gx.data.dtype != x.data.dtype:
                    raise ShapeError(f"{f.name}: backward gave a gradient of "
                                     f"{_describe(gx)} for an input of {_describe(x)}")
                key = id(x)
                if key in grads:
                    grads[key] = (x, grads[key][1] + gx)
                else:
                    grads[key] = (x, gx)
                creator = x.creator
                if creator is not None and id(creator) not in queued and (
                        needed is None or id(creator) in needed):
                    queued.add(id(creator))
                    heapq.heappush(heap, (-creator.generation, next(counter), creator))
            if not retain_graph:
                f.release()

        # What is left in ``grads`` belongs to leaves (and to roots that are leaves).
        for t, g in grads.values():
            if t._hooks:
                g = _apply_hooks(t, g)
            if wanted is not None:
                if id(t) in wanted:
                    captured[id(t)] = g
            elif t.is_leaf:
                if t.grad is not None:
                    t.grad = t.grad + g
                elif create_graph:
                    t.grad = g
                else:
                    # Each leaf owns its .grad array (optimizers update it in place): copy a
                    # view that shares memory with anything else (a broadcast, a slice, a
                    # view of a saved array) or an array another leaf or the caller holds
                    # (add's backward hands one gradient to both inputs).
                    data = g.data
                    if id(data) in handed_out or not (data.flags.owndata or _sole_view(data)):
                        data = data.copy()
                    handed_out.add(id(data))
                    t.grad = Tensor._wrap(data)
    finally:
        _set_mode(previous_mode)
    if inputs is None:
        return None
    return [captured.get(id(t)) for t in inputs]


def _sole_view(data) -> bool:
    """True for a writeable view (a reshape or transpose: conv gradients are channels-last
    views) that spans all of its base array when nothing else holds that base: then the
    view owns the memory in effect, and a leaf may keep it as its .grad without a copy
    (a 3 MB copy was ~15% of batch norm's backward)."""
    base = data.base
    if not isinstance(base, type(data)) or data.size != base.size:
        return False                                 # not an array's view, or a part / broadcast
    del base                                         # (a reference of our own would count)
    if not getattr(data.flags, "writeable", True):
        return False
    if not getattr(sys, "_is_gil_enabled", lambda: True)():
        return False                                 # free-threaded: reference counts may lag
    return _base_references(data) <= _SOLE_VIEW_REFERENCES


def _base_references(view) -> int:
    """sys.getrefcount of ``view.base``, counted the same way for the check above and for
    the calibration below (how many references the call itself adds varies between Python
    versions, so the threshold is measured, not assumed)."""
    base = view.base
    return sys.getrefcount(base)


_SOLE_VIEW_REFERENCES = _base_references(np.empty(2).reshape(1, 2))  # held by the view only
_ALONE_REFS = _references(Tensor._wrap(np.empty(2)))  # an array only its Tensor holds


def _needed_functions(roots: Sequence[Tensor], wanted: set[int]) -> set[int]:
    """ids of the functions below ``roots`` from which a tensor in ``wanted`` can be reached
    (released ones included, so that backward reports them)."""
    functions: dict[int, Function] = {}
    stack = [r.creator for r in roots if r.creator is not None]
    while stack:
        f = stack.pop()
        if id(f) in functions:
            continue
        functions[id(f)] = f
        if not f._released:
            stack.extend(x.creator for x in f.inputs if x.creator is not None)
    needed: set[int] = set()
    # a creator's generation is below its consumers': visit inputs' creators first
    for f in sorted(functions.values(), key=lambda f: f.generation):
        if f._released or any(id(x) in wanted or (x.creator is not None and id(x.creator) in needed)
                              for x in f.inputs):
            needed.add(id(f))
    return needed


def grad(outputs: Tensor | Sequence[Tensor], inputs: Tensor | Sequence[Tensor],
         grad_outputs: Any = None, retain_graph: bool | None = None, create_graph: bool = False,
         allow_unused: bool = False) -> tuple:
    """Gradients of ``outputs`` w.r.t. ``inputs`` (``torch.autograd.grad``'s semantics).

    Returns a tuple with one gradient per input, without touching any ``.grad``. With
    ``create_graph=True`` the gradients have a graph, so they can be differentiated again.
    """
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    single_input = isinstance(inputs, Tensor)
    inputs = [inputs] if single_input else list(inputs)
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    elif isinstance(grad_outputs, Tensor) or not isinstance(grad_outputs, (list, tuple)):
        grad_outputs = [grad_outputs]
    if len(grad_outputs) != len(outputs):
        raise ArgumentError(f"grad: {len(grad_outputs)} grad_outputs for {len(outputs)} outputs")
    for t in inputs:
        if not t.requires_grad:
            raise GraphError(f"grad: an input of shape {t.shape} does not require grad")
    result = run_backward(outputs, grad_outputs, retain_graph, create_graph, inputs=inputs)
    for t, g in zip(inputs, result):
        if g is None and not allow_unused:
            raise GraphError(f"grad: an input of shape {t.shape} was not used in the graph "
                               f"(pass allow_unused=True to get None for it)")
    return tuple(result)


def iter_graph(root: Tensor) -> Iterable[Function]:
    """The functions that made ``root``, newest first (for printing a graph)."""
    seen: set[int] = set()
    stack = [root.creator] if root.creator is not None else []
    while stack:
        f = stack.pop()
        if id(f) in seen or f._released:
            continue
        seen.add(id(f))
        yield f
        stack.extend(x.creator for x in f.inputs if x.creator is not None)


# ---------------------------------------------------------------------------- PyTorch's names


class _OnceDifferentiable(Function):
    """Stands between a ``@once_differentiable`` backward's results and the graph: its own
    backward (a second derivative) refuses."""

    def __init__(self, name: str) -> None:
        self.function_name = name

    def forward(self, g, *inputs):
        return g

    def backward(self, gy):
        raise GraphError(f"{self.function_name}: trying to differentiate twice a function "
                           f"that was marked with @once_differentiable")


def once_differentiable(backward: Callable) -> Callable:
    """Decorate a PyTorch-style ``backward(ctx, *grads)`` whose body is not differentiable
    (raw array code): it runs without recording, and a second derivative through it raises."""
    @functools.wraps(backward)
    def wrapper(ctx: Function, *grads: Any) -> Any:
        with no_grad():
            result = backward(ctx, *grads)
        if not is_grad_enabled():
            return result
        recorded = [g for g in grads if isinstance(g, Tensor) and g.requires_grad]
        if not recorded:
            return result
        single = not isinstance(result, tuple)
        marked = tuple(_OnceDifferentiable(ctx.name)(r, *recorded)
                       if isinstance(r, Tensor) and r.dtype.kind == "f" else r
                       for r in ((result,) if single else result))
        return marked[0] if single else marked
    return wrapper


def backward(tensors: Tensor | Sequence[Tensor], grad_tensors: Any = None,
             retain_graph: bool | None = None, create_graph: bool = False,
             inputs: Sequence[Tensor] | None = None) -> None:
    """``torch.autograd.backward``: ``t.backward(g)`` for several tensors at once."""
    tensors = [tensors] if isinstance(tensors, Tensor) else list(tensors)
    if grad_tensors is None:
        grad_tensors = [None] * len(tensors)
    elif isinstance(grad_tensors, Tensor) or not isinstance(grad_tensors, (list, tuple)):
        grad_tensors = [grad_tensors]
    if len(grad_tensors) != len(tensors):
        raise ArgumentError(f"backward: {len(grad_tensors)} grad_tensors for {len(tensors)} "
                            f"tensors")
    if inputs is not None:
        raise ArgumentError("backward: inputs= is not supported; use mg.grad(outputs, inputs)")
    run_backward(tensors, grad_tensors, retain_graph, create_graph, inputs=None)


def __getattr__(name: str) -> Any:
    """``mg.autograd.gradcheck`` / ``gradgradcheck``, as ``torch.autograd`` has them (they
    live in minigan/gradcheck.py, which imports this module)."""
    if name in ("gradcheck", "gradgradcheck"):
        import importlib  # (the package binds the name ``gradcheck`` to the function)
        return getattr(importlib.import_module(f"{__package__}.gradcheck"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
