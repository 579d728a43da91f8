"""Grad mode and inference are per thread: predict/evaluate in one thread never change what another
thread computes (with Dropout and BatchNorm, while a third thread trains)."""
import sys
import threading

import numpy as np
import pytest

import shendu as sd
import shendu.nn as nn
import shendu.optim as optim
from shendu.keras import layers, models
from shendu.train import Callback, Trainer


@pytest.fixture(autouse=True)
def _fast_switching():
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # interleave the threads as much as possible
    yield
    sys.setswitchinterval(old)


def _run(*targets):
    errors = []

    def guard(fn):
        def run():
            try:
                fn()
            except BaseException as exc:  # noqa: BLE001
                errors.append(exc)
        return run

    threads = [threading.Thread(target=guard(t)) for t in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


def test_no_grad_in_one_thread_does_not_leak_into_another():
    inside, release = threading.Event(), threading.Event()
    seen = {}

    def hold_no_grad():
        with sd.no_grad():
            inside.set()
            release.wait(5)
            seen["worker"] = sd.is_grad_enabled()

    t = threading.Thread(target=hold_no_grad)
    t.start()
    assert inside.wait(5)
    try:
        assert sd.is_grad_enabled()
        w = sd.tensor([1.0, 2.0], requires_grad=True)
        (w * w).sum().backward()
        np.testing.assert_array_equal(w.grad.numpy(), [2.0, 4.0])
    finally:
        release.set()
        t.join()
    assert seen["worker"] is False and sd.is_grad_enabled()


def test_new_thread_starts_with_grad_enabled():
    seen = []
    with sd.no_grad():
        t = threading.Thread(target=lambda: seen.append(sd.is_grad_enabled()))
        t.start()
        t.join()
        assert not sd.is_grad_enabled()
    assert seen == [True]


def test_training_mode_is_a_view_of_the_calling_thread():
    model = nn.Sequential(nn.Linear(3, 3), nn.Dropout(0.5))
    inside, release = threading.Event(), threading.Event()
    seen = {}

    def evaluate():
        with nn.training_mode(False):
            model.train()  # changes this thread's view only
            seen["after_train"] = model[1].training
            model.eval()
            inside.set()
            release.wait(5)
            seen["inside"] = model[1].training

    t = threading.Thread(target=evaluate)
    t.start()
    assert inside.wait(5)
    assert model.training and model[1].training
    release.set()
    t.join()
    assert seen == {"after_train": True, "inside": False}
    assert model.training and model[1].training


def _keras_model(seed):
    sd.manual_seed(seed)
    model = models.Sequential([layers.Input((6,)), layers.Dense(16, activation="relu"),
                               layers.BatchNormalization(), layers.Dropout(0.5), layers.Dense(3)])
    model.compile(optimizer="adam", loss="mse")
    return model


def test_keras_predict_in_two_threads_while_a_third_fits():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 6)).astype(np.float32)
    y = rng.normal(size=(40, 3)).astype(np.float32)
    served = _keras_model(1)
    served.fit(x, y, epochs=1, batch_size=8, verbose=0, seed=0)
    batches = [x[i % 5 * 8:(i % 5 + 1) * 8] for i in range(50)]
    expected = [served.predict(b, verbose=0) for b in batches]

    def fit_once():
        trained = _keras_model(2)
        trained.fit(x, y, epochs=10, batch_size=8, verbose=0, seed=3)
        return trained.history.history["loss"], trained.get_weights()

    serial_loss, serial_weights = fit_once()
    mode = served.training
    got = {0: [], 1: []}
    fitted = {}
    start, done = threading.Barrier(3), threading.Event()

    def predict(k):
        def run():
            start.wait(5)
            i = 0
            while i < len(batches) or not done.is_set():
                got[k].append((i % len(batches), served.predict(batches[i % len(batches)], verbose=0)))
                i += 1
        return run

    def fit():
        start.wait(5)
        try:
            fitted["loss"], fitted["weights"] = fit_once()
        finally:
            done.set()

    _run(predict(0), predict(1), fit)
    for k in got:
        for i, a in got[k]:
            np.testing.assert_array_equal(a, expected[i])
    assert fitted["loss"] == serial_loss
    for a, b in zip(fitted["weights"], serial_weights):
        np.testing.assert_array_equal(a, b)
    assert served.training == mode and sd.is_grad_enabled()


def _nn_trainer(seed):
    sd.manual_seed(seed)
    model = nn.Sequential(nn.Linear(6, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 3))
    return Trainer(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), metrics=["accuracy"])


def test_trainer_evaluate_during_fit_of_the_same_trainer_leaves_the_fit_exact():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(64, 6)).astype(np.float32)
    y = rng.integers(0, 3, size=64)
    serial = _nn_trainer(5)
    serial_history = serial.fit(x, y, epochs=3, batch_size=8, verbose=0, seed=2).history

    trainer = _nn_trainer(5)
    result = {}
    started = threading.Event()

    def fit():
        result["history"] = trainer.fit(x, y, epochs=3, batch_size=8, verbose=0, seed=2,
                                        callbacks=[_SignalStart(started)]).history

    def evaluate():
        started.wait(5)
        for _ in range(30):
            trainer.evaluate(x, y, batch_size=16, verbose=0)
            trainer.predict(x, batch_size=16, verbose=0)

    _run(fit, evaluate)
    assert result["history"] == serial_history
    for a, b in zip(trainer.get_weights(), serial.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_trainer_evaluate_in_two_threads_gives_the_serial_results():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(48, 6)).astype(np.float32)
    y = rng.integers(0, 3, size=48)
    trainer = _nn_trainer(7)
    trainer.fit(x, y, epochs=1, batch_size=8, verbose=0, seed=0)
    expected = trainer.evaluate(x, y, batch_size=8, verbose=0)
    got = {0: [], 1: []}

    def run(k):
        def go():
            for _ in range(25):
                got[k].append(trainer.evaluate(x, y, batch_size=8, verbose=0))
        return go

    _run(run(0), run(1))
    assert all(r == expected for k in got for r in got[k])
    assert trainer.model.training


class _SignalStart(Callback):
    def __init__(self, event):
        super().__init__()
        self.event = event

    def on_train_batch_end(self, batch, logs=None):
        self.event.set()
