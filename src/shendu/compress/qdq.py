"""ONNX QDQ export of a quantized model: a float graph, then QuantizeLinear/DequantizeLinear inserted.

A QDQ graph keeps the float operators and marks where values are int8:

    x ─ QuantizeLinear(s_x, zp) ─ DequantizeLinear(s_x, zp) ─┐
    W_int8 ─ DequantizeLinear(s_w[c], 0, axis=0) ──────────── Conv / Gemm ─ ...

Runtimes (onnxruntime, TensorRT, OpenVINO) fuse each Q → DQ → Conv into an int8 kernel; one without
int8 kernels still computes the right numbers. The weights are stored as int8 initializers, so the
file is about a quarter of the float one.

Export works in two steps, so that the second also applies to any float graph whose initializers are
named by ``state_dict`` key: :func:`float_graph` writes the folded float model (initializers
``"<i>.weight"``, ``"<i>.bias"``), and :func:`insert_qdq` rewrites every Conv/Gemm whose weight
initializer has quantization parameters.
"""
import numpy as np

from .. import nn
from .lower import Permute
from .quantize import QuantizedConv2d, QuantizedLinear, QuantizedSequential

__all__ = ["export_qdq", "float_graph", "insert_qdq"]

OPSET, IR_VERSION = 17, 8


def _onnx():
    try:
        import onnx
    except ImportError:
        raise ImportError("export_qdq needs the onnx package: pip install 'shendu[onnx]'") from None
    return onnx


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def float_graph(model, input_shape, output_shape, input_name="input", output_name="output"):
    """An ONNX ModelProto (opset 17) of a flat Sequential whose layers are float or quantized.

    ``input_shape`` / ``output_shape``: one sample's shapes (no batch axis); the batch axis is "N".
    Quantized layers are written with their dequantized weights (scale_w · q_w), so this graph alone
    computes what the int8 model computes up to activation rounding.
    """
    onnx = _onnx()
    from onnx import TensorProto, helper, numpy_helper

    nodes, inits = [], []
    cur = input_name
    for i, m in enumerate(model.children()):
        out = f"t{i}"
        kind = type(m).__name__
        if isinstance(m, (nn.Conv2d, QuantizedConv2d, nn.Linear, QuantizedLinear)):
            quant = isinstance(m, (QuantizedConv2d, QuantizedLinear))
            w = m.dequantized_weight() if quant else np.asarray(m.weight.array, np.float32)
            b = m.bias.array if m.bias is not None else np.zeros(w.shape[0], np.float32)
            inits += [numpy_helper.from_array(np.asarray(w, np.float32), f"{i}.weight"),
                      numpy_helper.from_array(np.asarray(b, np.float32), f"{i}.bias")]
            if w.ndim == 4:
                if isinstance(m, nn.Conv2d) and (m.groups != 1 or isinstance(m.padding, str)):
                    raise ValueError(f"export_qdq: layer {i} ({m!r}) has groups or string padding")
                ph, pw = _pair(m.padding)
                nodes.append(helper.make_node(
                    "Conv", [cur, f"{i}.weight", f"{i}.bias"], [out], name=f"{i}.Conv",
                    kernel_shape=list(w.shape[2:]), strides=list(_pair(m.stride)),
                    dilations=list(_pair(m.dilation)), pads=[ph, pw, ph, pw]))
            else:
                nodes.append(helper.make_node("Gemm", [cur, f"{i}.weight", f"{i}.bias"], [out],
                                              name=f"{i}.Gemm", transB=1))
        elif isinstance(m, Permute):
            nodes.append(helper.make_node("Transpose", [cur], [out], name=f"{i}.Transpose",
                                          perm=list(m.dims)))
        elif isinstance(m, (nn.MaxPool2d, nn.AvgPool2d)):
            k, s, p = _pair(m.kernel_size), _pair(m.stride), _pair(m.padding)
            odd = getattr(m, "ceil_mode", False) or _pair(getattr(m, "dilation", 1)) != (1, 1)
            if odd:
                raise ValueError(f"export_qdq: layer {i} ({m!r}) with ceil_mode or dilation is not supported")
            op = "MaxPool" if isinstance(m, nn.MaxPool2d) else "AveragePool"
            nodes.append(helper.make_node(op, [cur], [out], name=f"{i}.{op}", kernel_shape=list(k),
                                          strides=list(s), pads=[p[0], p[1], p[0], p[1]]))
        elif isinstance(m, nn.Flatten):
            nodes.append(helper.make_node("Flatten", [cur], [out], name=f"{i}.Flatten", axis=1))
        elif kind in ("ReLU", "Sigmoid", "Tanh"):
            op = {"ReLU": "Relu"}.get(kind, kind)
            nodes.append(helper.make_node(op, [cur], [out], name=f"{i}.{op}"))
        elif kind in ("Softmax", "LogSoftmax"):
            nodes.append(helper.make_node(kind, [cur], [out], name=f"{i}.{kind}", axis=-1))
        elif kind in ("Identity", "Dropout"):
            continue
        else:
            raise ValueError(f"export_qdq: layer {i} ({kind}) has no ONNX translation here; supported: "
                             "Conv2d, Linear, Permute, MaxPool2d, AvgPool2d, Flatten, ReLU, Sigmoid, Tanh, "
                             "Softmax, LogSoftmax")
        cur = out
    nodes[-1].output[0] = output_name
    graph = helper.make_graph(
        nodes, "shendu_quantized",
        [helper.make_tensor_value_info(input_name, TensorProto.FLOAT, ["N"] + list(input_shape))],
        [helper.make_tensor_value_info(output_name, TensorProto.FLOAT, ["N"] + list(output_shape))],
        initializer=inits)
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="shendu.compress")
    proto.ir_version = IR_VERSION
    del onnx
    return proto


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

    ``input_shape``: one sample's shape, e.g. (28, 28, 1) for a Keras image model. The file is
    written atomically and checked with ``onnx.checker.check_model(full_check=True)``.
    """
    onnx = _onnx()
    from .._fileio import atomic_write_bytes

    if not isinstance(qmodel, QuantizedSequential):
        raise TypeError(f"export_qdq: expected a QuantizedSequential (from quantize), got "
                        f"{type(qmodel).__name__}")
    input_shape = tuple(int(d) for d in input_shape)
    out_shape = qmodel.predict(np.zeros((1,) + input_shape, np.float32)).shape[1:]
    proto = float_graph(qmodel, input_shape, out_shape)
    qparams = {f"{i}.weight": {k: m._buffers[k].array for k in
                               ("weight_int8", "weight_scale", "input_scale", "input_zero_point")}
               for i, m in enumerate(qmodel.children()) if isinstance(m, (QuantizedConv2d, QuantizedLinear))}
    insert_qdq(proto, qparams)
    if check:
        onnx.checker.check_model(proto, full_check=True)
    atomic_write_bytes(str(path), [proto.SerializeToString()])
    return proto
