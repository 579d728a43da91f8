"""tf.keras 2's ``layer.add_metric(value, name=None)``: a value computed in ``call`` shown in the
training logs.

A value that is the result of a metric object the layer holds (``self.add_metric(self.acc_fn(y, p))``)
is logged as that metric, under its name; any other value is averaged over the epoch (weighted by
batch size) under ``name``. Like every Keras metric these start again at each epoch and for each
evaluation.
"""
import numpy as np

from ..metrics.streaming import Mean
from ._custom import tracked_metrics

__all__ = ["add_metric", "AddedMetrics"]

_used = False  # set by the first add_metric: until then no step needs to walk the layers for them


def _value(v):
    return float(np.asarray(getattr(v, "array", v)))


def add_metric(layer, value, name=None, aggregation=None):
    if aggregation not in (None, "mean"):
        raise NotImplementedError(f"add_metric: aggregation={aggregation!r} (only 'mean') is not supported")
    source = next((m for m in tracked_metrics(layer) if (name is None or name == m.name)
                   and np.isclose(_value(m.result()), _value(value))), None)
    if name is None:
        if source is None:
            raise ValueError(f"add_metric: layer '{layer.name}' needs name= for a value that is not the "
                             "result of one of its metric objects")
        name = source.name
    global _used
    _used = True
    layer.__dict__.setdefault("_call_metrics", []).append((name, source, value))


class AddedMetrics:
    """The metrics added by the layers of one model during training or evaluation: name -> Metric."""

    def __init__(self):
        self.table = {}

    def record(self, model, batch_size):
        if not _used:
            return
        for layer in model._walk_layers():
            for name, source, value in layer.__dict__.get("_call_metrics", ()):
                if source is not None:
                    self.table[name] = source
                else:
                    metric = self.table.setdefault(name, Mean(name=name))
                    metric.update_state(_value(value), sample_weight=batch_size)

    def logs(self):
        return {name: m.result() for name, m in self.table.items()}

    def reset(self):
        for m in self.table.values():
            m.reset_state()
