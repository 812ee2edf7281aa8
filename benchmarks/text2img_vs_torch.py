"""The text-to-image GAN side by side: minigan against PyTorch on the same work, in one run.

PyTorch twins of minigan's text encoder, generator and discriminator are built with the same
submodule names, so minigan's weights copy straight in. One training step is the stage-2 step
of ``Text2ImgTrainer.train_step`` (the captioned batch, its wrong captions and the noises are
drawn once with NumPy and given to both): D on (real, caption), (fake, caption), (real, wrong
caption) with the hinge loss (+ the contrastive term when on), then G on B/2 captions with
two noises each (hinge + the mode-seeking term + the contrastive term), Adam for both.
Timed in alternating blocks (``minigan.bench.interleave``) after a warm-up; medians.
``--cpu-time``: one thread each, process CPU time (the fair measure on a busy machine). The process is tuned as ``minigan train`` tunes its own
(``mg.tune_process()``: glibc keeps freed memory, OpenBLAS spins less; it helps PyTorch's
allocations as much as ours); ``--untuned`` leaves it as an import does.

    python benchmarks/text2img_vs_torch.py                     # 2 threads, wall clock
    OPENBLAS_NUM_THREADS=1 python benchmarks/text2img_vs_torch.py --cpu-time   # 1 thread, CPU time
    python benchmarks/text2img_vs_torch.py --cross-attention --magp 0.1
"""
from __future__ import annotations

import minigan  # noqa: F401  first: it limits OpenBLAS's thread spin before NumPy loads

import argparse
import json
import statistics
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import minigan as mg  # noqa: E402
from minigan import backend, bench  # noqa: E402
from minigan.training.text2img import (CAPTION_LENGTH, FAKES, G_NEGATIVES,  # noqa: E402
                                       Text2ImgConfig, Text2ImgTrainer, compatible,
                                       step_generator, true_of)


