"""ONNX QDQ export of a quantized model: a float graph, then QuantizeLinear/DequantizeLinear inserted.

A QDQ graph keeps the float operators and marks where values are int8:

    x ─ QuantizeLinear(s_x, zp) ─ DequantizeLinear(s_x, zp) ─┐
    W_int8 ─ DequantizeLinear(s_w[c], 0, axis=0) ──────────── Conv / Gemm ─ ...

Runtimes (onnxruntime, TensorRT, OpenVINO) fuse each Q → DQ → Conv into an int8 kernel; one without
int8 kernels still computes the right numbers. The weights are stored as int8 initializers, so the
file is about a quarter of the float one.

Export works in two steps: :func:`shendu.onnx.export` writes the float model that the int8 one
stands for (:func:`float_equivalent`; initializers named by ``state_dict`` key, ``"<i>.weight"``), and
:func:`insert_qdq` rewrites every Conv/Gemm whose weight initializer has quantization parameters —
a rewrite that applies to any float graph named that way.
"""
import numpy as np

from .. import nn
from .quantize import QuantizedConv2d, QuantizedLinear, QuantizedSequential

__all__ = ["export_qdq", "float_equivalent", "insert_qdq"]

OPSET = 17


def _onnx():
    try:
        import onnx
    except ImportError:
        raise ImportError("export_qdq needs the onnx package: pip install 'shendu[onnx]'") from None
    return onnx


def float_equivalent(qmodel):
    """An ``nn.Sequential`` of float layers that computes what ``qmodel`` computes, up to the rounding of
    activations: each quantized layer becomes a Conv2d/Linear holding its dequantized weights
    (scale_w · q_w) under the same index, so ``state_dict`` keys (and ONNX initializer names) match."""
    layers = []
    for m in qmodel.children():
        if isinstance(m, QuantizedConv2d):
            f = nn.Conv2d(m.in_channels, m.out_channels, m.kernel_size, m.stride, m.padding, m.dilation)
        elif isinstance(m, QuantizedLinear):
            f = nn.Linear(m.in_features, m.out_features)
        else:
            layers.append(m)
            continue
        f.weight.array[...] = m.dequantized_weight()
        f.bias.array[...] = m.bias.array
        layers.append(f)
    return nn.Sequential(*layers)


def insert_qdq(proto, qparams):
    """Rewrite ``proto`` in place: for every Conv/Gemm whose weight initializer name is a key of
    ``qparams`` (a dict name -> {"weight_int8", "weight_scale", "input_scale", "input_zero_point"}),
    store the weight as int8 + DequantizeLinear (per channel, axis 0) and put QuantizeLinear →
    DequantizeLinear on the node's input. Returns ``proto``."""
    from onnx import helper, numpy_helper

    graph = proto.graph
    inits = {t.name: t for t in graph.initializer}
    new_nodes = []
    for node in graph.node:
        if node.op_type in ("Conv", "Gemm") and node.input[1] in qparams:
            wname, xname = node.input[1], node.input[0]
            p = qparams[wname]
            q = np.asarray(p["weight_int8"], np.int8)
            graph.initializer.remove(inits[wname])
            graph.initializer.extend([
                numpy_helper.from_array(q, wname + "_int8"),
                numpy_helper.from_array(np.asarray(p["weight_scale"], np.float32), wname + "_scale"),
                numpy_helper.from_array(np.zeros(q.shape[0], np.int8), wname + "_zero_point"),
                numpy_helper.from_array(np.asarray(p["input_scale"], np.float32).reshape(()),
                                        xname + "_scale"),
                numpy_helper.from_array(np.asarray(p["input_zero_point"], np.int8).reshape(()),
                                        xname + "_zero_point"),
            ])
            new_nodes += [
                helper.make_node("QuantizeLinear", [xname, xname + "_scale", xname + "_zero_point"],
                                 [xname + "_q"], name=f"{node.name}.QuantizeInput"),
                helper.make_node("DequantizeLinear",
                                 [xname + "_q", xname + "_scale", xname + "_zero_point"],
                                 [xname + "_dq"], name=f"{node.name}.DequantizeInput"),
                helper.make_node("DequantizeLinear",
                                 [wname + "_int8", wname + "_scale", wname + "_zero_point"],
                                 [wname + "_dq"], name=f"{node.name}.DequantizeWeight", axis=0),
            ]
            node.input[0], node.input[1] = xname + "_dq", wname + "_dq"
        new_nodes.append(node)
    del graph.node[:]
    graph.node.extend(new_nodes)
    return proto


def export_qdq(qmodel, path, input_shape, check=True):
    """Write ``qmodel`` (from :func:`quantize`) as an ONNX QDQ file that onnxruntime runs.

    ``input_shape``: one sample's shape, e.g. (28, 28, 1) for a Keras image model; the batch axis is
    dynamic. The float graph comes from :func:`shendu.onnx.export` of :func:`float_equivalent`, whose
    initializers are named by ``state_dict`` key; :func:`insert_qdq` then rewrites it. The file is
    checked with ``onnx.checker.check_model(full_check=True)`` and written atomically.
    """
    import io

    onnx = _onnx()
    from .._fileio import atomic_write_bytes
    from ..onnx import export

    if not isinstance(qmodel, QuantizedSequential):
        raise TypeError(f"export_qdq: expected a QuantizedSequential (from quantize), got "
                        f"{type(qmodel).__name__}")
    example = np.zeros((2,) + tuple(int(d) for d in input_shape), np.float32)
    buffer = io.BytesIO()
    export(float_equivalent(qmodel), example, buffer, opset=OPSET)
    proto = onnx.load_from_string(buffer.getvalue())
    qparams = {f"{i}.weight": {k: m._buffers[k].array for k in
                               ("weight_int8", "weight_scale", "input_scale", "input_zero_point")}
               for i, m in enumerate(qmodel.children()) if isinstance(m, (QuantizedConv2d, QuantizedLinear))}
    missing = set(qparams) - {t.name for t in proto.graph.initializer}
    if missing:
        raise ValueError(f"export_qdq: the float graph has no initializer {sorted(missing)[0]!r}; "
                         "expected the exporter to name weights by state_dict key")
    insert_qdq(proto, qparams)
    if check:
        onnx.checker.check_model(proto, full_check=True)
    atomic_write_bytes(str(path), [proto.SerializeToString()])
    return proto
