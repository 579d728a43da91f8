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

from ...data.stats import moments
from ...data.text import TextVectorizer
from ...nn.functional import mask_steps, standardize
from ...tensor import Tensor
from .base import REQUIRED, Arg, Bool, Fixed, KerasTensor, Layer, Plain
from .image_preprocessing import _as_float
from .lookup import _Categorical, _Vocabulary

__all__ = ["Masking", "Rescaling", "Normalization", "TextVectorization"]

_EPSILON = 1e-7


def _jsonable(v):
    return np.asarray(v).tolist() if isinstance(v, (np.ndarray, np.generic, list, tuple)) else v


class Masking(Layer):
    """Mask the time steps whose features all equal ``mask_value`` (input (batch, steps, features))."""

    supports_masking = True
    keras_args = dict(mask_value=Plain(0.0))

    def call(self, inputs):
        return mask_steps(inputs, self.mask_value)[0]

    def compute_mask(self, inputs, mask=None):
        return mask_steps(inputs, self.mask_value)[1]

    compute_output_shape = Layer._same_shape


class Rescaling(Layer):
    """``Rescaling(1.0 / 255)``: y = x·scale + offset."""

    supports_masking = True
    keras_args = dict(scale=Plain(REQUIRED, save=_jsonable), offset=Plain(0.0, save=_jsonable))

    _convert_inputs = _as_float  # integer input is cast to float first

    def call(self, inputs):
        scale = np.asarray(self.scale, dtype=inputs.dtype)
        offset = np.asarray(self.offset, dtype=inputs.dtype)
        return inputs * Tensor(scale) + Tensor(offset)

    compute_output_shape = Layer._same_shape


def _axes(layer, name, axis):
    return () if axis is None else tuple(int(a) for a in np.atleast_1d(axis))


class Normalization(Layer):
    """Feature-wise standardisation: ``norm = Normalization(); norm.adapt(x_train); model(norm(x))``."""

    supports_masking = True
    keras_args = dict(axis=Arg(-1, _axes, list), mean=Plain(attr="input_mean", save=_jsonable),
                      variance=Plain(attr="input_variance", save=_jsonable), invert=Bool(False))

    def _setup(self):
        if (self.input_mean is None) != (self.input_variance is None):
            raise ValueError("Normalization: pass both mean and variance, or neither (then call adapt)")
        self._adapted = None

    def build(self, input_shape):
        kept = sorted(a % len(input_shape) for a in self.axis)
        if any(input_shape[a] is None for a in kept):
            raise ValueError(f"Normalization '{self.name}': axes {kept} of the input {input_shape} must be "
                             "known")
        if self.input_mean is None:
            stat = tuple(int(input_shape[a]) for a in kept)
            self.mean = self.add_weight(name="mean", shape=stat, initializer="zeros", trainable=False)
            self.variance = self.add_weight(name="variance", shape=stat, initializer="ones", trainable=False)
            self.count = self.add_weight(name="count", shape=(), initializer="zeros", trainable=False,
                                         dtype="int64")
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

    def call(self, inputs):
        given = self.input_mean is not None
        stats = (self.input_mean, self.input_variance) if given else (self.mean, self.variance)
        return standardize(inputs, *stats, axis=self.axis, eps=_EPSILON, invert=self.invert)

    compute_output_shape = Layer._same_shape


# ----- TextVectorization ----------------------------------------------------------------------------
_VECTORIZER_ARGS = ("max_tokens", "standardize", "split", "ngrams", "output_mode", "output_sequence_length",
                    "pad_to_max_tokens", "encoding")


class TextVectorization(_Vocabulary, _Categorical):
    """Strings to token ids or bag-of-words vectors. ``adapt(texts)`` builds the vocabulary: index 0 is
    the padding token '' (int mode only), then '[UNK]' for out-of-vocabulary tokens, then the tokens by
    decreasing frequency (ties in reverse string order), at most ``max_tokens`` entries in all. The work
    is :class:`shendu.data.text.TextVectorizer`'s."""

    OOV = TextVectorizer.OOV
    keras_args = {k: Plain(v, save=False, attr=f"_given_{k}") for k, v in dict(
        max_tokens=None, standardize="lower_and_strip_punctuation", split="whitespace", ngrams=None,
        output_mode="int", output_sequence_length=None, pad_to_max_tokens=False, vocabulary=None,
        idf_weights=None, sparse=False, ragged=False, encoding="utf-8", vocabulary_size=None).items()}
    keras_args.update({k: Fixed(False, save=False, attr=f"_given_{k}") for k in ("sparse", "ragged")})

    def _setup(self):
        given = {k: getattr(self, f"_given_{k}") for k in self.keras_args}
        self._vocab = TextVectorizer(**{k: given[k] for k in _VECTORIZER_ARGS}, name="TextVectorization")
        self.built = True
        if given["vocabulary"] is not None:
            self.set_vocabulary(given["vocabulary"], given["idf_weights"])
        self._given_vocabulary = self._given_idf_weights = None

    def _convert_inputs(self, inputs):
        return inputs if isinstance(inputs, KerasTensor) else self._vocab.texts(inputs)

    def call(self, inputs):
        if self._vocab.vocabulary is None:
            raise ValueError(f"TextVectorization '{self.name}': call adapt() or set_vocabulary() first")
        return self._output(self._vocab.transform(inputs))

    def compute_output_shape(self, input_shape):
        int_mode = self.output_mode == "int"
        return (input_shape[0], self.output_sequence_length if int_mode else self._vocab.width())

    def get_config(self):
        return {**super().get_config(), **self._vocab.get_config()}


def _vectorizer_attribute(key):
    return property(lambda self: getattr(self._vocab, key),
                    lambda self, value: setattr(self._vocab, key, value))


for _key in _VECTORIZER_ARGS:
    setattr(TextVectorization, _key, _vectorizer_attribute(_key))
