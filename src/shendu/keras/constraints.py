"""Keras weight constraints (``Dense(64, kernel_constraint=constraints.MaxNorm(3))``): after every
optimizer step the weight is replaced by ``constraint(weight)`` in Keras's layout. The projections are
:mod:`shendu.nn.constraints`'; each class here only names one and its Keras arguments. Any callable
``f(w) -> w`` works as well."""

from ..nn import constraints as _c
from ._registry import Configurable, Registry

__all__ = ["Constraint", "MaxNorm", "NonNeg", "UnitNorm", "MinMaxNorm", "get", "serialize", "deserialize"]


class Constraint(Configurable):
    """Base class: ``__call__(w)`` returns the projected weight; ``get_config()`` its arguments.

    Declared constraints list their Keras arguments in ``_params`` (name → default) and project with
    ``_project(w, **arguments)``; a subclass may instead override ``__call__``."""

    _project = None

    def __call__(self, w):
        return w if self._project is None else type(self)._project(w, **self.get_config())


def _declare(name, params, project, doc):
    return type(name, (Constraint,), {"__doc__": doc, "_params": params, "_project": staticmethod(project),
                                      "__module__": __name__})


# Keras name, its arguments with Keras's defaults, and the nn.constraints projection.
MaxNorm = _declare("MaxNorm", {"max_value": 2, "axis": 0}, _c.max_norm,
                   "Caps the norm over ``axis`` at ``max_value``: w · min(‖w‖, c) / (ε + ‖w‖).")
NonNeg = _declare("NonNeg", {}, _c.non_neg, "Sets negative entries to zero.")
UnitNorm = _declare("UnitNorm", {"axis": 0}, _c.unit_norm, "Scales the norm over ``axis`` to 1.")
MinMaxNorm = _declare("MinMaxNorm", {"min_value": 0.0, "max_value": 1.0, "rate": 1.0, "axis": 0},
                      _c.min_max_norm, "Moves the norm over ``axis`` into [min_value, max_value] at rate.")
max_norm, non_neg, unit_norm, min_max_norm = MaxNorm, NonNeg, UnitNorm, MinMaxNorm

_REGISTRY = Registry("constraint", classes=(MaxNorm, NonNeg, UnitNorm, MinMaxNorm), base=Constraint, names={
    "max_norm": MaxNorm, "non_neg": NonNeg, "unit_norm": UnitNorm, "min_max_norm": MinMaxNorm,
    "maxnorm": MaxNorm, "nonneg": NonNeg, "unitnorm": UnitNorm})
get, serialize, deserialize = _REGISTRY.get, _REGISTRY.serialize, _REGISTRY.deserialize
