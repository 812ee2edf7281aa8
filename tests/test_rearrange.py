"""Rearranging ops (ops/rearrange.py): repeat, tile, repeat_interleave, chunk, unbind, flip,
roll, movedim, narrow, swapaxes. Each against NumPy, finite differences (first and second
order) over drawn shapes and arguments, PyTorch (float32 / float64, derivatives up to the
second), and the errors."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigan as mg
from strategies import check_against_torch, check_grads, float_arrays, leaf, shapes

DTYPES = st.sampled_from([np.float64, np.float32])


def _pieces(parts):
    """A tuple of tensors as one (each scaled differently, so a swapped piece shows)."""
    return mg.concat([p.reshape(-1) * (k + 1) for k, p in enumerate(parts)]) if parts else None


# ============================================================================ repeat / tile


@given(shapes(max_dims=3), st.data())
def test_repeat_and_tile(device, shape, data):
    a = data.draw(float_arrays(shape))
    extra = data.draw(st.integers(0, 2))
    counts = tuple(data.draw(st.lists(st.integers(0, 3), min_size=len(shape) + extra,
                                      max_size=len(shape) + extra)))
    x = leaf(a, device)
    np.testing.assert_array_equal((x.repeat(*counts) if counts else x.repeat(counts)).numpy(),
                                  np.tile(a, counts))
    np.testing.assert_array_equal(mg.tile(x, counts[1:]).numpy(), np.tile(a, counts[1:]))
    check_grads(lambda t: t.repeat(counts), [leaf(a, device)])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_repeat_tile_like_torch(torch, dtype):
    a = np.random.default_rng(0).standard_normal((2, 3))
    check_against_torch(torch, lambda x: x.repeat(2, 1, 3), lambda x: x.repeat(2, 1, 3), [a],
                        dtype=dtype)
    check_against_torch(torch, lambda x: x.tile(2), lambda x: x.tile(2), [a], dtype=dtype)
    check_against_torch(torch, lambda x: mg.tile(x, (2, 1, 1)),
                        lambda x: torch.tile(x, (2, 1, 1)), [a],
                        dtype=dtype)
    s = np.array(1.5)
    check_against_torch(torch, lambda x: x.repeat(3), lambda x: x.repeat(3), [s], dtype=dtype)


@given(shapes(min_dims=1, max_dims=3), st.data())
def test_repeat_interleave(device, torch, shape, data):
    a = data.draw(float_arrays(shape))
    dim = data.draw(st.one_of(st.none(), st.integers(-len(shape), len(shape) - 1)))
    n = a.size if dim is None else shape[dim]
    counts = np.array(data.draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)))
    count = data.draw(st.integers(0, 3))
    x = leaf(a, device)
    np.testing.assert_array_equal(mg.repeat_interleave(x, count, dim).numpy(),
                                  np.repeat(a, count, axis=dim))
    np.testing.assert_array_equal(x.repeat_interleave(mg.tensor(counts, device=device), dim).numpy(),
                                  np.repeat(a, counts, axis=dim))
    check_grads(lambda t: mg.repeat_interleave(t, mg.tensor(counts, device=device), dim=dim),
                [leaf(a, device)])
    check_grads(lambda t: mg.repeat_interleave(t, count, dim=dim), [leaf(a, device)])
    check_against_torch(torch, lambda t, c: mg.repeat_interleave(t, c, dim),
                        lambda t, c: torch.repeat_interleave(t, c, dim), [a, counts])


def test_repeat_interleave_forms(torch):
    counts = mg.tensor([1, 0, 2])
    assert mg.repeat_interleave(counts).tolist() == torch.repeat_interleave(
        torch.tensor([1, 0, 2])).tolist()
    x = mg.arange(6.0).reshape(2, 3)
    assert mg.repeat_interleave(x, mg.tensor(2), 0).shape == (4, 3)        # a one-element tensor
    assert mg.repeat_interleave(x, mg.tensor([2]), 1).shape == (2, 6)
    assert mg.repeat_interleave(x, 2, 0, output_size=4).shape == (4, 3)
    assert mg.repeat_interleave(mg.tensor(3.0), 2).shape == (2,)


# ============================================================================ chunk / unbind


@given(shapes(min_dims=1, max_dims=3, min_side=0, max_side=5), st.integers(1, 6), st.data())
def test_chunk_like_torch(device, torch, shape, chunks, data):
    """PyTorch's sizes (ceil(n / chunks) each, possibly fewer pieces; all empty for n = 0)."""
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    a = np.arange(float(np.prod(shape))).reshape(shape)
    ours, theirs = mg.chunk(mg.tensor(a), chunks, dim), torch.chunk(torch.tensor(a), chunks, dim)
    assert [p.shape for p in ours] == [tuple(p.shape) for p in theirs]
    for o, t in zip(ours, theirs):
        np.testing.assert_array_equal(o.numpy(), t.numpy())
    if a.size:
        check_grads(lambda t: _pieces(t.chunk(chunks, dim)), [leaf(a, device)])


