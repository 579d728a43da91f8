import numpy as np
import pytest

import shendu as sd
from shendu import optim
from shendu.data.datasets import chinese_numerals, to_chinese_numeral
from shendu.models import CharVocab, Seq2Seq
from shendu.models.seq2seq import BOS, EOS, PAD


@pytest.mark.parametrize("n,text", [(0, "零"), (10, "十"), (15, "十五"), (110, "一百一十"), (1005, "一千零五"),
                                    (10500, "一万零五百"), (100000, "十万"), (20019, "二万零一十九"),
                                    (101010, "十万一千零一十"), (99999999, "九千九百九十九万九千九百九十九")])
def test_chinese_numerals(n, text):
    assert to_chinese_numeral(n) == text


def test_numeral_pairs_are_seeded():
    a = chinese_numerals(5, seed=3)
    assert a == chinese_numerals(5, seed=3) and len(a[0]) == 5
    assert all(to_chinese_numeral(int(x)) == y for x, y in zip(*a))


def test_vocab_specials_and_padding():
    v = CharVocab("ab")
    ids, lengths = v.batch(["ab", "b"], bos=True, eos=True)
    assert ids.tolist() == [[BOS, 3, 4, EOS], [BOS, 4, EOS, PAD]] and lengths.tolist() == [4, 3]
    assert v.decode([3, 4, EOS, 3]) == "ab"
    with pytest.raises(KeyError, match="not in the vocabulary"):
        v.encode("abc")


def _trained(steps=120):
    sd.manual_seed(0)
    src, tgt = chinese_numerals(64, 0, 1000, seed=1)
    m = Seq2Seq("0123456789", "".join(sorted(set("".join(tgt)))), hidden_size=48)
    opt = optim.Adam(m.parameters(), lr=0.01)
    for _ in range(steps):
        opt.zero_grad()
        loss = m.loss(src, tgt)
        loss.backward()
        opt.step()
    return m, src, tgt, float(loss.item())


def test_learns_and_decodes_greedy_and_beam():
    m, src, tgt, loss = _trained()
    assert loss < 0.05
    greedy = m.translate(src[:16])
    beam = m.translate(src[:16], beam_size=3)
    assert np.mean([g == t for g, t in zip(greedy, tgt)]) >= 0.9
    assert np.mean([b == t for b, t in zip(beam, tgt)]) >= 0.9


def test_attention_rows_are_distributions_over_the_real_source():
    m, src, tgt, _ = _trained(steps=5)
    texts, attention = m.translate(["7", "305"], return_attention=True)
    for text, a, s in zip(texts, attention, ["7", "305"]):
        assert a.shape[1] == len(s) and a.shape[0] in (len(text) + 1, m.max_length)
        np.testing.assert_allclose(a.sum(axis=1), 1.0, atol=1e-5)


def test_padding_gets_no_attention():
    m = Seq2Seq("0123456789", "零一二三四五六七八九十百", hidden_size=16)
    src, lengths = m.src_vocab.batch(["1", "123"])
    _, alpha = m(src, lengths, np.array([[BOS], [BOS]]))
    assert float(np.abs(alpha.array[0, :, 1:]).max()) == 0.0


def test_beam_of_one_is_greedy():
    m, src, _, _ = _trained(steps=10)
    assert m.translate(src[:5], beam_size=1) == [m.tgt_vocab.decode(m._greedy(s, 40)[0]) for s in src[:5]]


def test_bad_attention_name():
    with pytest.raises(ValueError, match="attention"):
        Seq2Seq("a", "b", attention="bahdanau-ish")
