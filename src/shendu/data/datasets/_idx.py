"""IDX files (MNIST, Fashion-MNIST): a tiny big-endian header followed by a raw array.

Layout: bytes 0-1 are zero, byte 2 is the element type (0x08 uint8, 0x09 int8, 0x0B int16,
0x0C int32, 0x0D float32, 0x0E float64), byte 3 the number of dimensions d, then d big-endian
uint32 sizes, then the data in C order. Images are ``00 00 08 03`` + (N, 28, 28); labels
``00 00 08 01`` + (N,).
"""

import gzip
import os
import struct
import zlib

import numpy as np

from ._files import DatasetFormatError, data_home, download_file, not_found, search_dirs

__all__ = ["read_idx", "fashion_mnist", "mnist", "FASHION_MNIST_CLASSES", "MNIST_CLASSES"]

FASHION_MNIST_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
MNIST_CLASSES = tuple(str(d) for d in range(10))

_IDX_TYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)

_FASHION = {
    "name": "fashion-mnist",
    "title": "Fashion-MNIST",
    "urls": [
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
    ],
    "sha256": {
        "train-images-idx3-ubyte.gz": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
        "train-labels-idx1-ubyte.gz": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
        "t10k-images-idx3-ubyte.gz": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
        "t10k-labels-idx1-ubyte.gz": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
    },
    "system": ["/usr/share/datasets/fashion-mnist", "/usr/local/share/datasets/fashion-mnist"],
    "hint": (
        "Get it with one of:\n"
        "  - sudo apt-get install dataset-fashion-mnist\n"
        "    (Debian/Ubuntu; it installs /usr/share/datasets/fashion-mnist)\n"
        "  - shendu.data.datasets.fashion_mnist(download=True)   (from zalandoresearch, SHA-256 checked)\n"
        "  - put the four *-ubyte.gz files in one of the folders above, or pass path="
    ),
}

