"""Special functions: lgamma (ln|Γ|) and digamma (ψ = d lnΓ / dx), in NumPy alone.

``torch.special`` names: ``gammaln`` (= ``lgamma``), ``digamma`` (= ``psi``).

- lgamma: the Lanczos approximation (g = 7, 9 terms) for x ≥ ½, about 1e-15 absolute error;
  the reflection lnΓ(x) = ln(π / |sin πx|) − lnΓ(1 − x) below ½; +∞ at 0 and the negative integers.
- digamma: the recurrence ψ(x) = ψ(x + 1) − 1/x up to x ≥ 10, then the asymptotic series
  ψ(x) ≈ ln x − 1/2x − Σ B₂ₖ / (2k x²ᵏ); the reflection ψ(x) = ψ(1 − x) − π / tan πx below ½.
- trigamma ψ₁ (the derivative of ψ, used by digamma's backward) likewise, with
  ψ₁(x) = ψ₁(x + 1) + 1/x² and ψ₁(x) + ψ₁(1 − x) = π² / sin² πx.
"""
import math

import numpy as np

from ..autograd import Function
from ..backend import xp

_G = 7.0
_LANCZOS = (0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
            -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6,
            1.5056327351493116e-7)
_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)
# B₂ₖ / 2k for k = 1 … 7 (digamma's asymptotic series) and B₂ₖ for trigamma's
_DIGAMMA_SERIES = (1 / 12, -1 / 120, 1 / 252, -1 / 240, 1 / 132, -691 / 32760, 1 / 12)
_TRIGAMMA_SERIES = (1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6)


def _float(x):
    x = np.asarray(x)
    return x if x.dtype.kind == "f" else x.astype(np.float64)


def _poles(x):
    return (x <= 0) & (x == np.floor(x))


def lgamma_array(x):
    """ln|Γ(x)| of an array (float64 arithmetic, returned in x's float dtype)."""
    x = _float(x)
    dtype, x = x.dtype, x.astype(np.float64)
    small = x < 0.5
    z = np.where(small, 1.0 - x, x) - 1.0           # Lanczos needs the argument ≥ ½
    a = np.full_like(z, _LANCZOS[0])
    for i, c in enumerate(_LANCZOS[1:], 1):
        a += c / (z + i)
    t = z + _G + 0.5
    with np.errstate(divide="ignore", invalid="ignore"):
        out = _HALF_LOG_2PI + (z + 0.5) * np.log(t) - t + np.log(a)
        if small.any():
            sin = np.abs(np.sin(np.pi * (x - np.floor(x))))   # sin πx, reduced to [0, π) for accuracy
            out = np.where(small, np.log(np.pi / sin) - out, out)
    out = np.where(_poles(x), np.inf, out)
    out = np.where(np.isposinf(x), np.inf, out)
    return out.astype(dtype, copy=False)


def _polygamma_array(x, order):
    x = _float(x)
    dtype, x = x.dtype, x.astype(np.float64)
    small = x < 0.5
    y = np.where(small, 1.0 - x, x)
    acc = np.zeros_like(y)
    with np.errstate(divide="ignore", invalid="ignore"):
        for _ in range(10):                           # shift up to y ≥ 10
            low = y < 10
            if not low.any():
                break
            acc = acc - np.where(low, 1.0 / y, 0.0) if order == 0 else acc + np.where(low, 1.0 / (y * y), 0.0)
            y = np.where(low, y + 1.0, y)
        inv2 = 1.0 / (y * y)
        series, power = np.zeros_like(y), np.ones_like(y)
        if order == 0:
            for c in _DIGAMMA_SERIES:
                power = power * inv2
                series += c * power
            out = acc + np.log(y) - 0.5 / y - series
        else:
            for c in _TRIGAMMA_SERIES:
                series += c * power / y ** 3
                power = power * inv2
            out = acc + 1.0 / y + 0.5 * inv2 + series
        if small.any():
            frac = np.pi * (x - np.floor(x))
            refl = (-np.pi / np.tan(frac)) if order == 0 else (np.pi ** 2 / np.sin(frac) ** 2)
            out = np.where(small, (out + refl) if order == 0 else (refl - out), out)
    out = np.where(_poles(x), np.nan, out)
    return out.astype(dtype, copy=False)


def digamma_array(x):
    """ψ(x) of an array; NaN at 0 and the negative integers (PyTorch gives -inf at 0, NaN below)."""
    out = _polygamma_array(x, 0)
    x = np.asarray(x)
    return np.where(x == 0, -np.inf, out).astype(out.dtype, copy=False)


def trigamma_array(x):
    """ψ₁(x) = dψ/dx of an array."""
    return _polygamma_array(x, 1)


class Lgamma(Function):
    """z = ln|Γ(a)|;  dz/da = ψ(a) (digamma)."""

    def forward(self, a):
        self.a = a
        return xp.asarray(lgamma_array(a))

    def backward(self, g):
        return g * digamma_array(self.a)


class Digamma(Function):
    """z = ψ(a) = d lnΓ(a) / da;  dz/da = ψ₁(a) (trigamma). Its backward is not itself differentiable."""

    def forward(self, a):
        self.a = a
        return xp.asarray(digamma_array(a))

    def backward(self, g):
        return g * trigamma_array(self.a)


def _as_float(a):
    """Integer and boolean tensors are computed in the default float dtype, as in PyTorch."""
    from ..tensor import Tensor, get_default_dtype

    if not isinstance(a, Tensor):
        a = Tensor(np.asarray(a))
    return a if a.dtype.kind == "f" else a.to(get_default_dtype())


def lgamma(a):
    """ln|Γ(a)|, element-wise (``torch.lgamma``, ``torch.special.gammaln``)."""
    return Lgamma.apply(_as_float(a))


def digamma(a):
    """ψ(a) = d lnΓ(a) / da, element-wise (``torch.digamma``, ``torch.special.digamma`` / ``psi``)."""
    return Digamma.apply(_as_float(a))


gammaln = lgamma
psi = digamma


def multigammaln(a, p):
    """ln Γ_p(a) = p(p−1)/4 ln π + Σ_{j<p} lnΓ(a − j/2) (``torch.special.multigammaln``)."""
    out = lgamma(a)
    for j in range(1, int(p)):
        out = out + lgamma(a - j / 2)
    return out + p * (p - 1) / 4 * math.log(math.pi)
