"""CIFAR-10, read from the official "python version" (pickled batches), with a safe unpickler.

A pickle can name any importable function and call it while loading, so opening an
untrusted pickle with ``pickle.load`` can run code. :class:`RestrictedUnpickler` admits only
the few NumPy names that the CIFAR batches use to rebuild their arrays, and refuses the rest
with :class:`UnsafePickleError`.
"""

import importlib
import io
import os
import pickle
import tarfile

import numpy as np

from ._files import DatasetFormatError, UnsafePickleError, data_home, download_file, not_found, search_dirs

__all__ = ["cifar10", "CIFAR10_CLASSES", "RestrictedUnpickler", "load_pickle_batch"]

CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")

_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
_SHA256 = "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"
_TARBALL = "cifar-10-python.tar.gz"
_TRAIN = tuple(f"data_batch_{i}" for i in range(1, 6))
_TEST = "test_batch"
_HINT = (
    "Get it with one of:\n"
    "  - shendu.data.datasets.cifar10(download=True)   (from www.cs.toronto.edu, SHA-256 checked)\n"
    f"  - put {_TARBALL}, or its extracted cifar-10-batches-py folder,\n"
    "    in one of the folders above, or pass path="
)


def _numpy_core_attr(name):
    for module in ("numpy._core.multiarray", "numpy.core.multiarray"):
        try:
            return getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError):
            continue
    raise ImportError(f"cannot locate numpy's multiarray.{name}")


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that rebuilds NumPy arrays, dicts, lists, numbers and strings, and nothing else.

    ``find_class`` admits only ``numpy.ndarray``, ``numpy.dtype``, the array and scalar
    reconstructors (``numpy[._]core.multiarray._reconstruct`` / ``scalar``) and
    ``_codecs.encode`` (how Python 3 pickles bytes); anything else raises
    :class:`UnsafePickleError` naming the file and the refused global.
    """

    _ALLOWED = {
        ("numpy", "ndarray"): lambda: np.ndarray,
        ("numpy", "dtype"): lambda: np.dtype,
        ("numpy.core.multiarray", "_reconstruct"): lambda: _numpy_core_attr("_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"): lambda: _numpy_core_attr("_reconstruct"),
        ("numpy.core.multiarray", "scalar"): lambda: _numpy_core_attr("scalar"),
        ("numpy._core.multiarray", "scalar"): lambda: _numpy_core_attr("scalar"),
        ("_codecs", "encode"): lambda: importlib.import_module("_codecs").encode,
    }

    def __init__(self, file, source="<pickle>", **kwargs):
        super().__init__(file, **kwargs)
        self.source = source

    def find_class(self, module, name):
        make = self._ALLOWED.get((module, name))
        if make is None:
            raise UnsafePickleError(
                f"{self.source}: refusing to unpickle {module}.{name}: a data batch only holds NumPy arrays, "
                "lists, numbers and strings, and this name could run code. The file was not loaded; "
                "only open pickles from a source you trust."
            )
        return make()


def load_pickle_batch(data, source):
    """Unpickle one CIFAR batch (bytes) with :class:`RestrictedUnpickler`; returns its dict, str keys."""
    try:
        obj = RestrictedUnpickler(io.BytesIO(data), source=source, encoding="bytes").load()
    except UnsafePickleError:
        raise
    except (EOFError, pickle.UnpicklingError, ValueError, TypeError, IndexError) as exc:
        raise DatasetFormatError(
            f"{source}: not a readable CIFAR batch (truncated or corrupt pickle: {exc})"
        ) from None
    if not isinstance(obj, dict):
        raise DatasetFormatError(
            f"{source}: expected a dict with 'data' and 'labels', got {type(obj).__name__}"
        )
    return {(k.decode("latin1") if isinstance(k, bytes) else k): v for k, v in obj.items()}


def _batch_arrays(batch, source):
    data, labels = batch.get("data"), batch.get("labels")
    if data is None or labels is None:
        raise DatasetFormatError(
            f"{source}: a CIFAR-10 batch needs 'data' and 'labels' entries, got {sorted(batch)}"
        )
    data = np.asarray(data)
    labels = np.asarray(labels, dtype=np.int64)
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        raise DatasetFormatError(
            f"{source}: wrong size: 'data' should be uint8 (N, 3072), got {data.dtype} {data.shape}"
        )
    if labels.shape != (data.shape[0],):
        raise DatasetFormatError(f"{source}: wrong size: {data.shape[0]} images but {labels.size} labels")
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        raise DatasetFormatError(f"{source}: labels must lie in 0..9")
    return data.reshape(-1, 3, 32, 32), labels


def _read_folder(folder):
    out = {}
    for name in _TRAIN + (_TEST,):
        p = os.path.join(folder, name)
        with open(p, "rb") as f:
            out[name] = _batch_arrays(load_pickle_batch(f.read(), p), p)
    return out


def _read_tarball(path):
    out = {}
    try:
        with tarfile.open(path, "r:*") as tar:
            members = {os.path.basename(m.name): m for m in tar.getmembers() if m.isfile()}
            for name in _TRAIN + (_TEST,):
                member = members.get(name)
                if member is None:
                    raise DatasetFormatError(
                        f"{path}: the archive has no {name} (is it the CIFAR-10 python version?)"
                    )
                source = f"{path}:{member.name}"
                out[name] = _batch_arrays(load_pickle_batch(tar.extractfile(member).read(), source), source)
    except (tarfile.TarError, EOFError, OSError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise DatasetFormatError(f"{path}: truncated or corrupt archive ({exc})") from None
    return out


def _locate(path):
    looked = search_dirs(
        "cifar10", path, ["/usr/share/datasets/cifar10", "/usr/local/share/datasets/cifar10"]
    )
    if path is not None and os.path.isfile(os.fspath(path)):
        return ("tar", os.fspath(path)), looked
    for folder in looked:
        for sub in (os.path.join(folder, "cifar-10-batches-py"), folder):
            if all(os.path.isfile(os.path.join(sub, n)) for n in _TRAIN + (_TEST,)):
                return ("dir", sub), looked
        tarball = os.path.join(folder, _TARBALL)
        if os.path.isfile(tarball):
            return ("tar", tarball), looked
    return None, looked


def cifar10(path=None, download=False, channels_last=False):
    """CIFAR-10: 50,000 + 10,000 colour 32x32 images in 10 classes (``CIFAR10_CLASSES``).

    Returns ``(x_train, y_train), (x_test, y_test)``: images uint8 (N, 3, 32, 32) (NCHW, or
    (N, 32, 32, 3) with ``channels_last=True``, as Keras returns them), labels int64 0..9.
    Reads the official tarball ``cifar-10-python.tar.gz`` without extracting it, or the
    extracted ``cifar-10-batches-py`` folder, found in ``path``, ``$SHENDU_DATA/cifar10``,
    ``~/.cache/shendu/cifar10`` or ``/usr/share/datasets/cifar10``. Batches are unpickled with
    :class:`RestrictedUnpickler`, which refuses pickles that would run code.
    """
    found, looked = _locate(path)
    if found is None:
        if not download:
            raise not_found(
                "CIFAR-10", looked, _HINT + "\n  (download=True fetches it; it is off by default)"
            )
        dest = os.path.join(data_home(), "cifar10", _TARBALL)
        download_file(_URL, dest, _SHA256)
        found = ("tar", dest)
    kind, where = found
    batches = _read_tarball(where) if kind == "tar" else _read_folder(where)
    x_train = np.concatenate([batches[n][0] for n in _TRAIN])
    y_train = np.concatenate([batches[n][1] for n in _TRAIN])
    x_test, y_test = batches[_TEST]
    if channels_last:
        x_train, x_test = x_train.transpose(0, 2, 3, 1).copy(), x_test.transpose(0, 2, 3, 1).copy()
    return (x_train, y_train), (x_test, y_test)
