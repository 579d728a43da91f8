"""Request and response bodies: the Open Inference Protocol (KServe V2) in JSON and with the binary tensor
extension, TF Serving's REST ``:predict`` / ``:classify``, the tutorial's ``/predict`` and image uploads.

Every function here turns a client's mistake into a :class:`BadRequest` whose message names the input and
the problem (ragged lists, strings where numbers belong, a shape the model does not take, NaN, ...).
"""
import io
import json
import math

import numpy as np

from ._errors import BadRequest, UnsupportedMediaType
from ._repository import DATATYPES, datatype_of

HEADER_LENGTH = "Inference-Header-Content-Length"


def parse_json(body, what="the request body"):
    if not body:
        raise BadRequest(f"{what} is empty; expected a JSON object")
    try:
        obj = json.loads(body)
    except UnicodeDecodeError:
        raise BadRequest(f"{what} is not UTF-8 text; expected a JSON object") from None
    except ValueError as exc:
        raise BadRequest(f"{what} is not valid JSON ({exc})") from None
    except RecursionError:
        raise BadRequest(f"{what} nests lists or objects too deeply") from None
    if not isinstance(obj, dict):
        raise BadRequest(f"{what} must be a JSON object, got a JSON {_json_kind(obj)}")
    return obj


def _json_kind(v):
    return {list: "array", str: "string", bool: "boolean", int: "number", float: "number",
            type(None): "null", dict: "object"}.get(type(v), type(v).__name__)


def dumps(obj):
    return json.dumps(obj, separators=(",", ":"), allow_nan=False).encode()


# ---- numbers from JSON -----------------------------------------------------------------------------

def array_from_json(data, what, datatype=None):
    """A NumPy array from nested JSON lists of numbers (``datatype``: the KServe type it must fit)."""
    if isinstance(data, (str, dict)) or data is None:
        raise BadRequest(f"{what}: expected numbers (a list of lists), got a JSON {_json_kind(data)}")
    try:
        arr = np.asarray(data)
    except (ValueError, TypeError) as exc:
        if "dimension" in str(exc) and "inhomogeneous" not in str(exc):  # NumPy's limit of 64 axes
            raise BadRequest(f"{what}: the lists nest deeper than NumPy's 64 axes") from None
        raise BadRequest(f"{what}: the lists are ragged (rows of different lengths); every row of a batch "
                         "must have the same shape") from None
    except RecursionError:
        raise BadRequest(f"{what}: the lists nest too deeply") from None
    if arr.dtype == object:
        kinds = sorted({_json_kind(v) for v in _leaves(data)} - {"number"})
        if kinds:
            raise BadRequest(f"{what}: expected numbers, found {' and '.join(kinds)} values")
        raise BadRequest(f"{what}: the lists are ragged or the numbers too large for 64 bits")
    if datatype == "BOOL":
        if arr.dtype.kind != "b" and arr.size:
            raise BadRequest(f"{what}: datatype BOOL needs true/false values, got {_kind_name(arr)}")
        return arr.astype(np.bool_)
    if arr.dtype.kind == "b" and arr.size:
        raise BadRequest(f"{what}: expected numbers, got true/false values")
    if arr.dtype.kind not in "iuf" and arr.size:
        raise BadRequest(f"{what}: expected numbers, got {_kind_name(arr)}")
    if datatype is not None and datatype != "BYTES":
        want = np.dtype(DATATYPES[datatype])
        if want.kind in "iu" and arr.dtype.kind == "f":
            if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
                raise BadRequest(f"{what}: datatype {datatype} needs whole numbers, got fractions")
        return arr.astype(want)
    return arr


def _kind_name(arr):
    return {"U": "strings", "S": "strings", "b": "true/false values", "O": "mixed values"}.get(
        arr.dtype.kind, f"{arr.dtype} values")


def _leaves(v):
    if isinstance(v, list):
        for x in v:
            yield from _leaves(x)
    else:
        yield v


