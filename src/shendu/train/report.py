"""Run reports: ``report.html`` (self-contained, plots inline as base64 PNG) and ``metrics.json``.

    trainer.fit(x, y, epochs=10, validation_split=0.1, report_dir="runs/mlp")
    model.fit(..., callbacks=[Report("runs/cnn", dataset="fashion_mnist")])

A report holds the training curves, the learning rate per epoch, the final metrics, for
classification with validation data a confusion matrix, per-class precision / recall / F1 and the
misclassified examples, the model summary, the hyper-parameters (fit settings, optimizer class and
its settings), the data set name, the seed, the command that started the run, library versions and
the wall time. Without matplotlib the report is still written, with a note in place of the plots.

Both files are written atomically. A folder that already holds a report keeps it: the earlier
``report.html`` and ``metrics.json`` move into ``previous-<YYYYmmdd-HHMMSS>/`` inside the folder
(the time the earlier report was written), so the folder's own ``report.html`` is always the
latest run. ``Report.finish()`` writes the report of the epochs run so far, e.g. after Ctrl-C.
"""
import base64
import contextlib
import datetime
import html
import importlib.metadata
import io
import json
import math
import os
import platform
import shlex
import sys
import time

import numpy as np

from ._io import atomic_write_text
from .callbacks import Callback

__all__ = ["Report", "write_report"]

_CLASSIFICATION_WORDS = ("acc", "auc", "precision", "recall", "f1")
_CLASSIFICATION_LOSSES = ("entropy", "nll", "hinge", "bce", "cross_entropy", "crossentropy")
_MAX_CLASSES = 50
_MAX_WRONG_IMAGES = 32
_MAX_WRONG_ROWS = 50
_LR_KEYS = ("learning_rate", "lr")
_REPORT_FILES = ("report.html", "metrics.json")


def _jsonable(value):
    """Plain JSON values: numpy numbers and arrays become floats / lists; NaN and inf become None."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, (bool, int, str)):
        return value
    return str(value)


def _version(name):
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def library_versions():
    """Versions of Python, NumPy, shendu and matplotlib (None when not installed)."""
    from .. import __version__

    return {"python": platform.python_version(), "numpy": np.__version__, "shendu": __version__,
            "matplotlib": _version("matplotlib"), "platform": platform.platform()}


def _png(fig):
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _model_description(model, host):
    """(summary text, total parameters, trainable parameters) for the report."""
    total = trainable = None
    params = getattr(model, "parameters", None)
    if callable(params):
        ps = list(params())
        total = int(sum(np.size(getattr(p, "array", p)) for p in ps))
        trainable = int(sum(np.size(getattr(p, "array", p)) for p in ps if getattr(p, "requires_grad", True)))
    summary = getattr(host, "summary", None)
    if callable(summary):
        buf = io.StringIO()
        try:
            with contextlib.redirect_stdout(buf):
                result = summary()
            text = buf.getvalue() or (result if isinstance(result, str) else "")
            if text:
                return text, total, trainable
        except Exception as exc:  # noqa: BLE001 - a summary that cannot be built falls back to repr
            note = f"(summary() failed: {exc})\n"
        else:
            note = ""
    else:
        note = ""
    text = note + repr(model if model is not None else host)
    if total is not None:
        text += f"\n\nTotal params: {total:,}\nTrainable params: {trainable:,}\n"
    return text, total, trainable


def _optimizer_description(optimizer):
    if optimizer is None:
        return None
    info = {"class": type(optimizer).__name__}
    config = None
    get_config = getattr(optimizer, "get_config", None)
    if callable(get_config):
        with contextlib.suppress(Exception):
            config = get_config()
    if config is None:
        config = getattr(optimizer, "defaults", None)
    if isinstance(config, dict):
        info["config"] = {k: v for k, v in config.items() if isinstance(v, (int, float, str, bool, type(None),
                                                                           tuple, list))}
    with contextlib.suppress(Exception):
        from .lr import get_lr

        info["learning_rate"] = get_lr(optimizer)
    return info


def _labels_from(y_true, y_pred):
    """Integer class labels (truth, prediction) for a classifier's outputs, or None if not classification."""
    yt, yp = np.asarray(y_true), np.asarray(y_pred)
    if yp.ndim == 2 and yp.shape[1] > 1:
        pred = np.argmax(yp, axis=1)
    elif yp.ndim == 1 or (yp.ndim == 2 and yp.shape[1] == 1):
        yp = yp.reshape(-1)
        threshold = 0.5 if (yp.min(initial=0.0) >= 0.0 and yp.max(initial=1.0) <= 1.0) else 0.0
        pred = (yp > threshold).astype(np.int64)
    else:
        return None
    if yt.ndim == 2 and yt.shape[1] > 1:
        true = np.argmax(yt, axis=1)
    else:
        true = yt.reshape(-1)
        if true.dtype.kind == "f" and not np.all(true == np.round(true)):
            return None
        true = true.astype(np.int64)
    if len(true) != len(pred):
        return None
    return true, pred


