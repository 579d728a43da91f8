"""StringLookup, IntegerLookup, CategoryEncoding, Hashing and Discretization against the outputs Keras's
documentation gives for the same calls (written out here)."""

import numpy as np
import pytest

from shendu.keras import Model, layers

VOCAB = ["a", "b", "c", "d"]


def arr(t):
    return np.asarray(getattr(t, "array", t))


def test_string_lookup_int_and_adapt():
    layer = layers.StringLookup(vocabulary=VOCAB)
    assert arr(layer([["a", "c", "d"], ["d", "z", "b"]])).tolist() == [[1, 3, 4], [4, 0, 2]]
    assert arr(layer([["a"]])).dtype == np.int64
    adapted = layers.StringLookup()
    adapted.adapt([["a", "c", "d"], ["d", "z", "b"]])
    assert adapted.get_vocabulary() == ["[UNK]", "d", "z", "c", "b", "a"]
    assert adapted.vocabulary_size() == 6
    assert adapted.get_vocabulary(include_special_tokens=False) == ["d", "z", "c", "b", "a"]


def test_string_lookup_mask_and_several_oov_slots():
    layer = layers.StringLookup(vocabulary=VOCAB, mask_token="")
    assert layer.get_vocabulary() == ["", "[UNK]", "a", "b", "c", "d"]
    assert arr(layer([["a", "", "z"]])).tolist() == [[2, 0, 1]]
    two = layers.StringLookup(vocabulary=VOCAB, num_oov_indices=2)
    out = arr(two([["a", "c", "d"], ["m", "z", "b"]]))
    assert out[0].tolist() == [2, 4, 5] and out[1, 2] == 3 and set(out[1, :2].tolist()) <= {0, 1}
    assert arr(two([["m"]])).tolist() == arr(two([["m"]])).tolist()  # one string, one slot
    none = layers.StringLookup(vocabulary=VOCAB, num_oov_indices=0)
    assert arr(none(["d", "a"])).tolist() == [3, 0]
    with pytest.raises(ValueError, match="num_oov_indices=0"):
        none(["zz"])


def test_string_lookup_vector_modes():
    data = [["a", "c", "d", "d"], ["d", "z", "b", "z"]]
    one_hot = layers.StringLookup(vocabulary=VOCAB, output_mode="one_hot")
    assert arr(one_hot(["a", "b", "c", "d", "z"])).tolist() == [
        [0, 1, 0, 0, 0], [0, 0, 1, 0, 0], [0, 0, 0, 1, 0], [0, 0, 0, 0, 1], [1, 0, 0, 0, 0]]
    multi = layers.StringLookup(vocabulary=VOCAB, output_mode="multi_hot")
    assert arr(multi(data)).tolist() == [[0, 1, 0, 1, 1], [1, 0, 1, 0, 1]]
    assert arr(multi("c")).tolist() == [0, 0, 0, 1, 0]  # a scalar is one sample
    binary = layers.StringLookup(vocabulary=VOCAB, output_mode="binary")  # tf.keras 2's name
    assert binary.output_mode == "multi_hot"
    count = layers.StringLookup(vocabulary=VOCAB, output_mode="count")
    assert arr(count(data)).tolist() == [[0, 1, 0, 1, 2], [2, 0, 1, 0, 1]]
    tfidf = layers.StringLookup(output_mode="tf_idf")
    tfidf.set_vocabulary(VOCAB, idf_weights=[0.25, 0.75, 0.6, 0.4])
    np.testing.assert_allclose(arr(tfidf(data)), [[0, 0.25, 0, 0.6, 0.8], [1.0, 0, 0.75, 0, 0.4]], atol=1e-6)
    tfidf.set_vocabulary(VOCAB, idf_weights=[0.9, 0.25, 0.75, 0.6, 0.4])
    np.testing.assert_allclose(arr(tfidf(data)), [[0, 0.25, 0, 0.6, 0.8], [1.8, 0, 0.75, 0, 0.4]], atol=1e-6)
    padded = layers.StringLookup(vocabulary=VOCAB, output_mode="multi_hot", max_tokens=8, pad_to_max_tokens=True)
    assert arr(padded(["a"])).shape == (8,)


