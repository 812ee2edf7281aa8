"""Which PyTorch callable each public minigan callable is, and the calls of the functional,
Tensor-method, layer and linalg surfaces (tests/api_calls.py has mg.*'s).

``RENAMED``: a counterpart under another name or namespace. ``MINIGAN_ONLY``: callables
PyTorch has no counterpart for (the reason is the value). ``UNCOMPARED``: callables that
have a counterpart but are not compared value for value here (the reason says where they
are tested instead). ``LAYERS``: a layer's ``Layer(args, kwargs, inputs)``; with inputs, both
layers get PyTorch's initial parameters and are run on them (gradients of the inputs and
the parameters compared).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from api_calls import A, C, Call, D, MG, activation, arr, bools, f32, f64, ints

# ---------------------------------------------------------------------------- functional

ACTIVATIONS = ("relu leaky_relu tanh sigmoid gelu celu elu glu hardsigmoid hardswish hardtanh "
               "logsigmoid mish prelu relu6 selu silu softplus softsign").split()


def _functional() -> dict[str, list[Call]]:
    t: dict[str, list[Call]] = {}
    for name in ACTIVATIONS:
        t[name] = activation()
    t["prelu"] = [C(f32(2, 3, 4), f32(3)), C(f64(2, 3), f64(1)), C(f64(2, 3), f64(4)), C(f64(), f64(1))]
    t["glu"] = [C(f64(2, 4)), C(f32(4, 2), 0), C(f64(2, 3)), C(f64(2, 4), dim=-1), C(f64())]
    t["leaky_relu"] += [C(f64(2, 3), 0.2), C(f64(2, 3), negative_slope=-0.5)]
    t["gelu"] += [C(f64(2, 3), approximate="tanh"), C(f64(2, 3), approximate="x")]
    t["elu"] += [C(f64(2, 3), alpha=0.5)]
    t["celu"] += [C(f64(2, 3), alpha=0.5), C(f64(2, 3), alpha=0.0)]
    t["hardtanh"] += [C(f64(2, 3), -0.5, 0.5), C(f64(2, 3), min_val=1.0, max_val=-1.0)]
    t["softplus"] += [C(f64(2, 3), beta=2.0, threshold=1.0)]
    for name in ("softmax", "log_softmax"):
        t[name] = [C(f32(2, 3), 1), C(f64(2, 3), dim=-1), C(f64(2, 3), dim=0), C(f64(), 0),
                   C(f64(0, 3), 1), C(f64(2, 3), dim=2), C(f64(2, 3), dim=1, dtype=D("float64"))]
    t["linear"] = [C(f32(2, 3), f32(4, 3)), C(f64(2, 3), f64(4, 3), f64(4)), C(f64(3), f64(4, 3)),
                   C(f64(5, 2, 3), f64(4, 3), bias=f64(4)), C(f64(2, 3), f64(4, 2)),
                   C(f64(2, 3), f64(4, 3), f64(5)),
                   C(ints(2, 3), ints(4, 3)), C(ints(2, 3), ints(4, 3), ints(4)),
                   C(f64(2, 3), ints(4, 3)), C(ints(2, 3, dtype=np.int32), ints(4, 3, dtype=np.int32))]
    conv_x, conv_w = f32(2, 4, 6, 6), f32(3, 4, 3, 3)
    t["conv2d"] = [C(conv_x, conv_w), C(f64(1, 2, 5, 5), f64(4, 1, 3, 3), f64(4), padding=1, groups=2),
                   C(f64(1, 2, 5, 5), f64(3, 2, 2, 2), stride=2, dilation=(1, 2)),
                   C(f64(2, 5, 5), f64(3, 2, 3, 3)), C(f64(1, 2, 5, 5), f64(3, 3, 3, 3)),
                   C(f64(1, 2, 5, 5), f64(3, 2, 3, 3), padding="same"),
                   C(f64(1, 2, 2, 2), f64(3, 2, 3, 3)), C(f64(1, 2, 5, 5), f64(3, 2, 3, 3), stride=0),
                   C(f64(1, 2, 5, 5), f64(3, 2, 3, 3), padding=-1)]
    t["conv1d"] = [C(f32(2, 4, 7), f32(3, 4, 3)), C(f64(1, 2, 7), f64(4, 1, 3), f64(4), padding=2, groups=2),
                   C(f64(2, 7), f64(3, 2, 3), stride=2), C(f64(1, 2, 7), f64(3, 3, 3)),
                   C(f64(1, 2, 2), f64(3, 2, 3)), C(f64(1, 2, 7), f64(3, 2, 3), padding="same")]
    t["conv_transpose2d"] = [C(f32(2, 3, 4, 4), f32(3, 2, 3, 3)),
                             C(f64(1, 2, 3, 3), f64(2, 2, 2, 2), f64(4), stride=2, groups=2),
                             C(f64(1, 2, 3, 3), f64(2, 3, 3, 3), stride=2, padding=1, output_padding=1),
                             C(f64(1, 2, 3, 3), f64(3, 3, 3, 3)),
                             C(f64(1, 2, 3, 3), f64(2, 3, 3, 3), stride=1, output_padding=1)]
    t["conv_transpose1d"] = [C(f32(2, 3, 4), f32(3, 2, 3)),
                             C(f64(1, 2, 5), f64(2, 3, 3), stride=2, padding=1, output_padding=1),
                             C(f64(1, 2, 5), f64(3, 3, 3))]
    t["max_pool2d"] = [C(f32(2, 3, 6, 6), 2), C(f64(1, 2, 5, 5), 3, 2, 1), C(f64(1, 2, 5, 5), 2, ceil_mode=True),
                       C(f64(1, 2, 7, 7), (3, 2), dilation=2), C(f64(2, 5, 5), 2, return_indices=True),
                       C(f64(1, 2, 5, 5), 3, padding=2), C(f64(1, 2, 1, 1), 2), C(f64(1, 2, 5, 5), 0)]
    t["avg_pool2d"] = [C(f32(2, 3, 6, 6), 2), C(f64(1, 2, 5, 5), 3, 2, 1),
                       C(f64(1, 2, 5, 5), 3, 2, 1, count_include_pad=False),
                       C(f64(1, 2, 5, 5), 2, ceil_mode=True), C(f64(1, 2, 5, 5), 2, divisor_override=3),
                       C(f64(2, 5, 5), 2), C(f64(1, 2, 5, 5), 3, padding=2), C(f64(1, 2, 1, 1), 2)]
    t["adaptive_avg_pool2d"] = [C(f32(2, 3, 6, 6), 2), C(f64(1, 2, 5, 7), (3, 4)), C(f64(2, 5, 5), (2, None)),
                                C(f64(1, 2, 5, 5), 0), C(f64(1, 2, 5, 5), (1, 2, 3))]
    t["adaptive_max_pool2d"] = [C(f32(2, 3, 6, 6), 2), C(f64(1, 2, 5, 7), (3, 4)),
                                C(f64(1, 2, 5, 5), 2, return_indices=True), C(f64(1, 2, 5, 5), (1, 2, 3))]
    t["interpolate"] = [C(f32(1, 2, 3, 4), scale_factor=2), C(f64(1, 2, 3, 4), size=(5, 7)),
                        C(f64(1, 2, 3, 4), size=(5, 7), mode="bilinear"),
                        C(f64(1, 2, 3, 4), scale_factor=1.5, mode="bilinear", align_corners=True),
                        C(f64(1, 2, 4), scale_factor=2), C(f64(1, 2, 3, 4)),
                        C(f64(1, 2, 3, 4), size=4, scale_factor=2), C(f64(1, 2, 3, 4), size=4, mode="x")]
    t["batch_norm"] = [C(f32(4, 3), arr(np.zeros(3), np.float32), arr(np.ones(3), np.float32)),
                       C(f64(4, 3, 2, 2), None, None, f64(3), f64(3), training=True),
                       C(f64(4, 3), arr(np.zeros(3)), arr(np.ones(3)), training=False, eps=0.1),
                       C(f64(4, 3), arr(np.zeros(2)), arr(np.ones(2))),
                       C(f64(1, 3), None, None, training=True)]
    t["layer_norm"] = [C(f32(2, 3), (3,)), C(f64(2, 3, 4), (3, 4), f64(3, 4), f64(3, 4)),
                       C(f64(2, 3), 3, eps=0.1, known="minigan's F.layer_norm takes an int "
                         "normalized_shape as nn.LayerNorm does (PyTorch's functional form wants a "
                         "tuple); kept: tests/test_norm.py and user code rely on it"),
                       C(f64(2, 3), (2,)), C(f64(0, 3), (3,)),
                       C(f64(0, 3), (3,), f64(3), f64(3)), C(f64(2, 0), (0,)), C(f64(0), (0,)),
                       C(f64(), ()), C(f64(2, 3), (3,), f64(2))]
    # losses
    for name in ("mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss"):
        t[name] = [C(f32(2, 3), f32(2, 3)), C(f64(4), f64(4), reduction="sum"),
                   C(f64(2, 3), f64(2, 3), reduction="none"), C(f64(), f64()), C(f64(0), f64(0)),
                   C(f64(2, 3), f64(2, 3), reduction="x"), C(f64(2, 3), f64(4, 3))]
    t["smooth_l1_loss"].append(C(f64(2, 3), f64(2, 3), beta=0.5))
    t["huber_loss"].append(C(f64(2, 3), f64(2, 3), delta=0.5))
    prob = lambda *s, grad=True: f64(*s, low=0.05, high=0.95, grad=grad)  # noqa: E731
    t["binary_cross_entropy"] = [C(prob(2, 3), prob(2, 3, grad=False)),
                                 C(f32(4, low=0.1, high=0.9), f32(4, low=0, high=1, grad=False), reduction="sum"),
                                 C(prob(2, 3), prob(2, 3, grad=False), weight=prob(3, grad=False)),
                                 C(prob(2, 3), prob(3, 2, grad=False)), C(prob(), prob(grad=False))]
    t["binary_cross_entropy_with_logits"] = [
        C(f64(2, 3), prob(2, 3, grad=False)), C(f32(4), f32(4, low=0, high=1, grad=False), reduction="none"),
        C(f64(2, 3), prob(2, 3, grad=False), pos_weight=prob(3, grad=False)),
        C(f64(2, 3), prob(2, 3, grad=False), weight=prob(2, 1, grad=False)), C(f64(2, 3), prob(3, 2))]
    labels = lambda *s, k=4: ints(*s, low=0, high=k)  # noqa: E731
    t["cross_entropy"] = [C(f32(3, 4), labels(3)), C(f64(3, 4), labels(3), reduction="sum"),
                          C(f64(3, 4, 2), labels(3, 2)), C(f64(3, 4), prob(3, 4, grad=False)),
                          C(f64(3, 4), labels(3), weight=prob(4, grad=False), label_smoothing=0.1),
                          C(f64(3, 4), arr([0, -100, 2], np.int64), ignore_index=-100),
                          C(f64(3, 4), arr([0, 4, 2], np.int64)), C(f64(3, 4), labels(2)),
                          C(f64(4), arr(1, np.int64)), C(f64(3, 4), labels(3), label_smoothing=1.5)]
    t["nll_loss"] = [C(f32(3, 4), labels(3)), C(f64(3, 4), labels(3), reduction="none"),
                     C(f64(3, 4, 2), labels(3, 2)), C(f64(3, 4), labels(3), weight=prob(4, grad=False)),
                     C(f64(3, 4), arr([0, 4, 2], np.int64)), C(f64(3, 4), f64(3))]
    t["kl_div"] = [C(f64(2, 3, high=0), prob(2, 3, grad=False), reduction="batchmean"),
                   C(f32(4, high=0), f32(4, low=0, high=1, grad=False)),
                   C(f64(2, 3), f64(2, 3, grad=False), reduction="sum", log_target=True),
                   C(f64(2, 3), f64(2, 3), reduction="x")]
    t["embedding"] = [C(labels(2, 3, k=5), f32(5, 4)), C(labels(4, k=5), f64(5, 3), padding_idx=1),
                      C(labels(4, k=5), f64(5, 3, grad=False), max_norm=1.0),
                      C(labels(4, k=5), f64(5, 3, grad=False), max_norm=1.0, norm_type=float("inf")),
                      C(arr([5], np.int64), f64(5, 3)), C(f64(2), f64(5, 3)), C(labels(k=5), f64(5, 3))]
    t["one_hot"] = [C(labels(3)), C(labels(2, 3), 5), C(labels(3), num_classes=2), C(f64(3)),
                    C(arr([-1], np.int64))]
    t["dropout"] = [C(f64(2, 3), 0.0), C(f64(2, 3), training=False), C(f64(2, 3), 1.0),
                    C(f64(2, 3), p=1.5), C(f64(100), 0.5, values=False)]
    t["pad"] = [C(f64(2, 3), (1, 2)), C(f64(1, 2, 3), (1, 1), mode="reflect"),
                C(f64(1, 2, 3, 4), (1, 2, 2, 1), mode="replicate"), C(f64(1, 2, 3), (2, 1), mode="circular"),
                C(f64(2, 3), (1, 1, 0, 2), value=0.5), C(f64(2, 3), (1,)), C(f64(2, 3), (-1, 0)),
                C(f64(1, 2, 3), (3, 3), mode="reflect"), C(f64(2, 3), (1, 1), mode="x")]
    t["flatten"] = MG["flatten"]
    t["scaled_dot_product_attention"] = [
        C(f32(2, 3, 4), f32(2, 5, 4), f32(2, 5, 6)), C(f64(2, 3, 4), f64(2, 3, 4), f64(2, 3, 4), is_causal=True),
        C(f64(2, 3, 4), f64(2, 5, 4), f64(2, 5, 6), attn_mask=bools(3, 5)),
        C(f64(2, 3, 4), f64(2, 5, 4), f64(2, 5, 6), attn_mask=f64(3, 5, grad=False)),
        C(f64(2, 3, 4), f64(2, 5, 4), f64(2, 5, 6), scale=0.5), C(f64(2, 3, 4), f64(2, 5, 3), f64(2, 5, 6))]
    return t


FUNCTIONAL = _functional()

# ---------------------------------------------------------------------------- Tensor methods

#: methods called as ``x.name(*rest)`` on MG's calls whose first argument is a tensor
SHARED_WITH_MG = sorted(set(MG) - {"cat", "concat", "stack", "einsum", "where", "zeros", "ones",
                                   "empty", "full", "arange", "linspace", "logspace", "eye",
                                   "rand", "randn", "randint", "randperm", "normal", "tensor",
                                   "as_tensor", "pad"} - {n for n in MG if n.endswith("_like")})


def _tensor() -> dict[str, list[Call]]:
    t: dict[str, list[Call]] = {}
    for name in SHARED_WITH_MG:
        t[name] = [c for c in MG[name] if c.args and isinstance(c.args[0], A)]
    t["multiply"], t["subtract"], t["negative"] = MG["mul"], MG["sub"], MG["neg"]
    t["where"] = [C(f64(2, 3), bools(2, 3), f64(3)), C(f64(3), bools(3), 0.0), C(f64(3), bools(2), f64(3))]
    for name in ("relu", "softmax", "log_softmax"):
        t[name] = [c for c in FUNCTIONAL[name] if c.args and isinstance(c.args[0], A)]
    t["softmax"] = [c for c in t["softmax"] if "dtype" not in c.kwargs]
    t["log_softmax"] = [c for c in t["log_softmax"] if "dtype" not in c.kwargs]
    nograd = lambda *s, low=-2.0: f64(*s, low=low, grad=False)  # noqa: E731
    # in place: a leaf that requires grad is refused, one that does not is written
    for name, other in (("add_", 1.5), ("sub_", 0.5), ("mul_", 2.0), ("div_", 2.0), ("pow_", 2)):
        t[name] = [C(nograd(2, 3), other), C(nograd(2, 3), nograd(3)), C(f64(2, 3), other),
                   C(nograd(2, 3), nograd(4)), C(nograd(3), nograd(2, 3)),
                   C(ints(3), 1.5) if name in ("add_", "sub_", "mul_", "div_") else C(ints(3), 2)]
    for name in ("abs_", "exp_", "log_", "sqrt_", "neg_", "relu_", "sigmoid_", "tanh_", "zero_"):
        t[name] = [C(nograd(2, 3, low=0.1)), C(f64(3)), C(nograd())]
    t["clamp_"] = t["clip_"] = [C(nograd(2, 3), -0.5, 0.5), C(f64(3), 0.0), C(nograd(3), max=0.1)]
    t["fill_"] = [C(nograd(2, 3), 1.5), C(ints(3), 2), C(f64(3), 1.0), C(nograd(3), arr(2.0))]
    t["copy_"] = [C(nograd(2, 3), nograd(3)), C(nograd(2, 3), ints(2, 3)), C(f64(3), nograd(3)),
                  C(nograd(2, 3), nograd(4))]
    t["repeat"] = [C(f64(2, 3), 2, 1), C(f64(2, 3), (1, 2, 2)), C(f64(), 3), C(f64(2, 3), 2), C(f64(2), -1)]
    t["view"] = [c for c in MG["reshape"]] + [C(f64(2, 3), 6), C(f64(2, 3), -1)]
    t["reshape"] = t["reshape"] + [C(f64(2, 3), 3, 2)]
    t["view_as"] = t["reshape_as"] = [C(f64(2, 3), f64(3, 2)), C(f64(2, 3), f64(4))]
    t["expand_as"] = [C(f64(3, 1), f64(3, 4)), C(f64(3, 2), f64(3, 4))]
    t["expand"] = t["expand"] + [C(f64(3, 1), 3, 4), C(f64(3, 1), -1, 5)]
    t["permute"] = t["permute"] + [C(f64(2, 3, 4), 2, 0, 1), C(f64()), C(f64(2, 3))]
    t["flip"] = t["flip"] + [C(f64(2, 3), 0, 1)]
    t["tile"] = t["tile"] + [C(f64(2, 3), 2, 2)]
    t["size"] = [C(f64(2, 3)), C(f64(2, 3), 1), C(f64(2, 3), -1), C(f64(2, 3), 2), C(f64()), C(f64(2, 3), dim=0)]
    t["dim"] = t["numel"] = [C(f64(2, 3)), C(f64()), C(f64(0, 3))]
    t["item"] = [C(f64()), C(f64(1, 1)), C(f64(2)), C(ints(1)), C(bools())]
    t["tolist"] = [C(f64(2, 3)), C(f64()), C(ints(3)), C(f64(0, 2))]
    for name in ("float", "double", "long", "int", "bool"):
        t[name] = [C(f64(2, 3)), C(f32(3)), C(ints(3)), C(f64())]
    t["type_as"] = [C(f64(3), f32(2)), C(ints(3), f64(1)), C(f32(3), ints(1))]
    t["to"] = [C(f64(3), D("float32")), C(f32(3), dtype=D("float64")), C(f64(3), "cpu"), C(ints(3), D("float64")),
               C(f64(3), D("int64"))]
    t["new_zeros"] = t["new_ones"] = [C(f32(2), (2, 3)), C(f64(2), 3, 2), C(ints(2), (2,)),
                                      C(f64(2), (2,), dtype=D("float32")), C(f64(2), (-1,))]
    t["new_empty"] = [c._replace(values=False) for c in t["new_zeros"][:4]]
    t["new_full"] = [C(f32(2), (2, 3), 1.5), C(ints(2), (2,), 3), C(f64(2), (2,), 2, dtype=D("int64"))]
    t["new_tensor"] = [C(f32(2), [1.0, 2.0]), C(f64(2), [1, 2]), C(ints(2), [1.5])]
    t["contiguous"] = t["detach"] = t["cpu"] = [C(f64(2, 3)), C(f64())]
    t["requires_grad_"] = [C(f64(2, 3, grad=False)), C(f64(3, grad=False), False), C(ints(3)),
                           C(f64(3, grad=False), requires_grad=True)]
    t["sum"] = t["sum"] + [C(f64(2, 3), dim=(0, 1))]
    # bad arguments of the Tensor-only methods
    t["size"] += [C(f64(2, 3), "a"), C(f64(2, 3), None)]
    t["fill_"] += [C(nograd(3), "a"), C(nograd(3), None)]
    t["copy_"] += [C(nograd(3), None), C(nograd(3), [1.0, 2.0, 3.0])]
    t["view"] += [C(f64(2, 3), "a"), C(f64(2, 3), None)]
    t["repeat"] += [C(f64(2, 3), "a"), C(f64(2, 3), 2.5)]
    t["new_zeros"] = t["new_zeros"] + [C(f64(2), "a"), C(f64(2), (2.5,))]
    t["type_as"] += [C(f64(3), None)]
    t["expand_as"] += [C(f64(3, 1), None)]
    t["view_as"] = t["reshape_as"] = t["view_as"] + [C(f64(2, 3), None)]
    t["item"] += [C(f64(0))]
    return t


TENSOR = _tensor()

# ---------------------------------------------------------------------------- layers


class Layer(NamedTuple):
    args: tuple
    kwargs: dict
    inputs: tuple | None = None       # None: compare the constructor only
    known: str | None = None


def L(*args, inputs=None, known=None, **kwargs) -> Layer:
    return Layer(args, kwargs, inputs, known)


def _layers() -> dict[str, list[Layer]]:
    x4 = lambda *s: f32(*s)  # noqa: E731
    t: dict[str, list[Layer]] = {}
    simple = {"ReLU": (), "Sigmoid": (), "Tanh": (), "GELU": (), "SiLU": (), "ELU": (), "SELU": (),
              "CELU": (), "Mish": (), "Softsign": (), "LogSigmoid": (), "Hardsigmoid": (),
              "Hardswish": (), "ReLU6": (), "Identity": ()}
    for name in simple:
        t[name] = [L(inputs=(x4(2, 3),)), L(inputs=(f64(4),)), L(inputs=(f64(),))]
    t["LeakyReLU"] = [L(0.2, inputs=(x4(2, 3),)), L(negative_slope=0.1, inputs=(f64(3),))]
    t["Hardtanh"] = [L(-0.5, 0.5, inputs=(x4(2, 3),)), L(min_val=-2.0, max_val=2.0, inputs=(f64(3),))]
    t["Softplus"] = [L(beta=2.0, inputs=(x4(2, 3),)), L(inputs=(f64(3),))]
    t["Softmax"] = [L(dim=1, inputs=(x4(2, 3),)), L(0, inputs=(f64(2, 3),)), L(dim=2, inputs=(f64(2, 3),))]
    t["GLU"] = [L(inputs=(x4(2, 4),)), L(0, inputs=(f64(4, 3),))]
    t["PReLU"] = [L(inputs=(x4(2, 3),)), L(3, inputs=(x4(2, 3, 4),)), L(num_parameters=2, init=0.1, inputs=(x4(2, 2),))]
    t["ELU"].append(L(alpha=0.5, inputs=(f64(3),)))
    t["CELU"].append(L(alpha=0.5, inputs=(f64(3),)))
    t["Linear"] = [L(3, 4, inputs=(x4(2, 3),)), L(3, 4, bias=False, inputs=(x4(5, 2, 3),)),
                   L(3, 4, inputs=(x4(2, 5),)), L(0, 4, inputs=(x4(2, 0),)), L(-1, 4), L(3.5, 4)]
    t["Conv2d"] = [L(2, 3, 3, inputs=(x4(1, 2, 5, 5),)), L(2, 4, (3, 2), stride=2, padding=1, groups=2,
                                                        inputs=(x4(1, 2, 6, 6),)),
                   L(2, 3, 3, padding="same", bias=False, inputs=(x4(1, 2, 5, 5),)),
                   L(2, 3, 3, padding=1, padding_mode="reflect", inputs=(x4(1, 2, 5, 5),)),
                   L(2, 3, 3, padding=1, padding_mode="circular", inputs=(x4(1, 2, 5, 5),)),
                   L(3, 4, 3, groups=2), L(2, 3, 3, padding_mode="x"), L(2, 3, 3, padding="x"),
                   L(2, 3, 3, stride=2, padding="same"), L(2, 3, 3, groups=0),
                   L(2, 3, 3, inputs=(x4(1, 3, 5, 5),))]
    t["Conv1d"] = [L(2, 3, 3, inputs=(x4(1, 2, 7),)), L(2, 4, 3, stride=2, padding=1, groups=2, inputs=(x4(2, 2, 8),)),
                   L(2, 3, 3, padding="same", padding_mode="replicate", inputs=(x4(1, 2, 7),)),
                   L(3, 4, 3, groups=2), L(2, 3, 3, padding_mode="x")]
    t["ConvTranspose2d"] = [L(2, 3, 3, inputs=(x4(1, 2, 4, 4),)),
                            L(2, 4, 3, stride=2, padding=1, output_padding=1, groups=2, inputs=(x4(1, 2, 3, 3),)),
                            L(3, 4, 3, groups=2),
                            L(2, 3, 3, stride=1, output_padding=1, inputs=(x4(1, 2, 3, 3),),
                              known="minigan refuses output_padding >= stride in the constructor, "
                                    "PyTorch at the first forward (RuntimeError): an earlier error")]
    t["ConvTranspose1d"] = [L(2, 3, 3, inputs=(x4(1, 2, 4),)), L(2, 4, 3, stride=2, groups=2, inputs=(x4(1, 2, 5),)),
                            L(3, 4, 3, groups=2)]
    t["BatchNorm1d"] = [L(3, inputs=(x4(4, 3),)), L(3, affine=False, inputs=(x4(4, 3, 5),)),
                        L(3, momentum=0.5, eps=0.1, inputs=(x4(4, 3),)), L(3, inputs=(x4(4, 2),)),
                        L(3, track_running_stats=False, inputs=(x4(4, 3),))]
    t["BatchNorm2d"] = [L(3, inputs=(x4(2, 3, 4, 4),)), L(3, affine=False, inputs=(x4(2, 3, 2, 2),)),
                        L(3, inputs=(x4(2, 3, 4),))]
    t["LayerNorm"] = [L(3, inputs=(x4(2, 3),)), L((3, 4), inputs=(x4(2, 3, 4),)),
                      L(3, elementwise_affine=False, inputs=(x4(2, 3),)), L(3, bias=False, inputs=(x4(2, 3),)),
                      L(4, inputs=(x4(2, 3),)), L(3, inputs=(x4(0, 3),))]
    t["Embedding"] = [L(5, 3, inputs=(ints(2, 4, low=0, high=5),)), L(5, 3, padding_idx=0, inputs=(ints(4, low=0, high=5),)),
                      L(5, 3, inputs=(arr([5], np.int64),)), L(5, 3, padding_idx=7)]
    t["Dropout"] = [L(0.0, inputs=(x4(2, 3),)), L(p=1.5), L(-0.1)]
    t["Flatten"] = [L(inputs=(x4(2, 3, 4),)), L(0, inputs=(x4(2, 3),)), L(1, 2, inputs=(x4(2, 3, 4, 5),))]
    t["Unflatten"] = [L(1, (2, 3), inputs=(x4(4, 6),)), L(-1, (3, 2), inputs=(x4(4, 6),)), L(1, (4, 2), inputs=(x4(4, 6),))]
    t["MaxPool2d"] = [L(2, inputs=(x4(1, 2, 6, 6),)), L(3, 2, 1, inputs=(x4(1, 2, 5, 5),)),
                      L(2, ceil_mode=True, inputs=(x4(1, 2, 5, 5),)), L(2, inputs=(x4(2, 5, 5),))]
    t["AvgPool2d"] = [L(2, inputs=(x4(1, 2, 6, 6),)), L(3, 2, 1, count_include_pad=False, inputs=(x4(1, 2, 5, 5),))]
    t["AdaptiveAvgPool2d"] = [L(2, inputs=(x4(1, 2, 6, 6),)), L((3, 1), inputs=(x4(1, 2, 5, 5),))]
    t["AdaptiveMaxPool2d"] = [L(2, inputs=(x4(1, 2, 6, 6),)), L((3, 1), inputs=(x4(1, 2, 5, 5),))]
    t["Upsample"] = [L(scale_factor=2, inputs=(x4(1, 2, 3, 3),)), L(size=(4, 5), mode="bilinear", inputs=(x4(1, 2, 3, 3),)),
                     L(scale_factor=2, mode="bilinear", align_corners=True, inputs=(x4(1, 2, 3, 3),))]
    t["UpsamplingNearest2d"] = [L(scale_factor=2, inputs=(x4(1, 2, 3, 3),)), L(size=4, inputs=(x4(1, 2, 3, 3),))]
    t["UpsamplingBilinear2d"] = [L(scale_factor=2, inputs=(x4(1, 2, 3, 3),)), L(size=4, inputs=(x4(1, 2, 3, 3),))]
    target = f32(2, 3, grad=False)
    for name in ("MSELoss", "L1Loss", "SmoothL1Loss", "HuberLoss"):
        t[name] = [L(inputs=(x4(2, 3), target)), L(reduction="sum", inputs=(x4(2, 3), target)), L(reduction="x")]
    p = f32(2, 3, low=0.1, high=0.9, grad=False)
    t["BCELoss"] = [L(inputs=(f32(2, 3, low=0.1, high=0.9), p)), L(reduction="none", inputs=(f32(3, low=0.1, high=0.9), f32(3, low=0, high=1, grad=False)))]
    t["BCEWithLogitsLoss"] = [L(inputs=(x4(2, 3), p)), L(pos_weight=f32(3, low=0.1, high=2, grad=False), inputs=(x4(2, 3), p))]
    lab = ints(3, low=0, high=4)
    t["CrossEntropyLoss"] = [L(inputs=(x4(3, 4), lab)), L(label_smoothing=0.2, inputs=(x4(3, 4), lab)),
                             L(weight=f32(4, low=0.1, high=1, grad=False), inputs=(x4(3, 4), lab))]
    t["NLLLoss"] = [L(inputs=(x4(3, 4), lab)), L(reduction="sum", inputs=(x4(3, 4), lab))]
    t["KLDivLoss"] = [L(reduction="batchmean", inputs=(f32(2, 3, high=0), p)), L(log_target=True, inputs=(x4(2, 3), x4(2, 3)))]
    return t


LAYERS = _layers()

# ---------------------------------------------------------------------------- linalg

LINALG: dict[str, list[Call]] = {
    "vector_norm": [C(f32(2, 3)), C(f64(2, 3), 1), C(f64(2, 3), ord=float("inf"), dim=1),
                    C(f64(2, 3), 3, dim=(0, 1), keepdim=True), C(f64()), C(f64(2, 3), dim=2),
                    C(f64(0, 3), dim=1), C(ints(3))],
}

# ---------------------------------------------------------------------------- the mapping

RENAMED: dict[str, dict[str, str]] = {
    "mg": {"pad": "torch.nn.functional.pad", "expand": "torch.Tensor.expand", "grad": "torch.autograd.grad",
           "gradcheck": "torch.autograd.gradcheck", "gradgradcheck": "torch.autograd.gradgradcheck",
           "Function": "torch.autograd.Function", "detect_anomaly": "torch.autograd.detect_anomaly",
           "set_detect_anomaly": "torch.autograd.set_detect_anomaly",
           "is_available_cuda": "torch.cuda.is_available", "profile": "torch.profiler.profile"},
    "F": {"flatten": "torch.flatten"},
}

MINIGAN_ONLY: dict[str, dict[str, str]] = {
    "mg": {
        **{e: "minigan's error classes (minigan/errors.py)" for e in (
            "AnomalyError", "ArgumentError", "CheckpointError", "DTypeError", "DeviceError",
            "DimError", "GradcheckError", "GraphError", "MiniganError", "MissingToolError",
            "OutOfMemoryError", "ShapeError")},
        "cast": "minigan's x.to(dtype=...) as a function (tests/test_elementwise.py)",
        "to_device": "minigan's x.to(device) as a function (tests/test_backend.py)",
        "sum_to": "the reduction broadcasting's backward uses (tests/test_reduce.py)",
        "getitem": "x[index] as a function (tests/test_indexing.py compares it with PyTorch)",
        "use_generator": "a context manager that swaps the default generator (tests/test_generator.py)",
        "process_settings": "what tune_process set (tests/test_process.py)",
        "tune_process": "opt-in allocator and thread settings (tests/test_process.py)",
        "reference_kernels_enabled": "minigan's plain reference kernels (tests/test_reference.py)",
        "use_reference_kernels": "minigan's plain reference kernels (tests/test_reference.py)",
    },
    "Tensor": {"zero_grad": "minigan's x.grad = None (tests/test_autograd.py)"},
}

_GRAPH = "graph and grad-mode API (tests/test_autograd.py, tests/test_grad_mode.py)"
_RANDOM = "random state (tests/test_generator.py)"
UNCOMPARED: dict[str, dict[str, str]] = {
    "mg": {"Tensor": "the class itself: its methods are the Tensor surface here",
           "Generator": _RANDOM, "default_generator": _RANDOM, "manual_seed": _RANDOM,
           "get_rng_state": "minigan's state is NumPy's bit generator's (tests/test_generator.py)",
           "set_rng_state": "minigan's state is NumPy's bit generator's (tests/test_generator.py)",
           "Function": "tests/test_function_api.py runs PyTorch's custom-Function idiom",
           "grad": _GRAPH, "no_grad": _GRAPH, "enable_grad": _GRAPH, "set_grad_enabled": _GRAPH,
           "is_grad_enabled": _GRAPH, "gradcheck": "tests/test_gradcheck.py",
           "gradgradcheck": "tests/test_gradcheck.py",
           "detect_anomaly": "tests/test_anomaly.py", "set_detect_anomaly": "tests/test_anomaly.py",
           "is_anomaly_enabled": "tests/test_anomaly.py", "profile": "tests/test_profiler.py",
           "save": "minigan saves .npz + JSON, not pickle (tests/test_serialization.py)",
           "load": "minigan loads .npz + JSON, not pickle (tests/test_serialization.py)",
           "get_default_dtype": "tests/test_backend.py", "set_default_dtype": "tests/test_backend.py",
           "device": "minigan's devices are strings (tests/test_backend.py)",
           "is_available_cuda": "tests/test_backend.py"},
    "Tensor": {"backward": _GRAPH, "register_hook": _GRAPH, "retain_grad": _GRAPH,
               "numpy": "tests/test_autograd.py", "cuda": "needs a GPU (tests/test_backend.py)"},
    "nn": {"Module": "tests/test_module.py", "ModuleDict": "tests/test_module.py",
           "ModuleList": "tests/test_module.py", "Sequential": "tests/test_module.py",
           "Parameter": "tests/test_module.py",
           "MultiheadAttention": "tests/test_attention.py compares it with PyTorch's",
           "TransformerEncoderLayer": "tests/test_transformer.py compares it with PyTorch's"},
}
