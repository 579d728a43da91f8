"""safetensors files: round trip, interoperability with the safetensors package, bad files."""
import os

import numpy as np
import pytest
from hypothesis import event, example, given
from hypothesis import strategies as st

import shendu as sd
from conftest import require
from fuzzing import FUZZ, check_reader, mutated
from shendu.serialization import MAX_HEADER_SIZE, SerializationError


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


def _raw(header, body=b""):
    """A safetensors file with the given header (a dict) and data bytes."""
    import json

    text = json.dumps(header).encode()
    return len(text).to_bytes(8, "little") + text + body


def _write(tmp_path, name, blob):
    path = tmp_path / name
    path.write_bytes(blob)
    return path


@pytest.mark.parametrize("offsets_a, offsets_b, why", [
    ([0, 8], [0, 8], "overlaps"),          # both tensors read the same bytes
    ([8, 16], [0, 8], None),               # reversed order in the header is fine (sorted by offset)
    ([0, 8], [4, 12], "overlaps"),
    ([0, 8], [12, 20], "gap"),
    ([-8, 0], [0, 8], "data_offsets"),     # negative offsets
    ([0, 8], [8, 4], "ends before"),       # end < begin
])
def test_offsets_are_validated_like_the_reference_library(tmp_path, offsets_a, offsets_b, why):
    body = np.arange(4, dtype=np.float32).tobytes()
    header = {"a": {"dtype": "F32", "shape": [2], "data_offsets": offsets_a},
              "b": {"dtype": "F32", "shape": [2], "data_offsets": offsets_b}}
    path = _write(tmp_path, "off.safetensors", _raw(header, body))
    if why is None:
        back = sd.load(path)
        np.testing.assert_array_equal(back["b"].numpy(), [0, 1])
        np.testing.assert_array_equal(back["a"].numpy(), [2, 3])
        return
    with pytest.raises(SerializationError, match=f"off.safetensors.*{why}"):
        sd.load(path)


def test_trailing_bytes_are_refused(tmp_path):
    path = tmp_path / "m.safetensors"
    sd.save({"w": np.ones(2, np.float32)}, path)
    _write(tmp_path, "tail.safetensors", path.read_bytes() + b"\0" * 8)
    with pytest.raises(SerializationError, match="tail.safetensors.*8 unexpected bytes"):
        sd.load(tmp_path / "tail.safetensors")


