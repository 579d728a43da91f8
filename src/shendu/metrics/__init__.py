"""Evaluation metrics, NumPy only.

Functions take the same names, arguments and argument order as scikit-learn's and return the same
numbers: ``f(y_true, y_pred)`` for labels, ``f(y_true, y_score)`` for scores. They accept lists, NumPy
arrays and shendu Tensors. Networks output one column per class: turn those (or one-hot targets) into
labels with :func:`to_labels` first.

Streaming metrics for the training loop (Keras-style ``update_state`` / ``result`` / ``reset_state``)
live in :mod:`shendu.metrics.streaming` and are re-exported here (``Accuracy``, ``AUC``, ``get``...).
"""
from . import streaming
from ._checks import UndefinedMetricWarning, to_labels
from .classification import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    fbeta_score,
    precision_recall_fscore_support,
    precision_score,
    recall_score,
    top_k_accuracy_score,
)
from .ranking import auc, average_precision_score, precision_recall_curve, roc_auc_score, roc_curve
from .regression import mean_absolute_error, mean_squared_error, r2_score
from .report import classification_report
from .streaming import (
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
    resolve_accuracy,
)

__all__ = [
    "UndefinedMetricWarning", "to_labels",
    "accuracy_score", "top_k_accuracy_score", "precision_score", "recall_score", "f1_score", "fbeta_score",
    "precision_recall_fscore_support", "confusion_matrix", "classification_report",
    "roc_curve", "roc_auc_score", "auc", "precision_recall_curve", "average_precision_score",
    "mean_squared_error", "mean_absolute_error", "r2_score",
    "streaming", "Metric", "Mean", "MeanMetricWrapper", "Accuracy", "BinaryAccuracy", "LogitsBinaryAccuracy",
    "CategoricalAccuracy",
    "SparseCategoricalAccuracy", "TopKCategoricalAccuracy", "SparseTopKCategoricalAccuracy",
    "MeanSquaredError", "MeanAbsoluteError", "Precision", "Recall", "AUC", "get", "resolve_accuracy",
    "TruePositives", "FalsePositives", "TrueNegatives", "FalseNegatives", "F1Score", "FBetaScore", "MeanIoU",
]
