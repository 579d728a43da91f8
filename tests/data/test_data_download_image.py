"""shendu.data's download and directory-dataset helpers, used without Keras."""
import hashlib

import numpy as np
import pytest

from conftest import require
from shendu.data import directory, download


def test_get_file_into_any_cache_folder(tmp_path):
    src = tmp_path / "origin.csv"
    src.write_text("1,2\n3,4\n")
    sha = hashlib.sha256(src.read_bytes()).hexdigest()
    path = download.get_file("t.csv", origin=src.as_uri(), file_hash=sha, cache_dir=tmp_path / "cache",
                             cache_subdir="tables")
    assert path == str(tmp_path / "cache" / "tables" / "t.csv")
    assert np.loadtxt(path, delimiter=",").tolist() == [[1, 2], [3, 4]]
    with pytest.raises(ValueError):
        download.get_file("u.csv", origin=src.as_uri(), file_hash="0" * 64, cache_dir=tmp_path / "cache")
    assert not (tmp_path / "cache" / "datasets" / "u.csv").exists()


def test_image_folder_batches_without_keras(tmp_path):
    Image = require("PIL.Image")
    for label in ("cat", "dog"):
        (tmp_path / label).mkdir()
        for i in range(3):
            Image.fromarray(np.full((5, 4, 3), 40 * i, np.uint8)).save(tmp_path / label / f"{i}.png")
    ds = directory.image_dataset_from_directory(tmp_path, image_size=(5, 4), batch_size=4, shuffle=False,
                                                verbose=False)
    batches = list(ds)
    assert ds.class_names == ["cat", "dog"] and [len(b[1]) for b in batches] == [4, 2]
    assert batches[0][0].shape == (4, 5, 4, 3) and batches[0][1].numpy().tolist() == [0, 0, 0, 1]
