"""Layers: ``import minigan.nn as nn`` (being written)."""
from .attention import MultiheadAttention  # noqa: F401
from .transformer import TransformerEncoderLayer  # noqa: F401
