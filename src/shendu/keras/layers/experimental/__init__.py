"""tf.keras 2's ``layers.experimental`` path: ``from tensorflow.keras.layers.experimental.preprocessing
import TextVectorization`` reads ``from shendu.keras.layers.experimental.preprocessing import ...``."""

from . import preprocessing

__all__ = ["preprocessing"]
