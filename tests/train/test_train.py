"""The training loop: learning, Keras's data rules (validation_split, shuffling, weights), shapes."""
import numpy as np
import pytest

import shendu as sd
import shendu.nn as nn
import shendu.optim as optim
from conftest import require
from shendu.data import DataLoader, TensorDataset
from shendu.train import Callback, LambdaCallback, Trainer, get_lr, set_lr


def blobs(n=300, d=4, k=3, seed=0):
    """A linearly separable k-class problem."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, size=n)
    centers = rng.normal(scale=4.0, size=(k, d))
    x = centers[y] + rng.normal(size=(n, d))
    return x.astype(np.float32), y.astype(np.int64)


def mlp(d=4, k=3, hidden=16):
    return nn.Sequential(nn.Linear(d, hidden), nn.ReLU(), nn.Linear(hidden, k))


class Recorder(nn.Module):
    """Identity-like model that records the first input column of every batch and the mode it ran in."""

    def __init__(self, d=1, k=2):
        super().__init__()
        self.linear = nn.Linear(d, k)
        self.seen = []

    def forward(self, x):
        self.seen.append(("train" if self.training else "eval", np.asarray(x)[:, 0].copy()))
        return self.linear(x)


def test_mlp_learns_digits_well_above_chance():
    require("sklearn")
    from shendu.data import datasets

    sd.manual_seed(0)
    (x, y), (xt, yt) = datasets.digits(flatten=True)
    model = mlp(64, 10, 64)
    trainer = Trainer(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=3e-3), metrics=["accuracy"])
    history = trainer.fit(x, y, epochs=8, batch_size=32, verbose=0, seed=0, validation_data=(xt, yt))
    loss, acc = trainer.evaluate(xt, yt, verbose=0)
    assert acc > 0.9                      # chance is 0.1
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert history.history["val_accuracy"][-1] == pytest.approx(acc)
    assert history.epoch == list(range(8))
    assert history.params == {"verbose": 0, "epochs": 8, "steps": 45}
    assert history.model is trainer


def test_validation_split_takes_the_last_fraction_before_shuffling():
    x = np.arange(10, dtype=np.float32)[:, None]
    y = np.zeros(10, dtype=np.int64)
    model = Recorder()
    trainer = Trainer(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.0))
    trainer.fit(x, y, batch_size=4, epochs=2, validation_split=0.25, verbose=0, seed=1)
    # floor(10 * 0.75) = 7: samples 7, 8, 9 are held out, every epoch, in order
    train_seen = np.concatenate([v for mode, v in model.seen if mode == "train"])
    val_seen = [v for mode, v in model.seen if mode == "eval"]
    assert sorted(train_seen.tolist()) == sorted(list(range(7)) * 2)
    assert [v.tolist() for v in val_seen] == [[7.0, 8.0, 9.0], [7.0, 8.0, 9.0]]
    first_epoch = np.concatenate([v for mode, v in model.seen[:2]])
    assert first_epoch.tolist() != list(range(7))        # shuffled
    assert trainer.fit_params["train_samples"] == 7 and trainer.fit_params["validation_samples"] == 3


def test_validation_split_that_leaves_a_side_empty_raises():
    model = mlp()
    trainer = Trainer(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1))
    x, y = blobs(1)
    with pytest.raises(ValueError, match="not sufficient to split"):   # floor(1 * 0.5) = 0
        trainer.fit(x, y, validation_split=0.5, verbose=0)


def _train_order(seed, shuffle=True):
    x = np.arange(12, dtype=np.float32)[:, None]
    model = Recorder()
    trainer = Trainer(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.0))
    trainer.fit(x, np.zeros(12, dtype=np.int64), batch_size=5, epochs=2, verbose=0, seed=seed, shuffle=shuffle)
    return [v.tolist() for _, v in model.seen]


def test_shuffling_is_reproducible_with_a_seed_and_new_every_epoch():
    a, b, c = _train_order(3), _train_order(3), _train_order(4)
    assert a == b
    assert a != c
    assert [len(v) for v in a] == [5, 5, 2, 5, 5, 2]
    assert a[:3] != a[3:]                                  # a new permutation each epoch
    assert _train_order(3, shuffle=False)[:3] == [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9], [10, 11]]


def test_shuffling_follows_the_library_seed_without_seed_argument():
    sd.manual_seed(7)
    a = _train_order(None)
    sd.manual_seed(7)
    b = _train_order(None)
    assert a == b


def _fixed_classifier():
    model = nn.Linear(2, 3)
    model.load_state_dict({"weight": np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], dtype=np.float32),
                           "bias": np.zeros(3, dtype=np.float32)})
    return model


def _per_sample_ce(logits, y):
    z = logits - logits.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return -logp[np.arange(len(y)), y]


def test_sample_weight_gives_kerass_weighted_loss():
    x = np.array([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0], [3.0, -1.0]], dtype=np.float32)
    y = np.array([0, 1, 2, 1])
    w = np.array([1.0, 0.5, 2.0, 0.0])
    model = _fixed_classifier()
    trainer = Trainer(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.0))
    per = _per_sample_ce(x @ np.array([[1, 0], [0, 1], [1, 1]], dtype=np.float32).T, y)
    expected = np.sum(w * per) / len(y)                   # sum(w * l) / N, not / sum(w)
    assert trainer.test_on_batch(x, y, sample_weight=w) == pytest.approx(expected, rel=1e-5)
    assert trainer.evaluate(x, y, sample_weight=w, verbose=0) == pytest.approx(expected, rel=1e-5)
    assert trainer.evaluate(x, y, verbose=0) == pytest.approx(per.mean(), rel=1e-5)


def test_class_weight_weights_each_sample_by_its_class_and_argmaxes_one_hot():
    x = np.array([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0], [3.0, -1.0]], dtype=np.float32)
    y = np.array([0, 1, 2, 1])
    model = _fixed_classifier()
    trainer = Trainer(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.0))
    per = _per_sample_ce(x @ np.array([[1, 0], [0, 1], [1, 1]], dtype=np.float32).T, y)
    cw = {0: 1.0, 1: 3.0, 2: 0.5}
    expected = np.sum(np.array([1.0, 3.0, 0.5, 3.0]) * per) / 4
    assert trainer.train_on_batch(x, y, class_weight=cw) == pytest.approx(expected, rel=1e-5)
    # sample_weight and class_weight multiply
    both = trainer.train_on_batch(x, y, class_weight=cw, sample_weight=np.array([2.0, 1.0, 1.0, 1.0]))
    assert both == pytest.approx(expected + per[0] / 4, rel=1e-5)

    from shendu.train.adapter import class_weight_to_sample_weight

    one_hot = np.eye(3)[y]
    np.testing.assert_array_equal(class_weight_to_sample_weight(one_hot, cw), [1.0, 3.0, 0.5, 3.0])
    np.testing.assert_array_equal(class_weight_to_sample_weight(y[:, None], {1: 2.0}), [1.0, 2.0, 1.0, 2.0])


def test_evaluate_and_predict_shapes_and_return_forms():
    x, y = blobs(70)
    model = mlp()
    trainer = Trainer(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=1e-2),
                      metrics=["accuracy", "sparse_top_k_categorical_accuracy"])
    trainer.fit(x, y, epochs=1, verbose=0)
    result = trainer.evaluate(x, y, batch_size=16, verbose=0)
    assert isinstance(result, list) and len(result) == 3
    as_dict = trainer.evaluate(x, y, verbose=0, return_dict=True)
    assert list(as_dict) == ["loss", "accuracy", "sparse_top_k_categorical_accuracy"]
    assert as_dict["loss"] == pytest.approx(result[0], rel=1e-6)
    assert trainer.metrics_names == ["loss", "accuracy", "sparse_top_k_categorical_accuracy"]
    out = trainer.predict(x, batch_size=16, verbose=0)
    assert out.shape == (70, 3) and out.dtype == np.float32
    np.testing.assert_allclose(out[:5], trainer.predict_on_batch(x[:5]), rtol=1e-6)
    plain = Trainer(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1))
    assert isinstance(plain.evaluate(x, y, verbose=0), float)


def test_float64_inputs_are_cast_and_tensors_accepted():
    x, y = blobs(64)
    model = mlp()
    trainer = Trainer(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=1e-2))
    trainer.fit(x.astype(np.float64), y, epochs=1, verbose=0)
    trainer.fit(sd.tensor(x), sd.tensor(y), epochs=1, verbose=0)
    assert trainer.predict(x.astype(np.float64), verbose=0).dtype == np.float32


def test_dataloader_input_and_validation():
    x, y = blobs(200)
    sd.manual_seed(0)
    model = mlp()
    trainer = Trainer(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=1e-2), metrics=["acc"])
    loader = DataLoader(TensorDataset(x, y), batch_size=20, shuffle=True)
    val = DataLoader(TensorDataset(x[:50], y[:50]), batch_size=25)
    h = trainer.fit(loader, epochs=5, validation_data=val, verbose=0)
    assert h.params["steps"] == 10
    assert h.history["acc"][-1] > 0.8 and "val_acc" in h.history
    assert trainer.evaluate(val, verbose=0)[1] == pytest.approx(h.history["val_acc"][-1])
    assert trainer.predict(DataLoader(TensorDataset(x), batch_size=64), verbose=0).shape == (200, 3)
    with pytest.raises(ValueError, match="y must be None"):
        trainer.fit(loader, y, verbose=0)
    with pytest.raises(ValueError, match="validation_split"):
        trainer.fit(loader, validation_split=0.2, verbose=0)


class TwoInputs(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(3, 2)
        self.b = nn.Linear(1, 2)

    def forward(self, xa, xb):
        return self.a(xa) + self.b(xb)


def test_several_inputs_as_a_list_or_a_dict():
    rng = np.random.default_rng(0)
    xa = rng.normal(size=(40, 3)).astype(np.float32)
    xb = rng.normal(size=(40, 1)).astype(np.float32)
    y = (xa[:, 0] + xb[:, 0] > 0).astype(np.int64)
    model = TwoInputs()
    trainer = Trainer(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=1e-2))
    trainer.fit([xa, xb], y, epochs=2, batch_size=8, verbose=0, validation_split=0.25)
    assert trainer.predict([xa, xb], verbose=0).shape == (40, 2)
    trainer.fit({"xa": xa, "xb": xb}, y, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="different numbers of samples"):
        trainer.fit([xa, xb[:10]], y, verbose=0)


def test_initial_epoch_and_steps_per_epoch():
    x, y = blobs(100)
    model = mlp()
    trainer = Trainer(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1))
    batches = []
    cb = LambdaCallback(on_train_batch_end=lambda b, logs: batches.append(b))
    h = trainer.fit(x, y, epochs=5, initial_epoch=2, verbose=0, callbacks=[cb])
    assert h.epoch == [2, 3, 4] and len(h.history["loss"]) == 3
    batches.clear()
    h = trainer.fit(x, y, epochs=2, steps_per_epoch=3, batch_size=10, verbose=0, callbacks=[cb])
    assert batches == [0, 1, 2, 0, 1, 2] and h.params["steps"] == 3


def test_stop_training_is_honoured_at_batch_end():
    x, y = blobs(100)
    model = mlp()
    trainer = Trainer(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1))
    seen = []

    class StopAt(Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(batch)
            if batch == 1:
                self.model.stop_training = True

    h = trainer.fit(x, y, epochs=4, batch_size=10, verbose=0, callbacks=[StopAt()])
    assert seen == [0, 1] and h.epoch == [0]


def test_running_means_are_logged_per_batch():
    x, y = blobs(50)
    model = mlp()
    trainer = Trainer(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.0))
    logs_seen = []
    cb = LambdaCallback(on_train_batch_end=lambda b, logs: logs_seen.append(dict(logs)))
    h = trainer.fit(x, y, epochs=1, batch_size=20, shuffle=False, verbose=0, callbacks=[cb])
    batch_losses = [trainer.test_on_batch(x[s:s + 20], y[s:s + 20]) for s in (0, 20, 40)]
    sizes = np.array([20, 20, 10])
    expected = np.cumsum(np.array(batch_losses) * sizes) / np.cumsum(sizes)
    np.testing.assert_allclose([lg["loss"] for lg in logs_seen], expected, rtol=1e-5)
    assert h.history["loss"][0] == pytest.approx(expected[-1], rel=1e-5)


def test_gradient_clipping_by_value_and_norm():
    x, y = blobs(32)
    for kw, check in (({"clip_grad_value": 1e-3}, lambda d: np.abs(d).max() <= 1e-3 + 1e-7),
                      ({"clip_grad_norm": 1e-3}, lambda d: np.sqrt(np.sum(d ** 2)) <= 1e-3 + 1e-6)):
        model = mlp()
        before = np.concatenate([p.array.ravel().copy() for p in model.parameters()])
        trainer = Trainer(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=1.0), **kw)
        trainer.train_on_batch(x, y)
        after = np.concatenate([p.array.ravel() for p in model.parameters()])
        assert check(after - before) and np.any(after != before)


def test_model_mode_train_for_steps_eval_for_validation_and_restored():
    model = Recorder()
    model.eval()
    trainer = Trainer(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.0))
    x = np.arange(8, dtype=np.float32)[:, None]
    trainer.fit(x, np.zeros(8, dtype=np.int64), batch_size=4, validation_split=0.5, verbose=0)
    assert [m for m, _ in model.seen] == ["train", "eval"]
    assert model.training is False


def test_weights_round_trip_and_save(tmp_path):
    model = mlp()
    trainer = Trainer(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1))
    w = trainer.get_weights()
    assert [a.shape for a in w] == [(16, 4), (16,), (3, 16), (3,)]
    w[0][:] = 0.0                                           # copies, not views
    assert np.any(model.state_dict()["0.weight"].array != 0)
    trainer.set_weights(w)
    assert np.all(model.state_dict()["0.weight"].array == 0)
    trainer.save(tmp_path / "m.safetensors")
    other = Trainer(mlp(), nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1))
    other.load_weights(tmp_path / "m.safetensors")
    for a, b in zip(other.get_weights(), trainer.get_weights()):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="has 4 weights"):
        trainer.set_weights(w[:2])


def test_get_and_set_lr_for_both_optimizer_styles():
    model = mlp()
    opt = optim.SGD(model.parameters(), lr=0.5)
    assert get_lr(opt) == 0.5
    set_lr(opt, 0.25)
    assert all(g["lr"] == 0.25 for g in opt.param_groups)

    class KerasStyle:
        learning_rate = 0.01

    k = KerasStyle()
    set_lr(k, 0.02)
    assert get_lr(k) == 0.02


def test_regression_with_mse_and_metric():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 3)).astype(np.float32)
    y = (x @ np.array([[1.0], [-2.0], [0.5]], dtype=np.float32))
    model = nn.Linear(3, 1)
    trainer = Trainer(model, nn.MSELoss(), optim.Adam(model.parameters(), lr=0.05), metrics=["mae"])
    h = trainer.fit(x, y, epochs=30, batch_size=20, verbose=0, seed=0)
    assert h.history["loss"][-1] < 0.05 and "mae" in h.history
    w = np.linspace(0.5, 1.5, 200)
    trainer.fit(x, y, epochs=1, verbose=0, sample_weight=w)   # per-sample MSE via reduction='none'
