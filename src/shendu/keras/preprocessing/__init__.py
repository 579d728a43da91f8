"""``shendu.keras.preprocessing``: ``text.Tokenizer``, ``sequence.pad_sequences`` (tf.keras 2's
module paths)."""

from . import sequence, text

__all__ = ["text", "sequence"]
