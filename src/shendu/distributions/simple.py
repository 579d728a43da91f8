"""Normal, Uniform, Bernoulli, Categorical, OneHotCategorical and Independent.

Each formula is written where it is computed; every one is differentiable in the parameters
through shendu's ops (the gradient of ``log_prob`` is what policy-gradient methods follow).
"""
import math

import numpy as np

from .. import ops
from ..random import generator
from ..tensor import Tensor
from .distribution import Distribution, as_param, as_value, shape_of

_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)


def _broadcast(*params):
    shape = np.broadcast_shapes(*(p.shape for p in params))
    return shape, [p if p.shape == shape else ops.broadcast_to(p, shape) for p in params]


def _data(x):
    return x.array if isinstance(x, Tensor) else np.asarray(x)


class Normal(Distribution):
    """N(loc, scale²).

    log p(x) = -(x - μ)² / (2σ²) - log σ - ½ log 2π;   H = ½ + ½ log 2π + log σ;
    rsample: x = μ + σ ε with ε ~ N(0, 1), so ∂x/∂μ = 1 and ∂x/∂σ = ε.
    """

    has_rsample = True
    _params = ("loc", "scale")

    def __init__(self, loc, scale, validate_args=None):
        loc, scale = as_param(loc, "loc"), as_param(scale, "scale")
        shape, (self.loc, self.scale) = _broadcast(loc, scale)
        super().__init__(shape, (), validate_args)
        self._check(np.all(_data(self.scale) > 0), f"scale must be positive, got {_data(self.scale)}")

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc

    @property
    def stddev(self):
        return self.scale

    @property
    def variance(self):
        return self.scale ** 2

    def rsample(self, sample_shape=()):
        eps = generator().standard_normal(self._extended_shape(sample_shape)).astype(self.loc.dtype)
        return self.loc + self.scale * Tensor(eps)

    def log_prob(self, value):
        value = as_value(value, self.loc)
        return -((value - self.loc) ** 2) / (2 * self.variance) - self.scale.log() - _LOG_SQRT_2PI

    def entropy(self):
        return 0.5 + _LOG_SQRT_2PI + self.scale.log()


class Uniform(Distribution):
    """U[low, high).  log p(x) = -log(high - low) on the support;  H = log(high - low);
    rsample: x = low + (high - low) u with u ~ U[0, 1)."""

    has_rsample = True
    _params = ("low", "high")

    def __init__(self, low, high, validate_args=None):
        low, high = as_param(low, "low"), as_param(high, "high")
        shape, (self.low, self.high) = _broadcast(low, high)
        super().__init__(shape, (), validate_args)
        self._check(np.all(_data(self.low) < _data(self.high)), "low must be less than high")

    @property
    def mean(self):
        return (self.high + self.low) / 2

    @property
    def variance(self):
        return (self.high - self.low) ** 2 / 12

    def rsample(self, sample_shape=()):
        u = generator().random(self._extended_shape(sample_shape)).astype(self.low.dtype)
        return self.low + (self.high - self.low) * Tensor(u)

    def log_prob(self, value):
        value = as_value(value, self.low)
        v, lo, hi = _data(value), _data(self.low), _data(self.high)
        inside = (lo <= v) & (v < hi)
        self._check(np.all(inside), f"value must lie in [low, high), got {v}")
        shape = np.broadcast_shapes(v.shape, self.batch_shape)
        width = ops.broadcast_to((self.high - self.low).log(), shape)
        outside = Tensor(np.full(shape, -np.inf, v.dtype))
        return ops.where(Tensor(np.broadcast_to(inside, shape)), -width, outside)

    def entropy(self):
        return (self.high - self.low).log()


def _logits_from_probs(probs, binary=False):
    eps = np.finfo(probs.dtype).eps
    p = ops.clip(probs, eps, 1 - eps)
    return p.log() - (1 - p).log() if binary else p.log()


class Bernoulli(Distribution):
    """Bernoulli(p), given by ``probs`` p or ``logits`` l = log p - log(1 - p).

    log p(x) = x l - softplus(l);  H = softplus(l) - p l;  mean p, variance p (1 - p).
    """

    _params = ("probs",)

    def __init__(self, probs=None, logits=None, validate_args=None):
        if (probs is None) == (logits is None):
            raise ValueError("Bernoulli: give exactly one of probs or logits")
        if probs is not None:
            self.probs = as_param(probs, "probs")
            super().__init__(self.probs.shape, (), validate_args)
            p = _data(self.probs)
            self._check(np.all((p >= 0) & (p <= 1)), f"probs must lie in [0, 1], got {p}")
            self.logits = _logits_from_probs(self.probs, binary=True)
        else:
            self.logits = as_param(logits, "logits")
            super().__init__(self.logits.shape, (), validate_args)
            self.probs = self.logits.sigmoid()

    @property
    def mean(self):
        return self.probs

    @property
    def variance(self):
        return self.probs * (1 - self.probs)

    def sample(self, sample_shape=()):
        u = generator().random(self._extended_shape(sample_shape))
        return Tensor((u < _data(self.probs)).astype(self.probs.dtype))

    def log_prob(self, value):
        value = as_value(value, self.logits)
        v = _data(value)
        self._check(np.all((v == 0) | (v == 1)), f"value must be 0 or 1, got {v}")
        return value * self.logits - ops.softplus(self.logits)

    def entropy(self):
        return ops.softplus(self.logits) - self.probs * self.logits


