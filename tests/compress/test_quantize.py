"""Post-training int8: BatchNorm folding, per-channel weights, calibration, int8 file, Keras models."""
import os

import numpy as np
import pytest

import shendu as sd
import shendu.nn as nn
from shendu import compress
from shendu.cli import build_model
from shendu.compress.quantize import activation_qparams, quantize_activation, quantize_weight


def _bn_cnn():
    sd.manual_seed(0)
    m = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
                      nn.Flatten(), nn.Linear(8 * 7 * 7, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 4))
    m.train()
    for _ in range(3):
        m(sd.randn(16, 1, 14, 14) * 2 + 1)   # running statistics away from 0 / 1
    return m.eval()


def _x(n=64, shape=(1, 14, 14)):
    return np.random.default_rng(0).standard_normal((n,) + shape).astype(np.float32)


def _run(m, x):
    with sd.no_grad():
        return m(sd.tensor(x)).numpy()


def test_fold_batchnorm_is_exact():
    m, x = _bn_cnn(), _x()
    folded = compress.fold_batchnorm(m)
    assert not any(isinstance(c, (nn.BatchNorm1d, nn.BatchNorm2d)) for c in folded.children())
    np.testing.assert_allclose(_run(folded, x), _run(m, x), rtol=1e-4, atol=1e-5)
    assert m[1].running_mean.shape == (8,)     # the original keeps its BatchNorm


def test_weight_and_activation_arithmetic():
    w = np.array([[0.5, -1.0, 0.25], [0.0, 0.0, 0.0], [2.0, 1.0, -0.01]], np.float32)
    q, s = quantize_weight(w)
    assert q.dtype == np.int8 and s.shape == (3,)
    np.testing.assert_array_equal(q[0], [64, -127, 32])     # 0.5 / (1/127) = 63.5 -> 64 (half to even)
    np.testing.assert_array_equal(q[1], [0, 0, 0])
    assert q[2, 0] == 127
    np.testing.assert_allclose(q * s[:, None], w, atol=s.max() / 2 + 1e-7)
    scale, zp = activation_qparams(0.0, 6.0)                  # after a ReLU: zero maps to -128
    assert zp == -128 and np.isclose(scale, 6 / 255)
    scale, zp = activation_qparams(-1.0, 3.0)
    assert quantize_activation(np.array([0.0]), scale, zp)[0] == zp
    assert quantize_activation(np.array([100.0, -100.0]), scale, zp).tolist() == [127, -128]


@pytest.mark.parametrize("method", ["minmax", "percentile"])
def test_quantized_model_close_to_float(method):
    m, x = _bn_cnn(), _x()
    q = compress.quantize(m, x, method=method)
    ref, got = _run(m, x), q.predict(x)
    assert np.abs(got - ref).max() < 0.05 * np.abs(ref).max()
    assert (got.argmax(1) == ref.argmax(1)).mean() >= 0.9
    assert [type(c).__name__ for c in q.children()][:2] == ["QuantizedConv2d", "ReLU"]


def test_percentile_clips_outliers():
    m, x = _bn_cnn(), _x()
    x_out = x.copy()
    x_out[0, 0, 0, 0] = 1000.0                                 # one outlier in the calibration set
    mm = compress.quantize(m, x_out, method="minmax")
    pc = compress.quantize(m, x_out, method="percentile", percentile=99.9)
    assert pc[0].input_scale.numpy()[0] < mm[0].input_scale.numpy()[0] / 50
    assert np.abs(pc.predict(x) - _run(m, x)).max() < np.abs(mm.predict(x) - _run(m, x)).max()


def test_int32_accumulation_equals_float32():
    m, x = _bn_cnn(), _x(16)
    a = compress.quantize(m, x, accumulate="int32").predict(x)
    b = compress.quantize(m, x, accumulate="float32").predict(x)
    np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)


def test_file_is_int8_smaller_and_loads(tmp_path):
    model = build_model("cnn", (28, 28, 1), 10)
    x = np.random.default_rng(1).random((32, 28, 28, 1)).astype(np.float32)
    q = compress.quantize(model, x)
    assert q.input_layout == "NHWC"
    ref = model.predict(x, verbose=0)
    assert np.abs(q.predict(x) - ref).max() < 0.02
    path, fpath = tmp_path / "q.safetensors", tmp_path / "f.safetensors"
    compress.save_quantized(q, path)
    sd.save(compress.to_sequential(model), fpath)
    assert os.path.getsize(path) <= 0.3 * os.path.getsize(fpath)
    again = compress.load_quantized(path)
    np.testing.assert_array_equal(again.predict(x), q.predict(x))
    assert again[1].weight_int8.numpy().dtype == np.int8
    table = compress.report(again, print_fn=False)
    assert table["params"] == 34_826
    with pytest.raises(ValueError, match="not a quantized model"):
        compress.load_quantized(fpath)


def test_errors():
    with pytest.raises(ValueError, match="method"):
        compress.quantize(_bn_cnn(), _x(), method="kl")
    with pytest.raises(ValueError, match="empty"):
        compress.quantize(_bn_cnn(), np.zeros((0, 1, 14, 14), np.float32))
    with pytest.raises(ValueError, match="not supported"):
        compress.quantize(nn.Sequential(nn.Linear(2, 2), nn.GELU()), np.zeros((4, 2), np.float32))


def test_file_is_plain_safetensors_with_a_layer_list(tmp_path):
    import json

    m, x = _bn_cnn(), _x()
    q = compress.quantize(m, x)
    compress.save_quantized(q, tmp_path / "q.st", metadata={"note": "hi"})
    tensors, meta = sd.load(tmp_path / "q.st", return_metadata=True)
    assert meta["shendu.compress"] == "int8" and meta["note"] == "hi"
    assert [sp["type"] for sp in json.loads(meta["layers"])][:4] == ["QuantizedConv2d", "ReLU", "MaxPool2d",
                                                                    "Flatten"]
    assert tensors["0.weight_int8"].numpy().dtype == np.int8
    np.testing.assert_array_equal(compress.load_quantized(tmp_path / "q.st").predict(x), q.predict(x))


def test_a_layer_without_a_description_is_saved_as_an_object(tmp_path):
    sd.manual_seed(0)
    m = nn.Sequential(nn.BatchNorm1d(6), nn.Linear(6, 3)).eval()   # a BatchNorm with no layer before it
    x = np.random.default_rng(0).standard_normal((20, 6)).astype(np.float32)
    q = compress.quantize(m, x)
    compress.save_quantized(q, tmp_path / "q.st")
    np.testing.assert_array_equal(compress.load_quantized(tmp_path / "q.st").predict(x), q.predict(x))
