"""A standalone export: an ONNX graph turned into one readable NumPy ``.py`` file plus its weights.

``to_numpy(model_or_onnx_path, example_input, out_dir)`` writes ``out_dir/model.py`` and
``out_dir/model.safetensors``. The ``.py`` file needs NumPy alone (no shendu, no safetensors package): it
reads its weights file itself and runs the graph as straight-line code, one commented line per ONNX node,
with a plain NumPy function for each operator the graph uses (copied from ``_numpy_runtime``). Axes that
are dynamic in the graph (batch, sequence) stay dynamic in the code.

The generator needs the ``onnx`` package; the file it writes does not.
"""
import builtins
import importlib.util
import inspect
import keyword
import os
import re
import tempfile
import types
from dataclasses import dataclass, field

import numpy as np

from . import _numpy_runtime as _rt

# onnx TensorProto data type codes -> numpy dtype names
_ONNX_DTYPES = {1: "float32", 2: "uint8", 3: "int8", 4: "uint16", 5: "int16", 6: "int32", 7: "int64",
                9: "bool", 10: "float16", 11: "float64", 12: "uint32", 13: "uint64"}
_INLINE_LIMIT = 16  # constants with at most this many elements are written into the code as literals


class StandaloneExportError(ValueError):
    """The graph cannot be written as standalone NumPy code (the message names the nodes and ops)."""


@dataclass
class StandaloneExport:
    """What ``to_numpy`` wrote: the code file, the weights file, and the check against the source model."""
    code_path: str
    weights_path: str
    inputs: list = field(default_factory=list)
    outputs: list = field(default_factory=list)
    ops: list = field(default_factory=list)
    max_abs_error: dict = field(default_factory=dict)

    def __fspath__(self):
        return self.code_path

    def load(self):
        """Import the written file as a module (``module.predict(x)``), for checking it in this process."""
        return load_module(self.code_path)


# ---- literals and names -------------------------------------------------------------------------------

def _lit(v):
    """Python source text for a constant (numbers, strings, lists, small arrays)."""
    if isinstance(v, np.ndarray):
        dtype = "bool_" if v.dtype == np.bool_ else v.dtype.name
        if v.ndim == 0:
            return f"np.array({_lit(v.item())}, dtype=np.{dtype})"
        return f"np.array({_lit(v.tolist())}, dtype=np.{dtype})"
    if isinstance(v, (list, tuple)):
        inner = ", ".join(_lit(x) for x in v)
        return f"[{inner}]"
    if isinstance(v, bytes):
        return repr(v.decode("utf-8"))
    if isinstance(v, (bool, np.bool_)):
        return repr(bool(v))
    if isinstance(v, (int, np.integer)):
        return repr(int(v))
    if isinstance(v, (float, np.floating)):
        f = float(v)
        if f != f:
            return "float('nan')"
        if f in (float("inf"), float("-inf")):
            return f"float('{f}')"
        return repr(f)
    return repr(v)


class _Names:
    """ONNX value names -> unique Python identifiers."""

    def __init__(self, reserved):
        self.used = set(reserved)
        self.map = {}

    def __call__(self, name):
        if name in self.map:
            return self.map[name]
        short = re.sub(r"_output_0$", "", name.replace("onnx::", ""))
        base = re.sub(r"\W+", "_", short).strip("_") or "t"
        if base[0].isdigit():
            base = "t_" + base
        base = base[:60]
        cand, k = base, 1
        while cand in self.used or keyword.iskeyword(cand):
            k += 1
            cand = f"{base}_{k}"
        self.used.add(cand)
        self.map[name] = cand
        return cand


# ---- one emitter per ONNX operator --------------------------------------------------------------------

class _Node:
    """What an emitter sees: the input expressions, the attributes, the opset and the constant inputs."""

    def __init__(self, node, inputs, consts, attrs, opset):
        self.node, self.i, self.consts, self.a, self.opset = node, inputs, consts, attrs, opset

    def const(self, k):
        """The value of input k when it is a constant known now (None otherwise)."""
        return self.consts[k] if k < len(self.consts) else None

    def get(self, k):
        return self.i[k] if k < len(self.i) else None


def _args(*pos, **kw):
    """``a, b, key=value`` with trailing missing positionals dropped and unset keywords left out."""
    pos = list(pos)
    while pos and pos[-1] is None:
        pos.pop()
    parts = ["None" if p is None else p for p in pos]
    parts += [f"{k}={_lit(v)}" for k, v in kw.items() if v is not None]
    return ", ".join(parts)


