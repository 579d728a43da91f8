"""Callbacks against Keras's documented rules, driven by scripted monitor values, and the progress bar."""
import csv
import math
import re

import numpy as np
import pytest

import shendu
import shendu.nn as nn
import shendu.optim as optim
from shendu.train import (
    Callback,
    CSVLogger,
    EarlyStopping,
    LambdaCallback,
    LearningRateScheduler,
    ModelCheckpoint,
    Progbar,
    ReduceLROnPlateau,
    TerminateOnNaN,
    Trainer,
    get_lr,
    monitor_mode,
)
from shendu.train.progress import format_time, format_value


class FakeHost:
    """The host interface callbacks rely on; its 'weights' are the epoch number at which they were read."""

    def __init__(self, lr=1.0):
        self.stop_training = False
        self.epoch = 0
        self.restored = None
        self.saved = []
        self.optimizer = type("Opt", (), {"param_groups": [{"lr": lr}]})()

    def get_weights(self):
        return [np.array(self.epoch)]

    def set_weights(self, weights):
        self.restored = int(weights[0])

    def save(self, path):
        self.saved.append(("model", path))

    def save_weights(self, path):
        self.saved.append(("weights", path))


def drive(callback, values, key="val_loss", host=None):
    """Run the epoch-level events of a fit over scripted monitor values; returns (host, epochs run, logs)."""
    host = host or FakeHost()
    callback.set_model(host)
    callback.set_params({"epochs": len(values), "steps": 1, "verbose": 0})
    callback.on_train_begin()
    all_logs = []
    for epoch, value in enumerate(values):
        host.epoch = epoch
        callback.on_epoch_begin(epoch)
        logs = {key: value}
        callback.on_epoch_end(epoch, logs)
        all_logs.append(logs)
        if host.stop_training:
            break
    callback.on_train_end()
    return host, epoch + 1, all_logs


def blobs(n=120, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, size=n)
    x = rng.normal(scale=4.0, size=(3, 4))[y] + rng.normal(size=(n, 4))
    return x.astype(np.float32), y


def trainer(metrics=("accuracy",), lr=1e-2):
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    return Trainer(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=lr), metrics=list(metrics))


class Script(Callback):
    """Overwrites logs[key] at each epoch end with scripted values (placed before the callback under test)."""

    def __init__(self, values, key="val_loss"):
        super().__init__()
        self.values, self.key = values, key

    def on_epoch_end(self, epoch, logs=None):
        logs[self.key] = self.values[epoch]


# ------------------------------------------------------------------ EarlyStopping

def test_early_stopping_keras_doc_example_runs_four_epochs():
    # Keras docs: monitor='loss', patience=3, no improvement after the first epoch -> 4 epochs
    _, epochs, _ = drive(EarlyStopping(monitor="loss", patience=3), [1.0] * 10, key="loss")
    assert epochs == 4


def test_early_stopping_wait_counting_and_reset_on_improvement():
    es = EarlyStopping(patience=2)
    host, epochs, _ = drive(es, [5.0, 4.0, 4.5, 3.0, 3.5, 3.2, 3.1, 2.0])
    # improvements at epochs 0, 1, 3; then 4 (wait 1), 5 (wait 2) -> stop at epoch 5
    assert epochs == 6 and es.stopped_epoch == 5 and es.wait == 2 and es.best == 3.0
    assert host.stop_training


def test_early_stopping_patience_zero_stops_at_first_non_improvement_but_not_epoch_zero():
    _, epochs, _ = drive(EarlyStopping(), [1.0, 0.5, 0.6, 0.1])
    assert epochs == 3


