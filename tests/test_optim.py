"""Optimizers against PyTorch: 20 steps from the same start with the same gradients must
land on the same parameters (float64, ~1e-10), for every option that changes the formula;
state_dict round trips (also through mg.save / mg.load) continue identically."""
from __future__ import annotations

import numpy as np
import pytest

import minigan as mg
import minigan.optim as optim
from minigan import nn

SHAPES = [(3, 4), (4,), (2, 1, 3)]


def _grad_fn(step: int, i: int, p: np.ndarray) -> np.ndarray:
    """A gradient that depends on the parameter (so the trajectories can drift apart)."""
    rng = np.random.default_rng(1000 * step + i)
    return np.sin(3 * p) + rng.standard_normal(p.shape)


def _run_minigan(cls, kwargs, groups_of, start, steps, device, dtype=np.float64, opt_hook=None):
    params = [nn.Parameter(mg.tensor(a.astype(dtype), device=device)) for a in start]
    opt = cls(groups_of(params), **kwargs)
    for t in range(steps):
        for i, p in enumerate(params):
            p.grad = mg.tensor(_grad_fn(t, i, p.numpy().astype(np.float64)).astype(dtype),
                               device=device)
        opt.step()
        if opt_hook:
            opt = opt_hook(t, opt, params) or opt
    return [p.numpy() for p in params], opt


def _run_torch(torch, cls, kwargs, groups_of, start, steps, dtype=None):
    dtype = dtype or torch.float64
    params = [torch.nn.Parameter(torch.tensor(a, dtype=dtype)) for a in start]
    opt = cls(groups_of(params), **kwargs)
    for t in range(steps):
        for i, p in enumerate(params):
            p.grad = torch.tensor(_grad_fn(t, i, p.detach().double().numpy()), dtype=dtype)
        opt.step()
    return [p.detach().numpy() for p in params]


def _start():
    rng = np.random.default_rng(7)
    return [rng.standard_normal(s) for s in SHAPES]


def _flat(params):
    return params


def _two_groups(lr2):
    def groups(params):
        return [{"params": params[:2]}, {"params": params[2:], "lr": lr2}]
    return groups


CASES = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.3)),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True)),
    ("SGD", dict(lr=0.1, momentum=0.5, weight_decay=0.1, nesterov=True)),
    ("SGD", dict(lr=0.05, weight_decay=0.2, maximize=True)),
    ("Adam", dict()),
    ("Adam", dict(lr=0.01, betas=(0.5, 0.999))),
    ("Adam", dict(lr=0.01, weight_decay=0.1)),
    ("Adam", dict(lr=0.01, amsgrad=True)),
    ("Adam", dict(lr=0.01, amsgrad=True, weight_decay=0.05, maximize=True)),
    ("Adam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.01, weight_decay=0.3, amsgrad=True)),
    ("RMSprop", dict()),
    ("RMSprop", dict(lr=0.01, momentum=0.9)),
    ("RMSprop", dict(lr=0.01, centered=True)),
    ("RMSprop", dict(lr=0.01, centered=True, momentum=0.8, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.01, alpha=0.9, eps=1e-6, maximize=True)),
]


@pytest.mark.parametrize("name,kwargs", CASES, ids=[f"{n}-{sorted(k.items())}" for n, k in CASES])
def test_matches_torch_float64(torch, device, name, kwargs):
    start = _start()
    ours, _ = _run_minigan(getattr(optim, name), kwargs, _flat, start, 20, device)
    ref = _run_torch(torch, getattr(torch.optim, name), kwargs, _flat, start, 20)
    for a, b in zip(ours, ref):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name,kwargs", [("SGD", dict(lr=0.1, momentum=0.9)),
                                         ("Adam", dict(lr=0.01, amsgrad=True)),
                                         ("RMSprop", dict(lr=0.01, centered=True, momentum=0.5))])
