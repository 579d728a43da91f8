"""The sequence examples run, short, and learn a little (the long runs are benchmarks/app_sequence.py)."""
import importlib.util
import os
import shutil

import pytest

from conftest import require

ROOT = os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, "examples")


def load(name):
    spec = importlib.util.spec_from_file_location(name, os.path.join(ROOT, f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_seq2seq_example_learns_the_numerals(tmp_path):
    require("matplotlib")
    result = load("seq2seq_numerals").run(train=800, test=60, epochs=3, high=1000, beam=2, verbose=False,
                                          plot=str(tmp_path / "attention.png"))
    assert result["greedy_exact_match"] > 0.3 and 0 <= result["beam_exact_match"] <= 1
    assert (tmp_path / "attention.png").stat().st_size > 1000


def test_forecast_example_beats_nothing_silly():
    require("statsmodels")
    result = load("forecast_sunspots").run(epochs=20, verbose=False)
    assert result["gru_mae"] > 0 and result["naive_mae"] > 0


@pytest.mark.system
def test_charrnn_example_on_the_tang_poems():
    model, history = load("charrnn_poems").run(epochs=1, steps_per_epoch=5, verbose=False)
    assert history[0]["val_perplexity"] < model.vocab_size       # better than uniform guessing
    assert model.acrostic("春秋", line_length=5, seed=0).split("\n")[1][0] == "秋"


@pytest.mark.system
def test_fortunes_example_runs():
    result = load("fortunes_classifier").run(["computers", "food"], epochs=1, bow_epochs=2, verbose=0)
    assert 0 <= result["bilstm"]["macro_f1"] <= 1 and result["bag_of_words"]["macro_f1"] > 0.5


@pytest.mark.system
def test_spoken_commands_example_synthesises_and_trains(monkeypatch):
    if shutil.which("espeak-ng") is None:
        pytest.fail("espeak-ng is needed (apt-get install espeak-ng)")
    ex = load("spoken_commands")
    monkeypatch.setattr(ex, "TRAIN_VOICES", ex.TRAIN_VOICES[:2])
    monkeypatch.setattr(ex, "TEST_VOICES", ex.TEST_VOICES[:1])
    result = ex.run(epochs=1, verbose=False)
    assert result["train_clips"] == 10 * 2 * 9 * 2 and 0 <= result["held_out_voice_accuracy"] <= 1
