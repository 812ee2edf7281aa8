"""Kernels that split big elementwise work between threads (backend.split_elementwise,
run_in_parts, blockwise) give the serial results: bit for bit where each element is computed
alone, to float32 rounding where per-channel sums are added in parts."""
from __future__ import annotations

import numpy as np
import pytest

import minigan as mg
import minigan.functional as F
from minigan import backend

BIG = (64, 64, 14, 14)  # 802,816 elements: above backend.ELEMENTWISE_PARALLEL_MIN


@pytest.fixture
def serial(monkeypatch):
    """Run a function with the thread splitting off (MINIGAN_NUM_THREADS=1)."""
    def run(fn):
        with monkeypatch.context() as m:
            m.setenv("MINIGAN_NUM_THREADS", "1")
            return fn()
    return run


def _parallel(monkeypatch):
    monkeypatch.setenv("MINIGAN_NUM_THREADS", "2")


def test_split_elementwise_covers_every_element(monkeypatch):
    _parallel(monkeypatch)
    x = np.random.default_rng(0).standard_normal(BIG).astype(np.float32)
    seen = []

    def kernel(a, out):
        seen.append(a.size)
        np.multiply(a, 3.0, out=out)
    out = np.empty_like(x)
    backend.split_elementwise(kernel, x, out)
    assert len(seen) == 2 and sum(seen) == x.size
    np.testing.assert_array_equal(out, x * 3.0)


def test_split_elementwise_channels_last_view(monkeypatch):
    """conv outputs are (N, C, H, W) views of (N, H, W, C) memory: split in memory order."""
    _parallel(monkeypatch)
    x = np.random.default_rng(0).standard_normal((64, 14, 14, 64)).astype(np.float32).transpose(0, 3, 1, 2)
    out = np.empty_like(x)  # same layout as x
    backend.split_elementwise(lambda a, o: np.negative(a, out=o), x, out)
    np.testing.assert_array_equal(out, -x)


def test_split_elementwise_mixed_layouts_fall_back(monkeypatch):
    _parallel(monkeypatch)
    x = np.random.default_rng(0).standard_normal(BIG).astype(np.float32)
    out = np.empty(BIG[::-1], np.float32).T  # another layout: one plain call
    calls = []
    backend.split_elementwise(lambda a, o: (calls.append(1), np.copyto(o, a)), x, out)
    assert calls == [1]
    np.testing.assert_array_equal(out, x)


def test_worker_error_is_raised(monkeypatch):
    _parallel(monkeypatch)

    def fn(part):
        if part.start > 0:
            raise ValueError("boom in a worker")
    with pytest.raises(ValueError, match="boom in a worker"):
        backend.run_in_parts(fn, 10, 1 << 22, np.zeros(1))


@pytest.mark.parametrize("slope", [0.0, 0.2])
def test_leaky_relu_parallel_equals_serial(monkeypatch, serial, slope):
    _parallel(monkeypatch)
    x = mg.tensor(np.random.default_rng(1).standard_normal(BIG).astype(np.float32), requires_grad=True)
    gy = mg.tensor(np.random.default_rng(2).standard_normal(BIG).astype(np.float32))

    def run():
        x.grad = None
        y = F.leaky_relu(x, slope)
        y.backward(gy)
        return y.numpy().copy(), x.grad.numpy().copy()
    (y1, g1), (y2, g2) = run(), serial(run)
    np.testing.assert_array_equal(y1, y2)
    np.testing.assert_array_equal(g1, g2)


def test_gelu_parallel_equals_serial(monkeypatch, serial):
    _parallel(monkeypatch)
    x = mg.tensor(np.random.default_rng(3).standard_normal((64, 16, 512)).astype(np.float32))
    np.testing.assert_array_equal(F.gelu(x).numpy(), serial(lambda: F.gelu(x).numpy()))


