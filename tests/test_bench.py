"""minigan.bench: the interleaved timing harness, the kernel case list and ``minigan bench``."""
from __future__ import annotations

import io
import sys

import pytest

from minigan import bench, cli


def test_interleave_alternates_and_takes_medians():
    calls = []
    ticks = iter(range(1000))
    ta, tb = bench.interleave(lambda: calls.append("a"), lambda: calls.append("b"),
                              repeats=3, warmup=1, now=lambda: next(ticks))
    assert calls == ["a", "b"] * 4
    assert (ta, tb) == (1, 1)


def test_interleave_in_blocks_times_only_the_settled_calls(monkeypatch):
    calls, pauses = [], []
    monkeypatch.setattr(bench.time, "sleep", pauses.append)
    ticks = iter(range(1000))
    ta, tb = bench.interleave(lambda: calls.append("a"), lambda: calls.append("b"),
                              repeats=3, warmup=0, now=lambda: next(ticks), block=2,
                              settle=0.05, untimed=1)
    # rounds: pause, 1 untimed + 2 timed calls of a, the same of b; then a last round of 1
    assert calls == ["a"] * 3 + ["b"] * 3 + ["a"] * 2 + ["b"] * 2
    assert pauses == [0.05] * 4
    assert (ta, tb) == (1, 1)


def test_run_table_prints_a_ratio_per_case():
    out = io.StringIO()
    rows = bench.run_table([bench.Case("g", "noop", lambda: None, lambda: None)],
                           repeats=2, warmup=0, cpu_time=False, out=out)
    assert len(rows) == 1 and "noop" in out.getvalue() and "ratio" in out.getvalue()


def test_kernel_cases_cover_both_sizes_and_run(torch):
    cases = bench.kernel_cases(torch, quick=True)
    groups = {c.group for c in cases}
    assert {"conv", "norm", "activation", "linear", "loss", "pool", "resample", "math",
            "attention"} <= groups
    assert any("(64, 16, 128)" in c.name for c in cases)        # Transformer sizes too
    loss = next(c for c in cases if c.group == "loss")
    loss.ours()
    loss.theirs()


def test_bench_says_when_torch_is_missing(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "torch", None)             # import torch -> ImportError
    assert cli.main(["bench"]) == 1
    assert "PyTorch is not installed" in capsys.readouterr().out


def test_missing_benchmarks_folder_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setattr(bench, "__file__", str(tmp_path / "minigan" / "bench.py"))
    with pytest.raises(FileNotFoundError, match="source checkout"):
        bench.import_benchmark("compare_torch")


def test_set_threads_limits_numpys_blas_without_threadpoolctl(monkeypatch):
    """--cpu-time runs one thread each: NumPy's BLAS too, or its spinning threads are billed
    to minigan (threadpoolctl is not a dependency; the bundled OpenBLAS is called directly)."""
    from minigan import bench
    before = bench.blas_threads()
    monkeypatch.setenv("MINIGAN_NUM_THREADS", "")  # set_threads sets it; restored afterwards
    if bench._numpy_openblas() is None:
        pytest.skip("NumPy does not bundle scipy-openblas here")
    try:
        bench.set_threads(None, 1)
        assert bench.blas_threads() == 1
    finally:
        bench.set_threads(None, before)
    assert bench.blas_threads() == before
