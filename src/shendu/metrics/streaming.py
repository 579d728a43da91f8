"""Streaming (stateful) metrics for the training loop, shaped like Keras metrics.

Each metric accumulates sums over the batches it is shown::

    m = SparseCategoricalAccuracy()
    for x, y in loader:
        m.update_state(y, model(x))
    print(m.name, m.result())      # mean over every sample seen since the last reset_state()
    m.reset_state()

``update_state(y_true, y_pred, sample_weight=None)`` adds a batch, ``result()`` returns a Python float,
``reset_state()`` starts again, and calling the metric, ``m(y_true, y_pred)``, updates it and returns
the running result. Inputs may be lists, NumPy arrays or shendu Tensors.
"""
import re

import numpy as np

__all__ = [
    "Metric", "Mean", "MeanMetricWrapper", "Accuracy", "BinaryAccuracy", "LogitsBinaryAccuracy",
    "CategoricalAccuracy",
    "SparseCategoricalAccuracy", "TopKCategoricalAccuracy", "SparseTopKCategoricalAccuracy",
    "MeanSquaredError", "MeanAbsoluteError", "Precision", "Recall", "AUC", "get", "resolve_accuracy",
    "TruePositives", "FalsePositives", "TrueNegatives", "FalseNegatives", "FBetaScore", "F1Score", "MeanIoU",
]

_EPSILON = 1e-7


def _np(x, dtype=np.float64):
    return np.asarray(x, dtype=dtype)


def _snake(name):
    """``SparseCategoricalAccuracy`` -> ``sparse_categorical_accuracy``, ``BCELoss`` -> ``bce_loss``."""
    s = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s).lower()


class Metric:
    """Base class: subclasses implement ``update_state``, ``result`` and ``reset_state``."""

    def __init__(self, name=None, dtype=None):
        self.name = name or _snake(type(self).__name__)
        self.dtype = dtype
        self.reset_state()

    def reset_state(self):
        raise NotImplementedError

    def update_state(self, *args, **kwargs):
        raise NotImplementedError

    def result(self):
        raise NotImplementedError

    def reset_states(self):
        """tf.keras 2 spelling of :meth:`reset_state`."""
        self.reset_state()

    def __call__(self, *args, **kwargs):
        self.update_state(*args, **kwargs)
        return self.result()

    def get_config(self):
        return {"name": self.name}

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r} result={self.result():.4f}>"


def _sample_weights(sample_weight, values):
    """Broadcast ``sample_weight`` (per sample or per element) to the shape of ``values``."""
    if sample_weight is None:
        return np.ones_like(values)
    w = _np(sample_weight)
    while w.ndim < values.ndim:
        w = w[..., None]
    if w.ndim > values.ndim and w.shape[-1] == 1:
        w = w.reshape(w.shape[:values.ndim])
    try:
        return np.broadcast_to(w, values.shape)
    except ValueError as exc:
        raise ValueError(f"sample_weight of shape {np.shape(sample_weight)} does not match values of shape "
                         f"{values.shape}") from exc


class Mean(Metric):
    """Weighted mean of everything passed in: result = sum(w * v) / sum(w)."""

    def reset_state(self):
        self.total = 0.0
        self.count = 0.0

    def update_state(self, values, sample_weight=None):
        if type(values) is float and (sample_weight is None or type(sample_weight) in (int, float)):
            w = 1.0 if sample_weight is None else float(sample_weight)  # one number (a batch's loss):
            self.total += values * w                                  # the same sums without arrays
            self.count += w
            return
        values = _np(values)
        if sample_weight is None:  # every value weighs 1: the sum and the count
            self.total += float(np.sum(values))
            self.count += float(values.size)
            return
        w = _sample_weights(sample_weight, values)
        self.total += float(np.sum(values * w))
        self.count += float(np.sum(w))

    def result(self):
        return self.total / self.count if self.count else 0.0


class MeanMetricWrapper(Mean):
    """Mean over samples of a per-sample function ``fn(y_true, y_pred) -> values``."""

    def __init__(self, fn, name=None, dtype=None, **kwargs):
        self._fn = fn
        self._fn_kwargs = kwargs
        super().__init__(name=name or getattr(fn, "__name__", None), dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None):
        values = _np(self._fn(y_true, y_pred, **self._fn_kwargs))
        super().update_state(values, sample_weight)

    def get_config(self):
        """The name and the function's arguments (``threshold``, ``k``...), which subclasses take back."""
        return {**super().get_config(), **self._fn_kwargs}


