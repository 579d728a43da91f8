"""Keras losses: functions ``loss(y_true, y_pred) -> per-sample values`` and ``Loss`` classes.

Keras's argument order is (y_true, y_pred); a Loss object reduces per-sample values as Keras does
("sum_over_batch_size": sum(w·ℓ) / N). The cross-entropies are :mod:`shendu.nn.functional`'s
Keras-flavoured ones (probabilities in, clipped at 1e-7, unless ``from_logits=True``); the others
are a few shendu ops each.
"""

import math

import numpy as np

from .. import ops
from ..nn import functional as F
from ..tensor import Tensor
from . import backend

__all__ = [
    "Loss",
    "LossFunctionWrapper",
    "CategoricalCrossentropy",
    "SparseCategoricalCrossentropy",
    "BinaryCrossentropy",
    "MeanSquaredError",
    "MeanAbsoluteError",
    "MeanAbsolutePercentageError",
    "MeanSquaredLogarithmicError",
    "Huber",
    "KLDivergence",
    "Hinge",
    "SquaredHinge",
    "CategoricalHinge",
    "LogCosh",
    "Poisson",
    "CosineSimilarity",
    "categorical_crossentropy",
    "sparse_categorical_crossentropy",
    "binary_crossentropy",
    "mean_squared_error",
    "mean_absolute_error",
    "mean_absolute_percentage_error",
    "mean_squared_logarithmic_error",
    "huber",
    "kl_divergence",
    "hinge",
    "squared_hinge",
    "categorical_hinge",
    "log_cosh",
    "logcosh",
    "poisson",
    "cosine_similarity",
    "mse",
    "mae",
    "mape",
    "msle",
    "kld",
    "kullback_leibler_divergence",
    "get",
    "serialize",
    "deserialize",
]


def _t(x):
    return x if isinstance(x, Tensor) else Tensor(np.asarray(x))


def _pair(y_true, y_pred):
    """Tensors with Keras's shape rule (a trailing size-1 axis on one side is added/removed) and y_true
    cast to y_pred's float dtype."""
    y_pred, y_true = _t(y_pred), _t(y_true)
    if y_true.ndim == y_pred.ndim - 1 and y_pred.shape[-1] == 1:
        y_true = ops.reshape(y_true, tuple(y_true.shape) + (1,))
    elif y_true.ndim == y_pred.ndim + 1 and y_true.shape[-1] == 1:
        y_true = ops.reshape(y_true, tuple(y_true.shape[:-1]))
    if y_true.dtype != y_pred.dtype:
        y_true = ops.cast(y_true, y_pred.dtype)
    return y_true, y_pred


def _last_mean(t):
    return ops.mean(t, axis=-1) if t.ndim >= 2 else t


# ----- per-sample loss functions (Keras order: y_true, y_pred) -----------------------------------
def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """−Σ_c y_c·log p̂_c with p̂ = clip(p / Σp, 1e-7, 1 − 1e-7), one value per sample."""
    return F.categorical_crossentropy(
        y_true, y_pred, from_logits=from_logits, label_smoothing=label_smoothing, axis=axis, reduction="none"
    )


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, ignore_class=None, axis=-1):
    """−log p̂_y for integer labels y (shape (N,) or (N, 1))."""
    return F.sparse_categorical_crossentropy(
        y_true, y_pred, from_logits=from_logits, axis=axis, ignore_class=ignore_class, reduction="none"
    )


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """−mean over the last axis of [y·log p̂ + (1 − y)·log(1 − p̂)], p̂ = clip(p, 1e-7, 1 − 1e-7)."""
    return F.binary_crossentropy(
        y_true, y_pred, from_logits=from_logits, label_smoothing=label_smoothing, axis=axis, reduction="none"
    )


def mean_squared_error(y_true, y_pred):
    """mean over the last axis of (y − p)²."""
    y_true, y_pred = _pair(y_true, y_pred)
    return _last_mean(F.mse_loss(y_pred, y_true, reduction="none"))


def mean_absolute_error(y_true, y_pred):
    """mean over the last axis of |y − p|."""
    y_true, y_pred = _pair(y_true, y_pred)
    return _last_mean(F.l1_loss(y_pred, y_true, reduction="none"))


def mean_absolute_percentage_error(y_true, y_pred):
    """100 · mean |y − p| / max(|y|, ε)."""
    y_true, y_pred = _pair(y_true, y_pred)
    diff = ops.abs(y_true - y_pred) / ops.clip(ops.abs(y_true), backend.epsilon(), None)
    return _last_mean(diff) * 100.0


