"""The run loop GAN trainers share (minigan/training/loop.py), through a toy trainer: what a
run writes, exact resume, Ctrl-C (also during a checkpoint's write), the finite-loss check,
and the checkpoint-kind checks."""
from __future__ import annotations

import dataclasses
import os
import signal

import numpy as np
import pytest

import minigan as mg
import minigan.functional as F
from minigan import images, nn
from minigan.training import RunConfig, Trainer, load_checkpoint
from minigan.training.options import check_float
from minigan.training.progress import read_log


@dataclasses.dataclass
class ToyConfig(RunConfig):
    steps: int = 6
    out: str = "runs/toy"
    noise: float = 0.1

    def validate(self) -> "ToyConfig":
        super().validate()
        self.noise = check_float("noise", self.noise, low=0.0)
        return self


class ToyTrainer(Trainer):
    """Fits y = x @ w through a dropout layer: random inputs, random masks, an optimizer."""

    CHECKPOINT_KIND = "toy"
    CONFIG_CLASS = ToyConfig
    BAR_FIELDS = {"loss": "loss"}
    CURVES = {"loss": "loss"}
    TITLE = "toy"

    def __init__(self, config: ToyConfig) -> None:
        super().__init__(config)
        with self.init_random():
            self.model = nn.Sequential(nn.Dropout(0.2), nn.Linear(4, 1))
        self.optimizer = mg.optim.Adam(self.model.parameters(), lr=self.config.lr)
        self.fail_at = None

    def training_step(self) -> dict:
        x = mg.randn(16, 4)
        y = x.sum(1, keepdim=True) + mg.randn(16, 1) * self.config.noise
        loss = F.mse_loss(self.model(x), y)
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        value = loss.item()
        return {"loss": float("nan") if self.step + 1 == self.fail_at else value}

    def sample_grid(self, path):
        w = self.model[1].weight.numpy().reshape(1, 1, 2, 2)
        return images.save_grid(np.tanh(w), path)

    def state_dict(self) -> dict:
        return {**super().state_dict(), "model": self.model.state_dict(),
                "optimizer": self.optimizer.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])


def weights(trainer) -> list:
    return [p.numpy().copy() for p in trainer.model.parameters()]


def temp_files(folder) -> list:
    return [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]


def test_a_run_writes_log_samples_checkpoint_and_pictures(tmp_path):
    out = tmp_path / "run"
    trainer = ToyTrainer(ToyConfig(out=str(out), sample_every=2, checkpoint_every=4))
    summary = trainer.run(progress=False)
    assert summary["steps"] == 6 and not summary["interrupted"]
    assert [r["step"] for r in read_log(out / "log.jsonl")] == [1, 2, 3, 4, 5, 6]
    assert sorted(p.name for p in (out / "samples").iterdir()) == [
        f"step_{s:06d}.png" for s in (0, 2, 4, 6)]
    assert load_checkpoint(out, "toy")["step"] == 6
    assert (out / "progress.png").is_file() and (out / "losses.png").is_file()


def test_resume_is_exact_and_the_process_generator_is_untouched(tmp_path):
    mg.manual_seed(4)
    want = mg.randn(5).numpy()
    mg.manual_seed(4)
    straight = ToyTrainer(ToyConfig(out=str(tmp_path / "a")))
    straight.run(progress=False)
    ToyTrainer(ToyConfig(steps=3, out=str(tmp_path / "b"))).run(progress=False)
    np.testing.assert_array_equal(mg.randn(5).numpy(), want)
    resumed = ToyTrainer.from_checkpoint(tmp_path / "b", steps=6)
    assert resumed.step == 3
    resumed.run(progress=False)
    for a, b in zip(weights(straight), weights(resumed)):
        np.testing.assert_array_equal(a, b)
    assert read_log(tmp_path / "a" / "log.jsonl") != [] and \
        [r["loss"] for r in read_log(tmp_path / "a" / "log.jsonl")] == \
        [r["loss"] for r in read_log(tmp_path / "b" / "log.jsonl")]


