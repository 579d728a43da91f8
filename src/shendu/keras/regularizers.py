"""Weight penalties (``kernel_regularizer=regularizers.l2(0.01)``), added to the loss during fit.

``L1(l1)(w) = l1 · Σ|w|``, ``L2(l2)(w) = l2 · Σw²``, ``L1L2`` adds both. Keras's defaults: 0.01.
"""

from ..nn import utils as _nn_utils
from ._registry import Registry, maker

__all__ = ["Regularizer", "L1", "L2", "L1L2", "l1", "l2", "l1_l2", "get", "serialize", "deserialize"]


class Regularizer:
    """A callable ``penalty = regularizer(weight)`` returning a scalar Tensor."""

    def __call__(self, x):
        return 0.0

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class L1(Regularizer):
    """l1 · Σ|w|."""

    def __init__(self, l1=0.01):
        self.l1 = float(l1)

    def __call__(self, x):
        return _nn_utils.l1_penalty(x, self.l1)

    def get_config(self):
        return {"l1": self.l1}


class L2(Regularizer):
    """l2 · Σw²."""

    def __init__(self, l2=0.01):
        self.l2 = float(l2)

    def __call__(self, x):
        return _nn_utils.l2_penalty(x, self.l2)

    def get_config(self):
        return {"l2": self.l2}


class L1L2(Regularizer):
    """l1 · Σ|w| + l2 · Σw² (class defaults 0, like Keras; the ``l1_l2`` helper defaults to 0.01 each)."""

    def __init__(self, l1=0.0, l2=0.0):
        self.l1, self.l2 = float(l1), float(l2)

    def __call__(self, x):
        out = 0.0
        if self.l1:
            out = _nn_utils.l1_penalty(x, self.l1)
        if self.l2:
            out = out + _nn_utils.l2_penalty(x, self.l2)
        return out

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


def l1(l1=0.01):  # noqa: E743
    return L1(l1)


def l2(l2=0.01):
    return L2(l2)


def l1_l2(l1=0.01, l2=0.01):  # noqa: E741
    return L1L2(l1, l2)


_REGISTRY = Registry(
    "regularizer",
    names={
        "l1": L1,
        "l2": L2,
        "l1_l2": maker(lambda: L1L2(0.01, 0.01)),
        "l1l2": maker(lambda: L1L2(0.01, 0.01)),
    },
    classes=(L1, L2, L1L2),
    base=Regularizer,
)


def get(identifier):
    """A Regularizer from None, an instance, a callable, a name ('l1', 'l2', 'l1_l2') or a config dict."""
    return _REGISTRY.get(identifier)


def serialize(reg):
    return _REGISTRY.serialize(reg)


def deserialize(config, custom_objects=None):
    return _REGISTRY.deserialize(config, custom_objects)
