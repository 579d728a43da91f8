"""Plots for training and evaluation: learning curves, learning rate, confusion matrix, ROC, image grids,
conv filters.

Every function returns a matplotlib ``Figure`` and, when ``path=`` is given, also saves it as a PNG
(atomically). matplotlib is imported only when a plot is drawn.
"""
import math

import numpy as np

from ..metrics import confusion_matrix, roc_auc_score, roc_curve
from ._figure import new_figure, save_figure


def _grid(n, ncols):
    ncols = max(1, min(ncols, n))
    return math.ceil(n / ncols), ncols


def _history_dict(history):
    if hasattr(history, "history"):
        history = history.history
    if not isinstance(history, dict):
        raise TypeError(f"plot_history: expected a History (with .history) or a dict of lists, got "
                        f"{type(history).__name__}")
    return {k: [float(v) for v in np.ravel(np.asarray(vals, dtype=np.float64))] for k, vals in history.items()
            if np.size(vals)}


def _epoch_axis(ax, x):
    """Whole-number epoch ticks; a run of one epoch gets an axis around its single point."""
    from matplotlib.ticker import MaxNLocator

    x = np.asarray(x)
    ax.set_xlabel("epoch")
    if len(x) and x.min() == x.max():
        ax.set_xlim(x[0] - 0.5, x[0] + 0.5)
    if 0 < len(x) <= 12:
        ax.set_xticks(x)
    else:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def _marker_size(n):
    return 6 if n <= 5 else 3


def plot_history(history, metrics=None, path=None, ncols=2, title=None, val_label="validation"):
    """Learning curves: one panel per metric, training values and ``val_`` values paired.

    ``history`` is what ``model.fit`` returned (anything with a ``.history`` dict) or a plain
    ``{"loss": [...], "val_loss": [...], "accuracy": [...], ...}`` dict. ``metrics`` picks and orders
    the panels (names without ``val_``); by default every key is shown. ``val_label`` names the
    ``val_`` curves in the legend (e.g. ``"test"`` when ``validation_data`` was the test set).
    Every point carries a marker and the epoch axis has whole-number ticks, so a run of a single
    epoch is still a readable plot.
    """
    epochs_attr = getattr(history, "epoch", None)
    logs = _history_dict(history)
    if not logs:
        raise ValueError("plot_history: the history is empty; nothing to plot")
    if metrics is None:
        metrics = []
        for key in logs:
            base = key[4:] if key.startswith("val_") else key
            if base not in metrics:
                metrics.append(base)
    elif isinstance(metrics, str):
        metrics = [metrics]
    missing = [m for m in metrics if m not in logs and "val_" + m not in logs]
    if missing:
        raise KeyError(f"plot_history: no {missing} in the history; it has {sorted(logs)}")
    rows, cols = _grid(len(metrics), ncols)
    fig = new_figure((5.0 * cols, 3.6 * rows))
    for i, name in enumerate(metrics):
        ax = fig.add_subplot(rows, cols, i + 1)
        xs = []
        for key, label, style in ((name, "train", "o-"), ("val_" + name, val_label, "s--")):
            if key not in logs:
                continue
            values = logs[key]
            if epochs_attr is not None and len(epochs_attr) == len(values):
                x = np.asarray(epochs_attr) + 1
            else:
                x = np.arange(1, len(values) + 1)
            ax.plot(x, values, style, label=label, markersize=_marker_size(len(values)))
            xs.extend(x.tolist())
        ax.set_title(name)
        _epoch_axis(ax, np.unique(xs))
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    save_figure(fig, path)
    return fig


