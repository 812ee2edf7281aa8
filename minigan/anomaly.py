"""Anomaly detection: stop at the first op whose forward or backward makes NaN or Inf.

    with mg.detect_anomaly():
        loss = model(x).log().mean()       # AnomalyError here if log makes NaN ...
        loss.backward()                    # ... or here, naming the op and the line above

or ``mg.set_detect_anomaly(True)`` for the rest of the program (PyTorch's two spellings).
While it is on, every op's outputs and every backward's gradients are checked with
``isfinite`` (one pass over each array: slow, for debugging only), and each recorded op
remembers where in *your* code it was called (the innermost frames outside minigan's own
files), so an error raised in the backward pass points at the forward line that built
the failing op, as PyTorch's "Traceback of forward call that caused the error" does.

Off, it costs nothing: no observer is registered, and the engine's hooks are one falsy
check each (minigan/observers.py).
"""
from __future__ import annotations

import contextlib
import os
import sys
import traceback
import weakref
from typing import Any

from . import backend
from .errors import AnomalyError
from .observers import Observer, add_observer, remove_observer

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep
FRAMES_SHOWN = 6  # the innermost frames of the user's code kept for a message


def user_frames(limit: int = FRAMES_SHOWN) -> list[traceback.FrameSummary]:
    """The innermost ``limit`` frames of the current stack outside minigan's own files,
    most recent call last (source lines are read only when the list is formatted)."""
    frames = []
    frame = sys._getframe(1)
    while frame is not None and len(frames) < limit:
        filename = frame.f_code.co_filename
        mine = _USER_FILE.get(filename)
        if mine is None:
            mine = _USER_FILE[filename] = not os.path.abspath(filename).startswith(_PACKAGE_DIR)
        if mine:
            frames.append(traceback.FrameSummary(filename, frame.f_lineno, frame.f_code.co_name,
                                                 lookup_line=False))
        frame = frame.f_back
    return frames[::-1]


_USER_FILE: dict[str, bool] = {}  # file name -> outside minigan's package (cached)


def _format_frames(frames: list[traceback.FrameSummary] | None, what: str) -> str:
    if frames is None:
        return (f"\n(no traceback of the forward call: this {what} was made before anomaly "
                f"detection was turned on)")
    if not frames:
        return "\n(no frame outside minigan's own files on the stack)"
    return (f"\nThe forward call that made this {what} (most recent call last):\n"
            + "".join(traceback.format_list(frames)).rstrip("\n"))


def non_finite(array: Any) -> str | None:
    """None for an array of finite values (or a non-float one), else e.g. ``"2 NaN of 6 values"``."""
    if getattr(array, "dtype", None) is None or array.dtype.kind not in "fc":
        return None
    xp = backend.get_array_module(array)
    if bool(xp.isfinite(array).all()):
        return None
    nans = int(xp.isnan(array).sum())
    infs = int(xp.isinf(array).sum())
    parts = ([f"{nans} NaN"] if nans else []) + ([f"{infs} Inf"] if infs else [])
    return f"{' and '.join(parts)} of {array.size} values"


def _describe(t: Any) -> str:
    return f"{tuple(t.shape)} {t.dtype}"


def _describe_inputs(tensors: Any, kind: str) -> str:
    """'its inputs (3,) float32 were finite', or which of them already held NaN/Inf."""
    present = [(i, t) for i, t in enumerate(tensors) if t is not None]
    if not present:
        return ""
    bad = [(i, t, non_finite(t.data)) for i, t in present]
    bad = [(i, t, b) for i, t, b in bad if b]
    if not bad:
        shapes = ", ".join(_describe(t) for _, t in present)
        return f"; {kind} {shapes} was finite" if len(present) == 1 else \
            f"; {kind}s {shapes} were finite"
    return "; " + "; ".join(f"{kind} {i} ({_describe(t)}) already held {b}" for i, t, b in bad)


