"""Every layer against PyTorch with copied weights: forward, input gradient and parameter
gradients (float64 ~1e-10, float32 ~1e-5), buffers after training steps, default
initialisation statistics, and argument errors."""
from __future__ import annotations

import math

import numpy as np
import pytest

import minigan as mg
from minigan import nn

TOL = {"float64": dict(rtol=1e-10, atol=1e-12), "float32": dict(rtol=1e-5, atol=1e-5)}


def _compare(torch, build, x_np, device, dtype, mode="train", steps=1, int_input=False):
    """Build the same layer with ``build(lib)`` in both libraries, copy torch's weights into
    ours, run ``steps`` forward/backward passes, and compare outputs, gradients and state."""
    tdtype = getattr(torch, dtype)
    theirs = build(torch.nn).to(tdtype)
    ours = build(nn).to(dtype).to(device)
    with torch.no_grad():  # non-trivial weights (BatchNorm starts at 1/0)
        for p in theirs.parameters():
            p.add_(torch.rand_like(p) * 0.2)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    ours.train(mode == "train")
    theirs.train(mode == "train")
    rng = np.random.default_rng(3)
    tol = TOL[dtype]
    for step in range(steps):
        xs = x_np + step if not int_input else x_np
        if int_input:
            x, tx = mg.tensor(xs, device=device), torch.tensor(xs)
        else:
            x = mg.tensor(xs.astype(dtype), device=device, requires_grad=True)
            tx = torch.tensor(xs, dtype=tdtype, requires_grad=True)
        y, ty = ours(x), theirs(tx)
        assert y.shape == tuple(ty.shape) and y.dtype == np.dtype(dtype)
        np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), **tol)
        gy = rng.standard_normal(y.shape)
        y.backward(mg.tensor(gy.astype(dtype), device=device))
        ty.backward(torch.tensor(gy, dtype=tdtype))
        if not int_input:
            np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), **tol)
    for (name, p), (tname, tp) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert name == tname
        assert (p.grad is None) == (tp.grad is None), name
        if p.grad is not None:
            assert p.grad.dtype == np.dtype(dtype)
            np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), err_msg=name, **tol)
    for (name, b), tb in zip(ours.state_dict().items(), theirs.state_dict().values()):
        np.testing.assert_allclose(b.numpy(), tb.numpy(), err_msg=name, **tol)
    return ours, theirs


dtypes = pytest.mark.parametrize("dtype", ["float64", "float32"])


