"""Gamma and Beta, built on lgamma and digamma (:mod:`shendu.ops.special`).

Both are differentiable in their parameters through ``log_prob``, ``entropy``, ``mean`` and
``variance``; ``sample`` draws with NumPy's gamma and beta samplers from shendu's generator. There
is no ``rsample`` (PyTorch's implicit reparameterisation gradient is not implemented).
"""
import numpy as np

from .. import ops
from ..random import generator
from ..tensor import Tensor
from .distribution import Distribution, as_param, as_value, shape_of
from .simple import _broadcast, _data


class Gamma(Distribution):
    """Gamma(α = concentration, β = rate), density βᵅ xᵅ⁻¹ e^(−βx) / Γ(α) on x > 0.

    log p(x) = α ln β + (α − 1) ln x − βx − lnΓ(α);
    H = α − ln β + lnΓ(α) + (1 − α) ψ(α);  mean α/β, variance α/β².
    """

    _params = ("concentration", "rate")

    def __init__(self, concentration, rate, validate_args=None):
        c, r = as_param(concentration, "concentration"), as_param(rate, "rate")
        shape, (self.concentration, self.rate) = _broadcast(c, r)
        super().__init__(shape, (), validate_args)
        self._check(np.all(_data(self.concentration) > 0),
                    f"concentration must be positive, got {_data(self.concentration)}")
        self._check(np.all(_data(self.rate) > 0), f"rate must be positive, got {_data(self.rate)}")

    @property
    def mean(self):
        return self.concentration / self.rate

    @property
    def mode(self):
        return ops.clip((self.concentration - 1) / self.rate, 0, None)

    @property
    def variance(self):
        return self.concentration / self.rate ** 2

    def sample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        draw = generator().standard_gamma(np.broadcast_to(_data(self.concentration), shape))
        draw = draw / _data(self.rate)
        tiny = np.finfo(self.rate.dtype).tiny
        return Tensor(np.maximum(draw, tiny).astype(self.rate.dtype))  # PyTorch clamps to the tiniest float

    def log_prob(self, value):
        value = as_value(value, self.rate)
        v = _data(value)
        self._check(np.all(v > 0), f"value must be positive, got {v}")
        a, b = self.concentration, self.rate
        return a * b.log() + (a - 1) * value.log() - b * value - ops.lgamma(a)

    def entropy(self):
        a = self.concentration
        return a - self.rate.log() + ops.lgamma(a) + (1 - a) * ops.digamma(a)


class Beta(Distribution):
    """Beta(a = concentration1, b = concentration0) on (0, 1), density xᵃ⁻¹ (1 − x)ᵇ⁻¹ / B(a, b).

    ln B(a, b) = lnΓ(a) + lnΓ(b) − lnΓ(a + b);
    log p(x) = (a − 1) ln x + (b − 1) ln(1 − x) − ln B(a, b);
    H = ln B(a, b) − (a − 1) ψ(a) − (b − 1) ψ(b) + (a + b − 2) ψ(a + b);
    mean a/(a + b), variance ab / ((a + b)² (a + b + 1)).
    """

    _params = ("concentration1", "concentration0")

    def __init__(self, concentration1, concentration0, validate_args=None):
        a, b = as_param(concentration1, "concentration1"), as_param(concentration0, "concentration0")
        shape, (self.concentration1, self.concentration0) = _broadcast(a, b)
        super().__init__(shape, (), validate_args)
        for name in self._params:
            self._check(np.all(_data(getattr(self, name)) > 0),
                        f"{name} must be positive, got {_data(getattr(self, name))}")

    def _log_beta(self):
        a, b = self.concentration1, self.concentration0
        return ops.lgamma(a) + ops.lgamma(b) - ops.lgamma(a + b)

    @property
    def mean(self):
        return self.concentration1 / (self.concentration1 + self.concentration0)

    @property
    def mode(self):
        return (self.concentration1 - 1) / (self.concentration1 + self.concentration0 - 2)

    @property
    def variance(self):
        total = self.concentration1 + self.concentration0
        return self.concentration1 * self.concentration0 / (total ** 2 * (total + 1))

    def sample(self, sample_shape=()):
        shape = shape_of(sample_shape) + self.batch_shape
        a = np.broadcast_to(_data(self.concentration1), shape)
        b = np.broadcast_to(_data(self.concentration0), shape)
        eps = np.finfo(self.concentration1.dtype).eps
        draw = np.clip(generator().beta(a, b), eps, 1 - eps)  # PyTorch keeps draws inside (0, 1)
        return Tensor(draw.astype(self.concentration1.dtype))

    def log_prob(self, value):
        value = as_value(value, self.concentration1)
        v = _data(value)
        self._check(np.all((v > 0) & (v < 1)), f"value must lie in (0, 1), got {v}")
        a, b = self.concentration1, self.concentration0
        return (a - 1) * value.log() + (b - 1) * (1 - value).log() - self._log_beta()

    def entropy(self):
        a, b = self.concentration1, self.concentration0
        return (self._log_beta() - (a - 1) * ops.digamma(a) - (b - 1) * ops.digamma(b)
                + (a + b - 2) * ops.digamma(a + b))
