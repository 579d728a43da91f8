"""ONNX export: onnxruntime runs the exported file and equals shendu (max abs error ≤ 1e-5, float32) at two
batch sizes and two sequence lengths from one file; the graph passes onnx.checker(full_check=True)."""
import io

import numpy as np
import pytest

import shendu as sd
import shendu.nn as nn
import shendu.nn.functional as F
from conftest import require
from shendu.onnx import export

TOL = 1e-5


def _session(data):
    ort = require("onnxruntime")
    return ort.InferenceSession(data, providers=["CPUExecutionProvider"])


def _shendu(model, *xs):
    model.eval()
    with sd.no_grad():
        out = model(*[sd.tensor(x) for x in xs])
    outs = out if isinstance(out, (tuple, list)) else (out,)
    return [o.numpy() for o in sd.onnx._export_trace.flatten(list(outs))]


def check(model, example, others=(), tmp_path=None, **kw):
    """Export with ``example``; run the file at ``example`` and every input tuple in ``others``."""
    onnx = require("onnx")
    example = example if isinstance(example, tuple) else (example,)
    buf = io.BytesIO()
    result = export(model, example, buf, **kw)
    data = buf.getvalue()
    proto = onnx.load_from_string(data)
    onnx.checker.check_model(proto, full_check=True)
    sess = _session(data)
    names = [i.name for i in sess.get_inputs()]
    for xs in [example] + [x if isinstance(x, tuple) else (x,) for x in others]:
        want = _shendu(model, *xs)
        got = sess.run(None, dict(zip(names, xs)))
        assert len(got) == len(want)
        for g, w in zip(got, want):
            assert g.shape == w.shape, (g.shape, w.shape)
            err = float(np.max(np.abs(g - w))) if g.size else 0.0
            assert err <= TOL, f"max abs error {err} at input shapes {[x.shape for x in xs]}"
    return result, proto


def rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def ids(*shape, high=20, seed=0):
    return np.random.default_rng(seed).integers(0, high, size=shape).astype(np.int64)


# ----- the seed models (shendu's command line) ------------------------------------------------------
def test_seed_mlp_keras_two_batch_sizes():
    from shendu.cli import build_model

    sd.manual_seed(0)
    model = build_model("mlp", (28, 28), 10)
    _, proto = check(model, rand(2, 28, 28), [rand(7, 28, 28, seed=1)])
    assert proto.opset_import[0].version == 17 and proto.ir_version == 8


def test_seed_cnn_keras_valid_and_same_padding():
    from shendu.cli import build_model

    sd.manual_seed(0)
    check(build_model("cnn", (28, 28, 1), 10), rand(2, 28, 28, 1), [rand(5, 28, 28, 1, seed=1)])
    check(build_model("cnn", (8, 8, 1), 10), rand(3, 8, 8, 1), [rand(1, 8, 8, 1, seed=1)])


def test_pytorch_style_mlp_and_cnn():
    sd.manual_seed(0)
    mlp = nn.Sequential(nn.Flatten(), nn.Linear(12, 16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 3),
                        nn.LogSoftmax(dim=1))
    result, proto = check(mlp, rand(4, 3, 4), [rand(9, 3, 4, seed=1)])
    weights = [i.name for i in proto.graph.initializer if "const" not in i.name]
    assert weights == ["1.weight", "1.bias", "4.weight", "4.bias"]  # the state_dict keys
    assert "Dropout" not in {n.op_type for n in proto.graph.node}
    assert any(n.name.startswith("1/") and n.op_type == "Gemm" for n in proto.graph.node)

    class CNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 4, 3, padding=1)
            self.conv2 = nn.Conv2d(4, 8, 3)
            self.fc = nn.Linear(8 * 3 * 3, 5)

        def forward(self, x):
            x = F.max_pool2d(F.relu(self.conv1(x)), 2)
            x = F.relu(self.conv2(x))
            return self.fc(x.view(x.size(0), -1))

    _, proto = check(CNN(), rand(2, 1, 10, 10), [rand(6, 1, 10, 10, seed=1)])
    assert "conv1.weight" in {i.name for i in proto.graph.initializer}
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"


class ResBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv1 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c)
        self.conv2 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c)

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(y)) + x)


def test_batchnorm_resnet_block_uses_running_statistics():
    sd.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), ResBlock(6), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                          nn.Linear(6, 4))
    model.train()
    for _ in range(3):  # non-trivial running statistics
        model(sd.tensor(rand(8, 3, 8, 8, seed=3) * 2 + 1))
    _, proto = check(model, rand(2, 3, 8, 8), [rand(5, 3, 8, 8, seed=1)])
    model.train()
    export(model, rand(2, 3, 8, 8), io.BytesIO())
    assert model.training and model[1].bn1.training  # export leaves the mode as it was
    ops = [n.op_type for n in proto.graph.node]
    assert ops.count("BatchNormalization") == 2 and "GlobalAveragePool" in ops


def test_batchnorm_resnet_keras_functional():
    from shendu.keras import Input, Model, layers

    sd.manual_seed(0)
    inp = Input((8, 8, 3))
    h = layers.Conv2D(4, 3, padding="same")(inp)
    h = layers.BatchNormalization()(h)
    h = layers.Activation("relu")(h)
    h2 = layers.BatchNormalization()(layers.Conv2D(4, 3, padding="same")(h))
    h = layers.Activation("relu")(layers.Add()([h, h2]))
    out = layers.Dense(3, activation="softmax")(layers.GlobalAveragePooling2D()(h))
    model = Model(inp, out)
    check(model, rand(2, 8, 8, 3), [rand(4, 8, 8, 3, seed=1)])


# ----- recurrent models: batch AND sequence dynamic ---------------------------------------------
class BiLSTMClassifier(nn.Module):
    def __init__(self, batch_first=True):
        super().__init__()
        self.lstm = nn.LSTM(5, 7, num_layers=2, bidirectional=True, batch_first=batch_first)
        self.fc = nn.Linear(14, 3)

    def forward(self, x):
        y, (h, c) = self.lstm(x)
        last = y[:, -1] if self.lstm.batch_first else y[-1]
        return self.fc(last)


def test_bidirectional_two_layer_lstm_pytorch_style():
    sd.manual_seed(0)
    model = BiLSTMClassifier()
    result, proto = check(model, rand(3, 6, 5), [rand(5, 6, 5, seed=1), rand(3, 11, 5, seed=2),
                                                 rand(1, 2, 5, seed=3)])
    ops = [n.op_type for n in proto.graph.node]
    assert ops.count("LSTM") == 2 and "Loop" not in ops and "Scan" not in ops
    assert result.dynamic_axes["input"] == {0: "batch", 1: "sequence"}
    lstm = [n for n in proto.graph.node if n.op_type == "LSTM"]
    assert all(a.s == b"bidirectional" for n in lstm for a in n.attribute if a.name == "direction")


def test_lstm_time_major_returns_every_state():
    sd.manual_seed(0)

    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(4, 6, num_layers=2)

        def forward(self, x, h0, c0):
            return self.lstm(x, (h0, c0))

    m = M()
    check(m, (rand(5, 2, 4), rand(2, 2, 6, seed=1), rand(2, 2, 6, seed=2)),
          [(rand(8, 3, 4, seed=3), rand(2, 3, 6, seed=4), rand(2, 3, 6, seed=5))],
          dynamic_axes={"input_0": {0: "seq", 1: "batch"}, "input_1": {1: "batch"}, "input_2": {1: "batch"}})


def test_zero_state_built_in_forward_follows_the_batch():
    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.RNN(3, 4, batch_first=True, nonlinearity="relu")

        def forward(self, x):
            h0 = sd.zeros(1, x.size(0), 4)
            y, h = self.rnn(x, h0)
            return h[0]

    sd.manual_seed(0)
    check(M(), rand(2, 5, 3), [rand(6, 9, 3, seed=1)])