def _x(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


# ============================================================================ Linear


@dtypes
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("shape", [(4, 5), (2, 3, 5), (5,)])
def test_linear(torch, device, dtype, bias, shape):
    _compare(torch, lambda lib: lib.Linear(5, 3, bias=bias), _x(*shape), device, dtype)


# ============================================================================ Conv2d


CONVS = {
    "plain": (lambda lib: lib.Conv2d(3, 4, 3), (2, 3, 7, 6)),
    "dcgan": (lambda lib: lib.Conv2d(1, 4, 5, 2, 2), (2, 1, 8, 8)),
    "all-args": (lambda lib: lib.Conv2d(4, 6, (3, 2), stride=(2, 1), padding=(1, 2),
                                        dilation=(1, 2), groups=2, bias=False), (2, 4, 7, 6)),
    "same-odd": (lambda lib: lib.Conv2d(2, 3, 3, padding="same", dilation=2), (1, 2, 6, 5)),
    "same-even": (lambda lib: lib.Conv2d(2, 3, (4, 3), padding="same"), (1, 2, 6, 5)),
    "valid": (lambda lib: lib.Conv2d(2, 3, 2, padding="valid"), (1, 2, 4, 4)),
    "unbatched": (lambda lib: lib.Conv2d(2, 3, 3, padding=1), (2, 5, 5)),
    "reflect": (lambda lib: lib.Conv2d(2, 3, 3, padding=(1, 2), padding_mode="reflect"), (2, 2, 5, 6)),
    "replicate-same": (lambda lib: lib.Conv2d(2, 3, (2, 3), padding="same",
                                              padding_mode="replicate"), (1, 2, 5, 4)),
    "circular": (lambda lib: lib.Conv2d(2, 3, 3, stride=2, padding=1, padding_mode="circular"),
                 (2, 2, 5, 5)),
    "conv1d": (lambda lib: lib.Conv1d(4, 6, 3, stride=2, padding=1, dilation=2, groups=2), (2, 4, 9)),
    "conv1d-same-even": (lambda lib: lib.Conv1d(2, 3, 4, padding="same", bias=False), (2, 2, 7)),
    "conv1d-reflect": (lambda lib: lib.Conv1d(2, 3, 3, padding=2, padding_mode="reflect"), (2, 2, 5)),
    "conv1d-unbatched": (lambda lib: lib.Conv1d(2, 3, 3, padding="valid"), (2, 6)),
}


@dtypes
@pytest.mark.parametrize("case", list(CONVS))
@pytest.mark.filterwarnings("ignore:Using padding=.same.")
def test_conv2d(torch, device, dtype, case):
    build, shape = CONVS[case]
    _compare(torch, build, _x(*shape), device, dtype)


# ============================================================================ ConvTranspose2d


TCONVS = {
    "dcgan-s1": (lambda lib: lib.ConvTranspose2d(4, 3, 5, 1, 2, bias=False), (2, 4, 7, 7)),
    "dcgan-s2": (lambda lib: lib.ConvTranspose2d(3, 2, 5, 2, 2, output_padding=1), (2, 3, 7, 7)),
    "all-args": (lambda lib: lib.ConvTranspose2d(4, 6, (3, 2), stride=(2, 3), padding=(1, 0),
                                                 output_padding=(1, 2), groups=2, dilation=(2, 1)),
                 (2, 4, 4, 5)),
    "unbatched": (lambda lib: lib.ConvTranspose2d(2, 3, 3, stride=2), (2, 3, 3)),
    "conv_transpose1d": (lambda lib: lib.ConvTranspose1d(4, 6, 3, stride=2, padding=1, output_padding=1,
                                                         groups=2, dilation=1), (2, 4, 5)),
    "conv_transpose1d-unbatched": (lambda lib: lib.ConvTranspose1d(2, 3, 4, stride=3), (2, 3)),
}


@dtypes
@pytest.mark.parametrize("case", list(TCONVS))
def test_conv_transpose2d(torch, device, dtype, case):
    build, shape = TCONVS[case]
    _compare(torch, build, _x(*shape), device, dtype)


def test_conv_transpose2d_output_size(torch):
    ours, theirs = nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1).double(), \
        torch.nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1).double()
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    x = _x(1, 2, 4, 4)
    for size in ([7, 7], [8, 8], [1, 3, 8, 7]):
        y = ours(mg.tensor(x), output_size=size)
        ty = theirs(torch.tensor(x), output_size=size)
        np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-10)
    with pytest.raises(ValueError, match="output size"):
        ours(mg.tensor(x), output_size=[10, 10])


# ============================================================================ BatchNorm


@dtypes
@pytest.mark.parametrize("kwargs", [{}, dict(momentum=None), dict(affine=False),
                                    dict(track_running_stats=False), dict(momentum=0.3, eps=1e-3),
                                    dict(bias=False)])
@pytest.mark.parametrize("shape", [(8, 5), (4, 5, 3)])
def test_batchnorm1d_train(torch, device, dtype, kwargs, shape):
    _compare(torch, lambda lib: lib.BatchNorm1d(5, **kwargs), _x(*shape), device, dtype, steps=3)


@dtypes
@pytest.mark.parametrize("kwargs", [{}, dict(momentum=None), dict(affine=False),
                                    dict(track_running_stats=False)])
@pytest.mark.parametrize("mode", ["train", "eval"])
def test_batchnorm2d(torch, device, dtype, kwargs, mode):
    _compare(torch, lambda lib: lib.BatchNorm2d(3, **kwargs), _x(4, 3, 5, 5), device, dtype,
             mode=mode, steps=2)


def test_batchnorm_eval_uses_running_stats_after_training(torch):
    ours, theirs = _compare(torch, lambda lib: lib.BatchNorm2d(3), _x(4, 3, 5, 5), "cpu",
                            "float64", steps=3)
    ours.eval()
    theirs.eval()
    x = _x(2, 3, 5, 5, seed=9)
    np.testing.assert_allclose(ours(mg.tensor(x)).numpy(),
                               theirs(torch.tensor(x)).detach().numpy(), rtol=1e-10)
    assert int(ours.num_batches_tracked.item()) == 3


def test_batchnorm_errors():
    with pytest.raises(ValueError, match=r"BatchNorm2d: expected 4D input \(got 2D input"):
        nn.BatchNorm2d(3)(mg.randn(4, 3))
    with pytest.raises(ValueError, match="expected 2D or 3D input"):
        nn.BatchNorm1d(3)(mg.randn(4, 3, 2, 2))
    with pytest.raises(ValueError, match=r"\(4, 2\) has 2 channels but num_features=3"):
        nn.BatchNorm1d(3)(mg.randn(4, 2))


