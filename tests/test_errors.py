"""One error hierarchy: every class is a MiniganError and the built-in PyTorch raises."""
from __future__ import annotations

import pytest

import minigan as mg
from minigan import backend, serialization
from minigan.training import CheckpointError as TrainingCheckpointError


@pytest.mark.parametrize("cls, builtins", [
    (mg.ShapeError, (ValueError, RuntimeError)),
    (mg.ArgumentError, (ValueError, RuntimeError)),
    (mg.DTypeError, (TypeError,)),
    (mg.DimError, (IndexError, RuntimeError)),
    (mg.OutOfMemoryError, (MemoryError, RuntimeError)),
    (mg.DeviceError, (RuntimeError,)),
    (mg.CheckpointError, (ValueError,)),
    (mg.GradcheckError, (AssertionError,)),
])
def test_each_error_is_minigans_and_the_builtin(cls, builtins):
    assert issubclass(cls, mg.MiniganError)
    for b in builtins:
        with pytest.raises(b):
            raise cls("op: message")


def test_one_checkpoint_error_class_wherever_it_is_raised():
    assert serialization.CheckpointError is mg.CheckpointError is TrainingCheckpointError
    assert backend.DeviceError is mg.DeviceError


def test_a_missing_checkpoint_is_caught_as_mg_checkpoint_error(tmp_path):
    from minigan.training import load_checkpoint
    with pytest.raises(mg.CheckpointError, match="no such checkpoint"):
        load_checkpoint(tmp_path / "nothing.npz", "dcgan28")


# ---------------------------------------------------------------------------- shared argument checks


def test_dims_that_are_not_ints_name_the_op():
    x = mg.ones(2, 3)
    with pytest.raises(mg.DTypeError, match="sum: dim must be an int, got '0'"):
        x.sum(axis="0")
    with pytest.raises(mg.DTypeError, match="sum: dim must be an int, got 1.5"):
        x.sum(1.5)
    with pytest.raises(mg.DimError, match=r"sum: dim 2 is out of range .* \[-2, 1\]"):
        x.sum(2)
    with pytest.raises(mg.ArgumentError, match="mean: dim .* repeats an axis"):
        x.mean((1, -1))
