"""Callbacks: objects the training loop calls at fixed points, with Keras's names and rules.

The loop calls, in this order::

    on_train_begin
      on_epoch_begin(epoch)                      # epoch counts from 0
        on_train_batch_begin(batch) / on_train_batch_end(batch, logs)   # logs: running means
        on_test_begin / on_test_batch_* / on_test_end                    # validation, if any
      on_epoch_end(epoch, logs)                  # logs: loss, metrics, val_loss, val_metrics
    on_train_end(logs)

``evaluate`` calls the ``on_test_*`` methods and ``predict`` the ``on_predict_*`` ones. Each callback
sees the model as ``self.model`` (the object that owns ``stop_training``, ``get_weights``,
``set_weights``, ``optimizer``, ``save`` and ``save_weights``) and the run's settings as
``self.params`` (``verbose``, ``epochs``, ``steps``). Setting ``self.model.stop_training = True``
ends training after the current batch.

Callbacks that change ``logs`` in ``on_epoch_end`` (``ReduceLROnPlateau`` and
``LearningRateScheduler`` add ``learning_rate``) run before the :class:`History` and the progress
bar, which the loop appends last, so the history records what they wrote.
"""
import csv
import io
import math
import os
import warnings

import numpy as np

from ..optim.lr_scheduler import Plateau
from ._io import atomic_write_text
from .lr import get_lr, set_lr

__all__ = ["Callback", "CallbackList", "History", "EarlyStopping", "ModelCheckpoint", "ReduceLROnPlateau",
           "LearningRateScheduler", "CSVLogger", "TerminateOnNaN", "LambdaCallback", "BackupAndRestore",
           "monitor_mode"]


class Callback:
    """Base class: override the ``on_*`` methods you need; every one receives ``logs`` (a dict or None)."""

    def __init__(self):
        self.model = None
        self.params = {}

    def set_model(self, model):
        self.model = model

    def set_params(self, params):
        self.params = params

    # training
    def on_train_begin(self, logs=None):
        pass

    def on_train_end(self, logs=None):
        pass

    def on_epoch_begin(self, epoch, logs=None):
        pass

    def on_epoch_end(self, epoch, logs=None):
        pass

    def on_batch_begin(self, batch, logs=None):
        """Old name of :meth:`on_train_batch_begin` (still called through it)."""

    def on_batch_end(self, batch, logs=None):
        """Old name of :meth:`on_train_batch_end` (still called through it)."""

    def on_train_batch_begin(self, batch, logs=None):
        self.on_batch_begin(batch, logs)

    def on_train_batch_end(self, batch, logs=None):
        self.on_batch_end(batch, logs)

    # evaluation
    def on_test_begin(self, logs=None):
        pass

    def on_test_end(self, logs=None):
        pass

    def on_test_batch_begin(self, batch, logs=None):
        pass

    def on_test_batch_end(self, batch, logs=None):
        pass

    # prediction
    def on_predict_begin(self, logs=None):
        pass

    def on_predict_end(self, logs=None):
        pass

    def on_predict_batch_begin(self, batch, logs=None):
        pass

    def on_predict_batch_end(self, batch, logs=None):
        pass


_EVENTS = ["on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end", "on_train_batch_begin",
           "on_train_batch_end", "on_test_begin", "on_test_end", "on_test_batch_begin", "on_test_batch_end",
           "on_predict_begin", "on_predict_end", "on_predict_batch_begin", "on_predict_batch_end"]


