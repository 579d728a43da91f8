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

Resampling (bilinear or nearest, and the fill modes 'reflect', 'wrap', 'nearest', 'mirror', 'constant')
is :func:`shendu.data.transforms.warp_affine`.
"""

import numpy as np

from ... import random as _random
from ...data.transforms import warp_affine
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

    def _rng(self):
        return self._generator if self._generator is not None else _random.generator()

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
        y = self._augment(x).astype(x.dtype, copy=False)
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

    def _augment(self, x):
        out, rng = x.copy(), self._rng()
        if self.mode in ("horizontal", "horizontal_and_vertical"):
            flip = rng.random(x.shape[0]) < 0.5
            out[flip] = out[flip][:, :, ::-1]
        if self.mode in ("vertical", "horizontal_and_vertical"):
            flip = rng.random(x.shape[0]) < 0.5
            out[flip] = out[flip][:, ::-1]
        return out

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

    def _augment(self, x):
        n, h, w = x.shape[0], x.shape[1], x.shape[2]
        inverse = self._inverse_maps(n, h, w, self._rng())  # (n, 2, 3): output -> input, centred pixels
        y = warp_affine(np.moveaxis(x, -1, 1), inverse, self.fill_value, self.interpolation, self.fill_mode)
        return np.moveaxis(y, 1, -1)

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
        self._range = _factor_range("RandomRotation", "factor", factor)
        self._init_resampling(fill_mode, interpolation, fill_value)

    def _inverse_maps(self, n, h, w, rng):
        theta = rng.uniform(*self._range, size=n) * 2 * np.pi
        cos, sin = np.cos(theta), np.sin(theta)
        # the forward map turns counter-clockwise on screen (y axis down); its inverse turns back
        inv = np.zeros((n, 2, 3))
        inv[:, 0, 0], inv[:, 0, 1], inv[:, 1, 0], inv[:, 1, 1] = cos, -sin, sin, cos
        return inv

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

    def _inverse_maps(self, n, h, w, rng):
        zy = 1.0 + rng.uniform(*self._h, size=n)
        zx = 1.0 + rng.uniform(*self._w, size=n) if self._w is not None else zy
        inv = np.zeros((n, 2, 3))
        inv[:, 0, 0], inv[:, 1, 1] = zx, zy
        return inv

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

    def _inverse_maps(self, n, h, w, rng):
        dy = rng.uniform(*self._h, size=n) * h
        dx = rng.uniform(*self._w, size=n) * w
        inv = np.zeros((n, 2, 3))
        inv[:, 0, 0] = inv[:, 1, 1] = 1.0
        inv[:, 0, 2], inv[:, 1, 2] = -dx, -dy
        return inv

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
        if lo < 0 or hi < 0 or lo > 1:
            raise ValueError(
                f"RandomContrast: factor must be in [0, 1] (lower) and >= 0 (upper), got {factor!r}"
            )
        self._range = (1.0 - lo, 1.0 + hi)
        self.value_range = tuple(value_range)

    def _augment(self, x):
        c = self._rng().uniform(*self._range, size=(x.shape[0], 1, 1, 1))
        mean = x.mean(axis=(1, 2), keepdims=True)
        return np.clip((x - mean) * c + mean, self.value_range[0], self.value_range[1])

    def get_config(self):
        return {**super().get_config(), "factor": self.factor, "value_range": list(self.value_range)}
