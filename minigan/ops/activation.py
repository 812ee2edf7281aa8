"""Activations: relu, leaky_relu, tanh, sigmoid, gelu (exact and tanh-approximated).

Each activation's backward calls a second Function (``LeakyReLUGrad``, ``TanhGrad``, ...)
whose ``forward`` is the fused array code of the first derivative and whose ``backward``
is written with differentiable ops, so first-order backward costs a couple of array passes
and gradients of gradients still work (Chainer's pattern).

Speed notes (NumPy, 2-core CPU): ``where`` and boolean-mask copies branch per element and
ran ~10x slower than arithmetic on random signs, so leaky_relu is ``max(x, slope * x)`` and
its derivative is a comparison written straight into a float array, then scaled.
"""
from __future__ import annotations

import functools
import math

import numpy as np

from .. import backend
from ..autograd import Function, Tensor
from ..reference import activation as reference
from ..reference.switch import reference_kernels_enabled
from . import elementwise as E
from ..errors import ArgumentError
from .args import float_input, float_tensor, tensor_arg


def _scalar_safe(forward):
    """Run ``forward`` on 1-element views of 0-d arrays: NumPy turns 0-d results into
    scalars, which the in-place (``out=``) code below cannot write into."""
    @functools.wraps(forward)
    def wrapped(self, *arrays):
        if arrays[0].ndim:
            return forward(self, *arrays)
        out = forward(self, *(a.reshape(1) for a in arrays))
        return out.reshape(())
    return wrapped


# ============================================================================ relu, leaky_relu


def _leaky_factor(x, slope: float, f):
    """d leaky_relu / dx written into ``f`` (x's dtype): 1 where x > 0, else ``slope``."""
    xp = backend.get_array_module(x)
    xp.greater(x, 0, out=f, casting="unsafe")  # bool written as 0./1. without a mask array
    if slope == 0:
        return f
    s, one_minus_s = f.dtype.type(slope), f.dtype.type(1.0 - slope)
    if one_minus_s + s == 1:
        # m (1 - s) + s: {0, 1} -> {s, 1}, exactly (checked on the scalars above). Two
        # array-scalar passes; maximum(f, s) was one pass but ~3x slower than a multiply
        # (NumPy's maximum has no fast loop for a scalar operand): (64, 32, 16, 16), one
        # thread, the whole factor 0.34 -> 0.17 ms.
        f *= one_minus_s
        f += s
    else:
        f += (xp.subtract(1, f) * slope)        # (1 - m) slope + m: exact for m in {0, 1}
    return f


class LeakyReLU(Function):
    # y = x if x > 0 else slope * x ;  dy/dx = 1 if x > 0 else slope (slope at 0, as PyTorch)
    def __init__(self, negative_slope: float) -> None:
        self.slope = float(negative_slope)

    @_scalar_safe
    def forward(self, x):
        xp = backend.get_array_module(x)
        s = self.slope
        if s < 0:
            return xp.where(x > 0, x, x * s)
        pick = xp.maximum if s <= 1 else xp.minimum

        def kernel(x, y):
            if s == 0:  # relu (not max(x, 0 x): 0 * -inf is nan)
                # max(x, 0) against an array of zeros, not the scalar 0: same values (NaN and
                # -0.0 included), but NumPy's maximum runs ~3x faster on two arrays (one
                # thread, 0.5M floats: 0.35 -> 0.16 ms, the zero fill included)
                y.fill(0)
                xp.maximum(x, y, out=y)
                return
            xp.multiply(x, s, out=y)  # max(x, s x) == leaky_relu(x) for 0 < s <= 1
            pick(x, y, out=y)
        y = xp.empty_like(x)
        backend.split_elementwise(kernel, x, y)
        return y

    def backward(self, gy):
        return LeakyReLUGrad(self.inputs[0].data, self.slope)(gy)


class LeakyReLUGrad(Function):
    """gx = gy * leaky_relu'(x). Linear in gy with a constant factor, so it is its own backward
    (the second derivative w.r.t. x is 0 almost everywhere)."""

    def __init__(self, x, slope: float) -> None:
        self.x, self.slope = x, slope

    @_scalar_safe
    def forward(self, gy):
        x = self.x.reshape(gy.shape)  # a view (0-d: (1,))

        def kernel(x, gy, f):
            _leaky_factor(x, self.slope, f)
            f *= gy
        f = backend.get_array_module(gy).empty_like(x)
        backend.split_elementwise(kernel, x, gy, f)
        return f

    def backward(self, ggx):
        return LeakyReLUGrad(self.x, self.slope)(ggx)


