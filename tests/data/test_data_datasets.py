"""Dataset loaders: the real Debian files, and damaged files written by the tests."""

import gzip
import io
import os
import pickle
import struct
import tarfile

import numpy as np
import pytest

from conftest import require, require_path
from shendu.data import DataLoader
from shendu.data import datasets as D
from shendu.data.datasets import _files, _generated, _idx

FASHION_DIR = "/usr/share/datasets/fashion-mnist"
FORTUNES_DIR = "/usr/share/games/fortunes"


@pytest.fixture
def home(tmp_path, monkeypatch):
    """An empty home and data folder, so only the folders a test sets up are found."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SHENDU_DATA", str(tmp_path / "cache"))
    return tmp_path


def _idx_bytes(array, type_byte=0x08):
    header = struct.pack(">BBBB", 0, 0, type_byte, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(">u1" if type_byte == 0x08 else array.dtype).tobytes()


def _write_mnist_like(folder, n_train=12, n_test=5, gz=True):
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(0)
    parts = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28)).astype(np.uint8),
        "train-labels-idx1-ubyte": (np.arange(n_train) % 10).astype(np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28)).astype(np.uint8),
        "t10k-labels-idx1-ubyte": (np.arange(n_test) % 10).astype(np.uint8),
    }
    for stem, arr in parts.items():
        data = _idx_bytes(arr)
        if gz:
            with gzip.open(os.path.join(folder, stem + ".gz"), "wb") as f:
                f.write(data)
        else:
            with open(os.path.join(folder, stem), "wb") as f:
                f.write(data)
    return parts


# --- Fashion-MNIST, the real files ----------------------------------------------------------------


@pytest.fixture(scope="module")
def fashion():
    require_path(
        os.path.join(FASHION_DIR, "train-images-idx3-ubyte.gz"), "Fashion-MNIST (dataset-fashion-mnist)"
    )
    return D.fashion_mnist()


@pytest.mark.system
def test_fashion_mnist_real_files(fashion):
    (x, y), (xt, yt) = fashion
    assert x.shape == (60000, 28, 28) and xt.shape == (10000, 28, 28)
    assert x.dtype == np.uint8 and y.dtype == np.int64
    assert y.min() == 0 and y.max() == 9
    np.testing.assert_array_equal(np.bincount(y), [6000] * 10)
    np.testing.assert_array_equal(np.bincount(yt), [1000] * 10)
    assert len(D.FASHION_MNIST_CLASSES) == 10 and D.FASHION_MNIST_CLASSES[9] == "Ankle boot"
    assert 50 < x.mean() < 100  # real images, not zeros
    assert x.flags.writeable


@pytest.mark.system
def test_fashion_mnist_feeds_the_loader(fashion):
    from shendu.data import TensorDataset
    from shendu.data import transforms as T

    (x, y), _ = fashion
    loader = DataLoader(
        TensorDataset(x[:1000, None], y[:1000]),
        batch_size=128,
        shuffle=True,
        generator=0,
        transform=T.Compose([T.RandomCrop(28, padding=2), T.ToFloat()]),
        as_numpy=True,
    )
    xb, yb = next(iter(loader))
    assert xb.shape == (128, 1, 28, 28) and xb.dtype == np.float32 and xb.max() <= 1.0


# --- search order and the not-found error ---------------------------------------------------------


def test_explicit_path_and_env_take_precedence(home):
    mine = _write_mnist_like(str(home / "mine"), n_train=12)
    (x, y), (xt, yt) = D.fashion_mnist(path=str(home / "mine"))
    assert x.shape == (12, 28, 28) and xt.shape == (5, 28, 28)
    np.testing.assert_array_equal(x, mine["train-images-idx3-ubyte"])
    _write_mnist_like(str(home / "cache" / "fashion-mnist"), n_train=7, gz=False)
    (x, _), _ = D.fashion_mnist()  # $SHENDU_DATA/fashion-mnist comes before the system folder
    assert len(x) == 7


def test_not_found_lists_where_it_looked(home):
    with pytest.raises(FileNotFoundError) as info:
        D.mnist(path=str(home / "nowhere"))
    message = str(info.value)
    assert isinstance(info.value, D.DatasetNotFoundError)
    for folder in (str(home / "nowhere"), str(home / "cache" / "mnist"), "/usr/share/datasets/mnist"):
        assert folder in message
    assert message.index(str(home / "nowhere")) < message.index(str(home / "cache" / "mnist"))
    assert "download=True" in message
    with pytest.raises(FileNotFoundError, match="apt-get install dataset-fashion-mnist"):
        _idx._load(dict(_idx._FASHION, system=[]), str(home / "nowhere"), False)
    assert not os.path.exists(home / "cache")  # looking never writes


# --- IDX parser on damaged files ------------------------------------------------------------------


def _expect_format_error(path, match, cache):
    with pytest.raises(D.DatasetFormatError, match=match) as info:
        D.read_idx(path)
    assert str(path) in str(info.value)
    assert not os.path.exists(cache) or not os.listdir(cache)


def test_idx_parser_errors_name_the_file(home):
    cache = home / "cache"
    good = _idx_bytes(np.zeros((3, 4, 4), np.uint8))
    np.testing.assert_array_equal(D.read_idx(_write(home / "ok.idx", good)), np.zeros((3, 4, 4)))
    _expect_format_error(_write(home / "trunc.idx", good[:-5]), "truncated", cache)
    _expect_format_error(_write(home / "header.idx", good[:6]), "truncated", cache)
    _expect_format_error(_write(home / "magic.idx", b"\x1f\x00\x08\x03" + good[4:]), "wrong magic", cache)
    _expect_format_error(_write(home / "big.idx", good + b"\x00" * 3), "wrong size", cache)
    gz = gzip.compress(good)
    _expect_format_error(_write(home / "trunc.gz", gz[: len(gz) // 2]), "gzip stream is truncated", cache)


def _write(path, data):
    with open(path, "wb") as f:
        f.write(data)
    return path


def test_wrong_file_kind_and_count_mismatch(home):
    folder = home / "bad"
    parts = _write_mnist_like(str(folder))
    os.replace(folder / "train-labels-idx1-ubyte.gz", folder / "swap.gz")
    with gzip.open(folder / "train-labels-idx1-ubyte.gz", "wb") as f:
        f.write(_idx_bytes(parts["t10k-images-idx3-ubyte"]))
    with pytest.raises(D.DatasetFormatError, match="train-labels-idx1-ubyte.gz"):
        D.fashion_mnist(path=str(folder))
    with gzip.open(folder / "train-labels-idx1-ubyte.gz", "wb") as f:
        f.write(_idx_bytes(np.zeros(3, np.uint8)))
    with pytest.raises(D.DatasetFormatError, match="holds 12 images but .* holds 3 labels"):
        D.fashion_mnist(path=str(folder))
    assert not os.path.exists(home / "cache")


# --- downloads: verified, atomic ------------------------------------------------------------------


def test_download_checks_sha256_and_leaves_nothing_on_mismatch(home):
    src = _write(home / "payload.bin", b"hello shendu")
    dest = home / "cache" / "thing" / "payload.bin"
    with pytest.raises(D.DatasetFormatError, match="SHA-256"):
        _files.download_file(src.as_uri(), str(dest), "0" * 64, quiet=True)
    assert not os.path.exists(home / "cache")
    good = _files.sha256_file(src)
    _files.download_file(src.as_uri(), str(dest), good, quiet=True)
    assert dest.read_bytes() == b"hello shendu"
    assert os.listdir(dest.parent) == ["payload.bin"]  # no temporary file left


def test_download_true_fills_the_cache(home, monkeypatch):
    mirror = home / "mirror"
    _write_mnist_like(str(mirror))
    sums = {name: _files.sha256_file(mirror / name) for name in os.listdir(mirror)}
    monkeypatch.setattr(
        _idx, "_MNIST", dict(_idx._MNIST, urls=[mirror.as_uri() + "/"], sha256=sums, system=[])
    )
    with pytest.raises(FileNotFoundError):
        D.mnist()
    (x, y), (xt, yt) = D.mnist(download=True)
    assert x.shape == (12, 28, 28)
    assert sorted(os.listdir(home / "cache" / "mnist")) == sorted(sums)
    (x2, _), _ = D.mnist()  # now found in the cache
    np.testing.assert_array_equal(x, x2)


# --- CIFAR-10 and the restricted unpickler --------------------------------------------------------


def _cifar_batch(n, seed):
    rng = np.random.default_rng(seed)
    return {
        b"batch_label": b"test",
        b"labels": [int(v) for v in rng.integers(0, 10, n)],
        b"data": rng.integers(0, 256, (n, 3072)).astype(np.uint8),
        b"filenames": [b"a.png"] * n,
    }


def _write_cifar(folder, n=4):
    os.makedirs(folder, exist_ok=True)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for i, name in enumerate(names):
        with open(os.path.join(folder, name), "wb") as f:
            pickle.dump(_cifar_batch(n, i), f, protocol=2)
    return names


def test_cifar10_from_folder_and_tarball(home):
    folder = home / "c" / "cifar-10-batches-py"
    names = _write_cifar(str(folder))
    (x, y), (xt, yt) = D.cifar10(path=str(home / "c"))
    assert (
        x.shape == (20, 3, 32, 32)
        and x.dtype == np.uint8
        and y.dtype == np.int64
        and xt.shape == (4, 3, 32, 32)
    )
    first = _cifar_batch(4, 0)
    np.testing.assert_array_equal(x[:4].reshape(4, -1), first[b"data"])
    assert y[:4].tolist() == first[b"labels"]
    tar_path = home / "t" / "cifar-10-python.tar.gz"
    os.makedirs(tar_path.parent)
    with tarfile.open(tar_path, "w:gz") as tar:
        for name in names:
            tar.add(folder / name, arcname=f"cifar-10-batches-py/{name}")
    (x2, y2), _ = D.cifar10(path=str(home / "t"), channels_last=True)
    assert x2.shape == (20, 32, 32, 3)
    np.testing.assert_array_equal(x2.transpose(0, 3, 1, 2), x)
    assert len(D.CIFAR10_CLASSES) == 10


class _Exploit:
    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (os.mkdir, (self.target,))


def test_restricted_unpickler_refuses_code(home):
    target = str(home / "pwned")
    payload = pickle.dumps({b"data": _Exploit(target), b"labels": []}, protocol=2)
    with pytest.raises(D.UnsafePickleError, match=r"refusing to unpickle (posix|os|nt)\.mkdir"):
        D.load_pickle_batch(payload, "evil_batch")
    assert not os.path.exists(target)
    assert isinstance(D.UnsafePickleError("x"), pickle.UnpicklingError)
    with pytest.raises(D.UnsafePickleError, match="builtins.eval"):
        D.RestrictedUnpickler(io.BytesIO(b"cbuiltins\neval\n(S'1'\ntR.")).load()


def test_cifar_parser_errors(home):
    folder = home / "c" / "cifar-10-batches-py"
    _write_cifar(str(folder))
    good = (folder / "data_batch_2").read_bytes()
    _write(folder / "data_batch_2", good[: len(good) // 2])
    with pytest.raises(D.DatasetFormatError, match="data_batch_2.*truncated"):
        D.cifar10(path=str(home / "c"))
    bad = _cifar_batch(4, 1)
    bad[b"data"] = bad[b"data"][:, :100]
    _write(folder / "data_batch_2", pickle.dumps(bad, protocol=2))
    with pytest.raises(D.DatasetFormatError, match="data_batch_2: wrong size"):
        D.cifar10(path=str(home / "c"))
    _write(folder / "data_batch_2", pickle.dumps({b"data": _Exploit(str(home / "x")), b"labels": []}))
    with pytest.raises(D.UnsafePickleError, match="data_batch_2"):
        D.cifar10(path=str(home / "c"))
    tar_path = home / "broken" / "cifar-10-python.tar.gz"
    os.makedirs(tar_path.parent)
    _write(tar_path, b"\x1f\x8b\x08\x00garbage")
    with pytest.raises(D.DatasetFormatError, match="cifar-10-python.tar.gz"):
        D.cifar10(path=str(home / "broken"))
    assert not os.path.exists(home / "cache") and not os.path.exists(home / "x")


# --- Chinese poems and English fortunes -----------------------------------------------------------


@pytest.mark.system
def test_tang_poems_real_file():
    require_path(os.path.join(FORTUNES_DIR, "tang300"), "Tang poems (fortunes-zh)")
    poems = D.tang_poems()
    assert len(poems) == 313
    first = poems[0]
    assert first["title"] == "感遇・其一" and first["author"] == "张九龄"
    assert first["body"].split("\n")[0] == "兰叶春葳蕤，桂华秋皎洁。"
    stork = next(p for p in poems if p["title"] == "登鹳雀楼")
    assert (
        stork["author"] == "王之涣" and stork["body"] == "白日依山尽，黄河入海流。\n欲穷千里目，更上一层楼。"
    )
    for p in poems:
        for field in ("title", "author", "body"):
            assert p[field] and "\x1b" not in p[field] and "[m" not in p[field]


@pytest.mark.system
def test_song_poems_real_file():
    require_path(os.path.join(FORTUNES_DIR, "song100"), "Song poems (fortunes-zh)")
    poems = D.song_poems()
    assert len(poems) == 96  # 95 strfile entries; one '%    ' separator line joins two poems there
    assert (
        poems[0]["title"] == "塞上" and poems[0]["author"] == "柳开" and poems[0]["note"] == "９４６－９９９"
    )
    assert all("\x1b" not in p["title"] + p["author"] + p["body"] for p in poems)


def test_poem_parser_errors_name_the_file(tmp_path):
    good = "\x1b[32m《春晓》\x1b[m\n\x1b[33m作者：孟浩然\x1b[m\n春眠不觉晓，处处闻啼鸟。\n%\n"
    ok = _write(tmp_path / "ok", good.encode())
    assert D.parse_poems(ok) == [
        {"title": "春晓", "author": "孟浩然", "body": "春眠不觉晓，处处闻啼鸟。", "note": ""}
    ]
    assert D.tang_poems(path=ok)[0]["author"] == "孟浩然"
    trunc = _write(tmp_path / "trunc", (good + "\x1b[32m《静夜思》\x1b[m\n").encode())
    with pytest.raises(D.DatasetFormatError, match=r"trunc: entry 2 is truncated"):
        D.parse_poems(trunc)
    no_author = _write(tmp_path / "noauthor", "《静夜思》\n李白\n床前明月光\n".encode())
    with pytest.raises(
        D.DatasetFormatError, match="noauthor: entry 1: the second line should name the author"
    ):
        D.parse_poems(no_author)
    empty = _write(tmp_path / "empty", b"%\n%\n")
    with pytest.raises(D.DatasetFormatError, match="empty: no poems"):
        D.parse_poems(empty)
    binary = _write(tmp_path / "latin", b"\xff\xfe\x00\x01")
    with pytest.raises(D.DatasetFormatError, match="latin"):
        D.parse_poems(binary)


@pytest.mark.system
def test_fortunes_real_files():
    require_path(os.path.join(FORTUNES_DIR, "fortunes"), "English fortunes (fortunes)")
    texts, labels, categories = D.fortunes()
    assert len(texts) == len(labels) > 1000
    assert "science" in categories and "tang300" not in categories and "chinese" not in categories
    assert labels.dtype == np.int64 and set(np.unique(labels)) == set(range(len(categories)))
    assert all(t.strip() and "\x08" not in t and "\x1b" not in t for t in texts)
    texts2, labels2, cats2 = D.fortunes(["science", "politics"])
    assert cats2 == ["science", "politics"] and set(labels2.tolist()) == {0, 1}
    with pytest.raises(ValueError, match="unknown categories"):
        D.fortunes(["no-such-file"])


def test_fortune_files_from_a_folder(tmp_path):
    _write(tmp_path / "jokes", b"one\n%\ntwo \x1b[1mbold\x1b[m\n%\n_\x08u_\x08n\n")
    _write(tmp_path / "jokes.dat", b"\x00")
    texts, labels, cats = D.fortunes(path=tmp_path)
    assert cats == ["jokes"] and texts == ["one", "two bold", "un"] and labels.tolist() == [0, 0, 0]


# --- generated data sets --------------------------------------------------------------------------


def test_digits_split_is_stratified_and_fixed():
    require("sklearn")
    (x, y), (xt, yt) = D.digits()
    assert x.shape[1:] == (8, 8) and x.dtype == np.float32 and 0 <= x.min() and x.max() <= 1
    assert len(x) + len(xt) == 1797
    ratio = np.bincount(yt) / (np.bincount(y) + np.bincount(yt))
    assert np.all(np.abs(ratio - 0.2) < 0.02)
    (x2, _), _ = D.digits()
    np.testing.assert_array_equal(x, x2)
    (flat, _), _ = D.digits(flatten=True)
    assert flat.shape[1] == 64


def test_mnist1d_is_deterministic_and_balanced(monkeypatch):
    require("mnist1d")
    import socket

    def no_network(*args, **kwargs):
        raise AssertionError("mnist1d() must not open a network connection")

    monkeypatch.setattr(socket, "socket", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    _generated._MNIST1D_CACHE.clear()
    state = np.random.get_state()[1].copy()
    (x, y), (xt, yt) = D.mnist1d()
    assert x.shape == (4000, 40) and xt.shape == (1000, 40) and x.dtype == np.float32
    np.testing.assert_array_equal(np.bincount(np.concatenate([y, yt])), [500] * 10)
    assert np.all(np.bincount(y) > 350)
    np.testing.assert_array_equal(np.random.get_state()[1], state)  # global state restored
    _generated._MNIST1D_CACHE.clear()
    (a, ay), _ = D.mnist1d(seed=3, num_samples=300)
    _generated._MNIST1D_CACHE.clear()
    (b, by), _ = D.mnist1d(seed=3, num_samples=300)
    (c, _), _ = D.mnist1d(seed=4, num_samples=300)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(ay, by)
    assert not np.array_equal(a, c)


# --- your own files -------------------------------------------------------------------------------


def test_image_folder(tmp_path):
    Image = require("PIL.Image")
    for cls, color in (("cat", 10), ("dog", 200)):
        os.makedirs(tmp_path / cls)
        for i in range(3):
            Image.fromarray(np.full((6, 5, 3), color + i, np.uint8)).save(tmp_path / cls / f"{i}.png")
    _write(tmp_path / "cat" / "notes.txt", b"not an image")
    ds = D.ImageFolder(tmp_path)
    assert ds.classes == ["cat", "dog"] and len(ds) == 6
    img, label = ds[4]
    assert img.shape == (3, 6, 5) and img.dtype == np.uint8 and label == 1 and img[0, 0, 0] == 201
    grey = D.ImageFolder(tmp_path, mode="L", size=(4, 4))
    assert grey[0][0].shape == (1, 4, 4)
    xb, yb = next(iter(DataLoader(ds, batch_size=6, as_numpy=True)))
    assert xb.shape == (6, 3, 6, 5) and yb.tolist() == [0, 0, 0, 1, 1, 1]
    _write(tmp_path / "dog" / "broken.png", b"\x89PNG\r\n\x1a\nnope")
    with pytest.raises(D.DatasetFormatError, match="broken.png"):
        D.ImageFolder(tmp_path)[6]


def test_csv_dataset(tmp_path):
    path = _write(tmp_path / "iris.csv", b"a,b,species\n1,2,setosa\n3,4.5,virginica\n5,6,setosa\n")
    ds = D.CSVDataset(path, target_column="species")
    assert ds.classes == ["setosa", "virginica"] and ds.columns == ["a", "b"]
    x, y = ds[1]
    np.testing.assert_allclose(x, [3, 4.5])
    assert y == 1
    xb, yb = next(iter(DataLoader(ds, batch_size=3, as_numpy=True)))
    assert xb.shape == (3, 2) and xb.dtype == np.float32 and yb.tolist() == [0, 1, 0]
    numeric = D.CSVDataset(_write(tmp_path / "n.csv", b"1,2,0\n3,4,1\n"), header=False)
    assert numeric.arrays[1].dtype == np.int64
    bad = _write(tmp_path / "bad.csv", b"a,b,y\n1,oops,0\n")
    with pytest.raises(D.DatasetFormatError, match="bad.csv: line 2, column 'b'"):
        D.CSVDataset(bad)
    ragged = _write(tmp_path / "ragged.csv", b"a,b,y\n1,2\n")
    with pytest.raises(D.DatasetFormatError, match="ragged.csv: line 2 has 2 fields"):
        D.CSVDataset(ragged)
