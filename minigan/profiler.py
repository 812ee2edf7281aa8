"""The op profiler: ``with mg.profile() as p: ...`` then ``print(p.table())``.

Every op's forward and every backward that runs inside the block is recorded, with

- **calls**: how many times it ran. A backward is written with differentiable ops, so the
  ops a backward calls count as forward calls of their own (a matmul's backward makes two
  matmuls), as in PyTorch's profiler;
- **self time**: the time inside the op minus the time of the ops it called (a backward's
  self time excludes the matmuls it made, which show on their own rows), and **total
  time** including them. On a GPU the device is synchronised before and after each op
  (``backend.synchronize``), so the time is the kernels' and not the launch's;
- **FLOPs**, for the ops whose cost is known (minigan/flops.py: the matrix products);
- **bytes**: what the op allocated for its results: the outputs' ``nbytes`` for a forward,
  the gradients' for a backward. A result that is a view of an input (a reshape, a gradient
  handed through unchanged) counts 0, and so does one that an op it called made (a
  matmul's backward returns what its matmuls made: those bytes show on the matmul rows),
  so the total counts every allocation once.

``p.table()`` prints one row per op and pass, sorted by total time (``sort_by=``,
``row_limit=``, ``group_by_input_shape=`` as PyTorch's ``key_averages().table()``), with the
totals. Outside a profile nothing is recorded and nothing is slowed down.
"""
from __future__ import annotations

import dataclasses
import threading
import time
from typing import Any, Callable

import numpy as np

from . import backend
from .errors import ArgumentError
from .flops import flops_of
from .observers import Observer, add_observer, remove_observer


@dataclasses.dataclass
class OpStats:
    """One row: an op in one pass (``"forward"`` or ``"backward"``), maybe one input shape."""
    name: str
    kind: str
    input_shapes: Any = ""           # the inputs' shapes, when grouped by them
    calls: int = 0
    self_time: float = 0.0           # seconds
    total_time: float = 0.0          # seconds, including the ops it called
    flops: int | None = None         # None: not known for this op
    bytes: int = 0

    def add(self, other: "OpStats") -> None:
        self.calls += other.calls
        self.self_time += other.self_time
        self.total_time += other.total_time
        if other.flops is not None:
            self.flops = (self.flops or 0) + other.flops
        self.bytes += other.bytes


def _root(a: Any) -> Any:
    """The array that owns ``a``'s memory (``a`` itself unless it is a view)."""
    while getattr(a, "base", None) is not None:
        a = a.base
    return a


def _new_bytes(results: list, sources: list) -> int:
    """nbytes of the result arrays that are not (views of) a source array."""
    owners = {id(_root(s)) for s in sources}
    return sum(r.nbytes for r in results if id(_root(r)) not in owners)


# sort_by keys, with PyTorch's names as aliases
_SORT_KEYS: dict[str, Callable[[OpStats], Any]] = {
    "total_time": lambda r: -r.total_time,
    "self_time": lambda r: -r.self_time,
    "calls": lambda r: -r.calls,
    "flops": lambda r: -(r.flops or 0),
    "bytes": lambda r: -r.bytes,
    "name": lambda r: (r.name, r.kind),
}
_SORT_ALIASES = {"cpu_time_total": "total_time", "cuda_time_total": "total_time",
                 "self_cpu_time_total": "self_time", "self_cuda_time_total": "self_time",
                 "count": "calls", "cpu_memory_usage": "bytes", "self_cpu_memory_usage": "bytes"}


