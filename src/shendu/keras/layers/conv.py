"""Convolution layers on channels-last data: Conv1D (N, steps, C), Conv2D and Conv2DTranspose (N, H, W, C).

Each wraps the NCHW ``nn.Conv1d`` / ``nn.Conv2d`` / ``nn.ConvTranspose2d`` and transposes at its edges.
Keras kernel layouts: Conv1D (k, in, out), Conv2D (kh, kw, in, out), Conv2DTranspose (kh, kw, out, in).
``padding='same'`` follows TensorFlow: output size ceil(n / stride), with the extra padding row (when
the total is odd) at the bottom/right.
"""

import shendu as sd

from ... import nn
from ...nn.functional import (
    conv_output_length,
    conv_transpose_output_length,
    conv_transpose_padding,
    same_padding,
)
from .base import Act, Bool, Choice, DataFormat, InputSpec, Int, Ints, Layer, W, channels_first, weight_args

__all__ = ["Conv1D", "Conv2D", "Conv2DTranspose", "Convolution1D", "Convolution2D"]
_AXIS_ACTS = ("softmax", "log_softmax")  # activations that are not elementwise (over the channel axis)


def _kernel_perm(layer):
    """nn (out, in, *k) or transposed (in, out, *k) -> Keras (*k, in, out) or (*k, out, in)."""
    return tuple(range(2, 2 + layer._rank)) + (1, 0)


def conv_args(filters=True, padding=("valid", "same"), groups=True, inserts=(), **kernels):
    """The Keras arguments of a convolution, in Keras's order; ``inserts``: (index, name, Arg) of the
    arguments of one convolution (``depth_multiplier``); ``kernels``: the kernel families and their
    default initializers (``kernel="glorot_uniform"``), each with its regularizer and constraint."""
    head = [("filters", Int(1))] if filters else []
    head += [("kernel_size", Ints()), ("strides", Ints(default=1)), ("padding", Choice("valid", *padding)),
             ("data_format", DataFormat()), ("dilation_rate", Ints(default=1))]
    head += [("groups", Int(1, default=1))] if groups else []
    for at, name, arg in inserts:
        head.insert(at, (name, arg))
    kernels = kernels or {"kernel": "glorot_uniform"}
    return dict(head, activation=Act(), use_bias=Bool(True), **weight_args(**kernels, bias="zeros"))


class _Channels(Layer):
    """Channels-last data (or channels-first with ``data_format``) handed to NCHW nn modules and back."""

    def _cf(self, x, fn):
        """``fn`` (on channels-first data) applied to ``x`` in the layer's data format."""
        return channels_first(x, 1 if self.data_format == "channels_first" else -1, fn)

    _feature_name = "channel axis"

    def _feature_axis(self, ndim):
        return 1 if self.data_format == "channels_first" else -1

    def _spatial(self, shape):
        return tuple(shape[2:]) if self.data_format == "channels_first" else tuple(shape[1:-1])

    def _pack(self, batch, spatial, channels):
        if self.data_format == "channels_first":
            return (batch, channels) + tuple(spatial)
        return (batch,) + tuple(spatial) + (channels,)


