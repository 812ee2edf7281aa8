"""Anomaly detection (minigan/anomaly.py): a planted NaN in a forward and an Inf in a
backward are caught, naming the op, the shapes and the user's file:line; nothing is
watched when it is off."""
from __future__ import annotations

import inspect
import sys

import pytest

import minigan as mg
from minigan.autograd import Function, _observers

HERE = __file__


def line_of(marker: str) -> int:
    """The line number in this file of the (unique) line holding ``marker``."""
    lines = inspect.getsource(sys.modules[__name__]).splitlines()
    (number,) = [i + 1 for i, line in enumerate(lines) if marker in line and "line_of" not in line]
    return number


class InfGrad(Function):
    """y = 2 x, whose backward (plain array code, no ops) makes Inf where x == 0."""

    def forward(self, x):
        return 2 * x

    def backward(self, gy):
        x, = self.inputs
        return mg.Tensor(gy.data * 2.0 / x.data)


def model(x):
    return InfGrad()(x * 3.0)  # anomaly-marker: custom


def backward_error(make_loss) -> str:
    """The AnomalyError message of ``make_loss().backward()`` under anomaly detection."""
    with mg.detect_anomaly():
        loss = make_loss()
        with pytest.warns(RuntimeWarning), pytest.raises(mg.AnomalyError) as info:
            loss.backward()
    assert not _observers
    return str(info.value)


def test_forward_nan_names_the_op_and_the_line(device):
    x = mg.tensor([-1.0, 2.0, 3.0], requires_grad=True, device=device)
    with pytest.warns(RuntimeWarning), pytest.raises(mg.AnomalyError) as info:
        with mg.detect_anomaly():
            y = x * 2.0
            z = mg.log(y)  # anomaly-marker: log
    message = str(info.value)
    assert message.startswith("log: forward made 1 NaN of 3 values in output 0 "
                              "(outputs (3,) float32); input (3,) float32 was finite")
    assert f'File "{HERE}", line {line_of("anomaly-marker: log")}' in message
    assert "z = mg.log(y)" in message
    assert isinstance(info.value, RuntimeError) and isinstance(info.value, mg.MiniganError)
    assert not _observers


def test_backward_of_sqrt_at_zero_points_at_the_forward_line():
    x = mg.tensor([0.0, 4.0], requires_grad=True)
    message = backward_error(lambda: (mg.sqrt(x) * 1.0).sum())  # anomaly-marker: sqrt
    # sqrt's backward divides by 2 sqrt(x): the Inf is made by a div that it calls
    assert message.startswith("sqrt: backward made 1 Inf of 2 values in output 0 ((2,) float32) "
                              "of the div it calls; div inputs (2,) float32, (2,) float32 were "
                              "finite")
    assert "The forward call that made this op" in message
    assert f'line {line_of("anomaly-marker: sqrt")}, in <lambda>' in message


def test_backward_of_a_custom_function_making_inf():
    x = mg.tensor([0.0, 1.0, 2.0], requires_grad=True)
    message = backward_error(lambda: model(x).sum())
    # the gradient it returned is checked (it made it without ops)
    assert message.startswith("infgrad: backward made 1 Inf of 3 values in the gradient of "
                              "input 0 ((3,) float32; the op's outputs: (3,) float32); "
                              "incoming gradient (3,) float32 was finite")
    # the user's frames, innermost last: the test, then the helper that made the op
    assert message.index("in test_backward_of_a_custom_function") < message.index("in model")
    assert f'line {line_of("anomaly-marker: custom")}, in model' in message


@pytest.mark.filterwarnings("ignore:invalid value encountered in log")
def test_set_detect_anomaly_and_nesting():
    assert not mg.is_anomaly_enabled() and not _observers
    mg.set_detect_anomaly(True)
    try:
        assert mg.is_anomaly_enabled() and len(_observers) == 1
        with mg.set_detect_anomaly(False):
            assert not mg.is_anomaly_enabled() and not _observers
            mg.log(mg.tensor([-1.0]))  # off: no error (NumPy warns)
        assert mg.is_anomaly_enabled()
        with mg.detect_anomaly(check_nan=False):
            mg.log(mg.tensor([-1.0]))  # tracebacks only
        with pytest.raises(mg.AnomalyError):
            mg.log(mg.tensor([-1.0]))
    finally:
        mg.set_detect_anomaly(False)
    assert not mg.is_anomaly_enabled() and not _observers


def test_decorator_and_values_made_outside():
    @mg.detect_anomaly()
    def step(x):
        return x * 2.0

    bad = mg.tensor([float("nan"), 1.0])
    with pytest.raises(mg.AnomalyError, match=r"input 0 \(\(2,\) float32\) already held 1 NaN"):
        step(bad)
    assert not _observers


def test_off_means_no_observer_and_no_checks(recwarn):
    x = mg.tensor([-1.0], requires_grad=True)
    y = mg.log(x)
    assert not _observers  # the engine's hooks see an empty list: nothing runs
    assert y.data[0] != y.data[0]  # NaN made, and no error raised
