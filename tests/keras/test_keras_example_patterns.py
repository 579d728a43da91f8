"""Patterns the official Keras examples use, each written here as a small program of its own."""
import numpy as np
import pytest

import shendu.tf as tf
from shendu import keras
from shendu.keras import layers
from conftest import require


def test_compat_as_bytes_finds_a_jpeg_marker(tmp_path):
    Image = require("PIL.Image")
    good, bad = tmp_path / "a.jpg", tmp_path / "b.jpg"
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(good)
    bad.write_bytes(b"plain bytes, no marker")
    found = []
    for p in (good, bad):
        with open(p, "rb") as f:
            found.append(tf.compat.as_bytes("JFIF") in f.peek(10))
    assert found == [True, False]
    assert tf.compat.as_bytes(b"x") == b"x" and tf.compat.as_text(b"\xc3\xa9") == "é"
    assert tf.compat.as_str("s") == "s" and tf.compat.as_str_any(3) == "3"
    assert tf.compat.path_to_str(tmp_path) == str(tmp_path)
    with pytest.raises(TypeError):
        tf.compat.as_bytes(3)


def test_mnist_load_data_reads_the_keras_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    (tmp_path / "datasets").mkdir()
    r = np.random.default_rng(1)
    arrays = {"x_train": r.integers(0, 256, (7, 28, 28)), "y_train": r.integers(0, 10, 7),
              "x_test": r.integers(0, 256, (3, 28, 28)), "y_test": r.integers(0, 10, 3)}
    np.savez(tmp_path / "datasets" / "mnist.npz", **{k: v.astype(np.uint8) for k, v in arrays.items()})
    (x, y), (xt, yt) = keras.datasets.mnist.load_data()
    assert x.dtype == np.uint8 and x.shape == (7, 28, 28) and xt.shape == (3, 28, 28)
    np.testing.assert_array_equal(y, arrays["y_train"])
    np.testing.assert_array_equal(xt, arrays["x_test"])
    other = tmp_path / "elsewhere.npz"
    np.savez(other, **{k: v[:2].astype(np.uint8) for k, v in arrays.items()})
    assert keras.datasets.mnist.load_data(path=str(other))[0][0].shape == (2, 28, 28)


def test_batchnorm_keeps_the_biased_variance_and_takes_one_value_per_channel():
    r = np.random.default_rng(2)
    x = r.normal(size=(5, 3)).astype("float32")
    bn = layers.BatchNormalization(momentum=0.9)
    bn(x, training=True)
    _, _, mean, var = bn.get_weights()
    np.testing.assert_allclose(mean, 0.1 * x.mean(0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(var, 0.9 + 0.1 * x.var(0), rtol=1e-5)
    # a 1x1 feature map of a single image: every channel holds one value, normalized to beta
    inputs = keras.Input(shape=(2, 2, 4))
    h = layers.Conv2D(6, 2)(inputs)
    model = keras.Model(inputs, layers.Dense(1)(layers.Flatten()(layers.BatchNormalization()(h))))
    model.compile(optimizer="adam", loss="mse")
    model.fit(r.normal(size=(3, 2, 2, 4)).astype("float32"), np.ones((3, 1)), batch_size=2, epochs=1, verbose=0)
    single = model.layers[2]
    out = single(r.normal(size=(1, 1, 1, 6)).astype("float32"), training=True)
    np.testing.assert_allclose(np.asarray(out).ravel(), single.get_weights()[1], atol=1e-6)
