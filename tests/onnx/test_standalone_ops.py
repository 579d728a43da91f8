"""Every operator the standalone NumPy export writes, checked against onnxruntime on one-node graphs."""
import numpy as np
import pytest

from conftest import require

R = np.random.default_rng(0)
F32 = np.float32


def f(*shape):
    return R.standard_normal(shape).astype(F32)


def i64(*values):
    return np.array(values, dtype=np.int64)


def one_node(op, inputs, attrs=None, opset=17, outputs=1, out_types=None):
    """An ONNX model of one ``op`` node. ``inputs``: list of (array, is_constant) (None: an omitted input)."""
    onnx = require("onnx")
    from onnx import TensorProto, helper, numpy_helper

    names, graph_in, inits, feed = [], [], [], {}
    for k, item in enumerate(inputs):
        if item is None:
            names.append("")
            continue
        value, const = item
        name = f"in{k}"
        names.append(name)
        if const:
            inits.append(numpy_helper.from_array(value, name))
        else:
            graph_in.append(helper.make_tensor_value_info(
                name, helper.np_dtype_to_tensor_dtype(value.dtype), list(value.shape)))
            feed[name] = value
    out_names = [f"out{k}" for k in range(outputs)]
    out_types = out_types or [TensorProto.FLOAT] * outputs
    node = helper.make_node(op, names, out_names, name=f"the_{op}", **(attrs or {}))
    graph = helper.make_graph([node], "g", graph_in,
                              [helper.make_tensor_value_info(n, t, None) for n, t in zip(out_names, out_types)],
                              initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    del onnx  # onnxruntime checks the model
    return model, feed


def check(tmp_path, model, feed, atol=1e-5):
    ort = require("onnxruntime")
    import shendu.onnx as so
    from shendu.onnx._numpy import load_module

    want = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, feed)
    result = so.to_numpy(model, None, str(tmp_path), name="m")
    mod = load_module(result.code_path)
    got = mod.predict(*feed.values())
    got = got if isinstance(got, tuple) else (got,)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.shape == w.shape, (g.shape, w.shape)
        assert g.dtype == w.dtype, (g.dtype, w.dtype)
        np.testing.assert_allclose(g.astype(np.float64), w.astype(np.float64), rtol=1e-5, atol=atol)
    return result


TI = 7  # TensorProto.INT64
TB = 9  # TensorProto.BOOL

