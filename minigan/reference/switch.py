"""The switch between the fast kernels (``minigan/ops/``) and the plain reference kernels
(``minigan/reference/``).

    import minigan as mg
    with mg.use_reference_kernels():      # or @mg.use_reference_kernels() on a function
        loss = model(x)                   # F.conv2d, F.batch_norm, ... run the reference kernels
    loss.backward()                       # and so do their backwards (recorded in the graph)

The choice is made when an op is *called* (its forward): the graph remembers which kernel
ran, so a backward outside the block still runs the reference backwards. Blocks nest (the
innermost wins, ``use_reference_kernels(False)`` turns them off inside one) and belong to
the thread that opened them. Outside every block, the environment variable
``MINIGAN_REFERENCE_KERNELS`` decides: ``1`` (or true, yes, on) runs the reference kernels
everywhere, ``0`` or unset the fast ones. It is read once, when minigan is imported
(reading ``os.environ`` on every op call cost more than the check itself); inside a running
program use ``use_reference_kernels``.

Each fast public function (``F.conv2d``, ...) checks its arguments, then asks
:func:`reference_kernels_enabled` which kernel to run: one ``if`` per call, a global read
when no block is open anywhere.
"""
from __future__ import annotations

import contextlib
import os
import threading

from ..errors import ArgumentError

ENV_VAR = "MINIGAN_REFERENCE_KERNELS"
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("", "0", "false", "no", "off")


def _from_environment() -> bool:
    value = os.environ.get(ENV_VAR, "").strip().lower()
    if value not in _TRUE + _FALSE:
        raise ArgumentError(f"{ENV_VAR}: expected 1 (reference kernels) or 0 (fast kernels), "
                            f"got {os.environ[ENV_VAR]!r}")
    return value in _TRUE


FROM_ENVIRONMENT = _from_environment()
_local = threading.local()   # .stack: this thread's open blocks, innermost last
_open_blocks = 0             # blocks open in any thread (0: the environment decides)
_lock = threading.Lock()


def reference_kernels_enabled() -> bool:
    """True when the ops called now run the reference kernels (see the module docstring)."""
    if _open_blocks:
        stack = getattr(_local, "stack", None)
        if stack:
            return stack[-1]
    return FROM_ENVIRONMENT


class use_reference_kernels(contextlib.ContextDecorator):
    """Run the ops called inside on the plain reference kernels of ``minigan/reference/``
    (``enabled=False``: on the fast ones). A context manager and a decorator; nestable;
    per thread.

    >>> import minigan as mg, minigan.functional as F
    >>> with mg.use_reference_kernels():
    ...     y = F.leaky_relu(mg.tensor([-1.0, 2.0], requires_grad=True), 0.2)
    >>> type(y.creator).__module__
    'minigan.reference.activation'
    """

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = bool(enabled)

    def __enter__(self) -> "use_reference_kernels":
        global _open_blocks
        if not hasattr(_local, "stack"):
            _local.stack = []
        _local.stack.append(self.enabled)
        with _lock:
            _open_blocks += 1
        return self

    def __exit__(self, *exc) -> None:
        global _open_blocks
        _local.stack.pop()
        with _lock:
            _open_blocks -= 1