def _is_classification(trainer):
    names = " ".join(trainer.metrics_names[1:]).lower()
    loss = trainer.loss
    loss_name = getattr(loss, "name", None)
    loss_name = (loss_name if isinstance(loss_name, str) else type(loss).__name__).lower()
    return (any(w in names for w in _CLASSIFICATION_WORDS)
            or any(w in loss_name for w in _CLASSIFICATION_LOSSES))


def _table(rows):
    cells = "".join(f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>" for k, v in rows)
    return f"<table>{cells}</table>"


def _fmt(v):
    if isinstance(v, float):
        return f"{v:.4f}" if abs(v) > 1e-3 or v == 0 else f"{v:.4e}"
    return v


_CSS = (
    "body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:2em auto;"
    "max-width:60em;color:#222;padding:0 1em}"
    "h1{font-size:1.6em}"
    "h2{font-size:1.2em;border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.6em}"
    "table{border-collapse:collapse}"
    "th,td{text-align:left;padding:.2em .8em;border-bottom:1px solid #eee;vertical-align:top}"
    "th{font-weight:600}"
    "pre{background:#f6f8fa;padding:1em;overflow-x:auto;font-size:.85em}"
    "img{max-width:100%}"
    ".note{color:#8a6d3b;background:#fcf8e3;padding:.6em 1em}"
)


def _move_previous(folder):
    """Move an earlier report in ``folder`` into ``folder/previous-<time it was written>/``; returns
    that folder, or None when there was nothing to move."""
    found = [n for n in _REPORT_FILES if os.path.isfile(os.path.join(folder, n))]
    if not found:
        return None
    written = max(os.path.getmtime(os.path.join(folder, n)) for n in found)
    stamp = datetime.datetime.fromtimestamp(written).strftime("%Y%m%d-%H%M%S")
    target = os.path.join(folder, f"previous-{stamp}")
    n = 2
    while os.path.exists(target):
        target = os.path.join(folder, f"previous-{stamp}-{n}")
        n += 1
    os.makedirs(target)
    for name in found:
        os.replace(os.path.join(folder, name), os.path.join(target, name))
    return target


def _looks_like_images(x, n):
    """True for a batch of ``n`` images: (n, H, W) with H, W >= 8, or 4-D with 1, 3 or 4 channels first
    or last."""
    if not isinstance(x, np.ndarray) or len(x) != n or x.dtype.kind not in "fiub":
        return False
    if x.ndim == 3:
        return min(x.shape[1:]) >= 8
    return x.ndim == 4 and (x.shape[-1] in (1, 3, 4) or x.shape[1] in (1, 3, 4))


def _class_labels(true, pred, class_names):
    """The label set for the tables: 0..k-1 covering ``class_names`` and every label seen."""
    both = np.concatenate([true, pred])
    if both.dtype.kind in "iu" and (both.size == 0 or both.min() >= 0):
        k = max(len(class_names) if class_names is not None else 0, int(both.max(initial=-1)) + 1)
        return np.arange(k)
    return np.unique(both)


def _per_class(true, pred, labels, names):
    """Rows ``(name, precision, recall, f1, support)`` per class, then the macro and weighted means."""
    from ..metrics import precision_recall_fscore_support

    p, r, f, support = precision_recall_fscore_support(true, pred, labels=labels, average=None,
                                                       zero_division=0)
    rows = [{"class": str(names[i]), "precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]),
             "support": int(support[i])} for i in range(len(labels))]
    for average in ("macro", "weighted"):
        p, r, f, _ = precision_recall_fscore_support(true, pred, labels=labels, average=average,
                                                     zero_division=0)
        rows.append({"class": f"{average} avg", "precision": float(p), "recall": float(r), "f1": float(f),
                     "support": int(len(true))})
    return rows


def _grid_table(header, rows):
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(_fmt(v)))}</td>" for v in row) + "</tr>"
                   for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def default_command():
    """The command line that started this process (``sys.argv``), quoted as a shell would need it.

    ``python -m pkg ...`` is shown as typed (``sys.argv[0]`` would be the module's file), and a
    console script by its name (``shendu demo ...``, not its full path).
    """
    argv = [str(a) for a in sys.argv]
    orig = [str(a) for a in getattr(sys, "orig_argv", [])]
    if argv and len(orig) >= 3 and orig[1] == "-m":
        argv = ["python", "-m", orig[2], *argv[1:]]
    elif argv and argv[0] and not argv[0].endswith(".py") and os.path.isabs(argv[0]):
        argv[0] = os.path.basename(argv[0])
    return shlex.join(argv)


