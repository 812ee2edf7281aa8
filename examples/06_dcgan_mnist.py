"""DCGAN on MNIST in one readable file, on minigan's public API (no CLI, no trainer class).

    python examples/06_dcgan_mnist.py                # 1200 steps, about 10 minutes on 2 CPU cores
    python examples/06_dcgan_mnist.py --steps 300    # under 3 minutes: blobs and strokes
    python examples/06_dcgan_mnist.py --quick        # 3 tiny steps: does it run?

It writes ``runs/examples/06_dcgan_mnist/step_XXXX.png`` (samples from a fixed noise batch)
as it goes (``--out DIR`` for another folder). ``minigan train`` does the same with
checkpoints, logs, EMA and plots; see docs/gan.md for what the numbers mean.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import minigan as mg
import minigan.functional as F
import minigan.nn as nn
from minigan.data import Batches, load_mnist
from minigan.images import save_grid
from minigan.optim import Adam


def generator() -> nn.Module:
    """z (N, 100) -> (N, 1, 28, 28) in [-1, 1]: project to 7x7x256, then upsample twice."""
    return nn.Sequential(
        nn.Linear(100, 7 * 7 * 256, bias=False), nn.BatchNorm1d(7 * 7 * 256), nn.LeakyReLU(0.2),
        nn.Unflatten(1, (256, 7, 7)),
        nn.ConvTranspose2d(256, 128, 5, stride=1, padding=2, bias=False),
        nn.BatchNorm2d(128), nn.LeakyReLU(0.2),
        nn.ConvTranspose2d(128, 64, 5, stride=2, padding=2, output_padding=1, bias=False),
        nn.BatchNorm2d(64), nn.LeakyReLU(0.2),
        nn.ConvTranspose2d(64, 1, 5, stride=2, padding=2, output_padding=1, bias=False),
        nn.Tanh())


def discriminator() -> nn.Module:
    """(N, 1, 28, 28) -> one logit per image (large = "real")."""
    return nn.Sequential(
        nn.Conv2d(1, 64, 5, stride=2, padding=2), nn.LeakyReLU(0.2), nn.Dropout(0.3),
        nn.Conv2d(64, 128, 5, stride=2, padding=2), nn.LeakyReLU(0.2), nn.Dropout(0.3),
        nn.Flatten(), nn.Linear(128 * 7 * 7, 1))


def dcgan_init(model: nn.Module) -> None:
    """The DCGAN paper's init: weights N(0, 0.02), BatchNorm scales N(1, 0.02), biases 0."""
    for m in model.modules():
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=1200)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--sample-every", type=int, default=100)
    parser.add_argument("--out", default="runs/examples/06_dcgan_mnist")
    parser.add_argument("--quick", action="store_true",
                        help="3 steps at batch 8, a sample grid after each (a smoke test)")
    args = parser.parse_args()
    if args.quick:
        args.steps, args.batch_size, args.sample_every = 3, 8, 1
    mg.tune_process()          # this script owns its process: minigan's CPU speed settings

    mg.manual_seed(0)
    G, D = generator(), discriminator()
    dcgan_init(G)
    dcgan_init(D)
    opt_G = Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_D = Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))

    images, _ = load_mnist()                        # 4,000 digits, (N, 1, 28, 28) in [-1, 1]
    batches = Batches(images, batch_size=args.batch_size, seed=0).forever()
    fixed_z = mg.randn(64, 100)                     # the same noise for every sample grid
    n = args.batch_size
    real_label, fake_label = mg.ones(n, 1), mg.zeros(n, 1)
    t0 = time.perf_counter()

    for step in range(1, args.steps + 1):
        real = next(batches)

        # 1. Discriminator: tell real from fake. G's output is made without a graph.
        with mg.no_grad():
            fake = G(mg.randn(n, 100))
        d_loss = (F.binary_cross_entropy_with_logits(D(real), real_label)
                  + F.binary_cross_entropy_with_logits(D(fake), fake_label))
        opt_D.zero_grad()
        d_loss.backward()
        opt_D.step()

        # 2. Generator: fool D with fresh noise. The non-saturating loss -log D(G(z)) is
        #    BCE against the "real" label; D is frozen so only G's gradients are computed.
        D.requires_grad_(False)
        g_loss = F.binary_cross_entropy_with_logits(D(G(mg.randn(n, 100))), real_label)
        opt_G.zero_grad()
        g_loss.backward()
        opt_G.step()
        D.requires_grad_(True)

        if step % 10 == 0 or step == args.steps:
            rate = step / (time.perf_counter() - t0)
            print(f"step {step:5d}  D loss {d_loss.item():.3f}  G loss {g_loss.item():.3f}  "
                  f"{rate:.2f} steps/s", flush=True)
        if step % args.sample_every == 0 or step == args.steps:
            G.eval()                                 # BatchNorm uses its running statistics
            with mg.no_grad():
                path = save_grid(G(fixed_z), Path(args.out) / f"step_{step:04d}.png")
            G.train()
            print(f"wrote {path}")


if __name__ == "__main__":
    main()
