"""Backend: device strings, moving arrays, CUDA error messages, dtypes, seeding, factories,
and errors for ops that mix devices or dtypes."""
from __future__ import annotations

import numpy as np
import pytest

import minigan as mg
from minigan import backend

# ============================================================================ devices


def test_device_names():
    assert backend.normalize_device(None) == "cpu"
    assert backend.normalize_device("cpu") == "cpu"
    assert backend.normalize_device(" CPU ") == "cpu"
    for bad in ("gpu", "cuda:x", "cuda:-1", "tpu:0", ""):
        with pytest.raises(backend.DeviceError, match="bad device"):
            backend.normalize_device(bad)


def test_cuda_without_cupy_says_what_to_install(monkeypatch):
    monkeypatch.setattr(backend, "_cupy", None)
    backend.normalize_device.cache_clear()
    try:
        with pytest.raises(backend.DeviceError,
                           match=r"device 'cuda' is not available: CuPy is not installed: "
                                 r'install it with pip install "minigan\[cuda12\]"'):
            mg.zeros(2, device="cuda")
        with pytest.raises(backend.DeviceError, match="CuPy is not installed"):
            mg.ones(2).to("cuda:1")
        assert not mg.is_available_cuda()
    finally:
        backend.normalize_device.cache_clear()


class _FakeRuntime:
    def __init__(self, count=None, error=None):
        self.count, self.error = count, error

    def getDeviceCount(self):  # noqa: N802 - CuPy's name
        if self.error:
            raise self.error
        return self.count


class _FakeCupy:
    def __init__(self, runtime):
        self.cuda = type("cuda", (), {"runtime": runtime})


@pytest.mark.parametrize("runtime, expected", [
    (_FakeRuntime(error=RuntimeError("no CUDA driver")), r"CuPy is installed but no GPU is visible "
                                                         r"\(RuntimeError: no CUDA driver\)"),
    (_FakeRuntime(count=0), r"CuPy is installed but no GPU is visible \(CUDA reports 0 devices\)"),
])
def test_cuda_with_cupy_but_no_gpu_says_so(monkeypatch, runtime, expected):
    monkeypatch.setattr(backend, "_cupy", _FakeCupy(runtime))
    backend.normalize_device.cache_clear()
    try:
        with pytest.raises(backend.DeviceError, match=expected):
            backend.normalize_device("cuda")
    finally:
        backend.normalize_device.cache_clear()


def test_cuda_index_beyond_the_visible_gpus(monkeypatch):
    monkeypatch.setattr(backend, "_cupy", _FakeCupy(_FakeRuntime(count=1)))
    backend.normalize_device.cache_clear()
    try:
        assert backend.normalize_device("cuda") == "cuda:0"
        with pytest.raises(backend.DeviceError, match=r"'cuda:3' is not available: only 1 GPU"):
            backend.normalize_device("cuda:3")
    finally:
        backend.normalize_device.cache_clear()


def test_moving_between_devices(device, xp):
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = x.to(device)
    assert y.device == backend.normalize_device(device)
    assert isinstance(y.data, xp.ndarray)
    assert isinstance(y.numpy(), np.ndarray) and y.tolist() == [1.0, 2.0]
    assert y.to(device) is y
    (y * y).sum().backward()
    assert x.grad.device == "cpu" and x.grad.tolist() == [2.0, 4.0]
    z = mg.zeros(2, 3, device=device)
    assert z.device == y.device and backend.device_of(z.data) == y.device
    assert backend.get_array_module(z.data) is xp
    assert mg.tensor(3.0, device=device).item() == 3.0
    back = backend.to_device(z.data, "cpu")
    assert isinstance(back, np.ndarray) and backend.as_numpy(z.data).shape == (2, 3)


def test_mixing_devices_names_op_devices_and_shapes(device):
    if device == "cpu":
        pytest.skip("needs a second device")
    with pytest.raises(mg.DeviceError, match=r"add: inputs on different devices: \(2,\) float32 on "
                                        r"cuda:0, \(2,\) float32 on cpu"):
        mg.ones(2, device=device) + mg.ones(2)


def test_mixing_dtypes_names_op_dtypes_and_shapes():
    with pytest.raises(TypeError, match=r"sub: inputs on different dtypes: \(2, 1\) float64 on "
                                        r"cpu, \(3,\) float32 on cpu; move them with \.to"):
        mg.ones(2, 1, dtype="float64") - mg.ones(3)


# ============================================================================ dtypes


def test_default_dtype_float32_and_float64_allowed():
    assert mg.get_default_dtype() == np.float32
    for make in (lambda d: mg.zeros(2, dtype=d), lambda d: mg.ones(2, dtype=d),
                 lambda d: mg.randn(2, dtype=d), lambda d: mg.rand(2, dtype=d),
                 lambda d: mg.full((2,), 1.5, dtype=d), lambda d: mg.tensor([1.0], dtype=d)):
        assert make(None).dtype == np.float32
        assert make("float64").dtype == np.float64
        assert make(np.float64).dtype == np.float64


