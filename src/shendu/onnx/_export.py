"""ONNX export: ``shendu.onnx.export(model, example_input, path, ...)``.

The model runs twice in eval mode with every operation recorded (see ``_export_trace``): once on the
example, once with its dynamic axes (batch, and sequence for recurrent and embedding models) at other
sizes and with other values. The two recordings are walked side by side and every operation is written
as ONNX nodes (``_export_ops``, ``_export_rnn``); any size that differs between them is computed in the
graph, so the file runs at every batch size and sequence length. The result passes
``onnx.checker.check_model(full_check=True)`` and is written atomically.
"""
import io
import os

import numpy as np

from .. import __version__ as _version
from .._fileio import atomic_write_bytes
from ..autograd import no_grad
from ..nn.module import training_mode
from ..tensor import Tensor
from . import _export_trace as _tr
from ._export_graph import Const, ExportError, Graph, Value
from ._export_ops import EMITTERS, emit_compare
from ._export_rnn import LAYER_EMITTERS, MODULE_EMITTERS

__all__ = ["export", "is_in_onnx_export", "ExportError", "ExportResult"]

_IR_VERSION = {13: 7, 14: 7, 15: 8, 16: 8, 17: 8, 18: 8, 19: 9, 20: 9, 21: 10}
# torch.onnx.export keywords that change nothing here
_IGNORED = {"export_params", "verbose", "training", "operator_export_type", "do_constant_folding",
            "keep_initializers_as_inputs", "custom_opsets", "export_modules_as_functions",
            "autograd_inlining", "dynamo", "external_data", "report", "optimize", "fallback", "artifacts_dir",
            "dynamic_shapes"}


def is_in_onnx_export():
    """True while ``shendu.onnx.export`` is tracing a model in this thread (as ``torch.onnx``)."""
    return _tr.is_tracing()


class ExportResult:
    """What :func:`export` wrote: ``path``, the ``model`` (an ``onnx.ModelProto``), the ``input_names``,
    ``output_names``, the ``dynamic_axes`` ({name: {axis: dim name}}) and, with ``verify=True``,
    ``max_abs_error`` ({output name: max |onnxruntime − shendu|} on the example) and
    ``max_abs_error_resized`` (the same at the other batch size / sequence length)."""

    def __init__(self, path, model, input_names, output_names, dynamic_axes):
        self.path, self.model = path, model
        self.input_names, self.output_names, self.dynamic_axes = input_names, output_names, dynamic_axes
        self.max_abs_error = None
        self.max_abs_error_resized = None

    def __repr__(self):
        s = f"ExportResult(path={self.path!r}, inputs={self.input_names}, outputs={self.output_names}"
        if self.max_abs_error is not None:
            s += f", max_abs_error={self.max_abs_error}"
        return s + ")"


