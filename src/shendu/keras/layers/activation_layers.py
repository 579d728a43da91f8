"""Activation layers: ReLU, LeakyReLU, ELU, Softmax."""

from .. import activations as _activations
from .base import Layer

__all__ = ["ReLU", "LeakyReLU", "ELU", "Softmax"]


class _Elementwise(Layer):
    compute_output_shape = Layer._same_shape


class ReLU(_Elementwise):
    """max(x, 0), optionally leaky below 0 (``negative_slope``) and capped (``max_value``)."""

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        super().__init__(**kwargs)
        if threshold:
            raise NotImplementedError("ReLU(threshold=...) is not supported")
        self.max_value, self.negative_slope = max_value, float(negative_slope)

    def call(self, inputs):
        return _activations.relu(inputs, negative_slope=self.negative_slope, max_value=self.max_value)

    def get_config(self):
        return {**super().get_config(), "max_value": self.max_value, "negative_slope": self.negative_slope}


class LeakyReLU(_Elementwise):
    """x for x > 0, slope·x otherwise; tf.keras 2's ``alpha=0.3`` or Keras 3's ``negative_slope``."""

    def __init__(self, alpha=None, negative_slope=None, **kwargs):
        super().__init__(**kwargs)
        slope = negative_slope if negative_slope is not None else alpha
        self.negative_slope = 0.3 if slope is None else float(slope)

    @property
    def alpha(self):
        return self.negative_slope

    def call(self, inputs):
        return _activations.leaky_relu(inputs, negative_slope=self.negative_slope)

    def get_config(self):
        return {**super().get_config(), "negative_slope": self.negative_slope}


class ELU(_Elementwise):
    """x for x > 0, alpha·(exp(x) − 1) otherwise."""

    def __init__(self, alpha=1.0, **kwargs):
        super().__init__(**kwargs)
        self.alpha = float(alpha)

    def call(self, inputs):
        return _activations.elu(inputs, alpha=self.alpha)

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha}


class Softmax(_Elementwise):
    """softmax along ``axis`` (default the last)."""

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis

    def call(self, inputs, mask=None):
        return _activations.softmax(inputs, axis=self.axis)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}