def _kw(n, names):
    """The attributes in ``names`` ({onnx name: python keyword}) that the node sets."""
    return {py: n.a[ox] for ox, py in names.items() if ox in n.a}


def _fn(name, attrs=None, results=1):
    """An emitter that calls runtime function ``name`` with all inputs and the given attributes."""
    attrs = attrs or {}

    def emit(n):
        return f"{name}({_args(*n.i, **_kw(n, attrs))})", results, [name]
    return emit


def _expr(template, results=1, uses=()):
    """An emitter filling ``template`` with the inputs ({0}, {1}, ...)."""
    def emit(n):
        return template.format(*n.i), results, list(uses)
    return emit


def _unary_np(fn):
    return _expr(f"np.{fn}({{0}})")


def _axes_from(n, k):
    """Axes given as attribute (older opsets) or as input k (newer): (expr or None)."""
    if "axes" in n.a:
        return _lit(list(n.a["axes"]))
    return n.get(k)


def _emit_softmax(fn):
    def emit(n):
        if n.opset >= 13:
            return f"{fn}({_args(n.i[0], axis=n.a.get('axis', -1))})", 1, [fn]
        return f"{fn}_2d({_args(n.i[0], axis=n.a.get('axis', 1))})", 1, [f"{fn}_2d"]
    return emit


def _emit_clip(n):
    if n.opset < 11:
        return f"clip({_args(n.i[0], low=n.a.get('min'), high=n.a.get('max'))})", 1, ["clip"]
    return f"clip({_args(*n.i)})", 1, ["clip"]


def _emit_split(n):
    outs = len(n.node.output)
    sizes = _lit(list(n.a["split"])) if "split" in n.a else n.get(1)
    kw = f", axis={n.a.get('axis', 0)}"
    if sizes is None:
        kw += f", num_outputs={n.a.get('num_outputs', outs)}"
        return f"split({n.i[0]}, None{kw})", outs, ["split"]
    return f"split({n.i[0]}, {sizes}{kw})", outs, ["split"]


def _emit_slice(n):
    if n.opset < 10:
        return (f"slice_({_args(n.i[0], _lit(n.a['starts']), _lit(n.a['ends']), _lit(n.a.get('axes')))})",
                1, ["slice_"])
    return f"slice_({_args(*n.i)})", 1, ["slice_"]


def _emit_squeeze(n):
    axes = _axes_from(n, 1)
    return (f"squeeze({n.i[0]}, {axes})" if axes else f"squeeze({n.i[0]})"), 1, ["squeeze"]


def _emit_unsqueeze(n):
    return f"unsqueeze({n.i[0]}, {_axes_from(n, 1)})", 1, ["unsqueeze"]


def _emit_reduce(np_fn, input_axes_opset):
    def emit(n):
        axes = n.get(1) if n.opset >= input_axes_opset else None
        if "axes" in n.a:
            axes = _lit(list(n.a["axes"]))
        kw = _kw(n, {"keepdims": "keepdims", "noop_with_empty_axes": "noop_with_empty_axes"})
        return f"reduce({_args(f'np.{np_fn}', n.i[0], axes, **kw)})", 1, ["reduce"]
    return emit


def _emit_arg(np_fn):
    def emit(n):
        kw = _kw(n, {"axis": "axis", "keepdims": "keepdims", "select_last_index": "select_last_index"})
        return f"arg_reduce({_args(f'np.{np_fn}', n.i[0], **kw)})", 1, ["arg_reduce"]
    return emit


def _emit_variadic(np_fn, mean=False):
    def emit(n):
        call = f"variadic(np.{np_fn}, {', '.join(n.i)})"
        return (f"{call} / {len(n.i)}" if mean else call), 1, ["variadic"]
    return emit


def _emit_cast(n):
    if n.a.get("to") not in _ONNX_DTYPES:
        raise StandaloneExportError(f"Cast node {n.node.name!r}: the target type {n.a.get('to')} (an ONNX "
                                    "data type code) has no NumPy dtype; supported: "
                                    + ", ".join(_ONNX_DTYPES.values()))
    return f"{n.i[0]}.astype(np.{_ONNX_DTYPES[n.a['to']]})", 1, []


def _emit_constant_of_shape(n):
    value = n.a.get("value", np.zeros(1, dtype=np.float32))
    return f"constant_of_shape({n.i[0]}, {_lit(np.asarray(value))})", 1, ["constant_of_shape"]


