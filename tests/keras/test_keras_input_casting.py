"""Bool and integer inputs are cast to the model's Input dtype, as Keras casts them."""
import numpy as np
import pytest

from shendu import keras


def _data(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((64, 4)) > 0.5
    return x, x.sum(1) > 2


@pytest.mark.parametrize("kind", ["sequential_input", "sequential_no_input", "functional"])
@pytest.mark.parametrize("dtype", [bool, np.int64, np.uint8])
def test_fit_on_bool_and_int_arrays(kind, dtype):
    x, y = _data()
    x = x.astype(dtype)
    if kind == "sequential_input":
        m = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation="sigmoid")])
    elif kind == "sequential_no_input":
        m = keras.Sequential([keras.layers.Dense(1, activation="sigmoid")])
    else:
        inp = keras.Input((4,))
        m = keras.Model(inp, keras.layers.Dense(1, activation="sigmoid")(inp))
    m.compile("adam", "binary_crossentropy", metrics=["accuracy"])
    h = m.fit(x, y, epochs=2, batch_size=16, verbose=0)
    assert np.isfinite(h.history["loss"]).all()
    p = m.predict(x, verbose=0)
    assert p.dtype == np.float32 and p.shape == (64, 1)
    np.testing.assert_allclose(p, m.predict(x.astype(np.float32), verbose=0), rtol=1e-6)


def test_integer_input_declared_int_stays_int():
    x = np.random.default_rng(0).integers(0, 10, size=(32, 5))
    y = (x[:, 0] > 4).astype(np.float32)
    m = keras.Sequential([keras.Input((5,), dtype="int64"), keras.layers.Embedding(10, 3),
                          keras.layers.GlobalAveragePooling1D(), keras.layers.Dense(1, activation="sigmoid")])
    m.compile("adam", "binary_crossentropy")
    m.fit(x, y, epochs=1, verbose=0)
    assert m.predict(x, verbose=0).shape == (32, 1)
