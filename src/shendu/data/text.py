"""Text preprocessing with Keras's semantics: Tokenizer, pad_sequences, to_categorical.

These match ``keras.preprocessing.text.Tokenizer``, ``keras.utils.pad_sequences`` and
``keras.utils.to_categorical`` behaviour for behaviour (same defaults, same index order, same
errors), so tutorial code gives the same numbers. Chinese text: ``Tokenizer(char_level=True)``
makes one token per character (as in Keras, ``filters`` are not applied at character level,
so punctuation such as "，" and "。" become tokens too); ``Tokenizer(analyzer=char_split)``
also makes one token per character but drops whitespace and punctuation, Chinese and Western.
"""

import gzip
import json
import os
import zlib
from collections import OrderedDict, defaultdict

import numpy as np

from .._fileio import MAX_READ_BYTES_ENV, max_read_bytes
from ..errors import FileFormatError
from ._rng import resolve_generator

MAX_LINE_CHARS = 1 << 20  # a 300-d GloVe line has ~3,000

__all__ = [
    "Tokenizer",
    "tokenizer_from_json",
    "text_to_word_sequence",
    "char_split",
    "pad_sequences",
    "to_categorical",
    "load_word_vectors",
    "rank_vocabulary",
    "standardize_texts",
    "split_text",
    "ngram_tokens",
    "TextVectorizer",
    "VocabularyTable",
    "encode_categories",
    "DEFAULT_FILTERS",
    "CJK_PUNCTUATION",
]

DEFAULT_FILTERS = '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n'
CJK_PUNCTUATION = "，。、；：？！“”‘’（）《》〈〉【】「」『』〔〕…—～·・"


def text_to_word_sequence(input_text, filters=DEFAULT_FILTERS, lower=True, split=" "):
    """Lower-case, replace every character of ``filters`` by ``split``, split, drop empty words."""
    if lower:
        input_text = input_text.lower()
    input_text = input_text.translate(str.maketrans({c: split for c in filters}))
    return [w for w in input_text.split(split) if w]


def char_split(text, filters=DEFAULT_FILTERS + CJK_PUNCTUATION):
    """One token per character, without whitespace and without the characters in ``filters``.

    Meant for Chinese (and Japanese) text: ``Tokenizer(analyzer=char_split)``.
    ``char_split("床前明月光，疑是地上霜。") -> ['床', '前', '明', '月', '光', '疑', ...]``
    """
    drop = set(filters)
    return [c for c in text if not c.isspace() and c not in drop]


def rank_vocabulary(counts, ties="first", limit=None):
    """The tokens of ``counts`` (a mapping token -> count) by decreasing count, at most ``limit`` of them.

    Ties keep the order of ``counts`` (``ties="first"``: first appearance, as Keras's ``Tokenizer``) or
    go in reverse string order (``ties="reverse"``, as Keras's ``TextVectorization``). This is the one
    vocabulary builder of :class:`Tokenizer` and :class:`TextVectorizer`.
    """
    if ties == "first":
        order = sorted(counts, key=counts.__getitem__, reverse=True)  # a stable sort keeps ties in order
    elif ties == "reverse":
        order = sorted(counts, key=lambda w: (counts[w], w), reverse=True)
    else:
        raise ValueError(f"rank_vocabulary: ties must be 'first' or 'reverse', got {ties!r}")
    return order if limit is None else order[: max(0, int(limit))]


