"""Data augmentation and preprocessing transforms, vectorized over batches.

Every transform is a callable object with two entry points:

- ``t(x)``: one sample, shaped ``(H, W)``, ``(C, H, W)`` or a feature vector ``(D,)``; an
  input with 4 dimensions ``(N, C, H, W)`` is taken as a batch;
- ``t.apply_batch(x)``: a batch whose first axis is the sample axis: ``(N, H, W)``,
  ``(N, C, H, W)``, ``(N, D)``. Random transforms draw independent parameters for each sample,
  and the work is a handful of NumPy calls for the whole batch (no loop over samples).

The :class:`~shendu.data.DataLoader` (``transform=``) and
:class:`~shendu.data.TransformDataset` call ``apply_batch`` on each fancy-indexed batch, so
augmentation costs a few vectorized operations per batch.

Random transforms take ``generator=`` (an int seed or a ``numpy.random.Generator``); by
default they draw from ``shendu.random.generator()``, so ``shendu.manual_seed(n)`` makes the
augmentation reproducible. Spatial transforms act on the last two axes (height, width).
"""

import math

import numpy as np

from ._rng import resolve_generator
from .dataset import as_array

__all__ = [
    "Transform",
    "Compose",
    "Lambda",
    "ToFloat",
    "ToTensor",
    "Normalize",
    "RandomCrop",
    "RandomHorizontalFlip",
    "RandomVerticalFlip",
    "RandomRotation",
    "RandomAffine",
    "RandomZoom",
    "RandomTranslation",
    "RandomContrast",
    "GaussianNoise",
    "RandomErasing",
    "OneHot",
]


class Transform:
    """Base class. Subclasses define :meth:`apply_batch`; a single sample is a batch of one."""

    def __call__(self, x):
        x = as_array(x)
        if x.ndim == 4:
            return self.apply_batch(x)
        return self.apply_batch(x[None])[0]

    def apply_batch(self, x):
        raise NotImplementedError

    def __repr__(self):
        fields = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({fields})"


class RandomTransform(Transform):
    """A transform with its own random source (``generator=``) or the library-wide one."""

    def __init__(self, generator=None):
        self._generator = (
            np.random.default_rng(int(generator)) if isinstance(generator, (int, np.integer)) else generator
        )

    def _rng(self):
        return resolve_generator(self._generator)


def _apply(t, x):
    if hasattr(t, "apply_batch"):
        return t.apply_batch(x)
    return np.stack([np.asarray(t(s)) for s in x])


class Compose(Transform):
    """Apply ``transforms`` one after the other: ``Compose([a, b])(x) == b(a(x))``."""

    def __init__(self, transforms):
        self.transforms = list(transforms)

    def __call__(self, x):
        for t in self.transforms:
            x = t(x)
        return x

    def apply_batch(self, x):
        for t in self.transforms:
            x = _apply(t, x)
        return x

    def __repr__(self):
        inner = "".join(f"\n    {t!r}," for t in self.transforms)
        return f"Compose([{inner}\n])"


class Lambda(Transform):
    """Wrap a function: per sample, or on the whole batch at once with ``batched=True``."""

    def __init__(self, fn, batched=False):
        self.fn = fn
        self.batched = batched

    def __call__(self, x):
        return self.fn(x)

    def apply_batch(self, x):
        if self.batched:
            return self.fn(x)
        return np.stack([np.asarray(self.fn(s)) for s in x])


class ToFloat(Transform):
    """Convert to ``dtype`` (float32): ``uint8`` pixels are scaled to [0, 1] as ``x / 255``.

    Other integer and float inputs are converted without scaling, unless ``scale`` is given
    (then ``x * scale`` for every input).
    """

    def __init__(self, dtype=np.float32, scale=None):
        self.dtype = np.dtype(dtype)
        self.scale = scale

    def __call__(self, x):
        return self.apply_batch(x)

    def apply_batch(self, x):
        x = as_array(x)
        scale = self.scale
        if scale is None and x.dtype == np.uint8:
            scale = 1.0 / 255.0
        out = x.astype(self.dtype, copy=scale is None and x.dtype != self.dtype)
        if scale is not None:
            out *= self.dtype.type(scale)
        return out


