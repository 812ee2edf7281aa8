"""Training the attribute classifier behind the text-to-image scores.

Fresh renders every step from the ``"all"`` split of the captioned shapes (every color-shape
pair, so the held-out pairs of the zero-shot test are judged by a classifier that has seen
them), made a little harder than the clean data so that the classifier also reads imperfect
generated images: per image, a dimmer object (its colour scaled towards the background by a
factor in [0.6, 1]) and Gaussian pixel noise of a standard deviation in [0, 0.25]. Adam on
the sum of the four heads' cross-entropies, the learning rate decayed by a cosine. The
accuracy is measured on fresh, clean renders it never trained on.

The shipped weights (``minigan/models/attributes.npz``) were made with the defaults; this
function writes under ``runs/`` unless told otherwise, never into the package.
"""
from __future__ import annotations

import math
import sys
import time
from pathlib import Path

import numpy as np

from .. import backend
from ..autograd import Tensor
from ..data.shapes import ATTRIBUTES, Shapes
from ..functional import cross_entropy
from ..models.attributes import CHECKPOINT_KIND, AttributeClassifier, predict
from .checkpoint import save_checkpoint

DEFAULT_OUT = Path("runs") / "attributes" / "attributes.npz"


def augment(images: np.ndarray, rng: np.random.Generator, max_noise: float = 0.25,
            min_contrast: float = 0.6) -> np.ndarray:
    """Dimmer objects and pixel noise, per image (see the module docstring)."""
    n = len(images)
    contrast = rng.uniform(min_contrast, 1.0, (n, 1, 1, 1)).astype(np.float32)
    sigma = rng.uniform(0.0, max_noise, (n, 1, 1, 1)).astype(np.float32)
    noisy = (images + 1) * contrast - 1 + sigma * rng.standard_normal(images.shape, np.float32)
    return np.clip(noisy, -1, 1)


def attribute_accuracy(model: AttributeClassifier, n: int = 5000, seed: int = 12345) -> dict:
    """Per-head accuracy on ``n`` fresh clean renders of every color-shape pair."""
    batch = Shapes("all", seed=seed).batch(0, n)
    right = predict(model, batch.images) == batch.labels
    return {name: float(right[:, k].mean()) for k, name in enumerate(ATTRIBUTES)}


def train_attribute_classifier(steps: int = 1500, batch_size: int = 128, lr: float = 2e-3,
                               seed: int = 0, device: str = "cpu",
                               out: str | Path | None = DEFAULT_OUT, stream=None) -> dict:
    """Train the classifier and save it to ``out`` (None: do not save); returns
    ``{"accuracy": per-head accuracy on fresh renders, "seconds": ..., "model": ...}``."""
    from ..optim import Adam
    from .loop import seeded_weights
    stream = stream or sys.stdout
    device = backend.normalize_device(device)
    with seeded_weights(seed):
        model = AttributeClassifier()
    model.to(device).train()
    optimizer = Adam(model.parameters(), lr=lr)
    data = Shapes("all", seed=seed)
    t0 = time.perf_counter()
    for step in range(steps):
        rng = np.random.default_rng([seed, step])
        batch = data.sample(batch_size, rng)
        logits = model(Tensor(backend.to_device(augment(batch.images, rng), device)))
        labels = backend.to_device(batch.labels, device)
        loss = sum(cross_entropy(l, Tensor(labels[:, k])) for k, l in enumerate(logits))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        for group in optimizer.param_groups:
            group["lr"] = lr * 0.5 * (1 + math.cos(math.pi * (step + 1) / steps))
        if (step + 1) % 250 == 0 or step + 1 == steps:
            stream.write(f"step {step + 1}/{steps}  loss {loss.item():.4f}  "
                         f"({time.perf_counter() - t0:.0f} s)\n")
            stream.flush()
    model.cpu().eval()
    accuracy = attribute_accuracy(model)
    stream.write("accuracy on fresh renders: " +
                 ", ".join(f"{k} {v:.2%}" for k, v in accuracy.items()) + "\n")
    if out is not None:
        save_checkpoint({"kind": CHECKPOINT_KIND, "model": model.state_dict(),
                         "accuracy": accuracy, "steps": steps, "seed": seed}, out, compress=True)
    return {"accuracy": accuracy, "seconds": time.perf_counter() - t0, "model": model}
