"""Keras layers: weight layouts, numbers against Keras's formulas, shapes, parameter counts, summary."""
import numpy as np
import pytest

import shendu as sd
from shendu.keras import Input, Model, layers, losses, models
from shendu.keras.utils import set_random_seed


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def test_dense_output_is_x_kernel_plus_bias():
    set_random_seed(0)
    layer = layers.Dense(4, activation=None)
    x = np.random.default_rng(0).normal(size=(3, 5)).astype("float32")
    y = layer(x).numpy()
    kernel, bias = layer.get_weights()
    assert kernel.shape == (5, 4) and bias.shape == (4,)
    np.testing.assert_allclose(y, x @ kernel + bias, rtol=1e-5, atol=1e-6)
    new_k = np.arange(20, dtype="float32").reshape(5, 4) / 10
    layer.set_weights([new_k, np.ones(4, "float32")])
    np.testing.assert_allclose(layer(x).numpy(), x @ new_k + 1, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="kernel"):
        layer.set_weights([np.zeros((4, 5)), np.zeros(4)])


def test_dense_keras_default_init_is_glorot_uniform_and_zero_bias():
    set_random_seed(1)
    layer = layers.Dense(300)
    layer.build((None, 200))
    kernel, bias = layer.get_weights()
    limit = np.sqrt(6 / (200 + 300))
    assert np.abs(kernel).max() <= limit and np.abs(kernel).max() > 0.9 * limit
    np.testing.assert_array_equal(bias, 0)