def test_param_groups_match_torch(torch, name, kwargs):
    start = _start()
    ours, opt = _run_minigan(getattr(optim, name), kwargs, _two_groups(0.003), start, 20, "cpu")
    ref = _run_torch(torch, getattr(torch.optim, name), kwargs, _two_groups(0.003), start, 20)
    for a, b in zip(ours, ref):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    assert [g["lr"] for g in opt.param_groups] == [kwargs["lr"], 0.003]


def test_float32_stays_float32_and_close_to_torch(torch, device):
    start = _start()
    ours, opt = _run_minigan(optim.Adam, dict(lr=0.01), _flat, start, 20, device, np.float32)
    ref = _run_torch(torch, torch.optim.Adam, dict(lr=0.01), _flat, start, 20, torch.float32)
    for a, b in zip(ours, ref):
        assert a.dtype == np.float32
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
    for state in opt.state.values():
        assert state["exp_avg"].dtype == np.float32 and state["exp_avg_sq"].dtype == np.float32


def test_changing_lr_through_param_groups(torch):
    start = _start()

    def drop_lr(t, opt, params):
        if t == 9:
            for g in opt.param_groups:
                g["lr"] = 0.001
    ours, _ = _run_minigan(optim.SGD, dict(lr=0.1, momentum=0.9), _flat, start, 20, "cpu",
                           opt_hook=drop_lr)
    params = [torch.nn.Parameter(torch.tensor(a)) for a in start]
    opt = torch.optim.SGD(params, lr=0.1, momentum=0.9)
    for t in range(20):
        for i, p in enumerate(params):
            p.grad = torch.tensor(_grad_fn(t, i, p.detach().numpy()))
        opt.step()
        if t == 9:
            for g in opt.param_groups:
                g["lr"] = 0.001
    for a, b in zip(ours, params):
        np.testing.assert_allclose(a, b.detach().numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name,kwargs", [("SGD", dict(lr=0.1, momentum=0.9, nesterov=True)),
                                         ("Adam", dict(lr=0.01, amsgrad=True)),
                                         ("AdamW", dict(lr=0.01)),
                                         ("RMSprop", dict(lr=0.01, centered=True, momentum=0.5))])
@pytest.mark.parametrize("through_file", [False, True])
def test_state_dict_round_trip_continues_identically(name, kwargs, through_file, tmp_path):
    """10 steps, snapshot, 10 more; a fresh optimizer loaded from the snapshot (and fresh
    parameters from a copy) must reproduce the last 10 steps bit for bit."""
    start = _start()
    snapshot = {}

    def keep(t, opt, params):
        if t == 9:
            snapshot["opt"] = opt.state_dict()
            snapshot["params"] = [p.numpy().copy() for p in params]
    full, _ = _run_minigan(getattr(optim, name), kwargs, _two_groups(0.02), start, 20, "cpu",
                           opt_hook=keep)
    state = snapshot["opt"]
    if through_file:
        mg.save(state, tmp_path / "opt.npz")
        state = mg.load(tmp_path / "opt.npz")
    params = [nn.Parameter(mg.tensor(a)) for a in snapshot["params"]]
    opt = getattr(optim, name)(_two_groups(0.5)(params), **kwargs)
    opt.load_state_dict(state)
    assert opt.param_groups[1]["lr"] == 0.02  # hyper-parameters come back too
    for t in range(10, 20):
        for i, p in enumerate(params):
            p.grad = mg.tensor(_grad_fn(t, i, p.numpy()))
        opt.step()
    for a, p in zip(full, params):
        np.testing.assert_array_equal(a, p.numpy())


