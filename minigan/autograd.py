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

import contextlib
import heapq
import itertools
import re
import sys
import weakref
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from . import backend

# ---------------------------------------------------------------------------- grad mode

_grad_enabled = True


def is_grad_enabled() -> bool:
    return _grad_enabled


@contextlib.contextmanager
def set_grad_enabled(mode: bool):
    """Record the graph (``True``) or not (``False``) inside the block."""
    global _grad_enabled
    previous, _grad_enabled = _grad_enabled, bool(mode)
    try:
        yield
    finally:
        _grad_enabled = previous


def no_grad():
    """Context manager: ops inside record no graph (inference, optimizer updates)."""
    return set_grad_enabled(False)


def enable_grad():
    return set_grad_enabled(True)


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
        raise ValueError(f"tensor: cannot build a tensor from ragged data ({exc})") from None
    if array.dtype == object:
        raise TypeError("tensor: cannot build a tensor from ragged or non-numeric data")
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
            raise TypeError(f"only floating point tensors can require grad, got {self.data.dtype}")
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

    @property
    def size(self) -> int:
        return int(self.data.size)

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def device(self) -> str:
        return backend.device_of(self.data)

    @property
    def is_leaf(self) -> bool:
        return self.creator is None

    @property
    def T(self) -> "Tensor":
        return self.transpose()

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
            raise RuntimeError(f"the truth value of a tensor of shape {self.shape} is ambiguous")
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
            raise ValueError(f"item(): only one-element tensors, got shape {self.shape}")
        return self.data.item() if not backend.is_cupy_array(self.data) else self.data.get().item()

    def tolist(self) -> Any:
        return self.numpy().tolist()

    def detach(self) -> "Tensor":
        """A new leaf sharing the same data, cut from the graph."""
        return Tensor._wrap(self.data)

    def to(self, device: str | None = None, dtype: Any = None) -> "Tensor":
        """Move to a device and/or cast; differentiable (gradients flow back across).

        ``x.to("cuda")``, ``x.to(dtype="float64")``, ``x.to("float64")``, ``x.to("cuda", "float64")``.
        """
        from .ops import elementwise, shape as shape_ops  # local: ops import this module
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
        return self.to(dtype=np.float32)

    def double(self) -> "Tensor":
        return self.to(dtype=np.float64)

    def requires_grad_(self, mode: bool = True) -> "Tensor":
        if not self.is_leaf:
            raise RuntimeError("requires_grad_(): only leaf tensors can change requires_grad")
        if mode and self.data.dtype.kind != "f":
            raise TypeError(f"only floating point tensors can require grad, got {self.data.dtype}")
        self.requires_grad = bool(mode)
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
            raise RuntimeError("register_hook(): the tensor does not require grad")
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
            raise RuntimeError("retain_grad(): the tensor does not require grad")
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


# ---------------------------------------------------------------------------- Function


def _wrap_output(y: Any) -> Tensor:
    """A forward result as a Tensor; NumPy scalars (from full reductions) become 0-d arrays."""
    if type(y) is not np.ndarray and not backend.is_cupy_array(y):
        y = np.asarray(y)
    return Tensor._wrap(y)


_NAMED = re.compile(r"^[a-z][a-z0-9_.]*: ")


def _named_error(f: "Function", exc: Exception, tensors: tuple) -> Exception:
    """The same kind of error, its message prefixed with the op and the input shapes."""
    message = str(exc)
    if not _NAMED.match(message):  # kernels that name themselves ("conv2d: ...") stay as they are
        shapes = ", ".join(str(t.shape) for t in tensors)
        message = f"{f.name}: {message} (inputs of shape {shapes})"
    kind = type(exc) if type(exc) in (ValueError, IndexError) else (
        IndexError if isinstance(exc, IndexError) else ValueError)
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


