"""Helpers for the file-reader fuzz tests (tests/data/test_data_fuzz.py, tests/test_serialization.py,
tests/keras/test_keras_fuzz.py): mutate a small valid file, read it, and check that the reader either
loads it or raises shendu's FileFormatError naming the file, without allocating much more than the file
holds and without writing any file. ``SHENDU_FUZZ_EXAMPLES`` sets the examples per test (default 300)."""
import os
import struct
import tracemalloc

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from shendu.errors import FileFormatError

MB = 1 << 20
FUZZ = settings(max_examples=int(os.environ.get("SHENDU_FUZZ_EXAMPLES", "300")), deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@st.composite
def mutated(draw, blob):
    """``blob`` with a few random edits: overwrite a byte or a 32-bit word, insert, delete, or truncate."""
    data = bytearray(blob)
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["set", "insert", "delete", "truncate", "set32"]))
        pos = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == "set" and data:
            data[pos] = draw(st.integers(0, 255))
        elif op == "set32" and len(data) >= 4:
            pos = min(pos, len(data) - 4)
            data[pos:pos + 4] = struct.pack("<I", draw(st.sampled_from([0, 1, 255, 2 ** 31, 2 ** 32 - 1])))
        elif op == "insert":
            data[pos:pos] = bytes([draw(st.integers(0, 255))])
        elif op == "delete" and data:
            del data[pos]
        elif op == "truncate":
            del data[pos:]
    return bytes(data)


def check_reader(folder, name, blob, read, peak_limit=16 * MB, errors=FileFormatError):
    """Write ``blob`` as ``folder/name`` and call ``read(path)``: it loads, or raises ``errors`` naming
    the file; peak traced memory stays under ``peak_limit`` plus a few times the file's size, and
    nothing else appears in ``folder``."""
    folder = os.fspath(folder)
    path = os.path.join(folder, name)
    with open(path, "wb") as f:
        f.write(blob)
    tracemalloc.start()
    try:
        read(path)
    except errors as exc:
        assert path in str(exc), exc
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        left = sorted(os.listdir(folder))
        os.remove(path)
    assert peak < peak_limit + 4 * len(blob), f"{name}: peak {peak} bytes for a {len(blob)}-byte file"
    assert left == [name], f"{name}: the reader wrote {left}"