def mean_squared_logarithmic_error(y_true, y_pred):
    """mean (log(max(p, ε) + 1) − log(max(y, ε) + 1))²."""
    y_true, y_pred = _pair(y_true, y_pred)
    eps = backend.epsilon()
    d = ops.log(ops.clip(y_pred, eps, None) + 1.0) - ops.log(ops.clip(y_true, eps, None) + 1.0)
    return _last_mean(d * d)


def huber(y_true, y_pred, delta=1.0):
    """mean of ½x² where |x| ≤ δ, δ(|x| − ½δ) elsewhere (x = p − y)."""
    y_true, y_pred = _pair(y_true, y_pred)
    return _last_mean(F.huber_loss(y_pred, y_true, reduction="none", delta=delta))


def kl_divergence(y_true, y_pred):
    """Σ y·log(y / p) over the last axis, both clipped to [ε, 1]."""
    y_true, y_pred = _pair(y_true, y_pred)
    eps = backend.epsilon()
    y = ops.clip(y_true, eps, 1.0)
    p = ops.clip(y_pred, eps, 1.0)
    return ops.sum(y * ops.log(y / p), axis=-1)


def _signed(y_true):
    """Labels in {0, 1} become {−1, 1}, as Keras's hinge losses do."""
    data = y_true.array
    if data.size and np.all((data == 0) | (data == 1)):
        return y_true * 2.0 - 1.0
    return y_true


def hinge(y_true, y_pred):
    """mean max(1 − y·p, 0), y in {−1, 1} (0/1 labels converted)."""
    y_true, y_pred = _pair(y_true, y_pred)
    return _last_mean(ops.relu(1.0 - _signed(y_true) * y_pred))


def squared_hinge(y_true, y_pred):
    """mean max(1 − y·p, 0)²."""
    y_true, y_pred = _pair(y_true, y_pred)
    h = ops.relu(1.0 - _signed(y_true) * y_pred)
    return _last_mean(h * h)


def categorical_hinge(y_true, y_pred):
    """max(max_c (1 − y)·p − Σ y·p + 1, 0)."""
    y_true, y_pred = _pair(y_true, y_pred)
    pos = ops.sum(y_true * y_pred, axis=-1)
    neg = ops.max((1.0 - y_true) * y_pred, axis=-1)
    return ops.relu(neg - pos + 1.0)


def log_cosh(y_true, y_pred):
    """mean log(cosh(x)) = x + softplus(−2x) − log 2, x = p − y."""
    y_true, y_pred = _pair(y_true, y_pred)
    x = y_pred - y_true
    return _last_mean(x + ops.softplus(x * -2.0) - math.log(2.0))


def poisson(y_true, y_pred):
    """mean p − y·log(p + ε)."""
    y_true, y_pred = _pair(y_true, y_pred)
    return _last_mean(y_pred - y_true * ops.log(y_pred + backend.epsilon()))


def cosine_similarity(y_true, y_pred, axis=-1):
    """−Σ ŷ·p̂ with both L2-normalised along ``axis`` (−1 means perfectly aligned)."""
    y_true, y_pred = _pair(y_true, y_pred)

    def unit(v):
        return v / ops.sqrt(ops.clip(ops.sum(v * v, axis=axis, keepdims=True), 1e-12, None))

    return -ops.sum(unit(y_true) * unit(y_pred), axis=axis)


mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error
kld = KLD = kullback_leibler_divergence = kl_divergence
logcosh = log_cosh


