"""MultiheadAttention and TransformerEncoderLayer against PyTorch with copied weights: forward,
gradients of the inputs and of every parameter, masks, layouts; init; errors."""
from __future__ import annotations

import math

import numpy as np
import pytest

import minigan as mg
import minigan.nn as nn

# ---------------------------------------------------------------------------- helpers


def _copy_torch_state(layer, tlayer):
    state = {k: v.detach().cpu().numpy() for k, v in tlayer.state_dict().items()}
    assert list(state) == list(layer.state_dict()), "state dict keys differ from PyTorch's"
    layer.load_state_dict(state)


def _mask_pair(mask, device, torch):
    if mask is None:
        return None, None
    return mg.tensor(mask, device=device), torch.tensor(mask)


def _run_both(torch, layer, tlayer, arrays, call, rtol, atol=None, out_index=None):
    """Call both layers on the same inputs, backprop one random upstream gradient, and
    compare the outputs, the input gradients and every parameter's gradient by name.

    ``call(layer, inputs, lib)`` runs one layer (lib is "mg" or "torch"); ``arrays`` are
    the inputs; identical arrays (same object) become one shared tensor, so self-attention
    stays self-attention."""
    atol = rtol if atol is None else atol
    mg_in, t_in, seen = [], [], {}
    for a in arrays:
        if id(a) not in seen:
            seen[id(a)] = (mg.tensor(a, device=layer_device(layer), requires_grad=True),
                           torch.tensor(a, requires_grad=True))
        mg_in.append(seen[id(a)][0])
        t_in.append(seen[id(a)][1])
    outs = call(layer, mg_in, "mg")
    touts = call(tlayer, t_in, "torch")
    outs = outs if isinstance(outs, tuple) else (outs,)
    touts = touts if isinstance(touts, tuple) else (touts,)
    rng = np.random.default_rng(123)
    mg_loss, t_loss = 0.0, 0.0
    for o, to in zip(outs, touts):
        if to is None:
            assert o is None
            continue
        np.testing.assert_allclose(o.numpy(), to.detach().numpy(), rtol=rtol, atol=atol)
        assert o.dtype == to.detach().numpy().dtype
        u = rng.standard_normal(o.shape).astype(o.dtype)
        mg_loss = mg_loss + (o * mg.tensor(u, device=o.device)).sum()
        t_loss = t_loss + (to * torch.tensor(u)).sum()
    mg_loss.backward()
    t_loss.backward()
    for (name, p), (tname, tp) in zip(layer.named_parameters(), tlayer.named_parameters()):
        assert name == tname
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=rtol, atol=atol,
                                   err_msg=f"gradient of {name}")
    for x, tx in zip(mg_in, t_in):
        np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=rtol, atol=atol)


def layer_device(layer):
    return next(iter(layer.parameters())).device


def _dtypes(torch, name):
    return {"float64": (torch.float64, np.float64, 1e-10, 1e-12),
            "float32": (torch.float32, np.float32, 1e-5, 2e-6)}[name]


# ============================================================================ MultiheadAttention

MHA_CASES = {
    # name: (batch_first, L, S, kdim, vdim, bias, masks)
    "self": (False, 5, 5, None, None, True, None),
    "self_batch_first_kpm": (True, 5, 5, None, None, True, "kpm_bool"),
    "cross_lengths": (False, 4, 6, None, None, True, "attn_bool"),
    "cross_kv_dims": (True, 3, 6, 5, 7, True, "both"),
    "no_bias_float_masks": (False, 4, 4, None, None, False, "float"),
    "per_head_3d_mask": (True, 4, 5, None, None, True, "attn_3d"),
}


def _mha_masks(kind, N, H, L, S, dtype, rng):
    kpm = attn = None
    if kind in ("kpm_bool", "both"):
        kpm = rng.random((N, S)) < 0.3
        kpm[:, 0] = False  # every query keeps at least one key
    if kind in ("attn_bool", "both"):
        attn = rng.random((L, S)) < 0.3
        attn[:, 1] = False
    if kind == "float":
        kpm = rng.standard_normal((N, S)).astype(dtype)
        attn = rng.standard_normal((L, S)).astype(dtype)
    if kind == "attn_3d":
        attn = rng.standard_normal((N * H, L, S)).astype(dtype)
    return kpm, attn