def test_string_lookup_invert_and_errors():
    inv = layers.StringLookup(vocabulary=VOCAB, invert=True)
    assert inv([[1, 3, 4], [4, 0, 2]]).tolist() == [["a", "c", "d"], ["d", "[UNK]", "b"]]
    with pytest.raises(ValueError, match="invert"):
        layers.StringLookup(vocabulary=VOCAB, invert=True, output_mode="one_hot")
    with pytest.raises(ValueError, match="repeated"):
        layers.StringLookup(vocabulary=["a", "a"])
    with pytest.raises(ValueError, match="output_mode"):
        layers.StringLookup(output_mode="bogus")
    with pytest.raises(NotImplementedError, match="sparse"):
        layers.StringLookup(sparse=True)
    with pytest.raises(ValueError, match="tf_idf"):
        layers.StringLookup(vocabulary=VOCAB, output_mode="tf_idf")


def test_integer_lookup_like_keras():
    vocab = [12, 36, 1138, 42]
    data = np.array([[12, 1138, 42], [42, 1000, 36]])
    assert arr(layers.IntegerLookup(vocabulary=vocab)(data)).tolist() == [[1, 3, 4], [4, 0, 2]]
    adapted = layers.IntegerLookup()
    adapted.adapt(data)
    assert adapted.get_vocabulary() == [-1, 42, 1138, 1000, 36, 12]
    two = layers.IntegerLookup(vocabulary=vocab, num_oov_indices=2)
    assert arr(two(data)).tolist() == [[2, 4, 5], [5, 0, 3]]  # an unknown integer goes to value mod 2
    masked = layers.IntegerLookup(vocabulary=vocab, mask_token=0)
    assert arr(masked(np.array([[12, 0, 7]]))).tolist() == [[2, 0, 1]]
    inv = layers.IntegerLookup(vocabulary=vocab, invert=True)
    assert arr(inv([[1, 3, 4], [4, 0, 2]])).tolist() == [[12, 1138, 42], [42, -1, 36]]
    multi = layers.IntegerLookup(vocabulary=vocab, output_mode="multi_hot", num_oov_indices=0)
    assert arr(multi(np.array(36))).tolist() == [0, 1, 0, 0]
    with pytest.raises(ValueError, match="integers"):
        layers.IntegerLookup(vocabulary=vocab)(np.array(["x"]))


def test_lookup_config_round_trip_and_max_tokens():
    layer = layers.StringLookup(max_tokens=4, mask_token="")
    layer.adapt(["x", "y", "y", "z", "z", "z"])
    assert layer.get_vocabulary() == ["", "[UNK]", "z", "y"]
    config = layer.get_config()
    assert config["vocabulary"] == ["z", "y"] and config["vocabulary_size"] == 4
    again = layers.StringLookup.from_config(config)
    assert again.get_vocabulary() == layer.get_vocabulary()
    assert arr(again(["y", "x", ""])).tolist() == [3, 1, 0]
    assert layers.deserialize(layers.serialize(layers.IntegerLookup(vocabulary=[5, 6]))).get_vocabulary() == [-1, 5, 6]


def test_lookup_in_a_functional_model():
    text = layers.Input(shape=(1,), dtype="string")
    encoded = layers.StringLookup(vocabulary=VOCAB, output_mode="one_hot")(text)
    assert encoded.shape == (None, 5) and encoded.dtype == "float32"
    out = layers.Dense(1)(encoded)
    model = Model(text, out)
    pred = model.predict(np.array([["a"], ["z"]], dtype=object), verbose=0)
    assert pred.shape == (2, 1)
    ids = layers.IntegerLookup(vocabulary=[3, 4])(layers.Input(shape=(2,), dtype="int64"))
    assert ids.shape == (None, 2) and ids.dtype == "int64"


