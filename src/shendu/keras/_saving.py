"""Saving and loading Keras models: ONE zip file, never pickle.

The archive holds

* ``config.json``: ``{"format": "shendu.keras", "format_version": 1, "shendu_version", "model":
  {"class_name", "config"}, "compile_config", "weights": [names in order], "optimizer": {...}}``;
* ``model.safetensors``: every weight in Keras's layout, named ``<layer>/<weight>``;
* ``optimizer.safetensors``: the optimizer's state arrays (when the model was compiled and trained);
* ``metadata.json``: free-form JSON given as ``model.save(path, metadata={...})`` (when given), read back
  as ``load_model(path).metadata`` or, without building the model, ``read_metadata(path)``.

Files are written through a temporary file and a rename, so a failed save leaves nothing behind.
The format version is checked on load: a newer version is refused with a clear message, older
versions pass through :data:`MIGRATIONS`.

Loading trusts nothing in the file: members are read by :func:`shendu._fileio.read_zip_member`
(decompressed in chunks, never past what the compressed size can hold, whatever size is declared);
every weight a layer is about to create must be stored in the file with that shape before it is
allocated; layer arguments are checked by the layers' constructors; and only the metrics in
:data:`shendu.keras.metrics.COMPILE_METRICS` (or ``custom_objects``) are looked up."""

import io
import json
import os
import zipfile

import numpy as np

from .._fileio import ZIP_MAX_RATIO, open_zip, read_zip_member
from ..serialization import SerializationError, atomic_write_bytes, decode, encode
from .layers.base import InputLayer, KerasTensor, flatten_structure, map_structure

__all__ = ["MAX_COMPRESSION_RATIO", "FORMAT", "FORMAT_VERSION", "MIGRATIONS", "save_model", "load_model",
           "save_weights", "load_weights", "functional_config", "functional_from_config", "ModelFileError",
           "model_to_bytes", "model_from_bytes", "read_metadata"]

FORMAT = "shendu.keras"
FORMAT_VERSION = 1
# version -> function(config dict) -> config dict of version + 1. Version 0 never existed; the entry shows
# where a future migration goes.
MIGRATIONS = {0: lambda config: {**config, "format_version": 1}}
MAX_COMPRESSION_RATIO = ZIP_MAX_RATIO  # a deflated member inflates to at most this times its size


class ModelFileError(SerializationError):
    """A model file that is missing parts, truncated, of another format or of an unknown version."""


# ----- functional configs ---------------------------------------------------------------------------
def _node_key(model):
    """(layer name, node position within this model) for every node of a functional model."""
    counts, keys = {}, {id(t.node): (t.node.layer.name, 0) for t in model._input_tensors}
    for node in model._nodes:
        counts[node.layer.name] = n = counts.get(node.layer.name, -1) + 1
        keys[id(node)] = (node.layer.name, n)
    return keys


def functional_config(model):
    """Keras-like config of a functional model: its layers, each node's arguments, inputs and outputs."""
    from .layers import serialize

    keys = _node_key(model)

    def encode_args(obj):
        return map_structure(lambda o: {"__keras_tensor__": [*keys[id(o.node)], o.index]}
                             if isinstance(o, KerasTensor) else _jsonable(o), obj)

    def refs(struct, first=False):
        return map_structure(lambda t: [keys[id(t.node)][0], 0 if first else keys[id(t.node)][1], t.index],
                             list(struct) if isinstance(struct, tuple) else struct)

    nodes = [{"layer": n.layer.name, "args": encode_args(list(n.args)), "kwargs": encode_args(n.kwargs)}
             for n in model._nodes]
    return {"name": model.name, "trainable": model.trainable,
            "layers": [serialize(la) for la in model.layers], "nodes": nodes,
            "input_layers": refs(model._inputs_struct, first=True),
            "output_layers": refs(model._outputs_struct)}


def _jsonable(o):
    if isinstance(o, (np.integer, np.floating)):
        return o.item()
    if o is None or isinstance(o, (bool, int, float, str)):
        return o
    raise TypeError(f"cannot save a model whose layer call uses an argument of type {type(o).__name__}")