def export(model, example_input=None, path=None, *more, opset=17, dynamic_axes=None, input_names=None,
           output_names=None, verify=False, args=None, f=None, opset_version=None, **kwargs):
    """Write ``model`` as an ONNX file that onnxruntime (or any ONNX runtime) runs.

    ``example_input``: a Tensor, an array, or a tuple of them (one per forward() argument) — torch's
    ``args``. ``path``: a file name or a binary file object — torch's ``f``. ``opset`` (or torch's
    ``opset_version``): 13..21, default 17 (IR version 8). ``dynamic_axes``: ``{input or output name:
    {axis: "name"}}`` or ``{name: [axes]}``; by default axis 0 (batch) of every input is dynamic, and axis 1
    too (sequence) when the model holds recurrent or embedding layers. ``verify=True`` runs onnxruntime
    on the example (and at another batch size / sequence length) and prints each output's max abs error.
    Returns an :class:`ExportResult`. Raises :class:`ExportError` naming the layer and the operation when
    something has no ONNX form.
    """
    example_input = example_input if example_input is not None else args
    path = path if path is not None else f
    if more:
        raise TypeError("shendu.onnx.export takes (model, example_input, path) positionally; give the other "
                        "arguments by keyword (opset=, dynamic_axes=, input_names=, output_names=, verify=)")
    unknown = set(kwargs) - _IGNORED
    if unknown:
        raise TypeError(f"shendu.onnx.export: unexpected keyword argument(s) {sorted(unknown)}")
    if opset_version is not None:
        opset = opset_version
    if not isinstance(opset, int) or opset not in _IR_VERSION:
        raise ValueError(f"shendu.onnx.export: opset must be an integer from 13 to 21, got {opset!r}")
    if example_input is None or path is None:
        raise TypeError("shendu.onnx.export needs the model, an example input and a path")
    try:
        import onnx
    except ImportError as exc:  # pragma: no cover - the extra is missing
        raise ImportError("shendu.onnx.export needs the onnx package: pip install 'shendu[onnx]'") from exc

    inputs = _as_inputs(model, example_input)
    names_in = list(input_names) if input_names else (
        ["input"] if len(inputs) == 1 else [f"input_{i}" for i in range(len(inputs))])
    if len(names_in) != len(inputs):
        raise ValueError(f"shendu.onnx.export: {len(names_in)} input_names for {len(inputs)} inputs")

    modules = list(model.named_modules()) if hasattr(model, "named_modules") else []
    paths = {id(m): name for name, m in modules}
    classes = {name: type(m).__name__ for name, m in modules}
    with training_mode(False):  # traced in inference mode; the model's own flags stay as they are
        if getattr(model, "built", True) is False:
            with no_grad():
                model(*inputs)  # a Keras model builds its weights on the first call
        out_a, tr_a, inputs_b, out_b, tr_b, axes = _trace_twice(model, inputs, names_in, dynamic_axes, paths,
                                                               modules)

    outs_a, outs_b = _tr.flatten(out_a), _tr.flatten(out_b)
    names_out = list(output_names) if output_names else (
        ["output"] if len(outs_a) == 1 else [f"output_{i}" for i in range(len(outs_a))])
    if len(names_out) != len(outs_a):
        raise ValueError(f"shendu.onnx.export: {len(names_out)} output_names for {len(outs_a)} outputs")

    g = Graph(opset)
    values = {}
    _emit(g, model, inputs, inputs_b, names_in, tr_a, tr_b, values, classes)
    graph_outputs = []
    for t_a, name in zip(outs_a, names_out):
        v = values.get(id(t_a))
        g.scope, g.where = "", "model output"
        src = v.name if v is not None else g.const(t_a.array)
        g.used.add(name)
        g.node("Identity", [src], outputs=[name])
        graph_outputs.append(name)

    dim_names = _dim_names(names_in, inputs, inputs_b, axes, dynamic_axes, names_out, outs_a, outs_b)
    helper = onnx.helper

    def info(name, a, b, dtype):
        dims = [dim_names.get((name, i)) or (x if x == y else f"{name}_dim{i}")
                for i, (x, y) in enumerate(zip(a, b))]
        return helper.make_tensor_value_info(name, helper.np_dtype_to_tensor_dtype(np.dtype(dtype)), dims)

    graph = helper.make_graph(
        g.nodes, "shendu_" + type(model).__name__,
        [info(n, t.shape, tb.shape, t.dtype) for n, t, tb in zip(names_in, inputs, inputs_b)],
        [info(n, t.shape, tb.shape, t.dtype) for n, t, tb in zip(names_out, outs_a, outs_b)],
        initializer=g.initializers)
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="shendu",
                              producer_version=_version, ir_version=_IR_VERSION[opset])
    try:
        onnx.checker.check_model(proto, full_check=True)
    except Exception as exc:
        raise ExportError(f"shendu.onnx.export: the graph written for {type(model).__name__} fails "
                          f"onnx.checker: {exc}") from exc
    data = proto.SerializeToString()
    if isinstance(path, (str, os.PathLike)):
        atomic_write_bytes(path, [data])
        where = os.fspath(path)
    elif hasattr(path, "write"):
        path.write(data)
        where = getattr(path, "name", None) if not isinstance(path, io.BytesIO) else None
    else:
        raise TypeError(f"shendu.onnx.export: path must be a file name or a binary file object, got "
                        f"{type(path).__name__}")
    dyn = {}
    for (name, i), d in dim_names.items():
        dyn.setdefault(name, {})[i] = d
    result = ExportResult(where, proto, names_in, names_out, dyn)
    if verify:
        result.max_abs_error = _verify(data, names_in, inputs, names_out, outs_a)
        if any(t.shape != tb.shape for t, tb in zip(inputs, inputs_b)):
            result.max_abs_error_resized = _verify(data, names_in, inputs_b, names_out, outs_b)
        for name in names_out:
            line = f"{name}: max abs error {result.max_abs_error[name]:.3g}"
            if result.max_abs_error_resized:
                line += f" (at input shapes {[tuple(t.shape) for t in inputs_b]}: " \
                        f"{result.max_abs_error_resized[name]:.3g})"
            print(line)
    return result


