"""The model repository: which models the server holds, loaded from files, and how one is run.

A model comes from

- a ``.keras`` file written by ``model.save(path)`` (``shendu.keras.models.load_model``),
- a file written by ``shendu.save(module, path)`` (a safetensors module file, any other extension),
- an ``.onnx`` file (``shendu.onnx.load``: run with shendu's own ops),
- a folder laid out as TF Serving and Triton lay out theirs: ``models/<name>/<version>/<file>``
  (or one model's folder ``<name>/<version>/<file>``). Versions are whole numbers; the highest is the default.

Every model gets a signature: its inputs and outputs as ``{name, datatype, shape}`` with -1 for an axis of
any length (the batch axis always). It comes from the file where the file says (the metadata of a ``.keras``
file, the graph of an ``.onnx`` file), else from the first layer (``Linear(784, ...)`` takes ``[-1, 784]``),
and the outputs from one trial run on zeros at load time.
"""
import json
import os
import re

import numpy as np

from ._errors import ModelLoadError, NotFound

MODEL_SUFFIXES = (".keras", ".onnx", ".safetensors", ".st", ".pt", ".pth", ".bin")

# KServe V2 datatype names <-> NumPy dtypes
DATATYPES = {"BOOL": np.bool_, "UINT8": np.uint8, "UINT16": np.uint16, "UINT32": np.uint32,
             "UINT64": np.uint64, "INT8": np.int8, "INT16": np.int16, "INT32": np.int32, "INT64": np.int64,
             "FP16": np.float16, "FP32": np.float32, "FP64": np.float64}
DATATYPE_OF = {np.dtype(v): k for k, v in DATATYPES.items()}


def datatype_of(dtype):
    try:
        return DATATYPE_OF[np.dtype(dtype)]
    except KeyError:
        return "BYTES"


def _first_line(exc):
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0].rstrip(":")


class TensorSpec:
    """One input or output: a name, a KServe datatype and a shape (-1: any length; None: unknown rank)."""

    def __init__(self, name, datatype="FP32", shape=None):
        self.name, self.datatype = name, datatype
        self.shape = None if shape is None else [(-1 if d is None else int(d)) for d in shape]

    @property
    def dtype(self):
        return np.dtype(DATATYPES[self.datatype])

    def to_json(self):
        return {"name": self.name, "datatype": self.datatype,
                "shape": self.shape if self.shape is not None else [-1]}

    def __repr__(self):
        return f"TensorSpec({self.name!r}, {self.datatype}, {self.shape})"


class ServedModel:
    """One version of one model: the module, its signature and what the file says about it.

    ``run(arrays)`` is the whole computation: eval mode, no gradient graph, one positional Tensor per
    input, and a list of NumPy arrays out. The batcher calls it from its own thread only.
    """

    def __init__(self, name, version, module, platform, path="", inputs=None, outputs=None,
                 class_names=None, image=None, metadata=None):
        self.name, self.version, self.module, self.platform, self.path = name, str(version), module, \
            platform, path
        self.metadata = dict(metadata or {})
        self.class_names = list(class_names) if class_names else None
        self.inputs = inputs or [TensorSpec("input", "FP32", None)]
        self.outputs = outputs
        self.image = image
        if hasattr(module, "eval"):
            module.eval()
        if self.outputs is None:
            self.outputs = self._trial_outputs()

    # ---- running ---------------------------------------------------------------------------------
    def run(self, arrays):
        """The model's outputs (a list of arrays) for one batch: one array per input."""
        from ..autograd import no_grad
        from ..creation import tensor

        with no_grad():
            out = self.module(*[tensor(a) for a in arrays])
        return self._as_arrays(out)

    def _as_arrays(self, out):
        if isinstance(out, dict):
            out = list(out.values())
        elif not isinstance(out, (list, tuple)):
            out = [out]
        arrays = []
        for o in out:
            if hasattr(o, "numpy"):
                o = o.detach().numpy() if hasattr(o, "detach") else o.numpy()
            arrays.append(np.asarray(o))
        return arrays

    def _trial_outputs(self):
        """Output specs from one run on a batch of one zero sample (when every input's shape is known)."""
        if all(s.shape is not None and all(d > 0 for d in s.shape[1:]) for s in self.inputs):
            try:
                outs = self.run([np.zeros([1, *s.shape[1:]], s.dtype) for s in self.inputs])
            except Exception as exc:  # noqa: BLE001 - any failure here is the model file's fault
                raise ModelLoadError(f"{self.path or self.name}: the model does not run on an input of "
                                     f"shape {[1, *self.inputs[0].shape[1:]]} ({_first_line(exc)})") from None
            names = ["output"] if len(outs) == 1 else [f"output_{i}" for i in range(len(outs))]
            return [TensorSpec(n, datatype_of(o.dtype), [-1, *o.shape[1:]]) for n, o in zip(names, outs)]
        return [TensorSpec("output", "FP32", None)]

    # ---- description -----------------------------------------------------------------------------
    def metadata_json(self, versions):
        return {"name": self.name, "versions": list(versions), "platform": self.platform,
                "inputs": [s.to_json() for s in self.inputs], "outputs": [s.to_json() for s in self.outputs]}

    @property
    def is_classifier(self):
        o = self.outputs[0].shape if self.outputs else None
        return o is not None and len(o) == 2 and (o[1] >= 1 or o[1] == -1)