def _emit_pad(n):
    if n.opset < 11:
        value = n.a.get("value", 0.0)
        return (f"pad({_args(n.i[0], _lit(n.a['pads']), _lit(np.array(value, dtype=np.float32)), None, mode=n.a.get('mode', 'constant'))})",  # noqa: E501
                1, ["pad"])
    return f"pad({_args(*n.i, mode=n.a.get('mode'))})", 1, ["pad"]


def _emit_identity(n):
    return n.i[0], 1, []


def _emit_dropout(n):
    if len(n.node.output) > 1 and n.node.output[1] or any(x is not None for x in n.i[2:]):
        return f"dropout({_args(*n.i)})", 2, ["dropout"]
    return n.i[0], 1, []


def _emit_conv(n):
    kw = _kw(n, {"strides": "strides", "pads": "pads", "dilations": "dilations", "group": "group",
                 "auto_pad": "auto_pad"})
    return f"conv({_args(*n.i, **kw)})", 1, ["conv"]


def _emit_pool(fn, extra):
    def emit(n):
        names = {"kernel_shape": "kernel_shape", "strides": "strides", "pads": "pads",
                 "ceil_mode": "ceil_mode", "auto_pad": "auto_pad", "dilations": "dilations", **extra}
        return f"{fn}({_args(n.i[0], **_kw(n, names))})", 1, [fn]
    return emit


def _emit_recurrent(fn, results, extra):
    def emit(n):
        if n.a.get("activation_alpha") or n.a.get("activation_beta"):
            raise StandaloneExportError(f"{n.node.op_type} node {n.node.name!r}: activation_alpha/beta "
                                        "are not supported")
        if n.a.get("input_forget"):
            raise StandaloneExportError(f"LSTM node {n.node.name!r}: input_forget=1 is not supported")
        names = {"hidden_size": "hidden_size", "direction": "direction", "layout": "layout",
                 "activations": "activations", "clip": "clip", **extra}
        return f"{fn}({_args(*n.i, **_kw(n, names))})", results, [fn]
    return emit


def _emit_batchnorm(n):
    if n.a.get("training_mode"):
        raise StandaloneExportError(f"BatchNormalization node {n.node.name!r} is in training mode; export "
                                    "the model in eval mode")
    return f"batch_normalization({_args(*n.i[:5], **_kw(n, {'epsilon': 'epsilon'}))})", 1, \
        ["batch_normalization"]


def _binary(op):
    return _expr(f"{{0}} {op} {{1}}")


