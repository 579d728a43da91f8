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
import importlib
import json
import os
import sys
import threading
import types
from collections import OrderedDict

import numpy as np

from ._fileio import atomic_write_bytes, check_read_size, max_read_bytes
from .errors import FileFormatError

__all__ = ["save", "load", "encode", "decode", "SerializationError", "atomic_write_bytes",
           "MAX_HEADER_SIZE", "add_safe_globals", "get_safe_globals", "clear_safe_globals", "safe_globals"]

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


# ---------------------------------------------------------------------------------------------------
# Objects: what PyTorch users pass to torch.save, stored as safetensors plus a JSON description.
#
# The arrays of the object are the file's tensors (named by where they sit: "fc1.weight",
# "state.0.exp_avg"); the metadata entry OBJECT_KEY holds the structure as JSON, in which a node is
# a JSON null, bool, int, str or list (a Python list), or an object with one "$" tag:
#   {"$float": "nan"|"inf"|"-inf"}  {"$complex": [re, im]}  {"$tuple": [...]}  {"$set": [...]}
#   {"$dict": [[key, value], ...]}  {"$odict": [[key, value], ...]}         (keys are nodes too)
#   {"$tensor": name, "id": n, "requires_grad": b}  {"$param": name, "id": n, "requires_grad": b}
#   {"$ndarray": name, "id": n}  {"$npscalar": name}  {"$dtype": "float32"}  {"$device": "cpu"}
#   {"$module": "package.module:QualName", "id": n, "attrs": [[name, value], ...]}
#   {"$ref": n}   (the tensor, array or module stored earlier under id n: shared objects stay shared)
# ---------------------------------------------------------------------------------------------------
OBJECT_KEY = "shendu.object"
OBJECT_FORMAT = 1
_TENSOR_TAGS = ("$tensor", "$param", "$ndarray")
_SCALARS = (bool, int, str, type(None))
_REGISTRIES = ("_parameters", "_buffers", "_modules")
_safe = []           # classes allowed by add_safe_globals, in order
_safe_lock = threading.RLock()


def add_safe_globals(classes):
    """Allow :func:`load` to rebuild Modules of these classes (``torch.serialization.add_safe_globals``).

    shendu's own ``nn`` classes are always allowed; a class of yours must be listed here (or in
    :func:`safe_globals`) before a file holding an instance of it is loaded.
    """
    classes = list(classes)
    for cls in classes:
        if not isinstance(cls, (type, types.FunctionType)):
            raise TypeError(f"add_safe_globals: expected classes or functions, got "
                            f"{type(cls).__name__} {cls!r}")
    with _safe_lock:
        _safe.extend(c for c in classes if c not in _safe)


def get_safe_globals():
    """The classes allowed by :func:`add_safe_globals` (shendu's own are allowed without being listed)."""
    with _safe_lock:
        return list(_safe)


def clear_safe_globals():
    """Forget every class allowed by :func:`add_safe_globals`."""
    with _safe_lock:
        del _safe[:]


class safe_globals:  # noqa: N801  (PyTorch's name)
    """``with safe_globals([MyNet]): model = load(f)``: the classes are allowed inside the block only."""

    def __init__(self, classes):
        self.classes = list(classes)

    def __enter__(self):
        with _safe_lock:
            self._before = list(_safe)
        add_safe_globals(self.classes)
        return self

    def __exit__(self, *exc):
        with _safe_lock:
            _safe[:] = self._before
        return False


def _class_path(cls):
    return f"{cls.__module__}:{cls.__qualname__}"


def _named_function(fn):
    """True when ``fn`` is reachable by its module and name (not a lambda or a nested function)."""
    mod = sys.modules.get(fn.__module__)
    target = mod
    for part in fn.__qualname__.split("."):
        target = getattr(target, part, None)
    return target is fn


def _module_class():
    """shendu.nn.Module, when shendu.nn is loaded (this layer sits below nn and never imports it)."""
    mod = sys.modules.get("shendu.nn.module")
    return getattr(mod, "Module", None)


def _parameter_class():
    mod = sys.modules.get("shendu.nn.parameter")
    return getattr(mod, "Parameter", None)


def _own_classes(base):
    """Every subclass of ``base`` defined in shendu itself, by class path."""
    found, todo = {}, [base]
    while todo:
        cls = todo.pop()
        if cls.__module__.split(".")[0] == "shendu":
            found[_class_path(cls)] = cls
        todo.extend(cls.__subclasses__())
    return found