class OpTable(list):
    """The rows of a profile (a list of :class:`OpStats`), printable with :meth:`table`."""

    wall_time: float = 0.0

    def table(self, sort_by: str = "total_time", row_limit: int | None = 100) -> str:
        """The rows as a text table sorted by ``sort_by`` (total_time, self_time, calls,
        flops, bytes, name, or PyTorch's cpu_time_total, self_cpu_time_total, count, ...),
        at most ``row_limit`` of them (None or -1: all), then the totals of all rows."""
        key = _SORT_ALIASES.get(sort_by, sort_by)
        if key not in _SORT_KEYS:
            raise ArgumentError(f"table: sort_by must be one of "
                                f"{', '.join(map(repr, list(_SORT_KEYS) + list(_SORT_ALIASES)))}, "
                                f"got {sort_by!r}")
        if row_limit is not None and (isinstance(row_limit, bool) or not isinstance(row_limit, int)
                                      or (row_limit < 1 and row_limit != -1)):
            raise ArgumentError(f"table: row_limit must be a positive int, -1 or None, "
                                f"got {row_limit!r}")
        rows = sorted(self, key=_SORT_KEYS[key])
        shown = rows if row_limit in (None, -1) else rows[:row_limit]
        total = OpStats("total", "")
        for r in self:
            total.add(r)
        with_shapes = any(r.input_shapes for r in self)
        f_unit, f_scale = _unit(total.flops or 0, "FLOPs")
        b_unit, b_scale = _unit(total.bytes, "B")
        width = max([len(r.name) for r in shown] + [20])
        header = (f"{'op':{width}s}  {'pass':8s} {'calls':>7s} {'self ms':>10s} {'self %':>7s} "
                  f"{'total ms':>10s} {f_unit:>9s} {'GFLOP/s':>8s} {b_unit:>9s}"
                  + ("  input shapes" if with_shapes else ""))
        lines = [header, "-" * len(header)]
        for r in shown + [total]:
            if r is total:
                lines.append("-" * len(header))
            flops = "-" if r.flops is None else _scaled(r.flops, f_scale)
            rate = "-" if not r.flops or r.self_time <= 0 else f"{r.flops / r.self_time / 1e9:.2f}"
            share = 100.0 * r.self_time / total.self_time if total.self_time > 0 else 0.0
            total_ms = "" if r is total else f"{r.total_time * 1e3:.3f}"
            lines.append(f"{r.name:{width}s}  {r.kind:8s} {r.calls:7d} {r.self_time * 1e3:10.3f} "
                         f"{share:6.1f}% {total_ms:>10s} {flops:>9s} {rate:>8s} "
                         f"{_scaled(r.bytes, b_scale):>9s}"
                         + (f"  {r.input_shapes}" if with_shapes else "").rstrip())
        if len(shown) < len(rows):
            lines.append(f"({len(rows) - len(shown)} more rows not shown; row_limit={row_limit})")
        if self.wall_time > 0:
            lines.append(f"the ops' self time is {total.self_time * 1e3:.3f} ms of "
                         f"{self.wall_time * 1e3:.3f} ms profiled "
                         f"({100 * total.self_time / self.wall_time:.0f}%; the rest is Python "
                         f"between the ops, and the profiler's own bookkeeping)")
        return "\n".join(lines)


def _scaled(value: float, scale: float) -> str:
    return f"{value / scale:.3f}" if scale > 1 else f"{int(value)}"


def _unit(largest: float, what: str) -> tuple[str, float]:
    """A column title and divisor that show ``largest`` with a few digits (MFLOPs, kB, ...)."""
    for prefix, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if largest >= scale:
            return prefix + what, scale
    return what, 1.0


