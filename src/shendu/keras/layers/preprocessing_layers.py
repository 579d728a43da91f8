"""Preprocessing layers: Masking, Rescaling, Normalization (with ``adapt``) and TextVectorization.

* ``Masking(mask_value)``: a step is masked when all its features equal ``mask_value``; masked steps are
  zeroed and the mask is handed to the layers downstream (recurrent layers skip those steps).
* ``Rescaling(scale, offset)``: y = x·scale + offset (integer input is cast to float first).
* ``Normalization(axis=-1)``: y = (x − mean) / max(√variance, ε), ε = 1e-7; ``adapt(data)`` sets mean and
  variance from data (over every axis but ``axis``); ``invert=True`` maps back, x = mean + y·max(√var, ε).
* ``TextVectorization``: strings → token ids (``output_mode='int'``) or vocabulary-sized vectors
  (``'multi_hot'``, ``'count'``, ``'tf_idf'`` with idf = log(1 + N_docs / (1 + doc_freq))).
"""

import re

import numpy as np

import shendu as sd

from ...tensor import Tensor
from .base import KerasTensor, Layer

__all__ = ["Masking", "Rescaling", "Normalization", "TextVectorization"]

_EPSILON = 1e-7


class Masking(Layer):
    """Mask the time steps whose features all equal ``mask_value`` (input (batch, steps, features))."""

    def __init__(self, mask_value=0.0, **kwargs):
        super().__init__(**kwargs)
        self.mask_value = mask_value
        self.supports_masking = True

    def _keep(self, inputs):
        return np.any(inputs.array != self.mask_value, axis=-1)

    def call(self, inputs):
        keep = self._keep(inputs)
        return inputs * Tensor(keep[..., None].astype(inputs.dtype))

    def compute_mask(self, inputs, mask=None):
        return Tensor(self._keep(inputs))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "mask_value": self.mask_value}


class Rescaling(Layer):
    """``Rescaling(1.0 / 255)``: y = x·scale + offset."""

    _mask_passthrough = True

    def __init__(self, scale, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        self.scale, self.offset = scale, offset

    def _convert_inputs(self, inputs):
        if isinstance(inputs, KerasTensor):
            return inputs
        data = inputs.array if isinstance(inputs, Tensor) else np.asarray(inputs)
        if data.dtype.kind != "f":
            return Tensor(data.astype(self.dtype))
        return super()._convert_inputs(inputs)

    def call(self, inputs):
        scale = np.asarray(self.scale, dtype=inputs.dtype)
        offset = np.asarray(self.offset, dtype=inputs.dtype)
        return inputs * Tensor(scale) + Tensor(offset)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "scale": _jsonable(self.scale), "offset": _jsonable(self.offset)}


def _jsonable(v):
    return np.asarray(v).tolist() if isinstance(v, (np.ndarray, np.generic, list, tuple)) else v


def _batches(data):
    """Arrays from ``data``: an array / Tensor, or an iterable of batches (a dataset, a generator)."""
    if isinstance(data, Tensor):
        yield data.numpy()
    elif isinstance(data, np.ndarray):
        yield data
    elif isinstance(data, (list, tuple)) and data and not hasattr(data[0], "__len__"):
        yield np.asarray(data)
    elif isinstance(data, (list, tuple)) and data and isinstance(data[0], (int, float, np.number)):
        yield np.asarray(data)
    else:
        for batch in data:
            if isinstance(batch, tuple):  # (x, y) from a dataset: adapt on x
                batch = batch[0]
            yield batch.numpy() if isinstance(batch, Tensor) else np.asarray(batch)