def export_keras(model, filepath, format="onnx", verbose=True, input_signature=None, **kwargs):  # noqa: A002
    """``keras.Model.export(filepath, format="onnx")``: example inputs from ``input_signature`` (arrays, or
    shapes with ``None`` for unknown sizes) or from the model's built input shapes."""
    if format != "onnx":
        raise ValueError(f"Model.export: format {format!r} is not supported; shendu exports format='onnx' "
                         "(and 'shendu export MODEL --format numpy' on the command line)")
    if input_signature is None:
        tensors = getattr(model, "inputs", None)
        if tensors:
            input_signature = [(tuple(t.shape), getattr(t, "dtype", None)) for t in tensors]
        else:
            try:
                shape = model.input_shape
            except AttributeError:
                raise ValueError(f"Model.export: model '{model.name}' has not been built; call it on data or "
                                 "pass input_signature=[shape or example array]") from None
            input_signature = [shape]
    first = input_signature[0] if isinstance(input_signature, (list, tuple)) and input_signature else ()
    if not isinstance(input_signature, (list, tuple)) or first is None or isinstance(first, int):
        input_signature = [input_signature]
    examples = []
    for spec in input_signature:
        if isinstance(spec, (np.ndarray, Tensor)):
            examples.append(spec)
            continue
        shape, dtype = spec if isinstance(spec, tuple) and len(spec) == 2 and isinstance(spec[0], tuple) \
            else (tuple(spec), None)
        # unknown sizes get small example values (2 for the batch, 3 for others)
        shape = tuple((2 if i == 0 else 3) if d is None else int(d) for i, d in enumerate(shape))
        dtype = np.dtype(str(dtype)) if dtype is not None else np.dtype(np.float32)
        if dtype.kind in "iu":
            examples.append(np.zeros(shape, dtype))
        else:
            examples.append(np.random.default_rng(0).standard_normal(shape).astype(dtype))
    result = export(model, tuple(examples), filepath, **kwargs)
    if verbose:
        print(f"Saved ONNX model to {filepath} (inputs {result.input_names}, outputs {result.output_names})")
    return result


# ----- inputs and the two traces ---------------------------------------------------------------------
def _model_dtype(model):
    for p in getattr(model, "parameters", lambda: [])():
        if np.issubdtype(p.array.dtype, np.floating):
            return p.array.dtype
    return np.dtype(np.float32)


def _as_inputs(model, example):
    items = list(example) if isinstance(example, (tuple, list)) else [example]
    dtype = _model_dtype(model)
    out = []
    for x in items:
        if isinstance(x, Tensor):
            out.append(Tensor(x.array))
            continue
        arr = np.asarray(x)
        if arr.dtype == np.float64 and dtype != np.float64:
            arr = arr.astype(dtype)
        if arr.dtype.kind not in "fiub":
            raise TypeError(f"shendu.onnx.export: example inputs must be numeric Tensors or arrays, got "
                            f"{arr.dtype}")
        out.append(Tensor(arr))
    return out


def _default_axes(inputs, modules):
    from ..nn import embedding as _nn_emb
    from ..nn import rnn as _nn_rnn

    seq = [m for _, m in modules if isinstance(m, (_nn_rnn.RNNBase, _nn_emb.Embedding))]
    time_major = any(isinstance(m, _nn_rnn.RNNBase) and not m.batch_first for m in seq[:1])
    axes = []
    for x in inputs:
        a = {0: "sequence" if time_major else "batch"} if x.ndim >= 1 else {}
        if seq and x.ndim >= 2:
            a[1] = "batch" if time_major else "sequence"
        axes.append(a)
    return axes


