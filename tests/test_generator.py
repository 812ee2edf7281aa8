"""mg.Generator (PyTorch's torch.Generator), the ``generator=`` keyword of the random
factories, and ``mg.use_generator``: private random streams that leave the default ones alone."""
from __future__ import annotations

import threading

import numpy as np
import pytest

import minigan as mg
import minigan.functional as F


def test_a_seeded_generator_draws_what_manual_seed_would(device):
    mg.manual_seed(7)
    want = mg.randn(5, device=device).numpy()
    g = mg.Generator(device).manual_seed(7)
    mg.manual_seed(0)
    np.testing.assert_array_equal(mg.randn(5, generator=g, device=device).numpy(), want)
    assert g.initial_seed() == 7 and g.device.startswith(device)


@pytest.mark.parametrize("draw", [
    lambda g, d: mg.randn(4, 3, generator=g, device=d),
    lambda g, d: mg.rand(6, generator=g, device=d),
    lambda g, d: mg.randint(0, 100, (5,), generator=g, device=d),
    lambda g, d: mg.randint(100, (5,), generator=g, device=d),
    lambda g, d: mg.randperm(9, generator=g, device=d),
    lambda g, d: mg.normal(0.0, 2.0, (4,), generator=g, device=d),
    lambda g, d: mg.normal(mg.zeros(3, device=d), mg.ones(3, device=d), generator=g),
])
def test_drawing_from_a_generator_leaves_the_default_untouched(device, draw):
    mg.manual_seed(3)
    want = mg.randn(8, device=device).numpy()
    mg.manual_seed(3)
    g = mg.Generator(device).manual_seed(11)
    first = draw(g, device).numpy()
    np.testing.assert_array_equal(mg.randn(8, device=device).numpy(), want)
    g.manual_seed(11)
    np.testing.assert_array_equal(draw(g, device).numpy(), first)  # reproducible from its seed


def test_use_generator_scopes_dropout_and_unnamed_draws(device):
    x = mg.ones(64, 64, device=device)
    mg.manual_seed(1)
    want_default = mg.randn(4, device=device).numpy()
    mg.manual_seed(1)
    g = mg.Generator(device).manual_seed(5)
    with mg.use_generator(g):
        mask_a = F.dropout(x, 0.5).numpy()
        noise_a = mg.randn(3, device=device).numpy()
    np.testing.assert_array_equal(mg.randn(4, device=device).numpy(), want_default)
    g.manual_seed(5)
    with mg.use_generator(g):
        np.testing.assert_array_equal(F.dropout(x, 0.5).numpy(), mask_a)
        np.testing.assert_array_equal(mg.randn(3, device=device).numpy(), noise_a)
    # scopes nest and restore: the inner generator only inside
    outer, inner = mg.Generator(device).manual_seed(1), mg.Generator(device).manual_seed(2)
    with mg.use_generator(outer):
        with mg.use_generator(inner):
            a = mg.randn(2, device=device).numpy()
        b = mg.randn(2, device=device).numpy()
    np.testing.assert_array_equal(a, mg.randn(2, generator=mg.Generator(device).manual_seed(2),
                                             device=device).numpy())
    np.testing.assert_array_equal(b, mg.randn(2, generator=mg.Generator(device).manual_seed(1),
                                             device=device).numpy())


def test_use_generator_is_per_thread():
    """Another thread drawing while this one is inside use_generator gets the default stream."""
    mg.manual_seed(9)
    want = mg.randn(5).numpy()
    mg.manual_seed(9)
    got = {}
    inside, done = threading.Event(), threading.Event()

    def other() -> None:
        inside.wait(10)
        got["other"] = mg.randn(5).numpy()
        done.set()
    thread = threading.Thread(target=other)
    thread.start()
    with mg.use_generator(mg.Generator().manual_seed(123)):
        inside.set()
        done.wait(10)
    thread.join()
    np.testing.assert_array_equal(got["other"], want)


def test_state_roundtrip_and_errors():
    g = mg.Generator()
    assert g.manual_seed(4) is g and g.initial_seed() == 4
    state = g.get_state()
    a = mg.randn(3, generator=g).numpy()
    g.set_state(state)
    np.testing.assert_array_equal(mg.randn(3, generator=g).numpy(), a)
    assert isinstance(g.seed(), int) and g.initial_seed() >= 0
    assert mg.manual_seed(2).initial_seed() == 2          # returns the CPU default generator
    assert mg.default_generator("cpu").initial_seed() == 2
    with pytest.raises(mg.ArgumentError, match="manual_seed: seed must be >= 0"):
        g.manual_seed(-1)
    with pytest.raises(mg.DTypeError, match="generator: expected an mg.Generator"):
        mg.randn(2, generator=np.random.default_rng(0))
    with pytest.raises(mg.DTypeError, match="use_generator"):
        with mg.use_generator(np.random.default_rng(0)):
            pass


@pytest.mark.gpu
@pytest.mark.skipif(mg.backend.cuda_status() is not None, reason="needs CUDA")
def test_a_generator_draws_only_on_its_device():
    with pytest.raises(mg.DeviceError, match="generator on cuda:0 cannot draw numbers for a "
                                             "tensor on cpu"):
        mg.randn(2, generator=mg.Generator("cuda"))
    with pytest.raises(mg.DeviceError, match="get_state"):
        mg.Generator("cuda").get_state()


def test_a_cpu_generator_refuses_another_device():
    with pytest.raises(mg.DeviceError, match="generator on cpu cannot draw"):
        mg.backend.random_normal((2,), np.float32, "cuda:0", mg.Generator("cpu"))