@pytest.mark.parametrize("dtype_name", ["float64", "float32"])
@pytest.mark.parametrize("need_weights,average", [(True, True), (True, False), (False, True)])
@pytest.mark.parametrize("case", list(MHA_CASES))
def test_mha_matches_torch(device, torch, case, need_weights, average, dtype_name):
    batch_first, L, S, kdim, vdim, bias, masks = MHA_CASES[case]
    tdtype, dtype, rtol, atol = _dtypes(torch, dtype_name)
    E, H, N = 8, 2, 3
    torch.manual_seed(0)
    tlayer = torch.nn.MultiheadAttention(E, H, bias=bias, kdim=kdim, vdim=vdim,
                                         batch_first=batch_first, dtype=tdtype)
    layer = nn.MultiheadAttention(E, H, bias=bias, kdim=kdim, vdim=vdim, batch_first=batch_first,
                                  device=device, dtype=dtype)
    _copy_torch_state(layer, tlayer)
    rng = np.random.default_rng(1)

    def seq(n, width):
        return rng.standard_normal((N, n, width) if batch_first else (n, N, width)).astype(dtype)
    q = seq(L, E)
    if case.startswith("self"):
        arrays = [q, q, q]
    else:
        arrays = [q, seq(S, kdim or E), seq(S, vdim or E)]
    kpm, attn = _mha_masks(masks, N, H, L, S, dtype, rng)
    kpm_mg, kpm_t = _mask_pair(kpm, device, torch)
    attn_mg, attn_t = _mask_pair(attn, device, torch)

    def call(m, xs, lib):
        kp, am = (kpm_mg, attn_mg) if lib == "mg" else (kpm_t, attn_t)
        return m(*xs, key_padding_mask=kp, attn_mask=am, need_weights=need_weights,
                 average_attn_weights=average)
    _run_both(torch, layer, tlayer, arrays, call, rtol, atol)


def test_mha_unbatched_matches_torch(device, torch):
    torch.manual_seed(1)
    tlayer = torch.nn.MultiheadAttention(6, 3, dtype=torch.float64)
    layer = nn.MultiheadAttention(6, 3, device=device, dtype="float64")
    _copy_torch_state(layer, tlayer)
    rng = np.random.default_rng(2)
    q, kv = rng.standard_normal((4, 6)), rng.standard_normal((5, 6))
    kpm = np.array([False, True, False, False, True])

    def call(m, xs, lib):
        mask = mg.tensor(kpm, device=device) if lib == "mg" else torch.tensor(kpm)
        return m(xs[0], xs[1], xs[1], key_padding_mask=mask)
    _run_both(torch, layer, tlayer, [q, kv], call, 1e-10, 1e-12)


def test_mha_gradcheck(device):
    layer = nn.MultiheadAttention(4, 2, kdim=3, vdim=5, batch_first=True, device=device,
                                  dtype="float64")
    rng = np.random.default_rng(3)
    q, k, v = (mg.tensor(rng.standard_normal(s), device=device, requires_grad=True)
               for s in ((2, 3, 4), (2, 2, 3), (2, 2, 5)))
    names = [n for n, _ in layer.named_parameters()]

    def fn(q, k, v, *ps):
        return _mha_with_params(layer, names, ps, q, k, v)
    inputs = [q, k, v] + [mg.tensor(p.data, requires_grad=True) for p in layer.parameters()]
    assert mg.gradcheck(fn, inputs, atol=1e-7, rtol=1e-5)
    # second order too (gradient penalties through attention), along random directions
    assert mg.gradgradcheck(fn, inputs, atol=1e-7, rtol=1e-5, fast=True)


def _mha_with_params(layer, names, ps, q, k, v):
    """Run the layer with parameters swapped for the given tensors (for gradcheck)."""
    saved = {}
    for name, p in zip(names, ps):
        owner = layer.out_proj if name.startswith("out_proj.") else layer
        attr = name.split(".")[-1]
        saved[(owner, attr)] = owner._parameters[attr]
        owner._parameters[attr] = p
    try:
        return layer(q, k, v)[0]
    finally:
        for (owner, attr), p in saved.items():
            owner._parameters[attr] = p


@pytest.mark.filterwarnings("ignore:invalid value encountered")
def test_mha_fully_masked_rows_follow_torch(device, torch):
    torch.manual_seed(2)
    tlayer = torch.nn.MultiheadAttention(4, 2, batch_first=True, dtype=torch.float64)
    layer = nn.MultiheadAttention(4, 2, batch_first=True, device=device, dtype="float64")
    _copy_torch_state(layer, tlayer)
    x = np.random.default_rng(4).standard_normal((2, 3, 4))
    kpm = np.array([[False, False, True], [True, True, True]])
    for need_weights in (True, False):
        out, _ = layer(mg.tensor(x, device=device), mg.tensor(x, device=device),
                       mg.tensor(x, device=device), key_padding_mask=kpm, need_weights=need_weights)
        tx = torch.tensor(x)
        tout, _ = tlayer(tx, tx, tx, key_padding_mask=torch.tensor(kpm), need_weights=need_weights)
        np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), rtol=1e-10, atol=1e-12)
        assert np.isnan(out.numpy()[1]).all() == need_weights


