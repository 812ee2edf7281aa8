"""The one module that knows NumPy from CuPy.

Everything above this layer asks for ``xp`` (the array module of an array) and never
imports ``numpy`` or ``cupy`` to decide where it runs. Devices are plain strings:
``"cpu"`` (NumPy), ``"cuda"`` and ``"cuda:N"`` (CuPy on GPU N).
"""
from __future__ import annotations

import contextlib
import functools
import math
import threading
from typing import Any

import numpy as np

# backend.DeviceError stays importable
from .errors import ArgumentError, DeviceError, DTypeError  # noqa: F401

try:  # CuPy is an optional extra: pip install "minigan[cuda12]"
    import cupy as _cupy  # type: ignore
except Exception:  # ImportError, or a CuPy that cannot load its CUDA libraries
    _cupy = None

SUPPORTED_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


_default_dtype = np.dtype(np.float32)



# ---------------------------------------------------------------------------- arrays


def get_array_module(*arrays: Any):
    """Return ``numpy`` or ``cupy``: the module that owns these arrays."""
    if _cupy is not None:
        for a in arrays:
            if isinstance(a, _cupy.ndarray):
                return _cupy
    return np


def is_cupy_array(a: Any) -> bool:
    return _cupy is not None and isinstance(a, _cupy.ndarray)


def device_of(a: Any) -> str:
    """The device string of an array: ``"cpu"`` or ``"cuda:N"``."""
    if is_cupy_array(a):
        return f"cuda:{a.device.id}"
    return "cpu"


# ---------------------------------------------------------------------------- devices


def cuda_status() -> str | None:
    """None when CUDA is usable, else a sentence saying why not and what to install."""
    if _cupy is None:
        return ('CuPy is not installed: install it with pip install "minigan[cuda12]" '
                '(or "minigan[cuda13]" for CUDA 13)')
    try:
        count = _cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:  # driver missing or too old
        return f"CuPy is installed but no GPU is visible ({exc.__class__.__name__}: {exc})"
    if count == 0:
        return "CuPy is installed but no GPU is visible (CUDA reports 0 devices)"
    return None


def cuda_device_count() -> int:
    return 0 if cuda_status() else int(_cupy.cuda.runtime.getDeviceCount())


@functools.lru_cache(maxsize=None)
def normalize_device(device: str | None) -> str:
    """``None``/"cpu" -> "cpu"; "cuda" -> "cuda:0"; "cuda:N" checked. Raises DeviceError."""
    if device is None:
        return "cpu"
    device = str(device).strip().lower()
    if device == "cpu":
        return "cpu"
    if device == "cuda" or device.startswith("cuda:"):
        index_text = device[5:] or "0"
        if not index_text.isdigit():
            raise DeviceError(f"bad device {device!r}: expected 'cpu', 'cuda' or 'cuda:N'")
        reason = cuda_status()
        if reason:
            raise DeviceError(f"device {device!r} is not available: {reason}")
        index = int(index_text)
        count = cuda_device_count()
        if index >= count:
            raise DeviceError(f"device {device!r} is not available: only {count} GPU(s) visible")
        return f"cuda:{index}"
    raise DeviceError(f"bad device {device!r}: expected 'cpu', 'cuda' or 'cuda:N'")


def xp_for_device(device: str):
    return np if normalize_device(device) == "cpu" else _cupy


def to_device(a: Any, device: str):
    """Move (copy only when needed) an array to a device."""
    device = normalize_device(device)
    if device == "cpu":
        return _cupy.asnumpy(a) if is_cupy_array(a) else np.asarray(a)
    index = int(device.split(":")[1])
    with _cupy.cuda.Device(index):
        if is_cupy_array(a) and a.device.id == index:
            return a
        return _cupy.asarray(a)


def as_numpy(a: Any) -> np.ndarray:
    return _cupy.asnumpy(a) if is_cupy_array(a) else np.asarray(a)


def device_context(device: str):
    """A context manager that makes ``device`` current (a no-op on the CPU)."""
    import contextlib
    if device == "cpu":
        return contextlib.nullcontext()
    return _cupy.cuda.Device(int(device.split(":")[1]))


