"""shendu.onnx.load on models exported by torch.onnx.export (opsets 13 and 17): outputs match PyTorch,
imported weights are Parameters that train, unsupported ops fail at load time listing every one."""
from pathlib import Path

import numpy as np
import pytest

import shendu as sd
from conftest import require

REF = Path(__file__).resolve().parent.parent / "references" / "onnx"
MODELS = [("mlp", 13), ("mlp", 17), ("cnn", 13), ("cnn", 17), ("resblock", 13), ("resblock", 17),
          ("lstm", 13), ("lstm", 17), ("gru", 13), ("gru", 17), ("transformer", 14), ("transformer", 17)]


def _load(name, opset):
    require("onnx")
    from shendu import onnx as sdonnx
    return sdonnx.load(REF / f"{name}_op{opset}.onnx"), np.load(REF / f"{name}_op{opset}.npz")


@pytest.mark.parametrize("name,opset", MODELS, ids=[f"{n}-op{o}" for n, o in MODELS])
def test_matches_pytorch_at_two_batch_sizes(name, opset):
    model, data = _load(name, opset)
    model.eval()
    with sd.no_grad():
        for i in (0, 1):                       # one file, two batch sizes (and sequence lengths)
            got = model(data[f"x{i}"]).numpy()
            assert got.dtype == np.float32
            np.testing.assert_allclose(got, data[f"y{i}"], rtol=1e-4, atol=1e-5,
                                       err_msg=f"{name} opset {opset}, input {i}")


def test_weights_are_parameters_named_after_the_onnx_initializers():
    model, _ = _load("mlp", 17)
    names = dict(model.named_parameters())
    assert names and all(isinstance(p, sd.nn.Parameter) for p in names.values())
    assert {model.onnx_names[k] for k in names} >= {"net.0.weight", "net.0.bias", "net.5.weight"}
    assert "net_0_weight" in names


def test_batchnorm_statistics_are_buffers_not_parameters():
    model, _ = _load("resblock", 17)
    onnx_params = {model.onnx_names[k] for k, _ in model.named_parameters()}
    onnx_buffers = {model.onnx_names[k] for k, _ in model.named_buffers()}
    assert "bn_out.running_mean" in onnx_buffers and "bn_out.running_var" in onnx_buffers
    assert "bn_out.weight" in onnx_params


@pytest.mark.parametrize("name,opset", [("mlp", 13), ("cnn", 17), ("resblock", 17), ("lstm", 17), ("gru", 13),
                                        ("transformer", 17)])
def test_imported_model_trains_one_step_and_its_loss_falls(name, opset):
    model, data = _load(name, opset)
    x = data["x1"]
    n_classes = data["y1"].shape[1]
    target = sd.tensor(np.arange(len(x)) % n_classes)
    opt = sd.optim.SGD(model.parameters(), lr=0.05)

    def loss_value():
        return sd.nn.functional.cross_entropy(model(x), target)

    loss = loss_value()
    opt.zero_grad()
    loss.backward()
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None for g in grads), "every imported weight receives a gradient"
    opt.step()
    assert float(loss_value().item()) < float(loss.item())


def _model(nodes, inputs, outputs, opset=17, initializers=()):
    require("onnx")
    from onnx import helper
    graph = helper.make_graph(nodes, "g", inputs, outputs, list(initializers))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def _vi(name, elem=1, shape=None):
    from onnx import helper
    return helper.make_tensor_value_info(name, elem, shape)


def test_unsupported_ops_fail_at_load_listing_all_of_them():
    require("onnx")
    from onnx import helper
    from shendu import onnx as sdonnx
    from shendu.onnx._import import OnnxImportError
    nodes = [helper.make_node("Relu", ["x"], ["a"]),
             helper.make_node("NonMaxSuppression", ["a"], ["b"]),
             helper.make_node("StringNormalizer", ["b"], ["c"]),
             helper.make_node("NonMaxSuppression", ["c"], ["d"]),
             helper.make_node("Frobnicate", ["d"], ["y"], domain="com.example")]
    model = _model(nodes, [_vi("x", 1, [2, 2])], [_vi("y", 1, None)])
    with pytest.raises(OnnxImportError) as err:
        sdonnx.load(model)
    msg = str(err.value)
    for op in ("NonMaxSuppression (2 nodes)", "StringNormalizer", "com.example::Frobnicate"):
        assert op in msg
    assert "Relu" not in msg


def test_old_opset_models_are_lifted():
    require("onnx")
    from onnx import helper
    from shendu import onnx as sdonnx
    nodes = [helper.make_node("Add", ["x", "b"], ["s"]), helper.make_node("Relu", ["s"], ["y"])]
    model = _model(nodes, [_vi("x", 1, [2, 3]), _vi("b", 1, [3])], [_vi("y", 1, [2, 3])], opset=7)
    model.ir_version = 3
    m = sdonnx.load(model)
    assert m.opset >= 9
    x, b = np.array([[-1, 2, 3], [4, -5, 6]], np.float32), np.array([1, 1, -10], np.float32)
    np.testing.assert_array_equal(m(x, b).numpy(), np.maximum(x + b, 0))


def test_load_accepts_bytes_and_a_path(tmp_path):
    require("onnx")
    from shendu import onnx as sdonnx
    raw = (REF / "mlp_op17.onnx").read_bytes()
    a = sdonnx.load(raw)
    p = tmp_path / "m.onnx"
    p.write_bytes(raw)
    b = sdonnx.load(str(p))
    x = np.load(REF / "mlp_op17.npz")["x0"]
    np.testing.assert_array_equal(a(x).numpy(), b(x).numpy())
    with pytest.raises(FileNotFoundError, match="no such file"):
        sdonnx.load(tmp_path / "missing.onnx")


