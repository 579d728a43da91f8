"""GroupNormalization: ``nn.GroupNorm`` on channels-last data.

y = gamma·(x − μ_g)/√(σ²_g + ε) + beta, with μ_g, σ²_g over the ``C / groups`` channels of each group
and every spatial position of one sample. Keras defaults: groups=32, epsilon=1e-3; gamma, beta (C,).
"""

import shendu as sd

from ... import nn
from .. import initializers as _initializers
from .. import regularizers as _regularizers
from .base import Layer, WeightSpec, int_arg
from .core import _serialize_init, init_param

__all__ = ["GroupNormalization"]


class GroupNormalization(Layer):
    """Normalise groups of channels per sample (the same in training and inference):
    ``GroupNormalization(groups=8)`` on (batch, ..., channels)."""

    _mask_passthrough = True

    def __init__(
        self,
        groups=32,
        axis=-1,
        epsilon=1e-3,
        center=True,
        scale=True,
        beta_initializer="zeros",
        gamma_initializer="ones",
        beta_regularizer=None,
        gamma_regularizer=None,
        beta_constraint=None,
        gamma_constraint=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        for arg, value in (("beta_constraint", beta_constraint), ("gamma_constraint", gamma_constraint)):
            if value is not None:
                raise NotImplementedError(f"GroupNormalization: {arg} is not supported")
        self.groups = int_arg(f"GroupNormalization '{self.name}'", "groups", groups, minimum=1)
        self.axis = int(axis)
        self.epsilon = float(epsilon)
        self.center, self.scale = bool(center), bool(scale)
        self.beta_initializer = _initializers.get(beta_initializer)
        self.gamma_initializer = _initializers.get(gamma_initializer)
        self.beta_regularizer = _regularizers.get(beta_regularizer)
        self.gamma_regularizer = _regularizers.get(gamma_regularizer)

    def _channel_axis(self, ndim):
        axis = self.axis % ndim
        if axis == 0:
            raise ValueError(f"GroupNormalization '{self.name}': axis {self.axis} is the batch axis")
        return axis

    def _planned_weights(self, input_shape):
        c = input_shape[self._channel_axis(len(input_shape))]
        if c is None:
            return None
        return ([("gamma", (c,))] if self.scale else []) + ([("beta", (c,))] if self.center else [])

    def build(self, input_shape):
        c = input_shape[self._channel_axis(len(input_shape))]
        if c is None:
            raise ValueError(
                f"GroupNormalization '{self.name}': the channel axis must be known, got {input_shape}"
            )
        c = int(c)
        if c % self.groups:
            raise ValueError(
                f"GroupNormalization '{self.name}': the number of channels ({c}) must be a multiple of "
                f"groups ({self.groups}); input shape {input_shape}"
            )
        self.norm = nn.GroupNorm(self.groups, c, eps=self.epsilon, affine=True)
        if self.scale:
            init_param(self.norm.weight, self.gamma_initializer, (c,), lambda a: a)
        else:
            self.norm.weight.requires_grad = False
        if self.center:
            init_param(self.norm.bias, self.beta_initializer, (c,), lambda a: a)
        else:
            self.norm.bias.requires_grad = False

    def call(self, inputs):
        axis = self._channel_axis(inputs.ndim)
        if axis == 1:
            return self.norm(inputs)
        order = (0, axis) + tuple(i for i in range(1, inputs.ndim) if i != axis)
        back = [0] * inputs.ndim
        for i, a in enumerate(order):
            back[a] = i
        return sd.permute(self.norm(sd.permute(inputs, order)), tuple(back))

    def compute_output_shape(self, input_shape):
        return input_shape

    def _weight_specs(self):
        specs = []
        if self.scale:
            specs.append(WeightSpec("gamma", self.norm.weight, regularizer=self.gamma_regularizer))
        if self.center:
            specs.append(WeightSpec("beta", self.norm.bias, regularizer=self.beta_regularizer))
        return specs + self._extra_specs

    def _apply_trainable(self):
        super()._apply_trainable()
        if self.built:
            self.norm.weight.requires_grad = self.scale and self._trainable
            self.norm.bias.requires_grad = self.center and self._trainable

    def get_config(self):
        return {
            **super().get_config(),
            "groups": self.groups,
            "axis": self.axis,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            "beta_initializer": _serialize_init(self.beta_initializer),
            "gamma_initializer": _serialize_init(self.gamma_initializer),
            "beta_regularizer": _regularizers.serialize(self.beta_regularizer),
            "gamma_regularizer": _regularizers.serialize(self.gamma_regularizer),
        }
