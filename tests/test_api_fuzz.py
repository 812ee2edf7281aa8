"""minigan's public surface against PyTorch's, name by name.

Every public callable of ``mg.*``, ``minigan.functional``, ``mg.Tensor``'s methods,
``mg.nn``'s layers and ``mg.linalg`` is enumerated here, mapped to its PyTorch counterpart
by name (``torch.X``, ``torch.nn.functional.X``, ``torch.Tensor.X``, ``torch.nn.X``,
``torch.linalg.X``, or a name in ``RENAMED``), and run on the calls of tests/api_calls.py
through both libraries: the same result (shape, dtype, values, and the gradients of the
inputs and parameters that require grad), or both raise, minigan with one of its own errors
(minigan.errors), of a subclass of the exception type PyTorch raises, whose message starts
with the op's name. ``test_every_public_callable_is_listed`` fails when a callable appears
that is neither compared, nor listed as minigan-only, nor listed as mapped but compared
elsewhere, so a new op is covered the day it lands (it runs without PyTorch; the
comparisons skip there). ``test_drawn_calls_match_torch`` (slow) lets hypothesis draw the
calls of the elementwise, reduction and activation families.

Run: ``PYTHONPATH=$PWD python -m pytest -q tests/test_api_fuzz.py`` (add ``-m "slow or not
slow"`` for the drawn calls); ``counts()`` gives the numbers of a report.
"""
from __future__ import annotations

import inspect
import re
import warnings
from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import minigan as mg
import minigan.functional as F
import minigan.linalg as mlinalg
from minigan import nn as mnn
from minigan.errors import MiniganError

from api_calls import A, BINARY_NAMES, COMPARISONS, D, MG, REDUCTIONS, UNARY_NAMES, Call
from api_surface import (ACTIVATIONS, FUNCTIONAL, LAYERS, LINALG, MINIGAN_ONLY, RENAMED, TENSOR,
                         UNCOMPARED, Layer)

try:  # PyTorch is the oracle; without it only the listing test runs (the rest skip)
    import torch
except ModuleNotFoundError:
    torch = None
needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed")

# ---------------------------------------------------------------------------- the surface


def _public(namespace: Any) -> list[str]:
    """The public callables of a module or class (no modules, no private names)."""
    names = []
    for name in dir(namespace):
        if name.startswith("_"):
            continue
        value = inspect.getattr_static(namespace, name) if inspect.isclass(namespace) \
            else getattr(namespace, name)
        if isinstance(value, property) or inspect.ismodule(value):
            continue
        if callable(value) or isinstance(value, (staticmethod, classmethod)):
            names.append(name)
    return sorted(names)


def surfaces() -> dict[str, list[str]]:
    """Surface name -> its public callables."""
    return {"mg": _public(mg), "F": _public(F), "Tensor": _public(mg.Tensor),
            "nn": _public(mnn), "linalg": _public(mlinalg)}


TABLES: dict[str, dict[str, list]] = {"mg": MG, "F": FUNCTIONAL, "Tensor": TENSOR, "nn": LAYERS,
                                      "linalg": LINALG}
OURS = {"mg": mg, "F": F, "Tensor": mg.Tensor, "nn": mnn, "linalg": mlinalg}
THEIRS = {"mg": "torch", "F": "torch.nn.functional", "Tensor": "torch.Tensor", "nn": "torch.nn",
          "linalg": "torch.linalg"}


def torch_counterpart(surface: str, name: str) -> Any:
    """PyTorch's callable for ``surface.name`` (RENAMED, else the same name), or None."""
    path = RENAMED.get(surface, {}).get(name, f"{THEIRS[surface]}.{name}")
    value: Any = torch
    for part in path.split(".")[1:]:
        value = getattr(value, part, None)
        if value is None:
            return None
    return value


def test_every_public_callable_is_listed():
    """Each public callable is compared here, or minigan-only, or mapped and compared
    elsewhere (with the reason); no table names a callable that is gone. (Runs without
    PyTorch: a new op fails here the day it lands.)"""
    problems = []
    for surface, names in surfaces().items():
        listed = set(TABLES[surface]) | set(MINIGAN_ONLY.get(surface, {})) | \
            set(UNCOMPARED.get(surface, {}))
        problems += [f"{surface}.{name}: neither compared (api_calls / api_surface tables), "
                     f"nor MINIGAN_ONLY, nor UNCOMPARED" for name in names if name not in listed]
        problems += [f"{surface}.{name}: listed but not a public callable any more"
                     for name in sorted(listed - set(names))]
        both = set(TABLES[surface]) & set(MINIGAN_ONLY.get(surface, {}))
        problems += [f"{surface}.{n}: both compared and minigan-only" for n in sorted(both)]
    assert not problems, "\n".join(problems)


