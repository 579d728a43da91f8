"""Saving and loading tensors in the safetensors format (never pickle).

A safetensors file is an 8-byte little-endian header length N, N bytes of JSON
``{name: {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, "__metadata__": {...}}``,
then the raw little-endian bytes of every tensor. Files are written atomically.

Reading validates the file exactly as the reference ``safetensors`` library does, before any tensor is
allocated: the header is at most 100 MB of UTF-8 JSON; ``__metadata__`` maps strings to strings; every
entry has a known dtype, a shape of non-negative integers and two offsets; sorted by offset, the tensors
lie end to end from byte 0, each spanning exactly shape x dtype-size bytes, and the last one ends where
the file ends (no gap, no overlap, no trailing bytes). A file that breaks a rule raises
:class:`SerializationError` naming the file and the rule. Files larger than the read limit (8 GiB;
``SHENDU_MAX_READ_BYTES`` or ``load(..., max_bytes=)``) are refused before they are read.

All the reference library's dtypes are read: BOOL, U8, I8, I16, U16, I32, U32, I64, U64, F16, F32, F64,
C64, and BF16 / F8_* through the ``ml_dtypes`` package when it is installed (a clear error otherwise).
"""
import json
import os
from collections import OrderedDict

import numpy as np

from ._fileio import atomic_write_bytes, check_read_size
from .errors import FileFormatError

__all__ = ["save", "load", "encode", "decode", "SerializationError", "atomic_write_bytes",
           "MAX_HEADER_SIZE"]

MAX_HEADER_SIZE = 100_000_000  # the reference library's limit on the JSON header
_USIZE = 1 << 64

_CODES = {"F64": np.float64, "F32": np.float32, "F16": np.float16, "C64": np.complex64,
          "I64": np.int64, "I32": np.int32, "I16": np.int16, "I8": np.int8,
          "U64": np.uint64, "U32": np.uint32, "U16": np.uint16, "U8": np.uint8, "BOOL": np.bool_}
_NAMES = {np.dtype(v): k for k, v in _CODES.items()}
# dtypes NumPy has only through the ml_dtypes package: safetensors code -> ml_dtypes name
_ML_DTYPES = {"BF16": "bfloat16", "F8_E5M2": "float8_e5m2", "F8_E4M3": "float8_e4m3fn",
              "F8_E4M3FNUZ": "float8_e4m3fnuz", "F8_E5M2FNUZ": "float8_e5m2fnuz", "F8_E8M0": "float8_e8m0fnu"}
_ML_NAMES = {v: k for k, v in _ML_DTYPES.items()}
# sub-byte dtypes are packed two or more to a byte; shendu validates them but cannot unpack them
_SUB_BYTE = {"F4": 4, "F6_E2M3": 6, "F6_E3M2": 6}
_BITS = {**{k: np.dtype(v).itemsize * 8 for k, v in _CODES.items()},
         **{k: 16 if k == "BF16" else 8 for k in _ML_DTYPES}, **_SUB_BYTE}


class SerializationError(FileFormatError):
    """A model file is missing, truncated, malformed or not a safetensors file; the message names it."""


def _ml_dtype(code, source, name):
    try:
        import ml_dtypes
    except ImportError:
        raise SerializationError(
            f"{source}: tensor {name!r} has dtype {code}, which NumPy reads only through the ml_dtypes "
            "package: pip install ml_dtypes") from None
    return np.dtype(getattr(ml_dtypes, _ML_DTYPES[code]))


def _code_of(dtype, name):
    if dtype.name in _ML_NAMES and dtype.kind == "V":
        return _ML_NAMES[dtype.name]
    try:
        return _NAMES[dtype.newbyteorder("=")]
    except (KeyError, ValueError):
        raise TypeError(f"save: tensor {name!r} has dtype {dtype}, which safetensors cannot store") from None