CASES = {
    "gemm": ("Gemm", [(f(3, 4), False), (f(5, 4), True), (f(5), True)], {"transB": 1, "alpha": 0.5, "beta": 2.0}),
    "gemm_trans_a": ("Gemm", [(f(4, 3), False), (f(4, 5), True)], {"transA": 1}),
    "matmul_batched": ("MatMul", [(f(2, 3, 4), False), (f(4, 5), True)], {}),
    "conv2d": ("Conv", [(f(2, 3, 9, 8), False), (f(4, 3, 3, 3), True), (f(4), True)],
               {"pads": [1, 0, 2, 1], "strides": [2, 1]}),
    "conv2d_groups_dilation": ("Conv", [(f(1, 4, 10, 10), False), (f(6, 2, 3, 3), True)],
                               {"group": 2, "dilations": [2, 1]}),
    "conv2d_same": ("Conv", [(f(1, 2, 7, 6), False), (f(3, 2, 3, 2), True)],
                    {"auto_pad": "SAME_UPPER", "strides": [2, 2]}),
    "conv1d": ("Conv", [(f(2, 3, 11), False), (f(5, 3, 4), True), (f(5), True)], {"pads": [1, 2]}),
    "conv_transpose": ("ConvTranspose", [(f(1, 4, 5, 5), False), (f(4, 3, 3, 3), True), (f(3), True)],
                       {"strides": [2, 2], "pads": [1, 1, 1, 1], "output_padding": [1, 1]}),
    "max_pool": ("MaxPool", [(f(2, 3, 9, 9), False)], {"kernel_shape": [2, 2], "strides": [2, 2]}),
    "max_pool_ceil_pad": ("MaxPool", [(f(1, 2, 8, 7), False)],
                          {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1], "ceil_mode": 1}),
    "max_pool_1d": ("MaxPool", [(f(2, 3, 10), False)], {"kernel_shape": [3], "strides": [2]}),
    "avg_pool": ("AveragePool", [(f(2, 3, 9, 9), False)], {"kernel_shape": [3, 3], "strides": [2, 2]}),
    "avg_pool_pad_exclude": ("AveragePool", [(f(1, 2, 7, 7), False)],
                             {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1], "strides": [2, 2]}),
    "avg_pool_pad_include": ("AveragePool", [(f(1, 2, 7, 7), False)],
                             {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1], "count_include_pad": 1}),
    "avg_pool_ceil": ("AveragePool", [(f(1, 2, 8, 8), False)],
                      {"kernel_shape": [3, 3], "strides": [2, 2], "ceil_mode": 1}),
    "global_avg_pool": ("GlobalAveragePool", [(f(2, 3, 5, 4), False)], {}),
    "global_max_pool": ("GlobalMaxPool", [(f(2, 3, 5, 4), False)], {}),
    "batch_norm": ("BatchNormalization", [(f(2, 3, 4, 4), False), (f(3), True), (f(3), True), (f(3), True),
                                          (np.abs(f(3)) + 0.5, True)], {"epsilon": 1e-3}),
    "layer_norm": ("LayerNormalization", [(f(2, 3, 8), False), (f(8), True), (f(8), True)], {}),
    "relu": ("Relu", [(f(3, 4), False)], {}),
    "sigmoid": ("Sigmoid", [(f(3, 4) * 30, False)], {}),
    "tanh": ("Tanh", [(f(3, 4), False)], {}),
    "leaky_relu": ("LeakyRelu", [(f(3, 4), False)], {"alpha": 0.2}),
    "elu": ("Elu", [(f(3, 4), False)], {"alpha": 0.7}),
    "celu": ("Celu", [(f(3, 4), False)], {"alpha": 1.5}),
    "selu": ("Selu", [(f(3, 4), False)], {}),
    "softplus": ("Softplus", [(f(3, 4) * 10, False)], {}),
    "softsign": ("Softsign", [(f(3, 4), False)], {}),
    "hard_sigmoid": ("HardSigmoid", [(f(3, 4) * 4, False)], {}),
    "hard_swish": ("HardSwish", [(f(3, 4) * 4, False)], {}),
    "thresholded_relu": ("ThresholdedRelu", [(f(3, 4), False)], {"alpha": 0.5}),
    "prelu": ("PRelu", [(f(2, 3, 4), False), (f(3, 1), True)], {}),
    "erf": ("Erf", [(f(3, 4), False)], {}),
    "gelu": ("Gelu", [(f(3, 4), False)], {}, 20),
    "gelu_tanh": ("Gelu", [(f(3, 4), False)], {"approximate": "tanh"}, 20),
    "mish": ("Mish", [(f(3, 4), False)], {}, 18),
    "clip": ("Clip", [(f(3, 4), False), (np.array(-0.5, F32), True), (np.array(0.3, F32), True)], {}),
    "clip_opset9": ("Clip", [(f(3, 4), False)], {"min": -0.5, "max": 0.3}, 9),
    "softmax": ("Softmax", [(f(2, 3, 4), False)], {"axis": 1}),
    "softmax_opset11": ("Softmax", [(f(2, 3, 4), False)], {"axis": 1}, 11),
    "log_softmax": ("LogSoftmax", [(f(2, 5), False)], {}),
    "add_broadcast": ("Add", [(f(2, 3, 4), False), (f(4), True)], {}),
    "sub": ("Sub", [(f(2, 3), False), (f(2, 3), False)], {}),
    "mul": ("Mul", [(f(2, 3), False), (f(1, 3), True)], {}),
    "div": ("Div", [(f(2, 3), False), (np.abs(f(2, 3)) + 1, True)], {}),
    "div_int": ("Div", [(i64(-7, 7, 5), False), (i64(2, -2, 5), True)], {}, 17, 1, [TI]),
    "pow": ("Pow", [(np.abs(f(2, 3)), False), (np.array(1.5, F32), True)], {}),
    "mod_fmod": ("Mod", [(i64(-7, 7, 5), False), (i64(3, -3, 2), True)], {"fmod": 0}, 17, 1, [TI]),
    "equal": ("Equal", [(i64(1, 2, 3), False), (i64(1, 0, 3), True)], {}, 17, 1, [TB]),
    "less": ("Less", [(f(5), False), (f(5), True)], {}, 17, 1, [TB]),
    "greater": ("Greater", [(f(5), False), (f(5), True)], {}, 17, 1, [TB]),
    "not": ("Not", [(np.array([True, False]), False)], {}, 17, 1, [TB]),
    "where": ("Where", [(np.array([[True, False, True]]), False), (f(2, 3), True), (f(1, 3), True)], {}),
    "exp": ("Exp", [(f(3), False)], {}), "log": ("Log", [(np.abs(f(3)) + 0.1, False)], {}),
    "sqrt": ("Sqrt", [(np.abs(f(3)), False)], {}), "neg": ("Neg", [(f(3), False)], {}),
    "abs": ("Abs", [(f(3), False)], {}), "reciprocal": ("Reciprocal", [(f(3) + 3, False)], {}),
    "floor": ("Floor", [(f(3) * 3, False)], {}), "ceil": ("Ceil", [(f(3) * 3, False)], {}),
    "sum3": ("Sum", [(f(2, 3), False), (f(3), True), (f(2, 1), True)], {}),
    "mean2": ("Mean", [(f(2, 3), False), (f(2, 3), True)], {}),
    "max2": ("Max", [(f(2, 3), False), (f(3), True)], {}),
    "min2": ("Min", [(f(2, 3), False), (f(3), True)], {}),
    "identity": ("Identity", [(f(2, 3), False)], {}),
    "dropout": ("Dropout", [(f(2, 3), False)], {}),
    "cast": ("Cast", [(f(2, 3) * 5, False)], {"to": TI}, 17, 1, [TI]),
    "flatten": ("Flatten", [(f(2, 3, 4, 5), False)], {"axis": 2}),
    "reshape": ("Reshape", [(f(2, 3, 4), False), (i64(0, -1, 2), True)], {}),
    "transpose": ("Transpose", [(f(2, 3, 4), False)], {"perm": [2, 0, 1]}),
    "transpose_default": ("Transpose", [(f(2, 3, 4), False)], {}),
    "concat": ("Concat", [(f(2, 3), False), (f(2, 1), True)], {"axis": -1}),
    "split": ("Split", [(f(2, 7), False), (i64(3, 4), True)], {"axis": 1}, 17, 2),
    "split_equal_opset18": ("Split", [(f(6, 2), False)], {"num_outputs": 3}, 18, 3),
    "split_opset11": ("Split", [(f(5, 2), False)], {"split": [2, 3]}, 11, 2),
    "gather": ("Gather", [(f(5, 3), True), (np.array([[0, 4], [-1, 2]], dtype=np.int64), False)], {}),
    "gather_axis1": ("Gather", [(f(2, 5, 3), False), (np.array(-1, dtype=np.int64), True)], {"axis": 1}),
    "gather_elements": ("GatherElements", [(f(3, 4), False), (np.array([[0, 3], [1, -1], [2, 2]]), True)],
                        {"axis": 1}),
    "shape": ("Shape", [(f(2, 3, 4), False)], {}, 17, 1, [TI]),
    "shape_start_end": ("Shape", [(f(2, 3, 4), False)], {"start": 1, "end": -1}, 17, 1, [TI]),
    "size": ("Size", [(f(2, 3, 4), False)], {}, 17, 1, [TI]),
    "slice": ("Slice", [(f(5, 6, 7), False), (i64(1, -1), True), (i64(4, -9223372036854775807), True),
                        (i64(0, 2), True), (i64(2, -2), True)], {}),
    "slice_opset9": ("Slice", [(f(5, 6), False)], {"starts": [1], "ends": [100], "axes": [1]}, 9),
    "squeeze": ("Squeeze", [(f(2, 1, 3, 1), False), (i64(1, -1), True)], {}),
    "squeeze_all": ("Squeeze", [(f(2, 1, 3, 1), False)], {}),
    "squeeze_opset11": ("Squeeze", [(f(2, 1, 3), False)], {"axes": [1]}, 11),
    "unsqueeze": ("Unsqueeze", [(f(2, 3), False), (i64(0, -1), True)], {}),
    "unsqueeze_opset11": ("Unsqueeze", [(f(2, 3), False)], {"axes": [1]}, 11),
    "expand": ("Expand", [(f(3, 1), False), (i64(2, 1, 4), True)], {}),
    "tile": ("Tile", [(f(2, 3), False), (i64(2, 1), True)], {}),
    "constant_of_shape": ("ConstantOfShape", [(i64(2, 3), False)], {}),
    "range": ("Range", [(np.array(1, np.int64), True), (np.array(10, np.int64), False),
                        (np.array(3, np.int64), True)], {}, 17, 1, [TI]),
    "pad": ("Pad", [(f(2, 3), False), (i64(1, 0, 0, 2), True), (np.array(1.5, F32), True)], {}),
    "pad_reflect": ("Pad", [(f(3, 4), False), (i64(1, 2, 1, 1), True)], {"mode": "reflect"}),
    "reduce_mean": ("ReduceMean", [(f(2, 3, 4), False)], {"axes": [1, -1]}),
    "reduce_mean_opset18": ("ReduceMean", [(f(2, 3, 4), False), (i64(1), True)], {"keepdims": 0}, 18),
    "reduce_sum": ("ReduceSum", [(f(2, 3, 4), False), (i64(0, 2), True)], {}),
    "reduce_sum_all": ("ReduceSum", [(f(2, 3, 4), False)], {"keepdims": 0}),
    "reduce_max": ("ReduceMax", [(f(2, 3, 4), False)], {"axes": [2]}),
    "argmax": ("ArgMax", [(f(3, 5), False)], {"axis": 1, "keepdims": 0}, 17, 1, [TI]),
    "argmin_last": ("ArgMin", [(np.array([[1, 0, 0, 2]], F32), False)], {"axis": 1, "select_last_index": 1},
                    17, 1, [TI]),
    "cumsum": ("CumSum", [(f(3, 4), False), (np.array(1, np.int64), True)], {"reverse": 1}),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_op_matches_onnxruntime(case, tmp_path):
    op, inputs, attrs, *rest = CASES[case]
    opset = rest[0] if rest else 17
    outputs = rest[1] if len(rest) > 1 else 1
    types = rest[2] if len(rest) > 2 else None
    model, feed = one_node(op, inputs, attrs, opset, outputs, types)
    check(tmp_path, model, feed)


