"""Watching every op: the hook that ``mg.profile()`` and ``mg.detect_anomaly()`` use.

The engine (``minigan/autograd.py``) calls four methods of each registered observer:

    forward_begin(f, inputs)           before ``f.forward`` runs (inputs: Tensors)
    forward_end(f, inputs, outputs)    after it, once the outputs are Tensors in the graph
    backward_begin(f, grad_outputs)    before ``f.backward`` runs in ``backward()`` / ``grad()``
    backward_end(f, grad_inputs)       after it (one gradient per input, None where not needed)

With no observer registered each hook is one falsy check of a module-level list, which
costs nothing measurable (benchmarks/overhead.py). Observers are process-wide, as
PyTorch's anomaly mode is: ops of every thread are seen.
"""
from __future__ import annotations

import contextlib
from typing import Any, Iterator

from . import autograd


class Observer:
    """Base class with do-nothing hooks: override the events you need."""

    def forward_begin(self, f: Any, inputs: tuple) -> None:
        pass

    def forward_end(self, f: Any, inputs: tuple, outputs: list) -> None:
        pass

    def backward_begin(self, f: Any, grad_outputs: list) -> None:
        pass

    def backward_end(self, f: Any, grad_inputs: tuple) -> None:
        pass


def add_observer(observer: Observer) -> None:
    """Start calling ``observer``'s hooks on every op (see the module docstring)."""
    autograd._observers.append(observer)


def remove_observer(observer: Observer) -> None:
    """Stop calling ``observer`` (a no-op when it is not registered)."""
    if observer in autograd._observers:
        autograd._observers.remove(observer)


def active_observers() -> tuple:
    """The observers registered now (empty when no tool is watching)."""
    return tuple(autograd._observers)


@contextlib.contextmanager
def observing(observer: Observer) -> Iterator[Observer]:
    """``observer`` watches the ops inside the block."""
    add_observer(observer)
    try:
        yield observer
    finally:
        remove_observer(observer)