@given(shapes(min_dims=1, max_dims=3), st.data())
def test_unbind(device, torch, shape, data):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    a = data.draw(float_arrays(shape))
    pieces = mg.unbind(leaf(a, device), dim)
    assert len(pieces) == shape[dim]
    for k, p in enumerate(pieces):
        np.testing.assert_array_equal(p.numpy(), np.take(a, k, axis=dim))
    check_grads(lambda t: _pieces(t.unbind(dim)), [leaf(a, device)])
    check_against_torch(torch, lambda t: mg.stack(mg.unbind(t, dim)[::-1]),
                        lambda t: torch.stack(torch.unbind(t, dim)[::-1]), [a])
    assert mg.unbind(mg.zeros(0, 2)) == ()


# ============================================================================ flip / roll


@given(shapes(max_dims=3), st.data())
def test_flip_and_roll(device, shape, data):
    a = data.draw(float_arrays(shape))
    n = max(len(shape), 1)
    dims = tuple(data.draw(st.lists(st.integers(-n, n - 1), max_size=n, unique_by=lambda d: d % n)))
    x = leaf(a, device)
    np.testing.assert_array_equal(mg.flip(x, dims).numpy(), np.flip(a, [d % n for d in dims])
                                  if len(shape) else a)
    check_grads(lambda t: mg.flip(t, dims), [leaf(a, device)])
    shifts = data.draw(st.integers(-5, 5))
    np.testing.assert_array_equal(x.roll(shifts).numpy(), np.roll(a, shifts))
    if len(shape):
        roll_dims = tuple(data.draw(st.lists(st.integers(-n, n - 1), min_size=1, max_size=3)))
        steps = tuple(data.draw(st.lists(st.integers(-4, 4), min_size=len(roll_dims),
                                         max_size=len(roll_dims))))
        np.testing.assert_array_equal(x.roll(steps, roll_dims).numpy(),
                                      np.roll(a, steps, [d % n for d in roll_dims]))
        check_grads(lambda t: mg.roll(t, steps, roll_dims), [leaf(a, device)])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_flip_roll_like_torch(torch, dtype):
    a = np.random.default_rng(1).standard_normal((2, 3, 4))
    check_against_torch(torch, lambda x: x.flip(0, -1), lambda x: x.flip(0, -1), [a], dtype=dtype)
    check_against_torch(torch, lambda x: mg.flip(x, [1]), lambda x: torch.flip(x, [1]), [a],
                        dtype=dtype)
    check_against_torch(torch, lambda x: x.roll(5), lambda x: x.roll(5), [a], dtype=dtype)
    check_against_torch(torch, lambda x: x.roll((1, -2, 1), (0, 2, 0)),
                        lambda x: x.roll((1, -2, 1), (0, 2, 0)), [a], dtype=dtype)
    s = np.array(2.0)
    check_against_torch(torch, lambda x: x.flip(0), lambda x: x.flip(0), [s], dtype=dtype)
    check_against_torch(torch, lambda x: x.roll(1), lambda x: x.roll(1), [s], dtype=dtype)


# ============================================================================ movedim / narrow / swapaxes


@given(shapes(min_dims=1, max_dims=4), st.data())
def test_movedim_like_numpy(device, shape, data):
    n = len(shape)
    k = data.draw(st.integers(1, n))
    src = data.draw(st.lists(st.integers(0, n - 1), min_size=k, max_size=k, unique=True))
    dst = data.draw(st.lists(st.integers(0, n - 1), min_size=k, max_size=k, unique=True))
    src = [s - n if i % 2 else s for i, s in enumerate(src)]
    a = data.draw(float_arrays(shape))
    np.testing.assert_array_equal(mg.movedim(leaf(a, device), src, dst).numpy(),
                                  np.moveaxis(a, src, dst))
    check_grads(lambda t: t.moveaxis(src, dst), [leaf(a, device)])


@given(shapes(min_dims=1, max_dims=3), st.data())
def test_narrow(device, shape, data):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    n = shape[dim]
    start = data.draw(st.integers(-n, n))
    length = data.draw(st.integers(0, n - (start % n if start < 0 else start) if start != n else 0))
    a = data.draw(float_arrays(shape))
    begin = start + n if start < 0 else start
    expected = np.take(a, np.arange(begin, begin + length), axis=dim)
    np.testing.assert_array_equal(mg.narrow(leaf(a, device), dim, start, length).numpy(), expected)
    check_grads(lambda t: t.narrow(dim, start, length) * 2.0, [leaf(a, device)])


def test_movedim_narrow_swapaxes_like_torch(torch):
    a = np.random.default_rng(2).standard_normal((2, 3, 4))
    check_against_torch(torch, lambda x: mg.movedim(x, (0, 1), (2, 0)),
                        lambda x: torch.movedim(x, (0, 1), (2, 0)), [a])
    check_against_torch(torch, lambda x: x.movedim(-1, 0), lambda x: x.movedim(-1, 0), [a])
    check_against_torch(torch, lambda x: x.narrow(1, -2, 2), lambda x: x.narrow(1, -2, 2), [a])
    check_against_torch(torch, lambda x: mg.narrow(x, 2, mg.tensor(1), 3),
                        lambda x: torch.narrow(x, 2, torch.tensor(1), 3), [a])
    check_against_torch(torch, lambda x: mg.swapaxes(x, 0, 2), lambda x: torch.swapaxes(x, 0, 2),
                        [a])
    check_against_torch(torch, lambda x: x.swapdims(-1, 1), lambda x: x.swapdims(-1, 1), [a])


