"""matmul: every 1-D / 2-D / batched combination as numpy.matmul, broadcasting of batch
dims, gradcheck + gradgradcheck, PyTorch, dtype promotion and errors naming shapes."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigan as mg
from strategies import (broadcastable_shapes, check_against_torch, check_grads, float_arrays,
                        leaf)

CASES = {  # name -> (shape of a, shape of b)
    "1d @ 1d": ((3,), (3,)),
    "1d @ 2d": ((3,), (3, 2)),
    "2d @ 1d": ((2, 3), (3,)),
    "2d @ 2d": ((2, 3), (3, 4)),
    "1d @ 3d": ((3,), (2, 3, 4)),
    "3d @ 1d": ((2, 4, 3), (3,)),
    "3d @ 2d": ((2, 4, 3), (3, 2)),
    "2d @ 3d": ((4, 3), (2, 3, 2)),
    "batch broadcast": ((2, 1, 2, 3), (3, 3, 2)),
    "size-1 batch": ((1, 2, 3), (4, 3, 1)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_matmul_cases_gradcheck(device, name):
    rng = np.random.default_rng(0)
    sa, sb = CASES[name]
    check_grads(mg.matmul, [leaf(rng.standard_normal(sa), device), leaf(rng.standard_normal(sb), device)])


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_matmul_cases_match_torch(torch, name, dtype):
    rng = np.random.default_rng(1)
    sa, sb = CASES[name]
    check_against_torch(torch, lambda a, b: a @ b, torch.matmul,
                        [rng.standard_normal(sa), rng.standard_normal(sb)], dtype=dtype)


@given(data=st.data(), batch=broadcastable_shapes(2, max_dims=2),
       n=st.integers(1, 3), k=st.integers(1, 3), m=st.integers(1, 3))
def test_matmul_batched_broadcast_gradcheck(device, data, batch, n, k, m):
    a = data.draw(float_arrays(batch[0] + (n, k)))
    b = data.draw(float_arrays(batch[1] + (k, m)))
    check_grads(mg.matmul, [leaf(a, device), leaf(b, device)])


def test_matmul_one_input_needs_grad_and_method_forms():
    a, b = leaf(np.ones((2, 3))), leaf(np.ones((3, 4)), requires_grad=False)
    y = a.matmul(b)
    y.sum().backward()
    assert a.grad.tolist() == [[4.0] * 3] * 2 and b.grad is None
    z = np.ones((2, 2)) @ mg.tensor(np.eye(2))  # a NumPy array on the left: Tensor.__rmatmul__
    assert isinstance(z, mg.Tensor) and z.shape == (2, 2)


def test_matmul_dtype_rules():
    assert (mg.ones(2, 3) @ mg.ones(3)).dtype == np.float32
    assert (mg.tensor([[1, 2]]) @ mg.tensor([[1.0], [2.0]])).dtype == np.float32  # int promoted
    assert (mg.tensor([[1, 2]]) @ mg.tensor([[3], [4]])).tolist() == [[11]]
    with pytest.raises(TypeError, match=r"matmul: inputs on different dtypes"):
        mg.ones(2, 3) @ mg.ones(3, 2, dtype="float64")


def test_matmul_errors_name_shapes():
    with pytest.raises(ValueError, match=r"matmul: shapes \(2, 3\) and \(4, 2\) do not match \(3 != 4\)"):
        mg.ones(2, 3) @ mg.ones(4, 2)
    with pytest.raises(ValueError, match=r"matmul: shapes \(3,\) and \(2,\) do not match"):
        mg.ones(3) @ mg.ones(2)
    with pytest.raises(ValueError, match=r"matmul: batch dims of \(2, 3, 4\) and \(3, 4, 5\) "
                                         r"do not broadcast \(\(2,\) vs \(3,\)\)"):
        mg.ones(2, 3, 4) @ mg.ones(3, 4, 5)
    with pytest.raises(ValueError, match=r"matmul: both operands need at least 1 dim, got \(\) and \(2,\)"):
        mg.matmul(mg.tensor(1.0), mg.ones(2))
