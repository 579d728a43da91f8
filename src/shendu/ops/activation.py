"""Activation functions, written to stay finite for inputs as large as ±1000."""
import math

from ..autograd import Function, is_grad_enabled
from ..backend import xp
from .norm import compiled_kernels as _compiled_kernels


class Sigmoid(Function):
    """σ(a) = 1 / (1 + e^(−a)), evaluated as e^(−|a|) ratios (no overflow);  dσ/da = σ(1 − σ)."""

    saves_inputs = ()
    saves_output = True

    def forward(self, a):
        e = xp.exp(-xp.abs(a))
        self.out = xp.where(a >= 0, 1 / (1 + e), e / (1 + e))
        return self.out

    def backward(self, g):
        return g * self.out * (1 - self.out)

    def backward_graph(self, g):
        s = Sigmoid.apply(self.inputs[0])
        return g * s * (1 - s)


class Tanh(Function):
    """tanh(a);  d tanh/da = 1 − tanh²(a)."""

    saves_inputs = ()
    saves_output = True

    def forward(self, a):
        self.out = xp.tanh(a)
        return self.out

    def backward(self, g):
        return g * (1 - self.out * self.out)

    def backward_graph(self, g):
        t = Tanh.apply(self.inputs[0])
        return g * (1 - t * t)


_ZERO_ROW = 4096
_zero_rows = {}


def _relu_array(a):
    """max(a, 0). On an array dense in memory (C order or a convolution's channels-last layout) the
    maximum runs over its memory as rows of 4096 against one cached row of zeros: both operands
    contiguous (NumPy's vectorised loop) without writing a full array of zeros first. Otherwise
    against ``zeros_like(a)`` (a broadcast scalar 0 is 2-4x slower)."""
    flat = a.ravel(order="K") if a.size >= _ZERO_ROW else None
    if flat is None or not xp.may_share_memory(flat, a):
        return xp.maximum(a, xp.zeros_like(a))
    out = xp.empty_like(a)
    oflat = out.ravel(order="K")
    zeros = _zero_rows.get(a.dtype)
    if zeros is None:
        zeros = _zero_rows[a.dtype] = xp.zeros(_ZERO_ROW, dtype=a.dtype)
    m = (a.size // _ZERO_ROW) * _ZERO_ROW
    xp.maximum(flat[:m].reshape(-1, _ZERO_ROW), zeros, out=oflat[:m].reshape(-1, _ZERO_ROW))
    xp.maximum(flat[m:], zeros[:a.size - m], out=oflat[m:])
    return out


_KERNEL_MIN = 1024  # below this the kernel's call costs as much as NumPy's two


def _flat_views(*arrays):
    """Each array's memory as a flat view (``ravel(order="K")``), or None when one is not dense in
    memory (its ravel would be a copy). Arrays of one layout give views in the same element order."""
    flat = [v.ravel(order="K") for v in arrays]
    return flat if all(xp.may_share_memory(f, v) for f, v in zip(flat, arrays)) else None


def _relu_compiled(a):
    """max(a, 0) by the compiled one-pass kernel on an array dense in memory, or None (no kernel, another
    dtype, or a strided array)."""
    kern = _compiled_kernels(a.dtype)
    flat = None if kern is None else _flat_views(a)
    if flat is None:
        return None
    out = xp.empty_like(a)                                   # laid out like a, so dense too:
    kern.relu_forward(flat[0], out.ravel(order="K"), a.dtype.type(0))   # its flat view, in a's order
    return out


class ReLU(Function):
    """relu(a) = max(a, 0);  d/da = 1 where a > 0, else 0."""

    saves_inputs = ()
    saves_output = True
    keeps_inputs = False

    def forward(self, a):
        # max against an array of zeros laid out like ``a``: NumPy's vectorised loop needs both operands
        # contiguous, and a broadcast scalar 0 runs 2-4x slower; NaN propagates, relu(−∞) = 0.
        # The compiled kernel (``shendu[fast]``) does the same in one pass, bit for bit
        out = _relu_compiled(a) if a.size >= _KERNEL_MIN else None
        if out is None:
            out = _relu_array(a)
        if is_grad_enabled():
            # the output, not a mask: it is kept anyway by whatever consumes it (the next layer), so
            # backward's out > 0 (= a > 0, NaN included) costs no memory of its own
            self.out = out
        return out

    def backward(self, g):
        out = self.out
        kern = _compiled_kernels(out.dtype) if g.dtype == out.dtype and g.strides == out.strides else None
        if kern is not None:
            gx = xp.empty_like(out)
            flat = _flat_views(g, out, gx)                         # views when dense in memory alike
            if flat is not None:
                kern.relu_backward(*flat, out.dtype.type(0), out.dtype.type(1))
                return gx
        return g * (out > 0)

    def backward_graph(self, g):
        return g * (self.out > 0)


class LeakyReLU(Function):
    """a if a > 0 else slope·a;  d/da = 1 or slope."""

    saves_inputs = ()

    def forward(self, a, negative_slope=0.01):
        self.scale = xp.where(a > 0, 1, negative_slope).astype(a.dtype)
        return a * self.scale

    def backward(self, g):
        return g * self.scale

    def backward_graph(self, g):
        return g * self.scale


class ELU(Function):
    """a if a > 0 else α(eᵃ − 1);  d/da = 1 or α·eᵃ (= out + α)."""

    saves_inputs = ()
    saves_output = True

    def forward(self, a, alpha=1.0):
        self.pos = a > 0
        self.alpha = alpha
        self.out = xp.where(self.pos, a, alpha * xp.expm1(xp.minimum(a, 0)))
        return self.out

    def backward(self, g):
        return g * xp.where(self.pos, 1, self.out + self.alpha)

    def backward_graph(self, g):
        pos = self.pos.astype(g.dtype)
        return g * (pos + (1 - pos) * (ELU.apply(self.inputs[0], alpha=self.alpha) + self.alpha))


def _normal_cdf(x):
    """Φ(x) = ½·erfc(−x/√2), with erfc from a Chebyshev fit (relative error < 1.2e-7 everywhere)."""
    z = xp.abs(x) / math.sqrt(2)
    t = 1 / (1 + 0.5 * z)
    poly = -z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (
        -0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (
            -0.82215223 + t * 0.17087277))))))))
    erfc = t * xp.exp(poly)
    return xp.where(x >= 0, 1 - 0.5 * erfc, 0.5 * erfc)


