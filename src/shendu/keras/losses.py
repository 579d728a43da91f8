"""Keras losses: functions ``loss(y_true, y_pred) -> per-sample values`` and ``Loss`` classes.

Keras's argument order is (y_true, y_pred); a Loss object reduces per-sample values as Keras does
("sum_over_batch_size": sum(w·ℓ) / N, by :func:`shendu.nn.functional.sample_weighted_reduce`). Every
formula is :mod:`shendu.nn.functional`'s Keras-named loss of the same name (the cross-entropies take
probabilities, clipped at 1e-7, unless ``from_logits=True``); this module only maps names and arguments."""

import numpy as np

from ..nn import functional as F
from ..tensor import Tensor
from . import backend
from ._registry import Registry


def _t(x):
    return x if isinstance(x, Tensor) else Tensor(np.asarray(x))


def _per_sample(fn):
    """Keras's per-sample loss function (y_true, y_pred, ...) -> one value per sample, over ``F.<name>``."""
    def loss(y_true, y_pred, *args, **kwargs):
        return fn(y_true, y_pred, *args, reduction="none", **kwargs)

    loss.__name__ = loss.__qualname__ = fn.__name__
    loss.__doc__, loss.__module__ = fn.__doc__, __name__
    return loss


# ----- per-sample loss functions (Keras order: y_true, y_pred); the formulas are nn.functional's -------
categorical_crossentropy = _per_sample(F.categorical_crossentropy)
sparse_categorical_crossentropy = _per_sample(F.sparse_categorical_crossentropy)
binary_crossentropy = _per_sample(F.binary_crossentropy)
mean_squared_error = _per_sample(F.mean_squared_error)
mean_absolute_error = _per_sample(F.mean_absolute_error)
mean_absolute_percentage_error = _per_sample(F.mean_absolute_percentage_error)
mean_squared_logarithmic_error = _per_sample(F.mean_squared_logarithmic_error)
huber = _per_sample(F.huber)
kl_divergence = _per_sample(F.kl_divergence)
hinge = _per_sample(F.hinge)
squared_hinge = _per_sample(F.squared_hinge)
categorical_hinge = _per_sample(F.categorical_hinge)
log_cosh = _per_sample(F.log_cosh)
poisson = _per_sample(F.poisson)
cosine_similarity = _per_sample(F.cosine_similarity)


mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error
kld = KLD = kullback_leibler_divergence = kl_divergence
logcosh = log_cosh


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
class Loss:
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

    @classmethod
    def from_config(cls, config):
        return cls(**config)


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
                                                     "__doc__": f"Keras's ``{class_name}``: {fn.__doc__}"})


CategoricalCrossentropy = _loss_class("CategoricalCrossentropy", categorical_crossentropy,
                                      "categorical_crossentropy",
                                      [("from_logits", False), ("label_smoothing", 0.0), ("axis", -1)])
_SparseCategoricalCrossentropy = _loss_class("SparseCategoricalCrossentropy", sparse_categorical_crossentropy,
                                             "sparse_categorical_crossentropy",
                                             [("from_logits", False), ("ignore_class", None), ("axis", -1)])


class SparseCategoricalCrossentropy(_SparseCategoricalCrossentropy):
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


BinaryCrossentropy = _loss_class("BinaryCrossentropy", binary_crossentropy, "binary_crossentropy",
                                 [("from_logits", False), ("label_smoothing", 0.0), ("axis", -1)])
MeanSquaredError = _loss_class("MeanSquaredError", mean_squared_error, "mean_squared_error")
MeanAbsoluteError = _loss_class("MeanAbsoluteError", mean_absolute_error, "mean_absolute_error")
MeanAbsolutePercentageError = _loss_class("MeanAbsolutePercentageError", mean_absolute_percentage_error,
                                          "mean_absolute_percentage_error")
MeanSquaredLogarithmicError = _loss_class("MeanSquaredLogarithmicError", mean_squared_logarithmic_error,
                                          "mean_squared_logarithmic_error")
Huber = _loss_class("Huber", huber, "huber_loss", [("delta", 1.0)])
KLDivergence = _loss_class("KLDivergence", kl_divergence, "kl_divergence")
Hinge = _loss_class("Hinge", hinge, "hinge")
SquaredHinge = _loss_class("SquaredHinge", squared_hinge, "squared_hinge")
CategoricalHinge = _loss_class("CategoricalHinge", categorical_hinge, "categorical_hinge")
LogCosh = _loss_class("LogCosh", log_cosh, "log_cosh")
Poisson = _loss_class("Poisson", poisson, "poisson")
CosineSimilarity = _loss_class("CosineSimilarity", cosine_similarity, "cosine_similarity", [("axis", -1)])
_LOSS_CLASSES = (CategoricalCrossentropy, SparseCategoricalCrossentropy, BinaryCrossentropy, MeanSquaredError,
                 MeanAbsoluteError, MeanAbsolutePercentageError, MeanSquaredLogarithmicError, Huber,
                 KLDivergence, Hinge, SquaredHinge, CategoricalHinge, LogCosh, Poisson, CosineSimilarity)
for _cls in _LOSS_CLASSES:
    _cls.__module__ = __name__

_CLASSES = {c.__name__: c for c in _LOSS_CLASSES}
_CANONICAL = {  # alias -> Keras name
    "mse": "mean_squared_error", "mae": "mean_absolute_error", "mape": "mean_absolute_percentage_error",
    "msle": "mean_squared_logarithmic_error", "huber_loss": "huber", "kld": "kl_divergence",
    "kullback_leibler_divergence": "kl_divergence", "logcosh": "log_cosh"}
_FUNCTIONS = {fn.__name__: fn for fn in (
    categorical_crossentropy, sparse_categorical_crossentropy, binary_crossentropy, mean_squared_error,
    mean_absolute_error, mean_absolute_percentage_error, mean_squared_logarithmic_error, huber, kl_divergence,
    hinge, squared_hinge, categorical_hinge, log_cosh, poisson, cosine_similarity)}
_FUNCTIONS.update({alias: _FUNCTIONS[name] for alias, name in _CANONICAL.items()})


_REGISTRY = Registry("loss", names=_FUNCTIONS, classes=_LOSS_CLASSES, base=Loss, any_instance_config=False)
get, serialize, deserialize = _REGISTRY.get, _REGISTRY.serialize, _REGISTRY.deserialize
__all__ = ["Loss", "LossFunctionWrapper", *_CLASSES, *(n for n in _FUNCTIONS if n in globals()), "get",
           "serialize", "deserialize"]


def loss_class(name):
    """The Loss class of a loss function's name ('binary_crossentropy' -> BinaryCrossentropy), or None."""
    name = canonical_name(name)
    return next((c for c in _LOSS_CLASSES if c._default_name in (name, f"{name}_loss")), None)


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