def test_gru_text_classifier_pytorch_style():
    class TextGRU(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(20, 6)
            self.gru = nn.GRU(6, 8, batch_first=True)
            self.fc = nn.Linear(8, 2)

        def forward(self, x):
            _, h = self.gru(self.embedding(x))
            return self.fc(h[-1])

    sd.manual_seed(0)
    _, proto = check(TextGRU(), ids(3, 5), [ids(7, 5, seed=1), ids(3, 12, seed=2)])
    ops = [n.op_type for n in proto.graph.node]
    assert "GRU" in ops and "Gather" in ops
    gru = next(n for n in proto.graph.node if n.op_type == "GRU")
    assert any(a.name == "linear_before_reset" and a.i == 1 for a in gru.attribute)


def test_recurrent_text_classifiers_keras_style():
    from shendu.keras import Sequential, layers

    sd.manual_seed(0)
    gru = Sequential([layers.Embedding(30, 8), layers.GRU(6), layers.Dense(2, activation="softmax")])
    gru(ids(2, 5, high=30))
    check(gru, ids(2, 5, high=30), [ids(6, 5, high=30, seed=1), ids(2, 9, high=30, seed=2)])
    lstm = Sequential([layers.Embedding(30, 8), layers.Bidirectional(layers.LSTM(6, return_sequences=True)),
                       layers.LSTM(5), layers.Dense(3)])
    lstm(ids(2, 5, high=30))
    check(lstm, ids(2, 5, high=30), [ids(4, 5, high=30, seed=1), ids(2, 8, high=30, seed=2)])
    rnn = Sequential([layers.SimpleRNN(4, return_sequences=True, input_shape=(None, 3)), layers.SimpleRNN(3)])
    check(rnn, rand(2, 5, 3), [rand(3, 7, 3, seed=1)])


def test_lstm_cell_loop_in_forward():
    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.cell = nn.LSTMCell(3, 4)

        def forward(self, x):
            h, c = self.cell(x[:, 0])
            h, c = self.cell(x[:, 1], (h, c))
            return h + c

    sd.manual_seed(0)
    check(M(), rand(2, 2, 3), [rand(5, 2, 3, seed=1)])


# ----- layers and activations ----------------------------------------------------------------------
ACTIVATIONS = [nn.ReLU(), nn.LeakyReLU(0.1), nn.ELU(0.7), nn.GELU(), nn.GELU("tanh"), nn.Sigmoid(), nn.Tanh(),
               nn.SiLU(), nn.Hardtanh(-0.5, 0.5), nn.ReLU6(), nn.Softmax(dim=-1), nn.LogSoftmax(dim=1),
               nn.Softplus(), nn.Softplus(beta=2.0, threshold=3.0)]


@pytest.mark.parametrize("act", ACTIVATIONS, ids=lambda a: repr(a))
def test_every_nn_activation(act):
    check(nn.Sequential(nn.Linear(4, 6), act), rand(3, 4) * 3, [rand(5, 4, seed=1) * 3])


KERAS_ACTIVATIONS = ["relu", "sigmoid", "tanh", "softmax", "log_softmax", "linear", "elu", "selu", "gelu",
                     "leaky_relu", "softplus", "softsign", "swish", "exponential", "hard_sigmoid", "relu6",
                     "silu", "mish"]


@pytest.mark.parametrize("name", KERAS_ACTIVATIONS)
def test_every_keras_activation(name):
    from shendu.keras import Sequential, activations, layers

    activations.get(name)
    sd.manual_seed(0)
    model = Sequential([layers.Dense(5, activation=name, input_shape=(4,))])
    check(model, rand(3, 4), [rand(6, 4, seed=1)])


@pytest.mark.parametrize("kw", [dict(), dict(stride=2), dict(padding=2, dilation=2), dict(groups=2),
                                dict(padding="same", dilation=2), dict(padding="same")])
def test_conv2d_and_conv1d_options(kw):
    sd.manual_seed(0)
    check(nn.Conv2d(4, 6, 3, **kw), rand(2, 4, 9, 9), [rand(3, 4, 9, 9, seed=1)])
    check(nn.Conv1d(4, 6, 3, **kw), rand(2, 4, 11), [rand(3, 4, 11, seed=1)])


def test_conv_transpose_and_pools():
    sd.manual_seed(0)
    check(nn.ConvTranspose2d(4, 2, 3, stride=2, padding=1, output_padding=1), rand(2, 4, 5, 5),
          [rand(3, 4, 5, 5, seed=1)])
    check(nn.ConvTranspose1d(4, 2, 3, stride=2, groups=2), rand(2, 4, 6), [rand(3, 4, 6, seed=1)])
    for m in [nn.MaxPool2d(2), nn.MaxPool2d(3, stride=2, padding=1), nn.AvgPool2d(2), nn.AvgPool2d(3, 2, 1),
              nn.AdaptiveAvgPool2d(1), nn.AdaptiveAvgPool2d(2), nn.AdaptiveMaxPool2d((1, 1)), nn.MaxPool1d(2)
              if False else nn.Identity()]:
        check(m, rand(2, 3, 8, 8), [rand(4, 3, 8, 8, seed=1)])
    check(nn.MaxPool1d(2), rand(2, 3, 8), [rand(4, 3, 8, seed=1)])
    check(nn.AvgPool1d(3, stride=2), rand(2, 3, 9), [rand(4, 3, 9, seed=1)])


def test_keras_conv_and_pool_layers():
    from shendu.keras import Sequential, layers

    sd.manual_seed(0)
    model = Sequential([layers.Conv1D(4, 3, padding="same", input_shape=(10, 2)), layers.MaxPooling1D(2),
                        layers.Conv1D(4, 3, dilation_rate=2), layers.GlobalMaxPooling1D(), layers.Dense(2)])
    check(model, rand(2, 10, 2), [rand(5, 10, 2, seed=1)])
    model = Sequential([layers.Conv2D(4, 3, strides=2, padding="same", input_shape=(9, 9, 3)),
                        layers.AveragePooling2D(2), layers.Conv2DTranspose(2, 3, strides=2), layers.Flatten(),
                        layers.Dropout(0.5), layers.Dense(3)])
    check(model, rand(2, 9, 9, 3), [rand(3, 9, 9, 3, seed=1)])


def test_tensor_operations_in_a_custom_forward():
    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 4)
            self.norm = nn.LayerNorm(4)

        def forward(self, x):
            b, t, f = x.shape
            y = self.fc(x).view(b * t, f).view(b, t, f)
            y = sd.cat([y, x * 2.0 - 1.0], dim=2).permute(0, 2, 1).transpose(1, 2)
            y = y[:, 1:, :4] + y[:, :-1, 4:].exp() / (y[:, 1:, 4:].abs() + 1)
            z = self.norm(y).mean(dim=1) + y.sum(dim=1, keepdim=False).sqrt().clamp(0, 3)
            z = sd.stack([z, z.max(dim=1, keepdim=True).values.expand(b, 4)], dim=1)
            return F.softmax(z.reshape(b, -1), dim=-1), (y ** 2).mean()

    sd.manual_seed(0)
    x = np.abs(rand(2, 5, 4)) + 0.1
    check(M(), x, [np.abs(rand(3, 7, 4, seed=1)) + 0.1], dynamic_axes={"input": {0: "batch", 1: "seq"}})


