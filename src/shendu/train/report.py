"""Run reports: ``report.html`` (self-contained, plots inline as base64 PNG) and ``metrics.json``.

    trainer.fit(x, y, epochs=10, validation_split=0.1, report_dir="runs/mlp")
    model.fit(..., callbacks=[Report("runs/cnn", dataset="fashion_mnist")])

A report holds the training curves, the final metrics, a confusion matrix (classification with
validation data), the model summary, the hyper-parameters (fit settings, optimizer class and its
settings), the data set name, the seed, library versions and the wall time. Without matplotlib the
report is still written, with a note in place of the plots. Both files are written atomically.
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
import sys
import time

import numpy as np

from ._io import atomic_write_text
from .callbacks import Callback

__all__ = ["Report", "write_report"]

_CLASSIFICATION_WORDS = ("acc", "auc", "precision", "recall", "f1")
_CLASSIFICATION_LOSSES = ("entropy", "nll", "hinge", "bce", "cross_entropy", "crossentropy")
_MAX_CLASSES = 50


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
        total = int(sum(np.size(getattr(p, "data", p)) for p in ps))
        trainable = int(sum(np.size(getattr(p, "data", p)) for p in ps if getattr(p, "requires_grad", True)))
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


def write_report(path, history, epochs=None, *, model=None, host=None, optimizer=None, fit_params=None,
                 dataset=None, confusion=None, class_names=None, wall_time=None, started=None, title=None):
    """Write ``report.html`` and ``metrics.json`` into the folder ``path``; returns their paths.

    ``history``: key -> list of per-epoch values. ``confusion``: an optional ``(y_true, y_pred)``
    pair of integer labels. Everything else is descriptive and may be left out.
    """
    from .. import random as sd_random

    folder = os.fspath(path)
    os.makedirs(folder, exist_ok=True)
    history = {k: list(v) for k, v in (history or {}).items()}
    epochs = list(epochs) if epochs is not None else list(range(len(next(iter(history.values()), []))))
    final = {k: v[-1] for k, v in history.items() if v}
    summary_text, total_params, trainable_params = _model_description(model, host)
    opt_info = _optimizer_description(optimizer)
    versions = library_versions()
    seed = sd_random.initial_seed()

    cm = None
    if confusion is not None:
        from ..metrics import confusion_matrix

        true, pred = confusion
        cm = confusion_matrix(true, pred)

    notes, curves_png, cm_png = [], None, None
    try:
        from .. import viz

        if history:
            class _H:  # what plot_history reads: .history and .epoch
                pass

            h = _H()
            h.history, h.epoch = history, epochs
            curves_png = _png(viz.plot_history(h, title=title))
        if cm is not None and len(cm) <= _MAX_CLASSES:
            names = class_names if class_names is not None and len(class_names) == len(cm) else None
            cm_png = _png(viz.plot_confusion_matrix(np.asarray(cm), class_names=names))
    except ImportError:
        notes.append("matplotlib is not installed, so the plots are left out (pip install matplotlib).")

    record = {
        "title": title, "dataset": dataset, "started": started, "wall_time_s": wall_time,
        "epochs_run": len(epochs), "epochs": epochs,
        "final": final, "history": history,
        "fit_params": fit_params or {}, "optimizer": opt_info,
        "model": {"class": type(model if model is not None else host).__name__, "parameters": total_params,
                  "trainable_parameters": trainable_params, "summary": summary_text},
        "confusion_matrix": None if cm is None else np.asarray(cm).tolist(),
        "class_names": None if class_names is None else list(class_names),
        "seed": seed, "versions": versions,
    }
    json_path = os.path.join(folder, "metrics.json")
    atomic_write_text(json_path, json.dumps(_jsonable(record), indent=2))

    heading = html.escape(title or "Training report")
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{heading}</title>"
             f"<style>{_CSS}</style></head><body><h1>{heading}</h1>"]
    overview = [("dataset", dataset or "-"), ("epochs run", len(epochs)),
                ("wall time", "-" if wall_time is None else f"{wall_time:.1f} s"), ("seed", seed),
                ("started", started or "-")]
    parts.append(_table(overview))
    parts += [f"<p class='note'>{html.escape(n)}</p>" for n in notes]
    parts.append("<h2>Final metrics</h2>" + _table((k, _fmt(_jsonable(v))) for k, v in final.items()))
    if curves_png:
        parts.append("<h2>Training curves</h2>"
                     f"<img alt='training curves' src='data:image/png;base64,{curves_png}'>")
    if cm is not None:
        parts.append("<h2>Confusion matrix (validation data)</h2>")
        if cm_png:
            parts.append(f"<img alt='confusion matrix' src='data:image/png;base64,{cm_png}'>")
        else:
            parts.append("<pre>" + html.escape(np.array2string(np.asarray(cm))) + "</pre>")
    parts.append("<h2>Model</h2><pre>" + html.escape(summary_text) + "</pre>")
    hyper = [(k, v) for k, v in (fit_params or {}).items()]
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
    return html_path, json_path


class Report(Callback):
    """Write a run report into the folder ``path`` when training ends (see :func:`write_report`).

    ``dataset`` names the data set; ``class_names`` labels the confusion matrix's rows and columns.
    """

    def __init__(self, path, dataset=None, title=None, class_names=None):
        super().__init__()
        self.path = os.fspath(path)
        self.dataset = dataset
        self.title = title
        self.class_names = class_names
        self.trainer = None
        self.history = {}
        self.epochs = []
        self.paths = None

    def set_trainer(self, trainer):
        self.trainer = trainer

    def on_train_begin(self, logs=None):
        self.history, self.epochs = {}, []
        self._t0 = time.perf_counter()
        self._started = datetime.datetime.now().astimezone().isoformat(timespec="seconds")

    def on_epoch_end(self, epoch, logs=None):
        self.epochs.append(epoch)
        for k, v in (logs or {}).items():
            self.history.setdefault(k, []).append(v)

    def on_train_end(self, logs=None):
        trainer = self.trainer
        model = getattr(trainer, "model", None)
        optimizer = getattr(self.model, "optimizer", None) or getattr(trainer, "optimizer", None)
        confusion = None
        if trainer is not None and trainer.validation_source is not None and _is_classification(trainer):
            try:
                y_true, y_pred = trainer.collect_predictions()
            except Exception as exc:  # noqa: BLE001 - the report must not break the end of training
                print(f"Report: the confusion matrix was left out ({exc})", file=sys.stderr)
                y_true = y_pred = None
            if y_true is not None and not isinstance(y_pred, (tuple, dict)):
                confusion = _labels_from(y_true, y_pred)
        self.paths = write_report(
            self.path, self.history, self.epochs, model=model, host=self.model, optimizer=optimizer,
            fit_params=getattr(trainer, "fit_params", None) or dict(self.params), dataset=self.dataset,
            confusion=confusion, class_names=self.class_names,
            wall_time=time.perf_counter() - self._t0, started=self._started, title=self.title)
