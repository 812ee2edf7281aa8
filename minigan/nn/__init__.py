"""Layers: ``import minigan.nn as nn``. PyTorch's names, arguments and weight layouts."""
from . import init  # noqa: F401
from .container import ModuleDict, ModuleList, Sequential  # noqa: F401
from .module import Module, Parameter  # noqa: F401
from .attention import MultiheadAttention  # noqa: F401
from .transformer import TransformerEncoderLayer  # noqa: F401