_MNIST = {
    "name": "mnist",
    "title": "MNIST",
    "urls": [
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
    ],
    "sha256": {
        "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    },
    "system": ["/usr/share/datasets/mnist", "/usr/local/share/datasets/mnist"],
    "hint": (
        "Get it with one of:\n"
        "  - shendu.data.datasets.mnist(download=True)\n"
        "    (from the PyTorch/TensorFlow mirrors, SHA-256 checked)\n"
        "  - put the four *-ubyte(.gz) files in one of the folders above, or pass path="
    ),
}


def _read_bytes(path):
    with open(path, "rb") as f:
        head = f.read(2)
    try:
        if head == b"\x1f\x8b":
            with gzip.open(path, "rb") as f:
                return f.read()
        with open(path, "rb") as f:
            return f.read()
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise DatasetFormatError(
            f"{path}: the gzip stream is truncated or corrupt ({exc}); delete the file and fetch it again"
        ) from None


def read_idx(path):
    """Read an IDX file (gzip-compressed or raw) into a native-byte-order NumPy array.

    Raises :class:`DatasetFormatError` naming ``path`` when the file is truncated, has the
    wrong magic number or carries more bytes than its header announces.
    """
    path = os.fspath(path)
    data = _read_bytes(path)
    if len(data) < 4:
        raise DatasetFormatError(f"{path}: truncated: {len(data)} bytes, too short for an IDX header")
    if data[0] != 0 or data[1] != 0 or data[2] not in _IDX_TYPES:
        raise DatasetFormatError(
            f"{path}: wrong magic number 0x{data[:4].hex()}: not an IDX file "
            "(expected 0x0000 then a type byte, e.g. 0x00000803 for images)"
        )
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DatasetFormatError(f"{path}: truncated inside the header ({len(data)} of {header} bytes)")
    dims = struct.unpack(f">{ndim}I", data[4:header])
    dtype = _IDX_TYPES[data[2]]
    count = int(np.prod(dims, dtype=np.int64))
    expected = count * dtype.itemsize
    actual = len(data) - header
    if actual < expected:
        raise DatasetFormatError(
            f"{path}: truncated: the header announces an array of shape {dims} "
            f"({expected} bytes) but only {actual} bytes follow"
        )
    if actual > expected:
        raise DatasetFormatError(
            f"{path}: wrong size: {actual - expected} unexpected bytes after the "
            f"{dims} array announced by the header"
        )
    arr = np.frombuffer(data, dtype=dtype, count=count, offset=header).reshape(dims)
    return arr.astype(dtype.newbyteorder("="), copy=True)


def _find_idx(spec, path, download):
    """Return the four IDX paths (train images, train labels, test images, test labels)."""
    looked = search_dirs(spec["name"], path, spec["system"])
    for folder in looked:
        found = []
        for stem in _FILES:
            for candidate in (stem + ".gz", stem, stem.replace("-idx", ".idx")):
                p = os.path.join(folder, candidate)
                if os.path.isfile(p):
                    found.append(p)
                    break
        if len(found) == len(_FILES):
            return found
    if not download:
        raise not_found(
            f"{spec['title']} (files {', '.join(f + '.gz' for f in _FILES)})",
            looked,
            spec["hint"] + "\n  (download=True fetches it; it is off by default)",
        )
    target = os.path.join(data_home(), spec["name"])
    paths = []
    for stem in _FILES:
        name = stem + ".gz"
        dest = os.path.join(target, name)
        if not os.path.isfile(dest):
            errors = []
            for base in spec["urls"]:
                try:
                    download_file(base + name, dest, spec["sha256"][name])
                    break
                except Exception as exc:  # try the next mirror
                    errors.append(f"{base + name}: {exc}")
            else:
                raise not_found(
                    spec["title"], looked, "Download failed:\n  " + "\n  ".join(errors) + "\n" + spec["hint"]
                )
        paths.append(dest)
    return paths


def _load(spec, path, download):
    files = _find_idx(spec, path, download)
    arrays = [read_idx(p) for p in files]
    for p, a, kind in zip(files, arrays, ("images", "labels", "images", "labels")):
        if kind == "images" and (a.ndim != 3 or a.dtype != np.uint8):
            raise DatasetFormatError(
                f"{p}: expected uint8 images shaped (N, H, W), got {a.dtype} {a.shape} (is it a labels file?)"
            )
        if kind == "labels" and a.ndim != 1:
            raise DatasetFormatError(
                f"{p}: expected a 1-D labels array, got shape {a.shape} (is it an images file?)"
            )
        if kind == "labels" and a.size and a.max() > 9:
            raise DatasetFormatError(f"{p}: labels must lie in 0..9, found {int(a.max())}")
    for (pi, xi), (pl, yl) in (
        ((files[0], arrays[0]), (files[1], arrays[1])),
        ((files[2], arrays[2]), (files[3], arrays[3])),
    ):
        if len(xi) != len(yl):
            raise DatasetFormatError(f"{pi} holds {len(xi)} images but {pl} holds {len(yl)} labels")
    x_train, y_train, x_test, y_test = arrays
    return (x_train, y_train.astype(np.int64)), (x_test, y_test.astype(np.int64))


def fashion_mnist(path=None, download=False):
    """Zalando's Fashion-MNIST: 60,000 + 10,000 grey 28x28 images of clothes in 10 classes.

    Returns ``(x_train, y_train), (x_test, y_test)``: images uint8 (N, 28, 28) in 0..255,
    labels int64 in 0..9 whose names are ``FASHION_MNIST_CLASSES``. Files are looked up in
    ``path``, ``$SHENDU_DATA/fashion-mnist``, ``~/.cache/shendu/fashion-mnist`` and
    ``/usr/share/datasets/fashion-mnist`` (``apt-get install dataset-fashion-mnist``);
    ``download=True`` fetches the official files when none is found.

    >>> (x, y), (x_test, y_test) = fashion_mnist()
    >>> FASHION_MNIST_CLASSES[y[0]]
    'Ankle boot'
    """
    return _load(_FASHION, path, download)


def mnist(path=None, download=False):
    """LeCun's MNIST handwritten digits: 60,000 + 10,000 grey 28x28 images, labels 0..9.

    Same return convention and search order as :func:`fashion_mnist` (folder name ``mnist``,
    system folder ``/usr/share/datasets/mnist``); class names ``MNIST_CLASSES``.
    """
    return _load(_MNIST, path, download)
