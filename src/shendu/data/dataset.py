"""Datasets: indexable collections of samples, in the shape of ``torch.utils.data``.

A dataset is anything with ``__len__`` and ``__getitem__(i) -> sample``. Datasets whose data
already sit in arrays can also hand out a whole batch at once with ``get_batch(indices)``, which
fancy-indexes every array with the batch's index array: one NumPy call per array instead of one
Python call per sample. :class:`~shendu.data.DataLoader` uses ``get_batch`` whenever a dataset
offers it (see :func:`batch_getter`), and falls back to ``__getitem__`` + collate otherwise.
"""

import bisect
import math

import numpy as np

from ._rng import resolve_generator

__all__ = [
    "Dataset",
    "TensorDataset",
    "Subset",
    "ConcatDataset",
    "TransformDataset",
    "random_split",
    "batch_getter",
    "as_array",
]


def as_array(data):
    """Return ``data`` as a NumPy array without copying (shendu Tensors expose theirs via ``__array__``)."""
    if isinstance(data, np.ndarray):
        return data
    inner = getattr(data, "array", None)
    if isinstance(inner, np.ndarray) and hasattr(data, "numpy"):
        return inner
    return np.asarray(data)


class Dataset:
    """Base class of every dataset.

    Subclass it and define ``__len__`` and ``__getitem__``. Or set ``self.arrays`` to a tuple of
    arrays with the same first dimension and leave ``__getitem__`` alone: the dataset then yields
    ``tuple(a[i] for a in arrays)`` and the loader batches it by fancy indexing.
    ``dataset_a + dataset_b`` concatenates (:class:`ConcatDataset`).
    """

    def __getitem__(self, index):
        arrays = getattr(self, "arrays", None)
        if arrays is None:
            raise NotImplementedError(
                f"{type(self).__name__} must define __getitem__(index) "
                "(or set self.arrays to a tuple of arrays)"
            )
        return tuple(a[index] for a in arrays)

    def __len__(self):
        arrays = getattr(self, "arrays", None)
        if arrays is None:
            raise TypeError(f"{type(self).__name__} must define __len__() (or set self.arrays)")
        return len(arrays[0])

    def __add__(self, other):
        return ConcatDataset([self, other])


def batch_getter(dataset):
    """Return ``fetch(indices) -> batch`` when ``dataset`` can be fancy-indexed, else ``None``.

    A dataset is batchable when it defines ``get_batch(indices)`` (and does not set
    ``batchable = False``), or when it sets ``self.arrays`` and keeps the base ``__getitem__``.
    ``indices`` is a 1-D int64 array; the batch is what ``default_collate`` would have built from
    the samples one by one (a tuple of arrays whose first dimension is ``len(indices)``).
    """
    if getattr(dataset, "batchable", True) is False:
        return None
    fetch = getattr(dataset, "get_batch", None)
    if callable(fetch):
        return fetch
    arrays = getattr(dataset, "arrays", None)
    if arrays is not None and type(dataset).__getitem__ is Dataset.__getitem__:
        return lambda indices: tuple(a[indices] for a in arrays)
    return None