OPS = {
    "Gemm": _fn("gemm", {"alpha": "alpha", "beta": "beta", "transA": "trans_a", "transB": "trans_b"}),
    "MatMul": _binary("@"),
    "Conv": _emit_conv,
    "ConvTranspose": _fn("conv_transpose", {"strides": "strides", "pads": "pads", "dilations": "dilations",
                                            "group": "group", "output_padding": "output_padding",
                                            "auto_pad": "auto_pad", "output_shape": "output_shape"}),
    "MaxPool": _emit_pool("max_pool", {"storage_order": "storage_order"}),
    "AveragePool": _emit_pool("average_pool", {"count_include_pad": "count_include_pad"}),
    "GlobalAveragePool": _fn("global_average_pool"),
    "GlobalMaxPool": _fn("global_max_pool"),
    "BatchNormalization": _emit_batchnorm,
    "LayerNormalization": _fn("layer_normalization", {"axis": "axis", "epsilon": "epsilon"}, results=3),
    "Relu": _fn("relu"), "Sigmoid": _fn("sigmoid"), "Tanh": _fn("tanh"),
    "LeakyRelu": _fn("leaky_relu", {"alpha": "alpha"}), "Elu": _fn("elu", {"alpha": "alpha"}),
    "Celu": _fn("celu", {"alpha": "alpha"}), "Selu": _fn("selu", {"alpha": "alpha", "gamma": "gamma"}),
    "Softplus": _fn("softplus"), "Softsign": _fn("softsign"),
    "HardSigmoid": _fn("hard_sigmoid", {"alpha": "alpha", "beta": "beta"}), "HardSwish": _fn("hard_swish"),
    "ThresholdedRelu": _fn("thresholded_relu", {"alpha": "alpha"}), "PRelu": _fn("prelu"),
    "Erf": _fn("erf"), "Gelu": _fn("gelu", {"approximate": "approximate"}), "Mish": _fn("mish"),
    "Clip": _emit_clip,
    "Softmax": _emit_softmax("softmax"), "LogSoftmax": _emit_softmax("log_softmax"),
    "Add": _binary("+"), "Sub": _binary("-"), "Mul": _binary("*"),
    "Div": _fn("div"), "Pow": _fn("power"), "Mod": _fn("mod", {"fmod": "fmod"}),
    "Equal": _expr("np.equal({0}, {1})"), "Less": _expr("np.less({0}, {1})"),
    "LessOrEqual": _expr("np.less_equal({0}, {1})"), "Greater": _expr("np.greater({0}, {1})"),
    "GreaterOrEqual": _expr("np.greater_equal({0}, {1})"),
    "And": _expr("np.logical_and({0}, {1})"), "Or": _expr("np.logical_or({0}, {1})"),
    "Xor": _expr("np.logical_xor({0}, {1})"), "Not": _unary_np("logical_not"),
    "Exp": _unary_np("exp"), "Log": _unary_np("log"), "Sqrt": _unary_np("sqrt"), "Neg": _unary_np("negative"),
    "Abs": _unary_np("abs"), "Reciprocal": _unary_np("reciprocal"), "Floor": _unary_np("floor"),
    "Ceil": _unary_np("ceil"), "Sin": _unary_np("sin"), "Cos": _unary_np("cos"), "Sign": _unary_np("sign"),
    "Round": _unary_np("round"), "IsNaN": _unary_np("isnan"),
    "Sum": _emit_variadic("add"), "Mean": _emit_variadic("add", mean=True),
    "Max": _emit_variadic("maximum"), "Min": _emit_variadic("minimum"),
    "Identity": _emit_identity, "Dropout": _emit_dropout,
    "Cast": _emit_cast, "CastLike": _expr("{0}.astype({1}.dtype)"),
    "Flatten": _fn("flatten", {"axis": "axis"}),
    "Reshape": _fn("reshape", {"allowzero": "allowzero"}),
    "Transpose": _fn("transpose", {"perm": "perm"}),
    "Concat": _fn("concat", {"axis": "axis"}),
    "Split": _emit_split,
    "Gather": _fn("gather", {"axis": "axis"}),
    "GatherElements": _fn("gather_elements", {"axis": "axis"}),
    "Shape": _fn("shape", {"start": "start", "end": "end"}), "Size": _fn("size"),
    "Slice": _emit_slice, "Squeeze": _emit_squeeze, "Unsqueeze": _emit_unsqueeze,
    "Expand": _fn("expand"), "Tile": _fn("tile"), "ConstantOfShape": _emit_constant_of_shape,
    "Range": _fn("range_"), "Pad": _emit_pad, "Where": _fn("where"),
    "CumSum": _fn("cumsum", {"exclusive": "exclusive", "reverse": "reverse"}),
    "ReduceMean": _emit_reduce("mean", 18), "ReduceSum": _emit_reduce("sum", 13),
    "ReduceMax": _emit_reduce("max", 18), "ReduceMin": _emit_reduce("min", 18),
    "ReduceProd": _emit_reduce("prod", 18),
    "ArgMax": _emit_arg("argmax"), "ArgMin": _emit_arg("argmin"),
    "LSTM": _emit_recurrent("lstm", 3, {"input_forget": "input_forget"}),
    "GRU": _emit_recurrent("gru", 2, {"linear_before_reset": "linear_before_reset"}),
    "RNN": _emit_recurrent("rnn", 2, {}),
}
# Outputs past the first that these ops produce only in training or on request: refused when used.
_FIRST_OUTPUT_ONLY = {"MaxPool", "BatchNormalization"}

SUPPORTED_OPS = tuple(sorted(OPS) + ["Constant"])


# ---- the runtime functions a graph needs --------------------------------------------------------------

def _runtime_functions():
    return {name: fn for name, fn in vars(_rt).items()
            if isinstance(fn, types.FunctionType) and fn.__module__ == _rt.__name__}


def _names_in(code):
    names = set(code.co_names)
    for c in code.co_consts:
        if isinstance(c, types.CodeType):
            names |= _names_in(c)
    return names


def _closure(wanted):
    """The runtime functions ``wanted`` and every runtime function they call, in the module's order."""
    funcs = _runtime_functions()
    todo, seen = list(wanted), set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo.extend(n for n in _names_in(funcs[name].__code__) if n in funcs)
    return [name for name in funcs if name in seen]


# ---- the generator ------------------------------------------------------------------------------------

def _attrs(node):
    from onnx import helper, numpy_helper

    out = {}
    for a in node.attribute:
        v = helper.get_attribute_value(a)
        if isinstance(v, bytes):
            v = v.decode("utf-8")
        elif isinstance(v, (list, tuple)):
            v = [x.decode("utf-8") if isinstance(x, bytes) else x for x in v]
        elif hasattr(v, "data_type") and hasattr(v, "dims"):  # a TensorProto
            v = numpy_helper.to_array(v)
        out[a.name] = v
    return out


