"""Which sentence vector learns the captions faster: the masked mean of the word states or a
CLS token? A cheap proxy for the GAN: the text encoder alone, trained from scratch with a
linear head per attribute reading the sentence vector (classes: each value, or "not stated"),
on fresh training captions; prints the accuracy on fresh captions as it trains.

    PYTHONPATH=$PWD python tools/t2i_pool_probe.py --steps 300
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import minigan as mg  # noqa: E402
from minigan import nn  # noqa: E402
from minigan.data import Shapes, Tokenizer  # noqa: E402
from minigan.data.shapes import ATTRIBUTES, VALUES  # noqa: E402
from minigan.functional import cross_entropy  # noqa: E402
from minigan.models import TextEncoder  # noqa: E402
from minigan.optim import Adam  # noqa: E402
from minigan.training.loop import seeded_weights  # noqa: E402


def targets(labels: np.ndarray, stated: np.ndarray) -> np.ndarray:
    """Per attribute: the value, or len(values) for "not stated"."""
    sizes = np.array([len(VALUES[a]) for a in ATTRIBUTES])
    return np.where(stated, labels, sizes)


def run(pool: str, steps: int, seed: int, every: int) -> list:
    data, test = Shapes("train", seed=seed), Shapes("train", seed=seed + 1).batch(0, 1000)
    tok = Tokenizer(data.vocabulary())
    with seeded_weights(seed):
        encoder = TextEncoder(len(tok), 64, 4, 2, 128, pool=pool)
        heads = nn.ModuleList([nn.Linear(64, len(VALUES[a]) + 1) for a in ATTRIBUTES])
    opt = Adam(list(encoder.parameters()) + list(heads.parameters()), lr=2e-4)
    test_ids, test_pad = tok.encode(test.captions, 8)
    test_y = targets(test.labels, test.stated)
    curve = []
    for step in range(1, steps + 1):
        batch = data.batch(step, 64)
        ids, pad = tok.encode(batch.captions, 8)
        y = targets(batch.labels, batch.stated)
        _, sentence = encoder(mg.tensor(ids), pad)
        loss = sum(cross_entropy(h(sentence), mg.tensor(y[:, k])) for k, h in enumerate(heads))
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % every == 0:
            with mg.no_grad():
                _, s = encoder(mg.tensor(test_ids), test_pad)
                right = np.stack([h(s).numpy().argmax(1) for h in heads], 1) == test_y
            curve.append((step, float(right.all(1).mean())))
    return curve


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--every", type=int, default=25)
    parser.add_argument("--seeds", type=int, default=2)
    args = parser.parse_args()
    for pool in ("mean", "cls"):
        t0 = time.process_time()
        curves = [run(pool, args.steps, seed, args.every) for seed in range(args.seeds)]
        mean = np.mean([[acc for _, acc in c] for c in curves], axis=0)
        steps = [s for s, _ in curves[0]]
        print(f"{pool:4s}  whole-caption accuracy at steps {steps}: "
              f"{' '.join(f'{a:.2f}' for a in mean)}  "
              f"({(time.process_time() - t0) / args.seeds:.0f} s CPU per run)")


if __name__ == "__main__":
    main()
