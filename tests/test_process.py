"""Importing minigan changes nothing outside minigan; mg.tune_process() (and the ``minigan``
command, which owns its process) applies the process-wide speed settings. Each check runs in
a fresh Python process, since the settings are process-wide."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
linux_glibc = pytest.mark.skipif(not sys.platform.startswith("linux") or
                                 __import__("platform").libc_ver()[0] != "glibc",
                                 reason="glibc's malloc on Linux only")

# Prints, as JSON: the environment changes the import made, what OpenBLAS read, whether a
# freed 200 MB array stayed resident, and the environment a child process inherits.
PROBE = r"""
import ctypes, json, os, subprocess, sys
env_before = dict(os.environ)
import minigan as mg
from minigan import cli
if sys.argv[1] == "tune":
    mg.tune_process()
import numpy as np

def rss_mb():
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmRSS")) / 1024

(np.ones((1000, 1000)) @ np.ones((1000, 1000))).sum()    # start the BLAS threads
base = rss_mb()
a = np.ones(200 << 17)                                      # 200 MB, touched
del a
kept = rss_mb() - base
libs = mg.process._openblas_libraries()
child = subprocess.run([sys.executable, "-c", "import os, json; print(json.dumps(dict(os.environ)))"],
    capture_output=True, text=True).stdout
print(json.dumps({
    "env_changed": sorted(k for k in set(env_before) | set(os.environ)
                          if env_before.get(k) != os.environ.get(k)),
    "child_has_timeout": "OPENBLAS_THREAD_TIMEOUT" in json.loads(child),
    "blas_timeouts": [lib.openblas_thread_timeout() for lib in libs],
    "freed_mb_kept": kept,
    "settings": mg.process_settings(),
}))
"""


def probe(mode: str) -> dict:
    env = {k: v for k, v in os.environ.items()
           if k not in ("OPENBLAS_THREAD_TIMEOUT", "MINIGAN_MALLOPT")}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    out = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True,
                         env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


@linux_glibc
def test_import_changes_nothing_in_the_process():
    result = probe("import")
    assert result["env_changed"] == []
    assert not result["child_has_timeout"]
    assert all(t == 0 for t in result["blas_timeouts"])       # OpenBLAS's own default
    assert result["freed_mb_kept"] < 50                        # glibc gave the 200 MB back
    assert "default" in result["settings"]["malloc"]
    assert "default" in result["settings"]["blas_spin"]


@linux_glibc
def test_tune_process_applies_both_and_leaves_the_environment_alone():
    result = probe("tune")
    assert result["env_changed"] == []                         # set, read, removed again
    assert not result["child_has_timeout"]
    assert result["blas_timeouts"] and all(t == 4 for t in result["blas_timeouts"])
    assert result["freed_mb_kept"] > 150                       # kept in the heap for reuse
    assert "mg.tune_process()" in result["settings"]["malloc"]
    assert "2^4 cycles" in result["settings"]["blas_spin"]


def test_tune_process_is_idempotent_and_reports():
    code = ("import minigan as mg, json; a = mg.tune_process(); b = mg.tune_process(); "
            "print(json.dumps([a, b]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=dict(os.environ, PYTHONPATH=str(ROOT)), timeout=60)
    first, second = json.loads(out.stdout)
    assert first == second and set(first) == {"malloc", "blas_spin"}


@linux_glibc
def test_the_minigan_command_tunes_its_process_and_main_from_python_does_not():
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_THREAD_TIMEOUT"}
    env["PYTHONPATH"] = str(ROOT)
    command = subprocess.run([sys.executable, "-m", "minigan.cli", "info"], capture_output=True,
                             text=True, env=env, timeout=60)
    assert command.returncode == 0, command.stderr
    assert "keeps freed memory" in command.stdout and "cut to 2^4 cycles" in command.stdout
    called = subprocess.run([sys.executable, "-c", "from minigan.cli import main; main(['info'])"],
                            capture_output=True, text=True, env=env, timeout=60)
    assert "glibc's default" in called.stdout and "OpenBLAS's default" in called.stdout
    off = subprocess.run([sys.executable, "-m", "minigan.cli", "info"], capture_output=True,
                         text=True, env=dict(env, MINIGAN_MALLOPT="0"), timeout=60)
    assert "glibc's default" in off.stdout and "cut to 2^4 cycles" in off.stdout


@linux_glibc
def test_a_users_timeout_is_kept():
    env = dict(os.environ, PYTHONPATH=str(ROOT), OPENBLAS_THREAD_TIMEOUT="7")
    out = subprocess.run([sys.executable, "-m", "minigan.cli", "info"], capture_output=True,
                         text=True, env=env, timeout=60)
    assert "OPENBLAS_THREAD_TIMEOUT=7 (set before Python started)" in out.stdout