# ============================================================================ errors


@pytest.mark.parametrize("call, error, message", [
    (lambda: mg.ones(2, 3).repeat(2), mg.ShapeError, r"repeat: 1 repeats \(2,\) for a tensor with 2 dims"),
    (lambda: mg.ones(2, 3).repeat(-1, 2), mg.ArgumentError, r"repeat: repeats must be >= 0"),
    (lambda: mg.ones(2, 3).repeat(1.5, 2), mg.DTypeError, r"repeat: repeats must be an int"),
    (lambda: mg.chunk(mg.ones(2, 3), 0), mg.ArgumentError, r"chunk: chunks must be >= 1"),
    (lambda: mg.chunk(mg.tensor(1.0), 1), mg.ShapeError, r"chunk: needs a tensor with at least 1 dim"),
    (lambda: mg.unbind(mg.ones(2, 3), 2), mg.DimError, r"unbind: dim 2 is out of range"),
    (lambda: mg.unbind(mg.tensor(1.0)), mg.DimError, r"unbind: a 0-d tensor"),
    (lambda: mg.flip(mg.ones(2, 3), (0, 0)), mg.ArgumentError, r"flip: dim .* repeats"),
    (lambda: mg.flip(mg.ones(2, 3), (2,)), mg.DimError, r"flip: dim 2 is out of range"),
    (lambda: mg.roll(mg.ones(2, 3), (1,), (0, 1)), mg.ShapeError,
     r"roll: shifts \(1,\) and dims \(0, 1\) must have the same length"),
    (lambda: mg.roll(mg.ones(2, 3), []), mg.ArgumentError, r"roll: shifts must not be empty"),
    (lambda: mg.roll(mg.tensor(1.0), 1, 0), mg.DimError, r"roll: dims \(0,\) given for a 0-d"),
    (lambda: mg.repeat_interleave(mg.ones(2, 3), -1), mg.ArgumentError, r"repeats must be >= 0"),
    (lambda: mg.repeat_interleave(mg.ones(2, 3), mg.tensor([1, -2]), 0), mg.ArgumentError,
     r"repeat_interleave: repeats must be >= 0, got -2"),
    (lambda: mg.repeat_interleave(mg.ones(2, 3), mg.tensor([1, 2, 3]), 0), mg.ShapeError,
     r"repeat_interleave: 3 repeats for 2 slices along dim 0"),
    (lambda: mg.repeat_interleave(mg.ones(2, 3), mg.tensor([1.0, 2.0]), 0), mg.DTypeError,
     r"repeat_interleave: repeats must be an integer tensor"),
    (lambda: mg.repeat_interleave(mg.ones(2, 3), 2, 0, output_size=5), mg.ArgumentError,
     r"repeat_interleave: output_size=5 but the repeats make 4"),
    (lambda: mg.movedim(mg.ones(2, 3), (0,), (0, 1)), mg.ShapeError,
     r"movedim: source \(0,\) and destination \(0, 1\) must have the same length"),
    (lambda: mg.movedim(mg.ones(2, 3), (0, 0), (0, 1)), mg.ArgumentError, r"movedim: source \(0, 0\) repeats"),
    (lambda: mg.movedim(mg.ones(2, 3), 2, 0), mg.DimError, r"movedim: dim 2 is out of range"),
    (lambda: mg.narrow(mg.ones(2, 3), 1, 2, 2), mg.ShapeError, r"narrow: start \(2\) \+ length \(2\) exceeds"),
    (lambda: mg.narrow(mg.ones(2, 3), 1, -4, 1), mg.DimError, r"narrow: start -4 is out of range"),
    (lambda: mg.narrow(mg.ones(2, 3), 1, 1, -1), mg.ArgumentError, r"narrow: length must be >= 0"),
    (lambda: mg.narrow(mg.tensor(1.0), 0, 0, 1), mg.DimError, r"narrow: cannot narrow a 0-d"),
    (lambda: mg.tile([1, 2], (2,)), mg.DTypeError, r"tile: input must be a Tensor"),
    (lambda: mg.tensor(1.0).repeat(), mg.ArgumentError, r"repeat: give the repeats"),
    (lambda: mg.movedim(mg.ones(2, 3), 0, (1,)), mg.DTypeError,
     r"movedim: source and destination must both be ints or both sequences"),
    (lambda: mg.swapaxes(mg.ones(2, 3), (0, 1), None), mg.DTypeError, r"swapaxes: dim must be one int"),
    (lambda: mg.swapaxes(mg.ones(2, 3), 0, 2), mg.DimError, r"swapaxes: dim 2 is out of range"),
])
def test_errors_name_the_op(call, error, message):
    with pytest.raises(error, match=message):
        call()
