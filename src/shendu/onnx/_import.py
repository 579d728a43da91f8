"""ONNX import: ``shendu.onnx.load(path) -> nn.Module`` that runs the graph with shendu's own ops.

The file is parsed with the ``onnx`` package (only to read it; nothing else of onnx, and never
onnxruntime, runs at inference). Every node is bound at load time to the implementation registered
for its op and the model's opset (see :mod:`shendu.onnx._ops`), so a model with an op shendu lacks
fails right away with the whole list of what is missing. Float initializers become ``nn.Parameter``s
(the model fine-tunes); BatchNormalization statistics, scalars and integer initializers are buffers.
"""
import os
import re

import numpy as np

from .. import nn
from ..tensor import Tensor
from ._ops import lookup
from ._ops._common import Context

MIN_OPSET = 9   # older models are lifted to this opset with onnx.version_converter
_LIFT_TO = 13


class OnnxImportError(ValueError):
    """An ONNX model that shendu cannot load (unsupported ops, a bad file, a newer opset)."""


class OnnxRuntimeError(RuntimeError):
    """A node of an imported ONNX graph failed while running; the message names the node."""


def _onnx():
    try:
        import onnx
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("shendu.onnx.load needs the onnx package: pip install 'shendu[onnx]'") from exc
    return onnx


def _read(source):
    onnx = _onnx()
    if isinstance(source, onnx.ModelProto):
        return source
    if isinstance(source, (bytes, bytearray, memoryview)):
        return onnx.load_from_string(bytes(source))
    if isinstance(source, (str, os.PathLike)):
        if not os.path.exists(source):
            raise FileNotFoundError(f"shendu.onnx.load: no such file: {os.fspath(source)!r}")
        try:
            return onnx.load(os.fspath(source))
        except Exception as exc:
            raise OnnxImportError(f"shendu.onnx.load: {os.fspath(source)!r} is not a readable ONNX model "
                                  f"({exc})") from exc
    if hasattr(source, "read"):
        return onnx.load_from_string(source.read())
    raise TypeError(f"shendu.onnx.load: expected a path, bytes or an onnx.ModelProto, "
                    f"got {type(source).__name__}")


def _opset(model):
    for imp in model.opset_import:
        if imp.domain in ("", "ai.onnx"):
            return imp.version
    return 1


def _lift(model):
    opset = _opset(model)
    if opset >= MIN_OPSET:
        return model
    ops = {n.op_type for n in model.graph.node if n.domain in ("", "ai.onnx")}
    if "Scan" in ops and all(lookup(op, opset) for op in ops):
        return model   # onnx.version_converter drops Scan-8's batch axis; shendu runs Scan-8 itself
    from onnx import version_converter
    try:
        return version_converter.convert_version(model, _LIFT_TO)
    except Exception as exc:
        raise OnnxImportError(f"shendu.onnx.load: the model uses opset {opset}; lifting it to opset "
                              f"{_LIFT_TO} with onnx.version_converter failed: {exc}") from exc


def _attributes(node, opset, missing):
    from onnx import helper, numpy_helper
    out = {}
    for a in node.attribute:
        value = helper.get_attribute_value(a)
        if a.type == a.GRAPH:                      # If/Loop/Scan bodies run as bound subgraphs
            value = _bind_graph(value, opset, missing)
        elif isinstance(value, bytes):
            value = value.decode("utf-8")
        elif isinstance(value, list) and value and isinstance(value[0], bytes):
            value = [v.decode("utf-8") for v in value]
        elif hasattr(value, "data_type") and hasattr(value, "dims"):  # a TensorProto
            value = numpy_helper.to_array(value)
        out[a.name] = value
    return out


class Graph:
    """A bound (sub)graph: (impl, inputs, outputs, attributes, op_type, name) per node, its input and
    output names, and its constant initializers (subgraphs only; the main graph's live on the module)."""

    def __init__(self, nodes, input_names, output_names, constants):
        self.nodes, self.input_names, self.output_names, self.constants = (
            nodes, input_names, output_names, constants)


def _bind_graph(graph, opset, missing, with_constants=True):
    """Bind every node of ``graph`` to its implementation; unknown ops are collected in ``missing``."""
    from onnx import numpy_helper
    nodes = []
    for node in graph.node:
        key = node.op_type if node.domain in ("", "ai.onnx") else f"{node.domain}::{node.op_type}"
        impl = lookup(node.op_type, opset) if node.domain in ("", "ai.onnx") else None
        if impl is None:
            missing.setdefault(key, []).append(node.name or "(unnamed)")
        nodes.append((impl, list(node.input), list(node.output), _attributes(node, opset, missing),
                      node.op_type, node.name or f"{node.op_type}_{len(nodes)}"))
    init_names = {t.name for t in graph.initializer}
    constants = {}
    if with_constants:
        for t in graph.initializer:
            array = numpy_helper.to_array(t).copy()
            constants[t.name] = Tensor(array) if array.dtype.kind in "fc" else array
    return Graph(nodes, [i.name for i in graph.input if i.name not in init_names],
                 [o.name for o in graph.output], constants)


