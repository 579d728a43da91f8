"""The shendu command line: the demo (on digits), train/save/evaluate round trip, one-line errors, Ctrl-C."""
import json
import os
import subprocess
import sys
import zipfile

import pytest

from shendu.cli import main

# the subprocesses import the same shendu as this test run (PYTHONPATH=src, or the tree's src)
SRC = os.pathsep.join(os.path.abspath(p) for p in (os.environ.get("PYTHONPATH") or os.path.join(
    os.path.dirname(__file__), "..", "src")).split(os.pathsep) if p)
QUICK = ["--dataset", "digits", "--epochs", "1", "--limit", "200", "--verbose", "0"]


def run_cli(*args, cwd=None):
    """``python -m shendu ARGS`` in a fresh process: (exit status, stdout, stderr)."""
    env = dict(os.environ, PYTHONPATH=SRC)
    p = subprocess.run([sys.executable, "-m", "shendu", *args], capture_output=True, text=True, env=env,
                       cwd=cwd, timeout=120)
    return p.returncode, p.stdout, p.stderr


def one_line_error(stderr):
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


def test_demo_on_digits_writes_a_report(tmp_path, capsys):
    report = tmp_path / "report"
    assert main(["demo", "--dataset", "digits", "--epochs", "1", "--verbose", "2",
                 "--report-dir", str(report)]) == 0
    out = capsys.readouterr().out
    assert "Total params: 21,386" in out and "Test accuracy:" in out
    assert out.startswith("Demo: training the CNN on all digits images for 1 epoch(s)")
    assert os.path.getsize(report / "report.html") > 1000
    metrics = json.loads((report / "metrics.json").read_text())
    assert metrics


def test_demo_says_what_it_will_do_and_picks_quick_defaults(tmp_path, monkeypatch, capsys):
    import shendu.cli as cli

    # the quick plan and the --full plan; flags given by hand win
    args = cli.make_parser().parse_args(["demo"])
    assert cli._demo_plan(args, "fashion_mnist") == (10_000, 2)
    assert cli._demo_plan(args, "digits") == (None, 10)
    full = cli.make_parser().parse_args(["demo", "--full"])
    assert cli._demo_plan(full, "fashion_mnist") == (None, 2)
    mine = cli.make_parser().parse_args(["demo", "--full", "--epochs", "3", "--limit", "50"])
    assert cli._demo_plan(mine, "fashion_mnist") == (50, 3)


