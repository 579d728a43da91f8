"""Keras's data utilities: ``image_dataset_from_directory``, ``text_dataset_from_directory``,
``timeseries_dataset_from_array``, ``split_dataset`` and ``PyDataset`` / ``Sequence``.

The ``*_from_*`` functions return a :class:`shendu.tf.data.Dataset` of batches, which ``fit``,
``evaluate`` and ``predict`` accept and which supports ``map``, ``take``, ``prefetch``... as in
tf.data. Files are read batch by batch as the dataset is iterated (nothing is loaded up front), and
every pass draws a new order when ``shuffle=True``.
"""
import os

import numpy as np

from .timeseries import gather_windows, window_starts

__all__ = ["image_dataset_from_directory", "text_dataset_from_directory", "timeseries_dataset_from_array",
           "split_dataset", "PyDataset", "Sequence"]

IMAGE_FORMATS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")


def _dataset(make, length):
    from .pipeline import Dataset

    return Dataset(make, length)


class _StringBatch(np.ndarray):
    """A batch of strings; ``.numpy()`` returns it, as a tf string tensor's would."""

    def numpy(self):
        return np.asarray(self)


def _index_directory(directory, labels, formats, class_names, shuffle, seed, follow_links, who):
    """(file_paths, labels, class_names) as Keras indexes a folder: one class per sub-folder, in
    alphanumeric order (or ``class_names``); files sorted; shuffled once with ``RandomState(seed)``."""
    directory = os.fspath(directory)
    if not os.path.isdir(directory):
        raise ValueError(f"{who}: directory {directory!r} does not exist or is not a folder")
    if labels == "inferred":
        subdirs = sorted(d for d in os.listdir(directory) if os.path.isdir(os.path.join(directory, d)))
        if class_names is not None:
            if sorted(class_names) != sorted(set(class_names)) or not set(class_names) <= set(subdirs):
                raise ValueError(f"{who}: class_names {list(class_names)} must be distinct sub-folders of "
                                 f"{directory}; found {subdirs}")
            subdirs = list(class_names)
        walk_roots = [(os.path.join(directory, d), i) for i, d in enumerate(subdirs)]
    else:
        subdirs = []
        walk_roots = [(directory, None)]
    paths, idx = [], []
    for root, label in walk_roots:
        found = []
        for dirpath, dirnames, filenames in os.walk(root, followlinks=follow_links):
            dirnames.sort()
            found += [os.path.join(dirpath, f) for f in filenames if f.lower().endswith(formats)]
        found.sort()
        paths += found
        idx += [label] * len(found)
    if labels == "inferred":
        label_arr = np.asarray(idx, dtype=np.int64)
        names = subdirs
    elif labels is None:
        label_arr, names = None, None
    else:
        label_arr = np.asarray(labels)
        if len(label_arr) != len(paths):
            raise ValueError(f"{who}: got {len(label_arr)} labels but found {len(paths)} files in "
                             f"{directory} (labels are matched to the files in alphanumeric order)")
        names = class_names
    if shuffle:
        if seed is None:
            seed = np.random.randint(1_000_000)
        order = np.arange(len(paths))
        np.random.RandomState(seed).shuffle(order)
        paths = [paths[i] for i in order]
        label_arr = None if label_arr is None else label_arr[order]
    return paths, label_arr, names, seed


def _check_split(validation_split, subset, shuffle, seed, who):
    if validation_split is not None and not 0 < validation_split < 1:
        raise ValueError(f"{who}: validation_split must be in (0, 1), got {validation_split}")
    if (validation_split is None) != (subset is None):
        raise ValueError(f"{who}: validation_split and subset go together (subset='training', "
                         f"'validation' or 'both'); got validation_split={validation_split}, "
                         f"subset={subset!r}")
    if subset not in (None, "training", "validation", "both"):
        raise ValueError(f"{who}: subset must be 'training', 'validation' or 'both', got {subset!r}")
    if validation_split is not None and shuffle and seed is None:
        raise ValueError(f"{who}: with validation_split and shuffle=True, pass a seed so that the training "
                         "and validation subsets do not overlap")