def accuracy(y_true, y_pred):
    """1.0 where the prediction equals the label exactly, else 0.0 (elementwise)."""
    yt, yp = np.asarray(y_true), np.asarray(y_pred)
    if yp.shape != yt.shape and yp.size == yt.size:
        yp = yp.reshape(yt.shape)
    return (yt == yp).astype(np.float64)


def binary_accuracy(y_true, y_pred, threshold=0.5):
    """1.0 where ``[y_pred > threshold] == y_true`` (elementwise)."""
    yt, yp = _np(y_true), _np(y_pred)
    if yp.shape != yt.shape and yp.size == yt.size:
        yp = yp.reshape(yt.shape)
    return ((yp > threshold).astype(np.float64) == yt).astype(np.float64)


def categorical_accuracy(y_true, y_pred):
    """1.0 per sample where argmax(y_true) == argmax(y_pred) (one-hot targets)."""
    return (np.argmax(_np(y_true), axis=-1) == np.argmax(_np(y_pred), axis=-1)).astype(np.float64)


def _sparse_targets(y_true, y_pred):
    yt = np.asarray(y_true)
    yp = np.asarray(y_pred)  # scores in their own precision: argmax and comparisons are exact in it
    if yp.dtype.kind not in "fiu":
        yp = _np(yp)
    if yt.ndim == yp.ndim and yt.shape[-1] == 1:
        yt = yt[..., 0]
    if yt.shape != yp.shape[:-1]:
        raise ValueError(f"sparse accuracy: integer labels of shape {np.shape(y_true)} do not match "
                         f"predictions of shape {yp.shape} (expected labels of shape {yp.shape[:-1]})")
    return yt.astype(np.int64, copy=False), yp


def sparse_categorical_accuracy(y_true, y_pred):
    """1.0 per sample where the integer label equals argmax(y_pred) (probabilities or logits)."""
    yt, yp = _sparse_targets(y_true, y_pred)
    return (np.argmax(yp, axis=-1) == yt).astype(np.float64)


def sparse_top_k_categorical_accuracy(y_true, y_pred, k=5):
    """1.0 per sample where the label's score is among the k largest: fewer than k scores are strictly
    greater than it (ties count as hits, as in Keras' in_top_k)."""
    yt, yp = _sparse_targets(y_true, y_pred)
    target_score = np.take_along_axis(yp, yt[..., None], axis=-1)
    return (np.sum(yp > target_score, axis=-1) < k).astype(np.float64)


def top_k_categorical_accuracy(y_true, y_pred, k=5):
    """As :func:`sparse_top_k_categorical_accuracy` with one-hot targets."""
    return sparse_top_k_categorical_accuracy(np.argmax(_np(y_true), axis=-1), y_pred, k=k)


def _per_sample_mean(values):
    return values.mean(axis=-1) if values.ndim >= 2 else values


def _aligned(y_true, y_pred):
    yt, yp = _np(y_true), _np(y_pred)
    if yp.shape != yt.shape and yp.size == yt.size:
        yp = yp.reshape(yt.shape)
    return yt, yp


def mean_squared_error(y_true, y_pred):
    """Per sample: mean over the last axis of (y - yhat)^2."""
    yt, yp = _aligned(y_true, y_pred)
    return _per_sample_mean((yt - yp) ** 2)


def mean_absolute_error(y_true, y_pred):
    """Per sample: mean over the last axis of |y - yhat|."""
    yt, yp = _aligned(y_true, y_pred)
    return _per_sample_mean(np.abs(yt - yp))


class Accuracy(MeanMetricWrapper):
    """How often predictions equal labels exactly: mean of [y_pred == y_true]."""

    def __init__(self, name="accuracy", dtype=None):
        super().__init__(accuracy, name=name, dtype=dtype)


class BinaryAccuracy(MeanMetricWrapper):
    """How often thresholded scores match 0/1 labels: mean of [(y_pred > threshold) == y_true]."""

    def __init__(self, name="binary_accuracy", dtype=None, threshold=0.5):
        self.threshold = threshold
        super().__init__(binary_accuracy, name=name, dtype=dtype, threshold=threshold)


class LogitsBinaryAccuracy(BinaryAccuracy):
    """:class:`BinaryAccuracy` for logits: mean of [(y_pred > 0) == y_true] (sigmoid(0) = 0.5)."""

    def __init__(self, name="binary_accuracy", dtype=None, threshold=0.0):
        super().__init__(name=name, dtype=dtype, threshold=threshold)


