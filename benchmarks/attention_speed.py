"""Attention speed: softmax, scaled_dot_product_attention, MultiheadAttention and
TransformerEncoderLayer, forward + backward, minigan vs PyTorch (interleaved A B A B, medians).

    python benchmarks/attention_speed.py [--batch 64] [--tokens 16] [--width 128] [--heads 4]
                                         [--repeats 20] [--threads 2] [--only NAME ...]

A small Transformer's sizes, float32. Each case runs forward, then backward of a fixed random
upstream gradient, on freshly built inputs. PyTorch runs with ``--threads`` threads and NumPy's
BLAS is limited to the same number (threadpoolctl), so both use the same cores.
Target: minigan / torch <= 1.5 (2.0 at most).

On a busy machine (other processes on the same cores) PyTorch's OpenMP threads spin-wait for
each other and its 2-thread times blow up 5-50x; compare with ``--threads 1``, or run with
``OMP_WAIT_POLICY=PASSIVE`` in the environment.
"""
from __future__ import annotations

import argparse
import statistics
import time
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


def _time(step: Callable) -> float:
    t0 = time.perf_counter()
    step()
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--tokens", type=int, default=16)
    parser.add_argument("--width", type=int, default=128)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--only", nargs="*", help="run only cases whose name contains one of these")
    args = parser.parse_args()
    import torch
    from threadpoolctl import threadpool_limits
    torch.set_num_threads(args.threads)
    mg.manual_seed(0)
    print(f"batch {args.batch}, tokens {args.tokens}, width {args.width}, heads {args.heads}, "
          f"float32, forward + backward, torch threads {args.threads}, medians of {args.repeats}")
    print(f"{'case':34s} {'minigan ms':>11s} {'torch ms':>9s} {'ratio':>6s}")
    with threadpool_limits(limits=args.threads):
        for name, (mine, theirs) in _cases(torch, args).items():
            if args.only and not any(o in name for o in args.only):
                continue
            a, b = [], []
            for r in range(args.repeats + 2):  # two warm-up rounds, then A B A B
                ta, tb = _time(mine), _time(theirs)
                if r >= 2:
                    a.append(ta)
                    b.append(tb)
            ma, mb = statistics.median(a), statistics.median(b)
            print(f"{name:34s} {ma * 1e3:11.3f} {mb * 1e3:9.3f} {ma / mb:6.2f}", flush=True)


if __name__ == "__main__":
    main()
