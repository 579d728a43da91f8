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