class CategoricalAccuracy(MeanMetricWrapper):
    """One-hot targets vs probabilities: mean of [argmax(y_true) == argmax(y_pred)]."""

    def __init__(self, name="categorical_accuracy", dtype=None):
        super().__init__(categorical_accuracy, name=name, dtype=dtype)


class SparseCategoricalAccuracy(MeanMetricWrapper):
    """Integer labels vs probabilities or logits: mean of [y_true == argmax(y_pred)]."""

    def __init__(self, name="sparse_categorical_accuracy", dtype=None):
        super().__init__(sparse_categorical_accuracy, name=name, dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None):
        if sample_weight is not None:
            return super().update_state(y_true, y_pred, sample_weight)
        if (type(y_pred) is np.ndarray and type(y_true) is np.ndarray and y_true.dtype.kind in "iu"
                and y_pred.dtype.kind == "f" and y_pred.ndim and y_true.shape == y_pred.shape[:-1]):
            # the usual batch (labels (N,), scores (N, C)): the hits counted without the general checks
            self.total += float(np.count_nonzero(y_pred.argmax(-1) == y_true))
            self.count += float(y_true.size)
            return
        yt, yp = _sparse_targets(y_true, y_pred)     # unweighted: count the hits (runs every batch)
        self.total += float(np.count_nonzero(np.argmax(yp, axis=-1) == yt))
        self.count += float(yt.size)


class TopKCategoricalAccuracy(MeanMetricWrapper):
    """One-hot targets: mean of [true class among the k highest scores]."""

    def __init__(self, k=5, name="top_k_categorical_accuracy", dtype=None):
        self.k = k
        super().__init__(top_k_categorical_accuracy, name=name, dtype=dtype, k=k)


class SparseTopKCategoricalAccuracy(MeanMetricWrapper):
    """Integer labels: mean of [true class among the k highest scores]."""

    def __init__(self, k=5, name="sparse_top_k_categorical_accuracy", dtype=None):
        self.k = k
        super().__init__(sparse_top_k_categorical_accuracy, name=name, dtype=dtype, k=k)


class MeanSquaredError(MeanMetricWrapper):
    """Mean over samples of mean((y - yhat)^2) over the last axis."""

    def __init__(self, name="mean_squared_error", dtype=None):
        super().__init__(mean_squared_error, name=name, dtype=dtype)


class MeanAbsoluteError(MeanMetricWrapper):
    """Mean over samples of mean(|y - yhat|) over the last axis."""

    def __init__(self, name="mean_absolute_error", dtype=None):
        super().__init__(mean_absolute_error, name=name, dtype=dtype)


def _binary_predictions(y_true, y_pred, sample_weight, class_id, top_k):
    """Flatten ``(y_true, y_pred, weight)`` to 1-D; restrict to one class column if asked."""
    yt, yp = _aligned(y_true, y_pred)
    w = _sample_weights(sample_weight, yp)
    if top_k is not None:
        kth = -np.sort(-yp, axis=-1)[..., top_k - 1:top_k]
        yp = np.where(yp >= kth, yp, -np.inf)
    if class_id is not None:
        yt, yp, w = yt[..., class_id], yp[..., class_id], w[..., class_id]
    return yt.ravel(), yp.ravel(), w.ravel()


class _ThresholdCounts(Metric):
    """Accumulates weighted TP/FP/TN/FN of ``y_pred > threshold`` for each threshold."""

    def __init__(self, thresholds=None, top_k=None, class_id=None, name=None, dtype=None):
        self.init_thresholds = thresholds
        single = thresholds is None or np.ndim(thresholds) == 0
        self._single = single
        default = 0.5 if top_k is None else -np.inf   # with top_k any kept score counts as positive
        self.thresholds = np.atleast_1d(_np(default if thresholds is None else thresholds))
        self.top_k = top_k
        self.class_id = class_id
        super().__init__(name=name, dtype=dtype)

    def reset_state(self):
        n = len(self.thresholds)
        self.true_positives = np.zeros(n)
        self.false_positives = np.zeros(n)
        self.true_negatives = np.zeros(n)
        self.false_negatives = np.zeros(n)

    def update_state(self, y_true, y_pred, sample_weight=None):
        yt, yp, w = _binary_predictions(y_true, y_pred, sample_weight, self.class_id, self.top_k)
        pos = (yt > 0.5)[None, :]
        predicted = yp[None, :] > self.thresholds[:, None]
        self.true_positives += (predicted & pos) @ w
        self.false_positives += (predicted & ~pos) @ w
        self.true_negatives += (~predicted & ~pos) @ w
        self.false_negatives += (~predicted & pos) @ w

    def _value(self, num, den):
        out = np.divide(num, den, out=np.zeros_like(num), where=den != 0)
        return float(out[0]) if self._single else out

    def get_config(self):
        thresholds = self.init_thresholds
        if thresholds is not None and np.ndim(thresholds):
            thresholds = [float(t) for t in np.ravel(thresholds)]
        return {"name": self.name, "thresholds": thresholds}