def test_early_stopping_min_delta_counts_small_gains_as_no_improvement():
    # improvement needs current + min_delta < best (mode min)
    _, epochs, _ = drive(EarlyStopping(patience=1, min_delta=0.1), [1.0, 0.95, 0.92, 0.5])
    assert epochs == 2
    _, epochs, _ = drive(EarlyStopping(patience=1, min_delta=0.1), [1.0, 0.85, 0.7, 0.65])
    assert epochs == 4
    _, epochs, _ = drive(EarlyStopping(monitor="acc", patience=1, min_delta=0.1), [0.5, 0.55, 0.9], key="acc")
    assert epochs == 2


def test_early_stopping_mode_auto_maximises_accuracy():
    assert monitor_mode("val_accuracy") == "max" and monitor_mode("val_acc") == "max"
    assert monitor_mode("auc") == "max" and monitor_mode("val_loss") == "min" and monitor_mode("mae") == "min"
    _, epochs, _ = drive(EarlyStopping(monitor="val_accuracy"), [0.5, 0.6, 0.7, 0.8], key="val_accuracy")
    assert epochs == 4
    _, epochs, _ = drive(EarlyStopping(monitor="val_accuracy", mode="min"), [0.5, 0.6, 0.7], key="val_accuracy")
    assert epochs == 2


def test_early_stopping_baseline_keeps_counting_until_beaten():
    es = EarlyStopping(patience=2, baseline=2.0)
    _, epochs, _ = drive(es, [3.0, 3.1, 3.2, 1.0])
    # epoch 0 improves on best but not on the baseline, so wait is not reset: it reaches 2 at epoch 1
    assert epochs == 2 and es.best == 3.0
    es = EarlyStopping(patience=2, baseline=2.0)
    _, epochs, _ = drive(es, [3.0, 2.9, 2.8, 1.0, 1.5, 1.5])
    # improving epochs never stop training; beating the baseline at epoch 3 resets wait
    assert epochs == 6 and es.wait == 2 and es.best == 1.0


def test_early_stopping_restores_best_weights_when_it_stops():
    es = EarlyStopping(patience=2, restore_best_weights=True)
    host, epochs, _ = drive(es, [5.0, 3.0, 4.0, 4.0, 1.0])
    assert epochs == 4 and es.best_epoch == 1 and host.restored == 1


def test_early_stopping_restores_best_weights_even_without_stopping_like_keras_3():
    host, epochs, _ = drive(EarlyStopping(patience=10, restore_best_weights=True), [3.0, 4.0, 5.0])
    assert epochs == 3 and host.restored == 0
    host, _, _ = drive(EarlyStopping(patience=10), [3.0, 4.0, 5.0])
    assert host.restored is None


