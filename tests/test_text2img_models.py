"""The text-to-image model: the text encoder, the conditional generator and discriminator, and
MA-GP, each gradient-checked in float64 (first and second order, weights included) at tiny
sizes; masks, shapes and errors."""
from __future__ import annotations

import numpy as np
import pytest

import minigan as mg
from minigan.models import (ConditionalBatchNorm2d, CrossAttention2d, TextEncoder,
                            Text2ImgDiscriminator, Text2ImgGenerator)
from minigan.models.text_encoder import sinusoidal_positions
from minigan.training.text2img import matching_aware_penalty


def _with_weights(module, names, values, call):
    """call() with the module's parameters ``names`` replaced by ``values`` (so gradcheck,
    which checks its inputs, checks the weights)."""
    saved = []
    for name, value in zip(names, values):
        owner_name, _, attr = name.rpartition(".")
        owner = module.get_submodule(owner_name) if owner_name else module
        saved.append((owner, attr, owner._parameters[attr]))
        owner._parameters[attr] = value
    try:
        return call()
    finally:
        for owner, attr, value in saved:
            owner._parameters[attr] = value


def _weights(module, device):
    names = [n for n, _ in module.named_parameters()]
    values = [mg.tensor(p.numpy(), device=device, requires_grad=True) for p in module.parameters()]
    return names, values


def _check(fn, inputs, fast_first=False, order=(1, 2)):
    if 1 in order:
        assert mg.gradcheck(fn, inputs, atol=1e-6, rtol=1e-4, fast=fast_first)
    if 2 in order:
        assert mg.gradgradcheck(fn, inputs, atol=1e-6, rtol=1e-4, fast=True)


# The second derivatives w.r.t. every weight of the generator take ~7 s (a double-backward
# graph per direction and weight): marked slow. The default suite checks the generator's
# second order w.r.t. its inputs, and every weight of the encoder and the discriminator.
ORDERS = [pytest.param((1,), id="first"), pytest.param((2,), id="second", marks=pytest.mark.slow)]


def _perturb(module, rng, scale=0.3):
    """Weights away from their initial zeros and ones (a zero gate or a zero projection
    would hide the gradient of what sits behind it)."""
    with mg.no_grad():
        for p in module.parameters():
            p.data[...] = p.data + scale * rng.standard_normal(p.shape)


# ---------------------------------------------------------------------------- text encoder


def test_sinusoidal_positions():
    table = sinusoidal_positions(5, 6, np.float64)
    assert table.shape == (5, 6)
    np.testing.assert_allclose(table[:, 0], np.sin(np.arange(5)))
    np.testing.assert_allclose(table[:, 1], np.cos(np.arange(5)))
    np.testing.assert_allclose(table[3, 4], np.sin(3 / 10000 ** (4 / 6)))


