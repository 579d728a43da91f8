"""The tutorials' own Keras code, with only the import lines changed, learns well above chance."""
import numpy as np
import pytest

from conftest import require
from shendu.data.datasets import digits
from shendu.keras import layers, models
from shendu.keras.callbacks import EarlyStopping
from shendu.keras.layers import LSTM, Conv2D, Dense, Dropout, Embedding, Flatten, MaxPooling2D
from shendu.keras.models import Sequential
from shendu.keras.preprocessing.sequence import pad_sequences
from shendu.keras.preprocessing.text import Tokenizer
from shendu.keras.utils import set_random_seed, to_categorical


@pytest.fixture(scope="module")
def digit_data():
    require("sklearn")  # skips locally, fails in CI
    return digits()


def test_mlp_on_digits(digit_data):
    (x_train, y_train), (x_test, y_test) = digit_data
    x_train, x_test = x_train.reshape(-1, 64), x_test.reshape(-1, 64)
    set_random_seed(0)
    model = Sequential()
    model.add(Dense(512, activation="relu", input_shape=(64,)))
    model.add(Dense(10, activation="softmax"))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x_train, y_train, epochs=5, batch_size=32, verbose=0)
    assert set(history.history) == {"loss", "accuracy"}
    assert history.history["loss"][-1] < history.history["loss"][0]
    loss, acc = model.evaluate(x_test, y_test, verbose=0)
    assert acc > 0.85
    probs = model.predict(x_test[:5], verbose=0)
    assert probs.shape == (5, 10)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)


def test_cnn_on_digits_with_one_hot_labels_and_validation_data(digit_data):
    (x_train, y_train), (x_test, y_test) = digit_data
    x_train = x_train.reshape(-1, 8, 8, 1)
    x_test = x_test.reshape(-1, 8, 8, 1)
    y_train = to_categorical(y_train, 10)
    y_test = to_categorical(y_test, 10)
    set_random_seed(1)
    model = Sequential([
        Conv2D(16, kernel_size=(3, 3), activation="relu", input_shape=(8, 8, 1)),
        MaxPooling2D(pool_size=(2, 2)),
        Flatten(),
        Dropout(0.25),
        Dense(10, activation="softmax"),
    ])
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    history = model.fit(x_train, y_train, batch_size=64, epochs=6, verbose=0, validation_data=(x_test, y_test))
    assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(history.history)
    score = model.evaluate(x_test, y_test, verbose=0)
    assert isinstance(score, list) and len(score) == 2
    assert score[1] > 0.8


def _text_data(n_per_class=60, seed=0):
    rng = np.random.default_rng(seed)
    topics = {
        0: "goal match team score player football league coach stadium win",
        1: "stock market price shares bank trade profit investor economy fund",
        2: "rain cloud sunny weather storm wind forecast cold temperature snow",
    }
    filler = "the a and of to in is it that on".split()
    texts, labels = [], []
    for label, words in topics.items():
        vocab = words.split()
        for _ in range(n_per_class):
            k = rng.integers(5, 12)
            ws = list(rng.choice(vocab, size=k)) + list(rng.choice(filler, size=rng.integers(2, 6)))
            rng.shuffle(ws)
            texts.append(" ".join(ws).capitalize() + ".")
            labels.append(label)
    order = rng.permutation(len(texts))
    return [texts[i] for i in order], np.array(labels)[order]


def test_text_model_with_frozen_pretrained_embedding():
    texts, labels = _text_data()
    set_random_seed(2)
    tokenizer = Tokenizer(num_words=1000)
    tokenizer.fit_on_texts(texts)
    sequences = tokenizer.texts_to_sequences(texts)
    word_index = tokenizer.word_index
    data = pad_sequences(sequences, maxlen=16)
    y = to_categorical(labels)
    embedding_dim = 20
    embedding_matrix = np.random.default_rng(0).normal(size=(len(word_index) + 1, embedding_dim)).astype("float32")
    model = Sequential()
    model.add(Embedding(len(word_index) + 1, embedding_dim, weights=[embedding_matrix], input_length=16,
                        trainable=False))
    model.add(LSTM(32))
    model.add(Dense(3, activation="softmax"))
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["acc"])
    before = model.layers[0].get_weights()[0].copy()
    history = model.fit(data, y, epochs=12, batch_size=16, validation_split=0.2, verbose=0)
    assert {"loss", "acc", "val_loss", "val_acc"} == set(history.history)
    np.testing.assert_array_equal(model.layers[0].get_weights()[0], before)   # frozen
    np.testing.assert_array_equal(before, embedding_matrix)
    assert history.history["acc"][-1] > 0.8
    assert history.history["val_acc"][-1] > 0.7
    # the embedding counts as non-trainable, as in Keras
    emb = model.layers[0]
    assert emb.count_params() == embedding_matrix.size
    assert len(emb.trainable_weights) == 0 and len(emb.non_trainable_weights) == 1


