"""Keras losses: functions ``loss(y_true, y_pred) -> per-sample values`` and ``Loss`` classes.

Keras's argument order is (y_true, y_pred); a Loss object reduces per-sample values as Keras does
("sum_over_batch_size": sum(w·ℓ) / N, by :func:`shendu.nn.functional.sample_weighted_reduce`). Every
formula is :mod:`shendu.nn.functional`'s Keras-named loss of the same name (the cross-entropies take
probabilities, clipped at 1e-7, unless ``from_logits=True``); this module only maps names and arguments."""

import numpy as np

from ..nn import functional as F
from ..tensor import Tensor
from . import backend
from ._registry import Configurable, Registry


def _t(x):
    return x if isinstance(x, Tensor) else Tensor(np.asarray(x))


def _per_sample(fn):
    """Keras's per-sample loss function (y_true, y_pred, ...) -> one value per sample, over ``F.<name>``."""
    def loss(y_true, y_pred, *args, **kwargs):
        return fn(y_true, y_pred, *args, reduction="none", **kwargs)

    loss.__name__ = loss.__qualname__ = fn.__name__
    loss.__doc__, loss.__module__ = fn.__doc__, __name__
    return loss


def squeeze_or_expand_to_same_rank(x1, x2, expand_rank_1=True):
    """Keras's rule before a loss function sees its arguments: when one rank exceeds the other by one
    and that one's last axis is 1, squeeze it, or, when the other is 1-D, add a trailing axis to the
    other instead (labels (N,) with predictions (N, 1) become (N, 1))."""
    x1, x2 = _t(x1), _t(x2)
    r1, r2 = x1.ndim, x2.ndim
    if r1 == r2 + 1 and x1.shape[-1] == 1:
        return (x1, x2.unsqueeze(-1)) if r2 == 1 and expand_rank_1 else (x1.squeeze(-1), x2)
    if r2 == r1 + 1 and x2.shape[-1] == 1:
        return (x1.unsqueeze(-1), x2) if r1 == 1 and expand_rank_1 else (x1, x2.squeeze(-1))
    return x1, x2


# ----- Loss classes ------------------------------------------------------------------------------
class Loss(Configurable):
    """Base class: subclasses define ``call(y_true, y_pred) -> per-sample Tensor``.

    ``loss(y_true, y_pred, sample_weight=None)`` reduces by ``reduction``: 'sum_over_batch_size'
    (Keras's default, the mean), 'sum' or 'none'."""

    def __init__(self, name=None, reduction="sum_over_batch_size", dtype=None):
        if reduction in ("auto", None):
            reduction = "sum_over_batch_size"
        if reduction not in ("sum_over_batch_size", "sum", "none", "mean"):
            raise ValueError(f"{type(self).__name__}: reduction must be 'sum_over_batch_size', 'sum' or "
                             f"'none', got {reduction!r}")
        self.name, self.reduction = name or backend.snake_case(type(self).__name__), reduction

    def call(self, y_true, y_pred):
        raise NotImplementedError(f"{type(self).__name__} must define call(y_true, y_pred)")

    def __call__(self, y_true, y_pred, sample_weight=None):
        return F.sample_weighted_reduce(self.call(y_true, y_pred), sample_weight, self.reduction)

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction}


class LossFunctionWrapper(Loss):
    """A Loss made from a per-sample function ``fn(y_true, y_pred, **kwargs)``."""

    def __init__(self, fn, name=None, reduction="sum_over_batch_size", **kwargs):
        super().__init__(name=name or getattr(fn, "__name__", None), reduction=reduction)
        self.fn, self._fn_kwargs = fn, kwargs

    def call(self, y_true, y_pred):
        return self.fn(y_true, y_pred, **self._fn_kwargs)

    def get_config(self):
        return {**super().get_config(), **self._fn_kwargs}


def _loss_class(class_name, fn, default_name, params=()):
    """A Loss class over ``fn`` whose constructor takes ``params`` [(name, default), ...]."""
    defaults = dict(params)

    def __init__(self, *args, reduction="sum_over_batch_size", name=default_name, **kwargs):
        if unknown := set(kwargs) - set(defaults) - {"dtype"}:
            raise TypeError(f"{class_name}: unexpected keyword argument(s) {sorted(unknown)}")
        options = {**defaults, **dict(zip(defaults, args)), **{k: kwargs[k] for k in defaults if k in kwargs}}
        LossFunctionWrapper.__init__(self, fn, name=name, reduction=reduction, **options)
        for key, value in options.items():
            setattr(self, key, value)

    return type(class_name, (LossFunctionWrapper,), {"__init__": __init__, "_default_name": default_name,
                                                     "__doc__": f"Keras's ``{class_name}``: {fn.__doc__}",
                                                     "__module__": __name__})