class Tokenizer:
    """Turn texts into sequences of word indices, exactly like Keras's ``Tokenizer``.

    ``fit_on_texts`` counts words (``word_counts``, in order of first appearance) and numbers
    them by decreasing count from 1, ties kept in order of first appearance (``word_index``;
    the ``oov_token``, when given, is always 1). ``num_words`` does not limit ``word_index``;
    it only makes ``texts_to_sequences`` drop indices ``>= num_words`` (or map them to the
    ``oov_token``). Words never seen are dropped, or mapped to the ``oov_token``.

    Args:
        num_words: keep indices below this in sequences/matrices (None: all).
        filters: characters removed from words (replaced by ``split``).
        lower: lower-case texts first.
        split: word separator.
        char_level: every character is a token (filters are not applied, as in Keras);
            works for Chinese text.
        oov_token: stand-in for unknown words, forced to index 1.
        analyzer: a function ``text -> list of tokens`` replacing the word splitter.
    """

    def __init__(
        self,
        num_words=None,
        filters=DEFAULT_FILTERS,
        lower=True,
        split=" ",
        char_level=False,
        oov_token=None,
        analyzer=None,
        **kwargs,
    ):
        if "nb_words" in kwargs:
            num_words = kwargs.pop("nb_words")
        document_count = kwargs.pop("document_count", 0)
        if kwargs:
            raise TypeError(f"Tokenizer: unrecognized keyword arguments: {sorted(kwargs)}")
        self.word_counts = OrderedDict()
        self.word_docs = defaultdict(int)
        self.filters = filters
        self.split = split
        self.lower = lower
        self.num_words = num_words
        self.document_count = document_count
        self.char_level = char_level
        self.oov_token = oov_token
        self.index_docs = defaultdict(int)
        self.word_index = {}
        self.index_word = {}
        self.analyzer = analyzer

    def _tokens(self, text):
        if self.char_level or isinstance(text, list):
            if self.lower:
                text = [t.lower() for t in text] if isinstance(text, list) else text.lower()
            return text
        if self.analyzer is None:
            return text_to_word_sequence(text, filters=self.filters, lower=self.lower, split=self.split)
        return self.analyzer(text.lower() if self.lower else text)

    def fit_on_texts(self, texts):
        """Update the vocabulary from ``texts`` (strings, or lists of tokens) and renumber it."""
        if isinstance(texts, str):
            raise TypeError("Tokenizer.fit_on_texts expects a list of texts, got a single string")
        for text in texts:
            self.document_count += 1
            seq = self._tokens(text)
            for w in seq:
                self.word_counts[w] = self.word_counts.get(w, 0) + 1
            for w in set(seq):
                self.word_docs[w] += 1
        vocab = [] if self.oov_token is None else [self.oov_token]
        vocab.extend(rank_vocabulary(self.word_counts, ties="first"))
        self.word_index = dict(zip(vocab, range(1, len(vocab) + 1)))
        self.index_word = {i: w for w, i in self.word_index.items()}
        for w, c in list(self.word_docs.items()):
            self.index_docs[self.word_index[w]] = c

    def fit_on_sequences(self, sequences):
        """Update document counts from index sequences (needed by ``mode="tfidf"`` matrices)."""
        self.document_count += len(sequences)
        for seq in sequences:
            for i in set(seq):
                self.index_docs[i] += 1

    def texts_to_sequences(self, texts):
        """Each text as a list of word indices (see the class docstring for ``num_words``/OOV)."""
        return list(self.texts_to_sequences_generator(texts))

    def texts_to_sequences_generator(self, texts):
        num_words = self.num_words
        oov_index = self.word_index.get(self.oov_token)
        for text in texts:
            vect = []
            for w in self._tokens(text):
                i = self.word_index.get(w)
                if i is not None:
                    if num_words and i >= num_words:
                        if oov_index is not None:
                            vect.append(oov_index)
                    else:
                        vect.append(i)
                elif self.oov_token is not None:
                    vect.append(oov_index)
            yield vect

    def sequences_to_texts(self, sequences):
        """Index sequences back to space-joined texts (unknown indices dropped, or the OOV token)."""
        return list(self.sequences_to_texts_generator(sequences))

    def sequences_to_texts_generator(self, sequences):
        num_words = self.num_words
        oov_index = self.word_index.get(self.oov_token)
        for seq in sequences:
            vect = []
            for num in seq:
                word = self.index_word.get(num)
                if word is not None:
                    if num_words and num >= num_words:
                        if oov_index is not None:
                            vect.append(self.index_word[oov_index])
                    else:
                        vect.append(word)
                elif self.oov_token is not None:
                    vect.append(self.index_word[oov_index])
            yield " ".join(vect)

    def texts_to_matrix(self, texts, mode="binary"):
        """``sequences_to_matrix(texts_to_sequences(texts), mode)``."""
        return self.sequences_to_matrix(self.texts_to_sequences(texts), mode=mode)

    def sequences_to_matrix(self, sequences, mode="binary"):
        """A (len(sequences), num_words) matrix: per index "binary" presence, "count", "freq" = count/len,
        or "tfidf" = (1 + log count) · log(1 + documents / (1 + documents containing the index))."""
        if not self.num_words:
            if self.word_index:
                num_words = len(self.word_index) + 1
            else:
                raise ValueError(
                    "Specify a dimension (`num_words` argument), or fit on some text data first."
                )
        else:
            num_words = self.num_words
        if mode == "tfidf" and not self.document_count:
            raise ValueError("Fit the Tokenizer on some data before using tfidf mode.")
        if mode not in ("binary", "count", "freq", "tfidf"):
            raise ValueError(f"Unknown vectorization mode: {mode}")
        x = np.zeros((len(sequences), num_words))
        for i, seq in enumerate(sequences):
            if not len(seq):
                continue
            seq = np.asarray(seq, dtype=np.int64)
            idx, counts = np.unique(seq[seq < num_words], return_counts=True)
            if mode == "count":
                x[i, idx] = counts
            elif mode == "freq":
                x[i, idx] = counts / len(seq)
            elif mode == "binary":
                x[i, idx] = 1
            else:
                docs = np.array([self.index_docs.get(int(j), 0) for j in idx])
                x[i, idx] = (1 + np.log(counts)) * np.log(1 + self.document_count / (1 + docs))
        return x

    def get_config(self):
        return {
            "num_words": self.num_words,
            "filters": self.filters,
            "lower": self.lower,
            "split": self.split,
            "char_level": self.char_level,
            "oov_token": self.oov_token,
            "document_count": self.document_count,
            "word_counts": json.dumps(self.word_counts),
            "word_docs": json.dumps(self.word_docs),
            "index_docs": json.dumps(self.index_docs),
            "index_word": json.dumps(self.index_word),
            "word_index": json.dumps(self.word_index),
        }

    def to_json(self, **kwargs):
        """The tokenizer as a JSON string (Keras's layout); load it with :func:`tokenizer_from_json`."""
        return json.dumps({"class_name": self.__class__.__name__, "config": self.get_config()}, **kwargs)


def tokenizer_from_json(json_string):
    """Rebuild a :class:`Tokenizer` from :meth:`Tokenizer.to_json` output (also reads Keras's files)."""
    config = dict(json.loads(json_string).get("config"))
    word_counts = json.loads(config.pop("word_counts"))
    word_docs = json.loads(config.pop("word_docs"))
    index_docs = {int(k): v for k, v in json.loads(config.pop("index_docs")).items()}
    index_word = {int(k): v for k, v in json.loads(config.pop("index_word")).items()}
    word_index = json.loads(config.pop("word_index"))
    tokenizer = Tokenizer(**config)
    tokenizer.word_counts = OrderedDict(word_counts)
    tokenizer.word_docs = defaultdict(int, word_docs)
    tokenizer.index_docs = defaultdict(int, index_docs)
    tokenizer.word_index = word_index
    tokenizer.index_word = index_word
    return tokenizer


def _check_fits(values, dtype):
    """Refuse values an integer ``dtype`` cannot hold (NumPy's cast would wrap them around silently)."""
    dtype = np.dtype(dtype)
    if dtype.kind not in "iu" or values.size == 0 or values.dtype.kind not in "iuf":
        return
    info = np.iinfo(dtype)
    if values.dtype.kind == "f" and not np.all(np.isfinite(values)):
        raise ValueError(f"pad_sequences: the sequences hold NaN or infinity, which dtype={dtype.name!r} "
                         "cannot hold; pass a float dtype such as dtype='float32'")
    lo, hi = values.min(), values.max()
    if lo < info.min or hi > info.max:
        bad = lo if lo < info.min else hi
        raise ValueError(f"pad_sequences: value {bad} does not fit dtype={dtype.name!r} (range {info.min}.."
                         f"{info.max}); pass a wider dtype, e.g. dtype='int64'")


