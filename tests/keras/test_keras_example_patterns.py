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

