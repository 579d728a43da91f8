"""Classification metrics on label vectors, with scikit-learn's names, arguments and results.

Notation used in the docstrings, for one class ``c`` (the "positive" class):

* TP = samples of class ``c`` predicted as ``c``; FP = other samples predicted as ``c``;
  FN = samples of class ``c`` predicted as something else; every count is weighted by
  ``sample_weight`` when one is given.
* precision = TP / (TP + FP), recall = TP / (TP + FN),
  F_beta = (1 + beta^2) TP / ((1 + beta^2) TP + beta^2 FN + FP).
"""
import warnings

import numpy as np

from ._checks import (
    UndefinedMetricWarning,
    check_targets,
    column,
    safe_divide,
    same_length,
    unique_labels,
    weights,
    zero_division_value,
)

_AVERAGES = (None, "binary", "micro", "macro", "weighted")


def accuracy_score(y_true, y_pred, *, normalize=True, sample_weight=None):
    """Fraction (or number) of samples whose predicted label equals the true label.

    accuracy = sum_i w_i [y_pred_i == y_true_i] / sum_i w_i   (``normalize=True``, w_i = 1 by default)

    With ``normalize=False`` the (weighted) count of correct samples is returned instead.
    2-D 0/1 indicator matrices are compared row by row (a row counts only if all its entries match).
    """
    func = "accuracy_score"
    yt = np.asarray(y_true)
    yp = np.asarray(y_pred)
    if yt.ndim == 2 and yp.ndim == 2 and yt.shape[1] > 1:
        if yt.shape != yp.shape:
            raise ValueError(f"{func}: y_true has shape {yt.shape} but y_pred has shape {yp.shape}")
        correct = np.all(yt == yp, axis=1)
        w = weights(sample_weight, len(yt), func)
    else:
        _, _, yt, yp, w = check_targets(yt, yp, func, sample_weight)
        correct = yt == yp
    if not normalize:
        return float(correct.sum() if w is None else np.dot(correct, w))
    return float(np.average(correct, weights=w))


def top_k_accuracy_score(y_true, y_score, *, k=2, normalize=True, sample_weight=None, labels=None):
    """Fraction of samples whose true class is among the ``k`` highest scores.

    top_k = sum_i w_i [y_true_i in topk(y_score_i)] / sum_i w_i

    ``y_score`` is ``(n_samples, n_classes)`` (columns in the sorted order of ``labels`` or of the
    classes in ``y_true``), or 1-D positive-class scores for a binary problem. Ties between scores are
    broken in favour of the class with the larger index, as scikit-learn does.
    """
    func = "top_k_accuracy_score"
    if not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"{func}: k must be a positive integer, got {k!r}")
    yt = column(y_true, func, "y_true")
    score = np.asarray(y_score, dtype=np.float64)
    binary = len(np.unique(yt)) <= 2 and not (labels is not None and len(labels) > 2)
    if binary:
        if score.ndim == 2 and score.shape[1] != 1:
            raise ValueError(f"{func}: y_true is binary but y_score has {score.shape[1]} columns. If "
                             "y_true does not contain all the classes, pass them with labels=.")
        score = column(score, func, "y_score")
    elif score.ndim != 2:
        raise ValueError(f"{func}: y_score must have shape (n_samples, n_classes) since y_true holds "
                         f"several classes; got shape {score.shape}")
    w = weights(sample_weight, len(yt), func)
    same_length(func, y_true=yt, y_score=score)
    n_score_classes = score.shape[1] if score.ndim == 2 else 2
    if labels is None:
        classes = np.unique(yt)
        if len(classes) != n_score_classes:
            raise ValueError(f"{func}: number of classes in y_true ({len(classes)}) differs from the "
                             f"number of columns of y_score ({n_score_classes}); pass every class with "
                             "labels=.")
    else:
        classes = np.asarray(labels)
        if len(np.unique(classes)) != len(classes):
            raise ValueError(f"{func}: labels must be unique, got {list(classes)}")
        if not np.array_equal(np.unique(classes), classes):
            raise ValueError(f"{func}: labels must be sorted, got {list(classes)}")
        if len(classes) != n_score_classes:
            raise ValueError(f"{func}: {len(classes)} labels given but y_score has {n_score_classes} "
                             "columns")
        if len(np.setdiff1d(yt, classes)):
            raise ValueError(f"{func}: y_true contains labels not in labels: "
                             f"{list(np.setdiff1d(yt, classes))}")
    if k >= len(classes):
        warnings.warn(f"'k' ({k}) greater than or equal to 'n_classes' ({len(classes)}) will result in "
                      "a perfect score and is therefore meaningless.", UndefinedMetricWarning, stacklevel=2)
    encoded = np.searchsorted(classes, yt)
    if binary:
        if k == 1:
            threshold = 0.5 if score.min() >= 0 and score.max() <= 1 else 0.0
            hits = (score > threshold).astype(np.int64) == encoded
        else:
            hits = np.ones(len(score), dtype=bool)
    else:
        # descending order; among equal scores the later column comes first
        ranked = np.argsort(score, axis=1, kind="stable")[:, ::-1][:, :k]
        hits = (ranked == encoded[:, None]).any(axis=1)
    if normalize:
        return float(np.average(hits, weights=w))
    return float(hits.sum() if w is None else np.dot(hits, w))