def pad_sequences(sequences, maxlen=None, dtype="int32", padding="pre", truncating="pre", value=0.0):
    """Pad (or cut) sequences to one length, like ``keras.utils.pad_sequences``.

    Returns an array (len(sequences), maxlen) (plus the samples' own shape when they are arrays).
    ``maxlen`` defaults to the longest sequence; ``truncating="pre"`` keeps the last ``maxlen``
    items, "post" the first; ``padding="pre"`` puts ``value`` before the items, "post" after.
    Values that an integer ``dtype`` (default int32, as in Keras) cannot hold raise ``ValueError``
    instead of wrapping around; pass ``dtype="int64"`` for larger ids.

    >>> pad_sequences([[1, 2], [3, 4, 5]])
    array([[0, 1, 2],
           [3, 4, 5]], dtype=int32)
    """
    if padding not in ("pre", "post"):
        raise ValueError(f'Padding type "{padding}" not understood')
    if truncating not in ("pre", "post"):
        raise ValueError(f'Truncating type "{truncating}" not understood')
    if not hasattr(sequences, "__len__"):
        raise ValueError("`sequences` must be iterable.")
    num_samples = len(sequences)
    lengths = np.zeros(num_samples, dtype=np.int64)
    sample_shape = ()
    found = False
    for i, s in enumerate(sequences):
        if not hasattr(s, "__len__"):
            raise ValueError(f"`sequences` must be a list of iterables. Found non-iterable: {s}")
        lengths[i] = len(s)
        if not found and len(s):
            sample_shape = np.asarray(s).shape[1:]
            found = True
    if maxlen is None:
        maxlen = int(lengths.max()) if num_samples else 0
    is_str = np.issubdtype(dtype, np.str_)
    is_object = np.dtype(dtype) == np.dtype(object)
    if isinstance(value, str) and not is_object and not is_str:
        raise ValueError(
            f"`dtype` {dtype} is not compatible with `value`'s type: {type(value)}\n"
            "You should set `dtype=object` for variable length strings."
        )
    x = np.full((num_samples, maxlen) + tuple(sample_shape), value, dtype=dtype)
    kept = np.minimum(lengths, maxlen)
    if sample_shape == () and not is_str and not is_object and kept.sum() > 0:
        # Vectorized path for flat sequences: one concatenation and one scatter.
        nonempty = [s for s in sequences if len(s)]
        flat = np.concatenate([np.asarray(s).reshape(-1) for s in nonempty])
        if flat.dtype == object or flat.ndim != 1 or len(flat) != lengths.sum():
            raise ValueError("pad_sequences: every sequence must be a flat list of numbers")
        starts = np.cumsum(lengths) - lengths
        src_start = starts + (lengths - kept if truncating == "pre" else 0)
        dst_start = (maxlen - kept) if padding == "pre" else np.zeros_like(kept)
        rows = np.repeat(np.arange(num_samples), kept)
        offset = np.arange(kept.sum()) - np.repeat(np.cumsum(kept) - kept, kept)
        picked = flat[np.repeat(src_start, kept) + offset]
        _check_fits(picked, dtype)
        x[rows, np.repeat(dst_start, kept) + offset] = picked.astype(dtype)
        return x
    for idx, s in enumerate(sequences):
        if not len(s) or maxlen == 0:
            continue
        trunc = s[-maxlen:] if truncating == "pre" else s[:maxlen]
        if not is_str and not is_object:
            _check_fits(np.asarray(trunc), dtype)
        trunc = np.asarray(trunc, dtype=dtype)
        if trunc.shape[1:] != sample_shape:
            raise ValueError(
                f"Shape of sample {trunc.shape[1:]} of sequence at position {idx} "
                f"is different from expected shape {sample_shape}"
            )
        if padding == "post":
            x[idx, : len(trunc)] = trunc
        else:
            x[idx, -len(trunc) :] = trunc
    return x


def to_categorical(y, num_classes=None, dtype="float64"):
    """Class vector to one-hot matrix, like ``keras.utils.to_categorical``: float64 by default.

    ``num_classes`` defaults to ``max(y) + 1``; a trailing axis of size 1 is dropped first, so
    ``(N, 1)`` labels give ``(N, num_classes)``. ``result[i, y[i]] = 1``.
    """
    y = np.array(y, dtype="int64")
    input_shape = y.shape
    if input_shape and input_shape[-1] == 1 and len(input_shape) > 1:
        input_shape = tuple(input_shape[:-1])
    y = y.reshape(-1)
    if not num_classes:
        num_classes = int(np.max(y)) + 1 if y.size else 0
    if y.size and (y.min() < 0 or y.max() >= num_classes):
        raise ValueError(
            f"to_categorical: labels must lie in [0, {num_classes}), got values in [{y.min()}, {y.max()}]"
        )
    n = y.shape[0]
    categorical = np.zeros((n, num_classes), dtype=dtype)
    categorical[np.arange(n), y] = 1
    return categorical.reshape(input_shape + (num_classes,))


