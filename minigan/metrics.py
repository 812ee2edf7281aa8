"""How good are generated digits? Scores in the feature space of the digit classifier.

- **Fréchet distance** (the idea of FID, Heusel et al. 2017, with our classifier's 128
  features instead of Inception's): fit a Gaussian to the features of real and of generated
  images and measure ``||mu_r - mu_g||^2 + Tr(S_r + S_g - 2 (S_r S_g)^(1/2))``. Lower is
  better; 0 means the two Gaussians match. Only comparable between runs that use the same
  classifier, the same real set and the same number of samples.
- **Confidence**: the classifier's mean top-class probability on generated images (real
  digits score about 0.99). Like any classifier it can be confidently wrong far from the
  data (uniform noise gets "8" at 0.99), so read it together with the other two.
- **Class coverage**: the normalised entropy of the histogram of predicted classes, in [0, 1]:
  1 when all ten digits are generated equally often, 0 when only one is (mode collapse).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from . import backend
from .autograd import Tensor, no_grad


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """``||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2))`` in float64.

    ``Tr((S1 S2)^(1/2))`` is computed as the sum of the square roots of the eigenvalues of
    the symmetric matrix ``S1^(1/2) S2 S1^(1/2)`` (same eigenvalues as S1 S2), which needs
    only ``eigh`` and stays real."""
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    s1, s2 = np.asarray(sigma1, np.float64), np.asarray(sigma2, np.float64)
    w, v = np.linalg.eigh(s1)
    s1_half = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    middle = s1_half @ s2 @ s1_half
    eig = np.linalg.eigvalsh((middle + middle.T) / 2)
    trace_sqrt = np.sqrt(np.clip(eig, 0, None)).sum()
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2 * trace_sqrt)


def gaussian_stats(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance (rows are samples) in float64."""
    features = np.asarray(features, np.float64)
    return features.mean(0), np.cov(features, rowvar=False)


def classifier_outputs(classifier, images, batch_size: int = 500) -> tuple[np.ndarray, np.ndarray]:
    """Features (N, 128) and class probabilities (N, 10) of images (N, 1, 28, 28) in [-1, 1]
    (a Tensor or array), computed in eval mode on the classifier's device."""
    device = next(iter(classifier.parameters())).device
    data = backend.as_numpy(getattr(images, "data", images)).astype(np.float32)
    classifier.eval()
    features, probs = [], []
    with no_grad():
        for start in range(0, len(data), batch_size):
            f = classifier.features(Tensor(data[start:start + batch_size], device=device))
            logits = backend.as_numpy(classifier.head(f).data).astype(np.float64)
            e = np.exp(logits - logits.max(1, keepdims=True))
            features.append(backend.as_numpy(f.data))
            probs.append(e / e.sum(1, keepdims=True))
    return np.concatenate(features), np.concatenate(probs)


def class_coverage(probs: np.ndarray, n_classes: int = 10) -> float:
    """Normalised entropy of the predicted-class histogram: 1 = all classes equally, 0 = one."""
    counts = np.bincount(np.asarray(probs).argmax(1), minlength=n_classes).astype(np.float64)
    p = counts / counts.sum()
    p = p[p > 0]
    return float(-(p * np.log(p)).sum() / np.log(n_classes))


class Scores(NamedTuple):
    frechet: float      # Fréchet distance to the real images (lower is better)
    confidence: float   # mean top-class probability of generated images
    coverage: float     # normalised entropy of predicted classes (1 = all ten evenly)
    histogram: list     # how many generated images fall in each class


def evaluate_images(generated, real, classifier) -> Scores:
    """Score generated images against real ones (both (N, 1, 28, 28) in [-1, 1])."""
    f_gen, p_gen = classifier_outputs(classifier, generated)
    f_real, _ = classifier_outputs(classifier, real)
    fd = frechet_distance(*gaussian_stats(f_real), *gaussian_stats(f_gen))
    histogram = np.bincount(p_gen.argmax(1), minlength=10).tolist()
    return Scores(fd, float(p_gen.max(1).mean()), class_coverage(p_gen), histogram)


def evaluate_generator(generator, n: int = 1000, seed: int = 0, device: str = "cpu",
                       classifier=None, real=None, batch_size: int = 500) -> Scores:
    """Draw ``n`` images from ``generator`` (eval mode, noise from ``seed``) and score them
    against the 1,000 held-out images of the shipped MNIST subset (or ``real``)."""
    from .data import load_mnist
    from .models.classifier import load_classifier
    classifier = classifier or load_classifier(device=device)
    real = load_mnist(split="test").images if real is None else real
    z = np.random.default_rng([seed, 7]).standard_normal((n, generator.z_dim)).astype(np.float32)
    was_training = generator.training
    generator.eval()
    with no_grad():
        fakes = np.concatenate([backend.as_numpy(generator(Tensor(z[s:s + batch_size], device=device)).data)
                                for s in range(0, n, batch_size)])
    generator.train(was_training)
    return evaluate_images(fakes, real, classifier)