@pytest.mark.parametrize("channels_last", [False, True])
def test_batch_norm_parallel_matches_serial_and_torch(monkeypatch, serial, torch, channels_last):
    _parallel(monkeypatch)
    rng = np.random.default_rng(4)
    data = rng.standard_normal(BIG).astype(np.float32) * 2 + 0.5
    if channels_last:  # as a conv output is laid out
        data = np.ascontiguousarray(data.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    w = rng.standard_normal(64).astype(np.float32)
    b = rng.standard_normal(64).astype(np.float32)
    gy = rng.standard_normal(BIG).astype(np.float32)

    def run():
        x, wt, bt = (mg.tensor(a, requires_grad=True) for a in (data, w, b))
        y = F.batch_norm(x, None, None, wt, bt, training=True)
        y.backward(mg.tensor(gy))
        return [t.numpy().copy() for t in (y, x.grad, wt.grad, bt.grad)]
    parallel, alone = run(), serial(run)
    for p, s in zip(parallel, alone):
        np.testing.assert_allclose(p, s, rtol=1e-4, atol=1e-4)  # sums added in another order
    tx, tw, tb = (torch.tensor(np.ascontiguousarray(a), requires_grad=True) for a in (data, w, b))
    ty = torch.nn.functional.batch_norm(tx, None, None, tw, tb, training=True)
    ty.backward(torch.tensor(gy))
    for ours, theirs in zip(parallel, (ty, tx.grad, tw.grad, tb.grad)):
        np.testing.assert_allclose(ours, theirs.detach().numpy(), rtol=1e-4, atol=2e-4)


def test_layer_norm_parallel_matches_serial_and_torch(monkeypatch, serial, torch):
    _parallel(monkeypatch)
    rng = np.random.default_rng(5)
    data = rng.standard_normal((128, 32, 128)).astype(np.float32) * 3 - 1  # above the split size
    w, b = rng.standard_normal(128).astype(np.float32), rng.standard_normal(128).astype(np.float32)
    gy = rng.standard_normal(data.shape).astype(np.float32)

    def run():
        x, wt, bt = (mg.tensor(a, requires_grad=True) for a in (data, w, b))
        y = F.layer_norm(x, (128,), wt, bt)
        y.backward(mg.tensor(gy))
        return [t.numpy().copy() for t in (y, x.grad, wt.grad, bt.grad)]
    parallel, alone = run(), serial(run)
    for p, s in zip(parallel[:2], alone[:2]):  # row by row: identical
        np.testing.assert_array_equal(p, s)
    for p, s in zip(parallel[2:], alone[2:]):  # sums over rows, added in parts
        np.testing.assert_allclose(p, s, rtol=1e-4, atol=1e-4)
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (data, w, b))
    ty = torch.nn.functional.layer_norm(tx, (128,), tw, tb)
    ty.backward(torch.tensor(gy))
    for ours, theirs in zip(parallel, (ty, tx.grad, tw.grad, tb.grad)):
        np.testing.assert_allclose(ours, theirs.detach().numpy(), rtol=1e-4, atol=2e-4)


def test_nested_split_runs_inline_in_a_worker(monkeypatch):
    """A kernel that splits again from inside a worker runs its inner job in place
    (a worker waiting on the other workers could deadlock)."""
    _parallel(monkeypatch)
    x = np.zeros(BIG, np.float32)
    inner_parts = []

    def outer(part):
        backend.run_in_parts(lambda p: inner_parts.append((part.start, p)), 4, x.size, x, 1)
    backend.run_in_parts(outer, 2, x.size, x, 1)
    assert sorted(s for s, _ in inner_parts) == [0, 0, 1]   # the caller's part splits again
    worker_inner = [p for s, p in inner_parts if s == 1]
    assert worker_inner == [slice(0, 4)]                       # the worker's runs in one call


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs os.fork")
@pytest.mark.filterwarnings("ignore:.*fork.*:DeprecationWarning")  # Python >= 3.12 warns
def test_split_work_runs_in_a_forked_child(monkeypatch):
    """A child forked after the workers started has no worker threads: it starts its own."""
    import os
    _parallel(monkeypatch)
    x = np.zeros(BIG, np.float32)
    backend.run_in_parts(lambda p: None, 2, x.size, x, 1)       # the parent's workers exist
    pid = os.fork()
    if pid == 0:  # the child: exit 0 only if the split finishes and covers everything
        import signal
        signal.alarm(20)  # a child waiting on workers it does not have dies instead of hanging
        done = []
        backend.run_in_parts(lambda p: done.append(p), 2, x.size, x, 1)
        os._exit(0 if sorted(p.start for p in done) == [0, 1] else 1)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