class ToTensor(Transform):
    """torchvision's ``ToTensor``: uint8 images in 0..255 become float32 in [0, 1], channels first.

    A grey image (H, W) becomes (1, H, W) and a colour one (H, W, C) becomes (C, H, W); a batch
    (N, H, W) or (N, H, W, C) becomes (N, C, H, W). Float input is only moved to channels first.
    """

    def __call__(self, x):
        x = as_array(x)
        return self.apply_batch(x[None])[0]

    def apply_batch(self, x):
        x = as_array(x)
        if x.ndim == 3:
            x = x[:, None]
        elif x.ndim == 4:
            x = x.transpose(0, 3, 1, 2)
        else:
            raise ValueError(f"ToTensor: expected images (H, W) or (H, W, C), got a batch of shape {x.shape}")
        if x.dtype == np.uint8:
            return np.ascontiguousarray(x, dtype=np.float32) / np.float32(255)
        return np.ascontiguousarray(x, dtype=np.float32)


class Normalize(Transform):
    """``(x - mean) / std`` per channel: ``mean``/``std`` are scalars or one value per channel.

    Channels are the third axis from the end, so (C, H, W) samples and (N, C, H, W) batches both
    work; scalars apply to any shape. Integer input is converted to float32 first.
    """

    def __init__(self, mean, std):
        self.mean = np.asarray(mean, dtype=np.float32)
        self.std = np.asarray(std, dtype=np.float32)
        if np.any(self.std == 0):
            raise ValueError(f"Normalize: std must be non-zero, got {std}")

    def __call__(self, x):
        return self.apply_batch(x)

    def apply_batch(self, x):
        x = as_array(x)
        if x.dtype.kind not in "fc":
            x = x.astype(np.float32)
        mean, std = self.mean, self.std
        if mean.ndim == 1 and mean.size > 1 or std.ndim == 1 and std.size > 1:
            channels = max(mean.size, std.size)
            if x.ndim < 3 or x.shape[-3] != channels:
                raise ValueError(
                    f"Normalize: {channels} per-channel values need input shaped (C, H, W) or (N, C, H, W) "
                    f"with C={channels}, got shape {x.shape}"
                )
            mean = mean.reshape(-1, 1, 1)
            std = std.reshape(-1, 1, 1)
        return ((x - mean) / std).astype(x.dtype, copy=False)


def _pairs(size, name):
    if isinstance(size, (int, np.integer)):
        return int(size), int(size)
    size = tuple(int(s) for s in size)
    if len(size) != 2:
        raise ValueError(f"{name}: expected an int or (height, width), got {size}")
    return size


