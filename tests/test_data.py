"""MNIST loading (shipped subset and IDX files), the IDX reader's errors, and batching."""
from __future__ import annotations

import gzip

import numpy as np
import pytest

from minigan.data import Batches, IDXError, load_mnist, read_idx, write_idx
from minigan.data.mnist import SUBSET_PATH


# ---------------------------------------------------------------------------- shipped subset


def test_shipped_subset_is_small_and_balanced():
    assert SUBSET_PATH.stat().st_size < 2_000_000
    with np.load(SUBSET_PATH) as f:
        assert f["images"].dtype == np.uint8 and f["images"].shape == (5000, 28, 28)
        assert np.bincount(f["labels"]).tolist() == [500] * 10


@pytest.mark.parametrize("split,n", [("train", 4000), ("test", 1000), ("all", 5000)])
def test_load_subset_splits(split, n):
    images, labels = load_mnist(split=split)
    assert images.shape == (n, 1, 28, 28) and images.dtype == np.float32
    assert labels.shape == (n,) and labels.dtype == np.int64
    assert images.min() == -1.0 and images.max() == 1.0
    assert np.bincount(labels).tolist() == [n // 10] * 10


def test_split_is_fixed_and_disjoint():
    train, test = load_mnist(split="train"), load_mnist(split="test")
    every = load_mnist(split="all")
    # the held-out images are the last 100 of each digit's 500 (the file is sorted by label)
    np.testing.assert_array_equal(test.images[:100], every.images[400:500])
    np.testing.assert_array_equal(train.images[:400], every.images[:400])
    flat_train = {img.tobytes() for img in train.images}
    assert not any(img.tobytes() in flat_train for img in test.images)


def test_bad_split():
    with pytest.raises(ValueError, match="split"):
        load_mnist(split="validation")


# ---------------------------------------------------------------------------- IDX files


def _write_mnist(folder, n=12, gz=False, t10k=False, rng=np.random.default_rng(0)):
    suffix = ".gz" if gz else ""
    images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, n, dtype=np.uint8)
    write_idx(folder / f"train-images-idx3-ubyte{suffix}", images)
    write_idx(folder / f"train-labels-idx1-ubyte{suffix}", labels)
    if t10k:
        write_idx(folder / f"t10k-images-idx3-ubyte{suffix}", images[:5])
        write_idx(folder / f"t10k-labels-idx1-ubyte{suffix}", labels[:5])
    return images, labels


@pytest.mark.parametrize("gz", [False, True])
def test_idx_folder_round_trip(tmp_path, gz):
    images, labels = _write_mnist(tmp_path, gz=gz, t10k=True)
    data = load_mnist(tmp_path)
    np.testing.assert_allclose(data.images[:, 0], images / 127.5 - 1, atol=1e-6)
    np.testing.assert_array_equal(data.labels, labels)
    assert load_mnist(tmp_path, split="test").images.shape == (5, 1, 28, 28)
    assert load_mnist(tmp_path, split="all").images.shape == (17, 1, 28, 28)


def test_idx_header_by_hand(tmp_path):
    """The reader follows the format: magic 0x00000801, big-endian sizes, then the bytes."""
    raw = bytes([0, 0, 8, 1]) + (3).to_bytes(4, "big") + bytes([7, 8, 9])
    (tmp_path / "x").write_bytes(raw)
    np.testing.assert_array_equal(read_idx(tmp_path / "x"), [7, 8, 9])
    raw = bytes([0, 0, 0x0B, 1]) + (2).to_bytes(4, "big") + np.array([1, -2], ">i2").tobytes()
    (tmp_path / "y").write_bytes(raw)
    np.testing.assert_array_equal(read_idx(tmp_path / "y"), [1, -2])


def test_missing_folder_and_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such data folder"):
        load_mnist(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte"):
        load_mnist(tmp_path)
    _write_mnist(tmp_path)
    with pytest.raises(FileNotFoundError, match="t10k-images"):
        load_mnist(tmp_path, split="test")


def test_bad_magic_number(tmp_path):
    _write_mnist(tmp_path)
    (tmp_path / "train-images-idx3-ubyte").write_bytes(b"\x12\x34\x56\x78" + bytes(100))
    with pytest.raises(IDXError, match=r"train-images-idx3-ubyte.*bad magic number 12345678"):
        load_mnist(tmp_path)


def test_size_mismatch(tmp_path):
    _write_mnist(tmp_path)
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-10])  # truncated
    with pytest.raises(IDXError, match=r"train-images-idx3-ubyte: size mismatch"):
        load_mnist(tmp_path)


def test_label_count_mismatch(tmp_path):
    _write_mnist(tmp_path, n=12)
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(11, np.uint8))
    with pytest.raises(IDXError, match="11 labels for 12 images"):
        load_mnist(tmp_path)


def test_wrong_image_shape_and_corrupt_gzip(tmp_path):
    write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((2, 32, 32), np.uint8))
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(2, np.uint8))
    with pytest.raises(IDXError, match=r"expected uint8 images of shape \(N, 28, 28\)"):
        load_mnist(tmp_path)
    bad = tmp_path / "bad.gz"
    bad.write_bytes(gzip.compress(b"0123456789")[:12])
    with pytest.raises(IDXError, match="bad.gz"):
        read_idx(bad)


# ---------------------------------------------------------------------------- batching


def test_batches_shuffle_drop_last_and_seed(device):
    x = np.arange(10, dtype=np.float32)[:, None]
    y = np.arange(10)
    loader = Batches(x, y, batch_size=3, seed=1, device=device)
    assert len(loader) == 3
    epoch = list(loader)
    assert len(epoch) == 3 and all(b[0].shape == (3, 1) for b in epoch)
    assert epoch[0][0].device == loader.device
    seen = np.concatenate([b[1].numpy() for b in epoch])
    assert len(set(seen.tolist())) == 9                     # no repeats, one dropped
    np.testing.assert_array_equal(seen, np.concatenate([b[0].numpy()[:, 0] for b in epoch]))
    assert seen.tolist() != sorted(seen.tolist())            # shuffled
    again = np.concatenate([b[1].numpy() for b in Batches(x, y, batch_size=3, seed=1)])
    np.testing.assert_array_equal(seen, again)               # same seed, same order
    second = np.concatenate([b[1].numpy() for b in loader])  # the next epoch differs
    assert second.tolist() != seen.tolist()
    assert len(Batches(x, batch_size=3, drop_last=False)) == 4


def test_batches_resume_from_state():
    x = np.arange(20, dtype=np.float32)
    a = Batches(x, batch_size=4, seed=3)
    stream = a.forever()
    first = [next(stream).numpy() for _ in range(7)]
    state = a.state_dict()
    rest = [next(stream).numpy() for _ in range(5)]
    b = Batches(x, batch_size=4, seed=3)
    b.load_state_dict(state)
    resumed = b.forever()
    for want in rest:
        np.testing.assert_array_equal(next(resumed).numpy(), want)
    assert len(first) == 7


def test_batches_bad_arguments():
    with pytest.raises(ValueError, match="different lengths"):
        Batches(np.zeros(3), np.zeros(4), batch_size=2)
    with pytest.raises(ValueError, match="larger than"):
        Batches(np.zeros(3), batch_size=4)
