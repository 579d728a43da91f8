"""Keras metrics (``metrics=['accuracy']`` or objects such as ``metrics.Precision()``), from
:mod:`shendu.metrics`."""

from ..metrics import streaming as _streaming
from ..metrics.streaming import MeanMetricWrapper, Metric
from ..metrics.streaming import get as _get_by_name
from ._registry import Registry

# The metric classes ``compile(metrics=[...])`` takes and a model file may name: nothing else is looked up
# when a file is loaded.
COMPILE_METRICS = {name: getattr(_streaming, name) for name in (
    "Mean", "Accuracy", "BinaryAccuracy", "LogitsBinaryAccuracy", "CategoricalAccuracy",
    "SparseCategoricalAccuracy", "TopKCategoricalAccuracy", "SparseTopKCategoricalAccuracy",
    "MeanSquaredError", "MeanAbsoluteError", "Precision", "Recall", "AUC", "TruePositives", "FalsePositives",
    "TrueNegatives", "FalseNegatives", "F1Score", "FBetaScore", "MeanIoU")}
globals().update(COMPILE_METRICS)
__all__ = ["Metric", "MeanMetricWrapper", *(n for n in COMPILE_METRICS if n != "LogitsBinaryAccuracy"), "get",
           "serialize", "deserialize", "COMPILE_METRICS", "compile_metric_class"]
_REGISTRY = Registry("metric", classes=COMPILE_METRICS.values(), base=Metric, wrap=MeanMetricWrapper)
serialize = _REGISTRY.serialize  # a config dict for a metric object (a name stays a name)


def compile_metric_class(name, custom_objects=None):
    """The metric class a saved compile config names: one of :data:`COMPILE_METRICS`, or one given in
    ``custom_objects``; None for any other name."""
    if custom_objects and name in custom_objects:
        return custom_objects[name]
    return COMPILE_METRICS.get(name) if isinstance(name, str) else None


def get(identifier, custom_objects=None, **kwargs):
    """A metric object for a name, a config dict (as model files hold), a Metric or a function."""
    if isinstance(identifier, dict):
        return _REGISTRY.deserialize(identifier, custom_objects)
    return _get_by_name(identifier, **kwargs)


def deserialize(config, custom_objects=None):
    """The metric a stored name or config dict stands for (names follow :func:`get`'s rules)."""
    if isinstance(config, str) and not (custom_objects and config in custom_objects):
        return get(config)
    return _REGISTRY.deserialize(config, custom_objects)
