"""The ``minigan`` command tried as a new user would, in process (``minigan.cli.main``): every
mistake gets one line on stderr naming the option and the path, exit code 2, no traceback,
and leaves everything that existed as it was; nothing is written into the package."""
from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

import minigan as mg
from minigan import backend
from minigan.cli import build_parser, main
from minigan.models.classifier import WEIGHTS_PATH

TINY = ["--steps", "2", "--batch-size", "4", "--limit", "16", "--sample-every", "1", "--quiet"]


def snapshot(folder: Path) -> dict:
    """Every file and folder under ``folder`` with its bytes (None for a folder)."""
    return {str(p.relative_to(folder)): None if p.is_dir() else p.read_bytes()
            for p in sorted(folder.rglob("*"))}


def fails(capsys, argv: list, *words: str, code: int = 2) -> str:
    """Run the command; it must fail with ``code`` and exactly one stderr line holding
    ``words``. Returns that line."""
    result = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    lines = [line for line in err.splitlines() if line.strip()]
    assert result == code, (result, out, err)
    assert len(lines) == 1 and lines[0].startswith("minigan"), err
    for word in words:
        assert str(word) in lines[0], (word, lines[0])
    return lines[0]


def fails_and_changes_nothing(capsys, folder: Path, argv: list, *words: str) -> str:
    before = snapshot(folder)
    line = fails(capsys, argv, *words)
    assert snapshot(folder) == before
    return line


def unwritable_folder(tmp_path: Path) -> Path:
    """A folder this process cannot create files in (as root: /sys, where even root may not)."""
    if hasattr(os, "geteuid") and os.geteuid() != 0:
        folder = tmp_path / "locked"
        folder.mkdir()
        folder.chmod(0o500)
        return folder
    if Path("/sys").is_dir():
        try:
            (Path("/sys") / "minigan-probe").mkdir()
        except OSError:
            return Path("/sys")
    pytest.skip("no folder here refuses writes")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    """A finished two-step DCGAN-28 run (trained in this process)."""
    out = tmp_path_factory.mktemp("edges") / "run"
    assert main(["train", *TINY, "--out", str(out)]) == 0
    return out


