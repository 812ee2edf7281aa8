"""``minigan train text2img``, ``minigan sample --prompt`` and ``minigan eval`` on a text-to-image
checkpoint, in process (``minigan.cli.main``), with tiny widths: a few-step run, exact resume
across stage 1 -> 2, every sampling mode, the attribute table, wrong-kind checkpoints both
ways, unknown words and empty prompts, ``--quick``."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

import minigan as mg
from minigan.cli import (build_parser, config_from_args, main, model_first, text2img_args)
from minigan.training.text2img import (QUICK_SETTINGS, Text2ImgConfig, Text2ImgTrainer,
                                       truncated_normal)

TINY = ["--batch-size", "4", "--z-dim", "4", "--text-dim", "8", "--text-layers", "1",
        "--text-heads", "2", "--text-ff", "16", "--ngf", "4", "--ndf", "4", "--d-features",
        "16", "--ema", "0.9", "--ema-bn-batches", "1", "--quiet"]
RED = "a large red circle in the top left"


def ok(capsys, argv: list) -> tuple[str, str]:
    """Run the command; it must succeed. Returns (stdout, stderr)."""
    result = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert result == 0, (result, out, err)
    return out, err


def fails(capsys, argv: list, *words: str) -> str:
    """Run the command; exit code 2 and exactly one stderr line holding ``words``."""
    result = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    lines = [line for line in err.splitlines() if line.strip()]
    assert result == 2, (result, out, err)
    assert len(lines) == 1 and lines[0].startswith("minigan: error:"), err
    for word in words:
        assert str(word) in lines[0], (word, lines[0])
    return lines[0]


def flat(node, prefix: str = "") -> dict:
    """A checkpoint's entries as {dotted name: array or value}."""
    found = {}
    if isinstance(node, dict):
        for k, v in node.items():
            found.update(flat(v, f"{prefix}.{k}"))
    elif isinstance(node, (list, tuple)):
        for i, v in enumerate(node):
            found.update(flat(v, f"{prefix}.{i}"))
    elif isinstance(node, mg.Tensor):
        found[prefix] = node.numpy()
    else:
        found[prefix] = node
    return found


