"""Tokenizer, pad_sequences, to_categorical and word vectors: Keras's documented behaviour."""

import gzip

import numpy as np
import pytest

from shendu.data.text import (
    Tokenizer,
    char_split,
    load_word_vectors,
    pad_sequences,
    text_to_word_sequence,
    to_categorical,
    tokenizer_from_json,
)

TEXTS = ["The cat sat on the mat.", "The dog ate my homework!"]


def test_word_index_by_frequency_ties_in_first_appearance_order():
    tok = Tokenizer()
    tok.fit_on_texts(TEXTS)
    assert tok.word_index == {
        "the": 1,
        "cat": 2,
        "sat": 3,
        "on": 4,
        "mat": 5,
        "dog": 6,
        "ate": 7,
        "my": 8,
        "homework": 9,
    }
    assert tok.word_counts["the"] == 3 and list(tok.word_counts)[:3] == ["the", "cat", "sat"]
    assert tok.word_docs["the"] == 2 and tok.document_count == 2
    assert tok.index_word[1] == "the"
    assert tok.texts_to_sequences(TEXTS) == [[1, 2, 3, 4, 1, 5], [1, 6, 7, 8, 9]]


@pytest.mark.parametrize(
    "kwargs, text, expected",
    [
        ({}, "the bird sat", [1, 3]),  # unknown words dropped
        ({"num_words": 3}, "the cat sat on the mat", [1, 2, 1]),  # indices >= num_words dropped
        ({"oov_token": "<OOV>"}, "the bird sat", [2, 1, 4]),  # OOV forced to 1, the rest shift
        ({"oov_token": "<OOV>", "num_words": 3}, "the cat sat on the mat", [2, 1, 1, 1, 2, 1]),
        ({"lower": False}, "The the cat", [1, 5, 2]),  # "The" (twice) and "the" (once) differ
        ({"filters": ""}, "the mat. mat", [1, 5]),  # "mat." (with the dot) is the word
    ],
)
def test_texts_to_sequences_table(kwargs, text, expected):
    tok = Tokenizer(**kwargs)
    tok.fit_on_texts(TEXTS)
    assert tok.texts_to_sequences([text]) == [expected]


def test_num_words_does_not_limit_word_index():
    tok = Tokenizer(num_words=3)
    tok.fit_on_texts(TEXTS)
    assert len(tok.word_index) == 9


def test_sequences_to_texts():
    tok = Tokenizer(oov_token="<OOV>", num_words=4)
    tok.fit_on_texts(TEXTS)
    assert tok.sequences_to_texts([[2, 3, 9, 42]]) == ["the cat <OOV> <OOV>"]
    plain = Tokenizer()
    plain.fit_on_texts(TEXTS)
    assert plain.sequences_to_texts([[1, 2, 42]]) == ["the cat"]


def test_char_level_and_chinese_text():
    tok = Tokenizer(char_level=True)
    tok.fit_on_texts(["aab"])
    assert tok.word_index == {"a": 1, "b": 2}
    poem = "床前明月光，疑是地上霜。"
    zh = Tokenizer(char_level=True)
    zh.fit_on_texts([poem])
    assert "，" in zh.word_index and len(zh.texts_to_sequences([poem])[0]) == len(poem)
    clean = Tokenizer(analyzer=char_split)
    clean.fit_on_texts([poem, "举头望明月，低头思故乡。"])
    assert "，" not in clean.word_index and clean.word_index["明"] == 1
    assert char_split("床前 明月。") == ["床", "前", "明", "月"]


def test_text_to_word_sequence():
    assert text_to_word_sequence("Hello, World!  hi") == ["hello", "world", "hi"]


def test_matrices():
    tok = Tokenizer()
    tok.fit_on_texts(TEXTS)
    binary = tok.texts_to_matrix(TEXTS, mode="binary")
    assert binary.shape == (2, 10) and binary[0, 1] == 1 and binary[0, 6] == 0
    count = tok.texts_to_matrix(TEXTS, mode="count")
    assert count[0, 1] == 2
    freq = tok.texts_to_matrix(TEXTS, mode="freq")
    assert freq[0, 1] == pytest.approx(2 / 6)
    tfidf = tok.texts_to_matrix(TEXTS, mode="tfidf")
    assert tfidf[0, 1] == pytest.approx((1 + np.log(2)) * np.log(1 + 2 / (1 + 2)))
    with pytest.raises(ValueError, match="Unknown vectorization mode"):
        tok.texts_to_matrix(TEXTS, mode="nope")
    with pytest.raises(ValueError, match="Specify a dimension"):
        Tokenizer().sequences_to_matrix([[1]])


