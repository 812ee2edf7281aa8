"""The article's Keras DCGAN, built in minigan layer by layer: its shape bug, the fix, its cost.

    python examples/09_article_keras_dcgan.py              # about 3 minutes (see below)
    python examples/09_article_keras_dcgan.py --quick      # a narrow model, 3 steps
    python examples/09_article_keras_dcgan.py --fix end    # train the upsampling fix instead
    python examples/09_article_keras_dcgan.py --width 1    # the article's full width (slow)

The article this project grew from trains this Keras model on MNIST (28x28x1 digits):

    G: Dense(7*7*256, use_bias=False) -> BatchNormalization -> LeakyReLU -> Reshape((7, 7, 256))
       -> 3 x [Conv2D(f, 3, padding='same', use_bias=False) -> BatchNormalization -> LeakyReLU]
          with f = 512, 1024, 2048
       -> Conv2D(1, 3, padding='same', activation='tanh')
    D: Conv2D(64, 3, strides=2, padding='same') -> LeakyReLU -> Dropout(0.3)
       -> Conv2D(128, 3, strides=2, padding='same') -> LeakyReLU -> Dropout(0.3)
       -> Flatten -> Dense(1)
    loss: binary cross-entropy on D's logits (D ends in a Dense(1) without activation, so
          BinaryCrossentropy(from_logits=True)); optimizer: RMSprop(2e-4) for both

This script

1. builds both in minigan, channels-first ((N, C, H, W) instead of Keras's (N, H, W, C)),
   with Keras's defaults spelled out (LeakyReLU's slope 0.3, BatchNormalization's
   momentum 0.99 = PyTorch's momentum 0.01 and epsilon 1e-3, Glorot-uniform weights, RMSprop's
   rho 0.9 = PyTorch's alpha, epsilon 1e-7) and prints a summary like Keras's;
2. handles Keras's ``padding='same'`` with stride 2 honestly: PyTorch (and minigan) refuse
   it, because for an even input Keras pads 0 pixels before and 1 after (TensorFlow's
   rule), which no symmetric padding can express. ``KerasSamePad`` pads exactly as Keras does;
3. shows the bug of the model as written: no layer of G upsamples, so G makes 7x7 images
   and D, built for 28x28, fails on them (minigan's real error is printed);
4. fixes it with one layer, three ways, and measures what each costs (parameters, and the
   FLOPs of a training step with ``mg.profile()``) next to DCGAN-28:
   ``end``, ``Upsample(scale_factor=4)`` (nearest, Keras's ``UpSampling2D``) before G's last
   conv; ``blocks``, ``Upsample(scale_factor=2)`` before the second and third conv blocks
   (the usual Keras idiom); ``transposed``, G's last conv becomes a learned upsampling,
   ``ConvTranspose2d(kernel 8, stride 4, padding 2)`` (DCGAN-28's tool);
5. trains one (``--fix``, default ``transposed``: the cheapest per step and the one that
   learned digits in a few hundred steps) with a width multiplier on G's filters
   (``--width``, default 1/8: 32, 64, 128 and 256 filters instead of 256 ... 2048), 300
   steps at batch 32, about 3 minutes on 2 CPU cores; ``--width 1`` trains the article's
   full size (its step time is printed first; expect seconds per step on a CPU).

Writes ``samples.png`` (after the last step) and ``progress.png`` (the same noise every
50 steps) to ``--out DIR`` (default ``runs/examples/09_article_keras_dcgan``).
docs/gan.md's section "The article's Keras model" maps every Keras line to its minigan
line and records what this script measured.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path


import minigan as mg
import minigan.functional as F
import minigan.nn as nn
from minigan.data import Batches, load_mnist
from minigan.images import save_grid, stack_with_labels
from minigan.models.dcgan import Discriminator as DCGAN28Discriminator
from minigan.models.dcgan import Generator as DCGAN28Generator
from minigan.optim import RMSprop

START = time.perf_counter()
Z_DIM = 100
SLOPE = 0.3                                   # Keras's LeakyReLU default (PyTorch's: 0.01)
BN = dict(eps=1e-3, momentum=0.01)            # Keras's momentum=0.99, epsilon=1e-3


# ---------------------------------------------------------------------------- Keras's 'same'


def keras_same(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """(before, after) padding of Keras's (TensorFlow's) padding='same' along one axis:
    the output has ceil(size / stride) pixels, the padding needed for that is split with
    the odd pixel AFTER (bottom / right)."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