class ReportPaths(tuple):
    """``(html_path, json_path)``, with ``.previous``: the folder an earlier report was moved to, or None."""

    def __new__(cls, html_path, json_path, previous=None):
        paths = super().__new__(cls, (html_path, json_path))
        paths.previous = previous
        return paths


def write_report(path, history, epochs=None, *, model=None, host=None, optimizer=None, fit_params=None,
                 dataset=None, confusion=None, class_names=None, wall_time=None, started=None, title=None,
                 split_name="validation", inputs=None, learning_rates=None, command=None, seed=None,
                 notes=(), overwrite=False):
    """Write ``report.html`` and ``metrics.json`` into the folder ``path``; returns their paths
    (a :class:`ReportPaths` tuple).

    ``history``: key -> list of per-epoch values. ``confusion``: an optional ``(y_true, y_pred)``
    pair of integer labels, computed on the data called ``split_name`` (Keras's ``validation_data``
    is ``"validation"``; say ``"test"`` when it is the test set); ``inputs`` are that data's inputs in
    the same order, used to draw the misclassified examples when they are images.
    ``learning_rates``: one value per epoch (taken from ``history['learning_rate']`` or
    ``history['lr']`` when left out). ``command`` defaults to ``sys.argv`` joined; ``seed`` to
    ``shendu.random.initial_seed()`` (else ``fit_params['seed']``). ``notes`` are shown at the top.
    An earlier report in the folder is moved into ``previous-<time>/`` unless ``overwrite=True``.
    Everything else is descriptive and may be left out.
    """
    from .. import random as sd_random

    folder = os.fspath(path)
    os.makedirs(folder, exist_ok=True)
    history = {k: list(v) for k, v in (history or {}).items()}
    epochs = list(epochs) if epochs is not None else list(range(len(next(iter(history.values()), []))))
    if learning_rates is None:
        learning_rates = next((history[k] for k in _LR_KEYS if k in history), None)
    curves = {k: v for k, v in history.items() if k not in _LR_KEYS and v}
    final = {k: v[-1] for k, v in history.items() if v}
    summary_text, total_params, trainable_params = _model_description(model, host)
    opt_info = _optimizer_description(optimizer)
    versions = library_versions()
    fit_params = dict(fit_params or {})
    fit_seed = fit_params.pop("seed", None)
    if seed is None:
        seed = sd_random.initial_seed()
    if seed is None:
        seed = fit_seed
    elif fit_seed is not None and fit_seed != seed:
        fit_params["shuffle_seed"] = fit_seed        # fit(seed=...) drew the batch order, apart from it
    command = default_command() if command is None else str(command)
    split = str(split_name or "validation")
    notes = [str(n) for n in notes]

    cm = per_class = wrong = names = images = None
    if confusion is not None:
        from ..metrics import confusion_matrix

        true, pred = (np.asarray(a).reshape(-1) for a in confusion)
        labels = _class_labels(true, pred, class_names)
        cm = confusion_matrix(true, pred, labels=labels)
        names = (list(class_names) if class_names is not None and len(class_names) == len(labels)
                 else [str(v) for v in labels])
        per_class = _per_class(true, pred, labels, names)
        position = {v: i for i, v in enumerate(labels.tolist())}
        true_at = np.array([position[v] for v in true.tolist()], dtype=np.int64)   # rows of `names`
        pred_at = np.array([position[v] for v in pred.tolist()], dtype=np.int64)
        wrong_at = np.flatnonzero(true_at != pred_at)
        wrong = [{"index": int(i), "true": names[true_at[i]], "predicted": names[pred_at[i]]}
                 for i in wrong_at]
        if inputs is not None and len(wrong_at) and _looks_like_images(np.asarray(inputs), len(true)):
            picked = wrong_at[:_MAX_WRONG_IMAGES]
            images = (np.asarray(inputs)[picked], true_at[picked], pred_at[picked])

    lr_png = curves_png = cm_png = wrong_png = None
    has_lr = learning_rates is not None and any(
        v is not None and math.isfinite(float(v)) for v in learning_rates)
    try:
        from .. import viz

        if curves:
            class _H:  # what plot_history reads: .history and .epoch
                pass

            h = _H()
            h.history, h.epoch = curves, epochs
            curves_png = _png(viz.plot_history(h, title=title, val_label=split))
        if has_lr:
            lr_epochs = epochs if len(epochs) == len(learning_rates) else None
            lr_png = _png(viz.plot_learning_rate(learning_rates, lr_epochs))
        if cm is not None and len(cm) <= _MAX_CLASSES:
            cm_png = _png(viz.plot_confusion_matrix(np.asarray(cm), class_names=names))
        if images is not None:
            wrong_png = _png(viz.plot_images(*images, class_names=names, max_images=_MAX_WRONG_IMAGES))
    except ImportError:
        notes.append("matplotlib is not installed, so the plots are left out (pip install matplotlib).")

    record = {
        "title": title, "dataset": dataset, "split_name": split, "command": command, "started": started,
        "wall_time_s": wall_time, "epochs_run": len(epochs), "epochs": epochs,
        "final": final, "history": history,
        "learning_rate": None if not has_lr else list(learning_rates),
        "fit_params": fit_params, "optimizer": opt_info,
        "model": {"class": type(model if model is not None else host).__name__, "parameters": total_params,
                  "trainable_parameters": trainable_params, "summary": summary_text},
        "confusion_matrix": None if cm is None else np.asarray(cm).tolist(),
        "class_names": None if class_names is None else list(class_names),
        "per_class": per_class,
        "misclassified": None if wrong is None else {"count": len(wrong), "of": int(len(confusion[0])),
                                                     "examples": wrong[:1000]},
        "seed": seed, "notes": notes, "versions": versions,
    }
    previous = None if overwrite else _move_previous(folder)
    if previous is not None:
        record["previous_report"] = os.path.basename(previous)
        print(f"Report: {folder} already held a report; it was moved to {previous}", file=sys.stderr)
    json_path = os.path.join(folder, "metrics.json")
    atomic_write_text(json_path, json.dumps(_jsonable(record), indent=2))

    heading = html.escape(title or "Training report")
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{heading}</title>"
             f"<style>{_CSS}</style></head><body><h1>{heading}</h1>"]
    overview = [("dataset", dataset or "-"), ("evaluated on", f"{split} data"), ("epochs run", len(epochs)),
                ("wall time", "-" if wall_time is None else f"{wall_time:.1f} s"), ("seed", seed),
                ("started", started or "-"), ("command", command)]
    if previous is not None:
        overview.append(("earlier report", f"moved to {os.path.basename(previous)}/"))
    parts.append(_table(overview))
    parts += [f"<p class='note'>{html.escape(n)}</p>" for n in notes]
    final_rows = [(k if not k.startswith("val_") else f"{k} ({split})", _fmt(_jsonable(v)))
                  for k, v in final.items()]
    parts.append("<h2>Final metrics</h2>" + _table(final_rows))
    if curves_png:
        parts.append("<h2>Training curves</h2>"
                     f"<img alt='training curves' src='data:image/png;base64,{curves_png}'>")
    if has_lr:
        parts.append("<h2>Learning rate</h2>")
        if lr_png:
            parts.append(f"<img alt='learning rate' src='data:image/png;base64,{lr_png}'>")
        else:
            parts.append(_grid_table(("epoch", "learning rate"),
                                     [(e + 1, v) for e, v in zip(epochs, learning_rates)]))
    if cm is not None:
        parts.append(f"<h2>Confusion matrix ({html.escape(split)} data)</h2>")
        if cm_png:
            parts.append(f"<img alt='confusion matrix' src='data:image/png;base64,{cm_png}'>")
        else:
            parts.append("<pre>" + html.escape(np.array2string(np.asarray(cm))) + "</pre>")
        parts.append(f"<h2>Per-class precision, recall and F1 ({html.escape(split)} data)</h2>")
        parts.append(_grid_table(("class", "precision", "recall", "F1", "support"),
                                 [tuple(r.values()) for r in per_class]))
        count = len(wrong)
        parts.append(f"<h2>Misclassified examples ({html.escape(split)} data)</h2>"
                     f"<p>{count} of {len(confusion[0])} misclassified.</p>")
        if wrong_png:
            shown = min(count, _MAX_WRONG_IMAGES)
            parts.append(f"<p>The first {shown}, titled <em>predicted (true)</em>:</p>"
                         f"<img alt='misclassified examples' src='data:image/png;base64,{wrong_png}'>")
        elif wrong:
            shown = min(count, _MAX_WRONG_ROWS)
            parts.append(f"<p>The first {shown} (index into the {html.escape(split)} data):</p>"
                         + _grid_table(("index", "true", "predicted"),
                                       [tuple(w.values()) for w in wrong[:shown]]))
    parts.append("<h2>Model</h2><pre>" + html.escape(summary_text) + "</pre>")
    hyper = list(fit_params.items())
    if opt_info:
        hyper.append(("optimizer", opt_info["class"]))
        if "learning_rate" in opt_info:
            hyper.append(("learning rate (final)", opt_info["learning_rate"]))
        hyper += [(f"optimizer.{k}", v) for k, v in opt_info.get("config", {}).items()]
    parts.append("<h2>Hyper-parameters</h2>" + _table(hyper))
    parts.append("<h2>Environment</h2>" + _table(versions.items()))
    parts.append("</body></html>")
    html_path = os.path.join(folder, "report.html")
    atomic_write_text(html_path, "\n".join(parts))
    return ReportPaths(html_path, json_path, previous)


