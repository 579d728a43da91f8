"""Categorical preprocessing layers: StringLookup, IntegerLookup, CategoryEncoding, Hashing, Discretization.

* ``StringLookup`` / ``IntegerLookup``: tokens to indices (``output_mode='int'``) or to vocabulary-sized
  vectors (``'one_hot'``, ``'multi_hot'``, ``'count'``, ``'tf_idf'``); ``invert=True`` maps indices back.
  Layout: the mask token at 0 (when given, int mode only), ``num_oov_indices`` OOV slots, the vocabulary.
  ``adapt`` ranks tokens by decreasing count (ties in reverse order). The tables are
  :class:`shendu.data.text.VocabularyTable`'s.
* ``CategoryEncoding(num_tokens, output_mode)``: ids to one-hot / multi-hot / count vectors
  (:func:`shendu.data.text.encode_categories`).
* ``Hashing(num_bins)``: tokens to ``hash mod num_bins`` (CRC-32 of the text; Keras uses FarmHash, so
  the bin of a given value differs from Keras's).
* ``Discretization``: values to bucket ids by ``bin_boundaries``; ``adapt`` takes ``num_bins`` quantiles
  (exact ones, where Keras uses an approximate sketch).

Strings cannot live in a Tensor: inverted StringLookups give NumPy object arrays of ``str``.
"""

import numpy as np

from ...data.text import VocabularyTable, _stable_hash, encode_categories
from ...tensor import Tensor
from .base import Bool, Choice, Fixed, Float, Int, KerasTensor, Layer, Plain

__all__ = ["StringLookup", "IntegerLookup", "CategoryEncoding", "Hashing", "Discretization"]

_ENCODED = ("one_hot", "multi_hot", "count", "tf_idf")


def _raw(inputs):
    """Input data as a NumPy array (strings stay strings); symbolic inputs unchanged."""
    if isinstance(inputs, KerasTensor):
        return inputs
    if hasattr(inputs, "numpy") and not isinstance(inputs, Tensor):
        inputs = inputs.numpy()
    return np.asarray(getattr(inputs, "array", inputs))


def _encoded_shape(input_shape, width, output_mode):
    shape = tuple(input_shape)
    if output_mode == "one_hot" and (not shape or shape[-1] != 1):
        shape = shape + (1,)
    if len(shape) <= 1:
        return (width,)
    return shape[:-1] + (width,)


_SPARSE = Fixed(False, hint=": shendu has no sparse tensors")


class _Categorical(Layer):
    """Shared by the layers here and TextVectorization: raw NumPy inputs; ``output_mode='int'`` keeps the
    input shape, the other modes give vectors of ``_width()``."""

    def _convert_inputs(self, inputs):
        return _raw(inputs)

    def compute_output_shape(self, input_shape):
        if self.output_mode == "int":
            return tuple(input_shape)
        return _encoded_shape(input_shape, self._width(), self.output_mode)

    def compute_output_dtype(self, input_dtype):
        return "int64" if self.output_mode == "int" else self.dtype

    def _output(self, values):
        """Ids ('int' mode) or encoded vectors as the output Tensor, of ``compute_output_dtype``."""
        return Tensor(np.asarray(values).astype(self.compute_output_dtype(None)))

    def _encode(self, ids):
        """Integer ids as the output: themselves in 'int' mode, else vectors of ``_width()``."""
        int_mode = self.output_mode == "int"
        return self._output(ids if int_mode else encode_categories(ids, self._width(), self.output_mode))


class _Vocabulary:
    """Keras's vocabulary methods, on the layer's table ``_vocab`` (a
    :class:`shendu.data.text.VocabularyTable` or :class:`shendu.data.text.TextVectorizer`)."""

    def adapt(self, data, batch_size=None, steps=None):
        """Build the vocabulary (and the idf weights for 'tf_idf') from data: an array / list, or an
        iterable of batches (or ``(x, y)`` pairs), as a dataset gives them."""
        self._vocab.adapt(data, steps)

    def set_vocabulary(self, vocabulary, idf_weights=None):
        """Use ``vocabulary`` (a list of tokens, or a file path with one token a line); the special tokens
        are added in front when missing."""
        self._vocab.set_vocabulary(vocabulary, idf_weights)

    def get_vocabulary(self, include_special_tokens=True):
        return self._vocab.get_vocabulary(include_special_tokens)

    def vocabulary_size(self):
        return self._vocab.vocabulary_size()


