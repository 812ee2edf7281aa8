"""Watching a GAN fail, with the diagnostics: a healthy DCGAN-28 next to two broken ones.

    python examples/08_gan_collapse.py            # 3 runs of 150 steps, about 3 minutes
    python examples/08_gan_collapse.py --quick    # 3 runs of 3 tiny steps: does it run?

Three runs of DCGAN-28 (minigan/models/dcgan.py) from the same initial weights and data:

- ``healthy``: the recipe of ``minigan train``: Adam(2e-4, betas 0.5, 0.999) for both
  players and the non-saturating generator loss ``-log D(G(z))``;
- ``strong_d``: D's learning rate 10 times G's (2e-3). D wins: it tells real from fake
  almost perfectly and G's loss climbs, but G still gets a gradient, because the
  non-saturating loss is steepest exactly when D rejects G's images (its samples turn into
  stripes and blocks that fool this D for a step or two);
- ``vanishing``: the same strong D with the *saturating* loss of the original minimax game,
  G minimising ``log(1 - D(G(z)))``. That loss is flat where D is confident, so G's
  gradient vanishes: its norm falls by decades and G stops learning.

After every step it records what ``minigan train --diagnostics`` records
(minigan/training/diagnostics.py: the gradient and weight norm of every parameter of G and
D, D's accuracy on the real and on the fake batch) into ``RUN/diagnostics.jsonl``, and
draws, in ``--out DIR`` (default ``runs/examples/08_gan_collapse``):

- ``comparison.png``: the three runs on shared charts (G's gradient norm, D's accuracy on
  fakes, G's loss), and ``samples.png``: each run's samples after the last step;
- per run, ``RUN/grad_norms.png``, ``RUN/weight_norms.png`` and ``RUN/d_accuracy.png``,
  the per-layer pictures of ``minigan plot`` (drawn by the same function).
"""
from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np

import minigan as mg
import minigan.functional as F
from minigan.data import Batches, load_mnist
from minigan.images import curves_picture, save_grid, save_pictures, stack_with_labels
from minigan.models.dcgan import Discriminator, Generator
from minigan.optim import Adam
from minigan.training.diagnostics import d_accuracy, parameter_norms, plot_diagnostics

RUNS = {  # name: (D's learning rate, G's loss)
    "healthy": (2e-4, "non-saturating"),
    "strong_d": (2e-3, "non-saturating"),
    "vanishing": (2e-3, "saturating"),
}


def total_norm(norms: dict, net: str) -> float:
    """The L2 norm of all of one net's gradients together, from the per-parameter norms."""
    return math.sqrt(sum(v * v for k, v in norms.items() if k.startswith(net + ".")))


def train(name: str, lr_d: float, g_loss_kind: str, steps: int, batch_size: int,
          images: np.ndarray, out: Path, n_samples: int = 32) -> list[dict]:
    """One run; returns one record per step (losses and the diagnostics), also written to
    ``out/name/diagnostics.jsonl`` in the format of ``minigan train --diagnostics``."""
    mg.manual_seed(0)                               # the same initial weights in every run
    G, D = Generator(), Discriminator()
    opt_G = Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_D = Adam(D.parameters(), lr=lr_d, betas=(0.5, 0.999))
    batches = Batches(images, batch_size=batch_size, seed=0).forever()
    real_label, fake_label = mg.ones(batch_size, 1), mg.zeros(batch_size, 1)
    folder = out / name
    folder.mkdir(parents=True, exist_ok=True)
    records = []
    with open(folder / "diagnostics.jsonl", "w") as log:
        for step in range(1, steps + 1):
            # D: real against fake, as in examples/06_dcgan_mnist.py
            real = next(batches)
            with mg.no_grad():
                fake = G(mg.randn(batch_size, 100))
            logit_real, logit_fake = D(real), D(fake)
            d_loss = (F.binary_cross_entropy_with_logits(logit_real, real_label)
                      + F.binary_cross_entropy_with_logits(logit_fake, fake_label))
            opt_D.zero_grad()
            d_loss.backward()
            opt_D.step()

            # G: through a frozen D, with one of the two losses
            D.requires_grad_(False)
            logit = D(G(mg.randn(batch_size, 100)))
            if g_loss_kind == "saturating":        # minimise log(1 - D(G(z))) = -BCE(l, 0)
                g_loss = -F.binary_cross_entropy_with_logits(logit, fake_label)
            else:                                   # minimise -log D(G(z)) = BCE(l, 1)
                g_loss = F.binary_cross_entropy_with_logits(logit, real_label)
            opt_G.zero_grad()
            g_loss.backward()
            opt_G.step()
            D.requires_grad_(True)

            # the diagnostics of this step, as minigan/training/diagnostics.py measures them
            g_grads, g_weights = parameter_norms(G, "G")
            d_grads, d_weights = parameter_norms(D, "D")
            acc_real, acc_fake = d_accuracy(logit_real, logit_fake)
            record = {"step": step, "d_accuracy_real": acc_real, "d_accuracy_fake": acc_fake,
                      "grad_norm": {**g_grads, **d_grads},
                      "weight_norm": {**g_weights, **d_weights}}
            log.write(json.dumps(record) + "\n")
            records.append({**record, "d_loss": d_loss.item(), "g_loss": g_loss.item()})
    plot_diagnostics(folder)                        # the pictures of `minigan plot`
    G.eval()
    with mg.no_grad():
        mg.manual_seed(1)                           # the same noise for every run's samples
        save_grid(G(mg.randn(n_samples, 100)), folder / "samples.png", nrow=8)
    return records