def _current_lr(optimizer):
    from .lr import get_lr

    try:
        return get_lr(optimizer)
    except Exception:  # noqa: BLE001 - an optimizer without a readable rate has no curve
        return None


class Report(Callback):
    """Write a run report into the folder ``path`` when training ends (see :func:`write_report`).

    ``dataset`` names the data set; ``class_names`` labels the confusion matrix and the per-class
    table. ``split_name`` names the data the ``val_`` numbers come from: ``"validation"`` (Keras's
    word for ``validation_data``) by default; pass ``"test"`` when ``validation_data`` is the test
    set. ``command`` is the command line shown in the report (default: ``sys.argv`` joined).

    A folder that already holds a report keeps it under ``previous-<time>/`` (see
    :func:`write_report`); pass ``overwrite=True`` to replace it. Reports written again during the
    same run (``finish()`` then the end of training) replace each other.

    :meth:`finish` writes the report of the epochs finished so far; call it when training stops
    early, e.g. on Ctrl-C::

        report = Report("runs/cnn", dataset="digits")
        try:
            model.fit(x, y, epochs=50, callbacks=[report])
        except KeyboardInterrupt:
            report.finish()        # the report notes that training was interrupted
    """

    def __init__(self, path, dataset=None, title=None, class_names=None, split_name="validation",
                 command=None, overwrite=False):
        super().__init__()
        self.path = os.fspath(path)
        self.dataset = dataset
        self.title = title
        self.class_names = class_names
        self.split_name = split_name
        self.command = command
        self.overwrite = overwrite
        self.trainer = None
        self.history = {}
        self.epochs = []
        self.learning_rates = []
        self.paths = None
        self.previous = None
        self._running = False
        self._written = False
        self._t0 = None
        self._started = None
        self._batch_lr = None

    def set_trainer(self, trainer):
        self.trainer = trainer

    def _optimizer(self):
        return getattr(self.model, "optimizer", None) or getattr(self.trainer, "optimizer", None)

    def on_train_begin(self, logs=None):
        self.history, self.epochs, self.learning_rates = {}, [], []
        self._t0 = time.perf_counter()
        self._started = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
        self._running, self._written = True, False

    def on_train_batch_end(self, batch, logs=None):
        self._batch_lr = _current_lr(self._optimizer())     # the rate this batch's step used

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        self.epochs.append(epoch)
        for k, v in logs.items():
            self.history.setdefault(k, []).append(v)
        lr = next((logs[k] for k in _LR_KEYS if k in logs), None)
        self.learning_rates.append(lr if lr is not None else
                                   self._batch_lr if self._batch_lr is not None else
                                   _current_lr(self._optimizer()))
        self._batch_lr = None

    def on_train_end(self, logs=None):
        self._write()
        self._running = False

    def finish(self, note=None):
        """Write the report now, from the epochs finished so far; returns ``(html_path, json_path)``.

        Called before training has ended (for instance after ``fit`` was stopped by Ctrl-C), the
        report says so. ``note`` adds a line of your own at the top.
        """
        notes = []
        if self._running:
            planned = (getattr(self.trainer, "fit_params", None) or self.params or {}).get("epochs")
            of = f" of {planned}" if planned else ""
            notes.append(f"Training was stopped before its end: this report holds the {len(self.epochs)}"
                         f"{of} epoch(s) finished.")
        if note:
            notes.append(str(note))
        return self._write(notes)

    def _write(self, notes=()):
        trainer = self.trainer
        model = getattr(trainer, "model", None)
        confusion = inputs = None
        source = getattr(trainer, "validation_source", None)
        if trainer is not None and source is not None and _is_classification(trainer):
            try:
                y_true, y_pred = trainer.collect_predictions()
            except Exception as exc:  # noqa: BLE001 - the report must not break the end of training
                print(f"Report: the confusion matrix was left out ({exc})", file=sys.stderr)
                y_true = y_pred = None
            if y_true is not None and not isinstance(y_pred, (tuple, dict)):
                confusion = _labels_from(y_true, y_pred)
            if confusion is not None and getattr(source, "fixed_steps", None) is None:
                inputs = getattr(source, "x", None)          # in batch order: the source is not shuffled
        wall = None if self._t0 is None else time.perf_counter() - self._t0
        self.paths = write_report(
            self.path, self.history, self.epochs, model=model, host=self.model, optimizer=self._optimizer(),
            fit_params=getattr(trainer, "fit_params", None) or dict(self.params or {}), dataset=self.dataset,
            confusion=confusion, class_names=self.class_names, wall_time=wall, started=self._started,
            title=self.title, split_name=self.split_name, inputs=inputs,
            learning_rates=self.learning_rates if self.epochs else None, command=self.command, notes=notes,
            overwrite=self.overwrite or self._written)
        if not self._written:
            self.previous = self.paths.previous
        self._written = True
        return self.paths
