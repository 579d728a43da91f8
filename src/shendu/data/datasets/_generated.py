"""Data sets that need no files: the bundled 8x8 digits and the generated MNIST-1D."""

import os
import random
import zipfile

import numpy as np

from ._files import DatasetFormatError

__all__ = ["digits", "mnist1d", "DIGITS_CLASSES", "MNIST1D_CLASSES", "stratified_split"]

DIGITS_CLASSES = tuple(str(d) for d in range(10))
MNIST1D_CLASSES = tuple(str(d) for d in range(10))


def stratified_split(y, test_size=0.2, seed=0):
    """Indices ``(train, test)`` with about ``test_size`` of every class in the test part.

    Each class's indices are permuted by ``numpy.random.default_rng(seed)`` and the first
    ``round(test_size · n_class)`` go to the test part; both parts are returned sorted.
    """
    y = np.asarray(y)
    rng = np.random.default_rng(seed)
    test = []
    for c in np.unique(y):
        members = np.flatnonzero(y == c)
        test.append(rng.permutation(members)[: int(round(test_size * len(members)))])
    test = np.sort(np.concatenate(test))
    train = np.setdiff1d(np.arange(len(y)), test)
    return train, test


def digits(test_size=0.2, seed=0, flatten=False):
    """Handwritten digits (1,797 grey 8x8 images, classes 0..9), shipped with shendu: no download.

    The same data as scikit-learn's ``load_digits`` (the test part of the UCI optdigits set),
    stored in the package as ``_data/digits.npz`` (made by ``scripts/make_digits.py``), so only
    NumPy is needed. Returns ``(x_train, y_train), (x_test, y_test)`` with images float32 in
    [0, 1] (the 0..16 pixel counts divided by 16), shaped (N, 8, 8), or (N, 64) with
    ``flatten=True``; labels int64. The split is stratified and fixed by ``seed``: with the
    defaults 1,438 training and 359 test images, every class about 80/20.
    """
    path = os.path.join(os.path.dirname(__file__), "_data", "digits.npz")
    try:
        with np.load(path) as f:
            images, target = f["images"], f["target"]
    except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise DatasetFormatError(
            f"digits: the bundled file {path} is missing or damaged ({exc}); reinstall shendu"
        ) from None
    x = (images.astype(np.float64) / 16.0).astype(np.float32)
    y = target.astype(np.int64)
    if flatten:
        x = x.reshape(len(x), -1)
    train, test = stratified_split(y, test_size, seed)
    return (x[train], y[train]), (x[test], y[test])


_MNIST1D_CACHE = {}


def mnist1d(seed=42, num_samples=5000, train_split=0.8, **overrides):
    """MNIST-1D (Greydanus, 2020): 1-D signals of length 40 made from 10 digit templates.

    Generated on the spot with the ``mnist1d`` package's ``make_dataset`` and the paper's
    default arguments (5,000 samples: 4,000 train / 1,000 test, length 40, seed 42); no
    download. The same ``seed`` gives the same data; ``overrides`` change other generator
    arguments (e.g. ``shuffle_seq=True``). Returns ``(x_train, y_train), (x_test, y_test)`` with
    signals float32 (N, 40) and labels int64 0..9 (500 per class overall). The global
    ``random``/``numpy.random`` states that the package seeds are restored afterwards.
    """
    try:
        from mnist1d.data import get_dataset_args, make_dataset
    except ImportError as exc:
        raise ImportError(
            "mnist1d() needs the mnist1d package: pip install mnist1d (or shendu[data])"
        ) from exc
    key = (seed, num_samples, train_split, tuple(sorted(overrides.items())))
    if key not in _MNIST1D_CACHE:
        args = get_dataset_args()
        unknown = set(overrides) - set(vars(args))
        if unknown:
            raise TypeError(
                f"mnist1d: unknown generator arguments {sorted(unknown)}; known: {sorted(vars(args))}"
            )
        args.seed, args.num_samples, args.train_split = seed, num_samples, train_split
        for k, v in overrides.items():
            setattr(args, k, v)
        py_state, np_state = random.getstate(), np.random.get_state()
        try:
            data = make_dataset(args)
        finally:
            random.setstate(py_state)
            np.random.set_state(np_state)
        _MNIST1D_CACHE[key] = (
            data["x"].astype(np.float32),
            data["y"].astype(np.int64),
            data["x_test"].astype(np.float32),
            data["y_test"].astype(np.int64),
        )
    x, y, xt, yt = (a.copy() for a in _MNIST1D_CACHE[key])
    return (x, y), (xt, yt)