class CallbackList:
    """Calls every callback in order. ``add_history`` / ``add_progbar`` append a :class:`History` and a
    :class:`~shendu.train.ProgbarLogger` after the user's callbacks when none is given."""

    def __init__(self, callbacks=None, add_history=False, add_progbar=False, model=None, **params):
        self.callbacks = list(callbacks or [])
        self._methods_by_event = {}
        for cb in self.callbacks:
            if not isinstance(cb, Callback) and not all(hasattr(cb, e) for e in ("set_model", "set_params")):
                raise TypeError(f"callbacks: expected Callback objects, got {type(cb).__name__}")
        self.history = next((cb for cb in self.callbacks if isinstance(cb, History)), None)
        if add_history and self.history is None:
            self.history = History()
            self.callbacks.append(self.history)
        if add_progbar:
            from .progress import ProgbarLogger

            if not any(isinstance(cb, ProgbarLogger) for cb in self.callbacks):
                self.callbacks.append(ProgbarLogger())
        self.model = None
        self.params = {}
        if model is not None:
            self.set_model(model)
        if params:
            self.set_params(params)

    def append(self, callback):
        self.callbacks.append(callback)
        self._methods_by_event = {}
        if self.model is not None:
            callback.set_model(self.model)
        if self.params:
            callback.set_params(self.params)

    def set_model(self, model):
        self.model = model
        for cb in self.callbacks:
            cb.set_model(model)

    def set_params(self, params):
        self.params = params
        for cb in self.callbacks:
            cb.set_params(params)

    def __iter__(self):
        return iter(self.callbacks)

    def __len__(self):
        return len(self.callbacks)

    def _call(self, event, *args):
        for method in self._methods(event):
            method(*args)

    def wants(self, event):
        """Whether any callback does something on ``event`` (its ``logs`` are then built)."""
        return bool(self._methods(event))

    def _methods(self, event):
        """The bound ``event`` methods of the callbacks, in order, found once per event (again when the
        list changes). A :class:`Callback` that keeps the base class's no-op for the event (and, for
        the train-batch events, for their old names) is left out, so an epoch whose callbacks only
        look at epochs (``History``, ``EarlyStopping``, ...) does no per-batch dispatch."""
        key = (event, id(self.callbacks), len(self.callbacks))
        methods = self._methods_by_event.get(key)
        if methods is None:
            found = (getattr(cb, event, None) for cb in self.callbacks if not _keeps_base_noop(cb, event))
            methods = self._methods_by_event[key] = [m for m in found if m is not None]
        return methods


_OLD_NAMES = {"on_train_batch_begin": "on_batch_begin", "on_train_batch_end": "on_batch_end"}


def _keeps_base_noop(cb, event):
    """True when ``cb`` is a Callback whose ``event`` is the base class's (a no-op): neither its class
    nor the object itself defines it, nor the event's old name."""
    if not isinstance(cb, Callback):
        return False
    names = (event, _OLD_NAMES[event]) if event in _OLD_NAMES else (event,)
    return all(n not in cb.__dict__ and getattr(type(cb), n) is getattr(Callback, n) for n in names)


def _make_dispatch(event):
    takes_index = "batch" in event or "epoch" in event

    if takes_index:
        def dispatch(self, index, logs=None):
            self._call(event, index, logs)
    else:
        def dispatch(self, logs=None):
            self._call(event, logs)
    dispatch.__name__ = event
    dispatch.__doc__ = f"Call ``{event}`` on every callback."
    return dispatch


for _event in _EVENTS:
    setattr(CallbackList, _event, _make_dispatch(_event))


class History(Callback):
    """Records the epoch logs: ``history`` (key -> list, one value per epoch), ``epoch`` (the epoch
    numbers, from 0), ``params`` and ``model``. ``fit`` returns it."""

    def __init__(self):
        super().__init__()
        self.history = {}
        self.epoch = []

    def on_train_begin(self, logs=None):
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)
        if self.model is not None:
            try:
                self.model.history = self
            except AttributeError:
                pass

    def __repr__(self):
        keys = ", ".join(self.history)
        return f"<History epochs={len(self.epoch)} keys=[{keys}]>"


_MAX_WORDS = ("acc", "auc", "precision", "recall", "f1", "fmeasure", "iou", "r2", "top_k", "dice")


def monitor_mode(monitor, mode="auto"):
    """``'min'`` or ``'max'`` for a monitored quantity.

    ``mode='auto'`` reads the name (without its ``val_`` prefix): names holding ``acc``, ``auc``,
    ``precision``, ``recall``, ``f1``, ``iou``, ``r2``, ``top_k`` are maximised; everything else
    (``loss``, ``mae``, ``mse``, ...) is minimised.
    """
    if mode in ("min", "max"):
        return mode
    name = monitor[4:] if monitor.startswith("val_") else monitor
    name = name.lower()
    if name.endswith("loss") or "error" in name:
        return "min"
    return "max" if any(word in name for word in _MAX_WORDS) else "min"


def _check_mode(mode, who):
    if mode not in ("auto", "min", "max"):
        warnings.warn(f"{who} mode {mode} is unknown, fallback to auto mode.", stacklevel=3)
        return "auto"
    return mode


