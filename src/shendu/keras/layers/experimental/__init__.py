"""tf.keras 2's ``layers.experimental`` path: ``from tensorflow.keras.layers.experimental.preprocessing
import TextVectorization`` reads ``from shendu.keras.layers.experimental.preprocessing import ...``;
and ``layers.experimental.RandomFourierFeatures``."""

from . import preprocessing
from .random_features import RandomFourierFeatures

__all__ = ["preprocessing", "RandomFourierFeatures"]
