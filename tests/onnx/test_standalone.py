"""The standalone NumPy export end to end: the seed CNN and LSTM/GRU classifiers (PyTorch and Keras
style) written by ``shendu.onnx.to_numpy`` run in a Python that can import NumPy and nothing else, and
equal shendu's outputs at two batch sizes (and two sequence lengths) from one export. Each model goes
both ways: through shendu.onnx.export, and through torch.onnx.export of a PyTorch twin holding the
same weights (the graphs other tools write)."""
import os
import subprocess
import sys

import numpy as np
import pytest

import shendu as sd
import shendu.nn as nn
from conftest import require

RUNNER = """
import runpy, sys
sys.path.insert(0, sys.argv[1])
for name in ("shendu", "safetensors", "onnx", "onnxruntime", "torch", "scipy"):
    try:
        __import__(name)
    except ImportError:
        pass
    else:
        raise SystemExit(f"{name} should not be importable here")
sys.argv = sys.argv[2:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def numpy_only_python(tmp_path):
    """A command prefix running a script in a Python (-I -S) whose only package is NumPy."""
    site = tmp_path / "numpy_only_site"
    runner = tmp_path / "numpy_only_runner.py"
    if runner.exists():
        return [sys.executable, "-I", "-S", str(runner), str(site)]
    site.mkdir()
    numpy_dir = os.path.dirname(os.path.dirname(np.__file__))
    for entry in os.listdir(numpy_dir):
        if entry == "numpy" or entry.startswith("numpy.libs") or entry == "numpy.dylibs":
            os.symlink(os.path.join(numpy_dir, entry), site / entry)
    runner.write_text(RUNNER)
    return [sys.executable, "-I", "-S", str(runner), str(site)]


def run_isolated(tmp_path, code_path, *inputs):
    """Run ``code_path`` on the arrays ``inputs`` in the NumPy-only Python; returns its outputs (npz)."""
    args = []
    for k, x in enumerate(inputs):
        path = tmp_path / f"input{k}_{x.shape[0]}_{x.shape[-1]}.npy"
        np.save(path, x)
        args.append(str(path))
    out = tmp_path / "outputs.npz"
    p = subprocess.run(numpy_only_python(tmp_path) + [str(code_path), *args, "-o", str(out)],
                       capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert p.returncode == 0, p.stdout + p.stderr
    with np.load(out) as z:
        return [z[k] for k in z.files]


def shendu_outputs(model, x):
    model.eval()
    with sd.no_grad():
        return model(sd.tensor(x)).numpy()


def torch_twin_export(torch, twin, state, x, path, dynamic):
    twin.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in state.items()})
    twin.eval()
    torch.onnx.export(twin, (torch.from_numpy(x),), str(path), dynamo=False, input_names=["x"],
                      output_names=["y"], dynamic_axes={"x": dynamic, "y": {0: "batch"}}, opset_version=17)


def seed_cnn():
    return nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(64 * 5 * 5, 10), nn.Softmax(dim=1))


def test_seed_cnn_runs_with_numpy_alone_and_equals_shendu(tmp_path):
    torch = require("torch")
    require("onnx")
    import shendu.onnx as so

    sd.manual_seed(0)
    model = seed_cnn()
    tn = torch.nn
    twin = tn.Sequential(tn.Conv2d(1, 32, 3), tn.ReLU(), tn.MaxPool2d(2), tn.Conv2d(32, 64, 3), tn.ReLU(),
                         tn.MaxPool2d(2), tn.Flatten(), tn.Linear(64 * 5 * 5, 10), tn.Softmax(dim=1))
    rng = np.random.default_rng(1)
    x = rng.random((2, 1, 28, 28), dtype=np.float32)
    torch_twin_export(torch, twin, model.state_dict(), x, tmp_path / "cnn.onnx", {0: "batch"})
    result = so.to_numpy(str(tmp_path / "cnn.onnx"), x, str(tmp_path / "standalone"))
    assert result.max_abs_error["y"] < 1e-6
    assert set(result.ops) == {"Conv", "Relu", "MaxPool", "Flatten", "Gemm", "Softmax"}
    for n in (1, 5):
        xb = rng.random((n, 1, 28, 28), dtype=np.float32)
        (got,) = run_isolated(tmp_path, result.code_path, xb)
        np.testing.assert_allclose(got, shendu_outputs(model, xb), atol=1e-5, rtol=0)
    code = open(result.code_path).read()
    assert "def conv(" in code and "def max_pool(" in code and "def lstm(" not in code  # only what it uses
    assert "import shendu" not in code and "safetensors import" not in code


def test_keras_seed_cnn_channels_last_runs_with_numpy_alone(tmp_path):
    torch = require("torch")
    require("onnx")
    import shendu.onnx as so
    from shendu.cli import build_model

    sd.manual_seed(0)
    model = build_model("cnn", (28, 28, 1), 10)
    tn = torch.nn

    class Twin(tn.Module):  # the same network on NHWC input, flattening in NHWC order as Keras does
        def __init__(self):
            super().__init__()
            self.conv1, self.conv2 = tn.Conv2d(1, 32, 3), tn.Conv2d(32, 64, 3)
            self.dense = tn.Linear(1600, 10)

        def forward(self, x):
            x = x.permute(0, 3, 1, 2)
            x = torch.max_pool2d(torch.relu(self.conv1(x)), 2)
            x = torch.max_pool2d(torch.relu(self.conv2(x)), 2)
            return torch.softmax(self.dense(x.permute(0, 2, 3, 1).flatten(1)), dim=1)

    # Keras names layers conv2d, conv2d_1, ... by a global count: map the weights by their order
    twin_keys = ["conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias", "dense.weight", "dense.bias"]
    state = dict(zip(twin_keys, model.state_dict().values()))
    rng = np.random.default_rng(2)
    x = rng.random((3, 28, 28, 1), dtype=np.float32)
    torch_twin_export(torch, Twin(), state, x, tmp_path / "kcnn.onnx", {0: "batch"})
    result = so.to_numpy(str(tmp_path / "kcnn.onnx"), x, str(tmp_path / "standalone"), name="fashion_cnn")
    assert os.path.basename(result.code_path) == "fashion_cnn.py"
    for n in (1, 4):
        xb = rng.random((n, 28, 28, 1), dtype=np.float32)
        (got,) = run_isolated(tmp_path, result.code_path, xb)
        np.testing.assert_allclose(got, model.predict(xb, verbose=0), atol=1e-5, rtol=0)


class LSTMClassifier(nn.Module):
    """Embedding -> 2-layer bidirectional LSTM -> the last step's features -> Linear."""

    def __init__(self, vocab=50, dim=8, hidden=16, classes=3):
        super().__init__()
        self.embed = nn.Embedding(vocab, dim)
        self.lstm = nn.LSTM(dim, hidden, num_layers=2, batch_first=True, bidirectional=True)
        self.fc = nn.Linear(2 * hidden, classes)

    def forward(self, x):
        y, _ = self.lstm(self.embed(x))
        return self.fc(y[:, -1, :])