def _user_axes(names_in, inputs, dynamic_axes):
    axes = []
    for name, x in zip(names_in, inputs):
        spec = dynamic_axes.get(name, {})
        if isinstance(spec, (list, tuple)):
            spec = {int(a): f"{name}_dynamic_axes_{k + 1}" for k, a in enumerate(spec)}
        spec = {int(a) % max(x.ndim, 1): str(n) for a, n in spec.items()}
        axes.append(spec)
    return axes


def _resized(x, axes, rng):
    shape = list(x.shape)
    for a in axes:
        shape[a] += 1 + (a % 3)  # +1 on axis 0, +2 on axis 1: two dynamic sizes never coincide
    arr = x.array
    if arr.dtype.kind == "f":
        std = float(arr.std()) if arr.size else 1.0
        new = rng.standard_normal(shape) * (std or 1.0) + (float(arr.mean()) if arr.size else 0.0)
    elif arr.dtype.kind in "iu":
        lo, hi = (int(arr.min()), int(arr.max())) if arr.size else (0, 1)
        new = rng.integers(lo, hi + 1, size=shape)
    else:
        new = rng.random(shape) < 0.5
    return Tensor(new.astype(arr.dtype))


def _run(model, inputs, paths):
    def call():
        with no_grad():
            return model(*inputs)
    return _tr.trace(call, MODULE_EMITTERS, paths)


def _trace_twice(model, inputs, names_in, dynamic_axes, paths, modules):
    out_a, tr_a = _run(model, inputs, paths)
    if dynamic_axes is not None:
        plans = [_user_axes(names_in, inputs, dynamic_axes)]
    else:
        full = _default_axes(inputs, modules)
        plans = [full, [{0: a[0]} if 0 in a else {} for a in full], [{} for _ in inputs]]
    rng = np.random.default_rng(1234)
    failure = None
    for plan in plans:
        inputs_b = [_resized(x, list(a), rng) for x, a in zip(inputs, plan)]
        try:
            out_b, tr_b = _run(model, inputs_b, paths)
        except Exception as exc:  # this model cannot run at those sizes: try fewer dynamic axes
            failure = f"the model fails at input shapes {[tuple(t.shape) for t in inputs_b]}: {exc}"
            continue
        if [e.signature() for e in tr_a.events] != [e.signature() for e in tr_b.events]:
            failure = ("the model runs different operations at input shapes "
                       f"{[tuple(t.shape) for t in inputs_b]} (its forward() branches on sizes)")
            continue
        return out_a, tr_a, inputs_b, out_b, tr_b, plan
    raise ExportError(f"shendu.onnx.export: cannot make the requested axes dynamic: {failure}")


