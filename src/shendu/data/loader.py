"""Samplers, collation and the DataLoader.

The loader turns a dataset into an iterator of batches. An epoch is:

1. the sampler lays out the epoch's sample indices as one int64 array (a permutation when
   shuffling, drawn from a seeded generator);
2. the array is cut into batches of ``batch_size`` (the last one shorter, or dropped);
3. each batch is fetched: ``dataset.get_batch(indices)`` (one fancy index per array) when the
   dataset offers it, else ``collate_fn([dataset[i] for i in indices])``;
4. the batch's arrays are wrapped as ``shendu.tensor.Tensor`` (without copying), or left as
   NumPy arrays with ``as_numpy=True``.

With ``num_workers > 0`` (or ``prefetch > 0``) step 3 runs on background threads that keep a
few batches ready while the training step runs.
"""

import collections
import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ._rng import resolve_generator
from .dataset import TransformDataset, as_array, batch_getter

__all__ = [
    "Sampler",
    "SequentialSampler",
    "RandomSampler",
    "SubsetRandomSampler",
    "WeightedRandomSampler",
    "BatchSampler",
    "DataLoader",
    "default_collate",
    "default_convert",
    "to_tensor",
]


class Sampler:
    """Yields the sample indices of one epoch. Subclasses define :meth:`epoch_indices`.

    ``epoch_indices()`` returns the whole epoch as a 1-D int64 array, so batches can be cut out of
    it without touching indices one by one; iterating a sampler yields Python ints, like PyTorch.
    """

    def epoch_indices(self):
        raise NotImplementedError

    def __iter__(self):
        return iter(self.epoch_indices().tolist())

    def __len__(self):
        raise NotImplementedError


def _epoch_indices(sampler):
    if hasattr(sampler, "epoch_indices"):
        return np.asarray(sampler.epoch_indices(), dtype=np.int64)
    return np.asarray(list(sampler), dtype=np.int64).reshape(-1)


class SequentialSampler(Sampler):
    """``0, 1, ..., len(data_source) - 1``."""

    def __init__(self, data_source):
        self.data_source = data_source

    def epoch_indices(self):
        return np.arange(len(self.data_source), dtype=np.int64)

    def __len__(self):
        return len(self.data_source)


class RandomSampler(Sampler):
    """A random order of the samples, new at each epoch.

    Without replacement: a permutation (several concatenated when ``num_samples`` > len). With
    ``replacement=True``: ``num_samples`` uniform draws. ``generator`` (seed or
    ``numpy.random.Generator``) defaults to ``shendu.random.generator()``, looked up each epoch.
    """

    def __init__(self, data_source, replacement=False, num_samples=None, generator=None):
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = (
            resolve_generator(generator) if isinstance(generator, (int, np.integer)) else generator
        )
        if num_samples is not None and (not isinstance(num_samples, (int, np.integer)) or num_samples <= 0):
            raise ValueError(f"RandomSampler: num_samples should be a positive integer, got {num_samples!r}")

    @property
    def num_samples(self):
        return len(self.data_source) if self._num_samples is None else int(self._num_samples)

    def epoch_indices(self):
        n = len(self.data_source)
        rng = resolve_generator(self.generator)
        if self.replacement:
            return rng.integers(0, n, size=self.num_samples, dtype=np.int64)
        rounds = max(1, math.ceil(self.num_samples / n)) if n else 1
        perms = [rng.permutation(n) for _ in range(rounds)]
        return np.concatenate(perms)[: self.num_samples].astype(np.int64, copy=False)

    def __len__(self):
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given ``indices`` in a random order, new at each epoch."""

    def __init__(self, indices, generator=None):
        self.indices = np.asarray(indices, dtype=np.int64).reshape(-1)
        self.generator = generator

    def epoch_indices(self):
        return self.indices[resolve_generator(self.generator).permutation(len(self.indices))]

    def __len__(self):
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """``num_samples`` indices drawn with probability ``weights[i] / sum(weights)``."""

    def __init__(self, weights, num_samples, replacement=True, generator=None):
        self.weights = np.asarray(weights, dtype=np.float64).reshape(-1)
        if np.any(self.weights < 0) or not np.all(np.isfinite(self.weights)) or self.weights.sum() <= 0:
            raise ValueError("WeightedRandomSampler: weights must be finite, non-negative and not all zero")
        self.num_samples = int(num_samples)
        self.replacement = replacement
        self.generator = generator

    def epoch_indices(self):
        p = self.weights / self.weights.sum()
        rng = resolve_generator(self.generator)
        return rng.choice(len(p), size=self.num_samples, replace=self.replacement, p=p).astype(np.int64)

    def __len__(self):
        return self.num_samples


class BatchSampler(Sampler):
    """Groups a sampler's indices into batches of ``batch_size`` (lists of ints when iterated)."""

    def __init__(self, sampler, batch_size, drop_last=False):
        if not isinstance(batch_size, (int, np.integer)) or isinstance(batch_size, bool) or batch_size <= 0:
            raise ValueError(f"batch_size should be a positive integer, got {batch_size!r}")
        self.sampler = sampler
        self.batch_size = int(batch_size)
        self.drop_last = drop_last

    def batches(self):
        """The epoch's batches as int64 arrays, cut from one index array (no per-index work)."""
        idx = _epoch_indices(self.sampler)
        stop = (len(idx) // self.batch_size) * self.batch_size if self.drop_last else len(idx)
        for start in range(0, stop, self.batch_size):
            yield idx[start : min(start + self.batch_size, stop)]

    def __iter__(self):
        for b in self.batches():
            yield b.tolist()

    def __len__(self):
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)