# ----- Loss classes ------------------------------------------------------------------------------
class Loss:
    """Base class: subclasses define ``call(y_true, y_pred) -> per-sample Tensor``.

    ``loss(y_true, y_pred, sample_weight=None)`` reduces by ``reduction``: 'sum_over_batch_size'
    (Keras's default, the mean), 'sum' or 'none'.
    """

    def __init__(self, name=None, reduction="sum_over_batch_size", dtype=None):
        if reduction in ("auto", None):
            reduction = "sum_over_batch_size"
        if reduction not in ("sum_over_batch_size", "sum", "none", "mean"):
            raise ValueError(
                f"{type(self).__name__}: reduction must be 'sum_over_batch_size', 'sum' or 'none', "
                f"got {reduction!r}"
            )
        self.name = name or backend.snake_case(type(self).__name__)
        self.reduction = reduction

    def call(self, y_true, y_pred):
        raise NotImplementedError(f"{type(self).__name__} must define call(y_true, y_pred)")

    def __call__(self, y_true, y_pred, sample_weight=None):
        per = _t(self.call(y_true, y_pred))
        if per.ndim > 1:
            per = ops.mean(ops.reshape(per, (per.shape[0], -1)), axis=1)
        if sample_weight is not None:
            w = np.asarray(getattr(sample_weight, "array", sample_weight), dtype=per.dtype)
            per = per * Tensor(w.reshape(per.shape) if w.size == per.array.size else w)
        if self.reduction == "none":
            return per
        if self.reduction == "sum":
            return ops.sum(per)
        return ops.sum(per) / max(1, per.shape[0]) if per.ndim else per

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class LossFunctionWrapper(Loss):
    """A Loss made from a per-sample function ``fn(y_true, y_pred, **kwargs)``."""

    def __init__(self, fn, name=None, reduction="sum_over_batch_size", **kwargs):
        super().__init__(name=name or getattr(fn, "__name__", None), reduction=reduction)
        self.fn = fn
        self._fn_kwargs = kwargs

    def call(self, y_true, y_pred):
        return self.fn(y_true, y_pred, **self._fn_kwargs)

    def get_config(self):
        return {**super().get_config(), **self._fn_kwargs}


def _loss_class(class_name, fn, default_name, params=()):
    """A Loss class over ``fn`` whose constructor takes ``params`` [(name, default), ...]."""
    defaults = dict(params)

    def __init__(self, *args, reduction="sum_over_batch_size", name=default_name, **kwargs):
        options = dict(defaults)
        for (key, _), value in zip(params, args):
            options[key] = value
        unknown = set(kwargs) - set(defaults) - {"dtype"}
        if unknown:
            raise TypeError(f"{class_name}: unexpected keyword argument(s) {sorted(unknown)}")
        options.update({k: v for k, v in kwargs.items() if k in defaults})
        LossFunctionWrapper.__init__(self, fn, name=name, reduction=reduction, **options)
        for key, value in options.items():
            setattr(self, key, value)

    return type(
        class_name,
        (LossFunctionWrapper,),
        {
            "__init__": __init__,
            "__doc__": f"Keras's ``{class_name}``: {fn.__doc__}",
            "_default_name": default_name,
        },
    )


CategoricalCrossentropy = _loss_class(
    "CategoricalCrossentropy",
    categorical_crossentropy,
    "categorical_crossentropy",
    [("from_logits", False), ("label_smoothing", 0.0), ("axis", -1)],
)
_SparseCategoricalCrossentropy = _loss_class(
    "SparseCategoricalCrossentropy",
    sparse_categorical_crossentropy,
    "sparse_categorical_crossentropy",
    [("from_logits", False), ("ignore_class", None), ("axis", -1)],
)


class SparseCategoricalCrossentropy(_SparseCategoricalCrossentropy):
    """Keras's ``SparseCategoricalCrossentropy``: −log p̂_y for integer labels y in [0, classes).

    A label outside that range raises a ValueError. ``ignore_class=k`` (for instance the "void" class -1
    or 255 of segmentation maps) gives labels k zero loss, and the 'sum_over_batch_size' reduction then
    averages over the other labels only, as Keras's mask does. No label is ignored by default.
    """

    def __call__(self, y_true, y_pred, sample_weight=None):
        value = super().__call__(y_true, y_pred, sample_weight)
        if self.ignore_class is None or self.reduction not in ("sum_over_batch_size", "mean"):
            return value
        labels = np.asarray(getattr(y_true, "array", y_true))
        kept = int((labels != self.ignore_class).sum())
        return value * (labels.size / max(kept, 1))  # mean over all labels -> mean over the kept ones