def _as_float(value):
    try:
        return float(np.asarray(value))
    except (TypeError, ValueError):
        return None


class EarlyStopping(Callback):
    """Stop training when a monitored quantity has stopped improving (Keras 3 rules).

    At each epoch end, from epoch ``start_from_epoch`` on: ``wait += 1``; the value improves when
    ``current + min_delta < best`` (mode min; ``current - min_delta > best`` in mode max), which sets
    ``best`` and resets ``wait`` to 0 (only when it also beats ``baseline``, if one is given);
    otherwise training stops when ``wait >= patience`` and ``epoch > 0``.

    With ``restore_best_weights=True`` the weights of the best epoch (the first monitored epoch's
    weights until something improves) are put back at the end of training, whether or not training
    stopped early, as Keras 3 does (tf.keras 2 restored only when it stopped). A missing monitor
    key warns and the epoch is skipped. Every ``fit`` starts afresh (``wait``, ``best``, weights), so
    one instance can be reused.
    """

    def __init__(self, monitor="val_loss", min_delta=0, patience=0, verbose=0, mode="auto", baseline=None,
                 restore_best_weights=False, start_from_epoch=0):
        super().__init__()
        self.monitor = monitor
        self.min_delta = abs(min_delta)
        self.patience = patience
        self.verbose = verbose
        self.mode = _check_mode(mode, "EarlyStopping")
        self.baseline = baseline
        self.restore_best_weights = restore_best_weights
        self.start_from_epoch = start_from_epoch
        self._reset()

    def _reset(self):
        self.wait = 0
        self.stopped_epoch = 0
        self.best_weights = None
        self.best_epoch = 0
        self.best = math.inf if monitor_mode(self.monitor, self.mode) == "min" else -math.inf

    def _is_improvement(self, value, reference):
        if monitor_mode(self.monitor, self.mode) == "min":
            return value + self.min_delta < reference
        return value - self.min_delta > reference

    def on_train_begin(self, logs=None):
        self._reset()

    def get_state(self):
        """What a training checkpoint keeps of this callback (JSON; the best weights are not kept)."""
        return {"wait": self.wait, "best": float(self.best), "best_epoch": self.best_epoch,
                "stopped_epoch": self.stopped_epoch}

    def set_state(self, state):
        self.wait, self.best = int(state["wait"]), float(state["best"])
        self.best_epoch, self.stopped_epoch = int(state["best_epoch"]), int(state["stopped_epoch"])

    def get_monitor_value(self, logs):
        logs = logs or {}
        value = logs.get(self.monitor)
        if value is None:
            warnings.warn(f"Early stopping conditioned on metric `{self.monitor}` which is not available. "
                          f"Available metrics are: {','.join(logs)}", stacklevel=3)
            return None
        return _as_float(value)

    def on_epoch_end(self, epoch, logs=None):
        current = self.get_monitor_value(logs)
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = self.model.get_weights()
            self.best_epoch = epoch
        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print(f"Restoring model weights from the end of the best epoch: {self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)


class ModelCheckpoint(Callback):
    """Save the model (``model.save``) or its weights (``model.save_weights``) during training.

    ``filepath`` may hold ``{epoch:02d}`` (the epoch number from 1), ``{batch}`` (with an integer
    ``save_freq``) and any log key, e.g. ``"ckpt/w-{epoch:02d}-{val_loss:.2f}.safetensors"``; missing
    folders are created. ``save_freq="epoch"`` saves at each epoch end, an integer every that many
    batches. With ``save_best_only`` a file is written only when ``monitor`` improves on the best
    value so far (``initial_value_threshold`` if given); a missing monitor key warns and saves, as
    Keras 3 does. The save itself is the model's (atomic for shendu models).
    """

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False, save_weights_only=False,
                 mode="auto", save_freq="epoch", initial_value_threshold=None):
        super().__init__()
        self.filepath = os.fspath(filepath)
        self.monitor = monitor
        self.verbose = verbose
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        self.mode = _check_mode(mode, "ModelCheckpoint")
        if save_freq != "epoch" and not (isinstance(save_freq, int) and save_freq > 0):
            raise ValueError(f"ModelCheckpoint: unrecognized save_freq {save_freq!r}; expected 'epoch' or a "
                             "positive integer (a number of batches)")
        self.save_freq = save_freq
        self.initial_value_threshold = initial_value_threshold
        if initial_value_threshold is not None:
            self.best = float(initial_value_threshold)
        else:
            self.best = math.inf if monitor_mode(monitor, self.mode) == "min" else -math.inf
        self._batches_since_save = 0
        self._last_batch = 0
        self._current_epoch = 0

    def _is_improvement(self, value, reference):
        if monitor_mode(self.monitor, self.mode) == "min":
            return value < reference
        return value > reference

    def get_state(self):
        return {"best": float(self.best), "batches_since_save": self._batches_since_save,
                "last_batch": self._last_batch}

    def set_state(self, state):
        self.best = float(state["best"])
        self._batches_since_save = int(state["batches_since_save"])
        self._last_batch = int(state["last_batch"])

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.save_freq == "epoch":
            return
        self._batches_since_save += batch + 1 if batch <= self._last_batch else batch - self._last_batch
        self._last_batch = batch
        if self._batches_since_save >= self.save_freq:
            self._batches_since_save = 0
            self._save(self._current_epoch, batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._save(epoch, None, logs)

    def _file_path(self, epoch, batch, logs):
        logs = dict(logs or {})
        if batch is not None and "batch" not in logs:
            logs["batch"] = batch + 1
        logs.pop("epoch", None)
        try:
            return self.filepath.format(epoch=epoch + 1, **logs)
        except KeyError as exc:
            raise KeyError(f'ModelCheckpoint: failed to format the filepath "{self.filepath}": the key {exc} '
                           f"is not in the logs ({', '.join(logs) or 'no logs'})") from None

    def _should_save(self, epoch, logs, filepath):
        if not self.save_best_only:
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: saving model to {filepath}")
            return True
        current = _as_float((logs or {}).get(self.monitor))
        if current is None:
            warnings.warn(f"Can save best model only with {self.monitor} available.", stacklevel=3)
            return True
        best_str = f"{self.best:.5f}"
        if self._is_improvement(current, self.best):
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: {self.monitor} improved from {best_str} to {current:.5f}, "
                      f"saving model to {filepath}")
            self.best = current
            return True
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {best_str}")
        return False

    def _save(self, epoch, batch, logs):
        filepath = self._file_path(epoch, batch, logs)
        if not self._should_save(epoch, logs, filepath):
            return
        if os.path.isdir(filepath):
            raise IsADirectoryError(f"ModelCheckpoint: the filepath {filepath!r} is an existing folder; "
                                    "give a file name")
        folder = os.path.dirname(filepath)
        if folder:
            os.makedirs(folder, exist_ok=True)
        if self.save_weights_only:
            self.model.save_weights(filepath)
        else:
            self.model.save(filepath)


