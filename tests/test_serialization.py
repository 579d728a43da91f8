"""safetensors files: round trip, interoperability with the safetensors package, bad files."""
import os

import numpy as np
import pytest

import shendu as sd
from conftest import require
from shendu.serialization import SerializationError


def test_round_trip(tmp_path):
    state = {"w": sd.randn(3, 4), "b": np.arange(3, dtype=np.int64), "m": np.array([True, False]),
             "n": np.array(7, dtype=np.int64)}
    path = tmp_path / "m.safetensors"
    sd.save(state, path)
    back = sd.load(path)
    assert list(back) == ["w", "b", "m", "n"]
    assert back["n"].shape == () and back["n"].item() == 7
    np.testing.assert_array_equal(back["w"].numpy(), state["w"].numpy())
    assert back["b"].dtype == np.int64 and back["m"].dtype == np.bool_


def test_readable_by_the_safetensors_package(tmp_path):
    st = require("safetensors.numpy")
    path = tmp_path / "m.safetensors"
    sd.save({"w": np.ones((2, 2), np.float32)}, path)
    np.testing.assert_array_equal(st.load_file(str(path))["w"], np.ones((2, 2)))
    st.save_file({"v": np.arange(4, dtype=np.float64)}, str(tmp_path / "o.safetensors"))
    np.testing.assert_array_equal(sd.load(tmp_path / "o.safetensors")["v"].numpy(), np.arange(4.0))


def test_bad_files_give_clear_errors(tmp_path):
    path = tmp_path / "m.safetensors"
    sd.save({"w": np.ones(100, np.float32)}, path)
    blob = path.read_bytes()
    (tmp_path / "trunc.safetensors").write_bytes(blob[:-10])
    with pytest.raises(SerializationError, match="trunc.safetensors.*truncated"):
        sd.load(tmp_path / "trunc.safetensors")
    (tmp_path / "junk.safetensors").write_bytes(b"not a model file at all")
    with pytest.raises(SerializationError, match="junk.safetensors"):
        sd.load(tmp_path / "junk.safetensors")
    with pytest.raises(FileNotFoundError):
        sd.load(tmp_path / "missing.safetensors")


def test_failed_save_leaves_old_file_intact(tmp_path):
    path = tmp_path / "m.safetensors"
    sd.save({"w": np.ones(2, np.float32)}, path)
    with pytest.raises(TypeError):
        sd.save({"w": np.array(["text"])}, path)
    np.testing.assert_array_equal(np.asarray(sd.load(path)["w"]), np.ones(2))
    assert sorted(os.listdir(tmp_path)) == ["m.safetensors"]
