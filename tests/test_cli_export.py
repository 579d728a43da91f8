"""``shendu export`` (ONNX or the standalone NumPy code) and ``shendu info MODEL``: outputs, exit codes
0/1/2 and one-line errors."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import shendu as sd
import shendu.nn as nn
from conftest import require
from shendu.cli import main
from test_cli import one_line_error, run_cli


def tiny_onnx(path, opset=17):
    """A two-node ONNX file: y = relu(x @ w + b) with x of shape [batch, 4]."""
    onnx = require("onnx")
    from onnx import TensorProto, helper, numpy_helper

    w = np.arange(12, dtype=np.float32).reshape(4, 3) / 10 - 0.5
    b = np.array([0.1, -0.2, 0.3], np.float32)
    nodes = [helper.make_node("Gemm", ["x", "w", "b"], ["h"], name="dense"),
             helper.make_node("Relu", ["h"], ["y"], name="relu")]
    graph = helper.make_graph(nodes, "tiny", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 3])],
                              initializer=[numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="tests")
    model.ir_version = 8
    onnx.save(model, str(path))
    return w, b


def test_export_numpy_from_an_onnx_file(tmp_path):
    w, b = tiny_onnx(tmp_path / "tiny.onnx")
    code, out, err = run_cli("export", str(tmp_path / "tiny.onnx"), "--format", "numpy", "--input-shape", "2,4")
    assert code == 0, err
    folder = tmp_path / "tiny_numpy"
    assert (folder / "tiny.py").is_file() and (folder / "tiny.safetensors").is_file()
    assert "max abs error" in out and "operators: Gemm, Relu" in out
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    p = subprocess.run([sys.executable, str(folder / "tiny.py"), str(tmp_path / "x.npy"), "-o",
                        str(tmp_path / "y.npy")], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    np.testing.assert_allclose(np.load(tmp_path / "y.npy"), np.maximum(x @ w + b, 0), rtol=1e-6, atol=1e-6)


def test_info_of_an_onnx_file_names_opset_inputs_outputs_and_size(tmp_path, capsys):
    tiny_onnx(tmp_path / "tiny.onnx", opset=13)
    assert main(["info", str(tmp_path / "tiny.onnx")]) == 0
    out = capsys.readouterr().out
    assert "onnx model" in out and "opset ai.onnx 13" in out and "produced by tests" in out
    assert "input  x: float32 [batch, 4]" in out and "output y: float32 [batch, 3]" in out
    assert "2 nodes: Gemm x1, Relu x1" in out and "parameters: 15" in out
    assert main(["info", str(tmp_path / "tiny.onnx"), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["opset"] == {"ai.onnx": 13} and info["parameters"] == 15
    assert info["bytes"] == os.path.getsize(tmp_path / "tiny.onnx")
    assert info["inputs"] == [{"name": "x", "dtype": "float32", "shape": ["batch", 4]}]


def test_info_of_a_keras_file_prints_its_summary(tmp_path, capsys):
    from shendu.cli import build_model

    model = build_model("cnn", (8, 8, 1), 10)
    path = tmp_path / "cnn.keras"
    model.save(str(path), metadata={"dataset": "digits", "preprocessing": "pixel counts / 16"})
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "keras model" in out and "Total params: 21,386" in out and "parameters: 21,386" in out
    assert "input shape: (None, 8, 8, 1)" in out and "output shape: (None, 10)" in out
    assert "trained on: digits (pixel counts / 16)" in out


def test_info_of_a_shendu_save_file_and_plain_info(tmp_path, capsys):
    path = tmp_path / "net.safetensors"
    sd.save(nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)), str(path))
    assert main(["info", str(path), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["format"] == "shendu" and info["class"] == "Sequential" and info["parameters"] == 26
    assert main(["info"]) == 0  # no model: the versions, as before
    assert capsys.readouterr().out.startswith(f"shendu {sd.__version__}")


class _Recorder:
    """Stands in for shendu.onnx.export: records what the command line asks for, writes a tiny graph."""

    def __init__(self, tmp_path):
        self.calls, self.tmp_path = [], tmp_path

    def __call__(self, model, example, path, opset=17):
        self.calls.append((model, example, opset))
        if not isinstance(model, nn.Sequential):
            tiny_onnx(path)
            return
        # Embedding -> Flatten -> Linear, written by hand from the model's weights
        from onnx import TensorProto, helper, numpy_helper, save

        state = {k: v.numpy() for k, v in model.state_dict().items()}
        nodes = [helper.make_node("Gather", ["0.weight", "x"], ["e"]),
                 helper.make_node("Flatten", ["e"], ["f"], axis=1),
                 helper.make_node("Gemm", ["f", "2.weight", "2.bias"], ["y"], transB=1)]
        graph = helper.make_graph(nodes, "text", [helper.make_tensor_value_info("x", TensorProto.INT64, ["n", 6])],
                                  [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 2])],
                                  initializer=[numpy_helper.from_array(v, k) for k, v in state.items()])
        save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)]), path)


def test_export_of_keras_and_shendu_files_traces_the_right_example(tmp_path, capsys, monkeypatch):
    require("onnx")
    import shendu.onnx as so
    import shendu.onnx._export as ex
    from shendu.cli import build_model

    fake = _Recorder(tmp_path)
    monkeypatch.setattr(so, "export", fake)
    monkeypatch.setattr(ex, "export", fake)
    kpath = tmp_path / "cnn.keras"
    build_model("cnn", (8, 8, 1), 10).save(str(kpath))
    # .keras: the example comes from the model's own input shape
    assert main(["export", str(kpath), "--opset", "13"]) == 0
    model, example, opset = fake.calls[-1]
    assert example.shape == (1, 8, 8, 1) and example.dtype == np.float32 and opset == 13
    assert "Wrote " + str(tmp_path / "cnn.onnx") in capsys.readouterr().out
    # shendu.save file: --input-shape is needed; an Embedding first layer gets integer token ids
    spath = tmp_path / "text.sd"
    sd.save(nn.Sequential(nn.Embedding(20, 4), nn.Flatten(), nn.Linear(24, 2)), str(spath))
    assert main(["export", str(spath)]) == 2
    assert "--input-shape" in one_line_error(capsys.readouterr().err)
    assert main(["export", str(spath), "--format", "numpy", "--input-shape", "3,6", "-o",
                 str(tmp_path / "out")]) == 0
    model, example, _ = fake.calls[-1]
    assert isinstance(model, nn.Sequential) and example.shape == (3, 6) and example.dtype == np.int64
    assert (tmp_path / "out" / "text.py").is_file()


@pytest.mark.parametrize("make, argv, status, words", [
    (None, ["export", "missing.keras"], 2, "missing.keras: no such model file"),
    (None, ["export", "m.keras", "--format", "tflite"], 2, "invalid choice: 'tflite'"),
    (None, ["export", "m.keras", "--input-shape", "1,x"], 2, "expected sizes separated by commas"),
    (None, ["export", "m.keras", "--input-shape", "0,3"], 2, "expected positive sizes"),
    (None, ["export", "m.keras", "--opset", "3"], 2, "--opset: shendu writes ONNX opsets 13 to 21, got 3"),
    ("onnx", ["export", "tiny.onnx"], 2, "is already an ONNX file"),
    ("weights", ["export", "w.sd", "--input-shape", "1,3"], 2, "holds a state_dict (weights only), not a model"),
    ("garbage", ["info", "junk.onnx"], 2, "junk.onnx: not a readable ONNX file"),
    ("garbage", ["info", "junk.keras"], 2, "junk.keras: cannot load the model"),
    (None, ["info", "nothing.onnx"], 2, "nothing.onnx: no such model file"),
    ("open", ["export", "text.keras"], 2, "has open axes besides the batch; give an example shape with "
                                          "--input-shape"),
])
def test_export_and_info_mistakes_are_one_line(tmp_path, make, argv, status, words):
    if make == "onnx":
        tiny_onnx(tmp_path / "tiny.onnx")
    elif make == "weights":
        sd.save(nn.Linear(3, 2).state_dict(), str(tmp_path / "w.sd"))
    elif make == "open":  # a text model whose sequence length is open
        from shendu.keras import Sequential, layers

        Sequential([layers.Input((None,), dtype="int64"), layers.Embedding(20, 4), layers.LSTM(3)]).save(
            str(tmp_path / "text.keras"))
    elif make == "garbage":
        (tmp_path / "junk.onnx").write_bytes(b"\x08\x07garbage")
        (tmp_path / "junk.keras").write_bytes(b"PK\x03\x04garbage")
    code, out, err = run_cli(*argv, cwd=tmp_path)
    assert code == status, (out, err)
    assert words in one_line_error(err)


def test_export_numpy_of_an_unsupported_graph_exits_1_and_writes_nothing(tmp_path):
    onnx = require("onnx")
    from onnx import TensorProto, helper

    graph = helper.make_graph([helper.make_node("Einsum", ["x", "x"], ["y"], equation="ij,ij->ij")], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 2])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 2])])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(tmp_path / "e.onnx"))
    code, _, err = run_cli("export", str(tmp_path / "e.onnx"), "--format", "numpy", cwd=tmp_path)
    assert code == 1
    assert "the graph uses ops it cannot write: Einsum" in one_line_error(err)
    assert sorted(os.listdir(tmp_path)) == ["e.onnx"]


@pytest.mark.parametrize("command", ["export", "info"])
def test_help(command):
    code, out, err = run_cli(command, "--help")
    assert code == 0 and "usage: shendu " + command in out and not err


@pytest.mark.parametrize("fmt", ["onnx", "numpy"])
def test_export_of_a_shendu_save_file_end_to_end(tmp_path, fmt):
    require("onnx")
    sd.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 2))
    sd.save(net, str(tmp_path / "net.sd"))
    code, out, err = run_cli("export", "net.sd", "--format", fmt, "--input-shape", "2,3", cwd=tmp_path)
    if code == 1 and "not available" in err:  # this build has no ONNX exporter: one line, status 1, nothing left behind
        assert code == 1 and "net.sd: " in one_line_error(err)
        assert sorted(os.listdir(tmp_path)) == ["net.sd"]
        return
    assert code == 0, err
    if fmt == "onnx":
        assert (tmp_path / "net.onnx").is_file()
        return
    x = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    p = subprocess.run([sys.executable, str(tmp_path / "net_numpy" / "net.py"), str(tmp_path / "x.npy"), "-o",
                        str(tmp_path / "y.npy")], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    with sd.no_grad():
        want = net(sd.tensor(x)).numpy()
    np.testing.assert_allclose(np.load(tmp_path / "y.npy"), want, atol=1e-5)


def test_export_numpy_of_a_trained_keras_file_end_to_end(tmp_path, capsys):
    require("onnx")
    from shendu.keras.models import load_model

    path = tmp_path / "digits.keras"
    assert main(["train", "--dataset", "digits", "--epochs", "1", "--limit", "200", "--verbose", "0",
                 "--report-dir", str(tmp_path / "r"), "--save", str(path)]) == 0
    capsys.readouterr()
    assert main(["export", str(path), "--format", "numpy"]) == 0
    out = capsys.readouterr().out
    assert "checked on the example: output" in out
    code_path = tmp_path / "digits_numpy" / "digits.py"
    x = np.random.default_rng(0).random((3, 8, 8, 1), dtype=np.float32)
    np.save(tmp_path / "x.npy", x)
    p = subprocess.run([sys.executable, str(code_path), str(tmp_path / "x.npy"), "-o", str(tmp_path / "y.npy")],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    np.testing.assert_allclose(np.load(tmp_path / "y.npy"), load_model(path).predict(x, verbose=0), atol=1e-5)