@needs_torch
def test_every_public_callable_is_mapped():
    """Each listed callable that is not minigan-only has its PyTorch counterpart."""
    problems = []
    for surface, names in surfaces().items():
        for name in names:
            if name not in MINIGAN_ONLY.get(surface, {}) and torch_counterpart(surface, name) is None:
                path = RENAMED.get(surface, {}).get(name, f"{THEIRS[surface]}.{name}")
                problems.append(f"{surface}.{name}: no PyTorch counterpart {path}")
    assert not problems, "\n".join(problems)


# ---------------------------------------------------------------------------- one call, both sides


def _convert(value: Any, side: str) -> Any:
    if isinstance(value, A):
        if side == "mg":
            return mg.tensor(value.array.copy(), requires_grad=value.grad)
        return torch.tensor(value.array.copy(), requires_grad=value.grad)
    if isinstance(value, D):
        return getattr(mg if side == "mg" else torch, value.name)
    if isinstance(value, tuple) and not hasattr(value, "_fields"):
        return tuple(_convert(v, side) for v in value)
    if isinstance(value, list):
        return [_convert(v, side) for v in value]
    if isinstance(value, dict):
        return {k: _convert(v, side) for k, v in value.items()}
    return value


def _leaves(value: Any, out: list) -> list:
    """The tensors of a (nested) argument list, in order."""
    if isinstance(value, (mg.Tensor, torch.Tensor)):
        out.append(value)
    elif isinstance(value, (list, tuple)):
        for v in value:
            _leaves(v, out)
    elif isinstance(value, dict):
        for v in value.values():
            _leaves(v, out)
    return out


_BASES = (IndexError, TypeError, ValueError, RuntimeError)
_NAMED = re.compile(r"^[A-Za-z_][\w.]*(\(\))?: ")
# Python's own refusal of a call that does not fit the signature names the function too
_SIGNATURE = re.compile(r"^[\w.]+\(\) (missing \d+ required|got an unexpected keyword|takes "
                        r"(from )?\d+|got multiple values)")


def _expected_base(error: BaseException) -> type:
    """The built-in exception type PyTorch's error is (its NotImplementedError for a dtype a
    kernel lacks is a RuntimeError; its OutOfMemoryError one too). Where PyTorch refuses an
    argument by accident of its Python code (``F.tanh(3.0)``: AttributeError, "'float' object
    has no attribute 'tanh'"; an ``assert`` in a constructor: AssertionError), minigan's error
    for the same refusal must be a TypeError or ValueError respectively."""
    if isinstance(error, AttributeError):
        return TypeError
    if isinstance(error, AssertionError):
        return ValueError
    for base in _BASES:
        if isinstance(error, base):
            return base
    return type(error)


def _dtype_name(dtype: Any) -> str:
    return str(dtype).replace("torch.", "")


def _close(ours: Any, theirs: Any, where: str, values: bool) -> None:
    if isinstance(theirs, torch.Tensor):
        assert isinstance(ours, mg.Tensor), f"{where}: expected a Tensor, got {type(ours).__name__}"
        assert ours.shape == tuple(theirs.shape), f"{where}: shape {ours.shape} != {tuple(theirs.shape)}"
        assert _dtype_name(ours.dtype) == _dtype_name(theirs.dtype), \
            f"{where}: dtype {ours.dtype} != {_dtype_name(theirs.dtype)}"
        if not values:
            return
        expected = theirs.detach().numpy(force=True)
        got = ours.numpy()
        if expected.dtype.kind == "f":
            tight = expected.dtype == np.float64
            finite = expected[np.isfinite(expected)]
            scale = max(1.0, float(np.abs(finite).max(initial=0)))
            np.testing.assert_allclose(got, expected, rtol=1e-7 if tight else 1e-4,
                                       atol=(1e-9 if tight else 1e-5) * scale, err_msg=where)
        else:
            np.testing.assert_array_equal(got, expected, err_msg=where)
    elif isinstance(theirs, (tuple, list)) and not isinstance(theirs, torch.Size):
        assert isinstance(ours, (tuple, list)), f"{where}: expected a sequence, got {type(ours).__name__}"
        assert len(ours) == len(theirs), f"{where}: {len(ours)} results != {len(theirs)}"
        for i, (o, t) in enumerate(zip(ours, theirs)):
            _close(o, t, f"{where}[{i}]", values)
    elif isinstance(theirs, torch.Size):
        assert tuple(ours) == tuple(theirs), f"{where}: {ours} != {tuple(theirs)}"
    elif isinstance(theirs, (bool, int, float)) or theirs is None:
        assert type(ours) in (type(theirs), np.bool_, np.float64, np.int64) or (
            isinstance(theirs, float) and isinstance(ours, float)), \
            f"{where}: {ours!r} ({type(ours).__name__}) != {theirs!r} ({type(theirs).__name__})"
        if values and theirs is not None:
            assert ours == pytest.approx(theirs, nan_ok=True), f"{where}: {ours!r} != {theirs!r}"
    elif isinstance(theirs, np.ndarray):
        np.testing.assert_allclose(np.asarray(ours), theirs, err_msg=where)
    # other results (modules, dtypes, devices) are compared by the calls that make them