def test_header_rules(tmp_path):
    f32 = np.ones(2, np.float32).tobytes()
    cases = {
        "size": ({"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}, f32, "does not match"),
        "dtype": ({"a": {"dtype": "F31", "shape": [2], "data_offsets": [0, 8]}}, f32, "unknown dtype"),
        "shape": ({"a": {"dtype": "F32", "shape": [2.0], "data_offsets": [0, 8]}}, f32, "shape"),
        "bool": ({"a": {"dtype": "F32", "shape": [True, 2], "data_offsets": [0, 8]}}, f32, "shape"),
        "meta": ({"__metadata__": {"k": 1}, "a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}},
                 f32, "__metadata__ must map strings"),
        "list": ([1, 2], b"", "not an object"),
        "huge": ({"a": {"dtype": "F32", "shape": [2 ** 40, 2 ** 40], "data_offsets": [0, 8]}}, f32,
                 "too large"),
    }
    for name, (header, body, message) in cases.items():
        path = _write(tmp_path, f"{name}.safetensors", _raw(header, body))
        with pytest.raises(SerializationError, match=f"{name}.safetensors.*{message}"):
            sd.load(path)
    big = (MAX_HEADER_SIZE + 1).to_bytes(8, "little") + b"{}"
    with pytest.raises(SerializationError, match="big.safetensors.*header length"):
        sd.load(_write(tmp_path, "big.safetensors", big))


def test_metadata_name_is_refused_on_save(tmp_path):
    with pytest.raises(ValueError, match="__metadata__"):
        sd.save({"__metadata__": np.ones(2, np.float32)}, tmp_path / "m.safetensors")
    with pytest.raises(TypeError, match="str to str"):
        sd.save({"w": np.ones(2, np.float32)}, tmp_path / "m.safetensors", metadata={"epoch": 3})
    assert os.listdir(tmp_path) == []
    sd.save({"w": np.ones(2, np.float32)}, tmp_path / "m.safetensors", metadata={"epoch": "3"})
    assert sd.load(tmp_path / "m.safetensors", return_metadata=True)[1] == {"epoch": "3"}


def test_unsigned_and_complex_dtypes_round_trip_with_the_reference_library(tmp_path):
    st = require("safetensors.numpy")
    arrays = {"u16": np.arange(3, dtype=np.uint16), "u32": np.arange(3, dtype=np.uint32) + 2 ** 31,
              "u64": np.arange(3, dtype=np.uint64) + 2 ** 63, "c64": np.ones(2, np.complex64) * 1j}
    st.save_file(arrays, str(tmp_path / "ref.safetensors"))
    back = sd.load(tmp_path / "ref.safetensors")
    for k, v in arrays.items():
        assert back[k].numpy().dtype == v.dtype
        np.testing.assert_array_equal(back[k].numpy(), v)
    sd.save(arrays, tmp_path / "ours.safetensors")
    theirs = st.load_file(str(tmp_path / "ours.safetensors"))
    for k, v in arrays.items():
        np.testing.assert_array_equal(theirs[k], v)


def _bf16_file(tmp_path):
    # 1.0, 2.0, -0.5 in bfloat16: the top 16 bits of the float32 values
    raw = (np.array([1.0, 2.0, -0.5], np.float32).view(np.uint32) >> 16).astype("<u2").tobytes()
    return _write(tmp_path, "bf16.safetensors",
                  _raw({"h": {"dtype": "BF16", "shape": [3], "data_offsets": [0, 6]}}, raw))


def test_bfloat16_without_ml_dtypes_names_file_and_dtype(tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "ml_dtypes", None)  # as if it were not installed
    with pytest.raises(SerializationError, match="bf16.safetensors.*'h'.*BF16.*ml_dtypes"):
        sd.load(_bf16_file(tmp_path))


def test_bfloat16_with_ml_dtypes(tmp_path):
    ml_dtypes = require("ml_dtypes")
    arr = sd.serialization.decode(_bf16_file(tmp_path).read_bytes())[0]["h"]
    assert arr.dtype == ml_dtypes.bfloat16
    np.testing.assert_array_equal(arr.astype(np.float32), [1.0, 2.0, -0.5])
    blob = b"".join(sd.serialization.encode({"h": arr}))
    assert blob.endswith(_bf16_file(tmp_path).read_bytes()[-6:])
    again = sd.serialization.decode(blob)[0]["h"]
    assert again.dtype == ml_dtypes.bfloat16 and np.array_equal(again, arr)


def test_files_above_the_read_limit_are_refused_before_reading(tmp_path, monkeypatch):
    path = tmp_path / "m.safetensors"
    sd.save({"w": np.ones(100, np.float32)}, path)
    with pytest.raises(SerializationError, match="m.safetensors.*read limit.*SHENDU_MAX_READ_BYTES"):
        sd.load(path, max_bytes=100)
    monkeypatch.setenv("SHENDU_MAX_READ_BYTES", "100")
    with pytest.raises(SerializationError, match="read limit"):
        sd.load(path)
    monkeypatch.setenv("SHENDU_MAX_READ_BYTES", "1000")
    assert sd.load(path)["w"].shape == (100,)


def _dead_pid():
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_later_save_removes_temporary_files_of_a_killed_save(tmp_path):
    old = 1_000_000_000  # 2001: long before this write
    dead = tmp_path / f".tmp-{_dead_pid()}-0123abcd.m.safetensors"      # killed writer
    legacy = tmp_path / ".tmp-ab12cd34m.safetensors"                     # older shendu's naming
    alive = tmp_path / f".tmp-{os.getppid()}-0123abcd.m.safetensors"    # a writer still running
    other = tmp_path / f".tmp-{_dead_pid()}-0123abcd.other.safetensors"  # another target's
    for p in (dead, legacy, alive, other):
        p.write_bytes(b"half")
        os.utime(p, (old, old))
    sd.save({"w": np.ones(2, np.float32)}, tmp_path / "m.safetensors")
    assert sorted(os.listdir(tmp_path)) == sorted([alive.name, other.name, "m.safetensors"])


def test_failed_write_removes_its_temporary_file_for_every_writer(tmp_path):
    from shendu._fileio import atomic_write
    from shendu.train._io import atomic_write_text
    from shendu.viz._figure import write_atomic

    def boom(tmp):
        with open(tmp, "w") as f:
            f.write("half")
        raise RuntimeError("disk full")

    for writer in (atomic_write, write_atomic):
        with pytest.raises(RuntimeError):
            writer(tmp_path / "f.txt", boom)
    assert os.listdir(tmp_path) == []
    atomic_write_text(tmp_path / "f.txt", "done")
    assert (tmp_path / "f.txt").read_text() == "done"
    assert oct((tmp_path / "f.txt").stat().st_mode & 0o777) == oct(0o666 & ~_umask())


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _module_imports(path):
    """(module-level imports, all imports) of a source file, as absolute shendu names."""
    import ast

    tree = ast.parse(path.read_text())
    package = ".".join(path.relative_to(SRC).with_suffix("").parts)
    if path.name != "__init__.py":
        package = package.rsplit(".", 1)[0]
    top, found = [], []
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")
            if node.level:
                base = base[:len(base) - node.level + 1]
                names = [".".join(base + ([node.module] if node.module else []))]
            else:
                names = [node.module]
        found += names
        if node in tree.body:
            top += names
    return top, found


SRC = __import__("pathlib").Path(sd.__file__).parent.parent


def test_one_atomic_writer_and_its_layering():
    """Every rename-into-place goes through shendu._fileio, which (like shendu.errors) imports no other
    part of shendu, so every layer may use it (tests/test_layering.py checks the layers themselves)."""
    import re

    pkg = SRC / "shendu"
    temporary = re.compile(r"mkstemp\(|NamedTemporaryFile\(|[\"'.]tmp\b|\.part\b")
    for path in pkg.rglob("*.py"):
        text = path.read_text()
        if path.name != "_fileio.py":  # a temporary file renamed into place is an atomic writer of its own
            renames = "os.replace(" in text or "os.rename(" in text
            assert not (renames and temporary.search(text)), (
                f"{path} writes files atomically by itself; use shendu._fileio.atomic_write")
    for leaf in ("_fileio.py", "errors.py"):
        _, imports = _module_imports(pkg / leaf)
        assert [m for m in imports if m.startswith("shendu") and m != "shendu.errors"] == [], leaf


# --- fuzzing: shendu's reader accepts exactly what the reference library accepts -------------------

_SIZES = st.sampled_from([0, 1, 2, 3, 4, 8, 16, -1, 2 ** 40, 2 ** 64 - 1, 2 ** 64])
_ENTRY = st.fixed_dictionaries({
    "dtype": st.sampled_from(["F32", "F64", "F16", "I64", "I32", "I16", "I8", "U8", "U16", "U32", "U64",
                              "BOOL", "C64", "F31", 3]),
    "shape": st.one_of(st.lists(_SIZES, max_size=3), st.just(None), st.just([1.0])),
    "data_offsets": st.one_of(st.lists(st.sampled_from([0, 1, 2, 4, 8, 12, 16, 24, 32, -8, 2 ** 64]),
                                       min_size=2, max_size=2), st.just([0]), st.just([0, 8, 16])),
})
_HEADER = st.dictionaries(st.sampled_from(["a", "b", "c", "__metadata__"]), _ENTRY, max_size=3)
_META = st.sampled_from([None, {"k": "v"}, {"k": 1}, [1], "x"])


def _blob(header, meta, body_len):
    import json

    if meta is not None:
        header = {**header, "__metadata__": meta}
    text = json.dumps(header).encode()
    return len(text).to_bytes(8, "little") + text + (bytes(range(256)) * 4)[:body_len]


@st.composite
def _nearly_valid(draw):
    """A valid safetensors file, then (most of the time) one field or the body length nudged."""
    sizes = {"F64": 8, "F32": 4, "F16": 2, "I64": 8, "U16": 2, "U8": 1, "BOOL": 1, "C64": 8}
    names = draw(st.lists(st.sampled_from(["a", "b", "c", "d"]), unique=True, max_size=4))
    header, offset = {}, 0
    for name in names:
        dtype = draw(st.sampled_from(sorted(sizes)))
        shape = draw(st.lists(st.integers(0, 3), max_size=3))
        n = sizes[dtype] * int(np.prod(shape, dtype=np.int64))
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + n]}
        offset += n
    body_len = offset
    if names and draw(st.booleans()):
        entry = header[draw(st.sampled_from(names))]
        field = draw(st.sampled_from(["begin", "end", "shape", "dtype", "swap"]))
        delta = draw(st.sampled_from([-8, -1, 1, 2, 8, 2 ** 64]))
        if field in ("begin", "end"):
            entry["data_offsets"][field == "end"] += delta
        elif field == "shape":
            entry["shape"] = entry["shape"] + [2] if delta > 0 else entry["shape"][:-1]
        elif field == "dtype":
            entry["dtype"] = draw(st.sampled_from(["F32", "I8", "U64", "BF16x"]))
        else:
            entry["data_offsets"].reverse()
    elif draw(st.booleans()):
        body_len += draw(st.sampled_from([-1, 1, 8]))
    meta = draw(st.sampled_from([None, None, {"k": "v"}, {"k": 1}, [1]]))
    return _blob(header, meta, max(body_len, 0))


@FUZZ
@given(blob=st.one_of(_nearly_valid(), st.builds(_blob, _HEADER, _META, st.integers(0, 40))))
@example(blob=_blob({"a": {"dtype": "F32", "shape": [0, 2 ** 64 - 1], "data_offsets": [0, 0]}}, None, 0))
def test_fuzz_header_agrees_with_the_reference_library(blob):
    safetensors = require("safetensors")
    try:
        theirs = {name: bytes(t["data"]) for name, t in safetensors.deserialize(blob)}
    except Exception:  # noqa: BLE001 - any refusal by the reference library
        theirs = None
    try:
        ours = {name: a.tobytes() for name, a in sd.serialization.decode(blob, "fuzz.safetensors")[0].items()}
    except SerializationError as exc:
        assert "fuzz.safetensors" in str(exc)
        if theirs is not None and "NumPy cannot represent" in str(exc):
            return  # valid safetensors, but no NumPy array has that shape (e.g. a dimension of 2**64 - 1)
        ours = None
    event("both refuse" if ours is None and theirs is None else "both load" if ours == theirs else "differ")
    assert (ours is None) == (theirs is None), (blob, ours, theirs)
    assert ours == theirs


_VALID = b"".join(sd.serialization.encode(
    {"w": np.arange(6, dtype=np.float32).reshape(2, 3), "b": np.arange(2, dtype=np.int64),
     "e": np.zeros((0, 4), np.uint8), "m": np.array([True, False])}, {"note": "fuzz"}))


@FUZZ
@given(blob=mutated(_VALID))
def test_fuzz_mutated_file_loads_or_raises_naming_it(tmp_path, blob):
    check_reader(tmp_path, "m.safetensors", blob, sd.load)