def _select_labels(func, kind, present, labels, average, pos_label):
    """The labels to score, following scikit-learn's rules for ``average`` and ``pos_label``."""
    if average not in _AVERAGES:
        if average == "samples":
            raise ValueError(f"{func}: average='samples' needs multilabel targets; shendu.metrics "
                             "scores 1-D label vectors")
        raise ValueError(f"{func}: average has to be one of {_AVERAGES}, got {average!r}")
    if average == "binary":
        if kind != "binary":
            raise ValueError(f"{func}: Target is multiclass but average='binary'. Please choose another "
                             "average setting, one of [None, 'micro', 'macro', 'weighted'].")
        if pos_label not in present.tolist() and len(present) >= 2:
            raise ValueError(f"{func}: pos_label={pos_label!r} is not a valid label. It should be one "
                             f"of {present.tolist()}")
        return np.asarray([pos_label])
    if pos_label not in (None, 1):
        warnings.warn(f"Note that pos_label (set to {pos_label!r}) is ignored when average != 'binary' "
                      f"(got {average!r}). You may use labels=[pos_label] to specify a single positive "
                      "class.", UserWarning, stacklevel=3)
    if labels is None:
        return present
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"{func}: labels must be a 1-D list of class labels, got shape {labels.shape}")
    return labels


def _per_label_counts(yt, yp, labels, w):
    """Per-label (TP, predicted, true) counts, summed in sample order with ``np.bincount``."""
    everything = unique_labels(labels, yt, yp)
    ti, pi = np.searchsorted(everything, yt), np.searchsorted(everything, yp)
    right = ti == pi
    n = len(everything)
    wf = None if w is None else w.astype(np.float64)
    tp = np.bincount(ti[right], weights=None if wf is None else wf[right], minlength=n)
    pred = np.bincount(pi, weights=wf, minlength=n)
    true = np.bincount(ti, weights=wf, minlength=n)
    pick = np.searchsorted(everything, labels)
    tp, pred, true = tp[pick], pred[pick], true[pick]
    # via FP = pred - TP and FN = true - TP, as scikit-learn does, so float sums agree to the last bit
    return tp, tp + (pred - tp), tp + (true - tp)


def _nan_average(values, weights_=None):
    """Average that skips NaN entries (zero_division=np.nan); all-NaN gives NaN."""
    mask = np.isnan(values)
    if values.size == 0 or mask.all():
        return np.nan
    values = values[~mask]
    if weights_ is None:
        return float(values.mean())
    weights_ = np.asarray(weights_, dtype=np.float64)[~mask]
    if weights_.sum() == 0:
        return float(values.mean())
    return float(np.average(values, weights=weights_))


