"""Dynamic batching: requests that arrive close together run as one batch, off the event loop.

One worker thread per model version owns the model; the event loop only queues requests and awaits their
futures. The rules:

- the batch size counts **samples**, not requests: a batch holds at most ``max_batch_size`` samples, and a
  client's request is never split (a request larger than ``max_batch_size`` runs alone, whole);
- the wait timer starts when the **first** request of a batch is queued; the batch runs when it is full or
  ``max_delay`` has passed since then;
- ``eager=True`` (the default) also runs the batch as soon as no other request is on its way (every
  request the server has accepted for the model is queued): a lone client never waits for the timer,
  while under load the batch fills up during the previous one's computation;
- only requests whose samples have the same shape and dtype share a batch;
- a batch that fails is rerun request by request, so one client's bad input never fails another's.
"""
import threading
import time
from collections import deque

import numpy as np

from ._errors import BadRequest


class ModelRunError(BadRequest):
    """The model raised on a request's input (the input does not fit it): 400 naming the error."""


class _Item:
    __slots__ = ("arrays", "n", "key", "loop", "future", "queued")

    def __init__(self, arrays, loop, future):
        self.arrays, self.loop, self.future = arrays, loop, future
        self.n = int(arrays[0].shape[0])
        self.key = tuple((a.shape[1:], a.dtype.str) for a in arrays)
        self.queued = time.perf_counter()


def _deliver(future, result, error):
    if future.cancelled():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


class Batcher:
    """Queue of one model version's requests and the thread that runs them in batches."""

    def __init__(self, model, max_batch_size=32, max_delay_ms=5.0, eager=True, metrics=None):
        if max_batch_size < 1:
            raise ValueError(f"Batcher: max_batch_size must be at least 1, got {max_batch_size}")
        if max_delay_ms < 0:
            raise ValueError(f"Batcher: max_delay_ms must be at least 0, got {max_delay_ms}")
        self.model, self.max_batch_size, self.max_delay = model, int(max_batch_size), max_delay_ms / 1000
        self.eager, self.metrics = eager, metrics
        self._pending = deque()
        self._arriving = 0
        self._cond = threading.Condition()
        self._stopped = False
        self._thread = None
        self.executions = 0
        self.inferences = 0

    # ---- event-loop side ----------------------------------------------------------------------------
    def arriving(self):
        """Count a request the server has accepted but not yet queued (``eager`` waits for it)."""
        with self._cond:
            self._arriving += 1

    def abandoned(self):
        """An accepted request that will never be queued (its input was rejected)."""
        with self._cond:
            self._arriving = max(0, self._arriving - 1)
            self._cond.notify()

    async def submit(self, arrays, counted=False):
        """The model's outputs for this request's arrays (one per input), computed in a batch."""
        import asyncio

        self._ensure_started()
        loop = asyncio.get_running_loop()
        item = _Item(arrays, loop, loop.create_future())
        with self._cond:
            if counted:
                self._arriving = max(0, self._arriving - 1)
            if self._stopped:
                raise BadRequest("the server is shutting down; retry on another replica", status=503)
            self._pending.append(item)
            self._cond.notify()
        return await item.future

    def run_now(self, arrays):
        """Run one request in the calling thread (no batching): used by the synchronous API."""
        return self._compute([_Item(arrays, None, None)])[0]

    # ---- worker side ------------------------------------------------------------------------------
    def _ensure_started(self):
        if self._thread is None or not self._thread.is_alive():
            with self._cond:
                if (self._thread is None or not self._thread.is_alive()) and not self._stopped:
                    self._thread = threading.Thread(target=self._work, daemon=True,
                                                    name=f"shendu-batcher-{self.model.name}")
                    self._thread.start()

    def start(self):
        """(Re)start after :meth:`stop` (an app's lifespan may start and stop it more than once)."""
        with self._cond:
            self._stopped = False
        self._ensure_started()

    def stop(self):
        """Run what is queued, then end the worker thread; requests queued later get 503."""
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(timeout=5)
        with self._cond:
            if self._thread is thread:
                self._thread = None

    def _take(self):
        """Wait for a batch and take it from the queue (called with the lock held)."""
        while not self._pending:
            if self._stopped:
                return None
            self._cond.wait()
        first = self._pending[0]
        deadline = first.queued + self.max_delay
        while not self._stopped:
            samples = sum(i.n for i in self._pending if i.key == first.key)
            if samples >= self.max_batch_size or (self.eager and self._arriving == 0):
                break
            left = deadline - time.perf_counter()
            if left <= 0:
                break
            self._cond.wait(left)
        batch, total, rest = [], 0, deque()
        for item in self._pending:
            if item.key == first.key and (not batch or total + item.n <= self.max_batch_size):
                batch.append(item)
                total += item.n
            else:
                rest.append(item)
        self._pending = rest
        return batch

    def _work(self):
        while True:
            with self._cond:
                batch = self._take()
            if batch is None:
                return
            start = time.perf_counter()
            try:
                results = self._compute(batch)
                errors = [None] * len(batch)
            except Exception as exc:  # noqa: BLE001 - find whose input fails, answer each on its own
                results, errors = self._one_by_one(batch, exc)
            for item, res, err in zip(batch, results, errors):
                if self.metrics is not None:
                    self.metrics.queued(self.model, start - item.queued)
                try:
                    item.loop.call_soon_threadsafe(_deliver, item.future, res, err)
                except RuntimeError:  # the event loop has closed (shutdown): nobody is waiting
                    pass

    def _one_by_one(self, batch, exc):
        if len(batch) == 1:
            return [None], [self._error(exc)]
        results, errors = [], []
        for item in batch:
            try:
                results.append(self._compute([item])[0])
                errors.append(None)
            except Exception as e:  # noqa: BLE001
                results.append(None)
                errors.append(self._error(e))
        return results, errors

    def _error(self, exc):
        if isinstance(exc, BadRequest):
            return exc
        if isinstance(exc, MemoryError):
            return BadRequest("the server ran out of memory on this request; send a smaller batch",
                              status=503)
        text = (str(exc).strip() or type(exc).__name__).splitlines()[0]
        return ModelRunError(f"model {self.model.name!r} cannot run on this input: {text}")

    def _compute(self, batch):
        arrays = [b.arrays for b in batch]
        inputs = arrays[0] if len(batch) == 1 else [np.concatenate(col) for col in zip(*arrays)]
        n = sum(b.n for b in batch)
        t0 = time.perf_counter()
        outs = self.model.run(inputs)
        dt = time.perf_counter() - t0
        self.executions += 1
        self.inferences += n
        if self.metrics is not None:
            self.metrics.executed(self.model, n, dt)
        if len(batch) == 1:
            return [outs]
        for o in outs:
            if o.ndim == 0 or o.shape[0] != n:
                raise BadRequest(f"model {self.model.name!r} returned an output of shape {list(o.shape)} "
                                 f"for a batch of {n}; it cannot be batched")
        results, start = [], 0
        for b in batch:
            results.append([o[start:start + b.n] for o in outs])
            start += b.n
        return results