def _subsets(n, validation_split, subset):
    """Index slices per requested subset: the last ``int(validation_split * n)`` files are validation."""
    if validation_split is None:
        return {"all": slice(0, n)}
    num_val = int(validation_split * n)
    parts = {"training": slice(0, n - num_val), "validation": slice(n - num_val, n)}
    return parts if subset == "both" else {subset: parts[subset]}


def _encode_labels(labels, label_mode, num_classes, who):
    if label_mode is None or labels is None:
        return None
    if label_mode == "int":
        return labels.astype(np.int32)
    if label_mode == "binary":
        if num_classes != 2:
            raise ValueError(f'{who}: label_mode="binary" needs exactly 2 classes, found {num_classes}')
        return labels.astype(np.float32).reshape(-1, 1)
    if label_mode == "categorical":
        return np.eye(num_classes, dtype=np.float32)[labels.astype(np.int64)]
    raise ValueError(f'{who}: label_mode must be "int", "categorical", "binary" or None, got {label_mode!r}')


def _batched(paths, labels, batch_size, shuffle, seed, load, stack):
    """A Dataset over ``paths`` (and labels): batches of ``batch_size`` read by ``load`` on demand."""
    n = len(paths)
    rng = np.random.RandomState(seed) if shuffle else None
    step = n if batch_size is None else int(batch_size)

    def make():
        order = rng.permutation(n) if rng is not None else np.arange(n)
        for s in range(0, n, max(step, 1)):
            idx = order[s:s + step]
            if batch_size is None:           # unbatched: one element per file
                for i in idx:
                    x = load(paths[i])
                    yield (x, _tensor(labels[i])) if labels is not None else x
                return
            x = stack([load(paths[i]) for i in idx])
            yield (x, _tensor(labels[idx])) if labels is not None else x

    length = n if batch_size is None else -(-n // max(step, 1))
    return _dataset(make, length)


def _tensor(a):
    from ..tensor import Tensor

    return Tensor(np.asarray(a))


def _directory_datasets(who, directory, labels, label_mode, class_names, batch_size, shuffle, seed,
                        validation_split, subset, follow_links, verbose, formats, load, stack, kind):
    if labels not in ("inferred", None) and not isinstance(labels, (list, tuple, np.ndarray)):
        raise ValueError(f'{who}: labels must be "inferred", None or a list of labels, got {labels!r}')
    if labels is None:
        label_mode = None
    _check_split(validation_split, subset, shuffle, seed, who)
    paths, label_idx, names, seed = _index_directory(directory, labels, formats, class_names, shuffle, seed,
                                                     follow_links, who)
    num_classes = len(names) if names else (int(label_idx.max()) + 1 if label_idx is not None and
                                            len(label_idx) else 0)
    if verbose:
        print(f"Found {len(paths)} files" + (f" belonging to {num_classes} classes." if names else "."))
    if not paths:
        raise ValueError(f"{who}: no {kind} files found in directory {directory}. Allowed formats: {formats}")
    encoded = _encode_labels(label_idx, label_mode, num_classes, who)
    out = []
    for part, sl in _subsets(len(paths), validation_split, subset).items():
        if verbose and part != "all":
            print(f"Using {sl.stop - sl.start} files for {part}.")
        ds = _batched(paths[sl], None if encoded is None else encoded[sl], batch_size, shuffle, seed, load,
                      stack)
        ds.class_names = names
        ds.file_paths = paths[sl]
        out.append(ds)
    return out if len(out) > 1 else out[0]


def image_dataset_from_directory(directory, labels="inferred", label_mode="int", class_names=None,
                                 color_mode="rgb", batch_size=32, image_size=(256, 256), shuffle=True,
                                 seed=None, validation_split=None, subset=None, interpolation="bilinear",
                                 follow_links=False, crop_to_aspect_ratio=False, pad_to_aspect_ratio=False,
                                 data_format=None, verbose=True):
    """Batches ``(images, labels)`` from ``directory/<class>/<image>``: images float32
    ``(batch, height, width, channels)`` in [0, 255] resized to ``image_size``; labels int32 (``"int"``),
    one-hot float32 (``"categorical"``) or float32 ``(batch, 1)`` (``"binary"``). The dataset has
    ``class_names`` and ``file_paths``. ``subset="both"`` returns ``[training, validation]``."""
    from .image import _pil, img_to_array, load_img, resize_array, smart_resize

    who = "image_dataset_from_directory"
    channels = {"grayscale": 1, "rgb": 3, "rgba": 4}
    if color_mode not in channels:
        raise ValueError(f'{who}: color_mode must be "grayscale", "rgb" or "rgba", got {color_mode!r}')
    if crop_to_aspect_ratio and pad_to_aspect_ratio:
        raise ValueError(f"{who}: crop_to_aspect_ratio and pad_to_aspect_ratio cannot both be True")
    size = (int(image_size[0]), int(image_size[1]))
    Image = _pil()

    def load(path):
        x = img_to_array(load_img(path, color_mode=color_mode))
        if crop_to_aspect_ratio:
            x = smart_resize(x, size, interpolation)
        elif pad_to_aspect_ratio:
            h, w = x.shape[:2]
            th, tw = max(h, int(w * size[0] / size[1])), max(w, int(h * size[1] / size[0]))
            padded = np.zeros((th, tw, x.shape[2]), np.float32)
            top, left = (th - h) // 2, (tw - w) // 2
            padded[top:top + h, left:left + w] = x
            x = resize_array(padded, size, interpolation, Image)
        else:
            x = resize_array(x, size, interpolation, Image)
        return x.transpose(2, 0, 1) if data_format == "channels_first" else x

    def stack(items):
        return _tensor(np.stack(items).astype(np.float32))

    return _directory_datasets(who, directory, labels, label_mode, class_names, batch_size, shuffle, seed,
                               validation_split, subset, follow_links, verbose, IMAGE_FORMATS, load, stack,
                               "image")


def text_dataset_from_directory(directory, labels="inferred", label_mode="int", class_names=None,
                                batch_size=32, max_length=None, shuffle=True, seed=None,
                                validation_split=None, subset=None, follow_links=False, verbose=True):
    """Batches ``(texts, labels)`` from ``directory/<class>/<file>.txt``: texts a string array of shape
    ``(batch,)`` (each file's text, cut to ``max_length`` characters when given; ``.numpy()`` works on it),
    labels as in :func:`image_dataset_from_directory`."""
    def load(path):
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
        return text if max_length is None else text[:max_length]

    def stack(items):
        arr = np.empty(len(items), dtype=object)
        arr[:] = items
        return arr.view(_StringBatch)

    return _directory_datasets("text_dataset_from_directory", directory, labels, label_mode, class_names,
                               batch_size, shuffle, seed, validation_split, subset, follow_links, verbose,
                               (".txt",), load, stack, "text")


def timeseries_dataset_from_array(data, targets, sequence_length, sequence_stride=1, sampling_rate=1,
                                  batch_size=128, shuffle=False, seed=None, start_index=None, end_index=None):
    """Batches of sliding windows over ``data`` (see :mod:`shendu.data.timeseries`): each element is
    ``data[p : p + sequence_length * sampling_rate : sampling_rate]``, paired with ``targets[p]`` when
    targets are given. ``shuffle`` permutes the windows once (``np.random.default_rng(seed)``)."""
    arr = np.asarray(getattr(data, "array", data))
    if arr.dtype == np.float64:
        arr = arr.astype(np.float32)
    tgt = None if targets is None else np.asarray(getattr(targets, "array", targets))
    starts = window_starts(len(arr), sequence_length, sequence_stride, sampling_rate, start_index,
                                end_index, None if tgt is None else len(tgt))
    if shuffle:
        np.random.default_rng(seed).shuffle(starts)
    step = len(starts) if batch_size is None else int(batch_size)

    def make():
        for s in range(0, len(starts), max(step, 1)):
            idx = starts[s:s + step]
            x = _tensor(gather_windows(arr, idx, sequence_length, sampling_rate))
            if batch_size is None:
                for i in range(len(idx)):
                    yield (x[i], _tensor(tgt[idx[i]])) if tgt is not None else x[i]
                return
            yield (x, _tensor(tgt[idx])) if tgt is not None else x

    return _dataset(make, len(starts) if batch_size is None else -(-len(starts) // max(step, 1)))


def _elements(dataset):
    """The dataset as a list of elements (rows), with a function rebuilding a dataset from a subset."""
    from .pipeline import Dataset

    if isinstance(dataset, Dataset):
        items = list(dataset)
        return len(items), lambda idx: _dataset(lambda: iter([items[i] for i in idx]), len(idx))
    if isinstance(dataset, list) and dataset and not all(hasattr(a, "shape") for a in dataset):
        arrays = np.asarray(dataset)
    elif isinstance(dataset, (list, tuple)):
        arrays = tuple(np.asarray(getattr(a, "array", a)) for a in dataset)
    elif isinstance(dataset, dict):
        arrays = {k: np.asarray(getattr(v, "array", v)) for k, v in dataset.items()}
    else:
        arrays = np.asarray(getattr(dataset, "array", dataset))
    if isinstance(arrays, dict):
        leaves = list(arrays.values())
    else:
        leaves = list(arrays) if isinstance(arrays, tuple) else [arrays]
    n = len(leaves[0])
    if any(len(a) != n for a in leaves):
        raise ValueError(f"split_dataset: the arrays have different lengths: {[len(a) for a in leaves]}")

    def rebuild(idx):
        idx = np.asarray(idx, dtype=np.int64)
        if isinstance(arrays, dict):
            part = {k: v[idx] for k, v in arrays.items()}
        elif isinstance(arrays, tuple):
            part = tuple(a[idx] for a in arrays)
        else:
            part = arrays[idx]
        return Dataset.from_tensor_slices(part)

    return n, rebuild


def _size(value, n, name):
    if value is None:
        return None
    if isinstance(value, float):
        if not 0 < value < 1:
            raise ValueError(f"split_dataset: a float {name} must be in (0, 1), got {value}")
        return int(round(value * n))
    if isinstance(value, (int, np.integer)) and 0 <= value <= n:
        return int(value)
    raise ValueError(f"split_dataset: {name} must be a fraction in (0, 1) or a count in [0, {n}], "
                     f"got {value!r}")


def split_dataset(dataset, left_size=None, right_size=None, shuffle=False, seed=None):
    """Split arrays (or a tuple / dict of arrays, or a Dataset) into two Datasets of elements.

    Sizes are fractions of the whole or counts; one missing size is the rest; both missing: half each."""
    n, rebuild = _elements(dataset)
    left, right = _size(left_size, n, "left_size"), _size(right_size, n, "right_size")
    if left is None and right is None:
        left = n // 2
    if left is None:
        left = n - right
    if right is None:
        right = n - left
    if left + right > n:
        raise ValueError(f"split_dataset: left_size + right_size = {left + right} exceeds the {n} samples")
    order = np.arange(n)
    if shuffle:
        np.random.default_rng(seed).shuffle(order)
    return rebuild(order[:left]), rebuild(order[left:left + right])


class PyDataset:
    """Base class for a dataset of batches: implement ``__len__`` (the number of batches) and
    ``__getitem__(index)`` returning ``x``, ``(x, y)`` or ``(x, y, sample_weight)``; optionally
    ``on_epoch_begin`` / ``on_epoch_end`` (e.g. to reshuffle). ``fit``, ``evaluate`` and ``predict`` take it
    directly. ``workers``, ``use_multiprocessing`` and ``max_queue_size`` are accepted; batches are made
    in the calling thread."""

    def __init__(self, workers=1, use_multiprocessing=False, max_queue_size=10):
        self._workers = workers
        self._use_multiprocessing = use_multiprocessing
        self._max_queue_size = max_queue_size

    @property
    def workers(self):
        return getattr(self, "_workers", 1)

    @property
    def use_multiprocessing(self):
        return getattr(self, "_use_multiprocessing", False)

    @property
    def max_queue_size(self):
        return getattr(self, "_max_queue_size", 10)

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__(index), returning a "
                                  "batch")

    def __len__(self):
        n = self.num_batches
        if n is None:
            raise TypeError(f"{type(self).__name__}: the number of batches is unknown; implement __len__")
        return n

    @property
    def num_batches(self):
        if type(self).__len__ is not PyDataset.__len__:
            return len(self)
        return None

    def on_epoch_begin(self):
        pass

    def on_epoch_end(self):
        pass

    def __iter__(self):
        """One epoch: ``on_epoch_begin()``, every batch in order, ``on_epoch_end()``."""
        self.on_epoch_begin()
        for i in range(len(self)):
            batch = self[i]
            yield tuple(batch) if isinstance(batch, list) else batch
        self.on_epoch_end()


Sequence = PyDataset
