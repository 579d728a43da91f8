"""Float64 gradient checks through imported ONNX ops: every differentiable input of each node gets
autograd's gradient compared with central differences (sd.gradcheck), so an imported model fine-tunes
correctly whatever ops it is made of."""
import numpy as np
import pytest

import shendu as sd
from conftest import require

D = 11  # TensorProto.DOUBLE


def _case(op, shapes, attrs=None, consts=None, opset=17, n_out=1):
    """A one-node float64 model: ``shapes`` are the differentiable inputs, ``consts`` int/constant inputs
    given as (position, array) pairs (fed as initializers), "" for an omitted optional input."""
    require("onnx")
    from onnx import helper, numpy_helper
    from shendu import onnx as sdonnx
    names = [f"x{i}" for i in range(len(shapes))]
    order = list(names)
    inits = []
    for pos, value in (consts or []):
        if value is None:
            order.insert(pos, "")
            continue
        name = f"c{pos}"
        inits.append(numpy_helper.from_array(np.asarray(value), name))
        order.insert(pos, name)
    outs = [f"y{i}" for i in range(n_out)]
    node = helper.make_node(op, order, outs, **(attrs or {}))
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info(n, D, None) for n in names],
                              [helper.make_tensor_value_info(o, D, None) for o in outs], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    return sdonnx.load(model)


def _check(module, shapes, seed=0, positive=()):
    rng = np.random.default_rng(seed)
    xs = [rng.standard_normal(s) for s in shapes]
    for i in positive:
        xs[i] = np.abs(xs[i]) + 0.5
    assert sd.gradcheck(lambda *t: module(*t), *xs)


