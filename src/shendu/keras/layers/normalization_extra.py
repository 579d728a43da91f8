"""GroupNormalization: ``nn.GroupNorm`` on channels-last data.

y = gamma·(x − μ_g)/√(σ²_g + ε) + beta, with μ_g, σ²_g over the ``C / groups`` channels of each group
and every spatial position of one sample. Keras defaults: groups=32, epsilon=1e-3; gamma, beta (C,).
"""


from ... import nn
from .base import Float, Int, Layer, channels_first
from .normalization import _gamma_beta, norm_args

__all__ = ["GroupNormalization"]


class GroupNormalization(Layer):
    """Normalise groups of channels per sample (the same in training and inference):
    ``GroupNormalization(groups=8)`` on (batch, ..., channels)."""

    supports_masking = True
    keras_args = norm_args(groups=Int(1, default=32), axis=Int(default=-1), epsilon=Float(1e-3))
    keras_weights = _gamma_beta("norm")

    _feature_name = "channel axis"

    def _feature_axis(self, ndim):
        axis = self.axis % ndim
        if axis == 0:
            raise ValueError(f"GroupNormalization '{self.name}': axis {self.axis} is the batch axis")
        return axis

    def build(self, input_shape):
        c = self._known_features(input_shape)
        if c % self.groups:
            raise ValueError(f"GroupNormalization '{self.name}': the number of channels ({c}) must be a "
                             f"multiple of groups ({self.groups}); input shape {input_shape}")
        self.norm = nn.GroupNorm(self.groups, c, eps=self.epsilon, affine=True)

    def call(self, inputs):
        return channels_first(inputs, self._feature_axis(inputs.ndim), self.norm)

    compute_output_shape = Layer._same_shape
