"""``(x_train, y_train), (x_test, y_test) = cifar10.load_data()``: x (N, 32, 32, 3) uint8, y (N, 1) uint8."""

from .mnist import uint8_pairs

__all__ = ["load_data"]


def load_data(path=None, download=True):
    """CIFAR-10 as Keras returns it (channels last, labels as a column)."""
    from ...data.datasets import cifar10

    (x, y), (xt, yt) = cifar10(path=path, download=download, channels_last=True)
    return uint8_pairs((x, y.reshape(-1, 1)), (xt, yt.reshape(-1, 1)))
