"""Pooling, resizing and padding layers on channels-last data (``nn`` pooling modules inside)."""

import numpy as np

import shendu as sd

from ... import nn
from ...nn import functional as F
from ...nn.functional import conv_output_length, same_padding
from .base import Arg, Bool, Choice, DataFormat, Fixed, Int, Ints, Layer, _owner
from .conv import _Channels

__all__ = ["MaxPooling1D", "MaxPooling2D", "AveragePooling1D", "AveragePooling2D", "GlobalAveragePooling1D",
    "GlobalAveragePooling2D", "GlobalMaxPooling1D", "GlobalMaxPooling2D", "UpSampling1D", "UpSampling2D",
    "ZeroPadding1D", "ZeroPadding2D", "Cropping1D", "Cropping2D", "MaxPool1D", "MaxPool2D", "AvgPool1D",
    "AvgPool2D", "GlobalAvgPool1D", "GlobalAvgPool2D", "GlobalMaxPool1D", "GlobalMaxPool2D"]

_POOLS = {("max", 1): nn.MaxPool1d, ("max", 2): nn.MaxPool2d,
          ("avg", 1): nn.AvgPool1d, ("avg", 2): nn.AvgPool2d}


class _Pooling(_Channels):
    _rank = 2
    _kind = "max"
    keras_args = dict(pool_size=Ints(default=2), strides=Ints(default=None, optional=True),
                      padding=Choice("valid", "valid", "same"), data_format=DataFormat())

    def _setup(self):
        self.strides = self.pool_size if self.strides is None else self.strides
        self.pool = _POOLS[self._kind, self._rank](self.pool_size, self.strides)

    def call(self, inputs):
        def pool(x):
            if self.padding == "same":
                widths = [same_padding(n, k, s) for n, k, s in zip(x.shape[2:], self.pool_size, self.strides)]
                if any(w != (0, 0) for w in widths):  # TensorFlow's uneven padding; averages count real cells
                    return F.padded_pool(x, self._kind, self.pool_size, self.strides, widths)
            return self.pool(x)

        return self._cf(inputs, pool)

    def compute_output_shape(self, input_shape):
        spatial = [conv_output_length(n, k, self.padding, s)
                   for n, k, s in zip(self._spatial(input_shape), self.pool_size, self.strides)]
        return self._pack(input_shape[0], spatial, self._features(input_shape))


def _variant(base, name, rank, kind, doc):
    return type(name, (base,), {"_rank": rank, "_kind": kind, "__doc__": doc, "__module__": __name__})


MaxPooling2D = _variant(_Pooling, "MaxPooling2D", 2, "max",
                        "Max over (pool_size) windows of (batch, H, W, C); strides default to pool_size.")
AveragePooling2D = _variant(_Pooling, "AveragePooling2D", 2, "avg",
                            "Mean over (pool_size) windows of (batch, H, W, C).")
MaxPooling1D = _variant(_Pooling, "MaxPooling1D", 1, "max", "Max over windows of (batch, steps, C).")
AveragePooling1D = _variant(_Pooling, "AveragePooling1D", 1, "avg", "Mean over windows of (batch, steps, C).")


class _Global(_Channels):
    _rank = 2
    _kind = "avg"
    keras_args = dict(data_format=DataFormat(), keepdims=Bool(False))

    def _axes(self):
        first = 2 if self.data_format == "channels_first" else 1
        return tuple(range(first, first + self._rank))

    def call(self, inputs):
        reduce = inputs.mean if self._kind == "avg" else inputs.max
        return reduce(axis=self._axes(), keepdims=self.keepdims)

    def compute_output_shape(self, input_shape):
        if self.keepdims:
            return tuple(1 if i in self._axes() else d for i, d in enumerate(input_shape))
        return (input_shape[0], self._features(input_shape))


GlobalAveragePooling2D = _variant(_Global, "GlobalAveragePooling2D", 2, "avg",
                                  "Mean over the spatial axes: (batch, H, W, C) -> (batch, C).")
GlobalMaxPooling2D = _variant(_Global, "GlobalMaxPooling2D", 2, "max",
                              "Max over the spatial axes: (batch, H, W, C) -> (batch, C).")
GlobalMaxPooling1D = _variant(_Global, "GlobalMaxPooling1D", 1, "max",
                              "Max over time: (batch, steps, C) -> (batch, C).")


class GlobalAveragePooling1D(_Global):
    """Mean over time: (batch, steps, C) -> (batch, C); with a mask, over the unmasked steps only."""

    _rank, _kind = 1, "avg"

    def call(self, inputs, mask=None):
        if mask is None:
            return super().call(inputs)
        m = np.asarray(getattr(mask, "array", mask))
        m = m[:, None, :] if self.data_format == "channels_first" else m[:, :, None]
        return F.masked_mean(inputs, m, self._axes()[0], keepdims=self.keepdims)


