"""Training-mode switching goes through nn.training_mode: this thread's view only, nothing left changed."""
import threading

import numpy as np

import shendu as sd
from shendu import nn
from shendu.keras import layers, models


def _model():
    model = models.Sequential([layers.Input((4,)), layers.Dense(8), layers.Dropout(0.5), layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    return model


def test_fit_switches_to_training_and_leaves_every_flag_as_it_was():
    model = _model()
    model.eval()
    model.layers[0].train()  # a mixed state that a blanket model.train(was) would flatten
    before = [m.training for m in model.modules()]
    seen = []

    class Probe(layers.Layer):
        def call(self, x, training=None):
            seen.append(bool(training))
            return x

    x, y = np.ones((8, 4), np.float32), np.ones((8, 1), np.float32)
    model.fit(x, y, epochs=1, batch_size=4, verbose=0)
    assert [m.training for m in model.modules()] == before
    model.train_on_batch(x, y)
    assert [m.training for m in model.modules()] == before
    probe = Probe()
    probe(sd.tensor(x), training=True)
    probe(sd.tensor(x))
    assert seen == [True, probe.training]  # without training= the layer's own flag, left unchanged


def test_layer_call_with_training_flag_does_not_touch_other_threads():
    drop = layers.Dropout(0.5)
    drop.eval()
    views = []
    gate = threading.Event()
    release = threading.Event()

    class Hold(layers.Layer):
        def call(self, x, training=None):
            views.append(drop.training)  # inside the training=True call of this thread
            gate.set()
            release.wait(5)
            return x

    hold = Hold()
    hold.eval()
    t = threading.Thread(target=lambda: hold(sd.tensor(np.ones((1, 2), np.float32)), training=True))
    t.start()
    gate.wait(5)
    views.append(drop.training)  # the main thread, meanwhile
    release.set()
    t.join()
    assert views == [True, False]
    assert drop.training is False and hold.training is False


def test_training_mode_is_the_one_switch():
    m = nn.Dropout(0.5)
    m.eval()
    with nn.training_mode(True):
        assert m.training
    assert not m.training
