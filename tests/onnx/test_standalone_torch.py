"""Graphs as ``torch.onnx.export`` writes them (the exporter people use today), turned into standalone
NumPy code and checked against PyTorch: an MLP, a BatchNorm ResNet block, GRU and RNN classifiers and a
Transformer encoder layer, at opsets 11, 13 and 17, at a batch size (and length) other than the traced one."""
import numpy as np
import pytest

from conftest import require


def _models(torch):
    nn = torch.nn

    class Residual(nn.Module):
        def __init__(self):
            super().__init__()
            self.c1, self.b1 = nn.Conv2d(4, 8, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(8)
            self.c2, self.b2 = nn.Conv2d(8, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8)
            self.short = nn.Sequential(nn.Conv2d(4, 8, 1, stride=2, bias=False), nn.BatchNorm2d(8))
            self.fc = nn.Linear(8, 3)

        def forward(self, x):
            y = torch.relu(self.b2(self.c2(torch.relu(self.b1(self.c1(x))))) + self.short(x))
            return self.fc(nn.functional.adaptive_avg_pool2d(y, 1).flatten(1))

    class GRUText(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed, self.gru = nn.Embedding(30, 8), nn.GRU(8, 12, batch_first=True, bidirectional=True)
            self.fc = nn.Linear(24, 2)

        def forward(self, x):
            _, h = self.gru(self.embed(x))
            return self.fc(torch.cat([h[0], h[1]], -1))

    class RNNMean(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn, self.fc = nn.RNN(5, 7, num_layers=2, batch_first=True), nn.Linear(7, 2)

        def forward(self, x):
            y, _ = self.rnn(x)
            return self.fc(y.mean(1))

    mlp = nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Dropout(0.5), nn.Linear(32, 10),
                        nn.LogSoftmax(1))
    class Encoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.layer = nn.TransformerEncoderLayer(16, 4, 32, dropout=0.1, batch_first=True, activation="gelu")

        def forward(self, x):
            return self.layer(x)

    rand = lambda *s: torch.randn(*s)  # noqa: E731
    tokens = lambda *s: torch.randint(0, 30, s)  # noqa: E731
    # name: (model, traced input, another input, dynamic axes, opset)
    return {
        "mlp_opset11": (mlp, rand(2, 8, 8), rand(5, 8, 8), {0: "n"}, 11),
        "resnet_block_opset13": (Residual(), rand(2, 4, 9, 9), rand(3, 4, 9, 9), {0: "n"}, 13),
        "resnet_block_opset17": (Residual(), rand(2, 4, 9, 9), rand(1, 4, 9, 9), {0: "n"}, 17),
        "gru_bidirectional": (GRUText(), tokens(3, 6), tokens(4, 9), {0: "n", 1: "t"}, 17),
        "rnn_two_layers_opset13": (RNNMean(), rand(2, 6, 5), rand(3, 8, 5), {0: "n", 1: "t"}, 13),
        # torch's exporter freezes this layer's shapes: checked at the traced shape only
        "transformer_encoder_layer": (Encoder(), rand(2, 5, 16), rand(2, 5, 16), {0: "n"}, 17),
    }


CASES = ["mlp_opset11", "resnet_block_opset13", "resnet_block_opset17", "gru_bidirectional",
         "rnn_two_layers_opset13", "transformer_encoder_layer"]


@pytest.mark.parametrize("case", CASES)
def test_torch_exported_graph_runs_as_standalone_numpy(case, tmp_path):
    torch = require("torch")
    require("onnx")
    import shendu.onnx as so
    from shendu.onnx._numpy import load_module

    torch.manual_seed(0)
    model, x, other, dynamic, opset = _models(torch)[case]
    model.eval()
    path = tmp_path / f"{case}.onnx"
    torch.onnx.export(model, (x,), str(path), dynamo=False, input_names=["x"], output_names=["y"],
                      dynamic_axes={"x": dynamic, "y": {0: "n"}}, opset_version=opset)
    result = so.to_numpy(str(path), x.numpy(), str(tmp_path / "out"))
    assert max(result.max_abs_error.values()) < 1e-5
    module = load_module(result.code_path)
    with torch.no_grad():
        want = model(other).numpy()
    np.testing.assert_allclose(module.predict(other.numpy()), want, atol=2e-5, rtol=0)