def torch_twins(torch, trainer: Text2ImgTrainer):
    """PyTorch modules equal to the trainer's text encoder, G and D (weights copied)."""
    nn, F = torch.nn, torch.nn.functional
    cfg = trainer.config

    class TextEncoder(nn.Module):
        def __init__(self, ours):
            super().__init__()
            d = ours.d_model
            self.embedding = nn.Embedding(ours.vocab_size, d, padding_idx=0)
            self.layers = nn.ModuleList([
                nn.TransformerEncoderLayer(d, cfg.text_heads, cfg.text_ff, dropout=0.0,
                                           batch_first=True, norm_first=True)
                for _ in range(cfg.text_layers)])
            self.norm = nn.LayerNorm(d)
            self.positions = torch.from_numpy(backend.as_numpy(ours.positions(
                CAPTION_LENGTH, ours.embedding.weight).data))

        def forward(self, ids, pad):
            h = self.embedding(ids) + self.positions[:ids.shape[1]]
            for layer in self.layers:
                h = layer(h, src_key_padding_mask=pad)
            h = self.norm(h)
            keep = (~pad).unsqueeze(-1).to(h.dtype)
            return h, (h * keep).sum(1) / keep.sum(1).clamp(min=1)

    class CBN(nn.Module):
        def __init__(self, c, e):
            super().__init__()
            self.bn = nn.BatchNorm2d(c, affine=False)
            self.gamma, self.beta = nn.Linear(e, c), nn.Linear(e, c)

        def forward(self, x, s):
            return self.bn(x) * (1 + self.gamma(s))[:, :, None, None] + self.beta(s)[:, :, None, None]

    class Attend(nn.Module):
        def __init__(self, c, d):
            super().__init__()
            self.norm = nn.LayerNorm(c)
            self.attention = nn.MultiheadAttention(c, cfg.attention_heads, kdim=d, vdim=d,
                                                   batch_first=True)
            self.gate = nn.Parameter(torch.zeros(()))

        def forward(self, x, tokens, pad):
            n, c, h, w = x.shape
            q = self.norm(x.reshape(n, c, h * w).transpose(1, 2))
            read = self.attention(q, tokens, tokens, key_padding_mask=pad, need_weights=False)[0]
            return x + self.gate * read.transpose(1, 2).reshape(n, c, h, w)

    class Generator(nn.Module):
        def __init__(self):
            super().__init__()
            g, e = cfg.ngf, cfg.text_dim
            width = cfg.z_dim + e
            self.mapping = nn.Sequential(*[layer for _ in range(cfg.mapping) for layer in (
                nn.Linear(width, width), nn.LeakyReLU(0.2))]) if cfg.mapping else None
            self.project = nn.Linear(width, 64 * g)
            self.norm0 = CBN(4 * g, e)
            self.up1 = nn.ConvTranspose2d(4 * g, 2 * g, 4, 2, 1, bias=False)
            self.norm1 = CBN(2 * g, e)
            self.up2 = nn.ConvTranspose2d(2 * g, g, 4, 2, 1, bias=False)
            self.norm2 = CBN(g, e)
            self.to_rgb = nn.ConvTranspose2d(g, 3, 4, 2, 1)
            if cfg.cross_attention:
                self.attend8, self.attend16 = Attend(2 * g, e), Attend(g, e)
            self.null_sentence = nn.Parameter(torch.zeros(e))

        def forward(self, z, s, tokens, pad):
            code = torch.cat([z, s], 1)
            if self.mapping is not None:
                code = self.mapping(code)
            h = self.project(code).reshape(len(z), 4 * cfg.ngf, 4, 4)
            h = F.relu(self.norm0(h, s))
            h = F.relu(self.norm1(self.up1(h), s))
            if cfg.cross_attention:
                h = self.attend8(h, tokens, pad)
            h = F.relu(self.norm2(self.up2(h), s))
            if cfg.cross_attention:
                h = self.attend16(h, tokens, pad)
            return torch.tanh(self.to_rgb(h))

    class Discriminator(nn.Module):
        def __init__(self):
            super().__init__()
            d = cfg.ndf
            self.body = nn.Sequential(
                nn.Conv2d(3, d, 4, 2, 1), nn.LeakyReLU(0.2), nn.Conv2d(d, 2 * d, 4, 2, 1),
                nn.LeakyReLU(0.2), nn.Conv2d(2 * d, 4 * d, 4, 2, 1), nn.LeakyReLU(0.2),
                nn.Flatten(), nn.Linear(64 * d, cfg.d_features), nn.LeakyReLU(0.2))
            self.realism_head = nn.Linear(cfg.d_features, 1)
            self.project_sentence = nn.Linear(cfg.text_dim, cfg.d_features, bias=False)
            if cfg.contrastive > 0:
                self.embed_image = nn.Linear(cfg.d_features, cfg.contrastive_dim, bias=False)
                self.embed_sentence = nn.Linear(cfg.text_dim, cfg.contrastive_dim, bias=False)

        def score(self, phi, s):
            return self.realism_head(phi)[:, 0] + (phi * self.project_sentence(s)).sum(1)

        def similarity(self, phi, s):
            def unit(x):
                return x / (x.pow(2).sum(1, keepdim=True) + 1e-8).sqrt()
            return unit(self.embed_image(phi)) @ unit(self.embed_sentence(s)).T

    twins = {"text_encoder": TextEncoder(trainer.text_d), "generator": Generator(),
             "discriminator": Discriminator()}
    for name, module in twins.items():
        ours = trainer.modules()[name].state_dict()
        state = {k: torch.from_numpy(np.array(backend.as_numpy(v.data))) for k, v in ours.items()}
        module.load_state_dict(state, strict=True)
    return twins["text_encoder"], twins["generator"], twins["discriminator"]


def torch_contrastive(torch, similarity, positives, leave_out, temperature: float):
    """``minigan.training.text2img.contrastive_loss`` in PyTorch."""
    n = similarity.shape[0]
    eye = torch.eye(n, dtype=torch.bool)
    own = eye if positives is None else eye | torch.from_numpy(positives)
    kept = torch.ones(n, n, dtype=torch.bool) if leave_out is None else \
        ~torch.from_numpy(leave_out) | eye
    return torch_set_infonce(similarity, own, kept, temperature)


def torch_set_infonce(similarity, own, kept, temperature: float, positives: str = "sum"):
    """``minigan.training.text2img.set_infonce`` in PyTorch (``own``, ``kept``: bool tensors)."""
    logits = similarity / temperature
    best = logits.masked_fill(~own, -1e4)
    best = best.logsumexp(1) if positives == "sum" else best.amax(1)
    return (logits.masked_fill(~kept, -1e4).logsumexp(1) - best).mean()