# ----- StringLookup / IntegerLookup -----------------------------------------------------------------
class _Lookup(_Vocabulary, _Categorical):
    _kind = "string"

    def _setup(self):
        self.sparse = False
        if self.invert and self.output_mode != "int":
            raise ValueError(f"{type(self).__name__} '{self.name}': invert=True needs output_mode='int', "
                             f"got {self.output_mode!r}")
        self._vocab = VocabularyTable(
            self.max_tokens, self.num_oov_indices, self.mask_token, self.oov_token, self.output_mode,
            self.pad_to_max_tokens, kind=self._kind, encoding=getattr(self, "encoding", "utf-8"),
            name=f"{type(self).__name__} '{self.name}'")
        self.output_mode = self._vocab.output_mode  # 'binary' is the tf.keras 2 name of 'multi_hot'
        if self.vocabulary is not None:
            self.set_vocabulary(self.vocabulary, self.idf_weights)
        self.built = True

    @property
    def idf_weights_array(self):
        return self._vocab.idf

    def _width(self):
        return self._vocab.width()

    def call(self, inputs):
        if self.invert:
            out = self._vocab.invert(inputs)
            return Tensor(out) if out.dtype != object else out
        return self._output(self._vocab.transform(inputs))

    def compute_output_dtype(self, input_dtype):
        if self.invert:
            return "string" if self._kind == "string" else "int64"
        if self.output_mode == "int":
            return "int64"
        return self.dtype if np.dtype(self.dtype).kind == "f" else "float32"

    def get_config(self):
        config = super().get_config()
        vocab = self._vocab.get_vocabulary(include_special_tokens=False)
        given = vocab or self._vocab.adapted or self.vocabulary is not None
        config["vocabulary"] = vocab if given else None
        config["idf_weights"] = None if self._vocab.idf is None else self._vocab.idf.tolist()
        config["vocabulary_size"] = self.vocabulary_size()
        return config


def _lookup_args(oov_token, order):
    args = dict(max_tokens=Int(2, None, optional=True), num_oov_indices=Int(0, 1), mask_token=Plain(),
                oov_token=Plain(oov_token), vocabulary=Plain(save=False), idf_weights=Plain(save=False),
                invert=Bool(False), output_mode=Choice("int", "int", *_ENCODED, "binary"),
                pad_to_max_tokens=Bool(False), sparse=_SPARSE, encoding=Plain("utf-8"),
                vocabulary_dtype=Choice("int64", "int64", "int32"),
                vocabulary_size=Plain(save=False, attr="_given_vocabulary_size"))
    return {k: args[k] for k in order}


class StringLookup(_Lookup):
    """Strings to integer ids or vectors: ``StringLookup(vocabulary=["a", "b"])(["a", "z"]) -> [1, 0]``."""

    _kind = "string"
    keras_args = _lookup_args("[UNK]", ("max_tokens", "num_oov_indices", "mask_token", "oov_token",
                                        "vocabulary", "idf_weights", "invert", "output_mode",
                                        "pad_to_max_tokens", "sparse", "encoding", "vocabulary_size"))


class IntegerLookup(_Lookup):
    """Integers to ids or vectors: ``IntegerLookup(vocabulary=[12, 36])([[12, 7]]) -> [[1, 0]]``."""

    _kind = "int"
    keras_args = _lookup_args(-1, ("max_tokens", "num_oov_indices", "mask_token", "oov_token", "output_mode",
                                   "pad_to_max_tokens", "sparse", "vocabulary", "vocabulary_dtype",
                                   "idf_weights", "invert", "vocabulary_size"))


