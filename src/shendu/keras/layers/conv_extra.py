"""More convolution layers on channels-last data, each a Keras-argument mapping onto an nn module:

* ``Conv3D`` (N, D, H, W, C) → ``nn.Conv3d``; Keras kernel (kd, kh, kw, in, out).
* ``Conv1DTranspose`` (N, steps, C) → ``nn.ConvTranspose1d``; Keras kernel (k, filters, in).
* ``DepthwiseConv2D`` → ``nn.Conv2d(C, C·m, groups=C)``; Keras kernel (kh, kw, C, m), output channel
  c·m + j holds input channel c filtered by its j-th kernel.
* ``SeparableConv2D`` → the depthwise convolution (no bias) then a 1×1 ``nn.Conv2d``; Keras weights
  depthwise_kernel (kh, kw, C, m), pointwise_kernel (1, 1, C·m, filters), bias (filters,).

Output sizes and 'same' padding are those of :mod:`.conv` (TensorFlow's rules).
"""

from ... import nn
from .base import Fixed, Int, W
from .conv import Conv2DTranspose, _Conv, conv_args

__all__ = ["Conv3D", "Convolution3D", "Conv1DTranspose", "DepthwiseConv2D", "SeparableConv2D"]

_MULTIPLIER = ("depth_multiplier", Int(1, default=1))
_DEPTHWISE_PERM = (2, 3, 0, 1)  # nn (C·m, 1, kh, kw) -> (kh, kw, C·m, 1), then reshaped to (kh, kw, C, m)


class Conv3D(_Conv):
    """3-D convolution over (batch, depth, height, width, channels): ``Conv3D(8, 3, activation='relu')``."""

    _rank, _module = 3, nn.Conv3d


class Conv1DTranspose(Conv2DTranspose):
    """Transposed 1-D convolution over (batch, steps, channels): 'valid' gives n·s + max(k − s, 0) steps,
    'same' gives n·s (as Keras). Keras kernel layout (k, filters, in_channels)."""

    _rank, _module = 1, nn.ConvTranspose1d


class DepthwiseConv2D(_Conv):
    """Each input channel convolved with its own ``depth_multiplier`` kernels (no mixing of channels)."""

    keras_args = dict(conv_args(False, groups=False, inserts=[(3, *_MULTIPLIER)], depthwise="glorot_uniform"),
                      kernel_constraint=Fixed(None, save=False))  # older files hold a null one
    keras_weights = (W("kernel", "conv.weight", lambda s, c: s.kernel_size + (c, s.depth_multiplier),
                       perm=_DEPTHWISE_PERM, args="depthwise"),
                     W("bias", "conv.bias", lambda s, c: (c * s.depth_multiplier,), when="use_bias"))

    def _out_channels(self, c):
        return c * self.depth_multiplier

    def build(self, input_shape):
        c = self._known_features(input_shape)
        self.conv = self._conv(c, c * self.depth_multiplier, c, self.use_bias)


class SeparableConv2D(DepthwiseConv2D):
    """A depthwise convolution (``depth_multiplier`` kernels per channel) followed by a 1×1 convolution
    mixing the channels into ``filters`` outputs: ``SeparableConv2D(64, 3, padding='same')``."""

    keras_args = dict(conv_args(groups=False, inserts=[(6, *_MULTIPLIER)], depthwise="glorot_uniform",
                                pointwise="glorot_uniform"), kernel_constraint=Fixed(None, save=False))
    keras_weights = (
        W("depthwise_kernel", "conv.weight", lambda s, c: s.kernel_size + (c, s.depth_multiplier),
          perm=_DEPTHWISE_PERM, args="depthwise"),
        W("pointwise_kernel", "pointwise.weight", lambda s, c: (1, 1, c * s.depth_multiplier, s.filters),
          perm=(2, 3, 1, 0), args="pointwise"),
        W("bias", "pointwise.bias", lambda s, c: (s.filters,), when="use_bias"),
    )

    def _out_channels(self, c):
        return self.filters

    def build(self, input_shape):
        c = self._known_features(input_shape)
        self.conv = self._conv(c, c * self.depth_multiplier, c, False)
        self._init_declared(input_shape, "depthwise_kernel")  # before the pointwise module draws its own
        self.pointwise = nn.Conv2d(c * self.depth_multiplier, self.filters, 1, bias=self.use_bias)

    def call(self, inputs):
        return self.activation(self._cf(inputs, lambda x: self.pointwise(self.conv(self._pad_input(x)))))


Convolution3D = Conv3D