# ---------------------------------------------------------------------------- dtypes


def synchronize(a: Any) -> None:
    """Wait until the GPU has finished the work queued so far on array ``a``'s device
    (kernels run asynchronously there, so timing one needs this); a no-op for NumPy arrays."""
    if is_cupy_array(a):
        with a.device:
            _cupy.cuda.get_current_stream().synchronize()


def get_default_dtype() -> np.dtype:
    return _default_dtype


def set_default_dtype(dtype: Any) -> None:
    """Set the floating dtype new tensors get: float32 or float64 (as PyTorch, which takes
    only floating types; None, integers and bool are refused)."""
    global _default_dtype
    from .errors import DTypeError
    try:
        dt = None if dtype is None or isinstance(dtype, bool) else np.dtype(dtype)
    except TypeError:
        dt = None
    if dt is None or dt not in SUPPORTED_FLOATS:  # (a dtype compares equal to None: float64)
        what = f"dtype {dt} is not supported; use float32 or float64" if dt is not None and \
            dt.kind == "f" else f"got {dtype!r}"
        raise DTypeError(f"set_default_dtype: only float32 and float64 can be the default "
                         f"dtype, {what}")
    _default_dtype = dt


def check_float_dtype(dtype: Any, where: str) -> np.dtype:
    dt = np.dtype(dtype)
    if dt.kind == "f" and dt not in SUPPORTED_FLOATS:
        raise TypeError(f"{where}: dtype {dt} is not supported; use float32 or float64")
    return dt


# ---------------------------------------------------------------------------- random


class Generator:
    """A random number generator for one device, as PyTorch's ``torch.Generator``::

        g = mg.Generator().manual_seed(0)         # "cpu"; mg.Generator("cuda") on a GPU
        z = mg.randn(64, 100, generator=g)         # draws from g; the default one is untouched
        with mg.use_generator(g):                  # draws that name no generator (dropout,
            y = D(x)                               #  nn.init, mg.randn) use g on this thread

    On the CPU it wraps a NumPy ``Generator`` (PCG64) seeded with ``np.random.default_rng``;
    on ``cuda:N`` a CuPy ``RandomState`` seeded ``seed + N`` (so ``mg.manual_seed(s)`` gives
    each GPU its own stream). ``get_state`` / ``set_state`` exist on the CPU only (CuPy cannot
    export its generators' state); re-seed a GPU generator instead.
    """

    def __init__(self, device: str = "cpu") -> None:
        self.device = normalize_device(device)
        self._seed: int | None = None
        self.impl = self._make(None)   # the NumPy Generator or CuPy RandomState behind it

    def _make(self, seed: int | None):
        if self.device == "cpu":
            return np.random.default_rng(seed)
        index = int(self.device.split(":")[1])
        with _cupy.cuda.Device(index):
            return _cupy.random.RandomState(None if seed is None else seed + index)

    def manual_seed(self, seed: int) -> "Generator":
        """Seed it (an int >= 0); returns the generator, as PyTorch's does."""
        seed = int(seed)
        if seed < 0:
            raise ArgumentError(f"Generator.manual_seed: seed must be >= 0, got {seed}")
        self._seed, self.impl = seed, self._make(seed)
        return self

    def seed(self) -> int:
        """Seed it from fresh OS entropy; returns the seed used."""
        seed = int(np.random.SeedSequence().generate_state(1, np.uint64)[0] >> 1)
        self.manual_seed(seed)
        return seed

    def initial_seed(self) -> int | None:
        """The seed it was last seeded with (None when it never was)."""
        return self._seed

    def get_state(self) -> dict:
        """The state as a JSON-serialisable dict (CPU only), for checkpoints."""
        if self.device != "cpu":
            raise DeviceError(f"Generator.get_state: not available on {self.device} (CuPy "
                              f"cannot export a generator's state); re-seed it instead")
        return self.impl.bit_generator.state

    def set_state(self, state: dict) -> "Generator":
        """Restore a state from :meth:`get_state`."""
        if self.device != "cpu":
            raise DeviceError(f"Generator.set_state: not available on {self.device}")
        self.impl.bit_generator.state = state
        return self

    def __repr__(self) -> str:
        return f"Generator(device={self.device!r}, initial_seed={self._seed})"