class ReduceLROnPlateau(Callback):
    """Multiply the learning rate by ``factor`` when ``monitor`` has not improved for ``patience`` epochs.

    Improvement (absolute): ``current < best - min_delta`` (mode min) or ``current > best + min_delta``
    (mode max). After a reduction, ``cooldown`` epochs pass with ``wait`` held at 0. The new rate is
    ``max(lr * factor, min_lr)``, applied only while ``lr > min_lr``. Each epoch writes the current
    rate to ``logs["learning_rate"]``. ``factor >= 1`` raises ValueError.

    The counting is :class:`shendu.optim.lr_scheduler.Plateau`'s (the rule of the PyTorch-style
    scheduler): Keras's ``wait >= patience`` is its ``num_bad_epochs > patience - 1``, and Keras's
    cooldown counter, which reaches 0 on the epoch that already counts, is its cooldown + 1.
    """

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto", min_delta=1e-4,
                 cooldown=0, min_lr=0.0, **kwargs):
        super().__init__()
        if "epsilon" in kwargs:
            min_delta = kwargs.pop("epsilon")
            warnings.warn("ReduceLROnPlateau: `epsilon` is deprecated, use `min_delta`.", stacklevel=2)
        if kwargs:
            raise TypeError(f"ReduceLROnPlateau: unexpected arguments {sorted(kwargs)}")
        if factor >= 1.0:
            raise ValueError(f"ReduceLROnPlateau does not support a factor >= 1.0. Received factor={factor}")
        self.monitor = monitor
        self.factor = float(factor)
        self.patience = patience
        self.verbose = verbose
        self.mode = _check_mode(mode, "ReduceLROnPlateau")
        self.min_delta = min_delta
        self.cooldown = cooldown
        self.min_lr = min_lr
        self._reset()

    def _reset(self):
        self._rule = Plateau(monitor_mode(self.monitor, self.mode), max(self.patience - 1, 0), self.min_delta,
                             "abs", max(self.cooldown - 1, 0))

    @property
    def best(self):
        return self._rule.best

    @property
    def wait(self):
        return self._rule.num_bad_epochs

    @property
    def cooldown_counter(self):
        return self._rule.cooldown_counter + 1 if self._rule.in_cooldown else 0

    def in_cooldown(self):
        return self._rule.in_cooldown

    def get_state(self):
        return {"cooldown_counter": self.cooldown_counter, "wait": self.wait, "best": float(self.best)}

    def set_state(self, state):
        self._rule.cooldown_counter = max(int(state["cooldown_counter"]) - 1, 0)
        self._rule.num_bad_epochs = int(state["wait"])
        self._rule.best = float(state["best"])

    def on_train_begin(self, logs=None):
        self._reset()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        optimizer = getattr(self.model, "optimizer", None)
        logs["learning_rate"] = get_lr(optimizer)
        current = _as_float(logs.get(self.monitor))
        if current is None:
            warnings.warn(f"Learning rate reduction is conditioned on metric `{self.monitor}` which is not "
                          f"available. Available metrics are: {','.join(logs)}.", stacklevel=2)
            return
        if self._rule.update(current):
            old_lr = get_lr(optimizer)
            if old_lr > np.float32(self.min_lr):
                new_lr = max(old_lr * self.factor, self.min_lr)
                set_lr(optimizer, new_lr)
                if self.verbose > 0:
                    print(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {new_lr}.")


class LearningRateScheduler(Callback):
    """Set the learning rate at each epoch start to ``schedule(epoch, lr)`` (or ``schedule(epoch)``),
    epoch counted from 0; the rate is logged as ``logs["learning_rate"]`` at epoch end."""

    def __init__(self, schedule, verbose=0):
        super().__init__()
        self.schedule = schedule
        self.verbose = verbose

    def on_epoch_begin(self, epoch, logs=None):
        optimizer = getattr(self.model, "optimizer", None)
        try:
            lr = self.schedule(epoch, get_lr(optimizer))
        except TypeError:
            lr = self.schedule(epoch)
        if isinstance(lr, np.ndarray) and lr.ndim == 0:
            lr = lr.item()
        if not isinstance(lr, (float, int, np.floating, np.integer)) or isinstance(lr, bool):
            raise ValueError(f"LearningRateScheduler: the schedule should return a float, got {lr!r} "
                             f"(of type {type(lr).__name__})")
        set_lr(optimizer, float(lr))
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to {float(lr)}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = get_lr(getattr(self.model, "optimizer", None))


class CSVLogger(Callback):
    """Write one CSV row per epoch: ``epoch`` (from 0) then the log keys in sorted order.

    ``append=True`` keeps an existing file (its header is not repeated). The file is rewritten
    atomically after every epoch, so it is complete whenever it is read.
    """

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        self.filename = os.fspath(filename)
        self.sep = separator
        self.append = append
        self.keys = None
        self._previous = ""
        self._rows = []
        self._write_header = True

    def on_train_begin(self, logs=None):
        self.keys = None
        self._rows = []
        self._previous = ""
        self._write_header = True
        if self.append and os.path.exists(self.filename):
            with open(self.filename, encoding="utf-8", newline="") as f:
                self._previous = f.read()
            self._write_header = not self._previous
            if self._previous and not self._previous.endswith("\n"):
                self._previous += "\n"

    @staticmethod
    def _value(v):
        if isinstance(v, str):
            return v
        arr = np.asarray(v) if isinstance(v, (np.ndarray, list, tuple)) else None
        if arr is not None and arr.ndim > 0:
            return f"[{', '.join(str(x) for x in arr.ravel().tolist())}]"
        if isinstance(v, np.generic) or (arr is not None and arr.ndim == 0):
            return np.asarray(v).item()
        return v

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.keys is None:
            self.keys = sorted(logs)
        row = {"epoch": epoch}
        row.update((key, self._value(logs.get(key, "NA"))) for key in self.keys)
        self._rows.append(row)
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=["epoch"] + self.keys, delimiter=self.sep,
                                lineterminator="\n", extrasaction="ignore")
        if self._write_header:
            writer.writeheader()
        writer.writerows(self._rows)
        atomic_write_text(self.filename, self._previous + buffer.getvalue())