class KerasSamePad(nn.Module):
    """Zero-pads (N, C, H, W) as Keras's padding='same' would for this kernel and stride."""

    def __init__(self, kernel_size: int, stride: int) -> None:
        super().__init__()
        self.kernel_size, self.stride = kernel_size, stride

    def forward(self, x: mg.Tensor) -> mg.Tensor:
        top, bottom = keras_same(x.shape[2], self.kernel_size, self.stride)
        left, right = keras_same(x.shape[3], self.kernel_size, self.stride)
        return F.pad(x, (left, right, top, bottom))

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}"


def conv_same(in_channels: int, out_channels: int, kernel_size: int, stride: int = 1,
              bias: bool = True) -> nn.Module:
    """Keras's Conv2D(out_channels, kernel_size, strides=stride, padding='same').
    At stride 1 with an odd kernel Keras pads (k - 1) / 2 on both sides, which is
    PyTorch's padding='same'; at stride 2 it pads asymmetrically, so the padding goes in
    a layer of its own."""
    if stride == 1 and kernel_size % 2 == 1:
        return nn.Conv2d(in_channels, out_channels, kernel_size, padding="same", bias=bias)
    return nn.Sequential(KerasSamePad(kernel_size, stride),
                         nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride,
                                   bias=bias))


# ---------------------------------------------------------------------------- the models


def generator(width: float = 1.0, fix: str | None = None) -> nn.Sequential:
    """The article's G. ``width`` scales every filter count (1: the article's);
    ``fix``: None (as written: 7x7 out), "end" (Upsample x4 before the last conv),
    "blocks" (Upsample x2 before the second and the third conv block) or "transposed"
    (the last conv becomes a ConvTranspose2d with kernel 8, stride 4 and padding 2:
    7x7 -> 28x28, each input pixel painting an 8x8 patch that overlaps its neighbours'
    evenly, 2 patches per output pixel along each axis)."""
    c = [max(1, round(n * width)) for n in (256, 512, 1024, 2048)]
    layers: list[nn.Module] = [
        nn.Linear(Z_DIM, 7 * 7 * c[0], bias=False),       # Dense(7*7*256, use_bias=False)
        nn.BatchNorm1d(7 * 7 * c[0], **BN),                # BatchNormalization()
        nn.LeakyReLU(SLOPE),                               # LeakyReLU()
        nn.Unflatten(1, (c[0], 7, 7)),                     # Reshape((7, 7, 256))
    ]
    for i, (c_in, c_out) in enumerate(zip(c, c[1:])):
        if fix == "blocks" and i > 0:
            layers.append(nn.Upsample(scale_factor=2))     # UpSampling2D() (nearest)
        layers += [conv_same(c_in, c_out, 3, bias=False),  # Conv2D(f, 3, padding='same', ...)
                   nn.BatchNorm2d(c_out, **BN),            # BatchNormalization()
                   nn.LeakyReLU(SLOPE)]                    # LeakyReLU()
    if fix == "end":
        layers.append(nn.Upsample(scale_factor=4))         # UpSampling2D(size=4)
    if fix == "transposed":                                # Conv2DTranspose(1, 8, strides=4,
        layers.append(nn.ConvTranspose2d(c[-1], 1, 8, stride=4, padding=2))  # 'same', tanh)
    else:
        layers.append(conv_same(c[-1], 1, 3))              # Conv2D(1, 3, padding='same',
    layers.append(nn.Tanh())                               #        activation='tanh')
    return keras_init(nn.Sequential(*layers))