def load_word_vectors(
    path, word_index, dim=None, num_words=None, missing="zeros", scale=0.1, generator=None,
    return_found=False, max_bytes=None,
):
    """Build an embedding matrix from a GloVe or word2vec **text** file (``.gz`` accepted).

    Row ``i`` holds the vector of the word with index ``i`` in ``word_index`` (a dict, or a
    fitted :class:`Tokenizer`); row 0 (padding) is zeros. The matrix has
    ``num_words or len(word_index) + 1`` rows (with a Tokenizer, its ``num_words`` if set).
    Words absent from the file get zeros (``missing="zeros"``, default) or draws from
    N(0, scale²) (``missing="random"``, from ``generator``). A word2vec header line
    ("<count> <dim>") is recognised and skipped. Returns float32 (n_rows, dim), plus the number
    of words found with ``return_found=True``.

    The file is streamed, never held whole: a line longer than ``MAX_LINE_CHARS`` (1 Mi characters),
    more text than ``max_bytes`` (default: the read limit, 8 GiB or ``$SHENDU_MAX_READ_BYTES``) or a
    matrix larger than that limit raises :class:`~shendu.errors.FileFormatError` (a ``ValueError``)
    naming the file, as do malformed lines.

    >>> matrix = load_word_vectors("glove.6B.100d.txt", tokenizer, dim=100)
    >>> embedding.weight.data[:] = matrix
    """
    if isinstance(word_index, Tokenizer):
        if num_words is None:
            num_words = word_index.num_words
        word_index = word_index.word_index
    if missing not in ("zeros", "random"):
        raise ValueError(f"load_word_vectors: missing must be 'zeros' or 'random', got {missing!r}")
    n_rows = int(num_words) if num_words else len(word_index) + 1
    wanted = {w: i for w, i in word_index.items() if 0 < i < n_rows}
    path = os.fspath(path)
    limit = max_read_bytes(max_bytes)
    opener = gzip.open if path.endswith(".gz") else open
    vectors = {}

    def refuse(message):
        return FileFormatError(f"load_word_vectors: {path} {message}")

    def check_matrix(dim):
        if n_rows * dim * 4 > limit:
            raise refuse(f"needs a ({n_rows}, {dim}) float32 matrix of {n_rows * dim * 4:,} bytes, more than "
                         f"the read limit of {limit:,}; pass max_bytes= or set {MAX_READ_BYTES_ENV}")

    if dim is not None:
        check_matrix(int(dim))
    total = 0
    try:
        with opener(path, "rt", encoding="utf-8", errors="replace") as f:
            lineno = 0
            while True:
                line = f.readline(MAX_LINE_CHARS + 1)
                if not line:
                    break
                lineno += 1
                total += len(line)
                if len(line) > MAX_LINE_CHARS:
                    raise refuse(f"line {lineno} is longer than {MAX_LINE_CHARS:,} characters; "
                                 "not a GloVe/word2vec text file")
                if total > limit:
                    raise refuse(f"holds more than the read limit of {limit:,} bytes of text; pass "
                                 f"max_bytes= or set {MAX_READ_BYTES_ENV} if intended")
                parts = line.rstrip("\n").rstrip(" ").split(" ")
                if lineno == 1 and len(parts) == 2 and parts[0].isdigit() and parts[1].isdigit():
                    if dim is None:
                        dim = int(parts[1])
                        check_matrix(dim)
                    continue
                if len(parts) < 2:
                    continue
                if dim is None:
                    dim = len(parts) - 1
                    check_matrix(dim)
                if len(parts) - 1 != dim:
                    raise refuse(f"line {lineno} has {len(parts) - 1} values, expected {dim}")
                idx = wanted.get(parts[0])
                if idx is not None:
                    try:
                        vectors[idx] = np.asarray(parts[1:], dtype=np.float32)
                    except ValueError:
                        raise refuse(f"line {lineno}: the vector of {parts[0]!r} holds a value that is not a "
                                     "number") from None
    except (OSError, EOFError, zlib.error) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise refuse(f"cannot be read: {exc}") from None
    if dim is None:
        raise refuse("holds no vectors and no dim was given")
    if missing == "random":
        matrix = (resolve_generator(generator).standard_normal((n_rows, dim)) * scale).astype(np.float32)
    else:
        matrix = np.zeros((n_rows, dim), dtype=np.float32)
    matrix[0] = 0
    if vectors:
        rows = np.fromiter(vectors.keys(), dtype=np.int64, count=len(vectors))
        matrix[rows] = np.stack(list(vectors.values()))
    return (matrix, len(vectors)) if return_found else matrix


# ----- TextVectorization's numerics ---------------------------------------------------------------------
STRIP_PUNCTUATION = "!\"#$%&()*+,-./:;<=>?@[\\]^_`{|}~'"
_STANDARDIZE = ("lower_and_strip_punctuation", "lower", "strip_punctuation")
_OUTPUT_MODES = ("int", "multi_hot", "count", "tf_idf")


def _as_strings(values):
    """Decoded Python strings from an iterable of str or bytes (or anything with ``.numpy()``)."""
    values = values.numpy() if hasattr(values, "numpy") else values
    if isinstance(values, np.ndarray):
        values = values.ravel()
    return [v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in values]


def standardize_texts(texts, mode="lower_and_strip_punctuation", owner="standardize_texts"):
    """``mode``: None (as is), 'lower', 'strip_punctuation' (drop the characters of
    ``STRIP_PUNCTUATION``), 'lower_and_strip_punctuation', or a callable on an object array of texts."""
    if mode is None:
        return list(texts)
    if callable(mode):
        return _as_strings(mode(np.asarray(texts, dtype=object)))
    if mode not in _STANDARDIZE:
        raise ValueError(
            f"{owner}: standardize must be None, a callable, 'lower', 'strip_punctuation' or "
            f"'lower_and_strip_punctuation', got {mode!r}"
        )
    if mode != "strip_punctuation":
        texts = [t.lower() for t in texts]
    if mode != "lower":
        table = str.maketrans("", "", STRIP_PUNCTUATION)
        texts = [t.translate(table) for t in texts]
    return list(texts)


def split_text(text, mode="whitespace", owner="split_text"):
    """One text to tokens: 'whitespace' (``str.split()``), 'character', None (the whole text) or a
    callable ``text -> tokens``."""
    if mode is None:
        return [text]
    if mode == "whitespace":
        return text.split()
    if mode == "character":
        return list(text)
    if callable(mode):
        return _as_strings(mode(text))
    raise ValueError(f"{owner}: split must be None, a callable, 'whitespace' or 'character', got {mode!r}")


