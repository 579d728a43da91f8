"""Metrics on continuous scores: ROC and precision-recall curves, areas under them.

A score-based classifier predicts "positive" when ``score >= t`` for a threshold ``t``. Sweeping ``t``
from +inf down over every distinct score gives, at each step,

* TPR (recall) = TP / P   and   FPR = FP / N   (ROC curve), and
* precision = TP / (TP + FP)   and   recall = TP / P   (precision-recall curve),

where P and N are the (weighted) numbers of positive and negative samples.
"""
import warnings
from itertools import combinations

import numpy as np

from ._checks import UndefinedMetricWarning, as_array, column, same_length, weights


def _pos_label(classes, pos_label, func):
    """Resolve ``pos_label=None`` to 1 when the labels are {0, 1}, {-1, 1} or one of them."""
    if pos_label is not None:
        return pos_label
    ok = classes.dtype.kind not in "OUS" and any(
        np.array_equal(classes, c) for c in ([0, 1], [-1, 1], [0], [-1], [1]))
    if not ok:
        shown = ", ".join(repr(c) for c in classes.tolist())
        raise ValueError(f"{func}: y_true takes value in {{{shown}}} and pos_label is not specified: either "
                         "make y_true take value in {0, 1} or {-1, 1} or pass pos_label explicitly.")
    return 1


def _binary_score_input(y_score, func):
    score = as_array(y_score, func, "y_score")
    if score.ndim == 2 and score.shape[1] == 2:
        raise ValueError(f"{func}: y_score has shape {score.shape}; for a binary problem pass the score "
                         "of the positive class only, e.g. proba[:, 1]")
    return column(score, func, "y_score", dtype=np.float64)


def _counts_at_thresholds(y_true, y_score, pos_label, sample_weight, func):
    """Cumulative (FP, TP) counts at each distinct score, scores sorted from high to low.

    Returns ``fps, tps, thresholds`` where ``tps[i]`` = sum of weights of positive samples with
    ``score >= thresholds[i]`` (and likewise ``fps`` for negatives); thresholds are decreasing.
    """
    yt = column(y_true, func, "y_true")
    score = _binary_score_input(y_score, func)
    same_length(func, y_true=yt, y_score=score)
    if len(yt) == 0:
        raise ValueError(f"{func}: y_true is empty; at least one sample is needed")
    if not np.all(np.isfinite(score)):
        raise ValueError(f"{func}: y_score contains NaN or infinity")
    classes = np.unique(yt)
    if len(classes) > 2 and pos_label is None:
        raise ValueError(f"{func}: y_true holds {len(classes)} classes; this curve is binary. Score one "
                         "class against the rest with pos_label=, or use roc_auc_score(multi_class='ovr')")
    if yt.dtype.kind == "f" and np.any(yt != np.round(yt)):
        raise ValueError(f"{func}: y_true holds continuous values; expected class labels")
    pos = _pos_label(classes, pos_label, func)
    is_pos = (yt == pos).astype(np.float64)
    w = weights(sample_weight, len(yt), func)
    if w is not None:
        keep = w != 0
        is_pos, score, w = is_pos[keep], score[keep], w[keep].astype(np.float64)
    order = np.argsort(score, kind="stable")[::-1]
    score, is_pos = score[order], is_pos[order]
    last_of_run = np.r_[np.nonzero(np.diff(score))[0], len(score) - 1]
    if w is None:
        tps = np.cumsum(is_pos)[last_of_run]
        fps = 1.0 + last_of_run - tps
    else:
        w = w[order]
        tps = np.cumsum(is_pos * w)[last_of_run]
        fps = np.cumsum((1.0 - is_pos) * w)[last_of_run]
    return fps, tps, score[last_of_run]


