"""Module machinery: registration order, dotted names (matching PyTorch), train/eval, to(),
zero_grad, requires_grad_, apply, hooks, containers, repr, state_dict / load_state_dict."""
from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest

import minigan as mg
from minigan import nn


class Toy(nn.Module):
    """A small module built only on matmul (no layer kernels needed)."""

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(mg.randn(3, 4))
        self.register_buffer("count", mg.zeros(1))
        self.register_buffer("scratch", mg.zeros(2), persistent=False)
        self.inner = Inner()
        self.b = nn.Parameter(mg.zeros(4))

    def forward(self, x):
        return self.inner(x @ self.w + self.b)


class Inner(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.v = nn.Parameter(mg.randn(4, 2))
        self.plain = 3  # not a parameter

    def forward(self, x):
        return x @ self.v


def test_registration_order_and_names():
    m = Toy()
    assert [n for n, _ in m.named_parameters()] == ["w", "b", "inner.v"]
    assert [n for n, _ in m.named_buffers()] == ["count", "scratch"]
    assert [n for n, _ in m.named_children()] == ["inner"]
    assert [n for n, _ in m.named_modules()] == ["", "inner"]
    assert [n for n, _ in m.named_parameters(prefix="model")] == ["model.w", "model.b", "model.inner.v"]
    assert [n for n, _ in m.named_parameters(recurse=False)] == ["w", "b"]
    assert list(m.state_dict()) == ["w", "b", "count", "inner.v"]  # params, persistent buffers, children
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in m.parameters())
    assert m.inner.plain == 3 and "plain" not in m._parameters


def test_names_match_torch_for_an_equivalent_model(torch):
    def build(lib):
        return lib.Sequential(
            lib.Linear(10, 8, bias=False), lib.BatchNorm1d(8), lib.LeakyReLU(0.2),
            lib.Unflatten(1, (2, 2, 2)), lib.ConvTranspose2d(2, 3, 3, 2, 1, output_padding=1),
            lib.BatchNorm2d(3), lib.Conv2d(3, 1, 3, padding=1), lib.Flatten(), lib.Dropout(0.3))
    ours, theirs = build(nn), build(torch.nn)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [tuple(v.shape) for v in ours.state_dict().values()] == \
        [tuple(v.shape) for v in theirs.state_dict().values()]
    assert repr(ours) == repr(theirs)


def test_repr_like_torch(torch):
    def make(lib):
        class Net(lib.Module):
            def __init__(self):
                super().__init__()
                self.fc = lib.Linear(100, 12544, bias=False)
                self.body = lib.Sequential(lib.Conv2d(1, 64, 5, 2, 2), lib.ReLU(), lib.Tanh())
                self.norm = lib.LayerNorm(8)
                self.emb = lib.Embedding(10, 4, padding_idx=0)
                self.up = lib.ConvTranspose2d(4, 2, 3, stride=2, groups=2, dilation=2,
                                              output_padding=1, bias=False)
                self.act = lib.Sequential(lib.LeakyReLU(0.2), lib.GELU(approximate="tanh"),
                                          lib.Sigmoid(), lib.Dropout(0.3), lib.Flatten(),
                                          lib.BatchNorm2d(3, momentum=None, affine=False))
        return Net()
    assert repr(make(nn)) == repr(make(torch.nn))
    assert repr(nn.Linear(100, 12544, bias=False)) == "Linear(in_features=100, out_features=12544, bias=False)"


def test_shared_parameters_and_modules_listed_once():
    m = nn.Module()
    shared = Inner()
    m.a, m.b = shared, shared
    assert [n for n, _ in m.named_parameters()] == ["a.v"]
    assert len(list(m.modules())) == 2
    assert list(m.state_dict()) == ["a.v", "b.v"]  # state_dict keeps both names, like torch


def test_train_eval_propagate():
    m = nn.Sequential(Toy(), nn.Sequential(Inner()))
    assert all(mod.training for mod in m.modules())
    assert m.eval() is m
    assert not any(mod.training for mod in m.modules())
    m.train()
    assert all(mod.training for mod in m.modules())
    m[1].train(False)
    assert m.training and not m[1][0].training
    with pytest.raises(ValueError, match="boolean"):
        m.train("yes")


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_to_dtype_keeps_parameter_identity(device, dtype):
    m = Toy()
    params = list(m.parameters())
    x = mg.randn(2, 3)
    m(x).sum().backward()
    assert m.to(dtype) is m
    m.to(device)
    assert [id(p) for p in m.parameters()] == [id(p) for p in params]
    for t in list(m.parameters()) + list(m.buffers()):
        assert t.dtype == np.dtype(dtype) and t.device == mg.backend.normalize_device(device)
    for p in m.parameters():
        assert p.grad.dtype == np.dtype(dtype) and p.grad.device == p.device
    y = m(mg.randn(2, 3, dtype=dtype, device=device))
    assert y.dtype == np.dtype(dtype)


