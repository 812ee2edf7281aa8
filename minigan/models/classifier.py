"""A small digit classifier, trained with minigan (``minigan train classifier``), whose
penultimate features give the evaluator its Fréchet distance (``minigan eval``)::

    Conv2d(1 -> 16, k5, s2, p2) -> LeakyReLU(0.2)                14x14
    Conv2d(16 -> 32, k5, s2, p2) -> LeakyReLU(0.2) -> Flatten    7x7
    Linear(1568 -> 128) -> LeakyReLU(0.2)                        the 128 features
    Dropout(0.3) -> Linear(128 -> 10)                            logits

About 215,000 weights; ``minigan/models/classifier.npz`` holds the shipped ones.
"""
from __future__ import annotations

from pathlib import Path

from .. import nn
from ..autograd import Tensor

WEIGHTS_PATH = Path(__file__).with_name("classifier.npz")
CHECKPOINT_KIND = "digit-classifier"
N_FEATURES = 128


class DigitClassifier(nn.Module):
    """images (N, 1, 28, 28) in [-1, 1] -> logits (N, 10); ``features`` gives the 128 features."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, 16, 5, stride=2, padding=2),
            nn.LeakyReLU(0.2),
            nn.Conv2d(16, 32, 5, stride=2, padding=2),
            nn.LeakyReLU(0.2),
            nn.Flatten(),
            nn.Linear(32 * 7 * 7, N_FEATURES),
            nn.LeakyReLU(0.2),
        )
        self.head = nn.Sequential(nn.Dropout(0.3), nn.Linear(N_FEATURES, 10))

    def features(self, x: Tensor) -> Tensor:
        if x.ndim != 4 or x.shape[1:] != (1, 28, 28):
            raise ValueError(f"DigitClassifier: expected images of shape (N, 1, 28, 28), got {x.shape}")
        return self.body(x)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x))


def load_classifier(path: str | Path | None = None, device: str = "cpu") -> DigitClassifier:
    """The trained classifier (the shipped weights by default), in eval mode on ``device``."""
    from ..training.checkpoint import load_checkpoint
    path = Path(path) if path is not None else WEIGHTS_PATH
    state = load_checkpoint(path, CHECKPOINT_KIND)
    model = DigitClassifier()
    model.load_state_dict(state["model"])
    return model.to(device).eval()
