"""Regression metrics with scikit-learn's names, arguments and results.

Each works on ``(n_samples,)`` or ``(n_samples, n_outputs)`` arrays; ``multioutput`` says how the
per-output scores are combined: ``'raw_values'`` (array, one per output), ``'uniform_average'``
(their mean) or an array of weights (weighted mean).
"""
import warnings

import numpy as np

from ._checks import UndefinedMetricWarning, as_array, weights


def _regression_inputs(y_true, y_pred, sample_weight, multioutput, func, extra=()):
    yt = as_array(y_true, func, "y_true", dtype=np.float64)
    yp = as_array(y_pred, func, "y_pred", dtype=np.float64)
    if yt.ndim == 1:
        yt = yt[:, None]
    if yp.ndim == 1:
        yp = yp[:, None]
    if yt.ndim != 2 or yp.ndim != 2:
        raise ValueError(f"{func}: expected 1-D or 2-D arrays, got y_true {yt.shape} and y_pred {yp.shape}")
    if yt.shape != yp.shape:
        raise ValueError(f"{func}: y_true has shape {yt.shape} but y_pred has shape {yp.shape}")
    w = weights(sample_weight, len(yt), func)
    options = ("raw_values", "uniform_average") + tuple(extra)
    if isinstance(multioutput, str):
        if multioutput not in options:
            raise ValueError(f"{func}: multioutput must be one of {options} or an array of weights, got "
                             f"{multioutput!r}")
    elif multioutput is not None:
        multioutput = np.asarray(multioutput, dtype=np.float64)
        if yt.shape[1] == 1:
            raise ValueError(f"{func}: custom weights are useful only with several outputs, y has 1")
        if multioutput.shape != (yt.shape[1],):
            raise ValueError(f"{func}: {multioutput.shape[0] if multioutput.ndim else 1} multioutput "
                             f"weights for {yt.shape[1]} outputs")
    return yt, yp, w, multioutput


def _combine(errors, multioutput):
    if isinstance(multioutput, str):
        if multioutput == "raw_values":
            return errors
        return float(np.mean(errors))
    if multioutput is None:
        return float(np.mean(errors))
    return float(np.average(errors, weights=multioutput))


def mean_squared_error(y_true, y_pred, *, sample_weight=None, multioutput="uniform_average"):
    """Mean squared error: MSE = sum_i w_i (y_i - yhat_i)^2 / sum_i w_i  (per output)."""
    yt, yp, w, mo = _regression_inputs(y_true, y_pred, sample_weight, multioutput, "mean_squared_error")
    return _combine(np.average((yt - yp) ** 2, axis=0, weights=w), mo)


def mean_absolute_error(y_true, y_pred, *, sample_weight=None, multioutput="uniform_average"):
    """Mean absolute error: MAE = sum_i w_i |y_i - yhat_i| / sum_i w_i  (per output)."""
    yt, yp, w, mo = _regression_inputs(y_true, y_pred, sample_weight, multioutput, "mean_absolute_error")
    return _combine(np.average(np.abs(yt - yp), axis=0, weights=w), mo)


def r2_score(y_true, y_pred, *, sample_weight=None, multioutput="uniform_average", force_finite=True):
    """Coefficient of determination:  R^2 = 1 - SS_res / SS_tot  with
    SS_res = sum_i w_i (y_i - yhat_i)^2 and SS_tot = sum_i w_i (y_i - ybar)^2, ybar the weighted mean.

    1 is a perfect fit, 0 is as good as predicting the mean, and it can be negative. For a constant
    ``y_true`` (SS_tot = 0) the score is 1 if the fit is perfect else 0 (``force_finite=True``), or the
    raw -inf/NaN (``force_finite=False``). ``multioutput='variance_weighted'`` weights outputs by SS_tot.
    Fewer than two samples: NaN with an :class:`UndefinedMetricWarning`.
    """
    yt, yp, w, mo = _regression_inputs(y_true, y_pred, sample_weight, multioutput, "r2_score",
                                       extra=("variance_weighted",))
    if len(yt) < 2:
        warnings.warn("R^2 score is not well-defined with less than two samples.", UndefinedMetricWarning,
                      stacklevel=2)
        return float("nan")
    ww = 1.0 if w is None else w[:, None]
    ss_res = np.sum(ww * (yt - yp) ** 2, axis=0)
    ss_tot = np.sum(ww * (yt - np.average(yt, axis=0, weights=w)) ** 2, axis=0)
    has_tot, has_res = ss_tot != 0, ss_res != 0
    if force_finite:
        scores = np.ones(yt.shape[1])
        ok = has_tot & has_res
        scores[ok] = 1 - ss_res[ok] / ss_tot[ok]
        scores[has_res & ~has_tot] = 0.0
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            scores = 1 - ss_res / ss_tot
    if isinstance(mo, str) and mo == "variance_weighted":
        return float(np.average(scores, weights=ss_tot if has_tot.any() else None))
    return _combine(scores, mo)
