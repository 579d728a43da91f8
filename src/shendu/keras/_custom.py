"""The Trainer of Keras models, with custom training steps: ``fit`` / ``evaluate`` / ``predict`` calling a
model's own ``train_step`` / ``test_step`` / ``predict_step``, and the pieces such steps use
(``compute_loss``, ``compiled_loss``, ``compiled_metrics``, ``metrics``), and the values layers log with
``add_metric``.

The loop stays :class:`shendu.train.Trainer`'s: it feeds batches, runs callbacks and keeps the logs.
A step receives ``data`` packed as Keras packs it (``x`` alone when there are no targets, else
``(x, y)`` or ``(x, y, sample_weight)``, as Tensors) and returns a dict of results; the epoch's
logs are the dict the last step returned (a result that is itself a dict is merged in).
"""

import threading

import numpy as np

from ..metrics.streaming import Mean, Metric
from ..tensor import Tensor
from ..train import Trainer as _BaseTrainer
from ..train import adapter
from ..train.trainer import _batch_size_of
from . import optimizers as _optimizers
from .layers.base import call_terms

__all__ = ["KerasTrainer", "CompiledLossView", "CompileMetrics", "pack", "plain_logs", "overrides",
           "tracked_metrics", "add_metric"]

_adding = False  # set by the first add_metric: until then no step walks the layers for added metrics


def overrides(model, name):
    """True when ``model``'s class defines its own ``name`` (train_step, test_step, predict_step)."""
    from .models import Model

    return getattr(type(model), name, None) is not getattr(Model, name)


def _tensors(x):
    if isinstance(x, np.ndarray) and x.dtype.kind in "biuf":
        return Tensor(x)
    if isinstance(x, (tuple, list)):
        return type(x)(_tensors(v) for v in x)
    return {k: _tensors(v) for k, v in x.items()} if isinstance(x, dict) else x


def pack(x, y=None, sample_weight=None):
    """Keras's packing of a batch for a step: ``x``, ``(x, y)`` or ``(x, y, sample_weight)``."""
    x = _tensors(x)
    if y is None:
        return x
    if sample_weight is None:
        return x, _tensors(y)
    return x, _tensors(y), _tensors(np.asarray(sample_weight, dtype=np.float32))


def unpack(data):
    """``(x, y, sample_weight)`` from what a step received (``keras.utils.unpack_x_y_sample_weight``)."""
    if isinstance(data, list):
        data = tuple(data)
    if not isinstance(data, tuple):
        return data, None, None
    if 1 <= len(data) <= 3:
        return data + (None,) * (3 - len(data))
    raise ValueError(f"Data is expected to be (x,), (x, y) or (x, y, sample_weight); got {len(data)} items")


def _scalar(v):
    a = np.asarray(getattr(v, "array", v))
    return float(a) if a.size == 1 else a


def plain_logs(logs):
    """A step's returned dict as plain numbers (Tensors and arrays become floats; dicts are merged)."""
    if logs is None:
        return {}
    if not isinstance(logs, dict):
        raise TypeError(f"train_step/test_step must return a dict of results, got {type(logs).__name__}")
    out = {}
    for k, v in logs.items():
        out.update(plain_logs(v) if isinstance(v, dict) else {k: _scalar(v)})
    return out


def tracked_metrics(model):
    """Metric objects held as attributes of a model or layer (Keras tracks them), in assignment order."""
    return [v for k, v in vars(model).items()
            if isinstance(v, Metric) and k not in ("_loss_mean", "_compile_metrics")]


