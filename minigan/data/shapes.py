"""Captioned shapes: a procedural text-to-image data set, drawn on the fly (no files).

Each image is a 32x32 RGB canvas, black background, holding one filled object:

- shape:    circle | square | triangle (upright: apex at the top, base at the bottom)
- color:    red, green, blue, yellow, magenta, cyan, white (pure RGB: (255, 0, 0), ...)
- size:     small (width = height = 8, 9 or 10 px) | large (14 to 18 px)
- position: top left | top right | bottom left | bottom right | center: the centre of the
            object's bounding box at (x, y) = (8, 8), (24, 8), (8, 24), (24, 24), (16, 16)
            (x right, y down), moved by up to +-2 px on each axis

and a caption ``"a {size} {color} {shape} in the {position}"`` where size, color and the
position phrase are each stated with probability ``p_state`` ("a red circle", "a large square
in the center"); an attribute the caption leaves out still has a value in the image, drawn at
random. Every attribute is returned as a label with the image, with a flag saying whether the
caption states it (``CaptionedBatch``).

Geometry, in whole pixels: an object of size d covers the box [x0, x0 + d) x [y0, y0 + d),
whose centre is (x0 + d/2, y0 + d/2). x0 and y0 are drawn uniformly among the integers that put
the centre within 2 px of the position's point **and** keep the whole box on the canvas (a large
object in a corner cannot move outwards by the full 2 px: an 18 px box centred at x = 6 would
lose 3 columns, and its size could no longer be read from the image). The masks, with pixel
(i, j) covering [j, j+1) x [i, i+1), so its centre is (j + 1/2, i + 1/2):

    square:    x0 <= j < x0 + d  and  y0 <= i < y0 + d
    circle:    (2j + 1 - 2cx)^2 + (2i + 1 - 2cy)^2 <= d^2        (radius d/2 about the centre)
    triangle:  y0 <= i < y0 + d  and  |2j + 1 - 2cx| <= i - y0 + 1 (half-width (k + 1)/2 in row k)

all in integers (2cx = 2x0 + d), so each object's bounding box is exactly d x d pixels.

Held out: the color-shape pairs (green, triangle), (blue, circle), (yellow, square) are never
drawn in the ``"train"`` split, neither as a stated nor as an unstated attribute, so no training
caption or image holds them. The ``"heldout"`` split draws only those pairs (with the colour
always stated: the pair in the caption is the point of the zero-shot test), and ``"all"``
draws every pair (what the attribute classifier trains on).

Drawing is vectorised: every mask of a batch comes from one broadcast comparison against the
pixel grid, so a batch of 64 takes ~2 ms on one core (~30,000 images/s, measured on a loaded
2-core machine; ``python -m minigan.data.shapes`` prints the rate), against ~300 ms for the
training step that uses it.
"""
from __future__ import annotations

from typing import NamedTuple, Sequence

import numpy as np

from ..errors import ArgumentError

CANVAS = 32
SHAPES = ("circle", "square", "triangle")
COLORS = ("red", "green", "blue", "yellow", "magenta", "cyan", "white")
RGB = np.array([(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0), (255, 0, 255),
                (0, 255, 255), (255, 255, 255)], dtype=np.uint8)
SIZES = ("small", "large")
SIZE_PIXELS = ((8, 10), (14, 18))        # inclusive ranges of the object's width and height
POSITIONS = ("top left", "top right", "bottom left", "bottom right", "center")
POSITION_CENTERS = np.array([(8, 8), (24, 8), (8, 24), (24, 24), (16, 16)], dtype=np.int64)
JITTER = 2
HELD_OUT_PAIRS = (("green", "triangle"), ("blue", "circle"), ("yellow", "square"))
SPLITS = ("train", "heldout", "all")

# The label columns of a batch, in order; shape is always stated.
ATTRIBUTES = ("shape", "color", "size", "position")
VALUES = {"shape": SHAPES, "color": COLORS, "size": SIZES, "position": POSITIONS}
SHAPE, COLOR, SIZE, POSITION = range(4)


class CaptionedBatch(NamedTuple):
    """Images and what they show.

    images:   float32 (N, 3, H, W) in [-1, 1] (background -1)
    captions: N strings
    labels:   int64 (N, A): one column per attribute of ``attributes`` (indices into the
              attribute's values), the image's true value whether stated or not
    stated:   bool (N, A): True where the caption states that attribute
    boxes:    int64 (N, 4): the object's bounding box (x0, y0, width, height), or None
    """
    images: np.ndarray
    captions: list
    labels: np.ndarray
    stated: np.ndarray
    boxes: np.ndarray | None = None