class Repository:
    """Models by name, then by version; the highest version is the default."""

    def __init__(self, models=()):
        self._models = {}
        for m in models:
            self.add(m)

    def add(self, model):
        versions = self._models.setdefault(model.name, {})
        if model.version in versions:
            raise ModelLoadError(f"model {model.name!r} version {model.version} is given twice")
        versions[model.version] = model

    @property
    def names(self):
        return sorted(self._models)

    def versions(self, name):
        return sorted(self._models[name], key=_version_key)

    def __iter__(self):
        for name in self.names:
            for v in self.versions(name):
                yield self._models[name][v]

    def __len__(self):
        return len(self._models)

    def get(self, name, version=None):
        """The model ``name`` at ``version`` (default: the highest); NotFound names what exists."""
        if name not in self._models:
            have = ", ".join(repr(n) for n in self.names) or "none"
            raise NotFound(f"unknown model {name!r}; this server has: {have}")
        versions = self._models[name]
        if version is None or version == "":
            return versions[self.versions(name)[-1]]
        if str(version) not in versions:
            raise NotFound(f"model {name!r} has no version {version!r}; its versions are "
                           f"{', '.join(self.versions(name))}")
        return versions[str(version)]


def _version_key(v):
    return (0, int(v), "") if v.isdigit() else (1, 0, v)


# ---- loading ---------------------------------------------------------------------------------------

def _first_leaf(module):
    for m in module.modules() if hasattr(module, "modules") else ():
        if not list(m.children()):
            return m
    return None


def _guess_inputs(module, channels_last):
    """The input spec a module's first layer implies ([-1, in_features] for a Linear, ...)."""
    leaf = _first_leaf(module)
    kind = type(leaf).__name__ if leaf is not None else ""
    if kind in ("Embedding", "EmbeddingBag"):
        return [TensorSpec("input", "INT64", [-1, -1])]
    for attr in ("in_features", "input_size"):
        n = getattr(leaf, attr, None)
        if isinstance(n, int):
            if attr == "input_size":  # a recurrent layer: (batch, time, features) when batch_first
                return [TensorSpec("input", "FP32", [-1, -1, n] if getattr(leaf, "batch_first", False)
                                   else None)]
            return [TensorSpec("input", "FP32", [-1, n])]
    c = getattr(leaf, "in_channels", None)
    if isinstance(c, int) and not channels_last:
        rank = {"Conv1d": 3, "Conv2d": 4, "Conv3d": 5, "ConvTranspose1d": 3, "ConvTranspose2d": 4}.get(kind)
        if rank:
            return [TensorSpec("input", "FP32", [-1, c] + [-1] * (rank - 2))]
    return [TensorSpec("input", "FP32", None)]


