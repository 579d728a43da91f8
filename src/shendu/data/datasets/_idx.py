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

from ..._fileio import GZIP_MAX_RATIO, check_read_size
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


def _read_bytes(path, max_bytes=None):
    """The file's (decompressed) bytes, never more than its header says it holds.

    The 4-byte magic and the sizes are read first; the array they announce must fit the read limit
    and, for a gzip file, the most that its compressed size can inflate to. Decompression then stops
    one byte past the announced size, so a gzip bomb is refused after that many bytes.
    """
    size = os.path.getsize(path)
    with open(path, "rb") as raw:
        compressed = raw.read(2) == b"\x1f\x8b"
    try:
        with (gzip.open(path, "rb") if compressed else open(path, "rb")) as f:
            head = f.read(4)
            if len(head) < 4:
                raise DatasetFormatError(f"{path}: truncated: {len(head)} bytes, too short for an IDX header")
            if head[0] != 0 or head[1] != 0 or head[2] not in _IDX_TYPES:
                raise DatasetFormatError(
                    f"{path}: wrong magic number 0x{head.hex()}: not an IDX file "
                    "(expected 0x0000 then a type byte, e.g. 0x00000803 for images)"
                )
            dims_bytes = f.read(4 * head[3])
            header = 4 + 4 * head[3]
            if len(dims_bytes) < 4 * head[3]:
                raise DatasetFormatError(
                    f"{path}: truncated inside the header ({4 + len(dims_bytes)} of {header} bytes)"
                )
            dims = struct.unpack(f">{head[3]}I", dims_bytes)
            if len(dims) > 64:
                raise DatasetFormatError(f"{path}: the header announces {len(dims)} dimensions; "
                                         "NumPy arrays have at most 64")
            expected = _IDX_TYPES[head[2]].itemsize
            for d in dims:
                expected *= d
            holds = size * GZIP_MAX_RATIO if compressed else size - header
            if compressed and expected + header > holds:
                raise DatasetFormatError(
                    f"{path}: the header announces an array of shape {dims} ({expected:,} bytes), more than "
                    f"{size:,} bytes of gzip data can hold; the file is damaged or malicious"
                )
            if not compressed and expected > holds:
                raise DatasetFormatError(
                    f"{path}: truncated: the header announces an array of shape {dims} "
                    f"({expected} bytes) but only {holds} bytes follow"
                )
            check_read_size(expected, path, f"the IDX array of shape {dims}", max_bytes, DatasetFormatError)
            body = f.read(expected)
            extra = len(f.read(1))
    except (EOFError, zlib.error, OSError) as exc:
        if isinstance(exc, (FileNotFoundError, PermissionError, IsADirectoryError)):
            raise
        raise DatasetFormatError(
            f"{path}: the gzip stream is truncated or corrupt ({exc}); delete the file and fetch it again"
        ) from None
    if len(body) < expected:
        raise DatasetFormatError(
            f"{path}: truncated: the header announces an array of shape {dims} "
            f"({expected} bytes) but only {len(body)} bytes follow"
        )
    if extra:
        count = f"{size - header - expected} " if not compressed else ""
        raise DatasetFormatError(
            f"{path}: wrong size: {count}unexpected bytes after the {dims} array announced by the header"
        )
    return head, dims, body


def read_idx(path, max_bytes=None):
    """Read an IDX file (gzip-compressed or raw) into a native-byte-order NumPy array.

    Raises :class:`DatasetFormatError` naming ``path`` when the file is truncated, has the
    wrong magic number, carries more bytes than its header announces, or announces an array larger
    than the file can hold or than the read limit (``max_bytes``, default 8 GiB or
    ``$SHENDU_MAX_READ_BYTES``). A gzip file is never decompressed past the announced size.
    """
    path = os.fspath(path)
    head, dims, body = _read_bytes(path, max_bytes)
    dtype = _IDX_TYPES[head[2]]
    try:
        arr = np.frombuffer(body, dtype=dtype).reshape(dims)
    except ValueError as exc:  # e.g. an empty array whose other dimensions NumPy cannot index
        raise DatasetFormatError(f"{path}: the header's shape {dims} cannot be read as an array ({exc})"
                                 ) from None
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
        if kind == "labels" and a.dtype.kind not in "iu":
            raise DatasetFormatError(f"{p}: labels must be integers, got an IDX array of {a.dtype}")
        if kind == "labels" and a.size and (a.min() < 0 or a.max() > 9):
            bad = int(a.min()) if a.min() < 0 else int(a.max())
            raise DatasetFormatError(f"{p}: labels must lie in 0..9, found {bad}")
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