class profile(Observer):
    """Record every op run inside ``with mg.profile() as p:`` (or between ``p.start()`` and
    ``p.stop()``); ``p.table()`` prints the result.

    ``synchronize`` (default True) waits for the GPU before and after each op so that the
    times are the kernels' own; it does nothing on the CPU.

    >>> import minigan as mg
    >>> a, b = mg.randn(4, 3, requires_grad=True), mg.randn(3, 2)
    >>> with mg.profile() as p:
    ...     (a @ b).sum().backward()
    >>> [(r.name, r.kind, r.calls, r.flops) for r in p.key_averages() if r.name == "matmul"]
    [('matmul', 'forward', 2, 96), ('matmul', 'backward', 1, None)]
    """

    def __init__(self, synchronize: bool = True) -> None:
        self.synchronize = synchronize
        self._stats: dict[tuple, OpStats] = {}
        self._lock = threading.Lock()
        self._local = threading.local()
        self._started: float | None = None
        self.wall_time = 0.0

    # -- start / stop ------------------------------------------------------------------
    def start(self) -> "profile":
        if self._started is None:
            add_observer(self)
            self._started = time.perf_counter()
        return self

    def stop(self) -> None:
        if self._started is not None:
            remove_observer(self)
            self.wall_time += time.perf_counter() - self._started
            self._started = None

    def __enter__(self) -> "profile":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # -- the hooks -----------------------------------------------------------------------
    def _stack(self) -> list:
        stack = getattr(self._local, "stack", None)
        if stack is None:
            stack = self._local.stack = []
        return stack

    def _sync(self, tensors: list) -> None:
        if self.synchronize and tensors and type(tensors[0].data) is not np.ndarray:
            backend.synchronize(tensors[0].data)

    def _begin(self, f: Any, kind: str, tensors: list, sources: list) -> None:
        self._sync(tensors)
        shapes = tuple([t.data.shape for t in tensors])
        # [function, pass, input shapes, start time, time spent in the ops it called,
        #  the arrays a result may be a view of (its sources, and what the ops it called made)]
        self._stack().append([f, kind, shapes, time.perf_counter(), 0.0,
                              [t.data for t in sources if t is not None]])

    def _end(self, f: Any, kind: str, results: list, flops: int | None) -> None:
        self._sync(results)
        now = time.perf_counter()
        stack = self._stack()
        while stack:  # pop up to this op's frame (frames of ops that raised are dropped)
            frame = stack.pop()
            if frame[0] is f and frame[1] == kind:
                break
        else:
            return  # began before the profile started
        elapsed = now - frame[3]
        arrays = [r.data for r in results]
        if stack:
            stack[-1][4] += elapsed
            stack[-1][5].extend(arrays)  # counted here: not again in the caller's row
        key = (f.name, kind, frame[2])
        nbytes = _new_bytes(arrays, frame[5])
        with self._lock:
            row = self._stats.get(key)
            if row is None:
                row = self._stats[key] = OpStats(f.name, kind, frame[2])
            row.calls += 1
            row.self_time += elapsed - frame[4]
            row.total_time += elapsed
            row.bytes += nbytes
            if flops is not None:
                row.flops = (row.flops or 0) + flops

    def forward_begin(self, f: Any, inputs: tuple) -> None:
        self._begin(f, "forward", list(inputs), list(inputs))

    def forward_end(self, f: Any, inputs: tuple, outputs: list) -> None:
        flops = flops_of(f, [t.data for t in inputs], [y.data for y in outputs])
        self._end(f, "forward", outputs, flops)

    def backward_begin(self, f: Any, grad_outputs: list) -> None:
        given = [g for g in grad_outputs if g is not None]
        self._begin(f, "backward", given, given + list(f.inputs))

    def backward_end(self, f: Any, grad_inputs: tuple) -> None:
        self._end(f, "backward", [g for g in grad_inputs if g is not None], None)

    # -- results -----------------------------------------------------------------------
    def key_averages(self, group_by_input_shape: bool = False) -> OpTable:
        """The rows, one per op and pass (and input shapes with ``group_by_input_shape``)."""
        merged: dict[tuple, OpStats] = {}
        with self._lock:
            rows = [dataclasses.replace(r) for r in self._stats.values()]
        for r in rows:
            shapes = ", ".join(map(str, r.input_shapes)) if group_by_input_shape else ""
            key = (r.name, r.kind, shapes)
            if key in merged:
                merged[key].add(r)
            else:
                merged[key] = dataclasses.replace(r, input_shapes=shapes)
        table = OpTable(merged.values())
        table.wall_time = self.wall_time + (0.0 if self._started is None
                                            else time.perf_counter() - self._started)
        return table

    def table(self, sort_by: str = "total_time", row_limit: int | None = 100,
              group_by_input_shape: bool = False) -> str:
        """``key_averages(group_by_input_shape).table(sort_by, row_limit)``."""
        return self.key_averages(group_by_input_shape).table(sort_by, row_limit)


def profile_steps(step: Callable[[], Any], steps: int, warmup: int = 1,
                  synchronize: bool = True) -> profile:
    """Run ``step()`` ``warmup`` times unprofiled (first calls pay for allocations and
    caches), then ``steps`` times inside a profile; returns the profile."""
    for _ in range(warmup):
        step()
    with profile(synchronize=synchronize) as p:
        for _ in range(steps):
            step()
    return p