class TerminateOnNaN(Callback):
    """Stop training as soon as a batch's loss is NaN or infinite."""

    def on_train_batch_end(self, batch, logs=None):
        loss = _as_float((logs or {}).get("loss"))
        if loss is not None and not math.isfinite(loss):
            print(f"Batch {batch}: Invalid loss, terminating training")
            self.model.stop_training = True


class LambdaCallback(Callback):
    """A callback made of plain functions: ``LambdaCallback(on_epoch_end=lambda epoch, logs: ...)``.

    Accepts any ``on_*`` event name (``on_train_begin``, ``on_train_batch_end``, ``on_test_end``...);
    ``on_batch_begin`` / ``on_batch_end`` are called for training batches.
    """

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_train_begin=None, on_train_end=None,
                 on_train_batch_begin=None, on_train_batch_end=None, **kwargs):
        super().__init__()
        given = dict(on_epoch_begin=on_epoch_begin, on_epoch_end=on_epoch_end, on_train_begin=on_train_begin,
                     on_train_end=on_train_end, on_train_batch_begin=on_train_batch_begin,
                     on_train_batch_end=on_train_batch_end, **kwargs)
        allowed = set(_EVENTS) | {"on_batch_begin", "on_batch_end"}
        for name, fn in given.items():
            if name not in allowed:
                raise TypeError(f"LambdaCallback: unknown event {name!r}; known events: {sorted(allowed)}")
            if fn is not None:
                setattr(self, name, fn)


