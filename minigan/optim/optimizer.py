"""The ``Optimizer`` base class: parameter groups, per-parameter state, zero_grad and
state_dict / load_state_dict (PyTorch's layout, so users find what they expect).

Updates run under ``no_grad`` directly on the parameters' arrays, in place, with the state
preallocated on the parameter's device: an update records no graph and allocates nothing
after the first step. ``self.state[p]`` holds NumPy/CuPy arrays (and a Python int ``step``).
"""
from __future__ import annotations

from typing import Any, Callable, Iterable

import numpy as np

from .. import backend
from ..autograd import Tensor, enable_grad, no_grad


class Optimizer:
    """Base class. Subclasses define ``defaults`` and ``_update(p, grad, state, group)``."""

    def __init__(self, params: Iterable[Any], defaults: dict) -> None:
        self.defaults = dict(defaults)
        self.state: dict[Tensor, dict] = {}
        self.param_groups: list[dict] = []
        self._scratch: dict[int, list] = {}
        groups = list(params)
        if len(groups) == 0:
            raise ValueError(f"{type(self).__name__} got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, group: dict) -> None:
        """Add a dict with ``"params"`` and any hyper-parameters that differ from the defaults."""
        if not isinstance(group, dict):
            raise TypeError(f"param group must be a dict, got {type(group).__name__}")
        group = dict(group)
        params = group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        params = [p[1] if isinstance(p, tuple) else p for p in params]  # named_parameters()
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"{type(self).__name__} can only optimize Tensors, got {type(p).__name__}")
            if not p.is_leaf:
                raise ValueError(f"{type(self).__name__}: can't optimize a non-leaf Tensor of shape {p.shape}")
        group["params"] = params
        for name, default in self.defaults.items():
            group.setdefault(name, default)
        self._check_group(group)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if len({id(p) for p in params}) != len(params) or any(id(p) in seen for p in params):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(group)

    def _check_group(self, group: dict) -> None:
        """Validate hyper-parameters (subclasses raise ValueError like PyTorch)."""

    # -- gradients ----------------------------------------------------------------------
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear every parameter's gradient (to None by default, else zero it in place)."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    p.grad = Tensor._wrap(p.grad.data)
                    p.grad.data.fill(0)

    # -- the update ---------------------------------------------------------------------
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One update of every parameter that has a gradient. ``closure`` (optional)
        re-evaluates the model and returns the loss, which ``step`` returns."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        with no_grad():
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    grad = p.grad.data
                    if grad.shape != p.data.shape or backend.device_of(grad) != backend.device_of(p.data):
                        raise RuntimeError(f"{type(self).__name__}: gradient {grad.shape} on "
                                           f"{backend.device_of(grad)} does not match parameter "
                                           f"{p.shape} on {p.device}")
                    state = self.state.get(p)
                    if state is None:
                        state = self.state[p] = {}
                    else:
                        _follow_parameter(state, p.data)
                    self._update(p.data, grad, state, group)
        return loss

    def _update(self, param, grad, state: dict, group: dict) -> None:  # pragma: no cover
        raise NotImplementedError

    def _buffers(self, param, count: int) -> list:
        """``count`` scratch arrays like ``param`` (reused across steps, never saved)."""
        bufs = self._scratch.get(id(param))
        if bufs is None or len(bufs) < count or bufs[0].shape != param.shape \
                or bufs[0].dtype != param.dtype \
                or backend.device_of(bufs[0]) != backend.device_of(param):
            xp = backend.get_array_module(param)
            bufs = [xp.empty_like(param) for _ in range(count)]
            self._scratch[id(param)] = bufs
        return bufs

    @staticmethod
    def _effective_grad(param, grad, weight_decay: float, maximize: bool, out):
        """grad (negated when maximizing) + weight_decay * param: the gradient PyTorch uses
        for L2 weight decay. Returns ``grad`` itself when there is nothing to add."""
        if weight_decay == 0 and not maximize:
            return grad
        xp = backend.get_array_module(param)
        if weight_decay != 0:
            xp.multiply(param, weight_decay, out=out)
            if maximize:
                xp.subtract(out, grad, out=out)
            else:
                xp.add(out, grad, out=out)
        else:
            xp.negative(grad, out=out)
        return out

    # -- checkpoints --------------------------------------------------------------------
    def state_dict(self) -> dict:
        """``{"state": {index: {name: array | int}}, "param_groups": [{..., "params": [index]}]}``.

        Parameters are numbered in group order, as in PyTorch. The arrays are copies (a
        snapshot), so the dict can be kept or saved with ``mg.save`` while training goes on.
        """
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            ids = []
            for p in group["params"]:
                index.setdefault(id(p), len(index))
                ids.append(index[id(p)])
            packed = {k: v for k, v in group.items() if k != "params"}
            packed["params"] = ids
            groups.append(packed)
        state = {}
        for group in self.param_groups:
            for p in group["params"]:
                if p in self.state:
                    state[index[id(p)]] = {k: (v.copy() if hasattr(v, "shape") else v)
                                           for k, v in self.state[p].items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore what ``state_dict`` gave (possibly through ``mg.save``/``mg.load``).

        The optimizer must have been built over the same parameters in the same order.
        State arrays are copied onto each parameter's device and floating ones cast to its dtype.
        """
        groups = state_dict["param_groups"]
        if len(groups) != len(self.param_groups):
            raise ValueError(f"loaded state dict has {len(groups)} parameter groups, the "
                             f"optimizer has {len(self.param_groups)}")
        for i, (saved, mine) in enumerate(zip(groups, self.param_groups)):
            if len(saved["params"]) != len(mine["params"]):
                raise ValueError(f"loaded state dict has {len(saved['params'])} parameters in "
                                 f"group {i}, the optimizer has {len(mine['params'])}")
        id_to_param = {}
        for saved, mine in zip(groups, self.param_groups):
            id_to_param.update(zip(saved["params"], mine["params"]))
        new_state: dict[Tensor, dict] = {}
        for key, values in state_dict["state"].items():
            key = int(key)
            if key not in id_to_param:
                raise ValueError(f"loaded state dict has state for parameter {key}, which no "
                                 f"parameter group lists")
            p = id_to_param[key]
            entry = {}
            for name, value in values.items():
                if isinstance(value, Tensor):
                    value = value.data
                # an array of the parameter's shape (a 0-d parameter has 0-d float state too)
                if hasattr(value, "shape") and (value.ndim > 0 or
                                                (p.ndim == 0 and value.dtype.kind == "f")):
                    if tuple(value.shape) != p.shape:
                        raise ValueError(f"loaded state {name!r} of parameter {key} has shape "
                                         f"{tuple(value.shape)}, the parameter has {p.shape}")
                    value = backend.to_device(value, p.device)
                    xp = backend.get_array_module(p.data)
                    value = xp.array(value, dtype=p.dtype if value.dtype.kind == "f" else value.dtype)
                elif hasattr(value, "shape"):  # a 0-d array, e.g. a step count
                    value = value.item()
                entry[name] = value
            new_state[p] = entry
        for saved, mine in zip(groups, self.param_groups):
            for k, v in saved.items():
                if k != "params":
                    mine[k] = tuple(v) if isinstance(v, list) else v
        self.state = new_state

    def __repr__(self) -> str:
        lines = [type(self).__name__ + " ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(group):
                if key != "params":
                    lines.append(f"    {key}: {group[key]}")
        lines.append(")")
        return "\n".join(lines)


def _follow_parameter(state: dict, param) -> None:
    """After ``model.to(device / dtype)`` the state moves along (PyTorch leaves it behind)."""
    for name, value in state.items():
        if hasattr(value, "dtype") and (value.dtype != param.dtype
                                        or backend.device_of(value) != backend.device_of(param)):
            value = backend.to_device(value, backend.device_of(param))
            state[name] = value.astype(param.dtype, copy=False)


def check_nonnegative(name: str, value: float) -> None:
    if not 0.0 <= value:
        raise ValueError(f"Invalid {name} value: {value}")


def as_float(value: Any) -> float:
    return float(value.item() if isinstance(value, (Tensor, np.ndarray)) else value)
