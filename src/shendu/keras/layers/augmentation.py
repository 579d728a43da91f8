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
from .base import Layer

__all__ = ["RandomFlip", "RandomRotation", "RandomZoom", "RandomTranslation", "RandomContrast"]

_FILL_MODES = ("reflect", "wrap", "constant", "nearest", "mirror")


def _factor_range(owner, name, value, symmetric=True):
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        if len(value) != 2:
            raise ValueError(f"{owner}: {name} must be a number or a pair (lower, upper), got {value!r}")
        lo, hi = float(value[0]), float(value[1])
    else:
        v = float(value)
        if v < 0 and symmetric:
            raise ValueError(f"{owner}: {name} as a single number must be >= 0, got {value!r}")
        lo, hi = -v, v
    if lo > hi:
        raise ValueError(f"{owner}: {name} needs lower <= upper, got {value!r}")
    return lo, hi


class _RandomImage(Layer):
    _mask_passthrough = True

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self._generator = np.random.default_rng(int(seed)) if seed is not None else None
        self._transforms = []  # applied in turn to the (batch, channels, height, width) images

    def call(self, inputs, training=None):
        if not training:
            return inputs
        x = inputs.numpy()
        single = x.ndim == 3
        if single:
            x = x[None]
        if x.ndim != 4:
            raise ValueError(
                f"{type(self).__name__} '{self.name}': expected images (batch, height, width, channels) or "
                f"(height, width, channels), got shape {tuple(inputs.shape)}"
            )
        y = np.moveaxis(x, -1, 1)
        for t in self._transforms:
            y = t.apply_batch(y)
        y = np.moveaxis(y, 1, -1).astype(x.dtype, copy=False)
        return Tensor(y[0] if single else y)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}


class RandomFlip(_RandomImage):
    """``RandomFlip("horizontal")``, ``"vertical"`` or ``"horizontal_and_vertical"`` (the default)."""

    def __init__(self, mode="horizontal_and_vertical", seed=None, **kwargs):
        super().__init__(seed, **kwargs)
        if mode not in ("horizontal", "vertical", "horizontal_and_vertical"):
            raise ValueError(
                "RandomFlip: mode must be 'horizontal', 'vertical' or 'horizontal_and_vertical', "
                f"got {mode!r}"
            )
        self.mode = mode
        if mode in ("horizontal", "horizontal_and_vertical"):
            self._transforms.append(T.RandomHorizontalFlip(0.5, generator=self._generator))
        if mode in ("vertical", "horizontal_and_vertical"):
            self._transforms.append(T.RandomVerticalFlip(0.5, generator=self._generator))

    def get_config(self):
        return {**super().get_config(), "mode": self.mode}


class _Affine(_RandomImage):
    def _init_resampling(self, fill_mode, interpolation, fill_value):
        if fill_mode not in _FILL_MODES:
            raise ValueError(
                f"{type(self).__name__}: fill_mode must be one of {_FILL_MODES}, got {fill_mode!r}"
            )
        if interpolation not in ("bilinear", "nearest"):
            raise ValueError(
                f"{type(self).__name__}: interpolation must be 'bilinear' or 'nearest', got {interpolation!r}"
            )
        self.fill_mode, self.interpolation, self.fill_value = fill_mode, interpolation, float(fill_value)

    def _resampling(self):
        return dict(interpolation=self.interpolation, fill=self.fill_value, fill_mode=self.fill_mode,
                    generator=self._generator)

    def get_config(self):
        return {
            **super().get_config(),
            "fill_mode": self.fill_mode,
            "interpolation": self.interpolation,
            "fill_value": self.fill_value,
        }


class RandomRotation(_Affine):
    """``RandomRotation(0.1)`` turns each image by up to ±0.1·360° (``factor=(lo, hi)`` for a range)."""

    def __init__(
        self, factor, fill_mode="reflect", interpolation="bilinear", seed=None, fill_value=0.0, **kwargs
    ):
        super().__init__(seed, **kwargs)
        self.factor = factor
        lo, hi = _factor_range("RandomRotation", "factor", factor)
        self._init_resampling(fill_mode, interpolation, fill_value)
        self._transforms.append(T.RandomAffine(degrees=(lo * 360, hi * 360), **self._resampling()))

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


class RandomZoom(_Affine):
    """``RandomZoom(0.2)``: zoom each image by a factor in [0.8, 1.2] (positive values zoom out)."""

    def __init__(
        self,
        height_factor,
        width_factor=None,
        fill_mode="reflect",
        interpolation="bilinear",
        seed=None,
        fill_value=0.0,
        **kwargs,
    ):
        super().__init__(seed, **kwargs)
        self.height_factor, self.width_factor = height_factor, width_factor
        self._h = _factor_range("RandomZoom", "height_factor", height_factor)
        self._w = _factor_range("RandomZoom", "width_factor", width_factor)
        for lo, _ in filter(None, (self._h, self._w)):
            if lo < -1:
                raise ValueError(
                    f"RandomZoom: factors must be >= -1, got {height_factor!r}, {width_factor!r}"
                )
        self._init_resampling(fill_mode, interpolation, fill_value)
        self._transforms.append(T.RandomZoom(self._h, self._w, **self._resampling()))

    def get_config(self):
        return {
            **super().get_config(),
            "height_factor": self.height_factor,
            "width_factor": self.width_factor,
        }


class RandomTranslation(_Affine):
    """``RandomTranslation(0.1, 0.1)``: shift each image by up to ±10% of its height and width."""

    def __init__(
        self,
        height_factor,
        width_factor,
        fill_mode="reflect",
        interpolation="bilinear",
        seed=None,
        fill_value=0.0,
        **kwargs,
    ):
        super().__init__(seed, **kwargs)
        self.height_factor, self.width_factor = height_factor, width_factor
        self._h = _factor_range("RandomTranslation", "height_factor", height_factor)
        self._w = _factor_range("RandomTranslation", "width_factor", width_factor)
        self._init_resampling(fill_mode, interpolation, fill_value)
        self._transforms.append(T.RandomTranslation(self._h, self._w, **self._resampling()))

    def get_config(self):
        return {
            **super().get_config(),
            "height_factor": self.height_factor,
            "width_factor": self.width_factor,
        }


class RandomContrast(_RandomImage):
    """``RandomContrast(0.2)``: contrast factor in [0.8, 1.2] per image, result clipped to ``value_range``."""

    def __init__(self, factor, seed=None, value_range=(0, 255), **kwargs):
        super().__init__(seed, **kwargs)
        self.factor = factor
        if isinstance(factor, (list, tuple)):  # (lower, upper): c ~ U(1 - lower, 1 + upper)
            lo, hi = (float(f) for f in factor)
        else:
            lo = hi = _factor_range("RandomContrast", "factor", factor)[1]
        self.value_range = tuple(value_range)
        self._transforms.append(T.RandomContrast((lo, hi), self.value_range, generator=self._generator))

    def get_config(self):
        return {**super().get_config(), "factor": self.factor, "value_range": list(self.value_range)}
