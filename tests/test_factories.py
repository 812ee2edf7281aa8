"""Factories (minigan/factories.py) against PyTorch: values, shapes and dtypes of eye, empty,
full (dtype from the fill value), arange (length and dtype rules, float steps, integer
dtypes), linspace / logspace (PyTorch's rounding), randint's two signatures, randperm,
normal's forms, and the *_like family with dtype= / device= / requires_grad=."""
from __future__ import annotations

import numpy as np
import pytest

import minigan as mg


def _same(ours, theirs, exact=True):
    assert ours.shape == tuple(theirs.shape), (ours.shape, theirs.shape)
    assert str(ours.dtype) == str(theirs.dtype).replace("torch.", ""), (ours.dtype, theirs.dtype)
    if exact:
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    else:
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1.2e-7 if ours.dtype == np.float32 else 1e-15)


def test_eye_empty_full_like_torch(torch, device):
    _same(mg.eye(3, device=device), torch.eye(3))
    _same(mg.eye(2, 4, dtype=mg.float64), torch.eye(2, 4, dtype=torch.float64))
    _same(mg.eye(0), torch.eye(0))
    assert mg.empty(2, 3).shape == (2, 3) and mg.empty((4,), dtype="int64").dtype == np.int64
    for value in (True, 3, 3.0, -2.5):
        _same(mg.full((2, 3), value, device=device), torch.full((2, 3), value))
    _same(mg.full((2,), 7.5, dtype=mg.int64), torch.full((2,), 7.5, dtype=torch.int64))
    _same(mg.full((), 2), torch.full((), 2))
    _same(mg.full(3, mg.tensor(1.5)), torch.full((3,), 1.5))
    assert mg.full((2,), 1.0, requires_grad=True).requires_grad


ARANGE = [(5,), (0, 5, 2), (5, 0, -1), (0, 1, 0.1), (-3.3, 7, 0.7), (0, 0), (1, 1.5, 0.25),
          (0.5, 3.9, 1), (2.5,), (10, 2.0, -0.3), (0, 1e-3, 1e-4)]


@pytest.mark.parametrize("args", ARANGE, ids=[str(a) for a in ARANGE])
def test_arange_like_torch(torch, args):
    _same(mg.arange(*args), torch.arange(*args), exact=False)
    for name in ("float64", "float32", "int64", "int32"):
        try:
            theirs = torch.arange(*args, dtype=getattr(torch, name))
        except (RuntimeError, ValueError):
            with pytest.raises(mg.ArgumentError, match="arange: step must be nonzero"):
                mg.arange(*args, dtype=name)
            continue
        _same(mg.arange(*args, dtype=name), theirs, exact=name.startswith("int"))


def test_arange_float_values_are_the_correctly_rounded_start_plus_i_step(torch):
    ours = mg.arange(0, 1, 0.1, dtype=mg.float64).numpy()
    np.testing.assert_array_equal(ours, [i * 0.1 for i in range(10)])   # one rounding each
    np.testing.assert_allclose(mg.arange(0, 1, 0.1).numpy(), torch.arange(0, 1, 0.1).numpy(),
                               rtol=0, atol=6e-8)


def test_linspace_logspace_like_torch(torch):
    rng = np.random.default_rng(0)
    cases = [(0, 1, 5), (0, 1, 1), (0, 1, 0), (0, 10, 4), (-3.7, 2.2, 7), (1, -1, 11)]
    cases += [(*rng.uniform(-100, 100, 2), int(rng.integers(2, 60))) for _ in range(30)]
    for start, end, steps in cases:
        _same(mg.linspace(start, end, steps), torch.linspace(start, end, steps))
        for name in ("float64", "int64"):
            _same(mg.linspace(start, end, steps, dtype=name),
                  torch.linspace(start, end, steps, dtype=getattr(torch, name)))
        for base in (10.0, 2.0):
            for name in ("float32", "float64"):
                # not bit for bit even in float64: base ** x comes from NumPy's pow and from
                # PyTorch's own, which differ by an ulp on some CPUs (seen on an Intel Xeon:
                # 0.8552308006158119 against 0.855230800615812)
                _same(mg.logspace(start / 40, end / 40, steps, base, dtype=name),
                      torch.logspace(start / 40, end / 40, steps, base, dtype=getattr(torch, name)),
                      exact=False)
    _same(mg.logspace(0, 2, 3), torch.logspace(0, 2, 3))


def test_random_factories_shapes_dtypes_and_ranges(device):
    a, b = mg.randint(5, (3, 4), device=device), mg.randint(2, 5, size=(100,))
    assert a.shape == (3, 4) and a.dtype == np.int64 and 0 <= int(a.numpy().min()) and int(a.numpy().max()) < 5
    assert set(b.tolist()) == {2, 3, 4}
    assert mg.randint(high=3, size=(2,)).dtype == np.int64
    assert mg.randint(0, 10, (4,), dtype=mg.float32).dtype == np.float32
    p = mg.randperm(6)
    assert p.dtype == np.int64 and sorted(p.tolist()) == list(range(6))
    n = mg.normal(2.0, 0.5, (4000,))
    assert n.dtype == np.float32 and abs(float(n.numpy().mean()) - 2.0) < 0.05
    mean, std = mg.zeros(2, 1), mg.ones(3, dtype=mg.float32)
    assert mg.normal(mean, std).shape == (2, 3) and mg.normal(mean, 1.0).shape == (2, 1)
    assert mg.normal(0.0, mg.full((5,), 2.0)).shape == (5,)
    assert mg.normal(mg.zeros(3, dtype=mg.float64), 1.0).dtype == np.float64
    mg.manual_seed(3)
    first = mg.randint(100, (5,)).tolist()
    mg.manual_seed(3)
    assert mg.randint(100, (5,)).tolist() == first                      # the seeded generator