def test_train_save_then_evaluate_without_dataset(tmp_path, capsys):
    path = tmp_path / "mlp.keras"
    assert main(["train", "--dataset", "digits", "--model", "mlp", "--epochs", "3", "--verbose", "0",
                 "--report-dir", str(tmp_path / "r"), "--save", str(path)]) == 0
    capsys.readouterr()
    with zipfile.ZipFile(path) as zf:
        meta = json.loads(zf.read("metadata.json"))
    assert meta["dataset"] == "digits" and meta["input_shape"] == [8, 8, 1]
    assert "/ 16" in meta["preprocessing"] and meta["class_names"] == [str(d) for d in range(10)]
    # no --dataset: the model file says it was trained on digits
    assert main(["evaluate", str(path)]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["dataset"] == "digits" and result["accuracy"] > 0.5


def test_evaluate_asks_for_the_data_set_when_the_file_does_not_say(tmp_path, capsys):
    from shendu.cli import build_model

    model = build_model("mlp", (8, 8, 1), 10)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    path = tmp_path / "plain.keras"
    model.save(str(path))
    assert main(["evaluate", str(path)]) == 2
    assert "give it with --dataset" in one_line_error(capsys.readouterr().err)
    assert main(["evaluate", str(path), "--dataset", "digits", "--limit", "100"]) == 0


@pytest.mark.parametrize("argv, words", [
    (["train", "--batch-size", "0"], "--batch-size: must be at least 1, got 0"),
    (["train", "--epochs", "-1"], "--epochs: must be at least 1, got -1"),
    (["demo", "--limit", "-5"], "--limit: must be at least 1, got -5"),
    (["train", "--epochs", "two"], "--epochs: expected a whole number, got 'two'"),
    (["train", "--dataset", "cifar"], "invalid choice: 'cifar'"),
    (["train", "--model", "resnet"], "invalid choice: 'resnet'"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
    (["evaluate", "no-such-model.keras"], "no-such-model.keras: no such model file"),
    (["export"], "the following arguments are required: MODEL"),
    (["serve"], "the following arguments are required: path"),
    (["serve", "no-such-model.keras"], "no-such-model.keras: no such model file or folder"),
])
def test_mistakes_print_one_line_and_exit_2(argv, words, tmp_path):
    code, out, err = run_cli(*argv, cwd=tmp_path)
    assert code == 2, (out, err)
    assert words in one_line_error(err)


def test_corrupt_and_unfit_model_files_print_one_line(tmp_path):
    bad = tmp_path / "bad.keras"
    bad.write_bytes(b"not a zip file at all")
    code, _, err = run_cli("evaluate", str(bad))
    assert code == 2 and "bad.keras: cannot load the model" in one_line_error(err)
    folder = tmp_path / "folder.keras"
    folder.mkdir()
    code, _, err = run_cli("evaluate", str(folder))
    assert code == 2 and "is a folder" in one_line_error(err)


def test_evaluate_on_the_wrong_data_set_is_one_line(tmp_path, capsys):
    import numpy as np

    import shendu.cli as cli
    from shendu.keras.models import load_model

    path = tmp_path / "m.keras"
    assert main(["train", *QUICK, "--model", "mlp", "--report-dir", str(tmp_path / "r"),
                 "--save", str(path)]) == 0
    capsys.readouterr()
    if os.path.isdir("/usr/share/datasets/fashion-mnist"):
        assert main(["evaluate", str(path), "--dataset", "fashion_mnist", "--limit", "50"]) == 2
        assert "takes inputs of shape (8, 8, 1)" in one_line_error(capsys.readouterr().err)
    # the model's input and output shapes are checked against the data set before evaluating
    model = load_model(path)
    with pytest.raises(cli.CLIError, match="takes inputs of shape"):
        cli._check_fits(model, np.zeros((3, 28, 28, 1), np.float32), 10, "the model", "mnist")
    with pytest.raises(cli.CLIError, match="has 10 outputs, but the x data set has 100 classes"):
        cli._check_fits(model, np.zeros((3, 8, 8, 1), np.float32), 100, "the model", "x")


def test_unwritable_save_and_report_dir_fail_before_training(tmp_path, monkeypatch, capsys):
    import shendu.cli as cli

    def no_training(*args, **kwargs):
        raise AssertionError("the data set must not even be loaded before the checks")

    monkeypatch.setattr(cli, "_load", no_training)
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    for extra, words in ((["--save", str(blocker / "m.keras")], "--save"),
                         (["--save", str(tmp_path)], "is a folder"),
                         (["--report-dir", str(blocker)], "exists and is not a folder"),
                         (["--report-dir", str(blocker / "sub")], "--report-dir")):
        argv = ["train", *QUICK, "--report-dir", str(tmp_path / "r"), *extra]
        assert main(argv) == 2, extra
        err = capsys.readouterr().err
        assert words in one_line_error(err)


def test_unwritable_save_fails_before_training_in_a_process(tmp_path):
    code, out, err = run_cli("train", *QUICK, "--report-dir", str(tmp_path / "r"),
                             "--save", str(tmp_path / "missing" / "m.keras"))
    assert code == 2 and "does not exist" in one_line_error(err)
    assert "Epoch" not in out and "Data:" not in out


def test_ctrl_c_during_training_writes_the_report_so_far(tmp_path, monkeypatch, capsys):
    from shendu.train import Report

    original = Report.on_epoch_end

    def stop_after_first_epoch(self, epoch, logs=None):
        original(self, epoch, logs)
        if epoch == 1:
            raise KeyboardInterrupt

    monkeypatch.setattr(Report, "on_epoch_end", stop_after_first_epoch)
    report = tmp_path / "r"
    code = main(["train", "--dataset", "digits", "--limit", "200", "--epochs", "5", "--verbose", "0",
                 "--report-dir", str(report), "--save", str(tmp_path / "m.keras")])
    assert code == 130
    line = one_line_error(capsys.readouterr().err)
    assert "interrupted (Ctrl-C); the report of the 2 finished epoch(s) is in" in line
    metrics = json.loads((report / "metrics.json").read_text())
    assert metrics["epochs_run"] == 2
    assert os.path.getsize(report / "report.html") > 1000
    assert not (tmp_path / "m.keras").exists()  # an interrupted run saves no model


def test_version_help_and_python_dash_m(tmp_path):
    code, out, _ = run_cli("--version")
    assert code == 0 and out.startswith("shendu ")
    code, out, _ = run_cli("train", "--help")
    assert code == 0 and "(default: 32)" in out and "(default: 5)" in out
    code, out, _ = run_cli("demo", "--help")
    assert code == 0 and "--full" in out


def test_info(capsys):
    assert main(["info"]) == 0
    assert "numpy" in capsys.readouterr().out


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT is a POSIX signal")
def test_real_ctrl_c_exits_130_with_one_line(tmp_path):
    import signal

    env = dict(os.environ, PYTHONPATH=SRC, PYTHONUNBUFFERED="1")
    p = subprocess.Popen([sys.executable, "-m", "shendu", "train", "--dataset", "digits", "--limit", "300",
                          "--epochs", "500", "--verbose", "2", "--report-dir", str(tmp_path / "r")],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        for line in p.stdout:  # one line per finished epoch with --verbose 2
            if "val_accuracy" in line:
                break
        p.send_signal(signal.SIGINT)
        _, err = p.communicate(timeout=120)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 130
    assert "interrupted (Ctrl-C); the report of the" in one_line_error(err)
    assert json.loads((tmp_path / "r" / "metrics.json").read_text())["epochs_run"] >= 1