class _Count(_ThresholdCounts):
    """One confusion count at ``thresholds`` (default 0.5; a list gives one count per threshold)."""

    _field = None

    def __init__(self, thresholds=None, name=None, dtype=None):
        super().__init__(thresholds, None, None, name, dtype)

    def result(self):
        value = getattr(self, self._field)
        return float(value[0]) if self._single else value.copy()


class TruePositives(_Count):
    """Weighted number of samples with label 1 and ``y_pred > threshold``."""

    _field = "true_positives"


class FalsePositives(_Count):
    """Weighted number of samples with label 0 and ``y_pred > threshold``."""

    _field = "false_positives"


class TrueNegatives(_Count):
    """Weighted number of samples with label 0 and ``y_pred <= threshold``."""

    _field = "true_negatives"


class FalseNegatives(_Count):
    """Weighted number of samples with label 1 and ``y_pred <= threshold``."""

    _field = "false_negatives"


class Precision(_ThresholdCounts):
    """Precision = TP / (TP + FP) with ``y_pred > thresholds`` counted positive (default 0.5); 0 if
    nothing was predicted positive. ``class_id`` scores one column; ``top_k`` keeps only the k
    highest scores of each row as positive predictions."""

    def __init__(self, thresholds=None, top_k=None, class_id=None, name="precision", dtype=None):
        super().__init__(thresholds, top_k, class_id, name, dtype)

    def result(self):
        return self._value(self.true_positives, self.true_positives + self.false_positives)

    def get_config(self):
        return {**super().get_config(), "top_k": self.top_k, "class_id": self.class_id}


class Recall(_ThresholdCounts):
    """Recall = TP / (TP + FN) with ``y_pred > thresholds`` counted positive (default 0.5); 0 if there
    was no positive label. ``class_id`` and ``top_k`` as in :class:`Precision`."""

    def __init__(self, thresholds=None, top_k=None, class_id=None, name="recall", dtype=None):
        super().__init__(thresholds, top_k, class_id, name, dtype)

    def result(self):
        return self._value(self.true_positives, self.true_positives + self.false_negatives)

    def get_config(self):
        return {**super().get_config(), "top_k": self.top_k, "class_id": self.class_id}


