"""Checks of training settings. Each setting is also a command-line option, so the messages
name it as one (``"--batch-size: must be >= 1, got 0"``), in the library as on the command line."""
from __future__ import annotations

import math
import numbers
from typing import Any

from ..errors import ArgumentError


def option_name(field: str) -> str:
    """``batch_size`` -> ``--batch-size``."""
    return "--" + field.replace("_", "-")


def check_int(field: str, value: Any, minimum: int | None = None) -> int:
    """An int setting (not a bool or a float), at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ArgumentError(f"{option_name(field)}: must be a whole number, got {value!r}")
    if minimum is not None and value < minimum:
        raise ArgumentError(f"{option_name(field)}: must be >= {minimum}, got {value}")
    return int(value)


def check_float(field: str, value: Any, low: float | None = None, high: float | None = None,
                low_open: bool = False, high_open: bool = False) -> float:
    """A finite number setting in the interval given (open or closed at each end)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ArgumentError(f"{option_name(field)}: must be a finite number, got {value!r}")
    value = float(value)
    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and (value >= high if high_open else value > high)
    if too_low or too_high:
        left = "" if low is None else ("(" if low_open else "[") + f"{low:g}"
        right = "" if high is None else f"{high:g}" + (")" if high_open else "]")
        where = (f"in {left}, {right}" if low is not None and high is not None else
                 f"{'>' if low_open else '>='} {low:g}" if low is not None else
                 f"{'<' if high_open else '<='} {high:g}")
        raise ArgumentError(f"{option_name(field)}: must be {where}, got {value:g}")
    return value


def check_choice(field: str, value: Any, allowed: tuple) -> Any:
    if value not in allowed:
        raise ArgumentError(f"{option_name(field)}: must be one of "
                            f"{', '.join(repr(a) for a in allowed)}; got {value!r}")
    return value
