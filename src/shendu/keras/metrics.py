"""Keras metrics (``metrics=['accuracy']`` or objects such as ``metrics.Precision()``), from
:mod:`shendu.metrics`."""

from ..metrics.streaming import (
    AUC,
    Accuracy,
    BinaryAccuracy,
    CategoricalAccuracy,
    F1Score,
    FalseNegatives,
    FalsePositives,
    FBetaScore,
    LogitsBinaryAccuracy,
    Mean,
    MeanAbsoluteError,
    MeanIoU,
    MeanMetricWrapper,
    MeanSquaredError,
    Metric,
    Precision,
    Recall,
    SparseCategoricalAccuracy,
    SparseTopKCategoricalAccuracy,
    TopKCategoricalAccuracy,
    TrueNegatives,
    TruePositives,
    get,
)

__all__ = [
    "Metric",
    "Mean",
    "MeanMetricWrapper",
    "Accuracy",
    "BinaryAccuracy",
    "CategoricalAccuracy",
    "SparseCategoricalAccuracy",
    "TopKCategoricalAccuracy",
    "SparseTopKCategoricalAccuracy",
    "MeanSquaredError",
    "MeanAbsoluteError",
    "Precision",
    "Recall",
    "AUC",
    "TruePositives",
    "FalsePositives",
    "TrueNegatives",
    "FalseNegatives",
    "F1Score",
    "FBetaScore",
    "MeanIoU",
    "get",
    "COMPILE_METRICS",
    "compile_metric_class",
]

# The metric classes ``compile(metrics=[...])`` takes and a model file may name: nothing else is looked up
# when a file is loaded.
COMPILE_METRICS = {
    cls.__name__: cls
    for cls in (
        Mean,
        Accuracy,
        BinaryAccuracy,
        LogitsBinaryAccuracy,
        CategoricalAccuracy,
        SparseCategoricalAccuracy,
        TopKCategoricalAccuracy,
        SparseTopKCategoricalAccuracy,
        MeanSquaredError,
        MeanAbsoluteError,
        Precision,
        Recall,
        AUC,
        TruePositives,
        FalsePositives,
        TrueNegatives,
        FalseNegatives,
        F1Score,
        FBetaScore,
        MeanIoU,
    )
}


def compile_metric_class(name, custom_objects=None):
    """The metric class a saved compile config names: one of :data:`COMPILE_METRICS`, or one given in
    ``custom_objects``; None for any other name."""
    if custom_objects and name in custom_objects:
        return custom_objects[name]
    return COMPILE_METRICS.get(name) if isinstance(name, str) else None
