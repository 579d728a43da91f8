"""``shendu.models``: ready-made models for the tutorials' applications.

``CharRNN`` (a character language model with sampling and acrostic poems); ``Seq2Seq`` (a GRU
encoder-decoder with attention, greedy and beam-search decoding).
"""
from .charrnn import CharRNN
from .seq2seq import CharVocab, Seq2Seq
