"""The graph annotated with gradient checks (minigan/graphcheck.py): a planted wrong
backward is flagged in the tree, the DOT and the exit code; DCGAN-28's real graph passes;
re-running an op keeps what it needs (a dropout mask) and drops stale caches."""
from __future__ import annotations

import doctest

import numpy as np
import pytest

import minigan as mg
import minigan.functional as F
from minigan import backend, cli, graphcheck, viz
from minigan.autograd import Function
from minigan.gradcheck import gradcheck_result


class WrongCube(Function):
    """y = x^3 with a planted bug: the backward says 2 x^2 instead of 3 x^2."""

    def forward(self, x):
        return x * x * x

    def backward(self, gy):
        x, = self.inputs
        return gy * x * x * 2.0


class PlusNoise(Function):
    """y = x + noise, the noise drawn inside the forward from minigan's generator: a
    re-run must draw the same noise, or finite differences see a moving target."""

    def forward(self, x):
        return x + backend.random_normal(x.shape, x.dtype, "cpu")

    def backward(self, gy):
        return gy


def planted_graph(device="cpu"):
    x = mg.randn(3, 4, requires_grad=True, device=device)
    return {"loss": (WrongCube()(x.exp()) * 2.0).sum()}, {"x": x}


def test_planted_wrong_backward_is_flagged(device):
    roots, params = planted_graph(device)
    checks = graphcheck.check_graph(roots)
    statuses = {f.name: c.status for f, c in checks.items()}
    assert statuses == {"sum": "ok", "mul": "ok", "wrongcube": "FAIL", "exp": "ok"}
    assert not checks.ok and [f.name for f, _ in checks.failures()] == ["wrongcube"]
    bad = next(c for f, c in checks.items() if f.name == "wrongcube")
    assert bad.relative_error == pytest.approx(1 / 3, rel=1e-3)  # (3 - 2) / 3 at every entry
    assert bad.mode == "element-wise" and "gradient mismatch for input 0" in bad.message
    text = viz.tree(roots, params, checks)
    assert "wrongcube  (3, 4) float32  [check FAIL rel. error 3.3e-01]" in text
    assert "exp  (3, 4) float32  [check ok rel. error" in text
    dot = viz.to_dot(roots, params, checks)
    assert 'label="wrongcube\\n(3, 4) float32\\ncheck FAIL rel. error 3.3e-01", fillcolor="#f4cccc"' in dot
    assert "1 failed" in checks.summary() and "wrongcube: gradcheck" in checks.summary()


def test_big_inputs_get_the_directional_check():
    x = mg.randn(20, 30, requires_grad=True)
    checks = graphcheck.check_graph(WrongCube()(x).sum())
    modes = {f.name: (c.status, c.mode) for f, c in checks.items()}
    assert modes == {"sum": ("ok", "directional"), "wrongcube": ("FAIL", "directional")}


def test_command_exits_1_on_a_planted_bug(monkeypatch, capsys, tmp_path):
    monkeypatch.setitem(graphcheck.GRAPHS, "planted", lambda device, seed: planted_graph())
    assert cli.main(["gradcheck", "--graph", "planted", "--out", str(tmp_path / "g.dot")]) == 1
    out = capsys.readouterr().out
    assert "3 of 4 ops passed, 1 failed" in out
    assert "check FAIL" in (tmp_path / "g.dot").read_text()


def test_dcgan_graph_passes(capsys, tmp_path):
    """The real thing: DCGAN-28's D and G losses, every op checked, exit code 0."""
    assert cli.main(["gradcheck", "--graph", "dcgan", "--out", str(tmp_path / "g.dot")]) == 0
    out = capsys.readouterr().out
    roots, _ = graphcheck.dcgan_graph()
    n = len(viz.functions(roots))
    assert n > 30 and f"{n} of {n} ops passed, 0 failed, 0 skipped" in out
    dot = (tmp_path / "g.dot").read_text()
    assert "FAIL" not in dot and dot.count("check ok") == n
    for name in ("conv_transpose2d", "conv2d", "G.project.0.weight", "G.body.0.weight",
                 "D.body.7.bias", "d_loss", "g_loss"):
        assert name in dot, name


@pytest.mark.slow
def test_dcgan_graph_fails_with_a_wrong_leaky_relu(monkeypatch):
    from minigan.ops import activation
    right = activation.LeakyReLU.backward
    monkeypatch.setattr(activation.LeakyReLU, "backward", lambda self, gy: right(self, gy * 1.01))
    roots, _ = graphcheck.dcgan_graph()
    failures = graphcheck.check_graph(roots).failures()
    assert {type(f) for f, _ in failures} == {activation.LeakyReLU}
    assert len(failures) == 7  # every leaky_relu of G and of D, in both losses


def test_replay_keeps_a_needed_mask_and_drops_stale_caches(monkeypatch):
    x = mg.randn(2, 3, 5, 5, requires_grad=True)
    w = mg.randn(3, 2, 3, 3, requires_grad=True)
    y = F.dropout(F.conv_transpose2d(x, w, stride=2), 0.5).sum()
    statuses = lambda: {f.name: c.status for f, c in graphcheck.check_graph(y).items()}  # noqa: E731
    assert statuses() == {"sum": "ok", "scalebymask": "ok", "conv_transpose2d": "ok"}
    # conv_transpose2d keeps _rows(x) from its forward; re-run with it, the op would not
    # see the perturbed x and finite differences would disagree with its backward
    monkeypatch.setattr(graphcheck, "_is_float_array", lambda value: False)
    assert statuses() == {"sum": "ok", "scalebymask": "ok", "conv_transpose2d": "FAIL"}


def test_random_draws_inside_a_forward_repeat():
    x = mg.randn(3, requires_grad=True)
    checks = graphcheck.check_graph(PlusNoise()(x))
    assert [c.status for c in checks.values()] == ["ok"]


def test_freed_ops_are_skipped():
    x = mg.randn(3, requires_grad=True)
    y = (x * x).sum()
    y.backward()
    checks = graphcheck.check_graph(y)
    assert [(f.name, c.status) for f, c in checks.items()] == [("sum", "skipped")]
    assert checks.ok and "freed by backward" in viz.tree(y, checks=checks)


def test_gradcheck_true_builds_the_checks():
    x = mg.randn(2, 2, requires_grad=True)
    assert viz.tree(F.tanh(x), gradcheck=True).startswith("tanh  (2, 2) float32  [check ok")
    assert "check ok" in viz.to_dot(F.tanh(x), gradcheck=True)


def test_relative_error_is_reported_by_gradcheck():
    x = mg.tensor(np.array([1.0, 2.0]), requires_grad=True)
    right = gradcheck_result(lambda t: t * t, [x])
    wrong = gradcheck_result(lambda t: WrongCube()(t), [x])
    assert right.ok and right.relative_error < 1e-8
    assert not wrong.ok and wrong.relative_error == pytest.approx(1 / 3, rel=1e-6)


def test_docstring_examples():
    assert doctest.testmod(graphcheck).failed == 0