def torch_step(torch, trainer: Text2ImgTrainer, E, G, D, opt_g, opt_d):
    """Stage 2 of Text2ImgTrainer.train_step (hinge, shared encoder, no EMA), in PyTorch."""
    F, cfg = torch.nn.functional, trainer.config
    state = {"step": 0}

    def step():
        rng = step_generator(cfg.seed, state["step"])
        state["step"] += 1
        B, half = cfg.batch_size, cfg.batch_size // 2
        batch = trainer.data.sample(B, rng)
        wrong = trainer.data.negatives(batch.labels, batch.stated, rng, cfg.hard_negatives)[0]
        shared = cfg.fakes == "shared"
        z_d = None if shared else torch.from_numpy(trainer.draw_noise(rng, B))
        z_np = np.concatenate([trainer.draw_noise(rng, half), trainer.draw_noise(rng, half)])
        z_g = torch.from_numpy(z_np)
        ids, pad = (torch.from_numpy(a) for a in trainer.tokenizer.encode(
            list(batch.captions) + list(wrong), CAPTION_LENGTH))
        real = torch.from_numpy(batch.images).requires_grad_(cfg.magp > 0)
        tokens, s_all = E(ids, pad)
        s_real, s_wrong = s_all[:B], s_all[B:]
        both = torch.from_numpy(np.concatenate([np.arange(half)] * 2))
        rows = both if shared else slice(0, B)
        if shared:     # one G pass: D's fakes are the images G's step scores
            images = G(z_g, s_real[rows].detach(), tokens[rows].detach(), pad[rows])
            fake = images.detach()
        else:
            with torch.no_grad():
                fake = G(z_d, s_real.detach(), tokens[:B].detach(), pad[:B])
        phi = D.body(torch.cat([real, fake]))
        score_real, score_fake = D.score(phi[:B], s_real), D.score(phi[B:], s_real[rows])
        score_wrong = D.score(phi[:B], s_wrong)
        w = cfg.mismatch
        d_loss = (F.relu(1 - score_real).mean() + (1 - w) * F.relu(1 + score_fake).mean()
                  + w * F.relu(1 + score_wrong).mean())
        if cfg.magp > 0:
            gx, gs = torch.autograd.grad(score_real.sum(), [real, s_real],
                                         create_graph=True)
            norms = gx.pow(2).sum((1, 2, 3)) + gs.pow(2).sum(1)
            d_loss = d_loss + cfg.magp * norms.pow(cfg.magp_power / 2).mean()
        if cfg.contrastive > 0:
            d_loss = d_loss + cfg.contrastive * torch_contrastive(
                torch, D.similarity(phi[:B], s_real), None,
                true_of(batch.labels, batch.stated), cfg.temperature)
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        opt_d.step()
        D.requires_grad_(False)
        ids_g, pad_g = (torch.from_numpy(a) for a in trainer.tokenizer.encode(
            list(batch.captions[:half]) * 2, CAPTION_LENGTH))
        with torch.no_grad():
            tokens_g, s_g = E(ids_g, pad_g)
        if not shared:
            images = G(z_g, s_g, tokens_g, pad_g)
        phi_g = D.body(images)
        g_loss = -D.score(phi_g, s_g).mean()
        g_weight = cfg.contrastive if cfg.g_contrastive is None else cfg.g_contrastive
        if cfg.contrastive > 0 and g_weight > 0 and cfg.g_negatives == "batch":
            labels = np.concatenate([batch.labels[:half]] * 2)
            stated = np.concatenate([batch.stated[:half]] * 2)
            g_loss = g_loss + g_weight * torch_contrastive(
                torch, D.similarity(phi_g, s_g), compatible(labels, stated), None,
                cfg.temperature)
        elif cfg.contrastive > 0 and g_weight > 0:      # "changed" captions
            texts, positive, kept = trainer.changed_candidates(
                batch.captions[:half], batch.labels[:half], batch.stated[:half], rng)
            ids_c, pad_c = (torch.from_numpy(a) for a in trainer.tokenizer.encode(
                texts, CAPTION_LENGTH))
            with torch.no_grad():
                s_c = E(ids_c, pad_c)[1]
            g_loss = g_loss + g_weight * torch_set_infonce(
                D.similarity(phi_g, s_c), torch.from_numpy(positive), torch.from_numpy(kept),
                cfg.temperature, cfg.g_positives)
        if cfg.diversity > 0:
            d_img = (images[:half] - images[half:]).abs().mean((1, 2, 3))
            d_z = torch.from_numpy(np.abs(z_np[:half] - z_np[half:]).mean(1))
            g_loss = g_loss + cfg.diversity * (1 / (d_img / d_z + 1e-5)).mean()
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_g.step()
        D.requires_grad_(True)
    return step


def separate_processes(argv: list, rounds: int) -> tuple[float, float]:
    """Medians of ``rounds`` fresh processes per engine, run alternately (minigan, PyTorch,
    minigan, ...), each timing the same steps alone: a process holding both engines makes
    each pay for the other's thread pools and its reshaped heap."""
    import subprocess
    forwarded = [a for a in argv if a not in ("--separate",)]
    times: dict = {"minigan": [], "torch": []}
    for _ in range(rounds):
        for engine in times:
            out = subprocess.run([sys.executable, __file__, *forwarded, "--engine", engine],
                                 check=True, capture_output=True, text=True).stdout
            times[engine] += json.loads(out.strip().splitlines()[-1])
    return statistics.median(times["minigan"]), statistics.median(times["torch"])


