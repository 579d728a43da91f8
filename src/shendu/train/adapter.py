"""Turning what users pass to ``fit`` (arrays, Tensors, lists/dicts of them, a DataLoader) into batches.

Arrays are converted once per call: Tensors give their NumPy data (no copy) and floating-point
arrays take the default float dtype (float32), as Keras casts inputs to ``floatx``. Integer arrays
(labels, token ids) are left alone. A batch is cut from every array with one fancy index (or a
slice when there is no shuffling): there is never a loop over samples.
"""
import math

import numpy as np

__all__ = ["to_arrays", "num_samples", "take", "split_validation", "class_weight_to_sample_weight",
           "ArraySource", "IterableSource", "is_iterable_source", "unpack_batch"]


def _default_float():
    from ..tensor import get_default_dtype

    return np.dtype(get_default_dtype())


def _leaf(a, cast_floats=True):
    if a is None:
        return None
    data = getattr(a, "array", None)
    if isinstance(data, np.ndarray) and not isinstance(a, np.ndarray):  # a shendu Tensor
        arr = data
    else:
        arr = np.asarray(a)
    if cast_floats and arr.dtype.kind == "f" and arr.dtype != _default_float():
        arr = arr.astype(_default_float())
    return arr


def _is_array_like(a):
    return isinstance(a, np.ndarray) or (hasattr(a, "__array__") and hasattr(a, "shape"))


def to_arrays(x, cast_floats=True):
    """Arrays (or a tuple / list / dict of arrays, for several inputs or outputs) from user data.

    A list whose items are arrays or Tensors means several inputs; a list of numbers is one array.
    """
    if x is None:
        return None
    if isinstance(x, dict):
        return {k: _leaf(v, cast_floats) for k, v in x.items()}
    if isinstance(x, (list, tuple)) and len(x) > 0 and all(_is_array_like(v) for v in x):
        return tuple(_leaf(v, cast_floats) for v in x)
    return _leaf(x, cast_floats)


def _leaves(x):
    if isinstance(x, dict):
        return list(x.values())
    if isinstance(x, tuple):
        return list(x)
    return [x]


def num_samples(x, what="x"):
    """The number of samples (length of the first axis), checking every array agrees."""
    sizes = {a.shape[0] if a.ndim else None for a in _leaves(x) if a is not None}
    if None in sizes:
        raise ValueError(f"fit: {what} holds a 0-d value; expected arrays with one row per sample")
    if len(sizes) > 1:
        raise ValueError(f"fit: the arrays in {what} have different numbers of samples: {sorted(sizes)}")
    return sizes.pop() if sizes else 0


def take(x, index):
    """``x[index]`` for an array or each array of a tuple / dict (index: int array or slice)."""
    if x is None:
        return None
    if isinstance(x, dict):
        return {k: v[index] for k, v in x.items()}
    if isinstance(x, tuple):
        return tuple(v[index] for v in x)
    return x[index]


def split_validation(arrays, validation_split):
    """Keras's ``validation_split``: the LAST fraction of the samples, taken before any shuffling.

    The split point is ``floor(n * (1 - validation_split))``; returns (train_arrays, val_arrays).
    """
    if not 0.0 < validation_split < 1.0:
        raise ValueError(f"fit: validation_split must be in (0, 1), got {validation_split}")
    n = num_samples(arrays[0])
    split_at = int(math.floor(n * (1.0 - validation_split)))
    if split_at == 0 or split_at == n:
        raise ValueError(
            f"Training data contains {n} samples, which is not sufficient to split it into a validation and "
            f"training set as specified by `validation_split={validation_split}`. Either provide more data, "
            "or a different value for the `validation_split` argument.")
    train = tuple(take(a, slice(0, split_at)) for a in arrays)
    val = tuple(take(a, slice(split_at, n)) for a in arrays)
    return train, val


def class_weight_to_sample_weight(y, class_weight):
    """Per-sample weights ``class_weight[label]`` (1.0 for classes not listed).

    Labels are ``argmax(y)`` for one-hot targets (more than one column), else ``y`` itself
    (shape (N,) or (N, 1)), as Keras reads them.
    """
    if isinstance(y, (tuple, dict)):
        raise ValueError("fit: class_weight is only supported for models with a single output")
    y = np.asarray(y)
    labels = np.argmax(y, axis=-1) if y.ndim >= 2 and y.shape[-1] > 1 else y.reshape(len(y), -1)[:, 0]
    labels = np.rint(labels).astype(np.int64) if labels.dtype.kind == "f" else labels.astype(np.int64)
    keys = np.array([int(k) for k in class_weight], dtype=np.int64)
    if len(keys) and keys.min() < 0:
        raise ValueError(f"fit: class_weight keys must be class indices >= 0, got {sorted(class_weight)}")
    size = max(int(labels.max(initial=0)), int(keys.max(initial=0))) + 1
    table = np.ones(size, dtype=np.float64)
    table[keys] = np.array([float(class_weight[k]) for k in class_weight], dtype=np.float64)
    return table[labels]