class _Encoder:
    def __init__(self):
        self.arrays, self.ids, self.keep = {}, {}, []
        self.module_cls, self.param_cls = _module_class(), _parameter_class()

    def name(self, where):
        base = where or "tensor"
        name, k = base, 1
        while name in self.arrays:  # "__metadata__" reaches encode(), which refuses it
            name, k = f"{base}#{k}", k + 1
        return name

    def seen(self, obj):
        n = self.ids.get(id(obj))
        if n is not None:
            return {"$ref": n}
        self.ids[id(obj)] = n = len(self.ids)
        self.keep.append(obj)  # ids stay unique while encoding
        return n

    def node(self, obj, where):
        from .tensor import Tensor

        if isinstance(obj, _SCALARS):
            return obj
        if isinstance(obj, float):
            return obj if np.isfinite(obj) else {"$float": repr(obj)}
        if isinstance(obj, complex):
            return {"$complex": [self.node(obj.real, where), self.node(obj.imag, where)]}
        if isinstance(obj, Tensor):
            n = self.seen(obj)
            if isinstance(n, dict):
                return n
            name = self.name(where)
            arr = obj.numpy()
            self.arrays[name] = arr
            tag = "$param" if self.param_cls is not None and isinstance(obj, self.param_cls) else "$tensor"
            return {tag: name, "id": n, "requires_grad": bool(obj.requires_grad)}
        if isinstance(obj, np.ndarray):
            n = self.seen(obj)
            if isinstance(n, dict):
                return n
            name = self.name(where)
            self.arrays[name] = obj
            return {"$ndarray": name, "id": n}
        if isinstance(obj, np.generic):
            name = self.name(where)
            self.arrays[name] = np.asarray(obj)
            return {"$npscalar": name}
        if isinstance(obj, np.dtype) or (isinstance(obj, type) and issubclass(obj, np.generic)):
            return {"$dtype": np.dtype(obj).name}
        if type(obj).__name__ == "device" and type(obj).__module__ == "shendu._device":
            return {"$device": str(obj)}
        if type(obj) in (list, tuple, set, frozenset):
            items = sorted(obj, key=repr) if isinstance(obj, (set, frozenset)) else obj
            out = [self.node(v, f"{where}.{i}" if where else str(i)) for i, v in enumerate(items)]
            return out if type(obj) is list else {"$tuple" if type(obj) is tuple else "$set": out}
        if type(obj) in (dict, OrderedDict):
            pairs = [[self.key(k, where), self.node(v, f"{where}.{k}" if where else str(k))]
                     for k, v in obj.items()]
            return {"$dict" if type(obj) is dict else "$odict": pairs}
        if self.module_cls is not None and isinstance(obj, self.module_cls):
            return self.module(obj, where)
        if isinstance(obj, types.FunctionType) and _named_function(obj):
            return {"$function": _class_path(obj)}
        raise _Unsaveable(f"save: cannot save {_what(obj)} at {where or 'the top level'}: shendu saves "
                          "Tensors, ndarrays, numbers, strings, None, dtypes, devices, Modules and "
                          "lists, tuples, sets and dicts of those (never pickle)", obj, where)

    def key(self, k, where):
        if isinstance(k, (_SCALARS, float)) or type(k) is tuple:
            return self.node(k, where)
        raise TypeError(f"save: cannot save the dict key {k!r} ({type(k).__name__}) at "
                        f"{where or 'the top level'}: keys must be strings, numbers, None or tuples of those")

    def module(self, m, where):
        n = self.seen(m)
        if isinstance(n, dict):
            return n
        cls = type(m)
        for hooks in ("_forward_hooks", "_forward_pre_hooks"):
            if m.__dict__.get(hooks):
                raise TypeError(f"save: {cls.__name__} at {where or 'the top level'} has "
                                f"{hooks.strip('_').replace('_', ' ')}; hooks are functions, which shendu "
                                "does not save: remove them (handle.remove()) before saving the module, "
                                "or save its state_dict()")
        attrs = []
        for k, v in m.__dict__.items():
            if k in ("_forward_hooks", "_forward_pre_hooks"):
                continue
            inner = where if k in _REGISTRIES else (f"{where}.{k}" if where else k)
            try:
                attrs.append([k, self.node(v, inner)])
            except _Unsaveable as exc:
                if exc.attribute:
                    raise
                part = "it is" if exc.obj is v else f"it holds, at {exc.where},"
                raise _Unsaveable(f"save: cannot save the attribute {k!r} of {cls.__name__} "
                                  f"(at {where or 'the top level'}): {part} {_what(exc.obj)}. A whole Module "
                                  "is saved as its class, its tensors and its attributes that are numbers, "
                                  "strings, tuples, lists, dicts, dtypes or Modules; store other things "
                                  "elsewhere, or save model.state_dict()",
                                  exc.obj, exc.where, attribute=True) from None
        return {"$module": _class_path(cls), "id": n, "attrs": attrs}


