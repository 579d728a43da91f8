"""shendu._fileio's reader of untrusted zip archives, used by Keras model files and Keras .npz data sets."""
import zipfile

import numpy as np
import pytest

from shendu._fileio import open_zip, read_zip_member
from shendu.data.datasets._files import DatasetFormatError
from shendu.data.datasets._npz import read_npz
from shendu.errors import FileFormatError


def test_members_read_back_and_a_missing_one_is_named(tmp_path):
    path = tmp_path / "a.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("x.txt", b"hello " * 100)
    with open_zip(str(path), str(path)) as zf:
        assert read_zip_member(zf, "x.txt", "a.zip") == b"hello " * 100
        with pytest.raises(FileFormatError, match="a.zip.*has no y.txt"):
            read_zip_member(zf, "y.txt", "a.zip")
    with pytest.raises(FileFormatError, match="not a zip archive"):
        open_zip(b"not a zip", "blob")


def test_an_npz_bomb_is_refused_before_it_is_inflated(tmp_path):
    ok = tmp_path / "ok.npz"
    np.savez_compressed(ok, x=np.arange(12).reshape(3, 4), y=np.array([1.5, 2.5]))
    got = read_npz(str(ok), ["x", "y"])
    np.testing.assert_array_equal(got["x"], np.arange(12).reshape(3, 4))
    bomb = tmp_path / "bomb.npz"
    np.savez_compressed(bomb, x=np.zeros(4_000_000, dtype=np.uint8))  # 4 MB of zeros: a ~1000:1 ratio
    with pytest.raises(DatasetFormatError, match=r"bomb\.npz.*refusing to decompress"):
        read_npz(str(bomb), ["x"])
    with pytest.raises(DatasetFormatError, match="not a .npz file"):
        read_npz(_junk(tmp_path), ["x"])


def _junk(tmp_path):
    path = tmp_path / "junk.npz"
    path.write_bytes(b"junk")
    return str(path)