def roc_curve(y_true, y_score, *, pos_label=None, sample_weight=None, drop_intermediate=True):
    """Receiver operating characteristic: (FPR, TPR) for every threshold.

    fpr[i] = FP(score >= thresholds[i]) / N,   tpr[i] = TP(score >= thresholds[i]) / P.

    ``thresholds`` decrease; ``thresholds[0] = inf`` adds the point (0, 0) where nothing is predicted
    positive. With ``drop_intermediate=True`` points lying on a straight segment between their
    neighbours (the curve does not turn there) are dropped; the area is unchanged. With no negative
    (positive) sample, fpr (tpr) is NaN and an :class:`UndefinedMetricWarning` is issued.
    """
    fps, tps, thr = _counts_at_thresholds(y_true, y_score, pos_label, sample_weight, "roc_curve")
    if drop_intermediate and len(fps) > 2:
        corner = np.r_[True, np.logical_or(np.diff(fps, 2), np.diff(tps, 2)), True]
        fps, tps, thr = fps[corner], tps[corner], thr[corner]
    fps, tps = np.r_[0.0, fps], np.r_[0.0, tps]
    thr = np.r_[np.inf, thr]
    if fps[-1] <= 0:
        warnings.warn("No negative samples in y_true, false positive value should be meaningless",
                      UndefinedMetricWarning, stacklevel=2)
        fpr = np.full(fps.shape, np.nan)
    else:
        fpr = fps / fps[-1]
    if tps[-1] <= 0:
        warnings.warn("No positive samples in y_true, true positive value should be meaningless",
                      UndefinedMetricWarning, stacklevel=2)
        tpr = np.full(tps.shape, np.nan)
    else:
        tpr = tps / tps[-1]
    return fpr, tpr, thr


def precision_recall_curve(y_true, y_score, *, pos_label=None, sample_weight=None, drop_intermediate=False):
    """Precision and recall for every threshold, in order of increasing threshold.

    precision[i] = TP / (TP + FP) and recall[i] = TP / P for ``score >= thresholds[i]``; a last point
    (precision 1, recall 0) with no threshold closes the curve. 0/0 precision is 0. With no positive
    sample the recall is 1 everywhere (with a warning). ``drop_intermediate=True`` removes thresholds
    where TP does not change on either side (they do not change the curve's steps).
    """
    fps, tps, thr = _counts_at_thresholds(y_true, y_score, pos_label, sample_weight,
                                          "precision_recall_curve")
    if drop_intermediate and len(fps) > 2:
        keep = np.r_[True, np.logical_or(np.diff(tps[:-1]), np.diff(tps[1:])), True]
        fps, tps, thr = fps[keep], tps[keep], thr[keep]
    predicted = tps + fps
    precision = np.divide(tps, predicted, out=np.zeros_like(tps), where=predicted != 0)
    if tps[-1] == 0:
        warnings.warn("No positive class found in y_true, recall is set to one for all thresholds.",
                      UserWarning, stacklevel=2)
        recall = np.ones_like(tps)
    else:
        recall = tps / tps[-1]
    return np.r_[precision[::-1], 1.0], np.r_[recall[::-1], 0.0], thr[::-1]


def auc(x, y):
    """Area under a curve given by points (x, y), by the trapezoidal rule:
    sum_i (x[i+1] - x[i]) (y[i+1] + y[i]) / 2.  ``x`` must be monotonic (increasing or decreasing)."""
    x = column(x, "auc", "x", dtype=np.float64)
    y = column(y, "auc", "y", dtype=np.float64)
    same_length("auc", x=x, y=y)
    if x.shape[0] < 2:
        raise ValueError(f"auc: at least 2 points are needed to compute area under curve, but x.shape = "
                         f"{x.shape}")
    dx = np.diff(x)
    direction = 1.0
    if np.any(dx < 0):
        if np.all(dx <= 0):
            direction = -1.0
        else:
            raise ValueError(f"auc: x is neither increasing nor decreasing : {x}.")
    return float(direction * np.sum(dx * (y[1:] + y[:-1]) / 2.0))


def _binary_roc_auc(y_true01, score, sample_weight=None, max_fpr=None):
    """ROC AUC of a 0/1 vector; NaN with a warning when only one class is present."""
    if len(np.unique(y_true01)) != 2:
        warnings.warn("Only one class is present in y_true. ROC AUC score is not defined in that case.",
                      UndefinedMetricWarning, stacklevel=4)
        return np.nan
    fpr, tpr, _ = roc_curve(y_true01, score, sample_weight=sample_weight)
    if max_fpr is None or max_fpr == 1:
        return auc(fpr, tpr)
    if max_fpr <= 0 or max_fpr > 1:
        raise ValueError(f"roc_auc_score: expected max_fpr in range (0, 1], got {max_fpr!r}")
    stop = np.searchsorted(fpr, max_fpr, "right")
    tpr_at = np.interp(max_fpr, fpr[stop - 1:stop + 1], tpr[stop - 1:stop + 1])
    partial = auc(np.r_[fpr[:stop], max_fpr], np.r_[tpr[:stop], tpr_at])
    # McClish correction: 0.5 for a random ranking, 1 for a perfect one
    lo, hi = 0.5 * max_fpr ** 2, max_fpr
    return 0.5 * (1 + (partial - lo) / (hi - lo))