CASES = {
    "gemm": ("Gemm", [(3, 4), (5, 4), (5,)], {"transB": 1, "alpha": 0.5, "beta": 2.0}, None),
    "matmul": ("MatMul", [(2, 3, 4), (4, 2)], None, None),
    "conv_asymmetric_pads_groups": ("Conv", [(1, 4, 5, 6), (4, 2, 3, 2), (4,)],
                                    {"pads": [1, 0, 0, 1], "strides": [2, 1], "group": 2}, None),
    "conv_1d_same": ("Conv", [(2, 2, 7), (3, 2, 3)], {"auto_pad": "SAME_UPPER", "strides": [2]}, None),
    "conv_transpose": ("ConvTranspose", [(1, 2, 3, 3), (2, 3, 3, 2), (3,)],
                       {"strides": [2, 2], "pads": [1, 0, 0, 1], "output_padding": [1, 1]}, None),
    "conv_3d_groups": ("Conv", [(1, 2, 4, 3, 4), (4, 1, 2, 2, 3), (4,)],
                       {"pads": [1, 0, 1, 0, 1, 0], "strides": [1, 2, 1], "group": 2}, None),
    "conv_transpose_3d": ("ConvTranspose", [(1, 2, 2, 3, 2), (2, 2, 2, 2, 2)],
                          {"strides": [2, 1, 2], "pads": [0, 1, 0, 1, 0, 0], "group": 2}, None),
    "maxpool_3d": ("MaxPool", [(1, 1, 4, 3, 4)], {"kernel_shape": [2, 2, 2], "pads": [1, 0, 0, 0, 1, 1]}, None),
    "avgpool_dilations": ("AveragePool", [(1, 2, 5, 5)],
                          {"kernel_shape": [2, 2], "dilations": [2, 1], "pads": [1, 1, 0, 1]}, None),
    "resize_cubic": ("Resize", [(1, 1, 3, 4)], {"mode": "cubic"},
                     [(1, None), (2, np.array([1, 1, 1.5, 0.75]))]),
    "resize_linear_align": ("Resize", [(1, 2, 3, 3)],
                            {"mode": "linear", "coordinate_transformation_mode": "align_corners"},
                            [(1, None), (2, None), (3, np.array([1, 2, 5, 4]))]),
    "scatter_nd": ("ScatterND", [(4, 3), (2, 3)], None, [(1, np.array([[2], [0]]))]),
    "gather_nd": ("GatherND", [(2, 3, 4)], {"batch_dims": 1}, [(1, np.array([[[1], [0]], [[2], [2]]]))]),
    "topk": ("TopK", [(3, 5)], None, [(1, np.array([2]))]),
    "cumsum_reverse_exclusive": ("CumSum", [(3, 4)], {"reverse": 1, "exclusive": 1}, [(1, np.array(1))]),
    "trilu": ("Trilu", [(2, 3, 3)], {"upper": 0}, None),
    "attention_gqa_causal_past": ("Attention", [(1, 4, 3, 2), (1, 2, 3, 2), (1, 2, 3, 2), (1, 2, 2, 2), (1, 2, 2, 2)],
                                  {"is_causal": 1, "softcap": 2.0},
                                  [(3, np.array([[0, -1, 0, 0, -2.0]] * 3))]),
    "attention_3d": ("Attention", [(2, 3, 4), (2, 5, 4), (2, 5, 6)], {"q_num_heads": 2, "kv_num_heads": 2,
                                                                      "scale": 0.3}, None),
    "lrn": ("LRN", [(2, 5, 3, 3)], {"size": 3, "alpha": 0.1}, None),
    "lppool": ("LpPool", [(1, 2, 5, 5)], {"kernel_shape": [2, 3], "p": 3, "pads": [1, 0, 0, 1]}, None),
    "groupnorm": ("GroupNormalization", [(2, 4, 3), (4,), (4,)], {"num_groups": 2}, None),
    "mvn": ("MeanVarianceNormalization", [(2, 3, 2, 2)], None, None),
    "cumprod_exclusive": ("CumProd", [(3, 4)], {"exclusive": 1}, [(1, np.array(1))]),
    "maxpool_pads_ceil": ("MaxPool", [(1, 2, 5, 5)],
                          {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 0, 0], "ceil_mode": 1}, None),
    "avgpool_exclude_pad": ("AveragePool", [(1, 2, 5, 4)],
                            {"kernel_shape": [2, 3], "pads": [1, 1, 1, 0], "count_include_pad": 0}, None),
    "avgpool_1d_include_pad": ("AveragePool", [(2, 1, 6)],
                               {"kernel_shape": [3], "pads": [1, 2], "strides": [2], "count_include_pad": 1}, None),
    "global_max": ("GlobalMaxPool", [(2, 3, 4, 4)], None, None),
    "batchnorm": ("BatchNormalization", [(2, 3, 2, 2), (3,), (3,), (3,), (3,)], {"epsilon": 1e-3}, None),
    "layernorm": ("LayerNormalization", [(2, 3, 4), (3, 4), (3, 4)], {"axis": -2}, None),
    "instancenorm": ("InstanceNormalization", [(2, 3, 5), (3,), (3,)], None, None),
    "softmax_13": ("Softmax", [(2, 3, 4)], {"axis": 1}, None),
    "logsoftmax": ("LogSoftmax", [(3, 5)], None, None),
    "selu": ("Selu", [(4, 5)], None, None),
    "celu": ("Celu", [(4, 5)], {"alpha": 0.7}, None),
    "hardswish": ("HardSwish", [(4, 5)], None, None),
    "prelu": ("PRelu", [(2, 3, 4), (3, 1)], None, None),
    "softplus": ("Softplus", [(4, 5)], None, None),
    "softsign": ("Softsign", [(4, 5)], None, None),
    "mish": ("Mish", [(4, 5)], None, None),
    "gelu_tanh": ("Gelu", [(4, 5)], {"approximate": "tanh"}, None),
    "erf": ("Erf", [(4, 5)], None, None),
    "div": ("Div", [(3, 4), (4,)], None, None),
    "pow": ("Pow", [(3, 4), (3, 4)], None, None),
    "sqrt": ("Sqrt", [(3, 4)], None, None),
    "where": ("Where", [(3, 4), (4,)], None, [(0, np.array([True, False, True, False]))]),
    "slice_negative_step": ("Slice", [(4, 6)], None,
                            [(1, np.array([-1, 5])), (2, np.array([0, -10])), (3, np.array([1, 0])),
                             (4, np.array([-2, -1]))]),
    "gather": ("Gather", [(5, 3)], {"axis": 0}, [(1, np.array([[0, -1], [2, 2]]))]),
    "pad_reflect": ("Pad", [(2, 5)], {"mode": "reflect"}, [(1, np.array([0, 2, 1, 1]))]),
    "pad_crop_constant": ("Pad", [(3, 4)], None, [(1, np.array([1, -1, -1, 2])), (2, np.array(0.5))]),
    "expand": ("Expand", [(3, 1)], None, [(1, np.array([2, 3, 4]))]),
    "reduce_l2": ("ReduceL2", [(3, 4, 2)], {"keepdims": 0}, [(1, np.array([0, 2]))]),
    "reduce_logsumexp": ("ReduceLogSumExp", [(3, 4)], None, [(1, np.array([1]))]),
    "reduce_mean_attr": ("ReduceMean", [(3, 4)], {"axes": [0]}, None),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradcheck(name):
    op, shapes, attrs, consts = CASES[name]
    opset = {"reduce_mean_attr": 13, "groupnorm": 21, "cumprod_exclusive": 26}.get(
        name, 23 if name.startswith("attention") else 20)
    module = _case(op, shapes, attrs, consts, opset=opset)
    positive = {"batchnorm": (4,), "sqrt": (0,), "pow": (0,)}.get(name, ())
    _check(module, shapes, positive=positive)


