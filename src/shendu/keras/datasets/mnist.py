"""``(x_train, y_train), (x_test, y_test) = mnist.load_data()``: x (N, 28, 28) uint8, y (N,) uint8."""

import numpy as np

__all__ = ["load_data"]


def load_data(path=None, download=True):
    """MNIST as Keras returns it. ``path`` may name a folder holding the IDX files."""
    from ...data.datasets import mnist

    folder = path if path is not None and not str(path).endswith(".npz") else None
    (x, y), (xt, yt) = mnist(path=folder, download=download)
    return (x.astype(np.uint8), y.astype(np.uint8)), (xt.astype(np.uint8), yt.astype(np.uint8))