def test_from_checkpoint_checks_kind_and_settings(tmp_path):
    ToyTrainer(ToyConfig(steps=1, out=str(tmp_path / "run"))).run(progress=False)
    with pytest.raises(mg.CheckpointError, match="a 'toy' checkpoint; expected a 'dcgan28'"):
        from minigan.training import GANTrainer
        GANTrainer.from_checkpoint(tmp_path / "run")
    with pytest.raises(TypeError, match="cannot change: \\['lr'\\]"):
        ToyTrainer.from_checkpoint(tmp_path / "run", lr=0.1)
    with pytest.raises(mg.ArgumentError, match="--noise: must be >= 0, got -1"):
        ToyConfig(noise=-1.0).validate()


def test_a_loss_that_is_not_finite_stops_and_keeps_the_last_checkpoint(tmp_path):
    out = tmp_path / "run"
    trainer = ToyTrainer(ToyConfig(out=str(out), checkpoint_every=2))
    trainer.fail_at = 3
    with pytest.raises(FloatingPointError, match="step 3: a loss is not finite"):
        trainer.run(progress=False)
    assert load_checkpoint(out, "toy")["step"] == 2


def test_ctrl_c_stops_after_the_step_and_saves(tmp_path):
    trainer = ToyTrainer(ToyConfig(steps=50, out=str(tmp_path / "run")))
    real = trainer.training_step

    def step_then_ctrl_c():
        stats = real()
        if trainer.step == 1:  # the second step: a Ctrl-C arrives during it
            os.kill(os.getpid(), signal.SIGINT)
        return stats
    trainer.training_step = step_then_ctrl_c
    summary = trainer.run(progress=False)
    assert summary["interrupted"] and summary["steps"] == 2
    assert load_checkpoint(tmp_path / "run", "toy")["step"] == 2
    assert (tmp_path / "run" / "progress.png").is_file()


def test_a_second_ctrl_c_during_the_save_does_not_lose_the_checkpoint(tmp_path, monkeypatch):
    """A real SIGINT arrives while the final checkpoint is being written (after a first
    Ctrl-C): the write completes and is renamed into place, no temporary file is left, and
    the run returns (the pictures are skipped) instead of dying half-way."""
    out = tmp_path / "run"
    trainer = ToyTrainer(ToyConfig(steps=50, out=str(out), checkpoint_every=1000))
    real_step, real_savez = trainer.training_step, np.savez

    def step_then_ctrl_c():
        stats = real_step()
        if trainer.step == 2:
            os.kill(os.getpid(), signal.SIGINT)    # the first Ctrl-C: stop after this step
        return stats

    def savez_with_ctrl_c(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGINT)        # the second, in the middle of the write
        return real_savez(*args, **kwargs)
    trainer.training_step = step_then_ctrl_c
    monkeypatch.setattr(np, "savez", savez_with_ctrl_c)
    summary = trainer.run(progress=False)
    assert summary["interrupted"] and summary["steps"] == 3
    assert load_checkpoint(out, "toy")["step"] == 3
    assert temp_files(out) == [] and not (out / "progress.png").exists()


def test_an_interrupt_that_cannot_be_held_leaves_the_old_checkpoint(tmp_path, monkeypatch):
    """A KeyboardInterrupt raised inside the write (as outside the main thread, where SIGINT
    cannot be held): the temporary file is removed and the previous checkpoint stays whole."""
    out = tmp_path / "run"
    trainer = ToyTrainer(ToyConfig(steps=2, out=str(out)))
    trainer.run(progress=False)
    before = (out / "checkpoint.npz").read_bytes()
    trainer.train_step()

    def savez_interrupted(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(np, "savez", savez_interrupted)
    with pytest.raises(KeyboardInterrupt):
        trainer.save(out / "checkpoint.npz")
    assert (out / "checkpoint.npz").read_bytes() == before and temp_files(out) == []


def test_save_holds_a_ctrl_c_until_the_file_is_in_place(tmp_path, monkeypatch):
    """Outside run(), a Ctrl-C during save() is raised once the new checkpoint is complete."""
    trainer = ToyTrainer(ToyConfig(steps=1, out=str(tmp_path)))
    trainer.train_step()
    real_savez = np.savez

    def savez_with_ctrl_c(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGINT)
        return real_savez(*args, **kwargs)
    monkeypatch.setattr(np, "savez", savez_with_ctrl_c)
    with pytest.raises(KeyboardInterrupt):
        trainer.save(tmp_path / "c.npz")
    assert load_checkpoint(tmp_path / "c.npz", "toy")["step"] == 1 and temp_files(tmp_path) == []
