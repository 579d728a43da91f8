"""``tf.data.Dataset``, small: ``from_tensor_slices``, ``shuffle``, ``batch``, ``map``, ``prefetch``,
``take``, ``skip``, ``repeat``, ``cache``, iteration; ``fit`` / ``evaluate`` / ``predict`` accept it.

Elements are nests (tuples / dicts) of shendu Tensors; ``batch`` stacks them along a new first axis.
A Dataset is a recipe: every iteration runs it again (so ``shuffle`` draws a new order each epoch).
"""

import numpy as np

from ..tensor import Tensor

__all__ = ["Dataset", "TextLineDataset", "AUTOTUNE", "experimental", "Text"]

AUTOTUNE = -1


def _map(fn, obj):
    if isinstance(obj, tuple):
        return tuple(_map(fn, v) for v in obj)
    if isinstance(obj, dict):
        return {k: _map(fn, v) for k, v in obj.items()}
    return fn(obj)


def _as_array(x):
    a = np.asarray(getattr(x, "array", x))
    return a.astype(np.float32) if a.dtype == np.float64 else a


class _StringDType:
    """The dtype of a string element: equal to "string" (and to ``tf.string``), as TensorFlow's is."""

    name = "string"

    def __eq__(self, other):
        return other is self or isinstance(other, str) and other == "string" or other in (str, np.str_)

    def __hash__(self):
        return hash("string")

    def __repr__(self):
        return "tf.string"


class Text(str):
    """A string element of a Dataset: a ``str`` that also answers as TensorFlow's scalar string tensor
    (``dtype == "string"``, ``shape == ()``, ``numpy()`` gives its UTF-8 bytes)."""

    dtype = _StringDType()
    shape = ()
    ndim = 0

    def numpy(self):
        return self.encode("utf-8")


def _wrap(a):
    if isinstance(a, str) and not isinstance(a, Text):
        return Text(a)
    if isinstance(a, bytes):
        return Text(a.decode("utf-8"))
    return Tensor(a) if isinstance(a, np.ndarray) and a.dtype.kind in "biuf" else a


def _leaves(obj):
    if isinstance(obj, tuple):
        return [leaf for v in obj for leaf in _leaves(v)]
    if isinstance(obj, dict):
        return [leaf for v in obj.values() for leaf in _leaves(v)]
    return [obj]


def _stack(items):
    first = items[0]
    if isinstance(first, tuple):
        return tuple(_stack([it[i] for it in items]) for i in range(len(first)))
    if isinstance(first, dict):
        return {k: _stack([it[k] for it in items]) for k in first}
    return _wrap(np.stack([np.asarray(getattr(v, "array", v)) for v in items]))