def discriminator() -> nn.Sequential:
    """The article's D, for (N, 1, 28, 28) images: one logit per image."""
    return keras_init(nn.Sequential(
        conv_same(1, 64, 3, stride=2),                     # Conv2D(64, 3, 2, padding='same')
        nn.LeakyReLU(SLOPE),                               # LeakyReLU()
        nn.Dropout(0.3),                                   # Dropout(0.3)
        conv_same(64, 128, 3, stride=2),                   # Conv2D(128, 3, 2, padding='same')
        nn.LeakyReLU(SLOPE),
        nn.Dropout(0.3),
        nn.Flatten(),                                      # Flatten()
        nn.Linear(128 * 7 * 7, 1)))                        # Dense(1)


def keras_init(model: nn.Module) -> nn.Module:
    """Keras's defaults: Glorot-uniform kernels, zero biases (PyTorch's defaults differ)."""
    for m in model.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return model


def parameters(model: nn.Module) -> int:
    return sum(p.data.size for p in model.parameters())


def describe(layer: nn.Module) -> str:
    """A layer in one short line: its class and its main arguments."""
    if isinstance(layer, nn.Sequential):
        return " + ".join(describe(m) for m in layer)
    if isinstance(layer, nn.Conv2d):
        padding = layer.padding if isinstance(layer.padding, str) else layer.padding[0]
        return (f"Conv2d({layer.in_channels}, {layer.out_channels}, {layer.kernel_size[0]}, "
                f"stride={layer.stride[0]}, padding={padding!r}"
                + (", bias=False)" if layer.bias is None else ")"))
    if isinstance(layer, (nn.BatchNorm1d, nn.BatchNorm2d)):
        return (f"{type(layer).__name__}({layer.num_features}, eps={layer.eps:g}, "
                f"momentum={layer.momentum:g})")
    if isinstance(layer, KerasSamePad):
        return f"KerasSamePad({layer.kernel_size}, {layer.stride})"
    return f"{type(layer).__name__}({layer.extra_repr()})"


def summary(model: nn.Sequential, x: mg.Tensor, name: str) -> mg.Tensor:
    """Keras's model.summary(): each layer, its output shape and its parameters."""
    print(f"{name}: {'layer':62}{'output shape':>16}{'parameters':>13}")
    with mg.no_grad():
        for layer in model:
            x = layer(x)
            print(f"  {describe(layer):63}{str(tuple(x.shape[1:])):>16}{parameters(layer):>13,}")
    print(f"  {'total':63}{'':16}{parameters(model):>13,}")
    return x


# ---------------------------------------------------------------------------- training


def train_step(G, D, opt_G, opt_D, real: mg.Tensor) -> tuple[float, float]:
    """One step as the article's train_step: D on real and fake, then G through D."""
    n = real.shape[0]
    ones, zeros = mg.ones(n, 1), mg.zeros(n, 1)
    with mg.no_grad():
        fake = G(mg.randn(n, Z_DIM))
    d_loss = (F.binary_cross_entropy_with_logits(D(real), ones)
              + F.binary_cross_entropy_with_logits(D(fake), zeros))
    opt_D.zero_grad()
    d_loss.backward()
    opt_D.step()
    D.requires_grad_(False)
    g_loss = F.binary_cross_entropy_with_logits(D(G(mg.randn(n, Z_DIM))), ones)
    opt_G.zero_grad()
    g_loss.backward()
    opt_G.step()
    D.requires_grad_(True)
    return d_loss.item(), g_loss.item()


def optimizers(G, D):
    """RMSprop(2e-4) with Keras's defaults (rho 0.9, epsilon 1e-7)."""
    return (RMSprop(G.parameters(), lr=2e-4, alpha=0.9, eps=1e-7),
            RMSprop(D.parameters(), lr=2e-4, alpha=0.9, eps=1e-7))