def _compare_grads(mg_args: list, torch_args: list, y: Any, ty: Any, where: str) -> None:
    """The gradients of one random projection of the float outputs w.r.t. the inputs that
    require grad, on both sides."""
    outs = [(o, t) for o, t in zip(_leaves(y, []), _leaves(ty, []))
            if t.requires_grad and t.dtype.is_floating_point and t.numel()]
    for o, t in outs:
        assert o.requires_grad, f"{where}: the output requires grad in PyTorch, not here"
    wrt = [(o, t) for o, t in zip(mg_args, torch_args) if t.requires_grad]
    if not outs or not wrt:
        return
    rng = np.random.default_rng(7)
    weights = [rng.standard_normal(tuple(t.shape)).astype(_dtype_name(t.dtype)) for _, t in outs]
    loss = sum((o * mg.tensor(w)).sum() for (o, _), w in zip(outs, weights))
    tloss = sum((t * torch.tensor(w)).sum() for (_, t), w in zip(outs, weights))
    grads = mg.grad(loss, [o for o, _ in wrt], allow_unused=True)
    try:
        tgrads = torch.autograd.grad(tloss, [t for _, t in wrt], allow_unused=True)
    except RuntimeError:  # "derivative for aten::floor_divide is not implemented", or its
        return            # backward of atan2(bool, float) negating a bool: nothing to compare
    for i, (g, tg, (x, tx)) in enumerate(zip(grads, tgrads, wrt)):
        tg = torch.zeros_like(tx) if tg is None else tg
        g = mg.zeros_like(x) if g is None else g
        _close(g, tg, f"{where}: grad of input {i}", True)


def compare_call(ours: Callable, theirs: Callable, call: Call, where: str,
                 grads: bool = True) -> str | None:
    """Run one call on both sides; a message saying how they differ, or None (``grads``:
    compare the gradients too). Callers leave out the calls marked ``known``."""
    mg_args, mg_kwargs = _convert(call.args, "mg"), _convert(call.kwargs, "mg")
    t_args, t_kwargs = _convert(call.args, "torch"), _convert(call.kwargs, "torch")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ty = theirs(*t_args, **t_kwargs)
        terr = None
    except Exception as exc:  # noqa: BLE001 - any refusal of PyTorch's is an expected outcome
        ty, terr = None, exc
    try:
        y = ours(*mg_args, **mg_kwargs)
        err = None
    except Exception as exc:  # noqa: BLE001
        y, err = None, exc
    if terr is not None:
        base = _expected_base(terr)
        if err is None:
            return f"{where}: PyTorch raises {type(terr).__name__}({str(terr)[:120]!r}), " \
                   f"minigan returns {_summary(y)}"
        if isinstance(err, TypeError) and base is TypeError and _SIGNATURE.match(str(err)):
            return None
        if not isinstance(err, MiniganError):
            return f"{where}: raw {type(err).__name__} ({str(err)[:160]!r}) where PyTorch raises " \
                   f"{type(terr).__name__}"
        if not isinstance(err, base):
            return f"{where}: {type(err).__name__} is no {base.__name__} (PyTorch's " \
                   f"{type(terr).__name__}: {str(terr)[:100]!r}; ours: {str(err)[:100]!r})"
        if not _NAMED.match(str(err)):
            return f"{where}: the message names no op: {str(err)[:160]!r}"
        return None
    if err is not None:
        return f"{where}: minigan raises {type(err).__name__}({str(err)[:160]!r}), PyTorch " \
               f"returns {_summary(ty)}"
    try:
        _close(y, ty, where, call.values)
        if call.values and grads:
            _compare_grads(_leaves(mg_args, []) + _leaves(mg_kwargs, []),
                           _leaves(t_args, []) + _leaves(t_kwargs, []), y, ty, where)
    except AssertionError as exc:
        return str(exc)[:600]
    return None


