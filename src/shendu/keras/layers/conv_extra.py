"""More convolution layers on channels-last data, each a Keras-argument mapping onto an nn module:

* ``Conv3D`` (N, D, H, W, C) → ``nn.Conv3d``; Keras kernel (kd, kh, kw, in, out).
* ``Conv1DTranspose`` (N, steps, C) → ``nn.ConvTranspose1d``; Keras kernel (k, filters, in).
* ``DepthwiseConv2D`` → ``nn.Conv2d(C, C·m, groups=C)``; Keras kernel (kh, kw, C, m), output channel
  c·m + j holds input channel c filtered by its j-th kernel.
* ``SeparableConv2D`` → the depthwise convolution (no bias) then a 1×1 ``nn.Conv2d``; Keras weights
  depthwise_kernel (kh, kw, C, m), pointwise_kernel (1, 1, C·m, filters), bias (filters,).

Output sizes and 'same' padding are those of :mod:`.conv` (TensorFlow's rules).
"""

import numpy as np

from ... import nn
from .. import initializers as _initializers
from .. import regularizers as _regularizers
from .base import InputSpec, WeightSpec, int_arg, int_tuple_arg
from .conv import Conv2DTranspose, _Conv
from .core import _serialize_init, init_param

__all__ = ["Conv3D", "Convolution3D", "Conv1DTranspose", "DepthwiseConv2D", "SeparableConv2D"]


def _k3_to_keras(w):  # (out, in, kd, kh, kw) -> (kd, kh, kw, in, out)
    return np.ascontiguousarray(np.transpose(w, (2, 3, 4, 1, 0)))


def _k3_from_keras(k):
    return np.ascontiguousarray(np.transpose(k, (4, 3, 0, 1, 2)))


def _k1(w):  # (a, b, k) <-> (k, b, a)
    return np.ascontiguousarray(np.transpose(w, (2, 1, 0)))


def _dw_to_keras(m):
    """torch (C·m, 1, kh, kw) -> Keras (kh, kw, C, m)."""

    def f(w):
        kh, kw = w.shape[2], w.shape[3]
        return np.ascontiguousarray(np.transpose(w[:, 0], (1, 2, 0)).reshape(kh, kw, -1, m))

    return f


def _dw_from_keras(k):
    kh, kw, c, m = k.shape
    return np.ascontiguousarray(np.transpose(k.reshape(kh, kw, c * m), (2, 0, 1))[:, None])


class Conv3D(_Conv):
    """3-D convolution over (batch, depth, height, width, channels): ``Conv3D(8, 3, activation='relu')``."""

    _rank = 3

    def __init__(self, filters, kernel_size, strides=1, padding="valid", **kwargs):
        super().__init__(filters, kernel_size, strides, padding, **kwargs)
        self.input_spec = InputSpec(ndim=5)

    def build(self, input_shape):
        c = self._channels(input_shape)
        pad, self._manual_pad = self._nn_padding()
        self.conv = nn.Conv3d(
            c,
            self.filters,
            self.kernel_size,
            stride=self.strides,
            padding=pad,
            dilation=self.dilation_rate,
            groups=self.groups,
            bias=self.use_bias,
        )
        self._init_conv(c, _k3_from_keras)

    def _weight_specs(self):
        specs = [
            WeightSpec(
                "kernel", self.conv.weight, _k3_to_keras, _k3_from_keras, regularizer=self.kernel_regularizer
            )
        ]
        if self.use_bias:
            specs.append(WeightSpec("bias", self.conv.bias, regularizer=self.bias_regularizer))
        return specs + self._extra_specs