def test_conv2d_kernel_layout_matches_a_direct_channels_last_convolution():
    set_random_seed(2)
    layer = layers.Conv2D(3, (2, 3), activation="relu")
    x = np.random.default_rng(1).normal(size=(2, 5, 6, 4)).astype("float32")
    y = layer(x).numpy()
    kernel, bias = layer.get_weights()
    assert kernel.shape == (2, 3, 4, 3)
    ref = np.zeros((2, 4, 4, 3), "float32")
    for i in range(4):
        for j in range(4):
            patch = x[:, i:i + 2, j:j + 3, :]
            ref[:, i, j, :] = np.tensordot(patch, kernel, axes=([1, 2, 3], [0, 1, 2])) + bias
    np.testing.assert_allclose(y, np.maximum(ref, 0), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("size,k,s", [(7, 3, 2), (8, 3, 2), (5, 2, 1), (6, 4, 3)])
def test_same_padding_gives_ceil_size_like_tensorflow(size, k, s):
    layer = layers.Conv2D(2, k, strides=s, padding="same")
    out = layer(np.ones((1, size, size, 1), "float32"))
    expected = -(-size // s)
    assert out.shape == (1, expected, expected, 2)
    assert layer.compute_output_shape((None, size, size, 1)) == (None, expected, expected, 2)
    pool = layers.MaxPooling2D(pool_size=k, strides=s, padding="same")
    assert pool(np.ones((1, size, size, 1), "float32")).shape == (1, expected, expected, 1)


def test_conv2d_transpose_output_sizes():
    for padding, expected in (("valid", 9), ("same", 8)):
        layer = layers.Conv2DTranspose(2, 3, strides=2, padding=padding)
        y = layer(np.ones((1, 4, 4, 3), "float32"))
        assert y.shape == (1, expected, expected, 2)
        assert layer.get_weights()[0].shape == (3, 3, 2, 3)      # (kh, kw, filters, in)


def _keras_lstm(x, kernel, recurrent, bias):
    n, t, _ = x.shape
    u = recurrent.shape[0]
    h = np.zeros((n, u))
    c = np.zeros((n, u))
    for step in range(t):
        z = x[:, step] @ kernel + h @ recurrent + bias
        i, f, g, o = z[:, :u], z[:, u:2 * u], z[:, 2 * u:3 * u], z[:, 3 * u:]
        c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
        h = _sigmoid(o) * np.tanh(c)
    return h


def _keras_gru(x, kernel, recurrent, bias):
    n, t, _ = x.shape
    u = recurrent.shape[0]
    h = np.zeros((n, u))
    for step in range(t):
        xz = x[:, step] @ kernel + bias[0]
        hz = h @ recurrent + bias[1]
        z = _sigmoid(xz[:, :u] + hz[:, :u])
        r = _sigmoid(xz[:, u:2 * u] + hz[:, u:2 * u])
        hh = np.tanh(xz[:, 2 * u:] + r * hz[:, 2 * u:])
        h = z * h + (1 - z) * hh
    return h


def test_lstm_weights_are_keras_layout_with_one_bias_and_forget_bias_one():
    set_random_seed(3)
    layer = layers.LSTM(5)
    x = np.random.default_rng(2).normal(size=(2, 4, 3)).astype("float32")
    y = layer(x).numpy()
    kernel, recurrent, bias = layer.get_weights()
    assert kernel.shape == (3, 20) and recurrent.shape == (5, 20) and bias.shape == (20,)
    np.testing.assert_array_equal(bias, np.r_[np.zeros(5), np.ones(5), np.zeros(10)])
    np.testing.assert_allclose(recurrent @ recurrent.T, np.eye(5), atol=1e-5)     # orthogonal rows
    rng = np.random.default_rng(3)
    new = [rng.normal(size=w.shape).astype("float32") * 0.5 for w in (kernel, recurrent, bias)]
    layer.set_weights(new)
    np.testing.assert_allclose(layer(x).numpy(), _keras_lstm(x, *new), rtol=1e-4, atol=1e-5)
    assert y.shape == (2, 5)
    assert layer.count_params() == 4 * 5 * (3 + 5 + 1)
    assert len(layer.trainable_weights) == 3


def test_gru_weights_are_keras_layout_gates_z_r_h_with_two_biases():
    set_random_seed(4)
    layer = layers.GRU(4, return_sequences=True)
    x = np.random.default_rng(4).normal(size=(3, 5, 2)).astype("float32")
    assert layer(x).shape == (3, 5, 4)
    kernel, recurrent, bias = layer.get_weights()
    assert kernel.shape == (2, 12) and recurrent.shape == (4, 12) and bias.shape == (2, 12)
    rng = np.random.default_rng(5)
    new = [rng.normal(size=w.shape).astype("float32") * 0.5 for w in (kernel, recurrent, bias)]
    layer.set_weights(new)
    np.testing.assert_allclose(layer(x).numpy()[:, -1], _keras_gru(x, *new), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(layer.get_weights()[2], new[2])


def test_recurrent_return_state_bidirectional_and_time_distributed_shapes():
    inp = Input(shape=(6, 3))
    seq, h, c = layers.LSTM(4, return_sequences=True, return_state=True)(inp)
    assert seq.shape == (None, 6, 4) and h.shape == (None, 4) and c.shape == (None, 4)
    bi = layers.Bidirectional(layers.GRU(5, return_sequences=True))(seq)
    assert bi.shape == (None, 6, 10)
    td = layers.TimeDistributed(layers.Dense(2))(bi)
    model = Model(inp, [td, h])
    out = model.predict(np.ones((2, 6, 3), "float32"), verbose=0)
    assert isinstance(out, list) and out[0].shape == (2, 6, 2) and out[1].shape == (2, 4)
    bi_layer = model.layers[2]
    assert [w.shape for w in bi_layer.get_weights()] == [(4, 15), (5, 15), (2, 15)] * 2


def test_encoder_decoder_with_initial_state():
    enc_in = Input(shape=(None, 3))
    _, h, c = layers.LSTM(8, return_state=True)(enc_in)
    dec_in = Input(shape=(None, 4))
    dec_seq = layers.LSTM(8, return_sequences=True)(dec_in, initial_state=[h, c])
    out = layers.Dense(4, activation="softmax")(dec_seq)
    model = Model([enc_in, dec_in], out)
    model.compile(optimizer="rmsprop", loss="categorical_crossentropy")
    x1 = np.random.default_rng(0).normal(size=(6, 5, 3)).astype("float32")
    x2 = np.random.default_rng(1).normal(size=(6, 7, 4)).astype("float32")
    y = np.eye(4, dtype="float32")[np.random.default_rng(2).integers(0, 4, size=(6, 7))]
    model.fit([x1, x2], y, epochs=1, verbose=0)
    assert model.predict([x1, x2], verbose=0).shape == (6, 7, 4)


def test_batch_normalization_keras_momentum_and_counts():
    layer = layers.BatchNormalization()
    layer.build((None, 64))
    assert layer.count_params() == 256
    assert len(layer.non_trainable_weights) == 2 and len(layer.trainable_weights) == 2
    assert layer.bn.momentum == pytest.approx(0.01) and layer.bn.eps == pytest.approx(1e-3)
    x = np.random.default_rng(0).normal(3.0, 2.0, size=(200, 64)).astype("float32")
    y_inf = layer(x).numpy()                                  # inference: moving stats 0 / 1
    np.testing.assert_allclose(y_inf, x / np.sqrt(1 + 1e-3), rtol=1e-5)
    y_train = layer(x, training=True).numpy()
    np.testing.assert_allclose(y_train.mean(axis=0), 0, atol=1e-4)
    mean = layer.get_weights()[2]
    np.testing.assert_allclose(mean, 0.01 * x.mean(axis=0), rtol=1e-4)


def test_parameter_counts_of_known_keras_models():
    mlp = models.Sequential([layers.Dense(512, activation="relu", input_shape=(784,)),
                             layers.Dense(10, activation="softmax")])
    assert mlp.count_params() == 407_050
    cnn = models.Sequential([
        layers.Conv2D(32, kernel_size=(3, 3), activation="relu", input_shape=(28, 28, 1)),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Flatten(),
        layers.Dropout(0.5),
        layers.Dense(10, activation="softmax"),
    ])
    assert cnn.count_params() == 34_826
    assert models.Sequential([layers.LSTM(32, input_shape=(10, 100))]).count_params() == 17_024
    assert models.Sequential([layers.GRU(32, input_shape=(10, 100))]).count_params() == 12_864
    assert models.Sequential([layers.Embedding(1000, 64, input_length=10)]).count_params() == 64_000
    assert models.Sequential([layers.SimpleRNN(8, input_shape=(5, 3))]).count_params() == 8 * (3 + 8 + 1)


def test_summary_looks_like_keras(capsys):
    sd.keras.backend.clear_session()
    model = models.Sequential([layers.Dense(64, activation="relu", input_shape=(784,)), layers.Dense(10),
                               layers.BatchNormalization()])
    model.summary()
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0] == 'Model: "sequential"'
    assert "┃ Layer (type)" in lines[2] and "Output Shape" in lines[2] and "Param #" in lines[2]
    row = next(line for line in lines if line.startswith("│ dense (Dense)"))
    assert "(None, 64)" in row and row.rstrip("│ ").endswith("50,240")
    assert any(line.startswith("│ dense_1 (Dense)") for line in lines)
    assert " Total params: 50,930 (198.95 KB)" in lines
    assert " Trainable params: 50,910 (198.87 KB)" in lines
    assert " Non-trainable params: 20 (80.00 B)" in lines


def test_summary_detail_adds_costs(capsys):
    model = models.Sequential([layers.Dense(16, activation="relu", input_shape=(8,)), layers.Dense(2)])
    text = model.summary(detail=True, batch_size=4, runs=1)
    assert "FLOPs/sample" in text and "Fwd ms" in text and "Bwd ms" in text
    row = next(line for line in text.splitlines() if line.startswith("│ dense"))
    assert f"{2 * 8 * 16 + 16:,}" in row
    assert "Measured per batch of 4" in text


def test_functional_two_inputs_residual_add_and_layers_order():
    set_random_seed(5)
    a = Input(shape=(8,), name="a")
    b = Input(shape=(8,), name="b")
    h = layers.Dense(8, activation="relu")(a)
    res = layers.Add()([h, b])
    merged = layers.Concatenate()([res, a])
    out = layers.Dense(1)(merged)
    model = Model(inputs=[a, b], outputs=out)
    assert [type(la).__name__ for la in model.layers] == ["InputLayer", "InputLayer", "Dense", "Add",
                                                          "Concatenate", "Dense"]
    xa = np.random.default_rng(0).normal(size=(4, 8)).astype("float32")
    xb = np.random.default_rng(1).normal(size=(4, 8)).astype("float32")
    k1, b1 = model.layers[2].get_weights()
    k2, b2 = model.layers[5].get_weights()
    ref = np.concatenate([np.maximum(xa @ k1 + b1, 0) + xb, xa], axis=1) @ k2 + b2
    np.testing.assert_allclose(model.predict([xa, xb], verbose=0), ref, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(model.predict({"a": xa, "b": xb}, verbose=0), ref, rtol=1e-4, atol=1e-5)
    model.compile(optimizer="adam", loss="mse")
    model.fit([xa, xb], ref * 0, epochs=2, verbose=0)
    with pytest.raises(ValueError, match="Graph disconnected"):
        Model(inputs=a, outputs=out)


def test_layer_names_are_numbered_like_keras():
    sd.keras.backend.clear_session()
    names = [layers.Dense(2).name, layers.Dense(2).name, layers.Conv2D(1, 1).name,
             layers.BatchNormalization().name, layers.Dense(1, name="head").name]
    assert names == ["dense", "dense_1", "conv2d", "batch_normalization", "head"]


def test_keras_categorical_crossentropy_is_the_clipped_formula():
    y_true = np.array([[0, 1, 0], [1, 0, 0], [0, 0, 1]], "float32")
    y_pred = np.array([[0.1, 0.8, 0.1], [0.0, 0.5, 0.5], [0.2, 0.2, 0.6]], "float32")
    p = np.clip(y_pred / y_pred.sum(axis=1, keepdims=True), 1e-7, 1 - 1e-7)
    per = -(y_true * np.log(p)).sum(axis=1)
    np.testing.assert_allclose(losses.categorical_crossentropy(y_true, y_pred).numpy(), per, rtol=1e-5)
    np.testing.assert_allclose(losses.CategoricalCrossentropy()(y_true, y_pred).item(), per.mean(), rtol=1e-5)
    w = np.array([1.0, 0.0, 2.0])
    np.testing.assert_allclose(losses.CategoricalCrossentropy()(y_true, y_pred, sample_weight=w).item(),
                               (per * w).sum() / 3, rtol=1e-5)
    sparse = losses.sparse_categorical_crossentropy(np.array([1, 0, 2]), y_pred).numpy()
    np.testing.assert_allclose(sparse, per, rtol=1e-5)


def test_other_losses_match_keras_formulas():
    rng = np.random.default_rng(0)
    t = rng.normal(size=(4, 3)).astype("float32")
    p = rng.normal(size=(4, 3)).astype("float32")
    np.testing.assert_allclose(losses.mse(t, p).numpy(), ((t - p) ** 2).mean(axis=1), rtol=1e-5)
    np.testing.assert_allclose(losses.mae(t, p).numpy(), np.abs(t - p).mean(axis=1), rtol=1e-5)
    d = np.abs(p - t)
    hub = np.where(d <= 1, 0.5 * d ** 2, d - 0.5).mean(axis=1)
    np.testing.assert_allclose(losses.huber(t, p).numpy(), hub, rtol=1e-5)
    q = np.abs(t) / np.abs(t).sum(axis=1, keepdims=True)
    r = np.abs(p) / np.abs(p).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(losses.kl_divergence(q, r).numpy(), (q * np.log(q / r)).sum(axis=1), rtol=1e-4)
    yb = np.array([1, 0, 1, 1], "float32")
    pb = np.array([[0.9], [0.2], [0.6], [1.0]], "float32")
    pc = np.clip(pb[:, 0], 1e-7, 1 - 1e-7)
    bce = -(yb * np.log(pc) + (1 - yb) * np.log(1 - pc))
    np.testing.assert_allclose(losses.binary_crossentropy(yb, pb).numpy().ravel(), bce, rtol=1e-5)


def test_embedding_rejects_out_of_range_ids_by_name():
    layer = layers.Embedding(10, 4, name="emb")
    with pytest.raises(IndexError, match="emb.*token id 12"):
        layer(np.array([[1, 12]]))
    assert layer(np.array([[1.0, 2.0]])).shape == (1, 2, 4)    # float ids are cast, as in Keras


def test_trainable_false_freezes_and_counts_as_non_trainable():
    model = models.Sequential([layers.Dense(3, input_shape=(2,)), layers.Dense(1)])
    model.layers[0].trainable = False
    assert len(model.trainable_weights) == 2 and len(model.non_trainable_weights) == 2
    model.compile(optimizer="sgd", loss="mse")
    before = model.layers[0].get_weights()
    model.fit(np.ones((8, 2), "float32"), np.ones((8, 1), "float32"), epochs=2, verbose=0)
    for a, b in zip(before, model.layers[0].get_weights()):
        np.testing.assert_array_equal(a, b)


def test_optimizer_defaults_are_kerass():
    from shendu.keras import optimizers
    adam = optimizers.get("adam")
    assert adam.learning_rate == pytest.approx(1e-3) and adam.epsilon == 1e-7
    assert optimizers.RMSprop().rho == 0.9
    sgd = optimizers.SGD(lr=0.1)                 # tf.keras 2 spelling
    assert sgd.learning_rate == pytest.approx(0.1) and sgd.momentum == 0.0
    model = models.Sequential([layers.Dense(1, input_shape=(2,))])
    model.compile(optimizer=optimizers.Adam(learning_rate=0.01), loss="mse")
    model.train_on_batch(np.ones((2, 2), "float32"), np.ones((2, 1), "float32"))
    inner = model.optimizer.inner
    assert inner.param_groups[0]["eps"] == 1e-7 and inner.param_groups[0]["lr"] == pytest.approx(0.01)
    model.optimizer.learning_rate = 0.5
    assert inner.param_groups[0]["lr"] == pytest.approx(0.5)


def test_evaluate_and_on_batch_return_shapes():
    model = models.Sequential([layers.Dense(3, activation="softmax", input_shape=(4,))])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    x, y = np.ones((6, 4), "float32"), np.array([0, 1, 2, 0, 1, 2])
    res = model.evaluate(x, y, verbose=0)
    assert isinstance(res, list) and len(res) == 2
    assert len(model.train_on_batch(x, y)) == 2
    assert len(model.test_on_batch(x, y)) == 2
    assert model.predict_on_batch(x).shape == (6, 3)
    assert model.evaluate(x, y, verbose=0, return_dict=True).keys() == {"loss", "accuracy"}
    plain = models.Sequential([layers.Dense(1, input_shape=(4,))])
    plain.compile(optimizer="sgd", loss="mse")
    assert isinstance(plain.evaluate(x, np.ones((6, 1)), verbose=0), float)


def test_assorted_layers_train_in_small_models():
    set_random_seed(9)
    rng = np.random.default_rng(0)
    # a 1-D convolutional classifier
    seqs = rng.normal(size=(16, 12, 3)).astype("float32")
    conv1d = models.Sequential([layers.Conv1D(4, 3, padding="causal", activation="relu", input_shape=(12, 3)),
                                layers.MaxPooling1D(2), layers.GlobalAveragePooling1D(), layers.Dense(2)])
    assert conv1d.output_shape == (None, 2)
    conv1d.compile(optimizer="adam", loss=losses.SparseCategoricalCrossentropy(from_logits=True),
                   metrics=["accuracy"])
    conv1d.fit(seqs, rng.integers(0, 2, 16), epochs=1, verbose=0)
    # a convolutional autoencoder
    images = rng.random((8, 8, 8, 1)).astype("float32")
    inp = Input(shape=(8, 8, 1))
    h = layers.Conv2D(4, 3, strides=2, padding="same")(inp)
    h = layers.LeakyReLU(alpha=0.2)(h)
    h = layers.Conv2DTranspose(4, 3, strides=2, padding="same", activation="relu")(h)
    h = layers.UpSampling2D()(layers.AveragePooling2D()(h))
    out = layers.Conv2D(1, 3, padding="same", activation="sigmoid")(layers.ZeroPadding2D(0)(h))
    auto = Model(inp, out)
    assert auto.output_shape == (None, 8, 8, 1)
    auto.compile(optimizer="adam", loss="binary_crossentropy")
    before = auto.evaluate(images, images, verbose=0)
    auto.fit(images, images, epochs=3, verbose=0)
    assert auto.evaluate(images, images, verbose=0) < before
    # Reshape / Permute / RepeatVector / input_dim
    seq2 = models.Sequential([layers.Dense(6, input_dim=4), layers.Reshape((2, 3)), layers.Permute((2, 1)),
                              layers.Flatten(), layers.RepeatVector(2), layers.SimpleRNN(3)])
    assert seq2.output_shape == (None, 3)
    assert seq2.predict(rng.normal(size=(5, 4)), verbose=0).shape == (5, 3)


def test_custom_layer_with_add_weight_and_add_loss():
    class Scale(layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)

        def build(self, input_shape):
            self.w = self.add_weight(name="w", shape=(input_shape[-1],), initializer="ones", trainable=True)
            self.count = self.add_weight(name="count", shape=(), initializer="zeros", trainable=False)
            super().build(input_shape)

        def call(self, inputs):
            self.add_loss((self.w * self.w).sum() * 0.0)
            return inputs * self.w

    layer = Scale()
    model = models.Sequential([layer, layers.Dense(1)])
    x = np.ones((4, 3), "float32")
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, np.ones((4, 1), "float32"), epochs=1, verbose=0)
    assert [w.name for w in layer.weights] == ["w", "count"]
    assert [w.shape for w in layer.get_weights()] == [(3,), ()]
    assert len(layer.trainable_weights) == 1 and len(layer.non_trainable_weights) == 1
    assert len(model.losses) == 1


@pytest.mark.parametrize(
    "make, arg",
    [
        (lambda: layers.Dense(2.5), "units"),
        (lambda: layers.Dense(2.0), "units"),
        (lambda: layers.Dense(True), "units"),
        (lambda: layers.Dense(0), "units"),
        (lambda: layers.Conv2D(8.5, 3), "filters"),
        (lambda: layers.Conv2D(8, 2.5), "kernel_size"),
        (lambda: layers.Conv2D(8, (3, 3.5)), "kernel_size"),
        (lambda: layers.Conv1D(8, 3, strides=1.5), "strides"),
        (lambda: layers.Embedding(10.5, 4), "input_dim"),
        (lambda: layers.Embedding(10, "4"), "output_dim"),
        (lambda: layers.LSTM(3.5), "units"),
        (lambda: layers.GRU(-1), "units"),
        (lambda: layers.MaxPooling2D(pool_size=1.5), "pool_size"),
        (lambda: layers.UpSampling1D(size=2.5), "size"),
        (lambda: layers.ZeroPadding2D(padding=1.5), "padding"),
        (lambda: layers.RepeatVector(2.5), "n"),
        (lambda: layers.Reshape((2, 2.5)), "target_shape"),
        (lambda: layers.Concatenate(axis=1.5), "axis"),
    ],
)
def test_integer_layer_arguments_must_be_integers(make, arg):
    with pytest.raises(ValueError, match=rf"'{arg}' must be an integer"):
        make()


def test_integer_layer_arguments_accept_numpy_integers():
    assert layers.Dense(np.int64(3)).units == 3
    assert layers.Conv2D(np.int32(4), (np.int64(3), 3)).kernel_size == (3, 3)
