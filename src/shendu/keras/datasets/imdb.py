"""``(x_train, y_train), (x_test, y_test) = imdb.load_data(num_words=10000)``: movie reviews as word
indices, labels 0 (negative) / 1 (positive), from Keras's ``imdb.npz``.

The options act as Keras's do, in this order: the training and the test reviews are each shuffled
(``np.random.RandomState(seed)``); each review gets ``start_char`` in front and every index shifted by
``index_from``; reviews not shorter than ``maxlen`` are dropped; indices ``>= num_words`` or
``< skip_top`` become ``oov_char`` (or are removed when ``oov_char=None``)."""
import numpy as np

from ...data.datasets._npz import locate, read_npz
from ._sequences import ORIGIN, prepare, word_index

__all__ = ["load_data", "get_word_index"]

_HASH = "69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f"
_INDEX_HASH = "bfafd718b763782e994055a2d397834f"


def load_data(path="imdb.npz", num_words=None, skip_top=0, maxlen=None, seed=113, start_char=1, oov_char=2,
              index_from=3, download=True, **kwargs):
    """Keras's IMDB loader; x are object arrays of lists of ints, y int arrays."""
    if kwargs:
        raise TypeError(f"imdb.load_data: unexpected arguments {sorted(kwargs)}")
    fpath = locate(path, ORIGIN + "imdb.npz", _HASH, download, "imdb.load_data")
    f = read_npz(fpath, ["x_train", "y_train", "x_test", "y_test"])
    rng = np.random.RandomState(seed)
    parts = []
    for xk, yk in (("x_train", "y_train"), ("x_test", "y_test")):
        order = rng.permutation(len(f[xk]))
        parts.append((f[xk][order], f[yk][order]))
    return prepare(parts, num_words, skip_top, maxlen, start_char, oov_char, index_from, "imdb.load_data")


def get_word_index(path="imdb_word_index.json", download=True):
    """``{word: index}`` (index 1 = the most frequent word; add ``index_from`` to match load_data)."""
    return word_index(path, "imdb_word_index.json", _INDEX_HASH, download, "imdb.get_word_index")