# ============================================================================ LayerNorm


@dtypes
@pytest.mark.parametrize("kwargs,shape", [
    (dict(normalized_shape=4), (2, 3, 4)),
    (dict(normalized_shape=(3, 4)), (2, 3, 4)),
    (dict(normalized_shape=4, elementwise_affine=False), (5, 4)),
    (dict(normalized_shape=4, bias=False, eps=1e-3), (5, 4)),
])
def test_layernorm(torch, device, dtype, kwargs, shape):
    _compare(torch, lambda lib: lib.LayerNorm(**kwargs), _x(*shape), device, dtype)


# ============================================================================ activations and reshapes


ACTIVATIONS = {
    "leaky": lambda lib: lib.LeakyReLU(0.2),
    "leaky-default": lambda lib: lib.LeakyReLU(),
    "relu": lambda lib: lib.ReLU(),
    "tanh": lambda lib: lib.Tanh(),
    "sigmoid": lambda lib: lib.Sigmoid(),
    "gelu": lambda lib: lib.GELU(),
    "gelu-tanh": lambda lib: lib.GELU(approximate="tanh"),
    "softmax": lambda lib: lib.Softmax(dim=1),
    "flatten": lambda lib: lib.Flatten(),
    "flatten-range": lambda lib: lib.Flatten(0, 2),
    "unflatten": lambda lib: lib.Unflatten(1, (2, 3)),
    "identity": lambda lib: lib.Identity(),
    "sequential": lambda lib: lib.Sequential(lib.Linear(4, 6), lib.Tanh(), lib.Unflatten(2, (2, 3))),
}


@dtypes
@pytest.mark.parametrize("case", list(ACTIVATIONS))
def test_parameter_free_layers(torch, device, dtype, case):
    x = _x(3, 6, 4)
    x[np.abs(x) < 1e-3] = 0.5  # off the kink of relu / leaky_relu
    if case == "sequential":
        x = _x(3, 2, 4)
    _compare(torch, ACTIVATIONS[case], x, device, dtype)


def test_inplace_is_refused():
    with pytest.raises(ValueError, match="inplace"):
        nn.ReLU(inplace=True)
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout(1.5)


# ============================================================================ Dropout


def test_dropout_train_and_eval(device):
    layer = nn.Dropout(0.3)
    x = mg.ones(200, 100, device=device, requires_grad=True)
    y = layer(x)
    kept = y.numpy() != 0
    assert abs(kept.mean() - 0.7) < 0.01
    np.testing.assert_allclose(y.numpy()[kept], 1 / 0.7, rtol=1e-6)
    y.backward(mg.ones(200, 100, device=device))
    np.testing.assert_allclose(x.grad.numpy(), kept / 0.7, rtol=1e-6)
    layer.eval()
    assert layer(x) is x or np.array_equal(layer(x).numpy(), x.numpy())
    mg.manual_seed(5)
    a = nn.Dropout(0.5)(x).numpy()
    mg.manual_seed(5)
    np.testing.assert_array_equal(a, nn.Dropout(0.5)(x).numpy())  # seeded


# ============================================================================ Embedding


@dtypes
@pytest.mark.parametrize("kwargs", [{}, dict(padding_idx=1), dict(padding_idx=-1),
                                    dict(scale_grad_by_freq=True, padding_idx=0)])
def test_embedding(torch, device, dtype, kwargs):
    idx = np.array([[0, 1, 2, 1], [4, 4, 9, 0]], dtype=np.int64)
    ours, _ = _compare(torch, lambda lib: lib.Embedding(10, 3, **kwargs), idx, device, dtype,
                       int_input=True)
    if "padding_idx" in kwargs:
        np.testing.assert_array_equal(ours.weight.grad.numpy()[kwargs["padding_idx"]], 0)


