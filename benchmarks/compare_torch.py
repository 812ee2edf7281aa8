"""DCGAN-28 side by side: minigan against PyTorch on the same work, in one run.

Both frameworks get the same weights (copied from minigan into an identically built PyTorch
model), the same batches and the same number of threads (torch.set_num_threads = the BLAS
threads NumPy uses). After a warm-up the cases run in alternating blocks and we report
medians, so a busy machine slows both alike. Printed for each case: median seconds of
minigan and PyTorch, the ratio minigan/PyTorch, and minigan's GFLOP/s against the machine's
float32 matmul peak measured in the same run. Peak memory of a training step is measured in
fresh child processes (resident-set high-water mark above the state after setup).

    python benchmarks/compare_torch.py                  # CPU, batch 64
    python benchmarks/compare_torch.py --device cuda --batch-size 256
    python benchmarks/compare_torch.py --quick          # fewer repeats (used by `minigan bench`)
    python benchmarks/compare_torch.py --cpu-time       # 1 thread, process CPU time (busy machine)
    python benchmarks/compare_torch.py --untuned        # without mg.tune_process()

The script applies ``mg.tune_process()`` (minigan/process.py: glibc keeps freed memory,
OpenBLAS's threads stop spinning) as the ``minigan`` command does; ``--untuned`` measures a
process as a plain ``import minigan`` leaves it.

One training step = one D update on a real and a fake batch (fake from G under no_grad) and
one G update with fresh noise (D frozen), as minigan's trainer does it.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from typing import Callable

import numpy as np

import minigan as mg
from minigan import backend, bench
from minigan.functional import binary_cross_entropy_with_logits
from minigan.models.dcgan import Discriminator, Generator

Z = 100


# ---------------------------------------------------------------------------- FLOP count


def _layer_flops(n: int) -> dict:
    """Forward multiply-adds x 2 of each GEMM-shaped layer at batch n."""
    return {
        "g_linear": 2 * n * 100 * 7 * 7 * 256,
        "g_deconv1": 2 * n * 7 * 7 * 256 * 128 * 25,     # per input pixel: Cin*Cout*K*K
        "g_deconv2": 2 * n * 7 * 7 * 128 * 64 * 25,
        "g_deconv3": 2 * n * 14 * 14 * 64 * 1 * 25,
        "d_conv1": 2 * n * 14 * 14 * 64 * 1 * 25,        # per output pixel: Cout*Cin*K*K
        "d_conv2": 2 * n * 7 * 7 * 128 * 64 * 25,
        "d_linear": 2 * n * 128 * 7 * 7,
    }


def step_flops(n: int) -> float:
    """GEMM FLOPs of one training step (backward: dX and dW each cost one forward)."""
    f1, f2 = _layer_flops(n), _layer_flops(2 * n)
    g_fwd = sum(v for k, v in f1.items() if k.startswith("g_"))
    d_fwd = lambda f: sum(v for k, v in f.items() if k.startswith("d_"))
    d_update = d_fwd(f2) * 3 - f2["d_conv1"]           # fwd + dW + dX (no dX for the images)
    g_update = g_fwd + d_fwd(f1) * 2 + g_fwd * 2 - f1["g_linear"]  # D: fwd + dX; G: dW + dX
    return float(g_fwd + d_update + g_update)


def generator_flops(n: int) -> float:
    return float(sum(v for k, v in _layer_flops(n).items() if k.startswith("g_")))


def discriminator_fb_flops(n: int) -> float:
    f = _layer_flops(n)
    return float(sum(v for k, v in f.items() if k.startswith("d_")) * 3 - f["d_conv1"])


def matmul_peak_gflops(xp, sync: Callable[[], None], size: int = 1024, repeats: int = 8,
                       now: Callable[[], float] = time.perf_counter) -> float:
    """Best float32 GEMM rate of ``size``^3, timed with the clock the cases use."""
    a = xp.asarray(np.random.default_rng(0).standard_normal((size, size)), dtype=np.float32)
    b = xp.asarray(np.random.default_rng(1).standard_normal((size, size)), dtype=np.float32)
    a @ b
    sync()
    best = float("inf")
    for _ in range(repeats):
        t = now()
        a @ b
        sync()
        best = min(best, now() - t)
    return 2 * size ** 3 / best / 1e9


# ---------------------------------------------------------------------------- the two models


def build_torch_models(torch, G: Generator, D: Discriminator, device: str):
    """PyTorch twins of minigan's DCGAN-28, with minigan's weights and buffers copied in."""
    nn = torch.nn

    class TorchG(nn.Module):
        def __init__(self):
            super().__init__()
            self.project = nn.Sequential(nn.Linear(Z, 7 * 7 * 256, bias=False),
                                         nn.BatchNorm1d(7 * 7 * 256), nn.LeakyReLU(0.2))
            self.body = nn.Sequential(
                nn.ConvTranspose2d(256, 128, 5, 1, 2, bias=False), nn.BatchNorm2d(128),
                nn.LeakyReLU(0.2),
                nn.ConvTranspose2d(128, 64, 5, 2, 2, output_padding=1, bias=False),
                nn.BatchNorm2d(64), nn.LeakyReLU(0.2),
                nn.ConvTranspose2d(64, 1, 5, 2, 2, output_padding=1, bias=False), nn.Tanh())

        def forward(self, z):
            return self.body(self.project(z).reshape(z.shape[0], 256, 7, 7))

    tg = TorchG()
    td = nn.Sequential(nn.Conv2d(1, 64, 5, 2, 2), nn.LeakyReLU(0.2), nn.Dropout(0.3),
                       nn.Conv2d(64, 128, 5, 2, 2), nn.LeakyReLU(0.2), nn.Dropout(0.3),
                       nn.Flatten(), nn.Linear(128 * 7 * 7, 1))
    for ours, theirs in ((G, tg), (D, td)):
        state = {k: backend.as_numpy(v.data if hasattr(v, "data") else v)
                 for k, v in ours.state_dict().items()}
        mapped = {}
        for key, value in theirs.state_dict().items():
            candidates = [key, "body." + key]
            match = next((c for c in candidates if c in state), None)
            if match is None:
                if key.endswith("num_batches_tracked"):
                    continue
                raise KeyError(f"no minigan weight for PyTorch's {key}")
            mapped[key] = torch.from_numpy(np.array(state[match]))
        theirs.load_state_dict(mapped, strict=False)
    return tg.to(device), td.to(device)


def make_minigan_step(G, D, opt_g, opt_d, n: int, device: str):
    ones, zeros = mg.ones(n, 1, device=device), mg.zeros(n, 1, device=device)

    def step(real):
        with mg.no_grad():
            fake = G(mg.randn(n, Z, device=device))
        logits = D(mg.concat([real, fake], 0))
        d_loss = (binary_cross_entropy_with_logits(logits[:n], ones)
                  + binary_cross_entropy_with_logits(logits[n:], zeros))
        opt_d.zero_grad()
        d_loss.backward()
        opt_d.step()
        D.requires_grad_(False)
        g_loss = binary_cross_entropy_with_logits(D(G(mg.randn(n, Z, device=device))), ones)
        opt_g.zero_grad()
        g_loss.backward()
        opt_g.step()
        D.requires_grad_(True)
    return step


def make_torch_step(torch, G, D, opt_g, opt_d, n: int, device: str):
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    ones, zeros = torch.ones(n, 1, device=device), torch.zeros(n, 1, device=device)

    def step(real):
        with torch.no_grad():
            fake = G(torch.randn(n, Z, device=device))
        logits = D(torch.cat([real, fake], 0))
        d_loss = bce(logits[:n], ones) + bce(logits[n:], zeros)
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        opt_d.step()
        D.requires_grad_(False)
        g_loss = bce(D(G(torch.randn(n, Z, device=device))), ones)
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_g.step()
        D.requires_grad_(True)
    return step


# ---------------------------------------------------------------------------- timing


def interleaved(cases: dict, repeats: int, warmup: int, now=time.perf_counter,
                block: int = 3) -> dict:
    """{name: (fn_minigan, fn_torch, sync)} -> {name: (median_minigan, median_torch)}, each
    case timed by bench.interleave in rounds of ``block`` calls (after a pause and one untimed
    call, so neither engine pays for the other's spinning threads); ``sync`` ends every call."""
    results = {}
    for name, (fa, fb, sync) in cases.items():
        def synced(fn, sync=sync):
            return lambda: (fn(), sync())
        results[name] = bench.interleave(synced(fa), synced(fb), repeats, warmup, now,
                                         block=block, untimed=1)
    return results


def setup(device: str, n: int, torch):
    """Both models with equal weights, their optimizers and one real batch for each."""
    mg.manual_seed(0)
    mg_device = "cpu" if device == "cpu" else "cuda"
    G, D = Generator().to(mg_device), Discriminator().to(mg_device)
    tg, td = build_torch_models(torch, G, D, device)
    adam = dict(lr=2e-4, betas=(0.5, 0.999))
    opt = (mg.optim.Adam(G.parameters(), **adam), mg.optim.Adam(D.parameters(), **adam))
    topt = (torch.optim.Adam(tg.parameters(), **adam), torch.optim.Adam(td.parameters(), **adam))
    real_np = np.random.default_rng(0).uniform(-1, 1, (n, 1, 28, 28)).astype(np.float32)
    real = mg.tensor(real_np, device=mg_device)
    treal = torch.from_numpy(real_np).to(device)
    return (G, D, opt, real), (tg, td, topt, treal)


def run_child(framework: str, device: str, n: int, steps: int) -> None:
    """Peak memory of training steps in this (fresh) process: printed as JSON."""
    import torch
    (G, D, opt, real), (tg, td, topt, treal) = setup(device, n, torch)
    if framework == "minigan":
        del tg, td, topt, treal
        step = make_minigan_step(G, D, opt[0], opt[1], n, "cpu" if device == "cpu" else "cuda")
        batch = real
    else:
        del G, D, opt, real
        step = make_torch_step(torch, tg, td, topt[0], topt[1], n, device)
        batch = treal
    import gc
    gc.collect()
    # Reset the kernel's high-water mark of the resident set to the current size (writing
    # 5 to clear_refs, Linux >= 4.0), so VmHWM afterwards is the peak of the steps alone.
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    base = _status_kb("VmRSS")
    for _ in range(steps):
        step(batch)
    print(json.dumps({"peak_mb": max(_status_kb("VmHWM") - base, 0) / 1024}))


def _status_kb(field: str) -> int:
    """A memory field of /proc/self/status, in kB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


def peak_memory(framework: str, device: str, n: int, untuned: bool = False) -> float | None:
    if device != "cpu" or not os.path.exists("/proc/self/clear_refs"):
        return None
    out = subprocess.run([sys.executable, __file__, "--child", framework, "--batch-size", str(n)]
                         + (["--untuned"] if untuned else []), capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])["peak_mb"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="5 repeats, 1 warm-up, no memory")
    parser.add_argument("--no-memory", action="store_true")
    parser.add_argument("--threads", type=int, default=None,
                        help="threads for both (default: NumPy's BLAS threads)")
    parser.add_argument("--cpu-time", action="store_true",
                        help="one thread, timed by the process's CPU time (for busy machines)")
    parser.add_argument("--untuned", action="store_true",
                        help="leave the process as an import leaves it (no mg.tune_process())")
    parser.add_argument("--child", choices=["minigan", "torch"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    settings = mg.process_settings() if args.untuned else (mg.tune_process(), mg.process_settings())[1]
    try:
        import torch
    except ImportError:
        print("PyTorch is not installed: pip install torch (the comparison needs it)")
        return 1
    if args.child:
        run_child(args.child, args.device, args.batch_size, steps=3)
        return 0
    if args.quick:
        args.repeats, args.warmup, args.no_memory = 5, 1, True
    n, device = args.batch_size, args.device
    threads = bench.set_threads(torch, 1 if args.cpu_time else args.threads)
    if device == "cpu":
        sync = lambda: None
        xp = np
    else:
        backend.normalize_device("cuda")  # a clear error when CuPy or the GPU is missing
        xp = backend.xp_for_device("cuda")
        sync = lambda: (xp.cuda.Device().synchronize(), torch.cuda.synchronize())

    (G, D, opt, real), (tg, td, topt, treal) = setup(device, n, torch)
    mdev = "cpu" if device == "cpu" else "cuda"
    z = mg.randn(n, Z, device=mdev)
    tz = torch.from_numpy(backend.as_numpy(z.data)).to(device)
    peak = matmul_peak_gflops(xp, sync, now=bench.clock(args.cpu_time))

    def g_forward():
        G(z)

    def tg_forward():
        tg(tz)

    def d_fb():
        D.zero_grad()
        D(real).sum().backward()

    def td_fb():
        td.zero_grad(set_to_none=True)
        td(treal).sum().backward()

    cases = {
        "training step": (lambda s=make_minigan_step(G, D, opt[0], opt[1], n, mdev): s(real),
                          lambda s=make_torch_step(torch, tg, td, topt[0], topt[1], n, device): s(treal),
                          sync),
        "generator forward": (g_forward, tg_forward, sync),
        "discriminator fwd+bwd": (d_fb, td_fb, sync),
    }
    flops = {"training step": step_flops(n), "generator forward": generator_flops(n),
             "discriminator fwd+bwd": discriminator_fb_flops(n)}
    results = interleaved(cases, args.repeats, args.warmup, bench.clock(args.cpu_time))

    print(f"DCGAN-28, batch {n}, float32, device {device}; BLAS threads {threads}, "
          f"torch threads {torch.get_num_threads()}; minigan {mg.__version__}, "
          f"numpy {np.__version__}, torch {torch.__version__}")
    print(f"{'process CPU time' if args.cpu_time else 'wall clock'}, medians of {args.repeats}; "
          f"{bench.load_average()}")
    print(f"process settings: malloc {settings['malloc']}; OpenBLAS {settings['blas_spin']}")
    print(f"float32 matmul peak (1024^3, same run): {peak:.0f} GFLOP/s")
    print(f"{'case':24s} {'minigan s':>10s} {'torch s':>10s} {'ratio':>7s} "
          f"{'minigan GFLOP/s':>16s} {'% of peak':>9s}")
    for name, (ta, tb) in results.items():
        gflops = flops[name] / ta / 1e9
        print(f"{name:24s} {ta:10.4f} {tb:10.4f} {ta / tb:7.2f} {gflops:16.1f} "
              f"{100 * gflops / peak:8.0f}%")
    if not args.no_memory and device == "cpu":
        ours = peak_memory("minigan", device, n, args.untuned)
        theirs = peak_memory("torch", device, n, args.untuned)
        if ours is not None:
            print(f"peak memory of a training step (RSS above setup): minigan {ours:.0f} MB, "
                  f"torch {theirs:.0f} MB, ratio {ours / max(theirs, 1e-9):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
