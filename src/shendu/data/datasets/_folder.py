"""Datasets over your own files: a folder of images per class, or a CSV table."""

import csv
import os

import numpy as np

from ..._fileio import check_read_size
from ..dataset import Dataset
from ._files import DatasetFormatError

__all__ = ["ImageFolder", "CSVDataset", "IMAGE_EXTENSIONS"]

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm")


class ImageFolder(Dataset):
    """Images sorted into one sub-folder per class, like ``torchvision.datasets.ImageFolder``::

        root/cat/001.png
        root/dog/xyz.jpg

    Classes are the sub-folder names in sorted order (``classes``, ``class_to_idx``); ``samples``
    lists ``(path, class_index)``. ``dataset[i]`` is ``(image, label)`` with the image a uint8
    array (C, H, W): ``mode="RGB"`` (default) gives C=3, ``mode="L"`` C=1. ``size=(H, W)``
    resizes on load (so batches stack); ``transform``/``target_transform`` apply per sample.
    Images are decoded with Pillow (``pip install Pillow``), imported when the first image loads.
    """

    def __init__(
        self, root, transform=None, target_transform=None, mode="RGB", size=None, extensions=IMAGE_EXTENSIONS
    ):
        self.root = os.fspath(root)
        if not os.path.isdir(self.root):
            raise FileNotFoundError(f"ImageFolder: {self.root} is not a folder")
        self.classes = sorted(e.name for e in os.scandir(self.root) if e.is_dir())
        if not self.classes:
            raise FileNotFoundError(
                f"ImageFolder: {self.root} has no class sub-folders (expected root/<class>/<image>)"
            )
        self.class_to_idx = {c: i for i, c in enumerate(self.classes)}
        exts = tuple(e.lower() for e in extensions)
        self.samples = []
        for c in self.classes:
            for folder, _, files in sorted(os.walk(os.path.join(self.root, c), followlinks=True)):
                for name in sorted(files):
                    if name.lower().endswith(exts):
                        self.samples.append((os.path.join(folder, name), self.class_to_idx[c]))
        if not self.samples:
            raise FileNotFoundError(f"ImageFolder: no image files ({', '.join(exts)}) under {self.root}")
        self.targets = np.asarray([t for _, t in self.samples], dtype=np.int64)
        self.transform, self.target_transform = transform, target_transform
        self.mode = mode
        self.size = None if size is None else ((size, size) if isinstance(size, int) else tuple(size))

    def __len__(self):
        return len(self.samples)

    def load(self, path):
        """Decode one image file into a uint8 (C, H, W) array."""
        try:
            from PIL import Image
        except ImportError as exc:
            raise ImportError("ImageFolder needs Pillow: pip install Pillow (or shendu[data])") from exc
        try:
            with Image.open(path) as img:
                img = img.convert(self.mode)
                if self.size is not None:
                    img = img.resize((self.size[1], self.size[0]), Image.BILINEAR)
                arr = np.asarray(img, dtype=np.uint8)
        except OSError as exc:
            raise DatasetFormatError(f"{path}: cannot decode image ({exc})") from None
        return arr[None] if arr.ndim == 2 else np.ascontiguousarray(arr.transpose(2, 0, 1))

    def __getitem__(self, index):
        path, target = self.samples[index]
        image = self.load(path)
        if self.transform is not None:
            image = self.transform(image)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return image, target


def _is_number(cell):
    try:
        float(cell)
        return True
    except ValueError:
        return False