def plot_learning_rate(learning_rates, epochs=None, path=None, title=None):
    """The learning rate per epoch (``epochs`` counted from 0, as ``History.epoch``; shown from 1).

    The y axis is logarithmic when the rate spans more than a factor of 10 (step decay, warm-up).
    Epochs without a value (None or NaN) are left out.
    """
    lrs = np.asarray([np.nan if v is None else float(v) for v in learning_rates], dtype=np.float64)
    x = np.arange(1, len(lrs) + 1) if epochs is None else np.asarray(epochs) + 1
    if len(x) != len(lrs):
        raise ValueError(f"plot_learning_rate: {len(lrs)} learning rates for {len(x)} epochs")
    keep = np.isfinite(lrs)
    if not keep.any():
        raise ValueError("plot_learning_rate: no learning rate to plot")
    x, lrs = x[keep], lrs[keep]
    fig = new_figure((5.0, 3.2))
    ax = fig.add_subplot(1, 1, 1)
    ax.plot(x, lrs, "o-", markersize=_marker_size(len(lrs)))
    positive = lrs[lrs > 0]
    if len(positive) == len(lrs) and positive.max() > 10 * positive.min():
        ax.set_yscale("log")
    ax.set_ylabel("learning rate")
    ax.set_title(title or "Learning rate")
    _epoch_axis(ax, x)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    save_figure(fig, path)
    return fig


def plot_confusion_matrix(cm, class_names=None, normalize=False, path=None, title=None, cmap="Blues"):
    """Heatmap of a confusion matrix, each cell annotated with its count (or rate).

    ``cm`` is a square matrix (rows = true class, columns = predicted class), or a tuple
    ``(y_true, y_pred)`` of label vectors from which it is computed (with every class in
    ``class_names`` when the labels are 0..k-1). ``normalize``: ``False``, ``True``/``'true'`` (rows
    sum to 1: per-class recall on the diagonal), ``'pred'`` (columns sum to 1) or ``'all'``.
    """
    norm = {False: None, None: None, True: "true"}.get(normalize, normalize)
    if norm not in (None, "true", "pred", "all"):
        raise ValueError(f"plot_confusion_matrix: normalize must be False, True, 'true', 'pred' or 'all', "
                         f"got {normalize!r}")
    if isinstance(cm, tuple):
        if len(cm) != 2:
            raise ValueError("plot_confusion_matrix: pass a matrix or a (y_true, y_pred) tuple")
        y_true, y_pred = (np.asarray(a) for a in cm)
        labels = None
        if class_names is not None:
            both = np.concatenate([y_true.ravel(), y_pred.ravel()])
            if both.dtype.kind in "iu" and both.min() >= 0 and both.max() < len(class_names):
                labels = np.arange(len(class_names))
        matrix = confusion_matrix(y_true, y_pred, labels=labels)
    else:
        matrix = np.asarray(cm)
        if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
            raise ValueError(f"plot_confusion_matrix: a confusion matrix is square; got shape "
                             f"{matrix.shape}. Pass label vectors as a tuple (y_true, y_pred).")
    k = matrix.shape[0]
    if class_names is None:
        class_names = [str(i) for i in range(k)]
    if len(class_names) != k:
        raise ValueError(f"plot_confusion_matrix: {len(class_names)} class names for a {k}x{k} matrix")
    counts = matrix.astype(np.float64)
    if norm is not None:
        with np.errstate(all="ignore"):
            if norm == "true":
                counts = counts / counts.sum(axis=1, keepdims=True)
            elif norm == "pred":
                counts = counts / counts.sum(axis=0, keepdims=True)
            else:
                counts = counts / counts.sum()
        counts = np.nan_to_num(counts)
    size = max(4.0, 0.6 * k + 2.5)
    fig = new_figure((size + 1.0, size))
    ax = fig.add_subplot(1, 1, 1)
    image = ax.imshow(counts, cmap=cmap, interpolation="nearest")
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    ax.set_xticks(range(k))
    ax.set_yticks(range(k))
    long_names = max(len(str(n)) for n in class_names) > 3
    ax.set_xticklabels(class_names, rotation=45 if long_names else 0, ha="right" if long_names else "center")
    ax.set_yticklabels(class_names)
    ax.set_xlabel("Predicted label")
    ax.set_ylabel("True label")
    ax.set_title(title or ("Confusion matrix" + (" (normalized)" if norm else "")))
    if k <= 30:
        integer = norm is None and np.all(counts == np.round(counts))
        threshold = (counts.max() + counts.min()) / 2
        rows, cols = np.indices(counts.shape)
        for r, c, v in zip(rows.ravel(), cols.ravel(), counts.ravel()):
            text = f"{int(v)}" if integer else f"{v:.2f}"
            ax.text(c, r, text, ha="center", va="center", fontsize=9,
                    color="white" if v > threshold else "black")
    fig.tight_layout()
    save_figure(fig, path)
    return fig