class RandomCrop(RandomTransform):
    """Pad by ``padding`` then cut a ``size`` window at a random position (one per sample).

    ``padding``: int (all sides), (left/right, top/bottom) or (left, top, right, bottom), like
    torchvision; ``padding_mode``: "constant" (with ``fill``), "edge", "reflect" or "symmetric".
    The batch version pads the whole batch once, takes a sliding-window view and picks each
    sample's window with one fancy index.
    """

    def __init__(self, size, padding=0, fill=0, padding_mode="constant", pad_if_needed=False, generator=None):
        super().__init__(generator)
        self.size = _pairs(size, "RandomCrop")
        if isinstance(padding, (int, np.integer)):
            padding = (padding,) * 4
        padding = tuple(int(p) for p in padding)
        if len(padding) == 2:
            padding = (padding[0], padding[1], padding[0], padding[1])
        if len(padding) != 4 or min(padding) < 0:
            raise ValueError(f"RandomCrop: padding must be non-negative int, 2 or 4 values, got {padding}")
        self.padding = padding  # left, top, right, bottom
        if padding_mode not in ("constant", "edge", "reflect", "symmetric"):
            raise ValueError(f"RandomCrop: unknown padding_mode {padding_mode!r}")
        self.fill = fill
        self.padding_mode = padding_mode
        self.pad_if_needed = pad_if_needed

    def apply_batch(self, x):
        x = as_array(x)
        if x.ndim < 3:
            raise ValueError(f"RandomCrop.apply_batch expects (N, H, W) or (N, C, H, W), got shape {x.shape}")
        h, w = self.size
        left, top, right, bottom = self.padding
        H, W = x.shape[-2] + top + bottom, x.shape[-1] + left + right
        if self.pad_if_needed:
            extra_h, extra_w = max(0, h - H), max(0, w - W)
            top, bottom, left, right = top + extra_h, bottom + extra_h, left + extra_w, right + extra_w
            H, W = H + 2 * extra_h, W + 2 * extra_w
        if H < h or W < w:
            raise ValueError(f"RandomCrop: crop size {(h, w)} is larger than the padded image {(H, W)}")
        if self.padding_mode == "constant" and (top or bottom or left or right):
            padded = np.full(x.shape[:-2] + (H, W), self.fill, dtype=x.dtype)  # faster than np.pad
            padded[..., top : top + x.shape[-2], left : left + x.shape[-1]] = x
            x = padded
        elif top or bottom or left or right:
            x = np.pad(x, [(0, 0)] * (x.ndim - 2) + [(top, bottom), (left, right)], mode=self.padding_mode)
        n = x.shape[0]
        rng = self._rng()
        oy = rng.integers(0, H - h + 1, size=n)
        ox = rng.integers(0, W - w + 1, size=n)
        flat = x.reshape(n, -1, H, W)
        windows = np.lib.stride_tricks.sliding_window_view(flat, (h, w), axis=(2, 3))
        out = windows[np.arange(n), :, oy, ox]  # (n, C, h, w)
        return out.reshape(x.shape[:-2] + (h, w))


class RandomHorizontalFlip(RandomTransform):
    """Mirror left-right with probability ``p`` (each sample independently)."""

    def __init__(self, p=0.5, generator=None):
        super().__init__(generator)
        self.p = p

    def apply_batch(self, x):
        x = as_array(x)
        flip = np.flatnonzero(self._rng().random(x.shape[0]) < self.p)
        out = x.copy()
        out[flip] = x[flip][..., ::-1]
        return out


class RandomVerticalFlip(RandomTransform):
    """Mirror top-bottom with probability ``p`` (each sample independently)."""

    def __init__(self, p=0.5, generator=None):
        super().__init__(generator)
        self.p = p

    def apply_batch(self, x):
        x = as_array(x)
        flip = np.flatnonzero(self._rng().random(x.shape[0]) < self.p)
        out = x.copy()
        out[flip] = x[flip][..., ::-1, :]
        return out


def _fold(i, n, mode):
    """Integer pixel indices ``i`` folded into [0, n) by ``mode`` (for points outside the image)."""
    if mode == "nearest":
        return np.clip(i, 0, n - 1)
    if mode == "wrap":
        return np.mod(i, n)
    if mode == "reflect":  # d c b a | a b c d | d c b a
        j = np.mod(i, 2 * n)
        return np.where(j >= n, 2 * n - 1 - j, j)
    if mode == "mirror":  # d c b | a b c d | c b a
        if n == 1:
            return np.zeros_like(i)
        j = np.mod(i, 2 * n - 2)
        return np.where(j >= n, 2 * n - 2 - j, j)
    raise ValueError(f"fill_mode must be 'constant', 'nearest', 'wrap', 'reflect' or 'mirror', got {mode!r}")