def _pair_index(pairs: Sequence[tuple[str, str]]) -> np.ndarray:
    """(color, shape) names -> an int64 (P, 2) array of (shape, color) indices."""
    return np.array([(SHAPES.index(s), COLORS.index(c)) for c, s in pairs], dtype=np.int64)


def allowed_pairs(split: str, held_out: Sequence[tuple[str, str]] = HELD_OUT_PAIRS) -> np.ndarray:
    """The (shape, color) index pairs a split draws from, int64 (P, 2)."""
    if split not in SPLITS:
        raise ArgumentError(f"shapes: split must be one of {', '.join(SPLITS)}, got {split!r}")
    every = [(c, s) for s in SHAPES for c in COLORS]
    held = [tuple(p) for p in held_out]
    for c, s in held:
        if c not in COLORS or s not in SHAPES:
            raise ArgumentError(f"shapes: held-out pair {(c, s)!r} is not a (color, shape) pair "
                                f"of {COLORS} x {SHAPES}")
    chosen = {"train": [p for p in every if p not in held], "heldout": held, "all": every}[split]
    if not chosen:
        raise ArgumentError(f"shapes: the {split!r} split has no color-shape pair to draw")
    return _pair_index(chosen)


# ---------------------------------------------------------------------------- drawing


def draw_boxes(size_class: np.ndarray, position: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Bounding boxes (x0, y0, d, d), int64 (N, 4), for objects of the given size classes
    and positions: d uniform in the class's range, the box's centre within ``JITTER`` px of
    the position's point and the box inside the canvas."""
    n = len(size_class)
    low = np.array([r[0] for r in SIZE_PIXELS])[size_class]
    high = np.array([r[1] for r in SIZE_PIXELS])[size_class]
    d = rng.integers(low, high + 1)
    centers = POSITION_CENTERS[position]                           # (N, 2): x, y
    # |x0 + d/2 - c| <= J  <=>  ceil(c - J - d/2) <= x0 <= floor(c + J - d/2), and 0 <= x0 <= W - d
    lo = np.maximum(-((-(2 * (centers - JITTER) - d[:, None])) // 2), 0)
    hi = np.minimum((2 * (centers + JITTER) - d[:, None]) // 2, CANVAS - d[:, None])
    corner = lo + np.floor(rng.random((n, 2)) * (hi - lo + 1)).astype(np.int64)
    return np.concatenate([corner, d[:, None], d[:, None]], axis=1)


def object_masks(shape: np.ndarray, boxes: np.ndarray, canvas: int = CANVAS) -> np.ndarray:
    """bool (N, canvas, canvas): the pixels each object covers (the formulas of the module
    docstring), for a whole batch at once."""
    x0, y0, d = (boxes[:, k, None, None] for k in (0, 1, 2))
    i = np.arange(canvas)[None, :, None]                           # rows (y)
    j = np.arange(canvas)[None, None, :]                           # columns (x)
    u, v = 2 * j + 1 - (2 * x0 + d), 2 * i + 1 - (2 * y0 + d)      # 2 * (pixel centre - box centre)
    rows = (i >= y0) & (i < y0 + d)
    square = rows & (j >= x0) & (j < x0 + d)
    circle = u * u + v * v <= d * d
    triangle = rows & (np.abs(u) <= i - y0 + 1)
    kind = shape[:, None, None]
    return np.where(kind == 0, circle, np.where(kind == 1, square, triangle))


def render(shape: np.ndarray, color: np.ndarray, boxes: np.ndarray, canvas: int = CANVAS) -> np.ndarray:
    """float32 (N, 3, canvas, canvas) in [-1, 1]: each object filled with its colour on black."""
    mask = object_masks(np.asarray(shape), np.asarray(boxes), canvas)
    rgb = (RGB[np.asarray(color)].astype(np.float32) / np.float32(127.5) - 1)[:, :, None, None]
    return np.where(mask[:, None], rgb, np.float32(-1)).astype(np.float32, copy=False)


# ---------------------------------------------------------------------------- captions


def caption(labels: Sequence[int], stated: Sequence[bool]) -> str:
    """The caption of one image: labels and stated flags in ``ATTRIBUTES`` order."""
    shape, color, size, position = (int(v) for v in labels)
    words = ["a"]
    if stated[SIZE]:
        words.append(SIZES[size])
    if stated[COLOR]:
        words.append(COLORS[color])
    words.append(SHAPES[shape])
    if stated[POSITION]:
        words += ["in", "the", POSITIONS[position]]
    return " ".join(words)


def parse_caption(text: str) -> tuple[np.ndarray, np.ndarray]:
    """What a caption asks for: (labels int64 (4,), stated bool (4,)) in ``ATTRIBUTES``
    order, values of unstated attributes 0. Reads the words of any phrasing that names
    a shape ("a big red circle top left" too: it looks for the attribute words). A text that
    names no shape, or two values of one attribute, raises ArgumentError."""
    words = " ".join(text.lower().replace("-", " ").split())
    labels, stated = np.zeros(4, np.int64), np.zeros(4, bool)
    padded = f" {words} "
    for k, name in enumerate(ATTRIBUTES):
        found = [i for i, value in enumerate(VALUES[name]) if f" {value} " in padded]
        if len(found) > 1:
            raise ArgumentError(f"parse_caption: {text!r} names more than one {name} "
                                f"({', '.join(VALUES[name][i] for i in found)})")
        if found:
            labels[k], stated[k] = found[0], True
    if not stated[SHAPE]:
        raise ArgumentError(f"parse_caption: {text!r} names no shape (one of {', '.join(SHAPES)})")
    return labels, stated


def describes(labels: np.ndarray, stated: np.ndarray, image_labels: np.ndarray) -> np.ndarray:
    """bool (N,): whether each caption (its labels where stated) is true of each image."""
    return np.all(~stated | (labels == image_labels), axis=-1)


def states_held_out_pair(labels: np.ndarray, stated: np.ndarray,
                         pairs: np.ndarray) -> np.ndarray:
    """bool (N,): whether a caption states both the shape and the colour of a held-out pair."""
    both = stated[:, SHAPE] & stated[:, COLOR]
    hit = ((labels[:, None, SHAPE] == pairs[None, :, 0]) &
           (labels[:, None, COLOR] == pairs[None, :, 1])).any(axis=1)
    return both & hit


# ---------------------------------------------------------------------------- the data set


class Shapes:
    """The captioned shapes data set (see the module docstring).

    >>> from minigan.data import Shapes
    >>> data = Shapes("train", seed=0)
    >>> batch = data.batch(0, 64)               # the same 64 images for (seed, 0), always
    >>> batch.images.shape, batch.captions[0]
    ((64, 3, 32, 32), 'a small red triangle in the top right')

    ``sample(n, rng)`` draws from any NumPy ``Generator``; ``batch(index, n)`` from one seeded
    with ``(seed, index)``. ``negatives`` draws captions that are false of given images.
    """

    attributes = ATTRIBUTES
    image_shape = (3, CANVAS, CANVAS)

    def __init__(self, split: str = "train", p_state: float = 0.5, seed: int = 0,
                 held_out: Sequence[tuple[str, str]] = HELD_OUT_PAIRS) -> None:
        if not 0.0 <= p_state <= 1.0:
            raise ArgumentError(f"shapes: p_state must be in [0, 1], got {p_state}")
        self.split, self.p_state, self.seed = split, float(p_state), int(seed)
        self.pairs = allowed_pairs(split, held_out)
        self.held_out = _pair_index(held_out) if held_out else np.zeros((0, 2), np.int64)

    def vocabulary(self) -> list[str]:
        """Every word a caption of this data set can hold (held-out splits use the same words)."""
        words = {"a", "in", "the"}
        for name in ATTRIBUTES:
            for value in VALUES[name]:
                words.update(value.split())
        return sorted(words)

    def draw_labels(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """(labels int64 (n, 4), stated bool (n, 4)) of n random images and their captions."""
        pair = self.pairs[rng.integers(0, len(self.pairs), n)]
        labels = np.stack([pair[:, 0], pair[:, 1], rng.integers(0, len(SIZES), n),
                           rng.integers(0, len(POSITIONS), n)], axis=1)
        stated = rng.random((n, 4)) < self.p_state
        stated[:, SHAPE] = True
        if self.split == "heldout":
            stated[:, COLOR] = True
        return labels, stated

    def render(self, labels: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Images (float32 (n, 3, 32, 32)) and boxes of objects with the given labels."""
        boxes = draw_boxes(labels[:, SIZE], labels[:, POSITION], rng)
        return render(labels[:, SHAPE], labels[:, COLOR], boxes), boxes

    def sample(self, n: int, rng: np.random.Generator) -> CaptionedBatch:
        """n fresh images with captions and labels."""
        labels, stated = self.draw_labels(n, rng)
        images, boxes = self.render(labels, rng)
        return CaptionedBatch(images, [caption(l, s) for l, s in zip(labels, stated)], labels,
                              stated, boxes)

    def batch(self, index: int, n: int) -> CaptionedBatch:
        """Batch ``index`` of n images: the same for the same (seed, index), in any process."""
        return self.sample(n, np.random.default_rng([self.seed, int(index)]))

    def captions(self, labels: np.ndarray, stated: np.ndarray) -> list[str]:
        return [caption(l, s) for l, s in zip(labels, stated)]

    @staticmethod
    def completions(labels: np.ndarray, stated: np.ndarray) -> tuple[list[str], np.ndarray]:
        """Each caption that leaves the position open as its five completions, the caption
        with each position stated ("a circle": "a circle in the top left", ..., "a circle in
        the center"); the others as they are. Returns (captions, owner: int64, the row of
        ``labels`` each came from)."""
        texts, owner = [], []
        for row, (values, says) in enumerate(zip(labels, stated)):
            if says[POSITION]:
                texts.append(caption(values, says))
                owner.append(row)
                continue
            filled, states = np.array(values), np.array(says)
            states[POSITION] = True
            for position in range(len(POSITIONS)):
                filled[POSITION] = position
                texts.append(caption(filled, states))
                owner.append(row)
        return texts, np.array(owner, np.int64)

    def negatives(self, labels: np.ndarray, stated: np.ndarray, rng: np.random.Generator,
                  hard: float = 0.5) -> tuple[list[str], np.ndarray, np.ndarray]:
        """Captions that are false of the images with ``labels`` (``stated``: their own
        captions' flags): with probability ``hard`` the image's own caption with one stated
        attribute changed (a hard negative), else a random caption of the split's
        distribution that does not describe the image. No negative states a held-out
        colour-shape pair of this split's held-out list (unless the split is not "train").
        Returns (captions, labels, stated)."""
        n = len(labels)
        neg_labels, neg_stated = self.draw_labels(n, rng)
        bad = describes(neg_labels, neg_stated, labels)
        while bad.any():  # redraw the random negatives that happen to be true of the image
            redo_labels, redo_stated = self.draw_labels(int(bad.sum()), rng)
            neg_labels[bad], neg_stated[bad] = redo_labels, redo_stated
            bad = describes(neg_labels, neg_stated, labels)
        forbidden = self.held_out if self.split == "train" else np.zeros((0, 2), np.int64)
        for i in np.flatnonzero(rng.random(n) < hard):
            neg_labels[i], neg_stated[i] = self._changed(labels[i], stated[i], forbidden, rng)
        return self.captions(neg_labels, neg_stated), neg_labels, neg_stated

    @staticmethod
    def _changed(labels: np.ndarray, stated: np.ndarray, forbidden: np.ndarray,
                 rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """The caption (labels, stated) with one stated attribute set to another value."""
        out = labels.copy()
        k = int(rng.choice(np.flatnonzero(stated)))
        options = [v for v in range(len(VALUES[ATTRIBUTES[k]])) if v != labels[k]]
        if k in (SHAPE, COLOR) and stated[SHAPE] and stated[COLOR]:
            other = COLOR if k == SHAPE else SHAPE
            options = [v for v in options
                       if not any((v if k == SHAPE else labels[other]) == s and
                                  (v if k == COLOR else labels[other]) == c for s, c in forbidden)]
        out[k] = options[int(rng.integers(0, len(options)))]
        return out, stated.copy()


if __name__ == "__main__":  # python -m minigan.data.shapes: the drawing rate
    import time
    data, generator = Shapes(), np.random.default_rng(0)
    data.sample(64, generator)
    t0, count = time.perf_counter(), 0
    while time.perf_counter() - t0 < 1.0:
        data.sample(64, generator)
        count += 64
    print(f"shapes: {count / (time.perf_counter() - t0):,.0f} images/s (batches of 64, one thread)")
