"""Write the PyTorch-exported ONNX models the import tests read (run where torch is installed).

    python tests/onnx/make_reference_models.py

For each architecture and opset (13 and 17; 14 and 17 for the transformer layer, which
torch.onnx cannot write at 13) it writes ``tests/references/onnx/<name>_op<N>.onnx``
(``torch.onnx.export(..., dynamo=False)`` with dynamic batch, and sequence, axes) and beside it
``<name>_op<N>.npz`` holding two inputs of different batch sizes (``x0``, ``x1``) and PyTorch's
outputs for them (``y0``, ``y1``). Seeded, so a rerun writes the same numbers.
"""
import io
import os
import sys
import warnings

import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "references", "onnx")
OPSETS = (13, 17)
# torch.onnx exports scaled_dot_product_attention (inside TransformerEncoderLayer) from opset 14 only
OPSETS_FOR = {"transformer": (14, 17)}


def build(torch):
    nn = torch.nn

    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = nn.Sequential(nn.Linear(20, 32), nn.ReLU(), nn.Dropout(0.2), nn.Linear(32, 16), nn.Tanh(),
                                     nn.Linear(16, 10))

        def forward(self, x):
            return torch.log_softmax(self.net(x), dim=-1)

    class CNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.c1 = nn.Conv2d(1, 8, 3, padding=1)
            self.c2 = nn.Conv2d(8, 12, 3, stride=2, groups=4)
            self.fc = nn.Linear(12, 10)

        def forward(self, x):
            x = torch.max_pool2d(torch.relu(self.c1(x)), 2)
            x = torch.nn.functional.leaky_relu(self.c2(x), 0.1)
            x = torch.nn.functional.avg_pool2d(x, 2, ceil_mode=False)
            return self.fc(torch.flatten(x, 1))

    class ResBlock(nn.Module):
        """A small ResNet: 7×7/2 stem + BatchNorm + 3×3/2 max pool, one identity block, one strided block
        with a 1×1 projection shortcut, global average pool, linear head (what torchvision's ResNets
        export, at a size that fits the repository)."""

        def __init__(self):
            super().__init__()
            self.stem = nn.Conv2d(3, 8, 7, stride=2, padding=3, bias=False)
            self.bn0 = nn.BatchNorm2d(8)
            self.c1 = nn.Conv2d(8, 8, 3, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(8)
            self.c2 = nn.Conv2d(8, 8, 3, padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(8)
            self.c3 = nn.Conv2d(8, 12, 3, stride=2, padding=1, bias=False)
            self.bn3 = nn.BatchNorm2d(12)
            self.c4 = nn.Conv2d(12, 12, 3, padding=1, bias=False)
            self.bn4 = nn.BatchNorm2d(12)
            self.down = nn.Sequential(nn.Conv2d(8, 12, 1, stride=2, bias=False), nn.BatchNorm2d(12))
            self.bn_out = nn.BatchNorm2d(12)
            self.head = nn.Linear(12, 5)

        def forward(self, x):
            x = torch.max_pool2d(torch.relu(self.bn0(self.stem(x))), 3, 2, 1)
            y = torch.relu(self.bn1(self.c1(x)))
            x = torch.relu(x + self.bn2(self.c2(y)))
            y = torch.relu(self.bn3(self.c3(x)))
            x = torch.relu(self.down(x) + self.bn4(self.c4(y)))
            x = self.bn_out(x)                       # a BatchNorm after an Add is not folded away
            x = torch.nn.functional.adaptive_avg_pool2d(x, 1)
            return self.head(torch.flatten(x, 1))

    class LSTMClassifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(50, 16)
            self.rnn = nn.LSTM(16, 24, num_layers=2, bidirectional=True, batch_first=True)
            self.fc = nn.Linear(48, 3)

        def forward(self, tokens):
            out, _ = self.rnn(self.emb(tokens))
            return self.fc(out[:, -1, :])

    class GRUClassifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(50, 16)
            self.rnn = nn.GRU(16, 20, batch_first=True)
            self.fc = nn.Linear(20, 4)

        def forward(self, tokens):
            _, h = self.rnn(self.emb(tokens))
            return self.fc(h[-1])

    class Encoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.layer = nn.TransformerEncoderLayer(16, 2, dim_feedforward=32, dropout=0.1, batch_first=True,
                                                    activation="gelu")
            self.fc = nn.Linear(16, 3)

        def forward(self, x):
            return self.fc(self.layer(x).mean(dim=1))

    g = torch.Generator().manual_seed(1)
    tokens = [torch.randint(0, 50, (3, 7), generator=g), torch.randint(0, 50, (5, 4), generator=g)]
    return {
        "mlp": (MLP, [torch.randn(3, 20, generator=g), torch.randn(5, 20, generator=g)], {0: "batch"}),
        "cnn": (CNN, [torch.randn(3, 1, 12, 12, generator=g), torch.randn(5, 1, 12, 12, generator=g)],
                {0: "batch"}),
        "resblock": (ResBlock, [torch.randn(3, 3, 16, 16, generator=g), torch.randn(5, 3, 16, 16, generator=g)],
                     {0: "batch"}),
        "lstm": (LSTMClassifier, tokens, {0: "batch", 1: "seq"}),
        "gru": (GRUClassifier, tokens, {0: "batch", 1: "seq"}),
        # torch.onnx's traced attention bakes the batch and sequence sizes into Reshape constants
        # (onnxruntime fails on other sizes too), so both inputs share one shape here
        "transformer": (Encoder, [torch.randn(3, 6, 16, generator=g), torch.randn(3, 6, 16, generator=g)],
                        {0: "batch", 1: "seq"}),
    }


def randomize_batchnorm(torch, model):
    """Give every BatchNorm non-trivial statistics and affine weights (fresh ones are the identity)."""
    g = torch.Generator().manual_seed(2)
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            n = m.num_features
            m.running_mean.copy_(torch.randn(n, generator=g) * 0.3)
            m.running_var.copy_(torch.rand(n, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(n, generator=g) + 0.5)
            m.bias.data.copy_(torch.randn(n, generator=g) * 0.2)


def main():
    import torch
    os.makedirs(OUT, exist_ok=True)
    for name, (cls, inputs, axes) in build(torch).items():
        for opset in OPSETS_FOR.get(name, OPSETS):
            torch.manual_seed(0)
            model = cls()
            randomize_batchnorm(torch, model)
            model.eval()
            buf = io.BytesIO()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                torch.onnx.export(model, (inputs[0],), buf, dynamo=False, opset_version=opset,
                                  input_names=["input"], output_names=["output"],
                                  dynamic_axes={"input": axes, "output": {0: "batch"}})
            path = os.path.join(OUT, f"{name}_op{opset}.onnx")
            with open(path, "wb") as f:
                f.write(buf.getvalue())
            with torch.no_grad():
                ys = [model(x).numpy() for x in inputs]
            np.savez(os.path.join(OUT, f"{name}_op{opset}.npz"), x0=inputs[0].numpy(), x1=inputs[1].numpy(),
                     y0=ys[0], y1=ys[1])
            print(f"{path}: {len(buf.getvalue())} bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