def warp_affine(x, inverse, fill=0.0, interpolation="bilinear", fill_mode="constant"):
    """Resample each image of ``x`` (N, ..., H, W) through its inverse affine map.

    ``inverse`` is (N, 2, 3): output pixel (u, v), measured from the image centre, reads the input
    at ``inverse[:, :, :2] @ (u, v) + inverse[:, :, 2]``. Bilinear interpolation weighs the four
    neighbours ``(1-a)(1-b) p00 + a(1-b) p01 + (1-a) b p10 + a b p11``; points outside the image
    read ``fill`` (``fill_mode='constant'``) or the pixel that ``fill_mode`` 'nearest', 'wrap',
    'reflect' (d c b a | a b c d) or 'mirror' (d c b | a b c d) folds them onto. One gather per
    corner for the whole batch.
    """
    x = as_array(x)
    shape = x.shape
    n, H, W = shape[0], shape[-2], shape[-1]
    flat = x.reshape(n, -1, H, W)
    c = flat.shape[1]
    pixels = np.moveaxis(flat, 1, -1).reshape(n * H * W, c)
    cy, cx = (H - 1) / 2.0, (W - 1) / 2.0
    v, u = np.meshgrid(
        np.arange(H, dtype=np.float32) - cy, np.arange(W, dtype=np.float32) - cx, indexing="ij"
    )
    A = inverse.astype(np.float32)
    sx = A[:, 0, 0, None, None] * u + A[:, 0, 1, None, None] * v + A[:, 0, 2, None, None] + cx
    sy = A[:, 1, 0, None, None] * u + A[:, 1, 1, None, None] * v + A[:, 1, 2, None, None] + cy
    base = (np.arange(n) * H * W)[:, None, None]
    work = np.dtype(np.float32) if x.dtype.kind != "f" else x.dtype

    def gather(iy, ix):
        if fill_mode != "constant":
            iy, ix = _fold(iy, H, fill_mode), _fold(ix, W, fill_mode)
        inside = (iy >= 0) & (iy < H) & (ix >= 0) & (ix < W)
        idx = base + np.clip(iy, 0, H - 1) * W + np.clip(ix, 0, W - 1)
        vals = pixels[idx].astype(work, copy=False)  # (n, H, W, c)
        return np.where(inside[..., None], vals, work.type(fill))

    if interpolation == "nearest":
        out = gather(np.rint(sy).astype(np.int64), np.rint(sx).astype(np.int64))
    elif interpolation == "bilinear":
        x0, y0 = np.floor(sx), np.floor(sy)
        a, b = (sx - x0)[..., None], (sy - y0)[..., None]
        x0, y0 = x0.astype(np.int64), y0.astype(np.int64)
        out = (
            (1 - a) * (1 - b) * gather(y0, x0)
            + a * (1 - b) * gather(y0, x0 + 1)
            + (1 - a) * b * gather(y0 + 1, x0)
            + a * b * gather(y0 + 1, x0 + 1)
        )
    else:
        raise ValueError(f"interpolation must be 'nearest' or 'bilinear', got {interpolation!r}")
    out = np.moveaxis(out, -1, 1).reshape(shape)
    if x.dtype.kind in "iu":
        info = np.iinfo(x.dtype)
        out = np.clip(np.rint(out), info.min, info.max)
    return out.astype(x.dtype, copy=False)


def _range(value, name, symmetric=True):
    if value is None:
        return None
    if np.isscalar(value):
        if symmetric:
            if value < 0:
                raise ValueError(f"{name}: a single value must be non-negative, got {value}")
            return (-float(value), float(value))
        return (float(value), float(value))
    lo, hi = (float(v) for v in value)
    return (lo, hi)


