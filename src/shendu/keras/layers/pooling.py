"""Pooling, resizing and padding layers on channels-last data (``nn`` pooling modules inside)."""

import numpy as np

import shendu as sd

from ... import nn
from ...nn import functional as F
from ...nn.functional import conv_output_length, same_padding
from .base import Layer, int_arg, int_tuple_arg

__all__ = [
    "MaxPooling1D",
    "MaxPooling2D",
    "AveragePooling1D",
    "AveragePooling2D",
    "GlobalAveragePooling1D",
    "GlobalAveragePooling2D",
    "GlobalMaxPooling1D",
    "GlobalMaxPooling2D",
    "UpSampling1D",
    "UpSampling2D",
    "ZeroPadding1D",
    "ZeroPadding2D",
    "Cropping1D",
    "Cropping2D",
    "MaxPool1D",
    "MaxPool2D",
    "AvgPool1D",
    "AvgPool2D",
    "GlobalAvgPool1D",
    "GlobalAvgPool2D",
    "GlobalMaxPool1D",
    "GlobalMaxPool2D",
]


class _Channels(Layer):
    """Shared channels-last handling: NHWC -> NCHW for the nn module and back."""

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = data_format or "channels_last"
        if self.data_format not in ("channels_last", "channels_first"):
            raise ValueError(
                f"{type(self).__name__}: data_format must be 'channels_last' or 'channels_first'"
            )

    def _to_cf(self, x):
        if self.data_format == "channels_first":
            return x
        return sd.permute(x, (0, x.ndim - 1) + tuple(range(1, x.ndim - 1)))

    def _from_cf(self, y):
        if self.data_format == "channels_first":
            return y
        return sd.permute(y, (0,) + tuple(range(2, y.ndim)) + (1,))

    def _spatial(self, shape):
        return tuple(shape[2:]) if self.data_format == "channels_first" else tuple(shape[1:-1])

    def _channels(self, shape):
        return shape[1] if self.data_format == "channels_first" else shape[-1]

    def _pack(self, batch, spatial, channels):
        if self.data_format == "channels_first":
            return (batch, channels) + tuple(spatial)
        return (batch,) + tuple(spatial) + (channels,)

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format}


class _Pooling(_Channels):
    _rank = 2
    _kind = "max"

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(data_format, **kwargs)
        r = self._rank
        owner = f"{type(self).__name__} '{self.name}'"
        self.pool_size = int_tuple_arg(owner, "pool_size", pool_size, r, minimum=1)
        self.strides = (
            int_tuple_arg(owner, "strides", strides, r, minimum=1) if strides is not None else self.pool_size
        )
        self.padding = str(padding).lower()
        if self.padding not in ("valid", "same"):
            raise ValueError(f"{type(self).__name__}: padding must be 'valid' or 'same', got {padding!r}")
        k = self.pool_size if r == 2 else self.pool_size[0]
        s = self.strides if r == 2 else self.strides[0]
        if self._kind == "max":
            self.pool = (nn.MaxPool2d if r == 2 else nn.MaxPool1d)(k, s)
        else:
            self.pool = (nn.AvgPool2d if r == 2 else nn.AvgPool1d)(k, s)

    def _same_widths(self, x_cf):
        return [(0, 0), (0, 0)] + [
            same_padding(n, k, s) for n, k, s in zip(x_cf.shape[2:], self.pool_size, self.strides)
        ]

    def call(self, inputs):
        x = self._to_cf(inputs)
        if self.padding == "same":
            widths = self._same_widths(x)[2:]
            if any(w != (0, 0) for w in widths):  # TensorFlow's uneven padding; averages count real cells
                return self._from_cf(F.padded_pool(x, self._kind, self.pool_size, self.strides, widths))
        return self._from_cf(self.pool(x))

    def compute_output_shape(self, input_shape):
        spatial = [
            conv_output_length(n, k, self.padding, s)
            for n, k, s in zip(self._spatial(input_shape), self.pool_size, self.strides)
        ]
        return self._pack(input_shape[0], spatial, self._channels(input_shape))

    def get_config(self):
        return {
            **super().get_config(),
            "pool_size": list(self.pool_size),
            "strides": list(self.strides),
            "padding": self.padding,
        }


