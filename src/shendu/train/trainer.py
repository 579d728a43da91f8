"""One training loop for every shendu model: ``fit``, ``evaluate`` and ``predict`` with Keras's rules.

    import shendu.nn as nn, shendu.optim as optim
    from shendu.train import Trainer, EarlyStopping

    model = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
    trainer = Trainer(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters()), metrics=["accuracy"])
    history = trainer.fit(x, y, epochs=20, validation_split=0.2, callbacks=[EarlyStopping(patience=3)])
    trainer.evaluate(x_test, y_test)          # [loss, accuracy]

The loop owns no numerics: the model computes outputs, the loss its value and gradient, the
optimizer the update, the metric objects their statistics. The loop only feeds batches, calls the
callbacks, and averages what it logs: ``loss`` is the running mean of the batch losses weighted
by batch size, and each metric reports its own running result, both reset at every epoch.
"""
import contextlib
import copy
import json
import threading

import numpy as np

from ..autograd import no_grad
from ..nn import functional as F
from ..nn.module import training_mode
from ..tensor import Tensor
from . import adapter
from .callbacks import CallbackList

__all__ = ["Trainer", "CHECKPOINT_FORMAT"]

CHECKPOINT_FORMAT = "shendu.training-checkpoint.v1"


def _verbose(verbose):
    if verbose == "auto":
        return 1
    if verbose not in (0, 1, 2, True, False):
        raise ValueError(f"verbose must be 0, 1, 2 or 'auto', got {verbose!r}")
    return int(verbose)


def _to_tensor(a):
    if isinstance(a, np.ndarray) and a.dtype.kind in "biuf":
        return Tensor(a)
    return a


def _numpy(out):
    if isinstance(out, (tuple, list)):
        return tuple(_numpy(o) for o in out)
    if isinstance(out, dict):
        return {k: _numpy(v) for k, v in out.items()}
    data = getattr(out, "array", None)
    return data if isinstance(data, np.ndarray) else np.asarray(out)


def _batch_size_of(x):
    leaves = list(x.values()) if isinstance(x, dict) else list(x) if isinstance(x, tuple) else [x]
    return int(leaves[0].shape[0])


def _flat_weights(sample_weight, n, what="sample_weight"):
    if sample_weight is None:
        return None
    w = np.asarray(getattr(sample_weight, "array", sample_weight), dtype=np.float64)
    if w.size != n:
        raise ValueError(f"{what} should hold one weight per sample ({n}), got shape {w.shape}")
    return w.reshape(n)


class RunningMean:
    """The epoch's running loss: sum(value_b * n_b) / sum(n_b) over the batches b seen so far."""

    def __init__(self, name):
        self.name = name
        self.reset_state()

    def reset_state(self):
        self.total = 0.0
        self.count = 0.0

    def update_state(self, value, sample_weight=1.0):
        self.total += float(value) * sample_weight
        self.count += sample_weight

    def result(self):
        return self.total / self.count if self.count else 0.0


class _Tally:
    """One evaluation's running loss and metric copies, private to the thread that runs it."""

    def __init__(self):
        self.loss_tracker = RunningMean("loss")
        self.metrics = None


_BUILD_LOCK = threading.RLock()


@contextlib.contextmanager
def _inference():
    """Evaluation mode and no recording, in the calling thread only (the model is not changed)."""
    with training_mode(False), no_grad():
        yield