def add_metric(layer, value, name=None, aggregation=None):
    """tf.keras 2's ``layer.add_metric(value, name=None)``: a value computed in ``call`` shown in the
    training logs. A value that is the result of a metric object the layer holds
    (``self.add_metric(self.acc_fn(y, p))``) is logged as that metric, under its name; any other value is
    averaged over the epoch (weighted by batch size) under ``name``. Like every Keras metric these start
    again at each epoch and for each evaluation."""
    if aggregation not in (None, "mean"):
        raise NotImplementedError(f"add_metric: aggregation={aggregation!r} (only 'mean') is not supported")
    source = next((m for m in tracked_metrics(layer) if (name is None or name == m.name)
                   and np.isclose(float(_scalar(m.result())), float(_scalar(value)))), None)
    if name is None:
        if source is None:
            raise ValueError(f"add_metric: layer '{layer.name}' needs name= for a value that is not the "
                             "result of one of its metric objects")
        name = source.name
    global _adding
    _adding = True
    layer.__dict__.setdefault("_call_metrics", []).append((name, source, value))


class CompileMetrics(Metric):
    """The metrics given to ``compile(metrics=...)``, as one object (Keras 3's ``compile_metrics``):
    ``update_state(y, y_pred, sample_weight)`` updates each, ``result()`` is a dict of their results."""

    def __init__(self, model):
        self._model = model
        super().__init__(name="compile_metrics")

    @property
    def metrics(self):
        return self._model._get_trainer().metrics

    def reset_state(self):
        model = self.__dict__.get("_model")
        if model is not None and model._trainer is not None:
            for m in model._trainer.metrics:
                m.reset_state()

    def update_state(self, y_true, y_pred, sample_weight=None):
        trainer = self._model._get_trainer()
        yt, yp = np.asarray(getattr(y_true, "array", y_true)), np.asarray(getattr(y_pred, "array", y_pred))
        trainer._build_metrics(yt, yp)
        w = None if sample_weight is None else np.asarray(getattr(sample_weight, "array", sample_weight))
        for m in trainer.metrics:
            m.update_state(yt, yp, sample_weight=w)

    def result(self):
        return {m.name: m.result() for m in self.metrics}

    def __repr__(self):
        return f"<CompileMetrics {[m.name for m in self.metrics]}>"


class CompiledLossView:
    """``model.compiled_loss(y_true, y_pred, sample_weight=None, regularization_losses=None)`` (tf.keras 2):
    the compiled loss as a Tensor, plus the given penalties; it also updates the ``loss`` tracker."""

    def __init__(self, model):
        self._model = model

    @property
    def metrics(self):
        return [self._model._loss_tracker()]

    def __call__(self, y_true, y_pred, sample_weight=None, regularization_losses=None):
        model = self._model
        if model._compiled_loss is None:
            raise ValueError(f"Model '{model.name}': compiled_loss needs compile(loss=...)")
        loss = _BaseTrainer.compute_loss(model._get_trainer(), y_pred, y_true, sample_weight)
        loss = sum(regularization_losses or [], loss)
        model._loss_tracker().update_state(float(np.asarray(loss.array)))
        return loss


