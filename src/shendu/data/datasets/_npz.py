"""Where the Keras dataset loaders find their files, and a safe reader for Keras's ``.npz`` files.

``path`` as Keras takes it: an existing file is read as is; otherwise the name is looked up in the
Keras cache (``~/.keras/datasets/<path>``, see :func:`shendu.keras.utils.get_file`) and, when missing
and ``download=True``, fetched there from the official origin with its hash checked.

The IMDB and Reuters files hold arrays of Python lists (object arrays), which NumPy stores as pickles.
They are read with shendu's restricted unpickler, which rebuilds arrays, lists and numbers and refuses
every other name a pickle could ask for, so loading a tampered file cannot run code.
"""
import io
import os

import numpy as np

from ..._fileio import open_zip, read_zip_member
from ..download import get_file, keras_home
from ._cifar import RestrictedUnpickler, check_opcodes
from ._files import DatasetFormatError, DatasetNotFoundError

__all__ = ["locate", "read_npz"]


def locate(path, origin, file_hash, download, what):
    """The local file for ``path``: itself, the cached copy, or (``download=True``) a fresh download."""
    path = os.fspath(path)
    if os.path.isfile(os.path.expanduser(path)):
        return os.path.expanduser(path)
    cached = os.path.join(keras_home(), "datasets", path)
    if os.path.isfile(cached):
        return cached
    if not download:
        raise DatasetNotFoundError(
            f"{what}: {path} was not found (looked for the file itself and in {os.path.dirname(cached)}). "
            f"Pass download=True to fetch it from {origin}, or put the file there.")
    return get_file(path, origin=origin, file_hash=file_hash)


class _ListArrayUnpickler(RestrictedUnpickler):
    """The restricted unpickler, also admitting arrays of Python objects (rebuilt only from lists,
    numbers and strings, since no other name is admitted)."""

    def _dtype(self, *args):
        dtype = np.dtype(*args)
        self._fits(dtype.itemsize, f"dtype {dtype}")
        return dtype


def _read_member(z, name, source):
    f = io.BytesIO(read_zip_member(z, name, source, DatasetFormatError))
    version = np.lib.format.read_magic(f)
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
    else:
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
    if not dtype.hasobject:
        count = int(np.prod(shape, dtype=np.int64))
        data = f.read(count * dtype.itemsize)
        if len(data) != count * dtype.itemsize:
            raise DatasetFormatError(f"{source}: {name} is truncated")
        return np.frombuffer(data, dtype=dtype).copy().reshape(shape, order="F" if fortran else "C")
    payload = f.read()
    check_opcodes(payload, f"{source}:{name}", "array")
    try:
        arr = _ListArrayUnpickler(io.BytesIO(payload), source=f"{source}:{name}", budget=len(payload)).load()
    except DatasetFormatError:
        raise
    except Exception as exc:  # noqa: BLE001 - a damaged pickle fails in many ways
        raise DatasetFormatError(f"{source}: {name} is not a readable array ({exc})") from None
    if not isinstance(arr, np.ndarray):
        raise DatasetFormatError(f"{source}: {name} holds a {type(arr).__name__}, expected an array")
    return arr


def read_npz(path, keys):
    """The named arrays of a ``.npz`` file (object arrays through the restricted unpickler); members are
    read by :func:`shendu._fileio.read_zip_member`, so a zip bomb is refused."""
    with open_zip(path, path, DatasetFormatError, "a .npz file") as z:
        names = {n[:-4] if n.endswith(".npy") else n: n for n in z.namelist()}
        missing = [k for k in keys if k not in names]
        if missing:
            raise DatasetFormatError(f"{path}: missing arrays {missing}; it holds {sorted(names)}")
        return {k: _read_member(z, names[k], path) for k in keys}