def check_finite(arr, what):
    if arr.dtype.kind == "f" and arr.size and not np.all(np.isfinite(arr)):
        bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
        raise BadRequest(f"{what}: holds {bad} NaN or infinite value(s); the model needs finite numbers")


def fit_input(arr, spec, what):
    """Check (and cast) one batch against the model's input spec: rank, fixed axes, empty batch, NaN."""
    if arr.ndim == 0:
        raise BadRequest(f"{what}: expected a batch (a list of samples), got a single number")
    if arr.shape[0] == 0:
        raise BadRequest(f"{what}: the batch is empty (shape {list(arr.shape)}); send at least one sample")
    if spec.shape is not None:
        want = spec.shape
        if arr.ndim != len(want) or any(w != -1 and w != g for w, g in zip(want[1:], arr.shape[1:])):
            raise BadRequest(f"{what}: wrong shape {list(arr.shape)}; the model takes {want} "
                             "(-1: any length)")
    if arr.size == 0:
        raise BadRequest(f"{what}: the input is empty (shape {list(arr.shape)})")
    check_finite(arr, what)
    if arr.dtype != spec.dtype:
        if spec.dtype.kind in "iu" and arr.dtype.kind == "f":
            if not np.all(arr == np.round(arr)):
                raise BadRequest(f"{what}: the model takes {spec.datatype} (whole numbers), got fractions")
        arr = arr.astype(spec.dtype)
    return np.ascontiguousarray(arr)


# ---- KServe V2 -------------------------------------------------------------------------------------

class V2Request:
    """A decoded inference request: ``arrays`` in the model's input order, what outputs to send and how."""

    def __init__(self, id_, arrays, outputs, binary_default):
        self.id, self.arrays, self.outputs, self.binary_default = id_, arrays, outputs, binary_default


def _header_length(value, size):
    try:
        n = int(value)
    except (TypeError, ValueError):
        raise BadRequest(f"{HEADER_LENGTH} must be a whole number, got {value!r}") from None
    if not 0 < n <= size:
        raise BadRequest(f"{HEADER_LENGTH} is {n}, but the body has {size} bytes")
    return n


def _shape(value, what):
    if not isinstance(value, list) or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0
                                              for d in value):
        raise BadRequest(f"{what}: 'shape' must be a list of non-negative whole numbers, got {value!r:.80}")
    return value


