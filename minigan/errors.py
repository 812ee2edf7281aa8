"""minigan's own errors: one small hierarchy, so that ``except mg.MiniganError`` catches every
error minigan raises on purpose, and PyTorch-style code keeps working.

Each class also derives from the built-in exception that PyTorch raises for the same mistake
(and from the one minigan raised before, so existing ``except ValueError`` code still works):

=================  =====================================  ========================================
class              derives from                           raised for
=================  =====================================  ========================================
ShapeError         ValueError, RuntimeError               shapes or sizes that do not fit (matmul,
                                                          reshape, conv, broadcasting, a loss's
                                                          target): PyTorch raises RuntimeError
ArgumentError      ValueError, RuntimeError               a bad value of an argument or option
                                                          (a negative size, an unknown mode)
DTypeError         TypeError, RuntimeError                a dtype or a kind of argument an op does
                                                          not take (an int tensor that should be
                                                          float, a string where a tensor goes):
                                                          PyTorch raises TypeError for the kind of
                                                          argument, RuntimeError for a dtype a
                                                          kernel does not implement
DimError           IndexError, RuntimeError               a dim / axis out of range, or an index
                                                          out of bounds (PyTorch raises IndexError
                                                          for a dim, RuntimeError for an index
                                                          value in gather / scatter / one_hot)
DeviceError        RuntimeError                           a device that cannot be used here, or
                                                          inputs on different devices
GraphError         RuntimeError                           the graph cannot do what was asked: a
                                                          second backward through freed values,
                                                          a value written in place that a backward
                                                          needs, a leaf that requires grad written
                                                          in place, a grad of a tensor that does
                                                          not require grad
OutOfMemoryError   MemoryError, RuntimeError              a tensor too large to allocate (the
                                                          message names the op, shape, dtype and
                                                          bytes): PyTorch raises RuntimeError
CheckpointError    ValueError                             a file that is not a usable minigan
                                                          checkpoint (missing, corrupt, another
                                                          model's)
GradcheckError     AssertionError                         an analytic gradient that disagrees with
                                                          finite differences
AnomalyError       RuntimeError                           an op whose forward or backward made NaN
                                                          or Inf under ``mg.detect_anomaly()``
MissingToolError   FileNotFoundError                      an outside program minigan needs for a
                                                          task (Graphviz's ``dot``) is not on PATH
=================  =====================================  ========================================

Messages start with the op or option that refused the input (``"matmul: ..."``,
``"--steps: ..."``) and name the shapes, dtypes, devices or path involved.
"""
from __future__ import annotations


class MiniganError(Exception):
    """The base of every error minigan raises on purpose."""


class ShapeError(MiniganError, ValueError, RuntimeError):
    """Shapes or sizes that do not fit together (PyTorch raises RuntimeError for these)."""


class ArgumentError(MiniganError, ValueError, RuntimeError):
    """A bad value of an argument or option."""


class DTypeError(MiniganError, TypeError, RuntimeError):
    """A dtype, or a kind of argument, that the op does not take."""


class DimError(MiniganError, IndexError, RuntimeError):
    """A dim (axis) out of range, or an index out of bounds."""


class OutOfMemoryError(MiniganError, MemoryError, RuntimeError):
    """A tensor larger than the memory there is (PyTorch: RuntimeError on the CPU, its
    OutOfMemoryError, a RuntimeError, on a GPU)."""


class DeviceError(MiniganError, RuntimeError):
    """A device was asked for that cannot be used here, or devices were mixed."""


class GraphError(MiniganError, RuntimeError):
    """The autograd graph cannot do what was asked (PyTorch raises RuntimeError for these)."""


class CheckpointError(MiniganError, ValueError):
    """A file that is not a usable minigan checkpoint (the message names the file and why)."""


class GradcheckError(MiniganError, AssertionError):
    """The analytic gradient disagrees with the numeric one; the message says where."""


# -- the study tools (minigan/anomaly.py, minigan/viz.py)


class AnomalyError(MiniganError, RuntimeError):
    """An op made NaN or Inf while anomaly detection was on; the message names the op, the
    shapes, and the user's line that made it (PyTorch raises RuntimeError here)."""


class MissingToolError(MiniganError, FileNotFoundError):
    """An outside program is missing; the message says which, how to install it, and what
    was done without it."""


__all__ = ["MiniganError", "ShapeError", "ArgumentError", "DTypeError", "DimError",
           "OutOfMemoryError", "DeviceError",
           "GraphError", "CheckpointError", "GradcheckError", "AnomalyError", "MissingToolError"]
