"""``tf.random``: TensorFlow's random functions on :mod:`shendu.keras.random`."""

from .. import random as _random
from ..keras import random as _kr

__all__ = ["normal", "uniform", "truncated_normal", "categorical", "shuffle", "set_seed", "Generator"]


def normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None, name=None):
    return _kr.normal(shape, mean, stddev, dtype, seed)


def uniform(shape, minval=0, maxval=None, dtype=None, seed=None, name=None):
    if dtype is not None and "int" in str(dtype):
        return _kr.randint(shape, minval, maxval, dtype, seed)
    return _kr.uniform(shape, minval, 1.0 if maxval is None else maxval, dtype, seed)


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None, name=None):
    return _kr.truncated_normal(shape, mean, stddev, dtype, seed)


def categorical(logits, num_samples, dtype=None, seed=None, name=None):
    return _kr.categorical(logits, num_samples, dtype or "int64", seed)


def shuffle(value, seed=None, name=None):
    return _kr.shuffle(value, 0, seed)


def set_seed(seed):
    """``tf.random.set_seed``: seed shendu's global generator."""
    _random.manual_seed(int(seed))


class Generator:
    """``tf.random.Generator.from_seed(s)``: ``normal`` / ``uniform`` from a generator of its own."""

    def __init__(self, seed=None):
        self._seed = _kr.SeedGenerator(seed)

    @classmethod
    def from_seed(cls, seed, alg=None):
        return cls(seed)

    def normal(self, shape, mean=0.0, stddev=1.0, dtype=None):
        return _kr.normal(shape, mean, stddev, dtype, self._seed)

    def uniform(self, shape, minval=0.0, maxval=1.0, dtype=None):
        return _kr.uniform(shape, minval, maxval, dtype, self._seed)
