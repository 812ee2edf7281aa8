"""Training the digit classifier the evaluator uses (``minigan train classifier``).

Trained on the 4,000 training images of the shipped subset, with random shifts of up to
two pixels as augmentation, by Adam on the cross-entropy; the held-out accuracy is
measured on the 1,000 held-out images (which it never trains on).
"""
from __future__ import annotations

import math
import sys
import time
from pathlib import Path

import numpy as np

from .. import backend
from ..autograd import Tensor, no_grad
from ..backend import Generator, use_generator
from ..data import Batches, load_mnist
from ..functional import cross_entropy
from ..models.classifier import CHECKPOINT_KIND, DigitClassifier
from .checkpoint import save_checkpoint
from .options import check_float, check_int
from ..errors import ArgumentError

DEFAULT_OUT = "runs/classifier/classifier.npz"


def random_shift(images: np.ndarray, max_shift: int, rng: np.random.Generator) -> np.ndarray:
    """Shift each image by its own random (dy, dx) in [-max_shift, max_shift], filling with
    the background (-1). One gather for the whole batch."""
    n, c, h, w = images.shape
    padded = np.pad(images, ((0, 0), (0, 0), (max_shift,) * 2, (max_shift,) * 2), constant_values=-1)
    dy, dx = rng.integers(0, 2 * max_shift + 1, size=(2, n))
    rows = (dy[:, None] + np.arange(h))[:, None, :, None]
    cols = (dx[:, None] + np.arange(w))[:, None, None, :]
    return padded[np.arange(n)[:, None, None, None], np.arange(c)[None, :, None, None], rows, cols]


def accuracy(model: DigitClassifier, images: np.ndarray, labels: np.ndarray, device: str = "cpu",
             batch_size: int = 500) -> float:
    """The fraction of images the model labels right (eval mode)."""
    model.eval()
    correct = 0
    with no_grad():
        for start in range(0, len(images), batch_size):
            logits = model(Tensor(images[start:start + batch_size], device=device))
            predicted = backend.as_numpy(logits.data).argmax(1)
            correct += int((predicted == labels[start:start + batch_size]).sum())
    return correct / len(images)


def check_classifier_settings(epochs: int, batch_size: int, lr: float, seed: int,
                              limit: int | None, n_images: int = 4000) -> None:
    """Refuse settings that cannot train (messages name the command-line option)."""
    check_int("epochs", epochs, 1)
    check_int("batch_size", batch_size, 1)
    check_float("lr", lr, low=0.0, low_open=True)
    check_int("seed", seed, 0)
    if limit is not None and check_int("limit", limit, 1) > n_images:
        raise ArgumentError(f"--limit: {limit} is more than the {n_images} training images")
    if batch_size > min(limit or n_images, n_images):
        raise ArgumentError(f"--batch-size: {batch_size} is more than the "
                            f"{min(limit or n_images, n_images)} training images")


def train_classifier(epochs: int = 20, batch_size: int = 64, lr: float = 1e-3, seed: int = 0,
                     device: str = "cpu", out: str | Path = DEFAULT_OUT, limit: int | None = None,
                     stream=None) -> dict:
    """Train the classifier and save its weights to ``out`` (default under runs/; the
    shipped ``minigan/models/classifier.npz`` was made with ``out`` pointing there by hand);
    returns the held-out accuracy after each epoch and the final one. Its random numbers
    come from its own generators seeded with ``seed`` (the process-wide ones are untouched)."""
    from ..optim import Adam  # local: optim is only needed to train
    stream = stream or sys.stdout
    device = backend.normalize_device(device)
    train, test = load_mnist(split="train"), load_mnist(split="test")
    check_classifier_settings(epochs, batch_size, lr, seed, limit, len(train.images))
    stride = max(1, len(train.images) // limit) if limit else 1  # every k-th: all ten digits
    train_images, train_labels = train.images[::stride][:limit], train.labels[::stride][:limit]
    generators = [Generator("cpu").manual_seed(seed)]   # init; dropout on the CPU
    if device != "cpu":
        generators.append(Generator(device).manual_seed(seed))
    with use_generator(*generators):  # weight init and dropout
        model = DigitClassifier().to(device)
    optimizer = Adam(model.parameters(), lr=lr)
    rng = np.random.default_rng(seed)
    history, t0 = [], time.perf_counter()
    for epoch in range(1, epochs + 1):
        shifted = random_shift(train_images, 2, rng)
        model.train()
        total, count = 0.0, 0
        for x, y in Batches(shifted, train_labels, batch_size=batch_size, seed=seed + epoch,
                            device=device):
            with use_generator(*generators):
                loss = cross_entropy(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total, count = total + loss.item(), count + 1
        if not math.isfinite(total):
            raise FloatingPointError(f"epoch {epoch}: the loss is not finite; try a lower --lr")
        for group in getattr(optimizer, "param_groups", []):  # a gentle decay towards the end
            group["lr"] = lr * 0.5 * (1 + np.cos(np.pi * epoch / epochs))
        acc = accuracy(model, test.images, test.labels, device)
        history.append(acc)
        stream.write(f"epoch {epoch}/{epochs}  loss {total / max(1, count):.4f}  "
                     f"held-out accuracy {acc:.2%}  ({time.perf_counter() - t0:.0f} s)\n")
        stream.flush()
    model.cpu()
    save_checkpoint({"kind": CHECKPOINT_KIND, "model": model.state_dict(),
                     "heldout_accuracy": history[-1], "epochs": epochs, "seed": seed}, out,
                    compress=True)
    return {"accuracy": history[-1], "history": history, "seconds": time.perf_counter() - t0}
