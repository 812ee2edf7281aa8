"""Attention speed: softmax, scaled_dot_product_attention, MultiheadAttention and
TransformerEncoderLayer, forward + backward, minigan vs PyTorch (alternating blocks, medians).

    python benchmarks/attention_speed.py [--repeats 20] [--threads 2] [--cpu-time]

A small Transformer's sizes (batch 64, 16 tokens, width 128, 4 heads), float32. Each case runs forward, then backward of a fixed random
upstream gradient, on freshly built inputs. PyTorch runs with ``--threads`` threads and NumPy's
BLAS is limited to the same number (threadpoolctl), so both use the same cores.
Target: minigan / torch <= 1.5 (2.0 at most).

On a busy machine (other processes on the same cores) PyTorch's OpenMP threads spin-wait for
each other and its 2-thread times blow up 5-50x; compare with ``--cpu-time``, or run with
``OMP_WAIT_POLICY=PASSIVE`` in the environment.
"""
from __future__ import annotations

import sys
from typing import Callable

import numpy as np

import minigan as mg
import minigan.functional as F
import minigan.nn as nn


def _cases(torch, args) -> dict[str, tuple[Callable, Callable]]:
    """name -> (minigan step, torch step); each step runs forward + backward once."""
    N, T, E, H = args.batch, args.tokens, args.width, args.heads
    hd = E // H
    rng = np.random.default_rng(0)

    def arr(*shape):
        return rng.standard_normal(shape).astype(np.float32)

    tF = torch.nn.functional
    scores, g_scores = arr(N, H, T, T), arr(N, H, T, T)
    qkv = [arr(N, H, T, hd) for _ in range(3)]
    g_att = arr(N, H, T, hd)
    x, g_x = arr(N, T, E), arr(N, T, E)
    mask = np.triu(np.ones((T, T), bool), 1)  # MHA convention: True = not allowed

    def mg_step(fn, inputs, gy):
        xs = [mg.tensor(a, requires_grad=True) for a in inputs]
        fn(*xs).backward(mg.tensor(gy))

    def t_step(fn, inputs, gy):
        xs = [torch.tensor(a, requires_grad=True) for a in inputs]
        fn(*xs).backward(torch.tensor(gy))

    cases = {
        "softmax (N,H,T,T)": (
            lambda: mg_step(lambda s: F.softmax(s, -1), [scores], g_scores),
            lambda: t_step(lambda s: tF.softmax(s, -1), [scores], g_scores)),
        "sdpa causal (N,H,T,hd)": (
            lambda: mg_step(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True),
                            qkv, g_att),
            lambda: t_step(lambda q, k, v: tF.scaled_dot_product_attention(q, k, v, is_causal=True),
                           qkv, g_att)),
    }

    torch.manual_seed(0)
    tmha = torch.nn.MultiheadAttention(E, H, batch_first=True)
    mha = nn.MultiheadAttention(E, H, batch_first=True)
    mha.load_state_dict({k: v.detach().numpy() for k, v in tmha.state_dict().items()})
    cases["MHA self-attn, mask"] = (
        lambda: mg_step(lambda a: mha(a, a, a, attn_mask=mask, need_weights=False)[0], [x], g_x),
        lambda: t_step(lambda a: tmha(a, a, a, attn_mask=torch.tensor(mask),
                                      need_weights=False)[0], [x], g_x))
    cases["MHA need_weights"] = (
        lambda: mg_step(lambda a: mha(a, a, a)[0], [x], g_x),
        lambda: t_step(lambda a: tmha(a, a, a)[0], [x], g_x))

    for norm_first, act in ((False, "relu"), (True, "gelu")):
        tlayer = torch.nn.TransformerEncoderLayer(E, H, 4 * E, dropout=0.1, activation=act,
                                                  batch_first=True, norm_first=norm_first)
        layer = nn.TransformerEncoderLayer(E, H, 4 * E, dropout=0.1, activation=act,
                                           batch_first=True, norm_first=norm_first)
        layer.load_state_dict({k: v.detach().numpy() for k, v in tlayer.state_dict().items()})
        kpm = np.zeros((N, T), bool)
        kpm[:, T - 3:] = True
        name = f"EncoderLayer {'pre' if norm_first else 'post'}-norm {act}, kpm"
        cases[name] = (
            lambda layer=layer: mg_step(lambda a: layer(a, src_key_padding_mask=kpm), [x], g_x),
            lambda tlayer=tlayer: t_step(
                lambda a: tlayer(a, src_key_padding_mask=torch.tensor(kpm)), [x], g_x))
    return cases


def main(argv: list[str] | None = None) -> int:
    """This family's rows of the kernel table (``benchmarks/kernels.py``, same options:
    --quick, --threads, --cpu-time, --repeats), timed by the shared harness (minigan.bench)."""
    from minigan.bench import kernels_main
    return kernels_main(["--group", "attention"] + (sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    mg.tune_process()  # a benchmark owns its process: minigan's speed settings
    sys.exit(main())
