"""Does minigan train DCGAN-28 as well as PyTorch? Train the same model both ways and score both.

    python benchmarks/quality_vs_torch.py                 # the default length (1200 steps)
    python benchmarks/quality_vs_torch.py --steps 100     # a quick look

Both runs use the same data (the 4,000 training digits of the shipped subset), batch 64,
Adam(2e-4, (0.5, 0.999)), the DCGAN initialisation, the same step (one D update on a
real + fake batch, one G update with fresh noise), the same EMA of G (decay 0.999 with
warm-up) and the same seeds for data order and initial weights' scheme (each library draws
its own random numbers, so the runs are statistically, not bitwise, alike). Each trained
generator then draws 1,000 digits from the same noise, and minigan's evaluator scores them
against the 1,000 held-out digits (Fréchet distance in the classifier's feature space,
confidence, class coverage). Target: minigan's Fréchet distance within 1.25x of PyTorch's.
PyTorch is optional: without it only minigan's run is scored.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import minigan as mg  # noqa: E402
from minigan.data import Batches, load_mnist  # noqa: E402
from minigan.metrics import evaluate_images  # noqa: E402
from minigan.models import load_classifier  # noqa: E402
from minigan.training.gan import GANConfig, GANTrainer  # noqa: E402


def eval_noise(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng([seed, 7]).standard_normal((n, 100)).astype(np.float32)


def train_minigan(steps: int, seed: int, out: str) -> tuple[np.ndarray, float]:
    trainer = GANTrainer(GANConfig(steps=steps, seed=seed, out=out, sample_every=max(1, steps // 6),
                                   checkpoint_every=10**9))
    t0 = time.perf_counter()
    trainer.run(progress=False)
    seconds = time.perf_counter() - t0
    return trainer.sample(mg.tensor(eval_noise(1000, seed))).numpy(), seconds


def train_torch(steps: int, seed: int) -> tuple[np.ndarray, float]:
    import copy
    import torch
    from torch import nn
    torch.manual_seed(seed)
    G = nn.Sequential(
        nn.Linear(100, 12544, bias=False), nn.BatchNorm1d(12544), nn.LeakyReLU(0.2),
        nn.Unflatten(1, (256, 7, 7)),
        nn.ConvTranspose2d(256, 128, 5, 1, 2, bias=False), nn.BatchNorm2d(128), nn.LeakyReLU(0.2),
        nn.ConvTranspose2d(128, 64, 5, 2, 2, output_padding=1, bias=False), nn.BatchNorm2d(64),
        nn.LeakyReLU(0.2),
        nn.ConvTranspose2d(64, 1, 5, 2, 2, output_padding=1, bias=False), nn.Tanh())
    D = nn.Sequential(
        nn.Conv2d(1, 64, 5, 2, 2), nn.LeakyReLU(0.2), nn.Dropout(0.3),
        nn.Conv2d(64, 128, 5, 2, 2), nn.LeakyReLU(0.2), nn.Dropout(0.3),
        nn.Flatten(), nn.Linear(6272, 1))
    for m in list(G.modules()) + list(D.modules()):
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    G_ema = copy.deepcopy(G).eval()
    opt_G = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_D = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    bce = nn.functional.binary_cross_entropy_with_logits
    batches = Batches(load_mnist().images, batch_size=64, seed=seed).forever()
    ones, zeros = torch.ones(64, 1), torch.zeros(64, 1)
    t0 = time.perf_counter()
    for step in range(1, steps + 1):
        real = torch.from_numpy(next(batches).numpy())
        with torch.no_grad():
            fake = G(torch.randn(64, 100))
        logits = D(torch.cat([real, fake]))
        d_loss = bce(logits[:64], ones) + bce(logits[64:], zeros)
        opt_D.zero_grad()
        d_loss.backward()
        opt_D.step()
        D.requires_grad_(False)
        g_loss = bce(D(G(torch.randn(64, 100))), ones)
        opt_G.zero_grad()
        g_loss.backward()
        opt_G.step()
        D.requires_grad_(True)
        decay = min(0.999, (1 + step) / (10 + step))
        with torch.no_grad():
            for e, p in zip(G_ema.parameters(), G.parameters()):
                e.mul_(decay).add_(p, alpha=1 - decay)
            for e, b in zip(G_ema.buffers(), G.buffers()):
                e.copy_(b)
    seconds = time.perf_counter() - t0
    with torch.no_grad():
        fakes = G_ema(torch.from_numpy(eval_noise(1000, seed))).numpy()
    return fakes, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=GANConfig().steps)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="runs/quality_vs_torch")
    args = parser.parse_args()
    runs = [("minigan", *train_minigan(args.steps, args.seed, args.out))]
    try:
        import torch  # noqa: F401
    except ImportError:
        print("PyTorch is not installed: only minigan's run is scored")
    else:
        runs.append(("pytorch", *train_torch(args.steps, args.seed)))
    classifier = load_classifier()
    real = load_mnist(split="test").images
    rows = [(name, seconds, evaluate_images(fakes, real, classifier)) for name, fakes, seconds in runs]
    np.savez(Path(args.out) / "fakes.npz", **{name: fakes for name, fakes, _ in runs})
    reference = evaluate_images(load_mnist().images[::4], real, classifier)  # all ten digits
    print(f"DCGAN-28, {args.steps} steps, batch 64, seed {args.seed}; scores of 1,000 samples "
          f"against the 1,000 held-out digits")
    print(f"{'':10s} {'train s':>8s} {'steps/s':>8s} {'Frechet':>9s} {'confidence':>11s} {'coverage':>9s}")
    for name, seconds, s in rows:
        print(f"{name:10s} {seconds:8.1f} {args.steps / seconds:8.2f} {s.frechet:9.3f} "
              f"{s.confidence:11.3f} {s.coverage:9.3f}")
    print(f"{'real':10s} {'':8s} {'':8s} {reference.frechet:9.3f} {reference.confidence:11.3f} "
          f"{reference.coverage:9.3f}")
    if len(rows) == 2:
        ratio = rows[0][2].frechet / rows[1][2].frechet
        print(f"minigan / pytorch Frechet distance: {ratio:.2f} (target <= 1.25)")


if __name__ == "__main__":
    mg.tune_process()  # a benchmark owns its process: minigan's speed settings
    main()