def _constant_value(node, attrs):
    for key in ("value_float", "value_int"):
        if key in attrs:
            return np.array(attrs[key], dtype=np.float32 if key == "value_float" else np.int64)
    for key in ("value_floats", "value_ints"):
        if key in attrs:
            return np.array(attrs[key], dtype=np.float32 if key == "value_floats" else np.int64)
    if "value" in attrs:
        return np.asarray(attrs["value"])
    raise StandaloneExportError(f"Constant node {node.name!r}: only value / value_float(s) / value_int(s) "
                                f"are supported, got {sorted(attrs)}")


def _dims(vi):
    t = vi.type.tensor_type
    if not t.HasField("shape"):
        return None
    return [d.dim_param or (d.dim_value if d.HasField("dim_value") else "?") for d in t.shape.dim]


def _type_of(vi):
    return _ONNX_DTYPES.get(vi.type.tensor_type.elem_type, "float32")


def _shape_text(dims):
    return "[" + ", ".join(str(d) for d in dims) + "]" if dims is not None else "?"


def generate(model_proto, name="model", weights_file=None, source=""):
    """Python source text of a standalone NumPy module for ``model_proto``, and its weights {name: array}.

    Raises StandaloneExportError listing every op of the graph it cannot write.
    """
    import onnx
    from onnx import numpy_helper

    weights_file = weights_file or f"{name}.safetensors"
    opset = next((o.version for o in model_proto.opset_import if o.domain in ("", "ai.onnx")), 17)
    if opset < 9:  # older operator versions differ in ways the emitters do not cover: lift the graph first
        from onnx import version_converter

        try:
            model_proto = version_converter.convert_version(model_proto, 13)
        except Exception as exc:  # noqa: BLE001 - the converter raises several kinds
            raise StandaloneExportError(f"standalone NumPy export: the graph's opset {opset} is older than 9 "
                                        f"and cannot be converted to opset 13 ({exc})") from None
        opset = 13
    graph = model_proto.graph
    foreign = sorted({f"{n.domain}::{n.op_type}" for n in graph.node if n.domain not in ("", "ai.onnx")})
    missing = sorted({n.op_type for n in graph.node if n.domain in ("", "ai.onnx")
                      and n.op_type not in OPS and n.op_type != "Constant"})
    if foreign or missing:
        raise StandaloneExportError(
            "standalone NumPy export: the graph uses ops it cannot write: " + ", ".join(missing + foreign)
            + f" (supported: {', '.join(SUPPORTED_OPS)})")
    try:
        inferred = onnx.shape_inference.infer_shapes(model_proto)
        shapes = {vi.name: _dims(vi) for vi in list(inferred.graph.value_info) + list(inferred.graph.output)}
    except Exception:  # noqa: BLE001 - shapes only annotate the comments
        shapes = {}

    funcs = set(_runtime_functions())
    names = _Names(funcs | set(dir(builtins)) | {
        "np", "W", "json", "math", "struct", "sys", "os", "run", "predict", "main", "INPUTS", "OUTPUTS",
        "WEIGHTS_FILE", "None", "True", "False", "_"})
    inits = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    graph_inputs = [vi for vi in graph.input if vi.name not in inits]
    weights, consts, expr = {}, {}, {}

    def bind_constant(key, value):
        consts[key] = value
        if value.size <= _INLINE_LIMIT and value.dtype.kind in "iub" or value.size <= 1:
            expr[key] = _lit(value)
        else:
            wname = key if key not in weights else f"{key}_{len(weights)}"
            weights[wname] = np.ascontiguousarray(value)
            expr[key] = f"W[{wname!r}]"

    for key, value in inits.items():
        bind_constant(key, value)
    for vi in graph_inputs:
        expr[vi.name] = names(vi.name)

    steps, produced, used_funcs, used_ops = [], set(), set(), set()
    for node in graph.node:
        attrs = _attrs(node)
        label = node.name or node.op_type
        if node.op_type == "Constant":
            bind_constant(node.output[0], _constant_value(node, attrs))
            continue
        used_ops.add(node.op_type)
        ins, cvals, reads = [], [], set()
        for x in node.input:
            if not x:
                ins.append(None)
                cvals.append(None)
                continue
            if x not in expr:
                raise StandaloneExportError(f"node {label!r} ({node.op_type}) reads {x!r}, which no earlier "
                                            "node computes (the graph is not in topological order)")
            ins.append(expr[x])
            cvals.append(consts.get(x))
            if expr[x] in produced:
                reads.add(expr[x])
        call, results, uses = OPS[node.op_type](_Node(node, ins, cvals, attrs, opset))
        used_funcs.update(uses)
        outs = list(node.output)
        if node.op_type in _FIRST_OUTPUT_ONLY and any(outs[1:]):
            raise StandaloneExportError(f"node {label!r} ({node.op_type}): only its first output is "
                                        f"supported, but the graph reads {[o for o in outs[1:] if o]}")
        if len(outs) > results:
            raise StandaloneExportError(f"node {label!r} ({node.op_type}) has {len(outs)} outputs; "
                                        f"the standalone code computes {results}")
        targets = [names(o) if o else "_" for o in outs] + ["_"] * (results - len(outs))
        for o, t in zip(outs, targets):
            if o:
                expr[o] = t
                produced.add(t)
        info = ", ".join(f"{t}: {_shape_text(shapes.get(o))}" for o, t in zip(outs, targets) if o)
        comment = f"    # {label} ({node.op_type}) -> {info}"
        lhs = targets[0] if results == 1 else ", ".join(targets)
        if results > 1 and all(t == "_" for t in targets[1:]):
            lhs = targets[0]
            call = f"{call}[0]"
        steps.append((comment, f"    {lhs} = {call}", reads))

    out_exprs = []
    for vi in graph.output:
        if vi.name not in expr:
            raise StandaloneExportError(f"graph output {vi.name!r} is computed by no node")
        out_exprs.append(expr[vi.name])
    # each intermediate is released after the last line that reads it (graph outputs are kept)
    last_read = {}
    for k, (_, _, reads) in enumerate(steps):
        for v in reads:
            last_read[v] = k
    body = []
    for k, (comment, line, _) in enumerate(steps):
        body += [comment, line]
        dead = sorted(v for v, at in last_read.items() if at == k and v not in out_exprs)
        if dead:
            body.append(f"    del {', '.join(dead)}")

    in_specs = [(vi.name, _type_of(vi), _dims(vi)) for vi in graph_inputs]
    out_specs = [(vi.name, _type_of(vi), _dims(vi)) for vi in graph.output]
    code = _module_text(name, weights_file, source, opset, model_proto, in_specs, out_specs,
                        [names(vi.name) for vi in graph_inputs], body, out_exprs, sorted(used_ops),
                        _closure(sorted(used_funcs) + ["load_weights"]))
    return code, weights, in_specs, out_specs, sorted(used_ops)


