"""Activation layers: ReLU, LeakyReLU, ELU, Softmax."""

from .. import activations as _activations
from .base import Fixed, Float, Layer, Plain

__all__ = ["ReLU", "LeakyReLU", "ELU", "Softmax"]


class _Elementwise(Layer):
    compute_output_shape = Layer._same_shape


class ReLU(_Elementwise):
    """max(x, 0), optionally leaky below 0 (``negative_slope``) and capped (``max_value``)."""

    keras_args = dict(max_value=Plain(), negative_slope=Float(0.0), threshold=Fixed(0.0, save=False))

    def call(self, inputs):
        return _activations.relu(inputs, negative_slope=self.negative_slope, max_value=self.max_value)


class LeakyReLU(_Elementwise):
    """x for x > 0, slope·x otherwise; tf.keras 2's ``alpha=0.3`` or Keras 3's ``negative_slope``."""

    keras_args = dict(alpha=Plain(save=False, attr="_alpha"), negative_slope=Plain())

    def _setup(self):
        slope = self.negative_slope if self.negative_slope is not None else self._alpha
        self.negative_slope = 0.3 if slope is None else float(slope)

    alpha = property(lambda self: self.negative_slope)

    def call(self, inputs):
        return _activations.leaky_relu(inputs, negative_slope=self.negative_slope)


class ELU(_Elementwise):
    """x for x > 0, alpha·(exp(x) − 1) otherwise."""

    keras_args = dict(alpha=Float(1.0))

    def call(self, inputs):
        return _activations.elu(inputs, alpha=self.alpha)


class Softmax(_Elementwise):
    """softmax along ``axis`` (default the last)."""

    keras_args = dict(axis=Plain(-1))

    def call(self, inputs, mask=None):
        return _activations.softmax(inputs, axis=self.axis)