class NormalCdf(Function):
    """Φ(a), the standard normal CDF;  dΦ/da = φ(a) = e^(−a²/2) / √(2π)."""

    def forward(self, a):
        self.a = a
        return _normal_cdf(a).astype(a.dtype)

    def backward(self, g):
        return g * xp.exp(-0.5 * self.a * self.a) / math.sqrt(2 * math.pi)

    def backward_graph(self, g):
        a = self.inputs[0]
        return g * (-0.5 * a * a).exp() / math.sqrt(2 * math.pi)


class GELU(Function):
    """gelu(a) = a·Φ(a) (Φ the standard normal CDF);  d/da = Φ(a) + a·φ(a).

    ``approximate="tanh"``: ½a(1 + tanh(√(2/π)(a + 0.044715a³))), as in PyTorch.
    """

    def forward(self, a, approximate="none"):
        self.a, self.approximate = a, approximate
        if approximate == "tanh":
            k = math.sqrt(2 / math.pi)
            self.inner = xp.tanh(k * (a + 0.044715 * a ** 3))
            return 0.5 * a * (1 + self.inner)
        self.cdf = _normal_cdf(a).astype(a.dtype)
        return a * self.cdf

    def backward(self, g):
        a = self.a
        if self.approximate == "tanh":
            k = math.sqrt(2 / math.pi)
            d_inner = (1 - self.inner ** 2) * k * (1 + 3 * 0.044715 * a ** 2)
            return g * (0.5 * (1 + self.inner) + 0.5 * a * d_inner)
        pdf = xp.exp(-0.5 * a * a) / math.sqrt(2 * math.pi)
        return g * (self.cdf + a * pdf)

    def backward_graph(self, g):
        a = self.inputs[0]
        if self.approximate == "tanh":
            k = math.sqrt(2 / math.pi)
            inner = Tanh.apply(k * (a + 0.044715 * a ** 3))
            d_inner = (1 - inner * inner) * k * (1 + 3 * 0.044715 * a * a)
            return g * (0.5 * (1 + inner) + 0.5 * a * d_inner)
        pdf = (-0.5 * a * a).exp() / math.sqrt(2 * math.pi)
        return g * (NormalCdf.apply(a) + a * pdf)


class Softplus(Function):
    """softplus(a) = (1/β)·log(1 + e^(βa)), linear where βa > threshold;  d/da = σ(βa)."""

    def forward(self, a, beta=1.0, threshold=20.0):
        z = beta * a
        self.linear = z > threshold
        self.sig = Sigmoid().forward(z)
        soft = (xp.maximum(z, 0) + xp.log1p(xp.exp(-xp.abs(z)))) / beta
        return xp.where(self.linear, a, soft)

    def backward(self, g):
        return g * xp.where(self.linear, 1, self.sig)

    def backward_graph(self, g):
        lin = self.linear.astype(g.dtype)
        return g * (lin + (1 - lin) * Sigmoid.apply(self.attrs.get("beta", 1.0) * self.inputs[0]))


class Softmax(Function):
    """sᵢ = e^(aᵢ − m) / Σⱼ e^(aⱼ − m) along ``axis`` (m = max);  ∂L/∂a = s ⊙ (g − Σ g⊙s)."""

    saves_inputs = ()
    saves_output = True

    def forward(self, a, axis=-1):
        self.axis = axis
        e = xp.exp(a - a.max(axis=axis, keepdims=True))
        self.out = e / e.sum(axis=axis, keepdims=True)
        return self.out

    def backward(self, g):
        s = self.out
        return s * (g - (g * s).sum(axis=self.axis, keepdims=True))

    def backward_graph(self, g):
        s = Softmax.apply(self.inputs[0], axis=self.axis)
        return s * (g - (g * s).sum(axis=self.axis, keepdims=True))


class LogSoftmax(Function):
    """zᵢ = aᵢ − logΣⱼ e^(aⱼ) along ``axis`` (stable);  ∂L/∂a = g − softmax(a)·Σ g."""

    saves_inputs = ()
    saves_output = True

    def forward(self, a, axis=-1):
        self.axis = axis
        shifted = a - a.max(axis=axis, keepdims=True)
        self.out = shifted - xp.log(xp.exp(shifted).sum(axis=axis, keepdims=True))
        return self.out

    def backward(self, g):
        return g - xp.exp(self.out) * g.sum(axis=self.axis, keepdims=True)


    def backward_graph(self, g):
        return g - Softmax.apply(self.inputs[0], axis=self.axis) * g.sum(axis=self.axis, keepdims=True)
