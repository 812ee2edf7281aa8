"""The attribute classifier that scores text-to-image samples, and the scores built on it.

A small convolutional network, trained with minigan on renders of the captioned shapes (all
color-shape pairs, the held-out ones included, so it can judge the zero-shot test too), reads
the four attributes of an image back::

    Conv2d(3 -> 16, k4, s2, p1) -> LeakyReLU(0.2)                   16x16
    Conv2d(16 -> 32, k4, s2, p1) -> LeakyReLU(0.2)                  8x8
    Conv2d(32 -> 32, k4, s2, p1) -> LeakyReLU(0.2) -> Flatten       4x4
    Linear(512 -> 64) -> LeakyReLU(0.2)
    Linear(64 -> 3 + 7 + 2 + 5)                                     shape | color | size | position logits

About 59,000 weights (``minigan/models/attributes.npz``, ~230 KB); retrain it with
:func:`minigan.training.attributes.train_attribute_classifier` (it writes under ``runs/``).

The scores:

- :func:`score_attributes`: per-attribute accuracy over the images whose caption states that
  attribute, and whole-caption accuracy (every stated attribute right).
- :func:`diversity_ratio`: the mean pairwise distance of a prompt's samples over that of
  real renders of the same prompt (1: as varied as the data; near 0: one image per prompt).
- :func:`variety`: how many distinct values of each attribute appear among groups of samples
  of one caption, as the classifier reads them.
- :func:`object_counts`: whether each image holds one object, as the data's do: its bright
  pixels (any channel above half intensity) in 8-connected pieces, counted without the
  classifier, so a second blob or a shape torn in two shows even where the classifier
  still reads the right attributes; and how much of the object is a pure colour (each
  channel near 0 or near full) rather than a smear between two.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from .. import backend, nn
from ..autograd import Tensor, no_grad
from ..data.shapes import ATTRIBUTES, VALUES
from ..errors import ArgumentError, ShapeError
from ..ops.shape import split

WEIGHTS_PATH = Path(__file__).with_name("attributes.npz")
CHECKPOINT_KIND = "shapes-attribute-classifier"
HEAD_SIZES = tuple(len(VALUES[name]) for name in ATTRIBUTES)


class AttributeClassifier(nn.Module):
    """images (N, 3, 32, 32) in [-1, 1] -> a list of four logit tensors (shape, color, size,
    position), (N, 3), (N, 7), (N, 2), (N, 5)."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(3, 16, 4, stride=2, padding=1), nn.LeakyReLU(0.2),
            nn.Conv2d(16, 32, 4, stride=2, padding=1), nn.LeakyReLU(0.2),
            nn.Conv2d(32, 32, 4, stride=2, padding=1), nn.LeakyReLU(0.2),
            nn.Flatten(),
            nn.Linear(32 * 16, 64), nn.LeakyReLU(0.2),
            nn.Linear(64, sum(HEAD_SIZES)),
        )

    def forward(self, x: Tensor) -> list[Tensor]:
        if x.ndim != 4 or x.shape[1:] != (3, 32, 32):
            raise ShapeError(f"AttributeClassifier: expected images of shape (N, 3, 32, 32), "
                             f"got {x.shape}")
        return list(split(self.body(x), list(HEAD_SIZES), axis=1))


def load_attribute_classifier(path: str | Path | None = None, device: str = "cpu"
                              ) -> AttributeClassifier:
    """The trained classifier (the shipped weights by default), in eval mode on ``device``."""
    from ..training.checkpoint import load_checkpoint
    state = load_checkpoint(Path(path) if path is not None else WEIGHTS_PATH, CHECKPOINT_KIND)
    model = AttributeClassifier()
    model.load_state_dict(state["model"])
    return model.to(device).eval()


def predict(model: AttributeClassifier, images, batch_size: int = 512) -> np.ndarray:
    """int64 (N, 4): the attribute values the classifier reads from each image (columns in
    ``ATTRIBUTES`` order). ``images``: a Tensor or an array (N, 3, 32, 32) in [-1, 1]."""
    data = images.data if isinstance(images, Tensor) else images
    device = next(model.parameters()).device
    was = model.training
    model.eval()
    out = []
    with no_grad():
        for start in range(0, len(data), batch_size):
            chunk = Tensor(backend.to_device(backend.as_numpy(data[start:start + batch_size])
                                             .astype(np.float32), device))
            logits = model(chunk)
            out.append(np.stack([backend.as_numpy(l.data).argmax(1) for l in logits], axis=1))
    model.train(was)
    return np.concatenate(out) if out else np.zeros((0, len(ATTRIBUTES)), np.int64)


