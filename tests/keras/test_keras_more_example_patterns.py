"""Patterns of further keras-io programs, written here: an output without a loss needs no target,
tf.data.TextLineDataset feeding TextVectorization, and tf.keras 2's layers.experimental path."""

import numpy as np

import shendu.tf as tf
from shendu.keras import Model, layers


def test_output_without_loss_needs_no_target(tmp_path):
    inputs = layers.Input(shape=(4,))
    hidden = layers.Dense(3)(inputs)
    logits = layers.Dense(2)(hidden)
    model = Model(inputs, [logits, hidden])
    model.compile("adam", loss=[tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True), None])
    x = np.random.default_rng(0).normal(size=(16, 4)).astype("float32")
    y = (x[:, 0] > 0).astype("int64")
    first = model.evaluate(x, y, verbose=0)
    history = model.fit(x, y, epochs=20, verbose=0)
    assert history.history["loss"][-1] < first
    logits_out, hidden_out = model.predict(x, verbose=0)
    assert logits_out.shape == (16, 2) and hidden_out.shape == (16, 3)


def test_text_line_dataset_into_text_vectorization(tmp_path):
    (tmp_path / "a.txt").write_text("the cat sat\nthe dog\n", encoding="utf-8")
    (tmp_path / "b.txt").write_text("a cat\r\nlast line without end", encoding="utf-8")
    ds = tf.data.TextLineDataset([str(tmp_path / "a.txt"), str(tmp_path / "b.txt")])
    assert [str(t) for t in ds] == ["the cat sat", "the dog", "a cat", "last line without end"]
    vectorize = layers.experimental.preprocessing.TextVectorization(output_sequence_length=3)
    vectorize.adapt(ds.batch(2))
    assert vectorize.get_vocabulary()[:4] == ["", "[UNK]", "the", "cat"]
    pairs = ds.batch(2).map(lambda t: vectorize(tf.expand_dims(t, -1)))
    first = next(iter(pairs))
    assert np.asarray(getattr(first, "array", first)).tolist() == [[2, 3, 5], [2, 9, 0]]  # sat = 5, dog = 9 (ties in reverse order)


def test_experimental_preprocessing_names():
    from shendu.keras.layers.experimental.preprocessing import IntegerLookup, Normalization, RandomFlip

    assert IntegerLookup is layers.IntegerLookup and Normalization is layers.Normalization
    assert RandomFlip is layers.RandomFlip


def test_random_fourier_features_approximate_the_gaussian_kernel():
    import shendu as sd
    from shendu.keras.layers.experimental import RandomFourierFeatures

    sd.manual_seed(0)
    layer = RandomFourierFeatures(output_dim=20000, scale=2.0)
    x = np.array([[0.0, 0.0, 0.0], [1.0, 0.5, 0.0], [3.0, 0.0, 1.0]], dtype="float32")
    z = np.asarray(layer(x).array, dtype=np.float64)
    approx = z @ z.T
    d2 = ((x[:, None, :] - x[None, :, :]) ** 2).sum(-1)
    np.testing.assert_allclose(approx, np.exp(-d2 / (2 * 2.0**2)), atol=0.03)
    assert [w.shape for w in layer.get_weights()] == [(3, 20000), (20000,), (1,)]
    assert layer.trainable is False and not any(p.requires_grad for p in layer.parameters())
    default = RandomFourierFeatures(8)
    default(np.zeros((1, 18), "float32"))
    assert default.scale == 3.0  # √(18 / 2)
    lap = RandomFourierFeatures(8, kernel_initializer="laplacian", trainable=True)
    lap(np.zeros((1, 2), "float32"))
    assert lap.scale == 1.0 and lap.kernel_scale.requires_grad


def test_a_loss_function_sees_labels_at_the_rank_of_the_predictions():
    from shendu.keras import Sequential, losses

    seen = []

    def mean_gap(y_true, y_pred):
        seen.append((tuple(y_true.shape), tuple(y_pred.shape)))
        return tf.math.reduce_mean(tf.math.square(y_pred - y_true))

    model = Sequential([layers.Input((3,)), layers.Dense(1, use_bias=False)])
    model.layers[0].set_weights([np.ones((3, 1), "float32")])
    model.compile("sgd", loss=mean_gap)
    x = np.eye(3, dtype="float32")
    flat = model.evaluate(x, np.array([1.0, 0.0, 3.0]), verbose=0)
    column = model.evaluate(x, np.array([[1.0], [0.0], [3.0]]), verbose=0)
    assert seen[0] == ((3, 1), (3, 1))
    np.testing.assert_allclose([flat, column], [5 / 3, 5 / 3], rtol=1e-6)
    a, b = losses.squeeze_or_expand_to_same_rank(np.zeros((4, 1)), np.zeros((4, 2, 1)))
    assert a.shape == (4, 1) and b.shape == (4, 2)
    a, b = losses.squeeze_or_expand_to_same_rank(np.zeros(4), np.zeros((4, 3)))
    assert a.shape == (4,) and b.shape == (4, 3)