class Categorical(Distribution):
    """Categorical over {0, …, K-1}, given by ``probs`` (normalised to sum 1) or ``logits``.

    Logits are normalised, l_k ← l_k - logsumexp(l); log p(k) = l_k (picked by indexing, whose
    gradient scatters back to the chosen logits); H = -Σ_k p_k l_k.
    """

    _params = ("probs",)

    def __init__(self, probs=None, logits=None, validate_args=None):
        if (probs is None) == (logits is None):
            raise ValueError("Categorical: give exactly one of probs or logits")
        if probs is not None:
            probs = as_param(probs, "probs")
            if probs.ndim < 1:
                raise ValueError("Categorical: probs must have at least one dimension (the categories)")
            p = _data(probs)
            super().__init__(probs.shape[:-1], (), validate_args)
            self._check(np.all(p >= 0) and np.all(p.sum(-1) > 0),
                        "probs must be non-negative with a positive sum")
            self.probs = probs / probs.sum(axis=-1, keepdims=True)
            self.logits = _logits_from_probs(self.probs)
        else:
            logits = as_param(logits, "logits")
            if logits.ndim < 1:
                raise ValueError("Categorical: logits must have at least one dimension (the categories)")
            super().__init__(logits.shape[:-1], (), validate_args)
            self.logits = logits - ops.logsumexp(logits, axis=-1, keepdims=True)
            self.probs = ops.softmax(logits, axis=-1)
        self._num_events = self.probs.shape[-1]

    @property
    def param_shape(self):
        return self.probs.shape

    @property
    def mean(self):
        return Tensor(np.full(self.batch_shape, np.nan, self.probs.dtype))

    @property
    def variance(self):
        return Tensor(np.full(self.batch_shape, np.nan, self.probs.dtype))

    @property
    def mode(self):
        return Tensor(_data(self.probs).argmax(-1))

    def sample(self, sample_shape=()):
        """Inverse-CDF draws: the first k with u < Σ_{j≤k} p_j, u ~ U[0, 1)."""
        shape = shape_of(sample_shape) + self.batch_shape
        cdf = np.cumsum(_data(self.probs), axis=-1)
        u = generator().random(shape + (1,)) * cdf[..., -1:]
        return Tensor(np.minimum((u >= cdf).sum(-1), self._num_events - 1).astype(np.int64))

    def log_prob(self, value):
        v = np.asarray(_data(value))
        self._check(v.dtype.kind in "iub" or np.all(v == np.round(v)), f"value must be integer, got {v}")
        v = v.astype(np.int64)
        self._check(np.all((v >= 0) & (v < self._num_events)),
                    f"value must lie in [0, {self._num_events}), got {v}")
        shape = np.broadcast_shapes(v.shape, self.batch_shape)
        logits = ops.broadcast_to(self.logits, shape + (self._num_events,))
        index = np.indices(shape, sparse=True) + (np.broadcast_to(v, shape),)
        return logits[index]

    def entropy(self):
        logits = ops.clip(self.logits, np.finfo(self.logits.dtype).min, None)
        return -(logits * self.probs).sum(axis=-1)

    def enumerate_support(self, expand=True):
        values = np.arange(self._num_events).reshape((-1,) + (1,) * len(self.batch_shape))
        shape = (self._num_events,) + self.batch_shape
        return Tensor(np.broadcast_to(values, shape).copy() if expand else values)


class OneHotCategorical(Distribution):
    """A Categorical whose samples are one-hot vectors of length K (event_shape (K,))."""

    _params = ("probs",)

    def __init__(self, probs=None, logits=None, validate_args=None):
        self._categorical = Categorical(probs, logits, validate_args)
        super().__init__(self._categorical.batch_shape, self._categorical.param_shape[-1:], validate_args)

    probs = property(lambda self: self._categorical.probs)
    logits = property(lambda self: self._categorical.logits)

    @property
    def mean(self):
        return self.probs

    @property
    def variance(self):
        return self.probs * (1 - self.probs)

    def sample(self, sample_shape=()):
        index = self._categorical.sample(sample_shape).array
        return Tensor(np.eye(self.event_shape[0], dtype=self.probs.dtype)[index])

    def log_prob(self, value):
        v = _data(value)
        self._check(np.all((v == 0) | (v == 1)) and np.all(v.sum(-1) == 1), "value must be one-hot vectors")
        return self._categorical.log_prob(v.argmax(-1))

    def entropy(self):
        return self._categorical.entropy()


class Independent(Distribution):
    """Treats the last ``reinterpreted_batch_ndims`` batch dimensions of ``base`` as event dimensions:
    log p(x) = Σ over those dimensions of the base log-probabilities (and likewise the entropy)."""

    def __init__(self, base_distribution, reinterpreted_batch_ndims, validate_args=None):
        n = int(reinterpreted_batch_ndims)
        shape = base_distribution.batch_shape
        if not 0 <= n <= len(shape):
            raise ValueError(f"Independent: reinterpreted_batch_ndims must be in [0, {len(shape)}], got {n}")
        self.base_dist, self.reinterpreted_batch_ndims = base_distribution, n
        cut = len(shape) - n
        super().__init__(shape[:cut], shape[cut:] + base_distribution.event_shape, validate_args)
        self.has_rsample = base_distribution.has_rsample

    def _sum(self, x):
        axes = tuple(range(x.ndim - self.reinterpreted_batch_ndims, x.ndim))
        return x.sum(axis=axes) if axes else x

    @property
    def mean(self):
        return self.base_dist.mean

    @property
    def variance(self):
        return self.base_dist.variance

    def sample(self, sample_shape=()):
        return self.base_dist.sample(sample_shape)

    def rsample(self, sample_shape=()):
        return self.base_dist.rsample(sample_shape)

    def log_prob(self, value):
        return self._sum(self.base_dist.log_prob(value))

    def entropy(self):
        return self._sum(self.base_dist.entropy())

    def __repr__(self):
        return f"Independent({self.base_dist!r}, {self.reinterpreted_batch_ndims})"
