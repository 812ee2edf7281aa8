"""Captioned MNIST digits: the same text-to-image model trains on ``--data digits``.

Each image is an MNIST digit (the subset shipped with minigan, ``minigan/data/mnist.py``)
with a caption drawn from a few phrasings of its label: "the digit seven", "a handwritten 7",
"a 7", "the number seven", "a handwritten digit seven", "seven".

The 28x28 grey digit becomes a 32x32 RGB image by **padding** 2 pixels of background on each
side and repeating the grey channel three times (white digit on black, like the shapes). Why
pad rather than resize: MNIST digits are already centred in their 28x28 field (in a 20x20
box), so the 2-pixel border only adds background, exactly as LeNet-5 padded MNIST to 32x32;
resizing would blur every stroke with interpolation and change the pixel statistics the digit
classifier was trained on, while padding keeps every original pixel (``images[..., 2:30, 2:30]``
gives the digit back, bit for bit).
"""
from __future__ import annotations

import numpy as np

from ..errors import ArgumentError
from .mnist import load_mnist
from .shapes import CANVAS, CaptionedBatch

DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
TEMPLATES = ("the digit {word}", "a handwritten {digit}", "a {digit}", "the number {word}",
             "a handwritten digit {word}", "{word}")
PAD = (CANVAS - 28) // 2


def to_rgb32(images: np.ndarray) -> np.ndarray:
    """float32 (N, 1, 28, 28) in [-1, 1] -> (N, 3, 32, 32): a 2-pixel border of background
    (-1), the grey channel repeated three times."""
    padded = np.pad(images, ((0, 0), (0, 0), (PAD, PAD), (PAD, PAD)), constant_values=-1)
    return np.repeat(padded, 3, axis=1).astype(np.float32, copy=False)


def digit_caption(label: int, template: int) -> str:
    return TEMPLATES[template].format(word=DIGIT_WORDS[label], digit=label)


def parse_digit_caption(text: str) -> int:
    """The digit a caption names (as a word or a numeral); ArgumentError if none or several."""
    words = text.lower().split()
    found = {i for i, w in enumerate(DIGIT_WORDS) if w in words}
    found |= {int(w) for w in words if w.isdigit() and len(w) == 1}
    if len(found) != 1:
        raise ArgumentError(f"parse_digit_caption: {text!r} names "
                            f"{'no digit' if not found else 'more than one digit'}")
    return found.pop()


class CaptionedDigits:
    """MNIST digits with captions; the interface of :class:`minigan.data.Shapes`
    (``sample``, ``batch``, ``negatives``, ``vocabulary``) with one attribute, "digit".

    split: "train" (the 4,000 training images of the shipped subset) or "test" (the 1,000
    held out); ``images`` may give other (N, 1, 28, 28) images with ``labels``.
    """

    attributes = ("digit",)
    image_shape = (3, CANVAS, CANVAS)

    def __init__(self, split: str = "train", seed: int = 0, images: np.ndarray | None = None,
                 labels: np.ndarray | None = None) -> None:
        if split not in ("train", "test"):
            raise ArgumentError(f"digits: split must be 'train' or 'test', got {split!r}")
        if images is None:
            images, labels = load_mnist(split=split)
        elif labels is None or len(labels) != len(images):
            raise ArgumentError("digits: give one label per image")
        self.split, self.seed = split, int(seed)
        self.images = to_rgb32(np.asarray(images, np.float32))
        self.labels = np.asarray(labels, np.int64)

    def vocabulary(self) -> list[str]:
        words = set(DIGIT_WORDS) | {str(d) for d in range(10)}
        for template in TEMPLATES:
            words.update(w for w in template.split() if not w.startswith("{"))
        return sorted(words)

    def captions(self, labels: np.ndarray, rng: np.random.Generator) -> list[str]:
        templates = rng.integers(0, len(TEMPLATES), len(labels))
        return [digit_caption(int(l), int(t)) for l, t in zip(labels.reshape(-1), templates)]

    def sample(self, n: int, rng: np.random.Generator) -> CaptionedBatch:
        rows = rng.integers(0, len(self.images), n)
        labels = self.labels[rows]
        return CaptionedBatch(self.images[rows], self.captions(labels, rng), labels[:, None],
                              np.ones((n, 1), bool))

    def batch(self, index: int, n: int) -> CaptionedBatch:
        return self.sample(n, np.random.default_rng([self.seed, int(index)]))

    def negatives(self, labels: np.ndarray, stated: np.ndarray, rng: np.random.Generator,
                  hard: float = 0.5) -> tuple[list[str], np.ndarray, np.ndarray]:
        """Captions of another digit (every negative is "hard" here: one attribute)."""
        other = (labels + rng.integers(1, 10, labels.shape)) % 10
        return self.captions(other, rng), other, stated.copy()
