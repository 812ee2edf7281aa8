"""The captioned shapes data set against its spec (every attribute read back from the pixels),
the held-out pairs, the negatives, determinism, and the captioned digits."""
from __future__ import annotations

import numpy as np
import pytest

import minigan as mg
from minigan.data import CaptionedDigits, Shapes
from minigan.data.captioned_digits import DIGIT_WORDS, parse_digit_caption, to_rgb32
from minigan.data.shapes import (ATTRIBUTES, caption, COLORS, HELD_OUT_PAIRS, POSITION_CENTERS, RGB,
                                 SHAPES, SIZE_PIXELS, describes, object_masks, parse_caption,
                                 states_held_out_pair)
from minigan.data.tokenizer import Tokenizer


def _read_back(image: np.ndarray) -> dict:
    """What an image shows, from its pixels alone: the object's mask, box, colour, shape."""
    pixels = np.round((image + 1) * 127.5).astype(int)                  # (3, H, W) in 0..255
    mask = pixels.any(axis=0)
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    y0, x0 = rows[0], cols[0]
    h, w = rows[-1] - y0 + 1, cols[-1] - x0 + 1
    colours = {tuple(pixels[:, i, j]) for i, j in zip(*np.nonzero(mask))}
    box = mask[y0:y0 + h, x0:x0 + w]
    top, bottom, middle = box[0].sum(), box[-1].sum(), box[h // 2].sum()
    if box.all():
        shape = "square"
    elif bottom == w and top < bottom / 3 and all(np.diff(box.sum(1)) >= 0):
        shape = "triangle"                     # widens downwards to a full base, apex on top
    elif middle == w and top == bottom and top < w:
        shape = "circle"                        # symmetric, full width in the middle only
    else:
        shape = "unknown"
    connected = all(np.ptp(np.flatnonzero(r)) + 1 == r.sum() for r in box if r.any())
    return {"box": (x0, y0, w, h), "colours": colours, "shape": shape, "one_piece": connected,
            "area": int(mask.sum()), "box_area": int(box.sum())}


@pytest.fixture(scope="module")
def train_batch():
    return Shapes("train", seed=3).batch(0, 1500)


def test_images_are_32x32_rgb_on_black(train_batch):
    images = train_batch.images
    assert images.shape == (1500, 3, 32, 32) and images.dtype == np.float32
    assert set(np.unique(images)) == {-1.0, 1.0}           # pure colours on a black background
    assert ((images == -1).all(1).mean((1, 2)) > 0.5).all()  # mostly background, one object


def test_every_attribute_is_read_back_from_the_pixels(train_batch):
    for image, labels, box in zip(train_batch.images, train_batch.labels, train_batch.boxes):
        seen = _read_back(image)
        shape, color, size, position = labels
        x0, y0, w, h = seen["box"]
        assert (x0, y0, w, h) == tuple(box)
        low, high = SIZE_PIXELS[size]
        assert w == h and low <= w <= high                   # width AND height in the range
        cx, cy = x0 + w / 2, y0 + h / 2                      # the bounding box's centre
        assert abs(cx - POSITION_CENTERS[position][0]) <= 2
        assert abs(cy - POSITION_CENTERS[position][1]) <= 2
        assert seen["colours"] == {tuple(RGB[color])}        # one filled colour
        assert seen["shape"] == SHAPES[shape]
        assert seen["one_piece"]


def test_attribute_values_all_occur(train_batch):
    labels = train_batch.labels
    for k, name in enumerate(ATTRIBUTES):
        counts = np.bincount(labels[:, k])
        assert len(counts) == {"shape": 3, "color": 7, "size": 2, "position": 5}[name]
        assert counts.min() > 0
    # the jitter spans the whole +-2 px where the canvas allows it (small objects anywhere)
    small = train_batch.labels[:, 2] == 0
    centre2 = 2 * train_batch.boxes[small, :2] + train_batch.boxes[small, 2:]
    offsets = centre2 - 2 * POSITION_CENTERS[train_batch.labels[small, 3]]
    assert offsets.min() == -4 and offsets.max() == 4       # in half pixels: -2 .. +2 px


def test_the_three_masks_have_exact_d_by_d_boxes():
    for d in range(8, 19):
        boxes = np.array([[3, 5, d, d]] * 3)
        for shape, mask in enumerate(object_masks(np.arange(3), boxes)):
            rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
            assert (rows[0], rows[-1], cols[0], cols[-1]) == (5, 5 + d - 1, 3, 3 + d - 1), (shape, d)


def test_captions_say_what_the_image_shows(train_batch):
    for text, labels, stated in zip(train_batch.captions, train_batch.labels, train_batch.stated):
        assert text == text.lower() and text.startswith("a ")
        asked, said = parse_caption(text)
        np.testing.assert_array_equal(said, stated)
        np.testing.assert_array_equal(asked[said], labels[said])
    stated = train_batch.stated
    assert stated[:, 0].all()                                # the shape is always named
    assert 0.45 < stated[:, 1:].mean() < 0.55                # p_state = 0.5
    assert caption([0, 0, 1, 0], [True] * 4) == "a large red circle in the top left"
    assert caption([2, 5, 0, 4], [True, False, False, True]) == "a triangle in the center"


@pytest.mark.parametrize("p,expected", [(0.0, "shape only"), (1.0, "everything")])
def test_p_state_extremes(p, expected):
    batch = Shapes(p_state=p).batch(0, 200)
    assert batch.stated.all() if p == 1.0 else not batch.stated[:, 1:].any()


def test_held_out_pairs_are_never_drawn_in_training():
    held = {(SHAPES.index(s), COLORS.index(c)) for c, s in HELD_OUT_PAIRS}
    data = Shapes("train", seed=11)
    for index in range(10):
        batch = data.batch(index, 2000)
        pairs = set(map(tuple, batch.labels[:, :2]))
        assert not pairs & held                              # not even as unstated attributes
        assert len(pairs) == 18
        for text in batch.captions:
            assert not any(f"{c} {s}" in text for c, s in HELD_OUT_PAIRS)
        # the pixels agree: no green triangle, blue circle or yellow square is ever drawn
        for image in batch.images[:100]:
            seen = _read_back(image)
            colour = COLORS[[tuple(c) for c in RGB].index(seen["colours"].pop())]
            assert (colour, seen["shape"]) not in HELD_OUT_PAIRS


def test_held_out_split_draws_only_held_out_pairs_with_the_colour_stated():
    batch = Shapes("heldout", seed=1).batch(0, 600)
    held = {(SHAPES.index(s), COLORS.index(c)) for c, s in HELD_OUT_PAIRS}
    assert set(map(tuple, batch.labels[:, :2])) == held
    assert batch.stated[:, :2].all()
    assert all(any(f"{c} {s}" in t for c, s in HELD_OUT_PAIRS) for t in batch.captions)
    every = Shapes("all", seed=1).batch(0, 3000)
    assert len(set(map(tuple, every.labels[:, :2]))) == 21


def test_batches_are_deterministic_for_a_seed():
    a, b = Shapes(seed=5).batch(7, 64), Shapes(seed=5).batch(7, 64)
    np.testing.assert_array_equal(a.images, b.images)
    assert a.captions == b.captions
    c = Shapes(seed=6).batch(7, 64)
    assert a.captions != c.captions
    assert Shapes(seed=5).batch(8, 64).captions != a.captions


def test_negatives_are_false_of_their_images_and_never_state_held_out_pairs():
    data = Shapes("train", seed=2)
    rng = np.random.default_rng(0)
    held = data.held_out
    for _ in range(20):
        batch = data.sample(500, rng)
        captions, labels, stated = data.negatives(batch.labels, batch.stated, rng, hard=0.5)
        assert not describes(labels, stated, batch.labels).any()
        assert not states_held_out_pair(labels, stated, held).any()
        for text, l, s in zip(captions, labels, stated):
            said = parse_caption(text)
            np.testing.assert_array_equal(said[1], s)
            assert not any(f"{c} {sh}" in text for c, sh in HELD_OUT_PAIRS)
    # hard negatives: the true caption with exactly one stated attribute changed
    batch = data.sample(400, rng)
    _, labels, stated = data.negatives(batch.labels, batch.stated, rng, hard=1.0)
    np.testing.assert_array_equal(stated, batch.stated)
    changed = (labels != batch.labels) & stated
    assert (changed.sum(1) == 1).all()


def test_errors_name_the_option():
    with pytest.raises(mg.ArgumentError, match="split must be one of"):
        Shapes("validation")
    with pytest.raises(mg.ArgumentError, match="p_state"):
        Shapes(p_state=1.5)
    with pytest.raises(mg.ArgumentError, match="names no shape"):
        parse_caption("a red thing")
    with pytest.raises(mg.ArgumentError, match="more than one color"):
        parse_caption("a red blue circle")


def test_vocabulary_covers_every_caption():
    data = Shapes("all")
    tok = Tokenizer(data.vocabulary())
    batch = data.batch(0, 500)
    assert not any(tok.unknown_words(t) for t in batch.captions)
    assert max(len(t.split()) for t in batch.captions) <= 8


# ---------------------------------------------------------------------------- digits


def test_digits_are_padded_not_resized():
    data = CaptionedDigits("test")
    images, labels = mg.data.load_mnist(split="test")
    assert data.images.shape == (1000, 3, 32, 32)
    np.testing.assert_array_equal(data.images[:, 0, 2:30, 2:30], images[:, 0])
    np.testing.assert_array_equal(data.images[:, 0], data.images[:, 2])
    assert (data.images[:, :, :2] == -1).all() and (data.images[:, :, :, 30:] == -1).all()
    assert to_rgb32(images[:2]).shape == (2, 3, 32, 32)


def test_digit_captions_name_their_label():
    data = CaptionedDigits("train", seed=1)
    batch = data.batch(0, 300)
    tok = Tokenizer(data.vocabulary())
    assert batch.labels.shape == (300, 1) and batch.stated.all()
    for text, label in zip(batch.captions, batch.labels[:, 0]):
        assert parse_digit_caption(text) == label
        assert not tok.unknown_words(text)
    assert len(set(batch.captions)) > 40                     # several phrasings per digit
    assert "the digit seven" in {t for t in data.captions(np.full(200, 7), np.random.default_rng(0))}
    captions, other, _ = data.negatives(batch.labels, batch.stated, np.random.default_rng(0))
    assert (other != batch.labels).all()
    assert all(parse_digit_caption(t) == o for t, o in zip(captions, other[:, 0]))
    assert DIGIT_WORDS[7] == "seven"
