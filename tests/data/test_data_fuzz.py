"""Fuzz tests for the data-file readers: whatever the bytes, a reader either loads them or raises
shendu's FileFormatError naming the file; it never allocates much more than the file holds and never
writes a file. Inputs are small valid files with bytes flipped, inserted, deleted or cut off."""

import gzip
import pickle
import struct

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from fuzzing import FUZZ, check_reader, mutated
from shendu.data import datasets as D
from shendu.data.datasets._cifar import _batch_arrays
from shendu.data.text import load_word_vectors


def _idx(array, type_byte=0x08):
    header = struct.pack(">BBBB", 0, 0, type_byte, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


IDX_RAW = _idx(np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4))
IDX_GZ = gzip.compress(_idx(np.arange(40, dtype=np.int32).reshape(10, 4), 0x0C))


@FUZZ
@given(blob=mutated(IDX_RAW))
def test_fuzz_idx_raw(tmp_path, blob):
    check_reader(tmp_path, "f-idx3-ubyte", blob, D.read_idx)


@FUZZ
@given(blob=mutated(IDX_GZ))
def test_fuzz_idx_gzip(tmp_path, blob):
    check_reader(tmp_path, "f-idx2-ubyte.gz", blob, D.read_idx)


CIFAR = pickle.dumps({b"batch_label": b"b", b"labels": [1, 2, 3],
                      b"data": np.arange(3 * 3072, dtype=np.uint8).reshape(3, 3072) % 251,
                      b"filenames": [b"a.png", b"b.png", b"c.png"]}, protocol=2)


def _read_cifar(path):
    with open(path, "rb") as f:
        _batch_arrays(D.load_pickle_batch(f.read(), path), path)


@FUZZ
@given(blob=mutated(CIFAR))
def test_fuzz_cifar_pickle(tmp_path, blob):
    check_reader(tmp_path, "data_batch_1", blob, _read_cifar)


CSV = b"a,b,label\n1,2.5,0\n3,-4,1\n\n5,6e3,cat\n"


@FUZZ
@given(blob=mutated(CSV))
def test_fuzz_csv(tmp_path, blob):
    check_reader(tmp_path, "t.csv", blob, D.CSVDataset)


VECTORS = b"3 2\nthe 0.1 0.2\ncat -1 2e-3\nsat 4 5\n"


@FUZZ
@given(blob=st.one_of(mutated(VECTORS), mutated(gzip.compress(VECTORS))))
def test_fuzz_word_vectors(tmp_path, blob):
    name = "v.txt.gz" if blob[:2] == b"\x1f\x8b" else "v.txt"
    check_reader(tmp_path, name, blob, lambda p: load_word_vectors(p, {"the": 1, "cat": 2, "dog": 3}))
