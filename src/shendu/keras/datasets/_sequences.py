"""The word-index options and the word-index file shared by the IMDB and Reuters loaders (Keras's rules)."""
import json
import os

import numpy as np

from ...data.datasets._npz import locate

__all__ = ["prepare", "word_index"]

ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"


def word_index(path, name, file_hash, download, who):
    """``{word: index}`` read from ``path``, Keras's JSON file ``name`` (fetched from Keras when missing)."""
    with open(os.fspath(locate(path, ORIGIN + name, file_hash, download, who)), encoding="utf-8") as f:
        return json.load(f)


def prepare(parts, num_words, skip_top, maxlen, start_char, oov_char, index_from, who):
    """``parts``: [(x, y), ...] of object arrays of index lists; returns them transformed, as tuples."""
    out = []
    for x, y in parts:
        seqs = [[start_char] * (start_char is not None) + [int(w) + index_from for w in s] for s in x]
        y = np.asarray(y)
        if maxlen:
            keep = [i for i, s in enumerate(seqs) if len(s) < maxlen]
            seqs, y = [seqs[i] for i in keep], y[keep]
            if not seqs:
                raise ValueError(f"{who}: after filtering for sequences shorter than maxlen={maxlen}, no "
                                 "sequence was kept. Increase maxlen.")
        out.append((seqs, y))
    if not num_words:
        num_words = max((max(s) for seqs, _ in out for s in seqs if s), default=0)
    result = []
    for seqs, y in out:
        if oov_char is not None:
            seqs = [[w if skip_top <= w < num_words else oov_char for w in s] for s in seqs]
        else:
            seqs = [[w for w in s if skip_top <= w < num_words] for s in seqs]
        arr = np.empty(len(seqs), dtype=object)
        arr[:] = seqs
        result.append((arr, y))
    return tuple(result)