def precision_recall_fscore_support(y_true, y_pred, *, beta=1.0, labels=None, pos_label=1, average=None,
                                    warn_for=("precision", "recall", "f-score"), sample_weight=None,
                                    zero_division="warn"):
    """Precision, recall, F-beta and support, per class or averaged.

    For each class c:  P_c = TP_c / (TP_c + FP_c),  R_c = TP_c / (TP_c + FN_c),
    F_c = (1 + beta^2) TP_c / (beta^2 (TP_c + FN_c) + TP_c + FP_c),  support_c = TP_c + FN_c.

    ``average``: ``None`` returns the per-class arrays (in the order of ``labels``, default the sorted
    classes); ``'binary'`` scores ``pos_label`` only; ``'micro'`` sums TP/FP/FN over classes first
    (equal to accuracy when every class is included); ``'macro'`` is the plain mean of the per-class
    scores; ``'weighted'`` weights them by support. Any 0/0 is replaced by ``zero_division``
    (``'warn'``: 0.0 and an :class:`UndefinedMetricWarning`; or 0, 1, ``np.nan``, which averages skip).
    Averaged results come back as floats with ``support=None``.
    """
    func = "precision_recall_fscore_support"
    zero_division_value(zero_division, func)
    if beta < 0:
        raise ValueError(f"{func}: beta must be >= 0, got {beta}")
    kind, present, yt, yp, w = check_targets(y_true, y_pred, func, sample_weight)
    scored = _select_labels(func, kind, present, labels, average, pos_label)
    tp, pred, true = _per_label_counts(yt, yp, scored, w)
    if average == "micro":
        tp, pred, true = tp.sum(keepdims=True), pred.sum(keepdims=True), true.sum(keepdims=True)
    precision = safe_divide(tp, pred, zero_division, "Precision", "predicted", "precision" in warn_for)
    recall = safe_divide(tp, true, zero_division, "Recall", "true", "recall" in warn_for)
    if np.isposinf(beta):
        fscore = recall
    elif beta == 0:
        fscore = precision
    else:
        b2 = beta ** 2
        fscore = safe_divide((1 + b2) * tp.astype(np.float64), b2 * true.astype(np.float64) + pred,
                             zero_division, "F-score", "true nor predicted", "f-score" in warn_for)
    if average is None:
        if w is None and not np.any(yt == yp):
            true = true.astype(np.float64)   # scikit-learn reports float supports when nothing is right
        return precision, recall, fscore, true
    avg_weights = true if average == "weighted" else None
    return (_nan_average(precision, avg_weights), _nan_average(recall, avg_weights),
            _nan_average(fscore, avg_weights), None)


def fbeta_score(y_true, y_pred, *, beta, labels=None, pos_label=1, average="binary", sample_weight=None,
                zero_division="warn"):
    """F-beta score: F_beta = (1 + beta^2) P R / (beta^2 P + R) = (1 + beta^2) TP / ((1 + beta^2) TP
    + beta^2 FN + FP). beta > 1 favours recall, beta < 1 favours precision.

    Arguments as :func:`precision_recall_fscore_support` (default ``average='binary'``).
    """
    _, _, f, _ = precision_recall_fscore_support(
        y_true, y_pred, beta=beta, labels=labels, pos_label=pos_label, average=average,
        warn_for=("f-score",), sample_weight=sample_weight, zero_division=zero_division)
    return f


def f1_score(y_true, y_pred, *, labels=None, pos_label=1, average="binary", sample_weight=None,
             zero_division="warn"):
    """F1 score, the harmonic mean of precision and recall: F1 = 2 P R / (P + R) = 2 TP / (2 TP + FP + FN).

    Arguments as :func:`precision_recall_fscore_support` (default ``average='binary'``).
    """
    return fbeta_score(y_true, y_pred, beta=1.0, labels=labels, pos_label=pos_label, average=average,
                       sample_weight=sample_weight, zero_division=zero_division)