class RandomAffine(RandomTransform):
    """Random rotation, translation, scale and shear about the image centre (per sample).

    Args:
        degrees: rotation range; ``d`` means U(-d, d); positive angles turn counter-clockwise.
        translate: ``(a, b)``: shifts U(-a·W, a·W) horizontally and U(-b·H, b·H) vertically.
        scale: ``(lo, hi)``: zoom factor U(lo, hi).
        shear: ``s`` (x-shear U(-s, s) degrees), ``(lo, hi)`` (x-shear), or 4 values (x then y range).
        interpolation: "bilinear" (default) or "nearest"; ``fill``: value outside the image.
        fill_mode: "constant" (``fill``, the default), or "nearest", "wrap", "reflect", "mirror"
            (see :func:`warp_affine`).

    The forward map of output from input is ``p' = T · R(θ) · Sh · S · p`` in centred pixel
    coordinates; each output pixel reads the input at the inverse image of its position.
    """

    def __init__(
        self,
        degrees=0,
        translate=None,
        scale=None,
        shear=None,
        interpolation="bilinear",
        fill=0,
        generator=None,
        fill_mode="constant",
    ):
        super().__init__(generator)
        self.degrees = _range(degrees, "RandomAffine degrees")
        self.translate = translate
        self.scale = scale
        if shear is not None and not np.isscalar(shear) and len(shear) == 4:
            self.shear = (tuple(shear[:2]), tuple(shear[2:]))
        else:
            self.shear = (_range(shear, "RandomAffine shear"), None) if shear is not None else None
        self.interpolation = interpolation
        self.fill = fill
        self.fill_mode = fill_mode

    def matrices(self, n, height, width):
        """Draw ``n`` forward maps as (n, 2, 3) arrays in centred pixel coordinates."""
        rng = self._rng()
        theta = np.deg2rad(rng.uniform(*self.degrees, size=n)) if self.degrees else np.zeros(n)
        cos, sin = np.cos(theta), np.sin(theta)
        rot = np.stack([np.stack([cos, sin], -1), np.stack([-sin, cos], -1)], -2)  # (n, 2, 2), y axis down
        lin = rot
        if self.shear is not None:
            shx = np.tan(np.deg2rad(rng.uniform(*self.shear[0], size=n)))
            shy = np.tan(np.deg2rad(rng.uniform(*self.shear[1], size=n))) if self.shear[1] else np.zeros(n)
            sh = np.stack([np.stack([np.ones(n), shx], -1), np.stack([shy, np.ones(n)], -1)], -2)
            lin = lin @ sh
        if self.scale is not None:
            lin = lin * rng.uniform(self.scale[0], self.scale[1], size=n)[:, None, None]
        shift = np.zeros((n, 2))
        if self.translate is not None:
            a, b = self.translate
            shift[:, 0] = rng.uniform(-a * width, a * width, size=n)
            shift[:, 1] = rng.uniform(-b * height, b * height, size=n)
        return np.concatenate([lin, shift[:, :, None]], axis=2)

    def apply_batch(self, x):
        x = as_array(x)
        fwd = self.matrices(x.shape[0], x.shape[-2], x.shape[-1])
        inv_lin = np.linalg.inv(fwd[:, :, :2])
        inv_shift = -np.einsum("nij,nj->ni", inv_lin, fwd[:, :, 2])
        inverse = np.concatenate([inv_lin, inv_shift[:, :, None]], axis=2)
        return warp_affine(x, inverse, self.fill, self.interpolation, self.fill_mode)


class RandomRotation(RandomAffine):
    """Rotate by an angle drawn from U(-degrees, degrees) (or ``degrees=(lo, hi)``), counter-clockwise.

    ``interpolation``: "nearest" (default, like torchvision) or "bilinear"; ``fill`` outside, or
    ``fill_mode`` as in :class:`RandomAffine`.
    """

    def __init__(self, degrees, interpolation="nearest", fill=0, generator=None, fill_mode="constant"):
        super().__init__(degrees=degrees, interpolation=interpolation, fill=fill, generator=generator,
                         fill_mode=fill_mode)


class _RandomWarp(RandomTransform):
    """A random affine resampling given directly by its inverse maps (see :func:`warp_affine`)."""

    def __init__(self, interpolation="bilinear", fill=0, fill_mode="constant", generator=None):
        super().__init__(generator)
        self.interpolation, self.fill, self.fill_mode = interpolation, fill, fill_mode

    def inverse_maps(self, n, height, width):
        raise NotImplementedError

    def apply_batch(self, x):
        x = as_array(x)
        inverse = self.inverse_maps(x.shape[0], x.shape[-2], x.shape[-1])
        return warp_affine(x, inverse, self.fill, self.interpolation, self.fill_mode)