def functional_from_config(cls, config, custom_objects=None):
    """Rebuild a functional model: recreate the layers, then replay their calls in order."""
    from .layers import deserialize

    layers = {la.name: la for la in (deserialize(spec, custom_objects) for spec in config["layers"])}
    produced = {(name, 0): [la._input_tensor] for name, la in layers.items() if isinstance(la, InputLayer)}
    counts = {}

    def resolve(obj):
        if isinstance(obj, dict) and "__keras_tensor__" in obj:
            lname, idx, t = obj["__keras_tensor__"]
            return produced[(lname, idx)][t]
        if isinstance(obj, list):
            return [resolve(o) for o in obj]
        return {k: resolve(v) for k, v in obj.items()} if isinstance(obj, dict) else obj

    for node in config["nodes"]:
        layer = layers[node["layer"]]
        out = layer(*resolve(node["args"]), **resolve(node["kwargs"]))
        counts[layer.name] = idx = counts.get(layer.name, -1) + 1
        produced[(layer.name, idx)] = flatten_structure(out)

    def build(refs):
        if isinstance(refs, list) and refs and isinstance(refs[0], str):
            return produced[(refs[0], refs[1])][refs[2]]
        return [build(r) for r in refs]

    model = cls(inputs=build(config["input_layers"]), outputs=build(config["output_layers"]),
                name=config.get("name"))
    if "trainable" in config:
        model.trainable = config["trainable"]
    return model


# ----- weights ------------------------------------------------------------------------------------------
def _weight_names(model):
    names, seen = [], {}
    for layer, spec in model._all_specs():
        base = f"{layer.name}/{spec.name}"
        seen[base] = n = seen.get(base, -1) + 1
        names.append(base if n == 0 else f"{base}_{n}")
    return names


def _weights_dict(model):
    if not model.built:
        raise ValueError(f"Model '{model.name}' is not built yet: give the first layer an input shape, or "
                         "call it on data (or fit it) before saving it or its weights")
    return dict(zip(_weight_names(model), model.get_weights()))


def _set_from_dict(model, arrays, source):
    """Set the weights by name, or, when the names differ (another session numbered the layers
    differently), by order as Keras's topological loading does, provided the shapes agree."""
    names = _weight_names(model)
    if set(names) == set(arrays):
        model.set_weights([arrays[n] for n in names])
        return
    expected = [s.shape for _, s in model._all_specs()]
    given = [tuple(a.shape) for a in arrays.values()]
    if given == expected:
        model.set_weights(list(arrays.values()))
        return
    raise ModelFileError(f"{source}: the saved weights do not match model '{model.name}': the file holds "
                         f"{len(given)} weights {list(arrays)[:6]}{'...' if len(given) > 6 else ''} with "
                         f"shapes {given[:6]}, the model needs {len(expected)} with shapes {expected[:6]}")


def save_weights(model, filepath):
    """The model's weights as safetensors (Keras layouts, keys ``<layer>/<weight>``), written atomically."""
    atomic_write_bytes(os.fspath(filepath), encode(_weights_dict(model), {"format": FORMAT + ".weights"}))


def load_weights(model, filepath):
    """Load weights from ``save_weights``'s file, or from a whole-model file written by ``save``."""
    path, blob = _file_bytes(filepath, "load_weights")
    if blob[:4] == b"PK\x03\x04":
        with _open_zip(blob, path) as zf:
            arrays, _ = decode(_read_member(zf, "model.safetensors", path), f"{path}:model.safetensors")
    else:
        arrays, _ = decode(blob, path)
    if not model.built:
        raise ValueError(f"load_weights: model '{model.name}' is not built yet; build it first (give an "
                         "input shape or call it on a batch)")
    _set_from_dict(model, arrays, path)


# ----- optimizer state ----------------------------------------------------------------------------------
def _optimizer_arrays(optimizer):
    """(arrays for safetensors, JSON-able rest) from the optimizer's state_dict."""
    sd = optimizer.state_dict()
    arrays, scalars = {}, {}
    for idx, state in sd["state"].items():
        for key, value in state.items():
            name = f"state/{idx}/{key}"
            if isinstance(value, np.ndarray):
                arrays[name] = value
            else:
                scalars[name] = _jsonable(value.item() if isinstance(value, np.generic) else value)
    groups = [{k: (list(v) if isinstance(v, tuple) else v) for k, v in g.items() if k != "param_names"}
              for g in sd["param_groups"]]
    return arrays, {"param_groups": groups, "scalars": scalars, "iterations": int(sd.get("iterations", 0))}


