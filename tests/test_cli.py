"""The ``minigan`` command through a subprocess: train, resume, sample, eval, and bad input
(one-line errors, non-zero exit codes, no tracebacks, checkpoints left intact)."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import minigan as mg
from minigan import backend
from minigan.data import write_idx

TINY = ["--steps", "4", "--batch-size", "4", "--limit", "32", "--sample-every", "2", "--quiet"]


def run(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "minigan.cli", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=120)


def assert_one_line_error(result, *words: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) >= 1 and lines[-1].startswith(("minigan: error:", "minigan ")), result.stderr
    for word in words:
        assert word in result.stderr, (word, result.stderr)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One tiny run shared by the tests below (4 steps on 32 images)."""
    out = tmp_path_factory.mktemp("cli") / "run"
    result = run("train", *TINY[:-1], "--out", str(out))  # with the progress bar
    assert result.returncode == 0, result.stderr
    return out, result


def test_train_writes_everything(trained):
    out, result = trained
    assert "training DCGAN-28 for 4 steps on 32 images" in result.stdout
    assert "done: step 4" in result.stdout
    for name in ("checkpoint.npz", "log.jsonl", "progress.png", "losses.png",
                 "samples/step_000000.png", "samples/step_000002.png", "samples/step_000004.png"):
        assert (out / name).is_file(), name
    assert len((out / "log.jsonl").read_text().splitlines()) == 4


def test_progress_bar_plain_when_not_a_tty(trained):
    _, result = trained
    lines = [line for line in result.stdout.splitlines() if line.startswith("step ")]
    assert lines and "\r" not in result.stdout
    assert all(word in lines[-1] for word in ("step 4/4", "D(x)", "D(G(z))", "step/s", "ETA"))


def test_resume_continues_and_refuses_changed_settings(trained, tmp_path):
    out, _ = trained
    import shutil
    run_dir = tmp_path / "copy"
    shutil.copytree(out, run_dir)
    result = run("train", "--resume", str(run_dir), "--steps", "6", "--quiet")
    assert result.returncode == 0, result.stderr
    assert "resuming" in result.stdout and "at step 4 of 6" in result.stdout
    assert len((run_dir / "log.jsonl").read_text().splitlines()) == 6
    assert_one_line_error(run("train", "--resume", str(run_dir), "--lr", "0.1"), "--lr")


def test_existing_run_is_not_overwritten(trained):
    out, _ = trained
    before = (out / "checkpoint.npz").read_bytes()
    assert_one_line_error(run("train", *TINY, "--out", str(out)), "--resume")
    assert (out / "checkpoint.npz").read_bytes() == before


def test_sample_png_and_npy(trained, tmp_path):
    out, _ = trained
    result = run("sample", "--checkpoint", str(out / "checkpoint.npz"), "--n", "6",
                 "--out", str(tmp_path / "grid.png"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "grid.png").stat().st_size > 0
    result = run("sample", "--checkpoint", str(out), "--n", "5", "--seed", "3",
                 "--out", str(tmp_path / "x.npy"))
    assert result.returncode == 0, result.stderr
    x = np.load(tmp_path / "x.npy")
    assert x.shape == (5, 1, 28, 28) and x.dtype == np.float32 and np.abs(x).max() <= 1
    again = run("sample", "--checkpoint", str(out), "--n", "5", "--seed", "3",
                "--out", str(tmp_path / "y.npy"))
    assert again.returncode == 0
    np.testing.assert_array_equal(x, np.load(tmp_path / "y.npy"))


def test_eval_prints_scores(trained):
    out, _ = trained
    result = run("eval", "--checkpoint", str(out), "--n", "200")
    assert result.returncode == 0, result.stderr
    for word in ("Frechet distance", "confidence", "class coverage"):
        assert word in result.stdout


# ---------------------------------------------------------------------------- bad input


def test_unknown_option_and_command():
    assert_one_line_error(run("train", "--no-such-option"), "unrecognized arguments")
    assert_one_line_error(run("sample"), "--checkpoint")
    assert_one_line_error(run("train", "--steps", "0", "--out", "never"), "--steps")


def test_missing_data_folder(tmp_path):
    assert_one_line_error(run("train", "--data", str(tmp_path / "nope"), "--out", str(tmp_path / "o")),
                          "no such data folder")
    assert not (tmp_path / "o" / "checkpoint.npz").exists()


def test_corrupt_idx_file(tmp_path):
    write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((8, 28, 28), np.uint8))
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(8, np.uint8))
    raw = (tmp_path / "train-images-idx3-ubyte").read_bytes()
    (tmp_path / "train-images-idx3-ubyte").write_bytes(raw[:-100])
    assert_one_line_error(run("train", "--data", str(tmp_path), "--out", str(tmp_path / "o")),
                          "train-images-idx3-ubyte", "size mismatch")


def test_missing_and_foreign_checkpoints(trained, tmp_path):
    out, _ = trained
    for command in (["sample", "--checkpoint"], ["eval", "--checkpoint"], ["train", "--resume"]):
        assert_one_line_error(run(*command, str(tmp_path / "none.npz")), "no such checkpoint")
    mg.save({"kind": "digit-classifier", "model": {}}, tmp_path / "other.npz")
    for command in (["sample", "--checkpoint"], ["eval", "--checkpoint"], ["train", "--resume"]):
        assert_one_line_error(run(*command, str(tmp_path / "other.npz")),
                              "'digit-classifier' checkpoint", "'dcgan28'")
    (tmp_path / "broken.npz").write_bytes(b"PK\x03\x04 truncated")
    assert_one_line_error(run("sample", "--checkpoint", str(tmp_path / "broken.npz")),
                          "not a valid minigan checkpoint")
    assert_one_line_error(run("sample", "--checkpoint", str(out), "--out", str(tmp_path / "x.jpg")),
                          ".png")


@pytest.mark.skipif(backend.cuda_status() is None, reason="CUDA is usable here")
def test_cuda_without_cupy(tmp_path):
    assert_one_line_error(run("train", "--device", "cuda", "--out", str(tmp_path / "o")),
                          "not available", "pip install")
    assert not (tmp_path / "o").exists()


def test_ctrl_c_saves_a_checkpoint(tmp_path):
    """A real SIGINT: the step in progress finishes, a checkpoint is saved, exit code 130."""
    import signal
    import time
    out = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "minigan.cli", "train", "--steps", "1000",
                             "--batch-size", "4", "--limit", "32", "--quiet", "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    log = out / "log.jsonl"
    deadline = time.time() + 90
    while time.time() < deadline and not (log.exists() and log.read_text().count("\n") >= 2):
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=90)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr and "stopped (Ctrl-C) at step" in stdout
    steps = log.read_text().count("\n")
    assert mg.load(out / "checkpoint.npz")["step"] == steps >= 2


def test_train_classifier_command(tmp_path):
    from minigan.models import load_classifier
    out = tmp_path / "clf.npz"
    result = run("train", "classifier", "--epochs", "1", "--limit", "64", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "epoch 1/1" in result.stdout and "held-out accuracy" in result.stdout
    model = load_classifier(out)
    assert model(mg.zeros(2, 1, 28, 28)).shape == (2, 10)