class BackupAndRestore(Callback):
    """Resume an interrupted ``fit`` exactly where it stopped (Keras's ``BackupAndRestore``).

    At every epoch end (``save_freq="epoch"``, the only setting) the whole training state goes to
    ``<backup_dir>/checkpoint.safetensors`` through ``Trainer.save_checkpoint``: weights, optimizer
    state, the random generators (Dropout, shuffling), the epoch and the state of EarlyStopping,
    ReduceLROnPlateau and ModelCheckpoint. When ``fit`` starts and the file exists, it is restored
    and training continues from the saved epoch: run the same ``fit(...)`` call again after a
    crash, and the final weights are bit-identical to an uninterrupted run. With
    ``delete_checkpoint=True`` the file is removed when training ends normally. The write is
    atomic, so a crash mid-save leaves the previous backup.
    """

    FILE_NAME = "checkpoint.safetensors"

    def __init__(self, backup_dir, save_freq="epoch", delete_checkpoint=True):
        super().__init__()
        if not backup_dir:
            raise ValueError("BackupAndRestore: backup_dir is empty; give the folder for the backup")
        if save_freq != "epoch":
            raise ValueError(f"BackupAndRestore: save_freq={save_freq!r} is not supported; shendu backs up "
                             "at epoch ends (save_freq='epoch'), the points an exact resume starts from")
        self.backup_dir = os.fspath(backup_dir)
        self.save_freq = save_freq
        self.delete_checkpoint = delete_checkpoint
        self.trainer = None

    @property
    def path(self):
        return os.path.join(self.backup_dir, self.FILE_NAME)

    def set_trainer(self, trainer):
        self.trainer = trainer

    def _require_trainer(self):
        if self.trainer is None:
            raise RuntimeError("BackupAndRestore works inside shendu's fit (Trainer.fit or a Keras model's "
                               "fit), which hands it the trainer; it was used outside one")
        return self.trainer

    def on_train_begin(self, logs=None):
        if os.path.exists(self.path):
            self._require_trainer().load_checkpoint(self.path, _from_callback=True)

    def on_epoch_end(self, epoch, logs=None):
        os.makedirs(self.backup_dir, exist_ok=True)
        self._require_trainer().save_checkpoint(self.path, epoch=epoch + 1)

    def on_train_end(self, logs=None):
        if self.delete_checkpoint and os.path.exists(self.path):
            os.remove(self.path)