class MaxPooling2D(_Pooling):
    """Max over (pool_size) windows of (batch, H, W, C); strides default to pool_size."""

    _rank, _kind = 2, "max"


class AveragePooling2D(_Pooling):
    """Mean over (pool_size) windows of (batch, H, W, C)."""

    _rank, _kind = 2, "avg"


class MaxPooling1D(_Pooling):
    """Max over windows of (batch, steps, C)."""

    _rank, _kind = 1, "max"


class AveragePooling1D(_Pooling):
    """Mean over windows of (batch, steps, C)."""

    _rank, _kind = 1, "avg"


class _Global(_Channels):
    _rank = 2
    _kind = "avg"

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(data_format, **kwargs)
        self.keepdims = bool(keepdims)

    def _axes(self):
        return (
            tuple(range(2, 2 + self._rank))
            if self.data_format == "channels_first"
            else tuple(range(1, 1 + self._rank))
        )

    def call(self, inputs):
        reduce = inputs.mean if self._kind == "avg" else inputs.max
        return reduce(axis=self._axes(), keepdims=self.keepdims)

    def compute_output_shape(self, input_shape):
        if self.keepdims:
            return tuple(1 if i in self._axes() else d for i, d in enumerate(input_shape))
        return (input_shape[0], self._channels(input_shape))

    def get_config(self):
        return {**super().get_config(), "keepdims": self.keepdims}


class GlobalAveragePooling2D(_Global):
    """Mean over the spatial axes: (batch, H, W, C) -> (batch, C)."""

    _rank, _kind = 2, "avg"


class GlobalMaxPooling2D(_Global):
    """Max over the spatial axes: (batch, H, W, C) -> (batch, C)."""

    _rank, _kind = 2, "max"


class GlobalAveragePooling1D(_Global):
    """Mean over time: (batch, steps, C) -> (batch, C); with a mask, over the unmasked steps only."""

    _rank, _kind = 1, "avg"

    def call(self, inputs, mask=None):
        if mask is None:
            return super().call(inputs)
        m = np.asarray(getattr(mask, "array", mask))
        m = m[:, None, :] if self.data_format == "channels_first" else m[:, :, None]
        return F.masked_mean(inputs, m, self._axes()[0], keepdims=self.keepdims)


class GlobalMaxPooling1D(_Global):
    """Max over time: (batch, steps, C) -> (batch, C)."""

    _rank, _kind = 1, "max"


class UpSampling2D(_Channels):
    """Repeat rows and columns ``size`` times (nearest neighbour):
    (batch, H, W, C) -> (batch, H·a, W·b, C)."""

    def __init__(self, size=(2, 2), data_format=None, interpolation="nearest", **kwargs):
        super().__init__(data_format, **kwargs)
        if interpolation != "nearest":
            raise NotImplementedError(
                f"UpSampling2D: interpolation={interpolation!r} is not supported; use 'nearest'"
            )
        self.size = int_tuple_arg(f"UpSampling2D '{self.name}'", "size", size, 2, minimum=1)
        self.interpolation = interpolation
        self.upsample = nn.Upsample(scale_factor=tuple(float(s) for s in self.size), mode="nearest")

    def call(self, inputs):
        return self._from_cf(self.upsample(self._to_cf(inputs)))

    def compute_output_shape(self, input_shape):
        spatial = [None if n is None else n * s for n, s in zip(self._spatial(input_shape), self.size)]
        return self._pack(input_shape[0], spatial, self._channels(input_shape))

    def get_config(self):
        return {**super().get_config(), "size": list(self.size), "interpolation": self.interpolation}


class UpSampling1D(Layer):
    """Repeat each time step ``size`` times: (batch, steps, C) -> (batch, steps·size, C)."""

    def __init__(self, size=2, **kwargs):
        super().__init__(**kwargs)
        self.size = int_arg(f"UpSampling1D '{self.name}'", "size", size, minimum=1)
        self.upsample = nn.Upsample(scale_factor=float(self.size), mode="nearest")

    def call(self, inputs):
        return sd.permute(self.upsample(sd.permute(inputs, (0, 2, 1))), (0, 2, 1))

    def compute_output_shape(self, input_shape):
        n = input_shape[1]
        return (input_shape[0], None if n is None else n * self.size, input_shape[2])

    def get_config(self):
        return {**super().get_config(), "size": self.size}


