"""Core layers: Dense, Activation, Dropout, Flatten, Reshape, Permute, RepeatVector, Lambda."""

import numpy as np

import shendu as sd

from ... import nn
from .. import activations as _activations
from .. import constraints as _constraints
from .. import initializers as _initializers
from .. import regularizers as _regularizers
from .base import InputSpec, Layer, WeightSpec, int_arg

__all__ = [
    "Dense",
    "Activation",
    "Dropout",
    "Flatten",
    "Reshape",
    "Permute",
    "RepeatVector",
    "Lambda",
    "Identity",
]


def _serialize_init(x):
    return _initializers.serialize(_initializers.get(x))


def init_param(param, initializer, keras_shape, from_keras):
    """Fill a PyTorch-layout parameter with ``initializer`` drawn in its Keras shape."""
    value = _initializers.get(initializer)(keras_shape, dtype=param.array.dtype)
    param.array[...] = from_keras(np.asarray(value)).astype(param.array.dtype, copy=False)


def _T(a):
    return np.ascontiguousarray(a.T)


class Dense(Layer):
    """Densely connected layer: ``output = activation(inputs @ kernel + bias)`` on the last axis.

    Keras layout: kernel (in, units), bias (units,). Inside is an ``nn.Linear`` holding weight (units, in).
    """

    _mask_passthrough = True

    def __init__(
        self,
        units,
        activation=None,
        use_bias=True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        kernel_constraint=None,
        bias_constraint=None,
        **kwargs,
    ):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.units = int_arg(f"Dense '{self.name}'", "units", units, minimum=1)
        self.activation = _activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = _initializers.get(kernel_initializer)
        self.bias_initializer = _initializers.get(bias_initializer)
        self.kernel_regularizer = _regularizers.get(kernel_regularizer)
        self.bias_regularizer = _regularizers.get(bias_regularizer)
        self.kernel_constraint = _constraints.get(kernel_constraint)
        self.bias_constraint = _constraints.get(bias_constraint)
        self.input_spec = InputSpec(min_ndim=2)

    def build(self, input_shape):
        in_dim = input_shape[-1]
        if in_dim is None:
            raise ValueError(
                f"Dense '{self.name}': the last axis of the input must be known, got shape {input_shape}"
            )
        self.linear = nn.Linear(int(in_dim), self.units, bias=self.use_bias)
        init_param(self.linear.weight, self.kernel_initializer, (in_dim, self.units), _T)
        if self.use_bias:
            init_param(self.linear.bias, self.bias_initializer, (self.units,), lambda a: a)

    def _planned_weights(self, input_shape):
        in_dim = input_shape[-1]
        if in_dim is None:
            return None
        planned = [("kernel", (in_dim, self.units))]
        return planned + [("bias", (self.units,))] if self.use_bias else planned

    def call(self, inputs):
        return self.activation(self.linear(inputs))

    def _weight_specs(self):
        specs = [WeightSpec("kernel", self.linear.weight, _T, _T, regularizer=self.kernel_regularizer,
                            constraint=self.kernel_constraint)]
        if self.use_bias:
            specs.append(WeightSpec("bias", self.linear.bias, regularizer=self.bias_regularizer,
                                    constraint=self.bias_constraint))
        return specs + self._extra_specs

    @property
    def kernel(self):
        return self.linear.weight.T

    @property
    def bias(self):
        return self.linear.bias if self.use_bias else None

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "activation": _activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": _serialize_init(self.kernel_initializer),
            "bias_initializer": _serialize_init(self.bias_initializer),
            "kernel_regularizer": _regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": _regularizers.serialize(self.bias_regularizer),
            "activity_regularizer": _regularizers.serialize(self.activity_regularizer),
            "kernel_constraint": _constraints.serialize(self.kernel_constraint),
            "bias_constraint": _constraints.serialize(self.bias_constraint),
        }


class Activation(Layer):
    """Applies an activation function: ``Activation('relu')``."""

    _mask_passthrough = True

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = _activations.get(activation)

    def call(self, inputs):
        return self.activation(inputs)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "activation": _activations.serialize(self.activation)}


class Identity(Layer):
    """Returns its input unchanged."""

    def call(self, inputs):
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape


class Dropout(Layer):
    """Sets a fraction ``rate`` of inputs to 0 during training and scales the rest by 1/(1 - rate)."""

    _mask_passthrough = True

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not 0 <= float(rate) <= 1:
            raise ValueError(f"Dropout: rate must be in [0, 1], got {rate!r}")
        if noise_shape is not None:
            raise NotImplementedError(
                "Dropout(noise_shape=...) is not supported; use SpatialDropout-free code"
            )
        self.rate = float(rate)
        self.seed = seed
        self.dropout = nn.Dropout(p=self.rate)

    def call(self, inputs):
        return self.dropout(inputs)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