@pytest.mark.parametrize("pool", ["mean", "cls"])
def test_text_encoder_ignores_padding(device, pool):
    enc = TextEncoder(10, d_model=8, nhead=2, num_layers=2, dim_feedforward=16, pool=pool).to(device)
    ids = np.array([[2, 5, 7, 0, 0], [3, 4, 0, 0, 0]])
    pad = ids == 0
    tokens, sentence = enc(mg.tensor(ids, device=device), pad)
    assert tokens.shape == (2, 5, 8) and sentence.shape == (2, 8)
    # the same captions padded to 3 positions: the same states for the real words
    short_tokens, short_sentence = enc(mg.tensor(ids[:, :3], device=device), pad[:, :3])
    np.testing.assert_allclose(sentence.numpy(), short_sentence.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(tokens.numpy()[0, :3], short_tokens.numpy()[0], rtol=1e-5, atol=1e-6)
    if pool == "mean":  # the mean of the word states
        np.testing.assert_allclose(sentence.numpy()[1], tokens.numpy()[1, :2].mean(0), rtol=1e-5,
                                   atol=1e-6)


def test_text_encoder_errors():
    enc = TextEncoder(10, d_model=8, nhead=2)
    with pytest.raises(mg.ShapeError, match=r"padding mask of shape \(2, 4\)"):
        enc(mg.tensor(np.ones((2, 3), np.int64)), np.zeros((2, 4), bool))
    with pytest.raises(mg.ArgumentError, match="pool must be one of"):
        TextEncoder(10, pool="max")
    with pytest.raises(mg.ArgumentError, match="divisible by nhead"):
        TextEncoder(10, d_model=10, nhead=4)


@pytest.mark.parametrize("pool", ["mean", "cls"])
def test_text_encoder_gradcheck(device, pool):
    rng = np.random.default_rng(0)
    enc = TextEncoder(6, d_model=4, nhead=2, num_layers=1, dim_feedforward=6, pool=pool)
    enc = enc.double().to(device)
    _perturb(enc, rng, 0.1)
    ids = mg.tensor(np.array([[2, 3, 4], [5, 2, 0]]), device=device)
    pad = np.array([[False, False, False], [False, False, True]])
    names, weights = _weights(enc, device)

    def fn(*ws):
        tokens, sentence = _with_weights(enc, names, ws, lambda: enc(ids, pad))
        return tokens * mg.tensor((~pad)[:, :, None].astype(np.float64), device=device), sentence
    _check(fn, weights, fast_first=True)


# ---------------------------------------------------------------------------- generator


def _tiny_generator(device, cross_attention=True, mapping=1):
    G = Text2ImgGenerator(z_dim=3, cond_dim=4, text_dim=4, ngf=2, cross_attention=cross_attention,
                          attention_heads=1, mapping=mapping).double().to(device)
    _perturb(G, np.random.default_rng(1))
    return G


def test_generator_shapes_and_stage_one(device):
    G = Text2ImgGenerator(z_dim=8, cond_dim=6, text_dim=4, ngf=4).to(device)
    z, s = mg.randn(5, 8, device=device), mg.randn(5, 6, device=device)
    tokens, pad = mg.randn(5, 3, 4, device=device), np.zeros((5, 3), bool)
    x = G(z, s, tokens, pad)
    assert x.shape == (5, 3, 32, 32) and x.device == device
    assert np.abs(x.numpy()).max() <= 1
    assert G(z).shape == (5, 3, 32, 32)                    # stage 1: no text at all
    with pytest.raises(mg.ShapeError, match=r"expected z of shape \(N, 8\)"):
        G(mg.randn(5, 7, device=device), s)
    with pytest.raises(mg.ShapeError, match=r"sentence vector of shape \(5, 6\)"):
        G(z, mg.randn(5, 4, device=device))


def test_mapping_network_maps_the_noise_and_sentence_before_the_first_layer():
    """--mapping M: M (Linear -> LeakyReLU) layers on [z, s], PyTorch's default init (not the
    N(0, 0.02) of the rest, which would shrink the code); M = 0 feeds [z, s] to the first
    layer as before."""
    plain, mapped = Text2ImgGenerator(z_dim=8, cond_dim=6, ngf=4), \
        Text2ImgGenerator(z_dim=8, cond_dim=6, ngf=4, mapping=2)
    assert plain.mapping is None and not any("mapping" in n for n, _ in plain.named_parameters())
    layers = [m for m in mapped.mapping if isinstance(m, mg.nn.Linear)]
    assert len(layers) == 2 and all(m.weight.shape == (14, 14) for m in layers)
    assert all(np.abs(m.weight.numpy()).max() > 0.1 for m in layers)   # not N(0, 0.02)
    z, s = mg.randn(5, 8), mg.randn(5, 6)
    seen = []
    mapped.project.register_forward_hook(lambda module, args, out: seen.append(args[0]))
    mapped(z, s)
    expected = mapped.mapping(mg.ops.shape.concat([z, s], 1)).numpy()
    np.testing.assert_allclose(seen[0].numpy(), expected, rtol=1e-6)


def test_cross_attention_can_be_switched_off():
    on, off = Text2ImgGenerator(ngf=4), Text2ImgGenerator(ngf=4, cross_attention=False)
    assert any("attend8" in n for n, _ in on.named_parameters())
    assert not any("attend" in n for n, _ in off.named_parameters())


def test_cross_attention_starts_as_identity_and_reads_the_tokens():
    block = CrossAttention2d(4, 3, num_heads=2)
    x, tokens = mg.randn(2, 4, 3, 3), mg.randn(2, 5, 3)
    np.testing.assert_array_equal(block(x, tokens).numpy(), x.numpy())   # gate 0
    with mg.no_grad():
        block.gate.data[...] = 1.0
    pad = np.array([[False] * 5, [False, False, True, True, True]])
    out = block(x, tokens, pad)
    changed = tokens.numpy().copy()
    changed[1, 3:] += 5.0                                    # masked tokens: no effect
    np.testing.assert_allclose(block(x, mg.tensor(changed), pad).numpy()[1], out.numpy()[1],
                               rtol=1e-5, atol=1e-6)


def test_conditional_batchnorm_is_film_of_batchnorm():
    norm = ConditionalBatchNorm2d(3, 2)
    x, s = mg.randn(4, 3, 2, 2), mg.randn(4, 2)
    y = norm(x, s).numpy()
    a = x.numpy()
    normed = (a - a.mean((0, 2, 3), keepdims=True)) / np.sqrt(a.var((0, 2, 3), keepdims=True) + 1e-5)
    gamma = s.numpy() @ norm.gamma.weight.numpy().T + norm.gamma.bias.numpy()
    beta = s.numpy() @ norm.beta.weight.numpy().T + norm.beta.bias.numpy()
    np.testing.assert_allclose(y, normed * (1 + gamma)[:, :, None, None] + beta[:, :, None, None],
                               rtol=1e-4, atol=1e-5)


def test_generator_gradcheck_inputs(device):
    G = _tiny_generator(device)
    rng = np.random.default_rng(2)
    z, s, tokens = (mg.tensor(rng.standard_normal(shape), device=device, requires_grad=True)
                    for shape in ((3, 3), (3, 4), (3, 2, 4)))
    pad = np.array([[False, False], [False, True], [False, False]])

    def fn(z, s, tokens):
        return G(z, s, tokens, pad)
    _check(fn, [z, s, tokens], fast_first=True)


@pytest.mark.parametrize("order", ORDERS)
def test_generator_gradcheck_weights(device, order):
    G = _tiny_generator(device)
    rng = np.random.default_rng(3)
    z, s, tokens = (mg.tensor(rng.standard_normal(shape), device=device)
                    for shape in ((3, 3), (3, 4), (3, 2, 4)))
    pad = np.array([[False, False], [False, True], [False, False]])
    names, weights = _weights(G, device)
    _check(lambda *ws: _with_weights(G, names, ws, lambda: G(z, s, tokens, pad)), weights,
           fast_first=True, order=order)


# ---------------------------------------------------------------------------- discriminator


def _tiny_discriminator(device, matching="both"):
    D = Text2ImgDiscriminator(ndf=2, cond_dim=3, feature_dim=4, matching=matching)
    D = D.double().to(device)
    _perturb(D, np.random.default_rng(4), 0.2)
    return D


@pytest.mark.parametrize("matching", ["projection", "concat", "both"])
def test_discriminator_scores(device, matching):
    D = _tiny_discriminator(device, matching)
    x = mg.tensor(np.random.default_rng(5).uniform(-1, 1, (2, 3, 32, 32)), device=device)
    s = mg.tensor(np.random.default_rng(6).standard_normal((2, 3)), device=device)
    phi = D.features(x)
    assert phi.shape == (2, 4)
    np.testing.assert_allclose(D(x, s).numpy(), (D.realism(phi) + D.matching(phi, s)).numpy())
    np.testing.assert_allclose(D(x).numpy(), D.realism(phi).numpy())
    if matching == "projection":
        W = D.project_sentence.weight.numpy()
        np.testing.assert_allclose(D.matching(phi, s).numpy(),
                                   ((phi.numpy() @ W) * s.numpy()).sum(1), rtol=1e-10)
    with pytest.raises(mg.ShapeError, match=r"\(N, 3, 32, 32\)"):
        D(mg.randn(2, 1, 28, 28, device=device))
    with pytest.raises(mg.ArgumentError, match="matching must be one of"):
        Text2ImgDiscriminator(matching="dot")


def test_discriminator_gradcheck(device):
    D = _tiny_discriminator(device)
    rng = np.random.default_rng(7)
    x = mg.tensor(rng.uniform(-1, 1, (2, 3, 32, 32)), device=device, requires_grad=True)
    s = mg.tensor(rng.standard_normal((2, 3)), device=device, requires_grad=True)
    names, weights = _weights(D, device)

    def fn(x, s, *ws):
        return _with_weights(D, names, ws, lambda: D(x, s))
    _check(fn, [x, s] + weights, fast_first=True)


def test_similarity_is_the_cosine_of_the_two_embeddings(device):
    D = Text2ImgDiscriminator(ndf=2, cond_dim=3, feature_dim=4, contrastive_dim=5)
    D = D.double().to(device)
    _perturb(D, np.random.default_rng(13), 0.2)
    rng = np.random.default_rng(14)
    phi = mg.tensor(rng.standard_normal((3, 4)), device=device)
    s = mg.tensor(rng.standard_normal((2, 3)), device=device)
    a = phi.numpy() @ D.embed_image.weight.numpy().T
    b = s.numpy() @ D.embed_sentence.weight.numpy().T
    a /= np.linalg.norm(a, axis=1, keepdims=True)
    b /= np.linalg.norm(b, axis=1, keepdims=True)
    np.testing.assert_allclose(D.similarity(phi, s).numpy(), a @ b.T, rtol=1e-6, atol=1e-7)
    with pytest.raises(mg.ArgumentError, match="without contrastive heads"):
        _tiny_discriminator(device).similarity(phi, s)


def test_similarity_gradcheck(device):
    D = Text2ImgDiscriminator(ndf=2, cond_dim=3, feature_dim=4, contrastive_dim=5)
    D = D.double().to(device)
    _perturb(D, np.random.default_rng(15), 0.2)
    rng = np.random.default_rng(16)
    x = mg.tensor(rng.uniform(-1, 1, (3, 3, 32, 32)), device=device, requires_grad=True)
    s = mg.tensor(rng.standard_normal((3, 3)), device=device, requires_grad=True)
    names, weights = _weights(D, device)

    def fn(x, s, *ws):
        return _with_weights(D, names, ws, lambda: D.similarity(D.features(x), s))
    _check(fn, [x, s] + weights, fast_first=True)


# ---------------------------------------------------------------------------- MA-GP


def test_matching_aware_penalty_values_and_double_backward(device):
    D = _tiny_discriminator(device)
    rng = np.random.default_rng(8)
    x = mg.tensor(rng.uniform(-1, 1, (2, 3, 32, 32)), device=device, requires_grad=True)
    s = mg.tensor(rng.standard_normal((2, 3)), device=device, requires_grad=True)
    # the value: ||(dscore/dx, dscore/ds)||^p per pair, averaged
    gx, gs = mg.grad(D(x, s).sum(), [x, s])
    norms = (gx.numpy() ** 2).sum((1, 2, 3)) + (gs.numpy() ** 2).sum(1)
    for p in (2.0, 6.0):
        value = matching_aware_penalty(D(x, s), x, s, p).item()
        np.testing.assert_allclose(value, (norms ** (p / 2)).mean(), rtol=1e-10)
    # its gradient w.r.t. D's weights, x and s goes through the double backward of every op
    names, weights = _weights(D, device)

    def penalty(x, s, *ws):
        with mg.enable_grad():  # gradcheck evaluates under no_grad; the penalty needs a graph
            return _with_weights(D, names, ws, lambda: matching_aware_penalty(D(x, s), x, s, 6.0))
    assert mg.gradcheck(penalty, [x, s] + weights, atol=1e-6, rtol=1e-4, fast=True)

    def image_only(x):  # stage 1
        with mg.enable_grad():
            return matching_aware_penalty(D(x), x, None, 2.0)
    assert mg.gradcheck(image_only, [x], atol=1e-6, rtol=1e-4, fast=True)