def test_state_dict_layout_matches_torch(torch):
    start = _start()
    _, opt = _run_minigan(optim.Adam, dict(lr=0.01, amsgrad=True), _two_groups(0.1), start, 3, "cpu")
    params = [torch.nn.Parameter(torch.tensor(a)) for a in start]
    topt = torch.optim.Adam(_two_groups(0.1)(params), lr=0.01, amsgrad=True)
    for p in params:
        p.grad = torch.ones_like(p)
    topt.step()
    ours, ref = opt.state_dict(), topt.state_dict()
    assert sorted(ours["state"]) == sorted(ref["state"])
    assert set(ours["state"][0]) == set(ref["state"][0])
    assert [g["params"] for g in ours["param_groups"]] == [g["params"] for g in ref["param_groups"]]
    assert ours["state"][2]["step"] == 3


def test_state_dict_is_a_snapshot():
    p = nn.Parameter(mg.ones(3))
    opt = optim.Adam([p])
    p.grad = mg.ones(3)
    opt.step()
    sd = opt.state_dict()
    before = sd["state"][0]["exp_avg"].copy()
    opt.step()
    np.testing.assert_array_equal(sd["state"][0]["exp_avg"], before)


def test_load_state_dict_errors():
    a, b = nn.Parameter(mg.ones(3)), nn.Parameter(mg.ones(2))
    opt = optim.Adam([a, b])
    a.grad, b.grad = mg.ones(3), mg.ones(2)
    opt.step()
    sd = opt.state_dict()
    with pytest.raises(ValueError, match="2 parameters in group 0, the optimizer has 1"):
        optim.Adam([a]).load_state_dict(sd)
    with pytest.raises(ValueError, match="parameter groups"):
        optim.Adam([{"params": [a]}, {"params": [b]}]).load_state_dict(sd)
    with pytest.raises(ValueError, match=r"shape \(3,\), the parameter has \(2,\)"):
        optim.Adam([b, a]).load_state_dict(sd)


def test_load_state_dict_casts_to_parameter_dtype():
    p = nn.Parameter(mg.ones(3, dtype="float64"))
    opt = optim.Adam([p])
    p.grad = mg.ones(3, dtype="float64")
    opt.step()
    q = nn.Parameter(mg.ones(3))
    opt2 = optim.Adam([q])
    opt2.load_state_dict(opt.state_dict())
    assert opt2.state[q]["exp_avg"].dtype == np.float32
    q.grad = mg.ones(3)
    opt2.step()
    assert q.dtype == np.float32 and opt2.state[q]["step"] == 2


def test_step_skips_parameters_without_grad_and_records_no_graph():
    a, b = nn.Parameter(mg.ones(3)), nn.Parameter(mg.ones(3))
    opt = optim.SGD([a, b], lr=0.5, momentum=0.9)
    (a * 2).sum().backward()
    opt.step()
    np.testing.assert_allclose(a.numpy(), 0.0)
    np.testing.assert_allclose(b.numpy(), 1.0)
    assert a.is_leaf and b not in opt.state
    np.testing.assert_allclose(a.grad.numpy(), 2.0)  # the gradient itself is untouched


def test_updates_are_in_place():
    p = nn.Parameter(mg.ones(4))
    array = p.data
    opt = optim.Adam([p], weight_decay=0.1)
    for _ in range(3):
        p.grad = mg.ones(4)
        opt.step()
    assert p.data is array


def test_zero_grad():
    p = nn.Parameter(mg.ones(2))
    opt = optim.SGD([p], lr=0.1)
    p.grad = mg.ones(2)
    opt.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(p.grad.numpy(), 0.0)
    opt.zero_grad()
    assert p.grad is None