def _json_value(text):
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text


def _image_spec(inputs, metadata):
    """How an uploaded image becomes the model's input: size, channels, layout, scale, mean, std."""
    spec = _json_value(metadata.get("image")) if metadata.get("image") else {}
    spec = dict(spec) if isinstance(spec, dict) else {}
    shape = inputs[0].shape if len(inputs) == 1 else None
    if shape is None or len(shape) != 4:
        return spec or None
    if spec.get("layout") in ("NHWC", "NCHW"):
        layout = spec["layout"]
    else:
        layout = "NHWC" if shape[3] in (1, 3, 4) or shape[1] not in (1, 3, 4) else "NCHW"
    h, w, c = (shape[1], shape[2], shape[3]) if layout == "NHWC" else (shape[2], shape[3], shape[1])
    spec.setdefault("layout", layout)
    spec.setdefault("channels", c if c > 0 else 3)
    if h > 0 and w > 0:
        spec.setdefault("size", [h, w])
    spec.setdefault("scale", 1 / 255)
    return spec


def _class_names(metadata):
    names = _json_value(metadata.get("class_names"))
    if isinstance(names, str):
        names = [n.strip() for n in names.split(",")]
    return [str(n) for n in names] if isinstance(names, (list, tuple)) and names else None


def _load_keras(path):
    from ..keras.models import load_model

    model = load_model(path, compile=False)
    meta = getattr(model, "metadata", None)
    if not isinstance(meta, dict) or not meta:
        from ..keras.models import read_metadata

        meta = read_metadata(path) or {}
    shape = getattr(model, "input_shape", None)
    if isinstance(shape, tuple) and shape and not isinstance(shape[0], tuple):
        inputs = [TensorSpec("input", "FP32", shape)]
        if type(_first_leaf(model)).__name__ == "Embedding":
            inputs = [TensorSpec("input", "INT64", shape)]
    elif meta.get("input_shape"):
        inputs = [TensorSpec("input", "FP32", [-1, *meta["input_shape"]])]
    else:
        inputs = _guess_inputs(model, channels_last=True)
    return model, "shendu_keras", inputs, None, meta


def _load_module(path):
    from ..nn import Module
    from ..serialization import load

    obj = load(path)
    meta = load(path, return_metadata=True)[1] if isinstance(obj, Module) else {}
    if not isinstance(obj, Module):
        if isinstance(obj, dict):
            raise ModelLoadError(f"{path}: the file holds a state_dict (weights only), not a model; save the "
                                 "module itself with shendu.save(model, path)")
        raise ModelLoadError(f"{path}: the file holds {type(obj).__name__}, not a model (an nn.Module)")
    meta = dict(meta or {})
    if meta.get("input_shape"):
        shape = _json_value(meta["input_shape"])
        inputs = [TensorSpec("input", _json_value(meta.get("input_datatype")) or "FP32", [-1, *shape])]
    else:
        inputs = _guess_inputs(obj, channels_last=False)
    return obj, "shendu_module", inputs, None, meta


_ONNX_TYPES = {1: "FP32", 2: "UINT8", 3: "INT8", 4: "UINT16", 5: "INT16", 6: "INT32", 7: "INT64",
               9: "BOOL", 10: "FP16", 11: "FP64", 12: "UINT32", 13: "UINT64"}


def _onnx_specs(path):
    import onnx

    graph = onnx.load(path, load_external_data=False).graph
    init = {i.name for i in graph.initializer}

    def spec(v):
        t = v.type.tensor_type
        dims = [d.dim_value if d.HasField("dim_value") else -1 for d in t.shape.dim] if t.HasField("shape") \
            else None
        if dims:
            dims[0] = -1
        return TensorSpec(v.name, _ONNX_TYPES.get(t.elem_type, "FP32"), dims)

    return [spec(v) for v in graph.input if v.name not in init], [spec(v) for v in graph.output]