class Dataset:
    """A re-iterable pipeline of elements. Build one with :meth:`from_tensor_slices`."""

    def __init__(self, make, length=None):
        self._make = make          # () -> iterator of elements
        self._length = length      # number of elements when known

    # ----- sources --------------------------------------------------------------------------------
    @staticmethod
    def from_tensor_slices(tensors):
        """One element per row of the array(s): an array, a tuple of arrays or a dict of arrays."""
        if isinstance(tensors, list) and tensors and all(hasattr(t, "shape") for t in tensors):
            tensors = tuple(tensors)
        arrays = _map(_as_array, tensors if isinstance(tensors, (tuple, dict)) else tensors)
        leaves = _leaves(arrays)
        n = len(leaves[0])
        if any(len(a) != n for a in leaves):
            raise ValueError(f"Dataset.from_tensor_slices: the arrays have different lengths "
                             f"{[len(a) for a in leaves]}")

        def make():
            for i in range(n):
                yield _map(lambda a, i=i: _wrap(a[i]), arrays)

        return Dataset(make, n)

    @staticmethod
    def from_tensors(tensors):
        """One element: the whole of ``tensors``."""
        return Dataset(lambda: iter([_map(lambda a: _wrap(_as_array(a)), tensors)]), 1)

    @staticmethod
    def range(*args):  # noqa: A003
        r = range(*args)
        return Dataset(lambda: (Tensor(np.array(i, dtype=np.int64)) for i in r), len(r))

    @staticmethod
    def from_generator(generator, output_types=None, output_shapes=None, args=None, output_signature=None):
        return Dataset(lambda: iter(generator(*(args or ()))), None)

    @staticmethod
    def zip(datasets):
        lengths = [d._length for d in datasets]
        n = None if None in lengths else min(lengths)
        return Dataset(lambda: zip(*datasets), n)

    # ----- transformations --------------------------------------------------------------------------
    def map(self, map_func, num_parallel_calls=None, deterministic=None):
        """Apply ``map_func`` to every element (a tuple element is passed as separate arguments)."""
        def make():
            for el in self._make():
                yield map_func(*el) if isinstance(el, tuple) else map_func(el)
        return Dataset(make, self._length)

    def filter(self, predicate):
        def make():
            for el in self._make():
                keep = predicate(*el) if isinstance(el, tuple) else predicate(el)
                if bool(np.asarray(getattr(keep, "array", keep))):
                    yield el
        return Dataset(make, None)

    def batch(self, batch_size, drop_remainder=False, num_parallel_calls=None, deterministic=None):
        """Stack ``batch_size`` consecutive elements (the last batch may be smaller)."""
        batch_size = int(batch_size)

        def make():
            buf = []
            for el in self._make():
                buf.append(el)
                if len(buf) == batch_size:
                    yield _stack(buf)
                    buf = []
            if buf and not drop_remainder:
                yield _stack(buf)

        n = self._length
        length = None if n is None else (n // batch_size if drop_remainder else -(-n // batch_size))
        return Dataset(make, length)

    def unbatch(self):
        def make():
            for el in self._make():
                leaves = list(el.values()) if isinstance(el, dict) else \
                    list(el) if isinstance(el, tuple) else [el]
                for i in range(leaves[0].shape[0]):
                    yield _map(lambda t, i=i: t[i], el)
        return Dataset(make, None)

    def shuffle(self, buffer_size, seed=None, reshuffle_each_iteration=True):
        """TensorFlow's buffered shuffle: keep ``buffer_size`` elements, emit a random one, refill."""
        from .. import random as _random

        fixed = np.random.default_rng(seed) if seed is not None else None
        state = fixed.bit_generator.state if fixed is not None else None

        def make():
            if fixed is None:
                rng = _random.generator()
            elif reshuffle_each_iteration:
                rng = fixed
            else:
                rng = np.random.default_rng()
                rng.bit_generator.state = state
            buf = []
            for el in self._make():
                buf.append(el)
                if len(buf) >= buffer_size:
                    j = int(rng.integers(len(buf)))
                    buf[j], buf[-1] = buf[-1], buf[j]
                    yield buf.pop()
            while buf:
                j = int(rng.integers(len(buf)))
                buf[j], buf[-1] = buf[-1], buf[j]
                yield buf.pop()

        return Dataset(make, self._length)

    def take(self, count):
        count = int(count)

        def make():
            if count == 0:
                return
            for i, el in enumerate(self._make()):
                yield el
                if i + 1 == count:
                    return

        n = self._length
        return Dataset(make, count if n is None or count < 0 else min(count, n) if count >= 0 else n)

    def skip(self, count):
        def make():
            for i, el in enumerate(self._make()):
                if i >= count:
                    yield el
        return Dataset(make, None if self._length is None else max(self._length - int(count), 0))

    def repeat(self, count=None):
        def make():
            i = 0
            while count is None or i < count:
                yield from self._make()
                i += 1
        return Dataset(make, None if count is None or self._length is None else self._length * count)

    def prefetch(self, buffer_size=None):
        """Kept for tf.data code: elements are made on demand, so this changes nothing."""
        return self

    def cache(self, filename=""):
        memo = []

        def make():
            if memo:
                yield from memo[0]
                return
            items = list(self._make())
            memo.append(items)
            yield from items
        return Dataset(make, self._length)

    def with_options(self, options):
        return self

    # ----- reading ----------------------------------------------------------------------------------
    def __iter__(self):
        return iter(self._make())

    def __len__(self):
        if self._length is None:
            raise TypeError("The dataset length is unknown (after filter, from_generator or repeat()).")
        return self._length

    def cardinality(self):
        return -1 if self._length is None else self._length  # tf.data.INFINITE/UNKNOWN as -1

    def as_numpy_iterator(self):
        for el in self._make():
            yield _map(lambda t: np.asarray(getattr(t, "array", t)), el)

    def __repr__(self):
        return f"<Dataset length={self._length}>"


def TextLineDataset(filenames, compression_type=None, buffer_size=None, num_parallel_reads=None,  # noqa: N802
                    name=None):
    """``tf.data.TextLineDataset``: one string element per line of the UTF-8 text file(s), in order, the
    line ending removed (``\\n`` or ``\\r\\n``)."""
    if compression_type not in (None, ""):
        raise NotImplementedError(f"TextLineDataset: compression_type={compression_type!r} is not supported")
    paths = [filenames] if isinstance(filenames, (str, bytes)) or hasattr(filenames, "__fspath__") \
        else list(filenames)
    paths = [p.decode("utf-8") if isinstance(p, bytes) else str(p) for p in paths]

    def make():
        for path in paths:
            with open(path, encoding="utf-8", newline="") as f:
                for line in f:
                    yield Text(line[:-2] if line.endswith("\r\n") else line.rstrip("\n"))

    return Dataset(make, None)


class experimental:  # noqa: N801
    AUTOTUNE = AUTOTUNE