def test_embedding_max_norm(torch):
    ours, theirs = nn.Embedding(6, 3, max_norm=1.0).double(), torch.nn.Embedding(6, 3, max_norm=1.0).double()
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    idx = np.array([0, 2, 2, 5])
    np.testing.assert_allclose(ours(mg.tensor(idx)).numpy(),
                               theirs(torch.tensor(idx)).detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(ours.weight.numpy(), theirs.weight.detach().numpy(), rtol=1e-10)


def test_embedding_from_pretrained():
    table = mg.randn(4, 2)
    emb = nn.Embedding.from_pretrained(table)
    assert not emb.weight.requires_grad and emb.weight.data is table.data
    assert nn.Embedding.from_pretrained(table, freeze=False).weight.requires_grad


# ============================================================================ initialisation


def _bound_check(w: np.ndarray, bound: float) -> None:
    """U(-bound, bound): inside the bounds, reaching close to them, mean 0 and variance
    bound^2 / 3 within 5 standard errors of the n samples."""
    n = w.size
    assert np.abs(w).max() <= bound
    assert np.abs(w).max() > 0.98 * bound
    assert abs(w.mean()) < 5 * bound / math.sqrt(3 * n)
    np.testing.assert_allclose(w.var(), bound ** 2 / 3, rtol=5 * math.sqrt(0.8 / n))


@pytest.mark.parametrize("build,fan_in", [
    (lambda lib: lib.Linear(100, 1254), 100),
    (lambda lib: lib.Conv2d(64, 128, 5, 2, 2), 64 * 25),
    (lambda lib: lib.Conv2d(8, 64, 3, groups=4), 2 * 9),
    (lambda lib: lib.ConvTranspose2d(256, 128, 5, 1, 2), 128 * 25),  # weight dim 1, as torch
    (lambda lib: lib.ConvTranspose2d(8, 64, 3, groups=4), 16 * 9),
])
def test_default_init_matches_torch_distribution(torch, build, fan_in):
    ours, theirs = build(nn), build(torch.nn)
    bound = 1 / math.sqrt(fan_in)
    # torch's own weights satisfy the same bounds (the oracle for the fan_in rule)
    assert np.abs(theirs.weight.detach().numpy()).max() <= bound
    assert np.abs(theirs.weight.detach().numpy()).max() > 0.98 * bound
    _bound_check(ours.weight.numpy().astype(np.float64), bound)
    b = ours.bias.numpy()
    assert np.abs(b).max() <= bound and np.abs(theirs.bias.detach().numpy()).max() <= bound
    assert ours.weight.dtype == np.float32


def test_default_init_norms_and_embedding():
    bn = nn.BatchNorm2d(7)
    np.testing.assert_array_equal(bn.weight.numpy(), 1)
    np.testing.assert_array_equal(bn.bias.numpy(), 0)
    np.testing.assert_array_equal(bn.running_mean.numpy(), 0)
    np.testing.assert_array_equal(bn.running_var.numpy(), 1)
    assert bn.num_batches_tracked.item() == 0 and bn.num_batches_tracked.dtype == np.int64
    ln = nn.LayerNorm((2, 3))
    np.testing.assert_array_equal(ln.weight.numpy(), np.ones((2, 3)))
    np.testing.assert_array_equal(ln.bias.numpy(), np.zeros((2, 3)))
    emb = nn.Embedding(1000, 64, padding_idx=3).weight.numpy()
    np.testing.assert_array_equal(emb[3], 0)
    rows = np.delete(emb, 3, axis=0)
    assert abs(rows.mean()) < 0.01 and abs(rows.std() - 1) < 0.01


def test_init_is_seeded_and_respects_dtype_and_device(device):
    mg.manual_seed(11)
    a = nn.Linear(5, 4, device=device, dtype="float64")
    mg.manual_seed(11)
    b = nn.Linear(5, 4, device=device, dtype="float64")
    np.testing.assert_array_equal(a.weight.numpy(), b.weight.numpy())
    assert a.weight.dtype == np.float64 and a.weight.device == mg.backend.normalize_device(device)
    c = nn.Linear(5, 4, device=device, dtype="float64")
    assert not np.array_equal(a.weight.numpy(), c.weight.numpy())


def test_init_functions():
    init = nn.init
    w = mg.zeros(200, 300)
    init.xavier_uniform_(w, gain=2.0)
    _bound_check(w.numpy().astype(np.float64), 2.0 * math.sqrt(6 / 500))
    init.kaiming_uniform_(w, nonlinearity="relu")
    _bound_check(w.numpy().astype(np.float64), math.sqrt(2) * math.sqrt(3 / 300))
    init.kaiming_uniform_(w, mode="fan_out", a=0.2)
    _bound_check(w.numpy().astype(np.float64), math.sqrt(2 / 1.04) * math.sqrt(3 / 200))
    init.normal_(w, 2.0, 0.5)
    assert abs(w.numpy().mean() - 2) < 0.01 and abs(w.numpy().std() - 0.5) < 0.01
    init.kaiming_normal_(w, nonlinearity="relu")
    assert abs(w.numpy().std() - math.sqrt(2 / 300)) < 0.02 * math.sqrt(2 / 300)
    init.xavier_normal_(w)
    assert abs(w.numpy().std() - math.sqrt(2 / 500)) < 0.02 * math.sqrt(2 / 500)
    init.uniform_(w, -3, -1)
    assert w.numpy().min() >= -3 and w.numpy().max() < -1
    assert init.constant_(w, 0.25) is w and np.all(w.numpy() == 0.25)
    init.zeros_(w)
    assert np.all(w.numpy() == 0)
    init.ones_(w)
    assert np.all(w.numpy() == 1) and w.dtype == np.float32
    assert init.calculate_gain("tanh") == 5 / 3
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init.xavier_uniform_(mg.zeros(3))
    with pytest.raises(ValueError, match="unsupported nonlinearity"):
        init.calculate_gain("swish")


# ============================================================================ argument errors


def test_conv_argument_errors():
    with pytest.raises(ValueError, match="in_channels \\(3\\) must be divisible by groups \\(2\\)"):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="padding_mode 'mirror' is not supported"):
        nn.Conv2d(3, 4, 3, padding_mode="mirror")
    with pytest.raises(ValueError, match="ConvTranspose2d: padding_mode 'reflect' is not supported"):
        nn.ConvTranspose2d(3, 4, 3, padding_mode="reflect")
    with pytest.raises(ValueError, match="'same' is not supported for strided"):
        nn.Conv2d(3, 4, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match="output_padding"):
        nn.ConvTranspose2d(3, 4, 3, stride=1, output_padding=1)
    with pytest.raises(ValueError, match=r"input of shape \(2, 5, 8, 8\) has 5 channels but the "
                                         r"layer expects in_channels=3"):
        nn.Conv2d(3, 4, 3)(mg.randn(2, 5, 8, 8))
    with pytest.raises(ValueError, match="expected a 3-D"):
        nn.Conv2d(3, 4, 3)(mg.randn(8, 8))
    with pytest.raises(ValueError, match=r"Conv1d: expected a 2-D \(C, L\) or 3-D \(N, C, L\) input"):
        nn.Conv1d(3, 4, 3)(mg.randn(1, 3, 8, 8))
    with pytest.raises(ValueError, match=r"Conv1d: kernel_size must be an int or 1 ints"):
        nn.Conv1d(3, 4, (3, 3))