def step_flops(G, D, batch: int = 64, measured_at: int = 2) -> int:
    """FLOPs of one training step at ``batch``, measured with mg.profile() (the matrix
    products: conv, linear, matmul, forward and backward) on a step at batch
    ``measured_at`` and scaled: every counted op is linear in the batch size."""
    state = mg.get_rng_state()
    opt_G, opt_D = optimizers(G, D)
    real = mg.randn(measured_at, 1, 28, 28)
    with mg.profile() as p:
        train_step(G, D, opt_G, opt_D, real)
    mg.set_rng_state(state)
    return sum(r.flops or 0 for r in p.key_averages()) * batch // measured_at


def seconds_per_step(G, D, batch: int, steps: int = 3) -> float:
    """Wall-clock seconds of one training step, the mean of ``steps`` after a warm-up."""
    state = mg.get_rng_state()
    opt_G, opt_D = optimizers(G, D)
    real = mg.randn(batch, 1, 28, 28)
    train_step(G, D, opt_G, opt_D, real)
    start = time.perf_counter()
    for _ in range(steps):
        train_step(G, D, opt_G, opt_D, real)
    mg.set_rng_state(state)
    return (time.perf_counter() - start) / steps


# ---------------------------------------------------------------------------- the story


def show_padding() -> None:
    print("\n== Keras's padding='same' with stride 2 ==")
    try:
        nn.Conv2d(1, 64, 3, stride=2, padding="same")
    except (ValueError, mg.MiniganError) as error:   # PyTorch refuses it too
        print(f"nn.Conv2d(1, 64, 3, stride=2, padding='same') -> {type(error).__name__}: {error}")
    for size in (28, 14):
        before, after = keras_same(size, 3, 2)
        print(f"Keras on {size} pixels, kernel 3, stride 2: output ceil({size}/2) = "
              f"{-(-size // 2)}, padding {before} before and {after} after; its windows start "
              f"at rows 0, 2, 4, ... (padding=1 on both sides gives the same size, but windows "
              f"starting one row earlier, at -1, 1, 3, ...)")
    print("So D pads with KerasSamePad (F.pad(x, (0, 1, 0, 1))) and convolves with padding 0; "
          "G's stride-1 3x3 convs are PyTorch's padding='same' (1 on each side), as in Keras.")


def show_bug(width: float) -> None:
    print("\n== The model as written ==")
    G, D = generator(width), discriminator()
    fake = summary(G, mg.randn(2, Z_DIM), "G")
    summary(D, mg.randn(2, 1, 28, 28), "D")
    print(f"\nG makes images of shape {tuple(fake.shape)}: 'same' convs at stride 1 keep 7x7, "
          f"and no layer upsamples. D on them:")
    try:
        with mg.no_grad():
            D(fake)
    except (ValueError, mg.MiniganError) as error:
        print(f"  D(G(z)) -> {type(error).__name__}: {error}")
        print("  (D's two stride-2 convs take 7x7 to 4x4 and 2x2, so Flatten gives 128*2*2 = "
              "512 features, and Dense(1) was built for 128*7*7 = 6272; Keras fails at the "
              "same layer)")
    else:
        raise SystemExit("expected D to refuse G's 7x7 images")


def show_costs(width: float, trained_width: float, trained_fix: str) -> None:
    print("\n== What the models cost: parameters, and the FLOPs of one training step at "
          "batch 64 (mg.profile) ==")
    rows = {"DCGAN-28 (minigan train)": (DCGAN28Generator(), DCGAN28Discriminator())}
    for fix in ("end", "blocks", "transposed"):
        rows[f"article + fix '{fix}', width {width:g}"] = (generator(width, fix), discriminator())
    if trained_width != width:
        rows[f"article + fix '{trained_fix}', width {trained_width:g} (trained)"] = (
            generator(trained_width, trained_fix), discriminator())
    print(f"  {'model':46}{'G params':>12}{'D params':>10}{'GFLOP/step':>12}{'x DCGAN-28':>12}")
    base = None
    for name, (G, D) in rows.items():
        flops = step_flops(G, D)
        base = base or flops
        print(f"  {name:46}{parameters(G):>12,}{parameters(D):>10,}{flops / 1e9:>12.1f}"
              f"{flops / base:>12.2f}", flush=True)
    print("  (FLOPs: 2 per multiply-add of the convs, linears and matmuls, forward and "
          "backward: D's update and G's)")