def decode_v2(body, header_length, model):
    """Decode a KServe V2 infer request (JSON, or JSON + binary tensors) for ``model``."""
    binary = b""
    if header_length is not None:
        n = _header_length(header_length, len(body))
        body, binary = body[:n], body[n:]
    req = parse_json(body)
    inputs = req.get("inputs")
    if not isinstance(inputs, list) or not inputs:
        raise BadRequest("the request needs 'inputs': a non-empty list of {name, shape, datatype, data}")
    params = req.get("parameters") or {}
    if not isinstance(params, dict):
        raise BadRequest("'parameters' must be a JSON object")
    by_name, offset = {}, 0
    specs = {s.name: s for s in model.inputs}
    for i, t in enumerate(inputs):
        if not isinstance(t, dict):
            raise BadRequest(f"inputs[{i}] must be a JSON object {{name, shape, datatype, data}}")
        name = t.get("name")
        if not isinstance(name, str):
            raise BadRequest(f"inputs[{i}] needs a 'name' (a string)")
        what = f"input {name!r}"
        if name not in specs:
            if len(specs) == 1 and len(inputs) == 1 and name == "":
                name = model.inputs[0].name
            else:
                raise BadRequest(f"unknown input {name!r}; the model's inputs are "
                                 f"{', '.join(repr(s) for s in specs)}")
        if name in by_name:
            raise BadRequest(f"{what} is given twice")
        shape = _shape(t.get("shape"), what)
        datatype = t.get("datatype")
        if datatype not in DATATYPES and datatype != "BYTES":
            raise BadRequest(f"{what}: unknown datatype {datatype!r}; expected one of "
                             f"{', '.join(DATATYPES)}")
        spec = specs[name]
        if datatype != spec.datatype:
            raise BadRequest(f"{what}: wrong datatype {datatype}; the model takes {spec.datatype}")
        tparams = t.get("parameters") or {}
        if not isinstance(tparams, dict):
            raise BadRequest(f"{what}: 'parameters' must be a JSON object")
        count = math.prod(shape)
        if "binary_data_size" in tparams:
            size = tparams["binary_data_size"]
            if not isinstance(size, int) or isinstance(size, bool) or size < 0:
                raise BadRequest(f"{what}: binary_data_size must be a non-negative whole number")
            itemsize = np.dtype(DATATYPES[datatype]).itemsize
            if size != count * itemsize:
                raise BadRequest(f"{what}: binary_data_size is {size} bytes, but shape {shape} of {datatype} "
                                 f"needs {count * itemsize}")
            if offset + size > len(binary):
                raise BadRequest(f"{what}: the body ends before its {size} bytes of binary data "
                                 f"(send {HEADER_LENGTH} and the raw tensors after the JSON)")
            arr = np.frombuffer(binary, DATATYPES[datatype], count, offset).reshape(shape)
            offset += size
        else:
            if "data" not in t:
                raise BadRequest(f"{what} needs 'data' (or parameters.binary_data_size with binary data)")
            arr = array_from_json(t["data"], what, datatype)
            if arr.size != count:
                raise BadRequest(f"{what}: 'data' holds {arr.size} values, but shape {shape} needs {count}")
            arr = arr.reshape(shape)
        by_name[name] = fit_input(arr, spec, what)
    if offset != len(binary):
        raise BadRequest(f"the body has {len(binary) - offset} bytes of binary data that no input claims")
    missing = [s.name for s in model.inputs if s.name not in by_name]
    if missing:
        raise BadRequest(f"missing input(s) {', '.join(repr(m) for m in missing)}")
    arrays = [by_name[s.name] for s in model.inputs]
    batch_sizes = {a.shape[0] for a in arrays}
    if len(batch_sizes) > 1:
        raise BadRequest(f"the inputs have different batch sizes {sorted(batch_sizes)}")
    binary_default = bool(params.get("binary_data_output", False))
    outputs = None
    if req.get("outputs") is not None:
        outs = req["outputs"]
        if not isinstance(outs, list):
            raise BadRequest("'outputs' must be a list of {name, parameters?}")
        names = {s.name for s in model.outputs}
        outputs = []
        for o in outs:
            if not isinstance(o, dict) or not isinstance(o.get("name"), str):
                raise BadRequest("every entry of 'outputs' needs a 'name' (a string)")
            if o["name"] not in names:
                raise BadRequest(f"unknown output {o['name']!r}; the model's outputs are "
                                 f"{', '.join(repr(n) for n in names)}")
            op = o.get("parameters") or {}
            binary_flag = op.get("binary_data", binary_default) if isinstance(op, dict) else binary_default
            outputs.append((o["name"], bool(binary_flag)))
    rid = req.get("id")
    return V2Request(rid if isinstance(rid, str) else None, arrays, outputs, binary_default)


def encode_v2(model, request, results):
    """(body bytes, headers) of a KServe V2 infer response; binary outputs follow the JSON."""
    names = [s.name for s in model.outputs]
    if len(names) != len(results):
        names = ["output"] if len(results) == 1 else [f"output_{i}" for i in range(len(results))]
    wanted = request.outputs if request.outputs is not None else [(n, request.binary_default) for n in names]
    index = {n: i for i, n in enumerate(names)}
    outputs, blobs = [], []
    for name, binary in wanted:
        arr = np.asarray(results[index[name]])
        dt = datatype_of(arr.dtype)
        entry = {"name": name, "datatype": dt, "shape": list(arr.shape)}
        if binary:
            raw = np.ascontiguousarray(arr).astype(arr.dtype.newbyteorder("<"), copy=False).tobytes()
            entry["parameters"] = {"binary_data_size": len(raw)}
            blobs.append(raw)
        else:
            entry["data"] = _finite_list(arr.reshape(-1))
        outputs.append(entry)
    doc = {"model_name": model.name, "model_version": model.version, "outputs": outputs}
    if request.id is not None:
        doc["id"] = request.id
    head = dumps(doc)
    if not blobs:
        return head, {}
    return head + b"".join(blobs), {HEADER_LENGTH: str(len(head))}


