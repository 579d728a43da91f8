"""shendu.data.text.VocabularyTable and encode_categories: the lookup numerics of Keras's StringLookup,
IntegerLookup and CategoryEncoding (outputs from Keras's documentation, written out)."""

import numpy as np
import pytest

from shendu.data.text import TextVectorizer, VocabularyTable, encode_categories


def test_layout_lookup_and_invert():
    table = VocabularyTable(vocabulary=["a", "b", "c", "d"], mask_token="")
    assert table.get_vocabulary() == ["", "[UNK]", "a", "b", "c", "d"]
    assert table.lookup([b"a", "", "q"]).tolist() == [2, 0, 1]  # bytes are decoded
    assert table.invert([2, 0, 1, 99]).tolist() == ["a", "", "[UNK]", "[UNK]"]
    hot = VocabularyTable(vocabulary=["a", "b"], mask_token="", output_mode="multi_hot")
    assert hot.get_vocabulary() == ["[UNK]", "a", "b"]  # no mask index outside int mode
    assert hot.transform([["a", "", ""]]).tolist() == [[0, 1, 0]]  # mask tokens are dropped


def test_adapt_ranks_like_text_vectorization():
    texts = ["b a a", "c b a"]
    tv = TextVectorizer()
    tv.adapt(texts)
    table = VocabularyTable()
    table.adapt([t.split() for t in texts])
    assert table.get_vocabulary(False) == tv.get_vocabulary(False) == ["a", "b", "c"]
    idf = VocabularyTable(output_mode="tf_idf")
    idf.adapt([["a", "a"], ["a", "b"]])  # rows are documents: df(a) = 2, df(b) = 1
    expect = np.log(1 + 2 / (1 + np.array([2.0, 1.0])))
    np.testing.assert_allclose(idf.idf, np.concatenate([[expect.mean()], expect]))


def test_integer_table_and_errors():
    table = VocabularyTable(vocabulary=[12, 36, 1138, 42], kind="int", oov_token=-1, num_oov_indices=2)
    assert table.lookup(np.array([[12, 1138, 42], [42, 1000, 36]])).tolist() == [[2, 4, 5], [5, 0, 3]]
    with pytest.raises(ValueError, match="max_tokens"):
        VocabularyTable(max_tokens=3, vocabulary=["a", "b", "c"])
    with pytest.raises(ValueError, match="reserved"):
        VocabularyTable(vocabulary=["a", "[UNK]"])


def test_encode_categories_shapes():
    assert encode_categories(2, 3, "one_hot").tolist() == [0, 0, 1]
    assert encode_categories([[1], [2]], 3, "one_hot").tolist() == [[0, 1, 0], [0, 0, 1]]
    assert encode_categories([1, 1, 2], 3, "count").tolist() == [0, 2, 1]
    assert encode_categories([[0, -1]], 2, "multi_hot").tolist() == [[1, 0]]
    with pytest.raises(ValueError, match="at most 2 axes"):
        encode_categories(np.zeros((2, 2, 2), int), 3, "multi_hot")