# ----- CategoryEncoding ---------------------------------------------------------------------------
class CategoryEncoding(_Categorical):
    """Integer ids in [0, num_tokens) to one-hot / multi-hot / count vectors; ``count_weights`` weight the
    counts: ``CategoryEncoding(4, "count")([[0, 1], [3, 3]], count_weights=...)``."""

    keras_args = dict(num_tokens=Int(1, None, optional=True),
                      output_mode=Choice("multi_hot", "multi_hot", "one_hot", "count"), sparse=_SPARSE)

    def _setup(self):
        if self.num_tokens is None:
            raise ValueError(f"CategoryEncoding '{self.name}': num_tokens must be set")
        self.built = True

    def call(self, inputs, count_weights=None):
        if count_weights is not None and self.output_mode != "count":
            raise ValueError(f"CategoryEncoding '{self.name}': count_weights only apply to "
                             f"output_mode='count', got {self.output_mode!r}")
        out = encode_categories(inputs, self.num_tokens, self.output_mode,
                                None if count_weights is None else _raw(count_weights),
                                owner=f"CategoryEncoding '{self.name}'")
        return Tensor(out.astype(self.dtype))

    def _width(self):
        return self.num_tokens


# ----- Hashing ------------------------------------------------------------------------------------
class Hashing(_Categorical):
    """Strings or integers to bins ``[0, num_bins)``: CRC-32 of the value's text (with ``salt`` appended)
    mod ``num_bins``; with ``mask_value`` that value gives 0 and the rest bins ``1 .. num_bins - 1``."""

    keras_args = dict(num_bins=Int(1), mask_value=Plain(), salt=Plain(),
                      output_mode=Choice("int", "int", "one_hot", "multi_hot", "count"), sparse=_SPARSE)

    def _setup(self):
        if self.mask_value is not None and self.num_bins < 2:
            raise ValueError(f"Hashing '{self.name}': with mask_value, num_bins must be at least 2")
        self.built = True

    def _bin(self, value):
        if isinstance(value, bytes):
            value = value.decode("utf-8")
        if self.mask_value is not None and value == self.mask_value:
            return 0
        text = str(value) + ("" if self.salt is None else str(self.salt))
        if self.mask_value is None:
            return _stable_hash(text) % self.num_bins
        return 1 + _stable_hash(text) % (self.num_bins - 1)

    def call(self, inputs):
        arr = np.asarray(inputs, dtype=object)
        ids = np.asarray([self._bin(v) for v in arr.ravel().tolist()], dtype=np.int64).reshape(arr.shape)
        return self._encode(ids)

    def _width(self):
        return self.num_bins


# ----- Discretization -----------------------------------------------------------------------------
class Discretization(_Categorical):
    """Values to bucket ids: with boundaries b_0 < b_1 < …, id i means b_{i-1} <= x < b_i (ids 0 ..
    len(boundaries)). ``adapt(data)`` sets ``num_bins - 1`` boundaries at the data's quantiles."""

    keras_args = dict(bin_boundaries=Plain(), num_bins=Int(1, None, optional=True), epsilon=Float(0.01),
                      output_mode=Choice("int", "int", "one_hot", "multi_hot", "count"), sparse=_SPARSE)

    def _setup(self):
        if self.bin_boundaries is not None and self.num_bins is not None:
            raise ValueError(f"Discretization '{self.name}': pass bin_boundaries or num_bins, not both")
        if self.bin_boundaries is None and self.num_bins is None:
            raise ValueError(f"Discretization '{self.name}': pass bin_boundaries, or num_bins and adapt()")
        if self.bin_boundaries is not None:
            self.bin_boundaries = [float(b) for b in self.bin_boundaries]
        self.built = True

    def adapt(self, data, batch_size=None, steps=None):
        from ...data.stats import iter_batches

        parts = [np.asarray(b, dtype=np.float64).ravel() for i, b in enumerate(iter_batches(data))
                 if steps is None or i < steps]
        values = np.concatenate(parts) if parts else np.zeros(0)
        if values.size == 0:
            raise ValueError(f"Discretization '{self.name}': adapt() got no data")
        qs = np.linspace(0.0, 1.0, self.num_bins + 1)[1:-1]
        self.bin_boundaries = sorted(set(np.quantile(values, qs).tolist()))

    def _width(self):
        return len(self.bin_boundaries) + 1

    def call(self, inputs):
        if self.bin_boundaries is None:
            raise ValueError(f"Discretization '{self.name}': call adapt() first")
        return self._encode(np.digitize(np.asarray(inputs, dtype=np.float64), self.bin_boundaries))