BinaryCrossentropy = _loss_class(
    "BinaryCrossentropy",
    binary_crossentropy,
    "binary_crossentropy",
    [("from_logits", False), ("label_smoothing", 0.0), ("axis", -1)],
)
MeanSquaredError = _loss_class("MeanSquaredError", mean_squared_error, "mean_squared_error")
MeanAbsoluteError = _loss_class("MeanAbsoluteError", mean_absolute_error, "mean_absolute_error")
MeanAbsolutePercentageError = _loss_class(
    "MeanAbsolutePercentageError", mean_absolute_percentage_error, "mean_absolute_percentage_error"
)
MeanSquaredLogarithmicError = _loss_class(
    "MeanSquaredLogarithmicError", mean_squared_logarithmic_error, "mean_squared_logarithmic_error"
)
Huber = _loss_class("Huber", huber, "huber_loss", [("delta", 1.0)])
KLDivergence = _loss_class("KLDivergence", kl_divergence, "kl_divergence")
Hinge = _loss_class("Hinge", hinge, "hinge")
SquaredHinge = _loss_class("SquaredHinge", squared_hinge, "squared_hinge")
CategoricalHinge = _loss_class("CategoricalHinge", categorical_hinge, "categorical_hinge")
LogCosh = _loss_class("LogCosh", log_cosh, "log_cosh")
Poisson = _loss_class("Poisson", poisson, "poisson")
CosineSimilarity = _loss_class("CosineSimilarity", cosine_similarity, "cosine_similarity", [("axis", -1)])
_LOSS_CLASSES = (
    CategoricalCrossentropy,
    SparseCategoricalCrossentropy,
    BinaryCrossentropy,
    MeanSquaredError,
    MeanAbsoluteError,
    MeanAbsolutePercentageError,
    MeanSquaredLogarithmicError,
    Huber,
    KLDivergence,
    Hinge,
    SquaredHinge,
    CategoricalHinge,
    LogCosh,
    Poisson,
    CosineSimilarity,
)
for _cls in _LOSS_CLASSES:
    _cls.__module__ = __name__

_FUNCTIONS = {
    "categorical_crossentropy": categorical_crossentropy,
    "sparse_categorical_crossentropy": sparse_categorical_crossentropy,
    "binary_crossentropy": binary_crossentropy,
    "mean_squared_error": mean_squared_error,
    "mse": mean_squared_error,
    "mean_absolute_error": mean_absolute_error,
    "mae": mean_absolute_error,
    "mean_absolute_percentage_error": mean_absolute_percentage_error,
    "mape": mean_absolute_percentage_error,
    "mean_squared_logarithmic_error": mean_squared_logarithmic_error,
    "msle": mean_squared_logarithmic_error,
    "huber": huber,
    "huber_loss": huber,
    "kl_divergence": kl_divergence,
    "kld": kl_divergence,
    "kullback_leibler_divergence": kl_divergence,
    "hinge": hinge,
    "squared_hinge": squared_hinge,
    "categorical_hinge": categorical_hinge,
    "log_cosh": log_cosh,
    "logcosh": log_cosh,
    "poisson": poisson,
    "cosine_similarity": cosine_similarity,
}
_CLASSES = {c.__name__: c for c in _LOSS_CLASSES}
_CANONICAL = {
    "mse": "mean_squared_error",
    "mae": "mean_absolute_error",
    "mape": "mean_absolute_percentage_error",
    "msle": "mean_squared_logarithmic_error",
    "huber_loss": "huber",
    "kld": "kl_divergence",
    "kullback_leibler_divergence": "kl_divergence",
    "logcosh": "log_cosh",
}


def get(identifier):
    """A loss (a function or a Loss object) from a name ('mse', 'categorical_crossentropy', a class name),
    a Loss class or instance, a config dict or a function."""
    if identifier is None:
        return None
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Loss):
        return identifier()
    if isinstance(identifier, str):
        key = identifier.strip()
        if key in _CLASSES:
            return _CLASSES[key]()
        fn = _FUNCTIONS.get(key.lower())
        if fn is None:
            raise ValueError(f"Unknown loss {identifier!r}; known: {', '.join(sorted(_FUNCTIONS))}")
        return fn
    if isinstance(identifier, dict):
        cls = _CLASSES.get(identifier.get("class_name"))
        if cls is None:
            raise ValueError(f"Unknown loss config {identifier!r}")
        return cls.from_config(identifier.get("config", {}))
    if callable(identifier):
        return identifier
    raise TypeError(f"loss must be a name, a Loss or a function, got {type(identifier).__name__}")


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


def serialize(loss):
    if loss is None:
        return None
    if isinstance(loss, str):
        return loss
    if isinstance(loss, Loss) and type(loss).__name__ in _CLASSES:
        return {"class_name": type(loss).__name__, "config": loss.get_config()}
    for name, fn in _FUNCTIONS.items():
        if fn is loss:
            return name
    return getattr(loss, "__name__", type(loss).__name__)


def deserialize(config, custom_objects=None):
    if isinstance(config, str) and custom_objects and config in custom_objects:
        return custom_objects[config]
    return get(config)