class _Unsaveable(TypeError):
    """save() met a value it cannot store; ``obj`` and ``where`` say which and where."""

    def __init__(self, message, obj, where, attribute=False):
        super().__init__(message)
        self.obj, self.where, self.attribute = obj, where, attribute


def _what(obj):
    kind = type(obj)
    return f"a {kind.__module__}.{kind.__qualname__}" if kind.__module__ != "builtins" else \
        f"a {kind.__qualname__}"


def encode_object(obj, metadata=None):
    """The safetensors chunks for any object :func:`save` takes."""
    enc = _Encoder()
    root = enc.node(obj, "")
    meta = dict(metadata or {})
    if OBJECT_KEY in meta:
        raise ValueError(f"save: the metadata key {OBJECT_KEY!r} is shendu's own; use another name")
    meta[OBJECT_KEY] = json.dumps({"format": OBJECT_FORMAT, "root": root}, separators=(",", ":"),
                                  allow_nan=False)
    return encode(enc.arrays, meta)


def save(obj, f, metadata=None):
    """Save ``obj`` to ``f`` (a path, written atomically, or a binary file object), never with pickle.

    ``obj`` is a Tensor, an ndarray, a number, a string, None, a (nested) dict/list/tuple/set of
    those (a ``state_dict``, an optimizer's ``state_dict()``, a checkpoint dict), or a whole
    ``nn.Module``. The file is safetensors: the arrays as its tensors, the structure as JSON in its
    metadata; a ``state_dict``'s tensors keep their names, so other safetensors readers load it as
    one. ``metadata`` (optional) maps strings to strings.
    """
    chunks = encode_object(obj, metadata)
    if hasattr(f, "write"):
        for c in chunks:
            f.write(c)
        if hasattr(f, "flush"):
            f.flush()
        return
    atomic_write_bytes(f, chunks)