def test_gradcheck_softmax_before_opset_13_flattens_at_axis():
    _check(_case("Softmax", [(2, 3, 4)], {"axis": 1}, opset=11), [(2, 3, 4)])


def test_gradcheck_split_and_concat():
    module = _case("Split", [(4, 6)], {"axis": 1}, [(1, np.array([2, 4]))], n_out=2)
    _check(module, [(4, 6)])


RNN_CASES = {
    # fused layers (default activations, full-length sequences)
    "lstm_bidirectional": ("LSTM", 4, {"hidden_size": 3, "direction": "bidirectional"}, False, False),
    "gru_before_reset": ("GRU", 3, {"hidden_size": 3, "linear_before_reset": 1, "layout": 1}, False, False),
    "rnn_reverse": ("RNN", 1, {"hidden_size": 3, "direction": "reverse"}, False, False),
    # the step-by-step loop: GRU's default linear_before_reset=0, peepholes, sequence_lens
    "gru_after_reset": ("GRU", 3, {"hidden_size": 3, "direction": "bidirectional"}, False, False),
    "lstm_peepholes_lens": ("LSTM", 4, {"hidden_size": 3, "direction": "reverse"}, True, True),
}


@pytest.mark.parametrize("name", sorted(RNN_CASES))
def test_gradcheck_recurrent(name):
    op, gates, attrs, lens, peep = RNN_CASES[name]
    T, N, I, H = 4, 2, 3, attrs["hidden_size"]
    dirs = 2 if attrs.get("direction") == "bidirectional" else 1
    x = (N, T, I) if attrs.get("layout") else (T, N, I)
    h0 = (N, dirs, H) if attrs.get("layout") else (dirs, N, H)
    shapes = [x, (dirs, gates * H, I), (dirs, gates * H, H), (dirs, 2 * gates * H)]
    consts = [(4, np.array([4, 2], np.int32) if lens else None)]
    if op == "LSTM":
        shapes.append(h0)
        if peep:
            shapes.append(h0)
            shapes.append((dirs, 3 * H))
            module = _case(op, shapes, attrs, consts, n_out=3)
        else:
            module = _case(op, shapes[:5], attrs, consts, n_out=3)
    else:
        shapes.append(h0)
        module = _case(op, shapes, attrs, consts, n_out=2)
    _check(module, shapes)


def test_3d_convolutions_and_pools_match_pytorch(reference):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 4, 5, 4, 6))
    w = rng.standard_normal((6, 2, 3, 2, 3))
    b = rng.standard_normal(6)
    wt = rng.standard_normal((4, 3, 2, 3, 2))
    attrs = {"pads": [1, 0, 1, 1, 0, 1], "strides": [2, 1, 1], "dilations": [1, 2, 1], "group": 2}
    conv = _case("Conv", [x.shape, w.shape, b.shape], attrs)
    tattrs = {"pads": [1, 0, 0, 1, 0, 1], "strides": [2, 1, 2], "output_padding": [1, 0, 0], "group": 2}
    convt = _case("ConvTranspose", [x.shape, wt.shape], tattrs)
    pool = _case("MaxPool", [x.shape], {"kernel_shape": [2, 3, 2], "strides": [2, 1, 2], "pads": [1, 1, 0, 1, 1, 0]})
    avg = _case("AveragePool", [x.shape], {"kernel_shape": [3, 2, 2], "pads": [1, 0, 1, 1, 0, 1],
                                           "count_include_pad": 1})

    def torch_side(torch):
        F = torch.nn.functional
        tx = torch.tensor(x)
        y_conv = F.conv3d(F.pad(tx, (1, 1, 0, 0, 1, 1)), torch.tensor(w), torch.tensor(b), stride=(2, 1, 1),
                          dilation=(1, 2, 1), groups=2)
        full = F.conv_transpose3d(tx, torch.tensor(wt), stride=(2, 1, 2), output_padding=(1, 0, 0), groups=2)
        y_convt = full[:, :, 1:full.shape[2] - 1, 0:full.shape[3] - 0, 0:full.shape[4] - 1]
        y_pool = F.max_pool3d(F.pad(tx, (0, 0, 1, 1, 1, 1), value=-float("inf")), (2, 3, 2), stride=(2, 1, 2))
        y_avg = F.avg_pool3d(F.pad(tx, (1, 1, 0, 0, 1, 1)), (3, 2, 2), stride=1)
        return {"conv": y_conv, "convt": y_convt, "pool": y_pool, "avg": y_avg}

    ref = reference(torch_side)
    np.testing.assert_allclose(conv(x, w, b).numpy(), ref["conv"], rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(convt(x, wt).numpy(), ref["convt"], rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(pool(x).numpy(), ref["pool"], rtol=1e-12)
    np.testing.assert_allclose(avg(x).numpy(), ref["avg"], rtol=1e-10, atol=1e-12)
