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
import pickletools
import tarfile

import numpy as np

from ..._fileio import GZIP_MAX_RATIO, check_read_size
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


class _NdarrayName:
    """What the name ``numpy.ndarray`` unpickles to: the array reconstructor accepts it as the array
    type, but calling it (``ndarray(shape)`` would allocate any size the pickle asks for) is refused."""

    def __init__(self, source):
        self.source = source

    def __call__(self, *args, **kwargs):
        raise UnsafePickleError(
            f"{self.source}: refusing to call numpy.ndarray(...) while unpickling: a data batch never "
            "builds arrays that way, and it would allocate whatever size the file asks for"
        )


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that rebuilds NumPy arrays, dicts, lists, numbers and strings, and nothing else.

    ``find_class`` admits only ``numpy.ndarray``, ``numpy.dtype``, the array and scalar
    reconstructors (``numpy[._]core.multiarray._reconstruct`` / ``scalar``) and
    ``_codecs.encode`` (how Python 3 pickles bytes); anything else raises
    :class:`UnsafePickleError` naming the file and the refused global. The admitted names are
    bounded too: no array, dtype or string may need more bytes than the pickle itself holds
    (``budget``, default the pickle's length), ``numpy.ndarray`` cannot be called, and
    ``_codecs.encode`` only turns text into latin-1 bytes.
    """

    _ALLOWED = {
        ("numpy", "ndarray"): "ndarray",
        ("numpy", "dtype"): "dtype",
        ("numpy.core.multiarray", "_reconstruct"): "_reconstruct",
        ("numpy._core.multiarray", "_reconstruct"): "_reconstruct",
        ("numpy.core.multiarray", "scalar"): "scalar",
        ("numpy._core.multiarray", "scalar"): "scalar",
        ("_codecs", "encode"): "encode",
    }

    def __init__(self, file, source="<pickle>", budget=None, **kwargs):
        super().__init__(file, **kwargs)
        self.source = source
        self.budget = budget
        self._ndarray = _NdarrayName(source)

    def _refuse(self, what):
        raise UnsafePickleError(f"{self.source}: refusing to unpickle {what}: a data batch never needs it")

    def _fits(self, nbytes, what):
        if self.budget is not None and nbytes > self.budget:
            raise DatasetFormatError(
                f"{self.source}: the pickle asks for {what} of {nbytes:,} bytes, more than the "
                f"{self.budget:,} bytes the file holds; it is damaged or malicious"
            )

    def _dtype(self, *args):
        dtype = np.dtype(*args)
        if dtype.hasobject:
            self._refuse(f"an array of Python objects (dtype {dtype})")
        self._fits(dtype.itemsize, f"dtype {dtype}")
        return dtype

    def _reconstruct(self, subtype, shape, dtype):
        if subtype is not self._ndarray:
            self._refuse(f"an array of type {subtype!r}")
        dtype = self._dtype(dtype)
        count = 1
        for d in shape if isinstance(shape, tuple) else (shape,):
            count *= int(d)
        self._fits(count * dtype.itemsize, f"an array of shape {shape}")
        return _numpy_core_attr("_reconstruct")(np.ndarray, shape, dtype)

    def _scalar(self, dtype, *args):
        if not isinstance(dtype, np.dtype):
            self._refuse(f"a NumPy scalar of {dtype!r}")
        return _numpy_core_attr("scalar")(self._dtype(dtype), *args)

    def _encode(self, obj, encoding="utf-8", errors="strict"):
        if not isinstance(obj, str) or encoding.lower().replace("_", "-") not in ("latin1", "latin-1"):
            self._refuse(f"_codecs.encode({type(obj).__name__}, {encoding!r})")
        return obj.encode("latin-1", errors)

    def find_class(self, module, name):
        kind = self._ALLOWED.get((module, name))
        if kind is None:
            raise UnsafePickleError(
                f"{self.source}: refusing to unpickle {module}.{name}: a data batch only holds NumPy arrays, "
                "lists, numbers and strings, and this name could run code. The file was not loaded; "
                "only open pickles from a source you trust."
            )
        return {"ndarray": self._ndarray, "dtype": self._dtype, "_reconstruct": self._reconstruct,
                "scalar": self._scalar, "encode": self._encode}[kind]


_MEMO_OPS = {"PUT", "BINPUT", "LONG_BINPUT", "GET", "BINGET", "LONG_BINGET"}


def check_opcodes(data, source, what="CIFAR batch"):
    """Walk the pickle's opcodes without building anything: every length it declares must be present
    (the unpickler allocates a declared length before reading it), and no memo index may exceed the
    number of opcodes before it (a pickler numbers its memo from 0; the unpickler sizes its memo table
    to the largest index it is given)."""
    try:
        for n, (op, arg, _) in enumerate(pickletools.genops(data)):
            if op.name in _MEMO_OPS and int(arg) > n:
                raise ValueError(f"memo index {int(arg):,} at opcode {n:,}")
    except Exception as exc:  # noqa: BLE001 - any failure to parse the opcodes means a damaged file
        raise DatasetFormatError(
            f"{source}: not a readable {what} (truncated or corrupt pickle: {exc})"
        ) from None


def load_pickle_batch(data, source):
    """Unpickle one CIFAR batch (bytes) with :class:`RestrictedUnpickler`; returns its dict, str keys.

    Nothing in the pickle may need more memory than the pickle's own length (a CIFAR batch's arrays
    are stored in it byte for byte).
    """
    check_opcodes(data, source)
    try:
        obj = RestrictedUnpickler(io.BytesIO(data), source=source, budget=len(data), encoding="bytes").load()
    except (UnsafePickleError, DatasetFormatError):
        raise
    except Exception as exc:  # noqa: BLE001 - the admitted names fail in many ways on a damaged file
        raise DatasetFormatError(
            f"{source}: not a readable CIFAR batch (truncated or corrupt pickle: {exc})"
        ) from None
    if not isinstance(obj, dict):
        raise DatasetFormatError(
            f"{source}: expected a dict with 'data' and 'labels', got {type(obj).__name__}"
        )
    return {(k.decode("latin1") if isinstance(k, bytes) else k): v for k, v in obj.items()}


def _labels(labels, n, source):
    """The labels as int64, refusing anything but n whole numbers (a float label is not truncated)."""
    if isinstance(labels, np.ndarray):
        if labels.dtype.kind not in "iu" or labels.shape != (n,):
            raise DatasetFormatError(
                f"{source}: 'labels' should be {n} integers, got an array of {labels.dtype} {labels.shape}"
            )
        values = labels.astype(np.int64)
    else:
        if not isinstance(labels, (list, tuple)):
            raise DatasetFormatError(f"{source}: 'labels' should be a list of integers, got "
                                     f"{type(labels).__name__}")
        if len(labels) != n:
            raise DatasetFormatError(f"{source}: wrong size: {n} images but {len(labels)} labels")
        for v in labels:
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
                raise DatasetFormatError(f"{source}: labels must be integers 0..9, found {v!r:.40}")
        values = np.fromiter((min(max(int(v), -1), 10) for v in labels), dtype=np.int64, count=n)
    if values.size and (values.min() < 0 or values.max() > 9):
        raise DatasetFormatError(f"{source}: labels must lie in 0..9")
    return values


def _batch_arrays(batch, source):
    data, labels = batch.get("data"), batch.get("labels")
    if data is None or labels is None:
        raise DatasetFormatError(
            f"{source}: a CIFAR-10 batch needs 'data' and 'labels' entries, got {sorted(map(str, batch))}"
        )
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or (
            data.shape[1] != 3 * 32 * 32):
        what = f"{data.dtype} {data.shape}" if isinstance(data, np.ndarray) else type(data).__name__
        raise DatasetFormatError(
            f"{source}: wrong size: 'data' should be a uint8 array (N, 3072), got {what}"
        )
    if isinstance(labels, np.ndarray) and labels.shape != (data.shape[0],) and labels.ndim == 1:
        raise DatasetFormatError(f"{source}: wrong size: {data.shape[0]} images but {labels.size} labels")
    return data.reshape(-1, 3, 32, 32), _labels(labels, data.shape[0], source)


def _read_folder(folder, max_bytes=None):
    out = {}
    for name in _TRAIN + (_TEST,):
        p = os.path.join(folder, name)
        check_read_size(os.path.getsize(p), p, "this CIFAR batch", max_bytes, DatasetFormatError)
        with open(p, "rb") as f:
            out[name] = _batch_arrays(load_pickle_batch(f.read(), p), p)
    return out


def _read_tarball(path, max_bytes=None):
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
                if member.size > os.path.getsize(path) * GZIP_MAX_RATIO:
                    raise DatasetFormatError(
                        f"{source}: the archive says this member holds {member.size:,} bytes, more than "
                        f"{os.path.getsize(path):,} compressed bytes can hold; it is damaged or malicious"
                    )
                check_read_size(member.size, source, "this CIFAR batch", max_bytes, DatasetFormatError)
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


def cifar10(path=None, download=False, channels_last=False, max_bytes=None):
    """CIFAR-10: 50,000 + 10,000 colour 32x32 images in 10 classes (``CIFAR10_CLASSES``).

    Returns ``(x_train, y_train), (x_test, y_test)``: images uint8 (N, 3, 32, 32) (NCHW, or
    (N, 32, 32, 3) with ``channels_last=True``, as Keras returns them), labels int64 0..9.
    Reads the official tarball ``cifar-10-python.tar.gz`` without extracting it, or the
    extracted ``cifar-10-batches-py`` folder, found in ``path``, ``$SHENDU_DATA/cifar10``,
    ``~/.cache/shendu/cifar10`` or ``/usr/share/datasets/cifar10``. Batches are unpickled with
    :class:`RestrictedUnpickler`, which refuses pickles that would run code or allocate more than
    the file holds; a batch larger than ``max_bytes`` (default: the read limit, 8 GiB or
    ``$SHENDU_MAX_READ_BYTES``) is refused before it is read.
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
    batches = _read_tarball(where, max_bytes) if kind == "tar" else _read_folder(where, max_bytes)
    x_train = np.concatenate([batches[n][0] for n in _TRAIN])
    y_train = np.concatenate([batches[n][1] for n in _TRAIN])
    x_test, y_test = batches[_TEST]
    if channels_last:
        x_train, x_test = x_train.transpose(0, 2, 3, 1).copy(), x_test.transpose(0, 2, 3, 1).copy()
    return (x_train, y_train), (x_test, y_test)