def leaky_relu(x: Tensor, negative_slope: float = 0.01) -> Tensor:
    """max(0, x) + negative_slope * min(0, x), elementwise."""
    float_tensor(x, "leaky_relu")
    if reference_kernels_enabled():  # mg.use_reference_kernels(): reference/activation.py
        return reference.leaky_relu(x, negative_slope)
    return LeakyReLU(negative_slope)(x)


def relu(x: Tensor) -> Tensor:
    """max(0, x), elementwise; its gradient at 0 is 0 (PyTorch's choice)."""
    tensor_arg(x, "relu")
    if reference_kernels_enabled():  # mg.use_reference_kernels(): reference/activation.py
        return reference.relu(x)
    return LeakyReLU(0.0)(x)


# ============================================================================ tanh


class Tanh(Function):
    # dy/dx = 1 - y^2
    @_scalar_safe
    def forward(self, x):
        return backend.get_array_module(x).tanh(x)

    def backward(self, gy):
        return TanhGrad()(self.output(0), gy)


class TanhGrad(Function):
    """gx = gy * (1 - y^2), with inputs (y, gy)."""

    @_scalar_safe
    def forward(self, y, gy):
        g = y * y
        backend.get_array_module(y).subtract(1, g, out=g)
        g *= gy
        return g

    def backward(self, ggx):
        y, gy = self.inputs
        # d/dgy = ggx (1 - y^2) ;  d/dy = -2 y gy ggx
        g_y = E.neg(y * gy * ggx * 2.0) if self.needs_input_grad[0] else None
        g_gy = TanhGrad()(y, ggx) if self.needs_input_grad[1] else None
        return g_y, g_gy


def tanh(x: Tensor) -> Tensor:
    """Hyperbolic tangent, elementwise."""
    return Tanh()(float_input(x, "tanh"))  # ints: the default float dtype, as PyTorch


# ============================================================================ sigmoid


class Sigmoid(Function):
    # y = 1 / (1 + exp(-x)) ;  dy/dx = y (1 - y)
    @_scalar_safe
    def forward(self, x):
        xp = backend.get_array_module(x)
        t = xp.negative(x)
        with np.errstate(over="ignore"):  # exp(-x) -> inf for very negative x gives y = 0
            xp.exp(t, out=t)
        t += 1
        return xp.reciprocal(t, out=t)

    def backward(self, gy):
        return SigmoidGrad()(self.output(0), gy)


class SigmoidGrad(Function):
    """gx = gy * y * (1 - y), with inputs (y, gy)."""

    @_scalar_safe
    def forward(self, y, gy):
        g = 1 - y
        g *= y
        g *= gy
        return g

    def backward(self, ggx):
        y, gy = self.inputs
        # d/dgy = ggx y (1 - y) ;  d/dy = ggx gy (1 - 2 y)
        g_y = ggx * gy * (1.0 - y * 2.0) if self.needs_input_grad[0] else None
        g_gy = SigmoidGrad()(y, ggx) if self.needs_input_grad[1] else None
        return g_y, g_gy


def sigmoid(x: Tensor) -> Tensor:
    """1 / (1 + exp(-x)), elementwise."""
    return Sigmoid()(float_input(x, "sigmoid"))  # ints: the default float dtype, as PyTorch


# ============================================================================ erf
#
# NumPy has no erf (and SciPy is not a dependency). We use two polynomial fits:
#   |x| <= 2.5:      erf(x) = x * f(x^2),           f(t) = erf(sqrt t) / sqrt t   (entire in t)
#   2.5 < |x| <= 6:  erf(x) = 1 - exp(-x^2) h(|x|),  h(x) = erfc(x) exp(x^2)      (smooth, ~1/x)
#   |x| > 6:         erf(x) = +-1 (erfc(6) = 2e-17 is below half an ulp of 1).
# The constants are Chebyshev coefficients of f on t in [0, 6.25] and of h on x in [2.5, 6],
# computed with mpmath at 40 digits (interpolation at 60 Chebyshev points of the first kind;
# the series decay geometrically, the last kept term is ~1e-16). At first use they are cut
# to the dtype's degree (float32 needs ~1e-8), turned into powers of s (the argument mapped
# to [-1, 1]; the power coefficients stay below 0.6, so Horner's rule loses nothing) and
# evaluated in the input's dtype: the first piece on the whole array with clipped arguments,
# the tail piece only where |x| > 2.5 (see _erf), block by block (backend.blockwise).
# Measured against math.erf: float64 max error 4.4e-16 absolute, 5.3e-16 relative;
# float32 ~1.7e-7 (its own resolution).

