"""Activation layers: thin Modules over the activation Functions in :mod:`shendu.ops.activation`."""
import warnings

from .. import ops
from .module import Module, as_input

__all__ = ["ReLU", "LeakyReLU", "ELU", "GELU", "Sigmoid", "Tanh", "Softmax", "LogSoftmax", "Mish", "Softplus",
           "SiLU",
           "ReLU6", "Hardtanh", "softmax_dim"]


def softmax_dim(ndim, name="softmax"):
    """PyTorch's legacy default axis when ``dim`` is not given: 0 for 0-, 1- and 3-D input, else 1."""
    warnings.warn(f"Implicit dimension choice for {name} is deprecated (as in PyTorch); pass dim= explicitly",
                  UserWarning, stacklevel=3)
    return 0 if ndim in (0, 1, 3) else 1


class ReLU(Module):
    """relu(x) = max(x, 0);  derivative 1 where x > 0, else 0."""

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, x):
        return ops.relu(as_input(x))

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""


class LeakyReLU(Module):
    """x if x > 0 else negative_slope·x."""

    def __init__(self, negative_slope=0.01, inplace=False):
        super().__init__()
        self.negative_slope = negative_slope
        self.inplace = inplace

    def forward(self, x):
        return ops.leaky_relu(as_input(x), self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")


class ELU(Module):
    """x if x > 0 else α(eˣ − 1)."""

    def __init__(self, alpha=1.0, inplace=False):
        super().__init__()
        self.alpha = alpha
        self.inplace = inplace

    def forward(self, x):
        return ops.elu(as_input(x), self.alpha)

    def extra_repr(self):
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class GELU(Module):
    """x·Φ(x) (Φ: standard normal CDF); ``approximate="tanh"`` uses the tanh formula."""

    def __init__(self, approximate="none"):
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, x):
        return ops.gelu(as_input(x), self.approximate)

    def extra_repr(self):
        return f"approximate={self.approximate!r}"


class Sigmoid(Module):
    """σ(x) = 1 / (1 + e^(−x))."""

    def forward(self, x):
        return ops.sigmoid(as_input(x))


class Tanh(Module):
    """tanh(x)."""

    def forward(self, x):
        return ops.tanh(as_input(x))


class SiLU(Module):
    """silu(x) = x·σ(x) (also called swish)."""

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, x):
        x = as_input(x)
        return x * ops.sigmoid(x)


class Hardtanh(Module):
    """clip(x, min_val, max_val)."""

    def __init__(self, min_val=-1.0, max_val=1.0, inplace=False):
        super().__init__()
        self.min_val, self.max_val, self.inplace = min_val, max_val, inplace

    def forward(self, x):
        return ops.clip(as_input(x), self.min_val, self.max_val)

    def extra_repr(self):
        return f"min_val={self.min_val}, max_val={self.max_val}"


class ReLU6(Hardtanh):
    """min(max(x, 0), 6)."""

    def __init__(self, inplace=False):
        super().__init__(0.0, 6.0, inplace)

    def extra_repr(self):
        return ""


class Softmax(Module):
    """softmax(x)ᵢ = e^(xᵢ) / Σⱼ e^(xⱼ) along ``dim``."""

    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        x = as_input(x)
        dim = self.dim if self.dim is not None else softmax_dim(x.ndim)
        return ops.softmax(x, axis=dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class LogSoftmax(Module):
    """log_softmax(x)ᵢ = xᵢ − log Σⱼ e^(xⱼ) along ``dim`` (stable)."""

    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        x = as_input(x)
        dim = self.dim if self.dim is not None else softmax_dim(x.ndim, "log_softmax")
        return ops.log_softmax(x, axis=dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class Mish(Module):
    """x · tanh(softplus(x))."""

    def forward(self, x):
        x = as_input(x)
        return x * ops.tanh(ops.softplus(x))


class Softplus(Module):
    """(1/β)·log(1 + e^(βx)), and x itself where βx > threshold."""

    def __init__(self, beta=1.0, threshold=20.0):
        super().__init__()
        self.beta, self.threshold = beta, threshold

    def forward(self, x):
        return ops.softplus(as_input(x), self.beta, self.threshold)

    def extra_repr(self):
        return f"beta={self.beta}, threshold={self.threshold}"