def test_early_stopping_start_from_epoch_skips_warm_up():
    _, epochs, _ = drive(EarlyStopping(start_from_epoch=3), [1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    assert epochs == 5  # first monitored epoch is 3 (best), epoch 4 does not improve


def test_early_stopping_missing_monitor_warns_and_continues():
    with pytest.warns(UserWarning, match="val_loss.*not available"):
        _, epochs, _ = drive(EarlyStopping(), [1.0, 2.0, 3.0], key="loss")
    assert epochs == 3


def test_early_stopping_in_the_real_loop_restores_weights():
    tr = trainer()
    x, y = blobs()
    snapshots = []
    record = LambdaCallback(on_epoch_end=lambda epoch, logs: snapshots.append(tr.get_weights()))
    es = EarlyStopping(patience=1, restore_best_weights=True)
    h = tr.fit(x, y, epochs=10, verbose=0, validation_split=0.2,
               callbacks=[Script([3.0, 1.0, 2.0, 2.5, 0.1]), record, es])
    assert h.epoch == [0, 1, 2] and h.history["val_loss"] == [3.0, 1.0, 2.0]
    for a, b in zip(tr.get_weights(), snapshots[1]):
        np.testing.assert_array_equal(a, b)


# ------------------------------------------------------------------ ModelCheckpoint

def test_model_checkpoint_formats_epoch_from_one_and_log_keys(tmp_path):
    host, _, _ = drive(ModelCheckpoint(str(tmp_path / "ck-{epoch:02d}-{val_loss:.2f}.st")), [0.5, 0.25])
    assert host.saved == [("model", str(tmp_path / "ck-01-0.50.st")), ("model", str(tmp_path / "ck-02-0.25.st"))]


def test_model_checkpoint_save_best_only_and_weights_only(tmp_path):
    cb = ModelCheckpoint(str(tmp_path / "w-{epoch:02d}.st"), save_best_only=True, save_weights_only=True)
    host, _, _ = drive(cb, [3.0, 2.0, 4.0, 1.0, 1.0])
    assert [p.rsplit("-", 1)[1] for _, p in host.saved] == ["01.st", "02.st", "04.st"]
    assert {kind for kind, _ in host.saved} == {"weights"}
    cb = ModelCheckpoint(str(tmp_path / "best.st"), monitor="val_acc", save_best_only=True)
    host, _, _ = drive(cb, [0.5, 0.4, 0.6], key="val_acc")
    assert len(host.saved) == 2
    cb = ModelCheckpoint(str(tmp_path / "b.st"), save_best_only=True, initial_value_threshold=1.5)
    host, _, _ = drive(cb, [3.0, 2.0, 1.0])
    assert len(host.saved) == 1


def test_model_checkpoint_missing_monitor_warns_and_saves(tmp_path):
    cb = ModelCheckpoint(str(tmp_path / "b.st"), save_best_only=True)
    with pytest.warns(UserWarning, match="Can save best model only with val_loss available"):
        host, _, _ = drive(cb, [1.0], key="loss")
    assert len(host.saved) == 1


def test_model_checkpoint_writes_loadable_files_in_the_real_loop(tmp_path):
    import shendu as sd

    tr = trainer()
    x, y = blobs()
    path = tmp_path / "sub" / "model-{epoch:02d}.safetensors"
    tr.fit(x, y, epochs=2, verbose=0, validation_split=0.25, callbacks=[ModelCheckpoint(path)])
    files = sorted(p.name for p in (tmp_path / "sub").iterdir())
    assert files == ["model-01.safetensors", "model-02.safetensors"]
    state = sd.load(tmp_path / "sub" / "model-02.safetensors")
    np.testing.assert_array_equal(np.asarray(state["0.weight"]), tr.get_weights()[0])


def test_model_checkpoint_every_n_batches(tmp_path):
    tr = trainer()
    x, y = blobs(100)
    cb = ModelCheckpoint(str(tmp_path / "e{epoch}-b{batch}.st"), save_freq=3)
    tr.fit(x, y, epochs=2, batch_size=20, verbose=0, callbacks=[cb])   # 5 batches per epoch
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["e1-b3.st", "e2-b1.st", "e2-b4.st"]
    with pytest.raises(ValueError, match="save_freq"):
        ModelCheckpoint("x", save_freq="batch")


# ------------------------------------------------------------------ ReduceLROnPlateau

def _lr_run(values, **kw):
    cb = ReduceLROnPlateau(**kw)
    host, _, logs = drive(cb, values)
    return [lg["learning_rate"] for lg in logs], get_lr(host.optimizer)


def _keras_rule_rates(values, factor, patience, cooldown, min_delta, min_lr, lr=1.0):
    """Keras's own counting, written out: the reference the shared Plateau rule must reproduce."""
    best, wait, counter, rates = math.inf, 0, 0, []
    for v in values:
        if counter > 0:
            counter, wait = counter - 1, 0
        if v < best - min_delta:
            best, wait = v, 0
        elif counter == 0:
            wait += 1
            if wait >= patience and lr > np.float32(min_lr):
                lr, counter, wait = max(lr * factor, min_lr), cooldown, 0
        rates.append(lr)
    return rates


@pytest.mark.parametrize("seed", range(12))
def test_reduce_lr_on_plateau_callback_drives_the_scheduler_rule_with_keras_counting(seed):
    from shendu.optim.lr_scheduler import Plateau

    rng = np.random.default_rng(seed)
    values = list(np.round(rng.uniform(0, 1, 25) + np.linspace(0.5, 0, 25), 2))
    kw = dict(factor=0.5, patience=int(rng.integers(0, 4)), cooldown=int(rng.integers(0, 4)),
              min_delta=float(rng.choice([0.0, 0.01, 0.05])), min_lr=float(rng.choice([0.0, 0.1])))
    cb = ReduceLROnPlateau("loss", **kw)
    assert isinstance(cb._rule, Plateau)
    host, _, logs = drive(cb, values, key="loss")
    expected = _keras_rule_rates(values, **kw)
    # logs hold the rate at the end of each epoch, before that epoch's reduction
    np.testing.assert_allclose([lg["learning_rate"] for lg in logs], [1.0] + expected[:-1], rtol=1e-6)
    np.testing.assert_allclose(get_lr(host.optimizer), expected[-1], rtol=1e-6)


def test_reduce_lr_on_plateau_patience_and_logged_rate():
    logged, final = _lr_run([1.0, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9], factor=0.5, patience=2)
    # improvements at 0, 1; waits 1, 2 -> reduce at epoch 3; waits 1, 2 -> reduce at epoch 5
    assert logged == [1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.25] and final == 0.25


def test_reduce_lr_on_plateau_cooldown_and_min_lr():
    logged, final = _lr_run([1.0] * 7, factor=0.5, patience=1, cooldown=2)
    # reduce at epoch 1; cooldown holds epochs 2; counter hits 0 at epoch 3 -> reduce at 3, then 5
    assert logged == [1.0, 1.0, 0.5, 0.5, 0.25, 0.25, 0.125] and final == 0.125
    logged, final = _lr_run([1.0] * 6, factor=0.5, patience=1, min_lr=0.2)
    assert logged == [1.0, 1.0, 0.5, 0.25, 0.2, 0.2] and final == 0.2


def test_reduce_lr_on_plateau_min_delta_is_absolute():
    logged, _ = _lr_run([1.0, 0.95, 0.9], factor=0.5, patience=1, min_delta=0.1)
    assert logged == [1.0, 1.0, 0.5]


def test_reduce_lr_on_plateau_rejects_factor_of_one_or_more():
    with pytest.raises(ValueError, match="factor >= 1.0"):
        ReduceLROnPlateau(factor=1.0)


def test_reduce_lr_on_plateau_in_the_real_loop_changes_the_optimizer_and_history():
    tr = trainer()
    x, y = blobs()
    h = tr.fit(x, y, epochs=4, verbose=0, validation_split=0.2,
               callbacks=[Script([1.0, 1.0, 1.0, 1.0]), ReduceLROnPlateau(patience=1, factor=0.5)])
    assert h.history["learning_rate"] == [0.01, 0.01, 0.005, 0.0025]
    assert tr.optimizer.param_groups[0]["lr"] == pytest.approx(0.00125)


# ------------------------------------------------------------------ LearningRateScheduler

def test_learning_rate_scheduler_two_and_one_argument_schedules():
    tr = trainer(lr=0.1)
    x, y = blobs()
    h = tr.fit(x, y, epochs=3, verbose=0, callbacks=[LearningRateScheduler(lambda epoch, lr: lr * 0.5)])
    assert h.history["learning_rate"] == [0.05, 0.025, 0.0125]
    h = tr.fit(x, y, epochs=3, verbose=0, callbacks=[LearningRateScheduler(lambda epoch: 0.1 / (epoch + 1))])
    assert h.history["learning_rate"] == pytest.approx([0.1, 0.05, 0.1 / 3])
    with pytest.raises(ValueError, match="should return a float"):
        tr.fit(x, y, epochs=1, verbose=0, callbacks=[LearningRateScheduler(lambda epoch: "fast")])


def test_learning_rate_scheduler_with_a_keras_style_optimizer_object():
    host = FakeHost()
    host.optimizer = type("KerasOpt", (), {"learning_rate": 0.3})()
    cb = LearningRateScheduler(lambda e, lr: 0.3 * 0.1 ** e)
    drive(cb, [1.0, 1.0, 1.0], host=host)
    assert host.optimizer.learning_rate == pytest.approx(0.003)


# ------------------------------------------------------------------ CSVLogger

def test_csv_logger_rows_header_and_append(tmp_path):
    tr = trainer()
    x, y = blobs()
    path = tmp_path / "log.csv"
    h = tr.fit(x, y, epochs=3, verbose=0, validation_split=0.2, callbacks=[CSVLogger(path)])
    rows = list(csv.reader(path.open()))
    assert rows[0] == ["epoch", "accuracy", "loss", "val_accuracy", "val_loss"]
    assert [r[0] for r in rows[1:]] == ["0", "1", "2"]
    assert float(rows[3][2]) == pytest.approx(h.history["loss"][2])
    tr.fit(x, y, epochs=2, verbose=0, validation_split=0.2, callbacks=[CSVLogger(path, append=True)])
    rows = list(csv.reader(path.open()))
    assert len(rows) == 6 and rows[0][0] == "epoch" and [r[0] for r in rows[4:]] == ["0", "1"]
    tr.fit(x, y, epochs=1, verbose=0, callbacks=[CSVLogger(path, separator=";")])
    assert path.read_text().splitlines()[0] == "epoch;accuracy;loss"
    assert not [p for p in tmp_path.iterdir() if p.name != "log.csv"]      # no temporary files left


# ------------------------------------------------------------------ TerminateOnNaN

def test_terminate_on_nan_stops_after_the_bad_batch(capsys):
    tr = trainer()
    x, y = blobs(100)
    x[45] = np.nan                                      # in batch 1 (batch_size 32, no shuffling)
    batches = []
    h = tr.fit(x, y, epochs=3, batch_size=32, shuffle=False, verbose=0,
               callbacks=[TerminateOnNaN(), LambdaCallback(on_train_batch_end=lambda b, lg: batches.append(b))])
    assert batches == [0, 1] and h.epoch == [0]
    assert "Batch 1: Invalid loss, terminating training" in capsys.readouterr().out


# ------------------------------------------------------------------ LambdaCallback and event order

def test_lambda_callback_sees_every_event_in_order():
    events = []

    def rec(name):
        return lambda *args: events.append((name,) + tuple(a for a in args if isinstance(a, int)))

    names = ["on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end", "on_train_batch_begin",
             "on_train_batch_end", "on_test_begin", "on_test_end", "on_test_batch_begin", "on_test_batch_end"]
    cb = LambdaCallback(**{n: rec(n) for n in names})
    tr = trainer()
    x, y = blobs(40)
    tr.fit(x, y, epochs=2, batch_size=16, validation_batch_size=32, verbose=0, validation_split=0.5,
           callbacks=[cb])  # 2 training batches, 1 validation batch
    epoch = lambda e: [("on_epoch_begin", e), ("on_train_batch_begin", 0), ("on_train_batch_end", 0),  # noqa: E731
                       ("on_train_batch_begin", 1), ("on_train_batch_end", 1), ("on_test_begin",),
                       ("on_test_batch_begin", 0), ("on_test_batch_end", 0), ("on_test_end",),
                       ("on_epoch_end", e)]
    assert events == [("on_train_begin",)] + epoch(0) + epoch(1) + [("on_train_end",)]

    events.clear()
    pcb = LambdaCallback(on_predict_begin=rec("pb"), on_predict_batch_end=rec("pbe"), on_predict_end=rec("pe"))
    tr.predict(x, batch_size=32, verbose=0, callbacks=[pcb])
    assert events == [("pb",), ("pbe", 0), ("pbe", 1), ("pe",)]
    events.clear()
    tr.evaluate(x, y, batch_size=40, verbose=0, callbacks=[LambdaCallback(on_test_batch_end=rec("tbe"))])
    assert events == [("tbe", 0)]
    with pytest.raises(TypeError, match="unknown event"):
        LambdaCallback(on_epoch_finish=print)


def test_old_on_batch_names_are_called_for_training_batches():
    seen = []
    tr = trainer()
    x, y = blobs(40)
    tr.fit(x, y, epochs=1, batch_size=20, verbose=0, callbacks=[LambdaCallback(on_batch_end=lambda b, lg: seen.append(b))])
    assert seen == [0, 1]


# ------------------------------------------------------------------ progress bar

NUM = r"\d\.\d{4}(e[+-]\d{2})?"          # Keras's format: 0 (an unlucky first epoch's accuracy) is 0.0000e+00
FINAL = re.compile(rf"^(\d+)/(\d+) \[=+\] - \d+s \d+(us|ms|s)/step - loss: {NUM}( - \w+: {NUM})*$")


def test_progress_bar_final_lines_when_not_a_terminal(capsys):
    tr = trainer()
    x, y = blobs(100)
    tr.fit(x, y, epochs=2, batch_size=10, validation_split=0.2)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Epoch 1/2" and lines[2] == "Epoch 2/2" and len(lines) == 4
    for line in (lines[1], lines[3]):
        assert FINAL.match(line), line
        assert line.startswith("8/8 [==============================] - ")
        assert " - loss: " in line and " - accuracy: " in line and " - val_loss: " in line
        assert re.search(rf" - val_accuracy: {NUM}$", line)


def test_progress_bar_single_epoch_has_no_epoch_line_and_verbose_0_is_silent(capsys):
    tr = trainer(metrics=())
    x, y = blobs(50)
    tr.fit(x, y, epochs=1, batch_size=25)
    out = capsys.readouterr().out
    assert not out.startswith("Epoch") and FINAL.match(out.strip())
    tr.fit(x, y, epochs=2, verbose=0)
    tr.evaluate(x, y, verbose=0)
    tr.predict(x, verbose=0)
    assert capsys.readouterr().out == ""


def test_progress_verbose_2_prints_one_line_per_epoch(capsys):
    tr = trainer()
    x, y = blobs(60)
    tr.fit(x, y, epochs=2, batch_size=20, verbose=2)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Epoch 1/2" and len(lines) == 4
    assert re.match(rf"^3/3 - \d+s - loss: {NUM} - accuracy: {NUM} - \d+(us|ms|s)/epoch - "
                    r"\d+(us|ms|s)/step$", lines[1]), lines[1]


def test_evaluate_and_predict_print_their_own_bar(capsys):
    tr = trainer()
    x, y = blobs(64)
    tr.evaluate(x, y, batch_size=32)
    tr.predict(x, batch_size=16)
    lines = capsys.readouterr().out.splitlines()
    assert FINAL.match(lines[0]) and lines[0].startswith("2/2 [")
    assert re.match(r"^4/4 \[=+\] - \d+s \d+(us|ms|s)/step$", lines[1])


def test_progbar_rewrites_the_line_on_a_terminal():
    import io

    out = io.StringIO()
    bar = Progbar(4, stream=out, dynamic=True, interval=0.0)
    for i in range(1, 4):
        bar.update(i, [("loss", 0.5 / i)])
    bar.update(4, [("loss", 0.1)], finalize=True)
    text = out.getvalue()
    frames = text.split("\r")[1:]
    assert len(frames) == 4 and text.endswith("\n")
    assert frames[0].startswith("1/4 [======>.......................] - ETA: ")
    assert " - loss: 0.5000" in frames[0]
    assert frames[-1].startswith("4/4 [==============================] - 0s ")
    quiet = io.StringIO()
    bar = Progbar(4, stream=quiet, dynamic=False)
    for i in range(1, 4):
        bar.update(i, [("loss", 1.0)])
    assert quiet.getvalue() == ""


def test_number_and_time_formats_match_keras():
    assert format_value(0.31) == "0.3100"
    assert format_value(12.0) == "12.0000"
    assert format_value(1e-4) == "1.0000e-04"
    assert format_time(0.006, "step") == " 6ms/step"
    assert format_time(2.4, "step") == " 2s/step"
    assert format_time(8e-5, "step") == " 80us/step"


def test_callback_list_skips_base_noops_and_keeps_every_override():
    """Per-batch events go only to callbacks that define them: in their class, on the object itself,
    under the old names (on_batch_begin / on_batch_end), or any object that is not a Callback."""
    from shendu.train import Callback, CallbackList, History

    seen = []

    class ByClass(Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(("class", batch))

    class OldName(Callback):
        def on_batch_end(self, batch, logs=None):
            seen.append(("old", batch))

    class Duck:
        def set_model(self, model):
            pass

        def set_params(self, params):
            pass

        def on_train_batch_end(self, batch, logs=None):
            seen.append(("duck", batch))

    on_object = Callback()
    on_object.on_train_batch_end = lambda batch, logs=None: seen.append(("object", batch))
    cbs = CallbackList([History(), ByClass(), OldName(), on_object, Duck()])
    assert len(cbs._methods("on_train_batch_end")) == 4          # History keeps the base no-op
    assert cbs._methods("on_train_batch_begin") == []
    cbs.on_train_batch_end(3, {})
    assert seen == [("class", 3), ("old", 3), ("object", 3), ("duck", 3)]
    cbs.append(ByClass())                                        # a change to the list is seen
    cbs.on_train_batch_end(4, {})
    assert seen[-1] == ("class", 4) and len(seen) == 9


def test_fit_builds_batch_logs_only_for_callbacks_that_read_them():
    """Without a callback on ``on_train_batch_end`` the Trainer's own step builds no per-batch logs;
    with one, each batch's logs are the running loss and metrics, as before; the epoch logs are the
    same either way; and a subclass's own ``train_step`` always gets the logs from ``super()``."""
    x, y = blobs()
    built = []

    class Count(Trainer):
        def _logs(self):
            built.append(1)
            return super()._logs()

    def fitted(cls, callbacks=()):
        shendu.manual_seed(0)
        nn_model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
        t = cls(nn_model, nn.CrossEntropyLoss(), optim.SGD(nn_model.parameters(), lr=1e-2),
                metrics=["accuracy"])
        built.clear()
        return t.fit(x, y, batch_size=30, epochs=2, verbose=0, shuffle=False, callbacks=list(callbacks))

    quiet = fitted(Count)
    assert len(built) == 2                                 # one per epoch end, none per batch
    seen = []
    loud = fitted(Count, [LambdaCallback(on_train_batch_end=lambda b, logs: seen.append(dict(logs)))])
    assert len(seen) == 8 and set(seen[0]) == {"loss", "accuracy"}
    assert seen[3]["loss"] == pytest.approx(loud.history["loss"][0])
    assert quiet.history == loud.history

    class OwnStep(Count):
        def train_step(self, x, y, sample_weight=None):
            logs = super().train_step(x, y, sample_weight)
            return {**logs, "extra": 1.0}

    fitted(OwnStep)
    assert len(built) == 2 * 4 + 2


def test_mean_of_python_numbers_equals_the_array_path():
    from shendu.metrics import Mean

    a, b = Mean(), Mean()
    for v, w in ((0.25, 30), (1.5, 30), (0.125, 7)):
        a.update_state(v, sample_weight=w)
        b.update_state(np.float64(v), sample_weight=np.array(w))
    a.update_state(2.0)
    b.update_state(np.array(2.0))
    assert a.result() == b.result() and a.count == b.count == 68.0
