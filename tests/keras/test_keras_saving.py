"""Keras model files: one zip with config, weights and optimizer state; round trips and clear errors."""
import io
import json
import os
import zipfile

import numpy as np
import pytest

from shendu.keras import Input, Model, layers, models
from shendu.keras._saving import FORMAT_VERSION, ModelFileError
from shendu.keras.callbacks import ModelCheckpoint
from shendu.keras.utils import set_random_seed


def _data(n=64, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 6)).astype("float32")
    y = (x[:, 0] > 0).astype("int64") + (x[:, 1] > 0).astype("int64")
    return x, y


def _model():
    set_random_seed(0)
    model = models.Sequential([
        layers.Dense(16, activation="relu", input_shape=(6,), kernel_regularizer="l2"),
        layers.BatchNormalization(),
        layers.Dropout(0.1),
        layers.Dense(3, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def test_round_trip_gives_identical_predictions_and_training_continues(tmp_path):
    x, y = _data()
    model = _model()
    model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)
    assert os.listdir(tmp_path) == ["model.keras"]
    with zipfile.ZipFile(path) as zf:
        assert set(zf.namelist()) == {"config.json", "model.safetensors", "optimizer.safetensors"}
        config = json.loads(zf.read("config.json"))
    assert config["format_version"] == FORMAT_VERSION
    assert config["model"]["class_name"] == "Sequential"
    assert [la["class_name"] for la in config["model"]["config"]["layers"]] == \
        ["Dense", "BatchNormalization", "Dropout", "Dense"]
    loaded = models.load_model(path)
    np.testing.assert_array_equal(model.predict(x, verbose=0), loaded.predict(x, verbose=0))
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)
    # the optimizer resumes: the same next step on both gives the same weights
    assert loaded.optimizer.iterations == model.optimizer.iterations
    s1 = model.optimizer.inner.state_dict()["state"]
    s2 = loaded.optimizer.inner.state_dict()["state"]
    for k in s1:
        np.testing.assert_array_equal(s1[k]["exp_avg"], s2[k]["exp_avg"])
    set_random_seed(9)                 # the same dropout mask for both steps
    model.train_on_batch(x[:16], y[:16])
    set_random_seed(9)
    loaded.train_on_batch(x[:16], y[:16])
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    history = loaded.fit(x, y, epochs=1, verbose=0)
    assert "accuracy" in history.history


def test_functional_model_round_trip(tmp_path):
    set_random_seed(1)
    a = Input(shape=(4,))
    b = Input(shape=(4,))
    h = layers.Dense(4, activation="tanh")(a)
    out = layers.Dense(2)(layers.Concatenate()([layers.Add()([h, b]), a]))
    model = Model([a, b], out)
    model.compile(optimizer="sgd", loss="mse")
    path = tmp_path / "f.keras"
    model.save(path)
    loaded = models.load_model(path)
    xs = [np.ones((3, 4), "float32"), np.arange(12, dtype="float32").reshape(3, 4)]
    np.testing.assert_array_equal(model.predict(xs, verbose=0), loaded.predict(xs, verbose=0))
    assert [type(la).__name__ for la in loaded.layers] == [type(la).__name__ for la in model.layers]


def test_recurrent_text_model_round_trip(tmp_path):
    set_random_seed(2)
    model = models.Sequential([layers.Embedding(20, 5, input_length=7), layers.Bidirectional(layers.LSTM(4)),
                               layers.Dense(2, activation="softmax")])
    model.compile(optimizer="rmsprop", loss="categorical_crossentropy", metrics=["acc"])
    ids = np.random.default_rng(0).integers(0, 20, size=(5, 7))
    path = tmp_path / "text.keras"
    model.save(path)
    loaded = models.load_model(path)
    np.testing.assert_array_equal(model.predict(ids, verbose=0), loaded.predict(ids, verbose=0))


def test_save_and_load_weights(tmp_path):
    x, _ = _data()
    model = _model()
    path = tmp_path / "weights.h5"
    model.save_weights(path)
    other = _model()
    other.layers[0].set_weights([w * 0 for w in other.layers[0].get_weights()])
    other.load_weights(path)
    np.testing.assert_array_equal(model.predict(x, verbose=0), other.predict(x, verbose=0))
    whole = tmp_path / "whole.keras"
    model.save(whole)
    third = _model()
    third.load_weights(whole)        # weights out of a whole-model file
    np.testing.assert_array_equal(model.predict(x, verbose=0), third.predict(x, verbose=0))
    small = models.Sequential([layers.Dense(2, input_shape=(6,))])
    with pytest.raises(ModelFileError, match="do not match"):
        small.load_weights(path)


def _rewrite_config(src, dst, change):
    with zipfile.ZipFile(src) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    config = json.loads(members["config.json"])
    change(config)
    members["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(dst, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)


def test_newer_or_invalid_format_version_is_refused(tmp_path):
    model = _model()
    good = tmp_path / "good.keras"
    model.save(good)
    newer = tmp_path / "newer.keras"
    _rewrite_config(good, newer, lambda c: c.update(format_version=FORMAT_VERSION + 1))
    with pytest.raises(ModelFileError, match="newer shendu"):
        models.load_model(newer)
    bad = tmp_path / "bad.keras"
    _rewrite_config(good, bad, lambda c: c.update(format_version="one"))
    with pytest.raises(ModelFileError, match="invalid format_version"):
        models.load_model(bad)
    other = tmp_path / "other.keras"
    _rewrite_config(good, other, lambda c: c.update(format="something.else"))
    with pytest.raises(ModelFileError, match="not a shendu Keras model"):
        models.load_model(other)


def test_older_version_goes_through_the_migration_hook(tmp_path, monkeypatch):
    from shendu.keras import _saving

    model = _model()
    good = tmp_path / "good.keras"
    model.save(good)
    old = tmp_path / "old.keras"
    _rewrite_config(good, old, lambda c: c.update(format_version=0))
    seen = []
    monkeypatch.setitem(_saving.MIGRATIONS, 0, lambda c: seen.append(0) or {**c, "format_version": 1})
    loaded = models.load_model(old)
    assert seen == [0] and loaded.count_params() == model.count_params()


def test_truncated_or_foreign_file_raises_clearly_and_leaves_nothing(tmp_path):
    model = _model()
    good = tmp_path / "good.keras"
    model.save(good)
    blob = good.read_bytes()
    truncated = tmp_path / "truncated.keras"
    truncated.write_bytes(blob[: len(blob) // 2])
    before = sorted(os.listdir(tmp_path))
    with pytest.raises(ModelFileError, match="truncated|not a zip|damaged"):
        models.load_model(truncated)
    text = tmp_path / "text.keras"
    text.write_text("hello")
    with pytest.raises(ModelFileError, match="not a zip"):
        models.load_model(text)
    assert sorted(os.listdir(tmp_path)) == sorted(before + ["text.keras"])
    with pytest.raises(FileNotFoundError):
        models.load_model(tmp_path / "missing.keras")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("config.json", json.dumps({"format": "shendu.keras", "format_version": 1}))
    partial = tmp_path / "partial.keras"
    partial.write_bytes(buf.getvalue())
    with pytest.raises(ModelFileError, match="model.safetensors"):
        models.load_model(partial)


def test_failed_save_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    from shendu.keras import _saving

    model = _model()
    path = tmp_path / "m.keras"
    model.save(path)
    original = path.read_bytes()

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(_saving, "encode", broken)
    with pytest.raises(OSError, match="disk full"):
        model.save(path)
    assert path.read_bytes() == original and os.listdir(tmp_path) == ["m.keras"]


def test_model_checkpoint_saves_best_model_through_fit(tmp_path):
    x, y = _data()
    model = _model()
    path = str(tmp_path / "best.keras")
    model.fit(x, y, epochs=3, verbose=0, validation_split=0.25,
              callbacks=[ModelCheckpoint(path, monitor="val_loss", save_best_only=True)])
    loaded = models.load_model(path)
    assert loaded.count_params() == model.count_params()


def test_json_architecture_round_trip():
    model = _model()
    clone = models.model_from_json(model.to_json())
    assert [type(a).__name__ for a in clone.layers] == [type(a).__name__ for a in model.layers]
    assert clone.count_params() == model.count_params()


def test_metadata_round_trips_and_reads_without_building(tmp_path):
    model = _model()
    assert model.metadata == {}
    meta = {"dataset": "digits", "preprocessing": {"scale": 1 / 16, "flatten": True}, "classes": [0, 1, 2]}
    path = tmp_path / "m.keras"
    model.save(path, metadata=meta)
    with zipfile.ZipFile(path) as zf:
        assert json.loads(zf.read("metadata.json")) == meta
    assert models.read_metadata(path) == meta
    loaded = models.load_model(path)
    assert loaded.metadata == meta
    # saving the loaded model again keeps its metadata
    loaded.save(tmp_path / "again.keras")
    assert models.read_metadata(tmp_path / "again.keras") == meta
    # a file without metadata reads back {}
    _model().save(tmp_path / "plain.keras")
    assert models.read_metadata(tmp_path / "plain.keras") == {}
    assert models.load_model(tmp_path / "plain.keras").metadata == {}


@pytest.mark.parametrize("bad", [[1, 2], {1: "x"}, {"a": object()}, {"a": float("nan")}])
def test_metadata_that_json_cannot_hold_is_refused(tmp_path, bad):
    with pytest.raises((TypeError, ValueError), match="metadata"):
        _model().save(tmp_path / "m.keras", metadata=bad)
    assert not (tmp_path / "m.keras").exists()


def test_unreadable_metadata_is_refused_naming_the_file(tmp_path):
    path = tmp_path / "m.keras"
    _model().save(path)
    with zipfile.ZipFile(path, "a") as zf:
        zf.writestr("metadata.json", "[1, 2]")
    with pytest.raises(ModelFileError, match="m.keras.*metadata.json"):
        models.read_metadata(path)