def _finite_list(arr):
    """``arr.tolist()``, with NaN/inf (JSON has none) written as null."""
    if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
        return np.where(np.isfinite(arr), arr, None).tolist()
    return arr.tolist()


# ---- TF Serving and the tutorial's /predict --------------------------------------------------------

def decode_tf(obj, model):
    """(arrays, row_format) from a TF Serving request: ``instances`` (rows) or ``inputs`` (columns)."""
    has_i, has_c = "instances" in obj, "inputs" in obj
    if has_i == has_c:
        raise BadRequest("the request needs exactly one of 'instances' (a list of rows) or 'inputs' "
                         "(columns)")
    specs = model.inputs
    if has_i:
        rows = obj["instances"]
        if not isinstance(rows, list):
            raise BadRequest(f"'instances' must be a list of rows, got a JSON {_json_kind(rows)}")
        if not rows:
            raise BadRequest("'instances' is empty; send at least one row")
        if len(specs) > 1 or (rows and isinstance(rows[0], dict)):
            if not all(isinstance(r, dict) for r in rows):
                raise BadRequest("with named inputs every instance must be an object {input name: value}")
            cols = {s.name: [r.get(s.name) for r in rows] for s in specs}
            for s in specs:
                if any(v is None for v in cols[s.name]):
                    raise BadRequest(f"some instances lack the input {s.name!r}")
            arrays = [array_from_json(cols[s.name], f"input {s.name!r}") for s in specs]
        else:
            arrays = [array_from_json(rows, "'instances'")]
        return [fit_input(a, s, f"input {s.name!r}") for a, s in zip(arrays, specs)], True
    cols = obj["inputs"]
    if isinstance(cols, dict):
        missing = [s.name for s in specs if s.name not in cols]
        if missing:
            raise BadRequest(f"'inputs' lacks {', '.join(repr(m) for m in missing)}")
        arrays = [array_from_json(cols[s.name], f"input {s.name!r}") for s in specs]
    else:
        if len(specs) > 1:
            raise BadRequest(f"the model has {len(specs)} inputs; send 'inputs' as an object by name")
        arrays = [array_from_json(cols, "'inputs'")]
    return [fit_input(a, s, f"input {s.name!r}") for a, s in zip(arrays, specs)], False


def encode_tf(model, results, rows):
    names = [s.name for s in model.outputs]
    if len(results) == 1:
        key = "predictions" if rows else "outputs"
        return {key: _finite_list(results[0].reshape(-1)) if results[0].ndim == 1 else
                _finite_list(results[0])}
    if rows:
        n = results[0].shape[0]
        return {"predictions": [{nm: _finite_list(r[i]) if np.ndim(r[i]) else r[i].item()
                                 for nm, r in zip(names, results)} for i in range(n)]}
    return {"outputs": {nm: _finite_list(r) for nm, r in zip(names, results)}}


def decode_predict(obj, model):
    """The tutorial's ``{"data": ...}``; a single sample (one axis short) is served as a batch of one."""
    if "data" not in obj:
        raise BadRequest("the request needs 'data': a list of samples, e.g. {\"data\": [[0.1, 0.2, ...]]}")
    if len(model.inputs) != 1:
        raise BadRequest(f"the model has {len(model.inputs)} inputs; use /v2/models/{model.name}/infer")
    spec = model.inputs[0]
    arr = array_from_json(obj["data"], "'data'")
    if arr.ndim > 0 and arr.shape[0] == 0:
        raise BadRequest("'data': the batch is empty; send at least one sample")
    if spec.shape is not None and arr.ndim == len(spec.shape) - 1 and arr.ndim > 0:
        arr = arr[None]
    return [fit_input(arr, spec, "'data'")]