def _summary(value: Any) -> str:
    shape = getattr(value, "shape", None)
    if shape is not None:
        return f"{type(value).__name__} of shape {tuple(shape)}, dtype {_dtype_name(value.dtype)}"
    return f"{type(value).__name__} {str(value)[:60]}"


def _describe(call: Call) -> str:
    def one(v):
        if isinstance(v, A):
            return f"{v.array.dtype}{list(v.array.shape)}"
        if isinstance(v, D):
            return v.name
        if isinstance(v, (list, tuple)) and not hasattr(v, "_fields"):
            inner = ", ".join(map(one, v))
            return f"[{inner}]" if isinstance(v, list) else f"({inner})"
        return repr(v)
    parts = [one(a) for a in call.args] + [f"{k}={one(v)}" for k, v in call.kwargs.items()]
    return ", ".join(parts)


# ---------------------------------------------------------------------------- the functions


def _function_params():
    for surface in ("mg", "F", "linalg"):
        for name in sorted(TABLES[surface]):
            yield pytest.param(surface, name, id=f"{surface}.{name}")


def with_none_input(calls: list) -> list:
    """``calls`` and, for the first call whose first argument is a tensor, the same call with
    None there (PyTorch's TypeError)."""
    first = next((c for c in calls if c.args and isinstance(c.args[0], A) and not c.known), None)
    return calls if first is None else calls + [first._replace(args=(None,) + first.args[1:])]


@needs_torch
@pytest.mark.parametrize("surface,name", list(_function_params()))
def test_function_matches_torch(surface, name):
    ours, theirs = getattr(OURS[surface], name), torch_counterpart(surface, name)
    run_calls(ours, theirs, with_none_input(TABLES[surface][name]), f"{surface}.{name}")


def run_calls(ours: Callable, theirs: Callable, calls: list, label: str) -> None:
    problems = []
    for call in calls:
        if call.known:
            continue
        where = f"{label}({_describe(call)})"
        problem = compare_call(ours, theirs, call, where)
        if problem:
            problems.append(problem)
    assert not problems, f"{len(problems)} of {len(calls)} calls differ:\n" + "\n".join(problems)


# ---------------------------------------------------------------------------- Tensor methods


def _method(name: str) -> Callable:
    return lambda self, *args, **kwargs: getattr(self, name)(*args, **kwargs)


@needs_torch
@pytest.mark.parametrize("name", sorted(TENSOR))
def test_method_matches_torch(name):
    calls = [c for c in TENSOR[name] if c.args and isinstance(c.args[0], A)]
    run_calls(_method(name), _method(name), calls, f"Tensor.{name}")


# ---------------------------------------------------------------------------- layers


def _same_parameters(ours: Any, theirs: Any) -> None:
    """PyTorch's initial parameters and buffers into minigan's layer (by name)."""
    state = {k: mg.tensor(v.detach().numpy().copy()) for k, v in theirs.state_dict().items()
             if v.dtype.is_floating_point or v.dtype == torch.int64}
    ours_keys = set(ours.state_dict())
    state = {k: v for k, v in state.items() if k in ours_keys}
    ours.load_state_dict(state, strict=False)