def test_lstm_classifier_runs_with_numpy_alone_at_two_batch_sizes_and_lengths(tmp_path):
    torch = require("torch")
    require("onnx")
    import shendu.onnx as so

    sd.manual_seed(0)
    model = LSTMClassifier()
    tn = torch.nn

    class Twin(tn.Module):
        def __init__(self):
            super().__init__()
            self.embed = tn.Embedding(50, 8)
            self.lstm = tn.LSTM(8, 16, num_layers=2, batch_first=True, bidirectional=True)
            self.fc = tn.Linear(32, 3)

        def forward(self, x):
            y, _ = self.lstm(self.embed(x))
            return self.fc(y[:, -1, :])

    rng = np.random.default_rng(3)
    x = rng.integers(0, 50, (2, 7))
    torch_twin_export(torch, Twin(), model.state_dict(), x, tmp_path / "lstm.onnx", {0: "batch", 1: "steps"})
    result = so.to_numpy(str(tmp_path / "lstm.onnx"), x, str(tmp_path / "standalone"))
    assert "LSTM" in result.ops and result.inputs[0][2] == ["batch", "steps"]
    for n, steps in ((1, 12), (4, 3)):
        xb = rng.integers(0, 50, (n, steps))
        (got,) = run_isolated(tmp_path, result.code_path, xb)
        np.testing.assert_allclose(got, shendu_outputs(model, xb), atol=1e-5, rtol=0)


