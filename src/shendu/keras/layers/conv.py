"""Convolution layers on channels-last data: Conv1D (N, steps, C), Conv2D and Conv2DTranspose (N, H, W, C).

Each wraps the NCHW ``nn.Conv1d`` / ``nn.Conv2d`` / ``nn.ConvTranspose2d`` and transposes at its edges.
Keras kernel layouts: Conv1D (k, in, out), Conv2D (kh, kw, in, out), Conv2DTranspose (kh, kw, out, in).
``padding='same'`` follows TensorFlow: output size ceil(n / stride), with the extra padding row (when
the total is odd) at the bottom/right.
"""

import numpy as np

import shendu as sd

from ... import nn
from ...nn.functional import conv_output_length, same_padding
from .. import activations as _activations
from .. import constraints as _constraints
from .. import initializers as _initializers
from .. import regularizers as _regularizers
from .base import InputSpec, Layer, WeightSpec, int_arg, int_tuple_arg
from .core import _serialize_init, init_param

__all__ = [
    "Conv1D",
    "Conv2D",
    "Conv2DTranspose",
    "Convolution1D",
    "Convolution2D",
    "conv_output_length",
    "same_padding",
]


def _k2_to_keras(w):
    return np.ascontiguousarray(np.transpose(w, (2, 3, 1, 0)))


def _k2_from_keras(k):
    return np.ascontiguousarray(np.transpose(k, (3, 2, 0, 1)))


def _k1(w):
    return np.ascontiguousarray(np.transpose(w, (2, 1, 0)))


