"""Streaming statistics of a data set: the mean and variance that feature normalisation "adapts" to.

:class:`RunningMoments` folds batches in one at a time, so a data set larger than memory (a
generator, a :class:`~shendu.data.DataLoader`, a ``tf.data``-style dataset) is read once. Moments
are taken over every axis except ``axis`` (the kept, per-feature axes). Batches are combined with
Chan et al.'s parallel update: for running (n_a, mean_a, M2_a) and a batch (n_b, mean_b, M2_b),

    n = n_a + n_b,  δ = mean_b − mean_a,  mean = mean_a + δ·n_b / n,
    M2 = M2_a + M2_b + δ²·n_a·n_b / n,   variance = M2 / n   (the biased, population variance),

computed in float64, which equals the variance of all the data at once up to rounding.

>>> m = RunningMoments(axis=-1)
>>> for batch in iter_batches([x[:50], x[50:]]):
...     m.update(batch)
>>> m.mean, m.variance, m.count
"""

import numpy as np

__all__ = ["RunningMoments", "iter_batches", "moments"]


def _array(value):
    return np.asarray(value.numpy() if hasattr(value, "numpy") else value)


def iter_batches(data):
    """Arrays from ``data``: one array (or tensor, or flat list of numbers), or an iterable of batches
    (a list of arrays, a generator, a dataset); of ``(x, y)`` pairs, x is used."""
    if hasattr(data, "numpy") or isinstance(data, np.ndarray):
        yield _array(data)
        return
    if isinstance(data, (list, tuple)) and data and not hasattr(data[0], "__len__"):
        yield np.asarray(data)  # a flat list of numbers is one batch
        return
    for batch in data:
        if isinstance(batch, tuple):
            batch = batch[0]
        yield _array(batch)


class RunningMoments:
    """Per-feature count, mean and (population) variance over batches (see the module docstring).

    ``axis``: the axis or axes kept (an int, a tuple, or None / () for one scalar mean and variance).
    """

    def __init__(self, axis=-1):
        if axis is None:
            axis = ()
        self.axis = (int(axis),) if isinstance(axis, (int, np.integer)) else tuple(int(a) for a in axis)
        self.count = 0
        self.mean = None
        self._m2 = None
        self.shape = None  # the shape of the last batch

    def kept_axes(self, ndim):
        """The kept axes as sorted non-negative numbers, for an input with ``ndim`` dimensions."""
        return tuple(sorted(a % ndim for a in self.axis))

    def update(self, batch):
        """Fold one batch in; returns self."""
        batch = np.asarray(batch, dtype=np.float64)
        self.shape = batch.shape
        kept = self.kept_axes(batch.ndim)
        reduce = tuple(a for a in range(batch.ndim) if a not in kept)
        n = int(np.prod([batch.shape[a] for a in reduce])) if reduce else 1
        b_mean = batch.mean(axis=reduce)
        b_m2 = ((batch - batch.mean(axis=reduce, keepdims=True)) ** 2).sum(axis=reduce)
        if self.mean is None:
            self.count, self.mean, self._m2 = n, b_mean, b_m2
        else:
            delta = b_mean - self.mean
            total = self.count + n
            self.mean = self.mean + delta * n / total
            self._m2 = self._m2 + b_m2 + delta**2 * self.count * n / total
            self.count = total
        return self

    @property
    def variance(self):
        return None if self._m2 is None else self._m2 / self.count


def moments(data, axis=-1, steps=None):
    """``(mean, variance, count, last_batch_shape)`` of ``data`` (see :func:`iter_batches`), reading at
    most ``steps`` batches; raises ValueError when there is no data."""
    m = RunningMoments(axis)
    for i, batch in enumerate(iter_batches(data)):
        if steps is not None and i >= steps:
            break
        m.update(batch)
    if m.mean is None:
        raise ValueError("moments: got no data")
    return m.mean, m.variance, m.count, m.shape