_ERF_SPLIT, _ERF_ONE = 2.5, 6.0
_ERF_CHEBYSHEV = {
    "small": (0.0, 6.25, (
        0.6541103882821944, -0.33365938984390675, 0.10240346319154739, -0.02893701616378222,
        0.007264493178116702, -0.0016161063652920186, 0.00032045494834957787,
        -5.708351684307685e-05, 9.207767183613353e-06, -1.3549132772555574e-06,
        1.8309714873550954e-07, -2.285859536723501e-08, 2.650404322456014e-09,
        -2.8675513290007157e-10, 2.9071443028501024e-11, -2.7720811729229357e-12,
        2.4945413174055524e-13, -2.124899352327084e-14, 1.7180722136214685e-15,
        -1.3218536088931234e-16)),
    "tail": (2.5, 6.0, (
        0.14016047004976134, -0.05677604943259737, 0.011209463278240392,
        -0.0021611166170954787, 0.00040747765264847823, -7.523771561693374e-05,
        1.3620051895515644e-05, -2.4198114237545286e-06, 4.223228134648387e-07,
        -7.246499552340511e-08, 1.223372886245904e-08, -2.0334473033647613e-09,
        3.329826004203619e-10, -5.374937749488635e-11, 8.556925347830744e-12,
        -1.3442073415954262e-12, 2.084564956391692e-13, -3.192625432717342e-14,
        4.8309695226060365e-15, -7.224932337043964e-16, 1.0683063372619959e-16)),
}


@functools.lru_cache(maxsize=None)
def _erf_polynomial(which: str, dtype_char: str) -> tuple:
    """(power coefficients a_k of s, low, high) for one piece, cut for the dtype; the
    Chebyshev-to-power sums are exact (T_k built in integers, math.fsum)."""
    lo, hi, cheb = _ERF_CHEBYSHEV[which]
    tol = 1e-17 if dtype_char == "d" else 1e-9
    cheb = cheb[:max(k for k, c in enumerate(cheb) if abs(c) > tol) + 1]
    powers = [[1], [0, 1]]  # T_k as integer power coefficients: T_k = 2 s T_k-1 - T_k-2
    for k in range(2, len(cheb)):
        t = [0] + [2 * c for c in powers[k - 1]]
        for i, c in enumerate(powers[k - 2]):
            t[i] -= c
        powers.append(t)
    a = tuple(math.fsum(cheb[k] * powers[k][j] for k in range(j, len(cheb)))
              for j in range(len(cheb)))
    return a, lo, hi


def _horner(x, coefficients: tuple, lo: float, hi: float):
    """sum_k a_k s^k with s = x mapped from [lo, hi] to [-1, 1]."""
    s = x - (lo + hi) / 2.0
    s *= 2.0 / (hi - lo)
    p = s * coefficients[-1]
    for a in coefficients[-2:0:-1]:
        p += a
        p *= s
    p += coefficients[0]
    return p


def erf(x):
    """The error function of an array (NumPy or CuPy), in the array's float dtype."""
    if x.ndim == 0:
        return erf(x.reshape(1)).reshape(())
    return backend.blockwise(_erf, x)


def _erf(x):
    xp = backend.get_array_module(x)
    kind = "d" if x.dtype == np.float64 else "f"
    t = xp.minimum(x * x, _ERF_SPLIT ** 2)
    out = _horner(t, *_erf_polynomial("small", kind))
    out *= xp.clip(x, -_ERF_SPLIT, _ERF_SPLIT)                      # |x| <= 2.5 piece
    # The tail piece is computed only where |x| > 2.5: few elements for activations
    # (0.04% of a standard normal's x / sqrt 2), so one sparse, well-predicted mask pass
    # replaces ~25 full passes. NaN compares False and stays NaN from the piece above.
    far = xp.abs(x) > _ERF_SPLIT
    if far.any():
        xf = x[far]
        tail = _erfc_tail(xp.minimum(xp.abs(xf), _ERF_ONE))
        xp.subtract(1.0, tail, out=tail)
        out[far] = xp.copysign(tail, xf, out=tail)                   # |x| > 2.5 piece
    return out


