"""Image augmentation layers (active in training only; identity at inference), on (batch, H, W, C) or one
(H, W, C) image. Each sample draws its own transform from the layer's generator (``seed=`` makes it
reproducible; without one the library-wide generator is used, see ``shendu.manual_seed``).

* ``RandomFlip(mode)``: mirror left-right / top-bottom with probability 1/2 each.
* ``RandomRotation(factor)``: angle θ ~ U(lo, hi)·2π, counter-clockwise for θ > 0.
* ``RandomZoom(height_factor, width_factor)``: output pixel p reads input (1 + z)·p about the centre,
  z ~ U(lo, hi); z > 0 zooms out, z < 0 zooms in (``width_factor=None`` keeps the aspect ratio).
* ``RandomTranslation(height_factor, width_factor)``: shift by U(lo, hi)·H rows and U(lo, hi)·W columns.
* ``RandomContrast(factor)``: y = (x − mean)·c + mean per image and channel, c ~ U(1 − lo, 1 + hi),
  clipped to ``value_range``.

The math is :mod:`shendu.data.transforms`' (``RandomHorizontalFlip``, ``RandomVerticalFlip``,
``RandomAffine``, ``RandomZoom``, ``RandomTranslation``, ``RandomContrast``; resampling, bilinear or
nearest with the fill modes 'reflect', 'wrap', 'nearest', 'mirror', 'constant', is
:func:`~shendu.data.transforms.warp_affine`): these layers map Keras's arguments onto those transforms
and channels-last images onto their channels-first batches.
"""

import numpy as np

from ...data import transforms as T
from ...tensor import Tensor
from .base import REQUIRED, Arg, Choice, Float, Layer, Plain, _owner

__all__ = ["RandomFlip", "RandomRotation", "RandomZoom", "RandomTranslation", "RandomContrast"]


def _factor_range(layer, name, value, low=None):
    """A number v as (−v, v) (v >= 0) or a pair (lower, upper); ``low`` bounds the lower end."""
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        if len(value) != 2:
            raise ValueError(f"{_owner(layer)}: {name} must be a number or a pair (lower, upper), got "
                             f"{value!r}")
        lo, hi = float(value[0]), float(value[1])
    elif float(value) < 0:
        raise ValueError(f"{_owner(layer)}: {name} as a single number must be >= 0, got {value!r}")
    else:
        lo, hi = -float(value), float(value)
    if lo > hi or (low is not None and lo < low):
        raise ValueError(f"{_owner(layer)}: {name} needs {low} <= lower <= upper, got {value!r}")
    return lo, hi


def _factor(default=REQUIRED, low=None):
    """A factor argument, saved as given; the layer also stores its (lower, upper) range as ``_<name>``."""
    def parse(layer, name, v):
        setattr(layer, f"_{name}", _factor_range(layer, name, v, low))
        return v

    return Arg(default, parse)


def _resampling(**head):
    return dict(head, fill_mode=Choice("reflect", "reflect", "wrap", "constant", "nearest", "mirror"),
                interpolation=Choice("bilinear", "bilinear", "nearest"), seed=Plain(), fill_value=Float(0.0))


class _RandomImage(Layer):
    supports_masking = True

    def _setup(self):
        self._generator = np.random.default_rng(int(self.seed)) if self.seed is not None else None
        self._transforms = self._make()  # applied in turn to the (batch, channels, height, width) images

    def _affine(self):
        return dict(interpolation=self.interpolation, fill=self.fill_value, fill_mode=self.fill_mode,
                    generator=self._generator)

    def call(self, inputs, training=None):
        if not training:
            return inputs
        x = inputs.numpy()
        single = x.ndim == 3
        x = x[None] if single else x
        if x.ndim != 4:
            raise ValueError(f"{type(self).__name__} '{self.name}': expected images (batch, height, width, "
                             f"channels) or (height, width, channels), got shape {tuple(inputs.shape)}")
        y = np.moveaxis(x, -1, 1)
        for t in self._transforms:
            y = t.apply_batch(y)
        y = np.moveaxis(y, 1, -1).astype(x.dtype, copy=False)
        return Tensor(y[0] if single else y)

    compute_output_shape = Layer._same_shape


class RandomFlip(_RandomImage):
    """``RandomFlip("horizontal")``, ``"vertical"`` or ``"horizontal_and_vertical"`` (the default)."""

    _MODES = ("horizontal", "vertical", "horizontal_and_vertical")
    keras_args = dict(mode=Choice("horizontal_and_vertical", *_MODES), seed=Plain())

    def _make(self):
        flips = (("horizontal", T.RandomHorizontalFlip), ("vertical", T.RandomVerticalFlip))
        return [flip(0.5, generator=self._generator) for mode, flip in flips if mode in self.mode]


class RandomRotation(_RandomImage):
    """``RandomRotation(0.1)`` turns each image by up to ±0.1·360° (``factor=(lo, hi)`` for a range)."""

    keras_args = _resampling(factor=_factor())

    def _make(self):
        lo, hi = self._factor
        return [T.RandomAffine(degrees=(lo * 360, hi * 360), **self._affine())]


class RandomZoom(_RandomImage):
    """``RandomZoom(0.2)``: zoom each image by a factor in [0.8, 1.2] (positive values zoom out)."""

    keras_args = _resampling(height_factor=_factor(low=-1), width_factor=_factor(None, low=-1))

    def _make(self):
        return [T.RandomZoom(self._height_factor, self._width_factor, **self._affine())]


class RandomTranslation(_RandomImage):
    """``RandomTranslation(0.1, 0.1)``: shift each image by up to ±10% of its height and width."""

    keras_args = _resampling(height_factor=_factor(), width_factor=_factor())

    def _make(self):
        return [T.RandomTranslation(self._height_factor, self._width_factor, **self._affine())]


class RandomContrast(_RandomImage):
    """``RandomContrast(0.2)``: contrast factor in [0.8, 1.2] per image, result clipped to ``value_range``."""

    keras_args = dict(factor=Plain(REQUIRED), seed=Plain(), value_range=Arg((0, 255), save=list))

    def _make(self):
        if isinstance(self.factor, (list, tuple)):  # (lower, upper): c ~ U(1 - lower, 1 + upper)
            lo, hi = (float(f) for f in self.factor)
        else:
            lo = hi = _factor_range(self, "factor", self.factor)[1]
        self.value_range = tuple(self.value_range)
        return [T.RandomContrast((lo, hi), self.value_range, generator=self._generator)]
