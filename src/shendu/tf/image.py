"""``tf.image``: the image functions Keras examples call, on channels-last batches (N, H, W, C)
or single images (H, W, C). Each is one line onto :mod:`shendu.keras.ops` (``ops.image``)."""

from ..keras import ops as _k

__all__ = ["resize", "extract_patches", "flip_left_right", "flip_up_down", "rgb_to_grayscale"]


def resize(images, size, method="bilinear", preserve_aspect_ratio=False, antialias=False, name=None):
    """Resized to ``size`` = (height, width); the result is float32 whatever the input's dtype (as in
    TensorFlow). ``method``: ``"bilinear"`` (half-pixel centres), ``"nearest"``, ``"bicubic"``."""
    if preserve_aspect_ratio:
        raise NotImplementedError("tf.image.resize: preserve_aspect_ratio=True is not supported")
    return _k.image.resize(_k.cast(images, "float32"), size, interpolation=str(method))


def extract_patches(images, sizes, strides, rates, padding, name=None):
    """``sizes=[1, p, p, 1]`` patches of a (N, H, W, C) batch, each flattened: (N, H/p, W/p, p·p·C).
    Only non-overlapping patches (``strides == sizes``, ``rates`` all 1, ``"VALID"``) are supported."""
    if list(strides) != list(sizes) or any(int(r) != 1 for r in rates) or str(padding).upper() != "VALID":
        raise NotImplementedError("tf.image.extract_patches: only strides == sizes, rates of 1 and 'VALID' "
                                  "padding are supported")
    return _k.image.extract_patches(images, (int(sizes[1]), int(sizes[2])))


def flip_left_right(image):
    return _k.flip(image, axis=-2)


def flip_up_down(image):
    return _k.flip(image, axis=-3)


def rgb_to_grayscale(images, name=None):
    return _k.image.rgb_to_grayscale(images)