def _erfc_tail(a):
    """erfc(a) for a > 2.5 (a fresh array): exp(-a^2) h(a) with the polynomial h up to 6,
    and beyond 6 (where erf is +-1 but erfc is not 0: erfc(10) = 2e-45) the continued
    fraction erfc(a) = exp(-a^2) / (sqrt(pi) K), K = a + (1/2) / (a + 1 / (a + (3/2) / ...)),
    16 levels deep (converged to 1e-16 for a >= 6)."""
    xp = backend.get_array_module(a)
    kind = "d" if a.dtype == np.float64 else "f"
    tail = _horner(xp.minimum(a, _ERF_ONE), *_erf_polynomial("tail", kind))
    beyond = a > _ERF_ONE
    if beyond.any():
        ab = a[beyond]
        k = ab.copy()
        for depth in range(16, 0, -1):
            k = ab + (depth / 2.0) / k
        tail[beyond] = 1.0 / (k * math.sqrt(math.pi))
    with np.errstate(under="ignore"):
        tail *= xp.exp(-(a * a))
    return tail


def erfc(x):
    """The complementary error function 1 - erf(x) of an array, accurate in the far right
    tail (computed there as erfc itself, not as 1 - erf). float32 is computed in float64:
    1 - erf(x) keeps ~12 of float64's 16 digits at x = 2.5, but only ~4 of float32's 7."""
    if x.ndim == 0:
        return erfc(x.reshape(1)).reshape(())
    if x.dtype != np.float64:
        return erfc(x.astype(np.float64)).astype(x.dtype)
    return backend.blockwise(_erfc, x)


def _erfc(x):
    out = 1.0 - _erf(x)            # no cancellation for x <= 2.5: erfc(2.5) = 4e-4
    far = x > _ERF_SPLIT
    if far.any():
        out[far] = _erfc_tail(x[far])
    return out


# ============================================================================ gelu
#
# exact:  y = x Phi(x),  Phi(x) = (1 + erf(x / sqrt 2)) / 2,  phi(x) = exp(-x^2/2) / sqrt(2 pi)
#         y' = Phi + x phi ;  y'' = phi (2 - x^2)
# tanh:   y = x (1 + t) / 2,  t = tanh(u),  u = b (x + k x^3),  b = sqrt(2/pi), k = 0.044715
#         y' = (1 + t) / 2 + x (1 - t^2) u' / 2 ;  u' = b (1 + 3 k x^2),  u'' = 6 b k x
#         y'' = (1 - t^2) (u' - x t u'^2 + x u'' / 2)

_SQRT1_2 = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_BETA = math.sqrt(2.0 / math.pi)
_KAPPA = 0.044715


def _check_approximate(approximate: str) -> None:
    if approximate not in ("none", "tanh"):
        raise ArgumentError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


# float32 exact gelu: Phi through Abramowitz & Stegun 7.1.26, the erf approximation PyTorch's
# vectorised CPU kernels use (|error| <= 1.5e-7 in erf, so <= 7.5e-8 in Phi: float32's own
# resolution near 1). With q = Phi(-|x|) = P(t) exp(-x^2/2) / 2, t = 1 / (1 + p |x| / sqrt 2):
#     y = x Phi(x) = relu(x) - |x| q           (x erf(x / sqrt 2) = |x| (1 - 2q): no sign needed)
#     Phi(x) = q + [x >= 0] (1 - 2q)
# ~20 NumPy passes for the forward instead of ~35 through the float64-grade erf; the float64
# path keeps that erf (error 5e-16).
_AS_P = 0.3275911 * _SQRT1_2
_AS_A = tuple(0.5 * a for a in (0.254829592, -0.284496736, 1.421413741, -1.453152027,
                                 1.061405429))


def _gelu_float32_kernel(x, y, q, e) -> None:
    """y = gelu(x), q = Phi(-|x|) and e = exp(-x^2 / 2), for float32 blocks (see above)."""
    xp = backend.get_array_module(x)
    with np.errstate(invalid="ignore"):  # x = +-inf: inf * 0 gives nan, as PyTorch's gelu
        _gelu_float32_steps(xp, x, y, q, e)


def _gelu_float32_steps(xp, x, y, q, e) -> None:
    a = xp.abs(x)
    t = a * _AS_P
    t += 1.0
    xp.reciprocal(t, out=t)
    xp.multiply(t, _AS_A[4], out=q)                 # q = P(t) by Horner's rule
    for c in _AS_A[3::-1]:
        q += c
        q *= t
    xp.multiply(x, -0.5, out=e)
    e *= x
    xp.exp(e, out=e)
    q *= e
    a *= q                                           # |x| q
    y.fill(0)                                        # relu(x) = max(x, 0): see LeakyReLU
    xp.maximum(x, y, out=y)
    y -= a


