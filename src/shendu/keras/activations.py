"""Keras activation functions by name (``activation='relu'``): :mod:`shendu.nn.functional`'s, under Keras's
names and argument names (the formulas are in their docstrings there).

from shendu.keras import activations
activations.get("relu")(x)        # max(x, 0)
"""

import shendu as sd

from ..nn import functional as F
from ..tensor import Tensor
from ._registry import Registry


def relu(x, negative_slope=0.0, max_value=None):
    """relu(x) = max(x, 0); with ``negative_slope`` a leaky ReLU, with ``max_value`` clipped above."""
    y = F.leaky_relu(x, negative_slope) if negative_slope else F.relu(x)
    return y if max_value is None else sd.clip(y, None, max_value)


def softmax(x, axis=-1):
    """softmax(x)_i = exp(x_i) / sum_j exp(x_j) along ``axis``."""
    return F.softmax(x, axis=axis)


def log_softmax(x, axis=-1):
    """log_softmax(x)_i = x_i - log sum_j exp(x_j)."""
    return F.log_softmax(x, axis=axis)


def linear(x):
    """linear(x) = x (no activation)."""
    return x if isinstance(x, Tensor) else Tensor(x)


def gelu(x, approximate=False):
    """gelu(x) = x * Phi(x) (the tanh approximation when ``approximate``)."""
    return F.gelu(x, approximate="tanh" if approximate else "none")


def leaky_relu(x, negative_slope=0.2):
    """leaky_relu(x) = x for x > 0, negative_slope * x otherwise (Keras's default slope 0.2)."""
    return F.leaky_relu(x, negative_slope=negative_slope)


def elu(x, alpha=1.0):
    """elu(x) = x for x > 0, alpha * (exp(x) - 1) otherwise."""
    return F.elu(x, alpha=alpha)


def exponential(x):
    """exponential(x) = exp(x)."""
    return sd.exp(linear(x))


def _keras_named(name, fn):
    """``fn`` with its one argument named as Keras names it (``x``) and Keras's name."""
    def activation(x):
        return fn(x)

    activation.__name__ = activation.__qualname__ = name
    activation.__doc__, activation.__module__ = fn.__doc__, __name__
    return activation


# Keras name -> the nn.functional function that computes it.
sigmoid, tanh = _keras_named("sigmoid", F.sigmoid), _keras_named("tanh", F.tanh)
selu, mish = _keras_named("selu", F.selu), _keras_named("mish", F.mish)
softplus, softsign = _keras_named("softplus", F.softplus), _keras_named("softsign", F.softsign)
swish = silu = _keras_named("swish", F.silu)
hard_sigmoid, relu6 = _keras_named("hard_sigmoid", F.hardsigmoid), _keras_named("relu6", F.relu6)

_BY_NAME = {f.__name__: f for f in (relu, sigmoid, tanh, softmax, log_softmax, linear, elu, selu, gelu,
                                     leaky_relu, softplus, softsign, swish, exponential, hard_sigmoid, relu6,
                                     mish)}
_BY_NAME["silu"] = swish
__all__ = [*_BY_NAME, "get", "serialize", "deserialize"]

_REGISTRY = Registry("activation", names=_BY_NAME, empty=linear, empty_name="linear")
get, serialize, deserialize = _REGISTRY.get, _REGISTRY.serialize, _REGISTRY.deserialize
