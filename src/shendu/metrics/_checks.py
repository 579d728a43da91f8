"""Input checking shared by the metric functions (host-side NumPy only)."""
import warnings

import numpy as np


class UndefinedMetricWarning(UserWarning):
    """A metric had a 0/0 (no predicted, no true samples, ...) and was set by ``zero_division``."""


def as_array(x, func, name, dtype=None):
    """``np.asarray`` that also takes lists and anything with ``__array__`` (shendu Tensors)."""
    if x is None:
        raise TypeError(f"{func}: {name} is None; expected an array-like of values")
    try:
        arr = np.asarray(x, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{func}: cannot read {name} as an array ({exc})") from exc
    return arr


def column(x, func, name, dtype=None):
    """Return a 1-D array; a column ``(n, 1)`` is flattened, anything else 2-D is refused."""
    arr = as_array(x, func, name, dtype)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        hint = ""
        if arr.ndim == 2:
            hint = (" One-hot or probability matrices hold one column per class: turn them into labels "
                    "with shendu.metrics.to_labels(y) first.")
        raise ValueError(f"{func}: {name} has shape {arr.shape}; expected a 1-D array of length n_samples."
                         + hint)
    return arr


def same_length(func, **arrays):
    """Raise if the named arrays (None skipped) do not all have the same first dimension."""
    lengths = {k: len(v) for k, v in arrays.items() if v is not None}
    if len(set(lengths.values())) > 1:
        got = ", ".join(f"{k} has {n}" for k, n in lengths.items())
        raise ValueError(f"{func}: inputs must have the same number of samples, but {got}")


def weights(sample_weight, n, func, nonzero=True):
    """``None`` or a 1-D weight array of length ``n``."""
    if sample_weight is None:
        return None
    w = column(sample_weight, func, "sample_weight")
    if len(w) != n:
        raise ValueError(f"{func}: sample_weight has {len(w)} entries for {n} samples")
    if nonzero and len(w) and not np.any(w != 0):
        raise ValueError(f"{func}: Sample weights must contain at least one non-zero number.")
    return w


def _is_continuous(arr):
    return arr.dtype.kind == "f" and arr.size and (
        not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)))


def unique_labels(*arrays):
    """Sorted union of the labels in the given 1-D arrays."""
    try:
        return np.unique(np.concatenate([np.asarray(a).ravel() for a in arrays]))
    except TypeError as exc:
        raise ValueError(f"labels mix types that cannot be sorted together ({exc}); "
                         "use labels of one type (all int or all str)") from exc


def check_targets(y_true, y_pred, func, sample_weight=None):
    """Validate two label vectors and classify the task.

    Returns ``(kind, labels, y_true, y_pred, sample_weight)`` where ``kind`` is ``"binary"`` (at most
    two distinct labels in the union) or ``"multiclass"`` and ``labels`` is that sorted union.
    """
    yt = column(y_true, func, "y_true")
    yp = column(y_pred, func, "y_pred")
    same_length(func, y_true=yt, y_pred=yp)
    for name, arr in (("y_true", yt), ("y_pred", yp)):
        if _is_continuous(arr):
            raise ValueError(
                f"{func}: {name} holds continuous values (e.g. {arr[np.argmax(arr != np.round(arr))]!r}); "
                "classification metrics need class labels. Threshold scores (y > 0.5) or take "
                "shendu.metrics.to_labels(probabilities) first.")
    w = weights(sample_weight, len(yt), func)
    labels = unique_labels(yt, yp)
    kind = "binary" if len(labels) <= 2 else "multiclass"
    return kind, labels, yt, yp, w


def zero_division_value(zero_division, func):
    """The number put in place of 0/0: ``"warn"`` gives 0.0 (with a warning), else 0, 1 or nan."""
    if isinstance(zero_division, str):
        if zero_division == "warn":
            return 0.0
        if zero_division == "nan":
            return np.nan
    elif zero_division in (0, 1) or (isinstance(zero_division, float) and np.isnan(zero_division)):
        return float(zero_division)
    raise ValueError(f"{func}: zero_division must be 'warn', 0, 1 or np.nan, got {zero_division!r}")


def safe_divide(num, den, zero_division, what, modifier, warn):
    """``num / den`` elementwise, with ``zero_division`` where ``den == 0`` (and a warning if asked)."""
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    zero = den == 0
    out = num / np.where(zero, 1.0, den)
    if not zero.any():
        return out
    out[zero] = zero_division_value(zero_division, what)
    if warn and isinstance(zero_division, str) and zero_division == "warn":
        where = "due to" if out.shape[0] == 1 else "in labels with"
        warnings.warn(f"{what} is ill-defined and being set to 0.0 {where} no {modifier} samples. "
                      "Use `zero_division` parameter to control this behavior.",
                      UndefinedMetricWarning, stacklevel=4)
    return out


def to_labels(y, threshold=0.5):
    """Turn network outputs or one-hot targets into class labels.

    * 2-D ``(n, k)`` with ``k > 1`` (one-hot, probabilities, logits): ``argmax`` over the last axis;
    * 2-D ``(n, 1)`` or 1-D float scores in [0, 1]: ``1`` where ``y > threshold`` else ``0``;
    * anything else (already labels): returned as a 1-D array.
    """
    arr = np.asarray(y)
    if arr.ndim == 2 and arr.shape[1] > 1:
        return arr.argmax(axis=1)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim > 2:
        raise ValueError(f"to_labels: got shape {arr.shape}; expected (n,), (n, 1) or (n, n_classes)")
    if arr.dtype.kind == "f" and arr.size and np.any(arr != np.round(arr)):
        return (arr > threshold).astype(np.int64)
    return arr.reshape(-1)
