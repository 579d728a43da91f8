"""Keras activation functions by name (``activation='relu'``): :mod:`shendu.nn.functional`'s, under Keras's
names and argument names (the formulas are in their docstrings there).

from shendu.keras import activations
activations.get("relu")(x)        # max(x, 0)
"""

import shendu as sd

from ..nn import functional as F
from ..tensor import Tensor
from ._registry import Registry
from .ops import _op as _keras_op


def relu(x, negative_slope=0.0, max_value=None):
    """relu(x) = max(x, 0); with ``negative_slope`` a leaky ReLU, with ``max_value`` clipped above."""
    y = F.leaky_relu(x, negative_slope) if negative_slope else F.relu(x)
    return y if max_value is None else sd.clip(y, None, max_value)


def linear(x):
    """linear(x) = x (no activation)."""
    return x if isinstance(x, Tensor) else Tensor(x)


def gelu(x, approximate=False):
    """gelu(x) = x * Phi(x) (the tanh approximation when ``approximate``)."""
    return F.gelu(x, approximate="tanh" if approximate else "none")


# Keras name -> (the nn.functional function that computes it, Keras's arguments, the formula when the
# function's own docstring does not say it with Keras's argument names).
_DECLARED = {
    "softmax": (F.softmax, "x, axis=-1", "softmax(x)_i = exp(x_i) / sum_j exp(x_j) along ``axis``."),
    "log_softmax": (F.log_softmax, "x, axis=-1", "log_softmax(x)_i = x_i - log sum_j exp(x_j)."),
    "leaky_relu": (F.leaky_relu, "x, negative_slope=0.2",
                   "leaky_relu(x) = x for x > 0, negative_slope * x otherwise (Keras's default slope 0.2)."),
    "elu": (F.elu, "x, alpha=1.0", "elu(x) = x for x > 0, alpha * (exp(x) - 1) otherwise."),
    "exponential": (sd.exp, "x", "exponential(x) = exp(x)."),
    **{name: (fn, "x", fn.__doc__) for name, fn in (
        ("sigmoid", F.sigmoid), ("tanh", F.tanh), ("selu", F.selu), ("mish", F.mish), ("relu6", F.relu6),
        ("softplus", F.softplus), ("softsign", F.softsign), ("swish", F.silu),
        ("hard_sigmoid", F.hardsigmoid))}}


def _declared(name, fn, params, doc):
    """``fn`` under Keras's name and signature ``params`` (keras.ops's adapter), documented by ``doc``."""
    activation = _keras_op(name, fn, params)
    activation.__doc__, activation.__module__ = doc, __name__
    return activation


globals().update({name: _declared(name, *row) for name, row in _DECLARED.items()})
silu = globals()["swish"]
_BY_NAME = {f.__name__: f for f in (relu, linear, gelu)}
_BY_NAME.update({name: globals()[name] for name in _DECLARED}, silu=silu)
__all__ = [*_BY_NAME, "get", "serialize", "deserialize"]

_REGISTRY = Registry("activation", names=_BY_NAME, empty=linear, empty_name="linear")
get, serialize, deserialize = _REGISTRY.get, _REGISTRY.serialize, _REGISTRY.deserialize