def ngram_tokens(words, ngrams):
    """The n-grams of ``words`` for each n in ``ngrams`` in turn, each joined by a space."""
    out = []
    for n in ngrams:
        out += [" ".join(words[i : i + n]) for i in range(len(words) - n + 1)]
    return out


class TextVectorizer:
    """Strings to token ids or vocabulary-sized vectors (the numerics of Keras's ``TextVectorization``).

    Each text is standardized (:func:`standardize_texts`), split (:func:`split_text`) and, with
    ``ngrams`` (an int n for 1..n, or a tuple of sizes), replaced by its n-grams. :meth:`adapt`
    counts tokens and builds the vocabulary: '' (padding, ``output_mode='int'`` only), then '[UNK]',
    then tokens by decreasing count, ties in reverse string order (:func:`rank_vocabulary`), at most
    ``max_tokens`` entries in all. :meth:`transform` gives

    * ``'int'``: (batch, length) int64 ids, unknown tokens 1, padded with 0 / cut to
      ``output_sequence_length`` (default: the longest text);
    * ``'multi_hot'``: 1 where a token occurs; ``'count'``: how often; ``'tf_idf'``: count·idf with
      idf = log(1 + N_docs / (1 + doc_freq)) from :meth:`adapt`, the OOV entry getting the mean idf.
      These are (batch, vocabulary size) float64, or (batch, max_tokens) with ``pad_to_max_tokens``.

    >>> tv = TextVectorizer(output_sequence_length=4)
    >>> tv.adapt(["The cat sat.", "the dog sat!"])
    >>> tv.transform(["the cat ran"]).tolist()
    [[2, 4, 1, 0]]
    """

    OOV = "[UNK]"

    def __init__(self, max_tokens=None, standardize="lower_and_strip_punctuation", split="whitespace",
                 ngrams=None, output_mode="int", output_sequence_length=None, pad_to_max_tokens=False,
                 encoding="utf-8", name="TextVectorizer"):
        self.name = name
        if output_mode not in _OUTPUT_MODES:
            raise ValueError(f"{name}: output_mode must be 'int', 'multi_hot', 'count' or 'tf_idf', "
                             f"got {output_mode!r}")
        if output_sequence_length is not None and output_mode != "int":
            raise ValueError(f"{name}: output_sequence_length only applies to output_mode='int'")
        self.max_tokens = None if max_tokens is None else int(max_tokens)
        self.standardize, self.split = standardize, split
        if ngrams is None:
            self.ngrams = None
        elif isinstance(ngrams, (int, np.integer)):
            self.ngrams = tuple(range(1, int(ngrams) + 1))
        else:
            self.ngrams = tuple(int(n) for n in ngrams)
        self.output_mode = output_mode
        self.output_sequence_length = None if output_sequence_length is None else int(output_sequence_length)
        self.pad_to_max_tokens = bool(pad_to_max_tokens)
        self.encoding = encoding
        self.vocabulary = None
        self.index = {}
        self.idf = None

    def specials(self):
        return ["", self.OOV] if self.output_mode == "int" else [self.OOV]

    def texts(self, inputs):
        """A batch of strings (batch,) or (batch, 1) (str or bytes, or anything with ``.numpy()``) as a
        list of Python strings."""
        if hasattr(inputs, "numpy"):
            inputs = inputs.numpy()
        if isinstance(inputs, (str, bytes)):
            inputs = [inputs]
        arr = np.asarray(inputs, dtype=object)
        if arr.ndim == 2 and arr.shape[1] == 1:
            arr = arr[:, 0]
        if arr.ndim != 1:
            raise ValueError(f"{self.name}: expected a batch of strings (batch,) or (batch, 1), got shape "
                             f"{arr.shape}")
        return [a.decode(self.encoding) if isinstance(a, bytes) else str(a) for a in arr]

    def tokens(self, texts):
        """The token lists of a list of strings."""
        out = []
        for t in standardize_texts(texts, self.standardize, self.name):
            words = split_text(t, self.split, self.name)
            out.append(ngram_tokens(words, self.ngrams) if self.ngrams else words)
        return out

    def adapt(self, data, steps=None):
        """Build the vocabulary (and the idf weights for 'tf_idf') from strings: a list / array, or an
        iterable of batches of strings (a dataset; of (x, y) pairs x is used)."""
        counts, doc_freq, n_docs = {}, {}, 0
        whole = isinstance(data, (str, bytes, np.ndarray, list, tuple)) or hasattr(data, "numpy")
        for i, batch in enumerate([data] if whole else data):
            if steps is not None and i >= steps:
                break
            if isinstance(batch, tuple) and len(batch) == 2 and not isinstance(batch[0], str):
                batch = batch[0]
            for words in self.tokens(self.texts(batch)):
                n_docs += 1
                for w in words:
                    counts[w] = counts.get(w, 0) + 1
                for w in set(words):
                    doc_freq[w] = doc_freq.get(w, 0) + 1
        specials = self.specials()
        for s in specials:
            counts.pop(s, None)
        limit = None if self.max_tokens is None else self.max_tokens - len(specials)
        order = rank_vocabulary(counts, ties="reverse", limit=limit)
        idf = None
        if self.output_mode == "tf_idf":
            idf = np.log(1.0 + n_docs / (1.0 + np.array([doc_freq[w] for w in order], dtype=np.float64)))
        self._set(specials + order, idf)

    def _set(self, vocab, idf):
        self.vocabulary = list(vocab)
        self.index = {w: i for i, w in enumerate(self.vocabulary)}
        if idf is not None:
            idf = np.asarray(idf, dtype=np.float64)
            oov = np.average(idf) if idf.size else 0.0  # the OOV token gets the mean idf
            self.idf = np.concatenate([[oov], idf])
        else:
            self.idf = None

    def set_vocabulary(self, vocabulary, idf_weights=None):
        """Use ``vocabulary`` (a list of tokens, or a file path with one token a line); the padding and
        OOV tokens are added in front when missing."""
        if isinstance(vocabulary, str):
            with open(vocabulary, encoding=self.encoding) as f:
                vocabulary = [line.rstrip("\n") for line in f]
        vocab = [str(v) for v in vocabulary]
        specials = self.specials()
        if vocab[: len(specials)] == specials:
            vocab = vocab[len(specials) :]
        if self.output_mode == "tf_idf" and idf_weights is None:
            raise ValueError(f"{self.name}: output_mode='tf_idf' needs idf_weights with the vocabulary")
        self._set(specials + vocab, None)
        if idf_weights is not None:
            idf = np.asarray(idf_weights, dtype=np.float64)
            self.idf = idf if idf.size == len(self.vocabulary) else np.concatenate([[np.average(idf)], idf])

    def get_vocabulary(self, include_special_tokens=True):
        if self.vocabulary is None:
            return self.specials() if include_special_tokens else []
        return list(self.vocabulary) if include_special_tokens else self.vocabulary[len(self.specials()) :]

    def vocabulary_size(self):
        return len(self.get_vocabulary())

    def width(self):
        """The length of a 'multi_hot' / 'count' / 'tf_idf' vector."""
        if self.pad_to_max_tokens and self.max_tokens is not None:
            return self.max_tokens
        return self.vocabulary_size()

    def transform(self, texts):
        """A list of strings to an int64 id matrix or a float64 (batch, width) matrix (class docstring)."""
        if self.vocabulary is None:
            raise ValueError(f"{self.name}: call adapt() or set_vocabulary() first")
        oov = self.index[self.OOV]
        ids = [[self.index.get(w, oov) for w in words] for words in self.tokens(texts)]
        if self.output_mode == "int":
            length = self.output_sequence_length or max([len(r) for r in ids] + [0])
            out = np.zeros((len(ids), length), dtype=np.int64)
            for i, r in enumerate(ids):
                r = r[:length]
                out[i, : len(r)] = r
            return out
        out = np.zeros((len(ids), self.width()), dtype=np.float64)
        for i, r in enumerate(ids):
            np.add.at(out[i], np.asarray(r, dtype=np.int64), 1.0)
        if self.output_mode == "multi_hot":
            out = (out > 0).astype(np.float64)
        elif self.output_mode == "tf_idf":
            out[:, : len(self.idf)] *= self.idf
        return out

    def get_config(self):
        """Constructor arguments plus ``vocabulary`` and ``idf_weights`` (callables by their name)."""
        std, spl = self.standardize, self.split
        if callable(std) or callable(spl):
            std, spl = getattr(std, "__name__", std), getattr(spl, "__name__", spl)
        return {
            "max_tokens": self.max_tokens,
            "standardize": std,
            "split": spl,
            "ngrams": list(self.ngrams) if self.ngrams else None,
            "output_mode": self.output_mode,
            "output_sequence_length": self.output_sequence_length,
            "pad_to_max_tokens": self.pad_to_max_tokens,
            "vocabulary": self.get_vocabulary() if self.vocabulary is not None else None,
            "idf_weights": None if self.idf is None else self.idf.tolist(),
            "encoding": self.encoding,
        }


