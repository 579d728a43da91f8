"""``from shendu.keras.preprocessing.image import array_to_img, img_to_array, load_img`` (tf.keras 2's
module path; the functions live in :mod:`shendu.keras.utils`)."""

from ...data.image import array_to_img, img_to_array, load_img, save_img, smart_resize

__all__ = ["array_to_img", "img_to_array", "load_img", "save_img", "smart_resize"]
