"""``(x_train, y_train), (x_test, y_test) = cifar100.load_data(label_mode="fine")``: x (N, 32, 32, 3)
uint8, y (N, 1) int64 (100 fine classes, or 20 coarse ones with ``label_mode="coarse"``), read from the
official ``cifar-100-python.tar.gz`` (its ``train`` and ``test`` pickles, opened with shendu's restricted
unpickler) or from its extracted ``cifar-100-python`` folder."""
import os
import tarfile

import numpy as np

from ...data.datasets._cifar import load_pickle_batch
from ...data.datasets._files import DatasetFormatError
from ...data.datasets._npz import locate
from ...data.download import keras_home

__all__ = ["load_data"]

_ORIGIN = "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz"
_MD5 = "eb9058c3a382ffc7106e4002c42a8d85"


def _arrays(batch, key, source):
    data, labels = batch.get("data"), batch.get(key)
    if not isinstance(data, np.ndarray) or data.ndim != 2 or data.shape[1] != 3072 or labels is None:
        raise DatasetFormatError(f"{source}: expected 'data' (N, 3072) uint8 and '{key}', got keys "
                                 f"{sorted(batch)}")
    y = np.asarray(labels, dtype=np.int64).reshape(-1, 1)
    if len(y) != len(data):
        raise DatasetFormatError(f"{source}: {len(data)} images but {len(y)} labels")
    top = 100 if key == "fine_labels" else 20
    if y.size and (y.min() < 0 or y.max() >= top):
        raise DatasetFormatError(f"{source}: {key} must lie in 0..{top - 1}")
    return data.astype(np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1), y


def load_data(label_mode="fine", path="cifar-100-python.tar.gz", download=True):
    if label_mode not in ("fine", "coarse"):
        raise ValueError(f'cifar100.load_data: label_mode must be "fine" or "coarse", got {label_mode!r}')
    key = f"{label_mode}_labels"
    folder = os.path.join(keras_home(), "datasets", "cifar-100-python")
    blobs = {}  # "train" / "test" -> (the pickle's bytes, where they came from)
    if os.path.isdir(os.fspath(path)) or (path == "cifar-100-python.tar.gz" and os.path.isdir(folder)):
        root = os.fspath(path) if os.path.isdir(os.fspath(path)) else folder
        for name in ("train", "test"):
            with open(os.path.join(root, name), "rb") as f:
                blobs[name] = f.read(), os.path.join(root, name)
    else:
        fpath = locate(path, _ORIGIN, _MD5, download, "cifar100.load_data")
        with tarfile.open(fpath, "r:*") as tar:
            members = {os.path.basename(m.name): m for m in tar.getmembers() if m.isfile()}
            for name in ("train", "test"):
                if name not in members:
                    raise DatasetFormatError(f"{fpath}: the archive has no {name} (is it the CIFAR-100 "
                                             "python version?)")
                blobs[name] = tar.extractfile(members[name]).read(), f"{fpath}:{members[name].name}"
    return tuple(_arrays(load_pickle_batch(blob, source), key, source) for blob, source in blobs.values())