class AUC(_ThresholdCounts):
    """Approximate area under the ROC (or PR) curve from confusion counts at fixed thresholds, like
    Keras: thresholds 0 - eps, 1/(n-1), ..., (n-2)/(n-1), 1 + eps with ``n = num_thresholds`` (200).

    ROC: TPR = TP/(TP+FN), FPR = FP/(FP+TN) at every threshold, area by trapezoids
    sum_i (FPR_i - FPR_{i+1}) (TPR_i + TPR_{i+1}) / 2 ('interpolation'), or by left/right Riemann sums
    ('minoring' uses min, 'majoring' max of the two heights).
    PR ('interpolation'): the Davis & Goadrich interpolation, with precision varying along each step as
    TP grows linearly with P = TP + FP: between thresholds i+1 and i, with slope s = dTP/dP,
    area_i = s (dTP + (TP_{i+1} - s P_{i+1}) ln(P_i / P_{i+1})) / (TP_{i+1} + FN_{i+1}).
    This is not scikit-learn's ``average_precision_score`` (a step sum, sum_k (R_k - R_{k-1}) P_k); the two
    agree closely but not exactly.

    Scores are assumed in [0, 1] (probabilities; ``from_logits=True`` applies a sigmoid first); labels
    are 0/1. ``multi_label=True`` keeps one curve per column of ``(batch, num_labels)`` inputs and
    returns their mean (weighted by ``label_weights`` when given); otherwise every column is flattened
    into one curve.
    """

    def __init__(self, num_thresholds=200, curve="ROC", summation_method="interpolation", name="auc",
                 thresholds=None, multi_label=False, num_labels=None, label_weights=None, from_logits=False,
                 dtype=None):
        curve = curve.upper()
        if curve not in ("ROC", "PR"):
            raise ValueError(f"AUC: curve must be 'ROC' or 'PR', got {curve!r}")
        summation_method = str(summation_method).lower()
        if summation_method not in ("interpolation", "minoring", "majoring"):
            raise ValueError("AUC: summation_method must be 'interpolation', 'minoring' or 'majoring', got "
                             f"{summation_method!r}")
        if thresholds is not None:
            inner = np.sort(_np(thresholds))
            self.num_thresholds = len(inner) + 2
        else:
            if num_thresholds <= 1:
                raise ValueError(f"AUC: num_thresholds must be > 1, got {num_thresholds}")
            self.num_thresholds = num_thresholds
            inner = np.arange(1, num_thresholds - 1) / (num_thresholds - 1)
        self.curve = curve
        self.summation_method = summation_method
        self.multi_label = bool(multi_label)
        self.num_labels = num_labels
        self.label_weights = None if label_weights is None else _np(label_weights)
        self.from_logits = bool(from_logits)
        self._init_inner = None if thresholds is None else [float(t) for t in inner]
        super().__init__(np.r_[0.0 - _EPSILON, inner, 1.0 + _EPSILON], name=name, dtype=dtype)
        self._single = False

    def reset_state(self):
        super().reset_state()
        if self.multi_label and self.num_labels is not None:
            shape = (len(self.thresholds), int(self.num_labels))
            for field in ("true_positives", "false_positives", "true_negatives", "false_negatives"):
                setattr(self, field, np.zeros(shape))

    def update_state(self, y_true, y_pred, sample_weight=None):
        if self.from_logits:
            y_pred = 1.0 / (1.0 + np.exp(-_np(y_pred)))
        if not self.multi_label:
            return super().update_state(y_true, y_pred, sample_weight)
        yt, yp = _aligned(y_true, y_pred)
        if yp.ndim != 2:
            raise ValueError(f"AUC(multi_label=True): expected (batch, num_labels) predictions, got shape "
                             f"{yp.shape}")
        w = _sample_weights(sample_weight, yp)
        pos = yt > 0.5                                                # (N, L)
        predicted = yp[None] > self.thresholds[:, None, None]         # (T, N, L)
        if self.true_positives.ndim == 1:                             # first batch fixes num_labels
            self.num_labels = yp.shape[1]
            self.reset_state()
        if self.true_positives.shape[1] != yp.shape[1]:
            raise ValueError(f"AUC(multi_label=True): got {yp.shape[1]} labels, expected "
                             f"{self.true_positives.shape[1]}")
        self.true_positives += np.einsum("tnl,nl->tl", predicted & pos, w)
        self.false_positives += np.einsum("tnl,nl->tl", predicted & ~pos, w)
        self.true_negatives += np.einsum("tnl,nl->tl", ~predicted & ~pos, w)
        self.false_negatives += np.einsum("tnl,nl->tl", ~predicted & pos, w)

    def result(self):
        tp, fp, tn, fn = self.true_positives, self.false_positives, self.true_negatives, self.false_negatives
        if self.curve == "PR" and self.summation_method == "interpolation":
            areas = self._pr_interpolated(tp, fp, fn)
        else:
            def ratio(a, b):
                return np.divide(a, b, out=np.zeros_like(a), where=b != 0)

            if self.curve == "ROC":
                x, y = ratio(fp, fp + tn), ratio(tp, tp + fn)
            else:
                x, y = ratio(tp, tp + fn), ratio(tp, tp + fp)
            if self.summation_method == "interpolation":
                heights = (y[:-1] + y[1:]) / 2
            elif self.summation_method == "minoring":
                heights = np.minimum(y[:-1], y[1:])
            else:
                heights = np.maximum(y[:-1], y[1:])
            areas = np.sum((x[:-1] - x[1:]) * heights, axis=0)
        if np.ndim(areas) == 0:
            return float(areas)
        if self.label_weights is not None:
            return float(np.sum(areas * self.label_weights) / np.sum(self.label_weights))
        return float(np.mean(areas))

    @staticmethod
    def _pr_interpolated(tp, fp, fn):
        dtp = tp[:-1] - tp[1:]
        p = tp + fp
        dp = p[:-1] - p[1:]
        slope = np.divide(dtp, np.maximum(dp, 0), out=np.zeros_like(dtp), where=np.maximum(dp, 0) != 0)
        intercept = tp[1:] - slope * p[1:]
        both = (p[:-1] > 0) & (p[1:] > 0)
        p_ratio = np.ones_like(dtp)
        np.divide(p[:-1], np.maximum(p[1:], 0), out=p_ratio, where=both)
        den = np.maximum(tp[1:] + fn[1:], 0)
        num = slope * (dtp + intercept * np.log(p_ratio))
        return np.sum(np.divide(num, den, out=np.zeros_like(num), where=den != 0), axis=0)

    def get_config(self):
        return {"name": self.name, "num_thresholds": self.num_thresholds, "curve": self.curve,
                "summation_method": self.summation_method, "thresholds": self._init_inner,
                "multi_label": self.multi_label,
                "num_labels": None if self.num_labels is None else int(self.num_labels),
                "label_weights": None if self.label_weights is None else self.label_weights.tolist(),
                "from_logits": self.from_logits}