class _AnomalyObserver(Observer):
    """Checks every output and gradient; remembers each recorded op's forward frames."""

    def __init__(self) -> None:
        self.check_nan = True
        self.frames: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self.incoming: dict[int, list] = {}  # id(f) -> the gradients its backward was given
        self.running: list = []               # the ops whose backward is running, innermost last

    def forward_end(self, f: Any, inputs: tuple, outputs: list) -> None:
        if self.check_nan:
            for i, y in enumerate(outputs):
                bad = non_finite(y.data)
                if bad:
                    raise self._forward_error(f, inputs, outputs, i, bad)
        if outputs and outputs[0].creator is f:  # recorded: its backward may need the frames
            try:
                self.frames[f] = user_frames()
            except TypeError:  # a Function class made unhashable (an __eq__ without __hash__)
                pass

    def _forward_error(self, f: Any, inputs: tuple, outputs: list, i: int, bad: str):
        shapes = ", ".join(_describe(o) for o in outputs)
        if self.running:  # a backward is written with ops: blame the op whose backward it is
            owner = self.running[-1]
            return AnomalyError(
                f"{owner.name}: backward made {bad} in output {i} ({_describe(outputs[i])}) of "
                f"the {f.name} it calls{_describe_inputs(inputs, f'{f.name} input')}"
                + _format_frames(self._frames_of(owner), "op"))
        return AnomalyError(f"{f.name}: forward made {bad} in output {i} (outputs {shapes})"
                            + _describe_inputs(inputs, "input")
                            + _format_frames(user_frames(), "output"))

    def _frames_of(self, f: Any) -> list | None:
        try:
            return self.frames.get(f)
        except TypeError:
            return None

    def backward_begin(self, f: Any, grad_outputs: list) -> None:
        self.running.append(f)
        self.incoming[id(f)] = grad_outputs

    def backward_end(self, f: Any, grad_inputs: tuple) -> None:
        while self.running and self.running.pop() is not f:  # (a backward that raised)
            pass
        grad_outputs = self.incoming.pop(id(f), [])
        if not self.check_nan:
            return
        for i, g in enumerate(grad_inputs):
            if g is None:
                continue
            bad = non_finite(g.data)
            if bad:
                outputs = [ref() for ref in f._output_refs]
                shapes = ", ".join(_describe(y) for y in outputs if y is not None) or "freed"
                raise AnomalyError(
                    f"{f.name}: backward made {bad} in the gradient of input {i} "
                    f"({_describe(g)}; the op's outputs: {shapes})"
                    f"{_describe_inputs(grad_outputs, 'incoming gradient')}"
                    + _format_frames(self._frames_of(f), "op"))


_OBSERVER = _AnomalyObserver()
_enabled = False


def is_anomaly_enabled() -> bool:
    """True while anomaly detection is on."""
    return _enabled


def _set(mode: bool, check_nan: bool) -> None:
    global _enabled
    _enabled = bool(mode)
    _OBSERVER.check_nan = bool(check_nan)
    remove_observer(_OBSERVER)
    if _enabled:
        add_observer(_OBSERVER)
    else:
        _OBSERVER.frames.clear()
        _OBSERVER.incoming.clear()
        _OBSERVER.running.clear()


class set_detect_anomaly:
    """Turn anomaly detection on or off now: ``mg.set_detect_anomaly(True)``. Also a context
    manager that puts the previous mode back on exit (as PyTorch's).

    ``check_nan=False`` keeps only the forward tracebacks (no isfinite checks)."""

    def __init__(self, mode: bool, check_nan: bool = True) -> None:
        self.previous = (_enabled, _OBSERVER.check_nan)
        _set(mode, check_nan)

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: Any) -> None:
        _set(*self.previous)


class detect_anomaly(contextlib.ContextDecorator):
    """Context manager (or decorator): inside it, the first op whose forward or backward
    makes NaN or Inf raises :class:`~minigan.errors.AnomalyError` naming the op, the shapes
    and the line of your code that called it.

    >>> import minigan as mg
    >>> x = mg.tensor([-1.0], requires_grad=True)
    >>> with mg.detect_anomaly():
    ...     y = x.log()                          # doctest: +ELLIPSIS
    Traceback (most recent call last):
    minigan.errors.AnomalyError: log: forward made 1 NaN of 1 values in output 0 ...
    """

    def __init__(self, check_nan: bool = True) -> None:
        self.check_nan = check_nan
        self._previous: list = []

    def __enter__(self) -> None:
        self._previous.append((_enabled, _OBSERVER.check_nan))
        _set(True, self.check_nan)

    def __exit__(self, *exc: Any) -> None:
        _set(*self._previous.pop())