class _Generators:
    """The default generator of each device (created lazily), reset by ``manual_seed``."""

    def __init__(self) -> None:
        self.seed: int | None = None
        self.cpu = Generator("cpu")
        self.cuda: dict[str, Generator] = {}

    def for_device(self, device: str) -> Generator:
        if device == "cpu":
            return self.cpu
        if device not in self.cuda:
            self.cuda[device] = Generator(device)
            if self.seed is not None:
                self.cuda[device].manual_seed(self.seed)
        return self.cuda[device]


_generators = _Generators()
_scoped = threading.local()   # use_generator: this thread's generators, one per device


def manual_seed(seed: int) -> Generator:
    """Seed the default generators of the CPU and of every CuPy device; returns the CPU's."""
    _generators.seed = int(seed)
    _generators.cpu.manual_seed(seed)
    _generators.cuda = {}
    return _generators.cpu


def default_generator(device: str = "cpu") -> Generator:
    """The process-wide default generator of a device (what ``mg.manual_seed`` seeds)."""
    return _generators.for_device(normalize_device(device))


@contextlib.contextmanager
def use_generator(*generators: Generator):
    """Within the block, draws on this thread that name no ``generator=`` (``mg.randn``,
    dropout's masks, ``nn.init``) come from these generators, one per device, instead of the
    default ones; other threads and the default generators are untouched. Nests."""
    for g in generators:
        if not isinstance(g, Generator):
            raise DTypeError(f"use_generator: expected mg.Generator objects, got "
                             f"{type(g).__name__}")
    previous = getattr(_scoped, "generators", None)
    _scoped.generators = {**(previous or {}), **{g.device: g for g in generators}}
    try:
        yield
    finally:
        _scoped.generators = previous


def _source(device: str, generator: Generator | None):
    """The NumPy / CuPy generator a draw on ``device`` uses: ``generator`` when given (it must
    be on that device), else this thread's ``use_generator`` one, else the default."""
    if generator is not None:
        if not isinstance(generator, Generator):
            raise DTypeError(f"generator: expected an mg.Generator, got {type(generator).__name__}")
        if generator.device != device:
            raise DeviceError(f"generator: a generator on {generator.device} cannot draw numbers "
                              f"for a tensor on {device}")
        return generator.impl
    scoped = getattr(_scoped, "generators", None)
    if scoped and device in scoped:
        return scoped[device].impl
    return _generators.for_device(device).impl


def get_rng_state() -> dict:
    """The CPU default generator's state as a JSON-serialisable dict (for checkpoints)."""
    return _generators.cpu.get_state()


def set_rng_state(state: dict) -> None:
    _generators.cpu.set_state(state)


def random_normal(shape: tuple, dtype: Any, device: str, generator: Generator | None = None):
    gen = _source(device, generator)
    if device == "cpu":
        return gen.standard_normal(shape, dtype=np.dtype(dtype).type)
    return gen.standard_normal(shape, dtype=dtype)


def random_uniform(shape: tuple, dtype: Any, device: str, generator: Generator | None = None):
    """Uniform samples in [0, 1)."""
    gen = _source(device, generator)
    if device == "cpu":
        return gen.random(shape, dtype=np.dtype(dtype).type)
    return gen.random_sample(shape, dtype=dtype)


