"""Embedding: integer token ids (batch, steps) -> vectors (batch, steps, output_dim)."""

import numpy as np

from ... import nn
from ...tensor import Tensor
from .. import constraints as _constraints
from .. import initializers as _initializers
from .. import regularizers as _regularizers
from .base import KerasTensor, Layer, WeightSpec, int_arg
from .core import _serialize_init, init_param

__all__ = ["Embedding"]


class Embedding(Layer):
    """A lookup table of ``input_dim`` rows of size ``output_dim`` (``nn.Embedding`` inside; same layout).

    ``weights=[matrix]`` starts it from pretrained vectors and ``trainable=False`` keeps them fixed.
    ``input_length`` (Keras 2) fixes the sequence length, so a first layer gives the model its input shape.
    ``mask_zero=True`` gives the output the mask ``ids != 0``: the recurrent layers downstream skip the
    padded steps (they carry the previous state over them), as in Keras.
    """

    def __init__(
        self,
        input_dim,
        output_dim,
        embeddings_initializer="uniform",
        embeddings_regularizer=None,
        activity_regularizer=None,
        embeddings_constraint=None,
        mask_zero=False,
        input_length=None,
        **kwargs,
    ):
        if input_length is not None and "input_shape" not in kwargs and "batch_input_shape" not in kwargs:
            kwargs["input_shape"] = (input_length,)
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        owner = f"Embedding '{self.name}'"
        self.input_dim = int_arg(owner, "input_dim", input_dim, minimum=1)
        self.output_dim = int_arg(owner, "output_dim", output_dim, minimum=1)
        self.embeddings_initializer = _initializers.get(embeddings_initializer)
        self.embeddings_regularizer = _regularizers.get(embeddings_regularizer)
        self.embeddings_constraint = _constraints.get(embeddings_constraint)
        self.mask_zero = bool(mask_zero)
        self.input_length = input_length
        self.supports_masking = self.mask_zero

    def _planned_weights(self, input_shape):
        return [("embeddings", (self.input_dim, self.output_dim))]

    def build(self, input_shape=None):
        self.embedding = nn.Embedding(self.input_dim, self.output_dim)
        init_param(
            self.embedding.weight, self.embeddings_initializer, (self.input_dim, self.output_dim), lambda a: a
        )

    def _input_dtype(self):
        return "int64"

    def compute_output_dtype(self, input_dtype):
        return self.dtype

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
            raise IndexError(
                f"Embedding '{self.name}': token id {bad} is outside [0, {self.input_dim}); "
                f"input_dim must be larger than the largest id (e.g. len(word_index) + 1)"
            )
        return self.embedding(inputs)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.output_dim,)

    def compute_mask(self, inputs, mask=None):
        if not self.mask_zero:
            return None
        ids = inputs.array if isinstance(inputs, Tensor) else np.asarray(inputs)
        return Tensor(ids != 0)

    def _weight_specs(self):
        return [
            WeightSpec("embeddings", self.embedding.weight, regularizer=self.embeddings_regularizer,
                       constraint=self.embeddings_constraint)
        ] + self._extra_specs

    @property
    def embeddings(self):
        return self.embedding.weight

    def get_config(self):
        return {
            **super().get_config(),
            "input_dim": self.input_dim,
            "output_dim": self.output_dim,
            "embeddings_initializer": _serialize_init(self.embeddings_initializer),
            "embeddings_regularizer": _regularizers.serialize(self.embeddings_regularizer),
            "embeddings_constraint": _constraints.serialize(self.embeddings_constraint),
            "mask_zero": self.mask_zero,
            "input_length": self.input_length,
        }