@pytest.mark.parametrize("build, error", [
    (lambda: nn.Conv2d(3, 4, 3, groups=2), mg.ArgumentError),
    (lambda: nn.Conv2d(3, 4, 3, groups=0), mg.ArgumentError),
    (lambda: nn.Conv2d(3, 4, 3, padding_mode="mirror"), mg.ArgumentError),
    (lambda: nn.Conv2d(3, 4, 3, padding="full"), mg.ArgumentError),
    (lambda: nn.Conv1d(3, 4, 3, stride=2, padding="same"), mg.ArgumentError),
    (lambda: nn.ConvTranspose2d(3, 4, 3, groups=2), mg.ArgumentError),
    (lambda: nn.Conv2d(3, 4, 3)(mg.randn(2, 5, 8, 8)), mg.ShapeError),
    (lambda: nn.BatchNorm1d(3)(mg.randn(4, 2)), mg.ShapeError),
    (lambda: nn.Dropout(1.5), mg.ArgumentError),
    (lambda: nn.Embedding(5, 3, padding_idx=7), mg.ArgumentError),
    (lambda: nn.Linear(-1, 4), mg.ArgumentError),
    (lambda: nn.Linear(3.5, 4), mg.DTypeError),
    (lambda: nn.Unflatten(3, (2, 2))(mg.randn(2, 4)), mg.DimError),
    (lambda: nn.Sequential(nn.ReLU())[3], mg.DimError),
])
def test_layer_errors_are_minigans_and_name_the_layer(build, error):
    """Constructors and forwards refuse bad arguments with minigan's errors (each also the
    built-in PyTorch raises: ValueError for a constructor argument, RuntimeError for a shape)."""
    with pytest.raises(error, match=r"^[A-Z]\w+: "):
        build()


def test_linear_shape_error_names_op():
    with pytest.raises(ValueError, match="linear"):
        nn.Linear(5, 3)(mg.randn(2, 4))
