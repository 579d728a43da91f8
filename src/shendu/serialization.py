"""Saving and loading tensors in the safetensors format (never pickle).

A safetensors file is an 8-byte little-endian header length N, N bytes of JSON
``{name: {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, "__metadata__": {...}}``,
then the raw little-endian bytes of every tensor. Files are written atomically.
"""
import json
import os
import tempfile
from collections import OrderedDict

import numpy as np

_CODES = {"F64": np.float64, "F32": np.float32, "F16": np.float16, "I64": np.int64, "I32": np.int32,
          "I16": np.int16, "I8": np.int8, "U8": np.uint8, "BOOL": np.bool_}
_NAMES = {np.dtype(v): k for k, v in _CODES.items()}


class SerializationError(ValueError):
    """A model file is missing, truncated or not a safetensors file."""


def atomic_write_bytes(path, chunks):
    """Write the byte strings ``chunks`` to ``path`` through a temporary file and a rename.

    A reader never sees a half-written file, and a failure leaves any previous file untouched.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=os.path.basename(path))
    mask = os.umask(0)
    os.umask(mask)
    try:
        os.chmod(tmp, 0o666 & ~mask)  # the usual permissions, not the temporary file's private 0600
        with os.fdopen(fd, "wb") as f:
            for c in chunks:
                f.write(c)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def encode(tensors, metadata=None):
    """The safetensors bytes (as a list of chunks) for a mapping name -> array or Tensor."""
    header, chunks, offset = {}, [], 0
    for name, value in tensors.items():
        arr = np.asarray(value)
        arr = np.ascontiguousarray(arr).reshape(arr.shape)  # ascontiguousarray makes 0-d arrays 1-d
        if arr.dtype not in _NAMES:
            raise TypeError(f"save: tensor {name!r} has dtype {arr.dtype}, which safetensors cannot store")
        raw = arr.astype(arr.dtype.newbyteorder("<"), copy=False).tobytes()
        header[name] = {"dtype": _NAMES[arr.dtype], "shape": list(arr.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return [len(text).to_bytes(8, "little"), text] + chunks


def decode(blob, source="<bytes>"):
    """Parse safetensors bytes into (OrderedDict name -> ndarray, metadata dict)."""
    if len(blob) < 8:
        raise SerializationError(f"{source}: not a safetensors file (only {len(blob)} bytes)")
    n = int.from_bytes(blob[:8], "little")
    if n > len(blob) - 8:
        raise SerializationError(f"{source}: truncated or not a safetensors file (header says {n} bytes, "
                                 f"file has {len(blob) - 8})")
    try:
        header = json.loads(blob[8:8 + n])
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SerializationError(f"{source}: not a safetensors file (bad header: {exc})") from None
    meta = header.pop("__metadata__", {}) or {}
    body = memoryview(blob)[8 + n:]
    out = OrderedDict()
    for name, info in header.items():
        try:
            dtype = np.dtype(_CODES[info["dtype"]]).newbyteorder("<")
            begin, end = info["data_offsets"]
            shape = tuple(info["shape"])
        except (KeyError, TypeError, ValueError):
            raise SerializationError(f"{source}: bad entry for tensor {name!r}: {info}") from None
        if end > len(body) or end - begin != int(np.prod(shape)) * dtype.itemsize:
            raise SerializationError(f"{source}: tensor {name!r} is truncated or its size does not match "
                                     f"its shape {shape}")
        out[name] = np.frombuffer(body[begin:end], dtype=dtype).reshape(shape).astype(dtype.newbyteorder("="))
    return out, meta


def save(obj, path, metadata=None):
    """Save a ``state_dict`` (name -> Tensor/array) to ``path`` as safetensors, atomically."""
    if not hasattr(obj, "items"):
        raise TypeError("save() takes a mapping of names to tensors (a state_dict), "
                        f"got {type(obj).__name__}")
    atomic_write_bytes(path, encode(obj, metadata))


def load(path, return_metadata=False):
    """Load a safetensors file into an ordered dict of name -> Tensor."""
    from .tensor import Tensor

    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"load: no file at {path!r}")
    with open(path, "rb") as f:
        arrays, meta = decode(f.read(), source=path)
    tensors = OrderedDict((k, Tensor(v)) for k, v in arrays.items())
    return (tensors, meta) if return_metadata else tensors