class Trainer:
    """Trains ``model`` (any ``nn.Module``) with ``loss`` and ``optimizer``, reporting ``metrics``.

    Args:
        model: called as ``model(x)``; with several inputs ``model(*xs)`` (a tuple or list of arrays)
            or ``model(**xs)`` (a dict).
        loss: ``loss(y_pred, y_true) -> scalar Tensor`` (PyTorch's order, e.g. ``nn.CrossEntropyLoss()``).
            With sample or class weights the loop needs per-sample values: ``loss.per_sample(y_pred,
            y_true)`` if the object has it, else a copy of the loss with ``reduction='none'``; the
            weighted loss is then ``sum(w * l) / N`` (Keras's reduction).
        optimizer: a ``shendu.optim`` optimizer (or any object with ``zero_grad()`` and ``step()``).
        metrics: streaming metric objects or names resolved by ``shendu.metrics.get`` (``'accuracy'``
            picks the accuracy that fits the loss and the output shape, as Keras does).
        host: what callbacks see as ``self.model`` (default: this Trainer). It must offer
            ``stop_training``, ``get_weights()``, ``set_weights(ws)``, ``optimizer``, ``save(path)``
            and ``save_weights(path)``.
        clip_grad_norm: rescale the gradients so their global L2 norm is at most this value.
        clip_grad_value: clamp each gradient element to ``[-value, value]``.
    """

    def __init__(self, model, loss, optimizer, metrics=None, *, weighted_metrics=None, host=None,
                 clip_grad_norm=None, clip_grad_value=None):
        self.model = model
        self.loss = loss
        self.optimizer = optimizer
        if metrics is None:
            metrics = []
        elif isinstance(metrics, (str, dict)) or not isinstance(metrics, (list, tuple)):
            metrics = [metrics]
        # ``metrics`` ignore sample and class weights; ``weighted_metrics`` use them (Keras's rule)
        weighted_metrics = list(weighted_metrics or [])
        self._metric_specs = list(metrics) + weighted_metrics
        self._metric_weighted = [False] * len(metrics) + [True] * len(weighted_metrics)
        self._metrics = None
        self.loss_tracker = RunningMean("loss")
        self.host = host if host is not None else self
        self.clip_grad_norm = clip_grad_norm
        self.clip_grad_value = clip_grad_value
        self.stop_training = False
        self.history = None
        self.fit_params = {}
        self.validation_source = None
        self._loss_none = None
        self._tallies = {}  # thread id -> _Tally of the evaluation that thread is running
        self._next_epoch = 0
        self._shuffle_rng = None
        self._pending_state = None
        self._callbacks = []

    # ------------------------------------------------------------------ host interface
    def get_weights(self):
        """Copies of the model's state (parameters and persistent buffers), as NumPy arrays."""
        return [np.array(getattr(v, "array", v), copy=True) for v in self.model.state_dict().values()]

    def set_weights(self, weights):
        """Load arrays in the order of :meth:`get_weights`."""
        keys = list(self.model.state_dict().keys())
        weights = list(weights)
        if len(weights) != len(keys):
            raise ValueError(f"set_weights: the model has {len(keys)} weights, got a list of {len(weights)}")
        self.model.load_state_dict(dict(zip(keys, weights)))

    def save(self, path):
        """Save the model's state_dict to ``path`` (safetensors, atomic)."""
        from ..serialization import save

        save(self.model.state_dict(), path)

    save_weights = save

    def load_weights(self, path):
        from ..serialization import load

        self.model.load_state_dict(load(path))

    # ------------------------------------------------------------------ exact resume
    def save_checkpoint(self, path, epoch=None, callbacks=None):
        """Write everything training needs to resume bit-identically to ONE safetensors file, atomically.

        The file holds the model's state_dict (``model/<name>``), the optimizer's state arrays
        (``optimizer/<index>/<key>``) and, as JSON in its metadata, the optimizer's options and
        scalars, the next epoch to run (``epoch``, default: the one after the last finished epoch),
        the state of ``shendu.random.generator()`` (Dropout, initialisation, unseeded shuffling),
        of NumPy's legacy global generator, of the shuffle generator of a seeded ``fit``, and of the
        callbacks that have a ``get_state()`` (EarlyStopping, ReduceLROnPlateau, ModelCheckpoint).
        Nothing is pickled.
        """
        from .. import random as sd_random
        from ..serialization import save

        epoch = self._next_epoch if epoch is None else int(epoch)
        tensors = {"model/" + k: np.asarray(getattr(v, "array", v))
                   for k, v in self.model.state_dict().items()}
        state = {"epoch": epoch, "model_keys": [k[6:] for k in tensors],
                 "rng": sd_random.generator().bit_generator.state,
                 "numpy_legacy": _legacy_state(), "shuffle_rng": None, "optimizer": None, "callbacks": []}
        rng = self._shuffle_rng
        if rng is not None and rng is not sd_random.generator():
            state["shuffle_rng"] = rng.bit_generator.state
        if self.optimizer is not None and hasattr(self.optimizer, "state_dict"):
            arrays, state["optimizer"] = _pack_optimizer(self.optimizer.state_dict())
            tensors.update(("optimizer/" + k, v) for k, v in arrays.items())
        for i, cb in enumerate(callbacks if callbacks is not None else self._callbacks):
            if hasattr(cb, "get_state"):
                state["callbacks"].append({"index": i, "class": type(cb).__name__, "state": cb.get_state()})
        save(tensors, path, metadata={"format": CHECKPOINT_FORMAT, "state": json.dumps(state)})

    def load_checkpoint(self, path, _from_callback=False):
        """Restore a :meth:`save_checkpoint` file; returns the epoch to resume from.

        The model, the optimizer and the random generators are restored at once; pass the returned
        epoch as ``fit(..., initial_epoch=epoch)`` (with the same ``seed``, data and callbacks) and
        training ends bit-identical to a run that was never interrupted.
        """
        from .. import random as sd_random
        from ..serialization import load

        tensors, meta = load(path, return_metadata=True)
        if meta.get("format") != CHECKPOINT_FORMAT or "state" not in meta:
            raise ValueError(f"load_checkpoint: {path} is not a shendu training checkpoint (its metadata "
                             f"format is {meta.get('format')!r}, expected {CHECKPOINT_FORMAT!r}); a file "
                             "written by save()/save_weights() holds weights only: use load_weights()")
        state = json.loads(meta["state"])
        saved = {k[6:]: v for k, v in tensors.items() if k.startswith("model/")}
        own = self.model.state_dict()
        keys = state.get("model_keys", list(saved))
        if set(keys) != set(own) and len(keys) == len(own) and all(
                tuple(saved[a].shape) == tuple(b.shape) for a, b in zip(keys, own.values())):
            # the same architecture under other generated names (Keras's dense_1, dense_2, ...): by position
            saved = {name: saved[k] for k, name in zip(keys, own)}
        self.model.load_state_dict(saved)
        if state.get("optimizer") is not None and self.optimizer is not None:
            arrays = {k[10:]: v for k, v in tensors.items() if k.startswith("optimizer/")}
            self.optimizer.load_state_dict(_unpack_optimizer(arrays, state["optimizer"]))
        sd_random.generator().bit_generator.state = state["rng"]
        if state.get("numpy_legacy") is not None:
            legacy = state["numpy_legacy"]
            np.random.set_state((legacy[0], np.asarray(legacy[1], dtype=np.uint32), *legacy[2:]))
        state["from_callback"] = bool(_from_callback)
        self._pending_state = state
        self._next_epoch = int(state["epoch"])
        return int(state["epoch"])

    def _resume(self, pending, initial_epoch, train, seed, callbacks):
        """The first epoch of this fit, with the shuffle generator and callbacks put where they were."""
        start = initial_epoch
        if pending is not None and (pending["from_callback"] or pending["epoch"] == initial_epoch):
            start = pending["epoch"]
            for entry in pending.get("callbacks", []):
                i = entry["index"]
                if i < len(callbacks) and type(callbacks[i]).__name__ == entry["class"] and \
                        hasattr(callbacks[i], "set_state"):
                    callbacks[i].set_state(entry["state"])
        else:
            pending = None
        if seed is not None and start > 0:
            saved = pending.get("shuffle_rng") if pending is not None else None
            if saved is not None and getattr(train, "fixed_steps", 0) is None:
                train.rng.bit_generator.state = saved
            else:
                _skip_epochs(train, start)
        return start

    # ------------------------------------------------------------------ metrics and logs
    @property
    def metrics(self):
        """The metric objects (built on the first batch when given by name)."""
        return list(self._metrics or [])

    @property
    def metrics_names(self):
        names = [m.name for m in self._metrics] if self._metrics is not None else [
            s if isinstance(s, str) else getattr(s, "name", getattr(s, "__name__", str(s)))
            for s in self._metric_specs]
        return ["loss"] + names

    def _loss_identifier(self):
        name = getattr(self.loss, "name", None)
        return name if isinstance(name, str) else self.loss

    def _build_metrics(self, y_true, y_pred):
        if self._metrics is not None:
            return
        from ..metrics import get

        yt_shape = None if y_true is None or isinstance(y_true, (tuple, dict)) else y_true.shape
        yp_shape = None if isinstance(y_pred, (tuple, dict)) else y_pred.shape
        with _BUILD_LOCK:
            if self._metrics is None:
                self._metrics = [get(m, loss=self._loss_identifier(), y_true_shape=yt_shape,
                                     y_pred_shape=yp_shape) for m in self._metric_specs]

    @contextlib.contextmanager
    def _private_tally(self):
        """Run an evaluation on its own loss tracker and metric copies (so that evaluations in several
        threads, or one during a fit in another thread, never mix their statistics)."""
        me = threading.get_ident()
        outer = self._tallies.get(me)
        self._tallies[me] = _Tally()
        try:
            yield
        finally:
            if outer is None:
                self._tallies.pop(me, None)
            else:
                self._tallies[me] = outer

    def _tracker_and_metrics(self, build_copies=False):
        tally = self._tallies.get(threading.get_ident())
        if tally is None:
            return self.loss_tracker, self._metrics
        if tally.metrics is None and build_copies and self._metrics is not None:
            tally.metrics = [copy.deepcopy(m) for m in self._metrics]
            for m in tally.metrics:
                m.reset_state()
        return tally.loss_tracker, tally.metrics

    def reset_metrics(self):
        tracker, metrics = self._tracker_and_metrics()
        tracker.reset_state()
        for m in metrics or []:
            m.reset_state()

    def _logs(self):
        tracker, metrics = self._tracker_and_metrics()
        logs = {"loss": tracker.result()}
        for m in metrics or []:
            logs[m.name] = m.result()
        return logs

    def _record(self, loss_value, x, y, y_pred, sample_weight):
        """Add one batch to the running means; return the logs so far (None for a training batch of a
        fit whose callbacks read no batch logs: see ``fit``)."""
        self._tally(loss_value, x, y, y_pred, sample_weight)
        quiet = self.__dict__.get("_quiet_batches")                  # the fitting thread's id, or None
        return None if quiet is not None and quiet == threading.get_ident() else self._logs()

    def _tally(self, loss_value, x, y, y_pred, sample_weight):
        """Add one batch's loss and metric values to the running means."""
        tracker, metrics = self._tracker_and_metrics()
        tracker.update_state(loss_value, sample_weight=_batch_size_of(x))
        if self._metric_specs:
            y_pred = _numpy(y_pred)
            if isinstance(y_pred, (tuple, dict)) or isinstance(y, (tuple, dict)):
                raise ValueError("Trainer: metrics are computed for models with one output and one target; "
                                 "this model returned several outputs (leave metrics out, or compute them "
                                 "yourself)")
            if metrics is None:              # the first batch: the metrics (or this evaluation's copies)
                self._build_metrics(y, y_pred)
                _, metrics = self._tracker_and_metrics(build_copies=True)
            for m, weighted in zip(metrics, self._metric_weighted):
                m.update_state(y, y_pred, sample_weight=sample_weight if weighted else None)

    # ------------------------------------------------------------------ one step
    def forward(self, x):
        """Call the model on one batch of inputs (arrays are wrapped as Tensors, without copying)."""
        if isinstance(x, tuple):
            return self.model(*(_to_tensor(a) for a in x))
        if isinstance(x, dict):
            return self.model(**{k: _to_tensor(v) for k, v in x.items()})
        return self.model(_to_tensor(x))

    def _per_sample(self, y_pred, target):
        per_sample = getattr(self.loss, "per_sample", None)
        if per_sample is not None:
            return per_sample(y_pred, target)
        if self._loss_none is None:
            if not hasattr(self.loss, "reduction"):
                raise TypeError(
                    f"Trainer: sample_weight / class_weight need per-sample loss values, but the loss "
                    f"{type(self.loss).__name__} has neither a per_sample() method nor a 'reduction' setting")
            self._loss_none = copy.copy(self.loss)
            self._loss_none.reduction = "none"
        return self._loss_none(y_pred, target)

    def compute_loss(self, y_pred, y, sample_weight=None):
        """The batch loss: ``loss(y_pred, y)``, or ``sum(w * per_sample_loss) / N`` with weights."""
        if isinstance(y, tuple):
            target = tuple(_to_tensor(t) for t in y)
        elif isinstance(y, dict):
            target = {k: _to_tensor(t) for k, t in y.items()}
        else:
            target = _to_tensor(y)
        if sample_weight is None:
            return self.loss(y_pred, target)
        per = self._per_sample(y_pred, target)
        w = np.asarray(getattr(sample_weight, "array", sample_weight)).reshape(per.shape[0])
        return F.sample_weighted_reduce(per, w, "mean")

    def _trainable(self):
        return [p for p in self.model.parameters() if getattr(p, "requires_grad", True)]

    def _clip_gradients(self):
        if self.clip_grad_norm is None and self.clip_grad_value is None:
            return
        from ..nn import utils

        params = self._trainable()
        if self.clip_grad_value is not None:
            utils.clip_grad_value_(params, self.clip_grad_value)
        if self.clip_grad_norm is not None:
            utils.clip_grad_norm_(params, self.clip_grad_norm)

    def train_step(self, x, y, sample_weight=None):
        """zero_grad -> forward -> loss -> backward -> clip -> step; returns the running logs."""
        self.optimizer.zero_grad()
        y_pred = self.forward(x)
        loss = self.compute_loss(y_pred, y, sample_weight)
        loss.backward()
        self._clip_gradients()
        self.optimizer.step()
        return self._record(float(_numpy(loss)), x, y, y_pred, sample_weight)

    def _batch_logs_optional(self):
        """Whether this trainer's ``train_step`` may skip building the logs when nothing reads them:
        this class's own step may; an override in a subclass may read them, so it gets them."""
        return type(self).train_step is Trainer.train_step

    def test_step(self, x, y, sample_weight=None):
        """forward -> loss (no gradients); returns the running logs."""
        y_pred = self.forward(x)
        loss = self.compute_loss(y_pred, y, sample_weight)
        return self._record(float(_numpy(loss)), x, y, y_pred, sample_weight)

    # ------------------------------------------------------------------ data
    def _source(self, x, y, sample_weight, class_weight, batch_size, shuffle, rng, steps, who):
        from ..data import DataLoader, Dataset

        if isinstance(x, Dataset):
            x = DataLoader(x, batch_size=batch_size, shuffle=bool(shuffle), generator=rng)
        if adapter.is_iterable_source(x):
            if y is not None:
                raise ValueError(f"{who}: when x is a DataLoader (or another iterable of batches), y must be "
                                 "None: the loader yields (x, y) batches")
            if sample_weight is not None or class_weight is not None:
                raise ValueError(f"{who}: sample_weight and class_weight apply to arrays; with a DataLoader, "
                                 "yield (x, y, sample_weight) batches instead")
            return adapter.IterableSource(x, steps)
        if x is None:
            raise ValueError(f"{who}: x is None; pass the input arrays (or a DataLoader)")
        xa, ya = adapter.to_arrays(x), adapter.to_arrays(y)
        n = adapter.num_samples(xa)
        w = _flat_weights(sample_weight, n)
        if class_weight:
            if ya is None:
                raise ValueError(f"{who}: class_weight needs targets y")
            cw = adapter.class_weight_to_sample_weight(ya, class_weight)
            w = cw if w is None else w * cw
        return adapter.ArraySource(xa, ya, w, batch_size=batch_size, shuffle=shuffle, rng=rng, steps=steps)

    def _validation_source(self, validation_data, batch_size, steps):
        if adapter.is_iterable_source(validation_data) or _is_dataset(validation_data):
            return self._source(validation_data, None, None, None, batch_size, False, None, steps, "fit")
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
            raise ValueError("fit: validation_data should be (x_val, y_val), (x_val, y_val, "
                             f"sample_weight_val) or a DataLoader, got {type(validation_data).__name__}")
        xv, yv = validation_data[0], validation_data[1]
        wv = validation_data[2] if len(validation_data) == 3 else None
        return self._source(xv, yv, wv, None, batch_size, False, None, steps, "fit")

    # ------------------------------------------------------------------ loops
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None, sample_weight=None,
            initial_epoch=0, steps_per_epoch=None, validation_steps=None, validation_batch_size=None,
            validation_freq=1, report_dir=None, seed=None):
        """Train for ``epochs`` epochs (counting from ``initial_epoch``); returns a :class:`History`.

        ``validation_split`` holds out the LAST fraction of the arrays (before shuffling);
        ``validation_data`` overrides it. ``shuffle`` draws a new order every epoch from
        ``numpy.random.default_rng(seed)`` or, without ``seed``, ``shendu.random.generator()``.
        ``report_dir`` writes a run report there at the end (see :class:`~shendu.train.Report`).
        """
        from .. import random as sd_random

        verbose = _verbose(verbose)
        batch_size = 32 if batch_size is None else batch_size
        rng = np.random.default_rng(seed) if seed is not None else sd_random.generator()
        self._shuffle_rng = rng

        if validation_data is None and validation_split:
            if adapter.is_iterable_source(x) or _is_dataset(x):
                raise ValueError("fit: validation_split is only supported for array inputs; with a "
                                 "DataLoader, pass validation_data")
            xa, ya = adapter.to_arrays(x), adapter.to_arrays(y)
            n = adapter.num_samples(xa)
            sw = _flat_weights(sample_weight, n)
            (x, y, sample_weight), (xv, yv, wv) = adapter.split_validation((xa, ya, sw), validation_split)
            validation_data = (xv, yv, wv)
        train = self._source(x, y, sample_weight, class_weight, batch_size, shuffle, rng, steps_per_epoch,
                             "fit")
        val = None
        if validation_data is not None:
            val = self._validation_source(validation_data, validation_batch_size or batch_size,
                                          validation_steps)
        self.validation_source = val
        self.fit_params = {"batch_size": batch_size, "epochs": epochs, "initial_epoch": initial_epoch,
                           "shuffle": shuffle, "validation_split": validation_split,
                           "steps_per_epoch": train.steps, "seed": seed,
                           "class_weight": None if class_weight is None else {str(k): float(v) for k, v in
                                                                              class_weight.items()},
                           "clip_grad_norm": self.clip_grad_norm, "clip_grad_value": self.clip_grad_value}
        if getattr(train, "n", None) is not None:
            self.fit_params["train_samples"] = train.n
        if getattr(val, "n", None) is not None:
            self.fit_params["validation_samples"] = val.n

        callbacks = list(callbacks or [])
        if report_dir is not None:
            from .report import Report

            callbacks.append(Report(report_dir))
        cbs = CallbackList(callbacks, add_history=True, add_progbar=verbose != 0, model=self.host,
                           verbose=verbose, epochs=epochs, steps=train.steps)
        for cb in cbs:
            if hasattr(cb, "set_trainer"):
                cb.set_trainer(self)
        self._callbacks = list(callbacks)

        self.host.stop_training = False
        self._next_epoch = initial_epoch
        cbs.on_train_begin()
        pending, self._pending_state = self._pending_state, None
        start = self._resume(pending, initial_epoch, train, seed, callbacks)
        epoch_logs = {}
        for epoch in range(start, epochs):
            self._next_epoch = epoch
            self.reset_metrics()
            cbs.on_epoch_begin(epoch)
            seen = 0
            # no callback reads a training batch's logs: the step's own train_step skips building them
            quiet = not cbs.wants("on_train_batch_end") and self._batch_logs_optional()
            self._quiet_batches = threading.get_ident() if quiet else None
            try:
                with training_mode(True):  # this thread's view only: the model's own flags stay as they are
                    for step, (xb, yb, wb) in enumerate(train.epoch()):
                        cbs.on_train_batch_begin(step)
                        logs = self.train_step(xb, yb, wb)
                        cbs.on_train_batch_end(step, logs)
                        seen += 1
                        if self.host.stop_training:
                            break
            finally:
                self._quiet_batches = None
            if seen == 0:
                raise ValueError("fit: the training data produced no batch in this epoch (empty data or "
                                 "loader)")
            epoch_logs = self._logs()
            if val is not None and _should_validate(epoch, validation_freq):
                val_logs = self._test_loop(val, cbs)
                epoch_logs.update({"val_" + k: v for k, v in val_logs.items()})
            self._next_epoch = epoch + 1
            cbs.on_epoch_end(epoch, epoch_logs)
            if self.host.stop_training:
                break
        cbs.on_train_end(epoch_logs)
        self.history = cbs.history
        if self.host is not self:
            try:
                self.host.history = cbs.history
            except AttributeError:
                pass
        return cbs.history

    def _test_loop(self, source, cbs):
        with self._private_tally():
            cbs.on_test_begin()
            with _inference():
                for step, (xb, yb, wb) in enumerate(source.epoch()):
                    cbs.on_test_batch_begin(step)
                    logs = self.test_step(xb, yb, wb)
                    cbs.on_test_batch_end(step, logs)
            logs = self._logs()
        cbs.on_test_end(logs)
        return logs

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None, steps=None,
                 callbacks=None, return_dict=False):
        """Loss and metrics over the data: ``[loss, *metrics]``, the loss alone when there are no
        metrics, or a dict with ``return_dict=True``."""
        verbose = _verbose(verbose)
        source = self._source(x, y, sample_weight, None, batch_size or 32, False, None, steps, "evaluate")
        cbs = CallbackList(callbacks, add_progbar=verbose != 0, model=self.host, verbose=verbose, epochs=1,
                           steps=source.steps)
        logs = self._test_loop(source, cbs)
        return self._format(logs, return_dict)

    def _format(self, logs, return_dict):
        if return_dict:
            return dict(logs)
        values = [logs["loss"]] + [logs[m.name] for m in self._metrics or [] if m.name in logs]
        return values[0] if len(values) == 1 else values

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """Model outputs for ``x``, batch by batch in eval mode without gradients, concatenated into
        one NumPy array (a tuple of arrays for several outputs)."""
        verbose = _verbose(verbose)
        source = self._source(x, None, None, None, batch_size or 32, False, None, steps, "predict")
        cbs = CallbackList(callbacks, add_progbar=verbose != 0, model=self.host, verbose=verbose, epochs=1,
                           steps=source.steps)
        outputs = []
        cbs.on_predict_begin()
        with _inference():
            for step, (xb, _, _) in enumerate(source.epoch()):
                cbs.on_predict_batch_begin(step)
                out = _numpy(self.forward(xb))
                outputs.append(out)
                cbs.on_predict_batch_end(step, {"outputs": out})
        cbs.on_predict_end()
        return _concat(outputs)

    def collect_predictions(self, source=None):
        """``(y_true, y_pred)`` over a batch source (default: the last fit's validation data)."""
        source = self.validation_source if source is None else source
        if source is None:
            return None, None
        ys, preds = [], []
        with _inference():
            for xb, yb, _ in source.epoch():
                preds.append(_numpy(self.forward(xb)))
                ys.append(yb)
        if not preds or any(y is None for y in ys):
            return None, None
        return _concat(ys), _concat(preds)

    # ------------------------------------------------------------------ single batches
    def _batch(self, x, y, sample_weight, class_weight):
        xa, ya = adapter.to_arrays(x), adapter.to_arrays(y)
        w = _flat_weights(sample_weight, adapter.num_samples(xa))
        if class_weight:
            cw = adapter.class_weight_to_sample_weight(ya, class_weight)
            w = cw if w is None else w * cw
        return xa, ya, w

    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None, return_dict=False,
                       reset_metrics=True):
        """One optimisation step on one batch; returns its loss (and metrics)."""
        xa, ya, w = self._batch(x, y, sample_weight, class_weight)
        if reset_metrics:
            self.reset_metrics()
        with training_mode(True):
            logs = self.train_step(xa, ya, w)
        return self._format(logs, return_dict)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False, reset_metrics=True):
        """Loss (and metrics) on one batch, in eval mode, without gradients."""
        xa, ya, w = self._batch(x, y, sample_weight, None)
        if reset_metrics:
            self.reset_metrics()
        with _inference():
            logs = self.test_step(xa, ya, w)
        return self._format(logs, return_dict)

    def predict_on_batch(self, x):
        """Model outputs for one batch, as NumPy."""
        xa = adapter.to_arrays(x)
        with _inference():
            return _numpy(self.forward(xa))

    def __repr__(self):
        return (f"Trainer(model={type(self.model).__name__}, loss={type(self.loss).__name__}, "
                f"optimizer={type(self.optimizer).__name__}, metrics={self.metrics_names[1:]})")