def _optimizer_state(arrays, meta):
    state = {}
    for name, value in [*arrays.items(), *meta.get("scalars", {}).items()]:
        _, idx, key = name.split("/", 2)
        state.setdefault(int(idx), {})[key] = value
    groups = [{k: (tuple(v) if k == "betas" else v) for k, v in g.items()} for g in meta["param_groups"]]
    return {"state": state, "param_groups": groups, "iterations": meta.get("iterations", 0)}


# ----- whole models -------------------------------------------------------------------------------------
def _map_losses(fn, loss):
    """``fn`` of each loss in ``loss``: one loss, a list (one per output) or a dict (output name -> loss)."""
    if isinstance(loss, (list, tuple)):
        return [fn(one) for one in loss]
    if isinstance(loss, dict) and "class_name" not in loss:
        return {k: fn(v) for k, v in loss.items()}
    return fn(loss)


def _compile_config(model):
    from . import losses as _losses
    from . import metrics as _metrics
    from . import optimizers as _optimizers

    if not model.compiled:
        return None
    cc = model._compile_config or {}
    loss = _map_losses(_losses.serialize, cc.get("loss"))
    return {"optimizer": _optimizers.serialize(model.optimizer), "loss": loss,
            "metrics": [_metrics.serialize(m) or str(m) for m in cc.get("metrics") or []],
            "loss_weights": cc.get("loss_weights")}


def _metadata_json(metadata, model_name):
    """``metadata`` as JSON text; refuse anything JSON cannot hold exactly (so it reads back equal)."""
    where = f"save: metadata of model '{model_name}'"
    if not isinstance(metadata, dict):
        raise TypeError(f"{where} must be a dict of JSON values, got {type(metadata).__name__}")

    def keys(obj):  # json.dumps would turn 1 into "1" silently
        items = obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(
            obj, (list, tuple)) else ()
        for k, v in items:
            if isinstance(obj, dict) and not isinstance(k, str):
                raise TypeError(f"{where} has the key {k!r} ({type(k).__name__}): JSON keys must be strings")
            keys(v)

    keys(metadata)
    try:
        return json.dumps(metadata, indent=1, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"{where} cannot be stored: only dicts, lists, strings, finite numbers, booleans "
                        f"and None can ({exc})") from None


def model_to_bytes(model, include_optimizer=True, metadata=None):
    """The bytes of a model file (the zip archive ``save`` writes); ``metadata`` (a dict of JSON values)
    goes to ``metadata.json``."""
    from .. import __version__

    weights = _weights_dict(model)
    config = {"format": FORMAT, "format_version": FORMAT_VERSION, "shendu_version": __version__,
              "model": {"class_name": model._class_name(), "config": model.get_config()},
              "compile_config": _compile_config(model), "weights": list(weights)}
    opt_arrays = None
    optimizer = getattr(model, "optimizer", None)
    if include_optimizer and optimizer is not None and getattr(optimizer, "built", False):
        opt_arrays, config["optimizer"] = _optimizer_arrays(optimizer)
    meta_text = None if metadata is None else _metadata_json(metadata, model.name)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr("config.json", json.dumps(config, indent=1))
        if meta_text is not None:
            zf.writestr("metadata.json", meta_text)
        zf.writestr("model.safetensors", b"".join(encode(weights, {"format": FORMAT})))
        if opt_arrays is not None:
            zf.writestr("optimizer.safetensors", b"".join(encode(opt_arrays, {"format": FORMAT})))
    return buffer.getvalue()


