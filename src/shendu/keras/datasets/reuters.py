"""``(x_train, y_train), (x_test, y_test) = reuters.load_data(num_words=10000)``: 11,228 newswires as word
indices, 46 topics, from Keras's ``reuters.npz``.

All wires are shuffled together (``np.random.RandomState(seed)``), the index options applied as in
:mod:`shendu.keras.datasets.imdb`, and the first ``1 - test_split`` of them form the training set."""
import numpy as np

from ...data.datasets._npz import locate, read_npz
from ._sequences import ORIGIN, prepare, word_index

__all__ = ["load_data", "get_word_index", "get_label_names"]

_HASH = "d6586e694ee56d7a4e65172e12b3e987c03096cb01eab99753921ef915959916"
_INDEX_HASH = "4d44cc38712099c9e383dc6e5f11a921"
_LABELS = ("cocoa", "grain", "veg-oil", "earn", "acq", "wheat", "copper", "housing", "money-supply", "coffee",
           "sugar", "trade", "reserves", "ship", "cotton", "carcass", "crude", "nat-gas", "cpi", "money-fx",
           "interest", "gnp", "meal-feed", "alum", "oilseed", "gold", "tin", "strategic-metal", "livestock",
           "retail", "ipi", "iron-steel", "rubber", "heat", "jobs", "lei", "bop", "zinc", "orange",
           "pet-chem", "dlr", "gas", "silver", "wpi", "hog", "lead")


def load_data(path="reuters.npz", num_words=None, skip_top=0, maxlen=None, test_split=0.2, seed=113,
              start_char=1, oov_char=2, index_from=3, download=True):
    """Keras's Reuters loader; x are object arrays of lists of ints, y int arrays of topic ids."""
    fpath = locate(path, ORIGIN + "reuters.npz", _HASH, download, "reuters.load_data")
    f = read_npz(fpath, ["x", "y"])
    order = np.random.RandomState(seed).permutation(len(f["x"]))
    ((xs, labels),) = prepare([(f["x"][order], f["y"][order])], num_words, skip_top, maxlen, start_char,
                              oov_char, index_from, "reuters.load_data")
    idx = int(len(xs) * (1 - test_split))
    return (xs[:idx], labels[:idx]), (xs[idx:], labels[idx:])


def get_word_index(path="reuters_word_index.json", download=True):
    """``{word: index}`` for the Reuters wires."""
    return word_index(path, "reuters_word_index.json", _INDEX_HASH, download, "reuters.get_word_index")


def get_label_names():
    """The 46 topic names, in label order."""
    return _LABELS