def _is_tensor_like(x):
    return not isinstance(x, np.ndarray) and hasattr(x, "numpy") and hasattr(x, "__array__")


def default_collate(samples):
    """Stack a list of samples into a batch, keeping the samples' structure.

    Arrays (and shendu Tensors) -> ``np.stack``; Python/NumPy numbers -> a 1-D array (int64,
    float64 or bool); strings -> a list; tuples/lists -> the same container of collated fields;
    dicts -> a dict of collated values. ``[(x0, y0), (x1, y1)] -> (stack([x0, x1]), array([y0, y1]))``.
    """
    if len(samples) == 0:
        raise ValueError("default_collate: got an empty list of samples")
    elem = samples[0]
    if isinstance(elem, np.ndarray) or _is_tensor_like(elem):
        arrays = [as_array(s) for s in samples]
        try:
            return np.stack(arrays)
        except ValueError:
            shapes = sorted({a.shape for a in arrays})
            raise ValueError(
                f"default_collate: cannot stack samples of different shapes {shapes[:4]}; resize them "
                "(a transform) or give the DataLoader a collate_fn"
            ) from None
    if isinstance(elem, (str, bytes)):
        return list(samples)
    if isinstance(elem, (bool, int, float, complex, np.generic)):
        return np.asarray(samples)
    if isinstance(elem, collections.abc.Mapping):
        return {key: default_collate([s[key] for s in samples]) for key in elem}
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):
        return type(elem)(*(default_collate(list(field)) for field in zip(*samples)))
    if isinstance(elem, (tuple, list)):
        size = len(elem)
        if any(len(s) != size for s in samples):
            raise ValueError(
                "default_collate: each sample of the batch should have the same number of fields"
            )
        fields = [default_collate(list(field)) for field in zip(*samples)]
        return tuple(fields) if isinstance(elem, tuple) else fields
    if elem is None:
        raise TypeError("default_collate: a sample (or one of its fields) is None")
    raise TypeError(
        f"default_collate: cannot batch samples of type {type(elem).__name__}; "
        "give the DataLoader a collate_fn"
    )


def default_convert(sample):
    """Used when ``batch_size=None``: numbers become 0-d arrays, structure is kept, nothing is stacked."""
    if isinstance(sample, (np.ndarray, str, bytes)):
        return sample
    if _is_tensor_like(sample):
        return as_array(sample)
    if isinstance(sample, (bool, int, float, complex, np.generic)):
        return np.asarray(sample)
    if isinstance(sample, collections.abc.Mapping):
        return {k: default_convert(v) for k, v in sample.items()}
    if isinstance(sample, tuple) and hasattr(sample, "_fields"):
        return type(sample)(*(default_convert(v) for v in sample))
    if isinstance(sample, (tuple, list)):
        return type(sample)(default_convert(v) for v in sample)
    return sample


def _map_arrays(obj, fn):
    if isinstance(obj, np.ndarray):
        return fn(obj) if obj.dtype.kind in "biufc" else obj
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        return type(obj)(*(_map_arrays(v, fn) for v in obj))
    if isinstance(obj, (tuple, list)):
        return type(obj)(_map_arrays(v, fn) for v in obj)
    if isinstance(obj, dict):
        return {k: _map_arrays(v, fn) for k, v in obj.items()}
    return obj


def to_tensor(batch):
    """Wrap every numeric array in ``batch`` as a ``shendu.tensor.Tensor`` (no copy), keeping structure."""
    try:
        from shendu.tensor import Tensor
    except ImportError as exc:  # pragma: no cover - only while the core package is missing
        raise ImportError(
            "DataLoader: shendu.tensor could not be imported to wrap batches as Tensors; "
            f"pass as_numpy=True to get NumPy arrays ({exc})"
        ) from exc
    return _map_arrays(batch, Tensor)


