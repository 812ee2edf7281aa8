"""Layers: ``import minigan.nn as nn``. PyTorch's names, arguments and weight layouts, so a
state_dict maps one to one onto the equivalent PyTorch model."""
from . import init  # noqa: F401
from .activation import GELU, LeakyReLU, ReLU, Sigmoid, Softmax, Tanh  # noqa: F401
from .activation import (CELU, ELU, GLU, SELU, Hardsigmoid, Hardswish, Hardtanh, LogSigmoid,  # noqa: F401
                         Mish, PReLU, ReLU6, SiLU, Softplus, Softsign)
from .loss import (BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, HuberLoss, KLDivLoss,  # noqa: F401
                   L1Loss, MSELoss, NLLLoss, SmoothL1Loss)
from .container import ModuleDict, ModuleList, Sequential  # noqa: F401
from .conv import Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d  # noqa: F401
from .dropout import Dropout  # noqa: F401
from .embedding import Embedding  # noqa: F401
from .flatten import Flatten, Unflatten  # noqa: F401
from .linear import Identity, Linear  # noqa: F401
from .module import Module, Parameter  # noqa: F401
from .norm import BatchNorm1d, BatchNorm2d, LayerNorm  # noqa: F401
from .attention import MultiheadAttention  # noqa: F401
from .transformer import TransformerEncoderLayer  # noqa: F401
from .pool import AdaptiveAvgPool2d, AdaptiveMaxPool2d, AvgPool2d, MaxPool2d  # noqa: F401
from .upsample import Upsample, UpsamplingBilinear2d, UpsamplingNearest2d  # noqa: F401