# ---- classification --------------------------------------------------------------------------------

def probabilities(out):
    """Class probabilities from a classifier's output: kept if already a distribution, else softmax
    (sigmoid for one output unit)."""
    out = np.asarray(out, np.float64)
    if out.ndim != 2:
        raise BadRequest(f"the model is not a classifier: its output has shape {list(out.shape)}, "
                         "expected (batch, classes)")
    if out.shape[1] == 1:
        p = out[:, 0]
        if np.any(p < 0) or np.any(p > 1):
            p = 1 / (1 + np.exp(-p))
        return np.stack([1 - p, p], axis=1)
    if np.all(out >= 0) and np.allclose(out.sum(axis=1), 1, atol=1e-3):
        return out
    z = np.exp(out - out.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


def classify(model, output, top_k=None):
    probs = probabilities(output)
    k = probs.shape[1]
    names = model.class_names if model.class_names and len(model.class_names) == k else \
        [str(i) for i in range(k)]
    top = k if top_k is None else max(1, min(int(top_k), k))
    order = np.argsort(-probs, axis=1, kind="stable")[:, :top]
    return [[[names[j], float(probs[i, j])] for j in row] for i, row in enumerate(order)]


def parse_top_k(value):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise BadRequest(f"'top_k' must be a whole number of at least 1, got {value!r:.40}")
    return value


# ---- images ----------------------------------------------------------------------------------------

MAX_IMAGE_PIXELS = 40_000_000


def decode_image(data, model):
    """An uploaded PNG or JPEG as a batch of one, resized and scaled as the model was trained."""
    spec = model.image
    if not spec:
        raise BadRequest(f"model {model.name!r} does not take images (its input is "
                         f"{model.inputs[0].shape}); use /v2/models/{model.name}/infer")
    if not data:
        raise BadRequest("the upload is empty; send a PNG or JPEG image")
    try:
        from PIL import Image
    except ImportError:
        raise BadRequest("image uploads need Pillow on the server (pip install 'shendu[serve]')",
                         status=501) from None
    try:
        img = Image.open(io.BytesIO(data))
        fmt = img.format
        if fmt not in ("PNG", "JPEG"):
            raise UnsupportedMediaType(f"the upload is a {fmt} image; send PNG or JPEG")
        w, h = img.size
        if w * h > MAX_IMAGE_PIXELS:
            raise BadRequest(f"the image is {w}x{h} pixels, more than {MAX_IMAGE_PIXELS:,}")
        img.load()
    except (UnsupportedMediaType, BadRequest):
        raise
    except Exception as exc:  # noqa: BLE001 - PIL raises many kinds of errors on damaged data
        raise BadRequest(f"the upload is not an image that can be decoded as PNG or JPEG ({exc})") from None
    channels = int(spec.get("channels", 3))
    img = img.convert("L" if channels == 1 else "RGB")
    if spec.get("size"):
        h, w = spec["size"]
        img = img.resize((int(w), int(h)), Image.BILINEAR)
    x = np.asarray(img, np.float32)
    if x.ndim == 2:
        x = x[..., None]
    x = x * np.float32(spec.get("scale", 1 / 255))
    if spec.get("mean") is not None:
        x = x - np.asarray(spec["mean"], np.float32)
    if spec.get("std") is not None:
        x = x / np.asarray(spec["std"], np.float32)
    if spec.get("layout") == "NCHW":
        x = x.transpose(2, 0, 1)
    return [fit_input(x[None].astype(np.float32), model.inputs[0], "the image")]