class _Conv(Layer):
    _rank = 2

    def _init_conv(self, in_channels, from_keras):
        """Initialise ``self.conv`` with the Keras initializers, drawn in Keras's kernel layout."""
        init_param(self.conv.weight, self.kernel_initializer,
                   self.kernel_size + (in_channels // self.groups, self.filters), from_keras)
        if self.use_bias:
            init_param(self.conv.bias, self.bias_initializer, (self.filters,), lambda a: a)

    def __init__(
        self,
        filters,
        kernel_size,
        strides=1,
        padding="valid",
        data_format=None,
        dilation_rate=1,
        groups=1,
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
        name = type(self).__name__
        owner = f"{name} '{self.name}'"
        r = self._rank
        self.filters = int_arg(owner, "filters", filters, minimum=1)
        self.kernel_size = int_tuple_arg(owner, "kernel_size", kernel_size, r, minimum=1)
        self.strides = int_tuple_arg(owner, "strides", strides, r, minimum=1)
        self.dilation_rate = int_tuple_arg(owner, "dilation_rate", dilation_rate, r, minimum=1)
        padding = str(padding).lower()
        allowed = ("valid", "same", "causal") if r == 1 else ("valid", "same")
        if padding not in allowed:
            raise ValueError(f"{name}: padding must be one of {allowed}, got {padding!r}")
        self.padding = padding
        self.data_format = data_format or "channels_last"
        if self.data_format not in ("channels_last", "channels_first"):
            raise ValueError(
                f"{name}: data_format must be 'channels_last' or 'channels_first', got {data_format!r}"
            )
        self.groups = int_arg(owner, "groups", groups, minimum=1)
        self.activation = _activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = _initializers.get(kernel_initializer)
        self.bias_initializer = _initializers.get(bias_initializer)
        self.kernel_regularizer = _regularizers.get(kernel_regularizer)
        self.bias_regularizer = _regularizers.get(bias_regularizer)
        self.kernel_constraint = _constraints.get(kernel_constraint)
        self.bias_constraint = _constraints.get(bias_constraint)
        self.input_spec = InputSpec(ndim=r + 2)

    # channels-last <-> channels-first at the layer's edge
    def _to_cf(self, x):
        if self.data_format == "channels_first":
            return x
        return sd.permute(x, (0, x.ndim - 1) + tuple(range(1, x.ndim - 1)))

    def _from_cf(self, y):
        if self.data_format == "channels_first":
            return y
        return sd.permute(y, (0,) + tuple(range(2, y.ndim)) + (1,))

    def _channels(self, input_shape):
        c = input_shape[1] if self.data_format == "channels_first" else input_shape[-1]
        if c is None:
            raise ValueError(
                f"{type(self).__name__} '{self.name}': the channel axis of the input must be known, "
                f"got shape {input_shape}"
            )
        return int(c)

    def _spatial(self, shape):
        return tuple(shape[2:]) if self.data_format == "channels_first" else tuple(shape[1:-1])

    def _pack(self, batch, spatial, channels):
        if self.data_format == "channels_first":
            return (batch, channels) + tuple(spatial)
        return (batch,) + tuple(spatial) + (channels,)

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
        if (
            self.padding == "same"
            and all(s == 1 for s in self.strides)
            and all(d * (k - 1) % 2 == 0 for k, d in zip(self.kernel_size, self.dilation_rate))
        ):
            return tuple(d * (k - 1) // 2 for k, d in zip(self.kernel_size, self.dilation_rate)), False
        return 0, True

    def call(self, inputs):
        y = self.conv(self._pad_input(self._to_cf(inputs)))
        return self.activation(self._from_cf(y))

    def compute_output_shape(self, input_shape):
        spatial = [
            conv_output_length(n, k, self.padding, s, d)
            for n, k, s, d in zip(
                self._spatial(input_shape), self.kernel_size, self.strides, self.dilation_rate
            )
        ]
        return self._pack(input_shape[0], spatial, self.filters)

    def _planned_weights(self, input_shape):
        c = input_shape[1] if self.data_format == "channels_first" else input_shape[-1]
        if c is None:
            return None
        kernel = self._planned_kernel(int(c))
        return [("kernel", kernel)] + ([("bias", (self.filters,))] if self.use_bias else [])

    def _planned_kernel(self, c):
        return self.kernel_size + (c // self.groups, self.filters)

    def _weight_specs(self):
        to_k, from_k = (_k1, _k1) if self._rank == 1 else (_k2_to_keras, _k2_from_keras)
        specs = [WeightSpec("kernel", self.conv.weight, to_k, from_k, regularizer=self.kernel_regularizer,
                            constraint=self.kernel_constraint)]
        if self.use_bias:
            specs.append(WeightSpec("bias", self.conv.bias, regularizer=self.bias_regularizer,
                                    constraint=self.bias_constraint))
        return specs + self._extra_specs

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": list(self.kernel_size),
            "strides": list(self.strides),
            "padding": self.padding,
            "data_format": self.data_format,
            "dilation_rate": list(self.dilation_rate),
            "groups": self.groups,
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


class Conv2D(_Conv):
    """2-D convolution over (batch, height, width, channels): ``Conv2D(32, (3, 3), activation='relu')``."""

    _rank = 2

    def build(self, input_shape):
        c = self._channels(input_shape)
        pad, self._manual_pad = self._nn_padding()
        self.conv = nn.Conv2d(
            c,
            self.filters,
            self.kernel_size,
            stride=self.strides,
            padding=pad,
            dilation=self.dilation_rate,
            groups=self.groups,
            bias=self.use_bias,
        )
        self._init_conv(c, _k2_from_keras)


class Conv1D(_Conv):
    """1-D convolution over (batch, steps, channels); ``padding='causal'`` pads on the left only."""

    _rank = 1

    def build(self, input_shape):
        c = self._channels(input_shape)
        pad, self._manual_pad = self._nn_padding()
        if self.padding == "causal":
            pad, self._manual_pad = 0, True
        self.conv = nn.Conv1d(
            c,
            self.filters,
            self.kernel_size[0],
            stride=self.strides[0],
            padding=pad,
            dilation=self.dilation_rate[0],
            groups=self.groups,
            bias=self.use_bias,
        )
        self._init_conv(c, _k1)


class Conv2DTranspose(_Conv):
    """Transposed 2-D convolution: 'valid' gives n·s + max(k − s, 0), 'same' gives n·s (as Keras).

    Keras kernel layout (kh, kw, filters, in_channels).
    """

    _rank = 2

    def __init__(self, filters, kernel_size, strides=1, padding="valid", output_padding=None, **kwargs):
        super().__init__(filters, kernel_size, strides, padding, **kwargs)
        if any(d != 1 for d in self.dilation_rate):
            raise NotImplementedError("Conv2DTranspose: dilation_rate other than 1 is not supported")
        self.output_padding = (
            None
            if output_padding is None
            else int_tuple_arg(
                f"Conv2DTranspose '{self.name}'", "output_padding", output_padding, 2, minimum=0
            )
        )

    def _planned_kernel(self, c):
        return self.kernel_size + (self.filters, c)

    def _plan(self):
        """nn padding, output_padding and how many trailing rows/cols to crop, per spatial axis."""
        pads, outs, crops = [], [], []
        for i, (k, s) in enumerate(zip(self.kernel_size, self.strides)):
            if self.output_padding is not None:
                before = (k - 1) // 2 if self.padding == "same" else 0
                pads.append(before), outs.append(self.output_padding[i]), crops.append(0)
                continue
            total = max(k - s, 0) if self.padding == "same" else 0
            before = total // 2
            diff = (s - k + 2 * before) if self.padding == "same" else max(s - k, 0)
            pads.append(before)
            outs.append(max(diff, 0))
            crops.append(max(-diff, 0))
        return tuple(pads), tuple(outs), tuple(crops)

    def build(self, input_shape):
        c = self._channels(input_shape)
        pads, outs, self._crops = self._plan()
        self._manual_pad = False
        self.conv = nn.ConvTranspose2d(
            c,
            self.filters,
            self.kernel_size,
            stride=self.strides,
            padding=pads,
            output_padding=outs,
            bias=self.use_bias,
        )
        init_param(
            self.conv.weight, self.kernel_initializer, self.kernel_size + (self.filters, c), _k2_from_keras
        )
        if self.use_bias:
            init_param(self.conv.bias, self.bias_initializer, (self.filters,), lambda a: a)

    def call(self, inputs):
        y = self.conv(self._to_cf(inputs))
        if any(self._crops):
            h, w = y.shape[2], y.shape[3]
            y = y[:, :, : h - self._crops[0], : w - self._crops[1]]
        return self.activation(self._from_cf(y))

    def compute_output_shape(self, input_shape):
        spatial = []
        for i, (n, k, s) in enumerate(zip(self._spatial(input_shape), self.kernel_size, self.strides)):
            if n is None:
                spatial.append(None)
            elif self.output_padding is not None:
                p = (k - 1) // 2 if self.padding == "same" else 0
                spatial.append((n - 1) * s + k - 2 * p + self.output_padding[i])
            else:
                spatial.append(n * s if self.padding == "same" else n * s + max(k - s, 0))
        return self._pack(input_shape[0], spatial, self.filters)

    def get_config(self):
        cfg = super().get_config()
        cfg["output_padding"] = None if self.output_padding is None else list(self.output_padding)
        cfg.pop("groups", None)
        return cfg


Convolution1D, Convolution2D = Conv1D, Conv2D
