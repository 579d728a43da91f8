"""``from shendu.keras.preprocessing.sequence import pad_sequences`` (from :mod:`shendu.data.text`)."""

from ...data.text import pad_sequences

__all__ = ["pad_sequences"]