def _module_text(name, weights_file, source, opset, model_proto, in_specs, out_specs, in_names, body,
                 out_exprs, ops, func_names):
    from .. import __version__

    funcs = _runtime_functions()
    sig = ", ".join(["W"] + in_names)
    io = "\n".join([f"    {n}: {t} {_shape_text(d)}" for n, t, d in in_specs])
    oo = "\n".join([f"    {n}: {t} {_shape_text(d)}" for n, t, d in out_specs])
    example_args = ", ".join(in_names)
    producer = f"{model_proto.producer_name} {model_proto.producer_version}".strip() or "unknown"
    header = f'''"""{name}: the model's inference in NumPy alone (no framework needed).

Written by shendu {__version__} from an ONNX graph (opset {opset}, produced by {producer}){source}.
The weights are in {weights_file}, next to this file (the safetensors format, read here by hand).

Inputs:
{io}
Outputs:
{oo}
(Letters in a shape are axes of any size, such as the batch or the sequence length.)

In Python:
    import {name}
    outputs = {name}.predict({example_args})     # NumPy arrays in, NumPy arrays out
From a shell:
    python {name}.py {' '.join(f'{n}.npy' for n in in_names)} -o outputs.npz

Operators used: {', '.join(ops)}.
"""
import json
import math
import os
import struct
import sys

import numpy as np

WEIGHTS_FILE = {weights_file!r}
INPUTS = {_lit([[n, t, d] for n, t, d in in_specs])}
OUTPUTS = {_lit([[n, t, d] for n, t, d in out_specs])}
'''
    parts = [header, "\n# ---- the operators (ONNX semantics, NumPy code) " + "-" * 50 + "\n"]
    for fname in func_names:
        parts.append("\n" + inspect.getsource(funcs[fname]))
    ret = out_exprs[0] if len(out_exprs) == 1 else "(" + ", ".join(out_exprs) + ",)"
    parts.append("\n\n# ---- the model: one line per ONNX node " + "-" * 60 + "\n\n")
    parts.append(f'def run({sig}):\n    """The graph. W: the weights (load_weights); then the inputs."""'
                 '\n')
    parts.append("\n".join(body) + ("\n" if body else ""))
    parts.append(f"    return {ret}\n")
    parts.append(_TAIL)
    return "".join(parts)


