"""Keras's progress bar, as printed by ``fit``, ``evaluate`` and ``predict``.

While an epoch runs (``verbose=1`` on a terminal the line is rewritten in place with ``\\r``)::

    Epoch 3/10
     812/1875 [===========>..................] - ETA: 3s - loss: 0.3100 - accuracy: 0.8900

and when it ends::

    1875/1875 [==============================] - 12s 6ms/step - loss: 0.3100 - accuracy: 0.8900 - val_...

When the output is not a terminal (a log file, a pipe, a captured stream) only the final line of
each epoch is printed. ``verbose=2`` prints one line per epoch without the bar::

    1875/1875 - 12s - loss: 0.3100 - accuracy: 0.8900 - 12s/epoch - 6ms/step

Values are the running means the loop logs, printed with 4 decimals (``%.4e`` when |v| <= 1e-3).
Redraws are throttled (every 0.1 s at most) so printing never slows training.
"""
import math
import sys
import time

import numpy as np

from .callbacks import Callback

__all__ = ["Progbar", "ProgbarLogger"]


def _is_terminal(stream):
    if "ipykernel" in sys.modules:
        return True
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False


def format_value(value):
    """Keras's number format: ``%.4f``, or ``%.4e`` for magnitudes at or below 1e-3."""
    arr = np.asarray(value)
    if arr.ndim > 0:
        more = " ..." if arr.size > 8 else ""
        return "[" + " ".join(format_value(v) for v in arr.ravel()[:8]) + more + "]"
    try:
        v = float(arr)
    except (TypeError, ValueError):
        return str(value)
    return f"{v:.4f}" if abs(v) > 1e-3 else f"{v:.4e}"


def format_time(seconds, unit):
    """`` 12s/step``, `` 6ms/step`` or `` 80us/step``."""
    if seconds >= 1 or seconds == 0:
        return f" {seconds:.0f}s/{unit}"
    if seconds >= 1e-3:
        return f" {seconds * 1e3:.0f}ms/{unit}"
    return f" {seconds * 1e6:.0f}us/{unit}"


def format_eta(seconds):
    if seconds > 3600:
        return f"{int(seconds) // 3600}:{(int(seconds) % 3600) // 60:02d}:{int(seconds) % 60:02d}"
    if seconds > 60:
        return f"{int(seconds) // 60}:{int(seconds) % 60:02d}"
    return f"{int(seconds)}s"


class Progbar:
    """A text progress bar over ``target`` steps (``None`` when the count is unknown).

    ``update(current, values, finalize=False)`` shows ``current`` steps done and the ``(name,
    value)`` pairs in ``values`` (already averaged by the caller). ``dynamic`` forces (True) or
    forbids (False) in-place redrawing; by default it is on for terminals and notebooks.
    """

    def __init__(self, target, width=30, verbose=1, interval=0.1, unit_name="step", stream=None,
                 dynamic=None):
        self.target = target
        self.width = width
        self.verbose = verbose
        self.interval = interval
        self.unit_name = unit_name
        self._stream = stream
        self.dynamic = dynamic
        self._start = time.perf_counter()
        self._last_update = 0.0
        self._total_width = 0
        self._seen_first = None
        self._time_after_first = None

    @property
    def stream(self):
        return self._stream if self._stream is not None else sys.stdout

    def _dynamic(self):
        return _is_terminal(self.stream) if self.dynamic is None else self.dynamic

    def _step_time(self, current, now):
        """Seconds per step, leaving out the first step (which pays for warm-up) when possible."""
        if not current:
            return 0.0
        if self._time_after_first is not None and current > self._seen_first:
            return (now - self._time_after_first) / (current - self._seen_first)
        return (now - self._start) / current

    def _counter(self, current):
        if self.target is None:
            return f"{current:7d}/Unknown"
        digits = int(math.log10(self.target)) + 1 if self.target > 0 else 1
        return f"{current:{digits}d}/{self.target}"

    def _bar(self, current):
        if self.target is None or self.target <= 0:
            return ""
        filled = int(self.width * min(current, self.target) / self.target)
        bar = ""
        if filled > 0:
            bar = "=" * (filled - 1) + (">" if current < self.target else "=")
        return " [" + bar + "." * (self.width - filled) + "]"

    @staticmethod
    def _values(values):
        return "".join(f" - {name}: {format_value(v)}" for name, v in (values or []))

    def update(self, current, values=None, finalize=None):
        """Show progress at ``current`` steps; ``finalize`` (default: current >= target) ends the line."""
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        now = time.perf_counter()
        if self._time_after_first is None and current >= 1:
            self._seen_first, self._time_after_first = current, now
        if self.verbose == 0:
            return
        values = list(values.items()) if isinstance(values, dict) else values
        per_step = self._step_time(current, now)
        if self.verbose == 2:
            if finalize:
                elapsed = now - self._start
                line = (f"{self._counter(current)} - {elapsed:.0f}s{self._values(values)} -"
                        f"{format_time(elapsed, 'epoch')} -{format_time(per_step, self.unit_name)}")
                self._write(line + "\n")
            return
        dynamic = self._dynamic()
        if not finalize and (not dynamic or now - self._last_update < self.interval):
            return
        self._last_update = now
        line = self._counter(current) + self._bar(current)
        if finalize:
            line += f" - {now - self._start:.0f}s" + format_time(per_step, self.unit_name)
        elif self.target is not None:
            line += " - ETA: " + format_eta(per_step * (self.target - current))
        else:
            line += format_time(per_step, self.unit_name)
        line += self._values(values)
        if dynamic:
            pad = max(0, self._total_width - len(line))
            self._total_width = len(line)
            self._write("\r" + line + " " * pad + ("\n" if finalize else ""))
        else:
            self._write(line + "\n")

    def _write(self, text):
        stream = self.stream
        stream.write(text)
        stream.flush()