def _one_hot_predictions(y_pred, threshold):
    """F-score predictions: 1 where ``y_pred > threshold``; with no threshold, 1 at each row's maximum."""
    if threshold is None:
        return (y_pred == np.max(y_pred, axis=-1, keepdims=True)).astype(np.float64)
    return (y_pred > threshold).astype(np.float64)


class FBetaScore(Metric):
    """F-beta score of (batch, num_classes) 0/1 targets against scores, as Keras computes it.

    Per class c, with predictions 1 where ``y_pred > threshold`` (``threshold=None``: the highest score
    of each row), summed over batches: TP_c, FP_c, FN_c, precision_c = TP_c / (TP_c + FP_c),
    recall_c = TP_c / (TP_c + FN_c), F_c = (1 + beta^2) P_c R_c / (beta^2 P_c + R_c) (0 when undefined).
    ``average``: None -> the per-class array; 'micro' -> F from TP, FP, FN summed over classes;
    'macro' -> mean_c F_c; 'weighted' -> sum_c F_c * support_c / sum support (support = weighted
    positives). With one-hot targets these equal scikit-learn's ``fbeta_score`` on the argmax labels.
    """

    def __init__(self, average=None, beta=1.0, threshold=None, name="fbeta_score", dtype=None):
        if average not in (None, "micro", "macro", "weighted"):
            raise ValueError(f"{type(self).__name__}: average must be None, 'micro', 'macro' or 'weighted', "
                             f"got {average!r}")
        if not beta > 0:
            raise ValueError(f"{type(self).__name__}: beta must be > 0, got {beta!r}")
        if threshold is not None and not 0 < float(threshold) <= 1:
            raise ValueError(f"{type(self).__name__}: threshold must be in (0, 1], got {threshold!r}")
        self.average, self.beta, self.threshold = average, float(beta), threshold
        super().__init__(name=name, dtype=dtype)

    def reset_state(self):
        self.true_positives = self.false_positives = self.false_negatives = self.intermediate_weights = None

    def update_state(self, y_true, y_pred, sample_weight=None):
        yt, yp = _aligned(y_true, y_pred)
        if yp.ndim != 2:
            raise ValueError(f"{type(self).__name__}: expected (batch, num_classes) inputs, got y_pred of "
                             f"shape {yp.shape}")
        pred = _one_hot_predictions(yp, self.threshold)
        w = np.ones(len(yp)) if sample_weight is None else _np(sample_weight).reshape(len(yp), -1)[:, 0]
        sums = [(yt * pred).T @ w, ((1 - yt) * pred).T @ w, (yt * (1 - pred)).T @ w, yt.T @ w]
        if self.true_positives is None:
            self.true_positives, self.false_positives, self.false_negatives, self.intermediate_weights = sums
        else:
            for field, value in zip(("true_positives", "false_positives", "false_negatives",
                                     "intermediate_weights"), sums):
                setattr(self, field, getattr(self, field) + value)

    def result(self):
        if self.true_positives is None:
            return 0.0
        tp, fp, fn = self.true_positives, self.false_positives, self.false_negatives
        if self.average == "micro":
            tp, fp, fn = tp.sum(), fp.sum(), fn.sum()

        def ratio(a, b):
            a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
            return np.divide(a, b, out=np.zeros_like(a), where=b != 0)

        precision, recall = ratio(tp, tp + fp), ratio(tp, tp + fn)
        b2 = self.beta ** 2
        f = ratio((1 + b2) * precision * recall, b2 * precision + recall)
        if self.average == "micro":
            return float(f)
        if self.average == "macro":
            return float(np.mean(f))
        if self.average == "weighted":
            support = self.intermediate_weights
            return float(np.sum(f * support) / np.sum(support)) if np.sum(support) else 0.0
        return f

    def get_config(self):
        return {"name": self.name, "average": self.average, "beta": self.beta, "threshold": self.threshold}


class F1Score(FBetaScore):
    """:class:`FBetaScore` with beta = 1: F1_c = 2 P_c R_c / (P_c + R_c)."""

    def __init__(self, average=None, threshold=None, name="f1_score", dtype=None):
        super().__init__(average=average, beta=1.0, threshold=threshold, name=name, dtype=dtype)

    def get_config(self):
        config = super().get_config()
        config.pop("beta")
        return config


