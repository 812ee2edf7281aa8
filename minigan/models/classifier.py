"""A small digit classifier, trained with minigan (``minigan train classifier``), whose
penultimate features give the evaluator its Fréchet distance (``minigan eval``)::

    Conv2d(1 -> 32, k3, p1) -> LeakyReLU(0.2)                      28x28
    Conv2d(32 -> 32, k3, s2, p1) -> LeakyReLU(0.2)                 14x14
    Conv2d(32 -> 64, k3, p1) -> LeakyReLU(0.2)                     14x14
    Conv2d(64 -> 64, k3, s2, p1) -> LeakyReLU(0.2)                 7x7
    Conv2d(64 -> 64, k3, s2, p1) -> LeakyReLU(0.2) -> Flatten      4x4
    Linear(1024 -> 128) -> LeakyReLU(0.2)                          the 128 features
    Dropout(0.3) -> Linear(128 -> 10)                              logits

About 234,000 weights; ``minigan/models/classifier.npz`` holds the shipped ones.
"""
from __future__ import annotations

from pathlib import Path

from .. import nn
from ..autograd import Tensor
from ..errors import ShapeError

WEIGHTS_PATH = Path(__file__).with_name("classifier.npz")
CHECKPOINT_KIND = "digit-classifier"
N_FEATURES = 128


class DigitClassifier(nn.Module):
    """images (N, 1, 28, 28) in [-1, 1] -> logits (N, 10); ``features`` gives the 128 features."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.LeakyReLU(0.2),
            nn.Conv2d(32, 32, 3, stride=2, padding=1), nn.LeakyReLU(0.2),
            nn.Conv2d(32, 64, 3, padding=1), nn.LeakyReLU(0.2),
            nn.Conv2d(64, 64, 3, stride=2, padding=1), nn.LeakyReLU(0.2),
            nn.Conv2d(64, 64, 3, stride=2, padding=1), nn.LeakyReLU(0.2),
            nn.Flatten(),
            nn.Linear(64 * 4 * 4, N_FEATURES), nn.LeakyReLU(0.2),
        )
        self.head = nn.Sequential(nn.Dropout(0.3), nn.Linear(N_FEATURES, 10))

    def features(self, x: Tensor) -> Tensor:
        if x.ndim != 4 or x.shape[1:] != (1, 28, 28):
            raise ShapeError(f"DigitClassifier: expected images of shape (N, 1, 28, 28), got {x.shape}")
        return self.body(x)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x))


def load_classifier(path: str | Path | None = None, device: str = "cpu") -> DigitClassifier:
    """The trained classifier (the shipped weights by default), in eval mode on ``device``."""
    from ..errors import CheckpointError
    from ..training.checkpoint import load_checkpoint
    path = Path(path) if path is not None else WEIGHTS_PATH
    state = load_checkpoint(path, CHECKPOINT_KIND)
    model = DigitClassifier()
    try:
        model.load_state_dict(state["model"])
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{path}: a {CHECKPOINT_KIND!r} checkpoint whose weights do not "
                              f"fit DigitClassifier ({type(exc).__name__}: {exc})") from None
    return model.to(device).eval()