def test_early_stopping_through_fit(digit_data):
    (x_train, y_train), _ = digit_data
    x_train = x_train.reshape(-1, 64)
    set_random_seed(3)
    model = models.Sequential([layers.Dense(32, activation="relu", input_shape=(64,)),
                               layers.Dense(10, activation="softmax")])
    # a learning rate of 0 never improves: patience 2 stops after epoch 3
    from shendu.keras.optimizers import SGD
    model.compile(optimizer=SGD(learning_rate=0.0), loss="sparse_categorical_crossentropy")
    stop = EarlyStopping(monitor="loss", patience=2)
    history = model.fit(x_train, y_train, epochs=20, verbose=0, callbacks=[stop])
    assert len(history.history["loss"]) == 3
    assert model.stop_training is True
    assert model.history is history


def test_regularizer_penalty_joins_the_loss():
    from shendu.keras import regularizers
    set_random_seed(4)
    x = np.random.default_rng(0).normal(size=(20, 5)).astype("float32")
    y = np.zeros((20, 1), "float32")
    model = Sequential([Dense(1, input_shape=(5,), kernel_regularizer=regularizers.l2(0.5),
                              kernel_initializer="ones", use_bias=False)])
    model.compile(optimizer="sgd", loss="mse")
    plain = float(np.mean((x @ np.ones((5, 1))) ** 2))
    assert model.evaluate(x, y, verbose=0, batch_size=20) == pytest.approx(plain + 0.5 * 5, rel=1e-5)


def test_subclassed_model_trains():
    class TwoLayer(models.Model):
        def __init__(self):
            super().__init__()
            self.hidden = Dense(16, activation="relu")
            self.out = Dense(1, activation="sigmoid")

        def call(self, inputs):
            return self.out(self.hidden(inputs))

    set_random_seed(5)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 4)).astype("float32")
    y = (x[:, 0] + x[:, 1] > 0).astype("float32")
    model = TwoLayer()
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=30, batch_size=20, verbose=0)
    assert model.evaluate(x, y, verbose=0)[1] > 0.9
    assert [la.name for la in model.layers] == [model.hidden.name, model.out.name]


def test_trainable_is_fixed_at_compile_like_keras_gan_recipe():
    set_random_seed(6)
    disc = Sequential([Dense(4, activation="relu", input_shape=(3,)), Dense(1, activation="sigmoid")])
    disc.compile(optimizer="adam", loss="binary_crossentropy")
    disc.trainable = False
    gen = Sequential([Dense(3, input_shape=(2,))])
    gan = Sequential([gen, disc])
    gan.compile(optimizer="adam", loss="binary_crossentropy")
    d0, g0 = disc.get_weights(), gen.get_weights()
    gan.train_on_batch(np.ones((4, 2), "float32"), np.ones((4, 1), "float32"))
    assert all(np.array_equal(a, b) for a, b in zip(d0, disc.get_weights()))      # frozen inside the GAN
    assert not all(np.array_equal(a, b) for a, b in zip(g0, gen.get_weights()))
    disc.train_on_batch(np.ones((4, 3), "float32"), np.zeros((4, 1), "float32"))  # compiled while trainable
    assert not all(np.array_equal(a, b) for a, b in zip(d0, disc.get_weights()))


def test_sequential_without_input_shape_builds_on_first_batch():
    set_random_seed(7)
    model = Sequential([Dense(8, activation="relu"), Dense(2, activation="softmax")])
    assert not model.built
    with pytest.raises(ValueError, match="not yet been built"):
        model.summary()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(np.ones((10, 3), "float32"), np.zeros(10, "int64"), epochs=1, verbose=0)
    assert model.built and model.count_params() == 3 * 8 + 8 + 8 * 2 + 2
    assert model.layers[-1].output_shape == (None, 2)


def test_model_calls_run_in_inference_mode_unless_training_is_given():
    set_random_seed(8)
    model = Sequential([Dropout(0.5, input_shape=(1000,))])
    x = np.ones((2, 1000), "float32")
    np.testing.assert_array_equal(model(x).numpy(), x)
    y = model(x, training=True).numpy()
    assert (y == 0).mean() > 0.3
    assert not model.training


@pytest.mark.system
def test_keras_dataset_loaders_return_keras_shapes():
    from conftest import require_path
    from shendu.keras.datasets import fashion_mnist

    require_path("/usr/share/datasets/fashion-mnist", "Fashion-MNIST")
    (x_train, y_train), (x_test, y_test) = fashion_mnist.load_data(download=False)
    assert x_train.shape == (60000, 28, 28) and x_train.dtype == np.uint8
    assert y_train.shape == (60000,) and y_train.dtype == np.uint8
    assert x_test.shape == (10000, 28, 28) and y_test.max() == 9


def test_tokenizer_round_trip_through_json_and_utils_names():
    from shendu.keras.preprocessing.text import tokenizer_from_json
    from shendu.keras.utils import pad_sequences as utils_pad

    tok = Tokenizer(num_words=50, oov_token="<OOV>")
    tok.fit_on_texts(["the cat sat", "the dog sat down"])
    again = tokenizer_from_json(tok.to_json())
    assert again.word_index == tok.word_index
    seqs = tok.texts_to_sequences(["the bird sat"])
    np.testing.assert_array_equal(pad_sequences(seqs, maxlen=5), utils_pad(seqs, maxlen=5))
    assert pad_sequences(seqs, maxlen=5)[0].tolist() == [0, 0, 2, 1, 3]
    assert to_categorical([0, 2]).dtype == np.float64
