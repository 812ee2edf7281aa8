"""dropout: inverted scaling, mask statistics, seeding, gradients (first and second order),
the p = 0 / p = 1 / eval shortcuts and bad probabilities."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigan as mg
import minigan.functional as F
from strategies import check_grads, float_arrays, leaf, random_like, shapes


def _seeded(p: float, seed: int = 7):
    """dropout with the same mask on every call (gradcheck calls fn many times)."""
    def fn(x):
        mg.manual_seed(seed)
        return F.dropout(x, p)
    return fn


@given(data=st.data(), shape=shapes(max_dims=3), p=st.sampled_from([0.1, 0.5, 0.8]))
def test_dropout_gradcheck(device, data, shape, p):
    check_grads(_seeded(p), [leaf(data.draw(float_arrays(shape)), device)])


@pytest.mark.parametrize("p", [0.3, 0.5, 0.9])
def test_mask_statistics_and_scaling(device, p):
    x = mg.ones(200, 500, device=device, dtype=np.float32)
    y = F.dropout(x, p).numpy()
    kept = y != 0
    assert y.dtype == np.float32
    np.testing.assert_allclose(y[kept], np.float32(1.0 / (1.0 - p)), rtol=1e-6)
    n = kept.size
    fraction = kept.mean()
    assert abs(fraction - (1 - p)) < 5 * np.sqrt(p * (1 - p) / n)  # 5 standard errors
    assert abs(y.mean() - 1.0) < 5 * np.sqrt(p / (1 - p) / n)       # unbiased in expectation
    rows = kept.mean(axis=1)                                          # no structure in the mask
    assert rows.std() < 3 * np.sqrt(p * (1 - p) / kept.shape[1])


def test_gradient_is_mask_times_scale(device):
    p = 0.3
    x = leaf(random_like((40, 30)) + 5.0, device)          # no zeros in x
    y = F.dropout(x, p)
    g = random_like((40, 30), 2)
    y.backward(mg.tensor(g, device=device))
    mask = (y.numpy() != 0) / (1 - p)
    np.testing.assert_allclose(y.numpy(), x.numpy() * mask, rtol=1e-14)
    np.testing.assert_allclose(x.grad.numpy(), g * mask, rtol=1e-14)
    # and the double backward multiplies by the same mask
    x.grad = None
    y = F.dropout(x, p)
    v = leaf(g, device)
    gx, = mg.grad(y, x, v, create_graph=True)
    gv, = mg.grad(gx, v, mg.tensor(np.ones((40, 30)), device=device))
    np.testing.assert_allclose(gv.numpy(), (y.numpy() != 0) / (1 - p), rtol=1e-14)


def test_same_seed_same_mask(device):
    x = mg.ones(64, 100, device=device)
    mg.manual_seed(123)
    a = F.dropout(x, 0.4).numpy()
    b = F.dropout(x, 0.4).numpy()
    mg.manual_seed(123)
    c = F.dropout(x, 0.4).numpy()
    np.testing.assert_array_equal(a, c)
    assert not np.array_equal(a, b)


def test_shortcuts(device):
    x = mg.randn(5, 6, device=device, requires_grad=True)
    assert F.dropout(x, 0.0) is x
    assert F.dropout(x, 0.7, training=False) is x
    y = F.dropout(x, 1.0)
    np.testing.assert_array_equal(y.numpy(), np.zeros((5, 6), np.float32))
    y.backward(mg.ones(5, 6, device=device))
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros((5, 6), np.float32))
    assert F.dropout(mg.tensor(2.0), 0.5).shape == ()


@pytest.mark.parametrize("p", [-0.1, 1.5, float("nan")])
def test_bad_probability(p):
    with pytest.raises(ValueError, match=r"dropout: probability has to be between 0 and 1, "
                                         r"but got .* \(input of shape \(2, 3\)\)"):
        F.dropout(mg.ones(2, 3), p)


def test_mask_follows_memory_layout(device):
    """A channels-last input (a conv output) gets a channels-last mask and output, so the
    multiply and the next conv read contiguous memory."""
    x = leaf(np.ones((2, 5, 4, 3)), device).permute(0, 3, 1, 2)   # (N, C, H, W) of NHWC memory
    y = F.dropout(x, 0.5)
    assert y.shape == (2, 3, 5, 4)
    assert y.data.transpose(0, 2, 3, 1).flags.c_contiguous
    assert set(np.unique(y.numpy())) <= {0.0, 2.0}
