"""Image preprocessing layers: Resizing and CenterCrop (channels-last batches (N, H, W, C) or single images
(H, W, C), as Keras's).

* ``Resizing(height, width, interpolation)``: ``nn.functional.interpolate`` with half-pixel centres
  (``align_corners=False``, as Keras's resize without antialiasing); ``crop_to_aspect_ratio=True`` first
  cuts the largest centred window of the target's aspect ratio.
* ``CenterCrop(height, width)``: the centred ``height`` × ``width`` window; an image smaller than that is
  resized up after cropping to the target's aspect ratio (Keras's rule).
"""

import numpy as np

from ...nn import functional as F
from ...tensor import Tensor
from .base import Bool, Choice, DataFormat, Fixed, Int, KerasTensor, Layer, channels_first

__all__ = ["Resizing", "CenterCrop"]


def _as_float(layer, inputs):
    if isinstance(inputs, KerasTensor):
        return inputs
    data = inputs.array if isinstance(inputs, Tensor) else np.asarray(inputs)
    if data.dtype.kind != "f":
        return Tensor(data.astype(layer.dtype))
    return Layer._convert_inputs(layer, inputs)


def _crop(x, top, left, height, width, h_axis):
    index = [slice(None)] * x.ndim
    index[h_axis], index[h_axis + 1] = slice(top, top + height), slice(left, left + width)
    return x[tuple(index)]


def _crop_to_ratio(x, height, width, h_axis):
    h, w = x.shape[h_axis], x.shape[h_axis + 1]
    crop_h = min(h, int(round(w * height / width)))
    crop_w = min(w, int(round(h * width / height)))
    return _crop(x, (h - crop_h) // 2, (w - crop_w) // 2, crop_h, crop_w, h_axis)


class _ImageLayer(Layer):
    def _convert_inputs(self, inputs):
        return _as_float(self, inputs)

    def _axes(self, x):
        """(index of the height axis, of the channel axis) for this layer's data format."""
        batch = 1 if x.ndim == 4 else 0
        return (batch, x.ndim - 1) if self.data_format == "channels_last" else (batch + 1, batch)

    def _resize(self, x, height, width):
        single = x.ndim == 3
        x = x.unsqueeze(0) if single else x
        h_axis, c_axis = self._axes(x)
        mode = self.interpolation
        align = None if mode in ("nearest", "area") else False
        out = channels_first(x, c_axis, lambda t: F.interpolate(t, size=(height, width), mode=mode,
                                                                align_corners=align))
        return out[0] if single else out

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        h = int(len(shape) == 4) + int(self.data_format == "channels_first")  # the height axis
        shape[h], shape[h + 1] = self.height, self.width
        return tuple(shape)


class Resizing(_ImageLayer):
    """``Resizing(72, 72)``: images to height × width."""

    keras_args = dict(height=Int(1), width=Int(1),
                      interpolation=Choice("bilinear", "bilinear", "nearest", "bicubic", "area"),
                      crop_to_aspect_ratio=Bool(False),
                      pad_to_aspect_ratio=Fixed(False, hint=" (crop_to_aspect_ratio is)"),
                      fill_mode=Fixed("constant", save=False), fill_value=Fixed(0.0, save=False),
                      antialias=Fixed(False, hint=""), data_format=DataFormat())

    def call(self, inputs):
        x = inputs
        if self.crop_to_aspect_ratio:
            x = _crop_to_ratio(x, self.height, self.width, self._axes(x)[0])
        return self._resize(x, self.height, self.width)


class CenterCrop(_ImageLayer):
    """``CenterCrop(24, 24)``: the centred window (images smaller than it are resized up)."""

    keras_args = dict(height=Int(1), width=Int(1), data_format=DataFormat())
    interpolation = "bilinear"

    def call(self, inputs):
        x, h_axis = inputs, self._axes(inputs)[0]
        h, w = x.shape[h_axis], x.shape[h_axis + 1]
        if h >= self.height and w >= self.width:
            return _crop(x, (h - self.height) // 2, (w - self.width) // 2, self.height, self.width, h_axis)
        return self._resize(_crop_to_ratio(x, self.height, self.width, h_axis), self.height, self.width)