class _Decoder:
    def __init__(self, arrays, source, weights_only):
        self.arrays, self.source, self.weights_only = arrays, source, weights_only
        self.objects = {}
        self.used = set()

    def fail(self, message):
        raise SerializationError(f"{self.source}: {message}")

    def array(self, name):
        if not isinstance(name, str) or name not in self.arrays:
            self.fail(f"the structure names a tensor {name!r:.100} that the file does not hold")
        return self.arrays[name]

    def remember(self, node, obj):
        n = node.get("id")
        if not isinstance(n, int) or isinstance(n, bool) or n in self.objects:
            self.fail(f"bad or repeated object id {n!r:.50} in the structure")
        self.objects[n] = obj
        return obj

    def node(self, node):
        from .tensor import Tensor

        if isinstance(node, _SCALARS) or type(node) is float:
            return node
        if isinstance(node, list):
            return [self.node(v) for v in node]
        if not isinstance(node, dict) or len([k for k in node if k.startswith("$")]) != 1:
            self.fail(f"bad structure entry {node!r:.100}")
        tag = next(k for k in node if k.startswith("$"))
        value = node[tag]
        if tag == "$float":
            if value not in ("nan", "inf", "-inf"):
                self.fail(f"bad float {value!r:.50}")
            return float(value)
        if tag == "$complex":
            parts = self.node(value)
            if not (isinstance(parts, list) and len(parts) == 2
                    and all(type(p) in (int, float) for p in parts)):
                self.fail(f"bad complex number {value!r:.100}")
            return complex(*parts)
        if tag in ("$tuple", "$set"):
            if not isinstance(value, list):
                self.fail(f"bad {tag[1:]} {value!r:.100}")
            items = [self.node(v) for v in value]
            try:
                return tuple(items) if tag == "$tuple" else set(items)
            except TypeError:
                self.fail(f"a set holds an unhashable value: {value!r:.100}")
        if tag in ("$dict", "$odict"):
            if not isinstance(value, list) or not all(isinstance(p, list) and len(p) == 2 for p in value):
                self.fail(f"bad dict {value!r:.100}")
            out = {} if tag == "$dict" else OrderedDict()
            for k, v in value:
                k = self.node(k)
                try:
                    out[k] = self.node(v)
                except TypeError:
                    self.fail(f"a dict key is unhashable: {k!r:.100}")
            return out
        if tag in _TENSOR_TAGS:
            arr = self.array(value)
            if tag == "$ndarray":
                return self.remember(node, arr)
            grad = node.get("requires_grad", False)
            if not isinstance(grad, bool):
                self.fail(f"bad requires_grad {grad!r:.50} for tensor {value!r}")
            if grad and arr.dtype.kind not in "fc":
                self.fail(f"tensor {value!r} of dtype {arr.dtype} cannot require a gradient")
            if tag == "$param":
                cls = _parameter_class()
                if cls is None:
                    self.fail("the file holds nn.Parameter values but shendu.nn is not loaded")
                return self.remember(node, cls(arr, requires_grad=grad))
            t = Tensor(arr)
            if grad:
                t.requires_grad_(True)
            return self.remember(node, t)
        if tag == "$npscalar":
            arr = self.array(value)
            if arr.shape != ():
                self.fail(f"the NumPy scalar {value!r} has shape {arr.shape}, expected ()")
            return arr[()]
        if tag == "$dtype":
            try:
                dtype = np.dtype(value) if isinstance(value, str) else None
            except TypeError:
                dtype = None
            if dtype is None or dtype.kind not in "biufcM" or dtype.name != value:
                self.fail(f"bad dtype {value!r:.50}")
            return dtype.type
        if tag == "$function":
            return self.function(value)
        if tag == "$device":
            from ._device import device

            try:
                return device(value)
            except (RuntimeError, TypeError):
                self.fail(f"bad device {value!r:.50}")
        if tag == "$ref":
            if isinstance(value, bool) or value not in self.objects:
                self.fail(f"the structure refers to object {value!r:.50}, which comes nowhere before it")
            return self.objects[value]
        if tag == "$module":
            return self.module(node)
        self.fail(f"unknown structure tag {tag!r:.50}")

    def module_class(self, path):
        base = _module_class()
        if not isinstance(path, str) or ":" not in path:
            self.fail(f"bad module class {path!r:.100}")
        for cls in get_safe_globals():
            if _class_path(cls) == path:
                break
        else:
            cls = _own_classes(base).get(path) if base is not None else None
        if cls is None and not self.weights_only:
            module_name, _, qualname = path.partition(":")
            try:
                cls = importlib.import_module(module_name)
                for part in qualname.split("."):
                    cls = getattr(cls, part)
            except (ImportError, AttributeError) as exc:
                self.fail(f"the saved module's class {path} cannot be imported ({exc})")
        if cls is None:
            self.fail(f"the file holds a module of class {path.replace(':', '.')}, which is not allowed: "
                      "load only loads shendu's own classes and the ones you allow; if you trust this "
                      "class, call shendu.serialization.add_safe_globals([TheClass]) (or load inside "
                      "`with shendu.serialization.safe_globals([TheClass]):`) first")
        if base is None or not (isinstance(cls, type) and issubclass(cls, base)):
            self.fail(f"{path.replace(':', '.')} is not an nn.Module subclass")
        return cls

    def function(self, path):
        """A function saved by name: shendu's own, one allowed with add_safe_globals, or any with
        weights_only=False. Only modules already imported are looked in unless weights_only=False."""
        if not isinstance(path, str) or ":" not in path:
            self.fail(f"bad function name {path!r:.100}")
        for fn in get_safe_globals():
            if isinstance(fn, types.FunctionType) and _class_path(fn) == path:
                return fn
        module_name, _, qualname = path.partition(":")
        if module_name.split(".")[0] == "shendu" or not self.weights_only:
            try:
                target = sys.modules.get(module_name) or importlib.import_module(module_name)
                for part in qualname.split("."):
                    target = getattr(target, part)
            except (ImportError, AttributeError) as exc:
                self.fail(f"the saved function {path.replace(':', '.')} cannot be found ({exc})")
            if isinstance(target, types.FunctionType):
                return target
        self.fail(f"the file holds the function {path.replace(':', '.')}, which is not allowed: call "
                  "shendu.serialization.add_safe_globals([the_function]) first if you trust it")

    def module(self, node):
        from .tensor import Tensor

        cls = self.module_class(node["$module"])
        base = _module_class()
        m = cls.__new__(cls)
        base.__init__(m)
        self.remember(node, m)
        attrs = node.get("attrs")
        if not isinstance(attrs, list) or not all(
                isinstance(a, list) and len(a) == 2 and isinstance(a[0], str) for a in attrs):
            self.fail(f"bad attributes for module {node['$module']}")
        d = m.__dict__
        checks = {"_parameters": _parameter_class(), "_buffers": Tensor, "_modules": base}
        for k, v in attrs:
            value = self.node(v)
            if k in checks:
                if not isinstance(value, OrderedDict) or not all(
                        isinstance(n, str) and (x is None or isinstance(x, checks[k]))
                        for n, x in value.items()):
                    self.fail(f"bad {k} for module {node['$module']}")
            elif k == "_non_persistent_buffers" and not isinstance(value, set):
                self.fail(f"bad {k} for module {node['$module']}")
            elif k == "training" and not isinstance(value, bool):
                self.fail(f"bad training flag for module {node['$module']}")
            elif k.startswith("__") or k in ("_forward_hooks", "_forward_pre_hooks"):
                self.fail(f"the attribute {k!r} cannot be restored on module {node['$module']}")
            d[k] = value
        return m


