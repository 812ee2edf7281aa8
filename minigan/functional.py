"""The user-facing functions: ``import minigan.functional as F``.

Each name is a kernel from ``minigan.ops``; PyTorch's argument names and semantics."""
from __future__ import annotations

from .ops.activation import relu, leaky_relu, tanh, sigmoid, gelu  # noqa: F401
from .ops.attention import softmax, log_softmax, scaled_dot_product_attention  # noqa: F401
from .ops.conv import conv2d, conv_transpose2d  # noqa: F401
from .ops.norm import batch_norm, layer_norm  # noqa: F401
from .ops.dropout import dropout  # noqa: F401
from .ops.embedding import embedding  # noqa: F401
from .ops.linear import linear  # noqa: F401
from .ops.loss import binary_cross_entropy_with_logits, binary_cross_entropy, cross_entropy, mse_loss  # noqa: F401
from .ops.shape import flatten, pad  # noqa: F401

# pooling, resampling, padding modes, conv1d, one_hot (the opsa block)
from .ops.conv import conv1d, conv_transpose1d  # noqa: F401,E402
from .ops.index import one_hot  # noqa: F401,E402
from .ops.padding import pad  # noqa: F401,E402,F811
from .ops.pool import adaptive_avg_pool2d, adaptive_max_pool2d, avg_pool2d, max_pool2d  # noqa: F401,E402
from .ops.resample import interpolate  # noqa: F401,E402
# the activation family beyond relu/leaky_relu/tanh/sigmoid/gelu (ops/smooth.py, ops/piecewise.py)
from .ops.smooth import celu, elu, glu, logsigmoid, mish, selu, silu, softplus, softsign  # noqa: F401,E402
from .ops.piecewise import hardsigmoid, hardswish, hardtanh, prelu, relu6  # noqa: F401,E402
# losses: nll (ops/loss.py, sharing cross_entropy's target handling), l1, smooth_l1, huber, kl_div
from .ops.loss import nll_loss  # noqa: F401,E402
from .ops.pointwise_loss import huber_loss, kl_div, l1_loss, smooth_l1_loss  # noqa: F401,E402