def unpack_batch(batch):
    """``(x, y, sample_weight)`` from a loader's batch: ``(x, y)``, ``(x, y, w)``, ``(x,)`` or ``x``."""
    if isinstance(batch, list):
        batch = tuple(batch)
    if isinstance(batch, tuple):
        if len(batch) == 1:
            return to_arrays(batch[0]), None, None
        if len(batch) == 2:
            return to_arrays(batch[0]), to_arrays(batch[1]), None
        if len(batch) == 3:
            w = batch[2]
            return to_arrays(batch[0]), to_arrays(batch[1]), None if w is None else _leaf(w, False)
        raise ValueError("fit: a data loader's batch should be (x, y) or (x, y, sample_weight), got a "
                         f"tuple of {len(batch)} items")
    if isinstance(batch, dict) and "x" in batch:
        return to_arrays(batch["x"]), to_arrays(batch.get("y")), batch.get("sample_weight")
    return to_arrays(batch), None, None


class ArraySource:
    """Batches of in-memory arrays ``(x, y, sample_weight)``.

    Each epoch draws a new permutation from ``rng`` when ``shuffle`` is true. With ``steps`` set
    (``steps_per_epoch``) an epoch is that many batches taken from an endless stream of shuffled
    passes over the data, so consecutive epochs continue where the last one stopped.
    """

    def __init__(self, x, y=None, sample_weight=None, batch_size=32, shuffle=False, rng=None, steps=None):
        if not isinstance(batch_size, (int, np.integer)) or isinstance(batch_size, bool) or batch_size <= 0:
            raise ValueError(f"fit: batch_size must be a positive integer, got {batch_size!r}")
        self.x, self.y, self.sample_weight = x, y, sample_weight
        self.n = num_samples(x)
        if y is not None and num_samples(y, "y") != self.n:
            raise ValueError(f"fit: x has {self.n} samples but y has {num_samples(y, 'y')}; they must match")
        if sample_weight is not None and len(sample_weight) != self.n:
            raise ValueError(f"fit: sample_weight has {len(sample_weight)} values for {self.n} samples")
        if self.n == 0:
            raise ValueError("fit: got no samples (x is empty)")
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.rng = rng
        self.batches_per_pass = math.ceil(self.n / self.batch_size)
        self.fixed_steps = steps
        self.steps = steps if steps is not None else self.batches_per_pass
        self._stream = None

    def _one_pass(self):
        if self.shuffle:
            order = self.rng.permutation(self.n)
            for start in range(0, self.n, self.batch_size):
                yield order[start:start + self.batch_size]
        else:
            for start in range(0, self.n, self.batch_size):
                yield slice(start, min(start + self.batch_size, self.n))

    def _endless(self):
        while True:
            yield from self._one_pass()

    def _batch(self, index):
        return take(self.x, index), take(self.y, index), take(self.sample_weight, index)

    def epoch(self):
        """Yield the epoch's batches as ``(x, y, sample_weight)``."""
        if self.fixed_steps is None:
            for index in self._one_pass():
                yield self._batch(index)
            return
        if self._stream is None:
            self._stream = self._endless()
        for _ in range(self.steps):
            yield self._batch(next(self._stream))


def is_iterable_source(x):
    """True for a DataLoader or any other iterable of batches (but not arrays, lists or dicts)."""
    if x is None or isinstance(x, (np.ndarray, list, tuple, dict, str, bytes)):
        return False
    if _is_array_like(x):
        return False
    return hasattr(x, "__iter__")


class IterableSource:
    """Batches from a DataLoader (or any iterable yielding ``(x, y[, sample_weight])``).

    An epoch is one pass over the loader, or ``steps`` batches from a persistent iterator that
    restarts the loader whenever it runs out.
    """

    def __init__(self, loader, steps=None):
        self.loader = loader
        self.fixed_steps = steps
        try:
            length = len(loader)
        except TypeError:
            length = None
        self.steps = steps if steps is not None else length
        self._iterator = None

    def epoch(self):
        if self.fixed_steps is None:
            for batch in self.loader:
                yield unpack_batch(batch)
            return
        produced = 0
        restarted = False
        while produced < self.fixed_steps:
            if self._iterator is None:
                self._iterator = iter(self.loader)
            try:
                batch = next(self._iterator)
            except StopIteration:
                self._iterator = None
                if restarted:
                    return  # the loader yields nothing at all
                restarted = True
                continue
            restarted = False
            produced += 1
            yield unpack_batch(batch)
