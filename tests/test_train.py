"""DCGAN-28 and its trainer: the architecture, a short end-to-end run, exact resume, R1,
EMA, Ctrl-C, checkpoints, and the evaluator's pieces."""
from __future__ import annotations

import json

import numpy as np
import pytest

import minigan as mg
from minigan.data import load_mnist
from minigan.metrics import class_coverage, frechet_distance
from minigan.models import Discriminator, Generator
from minigan.training import CheckpointError, GANConfig, GANTrainer, load_checkpoint
from minigan.training.progress import read_log

TINY = dict(batch_size=4, limit=48, sample_every=3, checkpoint_every=3, n_samples=8)


def params(module) -> dict:
    return {k: v.numpy().copy() for k, v in module.state_dict().items()}


def leaves(tree) -> list:
    """The numbers and arrays of a nested state dict, in order."""
    if isinstance(tree, dict):
        return [x for v in tree.values() for x in leaves(v)]
    if isinstance(tree, (list, tuple)):
        return [x for v in tree for x in leaves(v)]
    return [np.asarray(getattr(tree, "data", tree)).copy()] if tree is not None else []


# ---------------------------------------------------------------------------- models


def test_dcgan_shapes_and_init():
    G, D = Generator(), Discriminator()
    z = mg.randn(3, 100)
    x = G(z)
    assert x.shape == (3, 1, 28, 28) and float(x.abs().max().item()) <= 1.0
    assert D(x).shape == (3, 1)
    n_g = sum(p.numel() for p in G.parameters())
    n_d = sum(p.numel() for p in D.parameters())
    assert n_g == 100 * 12544 + 2 * 12544 + 256 * 128 * 25 + 2 * 128 + 128 * 64 * 25 + 2 * 64 + 64 * 25
    assert n_d == 64 * 25 + 64 + 128 * 64 * 25 + 128 + 6272 + 1
    sd = G.state_dict()
    w = sd["body.0.weight"].numpy()
    assert w.shape == (256, 128, 5, 5) and abs(w.std() - 0.02) < 0.001 and abs(w.mean()) < 0.001
    bn = sd["project.1.weight"].numpy()
    assert abs(bn.mean() - 1) < 0.001 and abs(bn.std() - 0.02) < 0.002
    assert not sd["project.1.bias"].numpy().any()
    assert not D.state_dict()["body.7.bias"].numpy().any()
    with pytest.raises(ValueError, match=r"Generator: expected z of shape \(N, 100\)"):
        G(mg.randn(2, 10))
    with pytest.raises(ValueError, match=r"Discriminator: expected images"):
        D(mg.randn(2, 1, 32, 32))


def test_dcgan_matches_torch_forward(torch):
    """The same weights give the same outputs in PyTorch (the layout is PyTorch's)."""
    tnn = torch.nn
    tg = tnn.Sequential(tnn.Linear(100, 12544, bias=False), tnn.BatchNorm1d(12544), tnn.LeakyReLU(0.2),
                        tnn.Unflatten(1, (256, 7, 7)),
                        tnn.ConvTranspose2d(256, 128, 5, 1, 2, bias=False), tnn.BatchNorm2d(128),
                        tnn.LeakyReLU(0.2),
                        tnn.ConvTranspose2d(128, 64, 5, 2, 2, output_padding=1, bias=False),
                        tnn.BatchNorm2d(64), tnn.LeakyReLU(0.2),
                        tnn.ConvTranspose2d(64, 1, 5, 2, 2, output_padding=1, bias=False), tnn.Tanh())
    G = Generator()
    ours = [v for k, v in G.state_dict().items()]
    theirs = list(tg.state_dict().values())
    assert [tuple(t.shape) for t in theirs] == [v.shape for v in ours]
    with torch.no_grad():
        for t, v in zip(theirs, ours):
            t.copy_(torch.from_numpy(v.numpy().copy()))
    z = np.random.default_rng(0).standard_normal((4, 100)).astype(np.float32)
    tg.train()
    want = tg(torch.from_numpy(z)).detach().numpy()
    got = G(mg.tensor(z)).numpy()
    np.testing.assert_allclose(got, want, atol=2e-5)


