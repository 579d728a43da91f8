import numpy as np

import shendu as sd
from shendu import keras


def _model():
    sd.manual_seed(0)
    m = keras.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(1, activation="sigmoid")])
    m.compile(optimizer="sgd", loss="binary_crossentropy",
              metrics=[keras.metrics.TruePositives(name="tp")],
              weighted_metrics=[keras.metrics.TruePositives(name="wtp")])
    return m


def test_class_weights_weigh_the_loss_and_weighted_metrics_only():
    x = np.random.default_rng(0).standard_normal((40, 3)).astype("float32")
    y = np.ones((40, 1), dtype="uint8")
    logs = _model().fit(x, y, epochs=1, batch_size=40, verbose=0, class_weight={0: 1.0, 1: 0.25}).history
    assert logs["tp"][0] == int(logs["tp"][0])                    # a plain count of samples
    np.testing.assert_allclose(logs["wtp"][0], 0.25 * logs["tp"][0])


def test_evaluate_sample_weight_reaches_weighted_metrics_only():
    x = np.random.default_rng(1).standard_normal((10, 3)).astype("float32")
    y = np.ones((10, 1), dtype="uint8")
    m = _model()
    r = m.evaluate(x, y, sample_weight=np.full(10, 2.0), verbose=0, return_dict=True)
    np.testing.assert_allclose(r["wtp"], 2 * r["tp"])


def test_functional_input_of_trailing_size_one_takes_a_flat_batch():
    inputs = keras.Input(shape=(1,))
    model = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    flat = np.arange(4, dtype="float32")
    np.testing.assert_allclose(model.predict(flat, verbose=0), model.predict(flat[:, None], verbose=0))