# ---------------------------------------------------------------------------- scores


def score_attributes(predicted: np.ndarray, labels: np.ndarray, stated: np.ndarray) -> dict:
    """Accuracy against what each caption asked for: ``{"shape": ..., "color": ...,
    "size": ..., "position": ..., "caption": ...}``. An attribute's accuracy counts only the
    images whose caption states it (None if none does); "caption" is the share of images
    with every stated attribute right."""
    right = predicted == labels
    scores = {}
    for k, name in enumerate(ATTRIBUTES):
        asked = stated[:, k]
        scores[name] = float(right[asked, k].mean()) if asked.any() else None
    scores["caption"] = float(np.all(right | ~stated, axis=1).mean()) if len(labels) else None
    return scores


def mean_pairwise_distance(images) -> float:
    """The mean Euclidean distance between every two of ``images`` (N >= 2)."""
    flat = backend.as_numpy(getattr(images, "data", images)).reshape(len(images), -1)
    flat = flat.astype(np.float64)
    squared = (flat * flat).sum(1)
    gram = squared[:, None] + squared[None, :] - 2 * flat @ flat.T
    n = len(flat)
    upper = np.sqrt(np.maximum(gram[np.triu_indices(n, 1)], 0))
    return float(upper.mean())


def diversity_ratio(generated, real) -> float:
    """mean pairwise distance of ``generated`` / that of ``real`` (renders of the same prompt)."""
    return mean_pairwise_distance(generated) / mean_pairwise_distance(real)


def variety(predicted: np.ndarray, group: int = 8) -> dict:
    """Mean number of distinct values of each attribute within consecutive groups of
    ``group`` predictions (one caption's samples): ``{"shape": ..., ..., "position": ...}``."""
    n = len(predicted) // group * group
    groups = predicted[:n].reshape(-1, group, predicted.shape[1])
    return {name: float(np.mean([len(np.unique(g[:, k])) for g in groups]))
            for k, name in enumerate(ATTRIBUTES)}


def _components(foreground: np.ndarray) -> np.ndarray:
    """8-connected labels of a boolean (N, H, W) array: each foreground pixel ends with the
    smallest flat index of its piece (min-label propagation to a fixed point), 0 elsewhere."""
    N, H, W = foreground.shape
    big = N * H * W + 1
    labels = np.where(foreground, np.arange(1, big, dtype=np.int64).reshape(N, H, W), big)
    while True:
        padded = np.pad(labels, ((0, 0), (1, 1), (1, 1)), constant_values=big)
        smallest = labels.copy()
        for dy in (0, 1, 2):
            for dx in (0, 1, 2):
                np.minimum(smallest, padded[:, dy:dy + H, dx:dx + W], out=smallest)
        smallest = np.where(foreground, smallest, big)
        if np.array_equal(smallest, labels):
            return np.where(foreground, labels, 0)
        labels = smallest