class RandomZoom(_RandomWarp):
    """Zoom each image about its centre: output pixel p reads the input at (1 + z)·p, z ~ U(lo, hi).

    ``height_factor``: ``z`` as a number f (U(-f, f)) or a pair (lo, hi), lo >= -1; z > 0 zooms out,
    z < 0 zooms in. ``width_factor``: the same for the columns, or None to keep the aspect ratio (one z
    for both). Keras's ``RandomZoom``; ``fill_mode`` and ``fill`` as in :func:`warp_affine`.
    """

    def __init__(self, height_factor, width_factor=None, interpolation="bilinear", fill=0,
                 fill_mode="constant", generator=None):
        super().__init__(interpolation, fill, fill_mode, generator)
        self.height_factor = _range(height_factor, "RandomZoom height_factor")
        self.width_factor = _range(width_factor, "RandomZoom width_factor")
        for r in filter(None, (self.height_factor, self.width_factor)):
            if r[0] < -1 or r[0] > r[1]:
                raise ValueError(f"RandomZoom: factors need -1 <= lower <= upper, got {r}")

    def inverse_maps(self, n, height, width):
        rng = self._rng()
        zy = 1.0 + rng.uniform(*self.height_factor, size=n)
        zx = 1.0 + rng.uniform(*self.width_factor, size=n) if self.width_factor is not None else zy
        inv = np.zeros((n, 2, 3))
        inv[:, 0, 0], inv[:, 1, 1] = zx, zy
        return inv


class RandomTranslation(_RandomWarp):
    """Shift each image by U(lo, hi)·H rows down and U(lo, hi)·W columns right.

    Each factor is a number f (U(-f, f)) or a pair (lo, hi), as Keras's ``RandomTranslation``;
    ``fill_mode`` and ``fill`` as in :func:`warp_affine`.
    """

    def __init__(self, height_factor, width_factor, interpolation="bilinear", fill=0, fill_mode="constant",
                 generator=None):
        super().__init__(interpolation, fill, fill_mode, generator)
        self.height_factor = _range(height_factor, "RandomTranslation height_factor")
        self.width_factor = _range(width_factor, "RandomTranslation width_factor")

    def inverse_maps(self, n, height, width):
        rng = self._rng()
        dy = rng.uniform(*self.height_factor, size=n) * height
        dx = rng.uniform(*self.width_factor, size=n) * width
        inv = np.zeros((n, 2, 3))
        inv[:, 0, 0] = inv[:, 1, 1] = 1.0
        inv[:, 0, 2], inv[:, 1, 2] = -dx, -dy
        return inv


class RandomContrast(RandomTransform):
    """Scale each image's contrast: y = (x − mean)·c + mean, c ~ U(lo, hi) per image, the mean taken
    per channel over height and width; the result is clipped to ``value_range`` when given.

    ``factor``: a number f (c ~ U(1 − f, 1 + f)) or a pair (lower, upper) (c ~ U(1 − lower, 1 + upper)),
    as Keras's ``RandomContrast``. Works on (N, H, W) and (N, C, H, W) batches.
    """

    def __init__(self, factor, value_range=None, generator=None):
        super().__init__(generator)
        lo, hi = (float(f) for f in factor) if isinstance(factor, (list, tuple)) else (float(factor),) * 2
        if lo < 0 or hi < 0 or lo > 1:
            raise ValueError(
                f"RandomContrast: factor must be in [0, 1] (lower) and >= 0 (upper), got {factor!r}"
            )
        self.range = (1.0 - lo, 1.0 + hi)
        self.value_range = None if value_range is None else tuple(value_range)

    def apply_batch(self, x):
        x = as_array(x)
        c = self._rng().uniform(*self.range, size=(x.shape[0],) + (1,) * (x.ndim - 1))
        mean = x.mean(axis=(-2, -1), keepdims=True)
        out = (x - mean) * c + mean
        if self.value_range is not None:
            out = np.clip(out, self.value_range[0], self.value_range[1])
        return out