class _Conv(_Channels):
    """A Keras convolution on an nn convolution module ``_module`` held as ``self.conv``."""

    _rank = 2
    _module = nn.Conv2d
    keras_args = conv_args()
    keras_weights = (W("kernel", "conv.weight", lambda s, c: s._kernel_shape(c), perm=_kernel_perm),
                     W("bias", "conv.bias", lambda s, c: (s._out_channels(c),), when="use_bias"))

    def _setup(self):
        self.input_spec = InputSpec(ndim=self._rank + 2)

    def _kernel_shape(self, c):
        return self.kernel_size + (c // self.groups, self.filters)

    def _out_channels(self, c):
        return self.filters

    def _pad_input(self, x_cf):
        """Explicit TF-style 'same'/'causal' padding when it cannot be symmetric."""
        if not self._manual_pad:
            return x_cf
        widths = [(0, 0), (0, 0)]
        for n, k, s, d in zip(x_cf.shape[2:], self.kernel_size, self.strides, self.dilation_rate):
            widths.append((d * (k - 1), 0) if self.padding == "causal" else same_padding(n, k, s, d))
        return sd.pad(x_cf, widths)

    def _nn_padding(self):
        """(padding for the nn module, whether to pad by hand)."""
        if self.padding == "valid":
            return 0, False
        kd = list(zip(self.kernel_size, self.dilation_rate))
        if self.padding == "same" and set(self.strides) == {1} and all(d * (k - 1) % 2 == 0 for k, d in kd):
            return tuple(d * (k - 1) // 2 for k, d in kd), False
        return 0, True

    def _conv(self, c, out, groups, bias):
        """The nn convolution ``_module`` from ``c`` to ``out`` channels."""
        pad, self._manual_pad = self._nn_padding()
        return self._module(c, out, self.kernel_size, stride=self.strides, padding=pad,
                            dilation=self.dilation_rate, groups=groups, bias=bias)

    def build(self, input_shape):
        self.conv = self._conv(self._known_features(input_shape), self.filters, self.groups, self.use_bias)

    def call(self, inputs):
        act = self.activation
        if getattr(act, "__module__", "").endswith("keras.activations") and act.__name__ not in _AXIS_ACTS:
            return self._cf(inputs, lambda x: act(self.conv(self._pad_input(x))))  # elementwise: nn layout
        return act(self._cf(inputs, lambda x: self.conv(self._pad_input(x))))

    def compute_output_shape(self, input_shape):
        spatial = [conv_output_length(n, k, self.padding, s, d) for n, k, s, d in
                   zip(self._spatial(input_shape), self.kernel_size, self.strides, self.dilation_rate)]
        return self._pack(input_shape[0], spatial, self._out_channels(self._features(input_shape)))


class Conv2D(_Conv):
    """2-D convolution over (batch, height, width, channels): ``Conv2D(32, (3, 3), activation='relu')``."""


class Conv1D(_Conv):
    """1-D convolution over (batch, steps, channels); ``padding='causal'`` pads on the left only."""

    _rank, _module = 1, nn.Conv1d
    keras_args = conv_args(padding=("valid", "same", "causal"))

    def _nn_padding(self):
        return (0, True) if self.padding == "causal" else super()._nn_padding()


class Conv2DTranspose(_Conv):
    """Transposed 2-D convolution: 'valid' gives n·s + max(k − s, 0), 'same' gives n·s (as Keras).

    Keras kernel layout (kh, kw, filters, in_channels).
    """

    _module = nn.ConvTranspose2d
    keras_args = conv_args(groups=False, inserts=[(4, "output_padding", Ints(0, None, optional=True))])
    groups = 1

    def _setup(self):
        super()._setup()
        if any(d != 1 for d in self.dilation_rate):
            raise NotImplementedError(f"{type(self).__name__}: dilation_rate other than 1 is not supported")

    def _kernel_shape(self, c):
        return self.kernel_size + (self.filters, c)

    def build(self, input_shape):
        ops = [None] * self._rank if self.output_padding is None else self.output_padding
        pads, outs, self._crops = zip(*[conv_transpose_padding(k, s, self.padding, op)
                                        for k, s, op in zip(self.kernel_size, self.strides, ops)])
        self._manual_pad = False
        self.conv = self._module(self._known_features(input_shape), self.filters, self.kernel_size,
                                 stride=self.strides, padding=pads, output_padding=outs, bias=self.use_bias)

    def call(self, inputs):
        def crop(y):
            return y[(slice(None),) * 2 + tuple(slice(0, n - c) for n, c in zip(y.shape[2:], self._crops))]

        return self.activation(self._cf(inputs, lambda x: crop(self.conv(x))))

    def compute_output_shape(self, input_shape):
        ops = [None] * self._rank if self.output_padding is None else self.output_padding
        spatial = [conv_transpose_output_length(n, k, s, self.padding, op)
                   for n, k, s, op in zip(self._spatial(input_shape), self.kernel_size, self.strides, ops)]
        return self._pack(input_shape[0], spatial, self.filters)


Convolution1D, Convolution2D = Conv1D, Conv2D