class Conv1DTranspose(Conv2DTranspose):
    """Transposed 1-D convolution over (batch, steps, channels): 'valid' gives n·s + max(k − s, 0) steps,
    'same' gives n·s (as Keras). Keras kernel layout (k, filters, in_channels)."""

    _rank = 1

    def __init__(self, filters, kernel_size, strides=1, padding="valid", output_padding=None, **kwargs):
        _Conv.__init__(self, filters, kernel_size, strides, padding, **kwargs)
        if self.padding == "causal":
            raise ValueError("Conv1DTranspose: padding must be 'valid' or 'same', got 'causal'")
        if any(d != 1 for d in self.dilation_rate):
            raise NotImplementedError("Conv1DTranspose: dilation_rate other than 1 is not supported")
        self.output_padding = (
            None
            if output_padding is None
            else int_tuple_arg(
                f"Conv1DTranspose '{self.name}'", "output_padding", output_padding, 1, minimum=0
            )
        )

    def build(self, input_shape):
        c = self._channels(input_shape)
        pads, outs, self._crops = self._plan()
        self._manual_pad = False
        self.conv = nn.ConvTranspose1d(
            c,
            self.filters,
            self.kernel_size,
            stride=self.strides,
            padding=pads,
            output_padding=outs,
            bias=self.use_bias,
        )
        init_param(self.conv.weight, self.kernel_initializer, self.kernel_size + (self.filters, c), _k1)
        if self.use_bias:
            init_param(self.conv.bias, self.bias_initializer, (self.filters,), lambda a: a)

    def call(self, inputs):
        y = self.conv(self._to_cf(inputs))
        if self._crops[0]:
            y = y[:, :, : y.shape[2] - self._crops[0]]
        return self.activation(self._from_cf(y))


class DepthwiseConv2D(_Conv):
    """Each input channel convolved with its own ``depth_multiplier`` kernels (no mixing of channels)."""

    _rank = 2

    def __init__(
        self,
        kernel_size,
        strides=1,
        padding="valid",
        depth_multiplier=1,
        data_format=None,
        dilation_rate=1,
        activation=None,
        use_bias=True,
        depthwise_initializer="glorot_uniform",
        bias_initializer="zeros",
        depthwise_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        depthwise_constraint=None,
        bias_constraint=None,
        **kwargs,
    ):
        for arg, value in (
            ("depthwise_constraint", depthwise_constraint),
            ("bias_constraint", bias_constraint),
        ):
            if value is not None:
                raise NotImplementedError(f"{type(self).__name__}: {arg} is not supported")
        super().__init__(
            1,
            kernel_size,
            strides,
            padding,
            data_format=data_format,
            dilation_rate=dilation_rate,
            activation=activation,
            use_bias=use_bias,
            kernel_initializer=depthwise_initializer,
            bias_initializer=bias_initializer,
            kernel_regularizer=depthwise_regularizer,
            bias_regularizer=bias_regularizer,
            activity_regularizer=activity_regularizer,
            **kwargs,
        )
        self.depth_multiplier = int_arg(
            f"{type(self).__name__} '{self.name}'", "depth_multiplier", depth_multiplier, minimum=1
        )

    def _depthwise_module(self, c, bias):
        pad, self._manual_pad = self._nn_padding()
        m = self.depth_multiplier
        conv = nn.Conv2d(
            c,
            c * m,
            self.kernel_size,
            stride=self.strides,
            padding=pad,
            dilation=self.dilation_rate,
            groups=c,
            bias=bias,
        )
        init_param(conv.weight, self.kernel_initializer, self.kernel_size + (c, m), _dw_from_keras)
        return conv

    def _planned_weights(self, input_shape):
        c = input_shape[1] if self.data_format == "channels_first" else input_shape[-1]
        if c is None:
            return None
        c = int(c)
        out = [("kernel", self.kernel_size + (c, self.depth_multiplier))]
        return out + ([("bias", (c * self.depth_multiplier,))] if self.use_bias else [])

    def build(self, input_shape):
        c = self._channels(input_shape)
        self.filters, self.groups = c * self.depth_multiplier, c
        self.conv = self._depthwise_module(c, self.use_bias)
        if self.use_bias:
            init_param(self.conv.bias, self.bias_initializer, (self.filters,), lambda a: a)

    def compute_output_shape(self, input_shape):
        self.filters = self._channels(input_shape) * self.depth_multiplier
        return super().compute_output_shape(input_shape)

    def _weight_specs(self):
        specs = [
            WeightSpec(
                "kernel",
                self.conv.weight,
                _dw_to_keras(self.depth_multiplier),
                _dw_from_keras,
                regularizer=self.kernel_regularizer,
            )
        ]
        if self.use_bias:
            specs.append(WeightSpec("bias", self.conv.bias, regularizer=self.bias_regularizer))
        return specs + self._extra_specs

    def get_config(self):
        cfg = super().get_config()
        for key in ("filters", "groups"):
            cfg.pop(key, None)
        cfg["depth_multiplier"] = self.depth_multiplier
        cfg["depthwise_initializer"] = cfg.pop("kernel_initializer")
        cfg["depthwise_regularizer"] = cfg.pop("kernel_regularizer")
        return cfg


