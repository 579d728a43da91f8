"""keras.utils.get_file (cache, hashes, file:// origins, safe extraction) and the keras.datasets loaders
on small files of the official formats."""
import hashlib
import io
import os
import pickle
import tarfile
import zipfile

import numpy as np
import pytest

from shendu.data.datasets._files import DatasetNotFoundError
from shendu.keras import datasets, utils


@pytest.fixture
def keras_home(tmp_path, monkeypatch):
    home = tmp_path / "khome"
    monkeypatch.setenv("KERAS_HOME", str(home))
    return home


def _sha(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def test_get_file_caches_checks_hash_and_works_offline(tmp_path, keras_home):
    src = tmp_path / "origin" / "data.txt"
    src.parent.mkdir()
    src.write_text("hello")
    url = "file://" + str(src)
    path = utils.get_file("data.txt", origin=url, file_hash=_sha(src))
    assert path == str(keras_home / "datasets" / "data.txt") and open(path).read() == "hello"
    src.unlink()                                          # the origin is gone: the cached copy still serves
    assert utils.get_file("data.txt", origin=url, file_hash=_sha(path)) == path
    assert utils.get_file("data.txt", origin=url) == path
    md5 = hashlib.md5(b"hello").hexdigest()
    assert utils.get_file("data.txt", origin=url, md5_hash=md5) == path
    assert utils.validate_file(path, md5) and utils.hash_file(path) == _sha(path)


def test_get_file_refuses_wrong_hash_and_leaves_nothing(tmp_path, keras_home):
    src = tmp_path / "f.bin"
    src.write_bytes(b"\x00" * 100)
    with pytest.raises(ValueError, match="expected"):
        utils.get_file("f.bin", origin=str(src), file_hash="0" * 64, cache_dir=tmp_path / "c")
    assert os.listdir(tmp_path / "c" / "datasets") == []
    # a stale cached copy is replaced
    cache = tmp_path / "c2"
    (cache / "sub").mkdir(parents=True)
    (cache / "sub" / "f.bin").write_bytes(b"old")
    got = utils.get_file("f.bin", origin=src.as_uri(), file_hash=_sha(src), cache_dir=cache, cache_subdir="sub")
    assert open(got, "rb").read() == b"\x00" * 100
    with pytest.raises(OSError, match="could not download"):
        utils.get_file("g.bin", origin=(tmp_path / "missing").as_uri(), cache_dir=cache)
    with pytest.raises(ValueError, match="origin"):
        utils.get_file("x")


def _tar(path, files, mode="w:gz"):
    with tarfile.open(path, mode) as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def test_get_file_extracts_tar_and_zip(tmp_path, keras_home):
    archive = tmp_path / "flowers.tgz"
    _tar(archive, {"flowers/a/1.txt": b"one", "flowers/b/2.txt": b"two"})
    out = utils.get_file(origin=archive.as_uri(), extract=True)
    # an archive holding one top-level folder gives that folder, so both
    # os.path.join(os.path.dirname(out), "flowers") and out itself name it
    assert out == str(keras_home / "datasets" / "flowers_extracted" / "flowers")
    assert open(os.path.join(os.path.dirname(out), "flowers", "b", "2.txt")).read() == "two"
    # Keras 3: an extension-less fname names the folder
    out = utils.get_file("petals", origin=archive.as_uri(), extract=True)
    assert os.path.isfile(os.path.join(out, "a", "1.txt")) and os.path.dirname(out).endswith("petals")
    # tf.keras 2: untar=True extracts next to the archive and returns <cache>/<fname>
    out = utils.get_file("flowers", origin=archive.as_uri(), untar=True)
    assert out == str(keras_home / "datasets" / "flowers") and os.path.isdir(out)
    z = tmp_path / "texts.zip"
    with zipfile.ZipFile(z, "w") as f:
        f.writestr("texts/x.txt", "x")
    out = utils.get_file(origin=z.as_uri(), extract=True)
    assert open(os.path.join(out, "x.txt")).read() == "x" and out.endswith(os.path.join("texts_extracted", "texts"))


@pytest.mark.parametrize("name", ["../evil.txt", "/abs/evil.txt"])
def test_get_file_refuses_unsafe_archive_members(tmp_path, keras_home, name):
    archive = tmp_path / "bad.tar.gz"
    _tar(archive, {"ok.txt": b"ok", name: b"evil"})
    with pytest.raises(ValueError, match="refusing"):
        utils.get_file(origin=archive.as_uri(), extract=True)
    assert not (tmp_path / "evil.txt").exists() and not (keras_home / "evil.txt").exists()
    z = tmp_path / "bad.zip"
    with zipfile.ZipFile(z, "w") as f:
        f.writestr(name, "evil")
    with pytest.raises(ValueError, match="refusing"):
        utils.get_file(origin=z.as_uri(), extract=True)


def _save_sequences(path, **arrays):
    out = {}
    for k, v in arrays.items():
        if isinstance(v, list):
            a = np.empty(len(v), dtype=object)
            a[:] = v
            v = a
        out[k] = v
    np.savez(path, **out)


def test_imdb_and_reuters_follow_keras_rules(keras_home):
    rng = np.random.default_rng(0)
    seqs = [list(rng.integers(1, 30, rng.integers(3, 12))) for _ in range(40)]
    labels = rng.integers(0, 2, 40)
    (keras_home / "datasets").mkdir(parents=True)
    _save_sequences(keras_home / "datasets" / "imdb.npz", x_train=seqs[:30], y_train=labels[:30],
                    x_test=seqs[30:], y_test=labels[30:])
    (x, y), (xt, yt) = datasets.imdb.load_data(download=False)
    order = np.arange(30)
    rs = np.random.RandomState(113)
    rs.shuffle(order)
    assert x.dtype == object and len(x) == 30 and len(xt) == 10
    assert x[0] == [1] + [w + 3 for w in seqs[order[0]]]
    np.testing.assert_array_equal(y, labels[:30][order])
    (x, _), _ = datasets.imdb.load_data(num_words=10, download=False)
    assert max(max(s) for s in x) < 10 and 2 in {w for s in x for w in s}
    (x, _), _ = datasets.imdb.load_data(maxlen=8, download=False)
    assert all(len(s) < 8 for s in x)
    (x, _), _ = datasets.imdb.load_data(num_words=10, oov_char=None, skip_top=2, download=False)
    assert all(2 <= w < 10 for s in x for w in s)
    _save_sequences(keras_home / "datasets" / "reuters.npz", x=seqs, y=rng.integers(0, 46, 40))
    (x, y), (xt, yt) = datasets.reuters.load_data(test_split=0.25, download=False)
    assert (len(x), len(xt)) == (30, 10) and len(datasets.reuters.get_label_names()) == 46


def test_imdb_file_with_code_in_its_pickle_is_refused(tmp_path):
    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    arr = np.empty(1, dtype=object)
    arr[0] = Evil()
    path = tmp_path / "imdb.npz"
    np.savez(path, x_train=arr, y_train=np.zeros(1), x_test=arr, y_test=np.zeros(1))
    from shendu.data.datasets._files import UnsafePickleError
    with pytest.raises(UnsafePickleError, match="system"):
        datasets.imdb.load_data(path=str(path), download=False)


def test_boston_housing_and_missing_files(tmp_path, keras_home):
    x = np.arange(50 * 13, dtype=np.float64).reshape(50, 13)
    y = np.arange(50, dtype=np.float64)
    np.savez(tmp_path / "boston.npz", x=x, y=y)
    (xtr, ytr), (xte, yte) = datasets.boston_housing.load_data(path=str(tmp_path / "boston.npz"))
    assert xtr.shape == (40, 13) and xte.shape == (10, 13)
    np.testing.assert_array_equal(xtr[:, 0] / 13, ytr)          # rows keep their targets
    with pytest.raises(DatasetNotFoundError, match="download=True"):
        datasets.boston_housing.load_data(download=False)


def test_cifar100_from_a_small_tarball(tmp_path):
    rng = np.random.default_rng(1)
    tar_path = tmp_path / "cifar-100-python.tar.gz"
    batches = {}
    for name, n in (("train", 6), ("test", 4)):
        batches[name] = {b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
                         b"fine_labels": list(rng.integers(0, 100, n)), b"coarse_labels": list(rng.integers(0, 20, n))}
        batches[name][b"fine_labels"] = [int(v) for v in batches[name][b"fine_labels"]]
        batches[name][b"coarse_labels"] = [int(v) for v in batches[name][b"coarse_labels"]]
    _tar(tar_path, {f"cifar-100-python/{k}": pickle.dumps(v, protocol=2) for k, v in batches.items()})
    (x, y), (xt, yt) = datasets.cifar100.load_data(path=str(tar_path), download=False)
    assert x.shape == (6, 32, 32, 3) and x.dtype == np.uint8 and y.shape == (6, 1) and xt.shape[0] == 4
    np.testing.assert_array_equal(x[2, :, :, 1].ravel(), batches["train"][b"data"][2, 1024:2048])
    np.testing.assert_array_equal(y[:, 0], batches["train"][b"fine_labels"])
    (_, yc), _ = datasets.cifar100.load_data("coarse", path=str(tar_path), download=False)
    np.testing.assert_array_equal(yc[:, 0], batches["train"][b"coarse_labels"])


def test_keras_utilities_are_shendu_data_objects():
    import shendu.tf as tf
    from shendu.data import directory, download, image, pipeline

    assert utils.get_file is download.get_file and utils.load_img is image.load_img
    assert utils.image_dataset_from_directory is directory.image_dataset_from_directory
    assert utils.split_dataset is directory.split_dataset and tf.data.Dataset is pipeline.Dataset
