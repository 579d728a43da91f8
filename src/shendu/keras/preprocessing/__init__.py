"""``shendu.keras.preprocessing``: ``text.Tokenizer``, ``sequence.pad_sequences``, ``image.load_img`` /
``img_to_array`` / ``array_to_img`` and the ``*_dataset_from_*`` functions (tf.keras 2's module paths)."""

from ...data.directory import (
    image_dataset_from_directory,
    text_dataset_from_directory,
    timeseries_dataset_from_array,
)
from . import image, sequence, text

__all__ = ["text", "sequence", "image", "image_dataset_from_directory", "text_dataset_from_directory",
           "timeseries_dataset_from_array"]
