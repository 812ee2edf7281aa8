"""The op profiler (minigan/profiler.py, minigan/flops.py): exact call counts per op and
pass on a known graph, FLOPs equal to the formulas, bytes equal to the outputs' nbytes,
the table's sorting, limits and totals."""
from __future__ import annotations

import doctest

import numpy as np
import pytest

import minigan as mg
import minigan.functional as F
from minigan import flops, profiler
from minigan.autograd import Function, _observers
from minigan.ops import elementwise, linalg, linear, reduce, shape


def rows(p, **kwargs) -> dict:
    return {(r.name, r.kind): r for r in p.key_averages(**kwargs)}


def name(cls) -> str:
    """The op name the profiler shows for a Function class."""
    return cls.__new__(cls).name


def test_counts_flops_and_bytes_of_a_known_graph(device):
    a = mg.randn(4, 3, requires_grad=True, device=device)
    b = mg.randn(3, 2, requires_grad=True, device=device)
    with mg.profile() as p:
        y = (a @ b).exp().sum()
        y.backward()
    assert not _observers
    r = rows(p)
    # forward: matmul, exp, sum. backward: sum's (reshape + broadcast_to), exp's (gy * y),
    # matmul's (a and b transposed, then gy @ b^T and a^T @ gy)
    matmul, exp, sum_, reshape, broadcast, mul, permute = (
        name(linalg.MatMul), name(elementwise.Exp), name(reduce.Sum), name(shape.Reshape),
        name(reduce.BroadcastTo), name(elementwise.Mul), name(shape.Permute))
    assert {k: v.calls for k, v in r.items()} == {
        (matmul, "forward"): 3, (exp, "forward"): 1, (sum_, "forward"): 1,
        (sum_, "backward"): 1, (reshape, "forward"): 1, (broadcast, "forward"): 1,
        (exp, "backward"): 1, (mul, "forward"): 1,
        (matmul, "backward"): 1, (permute, "forward"): 2}
    M, K, N = 4, 3, 2
    assert r[matmul, "forward"].flops == 3 * 2 * M * N * K  # y, then ga and gb
    assert r[exp, "forward"].flops is None and r[matmul, "backward"].flops is None
    # bytes: what each op allocated; views (reshape, broadcast_to, transposes) count 0
    assert r[matmul, "forward"].bytes == 4 * (M * N + M * K + K * N)
    assert r[exp, "forward"].bytes == r[mul, "forward"].bytes == 4 * M * N
    assert r[sum_, "forward"].bytes == 4
    assert r[reshape, "forward"].bytes == r[broadcast, "forward"].bytes == 0
    assert r[permute, "forward"].bytes == 0
    assert r[matmul, "backward"].bytes == 0  # its gradients are the matmul rows' outputs
    for row in r.values():
        assert 0 <= row.self_time <= row.total_time
    assert r[matmul, "backward"].total_time >= r[matmul, "backward"].self_time


def test_conv_and_linear_flops_equal_the_formulas():
    N, C, H, W, OC, KH, KW = 2, 3, 9, 8, 5, 3, 2
    x = mg.randn(N, C, H, W, requires_grad=True)
    w = mg.randn(OC, C, KH, KW, requires_grad=True)
    wt = mg.randn(C, OC, KH, KW)  # conv_transpose2d: (in, out, KH, KW)
    lw = mg.randn(7, 11, requires_grad=True)
    with mg.profile() as p:
        y = F.conv2d(x, w, stride=2, padding=1)
        y.sum().backward()
    r = rows(p)
    _, _, OH, OW = y.shape
    assert r["conv2d", "forward"].calls == 1
    assert r["conv2d", "forward"].flops == 2 * N * OC * OH * OW * C * KH * KW
    assert r["conv2d", "forward"].bytes == y.data.nbytes
    # the backward: the input gradient is a transposed conv, the weight's its own kernel
    assert r["conv_transpose2d", "forward"].flops == 2 * N * OH * OW * OC * C * KH * KW
    assert r["conv2d_grad_weight", "forward"].flops == 2 * OC * C * KH * KW * N * OH * OW
    assert r["conv2d_grad_weight", "forward"].bytes == w.data.nbytes

    with mg.profile() as p:
        t = F.conv_transpose2d(x, wt, stride=2)
        h = F.linear(mg.randn(6, 11), lw)
        (t.sum() + h.sum()).backward()
    r = rows(p)
    assert r["conv_transpose2d", "forward"].flops == 2 * N * H * W * C * OC * KH * KW
    assert r["conv_transpose2d", "forward"].bytes == t.data.nbytes
    assert r["conv2d", "forward"].flops == 2 * N * C * H * W * OC * KH * KW  # its backward
    assert r[name(linear.Linear), "forward"].flops == 2 * 6 * 7 * 11
    assert r[name(linear.LinearGradWeight), "forward"].flops == 2 * 7 * 11 * 6
    assert (name(linear.LinearGradInput), "forward") not in r  # the input needs no gradient


