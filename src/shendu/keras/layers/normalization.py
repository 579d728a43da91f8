"""BatchNormalization and LayerNormalization with Keras's defaults (momentum 0.99, epsilon 1e-3).

Keras's moving average ``moving = moving·momentum + batch·(1 − momentum)`` is PyTorch's with
momentum 1 − 0.99, so the ``nn.BatchNorm`` inside gets ``momentum=1 - momentum``.
"""

import numpy as np

import shendu as sd

from ... import nn
from .. import constraints as _constraints
from .. import initializers as _initializers
from .. import regularizers as _regularizers
from .base import Layer, WeightSpec, int_arg
from .core import _serialize_init, init_param

__all__ = ["BatchNormalization", "LayerNormalization"]


class BatchNormalization(Layer):
    """Normalise each channel (``axis``, default the last) with batch statistics in training and moving
    averages in inference. Weights: gamma, beta (trainable), moving_mean, moving_variance (not trainable).

    A layer set ``trainable = False`` also runs in inference mode, as in Keras (fine-tuning rule).
    """

    def __init__(
        self,
        axis=-1,
        momentum=0.99,
        epsilon=1e-3,
        center=True,
        scale=True,
        beta_initializer="zeros",
        gamma_initializer="ones",
        moving_mean_initializer="zeros",
        moving_variance_initializer="ones",
        beta_regularizer=None,
        gamma_regularizer=None,
        beta_constraint=None,
        gamma_constraint=None,
        synchronized=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if isinstance(axis, (list, tuple)):
            if len(axis) != 1:
                raise NotImplementedError("BatchNormalization: only one normalisation axis is supported")
            axis = axis[0]
        self.axis = int_arg(f"BatchNormalization '{self.name}'", "axis", axis)
        self.momentum, self.epsilon = float(momentum), float(epsilon)
        self.center, self.scale = bool(center), bool(scale)
        self.beta_initializer = _initializers.get(beta_initializer)
        self.gamma_initializer = _initializers.get(gamma_initializer)
        self.moving_mean_initializer = _initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = _initializers.get(moving_variance_initializer)
        self.beta_regularizer = _regularizers.get(beta_regularizer)
        self.gamma_regularizer = _regularizers.get(gamma_regularizer)
        self.beta_constraint = _constraints.get(beta_constraint)
        self.gamma_constraint = _constraints.get(gamma_constraint)

    def _planned_weights(self, input_shape):
        try:
            c = input_shape[self.axis % len(input_shape)]
        except (TypeError, ZeroDivisionError):
            return None
        if c is None:
            return None
        names = (["gamma"] if self.scale else []) + (["beta"] if self.center else [])
        return [(n, (c,)) for n in names + ["moving_mean", "moving_variance"]]

    def build(self, input_shape):
        nd = len(input_shape)
        self._axis = self.axis % nd
        if self._axis == 0:
            raise ValueError(f"BatchNormalization '{self.name}': cannot normalise over the batch axis")
        c = input_shape[self._axis]
        if c is None:
            raise ValueError(
                f"BatchNormalization '{self.name}': the axis {self.axis} of the input must be known, "
                f"got shape {input_shape}"
            )
        self._ndim = nd
        bn_cls = nn.BatchNorm2d if nd == 4 else nn.BatchNorm1d
        self.bn = bn_cls(int(c), eps=self.epsilon, momentum=1.0 - self.momentum)
        self.bn.unbiased_running_var = False  # Keras keeps the batch's own (biased) variance
        c = int(c)
        ident = lambda a: a  # noqa: E731
        init_param(self.bn.weight, self.gamma_initializer if self.scale else "ones", (c,), ident)
        init_param(self.bn.bias, self.beta_initializer if self.center else "zeros", (c,), ident)
        init_param(self.bn.running_mean, self.moving_mean_initializer, (c,), ident)
        init_param(self.bn.running_var, self.moving_variance_initializer, (c,), ident)
        if not self.scale:
            self.bn.weight.requires_grad = False
        if not self.center:
            self.bn.bias.requires_grad = False

    def call(self, inputs, training=None):
        bn = self.bn
        use_batch = bool(training) and self.trainable
        if bn.training != use_batch:
            bn.train(use_batch)
        x, nd, ax = inputs, inputs.ndim, self._axis
        if nd == 2:
            return bn(x)
        # move the channel axis to position 1, as the nn module expects
        perm = (0, ax) + tuple(i for i in range(1, nd) if i != ax)
        inv = tuple(np.argsort(perm))
        xt = sd.permute(x, perm) if perm != tuple(range(nd)) else x
        if nd > 4:
            shape = xt.shape
            y = sd.reshape(bn(sd.reshape(xt, (shape[0], shape[1], -1))), shape)
        else:
            y = bn(xt)
        return sd.permute(y, inv) if perm != tuple(range(nd)) else y

    def compute_output_shape(self, input_shape):
        return input_shape

    def _weight_specs(self):
        specs = []
        if self.scale:
            specs.append(WeightSpec("gamma", self.bn.weight, regularizer=self.gamma_regularizer,
                                    constraint=self.gamma_constraint))
        if self.center:
            specs.append(WeightSpec("beta", self.bn.bias, regularizer=self.beta_regularizer,
                                    constraint=self.beta_constraint))
        specs += [
            WeightSpec("moving_mean", self.bn.running_mean, state=True),
            WeightSpec("moving_variance", self.bn.running_var, state=True),
        ]
        return specs + self._extra_specs

    def get_config(self):
        return {
            **super().get_config(),
            "axis": self.axis,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            "beta_initializer": _serialize_init(self.beta_initializer),
            "gamma_initializer": _serialize_init(self.gamma_initializer),
            "moving_mean_initializer": _serialize_init(self.moving_mean_initializer),
            "moving_variance_initializer": _serialize_init(self.moving_variance_initializer),
            "beta_regularizer": _regularizers.serialize(self.beta_regularizer),
            "gamma_regularizer": _regularizers.serialize(self.gamma_regularizer),
            "beta_constraint": _constraints.serialize(self.beta_constraint),
            "gamma_constraint": _constraints.serialize(self.gamma_constraint),
        }


class LayerNormalization(Layer):
    """Normalise each sample over the last axis: gamma·(x − μ)/√(σ² + ε) + beta (epsilon 1e-3)."""

    def __init__(
        self,
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
        if axis not in (-1, [-1], (-1,)):
            raise NotImplementedError("LayerNormalization: only axis=-1 is supported")
        self.axis = -1
        self.epsilon = float(epsilon)
        self.center, self.scale = bool(center), bool(scale)
        self.beta_initializer = _initializers.get(beta_initializer)
        self.gamma_initializer = _initializers.get(gamma_initializer)
        self.beta_regularizer = _regularizers.get(beta_regularizer)
        self.gamma_regularizer = _regularizers.get(gamma_regularizer)
        self.beta_constraint = _constraints.get(beta_constraint)
        self.gamma_constraint = _constraints.get(gamma_constraint)

    def _planned_weights(self, input_shape):
        c = input_shape[-1]
        names = (["gamma"] if self.scale else []) + (["beta"] if self.center else [])
        return None if c is None or not names else [(n, (c,)) for n in names]

    def build(self, input_shape):
        c = int(input_shape[-1])
        self.ln = nn.LayerNorm(c, eps=self.epsilon)
        ident = lambda a: a  # noqa: E731
        init_param(self.ln.weight, self.gamma_initializer if self.scale else "ones", (c,), ident)
        init_param(self.ln.bias, self.beta_initializer if self.center else "zeros", (c,), ident)
        if not self.scale:
            self.ln.weight.requires_grad = False
        if not self.center:
            self.ln.bias.requires_grad = False

    def call(self, inputs):
        return self.ln(inputs)

    def compute_output_shape(self, input_shape):
        return input_shape

    def _weight_specs(self):
        specs = []
        if self.scale:
            specs.append(WeightSpec("gamma", self.ln.weight, regularizer=self.gamma_regularizer,
                                    constraint=self.gamma_constraint))
        if self.center:
            specs.append(WeightSpec("beta", self.ln.bias, regularizer=self.beta_regularizer,
                                    constraint=self.beta_constraint))
        return specs + self._extra_specs

    def get_config(self):
        return {
            **super().get_config(),
            "axis": self.axis,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            "beta_initializer": _serialize_init(self.beta_initializer),
            "gamma_initializer": _serialize_init(self.gamma_initializer),
            "beta_constraint": _constraints.serialize(self.beta_constraint),
            "gamma_constraint": _constraints.serialize(self.gamma_constraint),
        }
