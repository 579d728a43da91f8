"""Inference speed of the standalone NumPy export, beside shendu, PyTorch and onnxruntime, in one run.

    python benchmarks/bench_standalone.py            # seed CNN (batch 256) and LSTM classifier (batch 64)
    python benchmarks/bench_standalone.py --repeat 20

The ONNX graph each standalone file is written from comes from torch.onnx.export of a PyTorch twin that
holds the shendu model's weights, so every engine computes the same function; the outputs are compared
before anything is timed. Figures: the median wall time of ``--repeat`` calls after one warm-up call.
"""
import argparse
import os
import statistics
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "src"))

import shendu as sd  # noqa: E402
import shendu.nn as nn  # noqa: E402
import shendu.onnx as so  # noqa: E402
from shendu.onnx._numpy import load_module  # noqa: E402


def median_time(fn, repeat):
    fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def cases(torch):
    tn = torch.nn
    cnn = nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3), nn.ReLU(),
                        nn.MaxPool2d(2), nn.Flatten(), nn.Linear(1600, 10), nn.Softmax(dim=1))
    cnn_twin = tn.Sequential(tn.Conv2d(1, 32, 3), tn.ReLU(), tn.MaxPool2d(2), tn.Conv2d(32, 64, 3), tn.ReLU(),
                             tn.MaxPool2d(2), tn.Flatten(), tn.Linear(1600, 10), tn.Softmax(dim=1))

    class LSTMClassifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm, self.fc = nn.LSTM(28, 128, batch_first=True), nn.Linear(128, 10)

        def forward(self, x):
            y, _ = self.lstm(x)
            return self.fc(y[:, -1, :])

    class Twin(tn.Module):
        def __init__(self):
            super().__init__()
            self.lstm, self.fc = tn.LSTM(28, 128, batch_first=True), tn.Linear(128, 10)

        def forward(self, x):
            y, _ = self.lstm(x)
            return self.fc(y[:, -1, :])

    rng = np.random.default_rng(0)
    return [("seed CNN, batch 256", cnn, cnn_twin, rng.random((256, 1, 28, 28), dtype=np.float32)),
            ("LSTM(28->128) classifier, 28 steps, batch 64", LSTMClassifier(), Twin(),
             rng.random((64, 28, 28), dtype=np.float32))]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=7)
    args = p.parse_args(argv)
    import onnxruntime as ort
    import torch

    torch.set_num_threads(2)
    sd.manual_seed(0)
    torch.manual_seed(0)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for k, (name, model, twin, x) in enumerate(cases(torch)):
            model.eval()
            state = {key: torch.from_numpy(np.array(v)) for key, v in model.state_dict().items()}
            twin.load_state_dict(state)
            twin.eval()
            path = os.path.join(tmp, f"m{k}.onnx")
            torch.onnx.export(twin, (torch.from_numpy(x),), path, dynamo=False, input_names=["x"],
                              output_names=["y"], dynamic_axes={"x": {0: "n"}}, opset_version=17)
            result = so.to_numpy(path, x[:2], os.path.join(tmp, f"out{k}"))
            standalone = load_module(result.code_path)
            sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
            tx = sd.tensor(x)

            def run_shendu(model=model, tx=tx):
                with sd.no_grad():
                    return model(tx).numpy()

            def run_torch(twin=twin, x=x):
                with torch.no_grad():
                    return twin(torch.from_numpy(x)).numpy()

            engines = {"shendu": run_shendu, "standalone NumPy file": lambda m=standalone, x=x: m.predict(x),
                       "PyTorch": run_torch, "onnxruntime": lambda s=sess, x=x: s.run(None, {"x": x})[0]}
            ref = run_shendu()
            for engine, fn in engines.items():
                err = float(np.abs(fn() - ref).max())
                assert err < 1e-4, (name, engine, err)
            times = {engine: median_time(fn, args.repeat) for engine, fn in engines.items()}
            rows.append((name, times))
    print(f"| case | {' | '.join(rows[0][1])} | standalone / shendu |")
    print("|---|" + "---|" * (len(rows[0][1]) + 1))
    for name, times in rows:
        cells = " | ".join(f"{t * 1000:.1f} ms" for t in times.values())
        print(f"| {name} | {cells} | {times['standalone NumPy file'] / times['shendu']:.2f} |")


if __name__ == "__main__":
    main()