def test_like_factories(torch, device):
    x = mg.ones(2, 3, dtype=mg.float64, device=device)
    for name in ("zeros_like", "ones_like", "empty_like", "rand_like", "randn_like"):
        y = getattr(mg, name)(x)
        assert y.shape == (2, 3) and y.dtype == np.float64 and y.device == x.device
        z = getattr(mg, name)(x, dtype=mg.float32, requires_grad=True)
        assert z.dtype == np.float32 and z.requires_grad
    ints = mg.tensor([1, 2])
    _same(mg.zeros_like(ints), torch.zeros_like(torch.tensor([1, 2])))
    _same(mg.full_like(ints, 7.5), torch.full_like(torch.tensor([1, 2]), 7.5))
    _same(mg.full_like(x, 2), torch.full_like(torch.ones(2, 3, dtype=torch.float64), 2))
    with pytest.raises(mg.DTypeError, match="rand_like: needs a floating dtype, got int64"):
        mg.rand_like(ints)


def test_factory_errors_name_the_op():
    cases = [
        (lambda: mg.arange(0, 5, 0), mg.ArgumentError, "arange: step must be nonzero"),
        (lambda: mg.arange(0, 5, -1), mg.ArgumentError, "arange: end .* wrong side of start"),
        (lambda: mg.arange(0, float("inf")), mg.ArgumentError, "arange: .* must be finite"),
        (lambda: mg.linspace(0, 1, -1), mg.ArgumentError, "linspace: steps must be >= 0"),
        (lambda: mg.eye(-1), mg.ArgumentError, "eye: n must be >= 0"),
        (lambda: mg.empty(2, -1), mg.ArgumentError, "empty: size must be >= 0"),
        (lambda: mg.full((2,), "a"), mg.DTypeError, "full: fill_value must be a number"),
        (lambda: mg.randint(5, 2, (3,)), mg.ArgumentError, "randint: low .5. must be less than high .2."),
        (lambda: mg.randint(5), mg.ArgumentError, "randint: high and size are required"),
        (lambda: mg.normal(0.0, -1.0, (2,)), mg.ArgumentError, "normal: std must be >= 0"),
        (lambda: mg.normal(0.0, 1.0), mg.ArgumentError, "normal: with a float mean and std, give size"),
        (lambda: mg.normal(mg.zeros(2), mg.tensor([1.0, -1.0])), mg.ArgumentError, "normal: std must be >= 0"),
        (lambda: mg.ones_like(mg.tensor([1]), requires_grad=True), mg.DTypeError,
         "ones_like: only floating tensors can require grad"),
        (lambda: mg.eye(2, dtype="complex64"), mg.DTypeError, "eye: dtype complex64 is not supported"),
        (lambda: mg.full((2,), 1.0, dtype="float16"), TypeError, "float16"),
        (lambda: mg.zeros_like([1, 2]), mg.DTypeError, "zeros_like: input must be a Tensor"),
    ]
    for fn, error, message in cases:
        with pytest.raises(error, match=message):
            fn()


# ---------------------------------------------------------------------------- sizes PyTorch refuses


@pytest.mark.parametrize("make", [lambda: mg.zeros(10 ** 12), lambda: mg.ones((10 ** 6, 10 ** 6)),
                                  lambda: mg.empty(10 ** 12), lambda: mg.randn(10 ** 12),
                                  lambda: mg.full((10 ** 12,), 1.0)])
def test_a_size_beyond_memory_is_a_clear_error_before_allocating(make):
    with pytest.raises(mg.OutOfMemoryError, match=r"^\w+: cannot allocate a tensor of shape "
                                                  r"\(.*\) and dtype float32 on cpu: it needs "
                                                  r"4000000000000 bytes \(3\.6 TiB\)"):
        make()
    with pytest.raises(MemoryError):  # and it is the built-ins PyTorch users catch
        make()
    with pytest.raises(RuntimeError):
        make()


def test_factories_need_a_size_as_torch():
    for make in (mg.zeros, mg.ones, mg.empty, mg.rand, mg.randn):
        with pytest.raises(TypeError, match=f"{make.__name__}: missing the size"):
            make()
        assert make(()).shape == ()
    assert mg.zeros(2, dtype=mg.int64).dtype == np.int64 and mg.ones(2, dtype=mg.bool).dtype == bool
    with pytest.raises(TypeError, match="randn: dtype must be floating"):
        mg.randn(2, dtype=mg.int64)