def test_set_default_dtype():
    try:
        mg.set_default_dtype("float64")
        assert mg.ones(2).dtype == np.float64 and mg.tensor([1.5]).dtype == np.float64
        assert (mg.tensor([1, 2]) / 2).dtype == np.float64
    finally:
        mg.set_default_dtype("float32")
    assert mg.ones(2).dtype == np.float32


@pytest.mark.parametrize("make", [
    lambda: mg.zeros(2, dtype="float16"),
    lambda: mg.tensor([1.0], dtype=np.float16),
    lambda: mg.tensor(np.ones(2, dtype=np.float16)),
    lambda: mg.set_default_dtype("float16"),
    lambda: mg.ones(2).to(dtype="float16"),
    lambda: mg.randn(2, dtype="float16"),
])
def test_float16_is_refused_with_a_clear_error(make):
    with pytest.raises(TypeError, match="dtype float16 is not supported; use float32 or float64"):
        make()
    assert mg.get_default_dtype() == np.float32


def test_integer_tensors():
    assert mg.tensor([1, 2]).dtype == np.int64
    assert mg.arange(5).dtype == np.int64 and mg.arange(5).tolist() == [0, 1, 2, 3, 4]
    assert mg.arange(0, 1, 0.25).dtype == np.float32
    assert mg.arange(2, 8, 2).tolist() == [2, 4, 6]
    assert mg.arange(3, dtype="float64").dtype == np.float64
    r = mg.randint(0, 5, (100,))
    assert r.dtype == np.int64 and 0 <= r.numpy().min() and r.numpy().max() < 5


# ============================================================================ factories


def test_factories(device):
    dev = backend.normalize_device(device)
    assert mg.zeros(2, 3, device=device).shape == (2, 3)
    assert mg.zeros((2, 3), device=device).numpy().sum() == 0
    assert mg.ones([4], device=device).numpy().sum() == 4
    assert mg.full(3, 2.5, device=device).tolist() == [2.5] * 3
    assert mg.full((1, 2), 7.0, device=device).dtype == np.float32
    assert mg.full((1, 2), 7, device=device).dtype == np.int64      # an int fill: int64, as PyTorch
    x = mg.randn(2, 3, device=device, requires_grad=True)
    assert x.requires_grad and x.device == dev and x.is_leaf
    u = mg.rand(1000, device=device).numpy()
    assert 0 <= u.min() and u.max() < 1
    for like in (mg.zeros_like, mg.ones_like, mg.randn_like, mg.rand_like):
        y = like(mg.ones(2, 2, dtype="float64", device=device))
        assert y.shape == (2, 2) and y.dtype == np.float64 and y.device == dev


# ============================================================================ seeding


def test_manual_seed_is_reproducible(device):
    mg.manual_seed(123)
    a = (mg.randn(5, device=device).numpy(), mg.rand(3, device=device).numpy(),
         mg.randint(0, 10, (4,), device=device).numpy())
    mg.manual_seed(123)
    b = (mg.randn(5, device=device).numpy(), mg.rand(3, device=device).numpy(),
         mg.randint(0, 10, (4,), device=device).numpy())
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    mg.manual_seed(124)
    assert not np.array_equal(mg.randn(5, device=device).numpy(), a[0])


def test_rng_state_roundtrip():
    state = mg.get_rng_state()
    a = mg.randn(4).numpy()
    mg.set_rng_state(state)
    np.testing.assert_array_equal(mg.randn(4).numpy(), a)


def test_random_helpers_follow_dtype():
    assert backend.random_normal((2,), np.float64, "cpu").dtype == np.float64
    assert backend.random_uniform((2,), np.float32, "cpu").dtype == np.float32
    assert sorted(backend.random_permutation(5).tolist()) == [0, 1, 2, 3, 4]


def test_scatter_add_adds_repeated_indices(xp):
    target = xp.zeros(4)
    backend.scatter_add(target, xp.asarray([1, 1, 3]), xp.asarray([1.0, 2.0, 5.0]))
    assert backend.as_numpy(target).tolist() == [0.0, 3.0, 0.0, 5.0]


def test_blockwise_matches_one_call():
    from minigan import backend
    x = np.random.default_rng(0).standard_normal((3, 70001)).astype(np.float32)
    fn = lambda a: np.exp(a) * 2 - a                                   # noqa: E731
    np.testing.assert_array_equal(backend.blockwise(fn, x), fn(x))
    assert backend.blockwise(fn, x).shape == x.shape
    np.testing.assert_array_equal(backend.blockwise(fn, x.T), fn(x.T))  # non-contiguous


def test_random_bits32_seeded_and_uniform():
    from minigan import backend
    mg.manual_seed(3)
    a = backend.random_bits32((1001, 7), "cpu")
    mg.manual_seed(3)
    b = backend.random_bits32((1001, 7), "cpu")
    assert a.dtype == np.uint32 and a.shape == (1001, 7)
    np.testing.assert_array_equal(a, b)
    assert abs(a.mean() / 2.0 ** 32 - 0.5) < 0.01