def random_bits32(shape: tuple, device: str, generator: Generator | None = None):
    """Uniform random uint32 (all 32 bits). On the CPU straight from the bit generator:
    ~2.3x faster than ``random_uniform`` float32, which spends a draw per value on the
    float conversion (dropout draws a few million per training step)."""
    gen = _source(device, generator)
    if device == "cpu":
        n = math.prod(shape)
        raw = gen.bit_generator.random_raw((n + 1) // 2)          # uint64: two values each
        return raw.view(np.uint32)[:n].reshape(shape)
    # CuPy's RandomState: a float64 in [0, 1) scaled to 32 bits (exact, and cheap on a GPU)
    return (gen.random_sample(shape, dtype=np.float64) * 2.0 ** 32).astype(np.uint32)


def random_integers(low: int, high: int, shape: tuple, device: str,
                    generator: Generator | None = None):
    """Integers in [low, high) as int64."""
    gen = _source(device, generator)
    if device == "cpu":
        return gen.integers(low, high, size=shape, dtype=np.int64)
    return gen.randint(low, high, size=shape, dtype=np.int64)


def random_permutation(n: int, device: str = "cpu", generator: Generator | None = None):
    return _source(normalize_device(device), generator).permutation(n)


# ---------------------------------------------------------------------------- scatter


def scatter_add(target, index, values) -> None:
    """``target[index] += values`` with repeated indices added up (not overwritten)."""
    if is_cupy_array(target):
        import cupyx  # type: ignore
        cupyx.scatter_add(target, index, values)
    else:
        np.add.at(target, index, values)


# ---------------------------------------------------------------------------- blocks

# Elements per block of ``blockwise``: 64K float32 = 256 KB, so a dozen temporaries of a
# block stay in the L2 cache.
BLOCK_ELEMENTS = 1 << 16


def blockwise(fn, x, *others, cache_blocks: bool = True):
    """``fn(x, *others)`` for an elementwise ``fn`` that makes many passes and temporaries
    (erf is ~60 NumPy calls), computed block by block on the CPU so each pass reads the
    cache, not memory (erf on 0.5M float32, one thread: 6.7 -> 4.7 ms). A big job is shared
    between threads as one part each instead (run_in_parts): small blocks on two threads
    spend their time handing the GIL back and forth (4.2 ms; one part each: 3.0 ms). One
    call on the GPU, for small or non-contiguous arrays. ``others`` (the upstream gradient
    of a fused backward, say) must have x's shape; the result has x's dtype.
    ``cache_blocks=False`` only shares a big job between the threads: for a few cheap passes
    (clip, compare, multiply) the blocks' calls and copy cost more than the cache saves
    (hardtanh's backward on 0.5M floats, one thread: 0.35 ms whole, 0.76 ms in blocks)."""
    arrays = (x,) + others
    if is_cupy_array(x) or x.size <= 2 * BLOCK_ELEMENTS or not all(
            a.flags.c_contiguous and a.shape == x.shape for a in arrays):
        return fn(*arrays)
    workers = cpu_workers() if x.size >= ELEMENTWISE_PARALLEL_MIN else 1
    if not cache_blocks and workers == 1:
        return fn(*arrays)
    flats = [a.reshape(-1) for a in arrays]
    flat = flats[0]
    out = np.empty_like(flat)
    block = -(-flat.size // workers) if not cache_blocks else \
        max(BLOCK_ELEMENTS, -(-flat.size // workers))
    starts = range(0, flat.size, block)

    def blocks(part: slice) -> None:
        for i in starts[part]:
            out[i:i + block] = fn(*(f[i:i + block] for f in flats))
    run_in_parts(blocks, len(starts), flat.size, x, ELEMENTWISE_PARALLEL_MIN)
    return out.reshape(x.shape)


# ---------------------------------------------------------------------------- parallel parts

# Below this many elements a copy is too short to be worth handing to other threads.
PARALLEL_MIN_ELEMENTS = 1 << 20
# Elementwise kernels split across cores above this many elements (~1 MB of float32).
ELEMENTWISE_PARALLEL_MIN = 1 << 18


def cpu_workers() -> int:
    """Threads for splitting big NumPy copies: the cores this process may run on (<= 8),
    or ``MINIGAN_NUM_THREADS`` when set (1 turns the splitting off)."""
    import os
    env = os.environ.get("MINIGAN_NUM_THREADS")
    if env:
        return max(1, int(env))
    return _usable_cores()


@functools.lru_cache(maxsize=None)
def _usable_cores() -> int:
    import os
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, 8))


class _Workers:
    """Persistent daemon threads, each serving its own queue of (fn, part, reply) tasks.

    Lighter than concurrent.futures: a hand-off and reply through two SimpleQueues took
    ~13 us here against ~40 us for ThreadPoolExecutor.submit().result() (and 55 us for the
    whole two-part run_in_parts), which matters when a training step splits ~70 kernels."""

    def __init__(self) -> None:
        import os
        import queue
        import threading
        self._queue, self._threading = queue, threading
        self.inboxes: list = []
        self.local = threading.local()    # marks the worker threads themselves
        if hasattr(os, "register_at_fork"):  # a forked child has none of the threads
            os.register_at_fork(after_in_child=self.inboxes.clear)

    def _serve(self, inbox) -> None:
        self.local.is_worker = True
        while True:
            fn, part, reply = inbox.get()
            try:
                fn(part)
                result = None
            except BaseException as error:  # handed to the caller, which re-raises it
                result = error
            fn = part = None  # drop the task (its closure holds arrays) before the reply
            reply.put(result)
            result = reply = None

    def run(self, fn, parts: list) -> None:
        """``fn(part)`` for every part: parts[1:] on workers, parts[0] on this thread."""
        while len(self.inboxes) < len(parts) - 1:
            inbox = self._queue.SimpleQueue()
            self._threading.Thread(target=self._serve, args=(inbox,), daemon=True,
                                   name=f"minigan-{len(self.inboxes) + 1}").start()
            self.inboxes.append(inbox)
        reply = self._queue.SimpleQueue()
        for inbox, part in zip(self.inboxes, parts[1:]):
            inbox.put((fn, part, reply))
        error = None
        try:
            fn(parts[0])
        finally:
            for _ in parts[1:]:
                result = reply.get()       # waits for every worker, even after an error
                error = error or result
        if error is not None:
            raise error


_workers = _Workers()


def run_in_parts(fn, n: int, elements: int, like: Any,
                 min_elements: int = PARALLEL_MIN_ELEMENTS) -> None:
    """Call ``fn(part)`` for slices ``part`` that cover ``range(n)`` (a first axis), in
    parallel threads when that pays: NumPy releases the GIL inside copies and ufunc loops,
    so a big strided copy split along its first axis runs on every core (BLAS already does
    this for matrix products; plain NumPy loops are single-threaded, PyTorch's are not).
    ``elements`` is the size of the whole job. On a GPU (CuPy), for small jobs or inside a
    worker (no nesting): one call, ``fn(slice(0, n))``. The parts must write disjoint memory."""
    workers = 1 if is_cupy_array(like) or elements < min_elements else min(cpu_workers(), n)
    if workers <= 1 or getattr(_workers.local, "is_worker", False):
        fn(slice(0, n))
        return
    bounds = [n * i // workers for i in range(workers + 1)]
    _workers.run(fn, [slice(bounds[i], bounds[i + 1]) for i in range(workers)])


def split_elementwise(kernel, *arrays) -> None:
    """Run ``kernel(*arrays)``, an elementwise kernel writing into its own arguments, on
    matching chunks of the arrays in parallel threads (see run_in_parts). The arrays must
    have one shape and layout; each is viewed flat in memory order (``ravel('K')``, a view
    for the dense layouts kernels produce: NCHW or conv's channels-last). Anything else, a
    GPU array or a small job: one plain call."""
    first = arrays[0]
    if first.size >= ELEMENTWISE_PARALLEL_MIN and not is_cupy_array(first) and all(
            a.shape == first.shape and a.strides == first.strides for a in arrays[1:]):
        flats = [a.ravel(order="K") for a in arrays]
        if all(np.may_share_memory(f, a) for f, a in zip(flats, arrays)):  # views, not copies
            run_in_parts(lambda part: kernel(*(f[part] for f in flats)), first.size,
                         first.size, first, ELEMENTWISE_PARALLEL_MIN)
            return
    kernel(*arrays)