_CROSSENTROPY = [("from_logits", False), ("label_smoothing", 0.0), ("axis", -1)]
# Keras's per-sample loss function (nn.functional's of that name), its Loss class and the class's
# arguments with Keras's defaults; the class's default name is the function's (Huber's is "huber_loss").
_TABLE = [
    ("categorical_crossentropy", "CategoricalCrossentropy", _CROSSENTROPY),
    ("sparse_categorical_crossentropy", "SparseCategoricalCrossentropy",
     [("from_logits", False), ("ignore_class", None), ("axis", -1)]),
    ("binary_crossentropy", "BinaryCrossentropy", _CROSSENTROPY), ("huber", "Huber", [("delta", 1.0)]),
    ("mean_squared_error", "MeanSquaredError", ()), ("mean_absolute_error", "MeanAbsoluteError", ()),
    ("mean_absolute_percentage_error", "MeanAbsolutePercentageError", ()),
    ("mean_squared_logarithmic_error", "MeanSquaredLogarithmicError", ()),
    ("kl_divergence", "KLDivergence", ()), ("hinge", "Hinge", ()), ("squared_hinge", "SquaredHinge", ()),
    ("categorical_hinge", "CategoricalHinge", ()), ("log_cosh", "LogCosh", ()), ("poisson", "Poisson", ()),
    ("cosine_similarity", "CosineSimilarity", [("axis", -1)])]
_FUNCTIONS = {name: _per_sample(getattr(F, name)) for name, _, _ in _TABLE}
_CLASSES = {cls: _loss_class(cls, _FUNCTIONS[fn], "huber_loss" if fn == "huber" else fn, params)
            for fn, cls, params in _TABLE}


class SparseCategoricalCrossentropy(_CLASSES["SparseCategoricalCrossentropy"]):
    """Keras's ``SparseCategoricalCrossentropy``: −log p̂_y for integer labels y in [0, classes).

    A label outside that range raises a ValueError. ``ignore_class=k`` (for instance the "void" class -1
    or 255 of segmentation maps) gives labels k zero loss, and the 'sum_over_batch_size' reduction then
    averages over the other labels only, as Keras's mask does. No label is ignored by default."""

    def __call__(self, y_true, y_pred, sample_weight=None):
        value = super().__call__(y_true, y_pred, sample_weight)
        if self.ignore_class is None or self.reduction not in ("sum_over_batch_size", "mean"):
            return value
        labels = np.asarray(getattr(y_true, "array", y_true))
        kept = int((labels != self.ignore_class).sum())
        return value * (labels.size / max(kept, 1))  # mean over all labels -> mean over the kept ones


_CLASSES["SparseCategoricalCrossentropy"] = SparseCategoricalCrossentropy
_CANONICAL = {  # alias -> Keras name
    "mse": "mean_squared_error", "mae": "mean_absolute_error", "mape": "mean_absolute_percentage_error",
    "msle": "mean_squared_logarithmic_error", "huber_loss": "huber", "kld": "kl_divergence",
    "kullback_leibler_divergence": "kl_divergence", "logcosh": "log_cosh"}
globals().update({**_FUNCTIONS, **_CLASSES})
globals().update({alias: _FUNCTIONS[name] for alias, name in _CANONICAL.items() if alias != "huber_loss"})
globals().update({alias.upper(): globals()[alias] for alias in ("mse", "mae", "mape", "msle", "kld")})
_FUNCTIONS.update({alias: _FUNCTIONS[name] for alias, name in _CANONICAL.items()})


_REGISTRY = Registry("loss", names=_FUNCTIONS, classes=_CLASSES.values(), base=Loss,
                     any_instance_config=False)
get, serialize, deserialize = _REGISTRY.get, _REGISTRY.serialize, _REGISTRY.deserialize
__all__ = ["Loss", "LossFunctionWrapper", *_CLASSES, *(n for n in _FUNCTIONS if n in globals()), "get",
           "serialize", "deserialize"]


def loss_class(name):
    """The Loss class of a loss function's name ('binary_crossentropy' -> BinaryCrossentropy), or None."""
    name = canonical_name(name)
    return next((c for c in _CLASSES.values() if c._default_name in (name, f"{name}_loss")), None)


def canonical_name(identifier):
    """The Keras name of a loss identifier ('mse' -> 'mean_squared_error'), for logs and metric choice."""
    if isinstance(identifier, str):
        key = identifier.strip()
        if key in _CLASSES:
            return _CLASSES[key]._default_name
        return _CANONICAL.get(key.lower(), key.lower())
    if isinstance(identifier, Loss):
        return getattr(type(identifier), "_default_name", None) or identifier.name
    return getattr(identifier, "__name__", type(identifier).__name__)