class ProgbarLogger(Callback):
    """Prints Keras's progress bar: ``Epoch i/n`` (when n > 1), then one bar per epoch (or per
    ``evaluate`` / ``predict`` call). Validation inside ``fit`` shows no bar of its own: its values
    are appended to the epoch's final line."""

    def __init__(self, stream=None, dynamic=None):
        super().__init__()
        self.stream = stream
        self.dynamic = dynamic
        self.verbose = 1
        self.epochs = 1
        self.target = None
        self.progbar = None
        self.seen = 0
        self._in_fit = False

    def set_params(self, params):
        super().set_params(params)
        verbose = params.get("verbose", 1)
        self.verbose = 1 if verbose == "auto" else int(verbose)
        self.epochs = params.get("epochs", 1)
        self.target = params.get("steps")

    def _start(self):
        self.seen = 0
        self.progbar = Progbar(self.target, verbose=self.verbose, stream=self.stream, dynamic=self.dynamic)

    def _update(self, batch, logs):
        if self.progbar is None:
            self._start()
        self.seen = batch + 1
        self.progbar.update(self.seen, list((logs or {}).items()), finalize=False)

    def _finalize(self, logs):
        if self.progbar is None:
            self._start()
        if self.target is None:
            self.target = self.seen
            self.progbar.target = self.seen
        self.progbar.update(self.seen, list((logs or {}).items()), finalize=True)
        self.progbar = None

    def on_train_begin(self, logs=None):
        self._in_fit = True

    def on_train_end(self, logs=None):
        self._in_fit = False

    def on_epoch_begin(self, epoch, logs=None):
        self.target = self.params.get("steps")
        self._start()
        if self.verbose and self.epochs > 1:
            stream = self.stream if self.stream is not None else sys.stdout
            stream.write(f"Epoch {epoch + 1}/{self.epochs}\n")
            stream.flush()

    def on_train_batch_end(self, batch, logs=None):
        self._update(batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        self._finalize(logs)

    def on_test_begin(self, logs=None):
        if not self._in_fit:
            self.target = self.params.get("steps")
            self._start()

    def on_test_batch_end(self, batch, logs=None):
        if not self._in_fit:
            self._update(batch, logs)

    def on_test_end(self, logs=None):
        if not self._in_fit:
            self._finalize(logs)

    def on_predict_begin(self, logs=None):
        self.target = self.params.get("steps")
        self._start()

    def on_predict_batch_end(self, batch, logs=None):
        self._update(batch, None)

    def on_predict_end(self, logs=None):
        self._finalize(None)