def test_generated_file_has_a_command_line_and_checks_its_input(tmp_path):
    require("onnx")
    import shendu.onnx as so
    from onnx import TensorProto, helper, numpy_helper

    w = np.arange(12, dtype=np.float32).reshape(4, 3)
    graph = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"], name="dense")], "tiny",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 3])],
                              initializer=[numpy_helper.from_array(w, "w")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    result = so.to_numpy(model, None, str(tmp_path / "out"), name="tiny")
    py = numpy_only_python(tmp_path)
    p = subprocess.run(py + [result.code_path, "--help"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and "usage: python tiny.py X.npy" in p.stdout
    np.save(tmp_path / "bad.npy", np.ones((2, 5), np.float32))
    p = subprocess.run(py + [result.code_path, str(tmp_path / "bad.npy")], capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 1 and "Traceback" not in p.stderr
    assert "input 'x' has shape [2, 5], expected ['batch', 4]" in p.stderr
    np.save(tmp_path / "good.npy", np.ones((2, 4), np.float32))
    p = subprocess.run(py + [result.code_path, str(tmp_path / "good.npy")], capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 0 and "y: shape [2, 3] float32" in p.stdout and "[18. 22. 26.]" in p.stdout
    # the generated docstring says what the model takes and how to call it
    code = open(result.code_path).read()
    assert "x: float32 [batch, 4]" in code and "tiny.predict(x)" in code and "# dense (MatMul)" in code


@pytest.mark.parametrize("damage, message", [
    (lambda b: b[:5], "too short"),
    (lambda b: (10**9).to_bytes(8, "little") + b[8:], "header claims"),
    (lambda b: b[:-4], "the tensors end at byte"),
    (lambda b: b + b"\0", "the tensors end at byte"),
    (lambda b: b[:8] + b"[" + b[9:], "not UTF-8 JSON"),
])
def test_weights_reader_refuses_damaged_files(tmp_path, damage, message):
    from shendu.onnx._numpy_runtime import load_weights
    from shendu.serialization import encode

    blob = b"".join(encode({"a": np.ones((2, 3), np.float32), "b": np.arange(4)}))
    good = tmp_path / "good.safetensors"
    good.write_bytes(blob)
    loaded = load_weights(str(good))
    np.testing.assert_array_equal(loaded["b"], np.arange(4))
    assert loaded["a"].dtype == np.float32 and loaded["a"].shape == (2, 3)
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(damage(blob))
    with pytest.raises(ValueError, match=message):
        load_weights(str(bad))


def test_weights_reader_refuses_overlapping_and_mis_sized_tensors(tmp_path):
    import json
    import struct

    from shendu.onnx._numpy_runtime import load_weights

    def file_with(header, data):
        text = json.dumps(header).encode()
        path = tmp_path / "w.safetensors"
        path.write_bytes(struct.pack("<Q", len(text)) + text + data)
        return str(path)

    overlap = {"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
               "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}
    with pytest.raises(ValueError, match="gap or an overlap"):
        load_weights(file_with(overlap, bytes(12)))
    wrong = {"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}
    with pytest.raises(ValueError, match="spans 8 bytes"):
        load_weights(file_with(wrong, bytes(8)))
    with pytest.raises(ValueError, match="no known dtype"):
        load_weights(file_with({"a": {"dtype": "X9", "shape": [1], "data_offsets": [0, 1]}}, bytes(1)))


def _keras_cnn():
    from shendu.cli import build_model

    return build_model("cnn", (28, 28, 1), 10)


def _keras_lstm():
    from shendu.keras import Sequential, layers

    return Sequential([layers.Input((None,), dtype="int64"), layers.Embedding(40, 8),
                       layers.Bidirectional(layers.LSTM(12, return_sequences=True)), layers.LSTM(6),
                       layers.Dense(3, activation="softmax")])


class GRUClassifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(30, 8)
        self.gru = nn.GRU(8, 10, batch_first=True)
        self.fc = nn.Linear(10, 2)

    def forward(self, x):
        _, h = self.gru(self.embed(x))
        return self.fc(h[-1])


def _images(n, steps, keras):
    shape = (n, 28, 28, 1) if keras else (n, 1, 28, 28)
    return np.random.default_rng(n).random(shape, dtype=np.float32)


def _tokens(vocab):
    return lambda n, steps, keras: np.random.default_rng(n + steps).integers(0, vocab, (n, steps))


SHENDU_MODELS = {  # name: (build, make an input (n, steps, keras-style?), Keras-style?)
    "seed_cnn_pytorch_style": (seed_cnn, _images, False),
    "seed_cnn_keras_style": (_keras_cnn, _images, True),
    "lstm_classifier_pytorch_style": (LSTMClassifier, _tokens(50), False),
    "lstm_classifier_keras_style": (_keras_lstm, _tokens(40), True),
    "gru_classifier": (GRUClassifier, _tokens(30), False),
}


@pytest.mark.parametrize("case", sorted(SHENDU_MODELS))
def test_shendu_model_through_shendu_onnx_export_runs_with_numpy_alone(case, tmp_path):
    """shendu model -> shendu.onnx.export -> to_numpy -> a NumPy-only Python: equals shendu at two batch
    sizes (and two sequence lengths) from one export."""
    require("onnx")
    import shendu.onnx as so

    sd.manual_seed(0)
    build, make, keras = SHENDU_MODELS[case]
    model = build()
    x = make(2, 7, keras)
    result = so.to_numpy(model, x, str(tmp_path / "out"), name="exported")
    assert max(result.max_abs_error.values()) < 1e-5
    for n, steps in ((1, 11), (5, 4)):
        xb = make(n, steps, keras)
        (got,) = run_isolated(tmp_path, result.code_path, xb)
        want = model.predict(xb, verbose=0) if keras else shendu_outputs(model, xb)
        np.testing.assert_allclose(got, want, atol=1e-5, rtol=0)