def save_model(model, filepath, overwrite=True, include_optimizer=True, metadata=None):
    """Write ``model`` to ``filepath`` as one zip archive (see the module docstring), atomically.

    ``metadata``: a dict of JSON values (data set, preprocessing, ...) stored with the model; when None,
    the model's own ``metadata`` attribute (set by ``load_model``, or by hand) is stored, if any."""
    path = os.fspath(filepath)
    if not overwrite and os.path.exists(path):
        raise FileExistsError(f"save: {path!r} exists and overwrite=False")
    if metadata is None:
        metadata = getattr(model, "metadata", None) or None
    atomic_write_bytes(path, [model_to_bytes(model, include_optimizer, metadata)])


def _open_zip(blob, path):
    return open_zip(blob, path, ModelFileError, "a shendu Keras model file")


def _read_member(zf, name, path):
    return read_zip_member(zf, name, path, ModelFileError, MAX_COMPRESSION_RATIO)


def _read_json(zf, name, path, kind=dict):
    try:
        value = json.loads(_read_member(zf, name, path))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ModelFileError(f"load_model: {path!r} has an unreadable {name} ({exc})") from None
    if kind is not None and not isinstance(value, kind):
        raise ModelFileError(f"load_model: {path!r} has a {name} holding a {type(value).__name__}, "
                             "expected a JSON object")
    return value


def _read_config(zf, path):
    config = _read_json(zf, "config.json", path, kind=None)
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise ModelFileError(f"load_model: {path!r} is not a shendu Keras model file (config.json format "
                             f"is {config.get('format') if isinstance(config, dict) else None!r}, expected "
                             f"{FORMAT!r})")
    version = config.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 0:
        raise ModelFileError(f"load_model: {path!r} has an invalid format_version {version!r}")
    if version > FORMAT_VERSION:
        raise ModelFileError(f"load_model: {path!r} uses model format version {version}, but this shendu "
                             f"reads versions up to {FORMAT_VERSION}: it was written by a newer shendu "
                             f"({config.get('shendu_version', 'unknown')}); upgrade shendu to load it")
    while version < FORMAT_VERSION:
        if version not in MIGRATIONS:
            raise ModelFileError(f"load_model: {path!r} uses model format version {version}, which this "
                                 "shendu cannot convert")
        config = MIGRATIONS[version](config)
        version = config["format_version"]
    return config


def _read_metadata(zf, path):
    return _read_json(zf, "metadata.json", path) if "metadata.json" in zf.namelist() else {}


def _file_bytes(filepath, who):
    path = os.fspath(filepath)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{who}: no file at {path!r}")
    with open(path, "rb") as f:
        return path, f.read()


def read_metadata(filepath):
    """The metadata dict stored by ``model.save(path, metadata={...})`` ({} when none), read without
    building the model."""
    path, blob = _file_bytes(filepath, "read_metadata")
    with _open_zip(blob, path) as zf:
        _read_config(zf, path)
        return _read_metadata(zf, path)


def load_model(filepath, custom_objects=None, compile=True):  # noqa: A002
    """Rebuild the model saved at ``filepath`` (with ``compile``: compile settings and optimizer state).

    The returned model's ``metadata`` attribute is the dict saved with it ({} when none)."""
    path, blob = _file_bytes(filepath, "load_model")
    return model_from_bytes(blob, custom_objects, compile, source=path)


def model_from_bytes(blob, custom_objects=None, compile=True, source="<bytes>"):  # noqa: A002
    """Rebuild a model from the bytes of a model file."""
    path = source
    with _open_zip(blob, path) as zf:
        config = _read_config(zf, path)
        metadata = _read_metadata(zf, path)
        weights_blob = _read_member(zf, "model.safetensors", path)
        has_opt = "optimizer.safetensors" in zf.namelist()
        opt_blob = _read_member(zf, "optimizer.safetensors", path) if has_opt else None
    arrays, _ = decode(weights_blob, f"{path}:model.safetensors")
    model = _rebuild(config, arrays, custom_objects, path)
    if not model.built:
        raise ModelFileError(f"load_model: the model in {path!r} could not be rebuilt with its input shape")
    _set_from_dict(model, arrays, path)
    model.metadata = metadata
    try:
        _compile_from_config(model, config, opt_blob, custom_objects, path, compile)
    except ModelFileError:
        raise
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise ModelFileError(f"{path}: the compile settings cannot be restored ({exc}); "
                             "load with compile=False to skip them") from None
    return model


