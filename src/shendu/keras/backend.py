"""Session-wide bookkeeping that Keras keeps in its backend: layer names and the float type.

Keras names layers after their class in snake case and numbers repeats: ``dense``, ``dense_1``,
``dense_2``... ``clear_session()`` starts the numbering again.
"""

import re
from collections import defaultdict

import numpy as np

from ..nn.functional import keras_epsilon

_name_counts = defaultdict(int)
_floatx = "float32"


def snake_case(name):
    """``Conv2D`` -> ``conv2d``, ``BatchNormalization`` -> ``batch_normalization`` (Keras's rule)."""
    s = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", s).lower()


def unique_name(base):
    """The next free name for ``base``: ``dense`` first, then ``dense_1``, ``dense_2``..."""
    n = _name_counts[base]
    _name_counts[base] += 1
    return base if n == 0 else f"{base}_{n}"


def clear_session():
    """Forget every automatic name (the next Dense is called ``dense`` again)."""
    _name_counts.clear()


def floatx():
    return _floatx


def set_floatx(value):
    global _floatx
    if value not in ("float32", "float64"):
        raise ValueError(f"set_floatx: expected 'float32' or 'float64', got {value!r}")
    _floatx = value


def epsilon():
    """The fuzz factor of the Keras losses (1e-7), kept by :func:`shendu.nn.functional.keras_epsilon`."""
    return keras_epsilon()


def set_epsilon(value):
    keras_epsilon(value)


def image_data_format():
    return "channels_last"


def int_shape(x):
    """The static shape of a tensor or symbolic tensor, as a tuple."""
    shape = getattr(x, "shape", None)
    return tuple(shape) if shape is not None else tuple(np.shape(x))


def count_params(x):
    return int(np.prod(int_shape(x)))


def random_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """tf.keras 2's ``backend.random_normal`` (:func:`shendu.keras.random.normal`)."""
    from .random import normal

    return normal(shape, mean, stddev, dtype, seed)
