"""shendu.data.text's vocabulary builder and TextVectorizer, and shendu.data.stats' streaming moments."""
import numpy as np
import pytest

from shendu.data import stats, text


def test_rank_vocabulary_ties_and_limit():
    counts = {"b": 1, "a": 2, "c": 1, "d": 2}
    assert text.rank_vocabulary(counts) == ["a", "d", "b", "c"]  # ties in first-seen order
    assert text.rank_vocabulary(counts, ties="reverse") == ["d", "a", "c", "b"]
    assert text.rank_vocabulary(counts, ties="reverse", limit=2) == ["d", "a"]
    assert text.rank_vocabulary(counts, limit=-1) == []
    with pytest.raises(ValueError, match="ties"):
        text.rank_vocabulary(counts, ties="alphabetical")
    tok = text.Tokenizer()
    tok.fit_on_texts(["b a c a d d"])
    assert list(tok.word_index) == text.rank_vocabulary(tok.word_counts)


def test_standardize_split_and_ngrams():
    assert text.standardize_texts(["It's A b-c!"]) == ["its a bc"]
    assert text.standardize_texts(["It's A"], "lower") == ["it's a"]
    assert text.standardize_texts(["It's A"], "strip_punctuation") == ["Its A"]
    assert text.standardize_texts(["X"], lambda a: np.char.lower(a.astype(str))) == ["x"]
    with pytest.raises(ValueError, match="standardize must be"):
        text.standardize_texts(["x"], "upper")
    assert text.split_text(" a  b ") == ["a", "b"]
    assert text.split_text("ab", "character") == ["a", "b"]
    assert text.split_text("a,b", lambda t: (w.encode() for w in t.split(","))) == ["a", "b"]
    with pytest.raises(ValueError, match="split must be"):
        text.split_text("x", "comma")
    assert text.ngram_tokens(["a", "b", "c"], (1, 3)) == ["a", "b", "c", "a b c"]


def test_text_vectorizer_modes():
    tv = text.TextVectorizer(max_tokens=6, output_sequence_length=4)
    tv.adapt(["The cat sat.", "the dog sat!", "a cat"])
    assert tv.get_vocabulary() == ["", "[UNK]", "the", "sat", "cat", "dog"]
    ids = tv.transform(["the cat ran", "sat"])
    assert ids.dtype == np.int64 and ids.tolist() == [[2, 4, 1, 0], [3, 0, 0, 0]]
    docs = ["a b a", "b c"]
    tfidf = text.TextVectorizer(output_mode="tf_idf")
    tfidf.adapt(iter([(np.array(docs), np.zeros(2))]))  # batches of (x, y): x is used
    idf = np.log(1 + 2 / (1 + np.array([2, 1, 1])))
    np.testing.assert_allclose(tfidf.transform(["a a z"])[0], [idf.mean(), 0, 2 * idf[1], 0])
    counts = text.TextVectorizer(output_mode="count", max_tokens=8, pad_to_max_tokens=True)
    counts.set_vocabulary(["b", "a"])
    assert counts.transform(["a a z"]).tolist() == [[1, 0, 2, 0, 0, 0, 0, 0]]
    assert tv.texts(np.array([[b"x"], [b"y"]])) == ["x", "y"]
    with pytest.raises(ValueError, match="batch of strings"):
        tv.texts(np.zeros((2, 2), dtype=object))
    with pytest.raises(ValueError, match="adapt"):
        text.TextVectorizer().transform(["a"])
    with pytest.raises(ValueError, match="idf_weights"):
        text.TextVectorizer(output_mode="tf_idf").set_vocabulary(["a"])
    assert text.TextVectorizer(ngrams=2).get_config()["ngrams"] == [1, 2]


def test_running_moments_equal_the_whole_data():
    rng = np.random.default_rng(0)
    x = rng.normal(5.0, 3.0, (101, 4, 3))
    m = stats.RunningMoments(axis=-1)
    for part in np.array_split(x, 7):
        m.update(part)
    assert m.count == 101 * 4 and m.shape == (14, 4, 3)
    np.testing.assert_allclose(m.mean, x.mean(axis=(0, 1)), rtol=1e-12)
    np.testing.assert_allclose(m.variance, x.var(axis=(0, 1)), rtol=1e-12)
    mean, var, count, _ = stats.moments(x, axis=(1, 2))
    np.testing.assert_allclose(var, x.var(axis=0), rtol=1e-12)
    assert count == 101 and mean.shape == (4, 3)
    mean, var, count, _ = stats.moments([1.0, 2.0, 3.0, 4.0], axis=None)
    assert (float(mean), float(var), count) == (2.5, 1.25, 4)
    _, _, count, _ = stats.moments(iter([(x[:10], None), (x[10:], None)]), axis=-1, steps=1)
    assert count == 40
    with pytest.raises(ValueError, match="no data"):
        stats.moments(iter([]))