def plot_roc(y_true, y_score, class_names=None, path=None, title=None):
    """ROC curves with the AUC in the legend, and the chance diagonal.

    Binary: ``y_score`` is 1-D (score of the positive class) or ``(n, 2)`` probabilities (column 1 is
    used). Multi-class: ``(n, k)`` scores give one one-vs-rest curve per class; ``y_true`` holds labels
    0..k-1 (or one-hot rows).
    """
    yt = np.asarray(y_true)
    score = np.asarray(y_score, dtype=np.float64)
    if yt.ndim == 2 and yt.shape[1] > 1:
        yt = yt.argmax(axis=1)
    yt = yt.reshape(-1)
    if score.ndim == 2 and score.shape[1] == 1:
        score = score[:, 0]
    classes = np.unique(yt)
    if score.ndim == 2 and score.shape[1] == 2 and len(classes) <= 2:
        score = score[:, 1]
    fig = new_figure((6.0, 5.0))
    ax = fig.add_subplot(1, 1, 1)
    if score.ndim == 1:
        positive = classes[-1] if len(classes) else 1
        fpr, tpr, _ = roc_curve(yt, score, pos_label=positive)
        area = roc_auc_score(yt, score)
        name = class_names[-1] if class_names is not None else f"class {positive}"
        ax.plot(fpr, tpr, lw=2, label=f"{name} (AUC = {area:.3f})")
    else:
        k = score.shape[1]
        if class_names is not None and len(class_names) != k:
            raise ValueError(f"plot_roc: {len(class_names)} class names for {k} score columns")
        names = class_names if class_names is not None else [str(i) for i in range(k)]
        for c in range(k):
            positives = yt == c
            if positives.all() or not positives.any():
                continue   # no curve without both positives and negatives for this class
            fpr, tpr, _ = roc_curve(positives.astype(int), score[:, c])
            area = roc_auc_score(positives.astype(int), score[:, c])
            ax.plot(fpr, tpr, lw=1.5, label=f"{names[c]} (AUC = {area:.3f})")
    ax.plot([0, 1], [0, 1], "k--", lw=1, label="chance (AUC = 0.5)")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("False positive rate")
    ax.set_ylabel("True positive rate")
    ax.set_title(title or "ROC curve" + ("s (one vs rest)" if score.ndim == 2 else ""))
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    save_figure(fig, path)
    return fig


def _as_images(images, func):
    arr = np.asarray(images)
    if arr.ndim == 2:                  # flattened square images, e.g. (n, 784)
        side = math.isqrt(arr.shape[1])
        if side * side != arr.shape[1]:
            raise ValueError(f"{func}: 2-D input {arr.shape} is not a batch of flattened square images")
        arr = arr.reshape(-1, side, side)
    if arr.ndim == 4:
        if arr.shape[1] in (1, 3, 4) and arr.shape[-1] not in (1, 3, 4):
            arr = arr.transpose(0, 2, 3, 1)             # NCHW -> NHWC
        if arr.shape[-1] == 1:
            arr = arr[..., 0]
    if arr.ndim not in (3, 4):
        raise ValueError(f"{func}: expected images of shape (n, H, W), (n, H, W, C) or (n, C, H, W); got "
                         f"{arr.shape}")
    arr = arr.astype(np.float64)
    if arr.min() < 0 or arr.max() > 1:               # scale each image to [0, 1] for display
        lo = arr.min(axis=tuple(range(1, arr.ndim)), keepdims=True)
        hi = arr.max(axis=tuple(range(1, arr.ndim)), keepdims=True)
        arr = (arr - lo) / np.where(hi > lo, hi - lo, 1.0)
    return arr


def _names(values, class_names):
    if values is None:
        return None
    arr = np.asarray(values)
    if arr.ndim == 2 and arr.shape[1] > 1:
        arr = arr.argmax(axis=1)
    arr = arr.reshape(-1)
    if class_names is None:
        return arr, [str(v) for v in arr]
    return arr, [str(class_names[int(v)]) for v in arr]


