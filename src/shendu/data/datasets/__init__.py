"""Ready-made data sets: each loader returns NumPy arrays ``(x_train, y_train), (x_test, y_test)``.

Class names convention: every image data set with fixed classes has a module-level tuple
``<NAME>_CLASSES`` (``FASHION_MNIST_CLASSES[y]`` names label ``y``); text corpora return their
category names themselves (:func:`fortunes`).

Where files are looked for, in order: ``path=``, ``$SHENDU_DATA/<name>``,
``~/.cache/shendu/<name>``, then system folders (``/usr/share/datasets/<name>``,
``/usr/share/games/fortunes``). Nothing is downloaded unless ``download=True``; when nothing is
found a :class:`DatasetNotFoundError` (a ``FileNotFoundError``) lists every folder searched and
how to get the files. Damaged files raise :class:`DatasetFormatError` naming the file.
"""

from ._cifar import CIFAR10_CLASSES, RestrictedUnpickler, cifar10, load_pickle_batch
from ._files import DatasetFormatError, DatasetNotFoundError, UnsafePickleError, data_home, search_dirs
from ._folder import CSVDataset, ImageFolder
from ._generated import DIGITS_CLASSES, MNIST1D_CLASSES, digits, mnist1d, stratified_split
from ._idx import FASHION_MNIST_CLASSES, MNIST_CLASSES, fashion_mnist, mnist, read_idx
from ._numerals import chinese_numerals, to_chinese_numeral
from ._text import fortunes, parse_fortune_file, parse_poems, song_poems, tang_poems
from ._vision import CIFAR10, MNIST, FashionMNIST

__all__ = [
    "MNIST",
    "FashionMNIST",
    "CIFAR10",
    "fashion_mnist",
    "mnist",
    "cifar10",
    "digits",
    "mnist1d",
    "tang_poems",
    "song_poems",
    "fortunes",
    "chinese_numerals",
    "to_chinese_numeral",
    "ImageFolder",
    "CSVDataset",
    "read_idx",
    "parse_poems",
    "parse_fortune_file",
    "load_pickle_batch",
    "RestrictedUnpickler",
    "stratified_split",
    "data_home",
    "search_dirs",
    "FASHION_MNIST_CLASSES",
    "MNIST_CLASSES",
    "CIFAR10_CLASSES",
    "DIGITS_CLASSES",
    "MNIST1D_CLASSES",
    "DatasetNotFoundError",
    "DatasetFormatError",
    "UnsafePickleError",
]