class CSVDataset(Dataset):
    """Rows of a CSV file as ``(features, target)`` samples, batched by fancy indexing.

    Args:
        path: the CSV file.
        target_column: the target's column name or index (negative counts from the end, as in
            Python; an index outside ``-ncols..ncols-1`` raises ``IndexError`` naming the file and
            its column count); ``None`` for features only (samples are then 1-tuples).
        header: ``"infer"`` (a first row with any non-numeric cell is a header), True or False.
        delimiter: the field separator.
        dtype: features dtype (float32).
        max_bytes: refuse files larger than this (default: the read limit, 8 GiB or
            ``$SHENDU_MAX_READ_BYTES``).

    A numeric target becomes int64 when all its values are whole numbers (class labels), else
    ``dtype``; a text target is mapped to class indices in sorted order (``classes``). Features
    must be numeric; a bad cell raises :class:`DatasetFormatError` naming file, line (as an
    editor counts them, blank lines included) and column.
    ``arrays`` holds ``(x, y)`` and ``columns`` the feature names.
    """

    def __init__(self, path, target_column=-1, header="infer", delimiter=",", dtype=np.float32,
                 max_bytes=None):
        self.path = os.fspath(path)
        check_read_size(os.path.getsize(self.path), self.path, "this CSV file", max_bytes, DatasetFormatError)
        rows, lines = [], []  # the records, and the line each one starts on (blank lines count)
        with open(self.path, newline="", encoding="utf-8") as f:
            reader = csv.reader(f, delimiter=delimiter)
            start = 1
            try:
                for r in reader:
                    if r and any(c.strip() for c in r):
                        rows.append(r)
                        lines.append(start)
                    start = reader.line_num + 1
            except csv.Error as exc:
                raise DatasetFormatError(
                    f"{self.path}: line {reader.line_num}: not a readable CSV row ({exc})"
                ) from None
            except UnicodeDecodeError as exc:
                raise DatasetFormatError(f"{self.path}: not UTF-8 text ({exc})") from None
        if not rows:
            raise DatasetFormatError(f"{self.path}: empty CSV file")
        if header == "infer":
            header = not all(_is_number(c) for c in rows[0])
        names = [c.strip() for c in rows[0]] if header else [str(i) for i in range(len(rows[0]))]
        body = rows[1:] if header else rows
        body_lines = lines[1:] if header else lines
        width = len(names)
        for lineno, r in zip(body_lines, body):
            if len(r) != width:
                raise DatasetFormatError(f"{self.path}: line {lineno} has {len(r)} fields, expected {width}")
        table = np.asarray(body, dtype=object).reshape(len(body), width)
        if target_column is None:
            t = None
        elif isinstance(target_column, str):
            if target_column not in names:
                raise KeyError(f"CSVDataset: no column {target_column!r} in {self.path}; columns: {names}")
            t = names.index(target_column)
        else:
            t = int(target_column)
            if not -width <= t < width:
                raise IndexError(
                    f"CSVDataset: target_column={target_column} is out of range for {self.path}, which has "
                    f"{width} columns (valid: 0..{width - 1}, or -{width}..-1 counting from the end)"
                )
            t %= width
        feature_cols = [i for i in range(width) if i != t]
        self.columns = [names[i] for i in feature_cols]
        try:
            x = table[:, feature_cols].astype(np.float64).astype(dtype)
        except ValueError:
            for j in feature_cols:
                for i, cell in enumerate(table[:, j]):
                    if not _is_number(cell):
                        raise DatasetFormatError(
                            f"{self.path}: line {body_lines[i]}, column {names[j]!r}: "
                            f"{cell!r} is not a number "
                            "(features must be numeric)"
                        ) from None
            raise
        self.classes = None
        if t is None:
            self.arrays = (x,)
            return
        col = table[:, t]
        if all(_is_number(c) for c in col):
            y = col.astype(np.float64)
            whole = np.all(np.isfinite(y)) and np.all(y == np.round(y)) and np.all(np.abs(y) < 2 ** 53)
            y = y.astype(np.int64) if whole else y.astype(dtype)
        else:
            self.classes, y = np.unique(col.astype(str), return_inverse=True)
            self.classes = list(self.classes)
            y = y.astype(np.int64)
        self.target_name = names[t]
        self.arrays = (x, y)