class Flatten(Layer):
    """(batch, d1, d2, ...) -> (batch, d1·d2·...), in the channels-last order Keras uses."""

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = data_format or "channels_last"

    def call(self, inputs):
        if self.data_format == "channels_first" and inputs.ndim > 2:
            inputs = sd.permute(inputs, (0,) + tuple(range(2, inputs.ndim)) + (1,))
        return sd.reshape(inputs, (inputs.shape[0], -1))

    def compute_output_shape(self, input_shape):
        rest = input_shape[1:]
        n = None if any(d is None for d in rest) else int(np.prod(rest)) if rest else 1
        return (input_shape[0], n)

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format}


class Reshape(Layer):
    """Reshape each sample to ``target_shape`` (one entry may be -1)."""

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        owner = f"Reshape '{self.name}'"
        if not isinstance(target_shape, (list, tuple)):
            raise ValueError(
                f"{owner}: argument 'target_shape' must be a tuple of integers, got {target_shape!r}"
            )
        self.target_shape = tuple(int_arg(owner, "target_shape", d, minimum=-1) for d in target_shape)

    def call(self, inputs):
        return sd.reshape(inputs, (inputs.shape[0],) + self.target_shape)

    def compute_output_shape(self, input_shape):
        target = list(self.target_shape)
        if -1 in target:
            known = input_shape[1:]
            if all(d is not None for d in known):
                total = int(np.prod(known))
                rest = int(np.prod([d for d in target if d != -1]))
                if rest == 0 or total % rest:
                    raise ValueError(
                        f"Reshape '{self.name}': cannot reshape {input_shape} into {self.target_shape}"
                    )
                target[target.index(-1)] = total // rest
            else:
                target[target.index(-1)] = None
        elif all(d is not None for d in input_shape[1:]) and int(np.prod(input_shape[1:])) != int(
            np.prod(target)
        ):
            raise ValueError(
                f"Reshape '{self.name}': total size of the new shape {self.target_shape} must equal "
                f"the size of the input {tuple(input_shape[1:])}"
            )
        return (input_shape[0],) + tuple(target)

    def get_config(self):
        return {**super().get_config(), "target_shape": list(self.target_shape)}


class Permute(Layer):
    """Permute the non-batch axes: ``Permute((2, 1))`` swaps the two axes after the batch (1-based)."""

    def __init__(self, dims, **kwargs):
        super().__init__(**kwargs)
        owner = f"Permute '{self.name}'"
        if not isinstance(dims, (list, tuple)):
            raise ValueError(f"{owner}: argument 'dims' must be a tuple of integers, got {dims!r}")
        self.dims = tuple(int_arg(owner, "dims", d, minimum=1) for d in dims)
        if sorted(self.dims) != list(range(1, len(self.dims) + 1)):
            raise ValueError(f"Permute: dims must be a permutation of 1..{len(self.dims)}, got {dims!r}")

    def call(self, inputs):
        return sd.permute(inputs, (0,) + self.dims)

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + tuple(input_shape[d] for d in self.dims)

    def get_config(self):
        return {**super().get_config(), "dims": list(self.dims)}


class RepeatVector(Layer):
    """(batch, features) -> (batch, n, features): the input repeated ``n`` times."""

    def __init__(self, n, **kwargs):
        super().__init__(**kwargs)
        self.n = int_arg(f"RepeatVector '{self.name}'", "n", n, minimum=1)

    def call(self, inputs):
        return sd.tile(sd.unsqueeze(inputs, 1), (1, self.n, 1))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.n, input_shape[1])

    def get_config(self):
        return {**super().get_config(), "n": self.n}


class Lambda(Layer):
    """Wraps a function of tensors as a layer: ``Lambda(lambda x: x * 2)``.

    The function is saved by name only; loading a model that uses one needs
    ``load_model(path, custom_objects={"name": fn})``.
    """

    def __init__(self, function, output_shape=None, mask=None, arguments=None, **kwargs):
        super().__init__(**kwargs)
        self.function = function
        self._given_output_shape = output_shape
        self.arguments = dict(arguments or {})

    def call(self, inputs):
        return self.function(inputs, **self.arguments)

    def compute_output_shape(self, input_shape):
        if self._given_output_shape is not None:
            if callable(self._given_output_shape):
                return self._given_output_shape(input_shape)
            return (input_shape[0],) + tuple(self._given_output_shape)
        return super().compute_output_shape(input_shape)

    def get_config(self):
        return {
            **super().get_config(),
            "function": getattr(self.function, "__name__", "<lambda>"),
            "arguments": self.arguments,
        }