def precision_score(y_true, y_pred, *, labels=None, pos_label=1, average="binary", sample_weight=None,
                    zero_division="warn"):
    """Precision: of the samples predicted positive, the fraction that are positive. P = TP / (TP + FP).

    Arguments as :func:`precision_recall_fscore_support` (default ``average='binary'``).
    """
    p, _, _, _ = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, pos_label=pos_label, average=average, warn_for=("precision",),
        sample_weight=sample_weight, zero_division=zero_division)
    return p


def recall_score(y_true, y_pred, *, labels=None, pos_label=1, average="binary", sample_weight=None,
                 zero_division="warn"):
    """Recall (sensitivity, true-positive rate): of the positive samples, the fraction found.
    R = TP / (TP + FN).

    Arguments as :func:`precision_recall_fscore_support` (default ``average='binary'``).
    """
    _, r, _, _ = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, pos_label=pos_label, average=average, warn_for=("recall",),
        sample_weight=sample_weight, zero_division=zero_division)
    return r


def confusion_matrix(y_true, y_pred, *, labels=None, sample_weight=None, normalize=None):
    """Confusion matrix ``C`` with ``C[i, j]`` = (weighted) number of samples of true class ``labels[i]``
    predicted as ``labels[j]``: rows are truth, columns are predictions.

    ``normalize``: ``'true'`` divides each row by its sum (row i then holds recall-like rates),
    ``'pred'`` each column by its sum (precision-like), ``'all'`` by the total; 0/0 becomes 0.
    Samples whose true or predicted label is not in ``labels`` are left out.
    """
    func = "confusion_matrix"
    if normalize not in (None, "true", "pred", "all"):
        raise ValueError(f"{func}: normalize must be one of None, 'true', 'pred', 'all'; got {normalize!r}")
    yt = column(y_true, func, "y_true")
    yp = column(y_pred, func, "y_pred")
    same_length(func, y_true=yt, y_pred=yp)
    if len(yt):
        _, present, yt, yp, w = check_targets(yt, yp, func, sample_weight)
    else:
        present, w = unique_labels(yt, yp), weights(sample_weight, 0, func)
    if labels is None:
        labels = present
    else:
        labels = np.asarray(labels)
        if labels.size == 0:
            raise ValueError(f"{func}: 'labels' should contain at least one label.")
        if yt.size == 0:
            return np.zeros((labels.size, labels.size), dtype=int)
        if len(np.intersect1d(yt, labels)) == 0:
            raise ValueError(f"{func}: At least one label specified must be in y_true "
                             f"(labels={labels.tolist()})")
    n = labels.size
    order = np.argsort(labels, kind="stable")
    sorted_labels = labels[order]

    def index_of(y):
        pos = np.clip(np.searchsorted(sorted_labels, y), 0, n - 1)
        return np.where(sorted_labels[pos] == y, order[pos], -1)

    ti, pi = index_of(yt), index_of(yp)
    keep = (ti >= 0) & (pi >= 0)
    flat = ti[keep] * n + pi[keep]
    if w is None or w.dtype.kind in "iub":
        wk = None if w is None else w[keep].astype(np.int64)
        cm = np.bincount(flat, weights=wk, minlength=n * n)
        cm = np.rint(cm).astype(np.int64) if wk is not None else cm.astype(np.int64)
    else:
        cm = np.bincount(flat, weights=w[keep].astype(np.float64), minlength=n * n)
    cm = cm.reshape(n, n)
    if normalize is not None:
        with np.errstate(all="ignore"):
            if normalize == "true":
                cm = cm / cm.sum(axis=1, keepdims=True)
            elif normalize == "pred":
                cm = cm / cm.sum(axis=0, keepdims=True)
            else:
                cm = cm / cm.sum()
        cm = np.nan_to_num(cm)
    if cm.shape == (1, 1):
        warnings.warn("A single label was found in 'y_true' and 'y_pred'. For the confusion matrix to "
                      "have the correct shape, use the 'labels' parameter to pass all known labels.",
                      UserWarning, stacklevel=2)
    return cm
