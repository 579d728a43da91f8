"""``RandomFourierFeatures``: random features whose inner products approximate a shift-invariant kernel
(Rahimi and Recht, 2007), tf.keras 2's ``layers.experimental.RandomFourierFeatures``.

y = √(2 / output_dim) · cos(x · W / scale + b), with W (input_dim, output_dim) drawn once from N(0, 1)
(``kernel_initializer='gaussian'``: the Gaussian kernel) or from the standard Cauchy distribution
(``'laplacian'``), b from U(0, 2π); neither is trained. ``scale`` (default √(input_dim / 2) for
'gaussian', 1 for 'laplacian') is one weight, trained when ``trainable=True`` and kept non-negative.
"""

import numpy as np

import shendu as sd

from ... import initializers as _initializers
from ..base import Choice, Int, Layer, Plain

__all__ = ["RandomFourierFeatures"]


class RandomFourierFeatures(Layer):
    """``RandomFourierFeatures(output_dim=4096, scale=10.0, kernel_initializer="gaussian")``."""

    keras_args = dict(output_dim=Int(1), kernel_initializer=Choice("gaussian", "gaussian", "laplacian"),
                      scale=Plain(None, parse=lambda layer, name, v: None if v is None else float(v)))

    def __init__(self, output_dim, kernel_initializer="gaussian", scale=None, trainable=False, name=None,
                 **kwargs):
        Layer._declared_init(self, output_dim, kernel_initializer, scale, trainable=trainable, name=name,
                             **kwargs)

    def _setup(self):
        if self.scale is not None and self.scale <= 0:
            raise ValueError(f"RandomFourierFeatures '{self.name}': scale must be positive, got {self.scale}")

    def build(self, input_shape):
        input_dim = self._known_features(input_shape)
        shape = (input_dim, self.output_dim)
        if self.kernel_initializer == "gaussian":
            init = _initializers.RandomNormal(mean=0.0, stddev=1.0)
        else:
            uniform = _initializers.RandomUniform(minval=0.0, maxval=1.0)
            init = lambda shape, dtype=None: np.tan(np.pi * (np.asarray(uniform(shape, dtype)) - 0.5))  # noqa: E731
        self.unscaled_kernel = self.add_weight(name="unscaled_kernel", shape=shape, initializer=init,
                                               trainable=False)
        self.bias = self.add_weight(name="bias", shape=(self.output_dim,),
                                    initializer=_initializers.RandomUniform(0.0, 2 * np.pi), trainable=False)
        if self.scale is None:
            self.scale = float(np.sqrt(input_dim / 2.0)) if self.kernel_initializer == "gaussian" else 1.0
        self.kernel_scale = self.add_weight(name="kernel_scale", shape=(1,), constraint="non_neg",
                                            initializer=_initializers.Constant(self.scale), trainable=True)

    def call(self, inputs):
        z = sd.matmul(inputs, self.unscaled_kernel) / self.kernel_scale + self.bias
        return sd.cos(z) * float(np.sqrt(2.0 / self.output_dim))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.output_dim,)