class DataLoader:
    """Iterate over a dataset in (shuffled) batches, like ``torch.utils.data.DataLoader``.

    Args:
        dataset: a :class:`~shendu.data.Dataset` (or anything with ``__len__``/``__getitem__``).
        batch_size: samples per batch (default 1, like PyTorch); ``None`` yields single samples.
        shuffle: a new random order every epoch, drawn from ``generator``.
        sampler: the epoch's index order (a Sampler or any iterable of ints); excludes ``shuffle``.
        batch_sampler: yields whole batches of indices; excludes batch_size/shuffle/sampler/drop_last.
        num_workers: background threads fetching batches ahead (0: fetch in the loop's thread).
        collate_fn: builds a batch from a list of samples (default :func:`default_collate`).
            A custom ``collate_fn`` always gets the samples one by one.
        drop_last: drop the last batch when it is smaller than ``batch_size``.
        generator: seed or ``numpy.random.Generator`` for shuffling; default
            ``shendu.random.generator()``, so ``shendu.manual_seed(n)`` makes shuffling reproducible.
        prefetch_factor: batches kept ready per worker (default 2 when ``num_workers > 0``).
        prefetch: total batches kept ready by the background threads (overrides prefetch_factor;
            ``prefetch > 0`` with ``num_workers=0`` uses one thread).
        as_numpy: yield NumPy arrays instead of ``shendu.tensor.Tensor`` objects.
        transform, target_transform: applied to each batch's inputs / targets
            (see :class:`~shendu.data.TransformDataset`); vectorized for batchable datasets.

    ``pin_memory``, ``timeout``, ``worker_init_fn`` and ``persistent_workers`` are accepted for
    PyTorch compatibility and have no effect. Batches of array-backed datasets are fetched by
    fancy indexing (one NumPy call per array); other datasets go through ``__getitem__`` and
    ``collate_fn``. ``len(loader)`` is the number of batches per epoch.
    """

    def __init__(
        self,
        dataset,
        batch_size=1,
        shuffle=False,
        sampler=None,
        batch_sampler=None,
        num_workers=0,
        collate_fn=None,
        pin_memory=False,
        drop_last=False,
        timeout=0,
        worker_init_fn=None,
        generator=None,
        *,
        prefetch_factor=None,
        persistent_workers=False,
        prefetch=None,
        as_numpy=False,
        transform=None,
        target_transform=None,
    ):
        if transform is not None or target_transform is not None:
            dataset = TransformDataset(dataset, transform, target_transform)
        self.dataset = dataset
        if num_workers < 0:
            raise ValueError(f"DataLoader: num_workers must be >= 0, got {num_workers}")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError(
                    "DataLoader: batch_sampler option is mutually exclusive with "
                    "batch_size, shuffle, sampler, "
                    "and drop_last"
                )
            batch_size = None
            drop_last = False
        elif batch_size is None and drop_last:
            raise ValueError(
                "DataLoader: batch_size=None option disables auto-batching and is mutually "
                "exclusive with drop_last"
            )
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler option is mutually exclusive with shuffle")
        if isinstance(generator, (int, np.integer)):
            generator = np.random.default_rng(int(generator))
        self.generator = generator
        if sampler is None:
            sampler = RandomSampler(dataset, generator=generator) if shuffle else SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.shuffle = shuffle
        self.num_workers = int(num_workers)
        self.collate_fn = collate_fn
        self.as_numpy = as_numpy
        if prefetch is None:
            prefetch = (prefetch_factor or 2) * self.num_workers
        self.prefetch = int(prefetch)
        self.pin_memory = pin_memory
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.persistent_workers = persistent_workers

    def __len__(self):
        if self.batch_sampler is not None:
            return len(self.batch_sampler)
        return len(self.sampler)

    def _index_batches(self):
        if self.batch_sampler is None:
            for i in _epoch_indices(self.sampler):
                yield int(i)
        elif hasattr(self.batch_sampler, "batches"):
            yield from self.batch_sampler.batches()
        else:
            for b in self.batch_sampler:
                yield np.asarray(b, dtype=np.int64).reshape(-1)

    def _make_fetch(self):
        dataset = self.dataset
        wrap = (lambda b: b) if self.as_numpy else to_tensor
        if self.batch_sampler is None:
            return lambda i: wrap(default_convert(dataset[i]))
        getter = batch_getter(dataset) if self.collate_fn is None else None
        if getter is not None:
            return lambda idx: wrap(getter(idx))
        collate = self.collate_fn or default_collate
        return lambda idx: wrap(collate([dataset[i] for i in idx.tolist()]))

    def __iter__(self):
        fetch = self._make_fetch()
        batches = self._index_batches()
        if self.prefetch <= 0:
            return (fetch(b) for b in batches)
        return self._prefetched(fetch, batches)

    def _prefetched(self, fetch, batches):
        """Keep ``self.prefetch`` batches in flight on background threads, yielding them in order."""
        pool = ThreadPoolExecutor(max_workers=max(1, self.num_workers), thread_name_prefix="shendu-data")
        pending = collections.deque()
        try:
            for b in batches:
                pending.append(pool.submit(fetch, b))
                if len(pending) > self.prefetch:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def __repr__(self):
        return (
            f"DataLoader(dataset={type(self.dataset).__name__}(n={len(self.dataset)}), "
            f"batch_size={self.batch_size}, shuffle={self.shuffle}, drop_last={self.drop_last}, "
            f"num_workers={self.num_workers})"
        )