# ---------------------------------------------------------------------------- training


def test_end_to_end_short_run(tmp_path):
    cfg = GANConfig(steps=7, out=str(tmp_path / "run"), **TINY)
    summary = GANTrainer(cfg).run(progress=False)
    out = tmp_path / "run"
    assert summary["steps"] == 7 and not summary["interrupted"]
    log = read_log(out / "log.jsonl")
    assert [r["step"] for r in log] == list(range(1, 8))
    for r in log:
        assert all(np.isfinite(r[k]) for k in ("d_loss", "g_loss", "d_real", "d_fake"))
        assert 0 < r["d_real"] < 1 and 0 < r["d_fake"] < 1
    assert sorted(p.name for p in (out / "samples").iterdir()) == [
        "step_000000.png", "step_000003.png", "step_000006.png", "step_000007.png"]
    for name in ("checkpoint.npz", "progress.png", "losses.png"):
        assert (out / name).stat().st_size > 0
    state = load_checkpoint(out / "checkpoint.npz", "dcgan28")
    assert state["step"] == 7 and json.loads(state["config"])["batch_size"] == 4


def test_training_changes_weights_and_losses_move():
    trainer = GANTrainer(GANConfig(steps=3, out="unused", **TINY))
    g0, d0 = params(trainer.G), params(trainer.D)
    stats = [trainer.train_step() for _ in range(3)]
    g1, d1 = params(trainer.G), params(trainer.D)
    assert all(not np.array_equal(g0[k], g1[k]) for k in g0 if "running" not in k and "num_batches" not in k)
    assert all(not np.array_equal(d0[k], d1[k]) for k in d0)
    assert len({s["d_loss"] for s in stats}) == 3


