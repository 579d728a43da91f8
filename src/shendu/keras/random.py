"""``keras.random``: random tensors from a seed, a :class:`SeedGenerator` or the global generator.

``seed=None`` draws from shendu's global generator (``sd.manual_seed``); an int draws from a fresh
generator seeded with it (the same int gives the same numbers); a ``SeedGenerator`` gives new numbers
at every call, reproducibly from its seed.
"""

import numpy as np

from .. import creation as _creation
from .. import random as _random
from ..nn import functional as F
from ..nn import init as _init
from ..tensor import Tensor
from . import backend as _backend

__all__ = ["SeedGenerator", "normal", "uniform", "truncated_normal", "categorical", "randint", "dropout",
           "shuffle", "gamma", "binomial", "beta"]


class SeedGenerator:
    """A source of random numbers of its own: ``SeedGenerator(1337)``."""

    def __init__(self, seed=None, name=None, **kwargs):
        self.generator = _random.Generator()
        self.generator.manual_seed(int(seed)) if seed is not None else self.generator.seed()
        self.name = name or "seed_generator"


def _gen(seed):
    if seed is None:
        return None
    return seed.generator if isinstance(seed, SeedGenerator) else _random.Generator().manual_seed(int(seed))


def _dt(dtype):
    return np.dtype(dtype or _backend.floatx())


def normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    return _creation.randn(*shape, generator=_gen(seed)).to(_dt(dtype)) * stddev + mean


def uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
    return _creation.rand(*shape, generator=_gen(seed)).to(_dt(dtype)) * (maxval - minval) + minval


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Normal draws beyond two standard deviations drawn again (:func:`shendu.nn.init.trunc_normal_`)."""
    x = Tensor(np.empty(tuple(shape), dtype=_dt(dtype)))
    return _init.trunc_normal_(x, mean, stddev, mean - 2 * stddev, mean + 2 * stddev, generator=_rng(seed))


def randint(shape, minval, maxval, dtype="int32", seed=None):
    return _creation.randint(int(minval), int(maxval), tuple(shape), generator=_gen(seed)).to(np.dtype(dtype))


def categorical(logits, num_samples, dtype="int32", seed=None):
    """Class indices drawn from ``softmax(logits)`` row by row: shape (batch, num_samples)."""
    logits = logits if isinstance(logits, Tensor) else Tensor(np.asarray(logits, dtype=np.float32))
    probs = F.softmax(logits.detach(), axis=-1)
    draws = _creation.multinomial(probs, num_samples, replacement=True, generator=_gen(seed))
    return draws.to(np.dtype(dtype))


def dropout(inputs, rate, noise_shape=None, seed=None):
    """Zero each entry with probability ``rate`` and scale the others by 1 / (1 - rate)."""
    x = inputs if isinstance(inputs, Tensor) else Tensor(np.asarray(inputs, dtype=np.float32))
    keep = (_creation.rand(*(noise_shape or x.shape), generator=_gen(seed)).array >= rate).astype(x.dtype)
    return x * Tensor(keep / (1.0 - rate))


def shuffle(x, axis=0, seed=None):
    x = x if isinstance(x, Tensor) else Tensor(np.asarray(x))
    return x.index_select(axis, _creation.randperm(x.shape[axis], generator=_gen(seed)))


def gamma(shape, alpha, dtype=None, seed=None):
    return Tensor(_rng(seed).gamma(alpha, size=tuple(shape)).astype(_dt(dtype)))


def binomial(shape, counts, probabilities, dtype=None, seed=None):
    return Tensor(_rng(seed).binomial(counts, probabilities, size=tuple(shape)).astype(_dt(dtype)))


def beta(shape, alpha, beta, dtype=None, seed=None):
    return Tensor(_rng(seed).beta(alpha, beta, size=tuple(shape)).astype(_dt(dtype)))


def _rng(seed):
    g = _gen(seed)
    return _random.generator() if g is None else g.numpy_generator