def run_graph(graph, env, opset, training=False):
    """Run ``graph``'s nodes over ``env`` (name → value; updated in place) and return its outputs."""
    env.update(graph.constants)
    env[""] = None
    for impl, ins, outs, attrs, op_type, node_name in graph.nodes:
        args = [env[i] if i else None for i in ins]
        while args and args[-1] is None:
            args.pop()
        ctx = Context(opset, op_type, node_name, len(outs), training)
        ctx.env = env
        try:
            result = impl(ctx, args, attrs)
        except OnnxRuntimeError:
            raise
        except Exception as exc:
            shapes = [None if a is None else tuple(np.shape(a.array if isinstance(a, Tensor) else a))
                      for a in args]
            raise OnnxRuntimeError(f"ONNX node {node_name!r} ({op_type}, opset {opset}) failed on "
                                   f"inputs of shapes {shapes}: {type(exc).__name__}: {exc}") from exc
        if not isinstance(result, tuple):
            result = (result,)
        for name, value in zip(outs, result):
            if name:
                env[name] = value
    return [env[name] for name in graph.output_names]


def sanitize(name, taken):
    """An ONNX name as a Python attribute name (``fc1.weight`` → ``fc1_weight``), unique in ``taken``."""
    base = re.sub(r"\W", "_", name).strip("_") or "param"
    if base[0].isdigit():
        base = "p_" + base
    candidate, i = base, 1
    while candidate in taken:
        i += 1
        candidate = f"{base}_{i}"
    taken.add(candidate)
    return candidate


# inputs that hold statistics or settings, not weights to train: (op_type, input index)
_NOT_TRAINABLE = {("BatchNormalization", 3), ("BatchNormalization", 4)}


class OnnxModule(nn.Module):
    """An ONNX graph as a shendu module: ``forward(*inputs)`` takes the graph inputs in order.

    ``onnx_names`` maps each parameter/buffer name to the ONNX initializer it came from;
    ``input_names`` and ``output_names`` are the graph's; ``opset`` is the default-domain opset.
    """

    def __init__(self, model):
        super().__init__()
        from onnx import numpy_helper
        graph = model.graph
        self.opset = _opset(model)
        self.ir_version = model.ir_version
        self.graph_name = graph.name
        missing = {}
        self._graph = _bind_graph(graph, self.opset, missing, with_constants=False)
        self.input_names = list(self._graph.input_names)
        self.output_names = list(self._graph.output_names)
        if missing:
            listing = ", ".join(f"{op} ({len(names)} node{'s' if len(names) > 1 else ''})"
                                for op, names in sorted(missing.items()))
            raise OnnxImportError(f"shendu.onnx.load: the model (opset {self.opset}) uses {len(missing)} "
                                  f"op{'s' if len(missing) > 1 else ''} shendu does not support: {listing}")
        not_trainable = set()
        for node in graph.node:
            for i, name in enumerate(node.input):
                if (node.op_type, i) in _NOT_TRAINABLE:
                    not_trainable.add(name)
        taken = set(dir(self))
        self.onnx_names = {}
        self._init_slots = {}     # onnx name -> attribute name
        for t in graph.initializer:
            array = numpy_helper.to_array(t).copy()
            attr = sanitize(t.name, taken)
            if array.dtype.kind == "f" and array.ndim > 0 and t.name not in not_trainable:
                self.register_parameter(attr, nn.Parameter(Tensor(array)))
            else:
                self.register_buffer(attr, Tensor(array))
            self.onnx_names[attr] = t.name
            self._init_slots[t.name] = attr

    def extra_repr(self):
        return (f"opset={self.opset}, inputs={self.input_names}, outputs={self.output_names}, "
                f"nodes={len(self._graph.nodes)}")

    def _constants(self):
        env = {}
        for name, attr in self._init_slots.items():
            value = getattr(self, attr)
            env[name] = value.array if value.array.dtype.kind not in "fc" else value
        return env

    def forward(self, *inputs):
        if len(inputs) != len(self.input_names):
            raise TypeError(f"OnnxModule: the graph takes {len(self.input_names)} input(s) "
                            f"{self.input_names}, got {len(inputs)}")
        env = self._constants()
        for name, value in zip(self.input_names, inputs):
            env[name] = _as_value(value)
        run_graph(self._graph, env, self.opset, self.training)
        results = tuple(_as_output(env[name]) for name in self.output_names)
        return results[0] if len(results) == 1 else results


def _as_value(value):
    """A graph input: float data as a Tensor (gradients may flow), integers and booleans as arrays."""
    if isinstance(value, Tensor):
        return value if value.array.dtype.kind in "fc" else value.array
    array = np.asarray(value)
    return Tensor(array) if array.dtype.kind in "fc" else array


def _as_output(value):
    return value if isinstance(value, Tensor) else Tensor(np.asarray(value))


def load(source):
    """Load an ONNX model (a path, bytes, a file object or an ``onnx.ModelProto``) as an ``nn.Module``.

    The module's ``forward(*inputs)`` takes the graph inputs in graph order (Tensors or NumPy arrays)
    and returns one Tensor, or a tuple for several outputs. Raises :class:`OnnxImportError` naming every
    op the model uses that shendu does not support.
    """
    model = _lift(_read(source))
    return OnnxModule(model)