@pytest.mark.parametrize("total", [4, pytest.param(40, marks=pytest.mark.slow)])
def test_resume_is_exact(tmp_path, total):
    """``total`` steps straight == total/2 steps, a checkpoint, a fresh trainer, total/2 more
    (4 in the default run; the issue's 40 = 20 + 20 with -m slow)."""
    cfg = dict(TINY, sample_every=100, checkpoint_every=100)
    straight = GANTrainer(GANConfig(steps=total, out=str(tmp_path / "a"), **cfg))
    straight.run(progress=False)
    first = GANTrainer(GANConfig(steps=total // 2, out=str(tmp_path / "b"), **cfg))
    first.run(progress=False)
    mg.manual_seed(12345)  # whatever the global generator holds, resume must not depend on it
    second = GANTrainer.from_checkpoint(tmp_path / "b" / "checkpoint.npz", steps=total)
    assert second.step == total // 2
    second.run(progress=False)
    for name in ("G", "D", "G_ema"):
        a, b = params(getattr(straight, name)), params(getattr(second, name))
        for k in a:
            np.testing.assert_array_equal(a[k], b[k], err_msg=f"{name}.{k}")
    for opt in ("opt_G", "opt_D"):
        leaves_a, leaves_b = leaves(getattr(straight, opt).state_dict()), leaves(getattr(second, opt).state_dict())
        assert len(leaves_a) == len(leaves_b) > 0
        for x, y in zip(leaves_a, leaves_b):
            np.testing.assert_array_equal(x, y, err_msg=opt)
    log_a = [(r["step"], r["d_loss"], r["g_loss"]) for r in read_log(tmp_path / "a" / "log.jsonl")]
    log_b = [(r["step"], r["d_loss"], r["g_loss"]) for r in read_log(tmp_path / "b" / "log.jsonl")]
    assert log_a == log_b


def test_r1_penalty_trains():
    trainer = GANTrainer(GANConfig(steps=2, r1=10.0, out="unused", **TINY))
    d0 = params(trainer.D)
    stats = [trainer.train_step() for _ in range(2)]
    assert all(np.isfinite(list(s.values())).all() for s in stats)
    assert all(s["r1"] > 0 for s in stats)
    d1 = params(trainer.D)
    assert all(not np.array_equal(d0[k], d1[k]) for k in d0)


def test_r1_matches_a_direct_computation():
    """The penalty is gamma/2 * mean over the batch of ||dD(x)/dx||^2 (checked by finite
    differences of D's logit sum in float64 with dropout off)."""
    mg.manual_seed(0)
    D = Discriminator(dropout=0.0).to(dtype="float64")
    x = mg.randn(2, 1, 28, 28, dtype="float64", requires_grad=True)
    g, = mg.grad(D(x).sum(), x, create_graph=True)
    direction = np.random.default_rng(1).standard_normal(x.shape)
    eps = 1e-6
    with mg.no_grad():
        plus = D(mg.tensor(x.numpy() + eps * direction)).sum().item()
        minus = D(mg.tensor(x.numpy() - eps * direction)).sum().item()
    assert abs((plus - minus) / (2 * eps) - float((g.numpy() * direction).sum())) < 1e-6
    penalty = (g * g).sum((1, 2, 3)).mean()
    penalty.backward()  # the penalty is differentiable w.r.t. D's weights (double backward)
    for name, p in D.named_parameters():  # biases enter grad_x D only through LeakyReLU's
        if name.endswith("weight"):          # piecewise-constant slope: no gradient there
            assert p.grad is not None and np.isfinite(p.grad.numpy()).all() and p.grad.numpy().any(), name


def test_ema_follows_generator():
    trainer = GANTrainer(GANConfig(steps=2, ema=0.9, out="unused", **TINY))
    for _ in range(2):
        trainer.train_step()
    g, e = params(trainer.G), params(trainer.G_ema)
    key = "body.0.weight"
    assert not np.array_equal(g[key], e[key])
    np.testing.assert_array_equal(g["project.1.running_mean"], e["project.1.running_mean"])
    assert trainer.generator_for_sampling() is trainer.G_ema
    assert trainer.sample().shape == (8, 1, 28, 28)
    plain = GANTrainer(GANConfig(steps=1, ema=0.0, out="unused", **TINY))
    assert plain.G_ema is None and plain.generator_for_sampling() is plain.G


def test_ctrl_c_saves_and_stops(tmp_path):
    trainer = GANTrainer(GANConfig(steps=50, out=str(tmp_path / "run"), **TINY))
    real_step = trainer.train_step

    def step_then_interrupt():
        stats = real_step()
        if trainer.step == 2:
            trainer._request_stop(None, None)  # what the SIGINT handler does
        return stats
    trainer.train_step = step_then_interrupt
    summary = trainer.run(progress=False)
    assert summary["interrupted"] and summary["steps"] == 2
    assert load_checkpoint(tmp_path / "run", "dcgan28")["step"] == 2


def test_rmsprop_and_bad_config():
    trainer = GANTrainer(GANConfig(steps=1, optimizer="rmsprop", out="unused", **TINY))
    assert type(trainer.opt_G).__name__ == "RMSprop"
    assert np.isfinite(list(trainer.train_step().values())).all()
    with pytest.raises(ValueError, match="--optimizer"):
        GANConfig(optimizer="sgd").validate()
    with pytest.raises(ValueError, match="--ema"):
        GANConfig(ema=1.0).validate()


def test_foreign_checkpoint_is_refused(tmp_path):
    mg.save({"kind": "something-else", "weights": mg.zeros(3)}, tmp_path / "x.npz")
    with pytest.raises(CheckpointError, match="'something-else' checkpoint; expected a 'dcgan28'"):
        GANTrainer.from_checkpoint(tmp_path / "x.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(CheckpointError, match="not a valid minigan checkpoint: a text file"):
        load_checkpoint(tmp_path / "junk.npz", "dcgan28")
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        load_checkpoint(tmp_path / "nowhere.npz", "dcgan28")


# ---------------------------------------------------------------------------- metrics


def test_frechet_distance_against_closed_forms():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((400, 6))
    mu, sigma = a.mean(0), np.cov(a, rowvar=False)
    assert abs(frechet_distance(mu, sigma, mu, sigma)) < 1e-9
    # shifted means only: the squared distance of the means
    assert abs(frechet_distance(mu, sigma, mu + 2, sigma) - 4 * 6) < 1e-8
    # diagonal covariances: sum of (sqrt(s1) - sqrt(s2))^2
    s1, s2 = np.diag([1.0, 4.0]), np.diag([9.0, 1.0])
    assert abs(frechet_distance(np.zeros(2), s1, np.zeros(2), s2) - ((1 - 3) ** 2 + (2 - 1) ** 2)) < 1e-9


def test_class_coverage():
    eye = np.eye(10)
    assert class_coverage(np.tile(eye, (5, 1))) == pytest.approx(1.0)
    assert class_coverage(np.tile(eye[3], (50, 1))) == 0.0
    assert 0 < class_coverage(eye[[1, 1, 2]]) < 1


def test_classifier_scores_real_digits():
    """The shipped classifier is accurate on the held-out digits, and real training digits
    are closer to them than noise in its feature space."""
    from minigan.metrics import evaluate_images
    from minigan.models import load_classifier
    from minigan.training.classifier import accuracy
    classifier = load_classifier()
    test = load_mnist(split="test")
    assert accuracy(classifier, test.images, test.labels) >= 0.97
    real = evaluate_images(load_mnist().images[::16], test.images, classifier)  # all digits
    noise = evaluate_images(np.random.default_rng(0).uniform(-1, 1, (250, 1, 28, 28)).astype(np.float32),
                            test.images, classifier)
    assert real.frechet < noise.frechet / 10 and real.coverage > 0.95 and real.confidence > 0.9


# ---------------------------------------------------------------------------- pictures


def test_grid_layout_and_values(tmp_path):
    from PIL import Image
    from minigan.images import grid, plot_curves, save_grid, stack_with_labels
    x = np.full((5, 1, 28, 28), -1.0, np.float32)
    x[1] = 1.0
    picture = grid(x, nrow=3, padding=2)
    assert picture.size == (3 * 30 + 2, 2 * 30 + 2) and picture.mode == "L"
    pixels = np.asarray(picture)
    assert pixels[2:30, 32:60].min() == 255 and pixels[2:30, 2:30].max() == 0
    a, b = save_grid(x, tmp_path / "a.png"), save_grid(-x, tmp_path / "b.png")
    stacked = Image.open(stack_with_labels([a, b], ["step 1", "step 2"], tmp_path / "s.png"))
    assert stacked.height == 2 * Image.open(a).height + 4
    steps = np.arange(50)
    path = plot_curves(steps, {"a": np.sin(steps), "b": np.where(steps == 3, np.nan, 1.0)},
                       tmp_path / "c.png")
    assert Image.open(path).size == (720, 400)


# ---------------------------------------------------------------------------- the trainer's own generator


def test_trainer_leaves_the_process_generator_alone():
    """A user's mg.randn sequence is the same with or without a trainer built and stepped
    between the draws (the trainer draws from its own generators)."""
    mg.manual_seed(5)
    want = [mg.randn(3).numpy() for _ in range(3)]
    mg.manual_seed(5)
    got = [mg.randn(3).numpy()]
    trainer = GANTrainer(GANConfig(steps=2, out="unused", **TINY))
    got.append(mg.randn(3).numpy())
    trainer.train_step()
    got.append(mg.randn(3).numpy())
    for a, b in zip(want, got):
        np.testing.assert_array_equal(a, b)


def test_trainer_steps_do_not_depend_on_the_process_generator():
    runs = []
    for seed in (1, 2):
        mg.manual_seed(seed)
        trainer = GANTrainer(GANConfig(steps=2, out="unused", **TINY))
        runs.append([trainer.train_step() for _ in range(2)])
    assert runs[0] == runs[1]


def test_checkpoint_entries_are_unchanged(tmp_path):
    """The refactor into the shared loop keeps DCGAN-28's checkpoint format: old ones load."""
    trainer = GANTrainer(GANConfig(steps=1, out="unused", **TINY))
    state = trainer.state_dict()
    assert set(state) == {"kind", "config", "step", "generator", "discriminator", "opt_generator",
                          "opt_discriminator", "data", "rng", "fixed_z", "generator_ema"}
    assert set(json.loads(state["config"])) == {
        "steps", "batch_size", "lr", "optimizer", "betas", "device", "data", "limit", "seed",
        "out", "sample_every", "checkpoint_every", "r1", "ema", "n_samples"}
    assert set(json.loads(state["rng"])) >= {"bit_generator", "state"}


# ---------------------------------------------------------------------------- freezing and EMA


def test_a_failing_g_step_does_not_leave_d_frozen():
    trainer = GANTrainer(GANConfig(steps=2, out="unused", **TINY))

    def broken_step():
        raise RuntimeError("planted failure in G's update")
    trainer.opt_G.step = broken_step
    with pytest.raises(RuntimeError, match="planted"):
        trainer.train_step()
    assert all(p.requires_grad for p in trainer.D.parameters())


def test_frozen_restores_each_parameter_flag():
    from minigan.training import frozen
    D = Discriminator()
    first = next(D.parameters())
    first.requires_grad_(False)  # frozen by the user before: stays frozen after
    with pytest.raises(ValueError):
        with frozen(D):
            assert not any(p.requires_grad for p in D.parameters())
            raise ValueError("inside")
    flags = [p.requires_grad for p in D.parameters()]
    assert flags[0] is False and all(flags[1:])


class TwoScales(mg.nn.Module):
    """Two same-shape parameters, registered in either order: pairing by position would
    copy ``a`` into ``b``."""

    def __init__(self, a_first: bool) -> None:
        super().__init__()
        a, b = mg.nn.Parameter(mg.randn(3)), mg.nn.Parameter(mg.randn(3))
        for name, value in ((("a", a), ("b", b)) if a_first else (("b", b), ("a", a))):
            setattr(self, name, value)
        self.register_buffer("count", mg.zeros(1))


def test_copy_and_ema_pair_entries_by_name():
    from minigan.training import copy_module_, update_ema
    source, target = TwoScales(a_first=True), TwoScales(a_first=False)
    assert [n for n, _ in source.named_parameters()] != [n for n, _ in target.named_parameters()]
    copy_module_(target, source)
    for name in ("a", "b"):
        np.testing.assert_array_equal(getattr(target, name).numpy(), getattr(source, name).numpy())
    ema = TwoScales(a_first=False)
    before = {n: getattr(ema, n).numpy().copy() for n in ("a", "b")}
    source.count.data[...] = 7
    update_ema(ema, source, 0.9)
    for name in ("a", "b"):
        np.testing.assert_allclose(getattr(ema, name).numpy(),
                                   0.9 * before[name] + 0.1 * getattr(source, name).numpy(), rtol=1e-6)
    assert ema.count.numpy().tolist() == [7.0]


def test_copy_and_ema_refuse_different_modules():
    from minigan.training import copy_module_, update_ema
    with pytest.raises(mg.ArgumentError, match="copy_module_: .* differ"):
        copy_module_(Generator(), Discriminator())
    with pytest.raises(mg.ArgumentError, match="update_ema: the two modules' parameters differ"):
        update_ema(TwoScales(True), mg.nn.Linear(3, 3), 0.5)