def assert_same_checkpoint(a: Path, b: Path, skip: tuple = ("config",)) -> None:
    sa, sb = flat(mg.load(a)), flat(mg.load(b))
    assert sa.keys() == sb.keys()
    for key in sa:
        if key.lstrip(".") in skip:
            continue
        if isinstance(sa[key], np.ndarray):
            np.testing.assert_array_equal(sa[key], sb[key], err_msg=key)
        else:
            assert sa[key] == sb[key], key


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    """A finished 4-step run: 2 unconditional steps, 2 with text, cross-attention on."""
    out = tmp_path_factory.mktemp("t2i") / "run"
    assert main(["train", "text2img", *TINY, "--steps", "4", "--pretrain-steps", "2",
                 "--cross-attention", "--sample-every", "2", "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def dcgan(tmp_path_factory) -> Path:
    """A finished two-step DCGAN-28 run."""
    out = tmp_path_factory.mktemp("dcgan") / "run"
    assert main(["train", "--steps", "2", "--batch-size", "4", "--limit", "16", "--quiet",
                 "--out", str(out)]) == 0
    return out


# ---------------------------------------------------------------------------- train


def test_train_writes_a_run_with_captioned_grids(run):
    for name in ("checkpoint.npz", "log.jsonl", "progress.png", "losses.png",
                 "samples/step_000000.png", "samples/step_000002.png", "samples/step_000004.png"):
        assert (run / name).is_file(), name
    records = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [1, 2, 3, 4]
    assert [r["stage"] for r in records] == [1, 1, 2, 2]
    assert "d_wrong" in records[-1] and "d_wrong" not in records[0]
    from PIL import Image
    grid = Image.open(run / "samples" / "step_000004.png")
    assert grid.mode == "RGB" and grid.height > 12 * 64     # 12 prompts, rows of 64 px
    assert Image.open(run / "progress.png").mode == "RGB"
    state = mg.load(run / "checkpoint.npz")
    assert state["kind"] == "text2img" and int(state["step"]) == 4
    assert json.loads(state["config"])["out"] == str(run)


def stop_after(monkeypatch, step: int) -> None:
    """The next run stops (as after a Ctrl-C: checkpoint, pictures, exit 130) after ``step``."""
    original = Text2ImgTrainer.training_step

    def training_step(self):
        stats = original(self)
        if self.step + 1 == step:
            self._stop = True
        return stats
    monkeypatch.setattr(Text2ImgTrainer, "training_step", training_step)


def test_resume_is_exact_across_the_two_stages(tmp_path, capsys, monkeypatch):
    args = [*TINY, "--steps", "5", "--pretrain-steps", "2", "--cross-attention", "--magp",
            "0.1", "--text-encoder", "separate", "--mapping", "1", "--sample-every", "5",
            "--checkpoint-every", "100"]
    ok(capsys, ["train", "text2img", *args, "--out", tmp_path / "straight"])
    parts = tmp_path / "parts"
    with monkeypatch.context() as m:                # stopped in stage 1, after step 1
        stop_after(m, 1)
        assert main([str(a) for a in ["train", "text2img", *args, "--out", parts]]) == 130
    assert mg.load(parts / "checkpoint.npz")["step"] == 1
    with monkeypatch.context() as m:                # resumed across the boundary, to step 3
        stop_after(m, 3)
        assert main([str(a) for a in ["train", "text2img", "--resume", parts]]) == 130
    out, _ = capsys.readouterr()
    assert "resuming" in out and "at step 1 of 5" in out and "stopped (Ctrl-C) at step 3" in out
    ok(capsys, ["train", "text2img", "--resume", parts, "--quiet"])
    assert_same_checkpoint(tmp_path / "straight" / "checkpoint.npz",
                           tmp_path / "parts" / "checkpoint.npz")
    strip = lambda p: [{k: v for k, v in json.loads(line).items() if k != "steps_per_s"}  # noqa
                       for line in (p / "log.jsonl").read_text().splitlines()]
    assert strip(tmp_path / "straight") == strip(tmp_path / "parts")
    # a finished run: nothing to do, exit 0; settings of the run cannot change
    out, _ = ok(capsys, ["train", "text2img", "--resume", parts])
    assert "is finished" in out
    fails(capsys, ["train", "text2img", "--resume", parts, "--steps", "9", "--ngf", "8"],
          "--resume continues a run with its own settings", "--ngf")


def test_new_run_rules(tmp_path, capsys, run):
    fails(capsys, ["train", "text2img", *TINY, "--steps", "2", "--out", run],
          "--out", "already holds a run", "--resume", "--overwrite")
    fails(capsys, ["train", "text2img", *TINY[2:], "--batch-size", "5", "--out", tmp_path / "a"],
          "--batch-size: must be even")
    fails(capsys, ["train", "text2img", *TINY, "--pretrain-steps", "9", "--steps", "4",
                   "--out", tmp_path / "b"], "--pretrain-steps")
    fails(capsys, ["train", "text2img", *TINY, "--lr", "1e-3", "--lr-g", "1e-3",
                   "--out", tmp_path / "c"], "--lr", "--lr-g")
    fails(capsys, ["train", "text2img", "--quick", "--resume", run], "--quick", "--resume")
    fails(capsys, ["train", "text2img", *TINY, "--out", Path(mg.__file__).parent / "runs"],
          "--out", "inside the minigan package")
    assert not list(tmp_path.iterdir())


def test_lr_sets_both_networks():
    config = Text2ImgConfig(lr=5e-4).validate()
    assert config.lr_g == config.lr_d == 5e-4
    assert Text2ImgConfig().validate().lr_g == 1e-3
    again = Text2ImgConfig.from_json(config.to_json())
    assert again.validate() == config


def test_quick_is_a_short_run_whose_settings_yield_to_options(capsys):
    parser = build_parser()

    def config(*argv):
        args = parser.parse_args(model_first(parser, ["train", "text2img", *argv]))
        return config_from_args(Text2ImgConfig, text2img_args(args))
    quick = config("--quick")
    for name, value in QUICK_SETTINGS.items():
        assert getattr(quick, name) == value, name
    assert quick.steps < Text2ImgConfig().steps and quick.out != Text2ImgConfig().out
    changed = config("--quick", "--steps", "7", "--ngf", "8")
    assert (changed.steps, changed.ngf, changed.lr_g) == (7, 8, Text2ImgConfig().lr_g)
    assert config("--quick", "--lr", "5e-4").lr_d == 5e-4         # --lr: both networks
    one = config("--quick", "--lr-g", "3e-4")
    assert (one.lr_g, one.lr_d) == (3e-4, Text2ImgConfig().lr_d)
    assert config("--lr-decay-start", "0.25").lr_decay_start == 0.25
    plain = config()
    assert (plain.steps, plain.out) == (Text2ImgConfig().steps, "runs/text2img")
    assert main(["train", "text2img", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "--quick" in text and "minutes on 2 CPU cores" in text and "measured" in text


# ---------------------------------------------------------------------------- sample


def test_sample_prompt_png_and_npy(run, tmp_path, capsys):
    out, _ = ok(capsys, ["sample", "--checkpoint", run, "--prompt", RED, "--n", "16",
                         "--out", tmp_path / "x.png"])
    assert "16 samples of" in out and (tmp_path / "x.png").is_file()
    ok(capsys, ["sample", "--checkpoint", run / "checkpoint.npz", "--prompt", RED, "--n", "5",
                "--seed", "3", "--out", tmp_path / "x.npy"])
    images = np.load(tmp_path / "x.npy")
    assert images.shape == (5, 3, 32, 32) and images.dtype == np.float32
    assert -1 <= images.min() and images.max() <= 1
    trainer = Text2ImgTrainer.from_checkpoint(run)
    expected = trainer.sample([RED] * 5, trainer.noise(5, seed=3)).numpy()
    np.testing.assert_allclose(images, expected, atol=1e-6)


def test_sample_prompts_file_in_order_with_fixed_noise(run, tmp_path, capsys):
    prompts = ["a red circle", "", "a large blue square in the top left", "a green triangle"]
    (tmp_path / "p.txt").write_text("\n".join(prompts) + "\n")
    for name, seed in (("a", 1), ("b", 1), ("c", 2)):
        ok(capsys, ["sample", "--checkpoint", run, "--prompts", tmp_path / "p.txt", "--seed",
                    seed, "--out", tmp_path / f"{name}.npy"])
    a, b, c = (np.load(tmp_path / f"{n}.npy") for n in "abc")
    assert a.shape == (3, 3, 32, 32)          # blank lines are skipped
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    trainer = Text2ImgTrainer.from_checkpoint(run)
    kept = [p for p in prompts if p]
    np.testing.assert_allclose(a, trainer.sample(kept, trainer.noise(3, seed=1)).numpy(),
                               atol=1e-6)
    ok(capsys, ["sample", "--checkpoint", run, "--prompts", tmp_path / "p.txt",
                "--out", tmp_path / "p.png"])
    fails(capsys, ["sample", "--checkpoint", run, "--prompts", tmp_path / "p.txt", "--n", "4",
                   "--out", tmp_path / "q.png"], "--n", "one image per caption")
    (tmp_path / "empty.txt").write_text("\n \n")
    fails(capsys, ["sample", "--checkpoint", run, "--prompts", tmp_path / "empty.txt",
                   "--out", tmp_path / "q.png"], "--prompts", "holds no caption")
    fails(capsys, ["sample", "--checkpoint", run, "--prompts", tmp_path / "none.txt",
                   "--out", tmp_path / "q.png"], "--prompts", "none.txt")
    assert not (tmp_path / "q.png").exists()


@pytest.mark.parametrize("end", ["a large blue square in the top left",   # another length
                                 "a blue square"])                         # the same length
def test_sample_interpolate(run, tmp_path, capsys, end):
    start = "a red circle"
    ok(capsys, ["sample", "--checkpoint", run, "--interpolate", start, end, "--steps", "5",
                "--seed", "4", "--out", tmp_path / "i.npy"])
    row = np.load(tmp_path / "i.npy")
    assert row.shape == (5, 3, 32, 32) and row.dtype == np.float32
    trainer = Text2ImgTrainer.from_checkpoint(run)
    z = trainer.noise(1, seed=4)
    for i, prompt in ((0, start), (4, end)):         # the ends are the two captions' images
        np.testing.assert_allclose(row[i], trainer.sample([prompt], z).numpy()[0], atol=1e-5)
    assert not np.allclose(row[1], row[0], atol=1e-6)
    ok(capsys, ["sample", "--checkpoint", run, "--interpolate", start, end,
                "--out", tmp_path / "i.png"])
    fails(capsys, ["sample", "--checkpoint", run, "--interpolate", start, end, "--steps", "1",
                   "--out", tmp_path / "j.png"], "--steps", "at least 2")
    fails(capsys, ["sample", "--checkpoint", run, "--prompt", start, "--steps", "4",
                   "--out", tmp_path / "j.png"], "--steps", "--interpolate")


def test_sample_truncation(run, tmp_path, capsys):
    z = truncated_normal(np.random.default_rng(0), (1000, 4), 0.5)
    assert np.abs(z).max() <= 0.5 and z.std() > 0.2
    np.testing.assert_array_equal(truncated_normal(np.random.default_rng(0), (3, 4)),
                                  np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32))
    for name, extra in (("plain", []), ("cut", ["--truncation", "0.5"])):
        out, _ = ok(capsys, ["sample", "--checkpoint", run, "--prompt", RED, "--n", "4", *extra,
                             "--out", tmp_path / f"{name}.npy"])
    assert "truncated at 0.5" in out
    assert not np.allclose(np.load(tmp_path / "plain.npy"), np.load(tmp_path / "cut.npy"))
    fails(capsys, ["sample", "--checkpoint", run, "--prompt", RED, "--truncation", "0",
                   "--out", tmp_path / "x.png"], "--truncation", "must be > 0")


def test_unknown_words_warn_and_empty_prompts_fail(run, tmp_path, capsys):
    _, err = ok(capsys, ["sample", "--checkpoint", run, "--prompt", "a purple circle", "--n",
                         "600", "--out", tmp_path / "w.npy"])     # two chunks: one warning
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("minigan: warning:") and "'purple'" in lines[0]
    fails(capsys, ["sample", "--checkpoint", run, "--prompt", "", "--out", tmp_path / "e.png"],
          "--prompt", "no words")
    fails(capsys, ["sample", "--checkpoint", run, "--prompt", "?!", "--out", tmp_path / "e.png"],
          "--prompt", "no words")
    fails(capsys, ["sample", "--checkpoint", run, "--prompt", "purple blob",
                   "--out", tmp_path / "e.png"], "--prompt", "none of its words is known")
    assert not (tmp_path / "e.png").exists()


# ---------------------------------------------------------------------------- wrong kinds


def test_wrong_kind_checkpoints_both_ways(run, dcgan, tmp_path, capsys):
    for text in (["--prompt", RED], ["--interpolate", "a circle", "a square"]):
        fails(capsys, ["sample", "--checkpoint", dcgan, *text, "--out", tmp_path / "x.png"],
              str(dcgan), "'dcgan28'", "'text2img'")
    fails(capsys, ["sample", "--checkpoint", run, "--out", tmp_path / "x.png"],
          str(run), "'text2img'", "'dcgan28'", "--prompt")
    fails(capsys, ["train", "text2img", "--resume", dcgan, "--steps", "9"],
          "--resume", str(dcgan), "'dcgan28'", "'text2img'", "minigan train --resume")
    fails(capsys, ["train", "--resume", run, "--steps", "9"],
          "--resume", str(run), "'text2img'", "'dcgan28'", "minigan train text2img --resume")
    assert not (tmp_path / "x.png").exists()
    # a DCGAN-28 checkpoint still samples and truncates as before
    ok(capsys, ["sample", "--checkpoint", dcgan, "--n", "3", "--truncation", "1",
                "--out", tmp_path / "d.npy"])
    assert np.load(tmp_path / "d.npy").shape == (3, 1, 28, 28)
    with pytest.raises(mg.CheckpointError, match="'dcgan28' checkpoint; expected a 'text2img'"):
        Text2ImgTrainer.from_checkpoint(dcgan)


# ---------------------------------------------------------------------------- eval


def test_eval_prints_the_attribute_table(run, capsys):
    out, _ = ok(capsys, ["eval", "--checkpoint", run, "--n", "12"])
    for words in ("step 4 of 4", "(shipped)", "shape", "color", "size", "position", "caption",
                  "seen combinations", "held-out pairs", "diversity ratio", "variety",
                  "a circle", "objects", "position unstated", "real renders", "several",
                  "pure colour"):
        assert words in out, words
    out, _ = ok(capsys, ["eval", "--checkpoint", run, "--n", "12", "--json"])
    scores = json.loads(out)
    assert scores["kind"] == "text2img" and scores["step"] == 4
    assert set(scores["seen"]) == {"shape", "color", "size", "position", "caption"}
    assert 0 <= scores["heldout"]["caption"] <= 1 and scores["diversity"] >= 0
    assert "a circle" in scores["variety"] and "a circle" in scores["variety_real"]
    assert set(scores["objects"]) == {"seen", "position open", "heldout", "real"}
    assert scores["objects"]["real"]["one"] == 1.0


def test_eval_classifier_option_and_dcgan_json(run, dcgan, tmp_path, capsys):
    fails(capsys, ["eval", "--checkpoint", run, "--n", "12", "--classifier",
                   tmp_path / "none.npz"], "--classifier", "no such checkpoint")
    out, _ = ok(capsys, ["eval", "--checkpoint", dcgan, "--n", "20", "--json"])
    assert json.loads(out)["kind"] == "dcgan28"


def test_train_attributes_writes_where_told(tmp_path, capsys, monkeypatch):
    from minigan.models.attributes import WEIGHTS_PATH
    shipped = WEIGHTS_PATH.read_bytes()
    out, _ = ok(capsys, ["train", "attributes", "--steps", "2", "--batch-size", "8",
                         "--out", tmp_path / "attr.npz"])
    assert (tmp_path / "attr.npz").is_file() and "accuracy on fresh renders" in out
    assert WEIGHTS_PATH.read_bytes() == shipped
    fails(capsys, ["train", "attributes", "--steps", "2", "--out", tmp_path / "attr.npz"],
          "--out", "already exists")
    fails(capsys, ["train", "attributes", "--out", WEIGHTS_PATH], "--out", "inside the minigan")
    fails(capsys, ["train", "attributes", "--steps", "0", "--out", tmp_path / "b.npz"],
          "--steps", ">= 1")
    parser = build_parser()
    args = parser.parse_args(["train", "attributes"])
    assert Path(args.out).parts[0] == "runs"


@pytest.mark.slow
def test_eval_scores_with_a_retrained_classifier(run, tmp_path, capsys):
    ok(capsys, ["train", "attributes", "--steps", "2", "--batch-size", "8",
                "--out", tmp_path / "attr.npz"])
    out, _ = ok(capsys, ["eval", "--checkpoint", run, "--n", "12", "--classifier",
                         tmp_path / "attr.npz"])
    assert f"classifier  {tmp_path / 'attr.npz'}" in out


def test_a_run_moved_elsewhere_still_resumes(run, tmp_path, capsys):
    moved = tmp_path / "moved"
    shutil.copytree(run, moved)
    out, _ = ok(capsys, ["train", "text2img", "--resume", moved, "--steps", "5"])
    assert "at step 4 of 5" in out
    assert mg.load(moved / "checkpoint.npz")["step"] == 5


def test_plot_redraws_a_text2img_run_with_its_curves(run, tmp_path, capsys, monkeypatch):
    moved = tmp_path / "copy"
    shutil.copytree(run, moved)
    (moved / "losses.png").unlink()
    drawn = []
    original = Text2ImgTrainer.write_summary_pictures.__func__
    monkeypatch.setattr(Text2ImgTrainer, "write_summary_pictures",
                        classmethod(lambda cls, out: drawn.append(out) or original(cls, out)))
    out, _ = ok(capsys, ["plot", moved])
    assert drawn == [moved] and (moved / "losses.png").is_file() and "losses.png" in out


def test_digits_train_and_sample_but_eval_says_it_scores_shapes(tmp_path, capsys):
    ok(capsys, ["train", "text2img", *TINY, "--data", "digits", "--steps", "1",
                "--out", tmp_path / "digits"])
    ok(capsys, ["sample", "--checkpoint", tmp_path / "digits", "--prompt", "the digit seven",
                "--n", "2", "--out", tmp_path / "seven.npy"])
    assert np.load(tmp_path / "seven.npy").shape == (2, 3, 32, 32)
    fails(capsys, ["eval", "--checkpoint", tmp_path / "digits"], "'digits'", "'shapes'")
