"""The graph viewer (minigan/viz.py): the exact tree and DOT text of small known graphs,
shared subgraphs shown once, freed graphs, rendering with Graphviz and without it."""
from __future__ import annotations

import doctest
import shutil

import pytest

import minigan as mg
from minigan import viz


def three_ops():
    """sum(a * b + c): mul, add, sum; a and c require grad, b does not."""
    a = mg.ones(3, 4, requires_grad=True)
    b = mg.ones(3, 4)
    c = mg.ones(4, requires_grad=True)
    return ((a * b) + c).sum(), {"a": a, "c": c}


def test_tree_of_three_ops():
    y, params = three_ops()
    assert viz.tree(y, params=params) == "\n".join([
        "sum  () float32",
        "└── add  (3, 4) float32",
        "    ├── mul  (3, 4) float32",
        "    │   ├── a  (3, 4) float32  requires grad",
        "    │   └── tensor  (3, 4) float32  no grad",
        "    └── c  (4,) float32  requires grad",
    ])


def test_dot_of_three_ops():
    y, params = three_ops()
    assert viz.to_dot(y, params=params) == "\n".join([
        "digraph minigan {",
        '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=10];',
        "  edge [arrowsize=0.7];",
        '  n0 [label="sum\\n() float32", fillcolor="#d9ead3", penwidth=2];',
        '  n1 [label="add\\n(3, 4) float32", fillcolor="#eeeeee"];',
        '  n2 [label="mul\\n(3, 4) float32", fillcolor="#eeeeee"];',
        '  n3 [label="a\\n(3, 4) float32", shape=ellipse, fillcolor="#cfe2f3"];',
        '  n4 [label="tensor\\n(3, 4) float32", shape=ellipse, fillcolor="#ffffff"];',
        '  n5 [label="c\\n(4,) float32", shape=ellipse, fillcolor="#cfe2f3"];',
        "  n1 -> n0;",
        "  n2 -> n1;",
        "  n5 -> n1;",
        "  n3 -> n2;",
        "  n4 -> n2 [style=dashed];",
        "}",
    ])


def test_leaf_names_scalars_and_roots_by_name():
    w = mg.ones(2, requires_grad=True)
    w.name = "weight"
    x = mg.ones(2)
    out = {"loss": (w * x * 0.5).sum(), "w": w}
    text = viz.tree(out)
    assert text.splitlines() == [
        "loss: sum  () float32",
        "└── mul  (2,) float32",
        "    ├── mul  (2,) float32",
        "    │   ├── weight  (2,) float32  requires grad",
        "    │   └── tensor  (2,) float32  no grad",
        "    └── constant 0.5  () float32  no grad",
        "w: weight  (2,) float32  requires grad",
    ]


def test_shared_subgraph_is_shown_once():
    x = mg.ones(2, 3, requires_grad=True)
    e = x.exp()
    y = (e * e + e.sum(0)).sum()
    lines = viz.tree(y).splitlines()
    assert sum("exp [#1]" in line for line in lines) == 3
    assert sum("(shown above)" in line for line in lines) == 2
    assert sum(line.endswith("tensor  (2, 3) float32  requires grad") for line in lines) == 1
    dot = viz.to_dot(y)
    assert dot.count('label="exp') == 1 and dot.count("-> n") == 7  # mul(e, e): two edges


def test_multi_output_op_and_frozen_inputs():
    a = mg.ones(2, 3, requires_grad=True)
    frozen = mg.ones(2, 1, requires_grad=True)
    p, q = mg.split(a, 2, 1)
    frozen.requires_grad_(False)
    y = p.sum() + (q * frozen).sum()
    frozen.requires_grad_(True)  # changed after the op ran: the edge stays "no grad"
    text = viz.tree(y)
    assert "split (output 0 of 2) [#1]  (2, 2) float32" in text
    assert "split (output 1 of 2) [#1]  (2, 1) float32  (shown above)" in text
    dot = viz.to_dot(y)
    assert 'label="split\\n(2, 2), (2, 1) float32"' in dot
    assert '[label="0"]' in dot and '[label="1"]' in dot
    assert "tensor  (2, 1) float32  no grad" in text  # the frozen leaf, as it was used
    assert dot.count("style=dashed") == 1


def test_freed_graph_says_how_to_keep_it():
    x = mg.ones(3, requires_grad=True)
    y = (x * x).sum()
    y.backward()
    assert viz.tree(y) == f"sum  () float32  ({viz.FREED})"
    assert "freed by backward" in viz.to_dot(y)
    z = (x * x).sum()
    z.backward(retain_graph=True)
    assert "mul  (3,) float32" in viz.tree(z)


def test_deep_graph_needs_no_recursion():
    y = mg.ones(2, requires_grad=True)
    for _ in range(3000):
        y = y * 1.0
    assert len(viz.tree(y).splitlines()) == 2 * 3000 + 1
    assert viz.to_dot(y).count("->") == 2 * 3000


def test_bad_arguments():
    with pytest.raises(mg.DTypeError, match="tree: expected a Tensor"):
        viz.tree(3)
    with pytest.raises(mg.DTypeError, match="to_dot: loss must be a Tensor"):
        viz.to_dot({"loss": 1.0})
    with pytest.raises(mg.ArgumentError, match="tree: no tensor"):
        viz.tree([])
    with pytest.raises(mg.DTypeError, match="params must be a dict"):
        viz.tree(mg.ones(1), params=[mg.ones(1)])


def test_render_dot_text_and_unknown_format(tmp_path):
    y, params = three_ops()
    path = viz.render(y, tmp_path / "g.dot", params=params)
    assert path.read_text() == viz.to_dot(y, params=params) + "\n"
    with pytest.raises(mg.ArgumentError, match=r"render: .*g\.jpg: unknown format 'jpg'"):
        viz.render(y, tmp_path / "g.jpg")


def test_render_without_graphviz_keeps_the_dot_text(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    y, _ = three_ops()
    with pytest.raises(mg.MissingToolError) as info:
        viz.render(y, tmp_path / "g.png")
    message = str(info.value)
    assert message.startswith("render: drawing")
    for words in ("'dot' program", "not on PATH", "apt-get install graphviz",
                  "brew install graphviz", str(tmp_path / "g.dot")):
        assert words in message
    assert isinstance(info.value, FileNotFoundError)
    assert (tmp_path / "g.dot").read_text().startswith("digraph minigan {")
    assert not (tmp_path / "g.png").exists()


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
@pytest.mark.parametrize("suffix, magic", [(".png", b"\x89PNG"), (".svg", b"<?xml")])
def test_render_with_graphviz(tmp_path, suffix, magic):
    y, params = three_ops()
    path = viz.to_dot(y, params=params).render(tmp_path / f"g{suffix}")
    assert path.read_bytes().startswith(magic)
    assert (tmp_path / "g.dot").exists()


def test_docstring_examples():
    assert doctest.testmod(viz, optionflags=doctest.ELLIPSIS).failed == 0
