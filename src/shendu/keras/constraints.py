"""Keras weight constraints (``Dense(64, kernel_constraint=constraints.MaxNorm(3))``): after every
optimizer step the weight is replaced by ``constraint(weight)`` in Keras's layout. The projections are
:mod:`shendu.nn.constraints`'; any callable ``f(w) -> w`` works as well."""

from ..nn import constraints as _c
from ._registry import Registry

__all__ = ["Constraint", "MaxNorm", "NonNeg", "UnitNorm", "MinMaxNorm", "get", "serialize", "deserialize"]


class Constraint:
    """Base class: ``__call__(w)`` returns the projected weight; ``get_config()`` its arguments."""

    def __call__(self, w):
        return w

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class MaxNorm(Constraint):
    """Caps the norm over ``axis`` at ``max_value``: w · min(‖w‖, c) / (ε + ‖w‖)."""

    def __init__(self, max_value=2, axis=0):
        self.max_value, self.axis = max_value, axis

    def __call__(self, w):
        return _c.max_norm(w, self.max_value, self.axis)

    def get_config(self):
        return {"max_value": self.max_value, "axis": self.axis}


class NonNeg(Constraint):
    """Sets negative entries to zero."""

    def __call__(self, w):
        return _c.non_neg(w)


class UnitNorm(Constraint):
    """Scales the norm over ``axis`` to 1."""

    def __init__(self, axis=0):
        self.axis = axis

    def __call__(self, w):
        return _c.unit_norm(w, self.axis)

    def get_config(self):
        return {"axis": self.axis}


class MinMaxNorm(Constraint):
    """Moves the norm over ``axis`` into [min_value, max_value] at ``rate`` (1: at once)."""

    def __init__(self, min_value=0.0, max_value=1.0, rate=1.0, axis=0):
        self.min_value, self.max_value, self.rate, self.axis = min_value, max_value, rate, axis

    def __call__(self, w):
        return _c.min_max_norm(w, self.min_value, self.max_value, self.rate, self.axis)

    def get_config(self):
        return {"min_value": self.min_value, "max_value": self.max_value, "rate": self.rate,
                "axis": self.axis}


max_norm, non_neg, unit_norm, min_max_norm = MaxNorm, NonNeg, UnitNorm, MinMaxNorm

_REGISTRY = Registry(
    "constraint",
    names={"max_norm": MaxNorm, "non_neg": NonNeg, "unit_norm": UnitNorm, "min_max_norm": MinMaxNorm,
           "maxnorm": MaxNorm, "nonneg": NonNeg, "unitnorm": UnitNorm},
    classes=(MaxNorm, NonNeg, UnitNorm, MinMaxNorm),
    base=Constraint,
)


get, serialize, deserialize = _REGISTRY.get, _REGISTRY.serialize, _REGISTRY.deserialize