class GaussianNoise(RandomTransform):
    """Add noise: ``x + N(mean, std²)`` elementwise, optionally clipped to ``clip=(lo, hi)``.

    Integer input is converted to float32 first (apply :class:`ToFloat` before, to work in [0, 1]).
    """

    def __init__(self, std=0.1, mean=0.0, clip=None, generator=None):
        super().__init__(generator)
        self.std = std
        self.mean = mean
        self.clip = clip

    def __call__(self, x):
        return self.apply_batch(x)

    def apply_batch(self, x):
        x = as_array(x)
        dtype = x.dtype if x.dtype.kind == "f" else np.dtype(np.float32)
        noise = self._rng().standard_normal(x.shape, dtype=np.float32 if dtype == np.float32 else np.float64)
        out = x.astype(dtype, copy=False) + (noise * dtype.type(self.std) + dtype.type(self.mean))
        if self.clip is not None:
            np.clip(out, self.clip[0], self.clip[1], out=out)
        return out


class RandomErasing(RandomTransform):
    """With probability ``p`` blank a random rectangle of each image (Zhong et al., 2017).

    The rectangle covers a fraction U(``scale``) of the area with aspect ratio log-uniform in
    ``ratio``; a side longer than the image is clipped to it (torchvision retries instead).
    ``value``: a number, or "random" for standard-normal noise. Works on (N, H, W) and
    (N, C, H, W); the same rectangle covers all channels of a sample.
    """

    def __init__(self, p=0.5, scale=(0.02, 0.33), ratio=(0.3, 3.3), value=0, generator=None):
        super().__init__(generator)
        if not 0 <= p <= 1:
            raise ValueError(f"RandomErasing: p must be in [0, 1], got {p}")
        self.p, self.scale, self.ratio, self.value = p, scale, ratio, value

    def apply_batch(self, x):
        x = as_array(x)
        n, H, W = x.shape[0], x.shape[-2], x.shape[-1]
        rng = self._rng()
        chosen = rng.random(n) < self.p
        area = H * W * rng.uniform(self.scale[0], self.scale[1], size=n)
        aspect = np.exp(rng.uniform(math.log(self.ratio[0]), math.log(self.ratio[1]), size=n))
        h = np.clip(np.rint(np.sqrt(area * aspect)), 1, H).astype(np.int64)
        w = np.clip(np.rint(np.sqrt(area / aspect)), 1, W).astype(np.int64)
        top = rng.integers(0, H - h + 1)
        left = rng.integers(0, W - w + 1)
        rows = np.arange(H)[None, :, None]
        cols = np.arange(W)[None, None, :]
        mask = (
            chosen[:, None, None]
            & (rows >= top[:, None, None])
            & (rows < (top + h)[:, None, None])
            & (cols >= left[:, None, None])
            & (cols < (left + w)[:, None, None])
        )
        mask = mask.reshape((n,) + (1,) * (x.ndim - 3) + (H, W))
        if isinstance(self.value, str):
            if self.value != "random":
                raise ValueError(f"RandomErasing: value must be a number or 'random', got {self.value!r}")
            fill = rng.standard_normal(x.shape).astype(x.dtype)
        else:
            fill = np.asarray(self.value).astype(x.dtype)
        return np.where(mask, fill, x)


class OneHot(Transform):
    """Integer labels to one-hot rows: ``y -> eye(num_classes)[y]`` (``dtype`` float32).

    Meant as a ``target_transform``; works on a single label or any array of labels.
    """

    def __init__(self, num_classes, dtype=np.float32):
        self.num_classes = int(num_classes)
        self.dtype = np.dtype(dtype)

    def __call__(self, y):
        return self.apply_batch(y)

    def apply_batch(self, y):
        y = np.asarray(as_array(y))
        if y.dtype.kind not in "iub":
            if y.dtype.kind == "f" and np.all(y == np.round(y)):
                y = y.astype(np.int64)
            else:
                raise ValueError(f"OneHot: labels must be integers, got dtype {y.dtype}")
        if y.size and (y.min() < 0 or y.max() >= self.num_classes):
            raise ValueError(
                f"OneHot: labels must lie in [0, {self.num_classes}), got range [{y.min()}, {y.max()}]"
            )
        return np.eye(self.num_classes, dtype=self.dtype)[y]
