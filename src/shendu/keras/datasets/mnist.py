"""``(x_train, y_train), (x_test, y_test) = mnist.load_data()``: x (N, 28, 28) uint8, y (N,) uint8.

Keras's own file comes first: ``path`` (default ``"mnist.npz"``) as a file, or in the Keras cache
(``$KERAS_HOME/datasets/mnist.npz``), with arrays ``x_train``, ``y_train``, ``x_test``, ``y_test``.
Without it the IDX files are read (a folder ``path``, or :func:`shendu.data.datasets.mnist`'s places)."""
import os

import numpy as np

from ...data.datasets._npz import read_npz
from ...data.download import keras_home

__all__ = ["load_data"]

_KEYS = ["x_train", "y_train", "x_test", "y_test"]


def uint8_pairs(*pairs):
    """``((x, y), ...)`` with every array as uint8, as Keras returns images and labels."""
    return tuple((x.astype(np.uint8), y.astype(np.uint8)) for x, y in pairs)


def from_idx(loader, path, download):
    """What :mod:`shendu.data.datasets`' ``loader`` reads from the IDX files (in the folder ``path``, when
    it names one), as Keras returns it."""
    folder = path if path is not None and not str(path).endswith(".npz") else None
    return uint8_pairs(*loader(path=folder, download=download))


def load_data(path="mnist.npz", download=True):
    """MNIST as Keras returns it. ``path`` may name Keras's ``mnist.npz`` or a folder of IDX files."""
    from ...data.datasets import mnist

    if path is not None and str(path).endswith(".npz"):
        for candidate in (os.path.expanduser(os.fspath(path)), os.path.join(keras_home(), "datasets", path)):
            if os.path.isfile(candidate):
                f = read_npz(candidate, _KEYS)
                return uint8_pairs((f["x_train"], f["y_train"]), (f["x_test"], f["y_test"]))
    return from_idx(mnist, path, download)