class UpSampling2D(_Channels):
    """Repeat rows and columns ``size`` times (nearest neighbour):
    (batch, H, W, C) -> (batch, H·a, W·b, C)."""

    _rank = 2
    keras_args = dict(size=Ints(default=2), data_format=DataFormat(),
                      interpolation=Fixed("nearest", "; use 'nearest'"))

    def _setup(self):
        self.upsample = nn.Upsample(scale_factor=tuple(float(s) for s in self.size), mode="nearest")

    def call(self, inputs):
        return self._cf(inputs, self.upsample)

    def compute_output_shape(self, input_shape):
        spatial = [None if n is None else n * s for n, s in zip(self._spatial(input_shape), self.size)]
        return self._pack(input_shape[0], spatial, self._features(input_shape))


class UpSampling1D(Layer):
    """Repeat each time step ``size`` times: (batch, steps, C) -> (batch, steps·size, C)."""

    keras_args = dict(size=Int(1, default=2))

    def _setup(self):
        self.upsample = nn.Upsample(scale_factor=float(self.size), mode="nearest")

    def call(self, inputs):
        return sd.permute(self.upsample(sd.permute(inputs, (0, 2, 1))), (0, 2, 1))

    def compute_output_shape(self, input_shape):
        n = input_shape[1]
        return (input_shape[0], None if n is None else n * self.size, input_shape[2])


def _pairs(layer, arg, padding):
    """``1``, ``(1, 2)`` or ``((top, bottom), (left, right))`` as one (before, after) pair per axis."""
    rank, what = layer._rank, _owner(layer)
    if not isinstance(padding, (list, tuple)):
        padding = (padding,) * rank
    elif rank == 1 and len(padding) == 2 and not any(isinstance(p, (list, tuple)) for p in padding):
        padding = (padding,)
    if len(padding) != rank:
        raise ValueError(f"{what}: argument '{arg}' must give {rank} (before, after) pairs, got {padding!r}")
    return tuple(Ints(0, n=2).parse(layer, arg, p) for p in padding)


def _Borders(default):
    return Arg(default, lambda layer, name, v: _pairs(layer, name, v), lambda p: [list(q) for q in p],
               attr="borders")


class ZeroPadding2D(_Channels):
    """Zero rows/columns around the image: ``padding=1``, ``(1, 2)`` or ``((top, bottom), (left, right))``."""

    _rank = 2
    keras_args = dict(padding=_Borders((1, 1)), data_format=DataFormat())

    def call(self, inputs):
        return sd.pad(inputs, self._pack((0, 0), self.borders, (0, 0)))

    def compute_output_shape(self, input_shape):
        borders = zip(self._spatial(input_shape), self.borders)
        spatial = [None if n is None else n + a + b for n, (a, b) in borders]
        return self._pack(input_shape[0], spatial, self._features(input_shape))


class ZeroPadding1D(ZeroPadding2D):
    """Zero steps before and after: (batch, steps, C) -> (batch, steps + a + b, C)."""

    _rank = 1
    keras_args = dict(padding=_Borders(1), data_format=DataFormat())


class Cropping2D(_Channels):
    """Remove rows/columns at the borders: ``cropping=((top, bottom), (left, right))``."""

    _rank = 2
    keras_args = dict(cropping=_Borders(((0, 0), (0, 0))), data_format=DataFormat())

    def call(self, inputs):
        spatial = [slice(a, n - b) for n, (a, b) in zip(self._spatial(inputs.shape), self.borders)]
        return inputs[self._pack(slice(None), spatial, slice(None))]

    def compute_output_shape(self, input_shape):
        borders = zip(self._spatial(input_shape), self.borders)
        spatial = [None if n is None else n - a - b for n, (a, b) in borders]
        return self._pack(input_shape[0], spatial, self._features(input_shape))


class Cropping1D(Cropping2D):
    """Remove steps at the start and end: (batch, steps, C)."""

    _rank = 1
    keras_args = dict(cropping=_Borders((1, 1)), data_format=DataFormat())


MaxPool1D, MaxPool2D, AvgPool1D, AvgPool2D = MaxPooling1D, MaxPooling2D, AveragePooling1D, AveragePooling2D
GlobalAvgPool1D, GlobalAvgPool2D = GlobalAveragePooling1D, GlobalAveragePooling2D
GlobalMaxPool1D, GlobalMaxPool2D = GlobalMaxPooling1D, GlobalMaxPooling2D