class Function:
    """One differentiable op: ``forward`` on arrays, ``backward`` on gradient Tensors.

    Subclass it and call an instance with Tensors::

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
    """

    inputs: tuple
    generation = 0
    _released = False

    @property
    def name(self) -> str:
        return type(self).__name__.lower()

    def __call__(self, *inputs: Any):
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
        except (ValueError, IndexError) as exc:  # e.g. NumPy's broadcasting errors
            raise _named_error(self, exc, tensors) from exc
        single = type(raw) is not tuple
        if single:
            outputs = [Tensor._wrap(raw) if type(raw) is np.ndarray else _wrap_output(raw)]
        else:
            outputs = [_wrap_output(y) for y in raw]
        if _grad_enabled:
            needs = tuple([t.requires_grad for t in tensors])
            if True in needs:
                self._record(tensors, needs, outputs)
        if _observers:
            _observe("forward_end", self, tensors, outputs)
        return outputs[0] if single else tuple(outputs)

    def _record(self, tensors: tuple, needs: tuple, outputs: list) -> None:
        """Make this function the creator of ``outputs`` (only when a gradient is wanted)."""
        self.needs_input_grad = needs
        self.inputs = tensors
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
            what = "devices" if len(devices) > 1 else "dtypes"
            details = ", ".join(_describe(t) for t in tensors)
            raise TypeError(f"{self.name}: inputs on different {what}: {details}; "
                            f"move them with .to(device=..., dtype=...) first")

    def forward(self, *xs):  # pragma: no cover - abstract
        raise NotImplementedError

    def backward(self, *gys):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} has no backward")

    def output(self, index: int = 0) -> Tensor:
        """Output ``index`` as a Tensor in this graph (for backwards that reuse the result)."""
        y = self._output_refs[index]()
        if y is None:
            raise RuntimeError(f"{self.name}: output {index} is no longer alive; save it instead")
        return y

    def release(self) -> None:
        """Drop the inputs and saved arrays: what ``backward`` without retain_graph does."""
        self.__dict__.clear()
        self._released = True


# ---------------------------------------------------------------------------- backward engine


def _grad_as_tensor(grad: Any, root: Tensor) -> Tensor:
    if grad is None:
        if root.data.size != 1:
            raise RuntimeError(f"backward: grad can be implicitly created only for one-element "
                               f"outputs, got shape {root.shape}; pass grad=")
        xp = backend.get_array_module(root.data)
        return Tensor._wrap(xp.ones_like(root.data))
    if isinstance(grad, Tensor):
        g = grad
        if g.dtype != root.dtype or g.device != root.device:
            raise TypeError(f"backward: grad is {_describe(g)} but the output is {_describe(root)}")
    else:  # an array or a number: take the output's dtype and device
        array = grad if backend.is_cupy_array(grad) else np.asarray(grad)
        g = Tensor._wrap(backend.to_device(array, root.device).astype(root.dtype, copy=False))
    if g.shape != root.shape:
        raise RuntimeError(f"backward: grad of shape {g.shape} does not match output shape {root.shape}")
    return g


def _apply_hooks(t: Tensor, g: Tensor) -> Tensor:
    for hook in t._hooks or ():
        new = hook(g)
        if new is not None:
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
    with set_grad_enabled(create_graph):
        for root, g in zip(roots, root_grads):
            if not root.requires_grad:
                raise RuntimeError("backward: the tensor does not require grad and has no grad_fn")
            g = _grad_as_tensor(g, root)
            handed_out.add(id(g.data))
            _accumulate(grads, root, g)
            if root.creator is not None and (needed is None or id(root.creator) in needed):
                push(root.creator)

        while heap:
            f = heapq.heappop(heap)[2]
            if f._released:
                raise RuntimeError(
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
                xp = backend.get_array_module(f.inputs[0].data)
                gys = [g if g is not None else Tensor._wrap(xp.zeros(shape, dtype=dtype))
                       for g, (shape, dtype) in zip(gys, f._output_meta)]
            if _observers:
                _observe("backward_begin", f, gys)
            needs = f.needs_input_grad
            if needed is None:
                gxs = f.backward(*gys)
            else:
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
                raise RuntimeError(f"{f.name}: backward returned {len(gxs)} gradients for "
                                   f"{len(f.inputs)} inputs")
            for x, gx, need in zip(f.inputs, gxs, needs):
                if gx is None or not need:
                    continue
                if gx.data.shape != x.data.shape or gx.data.dtype != x.data.dtype:
                    raise RuntimeError(f"{f.name}: backward gave a gradient of "
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
        raise ValueError(f"grad: {len(grad_outputs)} grad_outputs for {len(outputs)} outputs")
    for t in inputs:
        if not t.requires_grad:
            raise RuntimeError(f"grad: an input of shape {t.shape} does not require grad")
    result = run_backward(outputs, grad_outputs, retain_graph, create_graph, inputs=inputs)
    for t, g in zip(inputs, result):
        if g is None and not allow_unused:
            raise RuntimeError(f"grad: an input of shape {t.shape} was not used in the graph "
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