class TensorDataset(Dataset):
    """Samples are rows of the given arrays: ``dataset[i] == (a[i], b[i], ...)``.

    Takes NumPy arrays, shendu Tensors or anything ``np.asarray`` accepts; arrays are kept
    without copying. ``dataset.tensors`` (PyTorch's name) and ``dataset.arrays`` are the same tuple.

    >>> ds = TensorDataset(np.zeros((100, 1, 28, 28), np.float32), np.arange(100))
    >>> x, y = ds[3]; len(ds)
    100
    """

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("TensorDataset needs at least one array")
        arrays = tuple(as_array(t) for t in tensors)
        for i, a in enumerate(arrays):
            if a.ndim == 0:
                raise ValueError(
                    f"TensorDataset: array {i} is a scalar; every array needs a first (sample) axis"
                )
        sizes = [len(a) for a in arrays]
        if len(set(sizes)) != 1:
            raise ValueError(f"TensorDataset: all arrays need the same first dimension, got sizes {sizes}")
        self.arrays = arrays

    @property
    def tensors(self):
        return self.arrays

    def __getitem__(self, index):
        return tuple(a[index] for a in self.arrays)

    def __len__(self):
        return len(self.arrays[0])

    def get_batch(self, indices):
        """One fancy-indexing call per array: ``tuple(a[indices] for a in arrays)``."""
        return tuple(a[indices] for a in self.arrays)


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order (``subset[i] == dataset[indices[i]]``)."""

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = np.asarray(indices, dtype=np.int64).reshape(-1)

    def __getitem__(self, index):
        if isinstance(index, (list, np.ndarray)):
            return [self.dataset[int(i)] for i in self.indices[index]]
        return self.dataset[int(self.indices[index])]

    def __len__(self):
        return len(self.indices)

    @property
    def batchable(self):
        return batch_getter(self.dataset) is not None

    def get_batch(self, indices):
        return batch_getter(self.dataset)(self.indices[indices])


def _scatter(parts, masks, n):
    """Assemble a batch of ``n`` samples from per-dataset ``parts`` placed at boolean ``masks``."""
    first = parts[0]
    if isinstance(first, tuple):
        return tuple(_scatter([p[k] for p in parts], masks, n) for k in range(len(first)))
    arrays = [np.asarray(p) for p in parts]
    dtype = np.result_type(*arrays)
    out = np.empty((n,) + arrays[0].shape[1:], dtype=dtype)
    for part, mask in zip(arrays, masks):
        out[mask] = part
    return out


class ConcatDataset(Dataset):
    """Several datasets one after the other: indices ``0..len(a)-1`` are ``a``'s, then ``b``'s, ..."""

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset needs at least one dataset")
        self.cumulative_sizes = np.cumsum([len(d) for d in self.datasets]).tolist()

    def __len__(self):
        return self.cumulative_sizes[-1]

    def __getitem__(self, index):
        if index < 0:
            if -index > len(self):
                raise IndexError(f"ConcatDataset index {index} out of range for length {len(self)}")
            index += len(self)
        which = bisect.bisect_right(self.cumulative_sizes, index)
        start = 0 if which == 0 else self.cumulative_sizes[which - 1]
        return self.datasets[which][index - start]

    @property
    def batchable(self):
        return all(batch_getter(d) is not None for d in self.datasets)

    def get_batch(self, indices):
        indices = np.asarray(indices, dtype=np.int64)
        ends = np.asarray(self.cumulative_sizes)
        which = np.searchsorted(ends, indices, side="right")
        starts = np.concatenate([[0], ends[:-1]])
        local = indices - starts[which]
        present = np.unique(which)
        if len(present) == 1:
            return batch_getter(self.datasets[present[0]])(local)
        masks = [which == d for d in present]
        parts = [batch_getter(self.datasets[d])(local[m]) for d, m in zip(present, masks)]
        return _scatter(parts, masks, len(indices))


def _apply_batch(fn, batch, batched):
    """Apply ``fn`` to a batch: its ``apply_batch`` if it has one, else per sample (or whole if batched)."""
    if fn is None:
        return batch
    if hasattr(fn, "apply_batch"):
        return fn.apply_batch(batch)
    if batched:
        return fn(batch)
    return np.stack([np.asarray(fn(sample)) for sample in batch])


class TransformDataset(Dataset):
    """Apply ``transform`` to each sample's input and ``target_transform`` to its target.

    A sample ``(x, y, ...)`` becomes ``(transform(x), target_transform(y), ...)``; a sample that is
    not a tuple is passed to ``transform`` whole. When the wrapped dataset is batchable the loader
    fetches a whole batch and calls ``transform.apply_batch(x_batch)`` once: the transforms in
    :mod:`shendu.data.transforms` are vectorized over the batch and draw independent random
    parameters per sample. A plain function is applied per sample (``np.stack`` of the results),
    or to the whole batch at once with ``batched=True``.
    """

    def __init__(self, dataset, transform=None, target_transform=None, batched=False):
        self.dataset = dataset
        self.transform = transform
        self.target_transform = target_transform
        self.batched = batched

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, index):
        sample = self.dataset[index]
        if isinstance(sample, (tuple, list)):
            out = list(sample)
            if self.transform is not None:
                out[0] = self.transform(out[0])
            if self.target_transform is not None and len(out) > 1:
                out[1] = self.target_transform(out[1])
            return tuple(out)
        return self.transform(sample) if self.transform is not None else sample

    @property
    def batchable(self):
        return batch_getter(self.dataset) is not None

    def get_batch(self, indices):
        batch = batch_getter(self.dataset)(indices)
        if isinstance(batch, (tuple, list)):
            out = list(batch)
            out[0] = _apply_batch(self.transform, out[0], self.batched)
            if len(out) > 1:
                out[1] = _apply_batch(self.target_transform, out[1], self.batched)
            return tuple(out)
        return _apply_batch(self.transform, batch, self.batched)


def random_split(dataset, lengths, generator=None):
    """Split ``dataset`` into non-overlapping random :class:`Subset` s of the given ``lengths``.

    ``lengths`` are sample counts summing to ``len(dataset)``, or fractions summing to 1: each
    subset then gets ``floor(n * fraction)`` samples and the leftover samples go one each to the
    first subsets, round robin (PyTorch's rule). ``generator`` (a seed or
    ``numpy.random.Generator``) defaults to ``shendu.random.generator()``.

    >>> train, val = random_split(dataset, [0.8, 0.2], generator=0)
    """
    n = len(dataset)
    lengths = list(lengths)
    total = sum(lengths)
    if math.isclose(total, 1) and total <= 1 and not all(isinstance(v, (int, np.integer)) for v in lengths):
        counts = []
        for i, frac in enumerate(lengths):
            if not 0 <= frac <= 1:
                raise ValueError(f"random_split: fraction at index {i} is {frac}, expected a value in [0, 1]")
            counts.append(int(math.floor(n * frac)))
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
        lengths = counts
    if any(v < 0 for v in lengths):
        raise ValueError(f"random_split: lengths must be non-negative, got {lengths}")
    if sum(lengths) != n:
        raise ValueError(
            f"random_split: the lengths {lengths} sum to {sum(lengths)} but the dataset has {n} samples "
            "(give counts summing to the dataset length, or fractions summing to 1)"
        )
    perm = resolve_generator(generator).permutation(n)
    bounds = np.cumsum([0] + [int(v) for v in lengths])
    return [Subset(dataset, perm[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]
