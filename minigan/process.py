"""Process-wide speed settings for training on the CPU: opt in with ``mg.tune_process()``.

Importing minigan changes nothing outside minigan. These two settings make a training step
faster, but they are **process-wide**: they change how the whole process allocates memory and
how NumPy's BLAS threads wait, for every library in it. So a library import never applies
them; the ``minigan`` command (which owns its process) does, and a program or notebook that
trains with minigan can call :func:`tune_process` once, at the start.

1. **glibc malloc keeps freed memory** (``mallopt(M_MMAP_MAX, 0)`` and
   ``mallopt(M_TRIM_THRESHOLD, 256 MB)``; Linux with glibc only). By default glibc serves
   every block over 32 MB with a fresh ``mmap`` and returns it to the OS on ``free``, so the
   kernel zero-fills every page again on first touch: a training step allocates several
   20-40 MB im2col / GEMM buffers, and a fresh 40 MB array cost ~5 ms of page faults. With
   the setting, freed memory stays in the heap and is reused (a DCGAN-28 step, batch 64, one
   thread: ~7% faster, peak RSS ~10 MB higher). The price: memory a program frees is not
   handed back to the OS (up to 256 MB kept at the top of the heap), for the whole process.
2. **OpenBLAS threads stop spinning sooner** (``OPENBLAS_THREAD_TIMEOUT=4``: 2^4 cycles
   instead of 2^28, ~0.1 s). OpenBLAS's worker threads busy-wait after every matrix product;
   minigan splits its element-wise kernels between the cores right after each GEMM, and a
   spinning BLAS thread held the core they needed (a split leaky_relu forward on 0.8M floats:
   1.0 ms right after a GEMM, 0.66-0.79 ms with the spin cut). OpenBLAS reads the variable
   once, when it loads; :func:`tune_process` sets it, makes OpenBLAS read its environment
   again (``openblas_read_env``), stops its idle threads (``blas_thread_shutdown_``; the next
   product starts them afresh with the new timeout) and removes the variable again, so child
   processes do not inherit it. A value the user set is kept. NumPy built on another BLAS
   (MKL, Accelerate): nothing to do.

Both are idempotent. :func:`process_settings` says what is in effect (``minigan info``
prints it).
"""
from __future__ import annotations

import ctypes
import functools
import os
import sys

BLAS_TIMEOUT = 4                 # OpenBLAS waits 2^4 cycles instead of 2^28
TRIM_THRESHOLD = 256 << 20       # glibc keeps up to 256 MB of freed memory at the heap's top
_M_TRIM_THRESHOLD, _M_MMAP_MAX = -1, -4   # from glibc's malloc.h

_applied = {"malloc": False, "blas_spin": False}


def tune_process(malloc: bool = True, blas_spin: bool = True) -> dict[str, bool]:
    """Apply minigan's process-wide CPU speed settings (see this module's docstring): glibc's
    malloc keeps freed memory (``malloc``) and OpenBLAS's threads stop busy-waiting after a
    matrix product (``blas_spin``). Call it once, early (before other threads use BLAS).

    Returns which settings are in effect afterwards, e.g. ``{"malloc": True, "blas_spin":
    True}``; a setting that cannot apply here (not glibc, not OpenBLAS) is False.
    ``mg.process_settings()`` says why. Calling it again does nothing more.
    """
    if malloc and not _applied["malloc"]:
        _applied["malloc"] = _keep_freed_memory()
    if blas_spin and not _applied["blas_spin"]:
        _applied["blas_spin"] = _limit_blas_spin()
    return {"malloc": _applied["malloc"],
            "blas_spin": _applied["blas_spin"] or _user_blas_timeout() is not None}


def process_settings() -> dict[str, str]:
    """What is in effect in this process, one sentence per setting (``minigan info``)."""
    if _applied["malloc"]:
        malloc = (f"keeps freed memory (M_MMAP_MAX 0, M_TRIM_THRESHOLD "
                  f"{TRIM_THRESHOLD >> 20} MB), set by mg.tune_process()")
    elif not _is_glibc():
        malloc = "the C library's default (not glibc: nothing to tune)"
    else:
        malloc = "glibc's default (mg.tune_process() or the minigan command keeps freed memory)"
    libraries = _openblas_libraries()
    user = _user_blas_timeout()
    if _applied["blas_spin"]:
        blas = f"thread spin cut to 2^{BLAS_TIMEOUT} cycles by mg.tune_process()"
    elif not libraries:
        blas = "not OpenBLAS (nothing to tune)"
    elif user is not None:
        blas = f"OPENBLAS_THREAD_TIMEOUT={user} (set before Python started)"
    else:
        blas = ("OpenBLAS's default thread spin (~0.1 s after each product; "
                "mg.tune_process() or the minigan command cuts it)")
    return {"malloc": malloc, "blas_spin": blas}


# ---------------------------------------------------------------------------- malloc


def _is_glibc() -> bool:
    import platform
    return sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"


def _keep_freed_memory() -> bool:
    """mallopt(M_MMAP_MAX, 0) and mallopt(M_TRIM_THRESHOLD, 256 MB); True when both took."""
    if not _is_glibc():
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(_M_MMAP_MAX, 0)) and bool(libc.mallopt(_M_TRIM_THRESHOLD,
                                                                        TRIM_THRESHOLD))
    except (OSError, AttributeError):  # not glibc after all: leave the allocator alone
        return False


# ---------------------------------------------------------------------------- OpenBLAS


@functools.lru_cache(maxsize=None)
def _openblas_libraries() -> tuple:
    """The OpenBLAS libraries loaded in this process (NumPy's), as ctypes handles that
    export what re-reading the environment needs. Found through /proc/self/maps (Linux)."""
    import numpy  # noqa: F401  (loads NumPy's BLAS, if nothing has yet)
    try:
        with open("/proc/self/maps") as maps:
            paths = {line.split()[-1] for line in maps
                     if "openblas" in line.lower() and ".so" in line}
    except OSError:
        return ()
    libraries = []
    for path in sorted(paths):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        if all(hasattr(lib, name) for name in ("openblas_read_env", "openblas_thread_timeout",
                                                "blas_thread_shutdown_")):
            libraries.append(lib)
    return tuple(libraries)


def _user_blas_timeout() -> int | None:
    """The OPENBLAS_THREAD_TIMEOUT that OpenBLAS read when it loaded (None when unset, or
    when it is the one tune_process set)."""
    if _applied["blas_spin"]:
        return None
    values = [lib.openblas_thread_timeout() for lib in _openblas_libraries()]
    return max(values) if values and max(values) > 0 else None


def _limit_blas_spin() -> bool:
    """Make every loaded OpenBLAS wait 2^BLAS_TIMEOUT cycles; True when one did. A timeout
    the user set in the environment is kept (and this returns False)."""
    if _user_blas_timeout() is not None:
        return False
    libraries = _openblas_libraries()
    if not libraries:
        return False
    os.environ["OPENBLAS_THREAD_TIMEOUT"] = str(BLAS_TIMEOUT)
    try:
        for lib in libraries:
            lib.openblas_read_env()       # reads OPENBLAS_* (the others are unchanged)
            lib.blas_thread_shutdown_()   # idle threads go; the next GEMM starts new ones
    finally:
        del os.environ["OPENBLAS_THREAD_TIMEOUT"]  # child processes do not inherit it
    return all(lib.openblas_thread_timeout() == BLAS_TIMEOUT for lib in libraries)