def train(width: float, fix: str, steps: int, batch_size: int, out: Path,
          timed_steps: int = 3) -> None:
    print(f"\n== Training the fixed model (fix '{fix}', width {width:g}) for {steps} steps, "
          f"batch {batch_size} ==")
    mg.manual_seed(0)
    G, D = generator(width, fix), discriminator()
    ours = seconds_per_step(G, D, batch_size, timed_steps)   # side by side, under one load
    theirs = seconds_per_step(DCGAN28Generator(), DCGAN28Discriminator(), batch_size,
                              timed_steps)
    print(f"time per step: {ours:.2f} s, DCGAN-28's {theirs:.2f} s ({ours / theirs:.1f}x; "
          f"{timed_steps} steps each after a warm-up)")
    mg.manual_seed(0)
    G, D = generator(width, fix), discriminator()
    opt_G, opt_D = optimizers(G, D)
    images, _ = load_mnist()                            # 4,000 digits in [-1, 1]
    batches = Batches(images, batch_size=batch_size, seed=0).forever()
    fixed_z = mg.randn(64, Z_DIM)
    every = max(1, min(50, steps // 4))
    grids, labels = [], []
    wall = cpu = 0.0                                    # training only, not the samples
    for step in range(1, steps + 1):
        start, start_cpu = time.perf_counter(), time.process_time()
        d_loss, g_loss = train_step(G, D, opt_G, opt_D, next(batches))
        wall += time.perf_counter() - start
        cpu += time.process_time() - start_cpu
        if step % every == 0 or step == steps:
            print(f"step {step:4d}  D loss {d_loss:.3f}  G loss {g_loss:.3f}  "
                  f"{wall / step:.2f} s/step", flush=True)
            G.eval()                                    # BatchNorm's running statistics
            with mg.no_grad():
                grids.append(save_grid(G(fixed_z), out / "steps" / f"step_{step:04d}.png"))
            G.train()
            labels.append(f"step {step}")
    print(f"{steps} steps in {wall:.0f} s ({wall / steps:.2f} s/step; {cpu:.0f} s of CPU time)")
    G.eval()
    with mg.no_grad():
        print(f"wrote {save_grid(G(fixed_z), out / 'samples.png')}")
    print(f"wrote {stack_with_labels(grids, labels, out / 'progress.png')}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--width", type=float, default=0.125,
                        help="multiplier of G's filter counts for training (1: the article's)")
    parser.add_argument("--fix", choices=("transposed", "end", "blocks"), default="transposed",
                        help="how the trained G gets to 28x28 (default: transposed)")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--out", default="runs/examples/09_article_keras_dcgan")
    parser.add_argument("--quick", action="store_true",
                        help="width 1/16 everywhere, 3 training steps at batch 8")
    args = parser.parse_args()
    if args.quick:
        args.width, args.steps, args.batch_size = 1 / 16, 3, 8
    if not 0 < args.width <= 1 or args.steps < 1 or args.batch_size < 2:
        parser.error("--width must be in (0, 1], --steps >= 1, --batch-size >= 2")
    mg.tune_process()          # this script owns its process: minigan's CPU speed settings
    shown_width = args.width if args.quick else 1.0   # the article's model for the story
    show_padding()
    show_bug(shown_width)
    show_costs(shown_width, args.width, args.fix)
    train(args.width, args.fix, args.steps, args.batch_size, Path(args.out),
          1 if args.quick else 3)
    print(f"\ntotal: {time.perf_counter() - START:.0f} s, {time.process_time():.0f} s of CPU time")


if __name__ == "__main__":
    main()