def _average_columns(metric, Y, S, average, w):
    """Score each column of the indicator matrix ``Y`` against ``S[:, c]`` and average."""
    if average not in (None, "micro", "macro", "weighted"):
        raise ValueError(f"average has to be one of (None, 'micro', 'macro', 'weighted'), got {average!r}")
    if average == "micro":
        ww = None if w is None else np.repeat(w, Y.shape[1])
        return float(metric(Y.ravel(), S.ravel(), ww))
    avg_w = None
    if average == "weighted":
        avg_w = Y.sum(axis=0) if w is None else (Y * w[:, None]).sum(axis=0)
        if np.isclose(avg_w.sum(), 0.0):
            return 0
    scores = np.array([metric(Y[:, c], S[:, c], w) for c in range(Y.shape[1])], dtype=np.float64)
    if average is None:
        return scores
    if avg_w is not None:
        scores[avg_w == 0] = 0
    return float(np.average(scores, weights=avg_w))


def _indicator(y_true, classes):
    """One column per class: Y[i, c] = 1 if y_true[i] == classes[c]."""
    return (y_true[:, None] == classes[None, :]).astype(np.int64)


def _check_indicator(y, func):
    if not np.isin(y, [0, 1]).all():
        raise ValueError(f"{func}: a 2-D y_true must be a 0/1 indicator matrix (one-hot or multilabel)")
    return y.astype(np.int64)


def roc_auc_score(y_true, y_score, *, average="macro", sample_weight=None, max_fpr=None,
                  multi_class="raise", labels=None):
    """Area under the ROC curve = probability that a random positive scores above a random negative
    (ties count 1/2):  AUC = P(s+ > s-) + P(s+ = s-)/2 = auc(fpr, tpr).

    * binary: ``y_score`` is the 1-D score of the greater label;
    * multi-class: ``y_score`` is ``(n_samples, n_classes)`` probabilities (rows sum to 1) and
      ``multi_class`` is ``'ovr'`` (each class against the rest; ``average`` 'macro', 'weighted' by
      class frequency, 'micro' or None) or ``'ovo'`` (Hand & Till: mean over class pairs of
      (AUC(a|a,b) + AUC(b|a,b)) / 2, 'macro' or 'weighted' by pair frequency);
    * a 2-D 0/1 ``y_true`` (one-hot or multilabel) is scored column by column and averaged.
    ``max_fpr`` (binary only) gives the McClish-standardised partial AUC over fpr <= max_fpr.
    With a single class in y_true the AUC is undefined: NaN with an :class:`UndefinedMetricWarning`.
    """
    func = "roc_auc_score"
    yt = as_array(y_true, func, "y_true")
    score = as_array(y_score, func, "y_score", dtype=np.float64)
    w = weights(sample_weight, len(yt), func, nonzero=False)
    if yt.ndim == 2 and yt.shape[1] > 1:
        Y = _check_indicator(yt, func)
        if score.shape != Y.shape:
            raise ValueError(f"{func}: y_true has shape {Y.shape} but y_score has shape {score.shape}")
        return _average_columns(lambda a, b, ww: _binary_roc_auc(a, b, ww, max_fpr), Y, score, average, w)
    yt = column(yt, func, "y_true")
    same_length(func, y_true=yt, y_score=score)
    if yt.dtype.kind == "f" and np.any(yt != np.round(yt)):
        raise ValueError(f"{func}: y_true holds continuous values; expected class labels")
    classes = np.unique(yt)
    if len(classes) > 2 or (score.ndim == 2 and score.shape[1] > 2):
        return _multiclass_roc_auc(yt, score, labels, multi_class, average, w, max_fpr)
    if score.ndim == 2 and score.shape[1] == 2:
        raise ValueError(f"{func}: y_score has shape {score.shape}; for a binary problem pass the score "
                         "of the positive (greater) class only, e.g. proba[:, 1]")
    score = column(score, func, "y_score")
    y01 = (yt == classes[-1]).astype(np.int64) if len(classes) == 2 else np.zeros(len(yt), np.int64)
    return _binary_roc_auc(y01, score, w, max_fpr)