# ----- emission -----------------------------------------------------------------------------------
def _emit(g, model, inputs, inputs_b, names_in, tr_a, tr_b, values, classes):
    params = {}
    if hasattr(model, "named_parameters"):
        for name, p in list(model.named_parameters()) + list(model.named_buffers()):
            params[id(p)] = (name, p)
            params[id(p.array)] = (name, p)
    made = {}

    for name, t, tb in zip(names_in, inputs, inputs_b):
        g.used.add(name)
        v = Value(name, t.shape, tb.shape, t.dtype)
        values[id(t)] = values[id(t.array)] = v
        g.values.append(v)

    def arg(a, b, op):
        if a is None:
            return None
        key = id(a)
        if key in values:
            return values[key]
        if key in params:
            name, p = params[key]
            if name not in made:
                arr = p.array
                made[name] = Value(g.initializer(arr, name), arr.shape, arr.shape, arr.dtype, param=arr)
            return made[name]
        if isinstance(a, (list, tuple)):
            raise ExportError(f"{g.where}: {op} takes a {type(a).__name__} where a tensor is expected")
        arr_a = a.array if isinstance(a, Tensor) else np.asarray(a)
        arr_b = b.array if isinstance(b, Tensor) else np.asarray(b)
        if arr_a.shape == arr_b.shape and arr_a.dtype.kind in "fiub" and not np.array_equal(arr_a, arr_b,
                                                                                             equal_nan=True):
            raise ExportError(f"{g.where}: a tensor used by {op} was computed from the input outside "
                              "shendu's operations (through .numpy(), a Python loop over values, or a custom "
                              "Function); the ONNX graph cannot follow it")
        return Const(arr_a, arr_b)

    for ea, eb in zip(tr_a.events, tr_b.events):
        g.scope = ea.path
        cls_name = classes.get(ea.path, "")
        layer = f"layer '{ea.path}' ({cls_name})" if ea.path else f"model {type(model).__name__}"
        if ea.kind == "mod":
            g.where = f"shendu.onnx.export: {layer}"
            ins_a, ins_b = _tensors(ea.inputs), _tensors(eb.inputs)
            ins = [arg(a, b, ea.op.__name__) for a, b in zip(ins_a, ins_b)]
            outs_a, outs_b = _tr.flatten(ea.outputs), _tr.flatten(eb.outputs)
            emitter = next(MODULE_EMITTERS[k] for k in ea.op.__mro__ if k in MODULE_EMITTERS)
            names = emitter(g, ea.module, ins, [(a.shape, b.shape, a.dtype) for a, b in zip(outs_a, outs_b)])
        else:
            op = ea.op.__name__ if ea.kind == "fn" else f"comparison {ea.op}"
            g.where = f"shendu.onnx.export: {layer}, operation {op}"
            ins = [arg(a, b, op) for a, b in zip(ea.inputs, eb.inputs)]
            outs_a, outs_b = list(ea.outputs), list(eb.outputs)
            if not any(isinstance(x, Value) for x in ins):
                continue  # computed from constants only: its outputs are constants too
            outs = [(a.shape, b.shape, a.dtype) for a, b in zip(outs_a, outs_b)]
            if ea.kind == "cmp":
                names = emit_compare(g, ea.op, ins, outs)
            else:
                emitter = EMITTERS.get(ea.op) or LAYER_EMITTERS.get(ea.op)
                if emitter is None:
                    raise ExportError(f"{g.where}: {op} has no ONNX form in shendu's exporter "
                                      f"(operation {ea.op.__module__}.{op})")
                attrs = dict(ea.attrs)
                for k in ("running_mean", "running_var"):  # batch norm's statistics come as arrays
                    if attrs.get(k) is not None:
                        attrs[k] = arg(attrs[k], eb.attrs[k], op)
                names = emitter(g, ins, attrs, outs)
        if isinstance(names, str):
            names = [names]
        for ta, tb, name in zip(outs_a, outs_b, names):
            v = Value(name, ta.shape, tb.shape, ta.dtype)
            values[id(ta)] = values[id(ta.array)] = v  # layers may pass x.numpy() on to an operation
            g.values.append(v)
    g.scope = ""


def _tensors(obj):
    if isinstance(obj, (Tensor, np.ndarray)):
        return [obj]
    if isinstance(obj, (tuple, list)):
        return [t for o in obj for t in _tensors(o)]
    return []


def _dim_names(names_in, inputs, inputs_b, axes, dynamic_axes, names_out, outs_a, outs_b):
    names, by_pair = {}, {}
    for name, t, tb, a in zip(names_in, inputs, inputs_b, axes):
        for i, dim in a.items():
            names[(name, i)] = dim
            by_pair.setdefault((t.shape[i], tb.shape[i]), dim)
    user = dynamic_axes or {}
    for name, t, tb in zip(names_out, outs_a, outs_b):
        spec = user.get(name, {})
        if isinstance(spec, (list, tuple)):
            spec = {int(a): f"{name}_dynamic_axes_{k + 1}" for k, a in enumerate(spec)}
        for i, (x, y) in enumerate(zip(t.shape, tb.shape)):
            if i in spec:
                names[(name, i)] = str(spec[i])
            elif x != y:
                names[(name, i)] = by_pair.get((x, y), f"{name}_dim{i}")
    return names


def _verify(data, names_in, inputs, names_out, outs):
    try:
        import onnxruntime as ort
    except ImportError as exc:  # pragma: no cover
        raise ImportError("verify=True needs onnxruntime: pip install onnxruntime") from exc
    sess = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    got = sess.run(names_out, {n: t.array for n, t in zip(names_in, inputs)})
    return {n: float(np.max(np.abs(g.astype(np.float64) - t.array.astype(np.float64)))) if g.size else 0.0
            for n, g, t in zip(names_out, got, outs)}
