"""Every example in examples/ runs in its short mode (``--quick``) and makes what it promises.

Each runs as a user would run it, ``python examples/NN_name.py --quick --out DIR``, in a
subprocess whose working directory is a temporary folder (so nothing lands in the
repository), on this checkout's minigan (PYTHONPATH), and is checked for the numbers it
prints and the files it writes. The subprocesses use one BLAS thread: the short modes'
matrices are tiny, and on a busy machine idle BLAS threads only add their spinning
(08's short mode took 3.8 s of CPU time with OpenBLAS's threads, 1.5 s with one).
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

import minigan as mg

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


def run_example(name: str, *args: str, cwd: Path, timeout: int = 120) -> str:
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", PYTHONPATH=os.pathsep.join(
        [str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    result = subprocess.run([sys.executable, str(EXAMPLES / name), *args], cwd=cwd, env=env,
                            capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{name} failed:\n{result.stdout}\n{result.stderr}"
    assert "Traceback" not in result.stderr
    return result.stdout


def numbers_after(text: str, label: str) -> list[float]:
    """The floats printed on the lines that contain ``label``."""
    return [float(v) for line in text.splitlines() if label in line
            for v in re.findall(r"-?\d+\.\d+(?:e[-+]\d+)?", line)]


def pictures(folder: Path) -> dict[str, tuple[int, int]]:
    found = {}
    for path in sorted(folder.glob("*.png")):
        with Image.open(path) as picture:
            found[path.name] = picture.size
    return found


def test_every_example_is_tested_and_listed():
    """Each examples/NN_*.py has a test here and a line in examples/README.md."""
    listed = (EXAMPLES / "README.md").read_text()
    tests = Path(__file__).read_text()
    for path in sorted(EXAMPLES.glob("[0-9][0-9]_*.py")):
        assert f"`{path.name}`" in listed, f"examples/README.md does not list {path.name}"
        assert f'"{path.name}"' in tests, f"tests/test_examples.py does not run {path.name}"


def test_01_autograd_by_hand(tmp_path):
    out = run_example("01_autograd_by_hand.py", "--quick", "--out", str(tmp_path / "o"),
                      cwd=tmp_path)
    # the comparison tables: one row per gradient, its last column |by hand - minigan|
    rows = {line.split()[0]: float(line.split()[-1]) for line in out.splitlines()
            if line.startswith("dL/d")}
    assert set(rows) == {"dL/dw", "dL/dx", "dL/db", "dL/dW1", "dL/db1", "dL/dW2", "dL/db2"}
    assert max(rows.values()) < 1e-12
    assert "└── " in out and "W1  (3, 5) float64  requires grad" in out  # mg.viz.tree
    assert (tmp_path / "o" / "mlp_graph.dot").read_text().startswith("digraph")
    assert not [p for p in tmp_path.iterdir() if p.name != "o"]  # nothing else written


def test_02_custom_function(tmp_path):
    out = run_example("02_custom_function.py", "--quick", cwd=tmp_path)
    assert "gradcheck (first derivatives, float64):      True" in out
    assert "gradgradcheck (second derivatives, float64): True" in out
    # the planted bug: invisible to a sum, reported by gradcheck
    assert "max |x.grad - sigmoid(x)| = 0.0e+00" in out
    assert re.search(r"GradcheckError: gradcheck: gradient mismatch for input 0 \(shape \(3, 4\)\)"
                     r".*\(12 of 12 entries out of tolerance\)", out)
    assert "returns False instead of raising" in out
    # PyTorch's style
    assert "LinearFunction.apply(x, w, b) matches F.linear: True" in out
    assert "its graph node (the ctx): LinearFunctionBackward" in out
    assert "gradcheck:     True" in out and "gradgradcheck: True" in out
    assert "ctx.needs_input_grad = (True, False, True)" in out
    assert list(tmp_path.iterdir()) == []


def test_03_conv_im2col(tmp_path):
    out = run_example("03_conv_im2col.py", "--quick", cwd=tmp_path)
    assert "output (0,0)                1   2   3   5   6   7   9  10  11" in out
    assert "output (1,1)                6   7   8  10  11  12  14  15  16" in out
    assert re.search(r"cols = im2col\(x\)\s+\(18, 18\)", out)
    assert re.search(r"gx = col2im\(gcols\)\s+\(2, 2, 5, 5\)", out)
    for label in ("max |y - reference.conv2d|", "dL/dx ", "dL/dw ", "dL/db ", "max |gx - it|"):
        values = [abs(v) for v in numbers_after(out, label)]
        assert values and max(values) < 1e-12, label
    left, right = numbers_after(out, "<im2col(x), c>")[0], numbers_after(out, "<x, col2im(c)>")[0]
    assert left == pytest.approx(right, abs=1e-11)


def test_04_batchnorm_backward(tmp_path):
    out = run_example("04_batchnorm_backward.py", "--quick", cwd=tmp_path)
    for label in ("max |y by hand", "the long way - closed form", "by hand - minigan's backward",
                  "minigan - torch", "running_var + eps)|"):
        values = numbers_after(out, label)
        if label == "minigan - torch" and "skipped: PyTorch is not installed" in out:
            continue
        assert values and max(abs(v) for v in values) < 1e-10, label
    assert "mg.gradcheck(batch_norm, [x, w, b]):     True" in out
    assert "mg.gradgradcheck(batch_norm, [x, w, b]): True" in out
    numeric, analytic = numbers_after(out, "dL/dx[0,0,0,0]")[-2:]
    assert numeric == pytest.approx(analytic, abs=1e-6)


def test_05_attention_map(tmp_path):
    out = run_example("05_attention_map.py", "--quick", "--out", str(tmp_path / "o"),
                      cwd=tmp_path)
    assert "40 steps in" in out and "written:" in out
    anti = numbers_after(out, "mean weight on the anti-diagonal")
    assert anti[0] > 0.5 > anti[1]  # after training the anti-diagonal, before a smear
    assert set(pictures(tmp_path / "o")) == {"attention.png", "attention_heads.png"}


def test_06_dcgan_mnist(tmp_path):
    out = run_example("06_dcgan_mnist.py", "--quick", "--out", str(tmp_path / "o"),
                      cwd=tmp_path)
    assert "step     3  D loss" in out
    assert set(pictures(tmp_path / "o")) == {"step_0001.png", "step_0002.png", "step_0003.png"}


def test_06_dcgan_mnist_options(tmp_path):
    out = run_example("06_dcgan_mnist.py", "--steps", "2", "--batch-size", "4",
                      "--sample-every", "1", "--out", str(tmp_path / "ex"), cwd=tmp_path)
    assert "step     2" in out
    assert sorted(pictures(tmp_path / "ex")) == ["step_0001.png", "step_0002.png"]


def test_07_text_to_image(tmp_path):
    out = run_example("07_text_to_image.py", "--quick", "--out", str(tmp_path / "o"),
                      cwd=tmp_path)
    assert "step     3  D" in out and "mode seeking" in out
    assert pictures(tmp_path / "o") == {"step_0003.png": (2 * (8 * 34 + 2), 2 * (6 * 34 + 2))}
    # the classifier's read-back: four attributes and whole captions, each a share in [0, 1]
    scores = numbers_after(out, "whole captions")
    assert len(scores) == 5 and all(0.0 <= v <= 1.0 for v in scores)
    assert not [p for p in tmp_path.iterdir() if p.name != "o"]  # nothing else written


def test_08_gan_collapse(tmp_path):
    out = run_example("08_gan_collapse.py", "--quick", "--out", str(tmp_path / "o"),
                      cwd=tmp_path)
    for name in ("healthy", "strong_d", "vanishing"):
        assert re.search(rf"^  {name}\s+\|\|grad G\|\|\s+\S+ ->\s+\S+\s+D's accuracy", out, re.M)
        run = tmp_path / "o" / name
        assert set(pictures(run)) == {"grad_norms.png", "weight_norms.png", "d_accuracy.png",
                                      "samples.png"}
        lines = (run / "diagnostics.jsonl").read_text().splitlines()
        records = [json.loads(line) for line in lines]
        assert [r["step"] for r in records] == [1, 2, 3]   # the format of minigan train's
        assert {"d_accuracy_real", "d_accuracy_fake", "grad_norm", "weight_norm"} <= set(records[0])
        assert any(k.startswith("G.") for k in records[0]["grad_norm"])
        assert any(k.startswith("D.") for k in records[0]["grad_norm"])
    assert set(pictures(tmp_path / "o")) == {"comparison.png", "samples.png"}
    assert "What to look for" in out


def test_09_article_keras_dcgan(tmp_path):
    out = run_example("09_article_keras_dcgan.py", "--quick", "--out", str(tmp_path / "o"),
                      cwd=tmp_path)
    # Keras's padding='same' at stride 2, refused by Conv2d, done by KerasSamePad
    assert "nn.Conv2d(1, 64, 3, stride=2, padding='same') -> " in out
    assert "padding 0 before and 1 after" in out
    # the model as written: G makes 7x7 images and D refuses them with minigan's error
    assert "G makes images of shape (2, 1, 7, 7)" in out
    assert re.search(r"D\(G\(z\)\) -> \w+Error: linear: input of shape \(2, 512\)", out)
    # the costs: DCGAN-28 first (ratio 1), then the fixes
    table = {m[1]: float(m[2]) for m in re.finditer(
        r"^  (DCGAN-28 \(minigan train\)|article \+ fix '\w+', width [\d.]+).*?(\d+\.\d+)\s+"
        r"\d+\.\d+$", out, re.M)}
    assert len(table) == 4 and min(table.values()) > 0
    assert "step    3  D loss" in out
    assert set(pictures(tmp_path / "o")) == {"samples.png", "progress.png"}


def test_09_keras_same_padding():
    """The example's Keras 'same' rule: output ceil(size / stride), the odd pixel after."""
    import runpy
    example = runpy.run_path(str(EXAMPLES / "09_article_keras_dcgan.py"), run_name="example")
    keras_same, pad = example["keras_same"], example["KerasSamePad"]
    for size in range(1, 30):
        for kernel in (1, 2, 3, 4, 5):
            for stride in (1, 2, 3):
                before, after = keras_same(size, kernel, stride)
                out = (size + before + after - kernel) // stride + 1
                assert out == -(-size // stride) and 0 <= after - before <= 1
    assert keras_same(28, 3, 2) == keras_same(14, 3, 2) == (0, 1)
    assert keras_same(7, 3, 1) == (1, 1)
    x = mg.randn(2, 3, 6, 5)
    assert pad(3, 2)(x).shape == (2, 3, 7, 7)        # H: (0, 1), W: (1, 1)