def encode(tensors, metadata=None):
    """The safetensors bytes (as a list of chunks) for a mapping name -> array or Tensor.

    Names must be strings other than ``"__metadata__"`` (the header key of ``metadata``), and
    ``metadata`` must map strings to strings, as the reference library requires.
    """
    header, chunks, offset = {}, [], 0
    if metadata:
        bad = [(k, v) for k, v in metadata.items() if not isinstance(k, str) or not isinstance(v, str)]
        if bad:
            k, v = bad[0]
            raise TypeError(f"save: metadata must map str to str (safetensors stores text only), got "
                            f"{type(k).__name__} {k!r} -> {type(v).__name__} {v!r}")
        header["__metadata__"] = dict(metadata)
    for name, value in tensors.items():
        if not isinstance(name, str):
            raise TypeError(f"save: tensor names must be strings, got {type(name).__name__} {name!r}")
        if name == "__metadata__":
            raise ValueError("save: '__metadata__' cannot name a tensor: safetensors keeps the file's "
                             "metadata under that key; rename the tensor")
        arr = np.asarray(value)
        arr = np.ascontiguousarray(arr).reshape(arr.shape)  # ascontiguousarray makes 0-d arrays 1-d
        code = _code_of(arr.dtype, name)
        if arr.dtype.kind != "V" and arr.dtype.itemsize > 1:
            arr = arr.astype(arr.dtype.newbyteorder("<"), copy=False)  # safetensors is little-endian
        raw = arr.tobytes()
        header[name] = {"dtype": code, "shape": list(arr.shape), "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    text += b" " * (-len(text) % 8)
    if len(text) > MAX_HEADER_SIZE:
        raise ValueError(f"save: the header would be {len(text):,} bytes, more than safetensors' limit of "
                         f"{MAX_HEADER_SIZE:,}; save fewer tensors or less metadata per file")
    return [len(text).to_bytes(8, "little"), text] + chunks


def _usize(v):
    return isinstance(v, int) and not isinstance(v, bool) and 0 <= v < _USIZE


def _entry(name, info, source):
    """(code, shape, begin, end) of one header entry, checked as the reference library's types are."""
    if not isinstance(info, dict):
        raise SerializationError(f"{source}: header entry {name!r} should be an object with dtype, shape "
                                 f"and data_offsets, got {type(info).__name__}")
    missing = [k for k in ("dtype", "shape", "data_offsets") if k not in info]
    if missing:
        raise SerializationError(f"{source}: tensor {name!r} has no {', '.join(missing)} in the header")
    code, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
    if not isinstance(code, str) or code not in _BITS:
        raise SerializationError(f"{source}: tensor {name!r} has unknown dtype {code!r}; safetensors "
                                 f"dtypes are {', '.join(sorted(_BITS))}")
    if not isinstance(shape, list) or not all(_usize(d) for d in shape):
        raise SerializationError(f"{source}: tensor {name!r} has shape {shape!r}; "
                                 "expected a list of non-negative integers")
    if not isinstance(offsets, list) or len(offsets) != 2 or not all(_usize(o) for o in offsets):
        raise SerializationError(f"{source}: tensor {name!r} has data_offsets {offsets!r}; expected "
                                 "[begin, end], two non-negative integers")
    return code, tuple(shape), offsets[0], offsets[1]


def decode(blob, source="<bytes>"):
    """Parse safetensors bytes into (OrderedDict name -> ndarray, metadata dict), validating everything
    (see the module docstring) before any tensor is built. Tensors come in the order of their offsets."""
    size = len(blob)
    if size < 8:
        raise SerializationError(f"{source}: not a safetensors file (only {size} bytes, "
                                 "fewer than the 8-byte header length)")
    n = int.from_bytes(bytes(blob[:8]), "little")
    if n > MAX_HEADER_SIZE:
        raise SerializationError(f"{source}: not a safetensors file: the header length is {n:,} bytes, "
                                 f"more than the {MAX_HEADER_SIZE:,} safetensors allows")
    if 8 + n > size:
        raise SerializationError(f"{source}: truncated or not a safetensors file (header says {n} bytes, "
                                 f"file has {size - 8})")
    try:
        header = json.loads(bytes(blob[8:8 + n]).decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise SerializationError(f"{source}: not a safetensors file (header is not UTF-8: {exc})") from None
    except (json.JSONDecodeError, RecursionError) as exc:
        raise SerializationError(f"{source}: not a safetensors file (bad header JSON: {exc})") from None
    if not isinstance(header, dict):
        raise SerializationError(f"{source}: not a safetensors file (the header is a JSON "
                                 f"{type(header).__name__}, not an object)")
    meta = header.pop("__metadata__", None)
    if meta is None:
        meta = {}
    if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
        raise SerializationError(f"{source}: __metadata__ must map strings to strings, got {meta!r:.200}")
    entries = [(name,) + _entry(name, info, source) for name, info in header.items()]
    entries.sort(key=lambda e: (e[3], e[4]))  # by data_offsets, as the reference library reads them
    start = 0
    for name, code, shape, begin, end in entries:
        if begin != start or end < begin:
            where = "overlaps the previous tensor" if begin < start else (
                "leaves a gap after the previous tensor" if begin > start else "ends before it begins")
            raise SerializationError(f"{source}: invalid offsets [{begin}, {end}] for tensor {name!r}: it "
                                     f"{where} (tensors must lie end to end from byte 0; expected it to "
                                     f"begin at {start})")
        start = end
        count = 1
        for d in shape:
            count *= d
        nbits = count * _BITS[code]
        if count >= _USIZE or nbits >= _USIZE:
            raise SerializationError(f"{source}: tensor {name!r} has shape {shape}, too large to exist")
        if nbits % 8:
            raise SerializationError(f"{source}: tensor {name!r} ({code} {shape}) does not fill whole bytes")
        if end - begin != nbits // 8:
            raise SerializationError(f"{source}: tensor {name!r} is truncated or its size does not match "
                                     f"its shape {shape}: {code} {shape} needs {nbits // 8} bytes, its "
                                     f"offsets span {end - begin}")
    if 8 + n + start != size:
        raise SerializationError(
            f"{source}: truncated: the header's tensors end at byte {start} of the data, but the file has "
            f"{size - 8 - n} data bytes" if 8 + n + start > size else
            f"{source}: {size - 8 - n - start} unexpected bytes after the last tensor (the header's tensors "
            f"cover {start} of the {size - 8 - n} data bytes)")
    body = memoryview(blob)[8 + n:]
    out = OrderedDict()
    for name, code, shape, begin, end in entries:
        if code in _SUB_BYTE:
            raise SerializationError(f"{source}: tensor {name!r} has dtype {code}, packed "
                                     f"{_SUB_BYTE[code]}-bit values, which shendu cannot unpack")
        if len(shape) > 64 or any(d >= 1 << 63 for d in shape):
            raise SerializationError(f"{source}: tensor {name!r} has shape {shape!r:.200}, which NumPy "
                                     "cannot represent (at most 64 dimensions, each below 2**63)")
        if code in _ML_DTYPES:
            arr = np.frombuffer(body[begin:end], dtype=_ml_dtype(code, source, name)).reshape(shape).copy()
        else:
            dtype = np.dtype(_CODES[code]).newbyteorder("<")
            arr = np.frombuffer(body[begin:end], dtype=dtype).reshape(shape).astype(dtype.newbyteorder("="))
        out[name] = arr
    return out, meta


def save(obj, path, metadata=None):
    """Save a ``state_dict`` (name -> Tensor/array) to ``path`` as safetensors, atomically.

    ``metadata`` (optional) maps strings to strings; ``"__metadata__"`` cannot name a tensor.
    """
    if not hasattr(obj, "items"):
        raise TypeError("save() takes a mapping of names to tensors (a state_dict), "
                        f"got {type(obj).__name__}")
    atomic_write_bytes(path, encode(obj, metadata))


def load(path, return_metadata=False, max_bytes=None):
    """Load a safetensors file into an ordered dict of name -> Tensor.

    Raises :class:`SerializationError` naming the file when it is not a valid safetensors file, or is
    larger than ``max_bytes`` (default: the read limit, 8 GiB or ``$SHENDU_MAX_READ_BYTES``).
    """
    from .tensor import Tensor

    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"load: no file at {path!r}")
    check_read_size(os.path.getsize(path), path, "loading this safetensors file", max_bytes,
                    error=SerializationError)
    with open(path, "rb") as f:
        arrays, meta = decode(f.read(), source=path)
    tensors = OrderedDict((k, Tensor(v)) for k, v in arrays.items())
    return (tensors, meta) if return_metadata else tensors
