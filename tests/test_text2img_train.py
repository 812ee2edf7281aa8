"""The text-to-image trainer (exact resume across both stages, sampling, its options and
errors) and the attribute classifier's scores on real renders."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import minigan as mg
from minigan import backend
from minigan.data.shapes import Shapes, parse_caption
from minigan.data.tokenizer import UnknownWordWarning
from minigan.models.attributes import (WEIGHTS_PATH, diversity_ratio, load_attribute_classifier,
                                       object_counts, object_pieces, predict, score_attributes,
                                       variety)
from minigan.training.attributes import DEFAULT_OUT, train_attribute_classifier
from minigan.training.checkpoint import load_checkpoint, save_checkpoint
from minigan.training.helpers import linear_decay
from minigan.training.text2img import (Text2ImgConfig, Text2ImgTrainer, compatible,
                                       contrastive_loss, mode_seeking_loss, set_infonce,
                                       true_of)

TINY = dict(batch_size=4, z_dim=4, text_dim=8, text_layers=1, text_heads=2, text_ff=16, ngf=4,
            ndf=4, d_features=16, ema=0.9, ema_bn_batches=1)


def tiny(**changes) -> Text2ImgConfig:
    return Text2ImgConfig(**{**TINY, **changes})


def _arrays(trainer) -> dict:
    state = trainer.state_dict()
    flat = {}

    def walk(prefix, node):
        if isinstance(node, dict):
            for k, v in node.items():
                walk(f"{prefix}.{k}", v)
        elif isinstance(node, (list, tuple)):
            for i, v in enumerate(node):
                walk(f"{prefix}.{i}", v)
        elif isinstance(node, mg.Tensor):
            flat[prefix] = node.numpy().copy()
        elif isinstance(node, np.ndarray):
            flat[prefix] = node.copy()
        else:
            flat[prefix] = node
    walk("", state)
    return flat


def _assert_same(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        if isinstance(a[key], np.ndarray):
            np.testing.assert_array_equal(a[key], b[key], err_msg=key)
        else:
            assert a[key] == b[key], key


@pytest.mark.parametrize("stop", [1, 2, 3])
def test_exact_resume_across_both_stages(tmp_path, stop):
    # stage 1 is steps 0-1, stage 2 from step 2; the run stops in stage 1, at the boundary, or
    # in stage 2, and every option that draws or differentiates is on
    config = tiny(steps=5, pretrain_steps=2, cross_attention=True, magp=0.1, hard_negatives=0.5,
                  text_encoder="separate", lr_decay_start=0.5, contrastive=0.5)
    straight = Text2ImgTrainer(config)
    for _ in range(5):
        straight.train_step()
    first = Text2ImgTrainer(config)
    for _ in range(stop):
        first.train_step()
    first.save(tmp_path / "checkpoint.npz")
    resumed = Text2ImgTrainer.from_checkpoint(tmp_path)       # a run folder or the file
    assert resumed.step == stop and resumed.stage == (1 if stop < 2 else 2)
    while resumed.step < 5:
        resumed.train_step()
    _assert_same(_arrays(straight), _arrays(resumed))
    z = straight.noise(3)
    np.testing.assert_array_equal(straight.sample(["a red circle"] * 3, z).numpy(),
                                  resumed.sample(["a red circle"] * 3, z).numpy())


def test_stages_use_and_train_the_text_pathway_only_in_stage_two():
    trainer = Text2ImgTrainer(tiny(steps=4, pretrain_steps=2))
    before = {n: p.numpy().copy() for n, p in trainer.text_d.named_parameters()}
    projection = trainer.D.project_sentence.weight.numpy().copy()
    stats = [trainer.train_step() for _ in range(2)]
    assert all(s["stage"] == 1 and "d_wrong" not in s for s in stats)
    for n, p in trainer.text_d.named_parameters():      # unused in stage 1: untouched
        np.testing.assert_array_equal(p.numpy(), before[n])
    np.testing.assert_array_equal(trainer.D.project_sentence.weight.numpy(), projection)
    stats = trainer.train_step()
    assert stats["stage"] == 2 and "d_wrong" in stats
    assert any(not np.array_equal(p.numpy(), before[n]) for n, p in trainer.text_d.named_parameters())


def test_step_statistics_are_finite_for_every_option():
    for changes in (dict(loss="bce"), dict(matching="concat", pool="cls"), dict(magp=1.0),
                    dict(diversity=0.0, ema=0.0, mismatch=0.0), dict(cross_attention=True),
                    dict(lr_decay_start=0.0), dict(contrastive=0.0),
                    dict(contrastive=1.0, data="digits"),
                    dict(contrastive=1.0, g_negatives="batch"),
                    dict(contrastive=1.0, g_negatives="changed", data="digits")):
        trainer = Text2ImgTrainer(tiny(steps=2, **changes))
        stats = trainer.train_step()
        assert all(np.isfinite(v) for v in stats.values()), (changes, stats)
        assert ("magp" in stats) == (changes.get("magp", 0) > 0)
        assert ("diversity" in stats) == (changes.get("diversity", 1.0) > 0)
        on = changes.get("contrastive", Text2ImgConfig().contrastive) > 0
        assert ("d_contrastive" in stats) == ("g_contrastive" in stats) == on


@pytest.mark.parametrize("role", ["positives", "leave_out"])
def test_contrastive_loss_is_infonce_over_the_kept_captions(role):
    rng = np.random.default_rng(0)
    sim = rng.uniform(-1, 1, (4, 4))
    mask = np.zeros((4, 4), bool)
    mask[0, 2] = mask[3, 1] = True
    mask[1, 1] = True                                   # the diagonal is always positive
    loss = contrastive_loss(mg.tensor(sim), **{role: mask}, temperature=0.5)
    expected = []
    for i in range(4):
        logits = sim[i] / 0.5
        others = [j for j in range(4) if j != i and mask[i, j]]
        own = [i] + (others if role == "positives" else [])
        kept = [j for j in range(4) if role == "positives" or j not in others]
        expected.append(np.log(np.exp(logits[kept]).sum()) - np.log(np.exp(logits[own]).sum()))
    np.testing.assert_allclose(loss.item(), np.mean(expected), rtol=1e-10)
    x = mg.tensor(sim, requires_grad=True)
    assert mg.gradcheck(lambda t: contrastive_loss(t, **{role: mask}, temperature=0.5), [x])
    assert mg.gradgradcheck(lambda t: contrastive_loss(t, **{role: mask}, temperature=0.5), [x])


def test_contrastive_loss_against_torch():
    torch = pytest.importorskip("torch", reason="torch is the oracle")
    rng = np.random.default_rng(1)
    sim, positives, leave_out = rng.uniform(-1, 1, (6, 6)), rng.random((6, 6)) < 0.3, rng.random((6, 6)) < 0.3
    leave_out &= ~positives
    x = mg.tensor(sim, requires_grad=True)
    loss = contrastive_loss(x, positives, leave_out, temperature=0.1)
    loss.backward()
    t = torch.tensor(sim / 0.1, requires_grad=True)
    eye = torch.eye(6, dtype=torch.bool)
    own = torch.tensor(positives) | eye
    kept = ~torch.tensor(leave_out) | eye
    ref = (t.masked_fill(~kept, -1e4).logsumexp(1) - t.masked_fill(~own, -1e4).logsumexp(1)).mean()
    ref.backward()
    np.testing.assert_allclose(loss.item(), ref.item(), rtol=1e-10)
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy() / 0.1, rtol=1e-8, atol=1e-12)


def test_true_and_compatible_captions_follow_what_they_state():
    # attributes (shape, colour); image 0 a red circle "a red circle", image 1 a green circle
    # "a circle", image 2 a red square "a red square"
    labels = np.array([[0, 0], [0, 1], [1, 0]])
    stated = np.array([[True, True], [True, False], [True, True]])
    np.testing.assert_array_equal(true_of(labels, stated), [[True, True, False],
                                                            [False, True, False],
                                                            [False, False, True]])
    # "a circle" could be drawn red, so "a red circle" is compatible with it, and back
    np.testing.assert_array_equal(compatible(labels, stated), [[True, True, False],
                                                               [True, True, False],
                                                               [False, False, True]])


def test_g_contrastive_weighs_only_gs_contrastive_term():
    same = Text2ImgTrainer(tiny(steps=1, contrastive=1.0)).train_step()
    own = Text2ImgTrainer(tiny(steps=1, contrastive=1.0, g_contrastive=0.25)).train_step()
    assert own["d_loss"] == same["d_loss"] and own["g_contrastive"] == same["g_contrastive"]
    np.testing.assert_allclose(same["g_loss"] - own["g_loss"], 0.75 * same["g_contrastive"],
                               rtol=1e-5)
    d_only = Text2ImgTrainer(tiny(steps=1, contrastive=1.0, g_contrastive=0.0)).train_step()
    assert "g_contrastive" not in d_only and d_only["d_loss"] == same["d_loss"]
    with pytest.raises(mg.ArgumentError, match="--g-contrastive"):
        tiny(g_contrastive=-1.0).validate()


def test_position_completions_state_each_position_where_the_caption_leaves_it_open():
    labels = np.array([[0, 0, 1, 2], [1, 3, 0, 4]])
    stated = np.array([[True, True, False, False], [True, False, True, True]])
    texts, owner = Shapes.completions(labels, stated)
    assert texts == ["a red circle in the top left", "a red circle in the top right",
                     "a red circle in the bottom left", "a red circle in the bottom right",
                     "a red circle in the center", "a small square in the center"]
    np.testing.assert_array_equal(owner, [0, 0, 0, 0, 0, 1])


def test_changed_negatives_contrast_each_fake_with_its_caption_changed_once():
    """Row i (and i + B/2) of G's term: log(sum over the completions of caption i and of
    its changed caption) - log(sum over caption i's own completions), by hand."""
    trainer = Text2ImgTrainer(tiny(steps=1, batch_size=8, contrastive=1.0, g_negatives="changed"))
    data, half = trainer.data, 4
    batch = data.sample(half, np.random.default_rng(3))
    batch.stated[:, 3] = [True, False, True, False]             # both kinds of caption
    captions = data.captions(batch.labels, batch.stated)
    phi = mg.tensor(np.random.default_rng(4).normal(size=(2 * half, 16)).astype(np.float32))
    texts, positive, kept = trainer.changed_candidates(captions, batch.labels, batch.stated,
                                                       np.random.default_rng(5))
    assert len(set(texts)) == len(texts) and (positive <= kept).all()
    with mg.no_grad():
        sentences = trainer.text_d(*trainer._encode(texts))[1]
    loss = set_infonce(trainer.D.similarity(phi, sentences), positive, kept, 0.1)
    changed, changed_labels, changed_stated = data.negatives(
        batch.labels, batch.stated, np.random.default_rng(5), hard=1.0)
    expected, best = [], []
    for i in range(2 * half):
        u = i % half
        values, says = parse_caption(changed[u])                # one stated attribute differs
        np.testing.assert_array_equal(says, batch.stated[u])
        assert (values != batch.labels[u])[says].sum() == 1, changed[u]

        def logits(labels, stated):
            texts = Shapes.completions(labels[None], stated[None])[0]
            assert len(texts) == (1 if stated[3] else 5)
            with mg.no_grad():
                s = trainer.text_d(*trainer._encode(texts))[1]
                return trainer.D.similarity(phi[i:i + 1], s).numpy()[0] / 0.1
        own = logits(batch.labels[u], batch.stated[u])
        other = logits(changed_labels[u], changed_stated[u])
        both = np.concatenate([own, other])
        expected.append(np.log(np.exp(both).sum()) - np.log(np.exp(own).sum()))
        best.append(np.log(np.exp(both).sum()) - own.max())     # --g-positives max
    np.testing.assert_allclose(loss.item(), np.mean(expected), rtol=1e-5)
    loss = set_infonce(trainer.D.similarity(phi, sentences), positive, kept, 0.1, "max")
    np.testing.assert_allclose(loss.item(), np.mean(best), rtol=1e-5)
    batch_mode = Text2ImgTrainer(tiny(steps=1, contrastive=1.0, g_negatives="batch")).train_step()
    changed_mode = Text2ImgTrainer(tiny(steps=1, contrastive=1.0,
                                        g_negatives="changed")).train_step()
    assert changed_mode["d_loss"] == batch_mode["d_loss"]          # D's step is the same
    assert changed_mode["g_contrastive"] != batch_mode["g_contrastive"]
    best_mode = Text2ImgTrainer(tiny(steps=1, contrastive=1.0, g_negatives="changed",
                                     g_positives="max")).train_step()
    assert best_mode["d_loss"] == batch_mode["d_loss"]
    assert best_mode["g_contrastive"] > changed_mode["g_contrastive"]  # max < logsumexp


@pytest.mark.parametrize("text_encoder", ["shared", "separate"])
def test_shared_fakes_are_the_images_gs_step_scores(text_encoder):
    """--fakes shared: one G pass a step (two with "separate"), and D's fakes are exactly the
    images G's step then scores (rows i and i + B/2: caption i), in both stages."""
    for fakes, passes in (("separate", 2), ("shared", 1)):
        trainer = Text2ImgTrainer(tiny(steps=3, pretrain_steps=1, fakes=fakes,
                                       text_encoder=text_encoder))
        calls, seen = [], []
        trainer.G.register_forward_hook(lambda module, args, out: calls.append(1))
        features = trainer.D.features
        trainer.D.features = lambda x: (seen.append(x.numpy().copy()), features(x))[1]
        for step in range(2):                                 # stage 1, then stage 2
            calls.clear(), seen.clear()
            trainer.train_step()
            assert len(calls) == passes, (fakes, step)
            B = trainer.config.batch_size
            if fakes == "shared":
                np.testing.assert_array_equal(seen[0][B:], seen[1])
            else:
                assert not np.array_equal(seen[0][B:], seen[1])


def test_learning_rates_fall_linearly_to_zero_from_lr_decay_start():
    trainer = Text2ImgTrainer(tiny(steps=4, lr_g=1e-3, lr_d=2e-3, lr_decay_start=0.5))
    rates = []
    for _ in range(4):
        trainer.train_step()
        rates.append((trainer.opt_G.param_groups[0]["lr"], trainer.opt_D.param_groups[0]["lr"]))
    np.testing.assert_allclose(rates, [(1e-3, 2e-3), (1e-3, 2e-3), (1e-3, 2e-3), (5e-4, 1e-3)])
    assert linear_decay(0, 10, 1.0) == linear_decay(9, 10, 1.0) == 1.0   # 1.0: constant


def test_the_process_random_state_is_left_alone():
    mg.manual_seed(123)
    before = backend.get_rng_state()
    trainer = Text2ImgTrainer(tiny(steps=2))
    trainer.train_step()
    trainer.sample(["a circle"])
    assert backend.get_rng_state() == before
    # and the trainer does not depend on it
    mg.manual_seed(999)
    other = Text2ImgTrainer(tiny(steps=2))
    other.train_step()
    np.testing.assert_array_equal(other.G.project.weight.numpy(), trainer.G.project.weight.numpy())


def test_sample_prompts_noise_and_errors():
    trainer = Text2ImgTrainer(tiny(steps=1))
    images = trainer.sample(["a red circle", "a large square in the center"])
    assert images.shape == (2, 3, 32, 32) and np.abs(images.numpy()).max() <= 1
    z = trainer.noise(2)
    np.testing.assert_array_equal(trainer.sample(["a red circle"] * 2, z).numpy(),
                                  trainer.sample(["a red circle"] * 2, z.numpy()).numpy())
    assert trainer.sample(None, n=3).shape == (3, 3, 32, 32)
    with pytest.warns(UnknownWordWarning, match="'purple'"):
        trainer.sample(["a purple circle"])
    with pytest.raises(mg.ArgumentError, match="prompt '': it has no words"):
        trainer.sample([""])
    with pytest.raises(mg.ArgumentError, match="none of its words is known"):
        trainer.sample(["purple blob"])
    with pytest.raises(mg.ArgumentError, match=r"z must have shape \(2, 4\)"):
        trainer.sample(["a circle", "a square"], np.zeros((3, 4), np.float32))


def test_draw_noise_is_the_standard_normal_or_its_truncation():
    trainer = Text2ImgTrainer(tiny(steps=1))
    z = trainer.draw_noise(np.random.default_rng(3), 5)
    np.testing.assert_array_equal(z, np.random.default_rng(3).standard_normal((5, 4)).astype(np.float32))
    assert np.abs(trainer.draw_noise(np.random.default_rng(0), 500, truncation=0.5)).max() <= 0.5


def test_ema_batchnorm_is_reestimated_before_sampling():
    trainer = Text2ImgTrainer(tiny(steps=3, ema_bn_batches=2))
    for _ in range(3):
        trainer.train_step()
    trainer.sample(["a circle"])
    bn = trainer.G_ema.norm1.bn
    assert int(bn.num_batches_tracked.item()) == 2        # exactly the re-estimation batches
    assert not np.allclose(bn.running_mean.numpy(), trainer.G.norm1.bn.running_mean.numpy())


def test_wrong_kind_checkpoint_is_refused(tmp_path):
    trainer = Text2ImgTrainer(tiny(steps=1))
    with pytest.raises(mg.CheckpointError, match="'dcgan28' state, expected 'text2img'"):
        trainer.load_state_dict({"kind": "dcgan28"})
    state = trainer.state_dict()
    state["vocabulary"] = ["<pad>", "<unk>", "a"]
    with pytest.raises(mg.CheckpointError, match="vocabulary"):
        trainer.load_state_dict(state)
    path = trainer.save(tmp_path / "t2i.npz")
    with pytest.raises(mg.CheckpointError, match="expected a 'dcgan28' checkpoint"):
        load_checkpoint(path, "dcgan28")                   # text2img given to DCGAN code
    save_checkpoint({"kind": "dcgan28", "step": 0}, tmp_path / "dcgan.npz")
    with pytest.raises(mg.CheckpointError, match="a 'dcgan28' checkpoint; expected a 'text2img'"):
        Text2ImgTrainer.from_checkpoint(tmp_path / "dcgan.npz")   # and the other way round


@pytest.mark.parametrize("changes,match", [
    (dict(batch_size=5), "--batch-size: must be even"),
    (dict(pretrain_steps=9, steps=4), r"--pretrain-steps: must be in \[0, --steps=4\]"),
    (dict(loss="wgan"), "--loss: must be one of hinge, bce"),
    (dict(mismatch=1.5), r"--mismatch: must be in \[0, 1\]"),
    (dict(magp_power=1.0), "--magp-power"),
    (dict(ema=1.0), "--ema"),
    (dict(text_dim=10, text_heads=4), "--text-dim"),
    (dict(ngf=0), "--ngf: must be an int >= 1"),
    (dict(lr_decay_start=1.5), r"--lr-decay-start: must be in \[0, 1\]"),
    (dict(temperature=0.0), "--temperature: must be > 0"),
    (dict(contrastive=-1.0), "--contrastive: must be >= 0"),
    (dict(g_negatives="all"), "--g-negatives: must be one of batch, changed"),
    (dict(mapping=-1), "--mapping: must be an int >= 0"),
    (dict(g_positives="min"), "--g-positives: must be one of sum, max"),
    (dict(fakes="both"), "--fakes: must be one of separate, shared"),
])
def test_config_errors_name_the_option(changes, match):
    with pytest.raises(mg.ArgumentError, match=match):
        Text2ImgTrainer(tiny(**changes))


def test_a_config_from_before_a_field_existed_keeps_what_it_was_trained_with():
    import json
    old = json.loads(tiny(steps=3).to_json())
    for name in ("contrastive", "lr_decay_start", "g_negatives"):
        del old[name]
    config = Text2ImgConfig.from_json(json.dumps(old))
    assert (config.contrastive, config.lr_decay_start, config.g_negatives) == (0.0, 1.0, "batch")
    default = Text2ImgConfig()
    assert default.contrastive > 0 and default.lr_decay_start < 1
    assert default.g_negatives == "changed"


def test_weights_that_do_not_fit_the_config_are_a_checkpoint_error(tmp_path):
    trainer = Text2ImgTrainer(tiny(steps=1))
    state = trainer.state_dict()
    del state["discriminator"]["embed_image.weight"]
    with pytest.raises(mg.CheckpointError, match="'discriminator' does not fit"):
        Text2ImgTrainer(tiny(steps=1)).load_state_dict(state)


def test_config_round_trips_through_json():
    config = tiny(steps=7, cross_attention=True).validate()
    again = Text2ImgConfig.from_json(config.to_json(), steps=9)
    assert dataclasses.replace(config, steps=9) == again


def test_digits_train_with_the_same_model():
    trainer = Text2ImgTrainer(tiny(steps=2, data="digits"))
    stats = trainer.train_step()
    assert np.isfinite(stats["d_loss"])
    assert trainer.sample(["the digit seven", "a handwritten 3"]).shape == (2, 3, 32, 32)


def test_mode_seeking_loss_rewards_images_that_follow_the_noise():
    z = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    same = mg.tensor(np.zeros((4, 3, 2, 2), np.float32))
    apart = mg.tensor(np.concatenate([np.zeros((2, 3, 2, 2)), np.ones((2, 3, 2, 2))]).astype(np.float32))
    assert mode_seeking_loss(same, z).item() > 1e4 > 10 > mode_seeking_loss(apart, z).item()


# ---------------------------------------------------------------------------- the classifier


@pytest.fixture(scope="module")
def classifier():
    return load_attribute_classifier()


def test_shipped_classifier_is_small():
    assert WEIGHTS_PATH.stat().st_size < 300_000


@pytest.mark.parametrize("split", ["train", "heldout"])
def test_classifier_scores_real_renders_near_one(classifier, split):
    batch = Shapes(split, seed=77).batch(0, 1000)
    scores = score_attributes(predict(classifier, batch.images), batch.labels, batch.stated)
    assert min(scores.values()) >= 0.99, scores


def test_score_counts_only_the_stated_attributes():
    labels = np.array([[0, 0, 0, 0], [1, 1, 1, 1]])
    stated = np.array([[True, False, False, False], [True, True, False, False]])
    predicted = np.array([[0, 5, 1, 3], [1, 2, 1, 1]])      # wrong only where not asked, and a colour
    scores = score_attributes(predicted, labels, stated)
    assert scores == {"shape": 1.0, "color": 0.0, "size": None, "position": None, "caption": 0.5}


def test_diversity_and_variety_of_real_renders(classifier):
    data = Shapes("train", seed=5)
    rng = np.random.default_rng(0)
    labels, stated = parse_caption("a circle")
    drawn, _ = data.draw_labels(2000, rng)
    circles = drawn[drawn[:, 0] == 0][:64]
    real_a, real_b = data.render(circles[:32], rng)[0], data.render(circles[32:], rng)[0]
    assert 0.8 < diversity_ratio(real_a, real_b) < 1.25
    assert diversity_ratio(np.repeat(real_a[:1], 8, 0), real_b) == 0.0
    counts = variety(predict(classifier, np.concatenate([real_a, real_b])), group=8)
    assert counts["shape"] == 1.0 and counts["color"] > 3.5 and counts["position"] > 3


def test_object_counts_by_hand():
    """Pieces of bright pixels, 8-connected, of at least 4 pixels: one square, two squares, a
    diagonal staircase (one piece through its corners), a square with a 3-pixel speck (the
    speck is not an object), an empty canvas; 'pure' is the share of bright pixels whose
    channels are each within 0.5 of -1 or 1."""
    images = np.full((5, 3, 12, 12), -1.0, np.float32)
    images[0, 0, 2:6, 2:6] = 1                               # one red square
    images[1, 1, 1:4, 1:4] = images[1, 1, 7:10, 7:10] = 1    # two green squares
    for k in range(6):
        images[2, 2, k + 3, k + 3] = 1                       # touching at the corners
    images[3, :, 5:9, 5:9] = 1                               # white square ...
    images[3, 0, 0, 0:3] = 1                                 # ... and a 3-pixel speck
    counts = object_counts(images)
    assert counts == {"one": 0.6, "several": 0.2, "none": 0.2, "pure": 1.0}
    assert object_counts(images[1:2]) == {"one": 0.0, "several": 1.0, "none": 0.0, "pure": 1.0}
    smeared = images[:1].copy()
    smeared[0, 1, 2:6, 2:4] = 0.2                            # half the square red-and-olive
    assert object_counts(smeared)["pure"] == 0.5
    pieces, bright, pure = object_pieces(np.concatenate([images, smeared]))
    assert pieces.tolist() == [1, 2, 1, 1, 0, 1] and bright.tolist() == [16, 18, 6, 19, 0, 16]
    assert pure.tolist() == [16, 18, 6, 19, 0, 8]
    some = np.array([1, 5])                                  # a subset of the rows ...
    assert object_counts(pieces=(pieces[some], bright[some], pure[some])) == \
        object_counts(np.concatenate([images, smeared])[some])   # ... as its images count
    with pytest.raises(mg.ArgumentError, match="object_counts: give the images or"):
        object_counts()
    rng = np.random.default_rng(0)
    assert object_counts(Shapes("train").sample(200, rng).images)["one"] == 1.0


def test_retraining_writes_where_told_never_into_the_package(tmp_path):
    assert DEFAULT_OUT.parts[0] == "runs"
    before = WEIGHTS_PATH.stat().st_mtime_ns
    result = train_attribute_classifier(steps=2, batch_size=16, out=tmp_path / "a.npz",
                                        stream=open(tmp_path / "log.txt", "w"))
    assert (tmp_path / "a.npz").is_file() and set(result["accuracy"]) == {
        "shape", "color", "size", "position"}
    assert WEIGHTS_PATH.stat().st_mtime_ns == before
    load_attribute_classifier(tmp_path / "a.npz")


@pytest.mark.parametrize("cross_attention,mapping", [(False, 0), (True, 0), (False, 2)])
def test_torch_twins_of_the_benchmark_compute_the_same(torch, cross_attention, mapping):
    """benchmarks/text2img_vs_torch.py times PyTorch twins: they must be the same model."""
    from minigan import bench
    twins = bench.import_benchmark("text2img_vs_torch")
    trainer = Text2ImgTrainer(tiny(cross_attention=cross_attention, batch_size=4, contrastive=1.0,
                                   mapping=mapping))
    with mg.no_grad():          # gates and projections away from zero
        for p in trainer.G.parameters():
            p.data[...] += 0.1 * np.random.default_rng(0).standard_normal(p.shape)
    E, G, D = twins.torch_twins(torch, trainer)
    ids, pad = trainer.tokenizer.encode(["a red circle", "a large blue square in the top left"], 8)
    tokens, s = trainer.text_d(mg.tensor(ids), pad)
    t_tokens, t_s = E(torch.from_numpy(ids), torch.from_numpy(pad))
    np.testing.assert_allclose(s.numpy(), t_s.detach().numpy(), atol=1e-5)
    z = np.random.default_rng(1).standard_normal((2, 4)).astype(np.float32)
    x = trainer.G(mg.tensor(z), s, tokens, pad)
    t_x = G(torch.from_numpy(z), t_s, t_tokens, torch.from_numpy(pad))
    np.testing.assert_allclose(x.numpy(), t_x.detach().numpy(), atol=1e-5)
    np.testing.assert_allclose(trainer.D(x, s).numpy(), D.score(D.body(t_x), t_s).detach().numpy(),
                               atol=1e-5)
    phi = trainer.D.features(x)
    np.testing.assert_allclose(trainer.D.similarity(phi, s).numpy(),
                               D.similarity(D.body(t_x), t_s).detach().numpy(), atol=1e-5)
    sim = np.random.default_rng(2).uniform(-1, 1, (4, 4))
    masks = np.random.default_rng(3).random((2, 4, 4)) < 0.4
    ours = contrastive_loss(mg.tensor(sim), masks[0], masks[1] & ~masks[0], temperature=0.1)
    theirs = twins.torch_contrastive(torch, torch.tensor(sim), masks[0], masks[1] & ~masks[0], 0.1)
    np.testing.assert_allclose(ours.item(), theirs.item(), rtol=1e-10)
    kept = masks[0] | masks[1] | np.eye(4, dtype=bool)
    ours = set_infonce(mg.tensor(sim), masks[0] | np.eye(4, dtype=bool), kept, temperature=0.1)
    own = torch.tensor(masks[0]) | torch.eye(4, dtype=torch.bool)
    theirs = twins.torch_set_infonce(torch.tensor(sim), own, torch.tensor(kept), 0.1)
    np.testing.assert_allclose(ours.item(), theirs.item(), rtol=1e-10)
    t_sim = torch.tensor(sim, requires_grad=True)                     # the best positive alone
    theirs = twins.torch_set_infonce(t_sim, own, torch.tensor(kept), 0.1, "max")
    theirs.backward()
    sim_t = mg.tensor(sim, requires_grad=True)
    ours = set_infonce(sim_t, masks[0] | np.eye(4, dtype=bool), kept, 0.1, positives="max")
    ours.backward()
    np.testing.assert_allclose(ours.item(), theirs.item(), rtol=1e-10)
    np.testing.assert_allclose(sim_t.grad.numpy(), t_sim.grad.numpy(), rtol=1e-9, atol=1e-12)
    for g_negatives, fakes in (("batch", "separate"), ("changed", "separate"),
                               ("changed", "shared")):    # one PyTorch training step runs
        trainer.config.g_negatives, trainer.config.fakes = g_negatives, fakes
        step = twins.torch_step(torch, trainer, E, G, D, torch.optim.Adam(G.parameters()),
                                torch.optim.Adam(list(D.parameters()) + list(E.parameters())))
        step()