class SeparableConv2D(DepthwiseConv2D):
    """A depthwise convolution (``depth_multiplier`` kernels per channel) followed by a 1×1 convolution
    mixing the channels into ``filters`` outputs: ``SeparableConv2D(64, 3, padding='same')``."""

    def __init__(
        self,
        filters,
        kernel_size,
        strides=1,
        padding="valid",
        data_format=None,
        dilation_rate=1,
        depth_multiplier=1,
        activation=None,
        use_bias=True,
        depthwise_initializer="glorot_uniform",
        pointwise_initializer="glorot_uniform",
        bias_initializer="zeros",
        depthwise_regularizer=None,
        pointwise_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        depthwise_constraint=None,
        pointwise_constraint=None,
        bias_constraint=None,
        **kwargs,
    ):
        if pointwise_constraint is not None:
            raise NotImplementedError("SeparableConv2D: pointwise_constraint is not supported")
        super().__init__(
            kernel_size,
            strides,
            padding,
            depth_multiplier,
            data_format,
            dilation_rate,
            activation,
            use_bias,
            depthwise_initializer,
            bias_initializer,
            depthwise_regularizer,
            bias_regularizer,
            activity_regularizer,
            depthwise_constraint,
            bias_constraint,
            **kwargs,
        )
        self.pointwise_filters = int_arg(f"SeparableConv2D '{self.name}'", "filters", filters, minimum=1)
        self.pointwise_initializer = _initializers.get(pointwise_initializer)
        self.pointwise_regularizer = _regularizers.get(pointwise_regularizer)

    def _planned_weights(self, input_shape):
        c = input_shape[1] if self.data_format == "channels_first" else input_shape[-1]
        if c is None:
            return None
        c, m, f = int(c), self.depth_multiplier, self.pointwise_filters
        out = [("depthwise_kernel", self.kernel_size + (c, m)), ("pointwise_kernel", (1, 1, c * m, f))]
        return out + ([("bias", (f,))] if self.use_bias else [])

    def build(self, input_shape):
        c = self._channels(input_shape)
        self.groups, m, f = c, self.depth_multiplier, self.pointwise_filters
        self.filters = f
        self.conv = self._depthwise_module(c, False)
        self.pointwise = nn.Conv2d(c * m, f, 1, bias=self.use_bias)
        init_param(
            self.pointwise.weight,
            self.pointwise_initializer,
            (1, 1, c * m, f),
            lambda k: np.ascontiguousarray(np.transpose(k, (3, 2, 0, 1))),
        )
        if self.use_bias:
            init_param(self.pointwise.bias, self.bias_initializer, (f,), lambda a: a)

    def call(self, inputs):
        y = self.pointwise(self.conv(self._pad_input(self._to_cf(inputs))))
        return self.activation(self._from_cf(y))

    def compute_output_shape(self, input_shape):
        self.filters = self.pointwise_filters
        return _Conv.compute_output_shape(self, input_shape)

    def _weight_specs(self):
        specs = [
            WeightSpec(
                "depthwise_kernel",
                self.conv.weight,
                _dw_to_keras(self.depth_multiplier),
                _dw_from_keras,
                regularizer=self.kernel_regularizer,
            ),
            WeightSpec(
                "pointwise_kernel",
                self.pointwise.weight,
                lambda w: np.ascontiguousarray(np.transpose(w, (2, 3, 1, 0))),
                lambda k: np.ascontiguousarray(np.transpose(k, (3, 2, 0, 1))),
                regularizer=self.pointwise_regularizer,
            ),
        ]
        if self.use_bias:
            specs.append(WeightSpec("bias", self.pointwise.bias, regularizer=self.bias_regularizer))
        return specs + self._extra_specs

    def get_config(self):
        cfg = super().get_config()
        cfg["filters"] = self.pointwise_filters
        cfg["pointwise_initializer"] = _serialize_init(self.pointwise_initializer)
        cfg["pointwise_regularizer"] = _regularizers.serialize(self.pointwise_regularizer)
        return cfg


Convolution3D = Conv3D