# ----- lookup tables (Keras's StringLookup / IntegerLookup / CategoryEncoding) --------------------------
_ENCODINGS = ("one_hot", "multi_hot", "count")


def encode_categories(ids, depth, output_mode="multi_hot", count_weights=None, owner="encode_categories"):
    """Integer ids in [0, depth) to vectors of length ``depth`` (the numerics of Keras's CategoryEncoding).

    A scalar is one sample. ``'one_hot'``: every id its own vector, (n,) or (n, 1) -> (n, depth);
    ``'multi_hot'``: 1 where an id occurs in the sample, ``'count'``: how often (weighted by
    ``count_weights``, same shape as ``ids``), a 1-D input being one sample: (n,) -> (depth,) and
    (batch, n) -> (batch, depth). Ids of -1 are skipped (a mask token); other ids outside [0, depth) raise.
    Result: float64.

    >>> encode_categories([[0, 1], [3, 3]], 4, "count").tolist()
    [[1.0, 1.0, 0.0, 0.0], [0.0, 0.0, 0.0, 2.0]]
    """
    if output_mode not in _ENCODINGS:
        raise ValueError(f"{owner}: output_mode must be 'one_hot', 'multi_hot' or 'count', "
                         f"got {output_mode!r}")
    ids = np.asarray(ids)
    if ids.dtype.kind == "f":
        if np.any(ids != np.round(ids)):
            raise ValueError(f"{owner}: expected integer ids, got {ids.dtype} values that are not whole")
    ids = ids.astype(np.int64)
    if ids.ndim == 0:
        ids = ids[None]
    weights = None if count_weights is None else np.broadcast_to(
        np.asarray(count_weights, dtype=np.float64), ids.shape)
    if output_mode == "one_hot" and ids.shape[-1] != 1:
        ids = ids[..., None]
        weights = None if weights is None else weights[..., None]
    if ids.ndim > 2:
        raise ValueError(f"{owner}: with output_mode={output_mode!r} the input may have at most 2 axes "
                         f"(2 for 'one_hot' when the last is 1), got shape {ids.shape}")
    bad = (ids < -1) | (ids >= depth)
    if np.any(bad):
        raise ValueError(f"{owner}: input values must be in the range 0 <= values < num_tokens with "
                         f"num_tokens={depth}, got {ids[bad][:5].tolist()}")
    flat = ids.reshape(-1, ids.shape[-1])
    out = np.zeros((flat.shape[0], depth), dtype=np.float64)
    rows = np.repeat(np.arange(flat.shape[0]), flat.shape[1])
    cols = flat.ravel()
    w = np.ones(cols.shape) if weights is None else weights.reshape(-1)
    keep = cols >= 0
    np.add.at(out, (rows[keep], cols[keep]), w[keep])
    if output_mode != "count":
        out = (out > 0).astype(np.float64)
    return out.reshape(ids.shape[:-1] + (depth,))


def _stable_hash(token):
    return zlib.crc32(str(token).encode("utf-8"))


