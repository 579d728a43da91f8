import numpy as np
import pytest

import shendu as sd
import shendu.nn.functional as F
from shendu import optim
from shendu.models import CharRNN

POEM = "床前明月光，疑是地上霜。\n举头望明月，低头思故乡。\n"


def _overfit(cell, steps=150, seed=0):
    sd.manual_seed(seed)
    m = CharRNN.from_text(POEM, embedding_dim=16, hidden_size=64, cell=cell)
    ids = m.encode(POEM)
    x, y = sd.tensor(ids[None, :-1]), sd.tensor(ids[None, 1:])
    opt = optim.Adam(m.parameters(), lr=0.02)
    for _ in range(steps):
        opt.zero_grad()
        loss = F.cross_entropy(m(x).reshape(-1, m.vocab_size), y.reshape(-1))
        loss.backward()
        opt.step()
    return m, float(loss.item())


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_charrnn_overfits_one_poem_and_regenerates_it(cell):
    m, loss = _overfit(cell)
    assert loss < 0.05
    assert m.generate(POEM[0], length=len(POEM) - 1, temperature=0) == POEM


def test_generation_is_deterministic_for_a_seed():
    m, _ = _overfit("gru", steps=20)
    a = m.generate("床", 30, temperature=1.0, top_k=5, seed=7)
    b = m.generate("床", 30, temperature=1.0, top_k=5, seed=7)
    assert a == b and len(a) == 31
    assert m.generate("床", 30, temperature=1.5, seed=8) != m.generate("床", 30, temperature=1.5, seed=9)


def test_top_k_one_is_greedy():
    m, _ = _overfit("lstm", steps=20)
    assert m.generate("床", 20, temperature=1.0, top_k=1, seed=3) == m.generate("床", 20, temperature=0)


def test_acrostic_lines_start_with_the_requested_characters():
    m, _ = _overfit("lstm", steps=40)
    poem = m.acrostic("明月思乡", line_length=5, seed=0)
    lines = poem.split("\n")
    assert [line[0] for line in lines] == list("明月思乡")
    assert all(len(line) == 6 and line[-1] in "，。" for line in lines)
    assert all("，" not in line[:-1] and "。" not in line[:-1] for line in lines)


def test_vocabulary_travels_with_the_state_dict(tmp_path):
    m, _ = _overfit("gru", steps=20)
    sd.save(m.state_dict(), tmp_path / "m.safetensors")
    other = CharRNN.from_state_dict(sd.load(tmp_path / "m.safetensors"))
    assert other.chars == m.chars
    assert other.generate("床", 15, temperature=0) == m.generate("床", 15, temperature=0)


def test_errors_name_the_problem():
    m = CharRNN("ab")
    with pytest.raises(KeyError, match="not in the vocabulary"):
        m.encode("abc")
    with pytest.raises(ValueError, match="cell"):
        CharRNN("ab", cell="transformer")
    with pytest.raises(ValueError, match="prompt"):
        m.generate("")


def test_logits_shape():
    m = CharRNN("abcd", hidden_size=8)
    assert m(sd.tensor(np.zeros((3, 5), dtype=np.int64))).shape == (3, 5, 4)