class MeanIoU(Metric):
    """Mean intersection over union of classes, from a confusion matrix summed over batches.

    ``C[i, j]`` = weighted count of samples (pixels) with true class i predicted as j;
    IoU_c = C[c, c] / (sum_j C[c, j] + sum_i C[i, c] - C[c, c]); result = mean of IoU_c over the classes
    that occur (in the targets or the predictions). Labels are integers (``sparse_y_true``/``sparse_y_pred``
    True) or scores whose argmax along ``axis`` is taken; ``ignore_class`` drops samples of that label.
    Equals scikit-learn's ``jaccard_score(average='macro')`` over the present classes.
    """

    def __init__(self, num_classes, name="mean_iou", dtype=None, ignore_class=None, sparse_y_true=True,
                 sparse_y_pred=True, axis=-1):
        if int(num_classes) < 1:
            raise ValueError(f"MeanIoU: num_classes must be >= 1, got {num_classes!r}")
        self.num_classes = int(num_classes)
        self.ignore_class = ignore_class
        self.sparse_y_true, self.sparse_y_pred, self.axis = sparse_y_true, sparse_y_pred, axis
        super().__init__(name=name, dtype=dtype)

    def reset_state(self):
        self.total_cm = np.zeros((self.num_classes, self.num_classes))

    def update_state(self, y_true, y_pred, sample_weight=None):
        yt, yp = np.asarray(y_true), np.asarray(y_pred)
        if not self.sparse_y_true:
            yt = np.argmax(yt, axis=self.axis)
        if not self.sparse_y_pred:
            yp = np.argmax(yp, axis=self.axis)
        yt, yp = yt.reshape(-1).astype(np.int64), yp.reshape(-1).astype(np.int64)
        if yt.shape != yp.shape:
            raise ValueError(f"MeanIoU: y_true has {yt.size} labels but y_pred has {yp.size}")
        w = np.ones(yt.shape) if sample_weight is None else np.broadcast_to(
            _np(sample_weight).reshape(-1) if np.size(sample_weight) == yt.size else _np(sample_weight),
            yt.shape).astype(np.float64)
        keep = np.ones(yt.shape, dtype=bool) if self.ignore_class is None else yt != self.ignore_class
        bad = keep & ((yt < 0) | (yt >= self.num_classes) | (yp < 0) | (yp >= self.num_classes))
        if bad.any():
            raise ValueError(f"MeanIoU: labels must lie in [0, {self.num_classes}), got values "
                             f"{sorted(set(yt[bad].tolist()) | set(yp[bad].tolist()))[:5]}")
        cm = np.zeros(self.num_classes * self.num_classes)
        np.add.at(cm, yt[keep] * self.num_classes + yp[keep], w[keep])
        self.total_cm += cm.reshape(self.num_classes, self.num_classes)

    def result(self):
        cm = self.total_cm
        tp = np.diag(cm)
        den = cm.sum(axis=0) + cm.sum(axis=1) - tp
        valid = den != 0
        return float(np.sum(tp[valid] / den[valid]) / valid.sum()) if valid.any() else 0.0

    def get_config(self):
        return {"name": self.name, "num_classes": self.num_classes, "ignore_class": self.ignore_class,
                "sparse_y_true": self.sparse_y_true, "sparse_y_pred": self.sparse_y_pred, "axis": self.axis}


_BY_NAME = {
    "accuracy": Accuracy, "acc": Accuracy,
    "binary_accuracy": BinaryAccuracy,
    "categorical_accuracy": CategoricalAccuracy,
    "sparse_categorical_accuracy": SparseCategoricalAccuracy,
    "top_k_categorical_accuracy": TopKCategoricalAccuracy,
    "sparse_top_k_categorical_accuracy": SparseTopKCategoricalAccuracy,
    "mse": MeanSquaredError, "mean_squared_error": MeanSquaredError,
    "mae": MeanAbsoluteError, "mean_absolute_error": MeanAbsoluteError,
    "precision": Precision, "recall": Recall, "auc": AUC,
    "true_positives": TruePositives, "false_positives": FalsePositives,
    "true_negatives": TrueNegatives, "false_negatives": FalseNegatives,
    "f1_score": F1Score, "fbeta_score": FBetaScore,
}

_BINARY_LOSSES = {"binary_crossentropy", "bce", "hinge", "squared_hinge", "bce_loss",
                  "binary_focal_crossentropy"}
