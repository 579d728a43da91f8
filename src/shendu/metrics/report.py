"""Text (or dict) summary of per-class precision, recall, F1 and support."""
import warnings

import numpy as np

from ._checks import check_targets, unique_labels
from .classification import precision_recall_fscore_support

_HEADERS = ("precision", "recall", "f1-score", "support")


def classification_report(y_true, y_pred, *, labels=None, target_names=None, sample_weight=None, digits=2,
                          output_dict=False, zero_division="warn"):
    """Per-class precision P = TP/(TP+FP), recall R = TP/(TP+FN), F1 = 2PR/(P+R) and support
    (number of true samples), followed by the averages.

    The last lines are ``accuracy`` (= micro average, shown when every label present is reported),
    otherwise ``micro avg``, then ``macro avg`` (plain mean over classes) and ``weighted avg``
    (mean weighted by support). ``output_dict=True`` returns the same numbers as a dict of dicts
    (``report["accuracy"]`` is a float), laid out as scikit-learn's.
    """
    func = "classification_report"
    _, present, yt, yp, w = check_targets(y_true, y_pred, func, sample_weight)
    labels_given = labels is not None
    labels = np.asarray(labels) if labels_given else present
    micro_is_accuracy = not labels_given or set(labels.tolist()) >= set(unique_labels(yt, yp).tolist())
    if target_names is not None and len(labels) != len(target_names):
        if labels_given:
            warnings.warn(f"labels size, {len(labels)}, does not match size of target_names, "
                          f"{len(target_names)}", UserWarning, stacklevel=2)
        else:
            raise ValueError(f"{func}: Number of classes, {len(labels)}, does not match size of "
                             f"target_names, {len(target_names)}. Try specifying the labels parameter")
    if target_names is None:
        target_names = [str(label) for label in labels]
    p, r, f1, support = precision_recall_fscore_support(yt, yp, labels=labels, average=None,
                                                        sample_weight=w, zero_division=zero_division)
    rows = list(zip(target_names, p, r, f1, support))
    total = np.sum(support)
    averages = []
    for average in ("micro", "macro", "weighted"):
        heading = "accuracy" if average == "micro" and micro_is_accuracy else f"{average} avg"
        ap, ar, af, _ = precision_recall_fscore_support(yt, yp, labels=labels, average=average,
                                                        sample_weight=w, zero_division=zero_division)
        averages.append((heading, ap, ar, af, total))

    if output_dict:
        report = {}
        for name, *scores in rows + averages:
            report[name] = dict(zip(_HEADERS, (float(v) for v in scores)))
        if "accuracy" in report:
            report["accuracy"] = report["accuracy"]["precision"]
        return report

    width = max(max(len(name) for name in target_names), len("weighted avg"), digits)
    text = " " * width + " " + "".join(f" {h:>9}" for h in _HEADERS) + "\n\n"

    def line(name, values, support_):
        cells = "".join(f" {v:>9.{digits}f}" if isinstance(v, (float, np.floating)) else f" {v:>9.{digits}}"
                        for v in values)
        return f"{name:>{width}} {cells} {support_:>9}\n"

    for name, pv, rv, fv, sv in rows:
        text += line(name, (float(pv), float(rv), float(fv)), sv)
    text += "\n"
    for name, pv, rv, fv, sv in averages:
        if name == "accuracy":
            text += line(name, ("", "", float(fv)), sv)
        else:
            text += line(name, (pv, rv, fv), sv)
    return text
