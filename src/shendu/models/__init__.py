"""``shendu.models``: ready-made models for the tutorials' applications.

``CharRNN`` (a character language model with sampling and acrostic poems).
"""
from .charrnn import CharRNN