@pytest.fixture
def work(tmp_path, monkeypatch) -> Path:
    """An empty working folder that is also the current directory."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


# ---------------------------------------------------------------------------- train classifier


CLASSIFIER = ["--epochs", "1", "--limit", "32", "--batch-size", "16"]


def test_train_classifier_writes_under_runs_by_default(work, capsys):
    shipped = WEIGHTS_PATH.read_bytes()
    assert main(["train", "classifier", *CLASSIFIER]) == 0
    assert "runs/classifier/classifier.npz" in capsys.readouterr().out
    assert (work / "runs" / "classifier" / "classifier.npz").is_file()
    assert WEIGHTS_PATH.read_bytes() == shipped


@pytest.mark.parametrize("where", ["before", "after"])
def test_train_classifier_out_wherever_it_stands(work, capsys, where):
    out = work / f"clf_{where}.npz"
    argv = (["train", "--out", out, "classifier", *CLASSIFIER] if where == "before" else
            ["train", "classifier", *CLASSIFIER, "--out", out])
    assert main([str(a) for a in argv]) == 0
    assert out.is_file() and not (work / "runs").exists()
    capsys.readouterr()
    # and eval scores with it when asked to
    assert main(["eval", "--checkpoint", str(out.parent / "missing"),
                 "--classifier", str(out)]) == 2


def test_train_classifier_refuses_the_shipped_file_and_existing_ones(work, capsys):
    fails(capsys, ["train", "classifier", *CLASSIFIER, "--out", WEIGHTS_PATH],
          "--out", "inside the minigan package")
    (work / "mine.npz").write_bytes(b"keep me")
    fails_and_changes_nothing(capsys, work, ["train", "classifier", *CLASSIFIER, "--out",
                                             work / "mine.npz"], "--out", "already exists",
                              "--overwrite")
    fails_and_changes_nothing(capsys, work, ["train", "classifier", *CLASSIFIER, "--out", work],
                              "--out", "is a folder")


@pytest.mark.parametrize("args, words", [
    (["--epochs", "0"], ["--epochs", "must be >= 1, got 0"]),
    (["--epochs", "-2"], ["--epochs"]),
    (["--limit", "0"], ["--limit", "must be >= 1"]),
    (["--limit", "100000"], ["--limit", "more than the 4000 training images"]),
    (["--batch-size", "0"], ["--batch-size"]),
    (["--limit", "8", "--batch-size", "16"], ["--batch-size", "more than the 8"]),
    (["--lr", "nan"], ["--lr", "finite"]),
    (["--seed", "-1"], ["--seed", "must be >= 0"]),
])
def test_train_classifier_bad_values(work, capsys, args, words):
    fails_and_changes_nothing(capsys, work, ["train", "classifier", "--out", work / "c.npz", *args],
                              *words)


def test_eval_uses_the_classifier_given(run_dir, tmp_path, capsys):
    clf = tmp_path / "clf.npz"
    assert main(["train", "classifier", *CLASSIFIER, "--out", str(clf)]) == 0
    capsys.readouterr()
    assert main(["eval", "--checkpoint", str(run_dir), "--n", "20", "--classifier", str(clf)]) == 0
    out = capsys.readouterr().out
    assert f"classifier        {clf}" in out and "Frechet distance" in out
    fails(capsys, ["eval", "--checkpoint", run_dir, "--n", "20", "--classifier",
                   tmp_path / "none.npz"], "--classifier", "no such checkpoint")
    fails(capsys, ["eval", "--checkpoint", run_dir, "--n", "20", "--classifier",
                   run_dir / "checkpoint.npz"], "--classifier", "'dcgan28' checkpoint",
          "'digit-classifier'")


# ---------------------------------------------------------------------------- outputs


def test_train_out_naming_a_file_or_below_a_file(work, capsys):
    (work / "afile").write_text("keep")
    fails_and_changes_nothing(capsys, work, ["train", *TINY, "--out", work / "afile"],
                              "--out", "afile", "is a file, not a folder")
    fails_and_changes_nothing(capsys, work, ["train", *TINY, "--out", work / "afile" / "run"],
                              "--out", "afile is a file, not a folder")


def test_train_and_resume_into_an_unwritable_folder(work, run_dir, capsys):
    locked = unwritable_folder(work)
    fails(capsys, ["train", *TINY, "--out", locked / "run"], "--out", str(locked))
    fails(capsys, ["train", "--resume", run_dir, "--steps", "3", "--out", locked / "run"],
          "--out", str(locked))
    assert not (locked / "run").exists()


def test_sample_out_errors(work, run_dir, capsys):
    (work / "afile").write_text("keep")
    (work / "grid.png").mkdir()
    locked = unwritable_folder(work)
    ckpt = ["sample", "--checkpoint", run_dir, "--n", "4"]
    fails_and_changes_nothing(capsys, work, [*ckpt, "--out", work / "afile" / "x.png"],
                              "--out", "afile is a file, not a folder")
    fails_and_changes_nothing(capsys, work, [*ckpt, "--out", work / "grid.png"],
                              "--out", "is a folder")
    fails_and_changes_nothing(capsys, work, [*ckpt, "--out", work / "x.jpg"], "--out", ".png")
    fails(capsys, [*ckpt, "--out", locked / "x.png"], "--out", str(locked))
    fails(capsys, [*ckpt, "--out", Path(mg.__file__).parent / "x.png"], "--out",
          "inside the minigan package")
    fails_and_changes_nothing(capsys, work, ["sample", "--checkpoint", run_dir, "--n", "0",
                                             "--out", work / "x.png"], "--n")
    fails_and_changes_nothing(capsys, work, ["sample", "--checkpoint", run_dir, "--n",
                                             "1000000000", "--out", work / "x.png"], "--n")
    fails_and_changes_nothing(capsys, work, [*ckpt, "--seed", "-1", "--out", work / "x.png"],
                              "--seed")


def test_train_never_writes_into_the_package(capsys):
    fails(capsys, ["train", *TINY, "--out", Path(mg.__file__).parent / "runs"], "--out",
          "inside the minigan package")


# ---------------------------------------------------------------------------- bad values


@pytest.mark.parametrize("args, words", [
    (["--limit", "0"], ["--limit", "must be >= 1, got 0"]),
    (["--limit", "-5"], ["--limit", "must be >= 1, got -5"]),
    (["--limit", "100000"], ["--limit", "more than the 4000 training images"]),
    (["--seed", "-1"], ["--seed", "must be >= 0, got -1"]),
    (["--batch-size", "0"], ["--batch-size", "must be >= 1"]),
    (["--batch-size", "1000000"], ["--batch-size", "more than the 16 training images"]),
    (["--steps", "-1"], ["--steps"]),
    (["--lr", "nan"], ["--lr", "finite"]),
    (["--lr", "inf"], ["--lr", "finite"]),
    (["--lr", "0"], ["--lr", "> 0"]),
    (["--r1", "nan"], ["--r1"]),
    (["--ema", "1"], ["--ema"]),
    (["--sample-every", "0"], ["--sample-every"]),
    (["--steps", "ten"], ["--steps", "invalid int value"]),
])
def test_train_bad_values(work, capsys, args, words):
    argv = ["train", *TINY, "--out", work / "run", *args]
    fails_and_changes_nothing(capsys, work, argv, *words)


def test_data_naming_a_file_or_nothing(work, capsys):
    (work / "mnist.gz").write_bytes(b"\x1f\x8b junk")
    fails_and_changes_nothing(capsys, work, ["train", *TINY, "--data", work / "mnist.gz",
                                             "--out", work / "run"], "--data", "mnist.gz",
                              "is a file, not a folder")
    fails(capsys, ["train", *TINY, "--data", work / "nope", "--out", work / "run"],
          "--data", "no such data folder")


@pytest.mark.skipif(backend.cuda_status() is None, reason="CUDA is usable here")
@pytest.mark.parametrize("command", [
    ["train", *TINY], ["train", "classifier", "--epochs", "1"],
    ["sample", "--checkpoint", "x"], ["eval", "--checkpoint", "x"], ["gradcheck", "--op", "exp"],
])
def test_cuda_without_cupy(work, capsys, command):
    out = [] if command[0] in ("sample", "eval", "gradcheck") else ["--out", work / "o"]
    fails_and_changes_nothing(capsys, work, [*command, "--device", "cuda", *out],
                              "--device", "not available", "pip install")


@pytest.mark.skipif(backend.cuda_status() is None, reason="CUDA is usable here")
def test_resume_on_a_missing_device_names_device(run_dir, capsys):
    before = snapshot(run_dir)
    fails(capsys, ["train", "--resume", run_dir, "--steps", "3", "--device", "cuda"], "--device")
    assert snapshot(run_dir) == before


def test_empty_paths(work, capsys):
    fails_and_changes_nothing(capsys, work, ["train", *TINY, "--out", ""], "--out", "empty")
    fails_and_changes_nothing(capsys, work, ["train", *TINY, "--data", "", "--out", "r"],
                              "--data", "empty")
    fails_and_changes_nothing(capsys, work, ["train", "classifier", "--out", ""], "--out", "empty")


def test_a_log_line_cut_short_by_a_crash_does_not_stop_a_resume(run_dir, tmp_path, capsys):
    copy = tmp_path / "copy"
    shutil.copytree(run_dir, copy)
    with open(copy / "log.jsonl", "a") as log:
        log.write('{"step": 3, "d_lo')      # killed in the middle of a write
    assert main(["train", "--resume", str(copy), "--steps", "3", "--quiet"]) == 0
    from minigan.training.progress import read_log
    assert [r["step"] for r in read_log(copy / "log.jsonl")] == [1, 2, 3]


def test_usage_errors_are_one_line(capsys):
    fails(capsys, ["train", "--no-such-option"], "unrecognized arguments", "--help")
    fails(capsys, ["sample"], "--checkpoint")
    fails(capsys, ["train", "nosuchmodel"], "invalid choice")
    fails(capsys, ["gradcheck", "--op", "no_such_op*"], "--op", "no op matches")
    fails(capsys, ["bench", "--threads", "0"], "--threads")
    fails(capsys, ["gradcheck", "--op", "exp", "--seed", "-5"], "--seed")


# ---------------------------------------------------------------------------- checkpoints, resume


def test_resuming_a_finished_run_has_nothing_to_do(run_dir, capsys):
    before = snapshot(run_dir)
    assert main(["train", "--resume", str(run_dir)]) == 0
    assert "nothing to do" in capsys.readouterr().out
    assert main(["train", "--resume", str(run_dir), "--steps", "2"]) == 0
    capsys.readouterr()
    fails(capsys, ["train", "--resume", run_dir, "--steps", "1"], "--steps", "below the step")
    assert snapshot(run_dir) == before


def test_resume_into_another_run_is_refused(run_dir, tmp_path, capsys):
    other = tmp_path / "other"
    shutil.copytree(run_dir, other)
    fails_and_changes_nothing(capsys, tmp_path, ["train", "--resume", run_dir, "--steps", "3",
                                                 "--out", other], "--out", "another run")


def test_resume_into_another_folder_carries_the_history(run_dir, tmp_path, capsys):
    before = snapshot(run_dir)
    fork = tmp_path / "fork"
    assert main(["train", "--resume", str(run_dir), "--steps", "3", "--out", str(fork),
                 "--quiet"]) == 0
    from minigan.training.progress import read_log
    assert [r["step"] for r in read_log(fork / "log.jsonl")] == [1, 2, 3]
    assert (fork / "samples" / "step_000001.png").is_file()
    assert (fork / "samples" / "step_000003.png").is_file()
    assert snapshot(run_dir) == before


def test_text_and_broken_files_as_checkpoints(work, run_dir, capsys):
    (work / "notes.txt").write_text("these are my notes\n")
    for command in (["sample", "--checkpoint"], ["eval", "--checkpoint"], ["train", "--resume"]):
        line = fails_and_changes_nothing(capsys, work, [*command, work / "notes.txt"],
                                         "notes.txt", "a text file", "not an .npz archive")
        assert "pickle" not in line
    mg.save({"kind": "dcgan28", "step": 3}, work / "empty.npz")   # the right kind, no weights
    for command in (["sample", "--checkpoint"], ["eval", "--checkpoint"], ["train", "--resume"]):
        fails_and_changes_nothing(capsys, work, [*command, work / "empty.npz"], "empty.npz",
                                  "'dcgan28' checkpoint")
    fails_and_changes_nothing(capsys, work, ["sample", "--checkpoint", work], "--checkpoint",
                              "no such checkpoint")


def test_checkpoint_error_is_one_class(tmp_path, run_dir):
    """``except mg.CheckpointError`` catches every refused checkpoint, wherever it is raised."""
    from minigan.cli import load_generator
    from minigan.models import load_classifier
    from minigan.training import GANTrainer, load_checkpoint
    from minigan.training import CheckpointError as training_error
    from minigan.serialization import CheckpointError as serialization_error
    assert training_error is serialization_error is mg.CheckpointError
    (tmp_path / "text.npz").write_text("hello")
    mg.save({"kind": "other"}, tmp_path / "other.npz")
    calls = [lambda p: mg.load(p), lambda p: load_checkpoint(p, "dcgan28"),
             lambda p: GANTrainer.from_checkpoint(p), lambda p: load_classifier(p),
             lambda p: load_generator(str(p), "cpu")]
    for call in calls:
        for path in (tmp_path / "text.npz", tmp_path / "other.npz", tmp_path):
            if call is calls[0] and path.name == "other.npz":
                continue  # a valid minigan file: mg.load reads it
            with pytest.raises(mg.CheckpointError):
                call(path)


# ---------------------------------------------------------------------------- help


def _parsers(parser: argparse.ArgumentParser):
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                yield from _parsers(child)


def test_every_help_text_is_a_sentence():
    for parser in _parsers(build_parser()):
        texts = [a.help for a in parser._actions if a.help and a.help != argparse.SUPPRESS]
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                texts += [a.help for a in action._choices_actions]
        texts.append(parser.description)
        for text in texts:
            assert text and text[0].isupper() and text.rstrip().endswith("."), \
                f"{parser.prog}: {text!r}"


def test_help_prints_and_exits_zero(capsys):
    assert main(["--help"]) == 0
    assert "Train DCGAN-28" in capsys.readouterr().out
    assert main(["train", "classifier", "--help"]) == 0
    assert "--epochs" in capsys.readouterr().out


# ---------------------------------------------------------------------------- the package


def test_no_command_in_this_file_wrote_into_the_package():
    assert sys.modules["minigan"].__file__ and WEIGHTS_PATH.is_file()
    root = Path(mg.__file__).parent
    assert not list(root.rglob("*.png")) and not (root / "runs").exists()
    assert np.load(WEIGHTS_PATH, allow_pickle=False) is not None
