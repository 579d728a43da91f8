"""``shendu quantize`` and ``shendu prune``: files in, smaller files out, one-line errors, exit codes 0/1/2."""
import os
import subprocess
import sys

import numpy as np
import pytest

import shendu as sd
import shendu.nn as nn
from shendu import compress
from shendu.cli import main

SRC = os.pathsep.join(os.path.abspath(p) for p in (os.environ.get("PYTHONPATH") or os.path.join(
    os.path.dirname(__file__), "..", "..", "src")).split(os.pathsep) if p)


@pytest.fixture(scope="module")
def keras_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("m") / "m.keras"
    assert main(["train", "--dataset", "digits", "--epochs", "1", "--limit", "300", "--verbose", "0",
                 "--report-dir", str(path.parent / "r"), "--save", str(path)]) == 0
    return path


def test_quantize_keras_file_with_onnx(keras_file, tmp_path, capsys):
    out, onnx_path = tmp_path / "q.safetensors", tmp_path / "q.onnx"
    assert main(["quantize", str(keras_file), "-o", str(out), "--method", "percentile",
                 "--calibration-size", "200", "--onnx", str(onnx_path)]) == 0
    text = capsys.readouterr().out
    assert "int8 model written" in text and "200 inputs, percentile 99.99" in text
    q = compress.load_quantized(out)
    assert q.input_layout == "NHWC"
    assert os.path.getsize(onnx_path) > 1000


def test_prune_structured_and_unstructured(keras_file, tmp_path, capsys):
    from shendu.keras.models import load_model

    small = tmp_path / "small.keras"
    assert main(["prune", str(keras_file), "--amount", "0.5", "--structured", "-o", str(small)]) == 0
    assert load_model(small).count_params() < load_model(keras_file).count_params() / 2
    sparse = tmp_path / "sparse.keras"
    assert main(["prune", str(keras_file), "--amount", "0.8", "-o", str(sparse)]) == 0
    table = compress.report(load_model(sparse), print_fn=False)
    assert table["sparsity"] > 0.75
    assert main(["evaluate", str(small)]) == 0  # the data set travels in the file


def test_module_files(tmp_path, capsys):
    sd.manual_seed(0)
    path = tmp_path / "c.safetensors"
    sd.save(nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(144, 10)), path)
    assert main(["quantize", str(path), "--calibration", "digits", "-o", str(tmp_path / "q.st")]) == 0
    assert main(["prune", str(path), "--structured", "-o", str(tmp_path / "p.st")]) == 0
    assert sd.load(tmp_path / "p.st")[0].out_channels == 2
    x = np.random.default_rng(0).random((5, 1, 8, 8)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    assert main(["quantize", str(path), "--calibration", str(tmp_path / "x.npy"), "-o", str(tmp_path / "n.st")]) == 0


@pytest.mark.parametrize("argv, code, words", [
    (["quantize", "missing.keras", "-o", "x"], 2, "no such model file"),
    (["prune", "missing.keras", "-o", "x", "--amount", "1.5"], 2, "must be in [0, 1)"),
    (["quantize", "{module}", "-o", "x"], 2, "--calibration"),
    (["quantize", "{gelu}", "--calibration", "digits", "-o", "x"], 1, "GELU is not supported"),
    (["prune", "{norm}", "--structured", "-o", "x"], 1, "no layer could lose channels"),
])
def test_mistakes_are_one_line(argv, code, words, tmp_path):
    sd.save(nn.Sequential(nn.Linear(64, 4), nn.GELU(), nn.Linear(4, 2)), tmp_path / "g.st")
    sd.save(nn.Sequential(nn.Linear(64, 2)), tmp_path / "m.st")
    sd.save(nn.Sequential(nn.Linear(64, 4), nn.LayerNorm(4), nn.Linear(4, 2)), tmp_path / "n.st")
    argv = [a.format(module=tmp_path / "m.st", gelu=tmp_path / "g.st", norm=tmp_path / "n.st") for a in argv]
    p = subprocess.run([sys.executable, "-m", "shendu", *argv], capture_output=True, text=True, cwd=tmp_path,
                       env=dict(os.environ, PYTHONPATH=SRC), timeout=120)
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    assert p.returncode == code, p.stderr
    assert len(lines) == 1 and "Traceback" not in p.stderr and words in lines[0], p.stderr


def test_help():
    for cmd in ("quantize", "prune"):
        with pytest.raises(SystemExit) as exc:
            main([cmd, "--help"])
        assert exc.value.code == 0
