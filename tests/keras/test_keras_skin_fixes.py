"""Keras behaviours of the thin skin: weights of unbuilt models, metric configs, constraints under
shendu optimizers, ``tf.function``'s forms."""
import numpy as np

import shendu.keras as keras
from shendu.keras import layers


def test_unbuilt_sequential_has_no_weights_yet():
    model = keras.Sequential([layers.Dense(8), layers.Dense(1)])
    assert model.trainable_weights == [] and model.weights == [] and model.non_trainable_weights == []
    assert model.get_weights() == [] and model.trainable_variables == []
    model(np.zeros((2, 3), np.float32))
    assert [tuple(w.shape) for w in model.trainable_weights] == [(3, 8), (8,), (8, 1), (1,)]


def test_unbuilt_model_counts_weights_made_in_init():
    class Scale(layers.Layer):
        def __init__(self):
            super().__init__()
            self.w = self.add_weight(shape=(2,), initializer="ones", name="w")

        def call(self, x):
            return x * self.w

    model = keras.Sequential([Scale(), layers.Dense(1)])
    assert [tuple(w.shape) for w in model.weights] == [(2,)]


METRICS_WITH_ARGS = [
    (keras.metrics.Precision, {"thresholds": 0.3}, "thresholds"),
    (keras.metrics.Recall, {"thresholds": [0.2, 0.7]}, "thresholds"),
    (keras.metrics.AUC, {"curve": "PR", "num_thresholds": 50}, "curve"),
    (keras.metrics.TopKCategoricalAccuracy, {"k": 2}, "k"),
    (keras.metrics.SparseTopKCategoricalAccuracy, {"k": 3}, "k"),
    (keras.metrics.BinaryAccuracy, {"threshold": 0.7}, "threshold"),
    (keras.metrics.F1Score, {"threshold": 0.4}, "threshold"),
    (keras.metrics.TruePositives, {"thresholds": 0.25}, "thresholds"),
    (keras.metrics.MeanIoU, {"num_classes": 3}, "num_classes"),
]


def _same_results(a, b, y_true, y_pred):
    a.update_state(y_true, y_pred)
    b.update_state(y_true, y_pred)
    np.testing.assert_allclose(a.result(), b.result())


def test_metric_configs_keep_constructor_arguments():
    import pytest

    rng = np.random.default_rng(0)
    for cls, kwargs, key in METRICS_WITH_ARGS:
        metric = cls(**kwargs)
        config = keras.metrics.serialize(metric)
        assert config["config"][key] == kwargs[key], (cls.__name__, config)
        back = keras.metrics.deserialize(config)
        assert type(back) is cls and back.get_config() == metric.get_config()
        again = keras.metrics.get(config)
        assert again.get_config() == metric.get_config()
        if "k" in kwargs or cls is keras.metrics.MeanIoU:
            y_true = rng.integers(0, 3, 20) if cls is not keras.metrics.TopKCategoricalAccuracy else \
                np.eye(4)[rng.integers(0, 4, 20)]
            y_pred = rng.random((20, 4 if y_true.ndim == 2 else 3)).astype(np.float32)
            if cls is keras.metrics.MeanIoU:
                y_pred = rng.integers(0, 3, 20)
        else:
            y_true, y_pred = rng.integers(0, 2, (20, 1)), rng.random((20, 1)).astype(np.float32)
        _same_results(metric, back, y_true, y_pred)
    with pytest.raises(ValueError):
        keras.metrics.deserialize({"class_name": "NoSuchMetric", "config": {}})


def test_metric_arguments_survive_model_save_and_load(tmp_path):
    model = keras.Sequential([keras.Input((3,)), layers.Dense(4, activation="softmax")])
    metrics = [keras.metrics.Precision(thresholds=0.3, class_id=1), keras.metrics.AUC(curve="PR"),
               keras.metrics.TopKCategoricalAccuracy(k=2)]
    model.compile("adam", "categorical_crossentropy", metrics=metrics)
    x = np.random.default_rng(1).random((16, 3)).astype(np.float32)
    y = np.eye(4, dtype=np.float32)[np.arange(16) % 4]
    model.fit(x, y, epochs=1, verbose=0)
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    before = model.evaluate(x, y, verbose=0, return_dict=True)
    after = loaded.evaluate(x, y, verbose=0, return_dict=True)
    assert before.keys() == after.keys()
    np.testing.assert_allclose(list(after.values()), list(before.values()), rtol=1e-5)
    configs = {type(m).__name__: m.get_config() for m in loaded._compile_config["metrics"]}
    assert configs["TopKCategoricalAccuracy"]["k"] == 2 and configs["AUC"]["curve"] == "PR"
    assert configs["Precision"]["thresholds"] == 0.3 and configs["Precision"]["class_id"] == 1


def test_kernel_constraint_applies_with_a_shendu_optimizer_in_fit():
    import shendu.optim as optim

    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 5)).astype(np.float32)
    y = (x @ rng.normal(size=(5, 1)) * 3).astype(np.float32)
    dense = layers.Dense(3, kernel_constraint=keras.constraints.MaxNorm(0.5), bias_constraint="non_neg")
    model = keras.Sequential([keras.Input((5,)), dense, layers.Dense(1)])
    model.compile(optim.SGD(model.parameters(), lr=0.05), "mse")
    model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    kernel, bias = dense.get_weights()
    assert np.linalg.norm(kernel, axis=0).max() <= 0.5 + 1e-5
    assert bias.min() >= 0.0


def test_adamw_weight_decay_survives_its_config():
    opt = keras.optimizers.AdamW(0.01, 0.02)
    back = keras.optimizers.deserialize(keras.optimizers.serialize(opt))
    assert type(back) is keras.optimizers.AdamW and back.weight_decay == 0.02 and back.learning_rate == 0.01


def test_user_initializer_and_constraint_subclasses_keep_working():
    class Halves(keras.initializers.Initializer):
        def __init__(self, seed=None):
            super().__init__(seed)

        def __call__(self, shape, dtype=None):
            return np.full(shape, 0.5, dtype=dtype or "float32")

    class Clip(keras.constraints.Constraint):
        def __init__(self, limit):
            self.limit = limit

        def __call__(self, w):
            return np.clip(np.asarray(getattr(w, "array", w)), -self.limit, self.limit)

        def get_config(self):
            return {"limit": self.limit}

    assert Halves(seed=3).seed == 3 and Halves().get_config() == {}
    dense = layers.Dense(2, kernel_initializer=Halves(), kernel_constraint=Clip(0.1))
    model = keras.Sequential([keras.Input((3,)), dense])
    np.testing.assert_array_equal(dense.get_weights()[0], np.full((3, 2), 0.5, np.float32))
    model.compile("sgd", "mse")
    model.fit(np.ones((4, 3), np.float32), np.ones((4, 2), np.float32), verbose=0)
    assert np.abs(dense.get_weights()[0]).max() <= 0.1 + 1e-7
    config = keras.initializers.RandomNormal(stddev=0.3, seed=1).get_config()
    assert config == {"mean": 0.0, "stddev": 0.3, "seed": 1}
    assert keras.initializers.deserialize({"class_name": "RandomNormal", "config": config}).stddev == 0.3
