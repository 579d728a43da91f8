"""Weight penalties (``kernel_regularizer=regularizers.l2(0.01)``), added to the loss during fit.

``L1(l1)(w) = l1 · Σ|w|``, ``L2(l2)(w) = l2 · Σw²``, ``L1L2`` adds both. Keras's defaults: 0.01."""

from ..nn import utils as _nn_utils
from ._registry import Configurable, Registry, maker

__all__ = ["Regularizer", "L1", "L2", "L1L2", "l1", "l2", "l1_l2", "get", "serialize", "deserialize"]


class Regularizer(Configurable):
    """A callable ``penalty = regularizer(weight)`` returning a scalar Tensor."""

    def __call__(self, x):
        return 0.0

    def __repr__(self):
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.get_config().items())})"


class L1L2(Regularizer):
    """l1 · Σ|w| + l2 · Σw² (class defaults 0, like Keras; the ``l1_l2`` helper defaults to 0.01 each)."""

    _params = ("l1", "l2")

    def __init__(self, l1=0.0, l2=0.0):
        self.l1, self.l2 = float(l1), float(l2)

    def __call__(self, x):
        only = self._params if len(self._params) == 1 else ()  # L1 / L2 always give their term
        out = _nn_utils.l1_penalty(x, self.l1) if self.l1 or "l1" in only else 0.0
        return out + _nn_utils.l2_penalty(x, self.l2) if self.l2 or "l2" in only else out


class L1(L1L2):
    """l1 · Σ|w|."""

    _params = ("l1",)

    def __init__(self, l1=0.01):
        super().__init__(l1, 0.0)


class L2(L1L2):
    """l2 · Σw²."""

    _params = ("l2",)

    def __init__(self, l2=0.01):
        super().__init__(0.0, l2)


l1, l2 = L1, L2


def l1_l2(l1=0.01, l2=0.01):  # noqa: E741
    return L1L2(l1, l2)


_L1L2 = maker(lambda: L1L2(0.01, 0.01))
_REGISTRY = Registry("regularizer", names={"l1": L1, "l2": L2, "l1_l2": _L1L2, "l1l2": _L1L2},
                     classes=(L1, L2, L1L2), base=Regularizer)
get, serialize, deserialize = _REGISTRY.get, _REGISTRY.serialize, _REGISTRY.deserialize
