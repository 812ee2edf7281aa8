"""Reference kernels: the ops the engine is built around, written the slow obvious way.

conv2d and conv_transpose2d are loops over output positions and kernel offsets; batch
norm, layer norm, softmax, attention and leaky ReLU are their textbook formulas. Each is a
:class:`~minigan.autograd.Function` with its forward and backward side by side and the math
in its docstring, and each takes the same arguments as the fast function of the same name
in ``minigan.functional`` (``minigan/ops/``), so they plug into any model:

    import minigan as mg
    with mg.use_reference_kernels():   # F.conv2d, F.batch_norm, ... now run these
        loss = model(x)

(or ``MINIGAN_REFERENCE_KERNELS=1`` in the environment, see ``switch.py``). The fast
functions check the arguments before they hand them to a reference kernel; called directly,
these expect valid ones. The tests use them as the oracle of the fast kernels (forward,
backward and double backward agree to float64 round-off: tests/test_reference.py).

    conv.py        conv2d, conv_transpose2d (stride, padding, output_padding, dilation, groups)
    norm.py        batch_norm (train and eval, running statistics), layer_norm
    attention.py   softmax, log_softmax, scaled_dot_product_attention (masks, causal, scale);
                   its ``attention`` core also serves nn.MultiheadAttention
    activation.py  leaky_relu, relu
    switch.py      use_reference_kernels, reference_kernels_enabled
"""
from __future__ import annotations

# The switch first: the fast ops import it while minigan loads, and these kernel modules
# import only ops that load before the fast ones (elementwise, reduce, shape, linalg, dropout).
from .switch import reference_kernels_enabled, use_reference_kernels  # noqa: F401
from .activation import LeakyReLU, leaky_relu, relu  # noqa: F401
from .attention import (Attention, LogSoftmax, Softmax, log_softmax,  # noqa: F401
                        scaled_dot_product_attention, softmax)
from .conv import Conv2d, Conv2dGradWeight, ConvTranspose2d, conv2d, conv_transpose2d  # noqa: F401
from .norm import BatchNorm, LayerNorm, batch_norm, layer_norm  # noqa: F401