def test_group_norm_comparisons_and_where():
    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.norm = nn.GroupNorm(2, 4)

        def forward(self, x):
            y = self.norm(x)
            return sd.where(y > 0.1, y, y * 0.5) + (x <= 0).float()

    sd.manual_seed(0)
    check(M(), rand(2, 4, 3, 3), [rand(5, 4, 3, 3, seed=1)])


# ----- the calling conventions, options and errors ----------------------------------------------------
def test_torch_calling_convention_and_options(tmp_path):
    onnx = require("onnx")
    sd.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 2))
    path = tmp_path / "m.onnx"
    sd.onnx.export(model, (sd.randn(4, 3),), str(path), export_params=True, opset_version=13,
                   input_names=["x"], output_names=["y"], dynamic_axes={"x": {0: "n"}, "y": {0: "n"}},
                   do_constant_folding=True)
    proto = onnx.load(str(path))
    assert proto.opset_import[0].version == 13
    assert proto.graph.input[0].name == "x" and proto.graph.output[0].name == "y"
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "n"
    for opset in (13, 15, 17, 18, 19, 20, 21):
        check(nn.Sequential(nn.Linear(3, 4), nn.LayerNorm(4), nn.GELU()), rand(2, 3), [rand(5, 3, seed=1)],
              opset=opset)
    with pytest.raises(ValueError, match="opset"):
        sd.onnx.export(model, sd.randn(4, 3), io.BytesIO(), opset=12)
    with open(tmp_path / "f.onnx", "wb") as f:
        sd.onnx.export(model, sd.randn(4, 3), f)
    assert onnx.load(str(tmp_path / "f.onnx")).graph.node