class VocabularyTable:
    """Tokens (strings, or integers with ``kind="int"``) to indices and back, with the layout of Keras's
    ``StringLookup`` / ``IntegerLookup``.

    Index layout: the ``mask_token`` at 0 (only when given and ``output_mode='int'``), then
    ``num_oov_indices`` slots for out-of-vocabulary tokens, then the vocabulary. :meth:`adapt` counts tokens
    and ranks them by decreasing count, ties in reverse order (:func:`rank_vocabulary`), keeping at most
    ``max_tokens`` indices in all. With several OOV slots an unknown integer goes to slot
    ``value mod num_oov_indices`` and an unknown string to slot ``crc32(utf-8) mod num_oov_indices`` (Keras
    hashes strings with FarmHash, so the slot of a given string can differ). With ``num_oov_indices=0`` an
    unknown token raises. :meth:`transform` gives int64 ids of the input's shape (``'int'``) or vectors of
    the vocabulary's size (``'one_hot'``, ``'multi_hot'``, ``'count'``, ``'tf_idf'``: see
    :func:`encode_categories`; mask tokens are skipped; tf-idf = count · idf with
    idf = log(1 + N_docs / (1 + doc_freq)), a 2-D input's rows being the documents, the OOV slots getting
    the mean idf). :meth:`invert` maps ids back to tokens.

    >>> t = VocabularyTable(vocabulary=["a", "b", "c", "d"])
    >>> t.transform([["a", "c", "d"], ["d", "z", "b"]]).tolist()
    [[1, 3, 4], [4, 0, 2]]
    """

    MODES = ("int", "one_hot", "multi_hot", "count", "tf_idf")

    def __init__(self, max_tokens=None, num_oov_indices=1, mask_token=None, oov_token="[UNK]",
                 output_mode="int", pad_to_max_tokens=False, vocabulary=None, idf_weights=None,
                 kind="string", encoding="utf-8", name="VocabularyTable"):
        self.name = name
        if output_mode == "binary":  # the tf.keras 2 name of 'multi_hot'
            output_mode = "multi_hot"
        if output_mode not in self.MODES:
            raise ValueError(f"{name}: output_mode must be one of {self.MODES}, got {output_mode!r}")
        if kind not in ("string", "int"):
            raise ValueError(f"{name}: kind must be 'string' or 'int', got {kind!r}")
        if max_tokens is not None and int(max_tokens) <= 1:
            raise ValueError(f"{name}: max_tokens must be greater than 1 (or None), got {max_tokens!r}")
        if int(num_oov_indices) < 0:
            raise ValueError(f"{name}: num_oov_indices must be >= 0, got {num_oov_indices!r}")
        if pad_to_max_tokens and max_tokens is None:
            raise ValueError(f"{name}: pad_to_max_tokens=True needs max_tokens")
        self.kind, self.encoding = kind, encoding
        self.max_tokens = None if max_tokens is None else int(max_tokens)
        self.num_oov_indices = int(num_oov_indices)
        self.mask_token = None if mask_token is None else self._token(mask_token)
        self.oov_token = self._token(oov_token)
        self.output_mode = output_mode
        self.pad_to_max_tokens = bool(pad_to_max_tokens)
        self.tokens, self.index, self.idf = [], {}, None
        self.adapted = False
        if vocabulary is not None:
            self.set_vocabulary(vocabulary, idf_weights)
        elif idf_weights is not None:
            raise ValueError(f"{name}: idf_weights need a vocabulary")

    # ----- tokens ------------------------------------------------------------------------------------
    def _token(self, value):
        if self.kind == "int":
            if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
                if isinstance(value, (float, np.floating)) and float(value).is_integer():
                    return int(value)
                raise ValueError(f"{self.name}: tokens must be integers, got {value!r}")
            return int(value)
        return value.decode(self.encoding) if isinstance(value, bytes) else str(value)

    def _array(self, values):
        """``values`` as a NumPy array of tokens (object array of str, or int64)."""
        values = values.numpy() if hasattr(values, "numpy") else getattr(values, "array", values)
        if self.kind == "int":
            arr = np.asarray(values)
            if arr.dtype.kind == "f":
                if np.any(arr != np.round(arr)):
                    raise ValueError(f"{self.name}: expected integers, got non-whole {arr.dtype} values")
            elif arr.dtype.kind not in "iub":
                raise ValueError(f"{self.name}: expected integers, got an array of {arr.dtype}")
            return arr.astype(np.int64)
        arr = np.asarray(values, dtype=object)
        flat = [self._token(v) for v in arr.ravel()]
        out = np.empty(len(flat), dtype=object)
        out[:] = flat
        return out.reshape(arr.shape)

    def specials(self):
        """The indices before the vocabulary: [mask token (int mode)] + the OOV token once per OOV slot."""
        mask = [self.mask_token] if self.mask_token is not None and self.output_mode == "int" else []
        return mask + [self.oov_token] * self.num_oov_indices

    def _oov_start(self):
        return 1 if self.mask_token is not None and self.output_mode == "int" else 0

    # ----- vocabulary --------------------------------------------------------------------------------
    def _set(self, tokens, idf=None):
        reserved = {self.oov_token} | ({self.mask_token} if self.mask_token is not None else set())
        clash = [t for t in tokens if t in reserved]
        if clash:
            raise ValueError(f"{self.name}: the vocabulary holds the reserved token {clash[0]!r} (the mask "
                             f"or OOV token) after its special positions")
        if len(set(tokens)) != len(tokens):
            seen, dup = set(), None
            for t in tokens:
                if t in seen:
                    dup = t
                    break
                seen.add(t)
            raise ValueError(f"{self.name}: the vocabulary has a repeated term: {dup!r}")
        size = len(self.specials()) + len(tokens)
        if self.max_tokens is not None and size > self.max_tokens:
            raise ValueError(f"{self.name}: a vocabulary of {size} entries (with the special tokens) is "
                             f"larger than max_tokens={self.max_tokens}")
        self.tokens = list(tokens)
        start = len(self.specials())
        self.index = {t: start + i for i, t in enumerate(self.tokens)}
        if idf is not None:
            idf = np.asarray(idf, dtype=np.float64)
            if idf.size == len(tokens):  # the OOV slots get the mean idf
                oov = np.average(idf) if idf.size else 0.0
                idf = np.concatenate([np.full(self.num_oov_indices, oov), idf])
            elif idf.size != len(tokens) + self.num_oov_indices:
                raise ValueError(f"{self.name}: {idf.size} idf_weights for a vocabulary of {len(tokens)}")
        self.idf = idf

    def set_vocabulary(self, vocabulary, idf_weights=None):
        """Use ``vocabulary`` (a list / array of tokens, or a text file with one token a line); the special
        tokens may lead it, in their places. 'tf_idf' needs ``idf_weights`` (one per token, or one more
        for the OOV slot in front)."""
        if isinstance(vocabulary, str) and self.kind == "string":
            with open(vocabulary, encoding=self.encoding) as f:
                vocabulary = [line.rstrip("\n") for line in f]
        tokens = [self._token(v) for v in self._array(vocabulary).ravel()]
        specials = self.specials()
        if specials and tokens[: len(specials)] == specials:
            tokens = tokens[len(specials):]
        elif self.mask_token is not None and self.output_mode != "int" and tokens[:1] == [self.mask_token]:
            tokens = tokens[1:]
        if self.output_mode == "tf_idf" and idf_weights is None:
            raise ValueError(f"{self.name}: output_mode='tf_idf' needs idf_weights with the vocabulary")
        if idf_weights is not None and self.output_mode != "tf_idf":
            raise ValueError(f"{self.name}: idf_weights only apply to output_mode='tf_idf'")
        self._set(tokens, idf_weights)
        self.adapted = False

    def adapt(self, data, steps=None):
        """Build the vocabulary (and idf) from ``data``: an array / list, or an iterable of batches (of
        ``(x, y)`` pairs x is used)."""
        whole = isinstance(data, (str, bytes, np.ndarray, list, tuple)) or hasattr(data, "numpy") \
            or hasattr(data, "array")
        counts, doc_freq, n_docs = {}, {}, 0
        for i, batch in enumerate([data] if whole else data):
            if steps is not None and i >= steps:
                break
            if isinstance(batch, tuple) and len(batch) == 2 and not whole:
                batch = batch[0]
            arr = self._array(batch)
            for t in arr.ravel().tolist():
                counts[t] = counts.get(t, 0) + 1
            if self.output_mode == "tf_idf":
                rows = arr.reshape(-1, 1) if arr.ndim <= 1 else arr.reshape(arr.shape[0], -1)
                for row in rows:
                    n_docs += 1
                    for t in set(row.tolist()):
                        doc_freq[t] = doc_freq.get(t, 0) + 1
        for t in (self.oov_token, self.mask_token):
            counts.pop(t, None)
        limit = None if self.max_tokens is None else self.max_tokens - len(self.specials())
        order = rank_vocabulary(counts, ties="reverse", limit=limit)
        idf = None
        if self.output_mode == "tf_idf":
            idf = np.log(1.0 + n_docs / (1.0 + np.array([doc_freq[t] for t in order], dtype=np.float64)))
        self._set(order, idf)
        self.adapted = True

    def get_vocabulary(self, include_special_tokens=True):
        return (self.specials() if include_special_tokens else []) + list(self.tokens)

    def vocabulary_size(self):
        return len(self.specials()) + len(self.tokens)

    def width(self):
        """The length of a 'one_hot' / 'multi_hot' / 'count' / 'tf_idf' vector."""
        return self.max_tokens if self.pad_to_max_tokens else self.vocabulary_size()

    # ----- lookups -----------------------------------------------------------------------------------
    def lookup(self, values):
        """Ids (int64, the input's shape) of tokens; mask tokens give 0 in int mode, -1 otherwise."""
        arr = self._array(values)
        flat = arr.ravel().tolist()
        start, n_oov = self._oov_start(), self.num_oov_indices
        ids = np.empty(len(flat), dtype=np.int64)
        unknown = []
        for i, t in enumerate(flat):
            j = self.index.get(t)
            if j is None:
                if self.mask_token is not None and t == self.mask_token:
                    j = 0 if self.output_mode == "int" else -1
                elif n_oov == 0:
                    unknown.append(t)
                    j = -1
                elif n_oov == 1:
                    j = start
                else:
                    j = start + (t if self.kind == "int" else _stable_hash(t)) % n_oov
            ids[i] = j
        if unknown:
            raise ValueError(f"{self.name}: with num_oov_indices=0 every input must be in the vocabulary; "
                             f"found out-of-vocabulary values {unknown[:5]} (set num_oov_indices=1)")
        return ids.reshape(arr.shape)

    def transform(self, values):
        """int64 ids (``'int'``) or float64 vectors of :meth:`width` entries (class docstring)."""
        ids = self.lookup(values)
        if self.output_mode == "int":
            return ids
        if self.output_mode == "tf_idf":
            counts = encode_categories(ids, self.width(), "count", owner=self.name)
            idf = np.zeros(self.width())
            if self.idf is not None:
                idf[: len(self.idf)] = self.idf[: self.width()]
            return counts * idf
        return encode_categories(ids, self.width(), self.output_mode, owner=self.name)

    def invert(self, ids):
        """Tokens of ids (the input's shape; object array of str, or int64): the mask token at 0 when
        there is one, the OOV token for the OOV slots and for ids outside the vocabulary."""
        ids = np.asarray(getattr(ids, "array", ids)).astype(np.int64)
        table = self.get_vocabulary()
        out = [table[i] if 0 <= i < len(table) else self.oov_token for i in ids.ravel().tolist()]
        if self.kind == "int":
            return np.asarray(out, dtype=np.int64).reshape(ids.shape)
        arr = np.empty(len(out), dtype=object)
        arr[:] = out
        return arr.reshape(ids.shape)
