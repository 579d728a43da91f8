"""Core layers: Dense, Activation, Dropout, Flatten, Reshape, Permute, RepeatVector, Lambda."""

import numpy as np

import shendu as sd

from ... import nn
from .base import (
    REQUIRED,
    Act,
    Bool,
    DataFormat,
    Fixed,
    Float,
    InputSpec,
    Int,
    IntList,
    Layer,
    Plain,
    W,
    weight_args,
)

__all__ = ["Dense", "Activation", "Dropout", "Flatten", "Reshape", "Permute", "RepeatVector", "Lambda",
    "Identity"]


class Dense(Layer):
    """Densely connected layer: ``output = activation(inputs @ kernel + bias)`` on the last axis.

    Keras layout: kernel (in, units), bias (units,). Inside is an ``nn.Linear`` holding weight (units, in).
    """

    supports_masking = True
    keras_args = dict(units=Int(1), activation=Act(), use_bias=Bool(True),
                      **weight_args(kernel="glorot_uniform", bias="zeros"))
    keras_weights = (W("kernel", "linear.weight", lambda s, c: (c, s.units), perm=(1, 0)),
                     W("bias", "linear.bias", lambda s, c: (s.units,), when="use_bias"))

    def _setup(self):
        self.input_spec = InputSpec(min_ndim=2)

    def build(self, input_shape):
        self.linear = nn.Linear(self._known_features(input_shape), self.units, bias=self.use_bias)

    def call(self, inputs):
        return self.activation(self.linear(inputs))

    @property
    def kernel(self):
        return self.linear.weight.T

    @property
    def bias(self):
        return self.linear.bias if self.use_bias else None

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)


class Activation(Layer):
    """Applies an activation function: ``Activation('relu')``."""

    supports_masking = True
    keras_args = dict(activation=Act(REQUIRED))

    def call(self, inputs):
        return self.activation(inputs)

    compute_output_shape = Layer._same_shape


class Identity(Layer):
    """Returns its input unchanged."""

    def call(self, inputs):
        return inputs

    compute_output_shape = Layer._same_shape


class Dropout(Layer):
    """Sets a fraction ``rate`` of inputs to 0 during training and scales the rest by 1/(1 - rate)."""

    supports_masking = True
    keras_args = dict(rate=Float(low=0, high=1), noise_shape=Fixed(None, save=False), seed=Plain())

    def _setup(self):
        self.dropout = nn.Dropout(p=self.rate)

    def call(self, inputs):
        return self.dropout(inputs)

    compute_output_shape = Layer._same_shape


class Flatten(Layer):
    """(batch, d1, d2, ...) -> (batch, d1·d2·...), in the channels-last order Keras uses."""

    keras_args = dict(data_format=DataFormat())

    def call(self, inputs):
        if self.data_format == "channels_first" and inputs.ndim > 2:
            inputs = sd.permute(inputs, (0,) + tuple(range(2, inputs.ndim)) + (1,))
        return sd.reshape(inputs, (inputs.shape[0], -1))

    def compute_output_shape(self, input_shape):
        rest = input_shape[1:]
        n = None if any(d is None for d in rest) else int(np.prod(rest)) if rest else 1
        return (input_shape[0], n)


class Reshape(Layer):
    """Reshape each sample to ``target_shape`` (one entry may be -1)."""

    keras_args = dict(target_shape=IntList(-1))

    def call(self, inputs):
        return sd.reshape(inputs, (inputs.shape[0],) + self.target_shape)

    def compute_output_shape(self, input_shape):
        target, known = list(self.target_shape), input_shape[1:]
        if None in known:
            return (input_shape[0],) + tuple(None if d == -1 else d for d in target)
        total, rest = int(np.prod(known)), int(np.prod([d for d in target if d != -1]))
        if -1 not in target and total != rest:
            raise ValueError(f"Reshape '{self.name}': total size of the new shape {self.target_shape} must "
                             f"equal the size of the input {tuple(known)}")
        if -1 in target:
            if rest == 0 or total % rest:
                raise ValueError(f"Reshape '{self.name}': cannot reshape {input_shape} into "
                                 f"{self.target_shape}")
            target[target.index(-1)] = total // rest
        return (input_shape[0],) + tuple(target)


class Permute(Layer):
    """Permute the non-batch axes: ``Permute((2, 1))`` swaps the two axes after the batch (1-based)."""

    keras_args = dict(dims=IntList(1))

    def _setup(self):
        if sorted(self.dims) != list(range(1, len(self.dims) + 1)):
            raise ValueError(f"Permute: dims must be a permutation of 1..{len(self.dims)}, got {self.dims!r}")

    def call(self, inputs):
        return sd.permute(inputs, (0,) + self.dims)

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + tuple(input_shape[d] for d in self.dims)


class RepeatVector(Layer):
    """(batch, features) -> (batch, n, features): the input repeated ``n`` times."""

    keras_args = dict(n=Int(1))

    def call(self, inputs):
        return sd.tile(sd.unsqueeze(inputs, 1), (1, self.n, 1))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.n, input_shape[1])


def _saved_function(name, custom_objects):
    """The function a saved Lambda names, from ``custom_objects`` or the registered objects."""
    if not isinstance(name, str):
        return name
    from ..utils import get_custom_objects

    fn = (custom_objects or {}).get(name) or get_custom_objects().get(name)
    if fn is None:
        raise ValueError(f"A Lambda layer uses the function {name!r}, which is not saved in the file: pass "
                         f"it as load_model(..., custom_objects={{'{name}': {name}}})")
    return fn


class Lambda(Layer):
    """Wraps a function of tensors as a layer: ``Lambda(lambda x: x * 2)``.

    The function is saved by name only; loading a model that uses one needs
    ``load_model(path, custom_objects={"name": fn})``.
    """

    keras_args = dict(function=Plain(REQUIRED, save=lambda f: getattr(f, "__name__", "<lambda>"),
                                     load=_saved_function),
                      output_shape=Plain(attr="_given_output_shape", save=False), mask=Plain(save=False),
                      arguments=Plain({}, parse=lambda layer, name, v: dict(v or {})))

    def call(self, inputs):
        return self.function(inputs, **self.arguments)

    def compute_output_shape(self, input_shape):
        given = self._given_output_shape
        if given is None:
            return super().compute_output_shape(input_shape)
        return given(input_shape) if callable(given) else (input_shape[0],) + tuple(given)