def _gelu_float32(x):
    """(y, q, e) of ``_gelu_float32_kernel`` over the whole array (threads share it)."""
    xp = backend.get_array_module(x)
    y, q, e = xp.empty_like(x), xp.empty_like(x), xp.empty_like(x)
    backend.split_elementwise(_gelu_float32_kernel, x, y, q, e)
    return y, q, e


def _gelu_float32_cdf(x, q):
    """Phi(x) = q + [x >= 0] (1 - 2 q), from the forward's q."""
    xp = backend.get_array_module(x)
    cdf = xp.empty_like(x)
    xp.greater_equal(x, 0, out=cdf, casting="unsafe")
    one_minus_2q = q * -2.0
    one_minus_2q += 1.0
    cdf *= one_minus_2q
    cdf += q
    return cdf


class GELU(Function):
    def __init__(self, approximate: str) -> None:
        self.approximate = approximate

    @_scalar_safe
    def forward(self, x):
        xp = backend.get_array_module(x)
        if self.approximate == "tanh":
            inner = x * x
            inner *= _KAPPA
            inner += 1.0
            inner *= x
            inner *= _BETA
            t = xp.tanh(inner, out=inner)
            t += 1.0
            t *= x
            t *= 0.5
            return t
        if x.dtype == np.float32:
            y, self.q, self.e = _gelu_float32(x)   # the backward builds Phi and phi from them
            return y
        cdf = erf(x * _SQRT1_2)
        cdf += 1.0
        cdf *= 0.5
        self.cdf = cdf  # Phi(x): the backward's y' = Phi + x phi then needs no second erf
        return x * cdf

    def backward(self, gy):
        saved = {k: getattr(self, k, None) for k in ("cdf", "q", "e")}
        self.cdf = self.q = self.e = None
        return GELUGrad(self.approximate, **saved)(self.inputs[0], gy)


class GELUGrad(Function):
    """gx = gy * gelu'(x), with inputs (x, gy); its backward uses gelu''(x) built from
    differentiable ops, so higher derivatives keep working. ``cdf`` is Phi(x) when the
    forward kept it, ``q`` and ``e`` the float32 forward's Phi(-|x|) and exp(-x^2 / 2)
    (each used once)."""

    def __init__(self, approximate: str, cdf=None, q=None, e=None) -> None:
        self.approximate, self.cdf, self.q, self.e = approximate, cdf, q, e

    @_scalar_safe
    def forward(self, x, gy):
        xp = backend.get_array_module(x)
        if self.approximate == "tanh":
            x2 = x * x
            t = xp.tanh(_BETA * x * (1.0 + _KAPPA * x2))
            d = (1.0 + t) * 0.5 + (0.5 * x) * (1.0 - t * t) * (_BETA * (1.0 + 3.0 * _KAPPA * x2))
        else:
            cdf, q, e = self.cdf, self.q, self.e
            self.cdf = self.q = self.e = None
            if cdf is None and q is None and x.dtype == np.float32:
                _, q, e = _gelu_float32(x)
            if q is not None:
                cdf = _gelu_float32_cdf(x, q)
            elif cdf is None:
                cdf = erf(x * _SQRT1_2)
                cdf += 1.0
                cdf *= 0.5
            d = xp.exp(x * x * -0.5) if e is None else e
            d *= _INV_SQRT_2PI
            d *= x
            d += cdf
        d *= gy
        return d

    def backward(self, ggx):
        x, gy = self.inputs
        g_x = ggx * gy * _gelu_second_derivative(x, self.approximate) \
            if self.needs_input_grad[0] else None
        g_gy = GELUGrad(self.approximate)(x, ggx) if self.needs_input_grad[1] else None
        return g_x, g_gy


def _gelu_second_derivative(x: Tensor, approximate: str) -> Tensor:
    x2 = x * x
    if approximate == "tanh":
        t = tanh((x + x2 * x * _KAPPA) * _BETA)
        du = (x2 * (3.0 * _KAPPA) + 1.0) * _BETA
        return (1.0 - t * t) * (du - x * t * du * du + x * x * (3.0 * _BETA * _KAPPA))
    return E.exp(x2 * -0.5) * _INV_SQRT_2PI * (2.0 - x2)


def gelu(x: Tensor, approximate: str = "none") -> Tensor:
    """Gaussian error linear unit x * Phi(x); ``approximate='tanh'`` uses the tanh formula."""
    _check_approximate(approximate)
    return GELU(approximate)(float_tensor(x, "gelu"))