def decode_object(arrays, meta, source="<bytes>", weights_only=True):
    """Rebuild what :func:`save` saved from the decoded arrays and metadata of its file."""
    try:
        desc = json.loads(meta[OBJECT_KEY])
    except (json.JSONDecodeError, RecursionError) as exc:
        raise SerializationError(f"{source}: bad object description ({exc})") from None
    if not isinstance(desc, dict) or desc.get("format") != OBJECT_FORMAT or "root" not in desc:
        raise SerializationError(f"{source}: the object description has format "
                                 f"{desc.get('format') if isinstance(desc, dict) else desc!r:.50}, "
                                 f"expected {OBJECT_FORMAT} (a newer shendu may have written it)")
    try:
        return _Decoder(arrays, source, weights_only).node(desc["root"])
    except RecursionError:
        raise SerializationError(f"{source}: the object description is nested too deeply") from None


def load(f, map_location=None, weights_only=True, return_metadata=False, max_bytes=None):
    """Load what :func:`save` wrote from ``f`` (a path or a binary file object).

    A file of tensors only (a ``state_dict`` from any safetensors writer) comes back as an ordered
    dict of name -> Tensor. A whole Module is rebuilt only when its class is shendu's own or allowed
    by :func:`add_safe_globals` / :func:`safe_globals`; any other class is refused, naming it, before
    anything of it runs. ``weights_only=False`` trusts the file: the module's class is imported.
    ``map_location`` is accepted as in PyTorch; every tensor lives on the CPU. With
    ``return_metadata=True`` the result is ``(name -> Tensor, metadata)``, the file's plain view.
    """
    from .tensor import Tensor

    if isinstance(map_location, str) or type(map_location).__name__ == "device":
        from ._device import check_device

        check_device(map_location, "load(map_location=...)")
    if hasattr(f, "read"):
        source = getattr(f, "name", "<file object>")
        limit = max_read_bytes(max_bytes)
        blob = f.read(limit + 1)  # a stream has no size to check first: read one byte past the limit
        if not isinstance(blob, (bytes, bytearray)):
            raise TypeError(f"load: the file object {source!r} must be opened in binary mode ('rb')")
        check_read_size(len(blob), source, "loading this safetensors file", limit, error=SerializationError)
    else:
        source = os.fspath(f)
        if not os.path.exists(source):
            raise FileNotFoundError(f"load: no file at {source!r}")
        check_read_size(os.path.getsize(source), source, "loading this safetensors file", max_bytes,
                        error=SerializationError)
        with open(source, "rb") as fh:
            blob = fh.read()
    arrays, meta = decode(blob, source=source)
    if return_metadata or OBJECT_KEY not in meta:
        meta.pop(OBJECT_KEY, None)
        tensors = OrderedDict((k, Tensor(v)) for k, v in arrays.items())
        return (tensors, meta) if return_metadata else tensors
    return decode_object(arrays, meta, source, bool(weights_only))
