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
from shendu.train.report import default_command


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


# ---------------------------------------------------------------- what the report holds


def images_data(n=60, seed=0):
    """Tiny 8x8 one-channel 'images' of 3 classes, NCHW."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, size=n)
    x = rng.normal(size=(n, 1, 8, 8)).astype(np.float32)
    x[np.arange(n), 0, y, :] += 3.0                       # class c lights up row c
    return x, y


def image_classifier():
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 3))
    return Trainer(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=1e-3), metrics=["accuracy"])


def test_per_class_table_and_misclassified_table_use_shendu_metrics(tmp_path):
    from shendu.metrics import precision_recall_fscore_support

    sd.manual_seed(0)
    model = nn.Linear(4, 3)
    tr = Trainer(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.0),
                 metrics=["accuracy"])             # never trained: plenty of mistakes
    x, y = blobs()
    tr.fit(x, y, epochs=1, verbose=0, validation_data=(x[:40], y[:40]), report_dir=tmp_path)
    data = json.loads((tmp_path / "metrics.json").read_text())
    true, pred = y[:40], tr.predict(x[:40], verbose=0).argmax(axis=1)
    p, r, f, s = precision_recall_fscore_support(true, pred, labels=[0, 1, 2], zero_division=0)
    rows = data["per_class"]
    assert [row["class"] for row in rows] == ["0", "1", "2", "macro avg", "weighted avg"]
    assert [row["precision"] for row in rows[:3]] == pytest.approx(p)
    assert [row["recall"] for row in rows[:3]] == pytest.approx(r)
    assert [row["f1"] for row in rows[:3]] == pytest.approx(f)
    assert [row["support"] for row in rows[:3]] == list(s)
    wrong = np.flatnonzero(true != pred)
    assert data["misclassified"]["count"] == len(wrong) > 0 and data["misclassified"]["of"] == 40
    assert [w["index"] for w in data["misclassified"]["examples"]] == wrong.tolist()
    html = (tmp_path / "report.html").read_text()
    assert "Per-class precision, recall and F1 (validation data)" in html
    assert f"{len(wrong)} of 40 misclassified" in html
    assert "<th>index</th><th>true</th><th>predicted</th>" in html   # not images: a table of indices
    assert "misclassified examples'" not in html


def test_misclassified_images_are_drawn_as_a_grid(tmp_path):
    require("matplotlib")
    sd.manual_seed(1)
    tr = image_classifier()
    x, y = images_data()
    tr.fit(x, y, epochs=1, verbose=0, validation_data=(x, y),
           callbacks=[Report(tmp_path, class_names=["a", "b", "c"])])
    html = (tmp_path / "report.html").read_text()
    data = json.loads((tmp_path / "metrics.json").read_text())
    assert data["misclassified"]["count"] > 0
    assert "<img alt='misclassified examples' src='data:image/png;base64," in html
    assert {w["true"] for w in data["misclassified"]["examples"]} <= {"a", "b", "c"}


def test_learning_rate_curve_follows_the_schedule(tmp_path):
    require("matplotlib")
    from shendu.train import LearningRateScheduler

    tr = classifier()
    x, y = blobs()
    sched = LearningRateScheduler(lambda epoch: 0.1 * 0.5 ** epoch)
    tr.fit(x, y, epochs=3, verbose=0, callbacks=[sched], report_dir=tmp_path)
    data = json.loads((tmp_path / "metrics.json").read_text())
    assert data["learning_rate"] == pytest.approx([0.1, 0.05, 0.025])
    html = (tmp_path / "report.html").read_text()
    assert "<img alt='learning rate' src='data:image/png;base64," in html


def test_learning_rate_is_read_from_the_optimizer_without_a_scheduler(tmp_path):
    tr = classifier()                                   # Adam, lr 0.01, nothing logs the rate
    x, y = blobs()
    tr.fit(x, y, epochs=2, verbose=0, report_dir=tmp_path)
    assert json.loads((tmp_path / "metrics.json").read_text())["learning_rate"] == pytest.approx([0.01, 0.01])


def test_one_epoch_plots_have_markers_and_whole_epoch_ticks():
    require("matplotlib")
    from shendu import viz

    for fig in (viz.plot_history({"loss": [0.5], "val_loss": [0.6]}), viz.plot_learning_rate([1e-3])):
        ax = fig.axes[0]
        fig.canvas.draw()
        ticks = [t for t in ax.get_xticks() if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
        assert ticks == [1]                              # epoch 1, not 0.945 ... 1.05
        lo, hi = ax.get_xlim()
        assert lo < 1 - 0.2 and hi > 1 + 0.2             # the point is not squeezed against an edge
        assert all(line.get_marker() not in (None, "None", "") for line in ax.lines)


def test_val_curves_take_the_split_name():
    require("matplotlib")
    from shendu import viz

    fig = viz.plot_history({"loss": [0.5, 0.4], "val_loss": [0.6, 0.5]}, val_label="test")
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["train", "test"]


def test_the_seed_is_recorded_once(tmp_path):
    sd.manual_seed(7)
    tr = classifier()
    x, y = blobs()
    tr.fit(x, y, epochs=1, verbose=0, seed=7, report_dir=tmp_path / "same")
    data = json.loads((tmp_path / "same" / "metrics.json").read_text())
    html = (tmp_path / "same" / "report.html").read_text()
    assert data["seed"] == 7 and "seed" not in data["fit_params"] and "shuffle_seed" not in data["fit_params"]
    assert html.count("<th>seed</th>") == 1 and "<th>seed</th><td>7</td>" in html
    tr.fit(x, y, epochs=1, verbose=0, seed=3, report_dir=tmp_path / "other")   # batches drawn apart
    data = json.loads((tmp_path / "other" / "metrics.json").read_text())
    assert data["seed"] == 7 and data["fit_params"]["shuffle_seed"] == 3 and "seed" not in data["fit_params"]


def test_the_test_set_is_called_the_test_set(tmp_path):
    tr = classifier()
    x, y = blobs()
    tr.fit(x, y, epochs=1, verbose=0, validation_data=(x[:30], y[:30]),
           callbacks=[Report(tmp_path, split_name="test")])
    html = (tmp_path / "report.html").read_text()
    assert "Confusion matrix (test data)" in html and "<th>val_loss (test)</th>" in html
    assert "validation data" not in html
    assert json.loads((tmp_path / "metrics.json").read_text())["split_name"] == "test"
    tr.fit(x, y, epochs=1, verbose=0, validation_data=(x[:30], y[:30]), report_dir=tmp_path / "default")
    assert "Confusion matrix (validation data)" in (tmp_path / "default" / "report.html").read_text()


def test_the_command_is_recorded(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["train.py", "--epochs", "3", "--name", "two words"])
    monkeypatch.setattr(sys, "orig_argv", ["python", *sys.argv], raising=False)
    write_report(tmp_path / "argv", {"loss": [1.0]})
    data = json.loads((tmp_path / "argv" / "metrics.json").read_text())
    assert data["command"] == "train.py --epochs 3 --name 'two words'"
    assert "train.py --epochs 3 --name &#x27;two words&#x27;" in (tmp_path / "argv" / "report.html").read_text()
    monkeypatch.setattr(sys, "argv", ["/usr/local/bin/shendu", "demo"])       # a console script
    monkeypatch.setattr(sys, "orig_argv", ["/usr/bin/python3", "/usr/local/bin/shendu", "demo"], raising=False)
    assert default_command() == "shendu demo"
    monkeypatch.setattr(sys, "argv", ["/site/shendu/cli.py", "demo", "--epochs", "1"])   # python -m
    monkeypatch.setattr(sys, "orig_argv", ["python3", "-m", "shendu.cli", "demo", "--epochs", "1"], raising=False)
    assert default_command() == "python -m shendu.cli demo --epochs 1"
    write_report(tmp_path / "given", {"loss": [1.0]}, command="shendu demo --epochs 1")
    assert json.loads((tmp_path / "given" / "metrics.json").read_text())["command"] == "shendu demo --epochs 1"


def test_an_earlier_report_is_moved_aside_not_overwritten(tmp_path, capsys):
    first = write_report(tmp_path, {"loss": [1.0]}, dataset="first")
    assert first.previous is None
    second = write_report(tmp_path, {"loss": [2.0]}, dataset="second")
    moved = [p for p in tmp_path.iterdir() if p.is_dir()]
    assert len(moved) == 1 and moved[0].name.startswith("previous-") and second.previous == str(moved[0])
    assert json.loads((moved[0] / "metrics.json").read_text())["dataset"] == "first"
    assert (moved[0] / "report.html").exists()
    new = json.loads((tmp_path / "metrics.json").read_text())
    assert new["dataset"] == "second" and new["previous_report"] == moved[0].name
    assert f"moved to {moved[0].name}/" in (tmp_path / "report.html").read_text()
    assert "already held a report" in capsys.readouterr().err
    write_report(tmp_path, {"loss": [3.0]}, dataset="third")      # a second move never clobbers the first
    assert len([p for p in tmp_path.iterdir() if p.is_dir()]) == 2
    write_report(tmp_path, {"loss": [4.0]}, dataset="fourth", overwrite=True)
    assert len([p for p in tmp_path.iterdir() if p.is_dir()]) == 2
    assert json.loads((tmp_path / "metrics.json").read_text())["dataset"] == "fourth"


def test_finish_writes_the_epochs_so_far_after_ctrl_c(tmp_path):
    from shendu.train import LambdaCallback

    def interrupt(epoch, logs):
        if epoch == 1:
            raise KeyboardInterrupt

    tr = classifier()
    x, y = blobs()
    report = Report(tmp_path)
    with pytest.raises(KeyboardInterrupt):
        tr.fit(x, y, epochs=10, verbose=0, validation_split=0.25,
               callbacks=[report, LambdaCallback(on_epoch_end=interrupt)])
    assert not (tmp_path / "report.html").exists()
    html_path, json_path = report.finish()
    data = json.loads((tmp_path / "metrics.json").read_text())
    assert data["epochs_run"] == 2 and len(data["history"]["loss"]) == 2
    assert data["confusion_matrix"] is not None
    assert "stopped before its end" in data["notes"][0] and "2 of 10 epoch(s)" in data["notes"][0]
    assert "stopped before its end" in (tmp_path / "report.html").read_text()
    assert html_path == str(tmp_path / "report.html") and json_path == str(tmp_path / "metrics.json")


def test_finish_then_the_end_of_training_is_one_report(tmp_path):
    from shendu.train import LambdaCallback

    tr = classifier()
    x, y = blobs()
    report = Report(tmp_path)
    early = LambdaCallback(on_epoch_end=lambda epoch, logs: report.finish() if epoch == 0 else None)
    tr.fit(x, y, epochs=2, verbose=0, callbacks=[report, early])
    assert [p.name for p in tmp_path.iterdir() if p.is_dir()] == []      # the same run is not "earlier"
    data = json.loads((tmp_path / "metrics.json").read_text())
    assert data["epochs_run"] == 2 and data["notes"] == []
    assert report.previous is None