_TAIL = '''

_WEIGHTS = {}


def predict(*inputs, weights=None):
    """Run the model on NumPy arrays (each cast to its declared dtype and checked against its shape).

    The weights file next to this module is read on the first call (or pass ``weights``, a path or a dict).
    Returns one array, or a tuple when the model has several outputs.
    """
    if len(inputs) != len(INPUTS):
        raise ValueError(f"the model takes {len(INPUTS)} input(s) ({', '.join(n for n, _, _ in INPUTS)}), "
                         f"got {len(inputs)}")
    if weights is None or isinstance(weights, str):
        path = weights or os.path.join(os.path.dirname(os.path.abspath(__file__)), WEIGHTS_FILE)
        if path not in _WEIGHTS:
            _WEIGHTS[path] = load_weights(path)
        weights = _WEIGHTS[path]
    arrays = []
    for x, (name, dtype, dims) in zip(inputs, INPUTS):
        x = np.asarray(x)
        if x.dtype.kind == "f" and np.dtype(dtype).kind in "iu" and not np.all(
                np.isfinite(x) & (x == np.round(x))):
            raise ValueError(f"input {name!r} holds non-integer values, expected {dtype}")
        x = x.astype(dtype, copy=False)
        if dims is not None and (x.ndim != len(dims) or any(
                isinstance(d, int) and d != s for d, s in zip(dims, x.shape))):
            raise ValueError(f"input {name!r} has shape {list(x.shape)}, expected {dims}")
        arrays.append(x)
    return run(weights, *arrays)


def main(argv=None):
    """python THIS_FILE.py INPUT.npy [...] [-o OUT.npz]: run on .npy files; save or print outputs."""
    args = list(sys.argv[1:] if argv is None else argv)
    out = None
    if "-o" in args:
        k = args.index("-o")
        if k + 1 >= len(args):
            print("error: -o needs a file name", file=sys.stderr)
            return 2
        out = args[k + 1]
        del args[k:k + 2]
    if not args or args[0] in ("-h", "--help") or len(args) != len(INPUTS):
        names = " ".join(f"{n.upper()}.npy" for n, _, _ in INPUTS)
        print(f"usage: python {os.path.basename(__file__)} {names} [-o OUT.npz]\\n"
              "Runs the model on the arrays in the .npy files; saves the outputs to OUT.npz (or .npy) or "
              "prints them.", file=sys.stderr if args and args[0] not in ("-h", "--help") else sys.stdout)
        return 0 if args and args[0] in ("-h", "--help") else 2
    try:
        ys = predict(*[np.load(a, allow_pickle=False) for a in args])
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    ys = ys if isinstance(ys, tuple) else (ys,)
    named = {n: y for (n, _, _), y in zip(OUTPUTS, ys)}
    if out is None:
        for n, y in named.items():
            print(f"{n}: shape {list(y.shape)} {y.dtype}")
            print(np.array2string(y, threshold=50))
    elif out.endswith(".npy") and len(ys) == 1:
        np.save(out, ys[0])
    else:
        np.savez(out, **named)
    return 0


if __name__ == "__main__":
    sys.exit(main())
'''


# ---- the public entry point ---------------------------------------------------------------------------

def _as_numpy(x):
    if hasattr(x, "detach"):
        x = x.detach()
    if hasattr(x, "numpy"):
        return np.asarray(x.numpy())
    return np.asarray(x)


def _example_tuple(example_input):
    if example_input is None:
        return None
    items = example_input if isinstance(example_input, (tuple, list)) else (example_input,)
    return tuple(_as_numpy(x) for x in items)


def _model_outputs(model, xs):
    """The source model's outputs on ``xs`` (numpy arrays), in eval mode without gradients."""
    import shendu as sd

    if hasattr(model, "predict") and hasattr(model, "compile"):  # a Keras-style model
        y = model.predict(xs[0] if len(xs) == 1 else list(xs), verbose=0)
    else:
        with sd.nn.training_mode(False), sd.no_grad():
            y = model(*[sd.tensor(x) for x in xs])
    ys = y if isinstance(y, (tuple, list)) else (y,)
    return tuple(_as_numpy(v) for v in ys)