def test_closure_returns_loss():
    p = nn.Parameter(mg.tensor([3.0]))
    opt = optim.SGD([p], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss
    loss = opt.step(closure)
    assert float(loss) == 9.0
    np.testing.assert_allclose(p.numpy(), [1.5])


def test_bad_arguments():
    p = nn.Parameter(mg.ones(2))
    with pytest.raises(ValueError, match="Nesterov"):
        optim.SGD([p], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="beta parameter at index 1"):
        optim.Adam([p], betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="Invalid lr"):
        optim.RMSprop([p], lr=-1)
    with pytest.raises(ValueError, match="more than one parameter group"):
        optim.SGD([{"params": [p]}, {"params": [p]}], lr=0.1)
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(ValueError, match="non-leaf"):
        optim.SGD([p * 2], lr=0.1)


def test_accepts_named_parameters_and_generators():
    model = nn.Linear(3, 2)
    assert len(optim.Adam(model.parameters()).param_groups[0]["params"]) == 2
    assert len(optim.Adam(model.named_parameters()).param_groups[0]["params"]) == 2


def test_repr():
    text = repr(optim.Adam([nn.Parameter(mg.ones(1))], lr=0.5))
    assert text.startswith("Adam (\nParameter Group 0\n") and "    lr: 0.5" in text


@pytest.mark.slow
def test_adam_cost_is_small_next_to_torch(torch):
    """Adam over DCGAN-28-sized float32 parameters: compared with torch's single-tensor Adam."""
    import time
    sizes = [(12544, 100), (12544,), (12544,), (256, 128, 5, 5), (128,), (128,),
             (128, 64, 5, 5), (64,), (64,), (64, 1, 5, 5)]
    ours = [nn.Parameter(mg.randn(*s)) for s in sizes]
    for p in ours:
        p.grad = mg.randn(*p.shape)
    theirs = [torch.nn.Parameter(torch.randn(*s)) for s in sizes]
    for p in theirs:
        p.grad = torch.randn(*p.shape)
    a, b = optim.Adam(ours), torch.optim.Adam(theirs, foreach=False)
    times = {"ours": [], "torch": []}
    for _ in range(7):
        for key, opt in (("ours", a), ("torch", b)):
            t0 = time.perf_counter()
            opt.step()
            times[key].append(time.perf_counter() - t0)
    ratio = np.median(times["ours"]) / np.median(times["torch"])
    print(f"Adam step: minigan {np.median(times['ours']) * 1e3:.1f} ms, torch "
          f"{np.median(times['torch']) * 1e3:.1f} ms, ratio {ratio:.2f}")
    assert ratio < 4


def test_state_follows_the_model_to_another_dtype(device):
    model = nn.Linear(3, 2)
    opt = optim.Adam(model.parameters(), lr=0.01)
    model(mg.randn(4, 3)).sum().backward()
    opt.step()
    model.to(mg.float64).to(device)
    model.zero_grad()
    model(mg.randn(4, 3, dtype="float64", device=device)).sum().backward()
    opt.step()
    for p in model.parameters():
        assert p.dtype == np.float64
        assert opt.state[p]["exp_avg"].dtype == np.float64 and opt.state[p]["step"] == 2


@pytest.mark.parametrize("name,kwargs", [("SGD", dict(lr=0.1, momentum=0.9)),
                                         ("Adam", dict(lr=0.01)),
                                         ("RMSprop", dict(lr=0.01, momentum=0.5))])
def test_state_of_a_0d_parameter_survives_a_round_trip(name, kwargs, tmp_path):
    """A 0-d parameter (a learned gate or scale) has 0-d state arrays: they must come back as
    arrays (they once came back as Python floats, which the in-place update never changed)."""
    def run(opt, p, steps):
        for t in steps:
            p.grad = mg.tensor(np.array(0.5 + 0.1 * t))
            opt.step()
    p = nn.Parameter(mg.tensor(np.array(1.0)))
    opt = getattr(optim, name)([p], **kwargs)
    run(opt, p, range(3))
    mg.save(opt.state_dict(), tmp_path / "opt.npz")
    q = nn.Parameter(mg.tensor(p.numpy().copy()))
    again = getattr(optim, name)([q], **kwargs)
    again.load_state_dict(mg.load(tmp_path / "opt.npz"))
    run(opt, p, range(3, 8))
    run(again, q, range(3, 8))
    np.testing.assert_array_equal(p.numpy(), q.numpy())