def _rnn_case(op, gates, direction, layout=0, lens=False, initial=False, extra=None):
    d = 2 if direction == "bidirectional" else 1
    t, n, c, h = 5, 3, 4, 6
    x = f(n, t, c) if layout else f(t, n, c)
    inputs = [(x, False), (f(d, gates * h, c) * 0.5, True), (f(d, gates * h, h) * 0.5, True),
              (f(d, 2 * gates * h), True)]
    if lens or initial:
        inputs.append((np.array([5, 2, 4], dtype=np.int32), True) if lens else None)
    if initial:
        state = f(n, d, h) if layout else f(d, n, h)
        inputs.append((state, True))
        if op == "LSTM":
            inputs.append((state * 0.5, True))
    attrs = {"hidden_size": h, "direction": direction, "layout": layout, **(extra or {})}
    outs = 3 if op == "LSTM" else 2
    return one_node(op, inputs, attrs, 17, outs)


RNN_CASES = {
    "lstm_forward": ("LSTM", 4, "forward", {}),
    "lstm_reverse_lens_initial": ("LSTM", 4, "reverse", {"lens": True, "initial": True}),
    "lstm_bidirectional": ("LSTM", 4, "bidirectional", {"initial": True}),
    "lstm_bidirectional_lens": ("LSTM", 4, "bidirectional", {"lens": True}),
    "lstm_clip": ("LSTM", 4, "forward", {"extra": {"clip": 0.5}}),
    "gru_linear_before_reset": ("GRU", 3, "bidirectional", {"extra": {"linear_before_reset": 1}}),
    "gru_reset_first": ("GRU", 3, "forward", {"initial": True}),
    "gru_lens": ("GRU", 3, "reverse", {"lens": True}),
    "rnn_tanh": ("RNN", 1, "bidirectional", {"initial": True}),
    "rnn_relu": ("RNN", 1, "forward", {"extra": {"activations": ["Relu"]}}),
}