def _onnxruntime_outputs(path, in_specs, xs):
    try:
        import onnxruntime as ort
    except ImportError:
        return None
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    feed = {n: x.astype(t) for (n, t, _), x in zip(in_specs, xs)}
    return tuple(sess.run(None, feed))


def load_module(code_path, module_name=None):
    """Import a generated ``.py`` file as a module (for checking it in the same process)."""
    module_name = module_name or f"_shendu_standalone_{abs(hash(os.path.abspath(code_path)))}"
    spec = importlib.util.spec_from_file_location(module_name, code_path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def to_numpy(model_or_onnx_path, example_input=None, out_dir=".", name="model", opset=17, verify=True,
             atol=1e-4):
    """Write ``out_dir/{name}.py`` and ``out_dir/{name}.safetensors``: the model's inference in NumPy alone.

    ``model_or_onnx_path`` is a shendu model (exported first with ``shendu.onnx.export(model, example_input,
    ..., opset=opset)``), an ``.onnx`` file or an ``onnx.ModelProto``. With ``example_input`` and
    ``verify``, the written code is run on it and compared with the model (or with onnxruntime for an ONNX
    file, when it is installed): ``max_abs_error`` holds each output's largest difference, and a difference
    above ``atol`` (relative to the output's scale) raises ``StandaloneExportError``.
    """
    import onnx

    from .._fileio import atomic_write_bytes, atomic_write_text
    from ..serialization import encode

    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) or keyword.iskeyword(name):
        raise ValueError(f"to_numpy: name must be a Python module name, got {name!r}")
    xs = _example_tuple(example_input)
    source_model, onnx_path, cleanup = None, None, None
    if isinstance(model_or_onnx_path, onnx.ModelProto):
        proto = model_or_onnx_path
    elif isinstance(model_or_onnx_path, (str, os.PathLike)):
        onnx_path = os.fspath(model_or_onnx_path)
        if not os.path.isfile(onnx_path):
            raise FileNotFoundError(f"to_numpy: {onnx_path}: no such ONNX file")
        try:
            proto = onnx.load(onnx_path)
        except Exception as exc:  # noqa: BLE001 - onnx raises DecodeError and others
            raise StandaloneExportError(f"to_numpy: {onnx_path}: not a readable ONNX file ({exc})") from None
    else:
        from ._export import export

        if xs is None:
            raise ValueError("to_numpy: a model needs an example_input to be traced into an ONNX graph")
        source_model = model_or_onnx_path
        fd, onnx_path = tempfile.mkstemp(suffix=".onnx")
        os.close(fd)
        cleanup = onnx_path
        export(source_model, example_input, onnx_path, opset=opset)
        proto = onnx.load(onnx_path)
    try:
        code, weights, in_specs, out_specs, ops = generate(
            proto, name=name, source=f" ({os.path.basename(onnx_path)})" if onnx_path and not cleanup else "")
        os.makedirs(out_dir, exist_ok=True)
        code_path = os.path.join(out_dir, f"{name}.py")
        weights_path = os.path.join(out_dir, f"{name}.safetensors")
        atomic_write_bytes(weights_path, encode(weights, {"format": "shendu standalone export"}))
        atomic_write_text(code_path, code)
        result = StandaloneExport(code_path, weights_path, in_specs, out_specs, ops)
        if verify and xs is not None:
            if source_model is not None:
                want = _model_outputs(source_model, xs)
            elif onnx_path is not None:
                want = _onnxruntime_outputs(onnx_path, in_specs, xs)
            else:
                want = None
            if want is not None:
                _check(result, load_module(code_path), xs, want, atol)
    finally:
        if cleanup:
            os.unlink(cleanup)
    return result


def _check(result, module, xs, want, atol):
    got = module.predict(*xs)
    got = got if isinstance(got, tuple) else (got,)
    for (oname, _, _), g, w in zip(result.outputs, got, want):
        g, w = np.asarray(g), np.asarray(w)
        if g.shape != w.shape:
            raise StandaloneExportError(f"to_numpy: output {oname!r} has shape {g.shape} in the standalone "
                                        f"code but {w.shape} in the model")
        err = float(np.max(np.abs(g.astype(np.float64) - w.astype(np.float64)))) if g.size else 0.0
        result.max_abs_error[oname] = err
        scale = max(1.0, float(np.max(np.abs(w)))) if w.size else 1.0
        if not err <= atol * scale:
            raise StandaloneExportError(f"to_numpy: output {oname!r} differs from the model by {err:.3g} "
                                        f"(more than {atol:g} x {scale:.3g})")

