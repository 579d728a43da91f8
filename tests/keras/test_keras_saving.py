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


# ----- a model file is not trusted --------------------------------------------------------------------
def _small(tmp_path, name="small.keras", **compile_kw):
    set_random_seed(0)
    model = models.Sequential([layers.Dense(3, input_shape=(6,))])
    if compile_kw:
        model.compile(optimizer="sgd", loss="mse", **compile_kw)
    path = tmp_path / name
    model.save(path)
    return path


def _members(path):
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def test_a_member_that_inflates_far_beyond_its_compressed_size_is_refused(tmp_path):
    from shendu.serialization import encode

    members = _members(_small(tmp_path))
    # 32 MB of zeros deflate to ~32 KB: a ratio no real model file has
    members["model.safetensors"] = b"".join(encode({"dense/kernel": np.zeros((8_000_000,), "float32")}))
    bomb = tmp_path / "bomb.keras"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    assert bomb.stat().st_size < 200_000
    with pytest.raises(ModelFileError, match=r"bomb\.keras.*model\.safetensors.*refusing to decompress"):
        models.load_model(bomb)
    with pytest.raises(ModelFileError, match=r"bomb\.keras.*refusing to decompress"):
        models.Sequential([layers.Dense(3, input_shape=(6,))]).load_weights(bomb)


def test_a_member_declaring_more_than_the_file_can_hold_is_refused(tmp_path):
    path = _small(tmp_path)
    blob = bytearray(path.read_bytes())
    # the central directory entry of model.safetensors: uncompressed size (offset 24) set to 2 GB
    at = blob.find(b"PK\x01\x02")
    while at >= 0:
        n = int.from_bytes(blob[at + 28 : at + 30], "little")
        if blob[at + 46 : at + 46 + n] == b"model.safetensors":
            blob[at + 24 : at + 28] = (2**31).to_bytes(4, "little")
        at = blob.find(b"PK\x01\x02", at + 4)
    forged = tmp_path / "forged.keras"
    forged.write_bytes(bytes(blob))
    with pytest.raises(ModelFileError, match=r"forged\.keras.*model\.safetensors declares 2,147,483,648 bytes"):
        models.load_model(forged)


def test_a_config_asking_for_weights_the_file_does_not_store_allocates_nothing(tmp_path):
    import tracemalloc

    good = _small(tmp_path)
    big = tmp_path / "big.keras"
    _rewrite_config(good, big, lambda c: c["model"]["config"]["layers"][0]["config"].update(units=2_000_000))
    tracemalloc.start()
    try:
        with pytest.raises(ModelFileError, match=r"big\.keras.*layer 'dense\w*' \(Dense\).*kernel.*\(6, 2000000\)"):
            models.load_model(big)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8_000_000  # the 48 MB kernel was never created


def test_a_config_with_more_layers_than_stored_weights_is_refused(tmp_path):
    good = _small(tmp_path)
    extra = tmp_path / "extra.keras"

    def add_layer(c):
        layer = json.loads(json.dumps(c["model"]["config"]["layers"][0]))
        layer["config"].update(name="second", units=3)
        layer["config"].pop("batch_input_shape", None)
        c["model"]["config"]["layers"].append(layer)

    _rewrite_config(good, extra, add_layer)
    with pytest.raises(ModelFileError, match=r"extra\.keras.*layer 'second' \(Dense\).*kernel"):
        models.load_model(extra)


@pytest.mark.parametrize("units", [2.5, 5e7, "3", True])
def test_a_non_integer_layer_argument_in_the_config_is_refused(tmp_path, units):
    good = _small(tmp_path)
    bad = tmp_path / "bad.keras"
    _rewrite_config(good, bad, lambda c: c["model"]["config"]["layers"][0]["config"].update(units=units))
    with pytest.raises(ModelFileError, match=r"bad\.keras.*Dense 'dense\w*'.*'units' must be an integer"):
        models.load_model(bad)