def summary(name: str, records: list[dict]) -> str:
    first, last = records[0], records[-1]
    window = records[-max(1, len(records) // 10):]  # the last tenth, averaged
    acc = np.mean([(r["d_accuracy_real"] + r["d_accuracy_fake"]) / 2 for r in window])
    return (f"{name:10} ||grad G|| {total_norm(first['grad_norm'], 'G'):9.2e} -> "
            f"{total_norm(last['grad_norm'], 'G'):9.2e}   D's accuracy {acc:4.2f}   "
            f"G loss {np.mean([r['g_loss'] for r in window]):7.3f}   "
            f"D loss {np.mean([r['d_loss'] for r in window]):6.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=150, help="steps per run (default 150)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--out", default="runs/examples/08_gan_collapse")
    parser.add_argument("--quick", action="store_true", help="3 steps per run at batch 4")
    args = parser.parse_args()
    if args.quick:
        args.steps, args.batch_size = 3, 4
    mg.tune_process()          # this script owns its process: minigan's CPU speed settings
    out = Path(args.out)
    images, _ = load_mnist()

    results = {}
    for name, (lr_d, loss) in RUNS.items():
        start = time.perf_counter()
        results[name] = train(name, lr_d, loss, args.steps, args.batch_size, images, out,
                              n_samples=8 if args.quick else 32)
        print(f"{name}: D lr {lr_d:g}, {loss} G loss, {args.steps} steps in "
              f"{time.perf_counter() - start:.0f} s", flush=True)

    print("\nfirst and last step (D's accuracy, G's and D's losses: the last tenth, averaged):")
    for name, records in results.items():
        print("  " + summary(name, records))

    steps = [r["step"] for r in results["healthy"]]
    smooth = max(1, args.steps // 30)
    charts = [
        curves_picture(steps, {n: [math.log10(max(total_norm(r["grad_norm"], "G"), 1e-12))
                                   for r in rs] for n, rs in results.items()},
                       title="log10 ||gradient of G|| (all layers): falls by decades when it "
                             "vanishes", smooth=smooth),
        curves_picture(steps, {n: [r["d_accuracy_fake"] for r in rs] for n, rs in results.items()},
                       title="D's accuracy on fakes (1: D spots every fake)", smooth=smooth),
        curves_picture(steps, {n: [r["g_loss"] for r in rs] for n, rs in results.items()},
                       title="G's loss (the saturating one is log(1 - D(G(z))) <= 0)",
                       smooth=smooth),
    ]
    print(f"\nwrote {save_pictures(charts, out / 'comparison.png')}")
    grids = [out / name / "samples.png" for name in RUNS]
    print(f"wrote {stack_with_labels(grids, list(RUNS), out / 'samples.png')}")
    print(f"and per run, {', '.join(f'{n}/' for n in RUNS)}: grad_norms.png, weight_norms.png, "
          f"d_accuracy.png (as 'minigan plot' draws them), samples.png, diagnostics.jsonl")
    print("""
What to look for:
- healthy: D's accuracy wanders between 0.5 and 1 and G's gradient norm stays within a
  decade of where it started: neither player wins for long.
- strong_d: D's accuracy on fakes stays high (0.8-1) and G's loss climbs: D wins. G's
  gradient does not vanish (the non-saturating loss is steepest when D is sure), so G keeps
  moving, but towards whatever fools this D for a moment: stripes and blocks, not digits.
- vanishing: the same D, but G's gradient norm falls by decades while D's accuracy is 1:
  log(1 - D(G(z))) is flat when D(G(z)) ~ 0, so G gets no signal and its samples stay
  noise. This is why every GAN since Goodfellow et al. trains G on -log D(G(z)).""")


if __name__ == "__main__":
    main()
