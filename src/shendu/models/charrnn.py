"""A character-level recurrent language model: ``CharRNN`` (LSTM or GRU) with sampling and acrostics.

The model reads characters ``c_1 … c_t`` and predicts the next one:

    h_t = RNN(E[c_t], h_{t-1}),   p(c_{t+1} | c_≤t) = softmax(W h_t + b)

and is trained by cross-entropy, ``-(1/T) Σ_t log p(c_{t+1} | c_≤t)``; ``exp`` of that mean is the
perplexity. Generation samples ``c_{t+1}`` from ``softmax(logits / temperature)``, optionally restricted to
the ``top_k`` most likely characters. The vocabulary is a buffer of Unicode code points, so
``state_dict()`` (and ``shendu.save``) carries it with the weights.
"""
import numpy as np

from .. import nn
from ..autograd import no_grad
from ..creation import tensor

_CELLS = {"lstm": nn.LSTM, "gru": nn.GRU}


class CharRNN(nn.Module):
    """Character language model: ``Embedding → LSTM/GRU → Linear``.

    >>> import shendu as sd
    >>> from shendu.models import CharRNN
    >>> m = CharRNN.from_text("春眠不觉晓，处处闻啼鸟。", hidden_size=16)
    >>> ids = m.encode("春眠"); m(sd.tensor(ids[None])).shape      # (batch, time, vocab)
    (1, 2, 13)

    ``vocab`` is the string (or list) of the characters the model knows; index 0 is the first of them.
    ``generate`` and ``acrostic`` sample text; ``encode``/``decode`` map between text and indices.
    """

    def __init__(self, vocab, embedding_dim=64, hidden_size=128, num_layers=1, cell="lstm", dropout=0.0):
        super().__init__()
        chars = list(dict.fromkeys(vocab))
        if not chars:
            raise ValueError("CharRNN: vocab is empty; give the characters the model should know")
        if cell not in _CELLS:
            raise ValueError(f"CharRNN: cell must be one of {sorted(_CELLS)}, got {cell!r}")
        self.cell = cell
        self.register_buffer("vocab_codes", tensor(np.array([ord(c) for c in chars], dtype=np.int64)))
        self.embedding = nn.Embedding(len(chars), embedding_dim)
        self.rnn = _CELLS[cell](embedding_dim, hidden_size, num_layers=num_layers, batch_first=True,
                                dropout=dropout if num_layers > 1 else 0.0)
        self.head = nn.Linear(hidden_size, len(chars))
        self._refresh_vocab()

    @classmethod
    def from_text(cls, text, **kwargs):
        """A model whose vocabulary is every character of ``text`` (in sorted order)."""
        return cls(sorted(set(text)), **kwargs)

    @classmethod
    def from_state_dict(cls, state_dict, cell=None, dropout=0.0):
        """Rebuild a model from a saved ``state_dict`` (sizes and vocabulary are read from it)."""
        codes = np.asarray(getattr(state_dict["vocab_codes"], "array", state_dict["vocab_codes"]))
        emb = state_dict["embedding.weight"].shape
        gates = state_dict["rnn.weight_ih_l0"].shape[0] // state_dict["rnn.weight_hh_l0"].shape[1]
        cell = cell or {4: "lstm", 3: "gru"}[gates]
        layers = sum(1 for k in state_dict if k.startswith("rnn.weight_ih_l") and not k.endswith("_reverse"))
        model = cls("".join(chr(int(c)) for c in codes), embedding_dim=emb[1],
                    hidden_size=state_dict["rnn.weight_hh_l0"].shape[1], num_layers=layers, cell=cell,
                    dropout=dropout)
        model.load_state_dict(state_dict)
        return model

    def _refresh_vocab(self):
        self.chars = [chr(int(c)) for c in self.vocab_codes.array]
        self.index = {c: i for i, c in enumerate(self.chars)}

    def load_state_dict(self, state_dict, strict=True):
        result = super().load_state_dict(state_dict, strict=strict)
        self._refresh_vocab()
        return result

    @property
    def vocab_size(self):
        return len(self.chars)

    def encode(self, text):
        """Indices of ``text``'s characters (int64 array); an unknown character raises ``KeyError``."""
        missing = sorted({c for c in text if c not in self.index})
        if missing:
            raise KeyError(f"CharRNN.encode: characters not in the vocabulary: {missing[:10]}")
        return np.array([self.index[c] for c in text], dtype=np.int64)

    def decode(self, ids):
        return "".join(self.chars[int(i)] for i in np.asarray(ids).ravel())

    def forward(self, ids, state=None):
        """Logits ``(batch, time, vocab)`` for index input ``(batch, time)``; with ``state`` given (or
        ``return_state`` wanted) use :meth:`step`."""
        out, _ = self.rnn(self.embedding(ids), state)
        return self.head(out)

    def step(self, ids, state=None):
        """One forward pass that also returns the recurrent state, for generation."""
        out, state = self.rnn(self.embedding(ids), state)
        return self.head(out), state

    # ----------------------------------------------------------------------------------------- sampling
    @staticmethod
    def _sample(logits, temperature, top_k, rng):
        """Draw one index from ``softmax(logits / temperature)`` restricted to the ``top_k`` largest."""
        logits = np.asarray(logits, dtype=np.float64)
        if temperature <= 0:
            return int(np.argmax(logits))
        z = logits / temperature
        if top_k is not None and 0 < top_k < z.size:
            cut = np.partition(z, -top_k)[-top_k]
            z = np.where(z >= cut, z, -np.inf)
        p = np.exp(z - z.max())
        p /= p.sum()
        return int(rng.choice(p.size, p=p))

    def _continue(self, prompt, length, temperature, top_k, rng, stop=None, state=None):
        """Feed ``prompt`` then sample ``length`` characters; returns (new text, state)."""
        out = []
        ids = self.encode(prompt)
        logits, state = self.step(tensor(ids[None]), state)
        last = logits.array[0, -1]
        for _ in range(length):
            nxt = self._sample(last, temperature, top_k, rng)
            ch = self.chars[nxt]
            out.append(ch)
            if stop is not None and ch in stop:
                break
            logits, state = self.step(tensor(np.array([[nxt]], dtype=np.int64)), state)
            last = logits.array[0, -1]
        return "".join(out), state

    def generate(self, prompt, length=100, temperature=1.0, top_k=None, seed=None):
        """``prompt`` followed by ``length`` sampled characters.

        ``temperature`` < 1 sharpens the distribution (0 is greedy), > 1 flattens it; ``top_k`` keeps only
        the k most likely characters at each step; ``seed`` makes the result repeatable.
        """
        if not prompt:
            raise ValueError("CharRNN.generate: prompt is empty; give at least one character")
        rng = np.random.default_rng(seed)
        was_training = self.training
        self.eval()
        try:
            with no_grad():
                text, _ = self._continue(prompt, length, temperature, top_k, rng)
        finally:
            self.train(was_training)
        return prompt + text

    def acrostic(self, heads, line_length=7, temperature=0.8, top_k=None, seed=None, start="",
                 punctuation=("，", "。")):
        """A 藏头诗 (acrostic poem): line ``i`` starts with ``heads[i]``.

        Each line is the head character followed by ``line_length - 1`` sampled characters and a
        punctuation mark (alternating ``，`` and ``。``); the whole poem so far conditions each line.
        Returns the lines joined by newlines.
        """
        if not heads:
            raise ValueError("CharRNN.acrostic: heads is empty; give the first character of each line")
        rng = np.random.default_rng(seed)
        marks = set(punctuation)
        banned = [self.index[c] for c in marks if c in self.index] + (
            [self.index["\n"]] if "\n" in self.index else [])
        lines = []
        was_training = self.training
        self.eval()
        try:
            with no_grad():
                state = None
                if start:
                    _, state = self.step(tensor(self.encode(start)[None]), state)
                for i, head in enumerate(heads):
                    line = head
                    logits, state = self.step(tensor(self.encode(head)[None]), state)
                    for _ in range(line_length - 1):
                        z = logits.array[0, -1].astype(np.float64).copy()
                        z[banned] = -np.inf          # a line is not cut short by punctuation
                        nxt = self._sample(z, temperature, top_k, rng)
                        line += self.chars[nxt]
                        logits, state = self.step(tensor(np.array([[nxt]], dtype=np.int64)), state)
                    mark = punctuation[i % len(punctuation)]
                    if mark in self.index:
                        line += mark
                        _, state = self.step(tensor(self.encode(mark)[None]), state)
                    lines.append(line)
        finally:
            self.train(was_training)
        return "\n".join(lines)
