"""GAN diagnostics (minigan/training/diagnostics.py): ``minigan train --diagnostics`` writes
per-layer gradient and weight norms and D's accuracy with the right keys and values,
``minigan plot`` draws them, ``minigan train --profile N`` prints the op table."""
from __future__ import annotations

import math
import shutil
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from minigan import cli
from minigan.training import GANConfig, GANTrainer, diagnostics
from minigan.training.progress import read_log

TINY = ["--steps", "4", "--batch-size", "4", "--limit", "32", "--sample-every", "2", "--quiet"]
G_PARAMS = ["project.0.weight", "project.1.weight", "project.1.bias", "body.0.weight",
            "body.1.weight", "body.1.bias", "body.3.weight", "body.4.weight", "body.4.bias",
            "body.6.weight"]
D_PARAMS = ["body.0.weight", "body.0.bias", "body.3.weight", "body.3.bias", "body.7.weight",
            "body.7.bias"]
NAMES = {f"G.{n}" for n in G_PARAMS} | {f"D.{n}" for n in D_PARAMS}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("diag") / "run"
    assert cli.main(["train", *TINY, "--diagnostics", "--out", str(out)]) == 0
    return out


def test_train_writes_the_records(run_dir):
    records = read_log(run_dir / "diagnostics.jsonl")
    assert [r["step"] for r in records] == [1, 2, 3, 4]
    for r in records:
        assert set(r) == {"step", "d_accuracy_real", "d_accuracy_fake", "grad_norm", "weight_norm"}
        assert set(r["grad_norm"]) == set(r["weight_norm"]) == NAMES
        assert all(0 <= r[k] <= 1 for k in ("d_accuracy_real", "d_accuracy_fake"))
        assert all(math.isfinite(v) and v > 0 for v in r["grad_norm"].values())
        assert all(math.isfinite(v) and v > 0 for v in r["weight_norm"].values())
    # the batch of 4: accuracies are multiples of 1/4
    assert all(r["d_accuracy_real"] * 4 == int(r["d_accuracy_real"] * 4) for r in records)
    for name in ("grad_norms.png", "weight_norms.png", "d_accuracy.png", "losses.png"):
        assert (run_dir / name).is_file(), name


def test_plot_draws_the_pngs(run_dir, capsys):
    for name in ("grad_norms.png", "weight_norms.png", "d_accuracy.png", "losses.png"):
        (run_dir / name).unlink()
    assert cli.main(["plot", str(run_dir)]) == 0
    out = capsys.readouterr().out
    for name in ("progress.png", "losses.png", "grad_norms.png", "weight_norms.png",
                 "d_accuracy.png"):
        assert name in out
        with Image.open(run_dir / name) as picture:
            assert picture.format == "PNG"
    with Image.open(run_dir / "grad_norms.png") as picture:
        assert picture.size == (720, 800)  # G's chart above D's


def test_norms_and_accuracy_are_what_they_say():
    trainer = GANTrainer(GANConfig(batch_size=6, limit=24, ema=0))
    trainer.train_step()
    record = diagnostics.measure(trainer)
    w = trainer.G.project[0].weight
    assert record["grad_norm"]["G.project.0.weight"] == pytest.approx(
        float(np.linalg.norm(w.grad.numpy().astype(np.float64))), rel=1e-5)
    assert record["weight_norm"]["G.project.0.weight"] == pytest.approx(
        float(np.linalg.norm(w.numpy().astype(np.float64))), rel=1e-5)
    real, fake = (t.numpy() for t in trainer.last_logits)
    assert real.shape == fake.shape == (6, 1)
    assert record["d_accuracy_real"] == np.mean(1 / (1 + np.exp(-real)) > 0.5)
    assert record["d_accuracy_fake"] == np.mean(1 / (1 + np.exp(-fake)) < 0.5)
    assert diagnostics._layers({"G.body.1.weight": 3.0, "G.body.1.bias": 4.0, "D.x.w": 1.0},
                               "G") == {"body.1": 5.0}


def test_every_k_steps_on_resume_and_no_stale_records(run_dir, tmp_path):
    out = tmp_path / "run"
    shutil.copytree(run_dir, out)
    assert cli.main(["train", "--resume", str(out), "--steps", "6", "--quiet", "--diagnostics",
                     "--diagnostics-every", "3"]) == 0
    assert [r["step"] for r in read_log(out / "diagnostics.jsonl")] == [1, 2, 3, 4, 6]
    # a new run in a folder without --diagnostics removes an earlier run's records
    fresh = SimpleNamespace(config=SimpleNamespace(out=str(out)), step=0)
    assert diagnostics.for_run(fresh, enabled=False) is None
    assert not (out / "diagnostics.jsonl").exists()


def test_bad_options_and_folders(tmp_path, capsys):
    assert cli.main(["train", *TINY, "--diagnostics", "--diagnostics-every", "0",
                     "--out", str(tmp_path / "o")]) == 2
    assert "--diagnostics-every: must be an int >= 1, got 0" in capsys.readouterr().err
    assert cli.main(["plot", str(tmp_path / "none")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "plot: " in err and "no such run folder" in err
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "log.jsonl").write_text("")
    assert cli.main(["plot", str(tmp_path / "empty")]) == 2
    assert "nothing to plot" in capsys.readouterr().err


def test_train_profile_prints_the_table_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "never"
    assert cli.main(["train", "--profile", "1", "--batch-size", "4", "--limit", "16",
                     "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert text.startswith("profile of 1 DCGAN-28 training step after 1 warm-up (batch 4")
    for op in ("conv_transpose2d", "conv2d", "total"):
        assert f"\n{op} " in text, op
    conv = next(line for line in text.splitlines() if line.startswith("conv2d ")
                and " forward " in line)
    # D's two convs in the D update and in the G update, and the input gradients of G's
    # three transposed convs (a transposed conv's input gradient is a conv)
    assert conv.split()[2] == "7"
    assert not out.exists()
    assert cli.main(["train", "--profile", "0"]) == 2
    assert "--profile: the number of steps must be >= 1" in capsys.readouterr().err
    assert cli.main(["train", "--profile", "1", "--resume", str(out)]) == 2