def _legacy_state():
    name, keys, pos, has_gauss, cached = np.random.get_state()
    return [name, keys.tolist(), int(pos), int(has_gauss), float(cached)]


def _plain(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple):
        return list(value)
    return value


def _pack_optimizer(sd):
    """(arrays, JSON-able rest) of an optimizer state_dict."""
    arrays, scalars = {}, {}
    for idx, st in sd["state"].items():
        for key, value in st.items():
            if isinstance(value, Tensor):
                value = value.array
            if isinstance(value, np.ndarray):
                arrays[f"{idx}/{key}"] = value
            else:
                scalars[f"{idx}/{key}"] = _plain(value)
    groups = [{k: _plain(v) for k, v in g.items()} for g in sd["param_groups"]]
    rest = {k: _plain(v) for k, v in sd.items() if k not in ("state", "param_groups")}
    return arrays, {"param_groups": groups, "scalars": scalars, "rest": rest}


def _unpack_optimizer(arrays, meta):
    state = {}
    for name, value in list(arrays.items()) + list(meta["scalars"].items()):
        idx, key = name.split("/", 1)
        state.setdefault(int(idx), {})[key] = value
    groups = [{k: (tuple(v) if k == "betas" and isinstance(v, list) else v) for k, v in g.items()}
              for g in meta["param_groups"]]
    return {"state": state, "param_groups": groups, **meta.get("rest", {})}


def _skip_epochs(train, epochs):
    """Draw the shuffles of ``epochs`` epochs from a seeded source, as an uninterrupted run would have."""
    if not isinstance(train, adapter.ArraySource) or not train.shuffle:
        return
    if train.fixed_steps is None:
        for _ in range(epochs):
            train.rng.permutation(train.n)
        return
    if train._stream is None:
        train._stream = train._endless()
    for _ in range(epochs * train.steps):
        next(train._stream)


def _is_dataset(x):
    from ..data import Dataset

    return isinstance(x, Dataset)


def _should_validate(epoch, freq):
    if isinstance(freq, int):
        return (epoch + 1) % freq == 0
    return (epoch + 1) in set(freq)


def _concat(parts):
    first = parts[0]
    if isinstance(first, tuple):
        return tuple(_concat([p[i] for p in parts]) for i in range(len(first)))
    if isinstance(first, dict):
        return {k: _concat([p[k] for p in parts]) for k in first}
    if first is None:
        return None
    return np.concatenate(parts, axis=0) if first.ndim else np.stack(parts)