def plot_images(images, labels=None, predictions=None, class_names=None, ncols=8, path=None, max_images=64,
                title=None):
    """A grid of images titled with their labels; with ``predictions`` each title is the predicted
    class, and wrong ones are drawn in red as ``"pred (true)"``.

    ``images``: ``(n, H, W)``, ``(n, H, W, C)``, ``(n, C, H, W)`` or flattened ``(n, H*W)``;
    ``labels``/``predictions``: class indices, or one-hot / probability rows (argmax is taken).
    At most ``max_images`` are drawn.
    """
    imgs = _as_images(images, "plot_images")[:max_images]
    n = len(imgs)
    if n == 0:
        raise ValueError("plot_images: no images to plot")
    truth = _names(labels, class_names)
    preds = _names(predictions, class_names)
    for name, v in (("labels", truth), ("predictions", preds)):
        if v is not None and len(v[0]) < n:
            raise ValueError(f"plot_images: {len(v[0])} {name} for {n} images")
    rows, cols = _grid(n, ncols)
    fig = new_figure((1.6 * cols, 1.8 * rows))
    for i in range(n):
        ax = fig.add_subplot(rows, cols, i + 1)
        ax.imshow(imgs[i], cmap="gray" if imgs[i].ndim == 2 else None, vmin=0, vmax=1)
        ax.set_xticks([])
        ax.set_yticks([])
        if preds is not None:
            wrong = truth is not None and preds[0][i] != truth[0][i]
            text = f"{preds[1][i]} ({truth[1][i]})" if wrong else preds[1][i]
            ax.set_title(text, color="red" if wrong else "black", fontsize=8)
        elif truth is not None:
            ax.set_title(truth[1][i], fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    save_figure(fig, path)
    return fig


def plot_filters(weight, data_format="channels_first", ncols=8, path=None, max_panels=256, title=None):
    """First-layer convolution filters as small images, each scaled to its own [min, max].

    ``weight`` is ``(out, in, kH, kW)`` (``data_format='channels_first'``, PyTorch / shendu.nn) or
    ``(kH, kW, in, out)`` (``'channels_last'``, Keras kernels); a Tensor or Parameter works too.
    Filters over 3 input channels are drawn in colour, over 1 channel in grey; with any other number of
    input channels each (filter, channel) slice gets its own grey panel, one row per filter.
    """
    w = np.asarray(weight, dtype=np.float64)
    if w.ndim != 4:
        raise ValueError(f"plot_filters: expected a 4-D conv weight, got shape {w.shape}")
    if data_format == "channels_last":
        w = w.transpose(3, 2, 0, 1)
    elif data_format != "channels_first":
        raise ValueError(f"plot_filters: data_format must be 'channels_first' (out, in, kH, kW) or "
                         f"'channels_last' (kH, kW, in, out); got {data_format!r}")
    n_out, n_in = w.shape[:2]
    lo = w.min(axis=(1, 2, 3), keepdims=True)
    hi = w.max(axis=(1, 2, 3), keepdims=True)
    scaled = (w - lo) / np.where(hi > lo, hi - lo, 1.0)
    if n_in == 3:
        panels = list(scaled.transpose(0, 2, 3, 1))
        cols = ncols
    elif n_in == 1:
        panels = list(scaled[:, 0])
        cols = ncols
    else:
        panels = list(scaled.reshape(n_out * n_in, *w.shape[2:]))
        cols = n_in
    panels = panels[:max_panels]
    rows, cols = _grid(len(panels), cols)
    fig = new_figure((max(1.0 * cols, 3.0), max(1.0 * rows, 1.5) + 0.4))
    for i, panel in enumerate(panels):
        ax = fig.add_subplot(rows, cols, i + 1)
        ax.imshow(panel, cmap="gray" if panel.ndim == 2 else None, vmin=0, vmax=1, interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(title or f"conv filters {tuple(w.shape)} (out, in, kH, kW)", fontsize=9)
    fig.tight_layout()
    save_figure(fig, path)
    return fig
