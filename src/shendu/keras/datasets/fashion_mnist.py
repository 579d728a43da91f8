"""``(x_train, y_train), (x_test, y_test) = fashion_mnist.load_data()``: x (N, 28, 28) uint8, y (N,) uint8."""

from .mnist import from_idx

__all__ = ["load_data"]


def load_data(path=None, download=True):
    """Fashion-MNIST as Keras returns it. ``path`` may name a folder holding the IDX files."""
    from ...data.datasets import fashion_mnist

    return from_idx(fashion_mnist, path, download)