def compare_layer(name: str, layer: Layer, where: str) -> str | None:
    ours_cls, theirs_cls = getattr(mnn, name), torch_counterpart("nn", name)
    build = Call(layer.args, layer.kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        problem = compare_call(ours_cls, theirs_cls, build, where + " constructor")
    if problem or layer.inputs is None:
        return problem
    try:
        theirs = theirs_cls(*_convert(layer.args, "torch"), **_convert(layer.kwargs, "torch"))
    except Exception:  # noqa: BLE001 - both refused the constructor: nothing to run
        return None
    ours = ours_cls(*_convert(layer.args, "mg"), **_convert(layer.kwargs, "mg"))
    if any(isinstance(a, A) and a.array.dtype == np.float64 for a in layer.inputs):
        theirs, ours = theirs.double(), ours.double()
    _same_parameters(ours, theirs)
    params = dict(ours.named_parameters())
    tparams = dict(theirs.named_parameters())
    if set(params) != set(tparams):
        return f"{where}: parameters {sorted(params)} != PyTorch's {sorted(tparams)}"

    def run(module, named):
        def call(*inputs):
            out = module(*inputs)
            return out, [named[k] for k in sorted(named)]
        return call
    problem = compare_call(run(ours, params), run(theirs, tparams), Call(layer.inputs, {}), where)
    if problem:
        return problem
    # the parameters' gradients: one more projection through the parameters
    mg_in, t_in = _convert(layer.inputs, "mg"), _convert(layer.inputs, "torch")
    try:
        y, ty = ours(*mg_in), theirs(*t_in)
    except Exception:  # noqa: BLE001 - both raised (checked above)
        return None
    try:
        _compare_grads([params[k] for k in sorted(params)], [tparams[k] for k in sorted(tparams)],
                       y, ty, where + " parameters")
    except AssertionError as exc:
        return str(exc)[:600]
    return None


#: layers whose int64 input PyTorch computes on (integer pooling; a loss of an int input and
#: a float target) and minigan refuses: in-graph integer math is outside minigan's scope
INTEGER_INPUTS = {"AvgPool2d", "L1Loss", "MSELoss", "SmoothL1Loss", "HuberLoss"}


def _bad_inputs(name: str, layer: Layer) -> list[Layer]:
    """The layer's call with its first input replaced by None, and by an int64 tensor."""
    if not layer.inputs or not isinstance(layer.inputs[0], A) \
            or layer.inputs[0].array.dtype.kind != "f":
        return []
    first, rest = layer.inputs[0], layer.inputs[1:]
    as_int = A(np.round(first.array).astype(np.int64))
    known = "minigan refuses integer inputs here (INTEGER_INPUTS)" if name in INTEGER_INPUTS \
        else layer.known
    return [layer._replace(inputs=(None,) + rest),
            layer._replace(inputs=(as_int,) + rest, known=known)]


@needs_torch
@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layer_matches_torch(name):
    problems = []
    for layer in LAYERS[name] + [bad for case in LAYERS[name] for bad in _bad_inputs(name, case)]:
        if layer.known:
            continue
        where = f"nn.{name}({_describe(Call(layer.args, layer.kwargs))})"
        if layer.inputs is not None:
            where += f" on {_describe(Call(layer.inputs, {}))}"
        problem = compare_layer(name, layer, where)
        if problem:
            problems.append(problem)
    assert not problems, f"{len(problems)} of {len(LAYERS[name])} differ:\n" + "\n".join(problems)


def counts() -> dict[str, int]:
    """The numbers for a report: callables enumerated, compared, minigan-only, calls."""
    found = surfaces()
    enumerated = sum(len(v) for v in found.values())
    only = sum(len(MINIGAN_ONLY.get(s, {})) for s in found)
    uncompared = sum(len(UNCOMPARED.get(s, {})) for s in found)
    compared = sum(len(TABLES[s]) for s in found)
    calls = sum(len(c) for s in found for c in TABLES[s].values())
    known = sum(1 for s in found for cs in TABLES[s].values() for c in cs if c.known)
    return {"enumerated": enumerated, "compared": compared, "minigan_only": only,
            "mapped_not_compared": uncompared, "calls": calls, "known_differences": known}


# ---------------------------------------------------------------------------- hypothesis-drawn calls

_DTYPES = [np.float32, np.float64, np.int64, np.bool_]
#: ops where bool operands are left alone: minigan refuses a bool tensor in remainder, fmod
#: and floor_divide, which PyTorch promotes to int64 with an int, and in median, which
#: PyTorch refuses too except for an empty bool tensor (minigan is stricter there)
BOOL_DIFFERENCES = {"remainder", "fmod", "floor_divide", "median"}


def _is_bool(value: Any) -> bool:
    return isinstance(value, bool) or (isinstance(value, A) and value.array.dtype.kind == "b")


@st.composite
def _tensor_args(draw, shape=None) -> A:
    """A tensor argument: any of minigan's dtypes, 0-d to 3-d, sides 0 to 3, values with
    NaN and Inf now and then."""
    if shape is None:
        shape = tuple(draw(st.lists(st.integers(0, 3), max_size=3)))
    dtype = np.dtype(draw(st.sampled_from(_DTYPES)))
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 16)))
    values = rng.uniform(-3, 3, shape)
    if dtype.kind == "f" and values.size and draw(st.booleans()):
        values.flat[0] = draw(st.sampled_from([np.nan, np.inf, -np.inf, 0.0]))
    if dtype.kind == "i":
        values = np.round(values)
    elif dtype.kind == "b":
        values = values > 0
    return A(values.astype(dtype), dtype.kind == "f" and draw(st.booleans()))


