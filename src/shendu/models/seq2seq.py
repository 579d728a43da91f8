"""Sequence to sequence with attention: a GRU encoder-decoder that translates one string into another.

Encoder over the source characters ``x_1 … x_S``:   ``e_1 … e_S = GRU_enc(E_src[x])``
Decoder over the target so far (teacher forcing: the true previous character ``y_{t-1}``, from BOS):
                                         ``h_t = GRU_dec(E_tgt[y_{t-1}], h_{t-1})``,  ``h_0 = e_S``
Luong attention ("general"; "dot" drops ``W_a``):
                                         ``score(t, s) = h_tᵀ W_a e_s``,
                                         ``α_t = softmax_s(score(t, ·))`` (padding masked out),
                                         ``c_t = Σ_s α_{t,s} e_s``
Output:                                  ``h̃_t = tanh(W_c [c_t; h_t])``,
                                         ``p(y_t | y_<t, x) = softmax(W_o h̃_t)``

Training minimises the cross-entropy of the target characters (PAD ignored). Decoding is greedy (take the
most likely character each step) or a beam search that keeps the ``beam_size`` best partial outputs by total
log-probability (optionally divided by ``length ** length_penalty``) until each ends with EOS.
"""
import numpy as np

from .. import nn
from ..autograd import no_grad
from ..creation import tensor
from ..nn import functional as F
from ..ops import cat

PAD, BOS, EOS = 0, 1, 2
_SPECIALS = ["<pad>", "<s>", "</s>"]


class CharVocab:
    """Characters ↔ indices with ``<pad>`` = 0, ``<s>`` (BOS) = 1 and ``</s>`` (EOS) = 2."""

    def __init__(self, chars):
        self.itos = _SPECIALS + [c for c in dict.fromkeys(chars) if c not in _SPECIALS]
        self.stoi = {c: i for i, c in enumerate(self.itos)}

    def __len__(self):
        return len(self.itos)

    def encode(self, text, bos=False, eos=False):
        missing = sorted({c for c in text if c not in self.stoi})
        if missing:
            raise KeyError(f"CharVocab.encode: characters not in the vocabulary: {missing[:10]}")
        return [BOS] * bos + [self.stoi[c] for c in text] + [EOS] * eos

    def decode(self, ids):
        out = []
        for i in ids:
            if int(i) == EOS:
                break
            if int(i) > EOS:
                out.append(self.itos[int(i)])
        return "".join(out)

    def batch(self, texts, bos=False, eos=False):
        """Post-padded ``(batch, longest)`` int64 array and the lengths."""
        seqs = [self.encode(t, bos, eos) for t in texts]
        lengths = np.array([len(s) for s in seqs], dtype=np.int64)
        out = np.full((len(seqs), max(lengths.max(), 1)), PAD, dtype=np.int64)
        for i, s in enumerate(seqs):
            out[i, :len(s)] = s
        return out, lengths