def test_json_round_trip():
    tok = Tokenizer(num_words=5, oov_token="<OOV>")
    tok.fit_on_texts(TEXTS)
    again = tokenizer_from_json(tok.to_json())
    assert again.word_index == tok.word_index
    assert again.index_word == tok.index_word
    assert again.num_words == 5 and again.oov_token == "<OOV>" and again.document_count == 2
    assert again.texts_to_sequences(TEXTS) == tok.texts_to_sequences(TEXTS)


SEQS = [[1, 2, 3], [4, 5], [6]]


@pytest.mark.parametrize(
    "kwargs, expected",
    [
        ({}, [[1, 2, 3], [0, 4, 5], [0, 0, 6]]),
        ({"padding": "post"}, [[1, 2, 3], [4, 5, 0], [6, 0, 0]]),
        ({"maxlen": 2}, [[2, 3], [4, 5], [0, 6]]),
        ({"maxlen": 2, "truncating": "post"}, [[1, 2], [4, 5], [0, 6]]),
        ({"maxlen": 2, "truncating": "post", "padding": "post"}, [[1, 2], [4, 5], [6, 0]]),
        ({"maxlen": 4, "value": -1}, [[-1, 1, 2, 3], [-1, -1, 4, 5], [-1, -1, -1, 6]]),
    ],
)
def test_pad_sequences_table(kwargs, expected):
    out = pad_sequences(SEQS, **kwargs)
    assert out.dtype == np.int32
    np.testing.assert_array_equal(out, expected)


def test_pad_sequences_details():
    out = pad_sequences([[1.7, 2.2], []], maxlen=3)
    np.testing.assert_array_equal(out, [[0, 1, 2], [0, 0, 0]])  # int32 cast truncates, empty -> padding
    np.testing.assert_allclose(pad_sequences([[0.5]], maxlen=2, dtype="float32"), [[0.0, 0.5]])
    multi = pad_sequences([np.ones((2, 3)), np.ones((1, 3))], padding="post")
    assert multi.shape == (2, 2, 3) and multi[1, 1].sum() == 0
    with pytest.raises(ValueError, match='Padding type "middle" not understood'):
        pad_sequences(SEQS, padding="middle")
    with pytest.raises(ValueError, match='Truncating type "middle" not understood'):
        pad_sequences(SEQS, truncating="middle")
    strings = pad_sequences([["a", "b"], ["c"]], dtype=object, value="<pad>")
    assert strings.tolist() == [["a", "b"], ["<pad>", "c"]]


def test_to_categorical():
    out = to_categorical([0, 2, 1])
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, np.eye(3)[[0, 2, 1]])
    assert to_categorical(np.array([[1], [0]])).shape == (2, 2)  # trailing axis of 1 dropped
    assert to_categorical([1, 2], num_classes=5).shape == (2, 5)
    assert to_categorical([[0, 1], [2, 3]]).shape == (2, 2, 4)
    with pytest.raises(ValueError, match="labels"):
        to_categorical([3], num_classes=2)


def test_load_word_vectors(tmp_path, rng):
    tok = Tokenizer()
    tok.fit_on_texts(TEXTS)
    path = tmp_path / "vectors.txt"
    path.write_text("the 0.1 0.2 0.3\ncat 1 2 3\nzebra 9 9 9\n")
    matrix, found = load_word_vectors(path, tok, return_found=True)
    assert matrix.shape == (10, 3) and matrix.dtype == np.float32 and found == 2
    np.testing.assert_allclose(matrix[1], [0.1, 0.2, 0.3])
    np.testing.assert_allclose(matrix[2], [1, 2, 3])
    assert not matrix[0].any() and not matrix[3].any()
    rand = load_word_vectors(path, tok.word_index, missing="random", generator=0)
    assert rand[3].any() and not rand[0].any()
    w2v = tmp_path / "w2v.txt.gz"
    with gzip.open(w2v, "wt") as f:
        f.write("2 3\nthe 1 1 1\nmat 2 2 2\n")
    np.testing.assert_allclose(load_word_vectors(w2v, tok, dim=3)[5], [2, 2, 2])
    bad = tmp_path / "bad.txt"
    bad.write_text("the 1 2 3\ncat 1 2\n")
    with pytest.raises(ValueError, match="bad.txt line 2"):
        load_word_vectors(bad, tok)
