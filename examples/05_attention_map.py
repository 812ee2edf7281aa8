"""Attention weights drawn as a picture: a tiny attention layer learns to reverse a sentence.

    python examples/05_attention_map.py           # 400 steps, about 5 seconds
    python examples/05_attention_map.py --quick   # 40 steps: most of the pattern already

The task: read a "sentence" of 7 words and write it backwards. One
``nn.MultiheadAttention`` layer does all the work: output position i asks (its query is
a learned embedding of i) which input word to copy, the keys are the words plus their
positions, and a linear layer reads the chosen word off the attention's output. To
reverse, output i must look at input 6 - i, so a trained layer's attention matrix (one row
per output position, one column per input word, each row summing to 1) is the
anti-diagonal, and nothing else. Before training it is a smear.

Writes to ``--out DIR`` (default ``runs/examples/05_attention_map``):

- ``attention.png``: the matrix for one sentence before and after training, the words as
  labels (rows: the word written at each output position; columns: the input words);
- ``attention_heads.png``: each of the two heads on its own, after training.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

import minigan as mg
import minigan.functional as F
import minigan.nn as nn
from minigan.images import heatmap_picture, save_pictures
from minigan.optim import Adam

WORDS = ["the", "a", "cat", "dog", "bird", "sat", "ran", "sang", "on", "under", "mat", "tree"]
LENGTH = 7


class Reverser(nn.Module):
    """Tokens (N, T) -> logits (N, T, vocabulary) of the reversed sequence, and the
    attention weights (N, heads, T, T) of its one attention layer."""

    def __init__(self, vocabulary: int, length: int, dim: int = 32, heads: int = 2) -> None:
        super().__init__()
        self.words = nn.Embedding(vocabulary, dim)
        self.positions = nn.Embedding(length, dim)     # where each input word stands
        self.queries = nn.Embedding(length, dim)       # what each output position asks
        self.attention = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.read = nn.Linear(dim, vocabulary)

    def forward(self, tokens: mg.Tensor) -> tuple[mg.Tensor, mg.Tensor]:
        n, t = tokens.shape
        where = mg.arange(t)
        keys = self.words(tokens) + self.positions(where)          # (N, T, dim)
        queries = self.queries(where).unsqueeze(0).expand(n, t, -1)  # the same for every sentence
        mixed, weights = self.attention(queries, keys, keys, need_weights=True,
                                        average_attn_weights=False)
        return self.read(mixed), weights


def batch(rng: np.random.Generator, n: int) -> tuple[mg.Tensor, mg.Tensor]:
    tokens = rng.integers(0, len(WORDS), size=(n, LENGTH))
    return mg.tensor(tokens), mg.tensor(tokens[:, ::-1].copy())


def attention_of(model: Reverser, tokens: mg.Tensor) -> np.ndarray:
    """The weights (heads, T, T) of one sentence, in eval mode, without a graph."""
    model.eval()
    with mg.no_grad():
        _, weights = model(tokens)
    model.train()
    return weights.numpy()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--out", default="runs/examples/05_attention_map")
    parser.add_argument("--quick", action="store_true", help="40 steps (a smoke test)")
    args = parser.parse_args()
    steps = 40 if args.quick else args.steps
    out = Path(args.out)

    mg.manual_seed(0)
    rng = np.random.default_rng(0)
    model = Reverser(len(WORDS), LENGTH)
    opt = Adam(model.parameters(), lr=3e-3)
    sentence = ["the", "cat", "sat", "on", "a", "mat", "under"]
    tokens = mg.tensor([[WORDS.index(w) for w in sentence]])
    before = attention_of(model, tokens)

    start = time.perf_counter()
    for step in range(1, steps + 1):
        x, target = batch(rng, 64)
        logits, _ = model(x)
        loss = F.cross_entropy(logits.reshape(-1, len(WORDS)), target.reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % max(1, steps // 8) == 0 or step == steps:
            accuracy = (logits.numpy().argmax(-1) == target.numpy()).mean()
            print(f"step {step:4d}  loss {loss.item():.3f}  words right {accuracy:.1%}")
    print(f"{steps} steps in {time.perf_counter() - start:.1f} s")

    weights = attention_of(model, tokens)           # (heads, T, T)
    mean = weights.mean(axis=0)                     # what the layer does, heads averaged
    logits, _ = model(tokens)
    written = [WORDS[i] for i in logits.numpy()[0].argmax(-1)]
    print(f"\ninput:   {' '.join(sentence)}\nwritten: {' '.join(written)}")
    print("attention, heads averaged (rows: output positions, columns: input words):")
    print("          " + " ".join(f"{w:>6}" for w in sentence))
    for i, row in enumerate(mean):
        print(f"  out {i} {written[i]:>5} " + " ".join(f"{v:6.2f}" for v in row))
    anti = np.fliplr(mean).diagonal().mean()        # weight of output i on input 6 - i
    anti_before = np.fliplr(before.mean(0)).diagonal().mean()
    print(f"mean weight on the anti-diagonal (the word to copy): {anti:.2f} "
          f"(before training {anti_before:.2f}, uniform would be {1 / LENGTH:.2f})")

    rows = [f"{i}: {w}" for i, w in enumerate(written)]
    scale = dict(vmin=0.0, vmax=1.0)                # weights are probabilities: one scale
    pictures = [heatmap_picture(before.mean(0), [f"{i}" for i in range(LENGTH)], sentence,
                                title="before training, heads averaged", **scale),
                heatmap_picture(mean, rows, sentence, title=f"after {steps} steps", **scale)]
    print(f"wrote {save_pictures(pictures, out / 'attention.png')}")
    heads = [heatmap_picture(w, rows, sentence, title=f"head {h}", **scale)
             for h, w in enumerate(weights)]
    print(f"wrote {save_pictures(heads, out / 'attention_heads.png')}")
    print("\nWhat to look for: after training, a dark anti-diagonal (output i copies input "
          "6 - i), where before it was a pale smear.\nEach head can attend on its own; the "
          "layer's output mixes them (the picture shows their average).")


if __name__ == "__main__":
    main()
