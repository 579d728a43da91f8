"""Data readers refuse, before allocating, what a file cannot legitimately hold, and refuse wrong values
instead of quietly changing them (negative IDX labels, float CIFAR labels, out-of-range CSV columns)."""

import gzip
import pickle
import struct
import tracemalloc

import numpy as np
import pytest

from shendu.data import datasets as D
from shendu.data.datasets._cifar import _batch_arrays
from shendu.errors import FileFormatError

MB = 1 << 20


def _peak(fn, *args, **kwargs):
    """(exception or None, peak traced bytes) of calling fn."""
    tracemalloc.start()
    try:
        fn(*args, **kwargs)
        error = None
    except Exception as exc:  # noqa: BLE001 - the caller checks the type
        error = exc
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return error, peak


def _idx(array, type_byte=0x08):
    header = struct.pack(">BBBB", 0, 0, type_byte, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.tobytes()


def test_idx_gzip_bomb_is_refused_without_inflating(tmp_path):
    path = tmp_path / "bomb-idx1-ubyte.gz"
    with gzip.open(path, "wb") as f:  # a 10-byte array announced, 64 MB of zeros behind it
        f.write(_idx(np.zeros(10, np.uint8)))
        for _ in range(64):
            f.write(b"\0" * MB)
    error, peak = _peak(D.read_idx, path)
    assert isinstance(error, D.DatasetFormatError) and str(path) in str(error) and "unexpected bytes" in str(error)
    assert peak < 8 * MB


def test_idx_header_larger_than_the_gzip_can_hold(tmp_path):
    path = tmp_path / "claims-idx3-ubyte.gz"
    with gzip.open(path, "wb") as f:
        f.write(struct.pack(">BBBB3I", 0, 0, 0x08, 3, 60000, 4096, 4096))  # 1 TB announced
    error, peak = _peak(D.read_idx, path)
    assert isinstance(error, D.DatasetFormatError) and "can hold" in str(error) and str(path) in str(error)
    assert peak < 4 * MB


def test_idx_read_limit(tmp_path, monkeypatch):
    path = tmp_path / "x-idx1-ubyte"
    path.write_bytes(_idx(np.zeros(1000, np.uint8)))
    with pytest.raises(D.DatasetFormatError, match="x-idx1-ubyte.*read limit"):
        D.read_idx(path, max_bytes=999)
    monkeypatch.setenv("SHENDU_MAX_READ_BYTES", "999")
    with pytest.raises(D.DatasetFormatError, match="SHENDU_MAX_READ_BYTES"):
        D.read_idx(path)
    assert D.read_idx(path, max_bytes=1000).shape == (1000,)


def test_negative_int8_idx_labels_are_refused(tmp_path):
    from shendu.data.datasets import _idx as idx_module

    folder = tmp_path / "mnist"
    folder.mkdir()
    images = np.zeros((2, 28, 28), np.uint8)
    for stem, arr, kind in (("train-images-idx3-ubyte", images, 0x08),
                            ("train-labels-idx1-ubyte", np.array([1, -1], np.int8), 0x09),
                            ("t10k-images-idx3-ubyte", images, 0x08),
                            ("t10k-labels-idx1-ubyte", np.array([1, 2], np.uint8), 0x08)):
        (folder / stem).write_bytes(_idx(arr, kind))
    with pytest.raises(D.DatasetFormatError, match="train-labels-idx1-ubyte: labels must lie in 0..9, found -1"):
        idx_module._load(dict(idx_module._MNIST, system=[]), str(folder), False)


# --- CIFAR pickles -------------------------------------------------------------------------------


def test_cifar_shared_nested_lists_are_refused_before_numpy_expands_them():
    row = [0] * 3072
    block = [row] * 100
    payload = pickle.dumps({b"data": [block] * 100, b"labels": [0] * 100}, protocol=2)
    assert len(payload) < 16_000  # 100 x 100 x 3072 values as int64 would be 245 MB
    error, peak = _peak(lambda: _batch_arrays(
        D.load_pickle_batch(payload, "nested_batch"), "nested_batch"))
    assert isinstance(error, D.DatasetFormatError) and "nested_batch" in str(error)
    assert peak < 8 * MB


@pytest.mark.parametrize("payload, message", [
    # numpy.ndarray((200 MB,), 'u1'): 50 bytes of pickle asking for 200 MB
    (b"\x80\x02cnumpy\nndarray\nJ\x00\x00\x80\x0c\x85X\x02\x00\x00\x00u1\x86R.", "numpy.ndarray"),
    # _reconstruct(ndarray, (200 MB,), 'u1'): the reconstructor asked for more than the file holds
    (b"\x80\x02cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\nJ\x00\x00\x80\x0c\x85"
     b"X\x02\x00\x00\x00u1\x87R.", "more than"),
    # _codecs.encode(..., 'hex') repeated doubles the bytes each time
    (b"\x80\x02c_codecs\nencode\nX\x01\x00\x00\x00aX\x03\x00\x00\x00hex\x86R.", "_codecs.encode"),
    # BINBYTES8 announcing 200 MB with none following
    (b"\x80\x04\x8e\x00\x00\x80\x0c\x00\x00\x00\x00.", "truncated"),
    # LONG_BINPUT at memo index 200 million: the unpickler would size its memo table to it (3 GB)
    (b"\x80\x02]r\x00\x00\xeb\x0b.", "memo index"),
])
def test_cifar_pickles_cannot_allocate_more_than_they_hold(payload, message):
    error, peak = _peak(D.load_pickle_batch, payload, "evil_batch")
    assert isinstance(error, FileFormatError), error
    assert "evil_batch" in str(error) and message in str(error)
    assert peak < 8 * MB


def test_cifar_float_labels_are_refused_not_truncated():
    data = np.zeros((2, 3072), np.uint8)
    for labels in ([1.7, 2.0], np.array([1.5, 2.0]), [True, 1]):
        batch = D.load_pickle_batch(pickle.dumps({b"data": data, b"labels": labels}, protocol=2), "f_batch")
        with pytest.raises(D.DatasetFormatError, match="f_batch.*integers"):
            _batch_arrays(batch, "f_batch")
    ok = D.load_pickle_batch(pickle.dumps({b"data": data, b"labels": [1, 2]}, protocol=2), "ok_batch")
    x, y = _batch_arrays(ok, "ok_batch")
    assert x.shape == (2, 3, 32, 32) and y.tolist() == [1, 2] and y.dtype == np.int64


# --- CSV -----------------------------------------------------------------------------------------


def test_csv_target_column_out_of_range_is_refused(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes(b"a,b,c\n1,2,0\n3,4,1\n")
    for bad in (5, 3, -4):
        with pytest.raises(IndexError, match=r"t.csv.*target_column.*3 columns"):
            D.CSVDataset(path, target_column=bad)
    assert D.CSVDataset(path, target_column=-1).target_name == "c"
    assert D.CSVDataset(path, target_column=0).target_name == "a"


def test_csv_error_lines_count_blank_lines(tmp_path):
    path = tmp_path / "blank.csv"
    path.write_bytes(b"a,b,y\n\n1,2,0\n\n\n3,oops,1\n")
    with pytest.raises(D.DatasetFormatError, match="blank.csv: line 6, column 'b'"):
        D.CSVDataset(path)
    ragged = tmp_path / "ragged.csv"
    ragged.write_bytes(b"a,b,y\n\n1,2,0\n\n1,2\n")
    with pytest.raises(D.DatasetFormatError, match="ragged.csv: line 5 has 2 fields"):
        D.CSVDataset(ragged)
    quoted = tmp_path / "quoted.csv"
    quoted.write_bytes(b'a,b,y\n"x\ny",2,0\n1,oops,1\n')  # a quoted cell spans lines 2-3
    with pytest.raises(D.DatasetFormatError, match="quoted.csv: line 2, column 'a'"):
        D.CSVDataset(quoted)


def test_csv_read_limit(tmp_path):
    path = tmp_path / "big.csv"
    path.write_bytes(b"a,b\n" + b"1,2\n" * 100)
    with pytest.raises(D.DatasetFormatError, match="big.csv.*read limit"):
        D.CSVDataset(path, max_bytes=100)


# --- text: pad_sequences and word vectors ----------------------------------------------------------


def test_pad_sequences_refuses_values_its_dtype_cannot_hold():
    from shendu.data.text import pad_sequences

    for seqs in ([[1, 2 ** 31]], [np.array([1, 2 ** 40])], [[-(2 ** 31) - 1]]):
        with pytest.raises(ValueError, match="does not fit dtype='int32'"):
            pad_sequences(seqs)
    with pytest.raises(ValueError, match="does not fit dtype='uint8'"):
        pad_sequences([[300]], dtype="uint8")
    with pytest.raises(ValueError, match="NaN"):
        pad_sequences([[1.0, float("nan")]])
    assert pad_sequences([[2 ** 40]], dtype="int64").tolist() == [[2 ** 40]]
    assert pad_sequences([[1, 2], [3]]).dtype == np.int32


def test_word_vectors_bounded(tmp_path):
    from shendu.data.text import load_word_vectors

    index = {"a": 1, "b": 2}
    long_line = tmp_path / "long.txt.gz"
    with gzip.open(long_line, "wb") as f:  # one 64 MB line of zeros, no newline
        for _ in range(64):
            f.write(b"0" * MB)
    error, peak = _peak(load_word_vectors, long_line, index)
    assert isinstance(error, FileFormatError) and "long.txt.gz line 1 is longer" in str(error)
    assert peak < 16 * MB
    header = tmp_path / "w2v.txt"
    header.write_text("2 4000000000\na 1 2\n")  # a word2vec header claiming 4e9 dimensions
    error, peak = _peak(load_word_vectors, header, index)
    assert isinstance(error, FileFormatError) and "w2v.txt" in str(error) and "read limit" in str(error)
    assert peak < 4 * MB
    bad = tmp_path / "nan.txt"
    bad.write_text("a 1 2\nb 1 x\n")
    with pytest.raises(FileFormatError, match="nan.txt line 2.*not a number"):
        load_word_vectors(bad, index)
    good = tmp_path / "ok.txt"
    good.write_text("a 1 2\nb 3 4\n")
    with pytest.raises(FileFormatError, match="ok.txt.*read limit"):
        load_word_vectors(good, index, max_bytes=5)
    assert load_word_vectors(good, index).tolist() == [[0, 0], [1, 2], [3, 4]]


def test_idx_empty_array_with_huge_other_dimensions_names_the_file(tmp_path):
    path = tmp_path / "odd-idx3-ubyte"
    path.write_bytes(struct.pack(">BBBB", 0, 0, 8, 4) + struct.pack(">4I", 0, 2**32 - 1, 2**32 - 1, 2**32 - 1))
    with pytest.raises(FileFormatError, match="odd-idx3-ubyte"):
        D.read_idx(path)
