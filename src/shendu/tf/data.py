"""``tf.data``: the :class:`shendu.data.pipeline.Dataset` pipeline under TensorFlow's module path."""
from ..data.pipeline import AUTOTUNE, Dataset, TextLineDataset, experimental  # noqa: F401

__all__ = ["Dataset", "TextLineDataset", "AUTOTUNE", "experimental"]