def test_to_keeps_integer_buffers_and_parses_arguments():
    m = nn.BatchNorm1d(3)
    m.to(device="cpu", dtype=mg.float64)
    assert m.running_mean.dtype == np.float64 and m.num_batches_tracked.dtype == np.int64
    m.float()
    assert m.weight.dtype == np.float32
    m.double()
    assert m.weight.dtype == np.float64
    with pytest.raises(TypeError, match="floating"):
        m.to("int64")


def test_zero_grad_and_requires_grad():
    m = Toy()
    m(mg.randn(2, 3)).sum().backward()
    assert all(p.grad is not None for p in m.parameters())
    m.zero_grad(set_to_none=False)
    assert all(np.all(p.grad.numpy() == 0) for p in m.parameters())
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())
    m.requires_grad_(False)
    assert not any(p.requires_grad for p in m.parameters())
    assert not m(mg.randn(2, 3)).requires_grad
    m.requires_grad_()
    assert all(p.requires_grad for p in m.parameters())


def test_apply_visits_children_first():
    m = nn.Sequential(Inner(), nn.Sequential(Inner()))
    seen = []
    m.apply(lambda mod: seen.append(type(mod).__name__))
    assert seen == ["Inner", "Inner", "Sequential", "Sequential"]


def test_call_runs_forward_and_hooks():
    m = Inner()
    x = mg.randn(5, 4)
    np.testing.assert_allclose(m(x).numpy(), (x @ m.v).numpy())
    calls = []
    h1 = m.register_forward_pre_hook(lambda mod, args: (args[0] * 2,))
    h2 = m.register_forward_hook(lambda mod, args, out: calls.append(out.shape))
    np.testing.assert_allclose(m(x).numpy(), ((x * 2) @ m.v).numpy(), rtol=1e-6)
    assert calls == [(5, 2)]
    h1.remove()
    h2.remove()
    m(x)
    assert calls == [(5, 2)]
    with pytest.raises(NotImplementedError, match="forward"):
        nn.Module()(x)


