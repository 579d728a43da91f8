"""Preprocessing layers: Masking, Rescaling, Normalization (with ``adapt``) and TextVectorization.

* ``Masking(mask_value)``: a step is masked when all its features equal ``mask_value``; masked steps are
  zeroed and the mask is handed to the layers downstream (recurrent layers skip those steps).
* ``Rescaling(scale, offset)``: y = x·scale + offset (integer input is cast to float first).
* ``Normalization(axis=-1)``: y = (x − mean) / max(√variance, ε), ε = 1e-7; ``adapt(data)`` sets mean and
  variance from data (over every axis but ``axis``); ``invert=True`` maps back, x = mean + y·max(√var, ε).
* ``TextVectorization``: strings → token ids (``output_mode='int'``) or vocabulary-sized vectors
  (``'multi_hot'``, ``'count'``, ``'tf_idf'`` with idf = log(1 + N_docs / (1 + doc_freq))).

The statistics of ``adapt`` are :mod:`shendu.data.stats`'s and the text work is
:class:`shendu.data.text.TextVectorizer`'s; these layers map Keras's arguments onto them.
"""

import numpy as np

import shendu as sd

from ...data.stats import moments
from ...data.text import TextVectorizer
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
        axis but ``axis`` (:func:`shendu.data.stats.moments`)."""
        try:
            mean, var, count, shape = moments(data, self.axis, steps)
        except ValueError:
            raise ValueError(f"Normalization '{self.name}': adapt() got no data") from None
        self._adapted = (mean, var, count)
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
class TextVectorization(Layer):
    """Strings to token ids or bag-of-words vectors. ``adapt(texts)`` builds the vocabulary: index 0 is
    the padding token '' (int mode only), then '[UNK]' for out-of-vocabulary tokens, then the tokens by
    decreasing frequency (ties in reverse string order), at most ``max_tokens`` entries in all. The work
    is :class:`shendu.data.text.TextVectorizer`'s."""

    OOV = TextVectorizer.OOV

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
        if sparse or ragged:
            raise NotImplementedError("TextVectorization: sparse and ragged outputs are not supported")
        self._vectorizer = TextVectorizer(max_tokens, standardize, split, ngrams, output_mode,
                                          output_sequence_length, pad_to_max_tokens, encoding,
                                          name="TextVectorization")
        self.built = True
        if vocabulary is not None:
            self.set_vocabulary(vocabulary, idf_weights)

    def adapt(self, data, batch_size=None, steps=None):
        """Build the vocabulary (and the idf weights for 'tf_idf') from strings: a list / array, or an
        iterable of batches of strings (a dataset)."""
        self._vectorizer.adapt(data, steps)

    def set_vocabulary(self, vocabulary, idf_weights=None):
        """Use ``vocabulary`` (a list of tokens, or a file path with one token a line); the padding and
        OOV tokens are added in front when missing."""
        self._vectorizer.set_vocabulary(vocabulary, idf_weights)

    def get_vocabulary(self, include_special_tokens=True):
        return self._vectorizer.get_vocabulary(include_special_tokens)

    def vocabulary_size(self):
        return self._vectorizer.vocabulary_size()

    def _convert_inputs(self, inputs):
        return inputs if isinstance(inputs, KerasTensor) else self._vectorizer.texts(inputs)

    def call(self, inputs):
        if self._vectorizer.vocabulary is None:
            raise ValueError(f"TextVectorization '{self.name}': call adapt() or set_vocabulary() first")
        out = self._vectorizer.transform(inputs)
        return Tensor(out if self.output_mode == "int" else out.astype(self.dtype))

    def compute_output_shape(self, input_shape):
        if self.output_mode == "int":
            return (input_shape[0], self.output_sequence_length)
        return (input_shape[0], self._vectorizer.width())

    def compute_output_dtype(self, input_dtype):
        return "int64" if self.output_mode == "int" else self.dtype

    def get_config(self):
        return {**super().get_config(), **self._vectorizer.get_config()}


def _vectorizer_attribute(key):
    return property(lambda self: getattr(self._vectorizer, key),
                    lambda self, value: setattr(self._vectorizer, key, value))


for _key in ("max_tokens", "standardize", "split", "ngrams", "output_mode", "output_sequence_length",
             "pad_to_max_tokens", "encoding"):
    setattr(TextVectorization, _key, _vectorizer_attribute(_key))