class Normalization(Layer):
    """Feature-wise standardisation: ``norm = Normalization(); norm.adapt(x_train); model(norm(x))``."""

    _mask_passthrough = True

    def __init__(self, axis=-1, mean=None, variance=None, invert=False, **kwargs):
        super().__init__(**kwargs)
        if axis is None:
            axis = ()
        self.axis = (int(axis),) if isinstance(axis, (int, np.integer)) else tuple(int(a) for a in axis)
        if (mean is None) != (variance is None):
            raise ValueError("Normalization: pass both mean and variance, or neither (then call adapt)")
        self.input_mean, self.input_variance = mean, variance
        self.invert = bool(invert)
        self._adapted = None

    def _kept(self, ndim):
        return tuple(sorted(a % ndim for a in self.axis))

    def _stat_shape(self, shape):
        kept = self._kept(len(shape))
        for a in kept:
            if shape[a] is None:
                raise ValueError(f"Normalization '{self.name}': axis {a} of the input {shape} must be known")
        return tuple(int(shape[a]) for a in kept)

    def build(self, input_shape):
        self._ndim = len(input_shape)
        stat = self._stat_shape(input_shape)
        if self.input_mean is None:
            self.mean = self.add_weight(name="mean", shape=stat, initializer="zeros", trainable=False)
            self.variance = self.add_weight(name="variance", shape=stat, initializer="ones", trainable=False)
            self.count = self.add_weight(
                name="count", shape=(), initializer="zeros", trainable=False, dtype="int64"
            )
            if self._adapted is not None:
                self._set_stats(*self._adapted)

    def _set_stats(self, mean, var, count):
        self.mean.array[...] = np.asarray(mean).reshape(self.mean.array.shape)
        self.variance.array[...] = np.asarray(var).reshape(self.variance.array.shape)
        self.count.array[...] = count

    def adapt(self, data, batch_size=None, steps=None):
        """Set mean and variance from ``data`` (array, Tensor, or iterable of batches), computed over every
        axis but ``axis`` (Chan's parallel update across batches)."""
        total, mean, m2 = 0, None, None
        shape = None
        for i, batch in enumerate(_batches(data)):
            if steps is not None and i >= steps:
                break
            batch = np.asarray(batch, dtype=np.float64)
            shape = batch.shape
            kept = self._kept(batch.ndim)
            reduce = tuple(a for a in range(batch.ndim) if a not in kept)
            n = int(np.prod([batch.shape[a] for a in reduce])) if reduce else 1
            b_mean = batch.mean(axis=reduce)
            b_m2 = ((batch - batch.mean(axis=reduce, keepdims=True)) ** 2).sum(axis=reduce)
            if mean is None:
                total, mean, m2 = n, b_mean, b_m2
            else:
                delta = b_mean - mean
                new = total + n
                mean = mean + delta * n / new
                m2 = m2 + b_m2 + delta**2 * total * n / new
                total = new
        if mean is None:
            raise ValueError(f"Normalization '{self.name}': adapt() got no data")
        self._adapted = (mean, m2 / total, total)
        if self.built and self.input_mean is None:
            self._set_stats(*self._adapted)
        elif not self.built:
            self._maybe_build((None,) + tuple(shape[1:]))

    def _stats(self, x):
        kept = self._kept(x.ndim)
        bshape = [1] * x.ndim
        for a in kept:
            bshape[a] = x.shape[a]
        if self.input_mean is not None:
            mean, var = np.asarray(self.input_mean), np.asarray(self.input_variance)
        else:
            mean, var = self.mean.array, self.variance.array
        mean = np.broadcast_to(
            np.asarray(mean, dtype=x.dtype), tuple(bshape) if mean.size > 1 else mean.shape
        )
        var = np.broadcast_to(np.asarray(var, dtype=x.dtype), tuple(bshape) if var.size > 1 else var.shape)
        return Tensor(np.reshape(mean, bshape if mean.size > 1 else ())), Tensor(
            np.reshape(var, bshape if var.size > 1 else ())
        )

    def call(self, inputs):
        mean, var = self._stats(inputs)
        denom = sd.maximum(sd.sqrt(var), Tensor(np.asarray(_EPSILON, dtype=inputs.dtype)))
        if self.invert:
            return mean + inputs * denom
        return (inputs - mean) / denom

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "axis": list(self.axis),
            "mean": _jsonable(self.input_mean),
            "variance": _jsonable(self.input_variance),
            "invert": self.invert,
        }


# ----- TextVectorization ----------------------------------------------------------------------------
_PUNCTUATION = re.compile(r"[!\"#$%&()\*\+,\-\./:;<=>?@\[\\\]^_`{|}~']")


def _standardize(mode, texts):
    if mode is None:
        return texts
    if callable(mode):
        out = mode(np.asarray(texts, dtype=object))
        out = out.numpy() if isinstance(out, Tensor) else out
        return [
            o.decode("utf-8") if isinstance(o, bytes) else str(o)
            for o in np.asarray(out, dtype=object).ravel()
        ]
    if mode in ("lower_and_strip_punctuation", "lower"):
        texts = [t.lower() for t in texts]
    if mode in ("lower_and_strip_punctuation", "strip_punctuation"):
        texts = [_PUNCTUATION.sub("", t) for t in texts]
    elif mode not in ("lower",):
        raise ValueError(
            f"TextVectorization: standardize must be None, a callable, 'lower', 'strip_punctuation' or "
            f"'lower_and_strip_punctuation', got {mode!r}"
        )
    return texts


