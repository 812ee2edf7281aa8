"""Text to image in one readable file: a Transformer reads the caption, a GAN draws it.

    python examples/07_text_to_image.py               # 600 steps, about 3 minutes on 2 CPU cores
    python examples/07_text_to_image.py --steps 3000  # 15 minutes: most captions come out right
    python examples/07_text_to_image.py --quick       # 3 tiny steps: does it run?

The data are captioned shapes drawn on the fly ("a large red circle in the top left"), the
model is minigan's text-to-image GAN (docs/text2img.md): a text encoder (token embedding,
sinusoidal positions, two Transformer encoder layers) gives per-word states and a sentence
vector; the generator turns noise and the sentence vector into a 32x32 image, the sentence
modulating every batch norm; the discriminator scores realism plus how well image and caption
match. The training step below is the whole method, written out:

    D: hinge loss on (real, its caption) -> high, (fake, caption) and (real, a wrong caption)
       -> low, so D learns what the words mean, not only what a shape looks like;
    G: fool D on (fake, caption), plus the mode-seeking term: two noises for one caption
       must give two different images (else G draws one image per caption).

It writes ``runs/examples/07_text_to_image/step_XXXX.png``, one row per prompt (``--out DIR``
for another folder), and at the end scores the samples with the shipped attribute classifier.
``minigan train text2img`` trains the same model with more (a contrastive term that makes
each image pick its own caption among the batch's, a decaying learning rate, EMA), with
checkpoints and logs, and
``minigan sample --prompt "..."`` draws from it.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

import minigan as mg
import minigan.functional as F
from minigan.data.shapes import Shapes, parse_caption
from minigan.data.tokenizer import Tokenizer
from minigan.images import save_grid
from minigan.models.attributes import load_attribute_classifier, predict, score_attributes
from minigan.models.text2img import Text2ImgDiscriminator, Text2ImgGenerator
from minigan.models.text_encoder import TextEncoder
from minigan.optim import Adam

PROMPTS = ["a large red circle in the top left", "a small blue square in the bottom right",
           "a large white triangle in the center", "a yellow circle in the top right",
           "a magenta square", "a green triangle"]   # the last: a pair never seen in training


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--width", type=int, default=32, help="ngf = ndf (channels)")
    parser.add_argument("--quick", action="store_true", help="3 steps at batch 8, width 8")
    parser.add_argument("--out", default="runs/examples/07_text_to_image")
    args = parser.parse_args()
    if args.quick:
        args.steps, args.batch_size, args.width = 3, 8, 8
    mg.tune_process()        # this script owns its process: minigan's CPU speed settings
    mg.manual_seed(0)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    B, half, z_dim, text_dim = args.batch_size, args.batch_size // 2, 32, 64

    data = Shapes("train")                      # held-out colour-shape pairs never appear
    tokenizer = Tokenizer(data.vocabulary())
    text = TextEncoder(len(tokenizer), d_model=text_dim, nhead=4, num_layers=2,
                       dim_feedforward=128)
    G = Text2ImgGenerator(z_dim, text_dim, text_dim, ngf=args.width, cross_attention=False)
    D = Text2ImgDiscriminator(args.width, text_dim, feature_dim=8 * args.width)
    opt_G = Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_D = Adam(list(D.parameters()) + list(text.parameters()), lr=2e-4, betas=(0.5, 0.999))
    rng = np.random.default_rng(0)

    def encode(captions):
        ids, pad = tokenizer.encode(list(captions), 8)   # 8 words: the longest caption
        return text(mg.tensor(ids), pad), pad            # ((tokens, sentence), mask)

    def draw(prompts, z):
        G.eval()
        with mg.no_grad():
            (tokens, sentence), pad = encode(prompts)
            images = G(mg.tensor(z), sentence)
        G.train()
        return images.numpy()

    z_fixed = rng.standard_normal((8 * len(PROMPTS), z_dim)).astype(np.float32)
    start = time.perf_counter()
    for step in range(1, args.steps + 1):
        batch = data.sample(B, rng)
        wrong, _, _ = data.negatives(batch.labels, batch.stated, rng, hard=0.5)
        real = mg.tensor(batch.images)

        # D: the text encoder learns here, from D's loss (G reads it without gradient)
        (_, s_all), _ = encode(list(batch.captions) + wrong)
        s, s_wrong = s_all[:B], s_all[B:]
        with mg.no_grad():
            fake = G(mg.randn(B, z_dim), s.detach())
        phi = D.features(mg.cat([real, fake]))
        score_real = D.realism(phi[:B]) + D.matching(phi[:B], s)
        score_fake = D.realism(phi[B:]) + D.matching(phi[B:], s)
        score_wrong = D.realism(phi[:B]) + D.matching(phi[:B], s_wrong)
        d_loss = (F.relu(1 - score_real).mean() + 0.5 * F.relu(1 + score_fake).mean()
                  + 0.5 * F.relu(1 + score_wrong).mean())
        opt_D.zero_grad()
        d_loss.backward()
        opt_D.step()

        # G: B/2 captions, two noises each; mode seeking = 1 / (image distance / noise distance)
        with mg.no_grad():
            (_, s_g), _ = encode(list(batch.captions[:half]) * 2)
        z = mg.randn(B, z_dim)
        images = G(z, s_g)
        D.requires_grad_(False)
        adversarial = -D(images, s_g).mean()
        D.requires_grad_(True)
        d_images = (images[:half] - images[half:]).abs().mean((1, 2, 3))
        d_noise = (z[:half] - z[half:]).abs().mean(1)
        mode_seeking = (1 / (d_images / d_noise + 1e-5)).mean()
        g_loss = adversarial + 0.1 * mode_seeking
        opt_G.zero_grad()
        g_loss.backward()
        opt_G.step()

        if step % 100 == 0 or step == args.steps:
            grid = np.concatenate([draw([p] * 8, z_fixed[8 * i:8 * i + 8])
                                   for i, p in enumerate(PROMPTS)])
            path = save_grid(grid, out / f"step_{step:04d}.png", nrow=8)
            print(f"step {step:5d}  D {d_loss.item():.3f}  G {adversarial.item():.3f}  "
                  f"mode seeking {mode_seeking.item():.3f}  "
                  f"{time.perf_counter() - start:.0f} s  -> {path}")

    # Score: ask for each prompt 8 times, and read the images back with the classifier
    classifier = load_attribute_classifier()
    labels, stated = zip(*(parse_caption(p) for p in PROMPTS for _ in range(8)))
    predicted = predict(classifier, draw([p for p in PROMPTS for _ in range(8)], z_fixed))
    scores = score_attributes(predicted, np.array(labels), np.array(stated))
    print("rows, top to bottom: " + " | ".join(PROMPTS))
    print("right, per stated attribute: " + ", ".join(
        f"{k} {v:.2f}" for k, v in scores.items() if k != "caption" and v is not None) +
        f"; whole captions {scores['caption']:.2f}")


if __name__ == "__main__":
    main()