def _compile_from_config(model, config, opt_blob, custom_objects, path, compile):
    """Compile ``model`` as the file's compile_config says and restore the optimizer's state."""
    cc = config.get("compile_config")
    if not (compile and cc):
        return
    loss = _map_losses(lambda one: _resolve_loss(one, custom_objects, path), cc.get("loss"))
    model.compile(optimizer=cc.get("optimizer") or "rmsprop", loss=loss,
                  metrics=_resolve_metrics(cc.get("metrics"), custom_objects, path),
                  loss_weights=cc.get("loss_weights"))
    if opt_blob is not None and "optimizer" in config:
        opt_arrays, _ = decode(opt_blob, f"{path}:optimizer.safetensors")
        if not model.optimizer.built:
            model._take_snapshot()
        try:
            model.optimizer.load_state_dict(_optimizer_state(opt_arrays, config["optimizer"]))
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise ModelFileError(f"{path}: the optimizer state does not fit the model's optimizer "
                                 f"({exc})") from None


def _rebuild(config, arrays, custom_objects, path):
    """The model of ``config``, every built-in layer checking the weights it creates against ``arrays``
    (what the file stores) before allocating them; a config the layers refuse names the file."""
    from .layers.base import weight_budget
    from .models import model_from_config

    spec = config.get("model")
    if not isinstance(spec, dict) or not isinstance(spec.get("config", {}), dict):
        raise ModelFileError(f"load_model: {path!r} has no model architecture in its config.json")
    try:
        with weight_budget(f"load_model: {path!r}", [a.shape for a in arrays.values()], ModelFileError):
            return model_from_config(spec, custom_objects)
    except ModelFileError:
        raise
    except (TypeError, ValueError, KeyError, IndexError, NotImplementedError) as exc:
        raise ModelFileError(f"load_model: {path!r} holds a model config that cannot be rebuilt: "
                             f"{exc}") from exc


def _resolve_loss(loss, custom_objects, path):
    from . import losses as _losses

    try:
        return _losses.deserialize(loss, custom_objects)
    except ValueError:
        raise ModelFileError(f"load_model: {path!r} was compiled with the loss {loss!r}, which is not a "
                             f"built-in loss: pass load_model(..., custom_objects={{'{loss}': fn}}) or "
                             "compile=False") from None


def _resolve_metrics(metrics, custom_objects, path="<bytes>"):
    """The compile metrics a file names: only classes of :data:`.metrics.COMPILE_METRICS`, the metric
    names ``compile`` takes, or what ``custom_objects`` supplies; anything else is refused."""
    from . import metrics as _metrics
    from .metrics import COMPILE_METRICS, compile_metric_class

    def refuse(what):
        return ModelFileError(
            f"load_model: {path!r} was compiled with the metric {what}, which is not a metric compile() "
            f"takes (built-in classes: {', '.join(sorted(COMPILE_METRICS))}): pass load_model(..., "
            "custom_objects={name: metric}) or compile=False")

    if metrics is None:
        return []
    if not isinstance(metrics, list):
        raise ModelFileError(f"load_model: {path!r} has metrics {metrics!r} in its compile config, "
                             "expected a list")
    out = []
    for m in metrics:
        if isinstance(m, dict):
            name = m.get("class_name")
            if compile_metric_class(name, custom_objects) is None:
                raise refuse(repr(name))
            if not isinstance(m.get("config", {}), dict):
                raise ModelFileError(f"load_model: {path!r}: metric {name!r} has a config that is not a dict")
            try:
                out.append(_metrics.deserialize(m, custom_objects))
            except (TypeError, ValueError) as exc:
                raise ModelFileError(f"load_model: {path!r}: metric {name!r} cannot be rebuilt: "
                                     f"{exc}") from None
        elif isinstance(m, str) and custom_objects and m in custom_objects:
            out.append(custom_objects[m])
        elif isinstance(m, str):
            if m.strip().lower() not in ("accuracy", "acc"):
                try:
                    _metrics.get(m)
                except ValueError:
                    raise refuse(repr(m)) from None
            out.append(m)
        else:
            raise refuse(repr(m))
    return out
