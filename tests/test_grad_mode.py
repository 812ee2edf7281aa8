"""Grad mode as PyTorch's: per thread, set_grad_enabled as a call and a context manager,
no_grad / enable_grad as context managers and decorators."""
from __future__ import annotations

import threading

import numpy as np
import pytest

import minigan as mg
from minigan import autograd


def _records() -> bool:
    return (mg.ones(1, requires_grad=True) * 2).requires_grad


def test_no_grad_in_one_thread_leaves_the_others_recording():
    inside, outside_seen = threading.Event(), []
    release = threading.Event()

    def worker():
        with mg.no_grad():
            inside.set()
            release.wait(5)
            assert not mg.is_grad_enabled() and not _records()

    t = threading.Thread(target=worker)
    t.start()
    inside.wait(5)
    outside_seen.append((mg.is_grad_enabled(), _records()))
    release.set()
    t.join()
    assert outside_seen == [(True, True)]
    assert mg.is_grad_enabled() and not autograd._threads_without_grad


def test_interleaved_enter_and_exit_across_threads_never_leaves_grad_off():
    # thread i enters no_grad after thread i-1, and leaves first (FIFO): with one
    # process-wide flag the last thread to leave restores the "off" it saw when it entered
    n = 3
    entered = [threading.Event() for _ in range(n)]
    left = [threading.Event() for _ in range(n)]
    errors = []

    def worker(i):
        try:
            if i:
                entered[i - 1].wait(5)
            with mg.no_grad():
                entered[i].set()
                entered[n - 1].wait(5)
                if i:
                    left[i - 1].wait(5)
                assert not mg.is_grad_enabled()
            left[i].set()
            assert mg.is_grad_enabled() and _records()
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert mg.is_grad_enabled() and _records()
    assert not autograd._threads_without_grad


def test_a_thread_that_ends_with_grad_off_is_forgotten():
    t = threading.Thread(target=lambda: mg.set_grad_enabled(False))
    t.start()
    t.join()
    import gc
    gc.collect()
    assert not autograd._threads_without_grad and _records()


def test_new_threads_start_with_grad_on_even_inside_no_grad():
    seen = []
    with mg.no_grad():
        t = threading.Thread(target=lambda: seen.append(mg.is_grad_enabled()))
        t.start()
        t.join()
    assert seen == [True]


def test_set_grad_enabled_as_a_call_and_as_a_context_manager(torch):
    try:
        mg.set_grad_enabled(False)
        torch.set_grad_enabled(False)
        assert not mg.is_grad_enabled() and not torch.is_grad_enabled() and not _records()
        with mg.set_grad_enabled(True):
            assert _records()
        assert not mg.is_grad_enabled()
    finally:
        mg.set_grad_enabled(True)
        torch.set_grad_enabled(True)
    assert mg.is_grad_enabled()
    with mg.set_grad_enabled(False):
        assert not _records()
    assert _records()
    with pytest.raises(mg.DTypeError, match="set_grad_enabled: mode must be a bool"):
        mg.set_grad_enabled("no")


def test_no_grad_and_enable_grad_as_decorators():
    @mg.no_grad()
    def f():
        return _records()

    @mg.no_grad
    def g():
        return _records()

    @mg.enable_grad()
    def h():
        return _records()

    @mg.set_grad_enabled(False)
    def k():
        return _records()

    assert mg.is_grad_enabled()  # decorating changed nothing
    assert (f(), g(), k()) == (False, False, False) and mg.is_grad_enabled()
    with mg.no_grad():
        assert h() and not mg.is_grad_enabled()
    assert f.__name__ == "f"


def test_a_decorated_generator_gives_the_mode_back_between_steps():
    @mg.no_grad()
    def gen():
        for _ in range(2):
            yield _records()

    it = gen()
    assert next(it) is False
    assert mg.is_grad_enabled()  # the caller's mode between steps
    assert next(it) is False
    with pytest.raises(StopIteration):
        next(it)


def test_one_no_grad_object_can_be_entered_twice():
    ng = mg.no_grad()
    with ng:
        with ng:
            assert not mg.is_grad_enabled()
        assert not mg.is_grad_enabled()
    assert mg.is_grad_enabled()


def test_backward_in_a_thread_while_another_is_in_no_grad():
    inside, done = threading.Event(), threading.Event()

    def worker():
        with mg.no_grad():
            inside.set()
            done.wait(5)

    t = threading.Thread(target=worker)
    t.start()
    inside.wait(5)
    x = mg.tensor(np.array([1.0, 2.0]), requires_grad=True)
    (g,) = mg.grad((x ** 3).sum(), x, create_graph=True)
    (h,) = mg.grad(g.sum(), x)
    done.set()
    t.join()
    assert h.tolist() == [6.0, 12.0]