_LOGIT_BINARY_LOSSES = {"bce_with_logits_loss", "binary_cross_entropy_with_logits"}
_SPARSE_LOSSES = {"sparse_categorical_crossentropy", "cross_entropy_loss", "nll_loss", "cross_entropy", "nll"}
_CATEGORICAL_LOSSES = {"categorical_crossentropy", "categorical_hinge", "kl_divergence", "kld",
                       "kullback_leibler_divergence", "poisson"}


def _loss_key(loss):
    if loss is None:
        return ""
    if isinstance(loss, str):
        return _snake(loss)
    name = getattr(loss, "name", None)     # Keras loss objects carry their snake_case name
    if not isinstance(name, str):
        name = getattr(loss, "__name__", None) or type(loss).__name__
    return _snake(name)


def resolve_accuracy(loss, y_true_shape=None, y_pred_shape=None):
    """The accuracy class Keras would pick for ``metrics=['accuracy']`` with this loss.

    * ``binary_crossentropy`` (also hinge losses, PyTorch ``BCELoss``) -> :class:`BinaryAccuracy`;
      PyTorch ``BCEWithLogitsLoss`` (logits, so the threshold is 0) -> :class:`LogitsBinaryAccuracy`
    * ``sparse_categorical_crossentropy`` (PyTorch ``CrossEntropyLoss``, ``NLLLoss``) ->
      :class:`SparseCategoricalAccuracy`
    * ``categorical_crossentropy`` (and other one-hot losses) -> :class:`CategoricalAccuracy`
    * any other loss (``'mse'``, ...): decided from the shapes when given, as Keras does: one output
      column -> binary; integer labels with one axis fewer (or one column vs many) -> sparse; else
      categorical. Without shapes: :class:`CategoricalAccuracy`.

    ``loss`` may be a string, a function or a loss object (its class name is used).
    """
    key = _loss_key(loss)
    if key in _LOGIT_BINARY_LOSSES:
        return LogitsBinaryAccuracy
    if key in _BINARY_LOSSES:
        return BinaryAccuracy
    if key in _SPARSE_LOSSES:
        return SparseCategoricalAccuracy
    if key in _CATEGORICAL_LOSSES:
        return CategoricalAccuracy
    if y_pred_shape is not None:
        y_pred_shape = tuple(y_pred_shape)
        y_true_shape = tuple(y_true_shape) if y_true_shape is not None else y_pred_shape
        last_pred = y_pred_shape[-1] if y_pred_shape else 1
        last_true = y_true_shape[-1] if y_true_shape else 1
        if last_pred == 1 or len(y_pred_shape) < 2:
            return BinaryAccuracy
        if len(y_true_shape) < len(y_pred_shape) or (last_true == 1 and last_pred > 1):
            return SparseCategoricalAccuracy
    return CategoricalAccuracy


def get(identifier, loss=None, y_true_shape=None, y_pred_shape=None):
    """Turn a metric identifier into a metric object.

    * a :class:`Metric` instance is returned as is; a Metric subclass is instantiated;
    * a string ('accuracy', 'acc', 'mae', 'mse', 'precision', 'recall', 'auc',
      'sparse_categorical_accuracy', 'top_k_categorical_accuracy', ... or a class name such as
      'SparseCategoricalAccuracy'); with ``loss=`` given, 'accuracy'/'acc' become the accuracy that
      fits the loss (see :func:`resolve_accuracy`), keeping the name the user wrote so logs read
      ``acc``/``val_acc`` or ``accuracy``;
    * a function ``fn(y_true, y_pred) -> per-sample values`` is wrapped in a running mean named after it.
    """
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Metric):
        return identifier()
    if isinstance(identifier, str):
        key = identifier.strip()
        lower = key.lower()
        if lower in ("accuracy", "acc") and (loss is not None or y_pred_shape is not None):
            return resolve_accuracy(loss, y_true_shape, y_pred_shape)(name=key)
        cls = _BY_NAME.get(lower) or _BY_NAME.get(_snake(key))
        if cls is None:
            classes = {name: obj for name, obj in globals().items()
                       if isinstance(obj, type) and issubclass(obj, Metric)}
            cls = classes.get(key)
        if cls is None:
            known = ", ".join(sorted(_BY_NAME))
            raise ValueError(f"metrics.get: unknown metric {identifier!r}; known names: {known}")
        return cls(name=lower) if lower in _BY_NAME else cls()
    if callable(identifier):
        return MeanMetricWrapper(identifier)
    raise TypeError(f"metrics.get: expected a metric name, a Metric or a function, got "
                    f"{type(identifier).__name__}")