@pytest.mark.parametrize("case", sorted(RNN_CASES))
def test_recurrent_op_matches_onnxruntime(case, tmp_path):
    op, gates, direction, kw = RNN_CASES[case]
    model, feed = _rnn_case(op, gates, direction, **kw)
    check(tmp_path, model, feed)


def test_lstm_peepholes_match_onnxruntime(tmp_path):
    t, n, c, h = 4, 2, 3, 5
    inputs = [(f(t, n, c), False), (f(1, 4 * h, c), True), (f(1, 4 * h, h), True), (f(1, 8 * h), True),
              None, None, None, (f(1, 3 * h), True)]
    model, feed = one_node("LSTM", inputs, {"hidden_size": h}, 17, 3)
    check(tmp_path, model, feed)


def test_unsupported_ops_are_all_named_at_once(tmp_path):
    onnx = require("onnx")
    import shendu.onnx as so
    from onnx import TensorProto, helper

    nodes = [helper.make_node("Einsum", ["x", "x"], ["a"], equation="ij,ij->ij"),
             helper.make_node("Relu", ["a"], ["b"]),
             helper.make_node("NonMaxSuppression", ["b", "b"], ["y"])]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 2])],
                              [helper.make_tensor_value_info("y", TensorProto.INT64, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    with pytest.raises(so.StandaloneExportError, match="Einsum, NonMaxSuppression") as info:
        so.to_numpy(model, None, str(tmp_path))
    assert "Relu" not in str(info.value).split("(supported")[0]
    assert not list(tmp_path.iterdir()), "nothing is written when the graph cannot be exported"
    del onnx


def test_constant_nodes_inline_small_values_and_store_big_ones(tmp_path):
    require("onnx")
    from onnx import TensorProto, helper, numpy_helper

    big = f(4, 4)
    nodes = [helper.make_node("Constant", [], ["k"], value=numpy_helper.from_array(big, "k")),
             helper.make_node("Constant", [], ["s"], value_float=2.0),
             helper.make_node("MatMul", ["x", "k"], ["a"]), helper.make_node("Mul", ["a", "s"], ["y"])]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 4])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    x = f(3, 4)
    result = check(tmp_path, model, {"x": x})
    code = open(result.code_path).read()
    assert "np.array(2.0, dtype=np.float32)" in code and "W['k']" in code
    from shendu.onnx._numpy import load_module

    np.testing.assert_allclose(load_module(result.code_path).predict(x), x @ big * 2, rtol=1e-6)


def test_graphs_older_than_opset_9_are_lifted_first(tmp_path):
    # an opset-8 graph is converted to opset 13 (Unsqueeze's axes move from attribute to input)
    model, feed = one_node("Unsqueeze", [(f(2, 3), False)], {"axes": [0]}, 8)
    result = check(tmp_path, model, feed)
    assert "unsqueeze(" in open(result.code_path).read()


def test_value_names_that_are_python_keywords_or_builtins_are_renamed(tmp_path):
    require("onnx")
    from onnx import TensorProto, helper

    nodes = [helper.make_node("Relu", ["lambda"], ["float"]), helper.make_node("Neg", ["float"], ["1st"]),
             helper.make_node("Add", ["1st", "W"], ["y/out:0"])]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("lambda", TensorProto.FLOAT, [2]),
                                           helper.make_tensor_value_info("W", TensorProto.FLOAT, [2])],
                              [helper.make_tensor_value_info("y/out:0", TensorProto.FLOAT, [2])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    result = check(tmp_path, model, {"lambda": f(2), "W": f(2)})
    module = result.load()
    assert module.INPUTS[0][0] == "lambda" and module.OUTPUTS[0][0] == "y/out:0"