def _multiclass_roc_auc(yt, score, labels, multi_class, average, w, max_fpr):
    func = "roc_auc_score"
    if max_fpr is not None and max_fpr != 1.0:
        raise ValueError(f"{func}: partial AUC (max_fpr={max_fpr}) is only available for binary problems")
    if multi_class not in ("ovr", "ovo"):
        raise ValueError(f"{func}: y_true has several classes, so multi_class must be 'ovr' (one vs rest) "
                         f"or 'ovo' (one vs one); got multi_class={multi_class!r}")
    if score.ndim != 2:
        raise ValueError(f"{func}: y_score must have shape (n_samples, n_classes) since y_true holds "
                         f"several classes; got shape {score.shape}")
    if not np.allclose(1, score.sum(axis=1)):
        raise ValueError(f"{func}: Target scores need to be probabilities for multiclass roc_auc, i.e. "
                         "they should sum up to 1.0 over classes (apply a softmax to logits first)")
    allowed = ("micro", "macro", "weighted", None) if multi_class == "ovr" else ("macro", "weighted")
    if average not in allowed:
        raise ValueError(f"{func}: average must be one of {allowed} for multi_class={multi_class!r}, "
                         f"got {average!r}")
    if labels is not None:
        classes = np.asarray(labels)
        if len(np.unique(classes)) != len(classes):
            raise ValueError(f"{func}: labels must be unique")
        if not np.array_equal(np.unique(classes), classes):
            raise ValueError(f"{func}: labels must be sorted")
        if len(classes) != score.shape[1]:
            raise ValueError(f"{func}: {len(classes)} labels given but y_score has {score.shape[1]} columns")
        if len(np.setdiff1d(yt, classes)):
            raise ValueError(f"{func}: y_true contains labels not in labels")
    else:
        classes = np.unique(yt)
        if len(classes) != score.shape[1]:
            raise ValueError(f"{func}: y_true holds {len(classes)} classes but y_score has {score.shape[1]} "
                             "columns; pass every class with labels=")
    if multi_class == "ovr":
        return _average_columns(_binary_roc_auc, _indicator(yt, classes), score, average, w)
    if w is not None:
        raise ValueError(f"{func}: sample_weight is not supported for multi_class='ovo'")
    encoded = np.searchsorted(classes, yt)
    pair_scores, prevalence = [], []
    for a, b in combinations(range(len(classes)), 2):
        mask = (encoded == a) | (encoded == b)
        is_a = (encoded[mask] == a).astype(np.int64)
        auc_a = _binary_roc_auc(is_a, score[mask, a])
        auc_b = _binary_roc_auc(1 - is_a, score[mask, b])
        pair_scores.append((auc_a + auc_b) / 2)
        prevalence.append(mask.mean())
    return float(np.average(pair_scores, weights=prevalence if average == "weighted" else None))


def average_precision_score(y_true, y_score, *, average="macro", pos_label=1, sample_weight=None):
    """Average precision: the precision-recall curve summarised as a step sum,
    AP = sum_n (R_n - R_{n-1}) P_n  over thresholds (no interpolation).

    Binary: ``y_score`` holds the score of ``pos_label``. Multi-class ``y_true`` (with
    ``(n_samples, n_classes)`` scores) or a 2-D indicator ``y_true`` is scored one column per class and
    averaged ('macro', 'weighted' by class frequency, 'micro', or None for the array).
    """
    func = "average_precision_score"
    yt = as_array(y_true, func, "y_true")
    score = as_array(y_score, func, "y_score", dtype=np.float64)
    w = weights(sample_weight, len(yt), func, nonzero=False)

    def ap(y, s, ww, pos=1):
        precision, recall, _ = precision_recall_curve(y, s, pos_label=pos, sample_weight=ww)
        return max(0.0, float(-np.sum(np.diff(recall) * precision[:-1])))

    if yt.ndim == 2 and yt.shape[1] > 1:
        if pos_label != 1:
            raise ValueError(f"{func}: pos_label is fixed to 1 for indicator y_true")
        Y = _check_indicator(yt, func)
        if score.shape != Y.shape:
            raise ValueError(f"{func}: y_true has shape {Y.shape} but y_score has shape {score.shape}")
        return _average_columns(ap, Y, score, average, w)
    yt = column(yt, func, "y_true")
    present = np.unique(yt)
    if len(present) <= 2:
        if len(present) == 2 and pos_label not in present.tolist():
            raise ValueError(f"{func}: pos_label={pos_label!r} is not a valid label. It should be one of "
                             f"{present.tolist()}")
        return ap(yt, score, w, pos_label)
    if pos_label != 1:
        raise ValueError(f"{func}: pos_label is fixed to 1 for multiclass y_true. Do not set pos_label or "
                         "set pos_label to 1.")
    Y = _indicator(yt, present)
    if score.shape != Y.shape:
        raise ValueError(f"{func}: y_score needs to be of shape (n_samples, n_classes) = {Y.shape}, since "
                         f"y_true contains multiple classes. Got y_score.shape={score.shape}.")
    return _average_columns(ap, Y, score, average, w)