@pytest.mark.parametrize(
    "metric",
    [{"class_name": "r2_score", "config": {}}, {"class_name": "classification_report", "config": {}},
     {"class_name": "MeanMetricWrapper", "config": {}}, "no_such_metric", 3],
)
def test_metrics_in_a_file_are_looked_up_only_among_compile_metrics(tmp_path, metric):
    good = _small(tmp_path, metrics=["mae"])
    bad = tmp_path / "metric.keras"
    _rewrite_config(good, bad, lambda c: c["compile_config"].update(metrics=[metric]))
    with pytest.raises(ModelFileError, match=r"metric\.keras.*metric"):
        models.load_model(bad)
    assert models.load_model(bad, compile=False).built


def test_compile_metrics_and_custom_metrics_still_load(tmp_path):
    from shendu.keras import metrics

    path = _small(tmp_path, metrics=["mae", metrics.Precision(thresholds=0.3), "accuracy"])
    loaded = models.load_model(path)
    assert loaded.compiled

    class MyMetric(metrics.Mean):
        pass

    custom = tmp_path / "custom.keras"
    _rewrite_config(path, custom, lambda c: c["compile_config"].update(
        metrics=[{"class_name": "MyMetric", "config": {"name": "mine"}}]))
    assert models.load_model(custom, custom_objects={"MyMetric": MyMetric}).compiled


def test_every_built_in_layer_with_weights_plans_them_before_building():
    cases = [
        (layers.Dense(4), (None, 6)),
        (layers.Dense(4, use_bias=False), (None, 6)),
        (layers.Conv1D(4, 3), (None, 10, 5)),
        (layers.Conv2D(4, (3, 2), groups=2), (None, 8, 8, 6)),
        (layers.Conv2D(4, 3, data_format="channels_first", use_bias=False), (None, 3, 8, 8)),
        (layers.Conv2DTranspose(4, 3), (None, 8, 8, 5)),
        (layers.Embedding(11, 4), (None, 7)),
        (layers.BatchNormalization(), (None, 5)),
        (layers.BatchNormalization(axis=1, center=False), (None, 3, 4, 4)),
        (layers.LayerNormalization(scale=False), (None, 4, 5)),
        (layers.SimpleRNN(3), (None, 4, 5)),
        (layers.LSTM(3), (None, 4, 5)),
        (layers.GRU(3), (None, 4, 5)),
        (layers.GRU(3, use_bias=False), (None, 4, 5)),
    ]
    for layer, shape in cases:
        planned = layer._planned_weights(shape)
        layer.build(shape)
        assert planned == [(s.name, tuple(s.shape)) for s in layer._weight_specs()], type(layer).__name__


def test_models_with_wrapped_and_recurrent_layers_round_trip_under_the_checks(tmp_path):
    set_random_seed(3)
    model = models.Sequential([
        layers.Embedding(20, 4, input_length=5),
        layers.Bidirectional(layers.LSTM(3, return_sequences=True)),
        layers.TimeDistributed(layers.Dense(2)),
        layers.Conv1D(3, 2),
        layers.GRU(2),
        layers.BatchNormalization(),
    ])
    x = np.arange(10).reshape(2, 5) % 20
    path = tmp_path / "wrapped.keras"
    model.save(path)
    np.testing.assert_array_equal(model.predict(x, verbose=0), models.load_model(path).predict(x, verbose=0))


def test_zip_of_an_unsupported_version_is_refused_naming_the_file(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("config.json", "{}")
    blob = bytearray(buffer.getvalue())
    at = blob.index(b"PK\x01\x02") + 6  # the central directory's "version needed to extract"
    blob[at:at + 2] = (64).to_bytes(2, "little")
    path = tmp_path / "m.keras"
    path.write_bytes(bytes(blob))
    with pytest.raises(ModelFileError, match="m.keras"):
        models.load_model(str(path))
