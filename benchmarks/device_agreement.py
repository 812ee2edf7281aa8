"""Does a DCGAN-28 step give the same numbers on two devices?

Builds DCGAN-28 once, copies the same weights to the CPU and to ``--device`` (CUDA), feeds
both the same noise and the same real batch, and compares the generator's output, the
discriminator's logits, both losses and every parameter gradient (float32 tolerance:
relative error of the whole array <= 1e-4). Dropout is switched off (``D.eval()``) because
the two devices draw different random masks; BatchNorm runs in training mode.

    python benchmarks/device_agreement.py --device cuda
    python benchmarks/device_agreement.py --device cpu     # dry run: CPU against itself
"""
from __future__ import annotations

import argparse
import sys

import numpy as np

import minigan as mg
from minigan import backend
from minigan.functional import binary_cross_entropy_with_logits
from minigan.models.dcgan import Discriminator, Generator


def run(device: str, n: int = 64) -> dict:
    """Outputs and gradients (as NumPy float64) of one G and D forward/backward on ``device``."""
    mg.manual_seed(0)
    G, D = Generator(), Discriminator()
    G.to(device)
    D.to(device).eval()  # no dropout: the devices' random streams differ
    rng = np.random.default_rng(0)
    z = mg.tensor(rng.standard_normal((n, 100)).astype(np.float32), device=device)
    real = mg.tensor(rng.uniform(-1, 1, (n, 1, 28, 28)).astype(np.float32), device=device)
    fake = G(z)
    logits = D(mg.concat([real, fake], 0))
    d_loss = (binary_cross_entropy_with_logits(logits[:n], mg.ones(n, 1, device=device))
              + binary_cross_entropy_with_logits(logits[n:], mg.zeros(n, 1, device=device)))
    d_loss.backward()
    out = {"G(z)": fake.data, "D logits": logits.data, "D loss": d_loss.data}
    for prefix, model in (("G.", G), ("D.", D)):
        for name, p in model.named_parameters():
            out[prefix + name + ".grad"] = p.grad.data
    return {k: backend.as_numpy(v).astype(np.float64) for k, v in out.items()}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--rtol", type=float, default=1e-4)
    args = parser.parse_args(argv)
    reference, other = run("cpu"), run(args.device)
    worst, failed = 0.0, []
    print(f"{'array':40s} {'relative error (cpu vs ' + args.device + ')':>30s}")
    for key, a in reference.items():
        b = other[key]
        err = float(np.linalg.norm(a - b) / max(np.linalg.norm(a), 1e-30))
        worst = max(worst, err)
        flag = "" if err <= args.rtol else "  MISMATCH"
        if flag:
            failed.append(key)
        print(f"{key:40s} {err:30.2e}{flag}")
    print(f"worst relative error {worst:.2e} (tolerance {args.rtol:g}): "
          f"{'FAIL ' + ', '.join(failed) if failed else 'OK'}")
    return 1 if failed else 0


if __name__ == "__main__":
    mg.tune_process()  # a benchmark owns its process: minigan's speed settings
    sys.exit(main())