def _pairs(padding, rank, what, arg="padding"):
    def one(v):
        return int_arg(what, arg, v, minimum=0)

    if not isinstance(padding, (list, tuple)):
        return ((one(padding),) * 2,) * rank
    padding = tuple(padding)
    if rank == 1 and len(padding) == 2 and not any(isinstance(p, (list, tuple)) for p in padding):
        return ((one(padding[0]), one(padding[1])),)
    out = []
    for p in padding:
        if isinstance(p, (list, tuple)):
            if len(p) != 2:
                raise ValueError(f"{what}: each {arg} entry must be an integer or a pair, got {p!r}")
            out.append((one(p[0]), one(p[1])))
        else:
            out.append((one(p),) * 2)
    if len(out) != rank:
        raise ValueError(f"{what}: expected {rank} paddings, got {padding!r}")
    return tuple(out)


class ZeroPadding2D(_Channels):
    """Zero rows/columns around the image: ``padding=1``, ``(1, 2)`` or ``((top, bottom), (left, right))``."""

    _rank = 2

    def __init__(self, padding=(1, 1), data_format=None, **kwargs):
        super().__init__(data_format, **kwargs)
        self.padding = _pairs(padding, self._rank, f"{type(self).__name__} '{self.name}'")

    def _widths(self):
        if self.data_format == "channels_first":
            return ((0, 0), (0, 0)) + self.padding
        return ((0, 0),) + self.padding + ((0, 0),)

    def call(self, inputs):
        return sd.pad(inputs, self._widths())

    def compute_output_shape(self, input_shape):
        spatial = [
            None if n is None else n + a + b for n, (a, b) in zip(self._spatial(input_shape), self.padding)
        ]
        return self._pack(input_shape[0], spatial, self._channels(input_shape))

    def get_config(self):
        return {**super().get_config(), "padding": [list(p) for p in self.padding]}


class ZeroPadding1D(ZeroPadding2D):
    """Zero steps before and after: (batch, steps, C) -> (batch, steps + a + b, C)."""

    _rank = 1

    def __init__(self, padding=1, **kwargs):
        super().__init__(padding, **kwargs)


class Cropping2D(ZeroPadding2D):
    """Remove rows/columns at the borders: ``cropping=((top, bottom), (left, right))``."""

    def __init__(self, cropping=((0, 0), (0, 0)), data_format=None, **kwargs):
        super().__init__(cropping, data_format, **kwargs)

    def call(self, inputs):
        first = 2 if self.data_format == "channels_first" else 1
        key = [slice(None)] * inputs.ndim
        for i, (a, b) in enumerate(self.padding):
            n = inputs.shape[first + i]
            key[first + i] = slice(a, n - b)
        return inputs[tuple(key)]

    def compute_output_shape(self, input_shape):
        spatial = [
            None if n is None else n - a - b for n, (a, b) in zip(self._spatial(input_shape), self.padding)
        ]
        return self._pack(input_shape[0], spatial, self._channels(input_shape))

    def get_config(self):
        cfg = super().get_config()
        cfg["cropping"] = cfg.pop("padding")
        return cfg


class Cropping1D(Cropping2D):
    """Remove steps at the start and end: (batch, steps, C)."""

    _rank = 1

    def __init__(self, cropping=(1, 1), **kwargs):
        super().__init__(cropping, **kwargs)


MaxPool1D, MaxPool2D, AvgPool1D, AvgPool2D = MaxPooling1D, MaxPooling2D, AveragePooling1D, AveragePooling2D
GlobalAvgPool1D, GlobalAvgPool2D = GlobalAveragePooling1D, GlobalAveragePooling2D
GlobalMaxPool1D, GlobalMaxPool2D = GlobalMaxPooling1D, GlobalMaxPooling2D