class Seq2Seq(nn.Module):
    """GRU encoder-decoder with Luong attention over characters.

    >>> from shendu.models import Seq2Seq
    >>> m = Seq2Seq("0123456789", "零一二三四五六七八九十百千万", hidden_size=32)
    >>> loss = m.loss(["12", "305"], ["十二", "三百零五"]); loss.shape
    ()
    >>> len(m.translate(["12"])[0]) <= 20
    True
    """

    def __init__(self, source_chars, target_chars, embedding_dim=32, hidden_size=128, attention="general",
                 max_length=40):
        super().__init__()
        if attention not in ("general", "dot"):
            raise ValueError(f"Seq2Seq: attention must be 'general' or 'dot', got {attention!r}")
        self.src_vocab, self.tgt_vocab = CharVocab(source_chars), CharVocab(target_chars)
        self.max_length = max_length
        self.src_embedding = nn.Embedding(len(self.src_vocab), embedding_dim, padding_idx=PAD)
        self.tgt_embedding = nn.Embedding(len(self.tgt_vocab), embedding_dim, padding_idx=PAD)
        self.encoder = nn.GRU(embedding_dim, hidden_size, batch_first=True)
        self.decoder = nn.GRU(embedding_dim, hidden_size, batch_first=True)
        self.attn = nn.Linear(hidden_size, hidden_size, bias=False) if attention == "general" else None
        self.combine = nn.Linear(2 * hidden_size, hidden_size)
        self.out = nn.Linear(hidden_size, len(self.tgt_vocab))

    # ------------------------------------------------------------------------------------------ pieces
    def encode(self, src, lengths):
        """Encoder outputs ``(B, S, H)``, the last real step's state ``(1, B, H)`` and the padding mask."""
        enc, _ = self.encoder(self.src_embedding(tensor(src)))
        last = enc[np.arange(len(lengths)), np.asarray(lengths) - 1]
        mask = np.arange(src.shape[1])[None, :] >= np.asarray(lengths)[:, None]     # True where padding
        return enc, last.unsqueeze(0), mask

    def attend(self, dec, enc, mask):
        """Logits ``(B, T, V)`` and attention weights ``(B, T, S)`` for decoder states ``(B, T, H)``."""
        keys = self.attn(enc) if self.attn is not None else enc
        scores = dec @ keys.transpose(1, 2)                                         # (B, T, S)
        scores = scores.masked_fill(tensor(mask[:, None, :]), -1e9)
        alpha = F.softmax(scores, dim=-1)
        context = alpha @ enc                                                       # (B, T, H)
        return self.out(self.combine(cat([context, dec], dim=-1)).tanh()), alpha

    def forward(self, src, src_lengths, tgt_in):
        """Teacher-forced logits ``(B, T, V)`` and attention ``(B, T, S)``: ``tgt_in`` starts with BOS."""
        enc, state, mask = self.encode(src, src_lengths)
        dec, _ = self.decoder(self.tgt_embedding(tensor(tgt_in)), state)
        return self.attend(dec, enc, mask)

    def loss(self, sources, targets):
        """Mean cross-entropy per target character (EOS included, PAD ignored) for lists of strings."""
        src, src_len = self.src_vocab.batch(sources)
        tgt, _ = self.tgt_vocab.batch(targets, bos=True, eos=True)
        logits, _ = self(src, src_len, tgt[:, :-1])
        return F.cross_entropy(logits.reshape(-1, len(self.tgt_vocab)), tensor(tgt[:, 1:].reshape(-1)),
                               ignore_index=PAD)

    # ----------------------------------------------------------------------------------------- decoding
    def _step(self, ids, state, enc, mask):
        dec, state = self.decoder(self.tgt_embedding(tensor(ids[:, None])), state)
        logits, alpha = self.attend(dec, enc, mask)
        return F.log_softmax(logits[:, 0], dim=-1).array, state, alpha.array[:, 0]

    def translate(self, sources, beam_size=1, max_length=None, length_penalty=0.0, return_attention=False):
        """Decoded strings (greedy when ``beam_size == 1``); with ``return_attention`` also each output's
        attention matrix ``(output length + 1, source length)`` (the last row is EOS's)."""
        max_length = max_length or self.max_length
        was_training = self.training
        self.eval()
        try:
            with no_grad():
                results = [self._beam(s, beam_size, max_length, length_penalty) if beam_size > 1
                           else self._greedy(s, max_length) for s in sources]
        finally:
            self.train(was_training)
        texts = [self.tgt_vocab.decode(ids) for ids, _ in results]
        return (texts, [a for _, a in results]) if return_attention else texts

    def _greedy(self, source, max_length):
        src, lengths = self.src_vocab.batch([source])
        enc, state, mask = self.encode(src, lengths)
        ids, rows, prev = [], [], np.array([BOS])
        for _ in range(max_length):
            logp, state, alpha = self._step(prev, state, enc, mask)
            prev = logp.argmax(axis=-1)
            rows.append(alpha[0, :lengths[0]])
            if prev[0] == EOS:
                break
            ids.append(int(prev[0]))
        return ids, np.stack(rows)

    def _beam(self, source, beam_size, max_length, length_penalty):
        src, lengths = self.src_vocab.batch([source])
        enc, state, mask = self.encode(src, lengths)
        beams = [(0.0, [], state, [])]                 # (log-probability, ids, state, attention rows)
        finished = []
        for _ in range(max_length):
            k = len(beams)
            prev = np.array([b[1][-1] if b[1] else BOS for b in beams])
            states = cat([b[2] for b in beams], dim=1)
            logp, new_state, alpha = self._step(prev, states, enc.expand(k, -1, -1), np.repeat(mask, k, 0))
            total = np.array([b[0] for b in beams])[:, None] + logp
            order = np.argsort(total, axis=None)[::-1][: 2 * beam_size]
            next_beams = []
            for rank, flat in enumerate(order):
                b, tok = divmod(int(flat), logp.shape[1])
                rows = beams[b][3] + [alpha[b, :lengths[0]]]
                if tok == EOS:
                    if rank < beam_size:          # an ending counts only if it is among the best k
                        finished.append((total[b, tok], beams[b][1], rows))
                elif len(next_beams) < beam_size:
                    next_beams.append((total[b, tok], beams[b][1] + [tok], new_state[:, b:b + 1], rows))
            beams = next_beams
            # log-probabilities only fall as a beam grows: stop once no live beam can beat the best ending
            if not beams or (finished and max(f[0] for f in finished) >= beams[0][0]):
                break
        if not finished:
            finished = [(b[0], b[1], b[3]) for b in beams]

        def score(item):
            return item[0] / (len(item[1]) + 1) ** length_penalty

        best = max(finished, key=score)
        return best[1], np.stack(best[2])
