"""Embedding: integer token ids (batch, steps) -> vectors (batch, steps, output_dim)."""

import numpy as np

from ... import nn
from ...tensor import Tensor
from .base import Bool, Con, Init, Int, KerasTensor, Layer, Plain, Reg, W

__all__ = ["Embedding"]


class Embedding(Layer):
    """A lookup table of ``input_dim`` rows of size ``output_dim`` (``nn.Embedding`` inside; same layout).

    ``weights=[matrix]`` starts it from pretrained vectors and ``trainable=False`` keeps them fixed.
    ``input_length`` (Keras 2) fixes the sequence length, so a first layer gives the model its input shape.
    ``mask_zero=True`` gives the output the mask ``ids != 0``: the recurrent layers downstream skip the
    padded steps (they carry the previous state over them), as in Keras.
    """

    keras_args = dict(input_dim=Int(1), output_dim=Int(1), embeddings_initializer=Init("uniform"),
                      embeddings_regularizer=Reg(), activity_regularizer=Reg(), embeddings_constraint=Con(),
                      mask_zero=Bool(False), input_length=Plain())
    keras_weights = (W("embeddings", "embedding.weight", lambda s, c: (s.input_dim, s.output_dim)),)

    def _setup(self):
        self.supports_masking = self.mask_zero
        if self.input_length is not None and self._batch_input_shape is None:
            self._batch_input_shape = (None, self.input_length)

    def _features(self, input_shape):
        return 0  # the table's shape does not depend on the input

    def build(self, input_shape=None):
        self.embedding = nn.Embedding(self.input_dim, self.output_dim)

    def _input_dtype(self):
        return "int64"

    def _convert_inputs(self, inputs):
        if isinstance(inputs, KerasTensor):
            return inputs
        data = inputs.array if isinstance(inputs, Tensor) else np.asarray(inputs)
        if data.dtype.kind not in "iu":
            data = data.astype(np.int64)  # Keras casts float ids (e.g. from pad_sequences(dtype=float))
        return Tensor(data)

    def call(self, inputs):
        ids = inputs.array
        if ids.size and (ids.min() < 0 or ids.max() >= self.input_dim):
            bad = int(ids.max()) if ids.max() >= self.input_dim else int(ids.min())
            raise IndexError(f"Embedding '{self.name}': token id {bad} is outside [0, {self.input_dim}); "
                             f"input_dim must be larger than the largest id (e.g. len(word_index) + 1)")
        return self.embedding(inputs)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.output_dim,)

    def compute_mask(self, inputs, mask=None):
        if not self.mask_zero:
            return None
        ids = inputs.array if isinstance(inputs, Tensor) else np.asarray(inputs)
        return Tensor(ids != 0)

    @property
    def embeddings(self):
        return self.embedding.weight