def _load_onnx(path):
    from .. import onnx as sd_onnx

    module = sd_onnx.load(path)
    try:
        inputs, outputs = _onnx_specs(path)
    except ImportError:
        inputs, outputs = _guess_inputs(module, channels_last=False), None
    return module, "onnx_shendu", inputs, outputs, {}


def load_file(path, name=None, version="1"):
    """A :class:`ServedModel` from one model file; ModelLoadError (one line naming the file) otherwise."""
    if not os.path.exists(path):
        raise ModelLoadError(f"{path}: no such model file or folder")
    if os.path.isdir(path):
        raise ModelLoadError(f"{path}: is a folder, expected a model file")
    name = name or _stem(path)
    suffix = os.path.splitext(path)[1].lower()
    loader = {".keras": _load_keras, ".onnx": _load_onnx}.get(suffix, _load_module)
    try:
        module, platform, inputs, outputs, meta = loader(path)
    except ModelLoadError:
        raise
    except NotImplementedError as exc:
        raise ModelLoadError(f"{path}: {_first_line(exc)}") from None
    except ImportError as exc:
        raise ModelLoadError(f"{path}: loading this model needs a package that is not installed "
                             f"({_first_line(exc)})") from None
    except Exception as exc:  # noqa: BLE001 - a damaged file may fail in many ways; start-up needs one line
        raise ModelLoadError(f"{path}: cannot load the model ({_first_line(exc)})") from None
    return ServedModel(name, version, module, platform, path=path, inputs=inputs, outputs=outputs,
                       class_names=_class_names(meta), image=_image_spec(inputs, meta), metadata=meta)


def _stem(path):
    base = os.path.basename(os.path.normpath(path))
    return re.sub(r"[^A-Za-z0-9_.-]", "_", os.path.splitext(base)[0]) or "model"


def _model_file(folder):
    files = sorted(f for f in os.listdir(folder) if f.lower().endswith(MODEL_SUFFIXES)
                   and os.path.isfile(os.path.join(folder, f)))
    if not files:
        raise ModelLoadError(f"{folder}: no model file in the folder (expected one of "
                             f"{', '.join('*' + s for s in MODEL_SUFFIXES)})")
    if len(files) > 1:
        raise ModelLoadError(f"{folder}: more than one model file ({', '.join(files)}); keep one per version")
    return os.path.join(folder, files[0])


def _versions(folder):
    return [d for d in os.listdir(folder) if d.isdigit() and os.path.isdir(os.path.join(folder, d))]


def load_repository(path, name=None):
    """A :class:`Repository` from a model file, a model folder ``<name>/<version>/`` or a repository
    folder ``models/<name>/<version>/`` (``name`` renames a single model)."""
    if not os.path.exists(path):
        raise ModelLoadError(f"{path}: no such model file or folder")
    if not os.path.isdir(path):
        return Repository([load_file(path, name)])
    repo = Repository()
    if _versions(path):  # one model's folder
        for v in _versions(path):
            repo.add(load_file(_model_file(os.path.join(path, v)), name or _stem(path), v))
        return repo
    for sub in sorted(os.listdir(path)):
        folder = os.path.join(path, sub)
        if not os.path.isdir(folder) or sub.startswith("."):
            continue
        versions = _versions(folder)
        if versions:
            for v in versions:
                repo.add(load_file(_model_file(os.path.join(folder, v)), sub, v))
        elif any(f.lower().endswith(MODEL_SUFFIXES) for f in os.listdir(folder)):
            repo.add(load_file(_model_file(folder), sub, "1"))
    if not len(repo):
        raise ModelLoadError(f"{path}: no models found (expected model files or folders "
                             "<name>/<version>/<model file>)")
    if name and len(repo) == 1:
        only = list(repo)
        repo = Repository()
        for m in only:
            m.name = name
            repo.add(m)
    return repo