def test_mha_init_like_torch(device):
    layer = nn.MultiheadAttention(64, 4, device=device)
    w = layer.in_proj_weight.numpy()
    bound = math.sqrt(6.0 / (64 + 3 * 64))  # xavier_uniform on (3E, E)
    assert w.shape == (192, 64) and np.abs(w).max() <= bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.1 * bound
    assert (layer.in_proj_bias.numpy() == 0).all() and (layer.out_proj.bias.numpy() == 0).all()
    assert np.abs(layer.out_proj.weight.numpy()).max() <= 1 / math.sqrt(64)
    assert w.dtype == np.float32
    sep = nn.MultiheadAttention(8, 2, kdim=3, vdim=5)
    assert [n for n, _ in sep.named_parameters()] == [
        "q_proj_weight", "k_proj_weight", "v_proj_weight", "in_proj_bias", "out_proj.weight",
        "out_proj.bias"]
    assert sep.k_proj_weight.shape == (8, 3) and sep.v_proj_weight.shape == (8, 5)
    assert sep.in_proj_weight is None


def test_mha_errors(device):
    with pytest.raises(ValueError, match="embed_dim 10 is not divisible by num_heads 4"):
        nn.MultiheadAttention(10, 4)
    layer = nn.MultiheadAttention(8, 2, batch_first=True, device=device)
    x = mg.randn(2, 3, 8, device=device)
    with pytest.raises(ValueError, match=r"attn_mask of shape \(3, 4\) should be \(3, 3\) or "
                                         r"\(4, 3, 3\)"):
        layer(x, x, x, attn_mask=np.zeros((3, 4), bool))
    with pytest.raises(ValueError, match=r"key_padding_mask of shape \(3, 3\) should be \(2, 3\)"):
        layer(x, x, x, key_padding_mask=np.zeros((3, 3), bool))
    with pytest.raises(ValueError, match=r"query of shape \(2, 3, 6\) has last dim 6 but the "
                                         r"layer expects 8"):
        y = mg.randn(2, 3, 6, device=device)
        layer(y, y, y)
    with pytest.raises(ValueError, match=r"different batch sizes"):
        layer(x, mg.randn(3, 3, 8, device=device), mg.randn(3, 3, 8, device=device))
    with pytest.raises(ValueError, match="attn_mask must be given"):
        layer(x, x, x, is_causal=True)


def _dropout_ready():
    try:
        mg.functional.dropout(mg.ones(2), 0.5, True)
        return True
    except NotImplementedError:
        return False


@pytest.mark.skipif(not _dropout_ready(), reason="ops/dropout.py is still a placeholder")
def test_mha_dropout_only_in_training(device):
    layer = nn.MultiheadAttention(8, 2, dropout=0.5, batch_first=True, device=device)
    x = mg.randn(2, 5, 8, device=device)
    layer.eval()
    a, wa = layer(x, x, x)
    b, _ = layer(x, x, x)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    np.testing.assert_allclose(wa.numpy().sum(-1), 1.0, rtol=1e-5)
    layer.train()
    mg.manual_seed(3)
    c, wc = layer(x, x, x, average_attn_weights=False)
    assert not np.allclose(a.numpy(), c.numpy())
    # the weights returned are the ones used: dropped entries are 0, kept ones scaled by 2
    assert (wc.numpy() == 0).any()
    mg.manual_seed(3)
    d, _ = layer(x, x, x)
    np.testing.assert_array_equal(c.numpy(), d.numpy())


# ============================================================================ TransformerEncoderLayer


def _needs(*names):
    """Skip while the kernels a layer uses are still placeholders (owned by other helpers)."""
    missing = []
    x = mg.ones(2, 3)
    for name in names:
        try:
            if name == "layer_norm":
                mg.functional.layer_norm(x, (3,))
            elif name == "dropout":
                mg.functional.dropout(x, 0.1, False)
            else:
                getattr(mg.functional, name)(x)
        except NotImplementedError:
            missing.append(name)
    return pytest.mark.skipif(bool(missing), reason=f"placeholders: {missing}")


TEL_CASES = {
    # name: (norm_first, activation, batch_first, masks)
    "post_relu": (False, "relu", False, None),
    "post_gelu_kpm": (False, "gelu", True, "kpm"),
    "pre_relu_kpm_causal": (True, "relu", True, "kpm_causal"),
    "pre_gelu_float_mask": (True, "gelu", False, "float"),
}


