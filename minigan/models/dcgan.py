"""DCGAN-28: the reference GAN for 28x28 grey images (MNIST), as docs/design.md gives it.

Generator, z of 100 floats from N(0, 1)::

    Linear(100 -> 7*7*256, no bias) -> BatchNorm1d -> LeakyReLU(0.2) -> reshape (N, 256, 7, 7)
    ConvTranspose2d(256 -> 128, k5, s1, p2, no bias) -> BatchNorm2d -> LeakyReLU(0.2)    7x7
    ConvTranspose2d(128 -> 64, k5, s2, p2, op1, no bias) -> BatchNorm2d -> LeakyReLU(0.2) 14x14
    ConvTranspose2d(64 -> 1, k5, s2, p2, op1, no bias) -> tanh                           28x28

Discriminator (one logit per image; the loss applies the sigmoid)::

    Conv2d(1 -> 64, k5, s2, p2) -> LeakyReLU(0.2) -> Dropout(0.3)                        14x14
    Conv2d(64 -> 128, k5, s2, p2) -> LeakyReLU(0.2) -> Dropout(0.3) -> Flatten           7x7
    Linear(6272 -> 1)

Initialisation as in the DCGAN paper (Radford et al. 2015): conv and linear weights
N(0, 0.02), BatchNorm weights N(1, 0.02), all biases 0.
"""
from __future__ import annotations

from .. import nn
from ..autograd import Tensor, no_grad
from ..errors import ShapeError
from ..factories import randn

Z_DIM = 100


def init_dcgan_weights(model: nn.Module) -> nn.Module:
    """DCGAN initialisation, in place: N(0, 0.02) weights, N(1, 0.02) BatchNorm scales, 0 biases."""
    with no_grad():
        for module in model.modules():
            weight, bias = getattr(module, "weight", None), getattr(module, "bias", None)
            if isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
                nn.init.normal_(weight, 1.0, 0.02)
            elif isinstance(module, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
                nn.init.normal_(weight, 0.0, 0.02)
            else:
                continue
            if bias is not None:
                nn.init.zeros_(bias)
    return model


class Generator(nn.Module):
    """z (N, 100) -> images (N, 1, 28, 28) in [-1, 1]."""

    def __init__(self, z_dim: int = Z_DIM) -> None:
        super().__init__()
        self.z_dim = z_dim
        self.project = nn.Sequential(
            nn.Linear(z_dim, 7 * 7 * 256, bias=False),
            nn.BatchNorm1d(7 * 7 * 256),
            nn.LeakyReLU(0.2),
        )
        self.body = nn.Sequential(
            nn.ConvTranspose2d(256, 128, 5, stride=1, padding=2, bias=False),
            nn.BatchNorm2d(128),
            nn.LeakyReLU(0.2),
            nn.ConvTranspose2d(128, 64, 5, stride=2, padding=2, output_padding=1, bias=False),
            nn.BatchNorm2d(64),
            nn.LeakyReLU(0.2),
            nn.ConvTranspose2d(64, 1, 5, stride=2, padding=2, output_padding=1, bias=False),
            nn.Tanh(),
        )
        init_dcgan_weights(self)

    def forward(self, z: Tensor) -> Tensor:
        if z.ndim != 2 or z.shape[1] != self.z_dim:
            raise ShapeError(f"Generator: expected z of shape (N, {self.z_dim}), got {z.shape}")
        return self.body(self.project(z).reshape(z.shape[0], 256, 7, 7))

    def sample_z(self, n: int, device: str = "cpu") -> Tensor:
        """n noise vectors from N(0, 1) (the backend's seeded generator)."""
        return randn(n, self.z_dim, device=device)


class Discriminator(nn.Module):
    """images (N, 1, 28, 28) -> logits (N, 1): large means "real"."""

    def __init__(self, dropout: float = 0.3) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, 64, 5, stride=2, padding=2),
            nn.LeakyReLU(0.2),
            nn.Dropout(dropout),
            nn.Conv2d(64, 128, 5, stride=2, padding=2),
            nn.LeakyReLU(0.2),
            nn.Dropout(dropout),
            nn.Flatten(),
            nn.Linear(128 * 7 * 7, 1),
        )
        init_dcgan_weights(self)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim != 4 or x.shape[1:] != (1, 28, 28):
            raise ShapeError(f"Discriminator: expected images of shape (N, 1, 28, 28), got {x.shape}")
        return self.body(x)