def _split(mode, text):
    if mode is None:
        return [text]
    if mode == "whitespace":
        return text.split()
    if mode == "character":
        return list(text)
    if callable(mode):
        out = mode(text)
        return [o.decode("utf-8") if isinstance(o, bytes) else str(o) for o in out]
    raise ValueError(
        f"TextVectorization: split must be None, a callable, 'whitespace' or 'character', got {mode!r}"
    )


class TextVectorization(Layer):
    """Strings to token ids or bag-of-words vectors. ``adapt(texts)`` builds the vocabulary: index 0 is
    the padding token '' (int mode only), then '[UNK]' for out-of-vocabulary tokens, then the tokens by
    decreasing frequency (ties in reverse string order), at most ``max_tokens`` entries in all."""

    OOV = "[UNK]"

    def __init__(
        self,
        max_tokens=None,
        standardize="lower_and_strip_punctuation",
        split="whitespace",
        ngrams=None,
        output_mode="int",
        output_sequence_length=None,
        pad_to_max_tokens=False,
        vocabulary=None,
        idf_weights=None,
        sparse=False,
        ragged=False,
        encoding="utf-8",
        **kwargs,
    ):
        kwargs.pop("vocabulary_size", None)
        super().__init__(**kwargs)
        if output_mode not in ("int", "multi_hot", "count", "tf_idf"):
            raise ValueError(
                "TextVectorization: output_mode must be 'int', 'multi_hot', 'count' or 'tf_idf', "
                f"got {output_mode!r}"
            )
        if sparse or ragged:
            raise NotImplementedError("TextVectorization: sparse and ragged outputs are not supported")
        if output_sequence_length is not None and output_mode != "int":
            raise ValueError("TextVectorization: output_sequence_length only applies to output_mode='int'")
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
        self._vocab = None
        self._index = {}
        self._idf = None
        self.built = True
        if vocabulary is not None:
            self.set_vocabulary(vocabulary, idf_weights)

    # ----- vocabulary ------------------------------------------------------------------------------
    def _specials(self):
        return ["", self.OOV] if self.output_mode == "int" else [self.OOV]

    def _tokens(self, texts):
        texts = _standardize(self.standardize, texts)
        out = []
        for t in texts:
            words = _split(self.split, t)
            if self.ngrams:
                grams = []
                for n in self.ngrams:
                    grams += [" ".join(words[i : i + n]) for i in range(len(words) - n + 1)]
                words = grams
            out.append(words)
        return out

    def _texts(self, inputs):
        if isinstance(inputs, Tensor):
            inputs = inputs.numpy()
        if isinstance(inputs, (str, bytes)):
            inputs = [inputs]
        arr = np.asarray(inputs, dtype=object)
        if arr.ndim == 2 and arr.shape[1] == 1:
            arr = arr[:, 0]
        if arr.ndim != 1:
            raise ValueError(
                f"TextVectorization '{self.name}': expected a batch of strings (batch,) or (batch, 1), got "
                f"shape {arr.shape}"
            )
        return [a.decode(self.encoding) if isinstance(a, bytes) else str(a) for a in arr]

    def adapt(self, data, batch_size=None, steps=None):
        """Build the vocabulary (and the idf weights for 'tf_idf') from strings: a list / array, or an
        iterable of batches of strings (a dataset)."""
        counts, doc_freq, n_docs = {}, {}, 0
        if isinstance(data, (str, bytes, np.ndarray, list, tuple, Tensor)):
            batches = [data]
        else:
            batches = data
        for i, batch in enumerate(batches):
            if steps is not None and i >= steps:
                break
            if isinstance(batch, tuple) and len(batch) == 2 and not isinstance(batch[0], str):
                batch = batch[0]
            for words in self._tokens(self._texts(batch)):
                n_docs += 1
                for w in words:
                    counts[w] = counts.get(w, 0) + 1
                for w in set(words):
                    doc_freq[w] = doc_freq.get(w, 0) + 1
        specials = self._specials()
        for s in specials:
            counts.pop(s, None)
        order = sorted(counts, key=lambda w: (counts[w], w), reverse=True)
        if self.max_tokens is not None:
            order = order[: max(0, self.max_tokens - len(specials))]
        idf = None
        if self.output_mode == "tf_idf":
            idf = np.log(1.0 + n_docs / (1.0 + np.array([doc_freq[w] for w in order], dtype=np.float64)))
        self._set(specials + order, idf)

    def _set(self, vocab, idf):
        self._vocab = list(vocab)
        self._index = {w: i for i, w in enumerate(self._vocab)}
        if idf is not None:
            idf = np.asarray(idf, dtype=np.float64)
            oov = np.average(idf) if idf.size else 0.0  # Keras gives the OOV token the mean idf
            self._idf = np.concatenate([[oov], idf])
        else:
            self._idf = None

    def set_vocabulary(self, vocabulary, idf_weights=None):
        """Use ``vocabulary`` (a list of tokens, or a file path with one token a line); the padding and
        OOV tokens are added in front when missing."""
        if isinstance(vocabulary, str):
            with open(vocabulary, encoding=self.encoding) as f:
                vocabulary = [line.rstrip("\n") for line in f]
        vocab = [str(v) for v in vocabulary]
        specials = self._specials()
        if vocab[: len(specials)] == specials:
            vocab = vocab[len(specials) :]
        if self.output_mode == "tf_idf" and idf_weights is None:
            raise ValueError("TextVectorization: output_mode='tf_idf' needs idf_weights with the vocabulary")
        self._set(specials + vocab, None)
        if idf_weights is not None:
            idf = np.asarray(idf_weights, dtype=np.float64)
            self._idf = idf if idf.size == len(self._vocab) else np.concatenate([[np.average(idf)], idf])

    def get_vocabulary(self, include_special_tokens=True):
        if self._vocab is None:
            return self._specials() if include_special_tokens else []
        return list(self._vocab) if include_special_tokens else self._vocab[len(self._specials()) :]

    def vocabulary_size(self):
        return len(self.get_vocabulary())

    # ----- calling ---------------------------------------------------------------------------------
    def _convert_inputs(self, inputs):
        return inputs if isinstance(inputs, KerasTensor) else self._texts(inputs)

    def _width(self):
        if self.pad_to_max_tokens and self.max_tokens is not None:
            return self.max_tokens
        return self.vocabulary_size()

    def call(self, inputs):
        if self._vocab is None:
            raise ValueError(f"TextVectorization '{self.name}': call adapt() or set_vocabulary() first")
        oov = self._index[self.OOV]
        ids = [[self._index.get(w, oov) for w in words] for words in self._tokens(inputs)]
        if self.output_mode == "int":
            length = self.output_sequence_length or max([len(r) for r in ids] + [0])
            out = np.zeros((len(ids), length), dtype=np.int64)
            for i, r in enumerate(ids):
                r = r[:length]
                out[i, : len(r)] = r
            return Tensor(out)
        out = np.zeros((len(ids), self._width()), dtype=np.float64)
        for i, r in enumerate(ids):
            np.add.at(out[i], np.asarray(r, dtype=np.int64), 1.0)
        if self.output_mode == "multi_hot":
            out = (out > 0).astype(np.float64)
        elif self.output_mode == "tf_idf":
            out[:, : len(self._idf)] *= self._idf
        return Tensor(out.astype(self.dtype))

    def compute_output_shape(self, input_shape):
        if self.output_mode == "int":
            return (input_shape[0], self.output_sequence_length)
        return (input_shape[0], self._width())

    def compute_output_dtype(self, input_dtype):
        return "int64" if self.output_mode == "int" else self.dtype

    def get_config(self):
        if callable(self.standardize) or callable(self.split):
            std = getattr(self.standardize, "__name__", self.standardize)
            spl = getattr(self.split, "__name__", self.split)
        else:
            std, spl = self.standardize, self.split
        return {
            **super().get_config(),
            "max_tokens": self.max_tokens,
            "standardize": std,
            "split": spl,
            "ngrams": list(self.ngrams) if self.ngrams else None,
            "output_mode": self.output_mode,
            "output_sequence_length": self.output_sequence_length,
            "pad_to_max_tokens": self.pad_to_max_tokens,
            "vocabulary": self.get_vocabulary() if self._vocab is not None else None,
            "idf_weights": None if self._idf is None else self._idf.tolist(),
            "encoding": self.encoding,
        }