def object_pieces(images, min_pixels: int = 4) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per image of ``images`` ((N, 3, H, W) in [-1, 1]): the number of pieces of at least
    ``min_pixels`` bright pixels (any channel above 0, 8-connected), the number of bright
    pixels, and how many of them are of a pure colour (every channel within a quarter of 0
    or of full intensity); three int arrays (N,). :func:`object_counts` sums them up."""
    x = backend.as_numpy(getattr(images, "data", images)).astype(np.float32, copy=False)
    foreground = x.max(axis=1) > 0
    labels = _components(foreground)
    counts = np.zeros(len(x), dtype=np.int64)
    found = labels[labels > 0]
    if found.size:
        pieces, sizes = np.unique(found, return_counts=True)
        image_of = (pieces - 1) // (x.shape[2] * x.shape[3])
        np.add.at(counts, image_of[sizes >= min_pixels], 1)
    pure = (np.abs(np.abs(x) - 1) <= 0.5).all(axis=1) & foreground
    return counts, foreground.sum(axis=(1, 2)), pure.sum(axis=(1, 2))


def object_counts(images=None, min_pixels: int = 4, pieces=None) -> dict:
    """How clean the objects of ``images`` ((N, 3, H, W) in [-1, 1]) are: ``{"one": share of
    images with exactly one piece of at least ``min_pixels`` bright pixels, "several": two
    or more, "none": no such piece, "pure": share of the bright pixels whose every channel
    is within a quarter of 0 or of full intensity}``. Real renders score one 1, pure 1.
    ``pieces``: :func:`object_pieces`'s arrays (or a subset of their rows) in place of
    the images."""
    if (images is None) == (pieces is None):
        raise ArgumentError("object_counts: give the images or their object_pieces, one of them")
    counts, bright, pure = object_pieces(images, min_pixels) if pieces is None else pieces
    return {"one": float((counts == 1).mean()), "several": float((counts >= 2).mean()),
            "none": float((counts == 0).mean()),
            "pure": float(pure.sum() / bright.sum()) if bright.sum() else 1.0}


def evaluate_text2img(sample: Callable[[Sequence[str], np.ndarray], np.ndarray],
                      classifier: AttributeClassifier,
                      noise: int | Callable[[np.random.Generator, int], np.ndarray],
                      n: int = 500, seed: int = 0,
                      p_state: float = 0.5, per_prompt: int = 16,
                      partial: Sequence[str] = ("a circle", "a square", "a triangle",
                                                "a large square", "a small circle")) -> dict:
    """The quality table of a text-to-image generator on the shapes.

    ``sample(prompts, z)`` returns images (N, 3, 32, 32) in [-1, 1] for N prompts and noises
    z; ``noise(rng, count)`` draws those noises (a trainer's ``draw_noise``), or give the
    width of Gaussian noise (an int). Returns ``{"seen": scores, "heldout": scores,
    "diversity": mean ratio, "variety": {caption: distinct counts over 8}, "variety_real":
    ..., "objects": {"seen" | "heldout" | "position open" | "real": :func:`object_counts`}}``
    (real: the renders of the seen captions) where
    scores are
    :func:`score_attributes`'s, over ``n`` fresh captions of the training distribution
    (seen) and of the held-out pairs."""
    from ..data.shapes import Shapes, parse_caption
    rng = np.random.default_rng([seed, 7])

    def draw(count: int) -> np.ndarray:
        if callable(noise):
            return noise(rng, count)
        return rng.standard_normal((count, int(noise))).astype(np.float32)

    result, objects = {}, {}
    for name, split_name in (("seen", "train"), ("heldout", "heldout")):
        batch = Shapes(split_name, p_state=p_state).sample(n, rng)
        images = sample(batch.captions, draw(n))
        result[name] = score_attributes(predict(classifier, images), batch.labels, batch.stated)
        pieces = object_pieces(images)
        objects[name] = object_counts(pieces=pieces)
        if name == "seen":  # where the caption leaves the position to the noise; the data
            objects["real"] = object_counts(batch.images)
            open_position = ~batch.stated[:, ATTRIBUTES.index("position")]
            objects["position open"] = object_counts(pieces=[a[open_position] for a in pieces])
    # diversity: a few fully and partly stated prompts, generated vs rendered
    data = Shapes("all")
    prompts = ["a large red circle in the top left", "a small white square in the center",
               "a large cyan triangle in the bottom right", "a small magenta circle",
               *partial]
    ratios, counts, real_counts = [], {}, {}
    for prompt in prompts:
        labels, stated = parse_caption(prompt)
        generated = sample([prompt] * per_prompt, draw(per_prompt))
        real = _renders_of(data, labels, stated, per_prompt, rng)
        ratios.append(diversity_ratio(generated, real))
    for prompt in partial:
        labels, stated = parse_caption(prompt)
        generated = sample([prompt] * 64, draw(64))
        real = _renders_of(Shapes("train"), labels, stated, 64, rng)
        counts[prompt] = variety(predict(classifier, generated))
        real_counts[prompt] = variety(predict(classifier, real))
    result["diversity"] = float(np.mean(ratios))
    result["diversity_per_prompt"] = dict(zip(prompts, [round(r, 3) for r in ratios]))
    result["variety"], result["variety_real"] = counts, real_counts
    result["objects"] = objects
    return result


def _renders_of(data, labels: np.ndarray, stated: np.ndarray, count: int,
                rng: np.random.Generator) -> np.ndarray:
    """``count`` renders of a caption: its stated attributes, the others as the data draws
    them (rejection from the data's own distribution, so held-out pairs stay excluded)."""
    found = []
    while sum(len(f) for f in found) < count:
        drawn, _ = data.draw_labels(4 * count, rng)
        keep = np.all(~stated | (drawn == labels), axis=1)
        found.append(drawn[keep])
    chosen = np.concatenate(found)[:count]
    return data.render(chosen, rng)[0]