@st.composite
def _other(draw, first: A) -> Any:
    """A second operand: a tensor of a broadcastable (or, now and then, a clashing) shape, or
    a Python number."""
    kind = draw(st.sampled_from(["same", "suffix", "ones", "any", "number"]))
    shape = first.array.shape
    if kind == "number":
        return draw(st.sampled_from([2, -1, 0.5, True]))
    if kind == "suffix":
        shape = shape[draw(st.integers(0, len(shape))):]
    elif kind == "ones":
        shape = tuple(1 if draw(st.booleans()) else n for n in shape)
    elif kind == "any":
        shape = None
    other = draw(_tensor_args(shape))
    if other.array.dtype.kind == "f" and first.array.dtype.kind == "f":  # one float dtype
        other = A(other.array.astype(first.array.dtype), other.grad)
    return other


def _fuzz_params():
    for name in UNARY_NAMES:
        yield pytest.param("unary", name, id=f"unary.{name}")
    for name in BINARY_NAMES + COMPARISONS:
        yield pytest.param("binary", name, id=f"binary.{name}")
    for name in REDUCTIONS:
        yield pytest.param("reduction", name, id=f"reduction.{name}")
    for name in sorted(set(ACTIVATIONS) - {"glu", "prelu"}) + ["softmax", "log_softmax"]:
        yield pytest.param("activation", name, id=f"F.{name}")
    for name in ("add", "mul", "sub", "div", "pow", "eq", "lt", "maximum"):
        yield pytest.param("method", name, id=f"Tensor.{name}")


@needs_torch
@pytest.mark.slow
@pytest.mark.parametrize("family,name", list(_fuzz_params()))
@settings(max_examples=30)
@given(data=st.data())
def test_drawn_calls_match_torch(family, name, data):
    """Hypothesis draws the calls of a family (derandomized, conftest.py): every dtype,
    0-d and empty shapes, NaN and Inf, broadcasting and clashing shapes, numbers, dims in
    and out of range, tuples of dims, keepdim."""
    x = data.draw(_tensor_args())
    ours, theirs, label = getattr(mg, name, None), getattr(torch, name, None), f"mg.{name}"
    if family == "activation":
        ours, theirs, label = getattr(F, name), getattr(torch.nn.functional, name), f"F.{name}"
    elif family == "method":
        ours = theirs = _method(name)
        label = f"Tensor.{name}"
    if family == "unary":
        call = Call((x,), {})
    elif family == "activation":
        dim = data.draw(st.integers(-x.array.ndim - 1, x.array.ndim))
        call = Call((x,), {"dim": dim} if name.endswith("softmax") else {})
    elif family in ("binary", "method"):
        call = Call((x, data.draw(_other(x))), {})
    else:
        one = st.integers(-x.array.ndim - 1, x.array.ndim)  # in range and just out of it
        several = st.lists(one, min_size=1, max_size=2, unique=True).map(tuple)  # (a repeated
        dims = data.draw(st.one_of(st.none(), one, several))  # dim: the tables have one)
        kwargs = {} if dims is None else {"dim": dims, "keepdim": data.draw(st.booleans())}
        call = Call((x,), kwargs)
    if name in BOOL_DIFFERENCES and any(_is_bool(a) for a in call.args):
        return  # a known difference with bool operands (BOOL_DIFFERENCES says which)
    if name in ("softmax", "log_softmax") and x.array.size == 0 and x.array.dtype.kind != "f":
        return  # PyTorch returns an empty integer tensor, refuses any other: minigan refuses
    if name in ("var", "std") and x.array.size <= 1:
        return  # one value, correction 1: NaN, and the gradient of 0/0 is NaN here, inf there
    # gradients at NaN and Inf inputs follow each kernel's own conventions (0 or NaN where
    # PyTorch passes the gradient through, NaN where it gives -inf): the forward is compared
    # there, the gradients on finite inputs (the tables pin the NaN rules of abs, max, median,
    # maximum and minimum)
    finite = all(np.isfinite(a.array).all() for a in call.args if isinstance(a, A)
                 and a.array.dtype.kind == "f")
    problem = compare_call(ours, theirs, call, f"{label}({_describe(call)})", grads=finite)
    assert problem is None, problem