def test_a_function_can_report_its_own_flops():
    class Scale(Function):
        def forward(self, x):
            return x * 3.0

        def backward(self, gy):
            return gy * 3.0

        def flops(self, inputs, outputs):
            return outputs[0].size

    x = mg.randn(5, requires_grad=True)
    with mg.profile() as p:
        Scale()(x)
    assert rows(p)["scale", "forward"].flops == 5
    assert flops.flops_of(Scale(), [np.ones(2)], [np.ones(2)]) == 2


def test_table_sorting_limits_and_totals():
    x = mg.randn(8, 8, requires_grad=True)
    with mg.profile() as p:
        for _ in range(3):
            y = (x @ x).sum()
        y.backward()
    text = p.table(sort_by="calls", row_limit=2)
    lines = text.splitlines()
    assert lines[0].split()[:4] == ["op", "pass", "calls", "self"]
    assert lines[2].split()[:3] == ["matmul", "forward", "5"]  # 3 forward + 2 in backward
    assert lines[3].split()[:3] == ["sum", "forward", "3"]
    total = next(line for line in lines if line.startswith("total"))
    assert total.split()[1] == str(sum(r.calls for r in p.key_averages()))
    assert "more rows not shown; row_limit=2" in text
    assert total.split()[4] == f"{(3 + 2) * 2 * 8 ** 3 / 1e3:.3f}"  # kFLOPs, every matmul's
    by_total = [line.split()[0] for line in p.table().splitlines()[2:-3]]
    totals = sorted(p.key_averages(), key=lambda r: -r.total_time)
    assert by_total == [r.name for r in totals]
    assert p.table(sort_by="cpu_time_total") == p.table()  # PyTorch's name for it
    assert "input shapes" in p.table(group_by_input_shape=True)
    with pytest.raises(mg.ArgumentError, match="table: sort_by must be one of"):
        p.table(sort_by="speed")
    with pytest.raises(mg.ArgumentError, match="table: row_limit must be"):
        p.table(row_limit=0)


def test_grouping_by_input_shape():
    with mg.profile() as p:
        mg.ones(2, 3) @ mg.ones(3, 4)
        mg.ones(2, 3) @ mg.ones(3, 4)
        mg.ones(5, 3) @ mg.ones(3, 1)
    grouped = [(r.name, r.input_shapes, r.calls) for r in p.key_averages(group_by_input_shape=True)]
    assert sorted(grouped) == [("matmul", "(2, 3), (3, 4)", 2), ("matmul", "(5, 3), (3, 1)", 1)]
    assert [r.calls for r in p.key_averages()] == [3]


def test_start_stop_and_nothing_outside():
    p = mg.profile()
    mg.ones(2) * 2.0
    p.start()
    mg.ones(2) * 2.0
    p.stop()
    mg.ones(2) * 2.0
    assert [r.calls for r in p.key_averages()] == [1] and not _observers
    assert p.wall_time > 0


def test_profile_steps_skips_the_warmup():
    calls = []
    p = profiler.profile_steps(lambda: calls.append(mg.ones(3).exp()), steps=2, warmup=1)
    assert len(calls) == 3 and [r.calls for r in p.key_averages()] == [2]


def test_docstring_examples():
    assert doctest.testmod(profiler).failed == 0
