"""The shendu command line: the demo (on digits), train/evaluate round trip, info."""
import json
import os

from shendu.cli import main


def test_demo_on_digits_writes_a_report(tmp_path, capsys):
    report = tmp_path / "report"
    assert main(["demo", "--dataset", "digits", "--epochs", "1", "--verbose", "2",
                 "--report-dir", str(report)]) == 0
    out = capsys.readouterr().out
    assert "Total params: 21,386" in out and "Test accuracy:" in out
    assert os.path.getsize(report / "report.html") > 1000
    metrics = json.loads((report / "metrics.json").read_text())
    assert metrics


def test_train_save_then_evaluate(tmp_path, capsys):
    path = tmp_path / "mlp.keras"
    assert main(["train", "--dataset", "digits", "--model", "mlp", "--epochs", "3", "--verbose", "0",
                 "--report-dir", str(tmp_path / "r"), "--save", str(path)]) == 0
    capsys.readouterr()
    assert main(["evaluate", str(path), "--dataset", "digits"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["dataset"] == "digits" and result["accuracy"] > 0.5


def test_info_and_reserved_commands(capsys):
    assert main(["info"]) == 0
    assert "numpy" in capsys.readouterr().out
    assert main(["export"]) == 2
