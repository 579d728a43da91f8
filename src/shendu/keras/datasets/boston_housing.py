"""``(x_train, y_train), (x_test, y_test) = boston_housing.load_data()``: 506 houses, 13 features, the
median value in $1000s, from Keras's ``boston_housing.npz`` (shuffled with ``RandomState(seed)``, the
last ``test_split`` held out)."""
import numpy as np

from ...data.datasets._npz import locate, read_npz

__all__ = ["load_data"]

_ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/boston_housing.npz"
_HASH = "f553886a1f8d56431e820c5b82552d9d95cfcb96d1e678153f8839538947dff5"


def load_data(path="boston_housing.npz", test_split=0.2, seed=113, download=True):
    if not 0 <= test_split < 1:
        raise ValueError(f"boston_housing.load_data: test_split must be in [0, 1), got {test_split}")
    f = read_npz(locate(path, _ORIGIN, _HASH, download, "boston_housing.load_data"), ["x", "y"])
    order = np.random.RandomState(seed).permutation(len(f["x"]))
    x, y = f["x"][order], f["y"][order]
    idx = int(len(x) * (1 - test_split))
    return (x[:idx], y[:idx]), (x[idx:], y[idx:])