def _blas_limited() -> bool:
    """Whether NumPy's BLAS is held to one thread (threadpoolctl, or the environment)."""
    import importlib.util
    import os
    return (importlib.util.find_spec("threadpoolctl") is not None
            or os.environ.get("OPENBLAS_NUM_THREADS") == "1")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--cpu-time", action="store_true",
                        help="one thread, timed by the process's CPU time (for busy machines)")
    parser.add_argument("--cross-attention", action="store_true")
    parser.add_argument("--magp", type=float, default=0.0)
    parser.add_argument("--contrastive", type=float, default=None,
                        help="the contrastive loss's weight (default: the model's default)")
    parser.add_argument("--g-negatives", choices=G_NEGATIVES, default=None,
                        help="G's contrastive negatives (default: the model's default)")
    parser.add_argument("--mapping", type=int, default=None,
                        help="layers of G's mapping network (default: the model's)")
    parser.add_argument("--ngf", type=int, default=None,
                        help="G's width (default: the model's)")
    parser.add_argument("--fakes", choices=FAKES, default=None,
                        help="D's fakes: their own G pass or G's step's (default: the model's)")
    parser.add_argument("--separate", action="store_true",
                        help="time each engine in its own process, alternately (--rounds of "
                             "each): neither shares its memory and threads with the other")
    parser.add_argument("--rounds", type=int, default=3, help="processes of each engine "
                        "with --separate (default 3)")
    parser.add_argument("--engine", choices=("minigan", "torch"), help=argparse.SUPPRESS)
    parser.add_argument("--untuned", action="store_true",
                        help="leave the process as an import leaves it (no mg.tune_process())")
    args = parser.parse_args(argv)
    settings = mg.process_settings() if args.untuned else (mg.tune_process(), mg.process_settings())[1]
    try:
        import torch
    except ImportError:
        print("PyTorch is not installed: pip install torch (the comparison needs it)")
        return 1
    threads = bench.set_threads(torch, 1 if args.cpu_time else args.threads)
    if args.cpu_time and not _blas_limited():
        print("note: without threadpoolctl NumPy's BLAS keeps its threads, and their spinning "
              "counts as minigan's CPU time (measured: 0.68-0.83 s a step instead of 0.34-0.44); "
              "run with OPENBLAS_NUM_THREADS=1 for --cpu-time")
    extra = {} if args.contrastive is None else {"contrastive": args.contrastive}
    if args.g_negatives is not None:
        extra["g_negatives"] = args.g_negatives
    if args.fakes is not None:
        extra["fakes"] = args.fakes
    if args.mapping is not None:
        extra["mapping"] = args.mapping
    if args.ngf is not None:
        extra["ngf"] = args.ngf
    config = Text2ImgConfig(batch_size=args.batch_size, cross_attention=args.cross_attention,
                            magp=args.magp, ema=0.0, steps=10 ** 6, **extra)
    trainer = Text2ImgTrainer(config)
    E, G, D = torch_twins(torch, trainer)
    adam = dict(lr=2e-4, betas=config.betas)
    opt_g = torch.optim.Adam(G.parameters(), **adam)
    opt_d = torch.optim.Adam(list(D.parameters()) + list(E.parameters()), **adam)
    theirs = torch_step(torch, trainer, E, G, D, opt_g, opt_d)
    now = bench.clock(args.cpu_time)
    if args.engine is not None:     # one engine alone in this process (see --separate)
        step = trainer.train_step if args.engine == "minigan" else theirs
        for _ in range(args.warmup):
            step()
        print(json.dumps(bench.timings(step, args.repeats, now)))
        return 0
    if args.separate:
        ta, tb = separate_processes(sys.argv[1:] if argv is None else argv, args.rounds)
    else:
        ta, tb = bench.interleave(trainer.train_step, theirs, args.repeats, args.warmup, now,
                                  block=3, untimed=1)
    print(f"text2img step, batch {args.batch_size}, cross-attention {args.cross_attention}, "
          f"MA-GP {args.magp}, contrastive {config.contrastive:g} (G's negatives: "
          f"{config.g_negatives}; D's fakes: {config.fakes}), G {config.ngf} wide with "
          f"{config.mapping} mapping layers; threads {threads}; "
          f"minigan {mg.__version__}, numpy "
          f"{np.__version__}, torch {torch.__version__}")
    print(f"malloc: {settings['malloc']}; BLAS: {settings['blas_spin']}")
    print(f"{'process CPU time' if args.cpu_time else 'wall clock'}, medians of {args.repeats}"
          f"{f' steps x {args.rounds} processes each' if args.separate else ''}; "
          f"{bench.load_average()}")
    print(f"training step: minigan {ta:.3f} s, PyTorch {tb:.3f} s, ratio {ta / tb:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