def test_verify_reports_max_abs_error(capsys, tmp_path):
    require("onnx")
    require("onnxruntime")
    model = nn.Sequential(nn.Linear(3, 2), nn.Tanh())
    result = sd.onnx.export(model, sd.randn(4, 3), tmp_path / "m.onnx", verify=True)
    assert set(result.max_abs_error) == {"output"} and result.max_abs_error["output"] <= TOL
    assert result.max_abs_error_resized["output"] <= TOL
    assert "output: max abs error" in capsys.readouterr().out


def test_keras_model_export_method(tmp_path):
    onnx = require("onnx")
    from shendu.keras import Sequential, layers

    sd.manual_seed(0)
    model = Sequential([layers.Dense(4, activation="relu", input_shape=(3,)), layers.Dense(2)])
    model.export(str(tmp_path / "m.onnx"), format="onnx")
    proto = onnx.load(str(tmp_path / "m.onnx"))
    sess = _session(proto.SerializeToString())
    x = rand(5, 3)
    np.testing.assert_allclose(sess.run(None, {"input": x})[0], model.predict(x, verbose=0), atol=TOL)
    with pytest.raises(ValueError, match="format"):
        model.export(str(tmp_path / "m.pb"), format="tf_saved_model")


def test_is_in_onnx_export_during_tracing():
    require("onnx")
    seen = []

    class M(nn.Module):
        def forward(self, x):
            seen.append(sd.onnx.is_in_onnx_export())
            return x * 2

    sd.onnx.export(M(), sd.randn(2, 3), io.BytesIO())
    assert seen and all(seen) and not sd.onnx.is_in_onnx_export()


def test_unsupported_operation_names_layer_and_op():
    require("onnx")

    class Odd(nn.Module):
        def forward(self, x):
            return sd.cumsum(x, dim=1)

    model = nn.Sequential(nn.Linear(3, 3), Odd())
    with pytest.raises(sd.onnx.ExportError, match=r"layer '1' \(Odd\).*CumSum"):
        sd.onnx.export(model, sd.randn(2, 3), io.BytesIO())


def test_value_computed_outside_operations_is_refused():
    require("onnx")

    class Leak(nn.Module):
        def forward(self, x):
            return x + sd.tensor(x.numpy() * 2)

    with pytest.raises(sd.onnx.ExportError, match="outside shendu's operations"):
        sd.onnx.export(Leak(), sd.randn(2, 3), io.BytesIO())


def test_failed_export_leaves_no_file(tmp_path):
    require("onnx")

    class Odd(nn.Module):
        def forward(self, x):
            return sd.cumsum(x, dim=1)

    target = tmp_path / "m.onnx"
    target.write_bytes(b"old")
    with pytest.raises(sd.onnx.ExportError):
        sd.onnx.export(Odd(), sd.randn(2, 3), target)
    assert target.read_bytes() == b"old"
