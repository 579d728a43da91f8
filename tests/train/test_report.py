"""Run reports: report.html (self-contained) and metrics.json."""
import json
import sys

import numpy as np
import pytest

import shendu as sd
import shendu.nn as nn
import shendu.optim as optim
from conftest import require
from shendu.train import Report, Trainer, write_report


def blobs(n=120, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, size=n)
    x = rng.normal(scale=4.0, size=(3, 4))[y] + rng.normal(size=(n, 4))
    return x.astype(np.float32), y


def classifier():
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    return Trainer(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=1e-2), metrics=["accuracy"])


def test_fit_report_dir_writes_html_and_json(tmp_path):
    require("matplotlib")
    sd.manual_seed(123)
    tr = classifier()
    x, y = blobs()
    h = tr.fit(x, y, epochs=3, batch_size=16, verbose=0, validation_split=0.25, report_dir=tmp_path / "run")
    html = (tmp_path / "run" / "report.html").read_text()
    data = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert "<img alt='training curves' src='data:image/png;base64," in html
    assert "<img alt='confusion matrix' src='data:image/png;base64," in html
    assert "Linear(in_features=4, out_features=8, bias=True)" in html
    assert "<script" not in html and "http" not in html.replace("http-equiv", "")   # nothing to fetch
    assert data["final"] == {k: pytest.approx(v[-1]) for k, v in h.history.items()}
    assert data["history"]["val_loss"] == pytest.approx(h.history["val_loss"])
    assert data["epochs_run"] == 3 and data["seed"] == 123
    assert data["fit_params"]["batch_size"] == 16 and data["fit_params"]["validation_split"] == 0.25
    assert data["optimizer"]["class"] == "Adam" and data["optimizer"]["learning_rate"] == pytest.approx(0.01)
    assert data["model"]["parameters"] == 4 * 8 + 8 + 8 * 3 + 3
    assert set(data["versions"]) >= {"python", "numpy", "shendu", "matplotlib"}
    assert data["wall_time_s"] > 0
    cm = np.array(data["confusion_matrix"])
    assert cm.shape == (3, 3) and cm.sum() == 30                          # the 30 validation samples
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["metrics.json", "report.html"]


def test_report_callback_names_the_dataset_and_classes(tmp_path):
    require("matplotlib")
    tr = classifier()
    x, y = blobs()
    cb = Report(tmp_path, dataset="blobs", title="Blob run", class_names=["a", "b", "c"])
    tr.fit(x, y, epochs=1, verbose=0, validation_data=(x[:20], y[:20]), callbacks=[cb])
    data = json.loads((tmp_path / "metrics.json").read_text())
    assert data["dataset"] == "blobs" and data["class_names"] == ["a", "b", "c"]
    assert np.sum(data["confusion_matrix"]) == 20
    html = (tmp_path / "report.html").read_text()
    assert "<h1>Blob run</h1>" in html and "blobs" in html
    assert cb.paths == (str(tmp_path / "report.html"), str(tmp_path / "metrics.json"))


def test_regression_and_no_validation_have_no_confusion_matrix(tmp_path):
    require("matplotlib")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 2)).astype(np.float32)
    y = x.sum(axis=1, keepdims=True)
    model = nn.Linear(2, 1)
    tr = Trainer(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.1))
    tr.fit(x, y, epochs=2, verbose=0, validation_split=0.2, report_dir=tmp_path / "reg")
    assert json.loads((tmp_path / "reg" / "metrics.json").read_text())["confusion_matrix"] is None
    tr = classifier()
    xb, yb = blobs()
    tr.fit(xb, yb, epochs=1, verbose=0, report_dir=tmp_path / "noval")
    data = json.loads((tmp_path / "noval" / "metrics.json").read_text())
    assert data["confusion_matrix"] is None and set(data["final"]) == {"loss", "accuracy"}


def test_report_without_matplotlib_still_writes_with_a_note(tmp_path, monkeypatch):
    for name in ("matplotlib", "matplotlib.figure", "matplotlib.backends.backend_agg", "matplotlib.ticker"):
        monkeypatch.setitem(sys.modules, name, None)
    tr = classifier()
    x, y = blobs()
    h = tr.fit(x, y, epochs=2, verbose=0, validation_split=0.2, report_dir=tmp_path)
    html = (tmp_path / "report.html").read_text()
    assert "matplotlib is not installed" in html and "data:image/png" not in html
    assert "Confusion matrix" in html                      # shown as text instead
    data = json.loads((tmp_path / "metrics.json").read_text())
    assert data["final"]["loss"] == pytest.approx(h.history["loss"][-1])


def test_write_report_uses_the_hosts_summary_and_survives_nan(tmp_path):
    class Host:
        optimizer = None

        def summary(self):
            print('Model: "sequential"\nTotal params: 10 (40.00 B)')

    write_report(tmp_path, {"loss": [1.0, float("nan")]}, host=Host(), dataset="toy")
    def refuse(name):
        raise ValueError(f"not strict JSON: {name}")

    data = json.loads((tmp_path / "metrics.json").read_text(), parse_constant=refuse)   # NaN became null
    assert data["final"]["loss"] is None and data["dataset"] == "toy"
    assert 'Model: &quot;sequential&quot;' in (tmp_path / "report.html").read_text()