def test_attribute_rules():
    m = Toy()
    with pytest.raises(TypeError, match="parameter 'w'"):
        m.w = mg.randn(3, 4)  # a plain tensor cannot replace a parameter
    m.w = None
    assert m.w is None and [n for n, _ in m.named_parameters()] == ["b", "inner.v"]
    m.count = mg.ones(1)
    assert "count" in m._buffers
    with pytest.raises(TypeError, match="buffer"):
        m.count = 3
    del m.inner
    assert "inner" not in m._modules
    with pytest.raises(AttributeError, match="no attribute 'missing'"):
        m.missing

    class Early(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(mg.ones(1))
    with pytest.raises(AttributeError, match="before Module.__init__"):
        Early()
    with pytest.raises(KeyError, match="contain"):
        m.register_buffer("a.b", mg.ones(1))
    with pytest.raises(KeyError, match="already exists"):
        m.register_buffer("b", mg.ones(1))  # "b" is a parameter already


def test_parameter_is_a_tensor_sharing_the_array():
    data = mg.randn(3)
    p = nn.Parameter(data)
    assert isinstance(p, mg.Tensor) and p.requires_grad and p.is_leaf
    assert p.data is data.data
    y = p * 2
    assert type(y) is mg.Tensor
    assert repr(p).startswith("Parameter containing:\ntensor(")
    assert not nn.Parameter(mg.ones(2), requires_grad=False).requires_grad


def test_sequential_and_module_list():
    a, b, c = Inner(), nn.Module(), nn.Module()
    s = nn.Sequential(a, b)
    assert len(s) == 2 and s[0] is a and s[-1] is b and list(s) == [a, b]
    s.append(c)
    assert s[2] is c and list(s._modules) == ["0", "1", "2"]
    sub = s[1:]
    assert isinstance(sub, nn.Sequential) and list(sub) == [b, c]
    del s[0]
    assert list(s._modules) == ["0", "1"] and s[0] is b
    with pytest.raises(IndexError):
        s[5]
    named = nn.Sequential(OrderedDict([("enc", Inner()), ("dec", Inner())]))
    assert [n for n, _ in named.named_parameters()] == ["enc.v", "dec.v"]
    x = mg.randn(2, 4)
    chain = nn.Sequential(Inner(), nn.Identity())
    np.testing.assert_allclose(chain(x).numpy(), chain[0](x).numpy())

    ml = nn.ModuleList([Inner(), Inner()])
    ml.append(Inner())
    ml += [Inner()]
    ml.insert(0, Inner())
    assert len(ml) == 5 and [n for n, _ in ml.named_parameters()][:2] == ["0.v", "1.v"]
    assert isinstance(ml[1:3], nn.ModuleList) and len(ml[1:3]) == 2
    md = nn.ModuleDict({"x": Inner()})
    md["y"] = Inner()
    assert list(md) == ["x", "y"] and "y" in md and [n for n, _ in md.named_parameters()] == ["x.v", "y.v"]
    assert m_get(nn.Sequential(nn.Sequential(Inner())), "0.0") is not None


def m_get(module, path):
    return module.get_submodule(path)


# ---------------------------------------------------------------------------- state_dict


def test_state_dict_values_are_detached_and_share_memory():
    m = Toy()
    sd = m.state_dict()
    assert all(isinstance(v, mg.Tensor) and not v.requires_grad for v in sd.values())
    assert sd["w"].data is m.w.data and "scratch" not in sd
    assert m.state_dict(keep_vars=True)["w"] is m.w


def test_state_dict_round_trip_in_place(device):
    src, dst = Toy().to(device), Toy().to(device)
    arrays = [p.data for p in dst.parameters()]
    result = dst.load_state_dict(src.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    for (name, a), b in zip(src.state_dict().items(), dst.state_dict().values()):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=name)
    assert [p.data for p in dst.parameters()] == arrays or all(
        x is y for x, y in zip(arrays, [p.data for p in dst.parameters()]))
    # NumPy arrays (e.g. from mg.load or torch) are accepted too, and cast to the target dtype
    dst.load_state_dict({k: v.numpy().astype(np.float64) + 1 for k, v in src.state_dict().items()})
    np.testing.assert_allclose(dst.w.numpy(), src.w.numpy() + 1, rtol=1e-6)
    assert dst.w.dtype == np.float32 and all(x is y for x, y in zip(arrays, [p.data for p in dst.parameters()]))


def test_load_state_dict_lists_every_problem():
    m = Toy()
    sd = {k: v.numpy() for k, v in m.state_dict().items()}
    del sd["b"], sd["inner.v"]
    sd["w"] = np.zeros((4, 3), np.float32)
    sd["extra"] = np.zeros(1)
    sd["inner.extra"] = np.zeros(1)
    before = m.w.numpy().copy()
    with pytest.raises(RuntimeError) as info:
        m.load_state_dict(sd)
    msg = str(info.value)
    assert msg.startswith("Error(s) in loading state_dict for Toy:")
    assert 'Missing key(s) in state_dict: "b", "inner.v".' in msg
    assert 'Unexpected key(s) in state_dict: "extra", "inner.extra".' in msg
    assert ("size mismatch for w: copying a param with shape (4, 3) from checkpoint, "
            "the shape in current model is (3, 4).") in msg
    np.testing.assert_array_equal(m.w.numpy(), before)  # nothing was changed


def test_load_state_dict_not_strict():
    m = Toy()
    sd = {"w": np.ones((3, 4)), "bogus": np.ones(2)}
    result = m.load_state_dict(sd, strict=False)
    assert result.missing_keys == ["b", "count", "inner.v"] and result.unexpected_keys == ["bogus"]
    np.testing.assert_array_equal(m.w.numpy(), 1.0)
    with pytest.raises(RuntimeError, match="size mismatch for w"):  # shapes are always checked
        m.load_state_dict({"w": np.ones((2, 2))}, strict=False)


def test_load_state_dict_from_torch(torch):
    theirs = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3))
    theirs.train()(torch.randn(8, 4))  # moves the running stats and the counter
    ours = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3))
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    for (k, a), b in zip(ours.state_dict().items(), theirs.state_dict().values()):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-7, err_msg=k)
    assert int(ours[1].num_batches_tracked.item()) == 1


def test_deepcopy_gives_an_independent_model():
    import copy
    m = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    m(mg.randn(4, 3)).sum().backward()
    c = copy.deepcopy(m)
    assert isinstance(c[0].weight, nn.Parameter) and c[0].weight.data is not m[0].weight.data
    assert repr(c) == repr(m) and list(c.state_dict()) == list(m.state_dict())
    c[0].weight.data[...] = 0
    assert m[0].weight.numpy().any()
