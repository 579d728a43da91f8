"""Keras's image helpers on Pillow (imported when called): ``load_img``, ``img_to_array``,
``array_to_img``, ``save_img``, and the resizing used by ``image_dataset_from_directory``.

Arrays are ``(height, width, channels)`` (``data_format="channels_last"``, the default) or
``(channels, height, width)``, float32 in [0, 255] as Keras gives them; ``array_to_img(scale=True)``
maps the array's own range [min, max] onto [0, 255] first.
"""
import os

import numpy as np

__all__ = ["load_img", "img_to_array", "array_to_img", "save_img", "smart_resize"]

_INTERPOLATIONS = ("nearest", "bilinear", "bicubic", "lanczos", "box", "hamming")


def _pil():
    try:
        from PIL import Image
    except ImportError as exc:  # pragma: no cover - exercised only without Pillow
        raise ImportError("keras image utilities need Pillow: pip install pillow") from exc
    return Image


def _resample(Image, interpolation):
    if interpolation not in _INTERPOLATIONS:
        raise ValueError(f"interpolation must be one of {_INTERPOLATIONS}, got {interpolation!r}")
    return getattr(Image.Resampling, interpolation.upper())


def _data_format(data_format):
    data_format = data_format or "channels_last"
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"data_format must be 'channels_last' or 'channels_first', got {data_format!r}")
    return data_format


def load_img(path, color_mode="rgb", target_size=None, interpolation="nearest", keep_aspect_ratio=False):
    """A PIL image read from ``path`` (or a file object), converted to ``color_mode`` ('grayscale',
    'rgb', 'rgba') and resized to ``target_size=(height, width)`` when given (with
    ``keep_aspect_ratio=True`` the centre is cropped to the target's aspect ratio first)."""
    Image = _pil()
    img = Image.open(os.fspath(path) if not hasattr(path, "read") else path)
    modes = {"grayscale": "L", "rgb": "RGB", "rgba": "RGBA"}
    if color_mode not in modes:
        raise ValueError(f'load_img: color_mode must be "grayscale", "rgb" or "rgba", got {color_mode!r}')
    if img.mode != modes[color_mode]:
        img = img.convert(modes[color_mode])
    if target_size is not None:
        height, width = int(target_size[0]), int(target_size[1])
        if (img.size[0], img.size[1]) != (width, height):
            resample = _resample(Image, interpolation)
            if keep_aspect_ratio:
                w, h = img.size
                crop_w, crop_h = min(w, int(h * width / height)), min(h, int(w * height / width))
                left, top = (w - crop_w) // 2, (h - crop_h) // 2
                img = img.crop((left, top, left + crop_w, top + crop_h))
            img = img.resize((width, height), resample)
    return img


def img_to_array(img, data_format=None, dtype="float32"):
    """The image as a (height, width, channels) array (a grayscale image gets one channel)."""
    x = np.asarray(img, dtype=dtype)
    if x.ndim == 2:
        x = x[..., None]
    if x.ndim != 3:
        raise ValueError(f"img_to_array: unsupported image shape {x.shape}")
    return x.transpose(2, 0, 1) if _data_format(data_format) == "channels_first" else x


def array_to_img(x, data_format=None, scale=True, dtype="float32"):
    """A PIL image from a 3-D array: 1 channel -> 'L', 3 -> 'RGB', 4 -> 'RGBA'.

    ``scale=True``: x' = (x - min(x)) / (max(x) - min(x)) * 255 (nothing is divided when max = min)."""
    Image = _pil()
    x = np.asarray(getattr(x, "array", x), dtype=dtype)
    if x.ndim != 3:
        raise ValueError(f"array_to_img: expected an image array of rank 3 (single image), got shape "
                         f"{x.shape}")
    if _data_format(data_format) == "channels_first":
        x = x.transpose(1, 2, 0)
    if scale:
        x = x - np.min(x)
        top = np.max(x)
        if top != 0:
            x = x / top
        x = x * 255
    channels = x.shape[2]
    if channels not in (1, 3, 4):
        raise ValueError(f"array_to_img: unsupported channel number {channels} (expected 1, 3 or 4)")
    pixels = np.clip(np.rint(x), 0, 255).astype(np.uint8)
    if channels == 1:
        return Image.fromarray(pixels[:, :, 0], "L")
    return Image.fromarray(pixels, "RGB" if channels == 3 else "RGBA")


def save_img(path, x, data_format=None, file_format=None, scale=True, **kwargs):
    """Write an image array to ``path`` (the format from ``file_format`` or the file's extension)."""
    img = array_to_img(x, data_format=data_format, scale=scale)
    if img.mode == "RGBA" and (file_format == "jpg" or str(path).lower().endswith((".jpg", ".jpeg"))):
        img = img.convert("RGB")
    img.save(path, format="jpeg" if file_format == "jpg" else file_format, **kwargs)


def smart_resize(x, size, interpolation="bilinear", data_format="channels_last"):
    """Resize an image array to ``size=(height, width)``, cropping the centre to the target's aspect ratio
    first (no distortion)."""
    Image = _pil()
    x = np.asarray(getattr(x, "array", x), dtype=np.float32)
    if _data_format(data_format) == "channels_first":
        x = x.transpose(1, 2, 0)
    h, w = x.shape[:2]
    th, tw = int(size[0]), int(size[1])
    crop_h, crop_w = min(h, int(w * th / tw)), min(w, int(h * tw / th))
    top, left = (h - crop_h) // 2, (w - crop_w) // 2
    x = x[top:top + crop_h, left:left + crop_w]
    out = resize_array(x, (th, tw), interpolation, Image)
    return out.transpose(2, 0, 1) if data_format == "channels_first" else out


def resize_array(x, size, interpolation="bilinear", Image=None):
    """(h, w, c) float array resized to ``size=(height, width)``, channel by channel in float mode."""
    Image = Image or _pil()
    th, tw = int(size[0]), int(size[1])
    if x.shape[:2] == (th, tw):
        return x.astype(np.float32)
    resample = _resample(Image, interpolation)
    chans = [np.asarray(Image.fromarray(np.ascontiguousarray(x[:, :, c], dtype=np.float32), "F")
                        .resize((tw, th), resample)) for c in range(x.shape[2])]
    return np.stack(chans, axis=-1).astype(np.float32)
