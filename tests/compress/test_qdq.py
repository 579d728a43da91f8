"""ONNX QDQ export: a checked graph with int8 initializers that onnxruntime runs like shendu's int8 model."""
import numpy as np
import pytest

import shendu as sd
import shendu.nn as nn
from conftest import require
from shendu import compress
from shendu.cli import build_model


def _ort(path, x):
    ort = require("onnxruntime")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {"input": x})[0]


def test_keras_cnn_qdq_runs_in_onnxruntime(tmp_path):
    onnx = require("onnx")
    sd.manual_seed(0)
    model = build_model("cnn", (28, 28, 1), 10)
    x = np.random.default_rng(0).random((40, 28, 28, 1)).astype(np.float32)
    q = compress.quantize(model, x)
    path = tmp_path / "q.onnx"
    compress.export_qdq(q, path, (28, 28, 1))
    proto = onnx.load(str(path))
    ops = [n.op_type for n in proto.graph.node]
    assert ops.count("QuantizeLinear") == 3 and ops.count("DequantizeLinear") == 6
    int8 = [t for t in proto.graph.initializer if t.data_type == onnx.TensorProto.INT8 and t.dims]
    weights, zero_points = 288 + 18432 + 16000, 32 + 64 + 10
    assert sum(int(np.prod(t.dims)) for t in int8) == weights + zero_points
    for batch in (40, 3):                                    # the batch axis is dynamic
        np.testing.assert_allclose(_ort(path, x[:batch]), q.predict(x[:batch]), atol=1e-4)


def test_bn_model_nchw_and_insert_qdq_on_named_initializers(tmp_path):
    require("onnx")
    sd.manual_seed(0)
    m = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1, stride=2), nn.BatchNorm2d(4), nn.ReLU(), nn.AvgPool2d(2),
                      nn.Flatten(), nn.Linear(4 * 2 * 2, 3), nn.LogSoftmax(dim=1)).eval()
    x = np.random.default_rng(1).standard_normal((16, 2, 8, 8)).astype(np.float32)
    q = compress.quantize(m, x, method="percentile", percentile=99.9)
    path = tmp_path / "m.onnx"
    proto = compress.export_qdq(q, path, (2, 8, 8))
    assert {t.name for t in proto.graph.initializer} >= {"0.weight_int8", "0.weight_scale", "4.weight_int8"}
    np.testing.assert_allclose(_ort(path, x), q.predict(x), atol=1e-4)


def test_export_errors(tmp_path):
    with pytest.raises(TypeError, match="QuantizedSequential"):
        compress.export_qdq(nn.Sequential(nn.Linear(2, 2)), tmp_path / "x.onnx", (2,))