class KerasTrainer(_BaseTrainer):
    """The shared Trainer, plus Keras's rules: regularization penalties and ``add_loss`` terms
    (``model.losses``) join the loss, in training and in evaluation; each batch goes to the host model's
    own ``train_step`` / ``test_step`` / ``predict_step`` when its class defines one; weight constraints
    are applied after each step whatever the optimizer (a ``shendu.optim`` one as well)."""

    _local = threading.local()

    def _holder(self):
        tally = self._tallies.get(threading.get_ident())
        return tally if tally is not None else self

    def _reset_host_metrics(self):
        for m in self.host.metrics:
            m.reset_state()

    def _step(self, name, x, y, sample_weight):
        """The host's own ``name`` ("train_step", "test_step") on the packed batch when its class defines
        one (its dict is kept as the logs), else the Trainer's."""
        own = self.__dict__.get("_fit_own_steps")           # during a fit: looked up once
        if not (own[name] if own is not None else overrides(self.host, name)):
            return getattr(super(), name)(x, y, sample_weight)
        self._holder().custom_logs = logs = plain_logs(getattr(self.host, name)(pack(x, y, sample_weight)))
        return logs

    def train_step(self, x, y, sample_weight=None):
        logs = self._step("train_step", x, y, sample_weight)
        if not isinstance(self.optimizer, _optimizers.Optimizer):  # Keras optimizers project in step()
            _optimizers.apply_constraints(self.host.parameters())
        return logs

    def _batch_logs_optional(self):  # not when the host's own train_step runs: it may read super()'s logs
        return type(self).train_step is KerasTrainer.train_step and not self._fit_own_steps["train_step"]

    def test_step(self, x, y, sample_weight=None):
        return self._step("test_step", x, y, sample_weight)

    def fit(self, *args, **kwargs):
        layers = list(self.host._walk_layers())  # a fit's layers are fixed: found once, not every step
        self._fit_layers = None if any(layer._has_weight_regularizer() for layer in layers) else layers
        self._fit_own_steps = {name: overrides(self.host, name) for name in ("train_step", "test_step")}
        try:
            return super().fit(*args, **kwargs)
        finally:
            self._fit_layers = self._fit_own_steps = None

    def compute_loss(self, y_pred, y, sample_weight=None):
        layers = self.__dict__.get("_fit_layers")  # during a fit without weight penalties: add_loss terms
        extra = self.host.losses if layers is None else [t for layer in layers for t in call_terms(layer)]
        if self.loss is None:  # compile() without a loss: the add_loss terms are the loss (Keras's rule)
            if not extra:
                raise ValueError("No loss to compute: pass loss= to compile(), or add terms with add_loss()")
            loss, extra = extra[0], extra[1:]
        else:
            loss = super().compute_loss(y_pred, y, sample_weight)
        return sum(extra, loss)

    def default_step(self, name, data):
        """The Trainer's own ``name`` step on ``data`` packed as a custom step receives it."""
        return getattr(super(), name)(*_arrays(*unpack(data)))

    def _added(self):
        """name -> Metric of the values the host's layers gave to ``add_metric``."""
        return self.__dict__.setdefault("_added_metrics", {})

    def _tally(self, loss_value, x, y, y_pred, sample_weight):
        for layer in self.host._walk_layers() if _adding else ():
            for name, source, value in layer.__dict__.get("_call_metrics", ()):
                if source is not None:
                    self._added()[name] = source
                else:
                    metric = self._added().setdefault(name, Mean(name=name))
                    metric.update_state(float(_scalar(value)), sample_weight=_batch_size_of(x))
        super()._tally(loss_value, x, y, y_pred, sample_weight)

    def _logs(self):
        logs = getattr(self._holder(), "custom_logs", None)
        added = self._added()
        if logs is None and not added:
            return super()._logs()                           # a new dict already
        logs = logs if logs is not None else super()._logs()
        return {**logs, **{name: m.result() for name, m in added.items()}}

    def reset_metrics(self):
        super().reset_metrics()
        self._holder().custom_logs = None
        for m in self._added().values():
            m.reset_state()
        if overrides(self.host, "train_step") or overrides(self.host, "test_step"):
            self._reset_host_metrics()

    def _test_loop(self, source, cbs):
        if overrides(self.host, "test_step"):
            self._reset_host_metrics()
        return super()._test_loop(source, cbs)

    def predict(self, *args, **kwargs):
        if not overrides(self.host, "predict_step"):
            return super().predict(*args, **kwargs)
        before = getattr(self._local, "predicting", False)
        self._local.predicting = True
        try:
            return super().predict(*args, **kwargs)
        finally:
            self._local.predicting = before

    def forward(self, x):
        if getattr(self._local, "predicting", False):
            self._local.predicting = False  # the model's own calls inside predict_step are plain calls
            try:
                return self.host.predict_step(pack(x))
            finally:
                self._local.predicting = True
        return super().forward(x)


def _arrays(x, y, w):
    def arr(v):
        return None if v is None else v.array if isinstance(v, Tensor) else adapter.to_arrays(v)

    return arr(x), arr(y), None if w is None else np.asarray(getattr(w, "array", w))
