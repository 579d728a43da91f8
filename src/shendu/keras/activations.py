"""Keras activation functions by name (``activation='relu'``), each one shendu op.

from shendu.keras import activations
activations.get("relu")(x)        # max(x, 0)
"""

import shendu as sd

from ..nn import functional as F
from ..tensor import Tensor
from ._registry import Registry

__all__ = [
    "relu",
    "sigmoid",
    "tanh",
    "softmax",
    "log_softmax",
    "linear",
    "elu",
    "selu",
    "gelu",
    "leaky_relu",
    "softplus",
    "softsign",
    "swish",
    "silu",
    "exponential",
    "hard_sigmoid",
    "relu6",
    "mish",
    "get",
    "serialize",
    "deserialize",
]


def _t(x):
    return x if isinstance(x, Tensor) else Tensor(x)


def relu(x, negative_slope=0.0, max_value=None):
    """relu(x) = max(x, 0); with ``negative_slope`` a leaky ReLU, with ``max_value`` clipped above."""
    x = _t(x)
    y = F.leaky_relu(x, negative_slope) if negative_slope else sd.relu(x)
    if max_value is not None:
        y = sd.clip(y, None, max_value)
    return y


def sigmoid(x):
    """sigmoid(x) = 1 / (1 + exp(-x))."""
    return sd.sigmoid(_t(x))


def tanh(x):
    """tanh(x) = (e^x - e^-x) / (e^x + e^-x)."""
    return sd.tanh(_t(x))


def softmax(x, axis=-1):
    """softmax(x)_i = exp(x_i) / sum_j exp(x_j) along ``axis``."""
    return sd.softmax(_t(x), axis=axis)


def log_softmax(x, axis=-1):
    """log_softmax(x)_i = x_i - log sum_j exp(x_j)."""
    return sd.log_softmax(_t(x), axis=axis)


def linear(x):
    """linear(x) = x (no activation)."""
    return _t(x)


def elu(x, alpha=1.0):
    """elu(x) = x for x > 0, alpha * (exp(x) - 1) otherwise."""
    return F.elu(_t(x), alpha=alpha)


def selu(x):
    """selu(x) = scale * elu(x, alpha) with Keras's constants alpha=1.67326..., scale=1.05070..."""
    return F.elu(_t(x), alpha=1.6732632423543772) * 1.0507009873554805


def gelu(x, approximate=False):
    """gelu(x) = x * Phi(x) (the tanh approximation when ``approximate``)."""
    return F.gelu(_t(x), approximate="tanh" if approximate else "none")


def leaky_relu(x, negative_slope=0.2):
    """leaky_relu(x) = x for x > 0, negative_slope * x otherwise (Keras's default slope 0.2)."""
    return F.leaky_relu(_t(x), negative_slope=negative_slope)


def softplus(x):
    """softplus(x) = log(1 + exp(x))."""
    return F.softplus(_t(x))


def softsign(x):
    """softsign(x) = x / (1 + |x|)."""
    x = _t(x)
    return x / (sd.abs(x) + 1.0)


def swish(x):
    """swish(x) = silu(x) = x * sigmoid(x)."""
    x = _t(x)
    return x * sd.sigmoid(x)


silu = swish


def exponential(x):
    """exponential(x) = exp(x)."""
    return sd.exp(_t(x))


def hard_sigmoid(x):
    """hard_sigmoid(x) = clip(x / 6 + 0.5, 0, 1) (Keras 3's definition)."""
    return sd.clip(_t(x) / 6.0 + 0.5, 0.0, 1.0)


def relu6(x):
    """relu6(x) = min(max(x, 0), 6)."""
    return sd.clip(_t(x), 0.0, 6.0)


def mish(x):
    """mish(x) = x · tanh(softplus(x))."""
    x = _t(x)
    return x * sd.tanh(F.softplus(x))


_BY_NAME = {
    f.__name__: f
    for f in (
        relu,
        sigmoid,
        tanh,
        softmax,
        log_softmax,
        linear,
        elu,
        selu,
        gelu,
        leaky_relu,
        softplus,
        softsign,
        swish,
        exponential,
        hard_sigmoid,
        relu6,
        mish,
    )
}
_BY_NAME["silu"] = swish


_REGISTRY = Registry("activation", names=_BY_NAME, empty=linear, empty_name="linear")


def get(identifier):
    """An activation function from a name ('relu'), a callable (kept as is) or None (linear)."""
    return _REGISTRY.get(identifier)


def serialize(fn):
    """The name a function is saved under (its Keras name, or its __name__)."""
    return _REGISTRY.serialize(fn)


def deserialize(name, custom_objects=None):
    return _REGISTRY.deserialize(name, custom_objects)