def test_a_failing_node_is_named_in_the_error():
    require("onnx")
    from onnx import helper, numpy_helper
    from shendu import onnx as sdonnx
    from shendu.onnx._import import OnnxRuntimeError
    shape = numpy_helper.from_array(np.array([5, 5], np.int64), "shape")
    model = _model([helper.make_node("Reshape", ["x", "shape"], ["y"], name="bad_reshape")],
                   [_vi("x", 1, [2, 3])], [_vi("y", 1, None)], initializers=[shape])
    with pytest.raises(OnnxRuntimeError, match="bad_reshape.*Reshape"):
        sdonnx.load(model)(np.zeros((2, 3), np.float32))


def test_multiple_outputs_come_back_as_a_tuple():
    require("onnx")
    from onnx import helper
    from shendu import onnx as sdonnx
    nodes = [helper.make_node("Relu", ["x"], ["a"]), helper.make_node("Neg", ["x"], ["b"])]
    m = sdonnx.load(_model(nodes, [_vi("x", 1, [2])], [_vi("a", 1, [2]), _vi("b", 1, [2])]))
    a, b = m(np.array([-1.0, 2.0], np.float32))
    np.testing.assert_array_equal(a.numpy(), [0, 2])
    np.testing.assert_array_equal(b.numpy(), [1, -2])


def test_the_docs_op_table_matches_the_registry():
    from shendu.onnx._ops import op_table
    doc = (Path(__file__).resolve().parents[2] / "docs" / "onnx-import.md").read_text()
    missing = [row for row in op_table() if row not in doc]
    assert not missing, f"docs/onnx-import.md's op table is stale; add: {missing}"


def _torch_model_at(torch, opset):
    """A small conv net with BatchNorm, a padded max pool, Softmax over axis 1, an LSTM head — exported
    by torch.onnx at ``opset``. Returns the file's bytes (as uint8) with an input and PyTorch's output."""
    import io
    import warnings
    nn = torch.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(2, 4, 3, padding=1)
            self.bn = nn.BatchNorm2d(4)
            self.rnn = nn.LSTM(4 * 3, 5, batch_first=True, bidirectional=True)
            self.fc = nn.Linear(10, 3)

        def forward(self, x):
            x = torch.max_pool2d(torch.relu(self.bn(self.conv(x))), 3, 2, 1)   # (N, 4, 3, 3)
            seq = x.permute(0, 3, 1, 2).flatten(2)                              # (N, 3, 12)
            out, _ = self.rnn(seq)
            return torch.softmax(self.fc(out[:, -1]), dim=1)

    torch.manual_seed(0)
    net = Net()
    net.bn.running_mean.uniform_(-0.5, 0.5)
    net.bn.running_var.uniform_(0.5, 1.5)
    net.eval()
    x = torch.randn(2, 2, 6, 6, generator=torch.Generator().manual_seed(1))
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(net, (x,), buf, dynamo=False, opset_version=opset, input_names=["x"])
    with torch.no_grad():
        y = net(x)
    return {"model": np.frombuffer(buf.getvalue(), np.uint8).copy(), "x": x, "y": y}


@pytest.mark.parametrize("opset", [9, 11, 15, 20])
def test_torch_exports_from_opset_9_to_20_load_and_match(opset, reference):
    require("onnx")
    from shendu import onnx as sdonnx
    ref = reference(lambda torch: _torch_model_at(torch, opset))
    model = sdonnx.load(ref["model"].tobytes())
    assert model.opset == opset
    np.testing.assert_allclose(model(ref["x"]).numpy(), ref["y"], rtol=1e-4, atol=1e-6)


def test_a_loop_body_reads_outer_weights_and_they_train():
    require("onnx")
    from onnx import TensorProto, helper, numpy_helper
    from shendu import onnx as sdonnx
    rng = np.random.default_rng(0)
    w = (rng.standard_normal((3, 3)) * 0.5).astype(np.float32)
    body = helper.make_graph(
        [helper.make_node("MatMul", ["v_in", "W"], ["m"]), helper.make_node("Tanh", ["m"], ["v_out"]),
         helper.make_node("Identity", ["cond_in"], ["cond_out"]), helper.make_node("Identity", ["v_out"], ["scan"])],
        "body",
        [helper.make_tensor_value_info("i", TensorProto.INT64, []),
         helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
         helper.make_tensor_value_info("v_in", TensorProto.FLOAT, None)],
        [helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
         helper.make_tensor_value_info("v_out", TensorProto.FLOAT, None),
         helper.make_tensor_value_info("scan", TensorProto.FLOAT, None)])
    trip = numpy_helper.from_array(np.array(3, np.int64), "trip")
    node = helper.make_node("Loop", ["trip", "", "x"], ["y", "steps"], body=body)
    model = _model([node], [_vi("x", 1, [2, 3])], [_vi("y", 1, None), _vi("steps", 1, None)],
                   initializers=[trip, numpy_helper.from_array(w, "W")])
    m = sdonnx.load(model)
    x = rng.standard_normal((2, 3)).astype(np.float32)
    y, steps = m(x)
    expect = x
    for _ in range(3):
        expect = np.tanh(expect @ w)
    np.testing.assert_allclose(y.numpy(), expect, rtol=1e-6)
    assert steps.shape == (3, 2, 3)
    y.sum().backward()
    (p,) = list(m.parameters())
    assert p.grad is not None and np.abs(p.grad.numpy()).sum() > 0