@_needs("layer_norm", "dropout", "relu", "gelu")
@pytest.mark.parametrize("dtype_name", ["float64", "float32"])
@pytest.mark.parametrize("case", list(TEL_CASES))
def test_encoder_layer_matches_torch(device, torch, case, dtype_name):
    norm_first, activation, batch_first, masks = TEL_CASES[case]
    tdtype, dtype, rtol, atol = _dtypes(torch, dtype_name)
    E, H, FF, N, S = 8, 2, 16, 3, 5
    torch.manual_seed(0)
    kw = dict(dim_feedforward=FF, dropout=0.1, activation=activation, batch_first=batch_first,
              norm_first=norm_first)
    tlayer = torch.nn.TransformerEncoderLayer(E, H, dtype=tdtype, **kw).eval()
    layer = nn.TransformerEncoderLayer(E, H, device=device, dtype=dtype, **kw).eval()
    _copy_torch_state(layer, tlayer)
    rng = np.random.default_rng(5)
    # move LayerNorm's affine parameters off their init so their gradients are not trivial
    for p, tp in zip(layer.parameters(), tlayer.parameters()):
        new = (tp.detach().numpy() + 0.1 * rng.standard_normal(tp.shape)).astype(dtype)
        p.data[...] = mg.tensor(new, device=device).data
        with torch.no_grad():
            tp.copy_(torch.tensor(new))
    x = rng.standard_normal((N, S, E) if batch_first else (S, N, E)).astype(dtype)
    kpm = src_mask = None
    if masks in ("kpm", "kpm_causal"):
        kpm = rng.random((N, S)) < 0.3
        kpm[:, 0] = False
    if masks == "kpm_causal":
        src_mask = np.triu(np.ones((S, S), bool), 1)
    if masks == "float":
        src_mask = rng.standard_normal((S, S)).astype(dtype)
    kpm_mg, kpm_t = _mask_pair(kpm, device, torch)
    sm_mg, sm_t = _mask_pair(src_mask, device, torch)

    def call(m, xs, lib):
        kp, sm = (kpm_mg, sm_mg) if lib == "mg" else (kpm_t, sm_t)
        return m(xs[0], src_mask=sm, src_key_padding_mask=kp)
    _run_both(torch, layer, tlayer, [x], call, rtol, atol)


def test_encoder_layer_state_dict_names(torch):
    tlayer = torch.nn.TransformerEncoderLayer(8, 2, 16)
    layer = nn.TransformerEncoderLayer(8, 2, 16)
    assert list(layer.state_dict()) == list(tlayer.state_dict())
    names = [n for n, _ in layer.named_children()]
    assert names == ["self_attn", "linear1", "dropout", "linear2", "norm1", "norm2", "dropout1",
                     "dropout2"]
    assert layer.self_attn.dropout == 0.1 and layer.dropout.p == 0.1


def test_encoder_layer_errors():
    with pytest.raises(ValueError, match="activation should be relu or gelu, not 'tanh'"):
        nn.TransformerEncoderLayer(8, 2, activation="tanh")
    with pytest.raises(ValueError, match="embed_dim 8 is not divisible by num_heads 3"):
        nn.TransformerEncoderLayer(8, 3)


@_needs("layer_norm", "dropout", "relu", "gelu")
def test_encoder_layer_dropout_in_training(device):
    layer = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.5, batch_first=True, device=device)
    x = mg.randn(2, 4, 8, device=device, requires_grad=True)
    layer.eval()
    a = layer(x)
    np.testing.assert_array_equal(a.numpy(), layer(x).numpy())
    layer.train()
    b = layer(x)
    assert not np.allclose(a.numpy(), b.numpy())
    b.sum().backward()
    assert all(p.grad is not None for p in layer.parameters())


@_needs("layer_norm", "dropout", "relu", "gelu")
def test_encoder_layer_unbatched_and_causal_hint_match_torch(device, torch):
    torch.manual_seed(4)
    tlayer = torch.nn.TransformerEncoderLayer(6, 3, 12, dropout=0.0, dtype=torch.float64)
    layer = nn.TransformerEncoderLayer(6, 3, 12, dropout=0.0, device=device, dtype="float64")
    _copy_torch_state(layer, tlayer)
    x = np.random.default_rng(6).standard_normal((5, 6))
    causal = np.triu(np.ones((5, 5), bool), 1)

    def call(m, xs, lib):
        mask = mg.tensor(causal, device=device) if lib == "mg" else torch.tensor(causal)
        return m(xs[0], src_mask=mask, is_causal=True)
    _run_both(torch, layer, tlayer, [x], call, 1e-10, 1e-12)