def test_category_encoding_like_keras():
    one_hot = layers.CategoryEncoding(num_tokens=4, output_mode="one_hot")
    assert arr(one_hot([3, 2, 0, 1])).tolist() == [[0, 0, 0, 1], [0, 0, 1, 0], [1, 0, 0, 0], [0, 1, 0, 0]]
    multi = layers.CategoryEncoding(num_tokens=4, output_mode="multi_hot")
    assert arr(multi([[0, 1], [0, 0], [1, 2], [3, 1]])).tolist() == [
        [1, 1, 0, 0], [1, 0, 0, 0], [0, 1, 1, 0], [0, 1, 0, 1]]
    count = layers.CategoryEncoding(num_tokens=4, output_mode="count")
    got = count([[0, 1], [0, 0], [1, 2], [3, 1]], count_weights=[[.1, .2], [.1, .1], [.2, .3], [.4, .2]])
    np.testing.assert_allclose(arr(got), [[.1, .2, 0, 0], [.2, 0, 0, 0], [0, .2, .3, 0], [0, .2, 0, .4]],
                               atol=1e-6)
    with pytest.raises(ValueError, match="num_tokens=4"):
        multi([[4]])
    assert layers.CategoryEncoding(3).compute_output_shape((None, 2)) == (None, 3)


def test_discretization_and_hashing():
    disc = layers.Discretization(bin_boundaries=[0.0, 1.0, 2.0])
    got = disc([[-1.5, 1.0, 3.4, 0.5], [0.0, 3.0, 1.3, 0.0]])
    assert arr(got).tolist() == [[0, 2, 3, 1], [1, 3, 2, 1]]
    adapted = layers.Discretization(num_bins=4)
    adapted.adapt(np.arange(100.0))
    assert arr(adapted([0.0, 30.0, 60.0, 99.0])).tolist() == [0, 1, 2, 3]
    one_hot = layers.Discretization(bin_boundaries=[0.0], output_mode="one_hot")
    assert arr(one_hot([-1.0, 1.0])).tolist() == [[1, 0], [0, 1]]
    hashing = layers.Hashing(num_bins=3)
    bins = arr(hashing([["A"], ["B"], ["C"], ["A"]]))
    assert bins.shape == (4, 1) and bins.min() >= 0 and bins.max() < 3 and bins[0, 0] == bins[3, 0]
    masked = layers.Hashing(num_bins=3, mask_value="")
    out = arr(masked(["", "A", "B"]))
    assert out[0] == 0 and out[1:].min() >= 1


def test_model_inputs_made_by_layers_become_inputs():
    """Keras 3: a functional model whose inputs are tensors made by layers takes those tensors' values
    as its inputs (the layers above stay out), and dict data is matched by the inputs' dict keys."""
    raw = layers.Input(shape=(1,), name="raw")
    scaled = layers.Rescaling(100.0)(raw)  # outside the model below
    code = layers.Input(shape=(3,), name="code_input")
    joined = layers.Concatenate()([scaled, code])
    model = Model({"value": scaled, "code": code}, layers.Dense(1, use_bias=False)(joined))
    assert not any(type(la).__name__ == "Rescaling" for la in model.layers)
    assert model.input_names == ["value", "code_input"]
    model.layers[-1].set_weights([np.ones((4, 1), dtype="float32")])
    data = {"value": np.array([[1.0], [2.0]]), "code": np.array([[1.0, 0, 0], [0, 0, 1.0]])}
    np.testing.assert_allclose(model.predict(data, verbose=0), [[2.0], [3.0]])  # not scaled by 100
    model.compile("adam", "mse")
    model.fit(data, np.zeros((2, 1)), epochs=1, verbose=0)
